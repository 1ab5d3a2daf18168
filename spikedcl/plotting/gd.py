"""F6: gradient descent and SGD against the closed forms, drawn from the saved rows of :func:`spikedcl.experiments.gd.gd`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["fig6", "f6_curves", "F6_PANELS"]

#: (metric, panel title, x label, y label, y scale) of the four panels.
F6_PANELS = (
    ("loss_gap", "loss gap", "iteration", "L(W_t) − L*", "log"),
    ("distance_to_closed_form", "distance to P*", "iteration", "‖W_tᵀW_t − P*‖_F", "log"),
    ("sin_theta_to_pca", "AE decoder vs PCA", "iteration", "sinΘ(W_D, U_PCA)", "log"),
    ("sin_theta", "minibatch", "epoch", "sinΘ(W, U*)", "linear"),
)

_SERIES = {"cl-gd-cross-view": "CL cross-view", "cl-gd-simclr": "CL simclr", "ae-gd": "AE",
           "cl-expected": "closed form (M̄)"}


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
        sub = df[df["metric"] == metric]
        keys = ["method", "batch"] if "batch" in sub else ["method"]
        for key, part in sub.groupby(keys, sort=False, dropna=False):
            method, batch = (key if isinstance(key, tuple) else (key,)) + (None,) * (2 - len(keys))
            series = f"SGD batch {batch}" if method == "cl-sgd" else _SERIES.get(method, method)
            curve = part.groupby("step")["value"].mean()
            out.append(pd.DataFrame({"panel": panel, "series": series, "x": curve.index.to_numpy(),
                                     "value": curve.to_numpy()}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["panel", "series", "x", "value"])


def fig6(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """F6: four panels, log-scaled where the quantity decays geometrically.

    Parameters
    ----------
    df : pandas.DataFrame
        Long results of the ``fig6`` configuration.
    config : dict
        The resolved configuration.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per entry of :data:`F6_PANELS` (:func:`f6_curves`).
    """
    import matplotlib.pyplot as plt

    curves = f6_curves(df)
    fig, axes = plt.subplots(1, len(F6_PANELS), figsize=(16, 3.6), constrained_layout=True)
    for ax, (_, panel, xlabel, ylabel, yscale) in zip(axes, F6_PANELS):
        for series, g in curves[curves["panel"] == panel].groupby("series", sort=False):
            y = g["value"].to_numpy()
            if yscale == "log":
                y = np.where(y > 0, y, np.nan)
            ax.plot(g["x"].to_numpy(), y, "--" if series.startswith("closed") else "-", label=series)
        ax.set(xlabel=xlabel, ylabel=ylabel, yscale=yscale, title=panel)
        ax.legend(fontsize=8)
    return fig
