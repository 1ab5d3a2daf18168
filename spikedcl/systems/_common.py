"""Numerics shared by the contrastive systems: stable log-sum-exp, row
normalisation and its Jacobian, argument checks, and the loss-only and
gradient-only functions of a ``*_value_and_grad`` function.

Everything here works on arrays of one array-API namespace; nothing leaves
the device.
"""

from __future__ import annotations

import functools
import inspect
import math
import re

from .._array_api import device_of, get_namespace
from .._validation import check_choice, check_data, check_positive

__all__ = [
    "SIMILARITIES",
    "logsumexp",
    "softmax",
    "masked_logits",
    "row_normalize",
    "normalize_backward",
    "maybe_normalize",
    "maybe_normalize_backward",
    "check_pair",
    "check_temperature",
    "loss_and_grad_functions",
]

#: Similarity functions accepted by the softmax losses.
SIMILARITIES = ("cosine", "dot")

#: Floor on a row norm before dividing by it (a zero row has no direction).
NORM_FLOOR = 1e-12


def logsumexp(S, axis=-1, *, keepdims=False):
    """Numerically stable :math:`\\log\\sum_j e^{S_{ij}}` along ``axis``.

    Entries equal to ``-inf`` (masked) contribute zero. Computed as
    :math:`m + \\log\\sum_j e^{S_{ij} - m}` with :math:`m = \\max_j S_{ij}`, so
    nothing overflows for any finite input, in float32 as in float64.

    Parameters
    ----------
    S : array of shape (..., m)
        Logits; each slice along ``axis`` must hold at least one finite entry.
    axis : int, default=-1
        Axis to reduce.
    keepdims : bool, default=False
        Keep the reduced axis with length one.

    Returns
    -------
    array
        The log-sum-exp, shaped like ``S`` without ``axis`` (or with length one).
    """
    xp = get_namespace(S)
    m = xp.max(S, axis=axis, keepdims=True)
    out = m + xp.log(xp.sum(xp.exp(S - m), axis=axis, keepdims=True))
    return out if keepdims else xp.squeeze(out, axis=axis)


def softmax(S, axis=-1):
    """Stable softmax along ``axis`` (``-inf`` entries get probability zero).

    Parameters
    ----------
    S : array of shape (..., m)
        Logits.
    axis : int, default=-1
        Axis over which the probabilities sum to one.

    Returns
    -------
    array
        Probabilities, same shape as ``S``.
    """
    xp = get_namespace(S)
    return xp.exp(S - logsumexp(S, axis=axis, keepdims=True))


def eye_bool(n, like):
    """Boolean identity of size ``n`` on the device of ``like``."""
    xp = get_namespace(like)
    return xp.eye(n, dtype=xp.bool, device=device_of(like))


def masked_logits(S):
    """``S`` with its diagonal set to ``-inf`` (self-pairs excluded from a softmax).

    Parameters
    ----------
    S : array of shape (m, m)
        Square logits.

    Returns
    -------
    array of shape (m, m)
        The masked logits.
    """
    xp = get_namespace(S)
    return xp.where(eye_bool(S.shape[0], S), -xp.inf, S)


def row_normalize(Z):
    """Rows of ``Z`` (vectors along its last axis) scaled to unit norm, and the norms.

    Parameters
    ----------
    Z : array of shape (m, k) or (..., k)
        Embeddings, one per row.

    Returns
    -------
    U : array of shape (m, k) or (..., k)
        :math:`u_i = z_i / \\|z_i\\|` (a zero row stays zero).
    norms : array of shape (m, 1) or (..., 1)
        :math:`\\max(\\|z_i\\|, 10^{-12})`.
    """
    xp = get_namespace(Z)
    norms = xp.sqrt(xp.sum(Z * Z, axis=-1, keepdims=True))
    norms = xp.clip(norms, min=NORM_FLOOR)
    return Z / norms, norms


def normalize_backward(U, norms, dU):
    """Pull a gradient back through :math:`u = z/\\|z\\|`.

    .. math::

        \\frac{\\partial \\mathcal L}{\\partial z_i}
        = \\frac{(I - u_i u_i^\\top)}{\\|z_i\\|}\\frac{\\partial \\mathcal L}{\\partial u_i}

    Parameters
    ----------
    U : array of shape (m, k)
        Normalised rows.
    norms : array of shape (m, 1)
        Row norms of the unnormalised input.
    dU : array of shape (m, k)
        Gradient with respect to ``U``.

    Returns
    -------
    array of shape (m, k)
        Gradient with respect to the unnormalised rows.
    """
    xp = get_namespace(U, dU)
    radial = xp.sum(U * dU, axis=1, keepdims=True)
    return (dU - radial * U) / norms


def maybe_normalize(Z, normalize):
    """:func:`row_normalize` when ``normalize`` is true, else ``(Z, None)``."""
    return row_normalize(Z) if normalize else (Z, None)


