"""Figures of the supervised contrastive-learning sweeps (docs/model.md §8, §9 F5).

Both functions take the long results table written by the sweep engine and the
resolved configuration, and return a :class:`matplotlib.figure.Figure`
(``spikedcl figures fig5`` saves it). Lines are means over replicates with
95 % Student-t bands, one colour per labeled sample size ``m`` (:data:`M_COLORS`)
and one line style per method.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..analysis import mean_ci
from ._common import figure_legend, mean_band, new_figure
from .styles import PALETTE, REFERENCE, method_label, method_style, style

__all__ = ["fig5", "fig5_classification"]

_MAIN = "supervised-cl-expected"
_REALIZED = "supervised-cl"
_TASK_LABEL = {"source": "in-domain (source task)", "transfer": "transfer task"}
_TASK_SHORT = {"source": "source task", "transfer": "transfer task"}

#: Colours of the labeled sample sizes ``m`` (the line style tells the method).
M_COLORS = (PALETTE["blue"], PALETTE["orange"], PALETTE["bluish green"], PALETTE["reddish purple"],
            PALETTE["vermillion"], PALETTE["sky blue"])


def _line(ax, part, label, *, band=True, gid=None, **kw):
    """Mean over replicates against ``alpha``, with markers and (``band``) its confidence band."""
    kw.setdefault("marker", "o")
    return mean_band(ax, mean_ci(part, "alpha"), "alpha", band=band, label=label, gid=gid, **kw)


def _ms(df):
    return sorted(df["m"].dropna().unique()) if "m" in df else [None]


def _sub(df, **eq):
    out = df
    for key, value in eq.items():
        out = out[out[key] == value]
    return out


def _by_m(dm, main):
    """Per labeled sample size ``m``: its legend label, its rows and its colour."""
    for c, m in enumerate(_ms(dm)):
        label = f"$m = {int(m):,}$".replace(",", "{,}") if m is not None else method_label(main)
        yield label, (dm if m is None else _sub(dm, m=m)), M_COLORS[c % len(M_COLORS)]


def _oracle_line(ax, dm):
    """Grey level of the oracle features :math:`U^\\star` (mean over replicates), when ``dm`` holds it."""
    oracle = _sub(dm, method="oracle")
    if len(oracle):
        ax.axhline(float(oracle["value"].mean()), color=method_style("oracle")["color"], linewidth=0.9,
                   label=r"oracle features $U^\star$", gid="oracle")


def _main_method(df):
    methods = set(df["method"])
    return _MAIN if _MAIN in methods else _REALIZED


def _method_keys(ax, main, realized):
    """Legend entries of the line styles: the main method (solid, markers) and the realized masks (dashed)."""
    kw = method_style(main)
    ax.plot([], [], color=REFERENCE, marker=kw.get("marker", "o"), linestyle="-", label=method_label(main))
    if realized:
        ax.plot([], [], color=REFERENCE, linestyle="--", label=method_label(_REALIZED))


def fig5(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """Population risk on the source and the transfer task against ``alpha`` (F5, regression).

    Parameters
    ----------
    df : pandas.DataFrame
        Long results of :func:`spikedcl.experiments.supervised.supervised_transfer`
        with grid columns ``alpha``, ``m`` and ``k``.
    config : dict
        The resolved configuration.

    Returns
    -------
    matplotlib.figure.Figure
        7 inches wide. Rows: in-domain risk, transfer risk; columns:
        representation dimension ``k``; colours: labeled sample size ``m``.
        Solid: mask-averaged :math:`M_{self}`; dashed: realized masks; black
        dotted: the population fit (``n, m → ∞``); thin black: :math:`R(U^\\star)`;
        light dotted: the risk without features, :math:`1 + \\sigma_\\varepsilon^2`.
        One legend under the panels.
    """
    ks = sorted(df["k"].unique()) if "k" in df else [None]
    main = _main_method(df)
    realized = main != _REALIZED and _REALIZED in set(df["method"])
    noise_std = float(config.get("params", {}).get("noise_std", 0.1))
    with style():
        fig, axes = new_figure(2, len(ks), width="two", height=2.0, sharex=True, sharey=True)
        for j, k in enumerate(ks):
            dk = df if k is None else _sub(df, k=k)
            for i, task in enumerate(("source", "transfer")):
                ax = axes[i, j]
                dm = _sub(dk, metric=f"risk_{task}")
                for label, dmm, color in _by_m(dm, main):
                    _line(ax, _sub(dmm, method=main), label, color=color)  # colour: m; line style: the method
                    if realized:
                        _line(ax, _sub(dmm, method=_REALIZED), None, band=False, color=color,
                              linestyle="--", linewidth=0.9, marker="")
                theory = _sub(dm, method="theory")
                if len(theory):
                    _line(ax, theory, r"$n, m \to \infty$", band=False, color="black", linestyle=":", marker="",
                          gid="theory")
                _oracle_line(ax, dm)
                ax.axhline(1 + noise_std**2, color="0.7", linestyle=":", linewidth=1.0,
                           label=r"no features, $1 + \sigma_\varepsilon^2$")
                ax.set_title(f"{_TASK_LABEL[task]}, $k = {k}$" if k is not None else _TASK_LABEL[task])
                if j == 0:
                    ax.set_ylabel("population risk $R$")
                if i == 1:
                    ax.set_xlabel(r"supervised weight $\alpha$")
        _method_keys(axes[0, 0], main, realized)
        figure_legend(fig, list(axes.ravel()))
    return fig


def fig5_classification(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """Test accuracy on the source and transfer classification tasks against ``alpha`` (F5).

    Parameters
    ----------
    df : pandas.DataFrame
        Long results of
        :func:`spikedcl.experiments.supervised.supervised_transfer_classification`
        with grid columns ``alpha``, ``m``, ``k``, ``label_model`` and optionally
        ``n_classes`` (absent or missing: two classes).
    config : dict
        The resolved configuration.

    Returns
    -------
    matplotlib.figure.Figure
        7 inches wide. Rows: (label model, number of classes K); columns:
        (``k``, task); colours: labeled sample size ``m``. Thin black: the accuracy of
        the oracle features :math:`U^\\star` on the same downstream samples;
        light dotted: 1/K (chance for equally likely classes). One legend under
        the panels.
    """
    df = df.assign(n_classes=df["n_classes"].fillna(2).astype(int)) if "n_classes" in df else df.assign(n_classes=2)
    labels = sorted(df["label_model"].unique()) if "label_model" in df else [None]
    models = [(lm, K) for lm in labels for K in sorted(df["n_classes"].unique())]
    ks = sorted(df["k"].unique()) if "k" in df else [None]
    cols = [(k, task) for k in ks for task in ("source", "transfer")]
    main = _main_method(df)
    with style():
        fig, axes = new_figure(len(models), len(cols), width="two", height=1.35, sharex=True, sharey="row")
        for i, (lm, K) in enumerate(models):
            dl = _sub(df if lm is None else _sub(df, label_model=lm), n_classes=K)
            for j, (k, task) in enumerate(cols):
                ax = axes[i, j]
                dm = _sub(dl if k is None else _sub(dl, k=k), metric=f"accuracy_{task}")
                for label, dmm, color in _by_m(dm, main):
                    _line(ax, _sub(dmm, method=main), label, color=color)
                _oracle_line(ax, dm)
                ax.axhline(1 / K, color="0.7", linestyle=":", linewidth=1.0, label="chance, $1/K$")
                if i == 0:
                    ax.set_title(f"{_TASK_SHORT[task]}, $k = {k}$" if k is not None else _TASK_SHORT[task])
                if j == 0:
                    ax.set_ylabel(f"{lm}, $K = {K}$" if lm is not None else f"$K = {K}$")
                if i == len(models) - 1:
                    ax.set_xlabel(r"weight $\alpha$")
        fig.supylabel("test accuracy (rows: label model, number of classes $K$)", fontsize=8)
        figure_legend(fig, list(axes.ravel()))
    return fig
