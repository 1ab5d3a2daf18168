"""The cost of one BLAS thread per cell for ``--n-jobs 1``, and what it buys: bit-identical rows.

Every engine of the sweep runs a cell inside :func:`spikedcl.engine.single_threaded`
(one BLAS/OpenMP thread, one statistics thread), so a row does not depend on the
number of workers, the backend or the machine's core count. With ``--n-jobs 1`` on a
machine with several cores this gives up the BLAS library's own threads. This
script times, in one run and in alternating repeats (the order of the two modes
swaps from one repeat to the next),

(a) inside ``single_threaded()``, as every engine runs a cell, and
(b) with the BLAS library's default thread count and the statistics layer's
    default threads (no limit at all),

for representative cells (:func:`spikedcl.sweep.run_cell`) of the fig1 and fig2
configurations at full-grid sizes, one larger d with PCA and the two CL fits, and
the whole quick fig1 sweep (``run_sweep(..., backend="sequential")`` for (a);
``run_cell`` over every cell in a loop, without the engine, for (b)). For each case
it prints the median and the range of each mode, the ratio (b) / (a) of the
medians and the range of the ratios of the paired repeats, and the largest absolute
difference between the values of the rows of (a) and (b), which is the reason for
the limit.

Usage::

    python benchmarks/bench_threads.py [--repeat 5] [--cases fig1 fig2 d1000 quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_info

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import machine

from spikedcl.engine import single_threaded
from spikedcl.sweep import expand_cells, load_config, resolve_config, run_cell, run_sweep

CONFIG_DIR = Path(__file__).resolve().parent.parent / "simulations" / "configs"
#: Columns that identify a row (everything but the value and the fit's wall time).
KEY_COLUMNS = ["cell_id", "rep", "method", "metric"]


def _first_cell(name, overrides, where):
    """The first cell of configuration ``name`` with ``overrides`` whose parameters match ``where``."""
    config = resolve_config(load_config(name, config_dir=CONFIG_DIR), overrides=overrides)
    cells = [c for c in expand_cells(config) if all(c.params[k] == v for k, v in where.items())]
    return cells[0]


def cases():
    """``{name: (description, run_a, run_b)}``; each run returns the rows it computed."""
    fig1 = _first_cell("fig1", {"reps": 1}, {"n": 50000})
    fig2 = _first_cell("fig2", {"reps": 1}, {"d": 400})
    wide = _first_cell("fig2", {"reps": 1, "grid": {"d": [1000]}, "params": {"methods": ["pca", "cl", "cl-expected"]}},
                       {"d": 1000})
    quick = resolve_config(load_config("fig1", config_dir=CONFIG_DIR), quick=True)
    quick_cells = expand_cells(quick)

    def one_cell(cell):
        def run_a():
            with single_threaded():
                return run_cell(cell)

        return run_a, lambda: run_cell(cell)

    def sweep_a():
        return run_sweep(quick, None, backend="sequential").table

    def sweep_b():
        return pd.concat([run_cell(c) for c in quick_cells], ignore_index=True)

    methods = len(fig1.params["methods"])
    return {
        "fig1": (f"fig1 cell n = 50,000, d = 200, 1 replicate, {methods} methods", *one_cell(fig1)),
        "fig2": (f"fig2 cell n = 20,000, d = 400, 1 replicate, {methods} methods", *one_cell(fig2)),
        "d1000": ("n = 20,000, d = 1000, 1 replicate, pca, cl, cl-expected", *one_cell(wide)),
        "quick": (f"fig1 --quick sweep: {len(quick_cells)} cells, {quick['reps']} replicates each", sweep_a, sweep_b),
    }


def max_difference(a, b):
    """Largest ``|value_a - value_b|`` over the rows of two tables of the same cells (NaN == NaN)."""
    merged = a[KEY_COLUMNS + ["value"]].merge(b[KEY_COLUMNS + ["value"]], on=KEY_COLUMNS, how="outer",
                                              suffixes=("_a", "_b"), indicator=True)
    if (merged["_merge"] != "both").any():
        raise RuntimeError("the two modes produced different rows")
    va, vb = merged["value_a"].to_numpy(float), merged["value_b"].to_numpy(float)
    both_nan = np.isnan(va) & np.isnan(vb)
    diff = np.where(both_nan, 0.0, np.abs(va - vb))
    return float(np.max(diff)), int(np.count_nonzero(diff)), len(diff)


def time_case(run_a, run_b, repeat):
    """Alternating timings: ``repeat`` of each mode, the order swapped every repeat, after one warm-up each."""
    rows = {"a": run_a(), "b": run_b()}  # warm-up, and the rows compared
    first = {"a": rows["a"], "b": rows["b"]}
    times = {"a": [], "b": []}
    for i in range(repeat):
        for mode in ("ab" if i % 2 == 0 else "ba"):
            fn = run_a if mode == "a" else run_b
            t0 = time.perf_counter()
            rows[mode] = fn()
            times[mode].append(time.perf_counter() - t0)
    same_a = max_difference(first["a"], rows["a"])[0]
    same_b = max_difference(first["b"], rows["b"])[0]
    return times, max_difference(first["a"], first["b"]), same_a, same_b


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5, help="timed repeats of each mode per case (default 5)")
    p.add_argument("--cases", nargs="+", choices=("fig1", "fig2", "d1000", "quick"),
                   default=["fig1", "fig2", "d1000", "quick"], help="cases to time (default: all)")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error(f"--repeat must be >= 1, got {args.repeat}")
    blas = ", ".join(f"{i['internal_api']} {i.get('version') or ''} ({i['num_threads']} threads by default)"
                     for i in threadpool_info() if i["user_api"] == "blas")
    print(machine())
    print(f"BLAS: {blas}; load average at start {os.getloadavg()[0]:.1f}")
    print("(a) single_threaded(), as every engine runs a cell; (b) the library defaults (no thread limit)")
    print(f"{args.repeat} alternating repeats per mode; times in s: median [min, max]\n")
    table = cases()
    t0 = time.perf_counter()
    for name in args.cases:
        label, run_a, run_b = table[name]
        times, (diff, n_diff, n_rows), same_a, same_b = time_case(run_a, run_b, args.repeat)
        ma, mb = statistics.median(times["a"]), statistics.median(times["b"])
        paired = [b / a for a, b in zip(times["a"], times["b"])]
        print(f"{name}: {label}")
        print(f"  (a) one thread    {ma:7.3f} [{min(times['a']):.3f}, {max(times['a']):.3f}]")
        print(f"  (b) BLAS default  {mb:7.3f} [{min(times['b']):.3f}, {max(times['b']):.3f}]")
        print(f"  (b)/(a) {mb / ma:.3f} (paired repeats {min(paired):.3f} to {max(paired):.3f})")
        print(f"  rows: max |value(a) - value(b)| = {diff:.3g} ({n_diff} of {n_rows} values differ); "
              f"repeats of (a) {'identical' if same_a == 0 else f'differ by {same_a:.3g}'}, "
              f"of (b) {'identical' if same_b == 0 else f'differ by {same_b:.3g}'}", flush=True)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
