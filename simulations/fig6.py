"""Figure F6: training reaches the closed forms (spec §3, §9).

Full-batch gradient descent at n = 5000, d = 60, r = 4, λ = 0.5, C = 8:
the loss gap and ‖WᵀW − P*‖_F per iteration for linear CL in both batch forms
(realized masks, the same masks as the closed form), and sinΘ between the
autoencoder's decoder and the PCA subspace. A fourth panel shows the regime
peers train in: minibatch SGD with fresh masks at every step, sinΘ to U* per
epoch for batch sizes 32, 256 and the full batch, against the closed form.

Usage::

    python simulations/fig6.py [--quick] [--seed 0] [--out figures]

Writes ``fig6.pdf``, ``fig6.png`` and the curves as ``fig6.csv``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import spikedcl as sc


def parse_args(argv=None):
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller problem, fewer epochs (seconds)")
    p.add_argument("--seed", type=int, default=0, help="root seed")
    p.add_argument("--out", default="figures", help="output folder")
    return p.parse_args(argv)


def curves(args):
    """Long table of (panel, series, x, value) rows."""
    n, d, r, lam = (2000, 30, 3, 0.5) if args.quick else (5000, 60, 4, 0.5)
    epochs = 5 if args.quick else 40
    data_seed, fit_seed = sc.cell_seed(args.seed, f"fig6 n={n} d={d} r={r}", 0).spawn(2)
    rng = np.random.default_rng(data_seed)
    model = sc.SpikedModel.random(d, r, condition=8.0, rng=rng)
    X = model.sample(n, rng=rng)
    rows = []

    def add(panel, series, values):
        rows.extend({"panel": panel, "series": series, "x": i, "value": v} for i, v in enumerate(values))

    for loss in ("cross-view", "simclr"):
        closed = sc.fit_contrastive(X, r, lam=lam, loss=loss, rng=np.random.default_rng(fit_seed))
        P_star = closed.W.T @ closed.W
        gd = sc.fit_contrastive(
            X, r, lam=lam, loss=loss, solver="gd", rng=np.random.default_rng(fit_seed),
            solver_options={"monitor": lambda W: np.linalg.norm(W.T @ W - P_star)},
        )
        add("loss gap", f"CL {loss}", np.array(gd.info["loss_history"]) - float(closed.loss))
        add("distance to P*", f"CL {loss}", gd.info["monitor"])
    U_pca = sc.fit_pca(X, r).basis
    ae = sc.fit_autoencoder(
        X, r, solver="gd", rng=np.random.default_rng(fit_seed),
        solver_options={"monitor": lambda E, D: sc.sin_theta(U_pca, D)},
    )
    add("loss gap", "AE", np.array(ae.info["loss_history"]) - float(sc.fit_autoencoder(X, r).loss))
    add("AE decoder vs PCA", "AE", ae.info["monitor"])
    level = float(sc.sin_theta(model.U, sc.fit_contrastive(X, r, lam=lam, masks="expected").basis))
    add("minibatch", "closed form (M̄)", [level] * (epochs + 1))
    for batch in (32, 256, n):
        fit = sc.fit_contrastive(
            X, r, lam=lam, solver="sgd", rng=np.random.default_rng(fit_seed),
            solver_options={"batch_size": batch, "epochs": epochs, "monitor": lambda W: sc.sin_theta(model.U, W.T)},
        )
        add("minibatch", f"SGD batch {'full' if batch == n else batch}", [np.nan] + fit.info["monitor"])
    return pd.DataFrame(rows)


def plot(df, out):
    """Four panels, log-scaled where the quantity decays geometrically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("loss gap", "iteration", "L(W_t) − L*", "log"),
        ("distance to P*", "iteration", "‖W_tᵀW_t − P*‖_F", "log"),
        ("AE decoder vs PCA", "iteration", "sinΘ(W_D, U_PCA)", "log"),
        ("minibatch", "epoch", "sinΘ(W, U*)", "linear"),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), constrained_layout=True)
    for ax, (panel, xlabel, ylabel, yscale) in zip(axes, panels):
        sub = df[df.panel == panel]
        for series, g in sub.groupby("series", sort=False):
            y = g.value.to_numpy()
            if yscale == "log":
                y = np.where(y > 0, y, np.nan)
            style = "--" if series.startswith("closed") else "-"
            ax.plot(g.x.to_numpy(), y, style, label=series)
        ax.set(xlabel=xlabel, ylabel=ylabel, yscale=yscale, title=panel)
        ax.legend(fontsize=8)
    out.mkdir(parents=True, exist_ok=True)
    for ext in ("pdf", "png"):
        fig.savefig(out / f"fig6.{ext}", dpi=120, metadata={"CreationDate": None} if ext == "pdf" else None)
    plt.close(fig)


def main(argv=None):
    """Command-line entry point; returns the exit code."""
    args = parse_args(argv)
    df = curves(args)
    out = Path(args.out)
    plot(df, out)
    df.to_csv(out / "fig6.csv", index=False)
    summary = df.groupby(["panel", "series"]).agg(iterations=("x", "max"), last=("value", "last"))
    print(summary.to_string())
    print(f"\nwritten: {out / 'fig6.pdf'}, {out / 'fig6.png'}, {out / 'fig6.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
