"""Draw figures and the theory-check table from saved sweep results.

Examples::

    spikedcl figures fig1                 # ./figures/fig1.pdf and .png from ./results/fig1
    spikedcl figures fig1 --quick         # ./figures/fig1-quick.* from ./results/fig1-quick
    spikedcl figures all                  # every configuration with saved results
    spikedcl figures my_study.toml        # a configuration of one's own

Figures are drawn only from the results a sweep wrote
(``RESULTS/NAME[-quick]/results.parquet``): mean lines with 95 % bands,
log-log axes with fitted slopes in the legend, the theory bound dashed with its
fitted constant. When the results of fig1–fig4 are present, the theory checks
(fitted exponents and shapes against the theory, each with its interval and a
pass/fail) are printed and written to ``OUT/theory_check[-quick].csv``. Exit
codes: 0 success, 2 unknown configuration or missing results.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from ..configs import packaged_names
from ..sweep import ConfigError, load_config, resolve_config

__all__ = ["add_arguments", "run", "figure_function", "CHECKED"]

#: configurations whose results feed the theory checks
CHECKED = ("fig1", "fig2", "fig3", "fig4")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``spikedcl figures``.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser.
    """
    p.add_argument("names", nargs="+", help="configuration names or TOML paths, or 'all' (the packaged ones)")
    p.add_argument("--quick", action="store_true", help="use the results of the --quick runs")
    p.add_argument("--results", default="results", help="results root directory (default: ./results)")
    p.add_argument("--out", default="figures", help="figure directory (default: ./figures)")


def figure_function(config: dict) -> Callable:
    """The figure builder of a configuration: its ``[figure] function`` or the generic panels.

    Parameters
    ----------
    config : dict
        A resolved configuration.

    Returns
    -------
    callable
        ``f(table, config) -> matplotlib.figure.Figure``.
    """
    from ..plotting import figure_from_spec

    target = config.get("figure", {}).get("function")
    if not target:
        return figure_from_spec
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def run(args: argparse.Namespace, prog: str = "spikedcl") -> int:
    """Run ``spikedcl figures``; returns the exit code.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options of :func:`add_arguments`.
    prog : str, default="spikedcl"
        The program name, in the hint of how to make missing results.

    Returns
    -------
    int
        0 success, 2 unknown configuration or missing results.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from ..analysis import theory_checks
    from ..plotting import save_figure

    root = Path(args.results)
    suffix = "-quick" if args.quick else ""
    explicit = args.names != ["all"]
    names = args.names if explicit else packaged_names()
    sweep = "python simulations/sweep.py" if prog.endswith("make_figures.py") else f"{prog} sweep"
    tables, written = {}, []
    for name in names:
        try:
            config = resolve_config(load_config(name), quick=args.quick)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        path = root / f"{config['name']}{suffix}" / "results.parquet"
        if not path.is_file():
            if explicit:
                print(f"error: no results at {path}; run: {sweep} --config {name}"
                      + (" --quick" if args.quick else ""), file=sys.stderr)
                return 2
            print(f"skipping {name}: no results at {path}")
            continue
        df = pd.read_parquet(path)
        tables[config["name"]] = df
        if not config.get("figure"):
            continue
        fig = figure_function(config)(df, config)
        written += save_figure(fig, args.out, config["name"] + suffix)
        plt.close(fig)
    for path in written:
        print(f"wrote {path}")
    for name in CHECKED:  # the checks always use every saved result of fig1-fig4
        path = root / f"{name}{suffix}" / "results.parquet"
        if name not in tables and path.is_file():
            tables[name] = pd.read_parquet(path)
    checks = theory_checks({k: v for k, v in tables.items() if k in CHECKED})
    if len(checks):
        Path(args.out).mkdir(parents=True, exist_ok=True)
        out = Path(args.out) / f"theory_check{suffix}.csv"
        checks.to_csv(out, index=False, float_format="%.4g")
        with pd.option_context("display.width", 200, "display.max_colwidth", 60):
            print("\ntheory checks (estimate, 95% CI, criterion):")
            print(checks.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        print(f"wrote {out}")
    return 0
