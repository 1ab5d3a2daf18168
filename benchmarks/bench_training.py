"""Training cost: gradient descent to the closed form, and minibatch Adam against a peer's setting.

Usage::

    python benchmarks/bench_training.py

1. Full-batch GD on the contrastive statistic M (n = 20000, r = 5, λ = 1):
   steps and seconds until the loss is within 1e-6 (relative) of the closed
   form's, for d = 50, 200, 1000, next to the closed-form time.
2. The setting of the prakharg24/contrastive-learning reproduction (r = 10,
   d = 40, n = 20000, Adam, 50 epochs; about 90 s per fit on 2 CPU cores in its
   own trainer): our minibatch Adam with fresh masks at batch size 256, and the
   closed form, as ratios to those 90 s.
"""

from __future__ import annotations

import time

import numpy as np

import spikedcl as sc

PEER_SECONDS = 90.0


def gd_to_tolerance(d):
    model = sc.SpikedModel.random(d, 5, condition=8.0, rng=0)
    X = model.sample(20_000, rng=1)
    t0 = time.perf_counter()
    closed = sc.fit_contrastive(X, 5, masks="expected")
    t_closed = time.perf_counter() - t0
    target = float(closed.loss)
    M = sc.expected_contrastive_matrix(X)
    t0 = time.perf_counter()
    gd = sc.training.train_contrastive(M, 5, rng=2, solver_options={"tol_grad": 0.0, "max_iter": 20_000})
    t_gd = time.perf_counter() - t0
    hist = np.array(gd.info["loss_history"])
    steps = int(np.argmax(np.abs(hist - target) <= 1e-6 * abs(target)))
    per_step = t_gd / max(gd.n_iter, 1)
    return steps, steps * per_step, t_closed


def main():
    print("GD on M to 1e-6 of the closed-form loss (n = 20000, r = 5)")
    print(f"{'d':>6s} {'steps':>7s} {'GD s':>9s} {'closed form s':>14s}")
    for d in (50, 200, 1000):
        steps, t_gd, t_closed = gd_to_tolerance(d)
        print(f"{d:6d} {steps:7d} {t_gd:9.4f} {t_closed:14.4f}")

    print("\nPeer setting: r = 10, d = 40, n = 20000, 50 epochs of Adam")
    model = sc.SpikedModel.random(40, 10, noise="linear-std", condition=3.8, rng=0)
    X = model.sample(20_000, rng=1)
    t0 = time.perf_counter()
    adam = sc.fit_contrastive(X, 10, solver="adam", rng=2, solver_options={"epochs": 50, "batch_size": 256})
    t_adam = time.perf_counter() - t0
    t0 = time.perf_counter()
    closed = sc.fit_contrastive(X, 10, rng=2)
    t_closed = time.perf_counter() - t0
    print(f"minibatch Adam (fresh masks, batch 256): {t_adam:7.2f} s = {t_adam / PEER_SECONDS:.4f} x peer, "
          f"sinΘ to U* {float(sc.sin_theta(model.U, adam.basis)):.3f}")
    print(f"closed form (realized masks):            {t_closed:7.4f} s = {t_closed / PEER_SECONDS:.6f} x peer, "
          f"sinΘ to U* {float(sc.sin_theta(model.U, closed.basis)):.3f}")


if __name__ == "__main__":
    main()
