"""Alignment and uniformity (Wang & Isola 2020; docs/systems.md §2).

The metrics apply to any representation: pass the embeddings of the two
views (or of one set of samples for uniformity); they are ℓ₂-normalised
here, as the definitions ask for features on the sphere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._array_api import get_namespace
from .._typing import Array
from .._validation import check_data, check_positive
from ._common import (
    check_pair,
    eye_bool,
    logsumexp,
    loss_and_grad_functions,
    masked_logits,
    normalize_backward,
    row_normalize,
    softmax,
)
from .base import ContrastiveLoss, register_loss

__all__ = [
    "AlignUniform",
    "DEFAULT_ALPHA",
    "DEFAULT_T",
    "DEFAULT_WEIGHTS",
    "alignment",
    "uniformity",
    "uniformity_value_and_grad",
    "uniformity_lower_bound",
    "align_uniform_loss",
    "align_uniform_grad",
    "align_uniform_value_and_grad",
    "negatives_loss",
    "sphere_log_partition",
]

#: Published defaults of the reference code: alignment exponent, uniformity scale, weights.
DEFAULT_ALPHA = 2.0
DEFAULT_T = 2.0
DEFAULT_WEIGHTS = (1.0, 1.0)


def _sq_dists(U):
    xp = get_namespace(U)
    sq = xp.sum(U * U, axis=1)
    D = sq[:, None] + sq[None, :] - 2 * (U @ U.mT)
    return xp.clip(D, min=0)


def _log_hyp0f1(m, x):
    """:math:`\\log{}_0F_1(;m/2;x)`, the log-partition behind the sphere's closed forms, for an integer ``m >= 2``."""
    from scipy.special import hyp0f1

    if isinstance(m, bool) or int(m) != m or m < 2:
        raise ValueError(f"m must be an integer >= 2, got {m!r}")
    return math.log(hyp0f1(m / 2, x))


def alignment(Z1: Array, Z2: Array, *, alpha: float = DEFAULT_ALPHA, normalize: bool = True) -> Array:
    """Alignment :math:`\\mathbb E_{\\mathrm{pos}}\\|f(x) - f(y)\\|^\\alpha` of paired embeddings.

    .. math::

        \\mathcal L_{\\mathrm{align}} = \\frac1N\\sum_i \\|u^1_i - u^2_i\\|_2^\\alpha,
        \\qquad u = z/\\|z\\|

    Parameters
    ----------
    Z1, Z2 : array of shape (N, k)
        Embeddings of the two views, paired row by row.
    alpha : float, default=2.0
        Exponent :math:`\\alpha > 0`.
    normalize : bool, default=True
        Scale the rows to unit ℓ₂ norm first.

    Returns
    -------
    array of shape ()
        :math:`\\mathcal L_{\\mathrm{align}} \\in [0, 2^\\alpha]` for normalised rows.

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl import systems
    >>> rng = np.random.default_rng(0)
    >>> Z1 = rng.standard_normal((8, 3))
    >>> Z2 = Z1 + 0.1 * rng.standard_normal((8, 3))  # close positives
    >>> float(systems.alignment(Z1, Z1)), round(float(systems.alignment(Z1, Z2)), 4)
    (0.0, 0.0187)
    """
    xp, Z1, Z2 = check_pair(Z1, Z2, min_rows=1)
    alpha = check_positive(alpha, "alpha")
    if normalize:
        Z1, Z2 = row_normalize(Z1)[0], row_normalize(Z2)[0]
    d2 = xp.sum((Z1 - Z2) ** 2, axis=1)
    return xp.mean(d2 ** (alpha / 2))


