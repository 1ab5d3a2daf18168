"""Closed-form fit cost as a multiple of one XᵀX product, measured in one run.

Usage::

    python benchmarks/bench_closed_form.py [--n 20000] [--d 200] [--r 5] [--repeat 7]

Prints the best (smallest) of ``--repeat`` wall times of each fit and its ratio
to the best time of ``X.T @ X`` on the same data, in one run, next to the
targets of the performance issue (CL expected <= 1.5, CL realized <= 3, PCA
<= 1.2 products; spikedcl PCA not slower than scikit-learn's), plus
scikit-learn's PCA when it is installed. The best of several is the time least
disturbed by other processes; ratios are what to compare across machines.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import spikedcl as sc  # noqa: E402
from _common import best_time, machine  # noqa: E402

TARGETS = {"fit_pca": 1.2, "fit_contrastive (expected)": 1.5, "fit_contrastive (realized)": 3.0}


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
        "fit_contrastive (realized, p = 0.3)": lambda: sc.fit_contrastive(X, args.r, p=0.3, rng=rng),
        "fit_heteropca": lambda: sc.fit_heteropca(X, args.r),
        "random_mask": lambda: sc.random_mask(X, rng=rng),
        "draw_mask (p = 1/2: random bits)": lambda: sc.draw_mask(args.n, args.d, 0.5, rng=rng),
        "draw_mask (p = 0.3: doubles)": lambda: sc.draw_mask(args.n, args.d, 0.3, rng=rng),
    }
    try:
        from sklearn.decomposition import PCA

        cases["sklearn PCA (full svd)"] = lambda: PCA(args.r, svd_solver="full").fit(X)
        cases["sklearn PCA (auto)"] = lambda: PCA(args.r).fit(X)
    except ImportError:
        pass
    print(f"machine: {machine()}")
    print(f"n={args.n}, d={args.d}, r={args.r}, best of {args.repeat}\n")
    base = best_time(cases["X.T @ X"], args.repeat)
    times = {}
    print(f"{'case':38s} {'time [ms]':>10s} {'/ XᵀX':>8s} {'target':>7s}")
    for name, fn in cases.items():
        t = times[name] = base if name == "X.T @ X" else best_time(fn, args.repeat)
        target = f"<= {TARGETS[name]}" if name in TARGETS else ""
        print(f"{name:38s} {1e3 * t:10.2f} {t / base:8.2f} {target:>7s}")
    if "sklearn PCA (auto)" in times:
        print(f"\nspikedcl fit_pca / scikit-learn PCA (auto): {times['fit_pca'] / times['sklearn PCA (auto)']:.2f} "
              "(target <= 1)")


if __name__ == "__main__":
    main()
