"""Cost of the exact moment sampler and of fig1's extended panel (docs/model.md §1, §12).

Usage::

    python benchmarks/bench_moments.py [--repeat 11]

Prints the best of ``--repeat`` wall times of ``SpikedModel.sample_moments`` at d = 200,
r = 5 for n from 10³ to 10⁹ (target: under 50 ms at n = 10⁹, and flat in n), beside the
data sampler's ``sample(n)`` + ``XᵀX`` where it fits in memory; then the wall time of the
``sampler = "moments"`` cells of the fig1 configuration (5 values of n up to 10⁹,
20 replicates, 8 methods, one process; target: under 5 s).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import best_time, machine

import spikedcl as sc
from spikedcl.engine import single_threaded
from spikedcl.sweep import load_config, resolve_config, run_sweep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args(argv)
    print(machine())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sc.SpikedModelWarning)
        model = sc.SpikedModel.random(200, 5, noise="uniform", condition=8, rng=11)
    print(f"{'n':>12} {'sample_moments ms':>18} {'sample + XᵀX ms':>16}")
    for n in (10**3, 10**5, 10**7, 10**9):
        t = best_time(lambda n=n: model.sample_moments(n, rng=1), args.repeat)
        direct = ""
        if n <= 10**5:
            def draw(n=n):
                X = model.sample(n, rng=1)
                return X.T @ X
            direct = f"{1e3 * best_time(draw, max(3, args.repeat // 3)):16.1f}"
        flag = "  (target 50 ms: " + ("met)" if t < 0.05 else "MISSED)") if n == 10**9 else ""
        print(f"{n:>12} {1e3 * t:18.1f} {direct:>16}{flag}")
    config = resolve_config(load_config("fig1"))
    config["grid"] = [g for g in config["grid"] if g.get("sampler") == ["moments"]]
    with single_threaded():
        start = time.perf_counter()
        result = run_sweep(config, n_jobs=1, backend="sequential")
        elapsed = time.perf_counter() - start
    cells = len(result.cells)
    print(f"\nfig1 extended panel (sampler='moments'): {cells} cells, {config['reps']} replicates each, "
          f"{elapsed:.2f} s in one process (target 5 s: {'met' if elapsed < 5 else 'MISSED'})")
    per = result.table[result.table["metric"] == "sin_theta"].groupby("method")["time_s"].mean()
    print("mean time per replicate and method [ms]: "
          + ", ".join(f"{m} {1e3 * v:.1f}" for m, v in per.items()))


if __name__ == "__main__":
    main()
