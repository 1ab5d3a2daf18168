"""Negatives and batch size (docs/systems.md §7).

**N-1.** With :math:`y = \\rho x + \\sqrt{1-\\rho^2}\\,\\varepsilon`, :math:`x, \\varepsilon \\sim N(0, I_d)`,
the mutual information is :math:`I = -\\tfrac d2\\log(1-\\rho^2)` and the optimal
critic is the log density ratio, so the InfoNCE estimate with K pairs can be
compared with the truth: it never exceeds :math:`\\log K`.

**N-2.** The minibatch NT-Xent of a *fixed* encoder is a biased estimate of
its population limit: the per-anchor log-mean over the batch is biased low
(Jensen), and the positive sitting in the denominator biases it high; both
are O(1/N). :func:`minibatch_log_partition`, :func:`nt_xent_bias_terms`,
:func:`nt_xent_population_limit` and :func:`nt_xent_bias_first_order`
measure and predict the two terms for view embeddings that are exactly
:math:`N(0, I_k)` (a whitening encoder, :func:`whitened_view_encoder`), for
which the population log-partition has a closed form.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._array_api import to_namespace
from .._linalg import sym
from .._typing import Array, RNGLike
from .._validation import check_data, check_int, check_positive, check_unit_interval
from ..random import check_rng
from ._common import check_pair, check_temperature, eye_bool, logsumexp, row_normalize
from .align_uniform import sphere_log_partition
from .nt_xent import info_nce_bound

__all__ = [
    "gaussian_mutual_information",
    "gaussian_pairs",
    "gaussian_critic",
    "info_nce_estimate",
    "minibatch_log_partition",
    "nt_xent_bias_terms",
    "nt_xent_population_limit",
    "nt_xent_bias_first_order",
    "whitened_view_encoder",
    "loglog_slope_ci",
]


def gaussian_mutual_information(rho: float, d: int) -> float:
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

    Examples
    --------
    >>> import math
    >>> from spikedcl import systems
    >>> math.isclose(systems.gaussian_mutual_information(0.5, 4), -2 * math.log(1 - 0.5**2))
    True
    """
    rho = check_unit_interval(rho, "rho")
    d = check_int(d, "d", low=1)
    return -d / 2 * math.log1p(-(rho**2))


def gaussian_pairs(
    K: int, d: int, rho: float, *, rng: RNGLike = None, xp: Any = None, device: Any = None
) -> tuple[Array, Array]:
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
    X, Y : array of shape (K, d)
        First and second members of the pairs.
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


