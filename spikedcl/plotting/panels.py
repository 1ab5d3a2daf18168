"""Figures from saved sweep results: mean lines, confidence bands, fitted slopes, theory overlays.

A figure is a row of panels, each described by a small specification (the
``[figure]`` table of a sweep configuration)::

    { x = "n", metric = "sin_theta", where = { d = 100 }, methods = ["pca", "cl"],
      logx = true, logy = true, slope = true, theory = "cl_bound_shape",
      theory_method = "cl", limits = ["pca-population"], split = "noise", title = "..." }

* each method is drawn as its mean over replicates with a 95 % Student-t band;
* ``slope = true`` fits the log-log exponent and writes it in the legend;
* ``theory`` names a theory metric of the results (``method = "theory"``)
  drawn dashed after fitting one constant to ``theory_method``'s means
  (:func:`spikedcl.theory.fit_bound_constant`);
* ``limits`` lists n-independent methods (population limits) drawn as dotted
  horizontal lines;
* ``split`` draws one line per value of another column.

Labels, colours and markers come from the one table of
:mod:`spikedcl.plotting.styles`. Matplotlib is imported lazily, so importing
:mod:`spikedcl` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..analysis import mean_ci, select
from ..theory import fit_bound_constant, loglog_slope
from ._common import describe, mean_band
from .styles import AXIS_LABELS, method_label, method_style, style

__all__ = ["plot_panel", "figure_from_spec", "save_figure"]

_PANEL_KEYS = {"x", "metric", "where", "methods", "logx", "logy", "slope", "theory", "theory_method",
               "limits", "split", "title", "ylabel", "xlabel"}


def _short(v, _pos=None):
    """Tick label: 20000 -> 20k."""
    return f"{v / 1000:g}k" if v >= 1000 and v % 1000 == 0 else f"{v:g}"


def _axes(ax, spec, data, x):
    """Scales; log axes get ticks at the grid values, and the y range ignores non-positive band edges."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    if spec.get("logx"):
        ax.set_xscale("log")
        values = sorted(data[x].unique()) if len(data) else []
        if 1 < len(values) <= 12:
            ax.xaxis.set_major_locator(FixedLocator(values))
            ax.xaxis.set_major_formatter(FuncFormatter(_short))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_minor_formatter(NullFormatter())
    if spec.get("logy"):
        ax.set_yscale("log")
        means = data.groupby(["method", x])["value"].mean() if len(data) else []
        positive = [m for m in means if m > 0]
        if positive:
            ax.set_ylim(bottom=min(positive) / 3)


