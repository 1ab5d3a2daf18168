"""Parameter sweeps: configurations, grid cells, seeding, parallel resumable runs.

A sweep is described by a configuration: a TOML file, packaged in
:mod:`spikedcl.configs` and found by name (``load_config("fig1")``), or one of
one's own given by its path::

    name = "fig1"
    experiment = "subspace"          # or "package.module:function"
    reps = 20
    seed = 0
    data_keys = ["n", "d", "r", "C", "noise"]
    [grid]                           # or [[grid]] tables, whose union is swept
    n = [500, 1000, 2000]
    [params]                         # fixed parameters of every cell
    d = 200
    methods = ["pca", "cl"]
    [quick]                          # overrides applied by --quick
    reps = 2

The grid expands into *cells*: one grid point and a block of replicates. A
cell is identified by a stable hash of everything that determines its rows,
so a finished cell is never recomputed and the grid can be extended in place.
Replicate ``rep`` of a grid point draws from
``SeedSequence(seed, spawn_key=(hash(data cell), rep))``, where the data cell
holds only the ``data_keys`` coordinates: every method, mask probability,
block size, ``n_jobs`` and backend sees the same samples (conventions 4, 12).

:func:`run_sweep` runs the missing cells on an engine of :mod:`spikedcl.engine`
(sequential, threads, loky processes or a Dask cluster), each with one BLAS
thread so that rows are bit-identical whatever the backend and ``n_jobs``, and
the sweep's own process writes each finished cell atomically, with a checksum
of its rows, under an advisory lock on the output directory. It records
failing cells (a cell that raised, a cell whose worker died twice, cells an
engine could not run, I/O errors) and consolidates one long table
(conventions 11–13). Configurations are strict: a key that is not a declared
parameter of the experiment is refused with the closest valid name. Cells whose
in-memory path would exceed their share of ``memory_limit`` run on their
experiment's streamed path or are refused before any work. SIGINT and SIGTERM
end the workers and raise :class:`SweepInterrupted`; every finished cell is kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import itertools
import json
import math
import numbers
import os
import shutil
import signal
import time
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from . import __version__, configs, io
from ._validation import check_int, closest_name
from .analysis import mean_ci
from .engine import EngineUnavailable, make_engine, single_threaded
from .engine.base import error_text, signals_handled, signals_ignored
from .exceptions import CorruptCellWarning
from .experiments import EXPERIMENTS, Experiment
from .notebook import metric_figure_png, sweep_html
from .progress import progress_bar
from .random import cell_seed

__all__ = [
    "EXPERIMENTS",
    "ROW_COLUMNS",
    "ConfigError",
    "Cell",
    "SweepResult",
    "load_config",
    "resolve_config",
    "config_hash",
    "expand_cells",
    "replicate",
    "run_cell",
    "run_sweep",
    "coordinate_columns",
    "summary_table",
    "describe_experiment",
]

# EXPERIMENTS (re-exported from spikedcl.experiments.base): the registered
# experiments by short name; any ``"module:function"`` also works.

#: Columns every row carries, after the cell's coordinates.
ROW_COLUMNS = (
    "method",
    "solver",
    "rep",
    "seed",
    "metric",
    "value",
    "n_iter",
    "converged",
    "time_s",
    "backend",
    "device",
    "dtype",
    "version",
)

_TOP_KEYS = {
    "name",
    "description",
    "experiment",
    "reps",
    "seed",
    "data_keys",
    "reps_per_cell",
    "grid",
    "params",
    "quick",
    "figure",
    "summary",
}
_QUICK_KEYS = {"reps", "reps_per_cell", "grid", "params"}
_OVERRIDE_KEYS = {"reps", "seed", "reps_per_cell", "grid", "params"}
#: Coordinates that lead the columns when present (conventions 13).
_LEADING = ("n", "d", "r", "noise", "C", "mask_prob")
#: Fraction of the available memory a sweep may use by default (``memory_limit="auto"``).
MEMORY_FRACTION = 0.25
#: Replicates per cell file unless the configuration says otherwise (independent of ``reps``,
#: so extending ``reps`` by whole blocks computes only the new cells).
DEFAULT_REPS_PER_CELL = 5
#: Parameters that change how a cell runs but not its rows.
_EXECUTION_KEYS = ("device", "batch_replicates", "memory_limit")


class ConfigError(ValueError):
    """An invalid sweep configuration or output directory (the CLI exits with 2)."""


@dataclass(frozen=True)
class Cell:
    """One grid point and a block of replicates: the unit of work and of storage.

    Parameters
    ----------
    cell_id : str
        Stable hash of the experiment, parameters, root seed and replicates.
    sweep : str
        Name of the configuration.
    experiment : str
        ``"module:function"`` of the experiment.
    params : dict
        The grid point merged with the fixed parameters.
    coords : dict
        The scalar parameters written as columns of every row.
    data_key : str
        Canonical description of the data cell that addresses the seeds.
    seed : int
        Root seed.
    reps : tuple of int
        Replicate indices run by this cell.
    """

    cell_id: str
    sweep: str
    experiment: str
    params: dict
    coords: dict
    data_key: str
    seed: int
    reps: tuple


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Parameters
    ----------
    table : pandas.DataFrame
        All rows of the finished cells, in grid order (long format).
    cells : list of Cell
        Every cell of the configuration.
    n_run : int
        Cells computed by this call.
    n_skipped : int
        Cells found complete on disk and reused.
    failures : list of dict
        ``{"cell_id", "params", "error"}`` for every cell that raised.
    elapsed : float
        Wall-clock seconds.
    n_streamed : int
        Cells that run on their experiment's streamed path to fit the memory budget.
    failures_saved : bool
        Whether ``failures.json`` holds the failures (not on a full disk).
    config : dict, optional
        The resolved configuration that was run.
    """

    table: pd.DataFrame
    cells: list
    n_run: int = 0
    n_skipped: int = 0
    failures: list = field(default_factory=list)
    elapsed: float = 0.0
    n_streamed: int = 0
    failures_saved: bool = False
    config: dict | None = None

    def __repr__(self) -> str:
        return (f"SweepResult(cells={len(self.cells)}, run={self.n_run}, reused={self.n_skipped}, "
                f"failed={len(self.failures)}, streamed={self.n_streamed}, rows={len(self.table)}, "
                f"elapsed={self.elapsed:.1f} s)")

    def _repr_html_(self) -> str:
        """Notebook view: the counts, the summary table of the configuration's metric and a small figure."""
        config = self.config or {}
        metric = config.get("summary", {}).get("metric", "sin_theta")
        details = repr(self)[len("SweepResult("):-1]
        summary = png = None
        if not self.table.empty and metric in set(self.table["metric"]):
            summary = summary_table(self.table, metric)
            coords = coordinate_columns(self.table)
            numeric = [c for c in summary.index.names if c in coords and pd.api.types.is_numeric_dtype(self.table[c])]
            if len(summary.index.names) == 1 and numeric:
                png = metric_figure_png(self.table, metric, numeric[0])
            details += f"; mean {metric} ± 95% CI over replicates"
        name = config.get("name") or (self.cells[0].sweep if self.cells else "sweep")
        return sweep_html(f"sweep {name}", details, summary, png)


