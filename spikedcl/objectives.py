"""Objectives as pure functions of the parameters and sufficient statistics.

Each function takes arrays of one namespace and returns values in it. The
closed forms in :mod:`spikedcl.closed_form` minimise these objectives; the
tests check the minimisers against them.
"""

from __future__ import annotations

from ._array_api import get_namespace
from ._typing import Array
from .forms import BatchForm, get_form

__all__ = [
    "contrastive_loss",
    "contrastive_grad",
    "contrastive_batch_loss",
    "contrastive_batch_grad",
    "autoencoder_loss",
    "autoencoder_grad",
    "rayleigh_loss",
    "rayleigh_grad",
]


def contrastive_loss(W: Array, M: Array, lam: float = 1.0) -> Array:
    """Linear contrastive loss on its sufficient statistic ``M`` (docs/model.md §3).

    .. math::

        \\mathcal L(W) = -\\operatorname{tr}(W M W^\\top) + \\frac{\\lambda}{2}\\|W W^\\top\\|_F^2

    Parameters
    ----------
    W : array of shape (r, d)
        Encoder weights.
    M : array of shape (d, d)
        Symmetric contrastive matrix (:func:`spikedcl.contrastive_matrix`).
    lam : float, default=1.0
        Regularisation strength :math:`\\lambda > 0`.

    Returns
    -------
    array of shape ()
        The loss.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> X = sc.SpikedModel.random(40, 2, rng=0).sample(300, rng=1)
    >>> M = sc.expected_contrastive_matrix(X, p=0.5)
    >>> fit = sc.closed_form.contrastive_fit_from_matrix(M, 2, lam=1.0)
    >>> round(float(sc.contrastive_loss(fit.W, M, lam=1.0)), 3)  # the minimum, -sum(mu^2) / (2 lam)
    -0.055
    >>> round(float(fit.loss), 3)
    -0.055
    """
    xp = get_namespace(W, M)
    WM = W @ M
    G = W @ W.mT
    return -xp.sum(WM * W) + lam / 2 * xp.sum(G * G)


def contrastive_grad(W: Array, M: Array, lam: float = 1.0) -> Array:
    """Gradient :math:`-2WM + 2\\lambda (W W^\\top) W` of :func:`contrastive_loss`.

    Parameters
    ----------
    W : array of shape (r, d)
        Encoder weights.
    M : array of shape (d, d)
        Symmetric contrastive matrix.
    lam : float, default=1.0
        Regularisation strength.

    Returns
    -------
    array of shape (r, d)
        The gradient with respect to ``W``.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> X = sc.SpikedModel.random(40, 2, rng=0).sample(300, rng=1)
    >>> M = sc.expected_contrastive_matrix(X, p=0.5)
    >>> fit = sc.closed_form.contrastive_fit_from_matrix(M, 2, lam=1.0)
    >>> G = sc.contrastive_grad(fit.W, M, lam=1.0)
    >>> G.shape, bool(np.abs(G).max() < 1e-10)  # stationary at the closed form
    ((2, 40), True)
    """
    return -2 * (W @ M) + 2 * lam * ((W @ W.mT) @ W)


def autoencoder_loss(W_enc: Array, W_dec: Array, S: Array, lam: float = 0.0) -> Array:
    """Two-factor linear autoencoder loss in Gram form (docs/model.md §4).

    .. math::

        \\frac1n\\|X - X W_E^\\top W_D^\\top\\|_F^2 + \\lambda(\\|W_E\\|_F^2 + \\|W_D\\|_F^2)
        = \\operatorname{tr}(S) - 2\\operatorname{tr}(W_D W_E S)
          + \\operatorname{tr}(W_D^\\top W_D W_E S W_E^\\top) + \\lambda(\\dots)

    with :math:`S = X^\\top X / n`.

    Parameters
    ----------
    W_enc : array of shape (r, d)
        Encoder :math:`W_E`.
    W_dec : array of shape (d, r)
        Decoder :math:`W_D`.
    S : array of shape (d, d)
        Second-moment matrix :math:`X^\\top X/n`.
    lam : float, default=0.0
        Weight of the penalty on both factors (never the encoder alone: the
        decoder would undo any rescaling and no minimiser would exist).

    Returns
    -------
    array of shape ()
        The loss.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> X = sc.SpikedModel.random(40, 2, rng=0).sample(300, rng=1)
    >>> S = sc.second_moment(X)
    >>> fit = sc.fit_autoencoder(X, 2)
    >>> loss = sc.autoencoder_loss(fit.W, fit.info["decoder"], S)
    >>> round(float(loss), 3), round(float(np.trace(S) - fit.eigenvalues.sum()), 3)  # the tail of the spectrum
    (22.904, 22.904)
    """
    xp = get_namespace(W_enc, W_dec, S)
    ES = W_enc @ S
    DtD = W_dec.mT @ W_dec
    fit = (
        xp.linalg.trace(S)
        - 2 * xp.sum(W_dec.mT * ES)
        + xp.sum((DtD @ ES) * W_enc)
    )
    return fit + lam * (xp.sum(W_enc**2) + xp.sum(W_dec**2))


