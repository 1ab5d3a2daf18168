"""SigLIP's pairwise sigmoid loss and the CLIP softmax baseline (docs/systems.md §4).

Two towers embed paired inputs; the loss sees ℓ₂-normalised embeddings
:math:`x_i, y_j`, a learnable temperature :math:`t = e^{t'}` (SigLIP stores
its logarithm) and a learnable bias :math:`b`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._array_api import get_namespace
from .._typing import Array
from .._validation import _check_real
from ._common import (
    check_pair,
    check_temperature,
    eye_bool,
    logsumexp,
    loss_and_grad_functions,
    maybe_normalize,
    maybe_normalize_backward,
    softmax,
)
from .base import ContrastiveLoss, register_loss

__all__ = [
    "SigLIP",
    "INIT_LOG_TEMPERATURE",
    "INIT_BIAS",
    "siglip_loss",
    "siglip_grad",
    "siglip_value_and_grad",
    "clip_loss",
    "clip_grad",
    "clip_value_and_grad",
]

#: SigLIP's initial log-temperature, t' = log 10 (big_vision demo config).
INIT_LOG_TEMPERATURE = math.log(10.0)
#: SigLIP's initial bias, b = -10 (big_vision demo config; the LiT COCO example uses -2.71).
INIT_BIAS = -10.0


def _sigmoid(x):
    xp = get_namespace(x)
    # stable for both signs: exp of a non-positive number only
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _log_sigmoid(x):
    xp = get_namespace(x)
    return -xp.logaddexp(xp.zeros_like(x), -x)


def _towers(X, Y, log_temperature, normalize):
    """Checked towers (unit rows with ``normalize``), their norms and :math:`t = e^{t'}`."""
    xp, X, Y = check_pair(X, Y, names=("X", "Y"))
    if not hasattr(log_temperature, "shape"):
        log_temperature = _check_real(log_temperature, "log_temperature")
    X, nx = maybe_normalize(X, normalize)
    Y, ny = maybe_normalize(Y, normalize)
    t = math.exp(log_temperature) if isinstance(log_temperature, float) else xp.exp(log_temperature)
    return xp, X, Y, (nx, ny), t


def _towers_backward(X, Y, norms, t, C, G):
    """Gradients with respect to the raw towers and :math:`t'` from :math:`G = \\partial\\mathcal L/\\partial(tC)`."""
    xp = get_namespace(G)
    dX = maybe_normalize_backward(X, norms[0], t * (G @ Y))
    dY = maybe_normalize_backward(Y, norms[1], t * (G.mT @ X))
    return dX, dY, t * xp.sum(G * C)


def siglip_value_and_grad(
    X: Array,
    Y: Array,
    log_temperature: float | Array = INIT_LOG_TEMPERATURE,
    bias: float | Array = INIT_BIAS,
    *,
    normalize: bool = True,
) -> tuple[Array, Array, Array, Array, Array]:
    """Pairwise sigmoid loss and its gradient with respect to both towers, :math:`t'` and :math:`b`.

    .. math::

        \\mathcal L = -\\frac{1}{N}\\sum_{i=1}^N\\sum_{j=1}^N \\log\\sigma\\big(z_{ij}(t\\,x_i^\\top y_j + b)\\big),
        \\qquad t = e^{t'},\\; z_{ij} = \\begin{cases}+1 & i = j\\\\ -1 & i \\ne j\\end{cases}

    Parameters
    ----------
    X, Y : array of shape (N, k)
        Embeddings of the two towers, paired row by row, ``N >= 2``.
    log_temperature : float or array of shape (), default=log(10)
        :math:`t'`; the temperature :math:`t = e^{t'}` is positive by construction.
    bias : float or array of shape (), default=-10.0
        :math:`b`.
    normalize : bool, default=True
        Scale the rows to unit ℓ₂ norm (as SigLIP does).

    Returns
    -------
    loss : array of shape ()
        :math:`\\mathcal L` (a sum over the row's N pairs, averaged over rows).
    dX, dY : array of shape (N, k)
        Gradients with respect to ``X`` and ``Y``.
    dlog_temperature : array of shape ()
        :math:`\\partial\\mathcal L/\\partial t' = t\\sum_{ij}G_{ij}x_i^\\top y_j`.
    dbias : array of shape ()
        :math:`\\partial\\mathcal L/\\partial b = \\sum_{ij}G_{ij}`.

    Notes
    -----
    docs/systems.md §4. :math:`G_{ij} = \\partial\\mathcal L/\\partial\\ell_{ij} =
    -z_{ij}\\sigma(-z_{ij}\\ell_{ij})/N`; :math:`\\log\\sigma` and :math:`\\sigma` are
    evaluated in their overflow-free forms.

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl import systems
    >>> rng = np.random.default_rng(0)
    >>> Z1 = rng.standard_normal((8, 3))
    >>> Z2 = Z1 + 0.1 * rng.standard_normal((8, 3))  # close positives
    >>> round(float(systems.siglip_loss(Z1, Z2)), 4)  # at the initial temperature and bias
    0.9614
    """
    xp, X, Y, norms, t = _towers(X, Y, log_temperature, normalize)
    if not hasattr(bias, "shape"):
        bias = _check_real(bias, "bias")
    N = X.shape[0]
    C = X @ Y.mT
    logits = t * C + bias
    z = 2 * xp.astype(eye_bool(N, X), X.dtype) - 1
    loss = -xp.sum(_log_sigmoid(z * logits)) / N
    G = -z * _sigmoid(-z * logits) / N
    return (loss, *_towers_backward(X, Y, norms, t, C, G), xp.sum(G))


siglip_loss, siglip_grad = loss_and_grad_functions(
    siglip_value_and_grad,
    loss="SigLIP pairwise sigmoid loss.",
    grad="Gradients ``(dX, dY, dlog_temperature, dbias)`` of :func:`siglip_loss`.",
)


def clip_value_and_grad(
    X: Array, Y: Array, log_temperature: float | Array = INIT_LOG_TEMPERATURE, *, normalize: bool = True
) -> tuple[Array, Array, Array, Array]:
    """Symmetric softmax (CLIP) loss, the baseline SigLIP replaces, with its gradients.

    .. math::

        \\mathcal L = \\frac12\\Big[\\mathrm{CE}_{\\mathrm{rows}}(tXY^\\top) + \\mathrm{CE}_{\\mathrm{cols}}(tXY^\\top)\\Big],
        \\qquad \\mathrm{CE}_{\\mathrm{rows}}(S) = \\frac1N\\sum_i\\Big[\\log\\sum_j e^{S_{ij}} - S_{ii}\\Big]

    Parameters
    ----------
    X, Y : array of shape (N, k)
        Embeddings of the two towers, paired row by row, ``N >= 2``.
    log_temperature : float or array of shape (), default=log(10)
        :math:`t'`, with :math:`t = e^{t'}`.
    normalize : bool, default=True
        Scale the rows to unit ℓ₂ norm.

    Returns
    -------
    loss : array of shape ()
        The loss.
    dX, dY : array of shape (N, k)
        Gradients with respect to ``X`` and ``Y``.
    dlog_temperature : array of shape ()
        Gradient with respect to :math:`t'`.

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl import systems
    >>> rng = np.random.default_rng(0)
    >>> Z1 = rng.standard_normal((8, 3))
    >>> Z2 = Z1 + 0.1 * rng.standard_normal((8, 3))  # close positives
    >>> round(float(systems.clip_loss(Z1, Z2)), 4)
    0.2264
    """
    xp, X, Y, norms, t = _towers(X, Y, log_temperature, normalize)
    N = X.shape[0]
    C = X @ Y.mT
    S = t * C
    eye = xp.astype(eye_bool(N, X), X.dtype)
    diag = xp.sum(S * eye, axis=1)
    loss = (xp.mean(logsumexp(S, axis=1) - diag) + xp.mean(logsumexp(S, axis=0) - diag)) / 2
    G = (softmax(S, axis=1) + softmax(S, axis=0) - 2 * eye) / (2 * N)
    return (loss, *_towers_backward(X, Y, norms, t, C, G))


clip_loss, clip_grad = loss_and_grad_functions(
    clip_value_and_grad,
    loss="Symmetric softmax (CLIP) loss.",
    grad="Gradients ``(dX, dY, dlog_temperature)`` of :func:`clip_loss`.",
)


def check_log_temperature(value):
    """Validate a temperature given directly (not as a logarithm): it must be ``> 0``."""
    return math.log(check_temperature(value))


@register_loss
@dataclass(frozen=True)
class SigLIP(ContrastiveLoss):
    """SigLIP's sigmoid loss as a loss of the protocol, method ``"siglip"``.

    The log-temperature :math:`t'` and the bias :math:`b` are trained with the
    encoder: :attr:`extra_init` is ``(INIT_LOG_TEMPERATURE, bias_init)``.

    Parameters
    ----------
    bias_init : float, default=-10.0
        Initial bias :math:`b`, any finite real.
    """

    name = "siglip"
    bias_init: float = INIT_BIAS

    def __post_init__(self):
        object.__setattr__(self, "bias_init", _check_real(self.bias_init, "bias_init"))

    @property
    def extra_init(self) -> tuple[float, float]:
        """``(INIT_LOG_TEMPERATURE, bias_init)``: the initial :math:`t'` and :math:`b`."""
        return (INIT_LOG_TEMPERATURE, self.bias_init)

    def value_and_grad(
        self, Z1: Array, Z2: Array, log_temperature: Array, bias: Array
    ) -> tuple[Array, Array, Array, Array, Array]:
        """:func:`siglip_value_and_grad`: ``(loss, dZ1, dZ2, dlog_temperature, dbias)``."""
        return siglip_value_and_grad(Z1, Z2, log_temperature, bias)
