"""Figures from saved sweep results: mean lines, confidence bands, fitted slopes, theory overlays.

A figure is a grid of panels, each described by a small specification (the
``[figure]`` table of a sweep configuration)::

    { x = "n", metric = "sin_theta", where = { d = 100 }, methods = ["pca", "cl"],
      logx = true, logy = true, slope = true, theory = "cl_bound_shape",
      theory_method = "cl", limits = ["pca-population"],
      asymptotic = ["pca-asymptotic", "cl-asymptotic"], split = "noise", title = "..." }

* each method is drawn as its mean over replicates with a 95 % Student-t band;
  curves that coincide (largest relative difference below 1e-9) are drawn once,
  with one legend entry naming them all ("PCA = autoencoder = GAN");
* ``slope = true`` fits the log-log exponent of each curve and writes it at the
  curve's end, right of the panel;
* ``asymptotic`` lists the exact asymptotic predictions (dashed lines without
  markers, the main theory line; absent rows are skipped);
* ``theory`` names a theory metric of the results (``method = "theory"``), a
  bound's shape drawn dash-dotted after fitting one constant to
  ``theory_method``'s means (:func:`spikedcl.theory.fit_bound_constant`), and
  labelled as a shape with its fitted constant;
* ``limits`` lists n-independent methods (population limits), dotted;
* ``split`` draws one line per value of another column, the method's colour
  with one line style and marker per value.

The ``[figure]`` table may also set ``width`` (``"one"`` or ``"two"`` columns,
default one for a single panel), ``columns`` (panels per row), ``height`` (of a
row of panels, inches) and ``legend`` (``"below"`` or ``"right"``): one legend
for the whole figure, outside the panels. Labels, colours and markers come from
the one table of :mod:`spikedcl.plotting.styles`. Matplotlib is imported
lazily, so importing :mod:`spikedcl` stays light.
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
from ._common import (
    annotate_slopes,
    coincident_groups,
    figure_legend,
    legend_below,
    log_axis,
    mean_band,
    new_figure,
    signed,
)
from .styles import REFERENCE, axis_label, method_label, method_style, style

__all__ = ["plot_panel", "figure_from_spec", "save_figure"]

_PANEL_KEYS = {"x", "metric", "where", "methods", "logx", "logy", "slope", "theory", "theory_method",
               "limits", "asymptotic", "split", "title", "ylabel", "xlabel"}
_FIGURE_KEYS = {"panels", "width", "columns", "height", "legend", "function"}

#: Mathtext of the bound shapes a sweep writes as ``method = "theory"`` rows.
THEORY_SHAPES = {
    "cl_bound_shape": r"r^{3/2}\log d/d + \sqrt{dr/n}",
}

#: Markers of the successive values of a panel's ``split`` column (the method keeps its colour and line style).
SPLIT_STYLES = (
    dict(marker="o"),
    dict(marker="s", markerfacecolor="none"),
    dict(marker="^", markerfacecolor="none"),
    dict(marker="v"),
)


def _split_text(split, key):
    return str(key) if isinstance(key, str) else f"${split} = {key:g}$"


def _series(data, methods, x, split):
    """One entry per drawn curve: name, method, split key, label, style and its mean/CI table."""
    out = []
    for method in methods:
        sub = data[data["method"] == method]
        if sub.empty:
            continue
        parts = sub.groupby(split, sort=False) if split else [(None, sub)]
        for i, (key, part) in enumerate(parts):
            kw = method_style(method)
            if split:
                kw.update(SPLIT_STYLES[i % len(SPLIT_STYLES)])
            out.append(dict(name=method if key is None else f"{method}, {key}", method=method, key=key,
                            stats=mean_ci(part, x), kw=kw))
    return out


def _group_label(members, split):
    if split and len({m["method"] for m in members}) == 1:  # one method, several split values
        keys = " = ".join(_split_text(split, m["key"]) for m in members)
        return f"{method_label(members[0]['method'])} ({keys})" if len(members) > 1 else \
            f"{method_label(members[0]['method'])}, {keys}"
    labels = [method_label(m["method"]) + (f", {_split_text(split, m['key'])}" if split else "") for m in members]
    return " = ".join(labels)


def _axes(ax, spec, data, x):
    """Scales with readable ticks (log x at the grid values); the y range ignores non-positive band edges."""
    if spec.get("logy"):
        ax.set_yscale("log")
        means = data.groupby(["method", x])["value"].mean() if len(data) else []
        positive = [m for m in means if m > 0]
        if positive:
            ax.set_ylim(bottom=min(positive) / 2)
        log_axis(ax, "y")
    if spec.get("logx"):
        log_axis(ax, "x", data[x].unique() if len(data) else None)


def _draw_panel(ax, df, spec):
    """Draw a panel without its legend; returns (fitted, slope ends)."""
    unknown = set(spec) - _PANEL_KEYS
    if unknown or "x" not in spec or "metric" not in spec:
        raise ValueError(f"panel spec needs 'x' and 'metric' and only keys {sorted(_PANEL_KEYS)}; "
                         f"got {sorted(spec)}")
    x, metric = spec["x"], spec["metric"]
    data = select(df, metric, where=spec.get("where"))
    data = data[data["method"] != "theory"]
    limits, asymptotic = list(spec.get("limits", [])), list(spec.get("asymptotic", []))
    methods = spec.get("methods") or [m for m in dict.fromkeys(data["method"])
                                      if m not in limits + asymptotic and not str(m).endswith("-asymptotic")]
    split = spec.get("split")
    fitted, ends = {}, []
    series = _series(data, methods, x, split)
    for group in coincident_groups([(s["stats"][x], s["stats"]["mean"]) for s in series]):
        members = [series[i] for i in group]
        first = members[0]
        stats = first["stats"]
        line = mean_band(ax, stats, x, label=_group_label(members, split), gid=first["method"], **first["kw"])
        if spec.get("slope") and len(stats) >= 2 and (stats["mean"] > 0).all():
            s, _ = loglog_slope(stats[x], stats["mean"])
            fitted.update({m["name"]: s for m in members})
            ends.append((float(stats["mean"].iloc[-1]), signed(s), line.get_color()))
    for method in limits:
        sub = data[data["method"] == method]
        if len(sub):
            level = sub.groupby(x)["value"].mean()
            kw = {k: v for k, v in method_style(method).items() if k in ("color", "linestyle")}
            kw.setdefault("linestyle", ":")
            if len(level) == 1 or x == "n":  # n-free limits: one level
                value = float(level.mean())
                ax.axhline(value, linewidth=1.2, label=f"{method_label(method)} ({value:.3f})", gid=method, **kw)
            else:
                ax.plot(level.index, level.to_numpy(), linewidth=1.2, label=method_label(method), gid=method, **kw)
    drawn_asymptotic = False
    for method in asymptotic:
        sub = data[data["method"] == method]
        if len(sub):
            level = sub.groupby(x)["value"].mean()
            kw = method_style(method)
            kw["marker"] = ""
            ax.plot(level.index, level.to_numpy(), linewidth=1.4, label=method_label(method), gid=method, **kw)
            drawn_asymptotic = True
    theory = spec.get("theory")
    if theory:
        shape = select(df, theory, "theory", spec.get("where")).groupby(x)["value"].mean()
        ref = spec.get("theory_method", "cl")
        target = mean_ci(data[data["method"] == ref], x).set_index(x)["mean"].reindex(shape.index)
        if len(shape) and target.notna().all():
            const = float(fit_bound_constant(shape.to_numpy(), target.to_numpy()).coef[0])
            fitted["theory_constant"] = const
            formula = THEORY_SHAPES.get(theory, r"\mathrm{" + str(theory).replace("_", r"\_") + "}")
            ax.plot(shape.index, const * shape.to_numpy(), linestyle="-.", gid="theory",
                    color="0.6" if drawn_asymptotic else REFERENCE, linewidth=0.9 if drawn_asymptotic else 1.1,
                    label=f"bound shape $c\\,({formula})$, fitted $c = {const:.2f}$")
    _axes(ax, spec, data[data["method"].isin(list(methods) + limits + asymptotic)], x)
    ax.set_xlabel(spec.get("xlabel", axis_label(x)))
    ax.set_ylabel(spec.get("ylabel", axis_label(metric)))
    if spec.get("title"):
        ax.set_title(spec["title"])
    if not ax.get_legend_handles_labels()[1]:
        ax.text(0.5, 0.5, "no results for this panel", transform=ax.transAxes, ha="center")
    return fitted, ends


def plot_panel(ax: Axes, df: pd.DataFrame, spec: Mapping[str, Any], *, legend: bool = True) -> dict[str, Any]:
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
    legend : bool, default=True
        Give the panel its own legend, under it (:func:`figure_from_spec`
        draws one legend for the whole figure instead).

    Returns
    -------
    dict
        Fitted log-log slopes by curve (when ``slope`` is set) and the fitted
        theory constant under ``"theory_constant"``.
    """
    fitted, ends = _draw_panel(ax, df, spec)
    if legend:
        legend_below(ax)
    annotate_slopes(ax, ends)
    return fitted


