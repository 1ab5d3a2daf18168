"""Name -> object registries with clear errors (experiments, methods, metrics).

A :class:`Registry` is a :class:`dict` that refuses to rebind a name to a
different object and answers an unknown name with a :class:`ValueError`
listing the registered ones. It exists for sharing between modules (the
experiment contract in :mod:`spikedcl.experiments.base` and the metric
registry in :mod:`spikedcl.metrics`).
"""

from __future__ import annotations

__all__ = ["Registry"]


class Registry(dict):
    """A named mapping of registered objects.

    Parameters
    ----------
    kind : str
        What the entries are (``"experiment"``, ``"metric"``, ...), for messages.
    """

    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def add(self, name, obj, *, replace=False):
        """Register ``obj`` under ``name``.

        Parameters
        ----------
        name : str
            Non-empty name.
        obj : object
            The entry.
        replace : bool, default=False
            Allow rebinding ``name`` to another object (otherwise a
            :class:`ValueError`; re-registering an entry of the same qualified
            name, as a module reload does, is always allowed).

        Returns
        -------
        object
            ``obj``.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        old = self.get(name)
        if old is not None and old is not obj and not replace and _qualname(old) != _qualname(obj):
            raise ValueError(f"{self.kind} {name!r} is already registered ({_qualname(old)})")
        self[name] = obj
        return obj

    def lookup(self, name, what=None):
        """The entry ``name``, or a :class:`ValueError` naming the registered ones.

        Parameters
        ----------
        name : str
            Registered name.
        what : str, optional
            Parameter name for the message (default: the registry's kind).

        Returns
        -------
        object
            The entry.
        """
        if isinstance(name, str) and name in self:
            return self[name]
        allowed = ", ".join(repr(n) for n in self)
        raise ValueError(f"{what or self.kind} must be one of {allowed}; got {name!r}")


def _qualname(obj):
    target = getattr(obj, "target", None)
    if isinstance(target, str):
        return target
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"
