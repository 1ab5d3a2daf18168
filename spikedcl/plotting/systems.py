"""Figures of the contrastive-systems sweeps, built only from saved results.

Method labels, colours and markers come from the one table of
:mod:`spikedcl.plotting.styles`.

Each function has the signature ``fn(df, config) -> matplotlib.figure.Figure``
that ``simulations/make_figures.py`` calls with the consolidated long table
and the resolved configuration. Theory curves (fixed points, bounds) are
evaluated from their formulas; every simulated point comes from ``df``.
Matplotlib is imported inside the functions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..analysis import mean_ci, select
from ..systems.byol import integrate_modes, mode_fixed_points, predicted_eigenvalues
from ..systems.negatives import loglog_slope_ci
from ..theory import loglog_slope
from ._common import describe, figure_docstring, mean_band
from .styles import METHOD_LABELS, method_style, style

__all__ = ["losses", "nt_xent", "nt_xent_style", "align_uniform", "spectral", "siglip", "byol", "collapse", "batch_size", "bias_slopes"]

def _figure(n_panels, width=4.0, height=3.3):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n_panels, figsize=(width * n_panels, height), squeeze=False)
    return fig, axes[0]


def _task_rows(frame, task):
    """The rows of ``frame`` from one ``task`` (none when the results have no ``task`` column)."""
    return frame[frame["task"] == task] if "task" in frame else frame.iloc[0:0]


def _lines(ax, df, x, metric, methods=None, *, by="method", logx=False, logy=False, labels=METHOD_LABELS,
           marker=None, slope=False, styled=True):
    """Mean lines over bands of ``metric`` vs ``x``, one per value of ``by``.

    With ``by="method"`` and ``styled``, each method takes its colour and marker
    from the one table (:func:`spikedcl.plotting.styles.method_style`); an
    explicit ``marker`` overrides the table's.
    """
    data = select(df, metric)
    data = data[data["method"] != "theory"]
    keys = methods or list(dict.fromkeys(data[by]))
    for key in keys:
        part = data[data[by] == key]
        if part.empty:
            continue
        stats = mean_ci(part, x)
        label = labels.get(key, str(key))
        if slope and len(stats) >= 2 and (stats["mean"] > 0).all():
            label += f" (slope {loglog_slope(stats[x], stats['mean'])[0]:+.2f})"
        kw = method_style(key) if styled and by == "method" else {}
        kw.pop("linestyle", None)
        kw["marker"] = marker or kw.get("marker", "o")
        mean_band(ax, stats, x, label=label, **kw)
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlabel(x)
    ax.set_ylabel(metric)


def _finish(fig, config, axes, *, below=False, xlabel=None):
    """Legends, the shared x label (``xlabel``) of every panel, the description as title; layout."""
    for ax in axes:
        if xlabel is not None:
            ax.set_xlabel(xlabel)
        if ax.get_legend_handles_labels()[1]:
            if below:  # keep crowded panels readable: the legend under the axes
                ax.legend(frameon=False, fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
            else:
                ax.legend(frameon=False, fontsize=6.5)
    describe(fig, config, width=int(60 * fig.get_size_inches()[0] / 4), fontsize=7.5, y=1.02)
    fig.tight_layout()
    return fig


@figure_docstring("losses", "Three panels.")
def losses(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """Head-to-head: sinΘ, ΔR_U* and ΔR_lin vs n for every method."""
    with style():
        fig, axes = _figure(3)
        _lines(axes[0], df, "n", "sin_theta", logx=True, logy=True, slope=True)
        axes[0].set_ylabel("‖sin Θ(U*, Û)‖_F")
        _lines(axes[1], df, "n", "excess_risk", logx=True)
        axes[1].axhline(0, color="0.4", linewidth=0.8)
        axes[1].set_ylabel("ΔR_U* = R(Û) − R(U*)")
        _lines(axes[2], df, "n", "excess_risk_linear", logx=True, logy=True, slope=True)
        axes[2].set_ylabel("ΔR_lin = R(Û) − R_lin")
        return _finish(fig, config, axes, below=True)


@figure_docstring("nt_xent", "Three panels.")
def nt_xent(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """S-2: sinΘ, ΔR_lin and RankMe vs temperature."""
    with style():
        fig, axes = _figure(3)
        for ax, metric, logy in zip(axes, ("sin_theta", "excess_risk_linear", "rankme"), (False, True, False)):
            _lines(ax, df, "temperature", metric, logx=True, logy=logy)
        return _finish(fig, config, axes, xlabel="temperature τ")


@figure_docstring("nt_xent_style", "Two panels: the style, then the signal.")
def nt_xent_style(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """S-3: held-out R² of ridge probes of the style c and of the signal, from h and from z, vs training steps."""
    names = {("nt-xent-head", "h"): "ReLU head: h (before the head)", ("nt-xent-head", "z"): "ReLU head: z (after)",
             ("nt-xent", "h"): "no head: h = z"}
    with style():
        fig, axes = _figure(2, width=4.6)
        for ax, target in zip(axes, ("style", "signal")):
            for (method, feat), label in names.items():
                part = select(df, f"{target}_r2_{feat}", method)
                if part.empty:
                    continue
                stats = mean_ci(part, "steps")
                mean_band(ax, stats, "steps", marker="o", label=label, linestyle="--" if feat == "z" else "-")
            ax.set_xscale("symlog", linthresh=10)
            ax.axhline(0, color="0.4", linewidth=0.8)
            ax.set_xlabel("Adam steps (0 = random initialisation)")
            ax.set_ylabel(f"held-out R² of a ridge probe of the {target}")
        return _finish(fig, config, axes)


@figure_docstring("align_uniform", "Three panels.")
def align_uniform(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """U-3: sinΘ / ΔR_lin and the two losses vs the weight ratio λa/λu."""
    with style():
        fig, axes = _figure(3)
        _lines(axes[0], df, "ratio", "sin_theta", logx=True)
        _lines(axes[1], df, "ratio", "excess_risk_linear", logx=True, logy=True)
        _lines(axes[2], df, "ratio", "uniform", methods=["align-uniform"], logx=True, styled=False,
               labels={"align-uniform": "L_uniform (t = 2)"})
        _lines(axes[2], df, "ratio", "align", methods=["align-uniform"], logx=True, marker="s", styled=False,
               labels={"align-uniform": "L_align (α = 2)"})
        floor = select(df, "uniform_min", "theory")
        if len(floor):
            axes[2].axhline(float(floor["value"].mean()), linestyle="--", color="0.35",
                            label="min L_uniform on S^{r−1}")
        axes[2].set_ylabel("loss value")
        return _finish(fig, config, axes, xlabel="λ_align / λ_uniform")


@figure_docstring("spectral", "Three panels.")
def spectral(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """G-3: sinΘ and the two excess risks vs n; GD's loss gap to the closed form."""
    with style():
        fig, axes = _figure(3)
        methods = ["spectral", "spectral-gd", "cl", "pca"]
        _lines(axes[0], df, "n", "sin_theta", methods, logx=True, logy=True, slope=True)
        axes[0].set_ylabel("‖sin Θ(U*, Û)‖_F")
        _lines(axes[1], df, "n", "excess_risk", methods, logx=True)
        axes[1].set_ylabel("ΔR_U* = R(Û) − R(U*)")
        axes[1].axhline(0, color="0.4", linewidth=0.8)
        for ax, metric in zip(axes[:2], ("sin_theta", "excess_risk")):
            level = select(df, metric, "spectral-population")
            if len(level):
                value = float(level["value"].mean())
                ax.axhline(value, linestyle=":", color="0.3", label=f"spectral, n = ∞: {value:.3f}")
        _lines(axes[2], df, "n", "loss_gap", logx=True)
        axes[2].set_ylabel("(L_GD − L*) / |L*|")
        return _finish(fig, config, axes)


