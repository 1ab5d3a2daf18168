"""The experiment contract of the sweep engine: declared parameters, one data draw, registries.

An experiment is an :class:`Experiment`: a function ``run(P, data) -> rows``
wrapped with

* its declared parameters (:class:`Param`: type, range or choices, default,
  one line of documentation), which drive validation (unknown, missing,
  mistyped or out-of-range parameters raise a :class:`ValueError` or
  :class:`TypeError` naming the parameter and the allowed values), the
  defaults (``P`` holds every declared parameter) and the docs
  (:meth:`Experiment.describe`);
* one data draw per replicate, ``draw(P, seed) -> data``, made once by
  :meth:`Experiment.__call__` and handed to every method of the replicate
  (common random numbers by construction);
* the devices and dtypes it honours: anything else is refused before it runs
  (``device="cuda"`` needs CuPy and an experiment that runs on the GPU);
* a memory estimate of one replicate, ``memory(P) -> (in_memory_bytes,
  streamed_bytes or None)``, from which :meth:`Experiment.memory_plan` picks
  the in-memory or the streamed path under the execution parameter
  ``memory_limit``, or refuses the cell before any work
  (:class:`MemoryLimitError`).

Calling the experiment, ``exp(params, seed) -> rows``, is the engine's
signature (see :mod:`spikedcl.sweep`); ``exp.validate(params)`` checks a cell
before anything runs. A new experiment is one decorated function::

    from spikedcl.experiments.base import Param, register_experiment

    @register_experiment("coin", params=(Param("p", float, 0.5, low=0, high=1),))
    def coin(P, data):
        '''Bernoulli draws.'''
        rng = np.random.default_rng(data)
        return [{"method": "coin", "metric": "heads", "value": float(rng.random() < P["p"])}]

and a configuration naming it (``experiment = "coin"``, or
``"module:coin"`` without registering). Seeds are addressed
(:func:`seed_children`), never spawned, so calling an experiment twice with the
same :class:`~numpy.random.SeedSequence` gives the same rows.
"""

from __future__ import annotations

import functools
import importlib
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._array_api import namespace_for
from .._registry import Registry
from .._validation import check_int, closest_name

__all__ = [
    "REQUIRED",
    "Param",
    "Experiment",
    "EXPERIMENTS",
    "register_experiment",
    "seed_children",
    "require",
    "EXECUTION_PARAMS",
    "MemoryPlan",
    "MemoryLimitError",
    "generic_memory",
    "format_bytes",
    "GENERIC_SAMPLE_ARRAYS",
    "GENERIC_SQUARE_ARRAYS",
]


class _Required:
    def __repr__(self):
        return "REQUIRED"


#: Default of a parameter the cell must give.
REQUIRED = _Required()

_TYPE_NAMES = {int: "an integer", float: "a real number", str: "a string", bool: "true or false",
               list: "a list"}


