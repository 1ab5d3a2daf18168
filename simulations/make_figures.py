"""Build the paper's figures and the theory-check table from saved sweep results.

Usage::

    python simulations/make_figures.py fig1            # figures/fig1.pdf and .png
    python simulations/make_figures.py all             # every config with saved results
    python simulations/make_figures.py fig1 --quick    # from results/fig1-quick

Figures are drawn only from the results written by ``simulations/sweep.py``
(``results/NAME/results.parquet`` unless ``--results`` says otherwise): mean
lines with 95 % bands, log-log axes with fitted slopes in the legend, the
theory bound dashed with its fitted constant. When the results of fig1–fig4
are present, the theory checks (fitted exponents and shapes against the
theory, each with its interval and a pass/fail) are printed and written to
``figures/theory_check.csv``. Exit codes: 0 success, 2 unknown config or
missing results.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
CONFIG_DIR = HERE / "configs"
CHECKED = ("fig1", "fig2", "fig3", "fig4")


def parse_args(argv=None):
    """Parse the command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="+", help="configuration names, or 'all'")
    p.add_argument("--quick", action="store_true", help="use the results of the --quick runs")
    p.add_argument("--results", help="results root directory (default: results)")
    p.add_argument("--out", default=str(HERE.parent / "figures"), help="figure directory (default: figures/)")
    return p.parse_args(argv)


def figure_function(config):
    """The figure builder of a configuration: its ``function`` or the generic panels."""
    from spikedcl.plotting import figure_from_spec

    target = config.get("figure", {}).get("function")
    if not target:
        return figure_from_spec
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv=None):
    """Command-line entry point; returns the process exit code."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from spikedcl.analysis import theory_checks
    from spikedcl.plotting import save_figure
    from spikedcl.sweep import ConfigError, load_config, resolve_config

    args = parse_args(argv)
    root = Path(args.results or "results")
    suffix = "-quick" if args.quick else ""
    explicit = args.names != ["all"]
    names = args.names if explicit else sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))
    tables, written = {}, []
    for name in names:
        try:
            config = resolve_config(load_config(name, config_dir=CONFIG_DIR), quick=args.quick)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        path = root / f"{config['name']}{suffix}" / "results.parquet"
        if not path.is_file():
            if explicit:
                print(f"error: no results at {path}; run: python simulations/sweep.py --config {name}"
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
        out = Path(args.out) / f"theory_check{suffix}.csv"
        checks.to_csv(out, index=False, float_format="%.4g")
        with pd.option_context("display.width", 200, "display.max_colwidth", 60):
            print("\ntheory checks (estimate, 95% CI, criterion):")
            print(checks.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