# --------------------------------------------------------------------------- config


def _is_scalar(v):
    return isinstance(v, (str, bool, numbers.Real))


def _is_scalar_list(v):
    """A list-valued grid value (e.g. one table's ``methods = [["pca", "cl"]]``)."""
    return isinstance(v, list) and bool(v) and all(_is_scalar(x) for x in v)


def _canonical(v):
    """JSON-ready canonical form: integral floats become ints, tuples lists."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        v = float(v)
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    if isinstance(v, dict):
        return {str(k): _canonical(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_canonical(x) for x in v]
    raise ConfigError(f"unsupported value {v!r} of type {type(v).__name__} in the configuration")


def _digest(obj, length=16):
    text = json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _resolve_experiment(spec):
    """``(target, callable)`` of a registered short name or a ``"module:function"``.

    A registered experiment resolves to its own ``"module:attribute"`` target,
    which is what cells store (so worker processes import it by path).
    """
    entry = EXPERIMENTS.get(spec) if isinstance(spec, str) else None
    if isinstance(entry, Experiment):
        return entry.target, entry
    target = spec
    if not isinstance(target, str) or ":" not in target:
        raise ConfigError(
            f"experiment must be one of {sorted(EXPERIMENTS)} or 'module:function', got {spec!r}"
        )
    module, _, name = target.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"experiment {spec!r} cannot be imported: {exc}") from None
    if not callable(fn):
        raise ConfigError(f"experiment {spec!r} is not callable")
    return target, fn


def describe_experiment(spec: str) -> str:
    """The declared parameters of an experiment, one line each (its docs).

    Parameters
    ----------
    spec : str
        A registered short name (a key of :data:`EXPERIMENTS`) or ``"module:function"``.

    Returns
    -------
    str
        :meth:`~spikedcl.experiments.base.Experiment.describe` of a contract
        experiment, else the first paragraph of the function's docstring.

    Raises
    ------
    ConfigError
        If ``spec`` names no experiment.
    """
    target, fn = _resolve_experiment(spec)
    if isinstance(fn, Experiment):
        return fn.describe()
    return f"{target}: " + (fn.__doc__ or "").strip().split("\n\n")[0]


def load_config(name: str | os.PathLike, *, config_dir: str | os.PathLike | None = None) -> dict:
    """Read a configuration by name (a packaged one, or one in ``config_dir``) or by path.

    Parameters
    ----------
    name : str or pathlib.Path
        A name such as ``"fig1"``: the packaged ``spikedcl/configs/fig1.toml``
        (:mod:`spikedcl.configs`), or ``config_dir/fig1.toml`` when
        ``config_dir`` is given; or the path of a TOML file (a name ending in
        ``.toml`` or containing a path separator).
    config_dir : str or pathlib.Path, optional
        Directory of named configurations, searched instead of the packaged ones.

    Returns
    -------
    dict
        The raw configuration, validated by :func:`resolve_config`.

    Raises
    ------
    ConfigError
        If the file does not exist (the message names the closest packaged
        configuration and lists the packaged ones and the configuration files
        of the current directory), is not valid TOML or is not a valid
        configuration.

    Examples
    --------
    >>> from spikedcl.sweep import load_config
    >>> raw = load_config("fig1")
    >>> raw["name"], raw["experiment"]
    ('fig1', 'subspace')
    """
    text = os.fspath(name)
    by_path = text.endswith(".toml") or os.sep in text or (os.altsep or os.sep) in text
    if by_path:
        path = Path(text)
    elif config_dir is not None:
        path = Path(config_dir) / f"{text}.toml"
    else:
        path = configs.packaged_path(text)
    if path is None or not path.is_file():
        raise ConfigError(_unknown_config(text, path, by_path, config_dir))
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {error_text(exc)}") from None
    raw.setdefault("name", path.stem)
    resolve_config(raw)  # validate early
    return raw


def _unknown_config(name, path, by_path, config_dir):
    """The message of a configuration that is not found: what was looked for and what exists."""
    if by_path:
        return f"config file {name!r} not found"
    if config_dir is not None:
        known = sorted(p.stem for p in Path(config_dir).glob("*.toml"))
        where = f"{path}"
    else:
        known = configs.packaged_names()
        where = "the packaged configurations"
    local = [str(p) for p in configs.local_configs()]
    return (f"config {name!r} not found in {where}{closest_name(name, known)}; known configs: "
            f"{', '.join(known) or 'none'}" + (f"; configuration files here (give the path): {', '.join(local)}"
                                               if local else ""))


def _check_keys(mapping, allowed, where):
    """Refuse keys outside ``allowed``, naming each with the closest valid name."""
    unknown = sorted(set(mapping) - set(allowed), key=str)
    if unknown:
        named = ", ".join(f"{k!r}{closest_name(k, allowed)}" for k in unknown)
        raise ConfigError(f"unknown key(s) {named} in {where}; allowed: {sorted(allowed)}")


def _declared_keys(fn, raw, overrides, name):
    """Refuse parameters and grid axes the experiment does not declare, wherever they are set."""
    if not isinstance(fn, Experiment):
        return  # a plain "module:function" declares nothing to check against
    allowed = set(fn.params)
    where = f"the {fn.name} experiment"
    sources = [(raw.get("params", {}), f"[params] of config {name!r}"),
               (raw.get("grid", {}), f"[grid] of config {name!r}")]
    sources += [(raw.get("quick", {}).get("params", {}), f"[quick.params] of config {name!r}"),
                (raw.get("quick", {}).get("grid", {}), f"[quick.grid] of config {name!r}")]
    if overrides:
        sources += [(overrides.get("params") or {}, "the parameter overrides (command line)"),
                    (overrides.get("grid") or {}, "the grid overrides (command line)")]
    for mapping, label in sources:
        for table in mapping if isinstance(mapping, list) else [mapping]:
            if isinstance(table, dict):
                _check_keys(table, allowed, f"{label}: not a parameter of {where}")


def _grid_list(grid, where):
    grids = grid if isinstance(grid, list) else [grid]
    if not grids or not all(isinstance(g, dict) for g in grids):
        raise ConfigError(f"{where} must be a table or a list of tables of lists")
    out = []
    for g in grids:
        norm = {}
        for key, values in g.items():
            values = values if isinstance(values, list) else [values]
            if not values or not all(_is_scalar(v) or _is_scalar_list(v) for v in values):
                raise ConfigError(f"{where}.{key} must be a non-empty list of numbers or strings (or of "
                                  f"non-empty lists of them, for a list parameter), got {values!r}")
            norm[key] = values
        out.append(norm)
    return out


def _override_grid(grids, params, new):
    """Replace grid axes (or fixed parameters) by the values in ``new``."""
    for key, values in new.items():
        values = values if isinstance(values, list) else [values]
        for g in grids:
            g[key] = list(values)
        params.pop(key, None)
    return grids, params


def resolve_config(raw: dict, *, quick: bool = False, overrides: dict | None = None) -> dict:
    """Validate a raw configuration and apply ``--quick`` and command-line overrides.

    Parameters
    ----------
    raw : dict
        Parsed TOML (see the module docstring for the keys).
    quick : bool, default=False
        Apply the ``[quick]`` table.
    overrides : dict, optional
        ``{"reps", "seed", "reps_per_cell"}`` scalars, ``"grid"`` (axis ->
        values, replacing that axis or fixed parameter everywhere) and
        ``"params"`` (fixed parameters to set).

    Returns
    -------
    dict
        ``name, description, experiment ("module:function"), reps, seed,
        data_keys, reps_per_cell, grid (list of tables of lists), params,
        figure, summary``.

    Raises
    ------
    ConfigError
        On unknown keys, bad types or ranges, an unknown experiment, or grid
        points the experiment rejects.

    Examples
    --------
    >>> from spikedcl.sweep import load_config, resolve_config
    >>> config = resolve_config(load_config("fig2"), quick=True, overrides={"grid": {"d": [50]}, "reps": 2})
    >>> config["grid"], config["reps"], config["params"]["n"]
    ([{'d': [50]}], 2, 5000)
    >>> resolve_config(load_config("fig1"), overrides={"params": {"mask_probb": 0.3}})
    Traceback (most recent call last):
    ...
    spikedcl.sweep.ConfigError: unknown key(s) 'mask_probb' (did you mean 'mask_prob'?) ...
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"a configuration must be a table, got {type(raw).__name__}")
    name = raw.get("name", "sweep")
    _check_keys(raw, _TOP_KEYS, f"config {name!r}")
    for key in ("experiment",):
        if key not in raw:
            raise ConfigError(f"config {name!r} lacks the required key {key!r}")
    params = dict(raw.get("params", {}))
    if not isinstance(params, dict):
        raise ConfigError(f"[params] of config {name!r} must be a table")
    grids = _grid_list(raw.get("grid", {}), f"[grid] of config {name!r}")
    scalars = {k: raw.get(k) for k in ("reps", "seed", "reps_per_cell")}
    layers = []
    q = raw.get("quick", {})
    if not isinstance(q, dict):
        raise ConfigError(f"[quick] of config {name!r} must be a table")
    _check_keys(q, _QUICK_KEYS, f"[quick] of config {name!r}")  # a typo there is refused even without --quick
    if quick:
        layers.append(q)
    if overrides:
        if not isinstance(overrides, dict):
            raise ConfigError(f"overrides must be a dict, got {type(overrides).__name__}")
        _check_keys(overrides, _OVERRIDE_KEYS, "the overrides")
        layers.append(overrides)
    shared = sorted(set(params) & {k for g in grids for k in g})
    if shared:
        raise ConfigError(f"config {name!r} sets {shared} both in [params] and as grid axes; keep one")
    for layer in layers:
        scalars.update({k: layer[k] for k in scalars if layer.get(k) is not None})
        for key, value in layer.get("params", {}).items():
            params[key] = value
            for g in grids:  # a fixed value replaces that axis wherever a grid table sweeps it
                g.pop(key, None)
        new = layer.get("grid")
        if isinstance(new, list):  # a list of tables replaces the whole grid
            grids = _grid_list(new, f"[quick] grid of config {name!r}")
            for key in {k for g in grids for k in g}:
                params.pop(key, None)
        elif new:
            grids, params = _override_grid(grids, params, new)
    reps, seed = scalars["reps"] if scalars["reps"] is not None else 1, scalars["seed"] or 0
    if not isinstance(reps, numbers.Integral) or isinstance(reps, bool) or reps < 1:
        raise ConfigError(f"reps must be an integer >= 1, got {reps!r}")
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
    block = scalars["reps_per_cell"] if scalars["reps_per_cell"] is not None else DEFAULT_REPS_PER_CELL
    if not isinstance(block, numbers.Integral) or isinstance(block, bool) or block < 1:
        raise ConfigError(f"reps_per_cell must be an integer >= 1, got {block!r}")
    target, fn = _resolve_experiment(raw["experiment"])
    _declared_keys(fn, raw, overrides, name)
    axes = {k for g in grids for k in g} | set(params)
    data_keys = list(raw.get("data_keys", sorted({k for g in grids for k in g})))
    missing = [k for k in data_keys if k not in axes]
    if missing:
        raise ConfigError(f"data_keys {missing} of config {name!r} are neither grid axes nor params")
    config = {
        "name": str(name),
        "description": str(raw.get("description", "")),
        "experiment": target,
        "reps": int(reps),
        "seed": int(seed),
        "data_keys": data_keys,
        "reps_per_cell": int(block),
        "grid": grids,
        "params": params,
        "figure": dict(raw.get("figure", {})),
        "summary": dict(raw.get("summary", {})),
    }
    validate = getattr(fn, "validate", None)
    if validate is not None:
        for point in _points(config):
            try:
                validate({**params, **point})
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"config {name!r}, grid point {point}: {exc}") from None
    return config