def maybe_normalize_backward(U, norms, dU):
    """:func:`normalize_backward` for rows from :func:`maybe_normalize` (``dU`` itself when ``norms`` is None)."""
    return dU if norms is None else normalize_backward(U, norms, dU)


def check_temperature(temperature, name="temperature"):
    """Return ``temperature`` as a float, raising unless it is finite and ``> 0``."""
    return check_positive(temperature, name)


def check_pair(Z1, Z2, names=("Z1", "Z2"), *, min_rows=2, same_rows=True):
    """Validate two embedding batches and return ``(xp, Z1, Z2)``.

    Both must be 2-D, of one namespace and dtype, with the same number of
    columns, at least ``min_rows`` rows (a batch of one has no negatives) and,
    with ``same_rows``, paired row by row.
    """
    xp, Z1 = check_data(Z1, names[0], min_rows=1)
    _, Z2 = check_data(Z2, names[1], min_rows=1)
    if Z1.shape[0] < min_rows:
        raise ValueError(
            f"batch size must be at least {min_rows} (a batch needs negatives): "
            f"{names[0]} has {Z1.shape[0]} rows"
        )
    if same_rows and Z1.shape[0] != Z2.shape[0]:
        raise ValueError(
            f"{names[0]} and {names[1]} must hold the same number of rows (paired views), "
            f"got shapes {tuple(Z1.shape)} and {tuple(Z2.shape)}"
        )
    if Z1.shape[1] != Z2.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of columns, "
            f"got shapes {tuple(Z1.shape)} and {tuple(Z2.shape)}"
        )
    if Z1.dtype != Z2.dtype:
        raise TypeError(f"{names[0]} and {names[1]} must share a dtype, got {Z1.dtype} and {Z2.dtype}")
    return xp, Z1, Z2


def check_similarity(similarity):
    """Check the similarity name (``"cosine"`` or ``"dot"``)."""
    return check_choice(similarity, "similarity", SIMILARITIES)


def log(value):
    """Natural logarithm of a Python number (host side)."""
    return math.log(value)


def _parameters_section(fn):
    """The numpydoc ``Parameters`` section of ``fn``'s docstring, as text."""
    doc = inspect.cleandoc(fn.__doc__ or "")
    match = re.search(r"^Parameters\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)", doc, flags=re.M | re.S)
    if match is None:
        raise ValueError(f"{fn.__name__} has no Parameters section to share")
    return match.group(1).rstrip()


def _output_function(value_and_grad, name, summary, index, returns, return_annotation):
    """A function named ``name``, with the signature of ``value_and_grad``, returning its outputs ``[index]``.

    Its annotations are those of ``value_and_grad`` but for the return, ``return_annotation``
    (a string, resolved in the module of ``value_and_grad``).
    """

    @functools.wraps(value_and_grad)
    def fn(*args, **kwargs):
        return value_and_grad(*args, **kwargs)[index]

    fn.__name__ = fn.__qualname__ = name
    fn.__annotations__ = {**value_and_grad.__annotations__, "return": return_annotation}
    fn.__signature__ = inspect.signature(value_and_grad).replace(return_annotation=return_annotation)
    fn.__doc__ = (
        f"{summary}\n\nSee :func:`{value_and_grad.__name__}` for the objective.\n\n"
        f"Parameters\n----------\n{_parameters_section(value_and_grad)}\n\n"
        f"Returns\n-------\n{returns}\n"
    )
    return fn


def loss_and_grad_functions(value_and_grad, *, loss, grad):
    """The loss-only and the gradient-only functions of a ``<stem>_value_and_grad`` function.

    Both have the signature of ``value_and_grad`` and return its own outputs;
    their docstrings refer to it for the parameters.

    Parameters
    ----------
    value_and_grad : callable
        A function named ``<stem>_value_and_grad`` that returns ``(loss, *gradients)``.
    loss : str
        Summary line of the docstring of ``<stem>_loss``.
    grad : str
        Summary line of the docstring of ``<stem>_grad``.

    Returns
    -------
    loss_fn : callable
        ``<stem>_loss(...) = value_and_grad(...)[0]``.
    grad_fn : callable
        ``<stem>_grad(...) = value_and_grad(...)[1:]`` (a tuple).
    """
    name = value_and_grad.__name__
    stem, _, rest = name.rpartition("_value_and_grad")
    if not stem or rest:
        raise ValueError(f"value_and_grad must be named '<stem>_value_and_grad', got {name!r}")
    return (
        _output_function(value_and_grad, f"{stem}_loss", loss, 0,
                         f"array of shape ()\n    The loss, the first output of :func:`{name}`.", "Array"),
        _output_function(value_and_grad, f"{stem}_grad", grad, slice(1, None),
                         f"tuple of arrays\n    The gradients, the outputs of :func:`{name}` after the loss.",
                         "tuple[Array, ...]"),
    )
