"""Package ergonomics: lazy submodules, the sweep's notebook view, progress bars in Jupyter."""

import subprocess
import sys
import types
import warnings

import pandas as pd
import pytest

import spikedcl
from spikedcl import progress
from spikedcl.sweep import load_config, resolve_config, run_sweep, summary_table

HEAVY = ("pandas", "matplotlib", "sklearn", "pyarrow", "tqdm", "joblib", "dask")
LAZY = ("analysis", "cli", "configs", "engine", "estimators", "experiments", "io", "plotting", "sweep", "systems")


def _python(code):
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_import_spikedcl_loads_no_heavy_dependency_and_submodules_load_on_access():
    loaded = _python(f"import sys, spikedcl; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    assert loaded == ""
    code = ("import sys, spikedcl\n"
            f"for name in {LAZY!r}:\n"
            "    if name == 'estimators':\n"
            "        continue\n"
            "    module = getattr(spikedcl, name)\n"
            "    assert module is sys.modules['spikedcl.' + name], name\n"
            "print('sklearn' in sys.modules)")
    assert _python(code) == "False"  # every other lazy submodule loads without scikit-learn
    assert set(LAZY) <= set(dir(spikedcl))
    with pytest.raises(AttributeError, match="no attribute 'sweeps'"):
        spikedcl.sweeps  # noqa: B018


def test_estimators_are_attributes_of_the_package():
    pytest.importorskip("sklearn")
    estimators = pytest.importorskip("spikedcl.estimators")
    for name in ("LinearContrastive", "LinearAutoencoder", "HeteroPCA", "SupervisedContrastive"):
        assert getattr(spikedcl, name) is getattr(estimators, name)
        assert name in dir(spikedcl)


@pytest.fixture(scope="module")
def quick():
    return run_sweep(resolve_config(load_config("quick"), quick=True))


def test_the_notebook_view_shows_the_summary_table_and_a_figure(quick):
    page = quick._repr_html_()
    summary = summary_table(quick.table, "sin_theta")
    for text in summary.to_numpy().ravel():  # every "mean ± half" of the summary, as printed
        assert text in page
    assert "sweep quick" in page and "run=2" in page
    assert page.count("data:image/png;base64,") == 1 and len(page) < 100_000
    import base64

    png = base64.b64decode(page.split("base64,")[1].split("'")[0])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(repr(quick)) < 200


def test_the_notebook_view_of_a_table_without_the_metric_has_no_table(quick):
    empty = type(quick)(quick.table.iloc[0:0], quick.cells, config=quick.config)
    page = empty._repr_html_()
    assert "<table" not in page and "<img" not in page and "rows=0" in page
    other = type(quick)(quick.table.assign(metric="other"), quick.cells, config=quick.config)
    assert "<table" not in other._repr_html_()


def _fake_ipython(monkeypatch, shell_name):
    shell = type(shell_name, (), {})()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))


def test_notebook_detection(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not progress.in_notebook()
    _fake_ipython(monkeypatch, "TerminalInteractiveShell")
    assert not progress.in_notebook()
    _fake_ipython(monkeypatch, "ZMQInteractiveShell")
    assert progress.in_notebook()


def test_progress_in_jupyter_without_ipywidgets_is_the_text_bar_and_warns_nothing(monkeypatch, capsys):
    from tqdm.std import tqdm as text_bar

    _fake_ipython(monkeypatch, "ZMQInteractiveShell")
    monkeypatch.setattr(progress, "has_widgets", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tqdm.auto would warn "IProgress not found"
        with progress.progress_bar(2, desc="cells", unit="cell") as bar:
            bar.update(2)
    assert type(bar) is text_bar and bar.n == 2
    assert "cells: 100%" in capsys.readouterr().err


def test_progress_in_jupyter_with_ipywidgets_is_the_widget_bar(monkeypatch):
    pytest.importorskip("ipywidgets")
    from tqdm.notebook import tqdm as widget_bar

    _fake_ipython(monkeypatch, "ZMQInteractiveShell")
    with progress.progress_bar(1, desc="cells") as bar:
        bar.update(1)
    assert isinstance(bar, widget_bar)


def test_replicate_returns_a_dataframe_with_the_sweeps_columns(quick):
    config = resolve_config(load_config("quick"), quick=True)
    rows = spikedcl.sweep.replicate(config, {"n": 500}, 0)
    assert isinstance(rows, pd.DataFrame)
    assert list(rows.columns) == list(quick.table.columns)
