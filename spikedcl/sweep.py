"""Parameter sweeps: configurations, grid cells, seeding, parallel resumable runs.

A sweep is described by a configuration (a TOML file, see
``simulations/configs/``)::

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

:func:`run_sweep` runs the missing cells with ``joblib.Parallel`` (the caller
picks the backend with :func:`joblib.parallel_config`), writes each finished
cell atomically, records failing cells and consolidates one long table
(conventions 11–13).
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import math
import numbers
import shutil
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import __version__, io
from ._validation import check_int
from .analysis import mean_ci
from .experiments import EXPERIMENTS, Experiment
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
#: Coordinates that lead the columns when present (conventions 13).
_LEADING = ("n", "d", "r", "noise", "C", "mask_prob")
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
    """

    table: pd.DataFrame
    cells: list
    n_run: int = 0
    n_skipped: int = 0
    failures: list = field(default_factory=list)
    elapsed: float = 0.0


# --------------------------------------------------------------------------- config


def _is_scalar(v):
    return isinstance(v, (str, bool, numbers.Real))


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


def describe_experiment(spec):
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


def load_config(name, *, config_dir=None):
    """Read a configuration by name (from ``config_dir``) or by path.

    Parameters
    ----------
    name : str or pathlib.Path
        A name such as ``"fig1"`` (looked up as ``config_dir/fig1.toml``) or
        the path of a TOML file.
    config_dir : str or pathlib.Path, optional
        Directory of the named configurations.

    Returns
    -------
    dict
        The raw configuration, validated by :func:`resolve_config`.

    Raises
    ------
    ConfigError
        If the file does not exist, is not valid TOML or is not a valid
        configuration.
    """
    path = Path(name)
    if path.suffix != ".toml" and config_dir is not None:
        path = Path(config_dir) / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in Path(config_dir).glob("*.toml")) if config_dir else []
        hint = f"; known configs: {', '.join(known)}" if known else ""
        raise ConfigError(f"config {str(name)!r} not found (looked for {path}){hint}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    raw.setdefault("name", path.stem)
    resolve_config(raw)  # validate early
    return raw


def _check_keys(mapping, allowed, where):
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in {where}; allowed: {sorted(allowed)}")


def _grid_list(grid, where):
    grids = grid if isinstance(grid, list) else [grid]
    if not grids or not all(isinstance(g, dict) for g in grids):
        raise ConfigError(f"{where} must be a table or a list of tables of lists")
    out = []
    for g in grids:
        norm = {}
        for key, values in g.items():
            values = values if isinstance(values, list) else [values]
            if not values or not all(_is_scalar(v) for v in values):
                raise ConfigError(f"{where}.{key} must be a non-empty list of numbers or strings, got {values!r}")
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


def resolve_config(raw, *, quick=False, overrides=None):
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
    if quick:
        q = raw.get("quick", {})
        if not isinstance(q, dict):
            raise ConfigError(f"[quick] of config {name!r} must be a table")
        _check_keys(q, _QUICK_KEYS, f"[quick] of config {name!r}")
        layers.append(q)
    if overrides:
        layers.append(overrides)
    for layer in layers:
        scalars.update({k: layer[k] for k in scalars if layer.get(k) is not None})
        params.update(layer.get("params", {}))
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
    block = scalars["reps_per_cell"] if scalars["reps_per_cell"] is not None else min(int(reps), 5)
    if not isinstance(block, numbers.Integral) or isinstance(block, bool) or block < 1:
        raise ConfigError(f"reps_per_cell must be an integer >= 1, got {block!r}")
    target, fn = _resolve_experiment(raw["experiment"])
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


def config_hash(config):
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


def expand_cells(config):
    """Expand a resolved configuration into its cells, in grid order.

    Parameters
    ----------
    config : dict
        Output of :func:`resolve_config`.

    Returns
    -------
    list of Cell
        One cell per grid point and block of ``reps_per_cell`` replicates.
    """
    _check_resolved(config, "expand_cells")
    cells = []
    fixed = dict(config["params"])
    block = config["reps_per_cell"]
    for point in _points(config):
        params = {**fixed, **point}
        data_key = _data_key(params, config["data_keys"])
        order = [k for k in _LEADING if k in params] + [k for k in params if k not in _LEADING]
        coords = {k: params[k] for k in order if _is_scalar(params[k]) and k not in _EXECUTION_KEYS}
        hashed = {k: v for k, v in params.items() if k not in _EXECUTION_KEYS}
        for start in range(0, config["reps"], block):
            reps = tuple(range(start, min(start + block, config["reps"])))
            cell_id = _digest(
                {"experiment": config["experiment"], "params": hashed, "seed": config["seed"],
                 "data_key": data_key, "reps": [reps[0], reps[-1]]}
            )
            cells.append(Cell(cell_id, config["name"], config["experiment"], params, coords,
                              data_key, config["seed"], reps))
    return cells


def replicate(config, point, rep):
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
    list of dict
        The experiment's rows, identical in ``value`` to those of any sweep
        of ``config`` that ran this replicate.
    """
    _check_resolved(config, "replicate")
    if not isinstance(point, dict):
        raise TypeError(f"point must be a dict of grid coordinates, got {type(point).__name__}")
    rep = check_int(rep, "rep", low=0)
    params = {**config["params"], **point}
    missing = [k for g in config["grid"] for k in g if k not in params]
    if missing:
        raise ValueError(f"point lacks the grid axes {sorted(set(missing))}")
    data_key = _data_key(params, config["data_keys"])
    _, fn = _resolve_experiment(config["experiment"])
    return fn(dict(params), cell_seed(config["seed"], data_key, rep))


def run_cell(cell, *, context=None):
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


def _run_and_store(cell, out_dir, context):
    """Worker: run a cell and write it; errors are returned, not raised."""
    try:
        df = run_cell(cell, context=context)
        if out_dir is not None:
            io.write_cell(out_dir, cell.cell_id, df)
            df = None
        return cell.cell_id, df, None
    except Exception as exc:  # noqa: BLE001 - recorded and reported per cell
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return cell.cell_id, None, {"error": error, "traceback": traceback.format_exc()}


def _prepare_dir(out_dir, config, force):
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"output directory {out} is not writable: {exc}") from None
    saved = out / "config.json"
    digest = config_hash(config)
    if saved.is_file() and not force:
        try:
            old = io.read_json(saved).get("config_hash")
        except (OSError, ValueError):
            old = None
        if old != digest:
            raise ConfigError(
                f"{out} holds results of another configuration (hash {old}, this one {digest}); "
                "choose another output directory or pass --force to discard them"
            )
    if force and (out / io.CELL_DIR).is_dir():
        shutil.rmtree(out / io.CELL_DIR)
    for tmp in (out / io.CELL_DIR).glob(".*.tmp") if (out / io.CELL_DIR).is_dir() else ():
        tmp.unlink(missing_ok=True)  # leftovers of an interrupted write
    return digest


def run_sweep(config, out_dir=None, *, n_jobs=1, resume=True, force=False, progress=False,
              context=None, meta=None):
    """Run the cells of a configuration in parallel, resumably.

    Parameters
    ----------
    config : dict
        A resolved configuration (:func:`resolve_config`).
    out_dir : str or pathlib.Path, optional
        Output directory; ``None`` keeps everything in memory.
    n_jobs : int, default=1
        Passed to :class:`joblib.Parallel`; the backend is the caller's
        :func:`joblib.parallel_config` (loky by default).
    resume : bool, default=True
        Reuse complete cell files already in ``out_dir``.
    force : bool, default=False
        Discard existing results in ``out_dir`` (also those of another
        configuration) and recompute everything.
    progress : bool, default=False
        Show a tqdm progress bar over cells.
    context : dict, optional
        Provenance recorded in every row (``backend``).
    meta : dict, optional
        Extra entries for ``config.json`` (e.g. the command line).

    Returns
    -------
    SweepResult
        The consolidated table, the cells, counts and failures.

    Raises
    ------
    ConfigError
        If ``out_dir`` is not writable or holds results of another
        configuration (unless ``force``).
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    _check_resolved(config, "run_sweep")
    t0 = time.perf_counter()
    cells = expand_cells(config)
    if out_dir is not None:
        digest = _prepare_dir(out_dir, config, force)
        io.write_json(Path(out_dir) / "config.json",
                      {"config": config, "config_hash": digest, "version": __version__,
                       "n_cells": len(cells), **(meta or {})})
    done = {c.cell_id for c in cells if out_dir is not None and resume and not force
            and io.cell_is_complete(out_dir, c.cell_id)}
    todo = [c for c in cells if c.cell_id not in done]
    frames, failures = {}, []
    by_id = {c.cell_id: c for c in cells}
    if todo:
        jobs = (delayed(_run_and_store)(c, None if out_dir is None else str(out_dir), context) for c in todo)
        results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs)
        with tqdm(total=len(todo), disable=not progress, desc=config["name"], unit="cell") as bar:
            for cell_id, df, error in results:
                if error is not None:
                    failures.append({"cell_id": cell_id, "params": by_id[cell_id].params, **error})
                elif df is not None:
                    frames[cell_id] = df
                bar.update()
    failed = {f["cell_id"] for f in failures}
    ok_ids = [c.cell_id for c in cells if c.cell_id not in failed]
    if out_dir is not None:
        table = io.consolidate(out_dir, ok_ids)
        failures_file = Path(out_dir) / "failures.json"
        if failures:
            io.write_json(failures_file, failures)
        else:
            failures_file.unlink(missing_ok=True)
    else:
        table = pd.concat([frames[i] for i in ok_ids if i in frames], ignore_index=True) if frames else pd.DataFrame()
    return SweepResult(table, cells, n_run=len(todo) - len(failures), n_skipped=len(done),
                       failures=failures, elapsed=time.perf_counter() - t0)


# --------------------------------------------------------------------------- summary


def coordinate_columns(df):
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


def summary_table(df, metric, *, by=None, level=0.95):
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
        Index: the ``by`` columns; columns: methods; cells ``"mean ± half"``.

    Raises
    ------
    ValueError
        If ``metric`` is not in the table or ``by`` names a column that is
        not a coordinate column (:func:`coordinate_columns`).
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
    methods = list(dict.fromkeys(sub["method"]))
    return stats.pivot(index=by, columns="method", values="text")[methods]