def contrastive_batch_loss(
    W: Array, X1: Array, X2: Array, lam: float = 1.0, *, loss: str | BatchForm = "cross-view"
) -> Array:
    """Linear contrastive loss of a batch of view pairs, from the features alone (docs/model.md §3).

    .. math::

        \\mathcal L = -\\frac1n\\sum_i \\langle W x_i^{(1)}, W x_i^{(2)}\\rangle
        + \\frac{1}{n(n-1)}\\sum_{i \\ne j}\\langle W x_i^{(1)}, W x_j^{(2)}\\rangle
        + \\frac{\\lambda}{2}\\|W W^\\top\\|_F^2

    for ``loss="cross-view"`` (L-a); for ``loss="simclr"`` (L-b) the negative term is
    :math:`\\frac{1}{4n(n-1)}\\sum_{i \\ne j}\\langle W x_i, W x_j\\rangle`, :math:`x = x^{(1)} + x^{(2)}`.
    Equal to :func:`contrastive_loss` with ``M = contrastive_matrix(X1, X2, loss=loss)``,
    at cost O(n d r) per evaluation.

    Parameters
    ----------
    W : array of shape (r, d)
        Encoder weights.
    X1 : array of shape (n_samples, d)
        First views, ``n_samples >= 2``.
    X2 : array of shape (n_samples, d)
        Second views.
    lam : float, default=1.0
        Regularisation :math:`\\lambda`.
    loss : {"cross-view", "simclr"} or BatchForm, default="cross-view"
        Batch form (:mod:`spikedcl.forms`).

    Returns
    -------
    array of shape ()
        The loss.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> X = sc.SpikedModel.random(40, 2, rng=0).sample(300, rng=1)
    >>> from spikedcl.augment import split_views
    >>> from spikedcl.objectives import contrastive_batch_loss
    >>> X1, X2 = split_views(X, 0.5, rng=2)
    >>> W = np.random.default_rng(3).standard_normal((2, 40))
    >>> value = contrastive_batch_loss(W, X1, X2)
    >>> bool(np.isclose(value, sc.contrastive_loss(W, sc.contrastive_matrix(X1, X2))))
    True
    """
    return get_form(loss).batch_loss(W, X1, X2, lam)


def contrastive_batch_grad(
    W: Array, X1: Array, X2: Array, lam: float = 1.0, *, loss: str | BatchForm = "cross-view"
) -> Array:
    """Gradient of :func:`contrastive_batch_loss` with respect to ``W``, in O(n d r).

    Parameters
    ----------
    W : array of shape (r, d)
        Encoder weights.
    X1 : array of shape (n_samples, d)
        First views.
    X2 : array of shape (n_samples, d)
        Second views.
    lam : float, default=1.0
        Regularisation :math:`\\lambda`.
    loss : {"cross-view", "simclr"} or BatchForm, default="cross-view"
        Batch form (:mod:`spikedcl.forms`).

    Returns
    -------
    array of shape (r, d)
        :math:`-2 W M + 2\\lambda (W W^\\top) W` without forming ``M``.
    """
    return get_form(loss).batch_grad(W, X1, X2, lam)


def autoencoder_grad(W_enc: Array, W_dec: Array, S: Array, lam: float = 0.0) -> tuple[Array, Array]:
    """Gradients of :func:`autoencoder_loss` with respect to both factors (docs/model.md §4).

    Parameters
    ----------
    W_enc : array of shape (r, d)
        Encoder :math:`W_E`.
    W_dec : array of shape (d, r)
        Decoder :math:`W_D`.
    S : array of shape (d, d)
        Symmetric second moment :math:`X^\\top X/n`.
    lam : float, default=0.0
        Penalty on both factors.

    Returns
    -------
    grad_enc : array of shape (r, d)
        :math:`2(W_D^\\top W_D W_E S - W_D^\\top S) + 2\\lambda W_E`.
    grad_dec : array of shape (d, r)
        :math:`2(W_D W_E S W_E^\\top - S W_E^\\top) + 2\\lambda W_D`.
    """
    ES = W_enc @ S
    grad_enc = 2 * ((W_dec.mT @ W_dec) @ ES - W_dec.mT @ S) + 2 * lam * W_enc
    grad_dec = 2 * (W_dec @ (ES @ W_enc.mT) - ES.mT) + 2 * lam * W_dec
    return grad_enc, grad_dec


def rayleigh_loss(V: Array, S: Array) -> Array:
    """PCA as a Grassmann objective: the negative generalised Rayleigh quotient.

    .. math::

        f(V) = -\\operatorname{tr}\\big((V^\\top V)^{-1} V^\\top S V\\big),

    which depends on ``V`` only through its column space; its minimisers span
    the top-``r`` eigenvectors of ``S`` and the minimum is minus their eigenvalue sum.

    Parameters
    ----------
    V : array of shape (d, r)
        Basis (full column rank).
    S : array of shape (d, d)
        Symmetric second moment.

    Returns
    -------
    array of shape ()
        The objective.
    """
    xp = get_namespace(V, S)
    G = V.mT @ V
    return -xp.linalg.trace(xp.linalg.solve(G, V.mT @ (S @ V)))


def rayleigh_grad(V: Array, S: Array) -> Array:
    """Gradient :math:`-2(I - V G^{-1} V^\\top) S V G^{-1}`, :math:`G = V^\\top V`, of :func:`rayleigh_loss`.

    Parameters
    ----------
    V : array of shape (d, r)
        Basis (full column rank).
    S : array of shape (d, d)
        Symmetric second moment.

    Returns
    -------
    array of shape (d, r)
        The gradient; it is orthogonal to the column space of ``V`` (a Grassmann
        tangent vector), so plain gradient steps move the subspace only.
    """
    xp = get_namespace(V, S)
    G = V.mT @ V
    SV = S @ V
    SVG = xp.linalg.solve(G, SV.mT).mT  # S V G^{-1} (G symmetric)
    return -2 * (SVG - V @ xp.linalg.solve(G, V.mT @ SVG))
