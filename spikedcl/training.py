"""Fits by gradient descent that land on the closed forms (spec §3, §4, F6).

The theory is about minimisers; these routines show that training reaches
them. Each runs :func:`spikedcl.solvers.gradient_descent` on an objective of
:mod:`spikedcl.objectives` written on the ``d x d`` sufficient statistic, so a
step costs O(d² r) whatever n is.
"""

from __future__ import annotations

import math

from ._array_api import device_of, get_namespace, to_namespace
from ._linalg import orthonormalize, sym
from ._validation import check_int, check_positive
from .objectives import autoencoder_grad, autoencoder_loss, contrastive_grad, contrastive_loss
from .random import check_rng
from .results import FitResult
from .solvers import gradient_descent

__all__ = ["GD_OPTIONS", "train_contrastive", "train_autoencoder"]

#: Options accepted by ``solver_options`` of the gradient-descent fits.
GD_OPTIONS = ("step", "max_iter", "tol_grad", "tol_rel", "backtracking", "init_scale")


def _check_options(options):
    options = dict(options or {})
    unknown = set(options) - set(GD_OPTIONS)
    if unknown:
        raise ValueError(f"unknown solver_options {sorted(unknown)}; allowed: {', '.join(GD_OPTIONS)}")
    if "max_iter" in options:
        options["max_iter"] = check_int(options["max_iter"], "max_iter", low=0)
    for key in ("step", "init_scale"):
        if key in options:
            options[key] = check_positive(options[key], key)
    return options


def _init(shape, scale, rng, like):
    xp = get_namespace(like)
    W0 = scale * check_rng(rng).standard_normal(shape)
    return to_namespace(W0, xp, device=device_of(like), dtype=like.dtype)


def _spectral_norm(M):
    xp = get_namespace(M)
    return float(xp.max(xp.abs(xp.linalg.eigvalsh(sym(M)))))


def _result(method, W, S, loss, res, extra):
    """FitResult of a trained encoder: its row space and the Rayleigh quotients of S on it."""
    xp = get_namespace(W)
    basis = orthonormalize(W.mT, "W.T")
    eig = xp.flip(xp.linalg.eigvalsh(sym(basis.mT @ S @ basis)))
    info = {"loss_history": res.loss_history, "stop_reason": res.stop_reason, "wall_time": res.wall_time,
            "step": res.step, "grad_norm": res.grad_norm, **extra}
    return FitResult(method, W, basis, eig, loss, solver="gd", n_iter=res.n_iter, converged=res.converged, info=info)


def train_contrastive(M, r, *, lam=1.0, rng=None, solver_options=None):
    """Minimise :func:`~spikedcl.objectives.contrastive_loss` by gradient descent.

    .. math::

        W_{t+1} = W_t - \\eta\\,(-2 W_t M + 2\\lambda W_t W_t^\\top W_t),\\qquad
        W_0 = 10^{-3}\\,\\mathrm{randn}(r, d),

    with the spec's step :math:`\\eta = 1/(2\\|M\\| + 6\\lambda\\max(\\|W_0\\|^2, \\|M\\|/\\lambda))`
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
    solver_options : dict, optional
        Keys of :data:`GD_OPTIONS`: ``step`` (default: the rule above), ``max_iter``
        (100000), ``tol_grad`` (1e-10), ``tol_rel`` (0), ``backtracking`` (True),
        ``init_scale`` (1e-3).

    Returns
    -------
    FitResult
        ``solver="gd"``; ``info`` holds ``loss_history``, ``stop_reason``, ``step``.
    """
    options = _check_options(solver_options)
    W0 = _init((r, M.shape[0]), options.pop("init_scale", 1e-3), rng, M)
    norm_M = _spectral_norm(M)
    if "step" not in options:
        w0 = float(get_namespace(W0).linalg.matrix_norm(W0)) ** 2  # Frobenius ≥ spectral: safe
        options["step"] = 1 / (2 * norm_M + 6 * lam * max(w0, norm_M / lam))
    res = gradient_descent(
        lambda p: contrastive_loss(p[0], M, lam),
        lambda p: (contrastive_grad(p[0], M, lam),),
        (W0,),
        **options,
    )
    W = res.params[0]
    return _result("contrastive", W, M, contrastive_loss(W, M, lam), res, {"lam": lam})


def train_autoencoder(S, r, *, lam=0.0, rng=None, solver_options=None):
    """Minimise :func:`~spikedcl.objectives.autoencoder_loss` over both factors by gradient descent.

    Starts from independent :math:`\\mathrm{randn}/\\sqrt d` factors, with step
    :math:`\\eta = 1/(8\\lambda_{\\max}(S) + 4\\lambda)` (spec §4) and Armijo backtracking.

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
        As for :func:`train_contrastive` (``init_scale`` default :math:`1/\\sqrt d`).

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
