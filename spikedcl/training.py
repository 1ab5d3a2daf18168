"""Fits by gradient descent that land on the closed forms (docs/model.md §3, §4, F6).

The theory is about minimisers; these routines show that training reaches
them. Each runs :func:`spikedcl.solvers.gradient_descent` on an objective of
:mod:`spikedcl.objectives` written on the ``d x d`` sufficient statistic, so a
step costs O(d² r) whatever n is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from ._array_api import device_of, get_namespace, to_namespace
from ._linalg import orthonormalize, sym
from ._typing import Array, RNGLike
from ._validation import check_unit_interval
from .augment import MaskLaw, apply_mask, get_mask_law
from .forms import BatchForm, get_form
from .objectives import (
    autoencoder_grad,
    autoencoder_loss,
    contrastive_grad,
    contrastive_loss,
    rayleigh_grad,
    rayleigh_loss,
)
from .options import GD_OPTIONS, MINIBATCH_OPTIONS, SolverOptions
from .options import solver_options as check_solver_options
from .random import check_rng
from .results import FitResult
from .solvers import gradient_descent, stochastic_descent
from .stats import data_statistics

__all__ = [
    "GD_OPTIONS",
    "MINIBATCH_OPTIONS",
    "train_contrastive",
    "train_autoencoder",
    "train_pca",
    "train_contrastive_minibatch",
]


def _check_options(options, allowed=GD_OPTIONS):
    """A mutable copy of the checked options (a :class:`~spikedcl.options.SolverOptions` passes unchecked)."""
    return check_solver_options(options, allowed).as_dict()


def _first(fn):
    return lambda params: fn(params[0])


def _unpack(fn):
    return lambda params: fn(*params)


def _init(shape, scale, rng, like):
    xp = get_namespace(like)
    W0 = scale * check_rng(rng).standard_normal(shape)
    return to_namespace(W0, xp, device=device_of(like), dtype=like.dtype)


def _spectral_norm(M):
    xp = get_namespace(M)
    return float(xp.max(xp.abs(xp.linalg.eigvalsh(sym(M)))))


def _result(method, W, S, loss, res, extra, solver="gd"):
    """FitResult of a trained encoder: its row space and the Rayleigh quotients of S on it."""
    xp = get_namespace(W)
    basis = orthonormalize(W.mT, "W.T")
    eig = xp.flip(xp.linalg.eigvalsh(sym(basis.mT @ S @ basis)))
    info = {"loss_history": res.loss_history, "stop_reason": res.stop_reason, "wall_time": res.wall_time,
            "step": res.step, "grad_norm": res.grad_norm, **res.info, **extra}
    return FitResult(method, W, basis, eig, loss, solver=solver, n_iter=res.n_iter, converged=res.converged, info=info)


def train_contrastive(
    M: Array, r: int, *, lam: float = 1.0, rng: RNGLike = None, solver_options: Mapping[str, Any] | SolverOptions | None = None
) -> FitResult:
    """Minimise :func:`~spikedcl.objectives.contrastive_loss` by gradient descent.

    .. math::

        W_{t+1} = W_t - \\eta\\,(-2 W_t M + 2\\lambda W_t W_t^\\top W_t),\\qquad
        W_0 = 10^{-3}\\,\\mathrm{randn}(r, d),

    with the model document's step :math:`\\eta = 1/(2\\|M\\| + 6\\lambda\\max(\\|W_0\\|^2, \\|M\\|/\\lambda))`
    and Armijo backtracking. The objective has no spurious local minima in
    :math:`P = W^\\top W` (Burer–Monteiro), so GD reaches the closed form's
    :math:`P^\\star` when :math:`\\mu_r > \\mu_{r+1}` and :math:`\\mu_r > 0`.

    Parameters
    ----------
    M : array of shape (d, d)
        Symmetric contrastive matrix.
    r : int
        Representation dimension.
    lam : float, default=1.0
        Regularisation :math:`\\lambda > 0`.
    rng : None, int or numpy.random.Generator, optional
        Draws :math:`W_0`.
    solver_options : dict or SolverOptions, optional
        Keys of :data:`GD_OPTIONS`: ``step`` (default: the rule above), ``max_iter``
        (100000), ``tol_grad`` (1e-10), ``tol_rel`` (0), ``backtracking`` (True),
        ``init_scale`` (1e-3) and ``monitor`` (a callable of ``W`` recorded at every
        step in ``info["monitor"]``).

    Returns
    -------
    FitResult
        ``solver="gd"``; ``info`` holds ``loss_history``, ``stop_reason``, ``step``.

    Examples
    --------
    Gradient descent lands on the closed-form minimiser (the same :math:`W^\\top W`):

    >>> import numpy as np
    >>> import spikedcl as sc
    >>> from spikedcl.training import train_contrastive
    >>> X = sc.SpikedModel.random(d=20, r=2, rng=0).sample(500, rng=1)
    >>> M = sc.expected_contrastive_matrix(X, 0.5)
    >>> gd = train_contrastive(M, 2, rng=2)
    >>> closed = sc.fit_contrastive(X, 2, masks="expected")
    >>> gd.solver, gd.converged
    ('gd', True)
    >>> bool(np.allclose(gd.W.T @ gd.W, closed.W.T @ closed.W, atol=1e-8))
    True
    >>> bool(np.isclose(gd.loss, closed.loss))
    True
    """
    options = _check_options(solver_options)
    W0 = _init((r, M.shape[0]), options.pop("init_scale", 1e-3), rng, M)
    norm_M = _spectral_norm(M)
    if "step" not in options:
        w0 = float(get_namespace(W0).linalg.matrix_norm(W0)) ** 2  # Frobenius ≥ spectral: safe
        options["step"] = 1 / (2 * norm_M + 6 * lam * max(w0, norm_M / lam))
    if "monitor" in options:
        options["monitor"] = _first(options["monitor"])
    res = gradient_descent(
        lambda p: contrastive_loss(p[0], M, lam),
        lambda p: (contrastive_grad(p[0], M, lam),),
        (W0,),
        **options,
    )
    W = res.params[0]
    return _result("contrastive", W, M, contrastive_loss(W, M, lam), res, {"lam": lam})


def train_autoencoder(
    S: Array, r: int, *, lam: float = 0.0, rng: RNGLike = None, solver_options: Mapping[str, Any] | SolverOptions | None = None
) -> FitResult:
    """Minimise :func:`~spikedcl.objectives.autoencoder_loss` over both factors by gradient descent.

    Starts from independent :math:`\\mathrm{randn}/\\sqrt d` factors, with step
    :math:`\\eta = 1/(8\\lambda_{\\max}(S) + 4\\lambda)` (docs/model.md §4) and Armijo backtracking.

    Parameters
    ----------
    S : array of shape (d, d)
        Second moment :math:`X^\\top X/n`.
    r : int
        Bottleneck width.
    lam : float, default=0.0
        Penalty on both factors.
    rng : None, int or numpy.random.Generator, optional
        Draws the initial factors.
    solver_options : dict, optional
        As for :func:`train_contrastive` (``init_scale`` default :math:`1/\\sqrt d`;
        ``monitor`` is called as ``monitor(W_enc, W_dec)``).

    Returns
    -------
    FitResult
        ``W`` the encoder, ``info["decoder"]`` the decoder, ``solver="gd"``.
    """
    options = _check_options(solver_options)
    d = S.shape[0]
    scale = options.pop("init_scale", 1 / math.sqrt(d))
    rng = check_rng(rng)
    E0, D0 = _init((r, d), scale, rng, S), _init((d, r), scale, rng, S)
    options.setdefault("step", 1 / (8 * _spectral_norm(S) + 4 * lam))
    if "monitor" in options:  # the AE monitor sees (W_enc, W_dec)
        options["monitor"] = _unpack(options["monitor"])
    res = gradient_descent(
        lambda p: autoencoder_loss(p[0], p[1], S, lam),
        lambda p: autoencoder_grad(p[0], p[1], S, lam),
        (E0, D0),
        **options,
    )
    W_enc, W_dec = res.params
    return _result(
        "autoencoder", W_enc, S, autoencoder_loss(W_enc, W_dec, S, lam), res, {"decoder": W_dec, "lam": lam}
    )


def train_pca(S: Array, r: int, *, rng: RNGLike = None, solver_options: Mapping[str, Any] | SolverOptions | None = None) -> FitResult:
    """PCA by gradient descent on the Grassmann objective :func:`~spikedcl.objectives.rayleigh_loss`.

    Starts from :math:`\\mathrm{randn}(d, r)/\\sqrt d` with step :math:`1/(4\\lambda_{\\max}(S))`
    and Armijo backtracking; the gradient is orthogonal to the current subspace.

    Parameters
    ----------
    S : array of shape (d, d)
        Second moment.
    r : int
        Number of components.
    rng : None, int or numpy.random.Generator, optional
        Draws the initial basis.
    solver_options : dict, optional
        As for :func:`train_contrastive` (``init_scale`` default :math:`1/\\sqrt d`).

    Returns
    -------
    FitResult
        ``W`` the orthonormalised final basis transposed, ``solver="gd"``.
    """
    options = _check_options(solver_options)
    d = S.shape[0]
    V0 = _init((d, r), options.pop("init_scale", 1 / math.sqrt(d)), rng, S)
    options.setdefault("step", 1 / (4 * _spectral_norm(S)))
    if "monitor" in options:
        options["monitor"] = _first(options["monitor"])
    res = gradient_descent(
        lambda p: rayleigh_loss(p[0], S), lambda p: (rayleigh_grad(p[0], S),), (V0,), **options
    )
    V = orthonormalize(res.params[0], "V")
    xp = get_namespace(V)
    tail = xp.linalg.trace(S) + rayleigh_loss(V, S)  # reconstruction error, as fit_pca
    return _result("pca", V.mT, S, tail, res, {})


def train_contrastive_minibatch(
    X: Array,
    r: int,
    *,
    p: float = 0.5,
    lam: float = 1.0,
    loss: Literal["cross-view", "simclr"] | str | BatchForm = "cross-view",
    mask_mode: str | MaskLaw = "per-sample",
    method: Literal["sgd", "adam"] = "adam",
    rng: RNGLike = None,
    solver_options: Mapping[str, Any] | SolverOptions | None = None,
) -> FitResult:
    """Minibatch SGD or Adam on the batch contrastive loss with fresh masks at every step.

    The regime the peers train in: each step draws a batch, masks it afresh
    (per-sample laws; a fixed mask is drawn once) and follows the gradient of
    :func:`~spikedcl.objectives.contrastive_batch_loss`. In expectation over the
    masks this minimises the mask-averaged objective, so with a decaying
    learning rate the iterates approach the closed form on :math:`\\bar M`.

    Parameters
    ----------
    X : array of shape (n_samples, d)
        Data.
    r : int
        Representation dimension.
    p : float, default=0.5
        Masking probability.
    lam : float, default=1.0
        Regularisation :math:`\\lambda`.
    loss : {"cross-view", "simclr"} or BatchForm, default="cross-view"
        Batch form (:mod:`spikedcl.forms`).
    mask_mode : str or MaskLaw, default="per-sample"
        Mask law (:mod:`spikedcl.augment`).
    method : {"sgd", "adam"}, default="adam"
        Update rule.
    rng : None, int or numpy.random.Generator, optional
        Draws the initialisation, the shuffles and the masks.
    solver_options : dict or SolverOptions, optional
        Keys of :data:`MINIBATCH_OPTIONS`: ``batch_size`` (256), ``epochs`` (50),
        ``lr`` (Adam 0.01; SGD the model document's GD step on :math:`\\bar M`), ``schedule``
        ("cosine"), ``tol_rel`` (0), ``init_scale`` (1e-3) and ``monitor``
        (a callable of ``W`` recorded every epoch).

    Returns
    -------
    FitResult
        ``solver`` is ``method``; ``loss`` is the mask-averaged objective at ``W``;
        ``info`` holds the per-epoch ``loss_history`` and ``monitor`` values.
    """
    options = _check_options(solver_options, MINIBATCH_OPTIONS)
    form, law = get_form(loss), get_mask_law(mask_mode)
    p = check_unit_interval(p, "p")
    rng = check_rng(rng)
    xp = get_namespace(X)
    n, d = X.shape
    M_bar = form.expected(data_statistics(X, {"gram", "total"}), p * (1 - p))
    W0 = _init((r, d), options.pop("init_scale", 1e-3), rng, X)
    if "lr" not in options:
        # SGD: the GD rule 1/(2‖M‖ + 6λ max(‖W0‖², ‖M‖/λ)) with ‖W0‖² ≪ ‖M‖/λ
        options["lr"] = 1e-2 if method == "adam" else 1 / (8 * _spectral_norm(M_bar))
    monitor = options.pop("monitor", None)
    options.setdefault("batch_size", 256)
    options.setdefault("epochs", 50)
    options.setdefault("schedule", "cosine")
    if law.shared:  # one mask for the whole run
        views = apply_mask(X, law.draw(n, d, p, rng))

    def batch_grad(params, idx, rng_):
        idx = to_namespace(idx, xp, device=device_of(X))
        if law.shared:
            X1, X2 = (xp.take(V, idx, axis=0) for V in views)
        else:
            Xb = xp.take(X, idx, axis=0)
            X1, X2 = apply_mask(Xb, law.draw(Xb.shape[0], d, p, rng_))
        W = params[0]
        return form.batch_loss(W, X1, X2, lam), (form.batch_grad(W, X1, X2, lam),)

    res = stochastic_descent(
        batch_grad, (W0,), n_samples=n, method=method, rng=rng,
        monitor=None if monitor is None else _first(monitor),
        **options,
    )
    W = res.params[0]
    return _result("contrastive", W, M_bar, contrastive_loss(W, M_bar, lam), res, {"lam": lam}, solver=method)
