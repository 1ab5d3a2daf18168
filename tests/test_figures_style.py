"""Figures in one style: legends, one colour per method, mathtext labels, embedded fonts, widths.

The figures are built from small synthetic long tables shaped like the sweep
rows (the packaged configurations' ``[figure]`` tables on made-up values), so
the checks run in seconds and do not depend on any sweep's numbers.
"""

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.text import Text

from spikedcl.plotting import METHOD_STYLES, figure_from_spec, save_figure, style
from spikedcl.plotting._common import coincident_groups
from spikedcl.plotting.gd import fig6
from spikedcl.plotting.supervised import fig5
from spikedcl.plotting.systems import losses, nt_xent
from spikedcl.sweep import load_config, resolve_config

REPS = 3


def _rows(grid, methods, metric, value, *, reps=REPS, seed=0, **fixed):
    """Long rows: ``value(method, point, rep) -> float`` at every grid point of ``grid`` (dict of lists)."""
    rng = np.random.default_rng(seed)
    keys = list(grid)
    points = [dict(zip(keys, v)) for v in np.array(np.meshgrid(*grid.values())).reshape(len(keys), -1).T]
    out = []
    for point in points:
        for rep in range(reps):
            noise = rng.normal(scale=0.02)
            for method in methods:
                out.append({**fixed, **point, "method": method, "metric": metric, "rep": rep,
                            "value": value(method, point, rep, noise)})
    return out


def _subspace_table(ae_offset=0.0):
    """fig1-shaped rows: PCA = AE = GAN exactly (AE off by ``ae_offset`` relative), CL decaying, limits, theory."""
    n = [1000, 2000, 5000, 10000]

    def value(method, p, rep, noise):
        plateau = 0.6 + 1.5 / np.sqrt(p["n"] / 1000) + noise
        return {"pca": plateau, "gan": plateau, "ae": plateau * (1 + ae_offset),
                "cl": 3 / np.sqrt(p["n"]) * 10 * (1 + noise), "cl-expected": 2.5 / np.sqrt(p["n"]) * 10 * (1 + noise),
                "cl-fixed-bernoulli": 0.2 + 2 / np.sqrt(p["n"]) * 10, "pca-population": 0.55 + noise / 10,
                "cl-population": 0.04, "pca-asymptotic": plateau - noise,
                "cl-asymptotic": 2.4 / np.sqrt(p["n"]) * 10}[method]

    methods = ["pca", "ae", "gan", "cl", "cl-expected", "cl-fixed-bernoulli", "pca-population", "cl-population",
               "pca-asymptotic", "cl-asymptotic"]
    rows = _rows({"n": n}, methods, "sin_theta", value, d=200, noise="uniform", C=8.0, sampler="data")
    rows += _rows({"n": n}, ["theory"], "cl_bound_shape", lambda m, p, r, e: 0.1 + np.sqrt(1000 / p["n"]),
                  d=200, noise="uniform", C=8.0, sampler="data")
    # fig1's extended panel: the moment-based methods on exactly drawn statistics, n to 1e9
    moments = ["pca", "ae", "gan", "cl-expected", "pca-asymptotic", "cl-asymptotic"]
    rows += _rows({"n": [10**6, 10**9]}, moments, "sin_theta", value, d=200, noise="uniform", C=8.0,
                  sampler="moments")
    return pd.DataFrame(rows)


def _condition_table():
    """fig4-shaped rows: two noise profiles; the CL population limits nearly equal across them."""
    rows = []
    for noise, scale in (("uniform", 1.0), ("two-block", 1.4)):
        def value(method, p, rep, e, scale=scale):
            c = np.log2(p["C"])
            return {"pca": 0.3 + 0.1 * scale * c + e, "cl": 0.39 - 0.03 * c + e, "cl-expected": 0.32 - 0.03 * c + e,
                    "pca-population": 0.1 * scale * c, "cl-population": 0.039 + 0.0005 * scale,
                    "pca-asymptotic": 0.3 + 0.1 * scale * c}[method]

        rows += _rows({"C": [1.0, 2.0, 4.0, 8.0]}, ["pca", "cl", "cl-expected", "pca-population", "cl-population",
                                                   "pca-asymptotic"], "sin_theta", value, noise=noise, n=20000)
    return pd.DataFrame(rows)


def _gd_table():
    rows = []
    for rep in range(REPS):
        for step in range(30):
            decay = np.exp(-0.5 * step) * (1 + 0.1 * rep)
            for method, metrics in (("cl-gd-cross-view", ("loss_gap", "distance_to_closed_form")),
                                    ("cl-gd-simclr", ("loss_gap", "distance_to_closed_form")),
                                    ("ae-gd", ("loss_gap", "sin_theta_to_pca"))):
                for metric in metrics:
                    factor = 1.003 if method == "cl-gd-simclr" else 1.0  # close to cross-view, not equal
                    rows.append({"method": method, "metric": metric, "step": step, "rep": rep, "batch": np.nan,
                                 "value": decay * factor})
        for epoch in range(1, 11):
            rows.append({"method": "cl-expected", "metric": "sin_theta", "step": epoch, "rep": rep, "batch": np.nan,
                         "value": 0.22 + 0.01 * rep})
            for i, batch in enumerate((32, 256, np.nan)):
                rows.append({"method": "cl-sgd", "metric": "sin_theta", "step": epoch, "rep": rep, "batch": batch,
                             "value": 0.22 + (1.0 + i) / epoch + 0.02 * rep})
    return pd.DataFrame(rows)


