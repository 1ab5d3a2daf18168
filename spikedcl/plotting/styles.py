"""The one table of method styles, the axis labels, the figure sizes and the figure style.

Every figure of the package takes a method's legend label, colour, marker and
line style from :data:`METHOD_STYLES` (through :func:`method_label` and
:func:`method_style`), so a method looks the same in every panel of every
figure. Colours come from one colour-blind-safe palette, Okabe & Ito's
(:data:`PALETTE`); methods that share a colour differ in marker and line
style. Limits and predictions are lines without markers: the population limits
(``n = ∞``) dotted, the exact asymptotic predictions dashed. A method missing
from the table gets its own name as label and the next colour of the cycle.

Axis labels are mathtext, taken from :data:`AXIS_LABELS` (grid columns and
:data:`METRIC_LABELS`) through :func:`axis_label`. Figures are
:data:`FIGURE_WIDTHS` wide (one or two columns of a paper) and drawn inside
:func:`style`, which embeds TrueType fonts in PDF and PostScript files (Type 42)
and lays the figure out with matplotlib's constrained layout. Matplotlib is
imported only inside :func:`style`.
"""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["PALETTE", "METHOD_STYLES", "METHOD_LABELS", "METRIC_LABELS", "AXIS_LABELS", "FIGURE_WIDTHS",
           "method_label", "method_style", "axis_label", "style"]

#: Okabe & Ito's colour-blind-safe qualitative palette (Okabe and Ito, 2008), by name.
PALETTE = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish green": "#009E73",
    "orange": "#E69F00",
    "reddish purple": "#CC79A7",
    "sky blue": "#56B4E9",
    "black": "#000000",
    "yellow": "#F0E442",
}

#: Neutral grey of reference lines that are no method (theory shapes, levels, zero lines).
REFERENCE = "0.35"

_P = PALETTE

