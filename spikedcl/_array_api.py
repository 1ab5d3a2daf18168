"""The one place that talks to :mod:`array_api_compat`.

Every compute function in spikedcl calls :func:`get_namespace` on its array
inputs and then uses only ``xp.*`` / ``xp.linalg.*``; data drawn on the host
are moved to the caller's namespace and device with :func:`to_namespace`.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace, is_cupy_namespace, is_numpy_namespace
from array_api_compat import device as _device
from array_api_compat import to_device as _to_device

__all__ = [
    "short_repr",
    "get_namespace",
    "device_of",
    "to_namespace",
    "to_numpy",
    "is_numpy_namespace",
    "is_cupy_namespace",
    "DEVICES",
    "namespace_for",
]

#: Devices understood by :func:`namespace_for` (and the CLI's ``--device``).
DEVICES = ("cpu", "cuda")

_GPU_EXTRA = 'pip install -e ".[gpu]"'



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


def namespace_for(device="cpu", dtype=None):
    """The array namespace and device that run spikedcl on ``device``.

    Parameters
    ----------
    device : {"cpu", "cuda"}, default="cpu"
        ``"cpu"``: NumPy (through array-api-compat); ``"cuda"``: CuPy on the
        current CUDA device. ``"cuda:K"`` selects device ``K``.
    dtype : {None, "float64", "float32"} or dtype, optional
        Checked to name a real floating dtype; resolve it with
        ``getattr(xp, name)`` (``None`` stands for float64).

    Returns
    -------
    xp : namespace
        The array-API namespace (``array_api_compat.numpy`` or ``array_api_compat.cupy``).
    device : object
        The device to pass as ``device=`` when moving host data there.

    Raises
    ------
    ValueError
        For an unknown device, or ``"cuda"`` when CuPy is not installed or no
        CUDA device is visible; the message names the extra to install.
    TypeError
        When ``dtype`` is not a real floating dtype name.

    Examples
    --------
    >>> import spikedcl as sc
    >>> xp, device = sc.namespace_for("cpu")
    >>> device, xp.__name__
    ('cpu', 'array_api_compat.numpy')
    >>> X = sc.SpikedModel.random(40, 2, rng=0).sample(100, rng=1, xp=xp, device=device)
    >>> sc.fit_pca(X, 2).W.shape
    (2, 40)
    """
    if not isinstance(device, str):
        raise TypeError(f"device must be a string, one of {', '.join(map(repr, DEVICES))}; got {device!r}")
    kind, _, index = device.partition(":")
    if kind not in DEVICES or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(f"device must be one of {', '.join(map(repr, DEVICES))} (or 'cuda:K'); got {device!r}")
    name = "float64" if dtype is None else getattr(dtype, "name", None) or str(dtype)
    name = {"double": "float64", "single": "float32", "f8": "float64", "f4": "float32"}.get(name, name)
    if name not in ("float64", "float32"):
        raise TypeError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    if kind == "cpu":
        import array_api_compat.numpy as xnp

        return xnp, "cpu"
    try:
        import cupy
    except ImportError:
        raise ValueError(
            f"device='cuda' needs CuPy, which is not installed: {_GPU_EXTRA} "
            "(installs cupy-cuda13x; needs an NVIDIA GPU with a CUDA 13 driver)"
        ) from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - CUDARuntimeError when no driver or no device is present
        count, reason = 0, f" ({type(exc).__name__}: {exc})"
    else:
        reason = ""
    k = int(index) if index else 0
    if count <= k:
        raise ValueError(
            f"device={device!r} needs a CUDA GPU, but CuPy sees {count} device(s){reason}; "
            f"run on a machine with an NVIDIA GPU and {_GPU_EXTRA}, or use device='cpu'"
        )
    import array_api_compat.cupy as xcp

    return xcp, cupy.cuda.Device(k)


def short_repr(value, *, head=3):
    """A short text for a repr: scalars as ``%.4g``, arrays as their shape and first entries, never whole.

    Parameters
    ----------
    value : object
        A number, an array of any namespace, or anything else (``repr`` of it).
    head : int, default=3
        Entries of a 1-d array shown before ``...``.

    Returns
    -------
    str
        E.g. ``"1.234"``, ``"[2.1, 1.7, 1.2]"``, ``"[2.1, 1.7, 1.2, ...] (10,)"`` or ``"array(50, 3)"``.
    """
    shape = getattr(value, "shape", None)
    if shape is None:
        return f"{value:.4g}" if isinstance(value, float) else repr(value)
    shape = tuple(int(k) for k in shape)
    if len(shape) == 0:
        return f"{float(to_numpy(value)):.4g}"
    if len(shape) == 1:
        first = ", ".join(f"{float(v):.4g}" for v in to_numpy(value[:head]))
        return f"[{first}]" if shape[0] <= head else f"[{first}, ...] ({shape[0]},)"
    return f"array{shape}"
