"""The ``losses`` experiment: every method head-to-head on the paper's masked spiked model.

Also :func:`fit_spiked`, one method fitted on given samples with the
parameters of ``losses``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._validation import check_choice
from ..base import register_experiment
from ..spiked import SpikedDraw, draw_spiked
from .methods import SpikedContext, fit_method, spiked_methods, spiked_rows
from .parameters import check_spiked, spiked_declared

__all__ = ["losses", "fit_spiked"]


@register_experiment("losses", params=spiked_declared(("cl", "pca")), draw=draw_spiked, check=check_spiked)
def losses(P, draw):
    """Head-to-head on the paper's masked spiked model: sinΘ and downstream excess risk vs n.

    Parameters
    ----------
    P : dict
        The resolved cell (called as ``losses(params, seed)``): ``n``, ``d``,
        ``r``, ``C``, ``noise``, ``methods`` (names in :func:`spiked_methods`),
        ``metrics`` and the training options (``losses.describe()``).
    draw : SpikedDraw
        The replicate's data.

    Returns
    -------
    list of dict
        One row per (method, metric).
    """
    return spiked_rows(P["methods"], SpikedContext(P, draw))


def fit_spiked(
    method: str, X: np.ndarray, r: int, params: dict[str, Any], rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit one method on masked views of the spiked-model samples ``X``.

    Parameters
    ----------
    method : str
        One of :func:`spiked_methods`.
    X : numpy.ndarray of shape (n, d)
        Samples.
    r : int
        Representation dimension.
    params : dict
        Parameters of the ``losses`` experiment (defaults filled for those
        missing): ``mask_prob``, ``batch_size``, ``steps``, ``lr``, ``eta``,
        ``byol_steps``, ``byol_dt``, the hyperparameters of the registered
        losses, and ``model`` (a :class:`SpikedModel`, for ``"spectral-population"``).
    rng : numpy.random.Generator
        Masks and initialisation.

    Returns
    -------
    W, info : numpy.ndarray of shape (r, d), dict
        The encoder and its solver record, as :func:`~spikedcl.experiments.systems.methods.fit_method`.
    """
    check_choice(method, "method", spiked_methods())
    cell = {k: v for k, v in params.items() if k != "model"}
    P = losses.resolve({"n": X.shape[0], "d": X.shape[1], "r": r, **cell})
    # default_rng returns a Generator unaltered: the methods draw from ``rng`` itself
    return fit_method(method, SpikedContext(P, SpikedDraw(params.get("model"), X, None, rng)))
