"""CPU against GPU: the F1 grid and one large cell, the same library code on NumPy and CuPy.

Usage::

    pip install -e ".[gpu]"                     # on a machine with an NVIDIA GPU
    python benchmarks/bench_gpu.py [--reps 20] [--device both|cpu|cuda]

1. The F1 grid (docs/model.md §9): n in {500, 1k, 2k, 5k, 10k, 20k, 50k}, d = 200, r = 5,
   C = 8, R replicates; per cell PCA, CL with realized masks, mask-averaged CL
   and fixed-mask CL. Data are drawn on the host once and copied to the device
   (bit-identical inputs); the time is that of all fits of the grid, replicates
   batched on a leading axis where ``replicates_per_batch`` allows.
2. A large cell: d = 2000, n = 10⁵, the same four fits on one replicate.

Without CuPy or a GPU the CUDA rows print the reason and the CPU rows still run.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import best_time, machine

import spikedcl as sc
from spikedcl._array_api import namespace_for, to_namespace

GRID_N = (500, 1000, 2000, 5000, 10000, 20000, 50000)


def fits(X, r, rng, batched):
    sc.fit_pca(X, r, batched=batched)
    sc.fit_contrastive(X, r, rng=rng, batched=batched)
    sc.fit_contrastive(X, r, masks="expected", batched=batched)
    sc.fit_contrastive(X, r, mask_mode="fixed", rng=rng, batched=batched)


def grid_time(xp, device, reps, repeat, sync):
    model = sc.SpikedModel.random(200, 5, condition=8.0, rng=0)
    cells = []
    for n in GRID_N:
        host = np.stack([model.sample(n, rng=np.random.SeedSequence(1, spawn_key=(n, i))) for i in range(reps)])
        size = sc.replicates_per_batch(reps, n, 200)
        cells.append([to_namespace(host[i:i + size], xp, device=device) for i in range(0, reps, size)])

    def run():
        rng = np.random.default_rng(2)
        for batches in cells:
            for X in batches:
                fits(X, 5, rng, batched=True)

    return best_time(run, repeat, sync)


def large_cell_time(xp, device, repeat, sync):
    model = sc.SpikedModel.random(2000, 5, condition=8.0, rng=0)
    X = to_namespace(model.sample(100_000, rng=1), xp, device=device)
    return best_time(lambda: fits(X, 5, np.random.default_rng(2), batched=False), repeat, sync)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--device", choices=("both", "cpu", "cuda"), default="both")
    args = p.parse_args(argv)
    print(f"machine: {machine()}")
    devices = ("cpu", "cuda") if args.device == "both" else (args.device,)
    results = {}
    for name in devices:
        try:
            xp, device = namespace_for(name)
        except ValueError as exc:
            print(f"{name}: not run ({exc})")
            continue
        sync = None
        if name == "cuda":
            import cupy

            sync = cupy.cuda.get_current_stream().synchronize
            print(f"cuda: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}, CuPy {cupy.__version__}")
        results[name] = (grid_time(xp, device, args.reps, args.repeat, sync), large_cell_time(xp, device, args.repeat, sync))
    print(f"\n{'case':44s} " + " ".join(f"{d + ' [s]':>10s}" for d in results) + ("  cpu/cuda" if len(results) == 2 else ""))
    for k, label in enumerate((f"F1 grid (7 n x {args.reps} reps x 4 fits, d=200)", "large cell (d=2000, n=1e5, 4 fits)")):
        row = " ".join(f"{results[d][k]:10.2f}" for d in results)
        ratio = f"  {results['cpu'][k] / results['cuda'][k]:8.1f}" if len(results) == 2 else ""
        print(f"{label:44s} {row}{ratio}")


if __name__ == "__main__":
    main()