#: Label, colour, marker and line style of every built-in method.
METHOD_STYLES = {
    # subspace estimators (fig1-fig4)
    "pca": dict(label="PCA", color=_P["vermillion"], marker="o", linestyle="-"),
    "ae": dict(label="autoencoder", color=_P["orange"], marker="s", linestyle=(0, (4, 2))),
    "gan": dict(label="GAN", color=_P["reddish purple"], marker="^", linestyle=(0, (1, 1))),
    "cl": dict(label="CL (realized masks)", color=_P["blue"], marker="o", linestyle="-"),
    "cl-expected": dict(label=r"CL (mask-averaged $\bar M$)", color=_P["sky blue"], marker="D", linestyle="-"),
    "cl-fixed": dict(label="CL (fixed mask)", color=_P["bluish green"], marker="v", linestyle="-"),
    "cl-fixed-bernoulli": dict(label="CL (fixed mask)", color=_P["bluish green"], marker="v", linestyle="-"),
    "heteropca": dict(label="HeteroPCA", color=_P["black"], marker="P", linestyle="-."),
    "oracle": dict(label="linear oracle", color=_P["black"], marker="x", linestyle=":"),
    # limits (n = ∞, dotted) and exact asymptotic predictions (dashed): lines without markers
    "pca-population": dict(label=r"PCA, $n = \infty$", color=_P["vermillion"], marker="", linestyle=":"),
    "cl-population": dict(label=r"CL, $n = \infty$", color=_P["blue"], marker="", linestyle=":"),
    "cl-fixed-population": dict(label=r"CL (fixed mask), $n = \infty$", color=_P["bluish green"], marker="",
                                linestyle=":"),
    "pca-asymptotic": dict(label="PCA, asymptotic prediction", color=_P["vermillion"], marker="",
                           linestyle=(0, (5, 2))),
    "cl-asymptotic": dict(label=r"CL ($\bar M$), asymptotic prediction", color=_P["sky blue"], marker="",
                          linestyle=(0, (5, 2))),
    # supervised CL (fig5)
    "supervised-cl": dict(label="supervised CL (realized masks)", color=_P["blue"], marker="", linestyle="--"),
    "supervised-cl-expected": dict(label="supervised CL (mask-averaged)", color=_P["blue"], marker="o",
                                   linestyle="-"),
    # gradient descent and SGD (fig6)
    "cl-gd-cross-view": dict(label="CL cross-view (GD)", color=_P["blue"], marker="", linestyle="-", linewidth=2.6),
    "cl-gd-simclr": dict(label="CL SimCLR (GD)", color=_P["bluish green"], marker="v", linestyle=(0, (4, 2))),
    "ae-gd": dict(label="autoencoder (GD)", color=_P["orange"], marker="", linestyle="-"),
    # contrastive systems
    "spectral": dict(label="spectral (closed form)", color=_P["bluish green"], marker="s", linestyle="-"),
    "spectral-population": dict(label=r"spectral, $n = \infty$", color=_P["bluish green"], marker="",
                                linestyle=":"),
    "spectral-gd": dict(label="spectral (GD)", color=_P["black"], marker="X", linestyle=(0, (4, 2))),
    "spectral-sgd": dict(label="spectral (minibatch Adam)", color=_P["bluish green"], marker="P", linestyle="-"),
    "nt-xent": dict(label="NT-Xent", color=_P["orange"], marker="^", linestyle="-"),
    "nt-xent-head": dict(label="NT-Xent + ReLU head", color=_P["reddish purple"], marker="s",
                         linestyle=(0, (4, 2))),
    "siglip": dict(label="SigLIP (sigmoid)", color=_P["reddish purple"], marker="v", linestyle="-"),
    "clip": dict(label="CLIP (softmax)", color=_P["black"], marker="s", linestyle=(0, (4, 2))),
    "align-uniform": dict(label="align + uniform", color=_P["sky blue"], marker="h", linestyle="-"),
    "byol": dict(label="BYOL/SimSiam (linear ODE)", color=_P["black"], marker="*", linestyle="-"),
    "simsiam": dict(label="SimSiam", color=_P["blue"], marker="s", linestyle="-"),
    "directpred": dict(label="DirectPred", color=_P["orange"], marker="^", linestyle="-"),
    "no-predictor": dict(label="no predictor", color=_P["reddish purple"], marker="v", linestyle=(0, (4, 2))),
    "linear-1-layer": dict(label="1 linear layer", color=_P["orange"], marker="o", linestyle="-"),
    "linear-2-layer": dict(label="2 linear layers", color=_P["reddish purple"], marker="s", linestyle=(0, (4, 2))),
}

#: Legend label of every built-in method.
METHOD_LABELS = {name: entry["label"] for name, entry in METHOD_STYLES.items()}

#: Axis label (mathtext) of every metric the experiments write.
METRIC_LABELS = {
    "sin_theta": r"$\|\sin\Theta(U^\star, \hat U)\|_F$",
    "excess_risk": r"$\Delta R_{U^\star} = R(\hat U) - R(U^\star)$",
    "excess_risk_linear": r"$\Delta R_{\mathrm{lin}} = R(\hat U) - R_{\mathrm{lin}}$",
    "rankme": "RankMe",
    "align": r"$\mathcal{L}_{\mathrm{align}}$",
    "uniform": r"$\mathcal{L}_{\mathrm{uniform}}$",
    "loss_gap": r"$L(W_t) - L^\star$",
    "distance_to_closed_form": r"$\|W_t^\top W_t - P^\star\|_F$",
    "sin_theta_to_pca": r"$\|\sin\Theta(W_D, U_{\mathrm{PCA}})\|_F$",
    "sin_theta_to_closed_form": r"$\|\sin\Theta(\hat U, \hat U_{\mathrm{closed\ form}})\|_F$",
    "sin_theta_a": r"$\|\sin\Theta(U^\star, \hat U_a)\|_F$",
    "sin_theta_b": r"$\|\sin\Theta(U^\star, \hat U_b)\|_F$",
    "retrieval_top1": "top-1 retrieval accuracy",
    "initial_loss": "loss per row at initialisation",
    "s_max": r"largest eigenvalue of $WW^\top$",
    "mi_estimate": r"InfoNCE estimate $\log K - L$ (nats)",
    "risk_source": r"population risk $R$, source task",
    "risk_transfer": r"population risk $R$, transfer task",
    "accuracy_source": "test accuracy, source task",
    "accuracy_transfer": "test accuracy, transfer task",
    "log10_eig": r"$\log_{10}$ eigenvalue",
}

