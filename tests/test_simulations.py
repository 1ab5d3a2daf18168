"""The command-line entry points run end to end on tiny grids."""

import importlib
import importlib.util
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from spikedcl.cli.figures_command import CHECKED

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "simulations" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONFIGS = sorted(p.stem for p in (ROOT / "spikedcl" / "configs").glob("*.toml"))


@pytest.fixture(scope="module")
def sweep():
    return _load("sweep")


@pytest.fixture(scope="module")
def make_figures():
    return _load("make_figures")


def _exit_code(fn, argv):
    """Exit code of a CLI main, whether it returns it or argparse raises SystemExit."""
    try:
        return fn(argv)
    except SystemExit as exc:
        return exc.code


def test_tiny_grid_end_to_end_then_resume(sweep, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--n", "300", "3000", "--d", "60", "--r", "3", "--reps", "3", "--out", str(out), "--no-progress"]
    assert sweep.main(argv) == 0
    text = capsys.readouterr().out
    assert "config quick" in text and "2 cells" in text and "mean sin_theta ± 95% CI" in text
    df = pd.read_parquet(out / "results.parquet")
    fits = df[df.method != "theory"]
    # n values x reps x (4 fitted methods x 3 metrics + 2 asymptotic rows x sin_theta, sin_theta_sq, n_outliers)
    assert len(fits) == 2 * 3 * (4 * 3 + 2 * 3)
    means = fits[fits.metric == "sin_theta"].groupby(["n", "method"])["value"].mean()
    assert means[(3000, "cl")] < means[(3000, "pca")]  # the paper's claim, even on a tiny grid
    assert (out / "config.json").is_file() and "--reps 3" in (out / "config.json").read_text()
    assert sweep.main(argv) == 0
    assert "0 cells run, 2 reused" in capsys.readouterr().out
    pd.testing.assert_frame_equal(df, pd.read_parquet(out / "results.parquet"))


def test_dry_run_writes_nothing(sweep, tmp_path, capsys):
    assert sweep.main(["--config", "fig3", "--dry-run", "--out", str(tmp_path / "x")]) == 0
    text = capsys.readouterr().out
    assert "48 cells" in text and '"experiment"' in text  # 7 + 6 - 1 shared grid points x 4 blocks of 5
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("name", CONFIGS)
def test_figure_functions_are_named_in_the_plotting_package(name):
    """A configuration's figure names its home in spikedcl.plotting; the old paths resolve to the same function."""
    config = tomllib.loads((ROOT / "spikedcl" / "configs" / f"{name}.toml").read_text())
    target = config.get("figure", {}).get("function")
    if target is None:  # panels drawn by spikedcl.plotting.panels
        assert "panels" in config["figure"]
        return
    module, _, attr = target.partition(":")
    assert module.startswith("spikedcl.plotting."), target
    fn = getattr(importlib.import_module(module), attr)
    old = {"spikedcl.plotting.systems": "spikedcl.systems.plots",
           "spikedcl.plotting.supervised": "spikedcl.experiments.supervised_plots"}.get(module)
    if old is not None:  # compatibility re-exports for configurations written before the move
        assert getattr(importlib.import_module(old), attr) is fn


@pytest.mark.parametrize("name", CONFIGS)
def test_every_config_runs_quick_and_renders(name, sweep, make_figures, tmp_path, capsys):
    assert sweep.main(["--config", name, "--quick", "--out", str(tmp_path / f"{name}-quick"), "--no-progress"]) == 0
    df = pd.read_parquet(tmp_path / f"{name}-quick" / "results.parquet")
    assert len(df) and df["value"].notna().any()
    figs = tmp_path / "figs"
    assert make_figures.main([name, "--quick", "--results", str(tmp_path), "--out", str(figs)]) == 0
    for ext in ("pdf", "png"):
        assert (figs / f"{name}-quick.{ext}").stat().st_size > 1000
    if name in CHECKED:  # the paper's figures feed the theory checks
        checks = pd.read_csv(figs / "theory_check-quick.csv")
        assert (checks["config"] == name).any() and set(checks["passed"]) <= {True, False}


def _toml(tmp_path, text):
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--config", "fig99"], "config 'fig99' not found"),
        (["--r", "200"], "r must be"),
        (["--n", "0", "100"], "n must be"),
        (["--condition", "0.5"], "C must lie in [1, inf), got 0.5"),
        (["--methods", "vae"], "methods must be one of"),
        (["--mask-prob", "1.5"], "mask_prob"),
        (["--n-jobs", "0"], "--n-jobs must be"),
        (["--scheduler", "tcp://x:1"], "only --backend dask takes --scheduler"),
        (["--backend", "spark"], "invalid choice: 'spark'"),
        (["--reps", "0"], "reps must be an integer >= 1"),
    ],
)
def test_bad_arguments_exit_with_code_2(sweep, argv, message, tmp_path, capsys):
    assert _exit_code(sweep.main, argv + ["--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_config_files_exit_with_code_2(sweep, tmp_path, capsys):
    good = 'experiment = "subspace"\n[grid]\nn = [100]\n[params]\nd = 10\nr = 2\nC = 2\nnoise = "uniform"\nmethods = ["pca"]\n'
    cases = [
        ("experiment = 'subspace'\n[grid\n", "not valid TOML"),
        ("colour = 3\n" + good, "unknown key(s) 'colour'"),
        (good.replace("[grid]", "speed = 1\n[grid]"), "unknown key(s) 'speed'"),
        (good.replace("d = 10", "d = 2"), "r must be"),
    ]
    for text, message in cases:
        assert sweep.main(["--config", _toml(tmp_path, text), "--out", str(tmp_path / "o")]) == 2
        assert message in capsys.readouterr().err


def test_unwritable_or_incompatible_output_exits_2_and_keeps_the_files(sweep, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert sweep.main(["--quick", "--out", str(tmp_path / "file" / "out")]) == 2
    assert "not writable" in capsys.readouterr().err
    out = tmp_path / "out"
    assert sweep.main(["--quick", "--out", str(out), "--no-progress"]) == 0
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert sweep.main(["--quick", "--seed", "1", "--out", str(out)]) == 2
    assert "holds results of another configuration" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sweep.main(["--quick", "--seed", "1", "--force", "--out", str(out), "--no-progress"]) == 0


def test_failing_cells_exit_1_and_are_listed(sweep, tmp_path, capsys):
    cfg = _toml(tmp_path, 'experiment = "sweep_toys:fails_at_three"\nreps = 2\n[grid]\nmu = [1.0, 3.0]\n[summary]\nmetric = "x"\n')
    assert sweep.main(["--config", cfg, "--out", str(tmp_path / "o"), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "1 failure(s)" in captured.err and "[raised]" in captured.err and "mu = 3 is not allowed" in captured.err
    assert "1 cells run, 0 reused, 1 failed" in captured.out


def test_make_figures_needs_saved_results(make_figures, tmp_path, capsys):
    assert make_figures.main(["fig1", "--results", str(tmp_path)]) == 2
    assert "run: python simulations/sweep.py --config fig1" in capsys.readouterr().err


def test_figure_axes_slopes_and_theory_overlay(sweep, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from spikedcl.plotting import figure_from_spec
    from spikedcl.sweep import load_config, resolve_config

    out = tmp_path / "fig1-quick"
    assert sweep.main(["--config", "fig1", "--quick", "--reps", "2", "--out", str(out), "--no-progress"]) == 0
    config = resolve_config(load_config("fig1"), quick=True)
    fig = figure_from_spec(pd.read_parquet(out / "results.parquet"), config)
    ax = fig.axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert ax.get_xlabel() == "sample size $n$" and r"\sin\Theta" in ax.get_ylabel()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]  # one legend for the figure
    assert "CL (realized masks)" in labels and "PCA = autoencoder = GAN" in labels  # coincident curves merged
    assert any(lab.startswith("bound shape $c") and "fitted $c = " in lab for lab in labels)
    assert any(r"$n = \infty$" in lab for lab in labels)
    slopes = {t.get_text() for t in ax.texts}  # the fitted slopes, written at the curves' ends
    assert f"{fig.fitted[0]['cl']:+.2f}".replace("-", "\u2212") in slopes
    assert -0.6 < fig.fitted[0]["cl"] < -0.35 and fig.fitted[0]["pca"] > fig.fitted[0]["cl"]


def test_fig6_quick_renders(tmp_path, capsys):
    fig6 = _load("fig6")
    assert fig6.main(["--quick", "--out", str(tmp_path), "--results", str(tmp_path / "results")]) == 0
    for ext in ("pdf", "png", "csv"):
        assert (tmp_path / f"fig6.{ext}").stat().st_size > 0
    df = pd.read_csv(tmp_path / "fig6.csv")
    assert set(df.panel) == {"loss gap", "distance to P*", "AE decoder vs PCA", "minibatch"}
    # GD reaches the closed forms even in the quick setting
    last = df.groupby(["panel", "series"]).value.last()
    assert last[("distance to P*", "CL cross-view")] < 1e-8
    assert last[("AE decoder vs PCA", "AE")] < 1e-6
    import matplotlib.image

    assert matplotlib.image.imread(tmp_path / "fig6.png").shape[1] > 1000


def test_cli_backends_give_the_same_rows(sweep, tmp_path):
    pytest.importorskip("dask.distributed")
    base = ["--n", "400", "--d", "40", "--r", "2", "--reps", "4", "--reps-per-cell", "1",
            "--methods", "pca", "cl", "--no-progress"]
    tables = {}
    for backend in ("loky", "threading", "sequential", "dask"):
        out = tmp_path / backend
        assert sweep.main(base + ["--backend", backend, "--n-jobs", "2", "--out", str(out)]) == 0
        df = pd.read_parquet(out / "results.parquet")
        assert (df["backend"] == backend).all()
        tables[backend] = df.drop(columns=["time_s", "backend"])
    for backend in ("threading", "sequential", "dask"):
        pd.testing.assert_frame_equal(tables["loky"], tables[backend], check_exact=True, obj=backend)


def test_cuda_without_cupy_names_the_extra(sweep, tmp_path, capsys):
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed: --device cuda is valid here")
    assert sweep.main(["--quick", "--device", "cuda", "--out", str(tmp_path / "o")]) == 2
    assert 'pip install -e ".[gpu]"' in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