def uniformity_value_and_grad(U: Array, *, t: float = DEFAULT_T) -> tuple[Array, Array]:
    """Uniformity of points (no normalisation) and its gradient.

    .. math::

        \\mathcal L_{\\mathrm{uniform}} = \\log\\frac{2}{N(N-1)}\\sum_{i<j}e^{-t\\|u_i - u_j\\|^2}

    Parameters
    ----------
    U : array of shape (N, k)
        Points, ``N >= 2``.
    t : float, default=2.0
        Scale :math:`t > 0`.

    Returns
    -------
    loss : array of shape ()
        The log-mean Gaussian potential.
    dU : array of shape (N, k)
        :math:`-4t\\sum_j P_{ij}(u_i - u_j)` with :math:`P` the softmax of
        :math:`-t\\|u_i-u_j\\|^2` over all ordered pairs :math:`i \\ne j`.
    """
    xp = get_namespace(U)
    N = U.shape[0]
    if N < 2:
        raise ValueError(f"uniformity needs at least 2 points (batch size >= 2), got {N}")
    logits = masked_logits(-t * _sq_dists(U))
    flat = xp.reshape(logits, (-1,))
    loss = logsumexp(flat, axis=0) - math.log(N * (N - 1))
    P = xp.reshape(softmax(flat, axis=0), (N, N))
    P = xp.where(eye_bool(N, U), xp.zeros_like(P), P)
    row = xp.sum(P, axis=1, keepdims=True)
    dU = -4 * t * (row * U - P @ U)
    return loss, dU


def uniformity(Z: Array, *, t: float = DEFAULT_T, normalize: bool = True) -> Array:
    """Uniformity of one set of embeddings (log-mean Gaussian potential over pairs).

    .. math::

        \\mathcal L_{\\mathrm{uniform}} = \\log\\frac{2}{N(N-1)}\\sum_{i<j}e^{-t\\|u_i - u_j\\|^2}

    Parameters
    ----------
    Z : array of shape (N, k)
        Embeddings of one view, ``N >= 2``.
    t : float, default=2.0
        Scale :math:`t > 0`.
    normalize : bool, default=True
        Scale the rows to unit ℓ₂ norm first.

    Returns
    -------
    array of shape ()
        :math:`\\mathcal L_{\\mathrm{uniform}} \\le 0`: 0 for a collapsed set, and at least
        :func:`uniformity_lower_bound` in expectation on the sphere.

    Notes
    -----
    docs/systems.md §2: the reference code's stable form
    ``logsumexp(-t * pdist**2) - log(N(N-1)/2)``, within one view.

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl import systems
    >>> rng = np.random.default_rng(0)
    >>> Z1 = rng.standard_normal((8, 3))
    >>> Z2 = Z1 + 0.1 * rng.standard_normal((8, 3))  # close positives
    >>> bool(np.isclose(systems.uniformity(3 * Z1), systems.uniformity(Z1)))  # on the sphere: scale-free
    True
    """
    _, Z = check_data(Z, "Z", min_rows=2)
    t = check_positive(t, "t")
    if normalize:
        Z = row_normalize(Z)[0]
    return uniformity_value_and_grad(Z, t=t)[0]


def uniformity_lower_bound(t: float, m: int) -> float:
    """Uniformity of the uniform distribution on :math:`S^{m-1}` (the minimum over encoders).

    .. math::

        \\log\\mathbb E_{u,v\\sim\\sigma_{m-1}} e^{-t\\|u-v\\|^2} = -2t + \\log{}_0F_1(;m/2;t^2)

    Parameters
    ----------
    t : float
        Scale :math:`t > 0`.
    m : int
        Embedding dimension, ``m >= 2``.

    Returns
    -------
    float
        The value (a host float; it uses :func:`scipy.special.hyp0f1`).

    Examples
    --------
    >>> from spikedcl import systems
    >>> round(systems.uniformity_lower_bound(2.0, 3), 4)
    -2.0798
    """
    t = check_positive(t, "t")
    return float(-2 * t + _log_hyp0f1(m, t**2))


