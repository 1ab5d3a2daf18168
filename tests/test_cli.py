"""The ``spikedcl`` command: its subcommands, packaged configurations found from anywhere, outputs in the cwd."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikedcl.cli import main
from spikedcl.configs import local_configs, packaged_names, packaged_path, summary
from spikedcl.sweep import load_config, resolve_config, run_sweep

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300  # seconds: a quick sweep takes a few


def _spikedcl(*args, cwd):
    return subprocess.run([sys.executable, "-m", "spikedcl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_help_and_version_name_the_four_commands(tmp_path):
    res = _spikedcl("--help", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert all(cmd in res.stdout for cmd in ("sweep", "figures", "list", "replicate"))
    import spikedcl

    res = _spikedcl("--version", cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == f"spikedcl {spikedcl.__version__}"
    assert main(["frobnicate"]) == 2  # an unknown command is a usage error


def test_packaged_configurations_are_the_package_data_files():
    names = packaged_names()
    assert {"quick", "fig1", "fig2", "fig3", "fig4", "fig5", "fig6"} <= set(names)
    for name in names:
        path = packaged_path(name)
        assert path.parent == ROOT / "spikedcl" / "configs" and path.name == f"{name}.toml"
        assert load_config(name)["name"] == name
    assert packaged_path("no-such-config") is None


@pytest.mark.parametrize("columns", ["200", "50"])
def test_list_prints_every_configuration_with_its_description_and_the_local_files(tmp_path, capsys, monkeypatch,
                                                                                  columns):
    monkeypatch.setenv("COLUMNS", columns)  # a wide terminal, and one narrower than the name columns
    (tmp_path / "mine.toml").write_text('experiment = "subspace"\ndescription = "my own study"\n[grid]\nn = [500]\n')
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')  # TOML, but not a configuration
    (tmp_path / "broken.toml").write_text("[grid\n")
    assert main(["list", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in packaged_names():
        _, experiment, description = summary(packaged_path(name), width=10**4)
        line = next(line for line in out.splitlines() if line.split()[:1] == [name])
        shown_name, shown_experiment, shown = re.split(r"\s{2,}", line.strip(), maxsplit=2)
        assert (shown_name, shown_experiment) == (name, experiment)
        shown = shown.rstrip("…")
        assert description.startswith(shown) and len(shown) >= min(15, len(description))  # cut at a word
    assert "mine.toml" in out and "my own study" in out
    assert "pyproject.toml" not in out and "broken.toml" not in out
    assert [p.name for p in local_configs(tmp_path)] == ["mine.toml"]


def test_an_unknown_name_suggests_the_closest_and_lists_packaged_and_local(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "study.toml").write_text(packaged_path("quick").read_text().replace('name = "quick"', ""))
    assert main(["sweep", "--config", "fgi1", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "'fgi1' not found" in err and "(did you mean 'fig1'?)" in err
    assert all(name in err for name in packaged_names()) and "study.toml" in err
    assert main(["sweep", "--config", "missing/study.toml", "--dry-run"]) == 2
    assert "config file 'missing/study.toml' not found" in capsys.readouterr().err
    # the local file is run by its path
    assert main(["sweep", "--config", "study.toml", "--dry-run"]) == 0


def test_sweep_and_figures_write_under_the_current_directory(tmp_path):
    before = {p: p.stat().st_mtime_ns for p in (ROOT / "figures").glob("quick*")}
    res = _spikedcl("sweep", "--config", "quick", "--quick", "--no-progress", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "results" / "quick-quick"
    table = pd.read_parquet(out / "results.parquet")
    assert set(table["n"]) == {500, 2000} and set(table["rep"]) == {0, 1}
    recorded = json.loads((out / "config.json").read_text())["command"]
    assert recorded == "python -m spikedcl sweep --config quick --quick --no-progress"
    res = _spikedcl("figures", "quick", "--quick", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "figures" / "quick-quick.png").stat().st_size > 1000
    assert {p: p.stat().st_mtime_ns for p in (ROOT / "figures").glob("quick*")} == before
    assert not (ROOT / "spikedcl" / "results").exists() and not (ROOT / "spikedcl" / "figures").exists()
    res = _spikedcl("figures", "fig2", "--quick", cwd=tmp_path)
    assert res.returncode == 2 and "run: python -m spikedcl sweep --config fig2 --quick" in res.stderr


@pytest.fixture(scope="module")
def quick_rows():
    config = resolve_config(load_config("quick"), quick=True)
    return run_sweep(config).table


def test_replicate_reproduces_the_sweeps_rows_to_the_last_bit(quick_rows, tmp_path, capsys):
    target = tmp_path / "rep1.parquet"
    assert main(["replicate", "--config", "quick", "--quick", "--point", "n=2000", "--rep", "1",
                 "--out", str(target)]) == 0
    printed = capsys.readouterr().out
    rows = pd.read_parquet(target)
    sweep = quick_rows[(quick_rows["n"] == 2000) & (quick_rows["rep"] == 1)]
    key = ["method", "metric"]
    mine, theirs = rows.sort_values(key), sweep.sort_values(key)
    assert len(mine) == len(theirs) > 0
    assert mine[key].values.tolist() == theirs[key].values.tolist()
    np.testing.assert_array_equal(mine["value"].to_numpy(), theirs["value"].to_numpy())  # bit for bit
    assert "cl-expected" in printed and "sin_theta" in printed


@pytest.mark.parametrize(("argv", "message"), [
    (["--point", "d=200", "--rep", "0"], "--point must give n: one of [500, 2000]"),
    (["--point", "n=500", "mu=3", "--rep", "0"], "'mu' not an axis or parameter"),
    (["--point", "n500", "--rep", "0"], "--point takes AXIS=VALUE words"),
    (["--point", "n=500", "n=2000", "--rep", "0"], "gives 'n' twice"),
    (["--point", "n=500", "--rep", "-1"], "--rep must be >= 0"),
])
def test_replicate_refuses_a_bad_point(argv, message, capsys):
    assert main(["replicate", "--config", "quick", "--quick", *argv]) == 2
    assert message in capsys.readouterr().err


def test_replicate_notes_a_point_off_the_grid(capsys):
    assert main(["replicate", "--config", "quick", "--quick", "--point", "n=700", "--rep", "5"]) == 0
    err = capsys.readouterr().err
    assert "not on the configuration's grid" in err and "replicates 0..1" in err


def test_fig1_for_sample_only_methods_runs_the_samples_alone(capsys):
    # fig1's exact-moment table cannot fit realized-mask CL: the refusal says how to run it
    assert main(["sweep", "--config", "fig1", "--quick", "--methods", "cl", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "methods ['cl'] cannot fit from" in err and "--sampler data and --n" in err
    assert main(["sweep", "--config", "fig1", "--quick", "--methods", "cl", "--sampler", "data", "--n", "500", "2000",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 cells of <= 5 replicates" in out and "methods=['cl']" in out
    assert main(["sweep", "--config", "siglip", "--sampler", "data", "--dry-run"]) == 2  # not a siglip parameter
    assert "'sampler'" in capsys.readouterr().err
