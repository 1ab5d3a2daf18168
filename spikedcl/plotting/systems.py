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
from ._common import (
    annotate_slopes,
    coincident_groups,
    figure_docstring,
    figure_legend,
    grow_for_legends,
    legend_below,
    log_axis,
    mean_band,
    new_figure,
    signed,
)
from .styles import METHOD_LABELS, PALETTE, REFERENCE, axis_label, method_style, style

__all__ = ["losses", "nt_xent", "nt_xent_style", "align_uniform", "spectral", "siglip", "byol", "collapse", "batch_size", "bias_slopes"]

#: Colours of curves indexed by a parameter rather than a method (temperatures, correlations, biases).
SERIES_COLORS = (PALETTE["blue"], PALETTE["orange"], PALETTE["bluish green"], PALETTE["vermillion"],
                 PALETTE["reddish purple"], PALETTE["sky blue"], PALETTE["black"])


def _figure(n_panels, height=2.3, **kw):
    fig, axes = new_figure(1, n_panels, width="two", height=height, **kw)
    return fig, list(axes[0])


def _task_rows(frame, task):
    """The rows of ``frame`` from one ``task`` (none when the results have no ``task`` column)."""
    return frame[frame["task"] == task] if "task" in frame else frame.iloc[0:0]


def _lines(ax, df, x, metric, methods=None, *, by="method", logx=False, logy=False, labels=METHOD_LABELS,
           slope=False, styled=True, **extra):
    """Mean lines over bands of ``metric`` vs ``x``, one per value of ``by``; returns the slope ends.

    With ``by="method"`` and ``styled``, each method takes its colour, marker
    and line style from the one table
    (:func:`spikedcl.plotting.styles.method_style`); other curves take the
    :data:`SERIES_COLORS` in turn. ``extra`` overrides the style. Curves that
    coincide are drawn once, their labels joined by " = ".
    """
    data = select(df, metric)
    data = data[data["method"] != "theory"]
    keys = methods or (list(dict.fromkeys(data[by])) if by == "method" else sorted(data[by].unique()))
    curves = []
    for i, key in enumerate(keys):
        part = data[data[by] == key]
        if part.empty:
            continue
        kw = method_style(key) if styled and by == "method" else {}
        if not kw:
            kw = {"color": SERIES_COLORS[i % len(SERIES_COLORS)], "marker": "o"}
        kw.setdefault("marker", "o")
        kw.update(extra)
        curves.append((key, labels.get(key, str(key)), kw, mean_ci(part, x)))
    ends = []
    for group in coincident_groups([(c[3][x], c[3]["mean"]) for c in curves]):
        key, _, kw, stats = curves[group[0]]
        label = " = ".join(curves[i][1] for i in group)
        line = mean_band(ax, stats, x, label=label, gid=key if by == "method" else None, **kw)
        if slope and len(stats) >= 2 and (stats["mean"] > 0).all():
            ends.append((float(stats["mean"].iloc[-1]), signed(loglog_slope(stats[x], stats["mean"])[0]),
                         line.get_color()))
    if logy:
        log_axis(ax, "y")
    if logx:
        log_axis(ax, "x", data[x].unique())
    ax.set_xlabel(axis_label(x))
    ax.set_ylabel(axis_label(metric))
    return ends


def _finish(fig, axes, *, shared=True, ends=None):
    """One legend for the figure (``shared``) or one under each panel; then the slopes at the curves' ends."""
    if shared:
        figure_legend(fig, axes)
    else:
        grow_for_legends(fig, [legend_below(ax) for ax in axes])
    for ax, e in zip(axes, ends or []):
        annotate_slopes(ax, e)
    return fig


