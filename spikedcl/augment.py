"""Random-masking augmentation: two complementary views of each sample (spec §2).

A diagonal 0/1 mask :math:`A` splits a sample into :math:`Ax` and
:math:`(I - A)x`. Positive pairs never see the noise diagonal because

.. math::

    \\mathbb{E}_A[A x x^\\top (I - A)] = p(1-p)\\,\\Delta(x x^\\top),

where :math:`\\Delta` deletes the diagonal. Masks are drawn on the host from
an explicit ``rng`` and moved to the namespace and device of ``X``.
"""

from __future__ import annotations

import math

import numpy as np

from ._array_api import device_of, get_namespace, to_namespace
from ._linalg import diag_part, offdiag
from ._validation import check_choice, check_data, check_int, check_unit_interval
from .random import check_rng

__all__ = ["MASK_MODES", "draw_mask", "random_mask", "expected_mask_moments"]

MASK_MODES = ("per-sample", "fixed", "fixed-bernoulli", "exact-count")


def draw_mask(n, d, p=0.5, *, rng=None, mode="per-sample"):
    """Draw a boolean mask on the host; ``True`` marks a coordinate of view 1.

    Parameters
    ----------
    n : int
        Number of samples.
    d : int
        Number of coordinates.
    p : float, default=0.5
        Probability (``"per-sample"``) or fraction (``"fixed"``,
        ``"exact-count"``: exactly ``floor(p d)`` coordinates) of coordinates
        sent to view 1, in ``(0, 1)``.
    rng : None, int or numpy.random.Generator, optional
        Random generator.
    mode : {"per-sample", "fixed", "fixed-bernoulli", "exact-count"}, default="per-sample"
        ``"per-sample"``: iid Bernoulli(p) entries, fresh for every sample;
        ``"fixed"``: one random set of ``floor(p d)`` coordinates shared by all
        samples (the reproduction report's implementation);
        ``"fixed-bernoulli"``: one iid Bernoulli(p) mask shared by all samples
        (its count varies, which adds bias: the spec's fixed-mask reference
        values are reproduced by this law); ``"exact-count"``: a fresh set of
        ``floor(p d)`` coordinates per sample.

    Returns
    -------
    numpy.ndarray of bool, shape (n, d) or (1, d)
        The mask; the fixed modes return one row that broadcasts over samples.

    Notes
    -----
    The spec phrases the fixed mask as "``floor(p d)`` zeros". The contrastive
    objectives are symmetric in the two views, so sending ``floor(p d)``
    coordinates to view 1 or to view 2 gives the same fit.

    The Bernoulli laws draw ``p = 1/2`` entries as raw random bits (one 64-bit
    draw per 64 entries, about 20 times cheaper than a double per entry) and any
    other ``p`` as ``u < p`` with ``u`` from ``rng.random``; both are exact.
    """
    n = check_int(n, "n", low=1)
    d = check_int(d, "d", low=2)
    p = check_unit_interval(p, "p")
    check_choice(mode, "mode", MASK_MODES)
    rng = check_rng(rng)
    k = math.floor(p * d)
    if mode in ("fixed", "exact-count") and k == 0:
        raise ValueError(
            f"p must be at least 1/d = {1 / d:.3g} for mode={mode!r}: floor(p d) = 0 leaves view 1 empty"
        )
    if mode in ("per-sample", "fixed-bernoulli"):
        return _bernoulli(n if mode == "per-sample" else 1, d, p, rng)
    rows = 1 if mode == "fixed" else n
    # the k smallest of iid uniforms per row: a uniformly random k-subset
    idx = np.argpartition(rng.random((rows, d)), k, axis=1)[:, :k]
    mask = np.zeros((rows, d), dtype=bool)
    np.put_along_axis(mask, idx, True, axis=1)
    return mask


def _bernoulli(rows, d, p, rng):
    """iid Bernoulli(p) booleans of shape (rows, d), row by row from ``rng``.

    For ``p = 1/2`` each entry is one bit of a uniform 64-bit word
    (``rng.integers(0, 2**64, dtype=uint64)``: the raw output of PCG64, two
    outputs of a 32-bit generator such as MT19937): row i takes ``ceil(d / 64)``
    words and entry j is bit ``j % 64`` of word ``j // 64`` (least significant first). Otherwise entry (i, j) is
    ``u < p`` for the ``i d + j``-th double of ``rng.random``. Either way a row
    takes a fixed number of draws, so drawing rows in blocks gives the same masks
    as drawing them at once (what the chunked and stacked paths rely on).
    """
    if p == 0.5:
        words = rng.integers(0, 2**64, size=(rows, -(-d // 64)), dtype=np.uint64)
        octets = words.astype("<u8", copy=False).view(np.uint8)  # byte order fixed across platforms
        return np.unpackbits(octets, axis=1, count=d, bitorder="little").view(bool)
    return rng.random((rows, d)) < p


def random_mask(X, p=0.5, *, rng=None, mode="per-sample"):
    """Split every sample into two complementary masked views.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data, one sample per row.
    p : float, default=0.5
        Masking probability in ``(0, 1)``; see :func:`draw_mask`.
    rng : None, int or numpy.random.Generator, optional
        Random generator for the mask.
    mode : {"per-sample", "fixed", "fixed-bernoulli", "exact-count"}, default="per-sample"
        Mask law; see :func:`draw_mask`.

    Returns
    -------
    X1 : array of shape (n_samples, n_features)
        View 1, ``A x`` for each sample (no ``1/p`` rescaling).
    X2 : array of shape (n_samples, n_features)
        View 2, ``(I - A) x``; ``X1 + X2 == X`` exactly.

    Notes
    -----
    Spec §2. The mask is drawn on the host and copied to the device of ``X``.
    """
    _, X = check_data(X, "X", min_rows=1)
    return split_views(X, p, rng=rng, mode=mode)


def split_views(X, p=0.5, *, rng=None, mode="per-sample"):
    """:func:`random_mask` without the checks on ``X`` (for callers that validated it)."""
    xp = get_namespace(X)
    n, d = X.shape
    mask = to_namespace(draw_mask(n, d, p, rng=rng, mode=mode), xp, device=device_of(X))
    X1 = X * xp.astype(mask, X.dtype)  # 4x faster than where(); entries are x or ±0 exactly
    return X1, X - X1


def expected_mask_moments(x, p=0.5):
    """Mask-averaged moments of one sample under iid Bernoulli(p) masks.

    Parameters
    ----------
    x : array of shape (n_features,)
        One sample.
    p : float, default=0.5
        Masking probability in ``(0, 1)``.

    Returns
    -------
    dict of str to array
        ``"mean"``: :math:`\\mathbb{E}[Ax] = p x`, shape (d,);
        ``"cross"``: :math:`\\mathbb{E}[A x x^\\top (I-A)] = p(1-p)\\Delta(x x^\\top)`,
        shape (d, d); ``"same"``: :math:`\\mathbb{E}[A x x^\\top A] = p^2 x x^\\top + p(1-p) D(x x^\\top)`,
        shape (d, d).
    """
    xp, x = check_data(x, "x", ndim=1)
    p = check_unit_interval(p, "p")
    outer = x[:, None] * x[None, :]
    return {
        "mean": p * x,
        "cross": p * (1 - p) * offdiag(outer),
        "same": p**2 * outer + p * (1 - p) * diag_part(outer),
    }
