"""Figure F6: training reaches the closed forms (docs/model.md §3, §9).

A thin wrapper over the ``fig6`` sweep configuration
(``spikedcl/configs/fig6.toml``, experiment :func:`spikedcl.experiments.gd.gd`,
figure :func:`spikedcl.plotting.gd.fig6`); the same as::

    python simulations/sweep.py --config fig6 [--quick]
    python simulations/make_figures.py fig6 [--quick]

Usage::

    python simulations/fig6.py [--quick] [--out figures] [--results results]

Writes ``fig6.pdf``, ``fig6.png`` and the curves as ``fig6.csv`` (columns
panel, series, x, value) into ``--out``; the sweep rows go to
``RESULTS/fig6[-quick]/results.parquet``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

def parse_args(argv=None):
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller problem, fewer epochs (seconds)")
    p.add_argument("--out", default="figures", help="output folder")
    p.add_argument("--results", default="results", help="results root (default: results)")
    return p.parse_args(argv)


def main(argv=None):
    """Command-line entry point; returns the exit code."""
    import matplotlib.pyplot as plt

    from spikedcl.plotting import save_figure
    from spikedcl.plotting.gd import f6_curves, fig6
    from spikedcl.sweep import load_config, resolve_config, run_sweep

    args = parse_args(argv)
    out = Path(args.out)
    config = resolve_config(load_config("fig6"), quick=args.quick)
    results = Path(args.results)
    res = run_sweep(config, results / ("fig6-quick" if args.quick else "fig6"))
    df = res.table
    fig = fig6(df, config)
    paths = save_figure(fig, out, "fig6")
    plt.close(fig)
    curves = f6_curves(df)
    curves.to_csv(out / "fig6.csv", index=False)
    summary = curves.groupby(["panel", "series"], sort=False).agg(iterations=("x", "max"), last=("value", "last"))
    print(summary.to_string())
    print(f"\nwritten: {', '.join(map(str, paths))}, {out / 'fig6.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