_RESOLVED_KEYS = ("name", "experiment", "reps", "seed", "data_keys", "reps_per_cell", "grid", "params")


def _check_resolved(config, caller):
    """Refuse a raw configuration where a resolved one is needed."""
    if not isinstance(config, dict):
        raise TypeError(f"{caller} takes a resolved configuration (a dict from resolve_config), "
                        f"got {type(config).__name__}")
    missing = [k for k in _RESOLVED_KEYS if k not in config]
    if missing or not isinstance(config.get("grid"), list):
        raise ConfigError(
            f"{caller} takes a resolved configuration; this one lacks {missing or ['grid as a list of tables']}: "
            "pass it through resolve_config(raw) (load_config only reads and checks the file)"
        )


def config_hash(config: dict) -> str:
    """Hash of what makes two result sets comparable (not the grid or the reps).

    Parameters
    ----------
    config : dict
        A resolved configuration.

    Returns
    -------
    str
        16 hex digits over the experiment, fixed parameters (without the
        execution-only ``device``), root seed, data keys and block size.
    """
    _check_resolved(config, "config_hash")
    params = {k: v for k, v in config["params"].items() if k not in _EXECUTION_KEYS}
    keys = ("experiment", "seed", "data_keys", "reps_per_cell")
    return _digest({**{k: config[k] for k in keys}, "params": params})


