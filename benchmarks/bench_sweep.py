"""Wall time of the full F1 grid through the sweep engine, against a trainer's estimated cost.

The grid of the issue: 7 values of n up to 50,000, d = 200, r = 5, C = 8, 20
replicates, PCA / autoencoder / GAN / CL realized / CL mask-averaged, closed
forms, ``n_jobs`` workers of the ``--backend`` engine (loky by default; every cell
runs with one BLAS thread), results written to a fresh directory.

The comparison is an estimate, not a measurement: the prakharg24/contrastive-
learning trainer takes about 90 s per CL fit on 2 cores (its reported setting),
so the same grid's 140 CL fits would take 140 × 90 s.

Usage::

    python benchmarks/bench_sweep.py [--n-jobs 2] [--reps 20] [--backend loky]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import spikedcl
from spikedcl.engine import BACKENDS
from spikedcl.sweep import resolve_config, run_sweep

PEER_SECONDS_PER_CL_FIT = 90.0
METHODS = ["pca", "ae", "gan", "cl", "cl-expected"]
N_GRID = [500, 1000, 2000, 5000, 10000, 20000, 50000]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--backend", choices=BACKENDS, default="loky", help="engine of the sweep (default loky)")
    args = p.parse_args(argv)
    config = resolve_config({
        "name": "bench-fig1", "experiment": "subspace", "reps": args.reps, "seed": 0,
        "data_keys": ["n", "d", "r", "C", "noise"], "grid": {"n": N_GRID},
        "params": {"d": 200, "r": 5, "C": 8.0, "noise": "uniform", "mask_prob": 0.5,
                   "methods": METHODS, "metrics": ["sin_theta", "excess_risk", "excess_risk_linear"]},
    })
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        res = run_sweep(config, out, n_jobs=args.n_jobs, backend=args.backend)
        wall = time.perf_counter() - t0
    fits = res.table[(res.table.method != "theory") & (res.table.metric == "sin_theta")]
    cl_fits = int((fits.method == "cl").sum())
    peer = cl_fits * PEER_SECONDS_PER_CL_FIT
    print(f"spikedcl {spikedcl.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}")
    print(f"F1 grid: {len(res.cells)} cells, {len(fits)} fits ({cl_fits} CL realized), "
          f"n_jobs={args.n_jobs}, backend={args.backend}")
    print(f"wall time {wall:.1f} s; summed fit time {fits.time_s.sum():.1f} s")
    print(f"trainer estimate for the CL fits alone: {cl_fits} x {PEER_SECONDS_PER_CL_FIT:.0f} s = "
          f"{peer / 3600:.1f} h; ratio {wall / peer:.2e}")


if __name__ == "__main__":
    main()
