"""Drawing helpers shared by the figure modules of :mod:`spikedcl.plotting` (package-private).

Nothing here imports matplotlib; the helpers draw on the axes they are given.
"""

from __future__ import annotations

import inspect
import textwrap

__all__ = ["mean_band", "describe", "figure_docstring"]

#: Opacity of a confidence band under its mean line.
BAND_ALPHA = 0.18


def mean_band(ax, stats, x, *, alpha=BAND_ALPHA, band=True, **plot_kw):
    """Plot the mean of ``stats`` against column ``x`` over its confidence band.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Target axes.
    stats : pandas.DataFrame
        Output of :func:`spikedcl.analysis.mean_ci`: columns ``x``, ``mean``, ``low`` and ``high``.
    x : str
        Abscissa column.
    alpha : float, default=0.18
        Opacity of the band.
    band : bool, default=True
        Draw the band (``False``: the mean line alone).
    **plot_kw
        Keywords of ``ax.plot`` (label, colour, marker, line style, ...).

    Returns
    -------
    matplotlib.lines.Line2D
        The mean line; the band takes its colour.
    """
    (line,) = ax.plot(stats[x], stats["mean"], **plot_kw)
    if band:
        ax.fill_between(stats[x], stats["low"], stats["high"], color=line.get_color(), alpha=alpha, linewidth=0)
    return line


def describe(fig, config, *, width=None, **suptitle_kw):
    """Title ``fig`` with the configuration's ``description``, when it has one.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    config : dict
        Resolved configuration.
    width : int, optional
        Wrap the description to lines of at most ``width`` characters.
    **suptitle_kw
        Keywords of ``fig.suptitle`` (font size, position).
    """
    text = config.get("description")
    if text:
        fig.suptitle("\n".join(textwrap.wrap(text, width)) if width else text, **suptitle_kw)


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
