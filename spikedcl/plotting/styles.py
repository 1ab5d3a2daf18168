"""The one table of method labels, colours and markers, the axis labels and the figure style.

Every figure of the package takes a method's legend label from
:data:`METHOD_LABELS` and its colour, marker and line style from
:func:`method_style`, so a method looks the same in every figure. A method
missing from the table gets its own name as label and the next colour of the
matplotlib cycle. Matplotlib is imported only inside :func:`style`.
"""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["METHOD_STYLES", "METHOD_LABELS", "AXIS_LABELS", "method_label", "method_style", "style"]

#: Label, colour, marker and (optionally) line style of every built-in method.
METHOD_STYLES = {
    # subspace estimators (fig1-fig4)
    "pca": dict(label="PCA", color="tab:red", marker="o"),
    "ae": dict(label="autoencoder", color="tab:orange", marker="s", linestyle=(0, (4, 2))),
    "gan": dict(label="GAN", color="tab:brown", marker="^", linestyle=(0, (1, 1))),
    "cl": dict(label="CL (realized masks)", color="tab:blue", marker="o"),
    "cl-expected": dict(label="CL (mask-averaged M̄)", color="tab:cyan", marker="D"),
    "cl-fixed": dict(label="CL (fixed mask)", color="tab:purple", marker="v"),
    "cl-fixed-bernoulli": dict(label="CL (fixed mask)", color="tab:purple", marker="v"),
    "heteropca": dict(label="HeteroPCA", color="tab:green", marker="P"),
    "oracle": dict(label="linear oracle", color="black", marker="x"),
    "pca-population": dict(label="PCA, n = ∞", color="tab:red"),
    "cl-population": dict(label="CL, n = ∞", color="tab:blue"),
    "cl-fixed-population": dict(label="CL fixed mask, n = ∞"),
    # supervised CL (fig5)
    "supervised-cl": dict(label="supervised CL (realized masks)"),
    "supervised-cl-expected": dict(label="supervised CL (mask-averaged)"),
    # contrastive systems
    "spectral": dict(label="spectral (closed form)", color="tab:olive", marker="s"),
    "spectral-population": dict(label="spectral, n = ∞", color="tab:olive"),
    "spectral-gd": dict(label="spectral (GD)", color="tab:gray", marker="X"),
    "spectral-sgd": dict(label="spectral (minibatch Adam)", color="tab:pink", marker="^"),
    "nt-xent": dict(label="NT-Xent", color="darkgreen", marker="o"),
    "nt-xent-head": dict(label="NT-Xent + ReLU head", color="yellowgreen", marker="s"),
    "siglip": dict(label="SigLIP (sigmoid)", color="navy", marker="o"),
    "clip": dict(label="CLIP (softmax)", color="darkorange", marker="s"),
    "align-uniform": dict(label="align + uniform", color="teal", marker="D"),
    "byol": dict(label="BYOL/SimSiam (linear ODE)", color="magenta", marker="o"),
    "simsiam": dict(label="SimSiam", color="indigo", marker="s"),
    "directpred": dict(label="DirectPred", color="goldenrod", marker="^"),
    "no-predictor": dict(label="no predictor", color="slategray", marker="v"),
}

#: Legend label of every built-in method.
METHOD_LABELS = {name: entry["label"] for name, entry in METHOD_STYLES.items()}

#: Axis labels of the common grid columns and metrics.
AXIS_LABELS = {
    "n": "sample size n",
    "d": "dimension d",
    "C": "noise condition number C",
    "sin_theta": "‖sin Θ(U*, Û)‖_F",
    "excess_risk": "ΔR_U* = R(Û) − R(U*)",
    "excess_risk_linear": "ΔR_lin = R(Û) − R_lin",
}


def method_label(name: str) -> str:
    """Legend label of a method.

    Parameters
    ----------
    name : str
        Method name.

    Returns
    -------
    str
        Its label in :data:`METHOD_LABELS`, or ``name`` itself when it has none.

    Examples
    --------
    >>> from spikedcl.plotting import method_label
    >>> method_label("cl"), method_label("my-method")
    ('CL (realized masks)', 'my-method')
    """
    return METHOD_LABELS.get(name, str(name))


def method_style(name: str) -> dict[str, Any]:
    """Matplotlib keywords (``color``, ``marker``, ``linestyle`` where set) of method ``name``.

    Parameters
    ----------
    name : str
        Method name; one outside :data:`METHOD_STYLES` has no style.

    Returns
    -------
    dict
        A fresh dict, empty for a method outside :data:`METHOD_STYLES`.

    Examples
    --------
    >>> from spikedcl.plotting import method_style
    >>> method_style("cl"), method_style("my-method")
    ({'color': 'tab:blue', 'marker': 'o'}, {})
    """
    return {k: v for k, v in METHOD_STYLES.get(name, {}).items() if k != "label"}


def style() -> contextlib.AbstractContextManager[Any]:
    """A matplotlib style context for paper figures (small fonts, light grid).

    Returns
    -------
    contextlib.AbstractContextManager
        ``matplotlib.rc_context`` with the project's settings.
    """
    import matplotlib as mpl

    return mpl.rc_context({
        "font.size": 9, "axes.titlesize": 9, "legend.fontsize": 7, "axes.grid": True,
        "grid.alpha": 0.3, "lines.linewidth": 1.4, "lines.markersize": 3.5, "figure.dpi": 110,
        "savefig.bbox": "tight", "pdf.fonttype": 42,
    })
