"""Drawing helpers shared by the figure modules of :mod:`spikedcl.plotting` (package-private).

Figures, legends, bands, readable log axes, merged coincident curves and slope
annotations, so that every figure of the package is laid out the same way.
Matplotlib is imported inside the helpers that create artists.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from .styles import FIGURE_WIDTHS, REFERENCE

__all__ = ["BAND_ALPHA", "COINCIDENT_RTOL", "mean_band", "new_figure", "figure_legend", "legend_below",
           "grow_for_legends",
           "coincident_groups", "log_axis", "annotate_slopes", "signed", "figure_docstring"]

#: Opacity of a confidence band under its mean line.
BAND_ALPHA = 0.25

#: Two curves on the same abscissae coincide when their largest relative difference is below this.
COINCIDENT_RTOL = 1e-9


def signed(value, digits=2):
    """``value`` with an explicit sign and a typographic minus (−0.48, +1.00)."""
    return f"{value:+.{digits}f}".replace("-", "\u2212")


def mean_band(ax, stats, x, *, alpha=BAND_ALPHA, band=True, gid=None, **plot_kw):
    """Plot the mean of ``stats`` against column ``x`` over its confidence band.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Target axes.
    stats : pandas.DataFrame
        Output of :func:`spikedcl.analysis.mean_ci`: columns ``x``, ``mean``, ``low`` and ``high``.
    x : str
        Abscissa column.
    alpha : float, default=0.25
        Opacity of the band.
    band : bool, default=True
        Draw the band (``False``: the mean line alone).
    gid : str, optional
        Group id of the line and the band (the method name), for tests and tools reading the figure.
    **plot_kw
        Keywords of ``ax.plot`` (label, colour, marker, line style, ...).

    Returns
    -------
    matplotlib.lines.Line2D
        The mean line; the band takes its colour.
    """
    (line,) = ax.plot(stats[x], stats["mean"], gid=gid, **plot_kw)
    if band and stats[["low", "high"]].notna().any().any():
        ax.fill_between(stats[x], stats["low"], stats["high"], color=line.get_color(), alpha=alpha, linewidth=0,
                        gid=gid)
    return line


def new_figure(nrows=1, ncols=1, *, width="two", height=2.4, **subplots_kw):
    """A figure ``FIGURE_WIDTHS[width]`` inches wide with a grid of axes (call inside :func:`styles.style`).

    ``height`` is the height of one row of panels in inches. Returns
    ``(fig, axes)`` with ``axes`` a 2-d array.
    """
    import matplotlib.pyplot as plt

    w = FIGURE_WIDTHS.get(width, width)
    fig, axes = plt.subplots(nrows, ncols, figsize=(float(w), height * nrows), squeeze=False, layout="constrained",
                             **subplots_kw)
    return fig, axes


def _unique_entries(axes):
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab and not lab.startswith("_") and lab not in labels:
                handles.append(h)
                labels.append(lab)
    return handles, labels


def _columns(fig, labels, where):
    """Legend columns that fit the figure's width (about 0.055 in per character at 7 pt plus the handle)."""
    if where == "right":
        return 1
    width = fig.get_size_inches()[0]
    longest = max(len(_plain(lab)) for lab in labels)
    return max(1, min(len(labels), int(width // (0.055 * longest + 0.45))))


def _plain(label):
    """Rough printed length of a label: mathtext commands and braces do not print."""
    import re

    return re.sub(r"\\[a-zA-Z]+|[{}$^_]", "", label)


def _row_major(n, ncol):
    """The order in which to hand ``n`` entries to a legend of ``ncol`` columns so that they read by rows."""
    nrows = -(-n // ncol)
    return [r * ncol + c for c in range(ncol) for r in range(nrows) if r * ncol + c < n]


def figure_legend(fig, axes, *, where="below", ncol=None):
    """One legend for the whole figure, outside the panels, with each label once.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure with constrained layout.
    axes : iterable of matplotlib.axes.Axes
        Panels whose labelled artists enter the legend (their own legends are removed).
    where : {"below", "right"}
        Under the panels (columns as wide as the figure allows) or at their right.
    ncol : int, optional
        Number of columns (default: as many as fit).

    Returns
    -------
    matplotlib.legend.Legend or None
        The legend; ``None`` when no artist has a label.
    """
    axes = list(axes)
    for ax in axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    handles, labels = _unique_entries(axes)
    if not labels:
        return None
    loc = {"below": "outside lower center", "right": "outside right upper"}[where]
    ncol = ncol or _columns(fig, labels, where)
    order = _row_major(len(labels), ncol)  # matplotlib fills columns first; the entries read by rows
    legend = fig.legend([handles[i] for i in order], [labels[i] for i in order], loc=loc, ncol=ncol)
    if where == "below":  # the figure grows by the legend's height; the panels keep theirs
        w, h = fig.get_size_inches()
        fig.set_size_inches(w, h + 0.17 * -(-len(labels) // ncol) + 0.1)  # a first guess, so the layout holds
        fig.draw_without_rendering()
        fig.set_size_inches(w, h + legend.get_window_extent().height / fig.dpi + 0.05)
    return legend


def legend_below(ax, *, ncol=1, offset=0.42):
    """A legend of one panel, under its x label (``offset`` inches below the axes), off the data."""
    from matplotlib.transforms import ScaledTranslation

    handles, labels = _unique_entries([ax])
    if not labels:
        return None
    shift = ScaledTranslation(0, -offset, ax.figure.dpi_scale_trans)
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
                     bbox_transform=ax.transAxes + shift)


def grow_for_legends(fig, legends):
    """Make ``fig`` taller by the tallest of the panel ``legends`` (the panels keep their height)."""
    legends = [leg for leg in legends if leg is not None]
    if legends:
        fig.draw_without_rendering()
        extra = max(leg.get_window_extent().height for leg in legends) / fig.dpi
        w, h = fig.get_size_inches()
        fig.set_size_inches(w, h + extra)


def coincident_groups(curves, rtol=COINCIDENT_RTOL):
    """Group curves that coincide: the same abscissae and a largest relative difference below ``rtol``.

    Parameters
    ----------
    curves : list of (array, array)
        ``(x, y)`` of each curve.
    rtol : float, default=1e-9
        Relative tolerance, :math:`\\max_i |y_i - y'_i| / \\max(|y_i|, |y'_i|)`.

    Returns
    -------
    list of list of int
        Indices of ``curves``, each group in input order, groups in the order of their first member.
    """
    groups = []
    for i, (x, y) in enumerate(curves):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        for group in groups:
            gx, gy = (np.asarray(v, dtype=float) for v in curves[group[0]])
            if gx.shape == x.shape and np.array_equal(gx, x):
                scale = np.maximum(np.abs(gy), np.abs(y))
                diff = np.abs(gy - y)
                if np.all((diff == 0) | (diff <= rtol * scale)):
                    group.append(i)
                    break
        else:
            groups.append([i])
    return groups


def _tick_label(v, plain=True):
    """A log-axis tick label: 20000 -> 20k, 0.05 -> 0.05; unless ``plain``, powers of ten (3 × 10^-12)."""
    if v <= 0 or not math.isfinite(v):
        return ""
    exponent = math.log10(v)
    if not plain:
        k = math.floor(exponent + 1e-9)
        mantissa = v / 10.0**k
        if abs(mantissa - 1) < 1e-9:
            return f"$10^{{{k}}}$"
        return f"${mantissa:g} \\times 10^{{{k}}}$"
    if v >= 1000 and v % 1000 == 0:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def _log_formatter():
    """A log-axis tick formatter: plain numbers (0.05, 20k) when every labelled tick is between 0.01 and 10^6,
    powers of ten written as such otherwise."""
    from matplotlib.ticker import Formatter

    class LogTicks(Formatter):
        def format_ticks(self, values):
            plain = all(1e-2 - 1e-12 <= v < 1e6 for v in values if v > 0)
            return [_tick_label(v, plain) for v in values]

        def __call__(self, v, pos=None):
            return _tick_label(v, 1e-2 - 1e-12 <= v < 1e6)

    return LogTicks()


def _crowded(ax, which, values):
    """Whether labels at every grid value would crowd the axis (about 0.06 in per character, 0.1 in apart)."""
    if which != "x":
        return False
    width = ax.get_position().width * ax.figure.get_figwidth()
    return sum(len(_tick_label(v)) for v in values) * 0.06 + 0.1 * len(values) > 0.9 * width


def log_axis(ax, which="x", values=None):
    """Log scale with readable ticks: the grid ``values`` themselves when few, else 1-2-5 or decades.

    Minor ticks carry no labels, so labels never crowd.
    """
    from matplotlib.ticker import FixedLocator, LogLocator, NullFormatter, NullLocator

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    values = sorted({float(v) for v in values if v > 0}) if values is not None else []
    if 1 < len(values) <= 7 and not _crowded(ax, which, values):
        axis.set_major_locator(FixedLocator(values))
        axis.set_minor_locator(NullLocator())
    else:
        ax.autoscale_view()
        lo, hi = (ax.get_xlim() if which == "x" else ax.get_ylim())
        decades = math.log10(hi / lo) if lo > 0 and hi > lo else 10.0
        if decades < 1:
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
        elif decades < 2.5:
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        elif decades > 6:
            axis.set_major_locator(LogLocator(numticks=6))
        else:
            axis.set_major_locator(LogLocator())
    axis.set_major_formatter(_log_formatter())
    axis.set_minor_formatter(NullFormatter())


def annotate_slopes(ax, ends, *, header="slope"):
    """Write fitted slopes at the right of the panel, each level with its curve's end, in its colour.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The panel (its limits final).
    ends : list of (float, str, color)
        ``(y at the last abscissa, text, colour)`` of each curve.
    header : str or None
        Word written above the column of slopes (``None``: none).
    """
    if not ends:
        return
    fig = ax.figure
    fig.draw_without_rendering()  # the constrained layout fixes the panel's height first
    gap = (8.0 / 72) / max(ax.get_position().height * fig.get_figheight(), 0.5)  # one 7-pt line, in axes units
    to_axes = ax.transScale + ax.transLimits
    items = []
    for y, text, color in ends:
        if math.isfinite(y) and not (y <= 0 and ax.get_yscale() == "log"):
            items.append([float(to_axes.transform((1.0, y))[1]), text, color])
    items.sort(key=lambda e: e[0])
    for i in range(1, len(items)):  # upwards: at least one line apart
        items[i][0] = max(items[i][0], items[i - 1][0] + gap)
    if items and items[-1][0] > 1.0 - gap:  # the stack ran above the panel: push it down from the top
        items[-1][0] = 1.0 - gap
        for i in range(len(items) - 2, -1, -1):
            items[i][0] = min(items[i][0], items[i + 1][0] - gap)
    placed = [tuple(item) for item in items]
    for frac, text, color in placed:
        ax.text(1.03, frac, text, color=color, fontsize=6.5, va="center", ha="left", transform=ax.transAxes,
                clip_on=False)
    if placed and header:
        ax.text(1.03, max(1.0, placed[-1][0] + gap), header, color=REFERENCE, fontsize=6.5, va="bottom",
                ha="left", transform=ax.transAxes, clip_on=False)


_FIGURE_SECTIONS = """
Parameters
----------
df : pandas.DataFrame
    Long results of the ``{config}`` configuration.
config : dict
    Resolved configuration.

Returns
-------
matplotlib.figure.Figure
    {panels}
"""


def figure_docstring(config, panels):
    """Decorator: complete the docstring of a figure function ``fn(df, config) -> Figure``.

    The function's own docstring says what it draws; this appends the
    Parameters and Returns sections every figure function shares.

    Parameters
    ----------
    config : str
        Name of the sweep configuration whose results the function draws.
    panels : str
        Description of the figure's panels (the Returns entry).

    Returns
    -------
    callable
        The decorator; it returns the function itself, its ``__doc__`` completed.
    """

    def complete(fn):
        fn.__doc__ = inspect.cleandoc(fn.__doc__ or "") + "\n" + _FIGURE_SECTIONS.format(config=config, panels=panels)
        return fn

    return complete
