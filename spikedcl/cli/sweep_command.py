"""Run a sweep of a configuration, resumably, and print a summary table.

Without ``--config`` this runs the ``quick`` configuration (about a minute or
less on two cores): ‖sinΘ(U*, Û)‖_F for PCA and linear contrastive learning
(realized per-sample masks, the mask-averaged matrix and a fixed mask) as n
grows, at d = 200, r = 5, condition number 8, 20 replicates (docs/model.md §9, F1).

Examples::

    spikedcl sweep                                       # the quick preset
    spikedcl sweep --config fig1 --n-jobs -1             # figure F1 in full
    spikedcl sweep --config fig2 --quick                 # a tiny version
    spikedcl sweep --config my_study.toml                # a configuration of one's own
    spikedcl sweep --config fig1 --n 1000 5000 --reps 5 --out results/try
    spikedcl sweep --config fig1 --backend dask --scheduler tcp://host:8786
    spikedcl sweep --config losses --describe            # the experiment's parameters

Results go to ``./results/NAME`` (``./results/NAME-quick`` with ``--quick``):
one parquet file per finished cell, ``results.parquet`` with every row,
``config.json`` with the resolved configuration. Rerunning resumes: finished
cells are reused, ``--force`` recomputes. Exit codes: 0 success, 1 some cells
failed (listed, and in ``failures.json``), 2 bad configuration or arguments,
128 + N after signal N.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from pathlib import Path

from .. import __version__
from .._array_api import namespace_for
from ..configs import packaged_names
from ..sweep import (
    ConfigError,
    SweepInterrupted,
    describe_experiment,
    expand_cells,
    load_config,
    resolve_config,
    run_sweep,
    summary_table,
)

__all__ = ["add_arguments", "run", "overrides_from", "memory_size"]

# command-line flag -> grid axis of the configuration
GRID_FLAGS = {"n": int, "d": int, "r": int, "condition": float, "noise": str, "mask_prob": float, "sampler": str}
AXIS = {"condition": "C"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``spikedcl sweep`` (see the module docstring).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser.
    """
    p.epilog = f"configurations: {', '.join(packaged_names())} (spikedcl list describes them)"
    p.add_argument("--config", default="quick",
                   help="configuration name (spikedcl list) or the path of a TOML file (default: quick)")
    p.add_argument("--quick", action="store_true", help="the configuration's tiny variant")
    g = p.add_argument_group("grid overrides (replace the configuration's values)")
    g.add_argument("--n", type=int, nargs="+", help="sample sizes")
    g.add_argument("--d", type=int, nargs="+", help="ambient dimensions")
    g.add_argument("--r", type=int, nargs="+", help="signal ranks")
    g.add_argument("--condition", "--C", dest="condition", type=float, nargs="+", help="noise condition numbers C")
    g.add_argument("--noise", nargs="+", help="noise profiles")
    g.add_argument("--mask-prob", dest="mask_prob", type=float, nargs="+", help="mask probabilities p")
    g.add_argument("--sampler", nargs="+", help="samplers of the subspace experiment: data (the samples) or moments "
                                                 "(XᵀX and Xᵀ1 drawn exactly; moment-based methods only)")
    g.add_argument("--methods", nargs="+", help="methods to fit")
    g.add_argument("--solver", choices=("closed_form", "gd"), help="solver of the fits")
    g.add_argument("--reps", type=int, help="replicates per grid point")
    g.add_argument("--seed", type=int, help="root seed")
    g.add_argument("--reps-per-cell", type=int, help="replicates stored per cell file")
    e = p.add_argument_group("execution")
    e.add_argument("--out", help="output directory (default: ./results/NAME[-quick])")
    e.add_argument("--n-jobs", type=int, default=1, help="parallel workers (-1: all cores)")
    e.add_argument("--backend", choices=("loky", "threading", "sequential", "dask"), default="loky",
                   help="where cells run (default loky; every cell uses one BLAS thread, so rows are identical)")
    e.add_argument("--scheduler", help="Dask scheduler address (default: a LocalCluster of --n-jobs workers)")
    e.add_argument("--connect-timeout", type=float,
                   help="seconds to reach the Dask scheduler before giving up (exit 2; default 10)")
    e.add_argument("--worker-timeout", type=float,
                   help="seconds without any Dask worker before the unfinished cells fail (default 60)")
    e.add_argument("--memory-limit", type=memory_size, default="auto",
                   help="memory budget of the sweep, shared by the cells running at once (e.g. 8GiB; default "
                        "'auto': a quarter of the available memory; 'none': no guard). Larger cells stream "
                        "or are refused before any work")
    e.add_argument("--no-wait", action="store_true",
                   help="exit 2 instead of waiting when another sweep is writing to --out")
    e.add_argument("--rebuild-config", action="store_true",
                   help="rewrite a damaged config.json of --out from this configuration (cells are verified)")
    e.add_argument("--device", choices=("cpu", "cuda"), help="array device of the fits")
    e.add_argument("--dtype", choices=("float64", "float32"), help="floating dtype of the fits")
    e.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="reuse finished cells (default)")
    e.add_argument("--force", action="store_true", help="discard existing results and recompute")
    e.add_argument("--dry-run", action="store_true", help="print the resolved config and cells, run nothing")
    e.add_argument("--describe", action="store_true",
                   help="print the experiment's declared parameters (type, range, default) and exit")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.add_argument("--metric", help="metric of the summary table (default: the config's)")


