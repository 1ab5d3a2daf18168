"""Closed-form fit cost as a multiple of one XᵀX product, measured in one run.

Usage::

    python benchmarks/bench_closed_form.py [--n 20000] [--d 200] [--r 5] [--repeat 7]

Prints the median wall time of each fit and its ratio to the median time of
``X.T @ X`` on the same data, plus scikit-learn's PCA when it is installed.
Ratios are what to compare across machines; absolute times are reported with
the machine they were taken on (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

import spikedcl as sc


def cpu_name():
    """The processor's model name where the OS reports it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_time(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20_000)
    p.add_argument("--d", type=int, default=200)
    p.add_argument("--r", type=int, default=5)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)

    model = sc.SpikedModel.random(args.d, args.r, condition=8.0, rng=0)
    X = model.sample(args.n, rng=1)
    rng = np.random.default_rng(2)
    cases = {
        "X.T @ X": lambda: X.T @ X,
        "fit_pca": lambda: sc.fit_pca(X, args.r),
        "fit_contrastive (expected)": lambda: sc.fit_contrastive(X, args.r, masks="expected"),
        "fit_contrastive (realized)": lambda: sc.fit_contrastive(X, args.r, rng=rng),
        "fit_contrastive (realized, simclr)": lambda: sc.fit_contrastive(X, args.r, loss="simclr", rng=rng),
        "fit_heteropca": lambda: sc.fit_heteropca(X, args.r),
        "random_mask": lambda: sc.random_mask(X, rng=rng),
    }
    try:
        from sklearn.decomposition import PCA

        cases["sklearn PCA (full svd)"] = lambda: PCA(args.r, svd_solver="full").fit(X)
        cases["sklearn PCA (auto)"] = lambda: PCA(args.r).fit(X)
    except ImportError:
        pass
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, numpy {np.__version__}")
    print(f"n={args.n}, d={args.d}, r={args.r}, median of {args.repeat}\n")
    base = median_time(cases["X.T @ X"], args.repeat)
    print(f"{'case':38s} {'time [ms]':>10s} {'/ XᵀX':>8s}")
    for name, fn in cases.items():
        t = base if name == "X.T @ X" else median_time(fn, args.repeat)
        print(f"{name:38s} {1e3 * t:10.2f} {t / base:8.2f}")


if __name__ == "__main__":
    main()
