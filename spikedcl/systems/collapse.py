"""Dimensional collapse: embedding spectra, RankMe, and the DirectCLR linear toys (docs/systems.md §6).

The measures apply to any fitted representation ``Z`` (n samples × k
features). The toys train a one- or two-layer linear encoder with InfoNCE on
unnormalised dot products and show the spectrum losing dimensions.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from .._array_api import get_namespace
from .._linalg import sym
from .._typing import Array, RNGLike
from .._validation import check_choice, check_data, check_int, check_positive
from ..random import check_rng
from ..solvers import epochs_for_steps, stochastic_descent
from ._common import row_normalize
from .nt_xent import info_nce_value_and_grad

__all__ = [
    "RANKME_EPS",
    "embedding_spectrum",
    "rankme",
    "participation_ratio",
    "numerical_rank",
    "collapse_toy",
]

#: RankMe's additive constant on the normalised singular values.
RANKME_EPS = 1e-7

SPECTRA = ("svd", "eig")


def embedding_spectrum(Z: Array, *, normalize: bool = False, center: bool = True) -> Array:
    """Descending eigenvalues of the embedding covariance.

    .. math::

        C = \\frac1N\\sum_i (z_i - \\bar z)(z_i - \\bar z)^\\top

    Parameters
    ----------
    Z : array of shape (N, k)
        Embeddings, one per row.
    normalize : bool, default=False
        Scale the rows to unit ℓ₂ norm first (DirectCLR's measurement script does).
    center : bool, default=True
        Subtract the mean embedding.

    Returns
    -------
    array of shape (k,)
        Eigenvalues, descending, tiny negatives clipped to 0. Plot them on a
        log scale: complete collapse is one point, dimensional collapse a
        drop after some index.
    """
    xp, Z = check_data(Z, "Z")
    if normalize:
        Z, _ = row_normalize(Z)
    if center:
        Z = Z - xp.mean(Z, axis=0, keepdims=True)
    C = Z.mT @ Z / Z.shape[0]
    return xp.clip(xp.flip(xp.linalg.eigvalsh(sym(C))), min=0)


def rankme(
    Z: Array, *, center: bool = False, spectrum: Literal["svd", "eig"] = "svd", eps: float = RANKME_EPS
) -> Array:
    """RankMe effective rank: the exponential of the entropy of the normalised spectrum.

    .. math::

        p_k = \\frac{\\sigma_k(Z)}{\\|\\sigma(Z)\\|_1} + \\epsilon,\\qquad
        \\mathrm{RankMe}(Z) = \\exp\\Big(-\\sum_k p_k\\log p_k\\Big)

    Parameters
    ----------
    Z : array of shape (N, k)
        Embeddings.
    center : bool, default=False
        Centre the rows first (implementations differ; the paper does not).
    spectrum : {"svd", "eig"}, default="svd"
        ``"svd"``: singular values of ``Z`` (the paper); ``"eig"``: eigenvalues of
        :math:`Z^\\top Z` (squared singular values), as some implementations use.
    eps : float, default=1e-7
        :math:`\\epsilon \\ge 0`.

    Returns
    -------
    array of shape ()
        Between about 1 (rank one) and ``min(N, k)`` (flat spectrum).

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl import systems
    >>> round(float(systems.rankme(np.eye(4))), 4)  # four equal singular values
    4.0
    """
    xp, Z = check_data(Z, "Z")
    check_choice(spectrum, "spectrum", SPECTRA)
    eps = check_positive(eps, "eps", allow_zero=True)
    if center:
        Z = Z - xp.mean(Z, axis=0, keepdims=True)
    s = xp.linalg.svdvals(Z)
    if spectrum == "eig":
        s = s**2
    p = s / xp.sum(s) + eps
    return xp.exp(-xp.sum(p * xp.log(p)))


def participation_ratio(Z: Array, *, center: bool = True) -> Array:
    """Participation ratio :math:`(\\sum\\lambda)^2/\\sum\\lambda^2` of the embedding covariance.

    Parameters
    ----------
    Z : array of shape (N, k)
        Embeddings.
    center : bool, default=True
        Centre the rows first.

    Returns
    -------
    array of shape ()
        Between 1 and ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl import systems
    >>> Z = np.random.default_rng(0).standard_normal((1000, 4))
    >>> round(float(systems.participation_ratio(Z)), 1)  # isotropic: about k
    4.0
    """
    lam = embedding_spectrum(Z, center=center)
    xp = get_namespace(lam)
    return xp.sum(lam) ** 2 / xp.sum(lam**2)


def numerical_rank(Z: Array, *, rtol: float = 1e-3, center: bool = True) -> int:
    """Number of covariance eigenvalues above ``rtol`` times the largest.

    Parameters
    ----------
    Z : array of shape (N, k)
        Embeddings.
    rtol : float, default=1e-3
        Relative threshold.
    center : bool, default=True
        Centre the rows first.

    Returns
    -------
    int
        The count.
    """
    lam = embedding_spectrum(Z, center=center)
    xp = get_namespace(lam)
    return int(xp.sum(xp.astype(lam > rtol * lam[0], xp.int64)))


def collapse_toy(
    case: Literal[1, 2] = 1,
    *,
    noise: float = 0.01,
    n_samples: int = 10_000,
    dim: int = 16,
    n_noisy: int = 8,
    n_iter: int = 2000,
    lr: float | None = None,
    batch_size: int = 128,
    temperature: float = 0.1,
    init_decay: float = 0.35,
    rng: RNGLike = None,
) -> dict[str, Any]:
    """DirectCLR's linear toys of dimensional collapse.

    InfoNCE on unnormalised dot products, trained by minibatch SGD:

    .. math::

        \\mathcal L = -\\frac1N\\sum_i\\log\\frac{e^{z^{1\\top}_i z^2_i/\\tau}}{\\sum_j e^{z^{1\\top}_i z^2_j/\\tau}},
        \\qquad z = Wx \\;(\\text{case 1})\\;\\text{ or }\\; z = W_2W_1x \\;(\\text{case 2}),

    with views :math:`x + \\mathrm{noise}\\cdot(0, \\varepsilon)`: fresh Gaussian
    noise on the last ``n_noisy`` coordinates only.

    Parameters
    ----------
    case : {1, 2}, default=1
        1: one linear layer (collapse needs strong augmentation);
        2: two linear layers with initial singular values :math:`e^{-0.35k}` (collapse
        even under weak augmentation, through the implicit regularisation of depth).
    noise : float, default=0.01
        Augmentation strength ``>= 0``.
    n_samples : int, default=10000
        Points :math:`x \\sim N(0, I)`.
    dim : int, default=16
        Input and embedding dimension.
    n_noisy : int, default=8
        Coordinates that receive augmentation noise.
    n_iter : int, default=2000
        SGD steps (rounded up to whole epochs).
    lr : float, optional
        Learning rate (default :math:`5\\cdot10^{-3}/(1+\\mathrm{noise}^2/8)` for case 1 and
        :math:`3\\cdot10^{-2}/(1+\\mathrm{noise}^2)` for case 2: the model document's rates at weak
        noise, lowered where strong noise makes plain SGD diverge).
    batch_size : int, default=128
        Batch size ``>= 2``.
    temperature : float, default=0.1
        :math:`\\tau > 0`.
    init_decay : float, default=0.35
        Case 2: initial singular values :math:`e^{-\\mathrm{init\\_decay}\\,k}`.
    rng : None, int or numpy.random.Generator, optional
        Random generator (data, initialisation, augmentation).

    Returns
    -------
    dict
        ``spectrum`` (descending covariance eigenvalues of the embeddings of clean
        data, shape (dim,)), ``rankme``, ``W`` (the end-to-end map), ``layers``
        (the trained parameters), ``alignment`` (case 2: :math:`|\\mathrm{diag}(V_2^\\top U_1)|`,
        the alignment of the layers' singular bases) and ``n_iter``.
    """
    case = check_int(case, "case", low=1, high=2)
    noise = check_positive(noise, "noise", allow_zero=True)
    n_samples = check_int(n_samples, "n_samples", low=2)
    dim = check_int(dim, "dim", low=2)
    n_noisy = check_int(n_noisy, "n_noisy", low=0, high=dim)
    n_iter = check_int(n_iter, "n_iter", low=1)
    batch_size = check_int(batch_size, "batch_size", low=2)
    temperature = check_positive(temperature, "temperature")
    if lr is None:
        # the model document's rates at weak noise, scaled down as the noisy inputs' variance grows:
        # plain 5e-3 diverges on some seeds at noise 3 (case 1), 3e-2 already at noise 3 (case 2)
        lr = 5e-3 / (1 + noise**2 / 8) if case == 1 else 3e-2 / (1 + noise**2)
    else:
        lr = check_positive(lr, "lr")
    rng = check_rng(rng)
    X = rng.standard_normal((n_samples, dim))
    if case == 1:
        params = (rng.standard_normal((dim, dim)) / math.sqrt(dim),)
    else:
        s = np.exp(-init_decay * np.arange(dim))
        layers = []
        for _ in range(2):
            Q1, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
            Q2, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
            layers.append((Q1 * s) @ Q2.T)
        params = tuple(layers)
    scale = np.zeros(dim)
    scale[dim - n_noisy :] = noise

    def batch_grad(params, idx, rng):
        xb = X[idx]
        x1 = xb + rng.standard_normal(xb.shape) * scale
        x2 = xb + rng.standard_normal(xb.shape) * scale
        W = params[0] if case == 1 else params[1] @ params[0]
        loss, g1, g2 = info_nce_value_and_grad(x1 @ W.T, x2 @ W.T, temperature=temperature, similarity="dot")
        gW = g1.T @ x1 + g2.T @ x2
        if case == 1:
            return loss, (gW,)
        W1, W2 = params
        return loss, (W2.T @ gW, gW @ W1.T)

    res = stochastic_descent(
        batch_grad,
        params,
        n_samples=n_samples,
        batch_size=batch_size,
        epochs=epochs_for_steps(n_samples, batch_size, n_iter),
        lr=lr,
        method="sgd",
        rng=rng,
    )
    params = res.params
    W = params[0] if case == 1 else params[1] @ params[0]
    Z = X @ W.T
    out = {
        "spectrum": embedding_spectrum(Z),
        "rankme": float(rankme(Z)),
        "W": W,
        "layers": params,
        "n_iter": res.n_iter,
    }
    if case == 2:
        U1, _, _ = np.linalg.svd(params[0])
        _, _, V2t = np.linalg.svd(params[1])
        out["alignment"] = np.abs(np.diag(V2t @ U1))
    return out
