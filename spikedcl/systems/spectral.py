"""Spectral contrastive loss (HaoChen et al. 2021; docs/systems.md §3).

Three faces of one objective:

* the official minibatch estimator on embeddings (:func:`spectral_loss`), with
  the μ-ball projection of the reference code as an option;
* the population loss of a linear encoder and its closed-form minimiser
  (:func:`spectral_population_loss`, :func:`spectral_closed_form`), whose
  row space is *whitened*;
* the augmentation-graph toy: a tabular encoder on a weighted graph, whose
  minimisers are the top eigenvectors of the normalised adjacency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._array_api import get_namespace
from .._linalg import diag_part, offdiag, sym, top_eigh
from .._typing import Array, RNGLike
from .._validation import check_choice, check_data, check_int, check_positive, check_unit_interval
from ..random import check_rng
from ._common import check_pair, loss_and_grad_functions, normalize_backward, row_normalize
from .base import ContrastiveLoss, register_loss

__all__ = [
    "SpectralSGD",
    "spectral_loss",
    "spectral_grad",
    "spectral_value_and_grad",
    "spectral_population_loss",
    "spectral_population_grad",
    "spectral_closed_form",
    "spectral_moments",
    "view_moments",
    "augmentation_graph",
    "normalized_adjacency",
    "graph_spectral_embedding",
    "graph_spectral_loss",
    "graph_spectral_grad",
]

MOMENT_MASKS = ("complementary", "bernoulli")


def _project(Z, mu):
    """Rescale rows with ``||z|| >= sqrt(mu)`` onto the ball of radius ``sqrt(mu)``."""
    xp = get_namespace(Z)
    U, norms = row_normalize(Z)
    outside = norms > math.sqrt(mu)
    return xp.where(outside, math.sqrt(mu) * U, Z), (U, norms, outside)


def _project_backward(cache, dZp, mu):
    xp = get_namespace(dZp)
    U, norms, outside = cache
    return xp.where(outside, math.sqrt(mu) * normalize_backward(U, norms, dZp), dZp)


def spectral_value_and_grad(Z1: Array, Z2: Array, *, mu: float = 1.0, project: bool = False) -> tuple[Array, Array, Array]:
    """Minibatch spectral contrastive loss and its gradient (the reference code's estimator).

    .. math::

        \\mathcal L = \\frac1\\mu\\Big[-\\frac2N\\sum_i z^{1\\top}_i z^2_i
        + \\frac{1}{N(N-1)}\\sum_{i\\ne j}\\big(z^{1\\top}_i z^2_j\\big)^2\\Big]

    Parameters
    ----------
    Z1, Z2 : array of shape (N, k)
        Embeddings of the two views, paired row by row, ``N >= 2``.
    mu : float, default=1.0
        Scale :math:`\\mu > 0` (1 on CIFAR-10, 10 on ImageNet in the reference code).
    project : bool, default=False
        Rescale rows with :math:`\\|z\\| \\ge \\sqrt\\mu` onto the sphere of radius
        :math:`\\sqrt\\mu` first, as the reference code does (not differentiable on that sphere).

    Returns
    -------
    loss : array of shape ()
        The loss; unbiased for the population loss of :func:`spectral_population_loss`
        (divided by :math:`\\mu`) when ``project=False``.
    dZ1, dZ2 : array of shape (N, k)
        Gradients with respect to ``Z1`` and ``Z2``.

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl import systems
    >>> rng = np.random.default_rng(0)
    >>> Z1 = rng.standard_normal((8, 3))
    >>> Z2 = Z1 + 0.1 * rng.standard_normal((8, 3))  # close positives
    >>> round(float(systems.spectral_loss(Z1, Z2)), 4)
    -2.4924
    """
    xp, Z1, Z2 = check_pair(Z1, Z2)
    mu = check_positive(mu, "mu")
    N = Z1.shape[0]
    if project:
        Z1, c1 = _project(Z1, mu)
        Z2, c2 = _project(Z2, mu)
    S = Z1 @ Z2.mT
    Soff = offdiag(S)
    pos = xp.sum(Z1 * Z2)
    loss = (-2 * pos / N + xp.sum(Soff * Soff) / (N * (N - 1))) / mu
    dS = 2 * Soff / (N * (N - 1) * mu)
    dZ1 = dS @ Z2 - (2 / (N * mu)) * Z2
    dZ2 = dS.mT @ Z1 - (2 / (N * mu)) * Z1
    if project:
        dZ1 = _project_backward(c1, dZ1, mu)
        dZ2 = _project_backward(c2, dZ2, mu)
    return loss, dZ1, dZ2


spectral_loss, spectral_grad = loss_and_grad_functions(
    spectral_value_and_grad,
    loss="Minibatch spectral contrastive loss.",
    grad="Gradient ``(dZ1, dZ2)`` of :func:`spectral_loss` with respect to both views.",
)


def _check_moments(W, Sigma, Cplus):
    xp = get_namespace(W, Sigma, Cplus)
    d = Sigma.shape[-1]
    if Sigma.shape != (d, d) or Cplus.shape != (d, d):
        raise ValueError(
            f"Sigma and Cplus must both have shape (d, d), got {tuple(Sigma.shape)} and {tuple(Cplus.shape)}"
        )
    if W is not None and (W.ndim != 2 or W.shape[1] != d):
        raise ValueError(f"W must have shape (k, d) with d={d}, got {tuple(W.shape)}")
    return xp


def spectral_population_loss(W: Array, Sigma: Array, Cplus: Array) -> Array:
    """Population spectral contrastive loss of the linear encoder :math:`f(x) = Wx`.

    .. math::

        \\mathcal L(W) = -2\\operatorname{tr}(W C_+ W^\\top) + \\|W \\Sigma W^\\top\\|_F^2

    Parameters
    ----------
    W : array of shape (k, d)
        Encoder.
    Sigma : array of shape (d, d)
        Second moment :math:`\\mathbb E[xx^\\top]` of one view.
    Cplus : array of shape (d, d)
        Positive-pair moment :math:`\\mathbb E[x x^{+\\top}]` (symmetrised).

    Returns
    -------
    array of shape ()
        The loss.
    """
    xp = _check_moments(W, Sigma, Cplus)
    G = W @ Sigma @ W.mT
    return -2 * xp.sum((W @ Cplus) * W) + xp.sum(G * G)


def spectral_population_grad(W: Array, Sigma: Array, Cplus: Array) -> Array:
    """Gradient :math:`-4WC_+ + 4(W\\Sigma W^\\top)W\\Sigma` of :func:`spectral_population_loss`.

    Parameters
    ----------
    W : array of shape (k, d)
        Encoder.
    Sigma : array of shape (d, d)
        Second moment of one view.
    Cplus : array of shape (d, d)
        Positive-pair moment (symmetric).

    Returns
    -------
    array of shape (k, d)
        The gradient.
    """
    _check_moments(W, Sigma, Cplus)
    C = sym(Cplus)
    return -4 * (W @ C) + 4 * ((W @ Sigma @ W.mT) @ W) @ Sigma


def spectral_closed_form(Sigma: Array, Cplus: Array, k: int) -> tuple[Array, Array, Array]:
    """Closed-form minimiser of the linear population spectral loss.

    .. math::

        W^\\star = \\operatorname{diag}(\\sqrt{(\\mu_i)_+})\\,U_k^\\top\\Sigma^{-1/2},\\qquad
        \\mathcal L^\\star = -\\sum_{i \\le k}(\\mu_i)_+^2,

    with :math:`(\\mu_i, U_k)` the top eigenpairs of :math:`M_s = \\Sigma^{-1/2}C_+\\Sigma^{-1/2}`.

    Parameters
    ----------
    Sigma : array of shape (d, d)
        Second moment of one view, positive definite.
    Cplus : array of shape (d, d)
        Positive-pair moment (symmetrised here).
    k : int
        Representation dimension, ``1 <= k <= d``.

    Returns
    -------
    W : array of shape (k, d)
        A minimiser (unique up to a left rotation).
    loss : array of shape ()
        :math:`\\mathcal L^\\star`.
    eigenvalues : array of shape (k,)
        :math:`\\mu_1 \\ge \\dots \\ge \\mu_k` (unclipped).

    Notes
    -----
    docs/systems.md §3: :math:`\\mathcal L(W) = \\|M_s - B^\\top B\\|_F^2 - \\|M_s\\|_F^2` with
    :math:`B = W\\Sigma^{1/2}`, so the row space :math:`\\Sigma^{-1/2}U_k` is whitened.

    Examples
    --------
    With isotropic :math:`\\Sigma` the minimiser picks the top direction of :math:`C_+`:

    >>> import numpy as np
    >>> from spikedcl import systems
    >>> W, loss, eigenvalues = systems.spectral_closed_form(np.eye(3), np.diag([3.0, 2.0, 1.0]), 1)
    >>> np.round(W**2, 6)
    array([[3., 0., 0.]])
    """
    xp = _check_moments(None, Sigma, Cplus)
    d = Sigma.shape[0]
    k = check_int(k, "k", low=1, high=d)
    lam, V = xp.linalg.eigh(sym(Sigma))
    if not bool(xp.min(lam) > 0):
        raise ValueError("Sigma must be positive definite (its smallest eigenvalue is <= 0)")
    isqrt = (V / xp.sqrt(lam)[None, :]) @ V.mT
    Ms = sym(isqrt @ sym(Cplus) @ isqrt)
    mu, Uk = top_eigh(Ms, k)
    mu_pos = xp.clip(mu, min=0)
    W = xp.sqrt(mu_pos)[:, None] * (Uk.mT @ isqrt)
    return W, -xp.sum(mu_pos**2), mu


def spectral_moments(
    Sigma_x: Array, p: float = 0.5, *, masks: Literal["complementary", "bernoulli"] = "complementary"
) -> tuple[Array, Array]:
    """Single-view and positive-pair moments of masked views, from :math:`\\Sigma_x`.

    Parameters
    ----------
    Sigma_x : array of shape (d, d)
        Second moment of the data.
    p : float, default=0.5
        Keep probability in ``(0, 1)``; complementary masks need ``p = 0.5``
        (otherwise the two views have different laws).
    masks : {"complementary", "bernoulli"}, default="complementary"
        ``"complementary"``: Ji et al.'s views :math:`Ax`, :math:`(I-A)x`;
        ``"bernoulli"``: two independent Bernoulli(p) keep-masks.

    Returns
    -------
    Sigma : array of shape (d, d)
        :math:`\\mathbb E[x_1x_1^\\top]`: :math:`\\frac14(\\Sigma_x + D(\\Sigma_x))` or
        :math:`p^2\\Sigma_x + p(1-p)D(\\Sigma_x)`.
    Cplus : array of shape (d, d)
        :math:`\\mathbb E[x_1x_2^\\top]`: :math:`\\frac14\\Delta(\\Sigma_x)` or :math:`p^2\\Sigma_x`.
    """
    _, Sigma_x = check_data(Sigma_x, "Sigma_x")
    p = check_unit_interval(p, "p")
    check_choice(masks, "masks", MOMENT_MASKS)
    if masks == "complementary":
        if p != 0.5:
            raise ValueError(f"p must be 0.5 for masks='complementary' (equal view laws), got {p}")
        return (Sigma_x + diag_part(Sigma_x)) / 4, offdiag(Sigma_x) / 4
    return p**2 * Sigma_x + p * (1 - p) * diag_part(Sigma_x), p**2 * Sigma_x


def view_moments(X1: Array, X2: Array) -> tuple[Array, Array]:
    """Plug-in moments of paired views: :math:`\\hat\\Sigma` (both views pooled) and :math:`\\hat C_+`.

    Parameters
    ----------
    X1, X2 : array of shape (n, d)
        First and second views, paired row by row.

    Returns
    -------
    Sigma : array of shape (d, d)
        :math:`(X_1^\\top X_1 + X_2^\\top X_2)/(2n)`.
    Cplus : array of shape (d, d)
        :math:`\\operatorname{sym}(X_1^\\top X_2)/n`.
    """
    _, X1, X2 = check_pair(X1, X2, names=("X1", "X2"))
    n = X1.shape[0]
    return (X1.mT @ X1 + X2.mT @ X2) / (2 * n), sym(X1.mT @ X2) / n


def augmentation_graph(
    sizes: Sequence[int], *, eps: float = 0.0, rng: RNGLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted augmentation graph: dense random blocks, optionally leaking across blocks.

    Parameters
    ----------
    sizes : sequence of int
        Node counts of the components (classes), each ``>= 1``.
    eps : float, default=0.0
        Weight of every cross-component edge (0: disconnected components).
    rng : None, int or numpy.random.Generator, optional
        Random generator for the inner weights (uniform on [0.5, 1.5], symmetric, self-loops included).

    Returns
    -------
    A : numpy.ndarray of shape (n_nodes, n_nodes)
        Symmetric non-negative adjacency (host array).
    labels : numpy.ndarray of shape (n_nodes,)
        Component of each node.
    """
    sizes = [check_int(s, "sizes", low=1) for s in sizes]
    if not sizes:
        raise ValueError("sizes must hold at least one component size")
    eps = check_positive(eps, "eps", allow_zero=True)
    rng = check_rng(rng)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    n = labels.size
    A = np.full((n, n), eps)
    start = 0
    for s in sizes:
        B = rng.uniform(0.5, 1.5, (s, s))
        A[start : start + s, start : start + s] = (B + B.T) / 2
        start += s
    return A, labels


def normalized_adjacency(A: Array) -> tuple[Array, Array]:
    """:math:`\\bar A = D^{-1/2} A D^{-1/2}` with :math:`D = \\operatorname{diag}(A\\mathbf 1)`.

    Parameters
    ----------
    A : array of shape (m, m)
        Symmetric non-negative adjacency with positive degrees.

    Returns
    -------
    Abar : array of shape (m, m)
        Normalised adjacency (eigenvalues in [-1, 1]).
    degrees : array of shape (m,)
        :math:`w_x = \\sum_{x'} A_{xx'}`.
    """
    xp, A = check_data(A, "A")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square, got shape {tuple(A.shape)}")
    deg = xp.sum(A, axis=1)
    if not bool(xp.min(deg) > 0):
        raise ValueError("A must have positive degrees (no isolated nodes)")
    s = 1 / xp.sqrt(deg)
    return s[:, None] * A * s[None, :], deg


def graph_spectral_embedding(A: Array, k: int) -> tuple[Array, Array]:
    """Top-``k`` eigenpairs of the normalised augmentation graph: the spectral loss's minimiser.

    .. math::

        \\min_F \\|\\bar A - FF^\\top\\|_F^2 \\;\\Rightarrow\\; F^\\star = V_k\\operatorname{diag}(\\sqrt{(\\gamma_i)_+})

    Parameters
    ----------
    A : array of shape (m, m)
        Symmetric adjacency.
    k : int
        Embedding dimension, ``1 <= k <= m``.

    Returns
    -------
    F : array of shape (m, k)
        Minimiser :math:`F^\\star` (up to right rotation); rows :math:`u_x = \\sqrt{w_x}f(x)`,
        so :math:`f = D^{-1/2}F^\\star`.
    gamma : array of shape (k,)
        Top eigenvalues of :math:`\\bar A`, descending.
    """
    Abar, _ = normalized_adjacency(A)
    xp = get_namespace(Abar)
    k = check_int(k, "k", low=1, high=Abar.shape[0])
    gamma, V = top_eigh(sym(Abar), k)
    return V * xp.sqrt(xp.clip(gamma, min=0))[None, :], gamma


def graph_spectral_loss(F: Array, Abar: Array) -> Array:
    """Spectral contrastive loss of a tabular encoder on the augmentation graph.

    .. math::

        \\mathcal L(F) = -2\\operatorname{tr}(F^\\top\\bar A F) + \\|F^\\top F\\|_F^2
        = \\|\\bar A - FF^\\top\\|_F^2 - \\|\\bar A\\|_F^2

    Parameters
    ----------
    F : array of shape (m, k)
        Rows :math:`u_x = \\sqrt{w_x} f(x)`.
    Abar : array of shape (m, m)
        Normalised adjacency.

    Returns
    -------
    array of shape ()
        The loss; its minimum is :math:`-\\sum_{i\\le k}(\\gamma_i)_+^2`.
    """
    xp = get_namespace(F, Abar)
    G = F.mT @ F
    return -2 * xp.sum(F * (Abar @ F)) + xp.sum(G * G)


def graph_spectral_grad(F: Array, Abar: Array) -> Array:
    """Gradient :math:`-4\\bar A F + 4F(F^\\top F)` of :func:`graph_spectral_loss`.

    Parameters
    ----------
    F : array of shape (m, k)
        Tabular embedding.
    Abar : array of shape (m, m)
        Normalised adjacency (symmetric).

    Returns
    -------
    array of shape (m, k)
        The gradient.
    """
    return -4 * (Abar @ F) + 4 * (F @ (F.mT @ F))


@register_loss
@dataclass(frozen=True)
class SpectralSGD(ContrastiveLoss):
    """The minibatch spectral contrastive loss as a loss of the protocol, method ``"spectral-sgd"``.

    Its closed form over linear encoders, on the plug-in moments of the views,
    is :meth:`closed_form` (the experiments' method ``"spectral"``).

    Parameters
    ----------
    mu : float, default=1.0
        Radius of the projection ball, in (0, inf) (used with ``project``).
    project : bool, default=False
        Project the embeddings onto the μ-ball (the reference code's option).
    """

    name = "spectral-sgd"
    mu: float = 1.0
    project: bool = False

    def __post_init__(self):
        object.__setattr__(self, "mu", check_positive(self.mu, "mu"))
        if not isinstance(self.project, bool):
            raise TypeError(f"project must be True or False, got {self.project!r}")

    def value_and_grad(self, Z1: Array, Z2: Array) -> tuple[Array, Array, Array]:
        """:func:`spectral_value_and_grad`: ``(loss, dZ1, dZ2)``."""
        return spectral_value_and_grad(Z1, Z2, mu=self.mu, project=self.project)

    def closed_form(self, X1: Array, X2: Array, k: int) -> Array:
        """Minimiser ``W`` (k, d) over linear encoders: the protocol's ``closed_form(X1, X2, k)``.

        :func:`spikedcl.systems.spectral.spectral_closed_form` of the plug-in
        moments (:func:`view_moments`) of the views ``X1, X2`` (n, d).
        """
        Sigma, Cplus = view_moments(X1, X2)
        return spectral_closed_form(Sigma, Cplus, k)[0]
