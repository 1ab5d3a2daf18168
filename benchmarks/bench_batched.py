"""Replicates on a leading axis against a Python loop over replicates.

Usage::

    python benchmarks/bench_batched.py [--reps 20] [--d 200] [--r 5] [--n 500 2000 10000] [--repeat 5]

For each n, R replicates of the spiked model (d = 200, r = 5, C = 8) are drawn
once; then PCA, mask-averaged CL and realized-mask CL are fitted to all of them
by a loop of single fits and by one ``batched=True`` call on the (R, n, d)
stack (same masks, same results; tests/test_batched.py). Prints the best of
``--repeat`` wall times of each and the speedup loop / batched.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import best_time, machine

import spikedcl as sc

FITS = {
    "fit_pca": lambda X, r, rng, **kw: sc.fit_pca(X, r, **kw),
    "fit_contrastive (expected)": lambda X, r, rng, **kw: sc.fit_contrastive(X, r, masks="expected", **kw),
    "fit_contrastive (realized)": lambda X, r, rng, **kw: sc.fit_contrastive(X, r, rng=rng, **kw),
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--d", type=int, default=200)
    p.add_argument("--r", type=int, default=5)
    p.add_argument("--n", type=int, nargs="+", default=[500, 2000, 10000])
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    print(f"machine: {machine()}")
    print(f"R = {args.reps} replicates, d = {args.d}, r = {args.r}; best of {args.repeat}\n")
    print(f"{'n':>6s} {'fit':28s} {'loop [ms]':>10s} {'batched [ms]':>13s} {'speedup':>8s}")
    model = sc.SpikedModel.random(args.d, args.r, condition=8.0, rng=0)
    for n in args.n:
        stack = np.stack([model.sample(n, rng=np.random.SeedSequence(1, spawn_key=(i,))) for i in range(args.reps)])
        for name, fit in FITS.items():
            t_loop = best_time(lambda fit=fit, stack=stack: [fit(stack[i], args.r, np.random.default_rng(2)) for i in range(args.reps)],
                               args.repeat)
            t_batch = best_time(lambda fit=fit, stack=stack: fit(stack, args.r, np.random.default_rng(2), batched=True), args.repeat)
            print(f"{n:6d} {name:28s} {1e3 * t_loop:10.1f} {1e3 * t_batch:13.1f} {t_loop / t_batch:8.2f}")


if __name__ == "__main__":
    main()