def plot_panel(ax: Axes, df: pd.DataFrame, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Draw one panel of a figure from a long results table.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Target axes.
    df : pandas.DataFrame
        Long results table (:func:`spikedcl.sweep.run_sweep`).
    spec : dict
        Panel specification (see the module docstring); ``x`` and ``metric``
        are required.

    Returns
    -------
    dict
        Fitted log-log slopes by method (when ``slope`` is set) and the fitted
        theory constant under ``"theory_constant"``.
    """
    unknown = set(spec) - _PANEL_KEYS
    if unknown or "x" not in spec or "metric" not in spec:
        raise ValueError(f"panel spec needs 'x' and 'metric' and only keys {sorted(_PANEL_KEYS)}; "
                         f"got {sorted(spec)}")
    x, metric = spec["x"], spec["metric"]
    data = select(df, metric, where=spec.get("where"))
    data = data[data["method"] != "theory"]
    methods = spec.get("methods") or [m for m in dict.fromkeys(data["method"]) if m not in spec.get("limits", [])]
    split = spec.get("split")
    fitted = {}
    for method in methods:
        sub = data[data["method"] == method]
        if sub.empty:
            continue
        for key, part in sub.groupby(split) if split else [(None, sub)]:
            stats = mean_ci(part, x)
            label = method_label(method) + (f", {key}" if split else "")
            kw = method_style(method)
            if split:
                kw.pop("color", None)
            if spec.get("slope") and len(stats) >= 2 and (stats["mean"] > 0).all():
                s, _ = loglog_slope(stats[x], stats["mean"])
                fitted[method if key is None else f"{method}, {key}"] = s
                label += f" (slope {s:+.2f})"
            mean_band(ax, stats, x, label=label, **kw)
    for method in spec.get("limits", []):
        sub = data[data["method"] == method]
        if len(sub):
            level = sub.groupby(x)["value"].mean()
            color = {k: v for k, v in method_style(method).items() if k == "color"}
            label = method_label(method)
            if len(level) == 1 or x == "n":  # n-free limits: one level
                ax.axhline(float(level.mean()), linestyle=":", linewidth=1.1,
                           label=f"{label}: {float(level.mean()):.3f}", **color)
            else:
                ax.plot(level.index, level.to_numpy(), linestyle=":", linewidth=1.3, label=label, **color)
    theory = spec.get("theory")
    if theory:
        shape = select(df, theory, "theory", spec.get("where")).groupby(x)["value"].mean()
        ref = spec.get("theory_method", "cl")
        target = mean_ci(data[data["method"] == ref], x).set_index(x)["mean"].reindex(shape.index)
        if len(shape) and target.notna().all():
            const = float(fit_bound_constant(shape.to_numpy(), target.to_numpy()).coef[0])
            fitted["theory_constant"] = const
            ax.plot(shape.index, const * shape.to_numpy(), linestyle="--", color="0.35",
                    label=f"theory: {const:.2f}·(r^1.5 log d/d + √(dr/n))")
    _axes(ax, spec, data[data["method"].isin(list(methods) + list(spec.get("limits", [])))], x)
    ax.set_xlabel(spec.get("xlabel", AXIS_LABELS.get(x, x)))
    ax.set_ylabel(spec.get("ylabel", AXIS_LABELS.get(metric, metric)))
    if spec.get("title"):
        ax.set_title(spec["title"])
    if ax.get_legend_handles_labels()[1]:
        outside = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0)) if len(ax.get_legend_handles_labels()[1]) > 5 \
            else dict(loc="best")
        ax.legend(frameon=True, framealpha=0.85, edgecolor="none", **outside)
    else:
        ax.text(0.5, 0.5, "no results for this panel", transform=ax.transAxes, ha="center")
    return fitted


def figure_from_spec(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """Build the figure of a configuration from its saved results.

    Parameters
    ----------
    df : pandas.DataFrame
        Long results table.
    config : dict
        Resolved configuration whose ``figure`` table holds ``panels`` (a list
        of panel specifications).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per specification, side by side; ``fig.fitted`` holds each
        panel's fitted slopes.
    """
    import matplotlib.pyplot as plt

    panels = config.get("figure", {}).get("panels")
    if not panels:
        raise ValueError(f"config {config.get('name')!r} has no [figure] panels")
    with style():
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
        fig.fitted = [plot_panel(ax, df, spec) for ax, spec in zip(axes[0], panels)]
        outside = sum(ax.get_legend() is not None and ax.get_legend().get_bbox_to_anchor() is not None
                      and len(ax.get_legend().get_texts()) > 5 for ax in axes[0])
        fig.set_size_inches(4.2 * len(panels) + 3.0 * outside, 3.4)
        describe(fig, config, fontsize=8, y=1.02)
        fig.tight_layout()
    return fig


def save_figure(fig: Figure, out_dir: str | Path, name: str) -> list[Path]:
    """Save ``fig`` as ``out_dir/name.pdf`` and ``.png`` (without a creation date).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    out_dir : str or pathlib.Path
        Directory (created if missing).
    name : str
        File stem.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.{ext}" for ext in ("pdf", "png")]
    with style():
        for path in paths:
            fig.savefig(path, dpi=150, metadata=_FILE_METADATA[path.suffix])
    return paths


#: No creation date in the files, so a rerun with the same results writes the same bytes.
_FILE_METADATA = {".pdf": {"CreationDate": None}, ".png": None}
