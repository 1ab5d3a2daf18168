"""Figures from saved sweep results, with one table of labels, colours and markers.

=====================  ==============================================================
module                 contents
=====================  ==============================================================
``styles``             the one method table (label, colour, marker), axis labels, style
``panels``             generic panels from a config's ``[figure]`` specification (fig1-fig4)
``supervised``         the F5 figures (supervised CL, regression and classification)
``systems``            the contrastive-systems figures
``gd``                 F6: gradient descent and SGD against the closed forms
=====================  ==============================================================

Every figure function has the signature ``fn(df, config) -> Figure`` and draws
only from the saved results ``df``; ``simulations/make_figures.py`` calls the
one a configuration names (``[figure] function = "module:function"``) or
:func:`figure_from_spec`. The figure modules import ``matplotlib.figure`` and
``matplotlib.axes`` (their annotations name ``Figure`` and ``Axes``); ``pyplot`` is
imported inside the functions.
"""

from .panels import figure_from_spec, plot_panel, save_figure
from .styles import AXIS_LABELS, METHOD_LABELS, METHOD_STYLES, method_label, method_style, style

__all__ = [
    "METHOD_LABELS",
    "METHOD_STYLES",
    "AXIS_LABELS",
    "method_label",
    "method_style",
    "plot_panel",
    "figure_from_spec",
    "save_figure",
    "style",
]