def gaussian_critic(X: Array, Y: Array, rho: float) -> Array:
    """Optimal critic scores :math:`f(x_i, y_j) = \\log p(y_j\\mid x_i) - \\log p(y_j)`.

    .. math::

        f(x, y) = -\\frac{\\|y - \\rho x\\|^2}{2(1-\\rho^2)} + \\frac{\\|y\\|^2}{2} - \\frac d2\\log(1-\\rho^2)

    Parameters
    ----------
    X, Y : array of shape (K, d)
        First and second members of the pairs.
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


def info_nce_estimate(K: int, d: int, rho: float, *, reps: int = 1, rng: RNGLike = None) -> np.ndarray:
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


# ----------------------------------------------------------------------------- N-2: minibatch bias


def _log_partitions(Z1, Z2, tau):
    """Per-anchor log-means of the NT-Xent denominator, with and without the positive: ``(xp, incl, excl)``."""
    xp, Z1, Z2 = check_pair(Z1, Z2)
    N = Z1.shape[0]
    U, _ = row_normalize(xp.concat([Z1, Z2], axis=0))
    S = (U @ U.mT) / tau
    self_mask = eye_bool(2 * N, S)
    incl = logsumexp(xp.where(self_mask, -xp.inf, S), axis=1) - math.log(2 * N - 1)
    # the partner of row i is row i + N (mod 2N): the identity rolled by N columns
    partner_mask = xp.concat([self_mask[:, N:], self_mask[:, :N]], axis=1)
    excl = logsumexp(xp.where(self_mask | partner_mask, -xp.inf, S), axis=1) - math.log(2 * N - 2)
    return xp, incl, excl


def minibatch_log_partition(Z1: Array, Z2: Array, *, temperature: float = 0.5, positive: bool = True) -> Array:
    """Per-anchor log-mean of the NT-Xent denominator over one minibatch (cosine similarity).

    .. math::

        g_i = \\log\\frac{1}{|D_i|}\\sum_{k \\in D_i} e^{u_i^\\top u_k/\\tau},\\qquad
        D_i = \\{k \\ne i\\}\\ (|D_i| = 2N-1)\\quad\\text{or}\\quad
        D_i = \\{k \\ne i, p(i)\\}\\ (|D_i| = 2N-2),

    with :math:`u_1..u_{2N}` the normalised rows of ``Z1`` stacked over ``Z2``
    and :math:`p(i) = i \\pm N` the other view of the same sample. With the
    positive, :func:`spikedcl.systems.nt_xent.nt_xent_loss` equals
    :math:`\\frac{1}{2N}\\sum_i (g_i - u_i^\\top u_{p(i)}/\\tau) + \\log(2N-1)`.

    Parameters
    ----------
    Z1, Z2 : array of shape (N, k)
        Embeddings of the two views, paired row by row.
    temperature : float, default=0.5
        :math:`\tau > 0`.
    positive : bool, default=True
        Average over the whole NT-Xent denominator (the positive and the
        2N-2 negatives) or over the negatives only.

    Returns
    -------
    array of shape (2N,)
        :math:`g_i`, anchors of ``Z1`` first.
    """
    tau = check_temperature(temperature)
    _, incl, excl = _log_partitions(Z1, Z2, tau)
    return incl if positive else excl


def nt_xent_bias_terms(Z1: Array, Z2: Array, *, temperature: float, log_partition: float) -> tuple[Array, Array]:
    """One minibatch's unbiased estimates of the NT-Xent bias and of the log-mean (Jensen) bias.

    Let :math:`m_\\infty = e^{c}` be the population mean :math:`\\mathbb E_w e^{u^\\top w/\\tau}`
    over the embedding direction :math:`w` of a view of an independent sample,
    assumed the same for every unit anchor :math:`u` (true when the view
    embeddings are isotropic; then :math:`c` = :func:`nt_xent_population_limit`'s
    log-partition). With :math:`g_i, h_i` the per-anchor log-means of
    :func:`minibatch_log_partition` without / with the positive, minus
    :math:`c`, :math:`M = 2N-2` and :math:`x_i = e^{g_i} - 1`,

    .. math::

        \\hat b_{\\text{NT-Xent}} = \\frac{1}{2N}\\sum_i \\Big(h_i - \\frac{M}{M+1}x_i\\Big),\\qquad
        \\hat b_{\\text{log-mean}} = \\frac{1}{2N}\\sum_i (g_i - x_i).

    Their expectations are exactly
    :math:`\\mathbb E[\\mathcal L_N] - \\log(2N-1) - \\mathcal L_\\infty` and
    :math:`\\mathbb E[\\log \\hat m_i] - \\log m_\\infty`: the positive-pair term
    :math:`-u_i^\\top u_{p(i)}/\\tau` is replaced by its mean, and :math:`x_i`
    (mean zero, since :math:`\\mathbb E\\hat m_i = m_\\infty` exactly) is a control
    variate that removes the first-order fluctuation of the batch's
    negatives (2 to 5 times smaller standard deviation).

    Parameters
    ----------
    Z1, Z2 : array of shape (N, k)
        Embeddings of the two views, paired row by row, ``N >= 2``.
    temperature : float
        :math:`\\tau > 0`.
    log_partition : float
        :math:`c = \\log m_\\infty`.

    Returns
    -------
    nt_xent : array of shape ()
        :math:`\\hat b_{\\text{NT-Xent}}`.
    log_mean : array of shape ()
        :math:`\\hat b_{\\text{log-mean}}` (negatives only: Decoupled CL's denominator).
    """
    tau = check_temperature(temperature)
    c = float(log_partition)
    if not math.isfinite(c):
        raise ValueError(f"log_partition must be finite, got {log_partition!r}")
    xp, incl, excl = _log_partitions(Z1, Z2, tau)
    M = 2 * Z1.shape[0] - 2
    g = excl - c
    x = xp.expm1(g)
    return xp.mean(incl - c - M / (M + 1) * x), xp.mean(g - x)


def _log_hyp0f1(b, z):
    """:math:`\\log{}_0F_1(;b;z)` for arrays ``z >= 0`` (host), via the scaled Bessel function."""
    from scipy.special import gammaln, ive

    z = np.asarray(z, dtype=float)
    safe = np.where(z > 0, z, 1.0)
    root = 2 * np.sqrt(safe)
    out = gammaln(b) + (1 - b) / 2 * np.log(safe) + np.log(ive(b - 1, root)) + root
    return np.where(z > 0, out, 0.0)


def _check_cosines(cosines):
    s = np.asarray(cosines, dtype=float).ravel()
    if s.size < 1 or not np.all(np.isfinite(s)) or np.any(np.abs(s) > 1 + 1e-12):
        raise ValueError("cosines must be a non-empty array of finite values in [-1, 1]")
    return np.clip(s, -1.0, 1.0)


def nt_xent_population_limit(mean_cosine: float, temperature: float, k: int) -> float:
    """Population limit of the normalised NT-Xent loss for isotropic view embeddings.

    The minibatch loss :math:`\\mathcal L_N` (:func:`~spikedcl.systems.nt_xent.nt_xent_loss`,
    paper normalisation) grows like :math:`\\log(2N-1)`, the log of the
    denominator's size. The limit compared with is

    .. math::

        \\mathcal L_\\infty = \\lim_{N\\to\\infty}\\big(\\mathbb E\\mathcal L_N - \\log(2N-1)\\big)
        = -\\frac{\\mathbb E[u^\\top u^+]}{\\tau} + \\mathbb E_u\\log\\mathbb E_{w}\\, e^{u^\\top w/\\tau}
        = -\\frac{\\mathbb E[u^\\top u^+]}{\\tau} + \\log{}_0F_1\\Big(;\\frac k2;\\frac{1}{4\\tau^2}\\Big),

    the per-anchor log-mean over the batch replaced by its expectation over an
    independent view :math:`w`, uniform on :math:`S^{k-1}` when the view
    embeddings are :math:`N(0, \\Sigma)` with :math:`\\Sigma \\propto I_k`. The
    normaliser :math:`\\log(2N-1)` makes the bias vanish when all similarities
    are equal (:math:`\\tau \\to \\infty`); :math:`\\log(2N-2)` would add
    :math:`+1/(2N)`.

    Parameters
    ----------
    mean_cosine : float
        :math:`\\mathbb E[u^\\top u^+]`, the mean cosine of the two views of a sample, in [-1, 1].
    temperature : float
        :math:`\\tau > 0`.
    k : int
        Embedding dimension, ``k >= 2``.

    Returns
    -------
    float
        :math:`\\mathcal L_\\infty` (host float).
    """
    s = float(mean_cosine)
    if not -1.0 <= s <= 1.0:
        raise ValueError(f"mean_cosine must be in [-1, 1], got {mean_cosine!r}")
    tau = check_temperature(temperature)
    k = check_int(k, "k", low=2)
    return -s / tau + sphere_log_partition(tau, k)


def nt_xent_bias_first_order(cosines: Array, N: int, temperature: float, k: int) -> tuple[float, float]:
    """First-order (in 1/N) bias of the minibatch NT-Xent and of the negatives' log-mean.

    For isotropic view embeddings in :math:`\\mathbb R^k`, with
    :math:`m_\\infty = {}_0F_1(;k/2;1/(4\\tau^2))`, :math:`s` the cosine of the
    two views of a sample and :math:`M = 2N-2` negatives per anchor coming in
    :math:`N-1` pairs of views,

    .. math::

        a_+ = \\frac{\\mathbb E\\, e^{s/\\tau}}{m_\\infty},\\qquad
        a_J = \\frac12\\Big(\\frac{{}_0F_1(;\\frac k2;\\frac1{\\tau^2})}{m_\\infty^2}
        + \\frac{\\mathbb E\\,{}_0F_1(;\\frac k2;\\frac{2+2s}{4\\tau^2})}{m_\\infty^2} - 2\\Big),

    (:math:`2 m_\\infty^2 a_J / M` is the variance of the batch's mean of
    :math:`e^{u^\\top w/\\tau}`, the second ratio its pair covariance), and a
    second-order expansion of the log gives

    .. math::

        b_{\\text{NT-Xent}} \\approx \\frac{a_+ - 1}{2N-1} - \\frac{a_J (2N-2)}{(2N-1)^2},\\qquad
        b_{\\text{log-mean}} \\approx -\\frac{a_J}{2N-2}.

    The Jensen term :math:`-a_J` is always negative; the positive in the
    denominator adds :math:`a_+ - 1`, positive when positives are more
    similar than a random pair, so the NT-Xent bias has the sign of
    :math:`a_+ - 1 - a_J`.

    Parameters
    ----------
    cosines : array of shape (n,)
        Monte Carlo sample of the positive-pair cosine :math:`s` (host).
    N : int
        Batch size (pairs), ``N >= 2``.
    temperature : float
        :math:`\tau > 0`.
    k : int
        Embedding dimension, ``k >= 2``.

    Returns
    -------
    nt_xent : float
        :math:`b_{\\text{NT-Xent}}`.
    log_mean : float
        :math:`b_{\\text{log-mean}}`.
    """
    s = _check_cosines(cosines)
    N = check_int(N, "N", low=2)
    tau = check_temperature(temperature)
    k = check_int(k, "k", low=2)
    b = k / 2
    lm = float(_log_hyp0f1(b, 1 / (4 * tau**2)))
    a_pos = float(np.mean(np.exp(s / tau - lm)))
    var = math.exp(float(_log_hyp0f1(b, 1 / tau**2)) - 2 * lm)
    cov = float(np.mean(np.exp(_log_hyp0f1(b, (2 + 2 * s) / (4 * tau**2)) - 2 * lm)))
    a_jensen = (var + cov - 2) / 2
    M = 2 * N - 2
    return (a_pos - 1) / (M + 1) - a_jensen * M / (M + 1) ** 2, -a_jensen / M


def whitened_view_encoder(covariance: Array, k: int, aug_noise: float) -> tuple[Array, Array]:
    """Fixed linear encoder that makes the views' embeddings exactly :math:`N(0, I_k)`.

    Views are :math:`x + \\sigma\\varepsilon` with :math:`\\varepsilon \\sim N(0, I_d)`; with
    :math:`\\Sigma_x = V\\Lambda V^\\top` and :math:`V_k, \\lambda_{1..k}` its top eigenpairs,

    .. math::

        W = \\operatorname{diag}\\big((\\lambda_i + \\sigma^2)^{-1/2}\\big) V_k^\\top,\\qquad
        W(\\Sigma_x + \\sigma^2 I)W^\\top = I_k,\\qquad
        W\\Sigma_x W^\\top = \\operatorname{diag}(\\mu),\\ \\mu_i = \\frac{\\lambda_i}{\\lambda_i + \\sigma^2}.

    For Gaussian :math:`x` each view embedding is :math:`N(0, I_k)`, so its direction is
    uniform on :math:`S^{k-1}` and the population log-partition is exact.

    Parameters
    ----------
    covariance : array of shape (d, d)
        Symmetric positive semi-definite :math:`\\Sigma_x`.
    k : int
        Embedding dimension, ``1 <= k <= d``.
    aug_noise : float
        :math:`\\sigma > 0`, the augmentation noise.

    Returns
    -------
    W : array of shape (k, d)
        The encoder.
    mu : array of shape (k,)
        The per-coordinate correlation of the two views' embeddings, in [0, 1).
    """
    xp, S = check_data(covariance, "covariance")
    d = S.shape[0]
    if S.shape != (d, d):
        raise ValueError(f"covariance must be square, got shape {tuple(S.shape)}")
    k = check_int(k, "k", low=1, high=d)
    sigma2 = check_positive(aug_noise, "aug_noise") ** 2
    lam, V = xp.linalg.eigh(sym(S))
    lam = xp.clip(xp.flip(lam[d - k :]), min=0.0)
    Vk = xp.flip(V[:, d - k :], axis=1)
    W = Vk.mT / xp.sqrt(lam + sigma2)[:, None]
    return W, lam / (lam + sigma2)


def loglog_slope_ci(x: Array, y: Array, y_se: Array, *, level: float = 0.95) -> tuple[float, float]:
    """Weighted least-squares slope of :math:`\\log|y|` on :math:`\\log x`, with a confidence interval.

    Each point gets the delta-method variance :math:`(\\mathrm{se}_i/|y_i|)^2` of
    :math:`\\log|y_i|`; the slope's standard error is that of the weighted fit
    with known variances (normal quantile).

    Parameters
    ----------
    x : array of shape (m,)
        Positive abscissae, at least two distinct values.
    y : array of shape (m,)
        Non-zero estimates (e.g. mean biases; the sign is dropped).
    y_se : array of shape (m,)
        Their positive standard errors.
    level : float, default=0.95
        Confidence level, in (0, 1).

    Returns
    -------
    slope : float
        The fitted exponent.
    half_width : float
        Half-width of the confidence interval of the slope.
    """
    from scipy import stats

    x, y, se = (np.asarray(a, dtype=float).ravel() for a in (x, y, y_se))
    if not (x.shape == y.shape == se.shape) or x.size < 2:
        raise ValueError("x, y and y_se must have the same length, at least 2")
    if np.any(x <= 0) or np.any(y == 0) or np.any(se <= 0) or np.ptp(np.log(x)) == 0:
        raise ValueError("x must be positive with two distinct values, y non-zero and y_se positive")
    level = check_unit_interval(level, "level")
    lx, ly = np.log(x), np.log(np.abs(y))
    w = (np.abs(y) / se) ** 2
    mx = np.sum(w * lx) / np.sum(w)
    my = np.sum(w * ly) / np.sum(w)
    sxx = np.sum(w * (lx - mx) ** 2)
    slope = np.sum(w * (lx - mx) * (ly - my)) / sxx
    return float(slope), float(stats.norm.ppf(0.5 + level / 2) / math.sqrt(sxx))