def _systems_table(x, values):
    methods = ["cl", "pca", "spectral", "nt-xent", "siglip", "align-uniform", "byol", "nt-xent-head"]
    rows = []
    for i, metric in enumerate(("sin_theta", "excess_risk", "excess_risk_linear", "rankme")):
        rows += _rows({x: values}, methods, metric,
                      lambda m, p, r, e, i=i: (1 + methods.index(m)) * 0.05 * (1 + i) / np.sqrt(p[x]) + abs(e))
    return pd.DataFrame(rows)


def _supervised_table():
    def value(method, p, rep, e):
        return 0.4 + 0.5 * (1 - p["alpha"]) / np.sqrt(p["m"] / 100) + abs(e) + (0.01 if method == "supervised-cl"
                                                                               else 0)

    rows = []
    for task in ("source", "transfer"):
        rows += _rows({"alpha": [0.0, 0.5, 1.0], "m": [300, 2000], "k": [1, 2]},
                      ["supervised-cl-expected", "supervised-cl", "oracle"], f"risk_{task}", value)
    return pd.DataFrame(rows)


def _config(name):
    return resolve_config(load_config(name))


@pytest.fixture(scope="module")
def figures():
    """The figures checked below, by name, with the methods each should draw."""
    built = {
        "fig1": figure_from_spec(_subspace_table(), _config("fig1")),
        "fig4": figure_from_spec(_condition_table(), _config("fig4")),
        "fig6": fig6(_gd_table(), _config("fig6")),
        "losses": losses(_systems_table("n", [1000, 2000, 5000]), _config("losses")),
        "nt_xent": nt_xent(_systems_table("temperature", [0.05, 0.1, 0.2, 0.5, 1.0, 2.0]), _config("nt_xent")),
        "fig5": fig5(_supervised_table(), _config("fig5")),
    }
    yield built
    for fig in built.values():
        plt.close(fig)


def _legend_labels(fig):
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [[t.get_text() for t in leg.get_texts()] for leg in legends]


def _texts(fig):
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _outside_math(text):
    """The part of a label that prints as plain text (mathtext segments ``$...$`` removed)."""
    return re.sub(r"\$[^$]*\$", "", text)


def test_each_figure_has_one_legend_with_unique_entries(figures):
    expected = {
        "fig1": {"PCA = autoencoder = GAN", "CL (realized masks)", r"CL (mask-averaged $\bar M$)", "CL (fixed mask)",
                 "PCA, asymptotic prediction", r"CL ($\bar M$), asymptotic prediction"},
        "fig4": {"PCA", "CL (realized masks)", r"PCA, $n = \infty$, uniform", r"CL, $n = \infty$, two-block"},
        "fig6": {"CL cross-view (GD)", "CL SimCLR (GD)", "autoencoder (GD)", r"CL (mask-averaged $\bar M$)",
                 "SGD, batch 32", "SGD, batch 256", "SGD, full batch"},
        "losses": {"CL (realized masks)", "PCA", "NT-Xent", "SigLIP (sigmoid)", "align + uniform"},
        "nt_xent": {"NT-Xent", "NT-Xent + ReLU head", "spectral (closed form)"},
        "fig5": {"$m = 300$", "$m = 2{,}000$", r"oracle features $U^\star$", "supervised CL (realized masks)"},
    }
    for name, fig in figures.items():
        legends = _legend_labels(fig)
        assert len(legends) == 1 and len(fig.legends) == 1, name  # one legend, for the whole figure
        labels = legends[0]
        assert len(labels) == len(set(labels)), (name, labels)
        assert expected[name] <= set(labels), (name, expected[name] - set(labels))
    bound = [lab for lab in _legend_labels(figures["fig1"])[0] if lab.startswith("bound shape")]
    assert bound == [bound[0]] and r"c\,(r^{3/2}\log d/d + \sqrt{dr/n})" in bound[0] and "fitted $c = " in bound[0]


def test_legends_lie_outside_the_panels(figures):
    for name, fig in figures.items():
        fig.draw_without_rendering()
        box = fig.legends[0].get_window_extent()
        for ax in fig.axes:
            if ax.get_visible():
                assert not box.overlaps(ax.get_window_extent()), name


def test_one_colour_marker_and_line_style_per_method_across_panels_and_figures(figures):
    seen = {}
    for name, fig in figures.items():
        for line in fig.findobj(Line2D):
            method = line.get_gid()
            if method not in METHOD_STYLES or not line.get_label() or line.get_label().startswith("_child"):
                continue
            look = (to_rgba(line.get_color()), line.get_marker() if line.get_marker() not in (None, "None") else "")
            seen.setdefault(method, set()).add(look)
            assert look[0] == to_rgba(METHOD_STYLES[method]["color"]), (name, method)
    checked = {m for m, looks in seen.items() if len(looks) > 0}
    assert {"pca", "cl", "cl-expected", "nt-xent", "cl-gd-cross-view"} <= checked
    # a method keeps one colour and one marker everywhere (fig4's population panel varies the marker per noise)
    for method, looks in seen.items():
        assert len({c for c, _ in looks}) == 1, method
        if method not in ("pca-population", "cl-population"):
            assert len(looks) == 1, (method, looks)


