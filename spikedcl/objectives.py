"""Objectives as pure functions of the parameters and sufficient statistics.

Each function takes arrays of one namespace and returns values in it. The
closed forms in :mod:`spikedcl.closed_form` minimise these objectives; the
tests check the minimisers against them.
"""

from __future__ import annotations

from ._array_api import get_namespace

__all__ = [
    "contrastive_loss",
    "contrastive_grad",
    "autoencoder_loss",
]


def contrastive_loss(W, M, lam=1.0):
    """Linear contrastive loss on its sufficient statistic ``M`` (spec §3).

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
    """
    xp = get_namespace(W, M)
    WM = W @ M
    G = W @ W.mT
    return -xp.sum(WM * W) + lam / 2 * xp.sum(G * G)


def contrastive_grad(W, M, lam=1.0):
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
    """
    return -2 * (W @ M) + 2 * lam * ((W @ W.mT) @ W)


def autoencoder_loss(W_enc, W_dec, S, lam=0.0):
    """Two-factor linear autoencoder loss in Gram form (spec §4).

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