# --------------------------------------------------------------------------- cells


def _points(config):
    """Grid points in configuration order, duplicates across tables removed."""
    seen, points = set(), []
    for g in config["grid"]:
        keys = list(g)
        for values in itertools.product(*(g[k] for k in keys)):
            point = dict(zip(keys, values))
            key = _digest(point)
            if key not in seen:
                seen.add(key)
                points.append(point)
    return points


def _data_key(params, keys):
    """Canonical text of the data cell: ``"n=500,d=200,..."`` (floats in ``%g``; absent axes left out)."""
    keys = [k for k in keys if k in params]
    return ",".join(f"{k}={params[k]:g}" if isinstance(params[k], float) else f"{k}={params[k]}" for k in keys)


def expand_cells(config: dict) -> list[Cell]:
    """Expand a resolved configuration into its cells, in grid order.

    Parameters
    ----------
    config : dict
        Output of :func:`resolve_config`.

    Returns
    -------
    list of Cell
        One cell per grid point and block of ``reps_per_cell`` replicates.

    Examples
    --------
    >>> from spikedcl.sweep import expand_cells, load_config, resolve_config
    >>> cells = expand_cells(resolve_config(load_config("quick"), quick=True))
    >>> [(cell.params["n"], cell.reps) for cell in cells]
    [(500, (0, 1)), (2000, (0, 1))]
    """
    _check_resolved(config, "expand_cells")
    cells = []
    fixed = dict(config["params"])
    block = config["reps_per_cell"]
    for point in _points(config):
        params = {**fixed, **point}
        data_key = _data_key(params, config["data_keys"])
        coords = _coords(params)
        for start in range(0, config["reps"], block):
            reps = tuple(range(start, min(start + block, config["reps"])))
            cell_id = _cell_id(config["experiment"], params, config["seed"], data_key, reps)
            cells.append(Cell(cell_id, config["name"], config["experiment"], params, coords,
                              data_key, config["seed"], reps))
    return cells


def _coords(params):
    """The scalar parameters written as columns of every row, the leading coordinates first."""
    order = [k for k in _LEADING if k in params] + [k for k in params if k not in _LEADING]
    return {k: params[k] for k in order if _is_scalar(params[k]) and k not in _EXECUTION_KEYS}


