"""Negatives and batch size: the InfoNCE bound on Gaussian pairs of known mutual information
(seed_systems.md §7).

With :math:`y = \\rho x + \\sqrt{1-\\rho^2}\\,\\varepsilon`, :math:`x, \\varepsilon \\sim N(0, I_d)`,
the mutual information is :math:`I = -\\tfrac d2\\log(1-\\rho^2)` and the optimal
critic is the log density ratio, so the InfoNCE estimate with K pairs can be
compared with the truth: it never exceeds :math:`\\log K`.
"""

from __future__ import annotations

import math

import numpy as np

from .._array_api import to_namespace
from .._validation import check_data, check_int, check_unit_interval
from ..random import check_rng
from .nt_xent import info_nce_bound

__all__ = ["gaussian_mutual_information", "gaussian_pairs", "gaussian_critic", "info_nce_estimate"]


def gaussian_mutual_information(rho, d):
    """Mutual information :math:`I = -\\tfrac d2\\log(1-\\rho^2)` of the correlated Gaussian pair (nats).

    Parameters
    ----------
    rho : float
        Per-coordinate correlation in ``(0, 1)``.
    d : int
        Dimension ``>= 1``.

    Returns
    -------
    float
        :math:`I(X; Y)` in nats.
    """
    rho = check_unit_interval(rho, "rho")
    d = check_int(d, "d", low=1)
    return -d / 2 * math.log1p(-(rho**2))


def gaussian_pairs(K, d, rho, *, rng=None, xp=None, device=None):
    """Draw ``K`` pairs :math:`(x, y)` with :math:`y = \\rho x + \\sqrt{1-\\rho^2}\\varepsilon`.

    Parameters
    ----------
    K : int
        Batch size ``>= 2``.
    d : int
        Dimension ``>= 1``.
    rho : float
        Correlation in ``(0, 1)``.
    rng : None, int or numpy.random.Generator, optional
        Random generator (draws on the host).
    xp : array namespace, optional
        Namespace of the returned arrays (default NumPy).
    device : object, optional
        Device in ``xp``.

    Returns
    -------
    X : array of shape (K, d)
        First members.
    Y : array of shape (K, d)
        Second members.
    """
    K = check_int(K, "K", low=2)
    d = check_int(d, "d", low=1)
    rho = check_unit_interval(rho, "rho")
    rng = check_rng(rng)
    X = rng.standard_normal((K, d))
    Y = rho * X + math.sqrt(1 - rho**2) * rng.standard_normal((K, d))
    if xp is not None:
        X, Y = to_namespace(X, xp, device=device), to_namespace(Y, xp, device=device)
    return X, Y


def gaussian_critic(X, Y, rho):
    """Optimal critic scores :math:`f(x_i, y_j) = \\log p(y_j\\mid x_i) - \\log p(y_j)`.

    .. math::

        f(x, y) = -\\frac{\\|y - \\rho x\\|^2}{2(1-\\rho^2)} + \\frac{\\|y\\|^2}{2} - \\frac d2\\log(1-\\rho^2)

    Parameters
    ----------
    X : array of shape (K, d)
        First members.
    Y : array of shape (K, d)
        Second members.
    rho : float
        Correlation in ``(0, 1)``.

    Returns
    -------
    array of shape (K, K)
        Scores, positives on the diagonal.
    """
    xp, X = check_data(X, "X")
    _, Y = check_data(Y, "Y")
    if X.shape != Y.shape:
        raise ValueError(f"X and Y must have the same shape, got {tuple(X.shape)} and {tuple(Y.shape)}")
    rho = check_unit_interval(rho, "rho")
    d = X.shape[1]
    c = 1 - rho**2
    sx = xp.sum(X * X, axis=1)
    sy = xp.sum(Y * Y, axis=1)
    dist = rho**2 * sx[:, None] + sy[None, :] - 2 * rho * (X @ Y.mT)
    return -dist / (2 * c) + sy[None, :] / 2 - d / 2 * math.log(c)


def info_nce_estimate(K, d, rho, *, reps=1, rng=None):
    """InfoNCE estimates :math:`\\log K - \\mathcal L` of :math:`I(X;Y)` with the optimal critic.

    .. math::

        \\hat I = \\frac1K\\sum_i\\log\\frac{e^{f(x_i,y_i)}}{\\frac1K\\sum_j e^{f(x_i,y_j)}} \\le \\log K

    Parameters
    ----------
    K : int
        Batch size (number of pairs; each anchor has K-1 negatives), ``>= 2``.
    d : int
        Dimension.
    rho : float
        Correlation in ``(0, 1)``.
    reps : int, default=1
        Independent batches.
    rng : None, int or numpy.random.Generator, optional
        Random generator.

    Returns
    -------
    numpy.ndarray of shape (reps,)
        One estimate per batch (host floats).
    """
    reps = check_int(reps, "reps", low=1)
    rng = check_rng(rng)
    out = np.empty(reps)
    for i in range(reps):
        X, Y = gaussian_pairs(K, d, rho, rng=rng)
        out[i] = float(info_nce_bound(gaussian_critic(X, Y, rho)))
    return out
