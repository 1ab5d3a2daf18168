"""A/B timing of the closed-form fits, one release per process.

Run it once per release, alternately, in fresh processes
(``PYTHONPATH=<release checkout> python benchmarks/bench_ab.py LABEL``): it prints
one line of best-of-25 times in ms at n = 20,000, d = 200, r = 5, so that two
releases can be compared on a machine whose neighbours make single timings noisy
(see benchmarks/README.md). Only public functions are called, so any release runs it.
"""

import sys
import time
import warnings

import numpy as np

import spikedcl as sc

N, D, R = 20_000, 200, 5


def best_ms(fn, repeat=25):
    """Best wall time of ``fn()`` over ``repeat`` calls after one warm-up call, in ms."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def main(label="run"):
    warnings.simplefilter("ignore")
    X = np.random.default_rng(0).standard_normal((N, D))
    cases = {
        "XtX": lambda: X.T @ X,
        "floor": lambda: np.linalg.eigh(X.T @ X),
        "pca": lambda: sc.fit_pca(X, R),
        "expected": lambda: sc.fit_contrastive(X, R, masks="expected"),
        "realized": lambda: sc.fit_contrastive(X, R, rng=1),
        "simclr": lambda: sc.fit_contrastive(X, R, rng=1, loss="simclr"),
        "p0.3": lambda: sc.fit_contrastive(X, R, rng=1, p=0.3),
        "heteropca": lambda: sc.fit_heteropca(X, R),
    }
    print(label, " ".join(f"{k}={best_ms(fn):.2f}" for k, fn in cases.items()), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:2])
