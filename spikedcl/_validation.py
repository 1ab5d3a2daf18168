"""Input checks shared by the public functions.

Every check raises :class:`TypeError` for the wrong kind of object and
:class:`ValueError` for a value outside its allowed range, always naming the
parameter and the range.
"""

from __future__ import annotations

import difflib
import numbers
import warnings

import numpy as np

from ._array_api import device_of, get_namespace

__all__ = [
    "check_data",
    "check_rank",
    "check_unit_interval",
    "check_positive",
    "check_choice",
    "check_int",
    "closest_name",
]


def check_data(X, name="X", *, ndim=2, min_rows=2, finite=True):
    """Validate an array argument and return ``(xp, X)``.

    Lists and other array-likes are converted with NumPy (an ``np.matrix`` to a plain
    array); integer and boolean arrays are promoted to float64. Half precision
    (float16), which NumPy's and CuPy's linear algebra do not support, is upcast
    to float32 with a :class:`UserWarning`. ``X`` must have ``ndim`` dimensions, at least
    ``min_rows`` rows (when 2-D) and only finite entries.
    """
    if isinstance(X, np.matrix):  # a 2-D ndarray subclass whose * and .T break the array API
        X = np.asarray(X)
    try:
        xp = get_namespace(X)
    except TypeError:
        if isinstance(X, (str, bytes, dict, set)) or X is None:
            raise TypeError(
                f"{name} must be an array of shape {_shape_text(ndim)}, "
                f"got {type(X).__name__}"
            ) from None
        try:
            X = np.asarray(X, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must be a numeric array of shape {_shape_text(ndim)}: {exc}"
            ) from None
        xp = get_namespace(X)
    if X.dtype == getattr(xp, "float16", None):
        warnings.warn(
            f"{name} has dtype float16, which linear algebra does not support: computing in float32 "
            f"(pass {name}.astype('float32') or float64 to choose the precision)",
            UserWarning,
            stacklevel=3,
        )
        X = xp.astype(X, xp.float32)
    if not xp.isdtype(X.dtype, "real floating"):
        if xp.isdtype(X.dtype, ("integral", "bool")):
            X = xp.astype(X, _default_float(xp, X))
        else:
            raise TypeError(f"{name} must have a real floating dtype, got {X.dtype}")
    if X.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-D of shape {_shape_text(ndim)}, got shape {tuple(X.shape)}"
        )
    if ndim == 2 and X.shape[0] < min_rows:
        raise ValueError(
            f"{name} must have at least {min_rows} rows (samples), got n={X.shape[0]}"
        )
    if finite and not bool(xp.all(xp.isfinite(X))):
        raise ValueError(f"{name} contains NaN or infinite values")
    return xp, X


def _default_float(xp, X):
    """The namespace's default real floating dtype on the device of ``X``."""
    try:
        return xp.__array_namespace_info__().default_dtypes(device=device_of(X))["real floating"]
    except (AttributeError, TypeError, KeyError):
        return xp.float64


def _shape_text(ndim):
    return {1: "(n,)", 2: "(n_samples, n_features)"}.get(ndim, f"with {ndim} axes")


def check_int(value, name, *, low=None, high=None):
    """Return ``value`` as ``int`` if it is an integer in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value}")
    return value


def check_rank(r, d, name="r"):
    """Check the subspace dimension: an integer with ``1 <= r < d``."""
    return check_int(r, name, low=1, high=d - 1)


def _check_real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_unit_interval(p, name="p"):
    """Check ``0 < p < 1``."""
    p = _check_real(p, name)
    if not 0.0 < p < 1.0:
        raise ValueError(f"{name} must lie in the open interval (0, 1), got {p}")
    return p


def check_positive(value, name, *, allow_zero=False):
    """Check ``value > 0`` (or ``>= 0`` with ``allow_zero``)."""
    value = _check_real(value, name)
    if value < 0 or (value == 0 and not allow_zero):
        rng = "[0, inf)" if allow_zero else "(0, inf)"
        raise ValueError(f"{name} must lie in {rng}, got {value}")
    return value


def check_choice(value, name, options):
    """Check that ``value`` is one of the strings in ``options``."""
    if not isinstance(value, str) or value not in options:
        allowed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def closest_name(name, allowed):
    """`` (did you mean 'x'?)`` for the allowed name closest to a misspelt ``name``, else ``""``.

    Parameters
    ----------
    name : object
        The name given.
    allowed : iterable
        The valid names.

    Returns
    -------
    str
        The hint, with a leading space, or the empty string when no name is close
        (:func:`difflib.get_close_matches`, cutoff 0.6).
    """
    match = difflib.get_close_matches(str(name), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
