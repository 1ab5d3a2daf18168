"""Run a simulation sweep of spikedcl and print a summary table.

The default is a quick preset (well under a minute on two cores): sinΘ to U*
for PCA and linear contrastive learning (realized per-sample masks, the
mask-averaged matrix and a fixed mask) as n grows, at d = 200, r = 5,
condition number 8, 20 replicates (spec §9, figure F1). Every row also holds
the exact downstream excess risks ΔR_U* and ΔR_lin of spec §6.

Usage::

    python simulations/sweep.py
    python simulations/sweep.py --n 1000 5000 20000 --d 100 --reps 10 --out results/quick.csv
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings

import numpy as np
import pandas as pd

import spikedcl
from spikedcl.data import NOISE_PROFILES

METHODS = {
    "pca": lambda X, r, rng: spikedcl.fit_pca(X, r),
    "cl": lambda X, r, rng: spikedcl.fit_contrastive(X, r, rng=rng),
    "cl-expected": lambda X, r, rng: spikedcl.fit_contrastive(X, r, masks="expected"),
    "cl-fixed": lambda X, r, rng: spikedcl.fit_contrastive(X, r, mask_mode="fixed", rng=rng),
    "cl-fixed-bernoulli": lambda X, r, rng: spikedcl.fit_contrastive(
        X, r, mask_mode="fixed-bernoulli", rng=rng
    ),
    "heteropca": lambda X, r, rng: spikedcl.fit_heteropca(X, r),
}

METRICS = ("sin_theta", "excess_risk", "excess_risk_linear")

QUICK = {
    "n": [500, 1000, 2000, 5000, 10000, 20000, 50000],
    "d": [200],
    "r": 5,
    "condition": [8.0],
    "noise": ["uniform"],
    "reps": 20,
    "methods": ["pca", "cl", "cl-expected", "cl-fixed"],
    "seed": 0,
}


def parse_args(argv=None):
    """Parse the command line; defaults are the quick preset."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, nargs="+", default=QUICK["n"], help="sample sizes")
    p.add_argument("--d", type=int, nargs="+", default=QUICK["d"], help="ambient dimensions")
    p.add_argument("--r", type=int, default=QUICK["r"], help="signal rank")
    p.add_argument(
        "--condition", type=float, nargs="+", default=QUICK["condition"], help="noise variance ratios C"
    )
    p.add_argument(
        "--noise", choices=NOISE_PROFILES, nargs="+", default=QUICK["noise"], help="noise profiles"
    )
    p.add_argument("--reps", type=int, default=QUICK["reps"], help="replicates per grid point")
    p.add_argument("--methods", nargs="+", choices=sorted(METHODS), default=QUICK["methods"])
    p.add_argument("--seed", type=int, default=QUICK["seed"], help="root seed")
    p.add_argument(
        "--metric", choices=METRICS, default="sin_theta", help="quantity of the summary table"
    )
    p.add_argument("--out", help="write the per-replicate rows to this CSV file")
    args = p.parse_args(argv)
    if args.reps < 1:
        p.error("--reps must be >= 1")
    if not 1 <= args.r < min(args.d):
        p.error(f"need 1 <= r < d, got r={args.r}, d={min(args.d)}")
    if min(args.n) < 2:
        p.error("every --n must be >= 2")
    if min(args.condition) < 1:
        p.error("every --condition must be >= 1")
    return args


def grid(args):
    """The grid points (n, d, C, noise) of the sweep, in a fixed order."""
    return list(itertools.product(args.n, args.d, args.condition, args.noise))


def run(args):
    """Return one row per (grid point, replicate, method) with the measured sinΘ."""
    rows = []
    for n, d, condition, noise in grid(args):
        cell = f"n={n},d={d},r={args.r},C={condition:g},noise={noise}"
        for rep in range(args.reps):
            data_seed, mask_seed = spikedcl.cell_seed(args.seed, cell, rep).spawn(2)
            rng = np.random.default_rng(data_seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", spikedcl.SpikedModelWarning)
                model = spikedcl.SpikedModel.random(d, args.r, noise=noise, condition=condition, rng=rng)
                X = model.sample(n, rng=rng)
            w = spikedcl.draw_task(args.r, rng=rng)
            for method in args.methods:
                t0 = time.perf_counter()
                fit = METHODS[method](X, args.r, np.random.default_rng(mask_seed))
                elapsed = time.perf_counter() - t0
                rows.append(
                    {
                        "n": n, "d": d, "r": args.r, "C": condition, "noise": noise,
                        "method": method, "rep": rep, "seed": args.seed,
                        "sin_theta": float(spikedcl.sin_theta(model.U, fit.basis)),
                        "excess_risk": float(spikedcl.excess_risk(fit.basis, model, w)),
                        "excess_risk_linear": float(
                            spikedcl.excess_risk(fit.basis, model, w, reference="linear")
                        ),
                        "time_s": elapsed,
                    }
                )
    return pd.DataFrame(rows)


def summarize(df, metric="sin_theta"):
    """Mean of ``metric`` with a normal 95% confidence half-width, one column per method."""
    keys = [k for k in ("noise", "C", "d", "n") if df[k].nunique() > 1] or ["n"]
    g = df.groupby(keys + ["method"])[metric]
    table = g.mean().map("{:.3f}".format) + " ± " + (1.96 * g.sem().fillna(0.0)).map("{:.3f}".format)
    return table.unstack("method")


def _list(values):
    return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def main(argv=None):
    """Command-line entry point; returns the process exit code."""
    args = parse_args(argv)
    print(
        f"spikedcl {spikedcl.__version__}: n={_list(args.n)}, d={_list(args.d)}, r={args.r}, "
        f"C={_list(args.condition)}, noise={_list(args.noise)}, reps={args.reps}, "
        f"seed={args.seed}, methods={_list(args.methods)}"
    )
    t0 = time.perf_counter()
    df = run(args)
    label = {
        "sin_theta": "‖sinΘ(U*, Û)‖_F",
        "excess_risk": "ΔR_U* = R(Û) − R(U*)",
        "excess_risk_linear": "ΔR_lin = R(Û) − R_lin",
    }[args.metric]
    print(f"\nmean {label} ± 95% CI ({time.perf_counter() - t0:.1f} s)")
    print(summarize(df, args.metric).to_string())
    if args.metric == "sin_theta":
        anchors = ", ".join(
            f"d={d}: {float(spikedcl.theory.random_subspace_value(d, args.r)):.3f}" for d in args.d
        )
        print(f"\nrandom subspace (nothing learned): {anchors}")
    if args.out:
        df.to_csv(args.out, index=False)
        print(f"rows written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
