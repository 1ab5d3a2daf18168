"""SimCLR's NT-Xent loss and the one-directional InfoNCE loss (docs/systems.md §1, §7).

Both are softmax cross-entropies over a batch of similarities, computed with a
stable log-sum-exp (no overflow at temperature 0.01 in float32), with an
analytic gradient with respect to the embeddings.

**Factor of two.** SimCLR's official TensorFlow objective returns
``loss_a + loss_b``, one softmax cross-entropy per view averaged over the N
anchors: twice the paper's :math:`\\mathcal L`, which averages over all 2N
ordered positive pairs. spikedcl returns the paper's :math:`\\mathcal L`;
multiply by 2 to compare with the TF numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._array_api import device_of, get_namespace
from .._typing import Array, RNGLike
from .._validation import check_data, check_int, check_positive
from ..random import check_rng
from ._common import (
    check_pair,
    check_similarity,
    check_temperature,
    eye_bool,
    logsumexp,
    loss_and_grad_functions,
    masked_logits,
    maybe_normalize,
    maybe_normalize_backward,
)
from .base import ContrastiveLoss, register_loss

__all__ = [
    "NTXent", "NTXentHead",
    "DEFAULT_TEMPERATURE",
    "nt_xent_loss",
    "nt_xent_grad",
    "nt_xent_value_and_grad",
    "info_nce_loss",
    "info_nce_grad",
    "info_nce_value_and_grad",
    "info_nce_from_scores",
    "info_nce_bound",
    "style_views",
    "ridge_probe_r2",
]

#: spikedcl's default temperature (SimCLR's CIFAR-10 setting; docs/systems.md §1).
DEFAULT_TEMPERATURE = 0.5


def _check_inputs(Z1, Z2, temperature, similarity):
    """Checked views and temperature of the softmax losses: ``(xp, Z1, Z2, tau)``."""
    xp, Z1, Z2 = check_pair(Z1, Z2)
    tau = check_temperature(temperature)
    check_similarity(similarity)
    return xp, Z1, Z2, tau


def nt_xent_value_and_grad(
    Z1: Array, Z2: Array, *, temperature: float = DEFAULT_TEMPERATURE, similarity: Literal["cosine", "dot"] = "cosine"
) -> tuple[Array, Array, Array]:
    """NT-Xent loss and its gradient with respect to both views.

    .. math::

        \\mathcal L = \\frac{1}{2N}\\sum_{i=1}^{2N} -\\log
        \\frac{\\exp(s(z_i, z_{p(i)})/\\tau)}{\\sum_{k \\ne i}\\exp(s(z_i, z_k)/\\tau)},

    where :math:`z_1..z_{2N}` stacks ``Z1`` over ``Z2``, :math:`p(i) = i \\pm N`
    is the other view of the same sample, and :math:`s` is the cosine (or dot)
    similarity. The 2(N-1) other views are the negatives.

    Parameters
    ----------
    Z1, Z2 : array of shape (N, k)
        Embeddings of the two views, paired row by row, ``N >= 2``.
    temperature : float, default=0.5
        :math:`\\tau > 0`.
    similarity : {"cosine", "dot"}, default="cosine"
        Cosine similarity (SimCLR) or the raw inner product.

    Returns
    -------
    loss : array of shape ()
        :math:`\\mathcal L` (the paper's normalisation; the official TF code reports :math:`2\\mathcal L`).
    dZ1 : array of shape (N, k)
        :math:`\\partial\\mathcal L/\\partial Z_1`.
    dZ2 : array of shape (N, k)
        :math:`\\partial\\mathcal L/\\partial Z_2`.

    Notes
    -----
    docs/systems.md §1. With :math:`S = UU^\\top/\\tau` (diagonal :math:`-\\infty`),
    :math:`P` its row softmax and :math:`Y` the one-hot partners,
    :math:`G = (P - Y)/(2N)` and :math:`\\partial\\mathcal L/\\partial U = (G + G^\\top)U/\\tau`,
    followed by the normalisation Jacobian :math:`(I - u_iu_i^\\top)/\\|z_i\\|`.

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl import systems
    >>> rng = np.random.default_rng(0)
    >>> Z1 = rng.standard_normal((8, 3))
    >>> Z2 = Z1 + 0.1 * rng.standard_normal((8, 3))  # close positives
    >>> loss, dZ1, dZ2 = systems.nt_xent.nt_xent_value_and_grad(Z1, Z2)
    >>> round(float(loss), 4), dZ1.shape, float(systems.nt_xent_loss(Z1, Z2)) == float(loss)
    (1.4009, (8, 3), True)
    >>> round(float(systems.nt_xent_loss(Z1, Z2, temperature=0.1)), 4)  # sharper: the positives stand out
    0.3978
    """
    xp, Z1, Z2, tau = _check_inputs(Z1, Z2, temperature, similarity)
    N = Z1.shape[0]
    Z = xp.concat([Z1, Z2], axis=0)
    U, norms = maybe_normalize(Z, similarity == "cosine")
    S = masked_logits((U @ U.mT) / tau)
    lse = logsumexp(S, axis=1)
    partner = xp.concat([U[N:, :], U[:N, :]], axis=0)
    pos = xp.sum(U * partner, axis=1) / tau
    loss = xp.mean(lse - pos)
    P = xp.exp(S - lse[:, None])
    # G = (P - Y)/(2N) with Y the (symmetric) partner permutation, so
    # (G + G^T) U = (P U + P^T U - 2 Y U)/(2N) and Y U = partner
    dU = (P @ U + P.mT @ U - 2 * partner) / (2 * N * tau)
    dZ = maybe_normalize_backward(U, norms, dU)
    return loss, dZ[:N, :], dZ[N:, :]


nt_xent_loss, nt_xent_grad = loss_and_grad_functions(
    nt_xent_value_and_grad,
    loss="NT-Xent (SimCLR) loss of a batch of view pairs, in the paper's normalisation (the TF code reports twice it).",
    grad="Gradient ``(dZ1, dZ2)`` of :func:`nt_xent_loss` with respect to both views.",
)


def info_nce_from_scores(scores: Array) -> tuple[Array, Array]:
    """InfoNCE loss of a critic matrix and its gradient.

    .. math::

        \\mathcal L = -\\frac1K\\sum_{i=1}^K\\Big[f(x_i, y_i) - \\log\\sum_{j=1}^K e^{f(x_i, y_j)}\\Big]

    Parameters
    ----------
    scores : array of shape (K, K)
        Critic values :math:`f(x_i, y_j)`; the diagonal holds the positive pairs. ``K >= 2``.

    Returns
    -------
    loss : array of shape ()
        :math:`\\mathcal L \\ge 0`.
    dscores : array of shape (K, K)
        :math:`(\\mathrm{softmax}_j(f) - I)/K`.
    """
    xp = get_namespace(scores)
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"scores must be a square (K, K) matrix, got shape {tuple(scores.shape)}")
    K = scores.shape[0]
    if K < 2:
        raise ValueError(f"batch size K must be at least 2, got {K}")
    eye = xp.astype(eye_bool(K, scores), scores.dtype)
    lse = logsumexp(scores, axis=1)
    pos = xp.sum(scores * eye, axis=1)
    loss = xp.mean(lse - pos)
    return loss, (xp.exp(scores - lse[:, None]) - eye) / K


def info_nce_bound(scores: Array) -> Array:
    """The InfoNCE lower bound on mutual information, :math:`\\log K - \\mathcal L` (nats).

    .. math::

        I(X;Y) \\ge \\frac1K\\sum_i \\log\\frac{e^{f(x_i,y_i)}}{\\frac1K\\sum_j e^{f(x_i,y_j)}}
        = \\log K - \\mathcal L_{\\mathrm{InfoNCE}} \\le \\log K

    Parameters
    ----------
    scores : array of shape (K, K)
        Critic values, positives on the diagonal.

    Returns
    -------
    array of shape ()
        The estimate; each term is at most :math:`\\log K`, so the estimate never
        exceeds :math:`\\log K` (docs/systems.md §7).

    Examples
    --------
    Confident scores on the diagonal: the bound approaches :math:`\\log K`.

    >>> import numpy as np
    >>> from spikedcl import systems
    >>> round(float(systems.info_nce_bound(5 * np.eye(4))), 4), round(float(np.log(4)), 4)
    (1.3663, 1.3863)
    """
    loss, _ = info_nce_from_scores(scores)
    return math.log(scores.shape[0]) - loss


def info_nce_value_and_grad(
    Z1: Array, Z2: Array, *, temperature: float = DEFAULT_TEMPERATURE, similarity: Literal["cosine", "dot"] = "cosine"
) -> tuple[Array, Array, Array]:
    """One-directional InfoNCE of anchors ``Z1`` against candidates ``Z2``, with gradients.

    .. math::

        \\mathcal L = -\\frac1N\\sum_i \\log\\frac{e^{s(z^1_i, z^2_i)/\\tau}}{\\sum_j e^{s(z^1_i, z^2_j)/\\tau}}

    Parameters
    ----------
    Z1 : array of shape (N, k)
        Anchors, ``N >= 2``.
    Z2 : array of shape (N, k)
        Candidates; row ``i`` is the positive of anchor ``i``, the others its negatives.
    temperature : float, default=0.5
        :math:`\\tau > 0`.
    similarity : {"cosine", "dot"}, default="cosine"
        Similarity :math:`s`.

    Returns
    -------
    loss : array of shape ()
        The loss.
    dZ1, dZ2 : array of shape (N, k)
        Gradients with respect to ``Z1`` and ``Z2``.

    Notes
    -----
    docs/systems.md §6–7 (the DirectCLR toys use ``similarity="dot"``, :math:`\\tau = 0.1`).

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl import systems
    >>> rng = np.random.default_rng(0)
    >>> Z1 = rng.standard_normal((8, 3))
    >>> Z2 = Z1 + 0.1 * rng.standard_normal((8, 3))  # close positives
    >>> round(float(systems.info_nce_loss(Z1, Z2)), 4)
    0.9291
    """
    _, Z1, Z2, tau = _check_inputs(Z1, Z2, temperature, similarity)
    U1, n1 = maybe_normalize(Z1, similarity == "cosine")
    U2, n2 = maybe_normalize(Z2, similarity == "cosine")
    loss, dS = info_nce_from_scores((U1 @ U2.mT) / tau)
    dU1 = (dS @ U2) / tau
    dU2 = (dS.mT @ U1) / tau
    return loss, maybe_normalize_backward(U1, n1, dU1), maybe_normalize_backward(U2, n2, dU2)


info_nce_loss, info_nce_grad = loss_and_grad_functions(
    info_nce_value_and_grad,
    loss="One-directional InfoNCE loss of anchors ``Z1`` against candidates ``Z2``.",
    grad="Gradient ``(dZ1, dZ2)`` of :func:`info_nce_loss` with respect to anchors and candidates.",
)


def style_views(
    signal: np.ndarray, q: int, d_noise: int, *, style: float = 2.0, jitter: float = 0.3, rng: RNGLike = None
) -> np.ndarray:
    """One view per row of ``signal`` for the head-vs-nuisance experiment (docs/systems.md §1, S-3).

    .. math::

        x = \\big[\\, s + \\text{jitter}\\cdot\\varepsilon \\;\\big|\\; c \\;\\big|\\; \\xi \\,\\big],\\qquad
        c \\sim N(0, \\text{style}^2 I_q),\\ \\xi \\sim N(0, I_{d_{\\text{noise}}}),\\ \\varepsilon \\sim N(0, I_r),

    with the style :math:`c`, the jitter and the noise redrawn for every view:
    two views of a sample share only the signal :math:`s`.

    Parameters
    ----------
    signal : numpy.ndarray of shape (n, r)
        The samples' signals :math:`s`.
    q : int
        Style dimension, ``q >= 1``.
    d_noise : int
        Noise dimension, ``d_noise >= 0``.
    style : float, default=2.0
        Standard deviation of each style coordinate, ``> 0``.
    jitter : float, default=0.3
        Standard deviation of the per-view signal jitter, ``>= 0``.
    rng : None, int or numpy.random.Generator, optional
        Random generator (host draws).

    Returns
    -------
    numpy.ndarray of shape (n, r + q + d_noise)
        The views; columns ``r .. r+q-1`` hold :math:`c`.
    """
    S = np.asarray(signal, dtype=float)
    if S.ndim != 2 or S.shape[0] < 1 or S.shape[1] < 1:
        raise ValueError(f"signal must be a 2-D array (n, r) with n, r >= 1, got shape {S.shape}")
    q = check_int(q, "q", low=1)
    d_noise = check_int(d_noise, "d_noise", low=0)
    style = check_positive(style, "style")
    jitter = check_positive(jitter, "jitter", allow_zero=True)
    rng = check_rng(rng)
    n = S.shape[0]
    return np.concatenate(
        [S + jitter * rng.standard_normal(S.shape), style * rng.standard_normal((n, q)),
         rng.standard_normal((n, d_noise))], axis=1,
    )


def ridge_probe_r2(F_train: Array, Y_train: Array, F_test: Array, Y_test: Array, *, ridge: float = 1e-3) -> Array:
    """Held-out :math:`R^2` of a ridge regression probe of ``Y`` on the features ``F``.

    .. math::

        \\hat B = (\\tilde F^\\top\\tilde F + \\lambda n I)^{-1}\\tilde F^\\top\\tilde Y,\\qquad
        R^2 = 1 - \\frac{\\sum\\|\\tilde y - \\tilde f\\hat B\\|^2}{\\sum\\|\\tilde y\\|^2},

    with features and targets centred by their training means (the probe has an intercept).

    Parameters
    ----------
    F_train : array of shape (n, p)
        Training features.
    Y_train : array of shape (n, t)
        Training targets.
    F_test : array of shape (m, p)
        Test features.
    Y_test : array of shape (m, t)
        Test targets.
    ridge : float, default=1e-3
        :math:`\\lambda \\ge 0`, relative to the number of training rows.

    Returns
    -------
    array of shape ()
        :math:`R^2` pooled over the target columns (0 for no information; negative when worse than the mean).
    """
    xp, F_train = check_data(F_train, "F_train")
    _, Y_train = check_data(Y_train, "Y_train")
    _, F_test = check_data(F_test, "F_test", min_rows=1)
    _, Y_test = check_data(Y_test, "Y_test", min_rows=1)
    if F_train.shape[0] != Y_train.shape[0] or F_test.shape[0] != Y_test.shape[0]:
        raise ValueError("features and targets must have the same number of rows")
    if F_train.shape[1] != F_test.shape[1] or Y_train.shape[1] != Y_test.shape[1]:
        raise ValueError("training and test arrays must have the same number of columns")
    lam = check_positive(ridge, "ridge", allow_zero=True)
    fm, ym = xp.mean(F_train, axis=0), xp.mean(Y_train, axis=0)
    A, Y = F_train - fm, Y_train - ym
    p = A.shape[1]
    G = A.mT @ A + lam * A.shape[0] * xp.eye(p, dtype=A.dtype, device=device_of(A))
    B = xp.linalg.solve(G, A.mT @ Y)
    R = (Y_test - ym) - (F_test - fm) @ B
    return 1 - xp.sum(R * R) / xp.sum((Y_test - ym) ** 2)


@register_loss
@dataclass(frozen=True)
class NTXent(ContrastiveLoss):
    """NT-Xent as a loss of the protocol (:mod:`spikedcl.systems.base`), method ``"nt-xent"``.

    Parameters
    ----------
    temperature : float, default=0.5
        :math:`\\tau`, in (0, inf).
    similarity : {"cosine", "dot"}, default="cosine"
        Similarity of the logits.
    """

    name = "nt-xent"
    temperature: float = DEFAULT_TEMPERATURE
    similarity: str = "cosine"

    def __post_init__(self):
        object.__setattr__(self, "temperature", check_temperature(self.temperature))
        check_similarity(self.similarity)

    def value_and_grad(self, Z1: Array, Z2: Array) -> tuple[Array, Array, Array]:
        """:func:`nt_xent_value_and_grad` with this loss's hyperparameters: ``(loss, dZ1, dZ2)``."""
        return nt_xent_value_and_grad(Z1, Z2, temperature=self.temperature, similarity=self.similarity)


@register_loss
@dataclass(frozen=True)
class NTXentHead(NTXent):
    """NT-Xent behind a ReLU projection head of widths (2r, r), method ``"nt-xent-head"``."""

    name = "nt-xent-head"

    def head_shape(self, r: int) -> tuple[int, int]:
        """``(2 r, r)``: hidden and output widths of the head."""
        return (2 * r, r)