def figure_from_spec(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """Build the figure of a configuration from its saved results.

    Parameters
    ----------
    df : pandas.DataFrame
        Long results table.
    config : dict
        Resolved configuration whose ``figure`` table holds ``panels`` (a list
        of panel specifications) and optionally ``width``, ``columns``,
        ``height`` and ``legend`` (see the module docstring).

    Returns
    -------
    matplotlib.figure.Figure
        The panels in rows of ``columns``, 3.4 or 7 inches wide, with one
        legend; ``fig.fitted`` holds each panel's fitted slopes.
    """
    table = config.get("figure", {})
    panels = table.get("panels")
    if not panels:
        raise ValueError(f"config {config.get('name')!r} has no [figure] panels")
    unknown = set(table) - _FIGURE_KEYS
    if unknown:
        raise ValueError(f"[figure] takes only keys {sorted(_FIGURE_KEYS)}; got {sorted(unknown)}")
    width = table.get("width", "one" if len(panels) == 1 else "two")
    if width not in ("one", "two"):
        raise ValueError(f"[figure] width must be 'one' or 'two'; got {width!r}")
    where = table.get("legend", "below")
    if where not in ("below", "right"):
        raise ValueError(f"[figure] legend must be 'below' or 'right'; got {where!r}")
    ncols = int(table.get("columns", min(len(panels), 3)))
    nrows = -(-len(panels) // ncols)
    with style():
        fig, axes = new_figure(nrows, ncols, width=width, height=float(table.get("height", 2.3)))
        flat = list(axes.ravel())
        drawn = [_draw_panel(ax, df, spec) for ax, spec in zip(flat, panels)]
        for ax in flat[len(panels):]:
            ax.set_visible(False)
        figure_legend(fig, flat[:len(panels)], where=where)
        for ax, (_, ends) in zip(flat, drawn):
            annotate_slopes(ax, ends)
        fig.fitted = [fitted for fitted, _ in drawn]
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
            fig.savefig(path, dpi=200, metadata=_FILE_METADATA[path.suffix])
    return paths


#: No creation date in the files, so a rerun with the same results writes the same bytes.
_FILE_METADATA = {".pdf": {"CreationDate": None}, ".png": None}