@dataclass(frozen=True)
class Param:
    """A declared parameter of an experiment.

    Parameters
    ----------
    name : str
        Key in the cell's parameters.
    type : {int, float, str, bool, list, object}
        Expected type (``float`` accepts integers; ``object`` accepts anything
        and relies on ``choices``).
    default : object, default=REQUIRED
        Value when the cell does not give it; :data:`REQUIRED` makes it
        mandatory, ``None`` optional without a value.
    low, high : float, optional
        Range of a number (closed unless ``open_low`` / ``open_high``).
    open_low, open_high : bool, default=False
        Exclude the bound.
    choices : tuple or callable, optional
        Allowed values (for a list: allowed items); a callable returns them
        when checked (for registries that grow).
    items : type, optional
        Type of the items of a list.
    nonempty : bool, default=False
        A list must hold at least one item.
    doc : str, default=""
        One line for :meth:`Experiment.describe`.
    """

    name: str
    type: type = object
    default: object = REQUIRED
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    choices: tuple[Any, ...] | Callable[[], Iterable[Any]] | None = None
    items: type | None = None
    nonempty: bool = False
    doc: str = ""

    @property
    def required(self) -> bool:
        """Whether the cell must give the parameter."""
        return self.default is REQUIRED

    def allowed(self) -> tuple[Any, ...] | None:
        """The allowed values (``None`` when not a choice)."""
        return tuple(self.choices()) if callable(self.choices) else self.choices

    def check(self, value: Any) -> Any:
        """Check one value; returns it unchanged.

        Parameters
        ----------
        value : object
            The cell's value.

        Returns
        -------
        object
            ``value``.

        Raises
        ------
        TypeError
            For a value of the wrong type.
        ValueError
            For a value out of range or not among the choices.
        """
        if value is None and self.default is None:
            return value
        if self.type is list:
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                raise TypeError(f"{self.name} must be a list, got {value!r}")
            if self.nonempty and not value:
                raise ValueError(f"{self.name} must be a non-empty list{self._choice_text()}, got {value!r}")
            for item in value:
                self._scalar(item, self.items or object)
            return value
        return self._scalar(value, self.type)

    def _choice_text(self):
        allowed = self.allowed()
        return f" of names in {tuple(allowed)}" if allowed is not None else ""

    def _scalar(self, value, kind):
        name = self.name
        if kind is bool and not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be true or false, got {value!r}")
        if kind is str and not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {value!r}")
        if kind is int:
            check_int(value, name, low=self.low, high=self.high)
        if kind is float:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name} must be a real number, got {value!r}")
            if not math.isfinite(float(value)):
                raise ValueError(f"{name} must be finite, got {value}")
            if self.low is not None or self.high is not None:
                lo = -math.inf if self.low is None else self.low
                hi = math.inf if self.high is None else self.high
                v = float(value)
                if v < lo or v > hi or (self.open_low and v == lo) or (self.open_high and v == hi):
                    raise ValueError(f"{name} must lie in {self._interval()}, got {value}")
        allowed = self.allowed()
        if allowed is not None and not (value in allowed and (not isinstance(value, bool)
                                                              or any(value is a for a in allowed))):
            raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
        return value

    def _interval(self, *, named=True):
        """``"[a, b)"``; with ``named``, closed and bounded open intervals say so."""
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if self.open_low or self.low is None else "["
        right = ")" if self.open_high or self.high is None else "]"
        text = f"{left}{lo}, {hi}{right}"
        if named and left + right == "[]":
            return f"the closed interval {text}"
        if named and left + right == "()" and self.low is not None and self.high is not None:
            return f"the open interval {text}"
        return text

    def describe(self) -> str:
        """One line: ``name : type, default ... -- doc``."""
        kind = {int: "int", float: "float", str: "str", bool: "bool", list: "list"}.get(self.type, "any")
        parts = [kind]
        if self.low is not None or self.high is not None:
            parts.append(self._interval(named=False))
        allowed = self.allowed()
        if allowed is not None:
            parts.append("in {" + ", ".join(map(repr, allowed)) + "}")
        parts.append("required" if self.required else f"default {self.default!r}")
        return f"{self.name} : {', '.join(parts)}" + (f" -- {self.doc}" if self.doc else "")


#: Parameters of every experiment: where it runs (honoured or refused, never merely recorded).
EXECUTION_PARAMS = (
    Param("device", str, "cpu", doc="array device: 'cpu', or 'cuda' (CuPy) where the experiment supports it"),
    Param("dtype", str, "float64", choices=("float64", "float32"), doc="floating dtype of the fits"),
    Param("memory_limit", int, None, low=1,
          doc="bytes one replicate may use: over it the cell streams where it can, else it is refused "
              "(None: no limit, in memory)"),
)

#: ``(n, d)`` float64 arrays alive at once in the generic estimate of an experiment without a memory hook.
GENERIC_SAMPLE_ARRAYS = 4
#: ``(d, d)`` float64 arrays alive at once in the generic estimate.
GENERIC_SQUARE_ARRAYS = 8