def overrides_from(args: argparse.Namespace) -> dict:
    """The configuration overrides given on the command line.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options of :func:`add_arguments`.

    Returns
    -------
    dict
        ``grid``, ``params``, ``reps``, ``seed`` and ``reps_per_cell`` for
        :func:`spikedcl.sweep.resolve_config`.
    """
    grid = {AXIS.get(k, k): getattr(args, k) for k in GRID_FLAGS if getattr(args, k) is not None}
    params = {k: getattr(args, k) for k in ("solver", "device", "dtype") if getattr(args, k) is not None}
    if args.methods is not None:
        params["methods"] = args.methods
    return {"grid": grid, "params": params, "reps": args.reps, "seed": args.seed,
            "reps_per_cell": args.reps_per_cell}


_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}


def memory_size(text: str) -> int | str | None:
    """``--memory-limit``: bytes such as ``8GiB``, ``500MB`` or ``1e9``; ``auto``; or ``none`` (no guard).

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    int, "auto" or None
        Bytes, ``"auto"`` or ``None`` (no guard).

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else, or less than one byte.
    """
    text = text.strip().lower()
    if text in ("auto", "none"):
        return None if text == "none" else "auto"
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number):]
    try:
        value = float(number) * _UNITS[unit]
        if not math.isfinite(value):
            raise ValueError(number)
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(
            f"invalid memory size {text!r}: a number with an optional unit (B, kB, MB, GB, KiB, MiB, GiB), "
            "'auto' or 'none'") from None
    if not value >= 1:
        raise argparse.ArgumentTypeError(f"--memory-limit must be at least 1 byte, got {text!r}")
    return int(value)


def _describe(config, n_cells, out):
    grid = " ∪ ".join("{" + ", ".join(f"{k}={v}" for k, v in g.items()) + "}" for g in config["grid"])
    params = ", ".join(f"{k}={v}" for k, v in config["params"].items())
    return (
        f"config {config['name']}: {config['description']}\n"
        f"  experiment {config['experiment']}, reps={config['reps']}, seed={config['seed']}\n"
        f"  grid {grid}\n  params {params}\n"
        f"  {n_cells} cells of <= {config['reps_per_cell']} replicates -> {out}"
    )


