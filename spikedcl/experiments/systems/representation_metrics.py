"""The metrics of an encoder on masked views: ``rankme``, ``align`` and ``uniform``.

Registered in :data:`spikedcl.metrics.METRICS` on import, so every experiment
that produces a :class:`~spikedcl.metrics.Representation` with an encoder
``W`` can report them. ``align`` and ``uniform`` are measured on
:data:`METRIC_SAMPLES` held-out masked views (:func:`held_out_views`).
"""

from __future__ import annotations

import numpy as np

from ...augment import split_views
from ...metrics import Representation, register_metric
from ...systems.align_uniform import alignment, uniformity
from ...systems.collapse import rankme

__all__ = ["METRIC_SAMPLES", "held_out_views"]

#: Rows used for the alignment / uniformity metrics (their cost is quadratic).
METRIC_SAMPLES = 1000


def held_out_views(rep: Representation) -> tuple[np.ndarray, np.ndarray]:
    """The held-out masked views of a representation's samples (drawn once, then cached by ``rep``).

    Parameters
    ----------
    rep : Representation
        A representation with samples ``X``, ``mask_prob`` and a generator ``rng``.

    Returns
    -------
    X1, X2 : numpy.ndarray of shape (m, d)
        Complementary masked views of the first ``m = min(n, METRIC_SAMPLES)`` samples.
    """
    return rep.views(lambda X, p, rng: split_views(X, p, rng=rng), METRIC_SAMPLES)


def _embedded_views(rep):
    """Embeddings of the held-out views, or ``None`` when one of them vanishes."""
    X1, X2 = held_out_views(rep)
    Z1, Z2 = X1 @ rep.W.T, X2 @ rep.W.T
    ok = rep.W.shape[0] >= 1 and np.all(np.linalg.norm(Z1, axis=1) > 0) and np.all(np.linalg.norm(Z2, axis=1) > 0)
    return (Z1, Z2) if ok else None


@register_metric("rankme", needs=("W", "X"))
def _rankme_metric(rep):
    """RankMe effective rank of the embeddings :math:`XW^\\top`."""
    return rankme(rep.host_samples() @ rep.W.T)


@register_metric("align", needs=("W", "X", "rng"))
def _align_metric(rep):
    """Alignment of the embeddings of held-out masked views (undefined for a vanishing embedding)."""
    Z = _embedded_views(rep)
    return None if Z is None else alignment(*Z)


@register_metric("uniform", needs=("W", "X", "rng"))
def _uniform_metric(rep):
    """Uniformity of the embeddings of held-out first views (undefined for a vanishing embedding)."""
    Z = _embedded_views(rep)
    return None if Z is None else uniformity(Z[0])