def format_bytes(nbytes: float) -> str:
    """``nbytes`` in the largest binary unit that keeps it at least 1 (``"1.5 GiB"``).

    Parameters
    ----------
    nbytes : int or float
        A size in bytes, ``>= 0``.

    Returns
    -------
    str
        The size with three significant digits and its unit (B, KiB, MiB, GiB, TiB, PiB).
    """
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            return f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} PiB"


class MemoryLimitError(ValueError):
    """A cell whose replicate would exceed its ``memory_limit`` on every path it has.

    Raised by :meth:`Experiment.memory_plan` (and so by :meth:`Experiment.validate`
    and a call of the experiment) before any work; the message gives the
    estimate, the limit and why no streamed path fits.
    """


@dataclass(frozen=True)
class MemoryPlan:
    """How one replicate of a cell runs under its memory limit.

    Parameters
    ----------
    path : {"in-memory", "streamed"}
        ``"in-memory"``: the samples are built whole (the default path);
        ``"streamed"``: the fits read statistics accumulated chunk by chunk.
    bytes : int
        Estimated peak bytes of one replicate on that path.
    in_memory_bytes : int
        Estimated peak bytes of the in-memory path (equal to ``bytes`` for it).
    """

    path: Literal["in-memory", "streamed"]
    bytes: int
    in_memory_bytes: int


def generic_memory(P: dict[str, Any]) -> tuple[int, int | None]:
    """The estimate of an experiment without a memory hook: from ``n`` and ``d`` when it has them.

    :data:`GENERIC_SAMPLE_ARRAYS` float64 arrays of shape (n, d) and
    :data:`GENERIC_SQUARE_ARRAYS` of shape (d, d) (the samples, their draw's
    temporaries and a few moment matrices). A rough upper bound, not
    calibrated per experiment; such an experiment has no streamed path.

    Parameters
    ----------
    P : dict
        Resolved parameters.

    Returns
    -------
    tuple
        ``(in_memory_bytes, None)``; ``(0, None)`` without integer ``n`` and ``d``.
    """
    n, d = P.get("n"), P.get("d")
    if not isinstance(n, numbers.Integral) or not isinstance(d, numbers.Integral) or isinstance(n, bool):
        return 0, None
    return 8 * (GENERIC_SAMPLE_ARRAYS * int(n) * int(d) + GENERIC_SQUARE_ARRAYS * int(d) ** 2), None


def seed_children(seed: np.random.SeedSequence, k: int) -> list[np.random.SeedSequence]:
    """The first ``k`` children of ``seed``, as ``seed.spawn(k)`` gives them on a fresh sequence.

    Addressed rather than spawned: ``seed`` is not modified, so calling an
    experiment twice with the same :class:`~numpy.random.SeedSequence` gives
    the same rows.

    Parameters
    ----------
    seed : numpy.random.SeedSequence
        The replicate's seed.
    k : int
        Number of children.

    Returns
    -------
    list of numpy.random.SeedSequence
        Children ``0, ..., k-1``.
    """
    return [
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i), pool_size=seed.pool_size)
        for i in range(k)
    ]


def require(P: dict[str, Any], keys: Sequence[str], what: str) -> None:
    """Raise a :class:`ValueError` unless every one of ``keys`` is set (not ``None``) in ``P``.

    Parameters
    ----------
    P : dict
        Resolved parameters.
    keys : sequence of str
        Keys needed.
    what : str
        Who needs them, for the message (``"the collapse toy"``).
    """
    for key in keys:
        if P.get(key) is None:
            raise ValueError(f"{what} needs the parameter {key!r}")


