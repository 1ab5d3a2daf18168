"""Name -> object registries with clear errors (experiments, methods, metrics, forms, mask laws).

A :class:`Registry` is a :class:`dict` that refuses to rebind a name to a
different object and answers an unknown name with a :class:`ValueError`
listing the registered ones. It exists for sharing between modules (the
experiment contract in :mod:`spikedcl.experiments.base` and the metric
registry in :mod:`spikedcl.metrics`). :func:`register_named` and
:func:`lookup_named` serve the plain name -> instance tables of the batch
forms (:mod:`spikedcl.forms`) and mask laws (:mod:`spikedcl.augment`), whose
built-in entries can never be replaced.
"""

from __future__ import annotations

from ._validation import check_choice

__all__ = ["Registry", "register_named", "lookup_named"]


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


def register_named(table, obj, cls, builtins, *, what, kind, replace=False):
    """Add an instance of ``cls`` to ``table`` under its ``name`` attribute.

    Parameters
    ----------
    table : dict
        Name -> instance table, updated in place.
    obj : object
        The instance to register.
    cls : type
        Required base class of ``obj``.
    builtins : tuple of str
        Names that can never be replaced.
    what : str
        Parameter name of ``obj`` in the messages (``"form"``, ``"law"``).
    kind : str
        What the entries are, in the messages (``"batch form"``, ``"mask law"``).
    replace : bool, default=False
        Allow replacing a registered entry of the same name (never a built-in one).

    Returns
    -------
    object
        ``obj``.

    Raises
    ------
    TypeError
        ``obj`` is not an instance of ``cls``.
    ValueError
        Its name is not a non-empty string, is built in, or is taken and ``replace`` is false.
    """
    if not isinstance(obj, cls):
        raise TypeError(f"{what} must be a {cls.__name__} instance, got {type(obj).__name__}")
    name = obj.name
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what}.name must be a non-empty string, got {name!r}")
    if name in builtins or (name in table and not replace):
        raise ValueError(f"a {kind} named {name!r} is already registered")
    table[name] = obj
    return obj


def lookup_named(table, value, cls, name):
    """``value`` itself when it is an instance of ``cls``, else the entry of ``table`` it names.

    Parameters
    ----------
    table : dict
        Name -> instance table.
    value : str or object
        A registered name or an instance of ``cls``.
    cls : type
        Class whose instances pass through unchanged.
    name : str
        Parameter name for the error message.

    Returns
    -------
    object
        The instance.

    Raises
    ------
    ValueError
        ``value`` is neither an instance of ``cls`` nor a registered name (the message lists them).
    """
    if isinstance(value, cls):
        return value
    return table[check_choice(value, name, tuple(table))]