#: Axis labels of the common grid columns and of the metrics (:data:`METRIC_LABELS`).
AXIS_LABELS = {
    "n": r"sample size $n$",
    "d": r"dimension $d$",
    "r": r"rank $r$",
    "C": r"noise condition number $C$",
    "k": r"representation dimension $k$",
    "m": r"labeled samples $m$",
    "alpha": r"supervised weight $\alpha$",
    "temperature": r"temperature $\tau$",
    "ratio": r"$\lambda_{\mathrm{align}} / \lambda_{\mathrm{uniform}}$",
    "batch_size": r"batch size $B$",
    "K": r"batch size $K$",
    "eta": r"weight decay $\eta$",
    "mask_prob": r"mask probability $p$",
    "aug_noise": "augmentation noise",
    "steps": "Adam steps",
    "step": "iteration",
    **METRIC_LABELS,
}

#: Figure widths in inches: one column and two columns (the full text width) of a paper.
FIGURE_WIDTHS = {"one": 3.4, "two": 7.0}


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
    """Matplotlib keywords (``color``, ``marker``, ``linestyle``, ``linewidth`` where set) of method ``name``.

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
    ({'color': '#0072B2', 'marker': 'o', 'linestyle': '-'}, {})
    """
    return {k: v for k, v in METHOD_STYLES.get(name, {}).items() if k != "label"}


def axis_label(name: str) -> str:
    """Axis label of a grid column or metric.

    Parameters
    ----------
    name : str
        Column or metric name.

    Returns
    -------
    str
        Its entry in :data:`AXIS_LABELS`, or ``name`` with underscores written
        as spaces when it has none (no raw column names on an axis).

    Examples
    --------
    >>> from spikedcl.plotting import axis_label
    >>> axis_label("n"), axis_label("my_metric")
    ('sample size $n$', 'my metric')
    """
    return AXIS_LABELS.get(name, str(name).replace("_", " "))


def style() -> contextlib.AbstractContextManager[Any]:
    """The matplotlib style context of every figure of the package.

    Small fonts for figures printed 3.4 or 7 inches wide, the
    :data:`PALETTE` colour cycle, constrained layout, legends without frames,
    and TrueType fonts embedded in PDF and PostScript files (``pdf.fonttype``
    and ``ps.fonttype`` 42, as journals ask).

    Returns
    -------
    contextlib.AbstractContextManager
        ``matplotlib.rc_context`` with the project's settings.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> from spikedcl.plotting import style
    >>> with style():
    ...     mpl.rcParams["pdf.fonttype"], mpl.rcParams["ps.fonttype"]
    (42, 42)
    """
    import matplotlib as mpl
    from cycler import cycler

    return mpl.rc_context({
        "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
        "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.5,
        "lines.linewidth": 1.3, "lines.markersize": 3.5, "axes.linewidth": 0.6,
        "axes.prop_cycle": cycler(color=list(PALETTE.values())[:6]),
        "legend.frameon": False, "legend.handlelength": 2.6, "legend.columnspacing": 1.2,
        "figure.dpi": 110, "figure.constrained_layout.use": True, "savefig.bbox": None,
        "mathtext.fontset": "dejavusans", "axes.unicode_minus": True,
        "pdf.fonttype": 42, "ps.fonttype": 42,
    })