class Experiment:
    """A sweep experiment: declared parameters, one data draw per replicate, rows.

    Parameters
    ----------
    run : callable
        ``run(P, data) -> list of dict``: the rows of one replicate from the
        resolved parameters ``P`` and the replicate's draw.
    name : str
        Short name (the registry key of :func:`register_experiment`).
    params : tuple of Param or callable
        Declared parameters (a callable returns them when needed, for
        parameter sets that grow with a registry, such as the hyperparameters
        of registered losses). :data:`EXECUTION_PARAMS` are added.
    draw : callable, optional
        ``draw(P, seed) -> data``, called once per replicate; default: the
        seed itself.
    check : callable, optional
        ``check(P)``: cross-parameter constraints on the resolved parameters.
    devices : tuple of str, default=("cpu",)
        Devices the experiment runs on; ``"cuda"`` in it means the fits run
        through CuPy when asked.
    dtypes : tuple of str, default=("float64",)
        Floating dtypes it honours.
    batch : callable, optional
        ``batch(params, seeds) -> list of row lists`` (see :func:`spikedcl.sweep.run_cell`).
    memory : callable, optional
        ``memory(P) -> (in_memory_bytes, streamed_bytes or None)``, or a third
        item saying why there is no streamed path: the peak bytes of one
        replicate of the resolved cell ``P`` on each path (``None``: the cell
        has no streamed path). Default :func:`generic_memory`.

    Attributes
    ----------
    target : str
        ``"module:attribute"`` of the run function, importable by the sweep's workers.
    """

    def __init__(
        self,
        run: Callable[[dict[str, Any], Any], list[dict[str, Any]]],
        *,
        name: str,
        params: Sequence[Param] | Callable[[], Sequence[Param]] = (),
        draw: Callable[[dict[str, Any], np.random.SeedSequence], Any] | None = None,
        check: Callable[[dict[str, Any]], None] | None = None,
        devices: Sequence[str] = ("cpu",),
        dtypes: Sequence[str] = ("float64",),
        batch: Callable[..., Any] | None = None,
        memory: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None,
    ) -> None:
        if not callable(run):
            raise TypeError(f"run must be callable, got {run!r}")
        self.run = run
        self.name = name
        self._params = params
        self._draw = draw
        self._check = check
        self.devices = tuple(devices)
        self.dtypes = tuple(dtypes)
        self.batch = batch
        if memory is not None and not callable(memory):
            raise TypeError(f"memory must be callable P -> (in_memory_bytes, streamed_bytes), got {memory!r}")
        self._memory = memory
        self.target = f"{run.__module__}:{run.__qualname__}"
        functools.update_wrapper(self, run)

    def __repr__(self):
        return f"Experiment({self.name!r}, target={self.target!r})"

    def __reduce__(self):
        # pickled by reference: workers import the module that defines it
        module, _, attr = self.target.partition(":")
        return (_import_target, (module, attr))

    @property
    def params(self) -> dict[str, Param]:
        """Declared parameters by name, the execution ones included."""
        declared = self._params() if callable(self._params) else self._params
        out = {p.name: p for p in declared}
        for p in EXECUTION_PARAMS:
            out.setdefault(p.name, p)
        return out

    def check_device(self, P: dict[str, Any]) -> None:
        """Refuse a device or dtype the experiment does not honour.

        Parameters
        ----------
        P : dict
            Parameters holding ``device`` and ``dtype``.

        Raises
        ------
        ValueError
            For an unknown device, ``"cuda"`` on an experiment that runs on the
            CPU only or without CuPy, or an unsupported dtype.
        """
        device = P.get("device", "cpu")
        dtype = P.get("dtype", "float64")
        kind = device.partition(":")[0] if isinstance(device, str) else None
        if kind == "cuda" and "cuda" not in self.devices:
            raise ValueError(
                f"the {self.name} experiment runs on the CPU only (NumPy); device must be 'cpu', got {device!r}"
            )
        namespace_for(device, dtype)  # unknown device, or cuda without CuPy: a clear ValueError
        if dtype not in self.dtypes:
            raise ValueError(f"the {self.name} experiment supports dtype {', '.join(map(repr, self.dtypes))}; "
                             f"got {dtype!r}")

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a cell and fill the defaults.

        Parameters
        ----------
        params : mapping
            The cell (a grid point merged with the fixed parameters).

        Returns
        -------
        dict
            Every declared parameter: the cell's value or the default.

        Raises
        ------
        ValueError, TypeError
            Naming the parameter and the allowed values: unknown or missing
            parameters, wrong types, values out of range, a refused device.
        """
        if not isinstance(params, dict):
            raise TypeError(f"params must be a dict of parameters, got {type(params).__name__}")
        specs = self.params
        unknown = sorted(set(params) - set(specs))
        if unknown:
            named = ", ".join(f"{k!r}{closest_name(k, specs)}" for k in unknown)
            raise ValueError(f"unknown parameter(s) {named} of the {self.name} experiment; "
                             f"allowed: {sorted(specs)}")
        P = {}
        for name, spec in specs.items():
            if name in params:
                P[name] = spec.check(params[name])
            elif spec.required:
                raise ValueError(f"the {self.name} experiment needs the parameter {name!r}")
            else:
                P[name] = list(spec.default) if isinstance(spec.default, (list, tuple)) else spec.default
        self.check_device(P)
        if self._check is not None:
            self._check(P)
        return P

    def validate(self, params: dict[str, Any]) -> None:
        """Check a cell before anything runs (see :meth:`resolve` and :meth:`memory_plan`).

        Parameters
        ----------
        params : dict
            The cell.

        Raises
        ------
        ValueError, TypeError
            As :meth:`resolve`; :class:`MemoryLimitError` for a cell that fits
            its ``memory_limit`` on no path.
        """
        self.memory_plan(self.resolve(params))

    def memory_estimate(self, P: dict[str, Any]) -> tuple[int, int | None, str]:
        """The peak bytes of one replicate of ``P`` on each path.

        Parameters
        ----------
        P : dict
            Resolved parameters.

        Returns
        -------
        tuple
            ``(in_memory_bytes, streamed_bytes or None, why_not)``: ``why_not``
            says why there is no streamed path (``""`` when there is one or the
            hook gives no reason).
        """
        out = (self._memory or generic_memory)(P)
        if not isinstance(out, tuple) or len(out) not in (2, 3):
            raise TypeError(f"the memory hook of the {self.name} experiment must return "
                            f"(in_memory_bytes, streamed_bytes or None[, why]), got {out!r}")
        in_memory, streamed = int(out[0]), None if out[1] is None else int(out[1])
        return in_memory, streamed, (out[2] if len(out) == 3 else "") or ""

    def memory_plan(self, P: dict[str, Any]) -> MemoryPlan:
        """The path of one replicate under ``P["memory_limit"]``, or a refusal before any work.

        In memory when the estimate fits the limit (or the limit is ``None``),
        else streamed when the cell has a streamed path and its estimate fits.

        Parameters
        ----------
        P : dict
            Resolved parameters (:meth:`resolve`).

        Returns
        -------
        MemoryPlan
            The chosen path and its estimate.

        Raises
        ------
        MemoryLimitError
            When neither path fits: the message gives both estimates, the limit
            and why the cell cannot stream.
        """
        in_memory, streamed, why = self.memory_estimate(P)
        limit = P.get("memory_limit")
        if limit is None or in_memory <= limit:
            return MemoryPlan("in-memory", in_memory, in_memory)
        if streamed is not None and streamed <= limit:
            return MemoryPlan("streamed", streamed, in_memory)
        if streamed is None:
            tail = f"; it has no streamed path ({why})" if why else "; it has no streamed path"
        else:
            tail = f" and about {format_bytes(streamed)} streamed" + (f" ({why})" if why else "")
        raise MemoryLimitError(
            f"a replicate of this {self.name} cell needs about {format_bytes(in_memory)} in memory{tail}, "
            f"over memory_limit={limit} bytes ({format_bytes(limit)}): raise memory_limit or shrink the cell"
        )

    def draw(self, P: dict[str, Any], seed: np.random.SeedSequence) -> Any:
        """The replicate's data, drawn once and shared by every method.

        Parameters
        ----------
        P : dict
            Resolved parameters.
        seed : numpy.random.SeedSequence
            The replicate's seed.

        Returns
        -------
        object
            Whatever ``run`` takes as ``data``.
        """
        return seed if self._draw is None else self._draw(P, seed)

    def __call__(self, params, seed):
        P = self.resolve(params)
        self.memory_plan(P)  # a cell over its limit is refused before it draws anything
        return self.run(P, self.draw(P, seed))

    def describe(self) -> str:
        """The declared parameters, one line each.

        Returns
        -------
        str
            ``name : type, range, default -- doc`` lines.
        """
        head = f"{self.name} ({self.target}); devices {', '.join(self.devices)}"
        return "\n".join([head] + ["  " + p.describe() for p in self.params.values()])


def _import_target(module, attr):
    return getattr(importlib.import_module(module), attr)


#: Registered experiments by short name (the sweep's ``experiment = "name"``).
EXPERIMENTS = Registry("experiment")


def register_experiment(
    name: str,
    *,
    params: Sequence[Param] | Callable[[], Sequence[Param]] = (),
    draw: Callable[[dict[str, Any], np.random.SeedSequence], Any] | None = None,
    check: Callable[[dict[str, Any]], None] | None = None,
    devices: Sequence[str] = ("cpu",),
    dtypes: Sequence[str] = ("float64",),
    memory: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None,
    replace: bool = False,
) -> Callable[[Callable[[dict[str, Any], Any], list[dict[str, Any]]]], Experiment]:
    """Decorator: wrap ``run(P, data)`` into an :class:`Experiment` registered as ``name``.

    Parameters
    ----------
    name : str
        Short name for configurations.
    params, draw, check, devices, dtypes, memory
        See :class:`Experiment`.
    replace : bool, default=False
        Allow replacing another experiment registered under ``name``.

    Returns
    -------
    callable
        The decorator; it returns the :class:`Experiment` (bind it to a module
        attribute of the same name as the function, so that the sweep's worker
        processes can import it).

    Examples
    --------
    A toy experiment: the error of a sample mean, drawn from the replicate's seed
    (``draw`` defaults to passing the seed through):

    >>> import numpy as np
    >>> from spikedcl.experiments.base import EXPERIMENTS, Param, register_experiment
    >>> @register_experiment("toy-mean", params=(Param("n", int, low=1, doc="number of samples"),))
    ... def toy_mean(P, seed):
    ...     x = np.random.default_rng(seed).standard_normal(P["n"])
    ...     return [{"method": "sample-mean", "metric": "abs_error", "value": abs(float(x.mean()))}]
    >>> print(toy_mean.describe())
    toy-mean (spikedcl.experiments.base:toy_mean); devices cpu
      n : int, [1, inf), required -- number of samples
      ...
    >>> rows = toy_mean({"n": 100}, np.random.SeedSequence(0))
    >>> rows[0]["method"], round(rows[0]["value"], 4)
    ('sample-mean', 0.0811)
    >>> toy_mean({"n": 0}, np.random.SeedSequence(0))
    Traceback (most recent call last):
        ...
    ValueError: n must be an integer in [1, inf], got 0

    Another function under a taken name is refused unless ``replace=True``; remove the
    entry to undo the registration:

    >>> register_experiment("toy-mean")(lambda P, seed: [])
    Traceback (most recent call last):
        ...
    ValueError: experiment 'toy-mean' is already registered (spikedcl.experiments.base:toy_mean)
    >>> del EXPERIMENTS["toy-mean"]
    """

    def decorator(run):
        exp = Experiment(run, name=name, params=params, draw=draw, check=check, devices=devices, dtypes=dtypes,
                         memory=memory)
        return EXPERIMENTS.add(name, exp, replace=replace)

    return decorator
