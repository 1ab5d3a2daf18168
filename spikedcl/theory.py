"""Theoretical rates and bounds as vectorised pure functions (docs/model.md §7).

* CL upper bound: :math:`\\mathbb E\\|\\sin\\Theta(U^\\star, U_{CL})\\|_F \\lesssim r^{3/2}\\log d/d + \\sqrt{dr/n}`;
* AE / GAN / PCA lower bound: :math:`\\mathbb E\\|\\sin\\Theta(U^\\star, U_{AE})\\|_F \\ge c\\sqrt r`;
* random-subspace anchor :math:`\\sqrt{r(d-r)/d}`;
* fits of the unknown constants to measured errors.

The bound shapes accept Python numbers or arrays of any array-API namespace
(broadcast together); the fits are host-side (NumPy/SciPy) utilities for
summarising sweep results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._array_api import device_of, get_namespace, to_numpy
from ._typing import Array
from .asymptotics import AsymptoticPrediction, asymptotic_sin_theta

__all__ = [
    "cl_bound_terms",
    "cl_upper_bound",
    "ae_lower_bound",
    "random_subspace_value",
    "fit_bound_constant",
    "fit_bound_coefficients",
    "loglog_slope",
    "BoundFit",
    "asymptotic_sin_theta",
    "AsymptoticPrediction",
]

def _as_arrays(*args):
    """Broadcastable float arrays in the namespace of the first array argument (NumPy otherwise)."""
    arrays = [a for a in args if hasattr(a, "__array_namespace__")]
    if not arrays:
        return np, [np.asarray(a, dtype=float) for a in args]
    xp = get_namespace(*arrays)
    dev = device_of(arrays[0])
    dtype = arrays[0].dtype if xp.isdtype(arrays[0].dtype, "real floating") else xp.float64
    return xp, [
        xp.astype(a, dtype) if hasattr(a, "__array_namespace__") else xp.asarray(a, dtype=dtype, device=dev)
        for a in args
    ]


def _check_dims(n, d, r):
    if np.any(to_numpy(r) < 1) or np.any(to_numpy(d) <= to_numpy(r)):
        raise ValueError("need 1 <= r < d for the bound")
    if n is not None and np.any(to_numpy(n) < 2):
        raise ValueError("need n >= 2 for the bound")


def cl_bound_terms(n: float | Array, d: float | Array, r: float | Array) -> tuple[Array, Array]:
    """The two terms of the CL upper bound: bias :math:`r^{3/2}\\log d/d` and variance :math:`\\sqrt{dr/n}`.

    Parameters
    ----------
    n : int or array
        Sample size.
    d : int or array
        Ambient dimension.
    r : int or array
        Signal rank.

    Returns
    -------
    bias : array
        :math:`r^{3/2}\\log d / d` (incoherence bias through Davis–Kahan).
    variance : array
        :math:`\\sqrt{d r / n}` (sampling error of the off-diagonal moments).

    Examples
    --------
    >>> from spikedcl import theory
    >>> bias, variance = theory.cl_bound_terms(1000, 100, 2)
    >>> print(f"{float(bias):.4f} {float(variance):.4f}")
    0.1303 0.4472
    """
    xp, (n, d, r) = _as_arrays(n, d, r)
    _check_dims(n, d, r)
    return r**1.5 * xp.log(d) / d, xp.sqrt(d * r / n)


def cl_upper_bound(n: float | Array, d: float | Array, r: float | Array, *, a: float = 1.0, b: float = 1.0) -> Array:
    """CL error bound :math:`a\\, r^{3/2}\\log d/d + b\\sqrt{dr/n}`.

    Parameters
    ----------
    n, d, r : int or array
        Sample size, ambient dimension and signal rank, as in :func:`cl_bound_terms`.
    a : float, default=1.0
        Constant of the bias term (fitted ≈ 0.11, docs/model.md §7).
    b : float, default=1.0
        Constant of the variance term (fitted ≈ 0.86 for the mask-averaged
        matrix, ≈ 1.01 realized).

    Returns
    -------
    array
        The bound; with ``a = b = 1`` it is the "shape" the reproduction report plots.

    Examples
    --------
    >>> from spikedcl import theory
    >>> print(f"{float(theory.cl_upper_bound(1000, 100, 2, a=0.11, b=0.86)):.4f}")
    0.3989

    Arrays broadcast: the bound at several sample sizes at once.

    >>> import numpy as np
    >>> np.round(theory.cl_upper_bound(np.array([100, 1000, 10000]), 100, 2), 3)
    array([1.544, 0.577, 0.272])
    """
    bias, var = cl_bound_terms(n, d, r)
    return a * bias + b * var


def ae_lower_bound(r: float | Array, c: float = 0.35) -> Array:
    """Autoencoder / GAN / PCA lower bound :math:`c\\sqrt r` (docs/model.md §7).

    Parameters
    ----------
    r : int or array
        Signal rank.
    c : float, default=0.35
        Universal constant in (0, 1); the two-block instance gives about 0.32
        at C = 4 and 0.35 at C = 8 for every d.

    Returns
    -------
    array
        :math:`c\\sqrt r`.

    Examples
    --------
    >>> from spikedcl import theory
    >>> print(f"{float(theory.ae_lower_bound(4)):.2f}")
    0.70
    """
    if not 0 < c < 1:
        raise ValueError(f"c must lie in (0, 1), got {c}")
    xp, (r,) = _as_arrays(r)
    return c * xp.sqrt(r)


def random_subspace_value(d: float | Array, r: float | Array) -> Array:
    """:math:`\\sqrt{r(d-r)/d}`: the RMS :math:`\\|\\sin\\Theta\\|_F` of a uniformly random r-subspace.

    Parameters
    ----------
    d : int or array
        Ambient dimension.
    r : int or array
        Subspace dimension.

    Returns
    -------
    array
        The "nothing learned" anchor (:math:`E\\|\\sin\\Theta\\|_F^2 = r(d-r)/d` exactly).

    Examples
    --------
    >>> from spikedcl import theory
    >>> print(f"{float(theory.random_subspace_value(100, 4)):.4f}")
    1.9596
    """
    xp, (d, r) = _as_arrays(d, r)
    _check_dims(None, d, r)
    return xp.sqrt(r * (d - r) / d)


@dataclass(frozen=True)
class BoundFit:
    """Result of fitting bound constants to measured errors.

    Parameters
    ----------
    coef : numpy.ndarray
        Fitted constants.
    max_rel_misfit : float
        Largest :math:`|fit - observed| / observed`.
    """

    coef: np.ndarray
    max_rel_misfit: float


def _positive_host(name, values):
    v = np.asarray(to_numpy(values), dtype=float).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"{name} must be a non-empty array of finite positive values")
    return v


def fit_bound_constant(shape: Array, observed: Array) -> BoundFit:
    """Least-squares fit of one constant on log scale: :math:`\\log y = \\log c + \\log s`.

    Parameters
    ----------
    shape : array of shape (m,)
        Bound shape at each point (e.g. :func:`cl_upper_bound` with a = b = 1).
    observed : array of shape (m,)
        Measured errors.

    Returns
    -------
    BoundFit
        ``coef = [c]`` with :math:`c = \\exp(\\mathrm{mean}(\\log y - \\log s))`.

    Examples
    --------
    Errors that follow :math:`0.9` times the variance shape give back the constant:

    >>> import numpy as np
    >>> from spikedcl import theory
    >>> n = np.array([250, 500, 1000, 2000])
    >>> shape = np.sqrt(100 * 2 / n)
    >>> fit = theory.fit_bound_constant(shape, 0.9 * shape)
    >>> np.round(fit.coef, 6), round(fit.max_rel_misfit, 6)
    (array([0.9]), 0.0)
    """
    s = _positive_host("shape", shape)
    y = _positive_host("observed", observed)
    if s.shape != y.shape:
        raise ValueError(f"shape and observed must have the same length, got {s.size} and {y.size}")
    c = float(np.exp(np.mean(np.log(y) - np.log(s))))
    return BoundFit(np.array([c]), float(np.max(np.abs(c * s - y) / y)))


def fit_bound_coefficients(n: Array, d: Array, r: Array, observed: Array) -> BoundFit:
    """Non-negative least squares for :math:`y \\approx a\\, r^{3/2}\\log d/d + b\\sqrt{dr/n}`.

    Parameters
    ----------
    n : array of shape (m,)
        Sample sizes.
    d : array of shape (m,)
        Dimensions.
    r : array of shape (m,)
        Ranks.
    observed : array of shape (m,)
        Mean measured :math:`\\|\\sin\\Theta\\|_F`.

    Returns
    -------
    BoundFit
        ``coef = [a, b]`` (docs/model.md §7 reports a ≈ 0.11, b ≈ 0.86–1.01 on F1 + F2).

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl import theory
    >>> n = np.array([250, 500, 1000, 2000, 4000])
    >>> d, r = np.full(5, 100), np.full(5, 2)
    >>> bias, variance = theory.cl_bound_terms(n, d, r)
    >>> fit = theory.fit_bound_coefficients(n, d, r, 0.1 * bias + 0.9 * variance)
    >>> np.round(fit.coef, 6)
    array([0.1, 0.9])
    """
    bias, var = (np.asarray(to_numpy(t), dtype=float).ravel() for t in cl_bound_terms(n, d, r))
    y = _positive_host("observed", observed)
    if bias.shape != y.shape:
        raise ValueError("n, d, r and observed must have the same length")
    from scipy.optimize import nnls  # imported here: scipy.optimize costs 0.3 s at import

    coef, _ = nnls(np.column_stack([bias, var]), y)
    fit = coef[0] * bias + coef[1] * var
    return BoundFit(coef, float(np.max(np.abs(fit - y) / y)))


def loglog_slope(x: Array, y: Array) -> tuple[float, float]:
    """Least-squares slope and intercept of :math:`\\log y` on :math:`\\log x`.

    Parameters
    ----------
    x : array of shape (m,)
        Positive abscissae (e.g. n), at least two distinct values.
    y : array of shape (m,)
        Positive values (e.g. mean sinΘ).

    Returns
    -------
    slope : float
        The fitted exponent.
    intercept : float
        The fitted log-constant.

    Examples
    --------
    A :math:`n^{-1/2}` rate has slope -1/2:

    >>> import numpy as np
    >>> from spikedcl import theory
    >>> n = np.array([250, 500, 1000, 2000])
    >>> slope, intercept = theory.loglog_slope(n, 3 / np.sqrt(n))
    >>> round(slope, 6)
    -0.5
    """
    lx = np.log(_positive_host("x", x))
    ly = np.log(_positive_host("y", y))
    if lx.shape != ly.shape or np.ptp(lx) == 0:
        raise ValueError("x and y must have the same length and x at least two distinct values")
    slope, intercept = np.polyfit(lx, ly, 1)
    return float(slope), float(intercept)
