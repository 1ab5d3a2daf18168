"""The generic trainer of a registered contrastive loss: Adam on an encoder, fresh masked views per batch.

:func:`train_embedding` trains every loss of :data:`spikedcl.systems.base.LOSSES`
that the experiments on the spiked model fit (and the projection-head
experiment ``nt_xent_style``, with its own views).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...augment import split_views
from ...solvers import SolverResult, epochs_for_steps, stochastic_descent
from ...systems.base import ContrastiveLoss
from ...systems.encoder import encode, encode_backward, init_encoder

__all__ = ["train_embedding"]


def train_embedding(
    loss: ContrastiveLoss,
    X: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    p: float,
    batch_size: int,
    steps: int,
    lr: float,
    views: Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]] | None = None,
    full: bool = False,
) -> tuple[np.ndarray | tuple[Any, ...], SolverResult]:
    """Adam on a registered loss, with fresh complementary masks (or ``views(idx, rng)``) in every batch.

    Parameters
    ----------
    loss : ContrastiveLoss
        A loss of the protocol of :mod:`spikedcl.systems.base`: its
        ``value_and_grad(Z1, Z2, *extra)``, ``extra_init`` (scalar parameters
        trained with the encoder), ``head_shape(k)`` (projection head) and
        optional ``penalty(W)`` on the encoder weights.
    X : numpy.ndarray of shape (n, d)
        Samples (ignored but for its shape when ``views`` is given).
    k : int
        Representation dimension.
    rng : numpy.random.Generator
        Initialisation, batches and masks.
    p : float
        Keep probability of the masks.
    batch_size, steps : int
        Minibatch size (capped at n) and Adam steps.
    lr : float
        Learning rate.
    views : callable, optional
        ``views(idx, rng) -> (X1, X2)`` instead of masked views of ``X[idx]``.
    full : bool, default=False
        Return every trained parameter instead of the encoder ``W``.

    Returns
    -------
    W : numpy.ndarray of shape (k, d), or tuple of arrays with ``full``
        The trained encoder (the first layer) or all parameters.
    result : SolverResult
        The solver's record.
    """
    n, d = X.shape
    enc0 = init_encoder(k, d, head=loss.head_shape(k), rng=rng)
    n_enc = len(enc0)
    params0 = enc0 + tuple(np.asarray(float(e)) for e in loss.extra_init)
    penalty = loss.penalty

    def batch_grad(params, idx, rng):
        enc, extra = params[:n_enc], params[n_enc:]
        X1, X2 = split_views(X[idx], p, rng=rng) if views is None else views(idx, rng)
        Z1, _ = encode(enc, X1)
        Z2, _ = encode(enc, X2)
        value, dZ1, dZ2, *dextra = loss.value_and_grad(Z1, Z2, *extra)
        g = tuple(a + b for a, b in zip(encode_backward(enc, X1, dZ1), encode_backward(enc, X2, dZ2)))
        if penalty is not None:
            pv, pg = penalty(enc[0])
            value, g = value + pv, (g[0] + pg,) + g[1:]
        return value, g + tuple(dextra)

    batch_size = min(batch_size, n)
    res = stochastic_descent(batch_grad, params0, n_samples=n, batch_size=batch_size,
                             epochs=epochs_for_steps(n, batch_size, steps), lr=lr, method="adam", rng=rng)
    return (res.params if full else res.params[0]), res