def _cell_id(experiment, params, seed, data_key, reps):
    """The hash of everything that determines a cell's rows (the execution parameters left out)."""
    hashed = {k: v for k, v in params.items() if k not in _EXECUTION_KEYS}
    return _digest({"experiment": experiment, "params": hashed, "seed": seed, "data_key": data_key,
                    "reps": [reps[0], reps[-1]]})


def _with_reps(cell, reps):
    """``cell`` restricted to the replicates ``reps`` (a new cell id)."""
    reps = tuple(reps)
    return dataclasses.replace(cell, reps=reps,
                               cell_id=_cell_id(cell.experiment, cell.params, cell.seed, cell.data_key, reps))


def _reuse_prefixes(out, cells):
    """Split each missing cell whose first replicates a saved cell already holds (``reps`` extended).

    A sweep of ``reps = 2`` saves the cell of replicates 0-1; extended to
    ``reps = 6`` (blocks 0-4 and 5), the block 0-4 is found missing, the saved
    0-1 is reused and only 2-4 is computed. Rows are per replicate, so they do
    not depend on how replicates are grouped into cells.
    """
    split = []
    for cell in cells:
        if len(cell.reps) > 1 and not io.cell_path(out, cell.cell_id).exists():
            for cut in range(len(cell.reps) - 1, 0, -1):
                head = _with_reps(cell, cell.reps[:cut])
                if io.cell_path(out, head.cell_id).exists():
                    split += [head, *_reuse_prefixes(out, [_with_reps(cell, cell.reps[cut:])])]
                    break
            else:
                split.append(cell)
        else:
            split.append(cell)
    return split


def replicate(config: dict, point: dict, rep: int) -> pd.DataFrame:
    """Regenerate the rows of one replicate at one grid point, alone.

    Parameters
    ----------
    config : dict
        A resolved configuration.
    point : dict
        Grid coordinates (values of the grid axes; fixed parameters may be
        given too and override the configuration's).
    rep : int
        Replicate index.

    Returns
    -------
    pandas.DataFrame
        The replicate's rows with the sweep's columns (:func:`run_cell` of a
        one-replicate cell, whose ``cell_id`` is its own); ``value`` equals
        that of any sweep of ``config`` that ran this replicate, to the last bit.

    Examples
    --------
    >>> from spikedcl.sweep import load_config, replicate, resolve_config, run_sweep
    >>> config = resolve_config(load_config("quick"), quick=True)
    >>> rows = replicate(config, {"n": 500}, 1)
    >>> swept = run_sweep(config).table
    >>> same = swept[(swept["n"] == 500) & (swept["rep"] == 1)]
    >>> (rows["value"].to_numpy() == same["value"].to_numpy()).all()  # bit for bit
    np.True_
    """
    _check_resolved(config, "replicate")
    if not isinstance(point, dict):
        raise TypeError(f"point must be a dict of grid coordinates, got {type(point).__name__}")
    rep = check_int(rep, "rep", low=0)
    params = {**config["params"], **point}
    missing = [k for g in config["grid"] for k in g if k not in params]
    if missing:
        raise ValueError(f"point lacks the grid axes {sorted(set(missing))}")
    coords = _coords(params)
    data_key = _data_key(params, config["data_keys"])
    cell = Cell(_cell_id(config["experiment"], params, config["seed"], data_key, (rep,)), config["name"],
                config["experiment"], params, coords, data_key, config["seed"], (rep,))
    with single_threaded():  # as every engine runs a cell, so the rows are the sweep's to the last bit
        return run_cell(cell)


def run_cell(cell: Cell, *, context: dict | None = None) -> pd.DataFrame:
    """Run every replicate of one cell: a pure function of the cell.

    Parameters
    ----------
    cell : Cell
        The cell to run.
    context : dict, optional
        Provenance columns (``backend``, ``device``, ``dtype``) to record.

    Returns
    -------
    pandas.DataFrame
        One row per (replicate, method, metric) with the cell's coordinates
        followed by :data:`ROW_COLUMNS` and any extra columns the experiment
        returned.

    Notes
    -----
    An experiment with a ``batch`` attribute receives all the cell's replicate
    seeds at once (``fn.batch(params, seeds) -> list of row lists``) and may
    stack the replicates; its rows must equal the per-replicate ones.
    """
    _, fn = _resolve_experiment(cell.experiment)
    context = dict(context or {})
    provenance = {
        "backend": context.get("backend", "sequential"),
        "device": cell.params.get("device", "cpu"),
        "dtype": cell.params.get("dtype", "float64"),
        "version": __version__,
    }
    seeds = [cell_seed(cell.seed, cell.data_key, rep) for rep in cell.reps]
    batch = getattr(fn, "batch", None)
    per_rep = batch(dict(cell.params), seeds) if batch else [fn(dict(cell.params), seed) for seed in seeds]
    rows = []
    for rep, rep_rows in zip(cell.reps, per_rep):
        for row in rep_rows:
            base = {"sweep": cell.sweep, "cell_id": cell.cell_id, **cell.coords}
            defaults = {"solver": "", "n_iter": 0, "converged": True, "time_s": math.nan}
            rows.append({**base, **defaults, **row, "rep": rep, "seed": cell.seed, **provenance})
    df = pd.DataFrame(rows)
    lead = ["sweep", "cell_id", *cell.coords]
    order = lead + [c for c in ROW_COLUMNS if c not in lead]
    return df[order + [c for c in df.columns if c not in order]]


def run_cell_task(cell, context):
    """Worker task: the cell's rows (:func:`run_cell`); the sweep's own process writes them.

    Parameters
    ----------
    cell : Cell
        The cell.
    context : dict
        Provenance (:func:`run_cell`).

    Returns
    -------
    pandas.DataFrame
        The rows.
    """
    return run_cell(cell, context=context)