def align_uniform_value_and_grad(
    Z1: Array,
    Z2: Array,
    *,
    lam_align: float = DEFAULT_WEIGHTS[0],
    lam_uniform: float = DEFAULT_WEIGHTS[1],
    alpha: float = DEFAULT_ALPHA,
    t: float = DEFAULT_T,
) -> tuple[Array, Array, Array]:
    """Weighted alignment + uniformity loss of normalised embeddings, with its gradient.

    .. math::

        \\mathcal L = \\lambda_a\\,\\mathcal L_{\\mathrm{align}}(\\alpha)
        + \\frac{\\lambda_u}{2}\\big[\\mathcal L_{\\mathrm{uniform}}(U_1; t)
        + \\mathcal L_{\\mathrm{uniform}}(U_2; t)\\big],
        \\qquad u = z/\\|z\\|

    Parameters
    ----------
    Z1, Z2 : array of shape (N, k)
        Embeddings of the two views, paired row by row, ``N >= 2``.
    lam_align : float, default=1.0
        :math:`\\lambda_a \\ge 0`.
    lam_uniform : float, default=1.0
        :math:`\\lambda_u \\ge 0`.
    alpha : float, default=2.0
        Alignment exponent, ``alpha >= 1`` (the gradient of :math:`\\|v\\|^\\alpha` at 0 needs it).
    t : float, default=2.0
        Uniformity scale :math:`t > 0`.

    Returns
    -------
    loss : array of shape ()
        :math:`\\mathcal L`.
    dZ1, dZ2 : array of shape (N, k)
        Gradients with respect to ``Z1`` and ``Z2``.

    Notes
    -----
    docs/systems.md §2; reference defaults :math:`\\alpha = t = 2`, weights 1/1.

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl import systems
    >>> rng = np.random.default_rng(0)
    >>> Z1 = rng.standard_normal((8, 3))
    >>> Z2 = Z1 + 0.1 * rng.standard_normal((8, 3))  # close positives
    >>> loss = systems.align_uniform_loss(Z1, Z2)  # alignment + the mean uniformity of the two views
    >>> u = (systems.uniformity(Z1) + systems.uniformity(Z2)) / 2
    >>> bool(np.isclose(loss, systems.alignment(Z1, Z2) + u)), round(float(loss), 4)
    (True, -2.182)
    """
    xp, Z1, Z2 = check_pair(Z1, Z2)
    lam_align = check_positive(lam_align, "lam_align", allow_zero=True)
    lam_uniform = check_positive(lam_uniform, "lam_uniform", allow_zero=True)
    alpha = check_positive(alpha, "alpha")
    if alpha < 1:
        raise ValueError(f"alpha must lie in [1, inf) for a differentiable loss, got {alpha}")
    t = check_positive(t, "t")
    N = Z1.shape[0]
    U1, n1 = row_normalize(Z1)
    U2, n2 = row_normalize(Z2)
    V = U1 - U2
    d2 = xp.sum(V * V, axis=1, keepdims=True)
    align = xp.mean(d2 ** (alpha / 2))
    # d/dv ||v||^alpha = alpha ||v||^(alpha-2) v  (zero at v = 0 for alpha >= 1)
    coef = xp.where(d2 > 0, alpha * xp.clip(d2, min=xp.finfo(d2.dtype).smallest_normal) ** (alpha / 2 - 1), xp.zeros_like(d2))
    dV = coef * V / N
    u1, g1 = uniformity_value_and_grad(U1, t=t)
    u2, g2 = uniformity_value_and_grad(U2, t=t)
    loss = lam_align * align + lam_uniform * (u1 + u2) / 2
    dU1 = lam_align * dV + lam_uniform * g1 / 2
    dU2 = -lam_align * dV + lam_uniform * g2 / 2
    return loss, normalize_backward(U1, n1, dU1), normalize_backward(U2, n2, dU2)


align_uniform_loss, align_uniform_grad = loss_and_grad_functions(
    align_uniform_value_and_grad,
    loss="Weighted alignment + uniformity loss.",
    grad="Gradient ``(dZ1, dZ2)`` of :func:`align_uniform_loss` with respect to both views.",
)


