"""The one place that talks to :mod:`array_api_compat`.

Every compute function in spikedcl calls :func:`get_namespace` on its array
inputs and then uses only ``xp.*`` / ``xp.linalg.*``; data drawn on the host
are moved to the caller's namespace and device with :func:`to_namespace`.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace, is_numpy_namespace
from array_api_compat import device as _device
from array_api_compat import to_device as _to_device

__all__ = [
    "get_namespace",
    "device_of",
    "to_namespace",
    "to_numpy",
    "is_numpy_namespace",
]


def get_namespace(*arrays):
    """Return the array-API namespace shared by ``arrays`` (``None`` entries ignored)."""
    return array_namespace(*[a for a in arrays if a is not None])


def device_of(x):
    """Return the device on which ``x`` lives."""
    return _device(x)


def _host_dtype(xp, dtype):
    """The NumPy dtype with the same kind and width as ``dtype`` of namespace ``xp``."""
    try:
        return np.dtype(dtype)
    except TypeError:
        pass
    if xp.isdtype(dtype, "real floating"):
        return np.dtype(f"float{xp.finfo(dtype).bits}")
    raise TypeError(f"dtype must be a real floating dtype, got {dtype!r}")


def to_namespace(x, xp, *, device=None, dtype=None):
    """Copy a host (NumPy) array ``x`` into namespace ``xp`` on ``device``.

    With ``dtype`` the cast happens on the host, so a device that lacks the
    host's dtype (e.g. no float64) never sees it.
    """
    x = np.asarray(x)
    if dtype is not None:
        x = x.astype(_host_dtype(xp, dtype), copy=False)
    if is_numpy_namespace(xp):
        return x
    return xp.asarray(x, device=device) if device is not None else xp.asarray(x)


def to_numpy(x):
    """Return ``x`` as a NumPy array on the host (a no-op for NumPy input)."""
    if isinstance(x, np.ndarray) or not hasattr(x, "__array_namespace__"):
        return np.asarray(x)
    if hasattr(x, "get"):  # CuPy: an explicit device-to-host copy
        return x.get()
    xp = array_namespace(x)
    if xp.__name__.startswith("array_api_strict"):
        return np.asarray(_to_device(x, xp.Device("CPU_DEVICE")))
    return np.asarray(x)