class SweepInterrupted(KeyboardInterrupt):
    """A sweep ended by SIGINT, SIGTERM or SIGHUP; every finished cell is saved.

    Attributes
    ----------
    saved, total : int
        Cells saved in the output directory, and cells of the configuration.
    out_dir : pathlib.Path or None
        The output directory.
    signum : int
        The signal (``signal.SIGINT``, ``signal.SIGTERM`` or ``signal.SIGHUP``).
    """

    def __init__(self, saved: int, total: int, out_dir: Path | None, signum: int) -> None:
        self.saved, self.total, self.out_dir, self.signum = saved, total, out_dir, signum
        where = f"saved in {out_dir}; rerun the same command to resume" if out_dir is not None \
            else "finished (nothing saved: no output directory)"
        super().__init__(f"{saved} of {total} cells {where}")

    @property
    def exit_code(self) -> int:
        """128 + the signal number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), as a shell reports it."""
        return 128 + int(self.signum)


class _Terminated(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread by the sweep's handler."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


#: Signals that end a sweep cleanly besides SIGINT (a batch scheduler's preemption, a closed terminal).
_ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _raise_terminated(signum, frame):
    raise _Terminated(signum)


def default_memory_limit():
    """The default budget of a sweep: :data:`MEMORY_FRACTION` of the memory available now.

    Returns
    -------
    int
        Bytes (of ``MemAvailable`` in ``/proc/meminfo``, else of the physical memory).
    """
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except OSError:
        pass
    if available is None:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(available * MEMORY_FRACTION)


def _cell_budget(memory_limit, workers):
    if memory_limit is None:
        return None
    if memory_limit == "auto":
        memory_limit = default_memory_limit()
    memory_limit = check_int(memory_limit, "memory_limit", low=1)
    return max(1, memory_limit // max(1, workers))


def _plan_memory(cells, budget, workers):
    """Per-cell memory budgets, and the number of cells that will stream; refuse before any work."""
    streamed = 0
    for i, cell in enumerate(cells):
        _, fn = _resolve_experiment(cell.experiment)
        plan = getattr(fn, "memory_plan", None)
        if plan is None or "memory_limit" not in fn.params:
            continue
        params = dict(cell.params)
        if budget is not None and "memory_limit" not in params:
            params["memory_limit"] = budget
        try:
            chosen = plan(fn.resolve(params))
        except ValueError as exc:
            share = "" if budget is None or "memory_limit" in cell.params else \
                f" (this cell's share of the sweep's memory limit, split over {workers} cells running at once)"
            raise ConfigError(f"cell {cell.cell_id} {cell.coords}: {exc}{share}") from None
        streamed += chosen.path != "in-memory"
        cells[i] = dataclasses.replace(cell, params=params)
    return streamed


def _open_dir(out, config, *, force, rebuild_config):
    """Check the output directory under its lock: config hash, damaged sidecars, ``force``."""
    digest = config_hash(config)
    saved = out / "config.json"
    if saved.exists() and not force and not rebuild_config:
        try:
            old = io.read_json(saved).get("config_hash")
        except (io.DamagedFileError, AttributeError) as exc:
            raise ConfigError(
                f"{saved} is damaged ({getattr(exc, 'reason', exc)}); its cells are kept: rerun with "
                "--rebuild-config (rebuild_config=True) to rewrite it from this configuration "
                "(every reused cell is verified by its checksum)"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{saved} cannot be read: {exc}") from None
        if old != digest:
            raise ConfigError(
                f"{out} holds results of another configuration (hash {old}, this one {digest}); "
                "choose another output directory or pass --force to discard them"
            )
    if force and (out / io.CELL_DIR).is_dir():
        shutil.rmtree(out / io.CELL_DIR)
    return digest


def _reusable(out, cells, resume):
    """Verified finished cells ``{cell_id: rows}``; damaged ones are named in a warning (and recomputed)."""
    if out is None or not resume:
        return {}
    tables, bad = io.load_cells(out, [c.cell_id for c in cells])
    for cell_id, reason in bad.items():
        if reason != "missing":
            warnings.warn(f"cell file {io.cell_path(out, cell_id)} failed its check ({reason}): "
                          "computing the cell again", CorruptCellWarning, stacklevel=4)
    return tables


def run_sweep(config: dict, out_dir: str | os.PathLike | None = None, *, n_jobs: int = 1,
              backend: Literal["loky", "threading", "sequential", "dask"] = "loky",
              engine_options: dict | None = None, resume: bool = True, force: bool = False,
              progress: bool = False, context: dict | None = None, meta: dict | None = None,
              memory_limit: int | Literal["auto"] | None = "auto", wait: bool = True,
              on_wait: Callable[[str], None] | None = None, rebuild_config: bool = False) -> SweepResult:
    """Run the cells of a configuration in parallel, resumably, surviving faults.

    Parameters
    ----------
    config : dict
        A resolved configuration (:func:`resolve_config`).
    out_dir : str or pathlib.Path, optional
        Output directory; ``None`` keeps everything in memory.
    n_jobs : int, default=1
        Workers (``-1``: all cores; see :func:`spikedcl.engine.resolve_workers`).
    backend : {"loky", "threading", "sequential", "dask"}, default="loky"
        Engine of :func:`spikedcl.engine.make_engine`. Every cell runs with one
        BLAS thread, so rows are bit-identical for every backend and ``n_jobs``.
    engine_options : dict, optional
        Options of the Dask engine (``scheduler``, ``connect_timeout``, ``worker_timeout``).
    resume : bool, default=True
        Reuse the finished cells in ``out_dir`` whose checksum verifies; a
        damaged or altered cell file is named in a :class:`CorruptCellWarning`
        and computed again.
    force : bool, default=False
        Discard existing results in ``out_dir`` (also those of another
        configuration) and recompute everything.
    progress : bool, default=False
        Show a tqdm progress bar over cells.
    context : dict, optional
        Provenance recorded in every row (``backend``; default: ``backend``).
    meta : dict, optional
        Extra entries for ``config.json`` (e.g. the command line).
    memory_limit : int, "auto" or None, default="auto"
        Memory budget of the sweep in bytes, shared by the cells running at
        once (``"auto"``: :data:`MEMORY_FRACTION` of the available memory;
        ``None``: no guard). A cell whose in-memory path would not fit its
        share runs on its experiment's streamed path, or the sweep is refused
        before any work (:meth:`spikedcl.experiments.base.Experiment.memory_plan`).
        A cell's own ``memory_limit`` parameter takes precedence.
    wait : bool, default=True
        When another sweep holds ``out_dir``'s lock, wait for it (after
        calling ``on_wait(message)``); else raise :class:`ConfigError`.
    on_wait : callable, optional
        Called once with a message when waiting for the lock.
    rebuild_config : bool, default=False
        Rewrite a damaged ``config.json`` from this configuration.

    Returns
    -------
    SweepResult
        The consolidated table, the cells, counts and failures.

    Raises
    ------
    ConfigError
        If ``out_dir`` is not writable, is locked (with ``wait=False``), holds
        results of another configuration (unless ``force``) or a damaged
        ``config.json``; if a cell cannot fit the memory budget; if the engine
        cannot start (an unreachable Dask scheduler).
    SweepInterrupted
        On SIGINT, SIGTERM or SIGHUP, once the workers are ended; every
        finished cell is saved.

    Examples
    --------
    >>> from spikedcl.sweep import load_config, resolve_config, run_sweep, summary_table
    >>> result = run_sweep(resolve_config(load_config("quick"), quick=True))  # no out_dir: nothing written
    >>> result.n_run, sorted(set(result.table["n"]))
    (2, [500, 2000])
    >>> list(summary_table(result.table, "sin_theta").columns)
    ['pca', 'cl', 'cl-expected', 'cl-fixed-bernoulli', 'pca-asymptotic', 'cl-asymptotic']
    """
    _check_resolved(config, "run_sweep")
    t0 = time.perf_counter()
    out = None if out_dir is None else Path(out_dir)
    cells = expand_cells(config)
    try:
        engine = make_engine(backend, n_jobs, **(engine_options or {}))
    except (EngineUnavailable, ValueError, ImportError) as exc:
        raise ConfigError(str(exc)) from None
    with engine:
        # every cell is checked against its memory budget before the output directory is touched
        n_streamed = _plan_memory(cells, _cell_budget(memory_limit, engine.workers), engine.workers)
        lock = contextlib.ExitStack()
        if out is not None:
            try:
                out.mkdir(parents=True, exist_ok=True)
                lock.enter_context(io.results_lock(out, wait=wait, on_wait=on_wait))
            except io.ResultsLocked as exc:
                raise ConfigError(str(exc)) from None
            except OSError as exc:
                raise ConfigError(f"output directory {out} is not writable: {exc}") from None
        with lock:
            result = _run_locked(config, cells, out, engine, backend=backend, resume=resume, force=force,
                                 progress=progress, context=context, meta=meta, rebuild_config=rebuild_config)
    result.n_streamed, result.elapsed = n_streamed, time.perf_counter() - t0
    return result


def _run_locked(config, cells, out, engine, *, backend, resume, force, progress, context, meta, rebuild_config):
    """The cells not on disk, on ``engine``, under the output directory's lock; then the consolidation."""
    digest = None
    if out is not None:
        digest = _open_dir(out, config, force=force, rebuild_config=rebuild_config)
        if resume and not force:
            cells = _reuse_prefixes(out, cells)
        record = {"config": config, "config_hash": digest, "version": __version__, "n_cells": len(cells),
                  **(meta or {})}
        try:
            io.write_json(out / "config.json", record)
        except OSError as exc:
            raise ConfigError(f"output directory {out} is not writable: {exc}") from None
    frames = _reusable(out, cells, resume and not force)
    n_skipped = len(frames)
    todo = {c.cell_id: c for c in cells if c.cell_id not in frames}
    context = {"backend": backend, **(context or {})}
    tasks = {cell_id: (cell, context) for cell_id, cell in todo.items()}
    failures = []
    try:
        with signals_handled(_raise_terminated, *_ENDING_SIGNALS):  # so the workers are ended too
            with progress_bar(len(todo), disable=not progress, desc=config["name"], unit="cell") as bar:
                stopped = _collect(engine, tasks, todo, out, digest, frames, failures, bar)
            if stopped is not None:
                failed = {f["cell_id"] for f in failures}
                failures += [_failure(cell, "not-run", f"the sweep stopped after an I/O error ({stopped})", None)
                             for cell_id, cell in todo.items() if cell_id not in frames and cell_id not in failed]
            ok_ids = [c.cell_id for c in cells if c.cell_id in frames]
            table = None
            if out is not None:
                try:
                    table, _ = io.consolidate_cells(out, ok_ids, tables=frames)
                except OSError as exc:
                    failures.append({"cell_id": None, "params": None, "kind": "io",
                                     "error": f"results.parquet could not be written: {exc}", "traceback": None})
            if table is None:  # in memory, or the results file could not be written
                table = pd.concat([frames[i] for i in ok_ids], ignore_index=True) if ok_ids else pd.DataFrame()
            saved = _write_failures(out, failures)
    except (KeyboardInterrupt, _Terminated) as exc:
        with signals_ignored(signal.SIGINT, *_ENDING_SIGNALS):  # a second Ctrl-C does not cut this short
            engine.shutdown(kill=True)
            _write_failures(out, failures)
        signum = exc.signum if isinstance(exc, _Terminated) else signal.SIGINT
        raise SweepInterrupted(len(frames), len(cells), out, signum) from None
    return SweepResult(table, cells, n_run=len(ok_ids) - n_skipped, n_skipped=n_skipped, failures=failures,
                       failures_saved=saved, config=config)


def _collect(engine, tasks, todo, out, digest, frames, failures, bar):
    """Save each outcome as it arrives (into ``frames`` / ``failures``); the I/O error that stopped it, if any."""
    for outcome in engine.map(run_cell_task, tasks) if tasks else ():
        cell = todo[outcome.key]
        if not outcome.ok:
            failures.append(_failure(cell, outcome.kind, outcome.error, outcome.traceback))
        else:
            if out is not None:
                try:
                    io.write_cell(out, cell.cell_id, outcome.value, meta={"config_hash": digest})
                except OSError as exc:
                    reason = exc.strerror or error_text(exc)
                    failures.append(_failure(cell, "io", f"{io.cell_path(out, cell.cell_id)} could not be "
                                                         f"saved: {reason}", None))
                    return exc
            frames[cell.cell_id] = outcome.value
        bar.update()
    return None


def _failure(cell, kind, error, tb):
    return {"cell_id": cell.cell_id, "params": cell.params, "kind": kind, "error": error, "traceback": tb}


def _write_failures(out, failures):
    """Write ``failures.json`` (removed when there is none); whether it now holds ``failures``."""
    if out is None:
        return False
    path = out / "failures.json"
    try:
        if failures:
            io.write_json(path, failures)
        else:
            path.unlink(missing_ok=True)
    except OSError:  # a full or failing disk: the failures are still returned and printed
        return False
    return bool(failures)


# --------------------------------------------------------------------------- summary


def coordinate_columns(df: pd.DataFrame) -> list[str]:
    """The grid coordinates of a results table: the columns constant within every cell.

    Parameters
    ----------
    df : pandas.DataFrame
        Long table from :func:`run_sweep`.

    Returns
    -------
    list of str
        Columns other than ``sweep``, ``cell_id`` and :data:`ROW_COLUMNS` that
        take one value (possibly missing, for cells of ``[[grid]]`` tables
        without that axis) within each cell, in table order.
    """
    skip = {"sweep", "cell_id", *ROW_COLUMNS}
    candidates = [c for c in df.columns if c not in skip]
    if not candidates or df.empty:
        return []
    per_cell = df.groupby("cell_id", sort=False)[candidates].nunique(dropna=False).max()
    return [c for c in candidates if per_cell[c] <= 1]


def summary_table(df: pd.DataFrame, metric: str, *, by: list[str] | None = None,
                  level: float = 0.95) -> pd.DataFrame:
    """Mean and confidence half-width of ``metric`` per grid point and method.

    Parameters
    ----------
    df : pandas.DataFrame
        Long table from :func:`run_sweep`.
    metric : str
        Metric to summarise.
    by : list of str, optional
        Grid columns to group by (default: the coordinate columns that vary).
    level : float, default=0.95
        Confidence level of the Student-t interval over replicates.

    Returns
    -------
    pandas.DataFrame
        Index: the ``by`` columns; columns: methods; cells ``"mean ± half"`` (``"mean (1 rep)"``: one replicate gives no interval).

    Raises
    ------
    ValueError
        If ``metric`` is not in the table or ``by`` names a column that is
        not a coordinate column (:func:`coordinate_columns`).

    Examples
    --------
    >>> import pandas as pd
    >>> from spikedcl.sweep import summary_table
    >>> rows = pd.DataFrame({"cell_id": ["a"] * 4, "n": [100] * 4, "method": ["pca", "pca", "cl", "cl"],
    ...                      "metric": ["sin_theta"] * 4, "value": [0.5, 0.7, 0.2, 0.2], "rep": [0, 1, 0, 1]})
    >>> print(summary_table(rows, "sin_theta", by=["n"]).to_string())
    method            pca             cl
    n
    100     0.600 ± 1.271  0.200 ± 0.000
    """
    if not isinstance(df, pd.DataFrame) or not {"metric", "method", "value"} <= set(df.columns):
        raise TypeError("df must be a long results table (pandas.DataFrame with method, metric and value columns)")
    sub = df[(df["metric"] == metric) & (df["method"] != "theory")]
    if sub.empty:
        raise ValueError(f"metric {metric!r} not in the results; have {sorted(df['metric'].unique())}")
    if by is None:
        coords = coordinate_columns(sub)
        by = [c for c in coords if sub[c].nunique(dropna=False) > 1] or coords[:1]
    else:
        if isinstance(by, str) or not isinstance(by, (list, tuple)):
            raise TypeError(f"by must be a list of column names, got {by!r}")
        allowed = coordinate_columns(sub)
        unknown = [c for c in by if c not in allowed]
        if unknown:
            raise ValueError(f"by names {unknown}, which are not coordinate columns of the results; "
                             f"allowed: {allowed}")
        by = list(by)
    stats = mean_ci(sub, by + ["method"], level=level)
    stats["text"] = stats["mean"].map("{:.3f}".format) + " ± " + stats["half"].map("{:.3f}".format)
    single = stats["count"] < 2  # no interval from one replicate: say so rather than print ± 0
    stats.loc[single, "text"] = stats.loc[single, "mean"].map("{:.3f} (1 rep)".format)
    methods = list(dict.fromkeys(sub["method"]))
    return stats.pivot(index=by, columns="method", values="text")[methods]