def negatives_loss(anchors: Array, positives: Array, negatives: Array, *, temperature: float = 0.5) -> Array:
    """Contrastive loss with M explicit negatives per anchor (Wang & Isola's Theorem 1 setting).

    .. math::

        \\mathcal L_M = \\frac1N\\sum_i -\\log\\frac{e^{u_i^\\top v_i/\\tau}}
        {e^{u_i^\\top v_i/\\tau} + \\sum_{j=1}^M e^{u_i^\\top w_{ij}/\\tau}},
        \\qquad u, v, w \\text{ normalised}

    Parameters
    ----------
    anchors : array of shape (N, k)
        Anchor embeddings.
    positives : array of shape (N, k)
        Their positives.
    negatives : array of shape (N, M, k)
        ``M >= 1`` negatives per anchor.
    temperature : float, default=0.5
        :math:`\\tau > 0`.

    Returns
    -------
    array of shape ()
        :math:`\\mathcal L_M`. Theorem 1: :math:`\\mathcal L_M - \\log M` tends to
        :math:`-\\frac1\\tau\\mathbb E[u^\\top v] + \\mathbb E_u\\log\\mathbb E_w e^{u^\\top w/\\tau}`
        as :math:`M \\to \\infty` (docs/systems.md §2, U-2).
    """
    xp, anchors, positives = check_pair(anchors, positives, names=("anchors", "positives"), min_rows=1)
    tau = check_positive(temperature, "temperature")
    if negatives.ndim != 3 or negatives.shape[0] != anchors.shape[0] or negatives.shape[2] != anchors.shape[1]:
        raise ValueError(
            f"negatives must have shape (N, M, k) = ({anchors.shape[0]}, M, {anchors.shape[1]}), "
            f"got {tuple(negatives.shape)}"
        )
    U, _ = row_normalize(anchors)
    V, _ = row_normalize(positives)
    W, _ = row_normalize(negatives)
    pos = xp.sum(U * V, axis=1) / tau
    neg = xp.sum(W * U[:, None, :], axis=2) / tau
    logits = xp.concat([pos[:, None], neg], axis=1)
    return xp.mean(logsumexp(logits, axis=1) - pos)


def sphere_log_partition(temperature: float, m: int) -> float:
    """:math:`\\log\\mathbb E_{w\\sim\\sigma_{m-1}}e^{u^\\top w/\\tau} = \\log{}_0F_1(;m/2;1/(4\\tau^2))`, any unit u.

    Parameters
    ----------
    temperature : float
        :math:`\\tau > 0`.
    m : int
        Dimension, ``m >= 2``.

    Returns
    -------
    float
        The log-partition function of the uniform law on :math:`S^{m-1}` (host float).
    """
    tau = check_positive(temperature, "temperature")
    return float(_log_hyp0f1(m, 1 / (4 * tau**2)))


@register_loss
@dataclass(frozen=True)
class AlignUniform(ContrastiveLoss):
    """The weighted alignment + uniformity loss as a loss of the protocol, method ``"align-uniform"``.

    Parameters
    ----------
    lam_align : float, default=1.0
        :math:`\\lambda_a`, in [0, inf).
    lam_uniform : float, default=1.0
        :math:`\\lambda_u`, in [0, inf).
    """

    name = "align-uniform"
    lam_align: float = DEFAULT_WEIGHTS[0]
    lam_uniform: float = DEFAULT_WEIGHTS[1]

    def __post_init__(self):
        object.__setattr__(self, "lam_align", check_positive(self.lam_align, "lam_align", allow_zero=True))
        object.__setattr__(self, "lam_uniform", check_positive(self.lam_uniform, "lam_uniform", allow_zero=True))

    def value_and_grad(self, Z1: Array, Z2: Array) -> tuple[Array, Array, Array]:
        """:func:`align_uniform_value_and_grad`: ``(loss, dZ1, dZ2)``."""
        return align_uniform_value_and_grad(Z1, Z2, lam_align=self.lam_align, lam_uniform=self.lam_uniform)
