"""Figures of the supervised contrastive-learning sweeps (docs/model.md §8, §9 F5).

Both functions take the long results table written by the sweep engine and the
resolved configuration, and return a :class:`matplotlib.figure.Figure`
(``simulations/make_figures.py fig5`` saves it). Lines are means over
replicates with 95 % Student-t bands, one colour per labeled sample size ``m``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..analysis import mean_ci
from ._common import describe, mean_band
from .styles import style

__all__ = ["fig5", "fig5_classification"]

_MAIN = "supervised-cl-expected"
_REALIZED = "supervised-cl"
_TASK_LABEL = {"source": "in-domain (source task)", "transfer": "transfer task"}


def _line(ax, part, label, *, band=True, **kw):
    """Mean over replicates against ``alpha``, with markers and (``band``) its confidence band."""
    return mean_band(ax, mean_ci(part, "alpha"), "alpha", band=band, marker="o", label=label, **kw)


def _ms(df):
    return sorted(df["m"].dropna().unique()) if "m" in df else [None]


def _sub(df, **eq):
    out = df
    for key, value in eq.items():
        out = out[out[key] == value]
    return out


def _by_m(dm, main, colors):
    """Per labeled sample size ``m``: its legend label, its rows and its colour of the cycle ``colors``."""
    for c, m in enumerate(_ms(dm)):
        yield (f"m = {m:,}" if m is not None else main), (dm if m is None else _sub(dm, m=m)), colors[c % len(colors)]


def _oracle_line(ax, dm):
    """Grey level of the oracle features :math:`U^\\star` (mean over replicates), when ``dm`` holds it."""
    oracle = _sub(dm, method="oracle")
    if len(oracle):
        level = float(oracle["value"].mean())
        ax.axhline(level, color="0.5", linewidth=1.0, label=f"U*: {level:.3f}")


def _main_method(df):
    methods = set(df["method"])
    return _MAIN if _MAIN in methods else _REALIZED


def fig5(df: pd.DataFrame, config: Mapping[str, Any]) -> Figure:
    """Population risk on the source and the transfer task against ``alpha`` (F5, regression).

    Parameters
    ----------
    df : pandas.DataFrame
        Long results of :func:`spikedcl.experiments.supervised.supervised_transfer`
        with grid columns ``alpha``, ``m`` and ``k``.
    config : dict
        The resolved configuration (its ``description`` titles the figure).

    Returns
    -------
    matplotlib.figure.Figure
        Rows: in-domain risk, transfer risk; columns: representation dimension
        ``k``. Solid: mask-averaged :math:`M_{self}`; dashed: realized masks;
        black dotted: the population fit (``n, m → ∞``); grey: :math:`R(U^\\star)`;
        light dotted: the risk without features, :math:`1 + \\sigma_\\varepsilon^2`.
    """
    import matplotlib.pyplot as plt

    ks = sorted(df["k"].unique()) if "k" in df else [None]
    main = _main_method(df)
    with style():
        fig, axes = plt.subplots(2, len(ks), figsize=(3.4 * len(ks), 5.6), squeeze=False, sharex=True)
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for j, k in enumerate(ks):
            dk = df if k is None else _sub(df, k=k)
            for i, task in enumerate(("source", "transfer")):
                ax = axes[i, j]
                metric = f"risk_{task}"
                dm = _sub(dk, metric=metric)
                for label, dmm, color in _by_m(dm, main, colors):
                    _line(ax, _sub(dmm, method=main), label, color=color)
                    if main != _REALIZED and _REALIZED in set(dmm["method"]):
                        _line(ax, _sub(dmm, method=_REALIZED), None, band=False, color=color,
                              linestyle="--", linewidth=0.9, markersize=0)
                theory = _sub(dm, method="theory")
                if len(theory):
                    _line(ax, theory, "n, m → ∞", band=False, color="black", linestyle=":", markersize=0)
                _oracle_line(ax, dm)
                noise_std = float(config.get("params", {}).get("noise_std", 0.1))
                ax.axhline(1 + noise_std**2, color="0.7", linestyle=":", linewidth=1.0, label="no features")
                ax.set_title(f"{_TASK_LABEL[task]}, k = {k}" if k is not None else _TASK_LABEL[task])
                ax.set_ylabel(f"population risk R, {task}")
                if i == 1:
                    ax.set_xlabel("supervised weight α")
        axes[0, 0].legend(loc="best", frameon=False)
        axes[1, 0].plot([], [], color="0.3", linestyle="--", label="realized masks")
        axes[1, 0].legend(loc="best", frameon=False)
        describe(fig, config, fontsize=8)
        fig.tight_layout()
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
        Rows: (label model, number of classes K); columns: (``k``, task). Grey:
        the accuracy of the oracle features :math:`U^\\star` on the same
        downstream samples; light dotted: 1/K (chance for equally likely classes).
    """
    import matplotlib.pyplot as plt

    df = df.assign(n_classes=df["n_classes"].fillna(2).astype(int)) if "n_classes" in df else df.assign(n_classes=2)
    labels = sorted(df["label_model"].unique()) if "label_model" in df else [None]
    models = [(lm, K) for lm in labels for K in sorted(df["n_classes"].unique())]
    ks = sorted(df["k"].unique()) if "k" in df else [None]
    cols = [(k, task) for k in ks for task in ("source", "transfer")]
    main = _main_method(df)
    with style():
        fig, axes = plt.subplots(len(models), len(cols), figsize=(3.0 * len(cols), 2.9 * len(models)),
                                 squeeze=False, sharex=True)
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, (lm, K) in enumerate(models):
            dl = _sub(df if lm is None else _sub(df, label_model=lm), n_classes=K)
            for j, (k, task) in enumerate(cols):
                ax = axes[i, j]
                dm = _sub(dl if k is None else _sub(dl, k=k), metric=f"accuracy_{task}")
                for label, dmm, color in _by_m(dm, main, colors):
                    _line(ax, _sub(dmm, method=main), label, color=color)
                _oracle_line(ax, dm)
                ax.axhline(1 / K, color="0.7", linestyle=":", linewidth=1.0, label="1/K")
                ax.set_title(f"{lm}, K = {K}: {_TASK_LABEL[task]}, k = {k}", fontsize=8)
                if j == 0:
                    ax.set_ylabel("test accuracy")
                if i == len(models) - 1:
                    ax.set_xlabel("supervised weight α")
        axes[0, 0].legend(loc="best", frameon=False)
        describe(fig, config, fontsize=8)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.25 / fig.get_figheight()))  # room for the title
    return fig
