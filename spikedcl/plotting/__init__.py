"""Figures from saved sweep results, with one table of labels, colours and markers.

=====================  ==============================================================
module                 contents
=====================  ==============================================================
``styles``             the one method table (label, colour, marker, line style), the
                       colour-blind-safe palette, mathtext axis labels, figure widths,
                       the style context (embedded TrueType fonts)
``panels``             generic panels from a config's ``[figure]`` specification (fig1-fig4)
``supervised``         the F5 figures (supervised CL, regression and classification)
``systems``            the contrastive-systems figures
``gd``                 F6: gradient descent and SGD against the closed forms
=====================  ==============================================================

Every figure function has the signature ``fn(df, config) -> Figure`` and draws
only from the saved results ``df``; ``spikedcl figures NAME`` calls the one a
configuration names (``[figure] function = "module:function"``) or
:func:`figure_from_spec`. Every figure is 3.4 or 7 inches wide (one or two
columns of a paper), has one legend outside its panels, draws a method in the
same colour, marker and line style in every panel, and merges curves that
coincide into one legend entry. The figure modules import ``matplotlib.figure`` and
``matplotlib.axes`` (their annotations name ``Figure`` and ``Axes``); ``pyplot`` is
imported inside the functions.
"""

from .panels import figure_from_spec, plot_panel, save_figure
from .styles import (
    AXIS_LABELS,
    FIGURE_WIDTHS,
    METHOD_LABELS,
    METHOD_STYLES,
    METRIC_LABELS,
    PALETTE,
    axis_label,
    method_label,
    method_style,
    style,
)

__all__ = [
    "METHOD_LABELS",
    "METHOD_STYLES",
    "METRIC_LABELS",
    "AXIS_LABELS",
    "PALETTE",
    "FIGURE_WIDTHS",
    "method_label",
    "method_style",
    "axis_label",
    "plot_panel",
    "figure_from_spec",
    "save_figure",
    "style",
]