def run(args: argparse.Namespace, prog: str = "spikedcl") -> int:
    """Run ``spikedcl sweep``; returns the exit code.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options of :func:`add_arguments` (and ``argv``, the words given).
    prog : str, default="spikedcl"
        The program name; with ``args.argv`` (the words after it) it is the
        command recorded in ``config.json``.

    Returns
    -------
    int
        0 success, 1 some cells failed, 2 bad configuration or arguments,
        128 + N after signal N.
    """
    try:
        if args.n_jobs == 0:
            raise ConfigError("--n-jobs must be a positive integer or negative (-1: all cores), got 0")
        dask_flags = {"scheduler": args.scheduler, "connect_timeout": args.connect_timeout,
                      "worker_timeout": args.worker_timeout}
        given = [f"--{k.replace('_', '-')}" for k, v in dask_flags.items() if v is not None]
        if args.backend != "dask" and given:
            raise ConfigError(f"only --backend dask takes {', '.join(given)}")
        for flag in ("connect_timeout", "worker_timeout"):
            if dask_flags[flag] is not None and not dask_flags[flag] > 0:
                raise ConfigError(f"--{flag.replace('_', '-')} must be a positive number of seconds")
        if args.device == "cuda":
            try:
                namespace_for("cuda")
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        raw = load_config(args.config)
        if args.describe:
            print(describe_experiment(raw["experiment"]))
            return 0
        config = resolve_config(raw, quick=args.quick, overrides=overrides_from(args))
        out = Path(args.out or Path("results") / (config["name"] + ("-quick" if args.quick else "")))
        cells = expand_cells(config)
        print(f"spikedcl {__version__}\n" + _describe(config, len(cells), out), flush=True)
        if args.dry_run:
            print(json.dumps(config, indent=2, default=str))
            return 0
        meta = {"command": shlex.join([*prog.split(" "), *getattr(args, "argv", [])])}
        options = {k: v for k, v in dask_flags.items() if v is not None}
        result = run_sweep(config, out, n_jobs=args.n_jobs, backend=args.backend, engine_options=options,
                           resume=args.resume, force=args.force, progress=not args.no_progress, meta=meta,
                           memory_limit=args.memory_limit, wait=not args.no_wait, rebuild_config=args.rebuild_config,
                           on_wait=lambda message: print(message, file=sys.stderr, flush=True))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SweepInterrupted as exc:
        print(f"\ninterrupted: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted before this run started its cells; rerun the same command", file=sys.stderr)
        return 130
    streamed = f" ({result.n_streamed} streamed to fit the memory budget)" if result.n_streamed else ""
    failed = sum(f["cell_id"] is not None and f["kind"] != "not-run" for f in result.failures)
    not_run = sum(f["kind"] == "not-run" for f in result.failures)
    rows = "" if any(f["cell_id"] is None for f in result.failures) else f"; rows in {out / 'results.parquet'}"
    print(f"\n{result.n_run} cells run, {result.n_skipped} reused, {failed} failed"
          + (f", {not_run} not run" if not_run else "") + f" in {result.elapsed:.1f} s{streamed}{rows}")
    metric = args.metric or config["summary"].get("metric", "sin_theta")
    if not result.table.empty and metric in set(result.table["metric"]):
        print(f"\nmean {metric} ± 95% CI over replicates")
        print(summary_table(result.table, metric).to_string())
    elif args.metric and not result.table.empty:
        print(f"\nno summary: metric {metric!r} is not in the results; they have "
              f"{sorted(set(result.table['metric']))}", file=sys.stderr)
    if result.failures:
        _print_failures(result.failures, out / "failures.json" if result.failures_saved else None)
        return 1
    return 0


def _print_failures(failures, saved, limit=20):
    """The failure list on stderr: one line per failed cell (at most ``limit``), cells not run counted."""
    listed = [f for f in failures if f["kind"] != "not-run"]
    details = f"details in {saved}" if saved else "failures.json could not be written"
    print(f"\n{len(listed)} failure(s) ({details}):", file=sys.stderr)
    for f in listed[:limit]:
        where = f"{f['cell_id']} {f['params']}" if f["cell_id"] else "the output directory"
        print(f"  [{f['kind']}] {where}: {f['error']}", file=sys.stderr)
    if len(listed) > limit:
        print(f"  ... and {len(listed) - limit} more", file=sys.stderr)
    not_run = [f for f in failures if f["kind"] == "not-run"]
    if not_run:
        print(f"  [not-run] {len(not_run)} cell(s): {not_run[0]['error']}; rerun the same command to resume",
              file=sys.stderr)
