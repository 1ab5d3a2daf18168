"""Linear encoders (optionally with a ReLU projection head) and the glue that
turns an embedding loss into ``fun``/``grad`` callables for the solvers.

Every loss of :mod:`spikedcl.systems` is written on embeddings ``(Z1, Z2)``
and returns its gradients with respect to them. :func:`encoder_objective`
composes such a loss with the encoder

.. math::

    h = W x,\\qquad z = h \\;\\text{(linear)} \\quad\\text{or}\\quad
    z = W_2\\,\\mathrm{ReLU}(W_1 h) \\;\\text{(projection head)},

and returns the pair of pure callables that
:func:`spikedcl.solvers.gradient_descent` and
:func:`spikedcl.solvers.stochastic_descent` take (docs/systems.md §1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._array_api import device_of, get_namespace, to_namespace
from .._typing import Array, RNGLike
from .._validation import check_data
from ..random import check_rng
from .base import ContrastiveLoss

__all__ = ["encode", "encode_backward", "init_encoder", "encoder_objective", "representation_basis"]


def _check_params(params, d):
    if not isinstance(params, (tuple, list)) or len(params) not in (1, 3):
        raise ValueError(
            "params must be a tuple (W,) for a linear encoder or (W, W1, W2) with a "
            f"projection head; got {type(params).__name__} of length "
            f"{len(params) if hasattr(params, '__len__') else '?'}"
        )
    W = params[0]
    if W.ndim != 2 or W.shape[1] != d:
        raise ValueError(f"W must have shape (k, d) with d={d}, got {tuple(W.shape)}")
    if len(params) == 3:
        W1, W2 = params[1], params[2]
        if W1.ndim != 2 or W1.shape[1] != W.shape[0]:
            raise ValueError(f"W1 must have shape (h, k) with k={W.shape[0]}, got {tuple(W1.shape)}")
        if W2.ndim != 2 or W2.shape[1] != W1.shape[0]:
            raise ValueError(f"W2 must have shape (m, h) with h={W1.shape[0]}, got {tuple(W2.shape)}")


def encode(params: tuple[Array, ...], X: Array) -> tuple[Array, Array]:
    """Embeddings of the rows of ``X``.

    Parameters
    ----------
    params : tuple of arrays
        ``(W,)`` with ``W`` of shape (k, d), or ``(W, W1, W2)`` with
        ``W1`` (h, k) and ``W2`` (m, h) for the projection head.
    X : array of shape (n, d)
        Inputs, one per row.

    Returns
    -------
    Z : array of shape (n, k) or (n, m)
        Embeddings used by the loss.
    H : array of shape (n, k)
        The representation :math:`XW^\\top` (before any head), the one
        evaluated downstream.
    """
    _check_params(params, X.shape[1])
    xp = get_namespace(X, *params)
    H = X @ params[0].mT
    if len(params) == 1:
        return H, H
    A = xp.clip(H @ params[1].mT, min=0)
    return A @ params[2].mT, H


def encode_backward(params: tuple[Array, ...], X: Array, dZ: Array) -> tuple[Array, ...]:
    """Gradient of a loss with respect to the encoder parameters.

    Parameters
    ----------
    params : tuple of arrays
        As in :func:`encode`.
    X : array of shape (n, d)
        Inputs.
    dZ : array of shape (n, k) or (n, m)
        Gradient of the loss with respect to the embeddings ``encode(params, X)[0]``.

    Returns
    -------
    tuple of arrays
        Gradients shaped like ``params``.
    """
    xp = get_namespace(X, dZ, *params)
    if len(params) == 1:
        return (dZ.mT @ X,)
    W, W1, W2 = params
    H = X @ W.mT
    pre = H @ W1.mT
    A = xp.clip(pre, min=0)
    dW2 = dZ.mT @ A
    dpre = (dZ @ W2) * xp.astype(pre > 0, X.dtype)
    dW1 = dpre.mT @ H
    dW = (dpre @ W1).mT @ X
    return (dW, dW1, dW2)


def init_encoder(
    k: int,
    d: int,
    *,
    head: tuple[int, int] | None = None,
    scale: float | None = None,
    rng: RNGLike = None,
    like: Array | None = None,
) -> tuple[Array, ...]:
    """Random initial encoder parameters, drawn on the host and moved to ``like``'s device.

    Parameters
    ----------
    k : int
        Representation dimension.
    d : int
        Input dimension.
    head : tuple of int, optional
        ``(h, m)``: hidden and output widths of a projection head.
    scale : float, optional
        Entry standard deviation of ``W`` (default :math:`1/\\sqrt d`); head
        layers use :math:`1/\\sqrt{\\text{fan-in}}`.
    rng : None, int or numpy.random.Generator, optional
        Random generator.
    like : array, optional
        Array whose namespace, device and dtype the parameters take (default NumPy float64).

    Returns
    -------
    tuple of arrays
        ``(W,)`` or ``(W, W1, W2)``.
    """
    rng = check_rng(rng)
    scale = d**-0.5 if scale is None else float(scale)
    shapes = [((k, d), scale)]
    if head is not None:
        h, m = head
        shapes += [((h, k), k**-0.5), ((m, h), h**-0.5)]
    out = []
    for shape, s in shapes:
        A = s * rng.standard_normal(shape)
        if like is not None:
            xp = get_namespace(like)
            A = to_namespace(A, xp, device=device_of(like), dtype=like.dtype)
        out.append(A)
    return tuple(out)


def encoder_objective(
    loss_and_grad: Callable[..., tuple[Array, ...]] | ContrastiveLoss, X1: Array, X2: Array, **loss_kwargs: Any
) -> tuple[Callable[[tuple[Array, ...]], Array], Callable[[tuple[Array, ...]], tuple[Array, ...]]]:
    """``fun``/``grad`` callables of an embedding loss composed with the encoder.

    .. math::

        \\mathcal L(\\theta) = \\ell\\big(f_\\theta(X_1), f_\\theta(X_2)\\big)

    Parameters
    ----------
    loss_and_grad : callable or ContrastiveLoss
        ``loss_and_grad(Z1, Z2, **loss_kwargs) -> (loss, dZ1, dZ2)``, e.g.
        :func:`spikedcl.systems.nt_xent.nt_xent_value_and_grad`, or a loss of the
        protocol (:mod:`spikedcl.systems.base`) without extra parameters, whose
        ``penalty`` on the encoder weights, if any, is added.
    X1, X2 : array of shape (n, d)
        First and second views, paired row by row.
    **loss_kwargs
        Passed to ``loss_and_grad``.

    Returns
    -------
    fun : callable
        ``fun(params) -> array of shape ()``.
    grad : callable
        ``grad(params) -> tuple of arrays`` shaped like ``params``.
    """
    _, X1 = check_data(X1, "X1")
    _, X2 = check_data(X2, "X2")
    penalty = None
    if isinstance(loss_and_grad, ContrastiveLoss):
        if loss_and_grad.extra_init:
            raise ValueError(
                f"encoder_objective takes a loss without extra trained parameters; "
                f"{loss_and_grad.name!r} has {len(loss_and_grad.extra_init)}"
            )
        penalty = loss_and_grad.penalty
        loss_and_grad = loss_and_grad.value_and_grad

    def embedding_loss(params):
        """``loss_and_grad`` of the two views' embeddings under ``params``: ``(loss, dZ1, dZ2)``."""
        return loss_and_grad(encode(params, X1)[0], encode(params, X2)[0], **loss_kwargs)

    def value_and_grad(params):
        loss, dZ1, dZ2 = embedding_loss(params)
        g = tuple(a + b for a, b in zip(encode_backward(params, X1, dZ1), encode_backward(params, X2, dZ2)))
        if penalty is not None:
            value, dW = penalty(params[0])
            loss, g = loss + value, (g[0] + dW,) + g[1:]
        return loss, g

    def fun(params):
        return (value_and_grad if penalty is not None else embedding_loss)(params)[0]

    def grad(params):
        return value_and_grad(params)[1]

    fun.value_and_grad = value_and_grad
    return fun, grad


def representation_basis(W: Array, r: int | None = None) -> Array:
    """Orthonormal basis of the top-``r`` right singular directions of ``W``.

    Unlike a QR of ``W.T`` it never fails on a (nearly) collapsed encoder.

    Parameters
    ----------
    W : array of shape (k, d)
        Encoder weights.
    r : int, optional
        Number of directions (default ``k``).

    Returns
    -------
    array of shape (d, r)
        Orthonormal columns spanning the dominant row space of ``W``.
    """
    xp = get_namespace(W)
    r = W.shape[0] if r is None else r
    _, _, Vt = xp.linalg.svd(W, full_matrices=False)
    return Vt[:r, :].mT