@figure_docstring("losses", "Three panels 7 inches wide, fitted slopes at the curves' ends, one legend.")
def losses(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """Head-to-head: sinΘ, ΔR_U* and ΔR_lin vs n for every method."""
    with style():
        fig, axes = _figure(3)
        e0 = _lines(axes[0], df, "n", "sin_theta", logx=True, logy=True, slope=True)
        _lines(axes[1], df, "n", "excess_risk", logx=True)
        axes[1].axhline(0, color=REFERENCE, linewidth=0.8)
        e2 = _lines(axes[2], df, "n", "excess_risk_linear", logx=True, logy=True, slope=True)
        return _finish(fig, axes, ends=[e0, [], e2])


@figure_docstring("nt_xent", "Three panels 7 inches wide, one legend.")
def nt_xent(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """S-2: sinΘ, ΔR_lin and RankMe vs temperature."""
    with style():
        fig, axes = _figure(3)
        for ax, metric, logy in zip(axes, ("sin_theta", "excess_risk_linear", "rankme"), (False, True, False)):
            _lines(ax, df, "temperature", metric, logx=True, logy=logy)
        return _finish(fig, axes)


@figure_docstring("nt_xent_style", "Two panels 7 inches wide: the style, then the signal; one legend.")
def nt_xent_style(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """S-3: held-out R² of ridge probes of the style c and of the signal, from h and from z, vs training steps."""
    names = {("nt-xent-head", "h"): r"ReLU head: $h$ (before the head)",
             ("nt-xent-head", "z"): r"ReLU head: $z$ (after the head)",
             ("nt-xent", "h"): r"no head: $h = z$"}
    with style():
        fig, axes = _figure(2)
        for ax, target, what in zip(axes, ("style", "signal"), ("the style $c$", "the signal")):
            for (method, feat), label in names.items():
                part = select(df, f"{target}_r2_{feat}", method)
                if part.empty:
                    continue
                kw = method_style(method)
                if feat == "z":
                    kw.update(linestyle=(0, (4, 2)), markerfacecolor="none")
                else:
                    kw.update(linestyle="-")
                mean_band(ax, mean_ci(part, "steps"), "steps", label=label, gid=method, **kw)
            ax.set_xscale("symlog", linthresh=10)
            ax.axhline(0, color=REFERENCE, linewidth=0.8)
            ax.set_title(f"probe of {what}")
            ax.set_xlabel("Adam steps (0: random initialisation)")
            ax.set_ylabel("held-out $R^2$ of a ridge probe")
        return _finish(fig, axes)


@figure_docstring("align_uniform", "Three panels 7 inches wide, one legend.")
def align_uniform(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """U-3: sinΘ / ΔR_lin and the two losses vs the weight ratio λa/λu."""
    with style():
        fig, axes = _figure(3)
        _lines(axes[0], df, "ratio", "sin_theta", logx=True)
        _lines(axes[1], df, "ratio", "excess_risk_linear", logx=True, logy=True)
        _lines(axes[2], df, "ratio", "uniform", methods=["align-uniform"], logx=True, styled=False,
               labels={"align-uniform": r"$\mathcal{L}_{\mathrm{uniform}}$ ($t = 2$)"}, color=PALETTE["black"],
               marker="^", linestyle="-")
        _lines(axes[2], df, "ratio", "align", methods=["align-uniform"], logx=True, styled=False,
               labels={"align-uniform": r"$\mathcal{L}_{\mathrm{align}}$ ($\alpha = 2$)"}, color=PALETTE["black"],
               marker="s", markerfacecolor="none", linestyle=(0, (4, 2)))
        floor = select(df, "uniform_min", "theory")
        if len(floor):
            axes[2].axhline(float(floor["value"].mean()), linestyle="-.", color=REFERENCE,
                            label=r"minimum of $\mathcal{L}_{\mathrm{uniform}}$ on $S^{r-1}$")
        axes[2].set_ylabel("loss value")
        return _finish(fig, axes)


@figure_docstring("spectral", "Three panels 7 inches wide, fitted slopes at the curves' ends, one legend.")
def spectral(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """G-3: sinΘ and the two excess risks vs n; GD's loss gap to the closed form."""
    with style():
        fig, axes = _figure(3)
        methods = ["spectral", "spectral-gd", "cl", "pca"]
        e0 = _lines(axes[0], df, "n", "sin_theta", methods, logx=True, logy=True, slope=True)
        _lines(axes[1], df, "n", "excess_risk", methods, logx=True)
        axes[1].axhline(0, color=REFERENCE, linewidth=0.8)
        for ax, metric in zip(axes[:2], ("sin_theta", "excess_risk")):
            level = select(df, metric, "spectral-population")
            if len(level):
                kw = {k: v for k, v in method_style("spectral-population").items() if k in ("color", "linestyle")}
                ax.axhline(float(level["value"].mean()), label=METHOD_LABELS["spectral-population"],
                           gid="spectral-population", **kw)
        _lines(axes[2], df, "n", "loss_gap", logx=True, logy=True)
        axes[2].set_ylabel(r"$(L_{\mathrm{GD}} - L^\star) / |L^\star|$")
        return _finish(fig, axes, ends=[e0])


@figure_docstring("siglip", "Three panels 7 inches wide, one legend.")
def siglip(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """Sg-1/Sg-2: retrieval and tower sinΘ vs batch size at a fixed budget; initial loss vs bias."""
    with style():
        fig, axes = _figure(3)
        _lines(axes[0], df, "batch_size", "retrieval_top1", methods=["siglip", "clip"], logx=True)
        _lines(axes[1], df, "batch_size", "sin_theta_a", methods=["siglip", "clip"], logx=True)
        axes[1].set_ylabel(axis_label("sin_theta_a") + ", tower $a$")
        init = select(df, "initial_loss", "siglip-init")
        if len(init):
            _lines(axes[2], init, "batch_size", "initial_loss", by="bias_init", logx=True, logy=True,
                   labels={b: f"SigLIP at initialisation, $b = {b:g}$" for b in init["bias_init"].unique()})
            B = np.array(sorted(init["batch_size"].unique()), dtype=float)
            axes[2].plot(B, (B - 1) * math.log(2), linestyle="-.", color=REFERENCE, label=r"$(B - 1)\log 2$")
        axes[2].set_ylabel("loss per row at initialisation")
        for ax in axes:
            ax.set_xlabel(axis_label("batch_size"))
        return _finish(fig, axes)


@figure_docstring("byol", "Two panels 7 inches wide, each with its legend; the phase plane is evaluated from the "
                          "per-mode ODE.")
def byol(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """B-1–B-4: final eigenvalues vs weight decay against the fixed points; the (p, s) phase plane."""
    params = config.get("params", {})
    sigma2, alpha_p = float(params.get("sigma2", 0.5)), float(params.get("alpha_p", 1.0))
    with style():
        fig, axes = _figure(2, height=2.5)
        _lines(axes[0], df, "eta", "s_max", methods=["simsiam", "byol", "directpred", "no-predictor"],
               labels={**METHOD_LABELS, "byol": r"BYOL (EMA target, $\beta = 0.05$)",
                       "simsiam": "SimSiam (stop-grad)"})
        eta = np.linspace(0, 0.3, 301)
        fps = [mode_fixed_points(1.0, e, sigma2, alpha_p) for e in eta]
        s_plus, s_dp = (np.array(s) for s in zip(*map(predicted_eigenvalues, fps)))
        axes[0].plot(eta, s_plus, "--", color=REFERENCE, label=r"fixed point $s_+ = p_+^2/\alpha_p$")
        axes[0].plot(eta, s_dp, ":", color=REFERENCE, label=r"DirectPred: $p_+ = 1.1\sqrt{s}$")
        axes[0].axvline(fps[0]["threshold"], color=PALETTE["vermillion"], linewidth=0.8,
                        label=r"$\eta^\star = 1/(4(1+\sigma^2))$")
        axes[0].set_ylabel(axis_label("s_max"))
        ax = axes[1]
        for e, color in ((0.05, PALETTE["bluish green"]), (0.15, PALETTE["sky blue"]), (0.2, PALETTE["vermillion"])):
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
            ax.plot([], [], color=color, label=f"$\\eta = {e:g}$")
            if not math.isnan(f["p_plus"]):
                ax.plot(f["p_plus"], f["s_plus"], "o", color=color)
                ax.axvline(f["p_minus"], color=color, linestyle=":", linewidth=0.8)
        ax.plot([], [], "o", color=REFERENCE, label=r"stable fixed point $(p_+, s_+)$")
        ax.plot([], [], ":", color=REFERENCE, label=r"unstable $p_-$")
        ax.set_xlabel("predictor eigenvalue $p$")
        ax.set_ylabel("eigenvalue $s$ of $F$")
        ax.set_title("per-mode flow", fontsize=8)
        return _finish(fig, axes, shared=False)


#: Method of each case of the DirectCLR toys (its style in the spectra panel).
_TOY_METHOD = {1: "linear-1-layer", 2: "linear-2-layer"}


@figure_docstring("collapse", "Three panels 7 inches wide, each with its legend.")
def collapse(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """D-1–D-3: spectra of the toys, RankMe vs augmentation noise, RankMe vs keep-probability."""
    with style():
        fig, axes = _figure(3, height=2.3)
        ax = axes[0]
        spec = select(df, "log10_eig")
        toy = _task_rows(spec, "toy")
        shown = [(c, n) for c, n in dict.fromkeys(zip(toy["case"], toy["aug_noise"]))
                 if n in (0.01, 3.0) and not (c == 2 and n == 0.01)] if len(toy) else []
        for case, noise in shown:
            part = toy[(toy["case"] == case) & (toy["aug_noise"] == noise)]
            stats = part.groupby("index")["value"].mean()
            kw = method_style(_TOY_METHOD.get(int(case), ""))
            kw.update(linestyle="-" if noise < 1 else (0, (4, 2)), marker="o" if noise < 1 else "s",
                      markerfacecolor=None if noise < 1 else "none")
            ax.plot(stats.index + 1, stats.to_numpy(),
                    label=f"{int(case)} linear layer{'s' if case == 2 else ''}, noise {noise:g}", **kw)
        ax.set_xlabel("eigenvalue index")
        ax.set_ylabel(r"$\log_{10}$ eigenvalue")
        ax.set_title("embedding covariance spectrum")
        rk = select(df, "rankme")
        toy_rk = _task_rows(rk, "toy")
        if len(toy_rk):
            _lines(axes[1], toy_rk, "aug_noise", "rankme", logx=True)
        axes[1].set_xlabel("augmentation noise (last 8 coordinates)")
        axes[1].set_ylabel("RankMe (of 16)")
        mask = _task_rows(rk, "masking")
        if len(mask):
            _lines(axes[2], mask, "mask_prob", "rankme", labels={"cl": "linear CL, $k = 10$"})
        axes[2].set_xlabel(axis_label("mask_prob"))
        axes[2].set_ylabel(r"RankMe of $XW^\top$")
        return _finish(fig, axes, shared=False)


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
    """N-2: 2N·bias vs N against the first-order prediction; |bias| vs N on log-log axes, slopes at the ends."""
    rows = _task_rows(df, "bias")
    bias = select(rows, "bias")
    slopes = bias_slopes(df).set_index(["method", "temperature"])
    taus = sorted(bias["temperature"].unique())
    colors = {tau: SERIES_COLORS[i % len(SERIES_COLORS)] for i, tau in enumerate(taus)}
    ends = []
    for (method, tau), part in sorted(bias.groupby(["method", "temperature"]), key=lambda g: g[0][0] != "nt-xent"):
        part = part.assign(value=2 * part["K"] * part["value"])
        stats = mean_ci(part, "K")
        nt = method == "nt-xent"
        kw = dict(color=colors[tau], marker="o" if nt else "s", linestyle="-" if nt else (0, (4, 2)),
                  markersize=3, markerfacecolor=colors[tau] if nt else "none")
        mean_band(ax_scaled, stats, "K", **kw)
        theory = select(rows, f"bias_first_order_{method.replace('-', '_')}", "theory", {"temperature": tau})
        if len(theory):
            th = theory.assign(value=2 * theory["K"] * theory["value"]).groupby("K")["value"].mean()
            ax_scaled.plot(th.index, th.to_numpy(), ":", color=colors[tau], linewidth=1.0)
        absolute = mean_ci(bias[(bias["method"] == method) & (bias["temperature"] == tau)], "K")
        ax_abs.plot(absolute["K"], absolute["mean"].abs(), **kw)
        if (method, tau) in slopes.index:
            fit = slopes.loc[(method, tau)]
            ends.append((float(absolute["mean"].abs().iloc[-1]),
                         f"{'NT-Xent' if nt else 'log-mean'} {signed(fit['slope'])} ± {fit['half_width']:.2f}",
                         colors[tau]))
    for tau in taus:  # legend: colours are temperatures, line styles the two quantities
        ax_scaled.plot([], [], color=colors[tau], label=f"$\\tau = {tau:g}$")
    ax_scaled.plot([], [], color=REFERENCE, marker="o", markersize=3, label="NT-Xent")
    ax_scaled.plot([], [], color=REFERENCE, marker="s", markersize=3, markerfacecolor="none",
                   linestyle=(0, (4, 2)), label="log-mean of the negatives alone")
    ax_scaled.axhline(0, color=REFERENCE, linewidth=0.8)
    ax_scaled.plot([], [], ":", color=REFERENCE, label="first-order prediction")
    log_axis(ax_scaled, "x")
    ax_scaled.set_yscale("symlog", linthresh=1.0)
    ax_scaled.set_xlabel("batch size $N$ (pairs)")
    ax_scaled.set_ylabel(r"$2N\,(\mathbb{E}L_N - \log(2N-1) - L_\infty)$")
    ax_scaled.set_title("minibatch NT-Xent bias, scaled")
    log_axis(ax_abs, "x")
    log_axis(ax_abs, "y")
    ax_abs.set_xlabel("batch size $N$ (pairs)")
    ax_abs.set_ylabel("|bias|")
    ax_abs.set_title(f"|bias|; slopes fitted over $N \\geq {BIAS_FIT_MIN_N}$ (right)")
    return ends


@figure_docstring("batch_size", "A 7-inch grid: N-1 and N-3 on top, each with its legend, the two N-2 panels "
                                "below with one legend (those whose results are present).")
def batch_size(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """N-1: InfoNCE vs K against log K and I; N-2: the minibatch NT-Xent bias vs N; N-3: ΔR_lin vs batch size."""
    training = select(df, "excess_risk_linear")
    has_bias = len(select(_task_rows(df, "bias"), "bias")) > 0
    has_training = len(training) > 0
    with style():
        top = 1 + has_training
        ncols = 2 if (has_bias or has_training) else 1
        fig, grid = new_figure(1 + has_bias, ncols, width="two", height=2.6)
        ax = grid[0, 0]
        est = select(df, "mi_estimate", "info-nce")
        for i, (rho, part) in enumerate(est.groupby("rho")):
            stats = mean_ci(part, "K")
            info = float(select(df, "mutual_information", "theory", {"rho": rho})["value"].mean())
            color = SERIES_COLORS[i % len(SERIES_COLORS)]
            mean_band(ax, stats, "K", marker="o", color=color, label=f"$\\rho = {rho:g}$ ($I = {info:.2f}$ nats)")
            ax.axhline(info, color=color, linestyle=":", linewidth=0.9)
        K = np.array(sorted(est["K"].unique()), dtype=float)
        ax.plot(K, np.log(K), "-.", color=REFERENCE, label=r"$\log K$")
        ax.plot([], [], ":", color=REFERENCE, label="mutual information $I$")
        log_axis(ax, "x")
        ax.set_xlabel(axis_label("K"))
        ax.set_ylabel(axis_label("mi_estimate"))
        ax.set_title(r"InfoNCE never exceeds $\log K$")
        legends = [legend_below(ax, ncol=2)]
        if has_training:
            ax = grid[0, 1]
            for (method, lr), part in training.groupby(["method", "lr"]):
                stats = mean_ci(part, "batch_size")
                kw = method_style(method)
                if lr != training["lr"].min():
                    kw.update(linestyle=(0, (4, 2)), markerfacecolor="none")
                else:
                    kw.update(linestyle="-")
                mean_band(ax, stats, "batch_size", gid=method,
                          label=f"{METHOD_LABELS.get(method, method)}, lr {lr:g}", **kw)
            log_axis(ax, "x", training["batch_size"].unique())
            log_axis(ax, "y")
            ax.set_xlabel("batch size $B$ (fixed number of Adam steps)")
            ax.set_ylabel(axis_label("excess_risk_linear"))
            ax.set_title("training at a fixed budget")
            legends.append(legend_below(ax, ncol=2))
        elif ncols == 2 and top == 1:
            grid[0, 1].set_visible(False)
        grow_for_legends(fig, legends)
        if has_bias:
            ends = _bias_panels(grid[1, 0], grid[1, 1], df)
            figure_legend(fig, [grid[1, 0]])
            annotate_slopes(grid[1, 1], ends, header=None)
        return fig
