"""Print the rows of one replicate at one grid point, computed alone.

Examples::

    spikedcl replicate --config fig1 --point n=1000 --rep 3
    spikedcl replicate --config fig2 --quick --point d=100 --rep 0 --out rep0.csv

The rows equal, to the last bit, those of any sweep of the same configuration
that ran this replicate: a single number of a figure can be checked without
rerunning the sweep. Grid axes with one value need not be given. Exit codes:
0 success, 2 bad configuration or point.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from ..sweep import ConfigError, expand_cells, load_config, replicate, resolve_config

__all__ = ["add_arguments", "run", "parse_point"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``spikedcl replicate``.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser.
    """
    p.add_argument("--config", default="quick", help="configuration name or TOML path (default: quick)")
    p.add_argument("--quick", action="store_true", help="the configuration's tiny variant")
    p.add_argument("--point", nargs="+", default=[], metavar="AXIS=VALUE",
                   help="grid coordinates, e.g. n=1000 C=8 (axes with one value may be left out)")
    p.add_argument("--rep", type=int, required=True, help="replicate index (0-based)")
    p.add_argument("--seed", type=int, help="root seed (default: the configuration's)")
    p.add_argument("--out", help="also write the rows to this .csv or .parquet file")


def parse_point(items: list[str]) -> dict:
    """``["n=1000", "noise=uniform"]`` -> ``{"n": 1000, "noise": "uniform"}`` (TOML literals, else strings).

    Parameters
    ----------
    items : list of str
        ``AXIS=VALUE`` words.

    Returns
    -------
    dict
        The point.

    Raises
    ------
    ConfigError
        For a word without ``=`` or an axis given twice.
    """
    point = {}
    for item in items:
        axis, sep, text = item.partition("=")
        axis = axis.strip()
        if not sep or not axis:
            raise ConfigError(f"--point takes AXIS=VALUE words, got {item!r}")
        if axis in point:
            raise ConfigError(f"--point gives {axis!r} twice")
        try:
            point[axis] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            point[axis] = text.strip()
    return point


def _complete(config, point):
    """The point with the single-valued axes filled in; refuses unknown and missing axes."""
    axes = {}
    for grid in config["grid"]:
        for axis, values in grid.items():
            known = axes.setdefault(axis, [])
            for value in values:  # in order, each once (values may be lists, so no set)
                if value not in known:
                    known.append(value)
    unknown = sorted(set(point) - set(axes) - set(config["params"]))
    if unknown:
        raise ConfigError(f"--point: {', '.join(map(repr, unknown))} not an axis or parameter of config "
                          f"{config['name']!r}; its grid axes: {sorted(axes)}")
    full = dict(point)
    for axis, values in axes.items():
        if axis not in full:
            if len(values) != 1:
                raise ConfigError(f"--point must give {axis}: one of {values}")
            full[axis] = values[0]
    return full


def run(args: argparse.Namespace, prog: str = "spikedcl") -> int:
    """Run ``spikedcl replicate``; returns the exit code.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options of :func:`add_arguments`.
    prog : str, default="spikedcl"
        The program name (unused).

    Returns
    -------
    int
        0 success, 2 bad configuration or point.
    """
    import pandas as pd

    try:
        if args.rep < 0:
            raise ConfigError(f"--rep must be >= 0, got {args.rep}")
        config = resolve_config(load_config(args.config), quick=args.quick, overrides={"seed": args.seed})
        point = _complete(config, parse_point(args.point))
        if args.rep >= config["reps"]:
            print(f"note: the sweep runs replicates 0..{config['reps'] - 1}; replicate {args.rep} is in none "
                  "of its results", file=sys.stderr)
        on_grid = any(all(cell.params.get(k) == v for k, v in point.items()) for cell in expand_cells(config))
        if not on_grid:
            print("note: this point is not on the configuration's grid; its rows are in none of its results",
                  file=sys.stderr)
        rows = replicate(config, point, args.rep)
    except (ConfigError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    shown = [c for c in ("method", "metric", "value") if c in rows]
    extra = [c for c in rows.columns if c in point and c not in shown]
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.precision", 6):
        print(rows[extra + shown].to_string(index=False))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".parquet":
            rows.to_parquet(out, index=False)
        else:
            rows.to_csv(out, index=False)
        print(f"wrote {out}")
    return 0
