"""Shared type aliases of the public API's annotations.

``Array``
    An array of any array-API namespace (NumPy, CuPy, PyTorch, array-api-strict,
    ...). Annotations use it where a function accepts or returns arrays of the
    caller's namespace; it is :data:`typing.Any` for type checkers, since the array
    API has no common static type.
``RNGLike``
    What :func:`spikedcl.random.check_rng` accepts: a NumPy ``Generator``, an
    integer seed, a ``SeedSequence`` or ``None`` (fresh OS entropy).
``Namespace``
    An array-API namespace (``numpy``, ``cupy``, ``array_api_strict``, ...), as
    taken by the ``xp=`` parameters and returned by :func:`spikedcl.namespace_for`.
``Device``
    A device of such a namespace (``"cpu"``, a CuPy device, ...).
``Seed``
    An integer seed or ``None``.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np

__all__ = ["Array", "Device", "Namespace", "RNGLike", "Seed"]

Array: TypeAlias = Any
RNGLike: TypeAlias = np.random.Generator | np.random.SeedSequence | int | None
Namespace: TypeAlias = Any
Device: TypeAlias = Any
Seed: TypeAlias = int | None