def test_no_plain_text_symbols_raw_names_or_document_references(figures):
    for name, fig in figures.items():
        for text in _texts(fig):
            plain = _outside_math(text)
            for bad in ("_F", "sin_theta", "excess_risk", "rankme", "r^1.5", "docs/model", "§"):
                assert bad not in plain, (name, text)
            assert "r^1.5" not in text and "sin_theta" not in text, (name, text)
            assert not re.search(r"\bspec\b", text), (name, text)
        assert fig._suptitle is None, name  # no title that reads as a note


def test_coincident_curves_share_one_legend_entry_and_others_do_not(figures):
    labels = _legend_labels(figures["fig1"])[0]
    assert "PCA = autoencoder = GAN" in labels and "autoencoder" not in labels and "GAN" not in labels
    apart = figure_from_spec(_subspace_table(ae_offset=1e-6), _config("fig1"))  # 1e-6 relative: other curves
    labels = _legend_labels(apart)[0]
    plt.close(apart)
    assert "PCA = GAN" in labels and "autoencoder" in labels
    assert coincident_groups([([1, 2], [1.0, 2.0]), ([1, 2], [1.0, 2.0 * (1 + 1e-12)]), ([1, 2], [1.0, 2.1])]) \
        == [[0, 1], [2]]
    assert coincident_groups([([1, 2], [0.0, 1.0]), ([1, 3], [0.0, 1.0])]) == [[0], [1]]  # other abscissae


def test_nearly_equal_curves_are_drawn_apart(figures):
    """CL cross-view vs SimCLR (fig6), CL's population limit under the two noise profiles (fig4)."""
    def look(fig, gid, label=None):
        lines = [ln for ln in fig.findobj(Line2D) if ln.get_gid() == gid and (label is None or ln.get_label() == label)]
        return {(ln.get_marker(), str(ln.get_linestyle()), ln.get_linewidth(), str(ln.get_markerfacecolor()))
                for ln in lines}

    assert look(figures["fig6"], "cl-gd-cross-view").isdisjoint(look(figures["fig6"], "cl-gd-simclr"))
    uniform = look(figures["fig4"], "cl-population", r"CL, $n = \infty$, uniform")
    two_block = look(figures["fig4"], "cl-population", r"CL, $n = \infty$, two-block")
    assert uniform and two_block and uniform.isdisjoint(two_block)


def test_confidence_bands_are_drawn_over_seeds(figures):
    from matplotlib.collections import PolyCollection

    for name in ("fig1", "fig6", "losses"):
        bands = [c for c in figures[name].findobj(PolyCollection) if c.get_alpha() and c.get_alpha() >= 0.2]
        assert len(bands) >= 3, name


def test_widths_are_one_or_two_paper_columns(figures, tmp_path):
    for name, fig in figures.items():
        width = fig.get_size_inches()[0]
        assert min(abs(width - 3.4), abs(width - 7.0)) < 0.01, (name, width)
        if name in ("fig4", "fig6"):
            with style():  # the context save_figure saves in: no tight-bbox cropping
                fig.savefig(tmp_path / f"{name}.png", dpi=100)
            assert abs(plt.imread(tmp_path / f"{name}.png").shape[1] / 100 - width) < 0.02, name  # at its size
    assert figures["fig1"].get_size_inches()[0] == pytest.approx(7.0)  # with its extended panel
    assert figures["fig6"].get_size_inches()[0] == pytest.approx(7.0)


def test_saved_pdf_embeds_truetype_fonts(figures, tmp_path):
    """``pdf.fonttype = 42`` in the style context save_figure uses: TrueType fonts, no Type 3 bitmaps."""
    pdf, png = save_figure(figures["fig1"], tmp_path, "fig1")
    data = pdf.read_bytes()
    assert b"/Subtype /Type3" not in data and (b"/Subtype /TrueType" in data or b"/CIDFontType2" in data)
    assert abs(plt.imread(png).shape[1] / 200 - 7.0) < 0.01


def test_log_ticks_are_readable(figures):
    for name in ("nt_xent", "fig1"):
        figures[name].draw_without_rendering()
        for ax in figures[name].axes:
            for axis in (ax.xaxis, ax.yaxis):
                labels = [t.get_text() for t in axis.get_ticklabels(minor=True) if t.get_visible() and t.get_text()]
                assert labels == [], (name, labels)  # minor ticks never carry labels
    ax = figures["nt_xent"].axes[0]
    lo, hi = ax.get_xlim()
    temps = [t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]
    assert temps == ["0.05", "0.1", "0.2", "0.5", "1", "2"]  # the grid's temperatures, plainly written
