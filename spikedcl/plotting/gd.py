"""F6: gradient descent and SGD against the closed forms, drawn from the saved rows of :func:`spikedcl.experiments.gd.gd`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..analysis import mean_ci
from ._common import coincident_groups, figure_legend, log_axis, mean_band, new_figure
from .styles import PALETTE, method_label, method_style, style

__all__ = ["fig6", "f6_curves", "F6_PANELS"]

#: (metric, panel, title, x label, y label, y scale) of the four panels; ``panel`` names them in :func:`f6_curves`.
F6_PANELS = (
    ("loss_gap", "loss gap", "loss gap to the optimum", "iteration $t$", r"$L(W_t) - L^\star$", "log"),
    ("distance_to_closed_form", "distance to P*", r"CL: distance to $P^\star$", "iteration $t$",
     r"$\|W_t^\top W_t - P^\star\|_F$", "log"),
    ("sin_theta_to_pca", "AE decoder vs PCA", "autoencoder decoder vs PCA", "iteration $t$",
     r"$\|\sin\Theta(W_D, U_{\mathrm{PCA}})\|_F$", "log"),
    ("sin_theta", "minibatch", "minibatch SGD, fresh masks", "epoch", r"$\|\sin\Theta(W, U^\star)\|_F$",
     "linear"),
)

_SERIES = {"cl-gd-cross-view": "CL cross-view", "cl-gd-simclr": "CL SimCLR", "ae-gd": "AE",
           "cl-expected": "closed form (M̄)"}

#: Colour and marker of the SGD curves, by batch size (the closed form on :math:`\bar M` is ``cl-expected``'s).
SGD_STYLES = {"32": dict(color=PALETTE["reddish purple"], marker="o"),
              "256": dict(color=PALETTE["vermillion"], marker="s"),
              "full": dict(color=PALETTE["black"], marker="^")}


def _batch_text(batch):
    if batch is None or (isinstance(batch, float) and np.isnan(batch)):
        return "full"
    return f"{int(batch)}" if isinstance(batch, (int, float, np.integer, np.floating)) else str(batch)


def _key_rows(sub):
    keys = ["method", "batch"] if "batch" in sub else ["method"]
    for key, part in sub.groupby(keys, sort=False, dropna=False):
        method, batch = (key if isinstance(key, tuple) else (key,)) + (None,) * (2 - len(keys))
        yield method, batch, part


def f6_curves(df: pd.DataFrame) -> pd.DataFrame:
    """The F6 curves as a long table ``(panel, series, x, value)``, the mean over replicates at each step.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of :func:`spikedcl.experiments.gd.gd` (columns ``method``,
        ``metric``, ``value``, ``step`` and, for SGD, ``batch``).

    Returns
    -------
    pandas.DataFrame
        One row per (panel, series, step), panels in the order of :data:`F6_PANELS`.
    """
    import pandas as pd

    out = []
    for metric, panel, *_ in F6_PANELS:
        for method, batch, part in _key_rows(df[df["metric"] == metric]):
            series = f"SGD batch {batch}" if method == "cl-sgd" else _SERIES.get(method, method)
            curve = part.groupby("step")["value"].mean()
            out.append(pd.DataFrame({"panel": panel, "series": series, "x": curve.index.to_numpy(),
                                     "value": curve.to_numpy()}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["panel", "series", "x", "value"])


def _style(method, batch):
    """Legend label and line keywords of one F6 curve."""
    if method == "cl-sgd":
        b = _batch_text(batch)
        kw = dict(SGD_STYLES.get(b, {}), linestyle="-")
        return (f"SGD, batch {b}" if b != "full" else "SGD, full batch"), kw
    return method_label(method), method_style(method)


def fig6(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """F6: four panels, mean over seeds with 95 % bands; geometric mean where the quantity decays geometrically.

    Parameters
    ----------
    df : pandas.DataFrame
        Long results of the ``fig6`` configuration.
    config : dict
        The resolved configuration.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per entry of :data:`F6_PANELS`, 7 inches wide, one legend
        under the panels; curves that coincide share one entry.
    """
    with style():
        fig, axes = new_figure(2, 2, width="two", height=2.1)
        axes = list(axes.ravel())
        for ax, (metric, _, title, xlabel, ylabel, yscale) in zip(axes, F6_PANELS):
            curves = []
            for method, batch, part in _key_rows(df[df["metric"] == metric]):
                if yscale == "log":  # geometric mean over seeds, its band from the t interval of log10
                    part = part[part["value"] > 0].assign(value=lambda t: np.log10(t["value"]))
                    stats = mean_ci(part, "step")
                    stats[["mean", "low", "high"]] = 10.0 ** stats[["mean", "low", "high"]]
                else:
                    stats = mean_ci(part, "step")
                label, kw = _style(method, batch)
                curves.append((method, label, kw, stats))
            for group in coincident_groups([(c[3]["step"], c[3]["mean"]) for c in curves]):
                method, _, kw, stats = curves[group[0]]
                label = " = ".join(curves[i][1] for i in group)
                every = max(1, len(stats) // 8)
                mean_band(ax, stats, "step", label=label, gid=method, markevery=every, **kw)
            ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
            if yscale == "log":
                log_axis(ax, "y")
            if metric != "sin_theta":
                ax.set_xscale("symlog", linthresh=10, linscale=0.6)
                ax.set_xlim(left=0)
        figure_legend(fig, axes)
    return fig
