"""HTML views for notebooks: a sweep's summary table and a small figure of its metric.

:meth:`spikedcl.sweep.SweepResult._repr_html_` renders with
:func:`sweep_html`; nothing here computes results.
"""

from __future__ import annotations

import base64
import html
import io

import pandas as pd

from .analysis import mean_ci

__all__ = ["sweep_html", "metric_figure_png"]


def metric_figure_png(table: pd.DataFrame, metric: str, x: str, *, size: tuple = (4.0, 2.8), dpi: int = 80) -> bytes:
    """A small PNG: the mean of ``metric`` against the grid axis ``x``, one line per method, 95 % bands.

    Parameters
    ----------
    table : pandas.DataFrame
        Long results table (``method``, ``metric``, ``value`` and the column ``x``).
    metric : str
        Metric to draw.
    x : str
        Numeric grid column of the horizontal axis (log scale when it spans more than a decade).
    size : tuple of float, default=(4.0, 2.8)
        Figure size in inches.
    dpi : int, default=80
        Resolution.

    Returns
    -------
    bytes
        The PNG image.
    """
    from matplotlib.figure import Figure

    sub = table[(table["metric"] == metric) & (table["method"] != "theory")]
    stats = mean_ci(sub, [x, "method"])
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    for method in dict.fromkeys(sub["method"]):  # the table's order, as in the summary table
        g = stats[stats["method"] == method]
        ax.plot(g[x], g["mean"], marker="o", ms=3, label=str(method))
        ax.fill_between(g[x], g["low"], g["high"], alpha=0.2)
    values = pd.to_numeric(stats[x])
    if values.min() > 0 and values.max() > 10 * values.min():
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    ax.legend(fontsize=7, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def sweep_html(title: str, details: str, summary: pd.DataFrame | None = None, png: bytes | None = None) -> str:
    """The HTML block of a sweep result: a title, a line of counts, the summary table and a figure.

    Parameters
    ----------
    title : str
        Heading (the configuration's name).
    details : str
        One line of counts (cells run, reused, failed, elapsed).
    summary : pandas.DataFrame, optional
        :func:`spikedcl.sweep.summary_table` of the metric.
    png : bytes, optional
        :func:`metric_figure_png` of the metric.

    Returns
    -------
    str
        HTML, escaped where it shows text.
    """
    parts = [f"<div class='spikedcl-sweep'><strong>{html.escape(title)}</strong>",
             f"<p style='margin:0.2em 0'>{html.escape(details)}</p>",
             "<div style='display:flex;gap:1em;align-items:flex-start;flex-wrap:wrap'>"]
    if summary is not None:
        parts.append(summary.to_html(escape=True))
    if png is not None:
        data = base64.b64encode(png).decode("ascii")
        parts.append(f"<img alt='{html.escape(title)}' src='data:image/png;base64,{data}'/>")
    parts.append("</div></div>")
    return "\n".join(parts)
