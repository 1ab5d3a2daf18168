"""Scaling past memory: streamed fits at huge n, matrix-free fits at large d.

Usage::

    python benchmarks/bench_scale.py                 # both parts, the issue's sizes
    python benchmarks/bench_scale.py --part n --n 10000000
    python benchmarks/bench_scale.py --part d --d 10000 --n-d 20000 --dense-d 2000

Part n: CL (realized masks and mask-averaged) and PCA fitted to n = 10⁷ samples
of dimension 200 by streaming sufficient statistics (``fit_contrastive_streamed``,
``fit_pca_streamed``): wall time and the peak resident memory of the process.

Part d: CL fitted at d = 10,000, n = 20,000 with ``eigensolver="matrix-free"``
(no d x d matrix): wall time, peak memory and the peak's growth during the fit
("fit extra"; the data are drawn in chunks first), with the sizes of the data
and of one d x d matrix for reference; and, at a size where the dense path fits (``--dense-d``), the
sinΘ between the matrix-free and the dense subspaces.

Each case runs in a fresh interpreter so that its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import machine, peak_rss_mib, run_isolated


def _case(args):
    """Child process: one fit, then a JSON line with time and peak memory."""
    import numpy as np

    import spikedcl as sc

    warnings.simplefilter("ignore")
    model = sc.SpikedModel.random(args.d, args.r, condition=8.0, rng=0)
    out = {"case": args.case, "n": args.n, "d": args.d, "r": args.r}
    base = peak_rss_mib()
    t0 = time.perf_counter()
    if args.case.startswith("streamed"):
        if args.case == "streamed-pca":
            fit = sc.fit_pca_streamed(model, args.n, args.r, rng=1, memory_limit=args.memory_limit)
        else:
            masks = "expected" if args.case == "streamed-cl-expected" else "realized"
            fit = sc.fit_contrastive_streamed(model, args.n, args.r, rng=1, mask_rng=2, masks=masks,
                                              memory_limit=args.memory_limit)
        out["chunk_size"] = fit.info["streamed"]["chunk_size"]
    else:
        # drawn in chunks into one array, so that sampling's temporaries do not set the peak
        X = np.empty((args.n, args.d))
        row = 0
        for chunk in model.sample_chunks(args.n, max(1, 2**23 // args.d), rng=1):  # 64 MiB chunks
            X[row:row + chunk.shape[0]] = chunk
            row += chunk.shape[0]
        del chunk
        out["sample_s"] = time.perf_counter() - t0
        out["data_mib"] = X.nbytes / 2**20
        out["before_fit_peak_mib"] = peak_rss_mib()
        t0 = time.perf_counter()
        masks = "expected" if args.case.endswith("expected") else "realized"
        solver = "dense" if args.case.startswith("dense") else "matrix-free"
        fit = sc.fit_contrastive(X, args.r, rng=2, masks=masks, eigensolver=solver)
        if args.save:
            np.save(args.save, fit.basis)
    out["fit_s"] = time.perf_counter() - t0
    out["sin_theta_to_U"] = float(sc.sin_theta(model.U, fit.basis))
    out["peak_mib"] = peak_rss_mib()
    out["start_mib"] = base
    print(json.dumps(out))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=("n", "d", "both"), default="both")
    p.add_argument("--n", type=int, default=10_000_000, help="samples of part n")
    p.add_argument("--d", type=int, default=10_000, help="dimension of part d")
    p.add_argument("--n-d", type=int, default=20_000, help="samples of part d")
    p.add_argument("--dense-d", type=int, default=2_000, help="dimension of the dense comparison")
    p.add_argument("--r", type=int, default=5)
    p.add_argument("--memory-limit", type=int, default=256 * 2**20)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--save", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.case:
        return _case(args)

    me = os.path.abspath(__file__)
    print(f"machine: {machine()}")
    common = ["--r", str(args.r), "--memory-limit", str(args.memory_limit)]
    if args.part in ("n", "both"):
        print(f"\nPart n: streamed fits, n = {args.n:,}, d = 200, r = {args.r}")
        print(f"{'case':24s} {'time [s]':>9s} {'peak RSS [MiB]':>15s} {'chunk':>7s} {'sinΘ(U*)':>9s}")
        for case in ("streamed-cl", "streamed-cl-expected", "streamed-pca"):
            res = run_isolated(me, ["--case", case, "--n", str(args.n), "--d", "200", *common])
            print(f"{case:24s} {res['fit_s']:9.1f} {res['peak_mib']:15.0f} {res['chunk_size']:7d} "
                  f"{res['sin_theta_to_U']:9.3f}")
    if args.part in ("d", "both"):
        import numpy as np

        import spikedcl as sc

        print(f"\nPart d: matrix-free CL, r = {args.r}")
        print(f"{'case':26s} {'d':>6s} {'n':>7s} {'fit [s]':>8s} {'data [MiB]':>11s} {'peak RSS [MiB]':>15s} "
              f"{'fit extra [MiB]':>16s} {'d x d [MiB]':>12s}")
        for d, n in ((args.d, args.n_d),):
            for case in ("matrix-free-expected", "matrix-free-realized"):
                res = run_isolated(me, ["--case", case, "--n", str(n), "--d", str(d), *common])
                print(f"{case:26s} {d:6d} {n:7d} {res['fit_s']:8.1f} {res['data_mib']:11.0f} "
                      f"{res['peak_mib']:15.0f} {res['peak_mib'] - res['before_fit_peak_mib']:16.0f} "
                      f"{d * d * 8 / 2**20:12.0f}")
        d = args.dense_d
        n = 2 * d
        print(f"\nMatrix-free against dense where dense fits: d = {d}, n = {n}")
        for masks in ("expected", "realized"):
            bases = {}
            for solver in ("dense", "matrix-free"):
                path = f"/tmp/spikedcl-bench-{os.getpid()}-{solver}.npy"
                res = run_isolated(me, ["--case", f"{solver}-{masks}", "--n", str(n), "--d", str(d),
                                        "--save", path, *common])
                bases[solver] = np.load(path)
                os.remove(path)
                print(f"{solver + '-' + masks:26s} {d:6d} {n:7d} {res['fit_s']:8.1f} {res['data_mib']:11.0f} "
                      f"{res['peak_mib']:15.0f}")
            print(f"  sinΘ(matrix-free, dense) = {float(sc.sin_theta(bases['dense'], bases['matrix-free'])):.1e}")


if __name__ == "__main__":
    main()