@figure_docstring("siglip", "Three panels.")
def siglip(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """Sg-1/Sg-2: retrieval and tower sinΘ vs batch size at a fixed budget; initial loss vs bias."""
    with style():
        fig, axes = _figure(3)
        _lines(axes[0], df, "batch_size", "retrieval_top1", methods=["siglip", "clip"], logx=True)
        _lines(axes[1], df, "batch_size", "sin_theta_a", methods=["siglip", "clip"], logx=True)
        init = select(df, "initial_loss", "siglip-init")
        if len(init):
            _lines(axes[2], init, "batch_size", "initial_loss", by="bias_init", logx=True, logy=True,
                   labels={b: f"b = {b:g}" for b in init["bias_init"].unique()})
            B = np.array(sorted(init["batch_size"].unique()), dtype=float)
            axes[2].plot(B, (B - 1) * math.log(2), linestyle="--", color="0.35", label="(B − 1) log 2")
        axes[2].set_ylabel("loss per row at initialisation")
        return _finish(fig, config, axes, xlabel="batch size B")


@figure_docstring("byol", "Two panels; the phase plane is evaluated from the per-mode ODE.")
def byol(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """B-1–B-4: final eigenvalues vs weight decay against the fixed points; the (p, s) phase plane."""
    params = config.get("params", {})
    sigma2, alpha_p = float(params.get("sigma2", 0.5)), float(params.get("alpha_p", 1.0))
    with style():
        fig, axes = _figure(2, width=4.4)
        _lines(axes[0], df, "eta", "s_max", methods=["simsiam", "byol", "directpred", "no-predictor"],
               labels={**METHOD_LABELS, "byol": "BYOL (EMA target, β = 0.05)", "simsiam": "SimSiam (stop-grad)"})
        eta = np.linspace(0, 0.3, 301)
        fps = [mode_fixed_points(1.0, e, sigma2, alpha_p) for e in eta]
        s_plus, s_dp = (np.array(s) for s in zip(*map(predicted_eigenvalues, fps)))
        axes[0].plot(eta, s_plus, "--", color="0.3", label="s₊ = p₊²/α_p")
        axes[0].plot(eta, s_dp, ":", color="0.3", label="DirectPred: p₊ = 1.1 √s")
        axes[0].axvline(fps[0]["threshold"], color="tab:red", linewidth=0.8, label="η* = 1/(4(1+σ²))")
        axes[0].set_xlabel("weight decay η")
        axes[0].set_ylabel("largest eigenvalue of F = WWᵀ")
        ax = axes[1]
        for e, color in ((0.05, "tab:blue"), (0.15, "tab:orange"), (0.2, "tab:red")):
            grid = np.linspace(0.02, 0.9, 7)
            p0, s0 = np.repeat(grid, 3), np.tile([0.05, 0.3, 0.6], 7)
            path_p, path_s = [p0], [s0]
            p, s = p0, s0
            for _ in range(60):
                p, s = integrate_modes(p, s, eta=e, sigma2=sigma2, alpha_p=alpha_p, n_steps=50)
                path_p.append(p)
                path_s.append(s)
            P, S = np.array(path_p), np.array(path_s)
            ax.plot(P, S, color=color, linewidth=0.6, alpha=0.6)
            f = mode_fixed_points(1.0, e, sigma2, alpha_p)
            ax.plot([], [], color=color, label=f"η = {e:g}")
            if not math.isnan(f["p_plus"]):
                ax.plot(f["p_plus"], f["s_plus"], "o", color=color)
                ax.axvline(f["p_minus"], color=color, linestyle=":", linewidth=0.8)
        ax.set_xlabel("predictor eigenvalue p")
        ax.set_ylabel("eigenvalue s of F")
        ax.set_title("per-mode flow; dots p₊, dotted p₋", fontsize=8)
        return _finish(fig, config, axes)


@figure_docstring("collapse", "Three panels.")
def collapse(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """D-1–D-3: spectra of the toys, RankMe vs augmentation noise, RankMe vs keep-probability."""
    with style():
        fig, axes = _figure(3)
        ax = axes[0]
        spec = select(df, "log10_eig")
        toy = _task_rows(spec, "toy")
        for (case, noise), part in toy.groupby(["case", "aug_noise"]):
            if noise not in (0.01, 3.0) and not (case == 2 and noise == 0.01):
                continue
            stats = part.groupby("index")["value"].mean()
            ax.plot(stats.index + 1, stats.to_numpy(), marker="o",
                    label=f"{int(case)} layer{'s' if case == 2 else ''}, noise {noise:g}")
        ax.set_xlabel("eigenvalue index")
        ax.set_ylabel("log₁₀ eigenvalue of the embedding covariance")
        rk = select(df, "rankme")
        toy_rk = _task_rows(rk, "toy")
        if len(toy_rk):
            _lines(axes[1], toy_rk, "aug_noise", "rankme", logx=True,
                   labels={"linear-1-layer": "1 linear layer", "linear-2-layer": "2 linear layers"})
        axes[1].set_xlabel("augmentation noise on the last 8 coordinates")
        axes[1].set_ylabel("RankMe (of 16)")
        mask = _task_rows(rk, "masking")
        if len(mask):
            _lines(axes[2], mask, "mask_prob", "rankme", labels={"cl": "linear CL, k = 10"})
        axes[2].set_xlabel("mask probability p")
        axes[2].set_ylabel("RankMe of X Wᵀ")
        return _finish(fig, config, axes)


#: Smallest batch size in the log-log slope fits of the N-2 bias (below it the O(1/N²) terms show).
BIAS_FIT_MIN_N = 16


def bias_slopes(df: pd.DataFrame, *, min_n: int = BIAS_FIT_MIN_N, level: float = 0.95) -> pd.DataFrame:
    """Log-log slopes in N of the N-2 biases, with confidence intervals, from the ``batch_size`` results.

    Parameters
    ----------
    df : pandas.DataFrame
        Long results holding the ``bias`` rows of the ``"bias"`` task.
    min_n : int, default=16
        Smallest batch size N used in the fit.
    level : float, default=0.95
        Confidence level of the slope interval.

    Returns
    -------
    pandas.DataFrame
        One row per (method, temperature): ``slope``, ``half_width``, ``sign``
        (of the mean bias; NaN when it changes sign over the fitted N) and
        ``scaled`` = mean of :math:`2N\\cdot b(N)` over the fitted N.
    """
    import pandas as pd

    bias = select(_task_rows(df, "bias"), "bias")
    out = []
    for (method, tau), part in bias.groupby(["method", "temperature"]):
        g = part[part["K"] >= min_n].groupby("K")["value"]
        stats = pd.DataFrame({"mean": g.mean(), "sem": g.sem()}).reset_index()
        if len(stats) < 2 or (stats["sem"].fillna(0) <= 0).any() or (stats["mean"] == 0).any():
            continue
        slope, half = loglog_slope_ci(stats["K"], stats["mean"], stats["sem"], level=level)
        signs = np.sign(stats["mean"].to_numpy())
        out.append({"method": method, "temperature": tau, "slope": slope, "half_width": half,
                    "sign": float(signs[0]) if np.all(signs == signs[0]) else math.nan,
                    "scaled": float(np.mean(2 * stats["K"] * stats["mean"]))})
    return pd.DataFrame(out, columns=["method", "temperature", "slope", "half_width", "sign", "scaled"])


def _bias_panels(ax_scaled, ax_abs, df):
    """N-2: 2N·bias vs N against the first-order prediction; |bias| vs N on log-log axes with fitted slopes."""
    rows = _task_rows(df, "bias")
    bias = select(rows, "bias")
    slopes = bias_slopes(df).set_index(["method", "temperature"])
    colors = {}
    for (method, tau), part in bias.groupby(["method", "temperature"]):
        part = part.assign(value=2 * part["K"] * part["value"])
        stats = mean_ci(part, "K")
        linestyle = "-" if method == "nt-xent" else "--"
        kw = {"color": colors[tau]} if tau in colors else {}
        name = "NT-Xent" if method == "nt-xent" else "log-mean of negatives"
        line = mean_band(ax_scaled, stats, "K", alpha=0.15, marker="o", markersize=3, linestyle=linestyle,
                         label=f"{name}, τ = {tau:g}", **kw)
        colors[tau] = line.get_color()
        theory = select(rows, f"bias_first_order_{method.replace('-', '_')}", "theory", {"temperature": tau})
        if len(theory):
            th = theory.assign(value=2 * theory["K"] * theory["value"]).groupby("K")["value"].mean()
            ax_scaled.plot(th.index, th.to_numpy(), ":", color=colors[tau], linewidth=1.0)
        absolute = mean_ci(bias[(bias["method"] == method) & (bias["temperature"] == tau)], "K")
        label = f"{name}, τ = {tau:g}"
        if (method, tau) in slopes.index:
            fit = slopes.loc[(method, tau)]
            sign = {1.0: ">0", -1.0: "<0"}.get(fit["sign"], "±")
            label += f" ({sign}; slope {fit['slope']:+.2f} ± {fit['half_width']:.2f})"
        ax_abs.plot(absolute["K"], absolute["mean"].abs(), marker="o", markersize=3, linestyle=linestyle,
                    color=colors[tau], label=label,
                    markerfacecolor=colors[tau] if method == "log-mean" or (absolute["mean"] < 0).all() else "white")
    ax_scaled.axhline(0, color="0.4", linewidth=0.8)
    ax_scaled.plot([], [], ":", color="0.3", label="first-order prediction")
    ax_scaled.set_xscale("log")
    ax_scaled.set_yscale("symlog", linthresh=1.0)
    ax_scaled.set_xlabel("batch size N (pairs)")
    ax_scaled.set_ylabel("2N · (E L_N − log(2N−1) − L_∞)")
    ax_abs.set_xscale("log")
    ax_abs.set_yscale("log")
    ax_abs.set_xlabel("batch size N (pairs)")
    ax_abs.set_ylabel(f"|bias| (slope fitted over N ≥ {BIAS_FIT_MIN_N})")


@figure_docstring("batch_size", "One panel for N-1, two for N-2 and one for N-3 (those whose results are present).")
def batch_size(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """N-1: InfoNCE vs K against log K and I; N-2: the minibatch NT-Xent bias vs N; N-3: ΔR_lin vs batch size."""
    training = select(df, "excess_risk_linear")
    has_bias = len(select(_task_rows(df, "bias"), "bias")) > 0
    with style():
        fig, axes = _figure(1 + 2 * has_bias + (len(training) > 0), width=4.6, height=3.6)
        ax = axes[0]
        est = select(df, "mi_estimate", "info-nce")
        for rho, part in est.groupby("rho"):
            stats = mean_ci(part, "K")
            info = float(select(df, "mutual_information", "theory", {"rho": rho})["value"].mean())
            line = mean_band(ax, stats, "K", alpha=0.2, marker="o", label=f"ρ = {rho:g} (I = {info:.2f} nats)")
            ax.axhline(info, color=line.get_color(), linestyle=":", linewidth=0.9)
        K = np.array(sorted(est["K"].unique()), dtype=float)
        ax.plot(K, np.log(K), "--", color="0.3", label="log K")
        ax.set_xscale("log")
        ax.set_xlabel("batch size K")
        ax.set_ylabel("InfoNCE estimate log K − L (nats)")
        if has_bias:
            _bias_panels(axes[1], axes[2], df)
        if len(training):
            ax = axes[-1]
            for (method, lr), part in training.groupby(["method", "lr"]):
                stats = mean_ci(part, "batch_size")
                style_kw = {"marker": "o", **method_style(method),
                            "linestyle": "-" if lr == training["lr"].min() else "--"}
                mean_band(ax, stats, "batch_size", alpha=0.15,
                          label=f"{METHOD_LABELS.get(method, method)}, lr {lr:g}", **style_kw)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ticks = sorted(training["batch_size"].unique())
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.minorticks_off()
            ax.set_xlabel("batch size B (fixed number of Adam steps)")
            ax.set_ylabel("ΔR_lin = R(Û) − R_lin")
        return _finish(fig, config, axes, below=has_bias)
