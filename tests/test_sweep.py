"""The sweep engine: configuration, cells and seeds, storage, resume, failures, backends."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spikedcl import io
from spikedcl.exceptions import CorruptCellWarning
from spikedcl.sweep import (
    ConfigError,
    config_hash,
    expand_cells,
    load_config,
    resolve_config,
    run_cell,
    run_sweep,
    summary_table,
)

ROOT = Path(__file__).resolve().parents[1]
PROVENANCE = ["time_s", "backend"]  # the only columns allowed to differ between runs


def toy(**kw):
    raw = {"name": "toy", "experiment": "sweep_toys:gaussian", "reps": 6, "seed": 3,
           "reps_per_cell": 2, "grid": {"mu": [0.0, 1.0, 3.0]}, "params": {"tag": "t"}}
    raw.update(kw)
    return raw


def tiny_subspace(**params):
    base = {"d": 30, "r": 2, "C": 4.0, "noise": "uniform", "methods": ["pca", "cl", "cl-expected"]}
    base.update(params)
    return resolve_config({"name": "tiny", "experiment": "subspace", "reps": 4, "seed": 0,
                           "reps_per_cell": 2, "data_keys": ["n", "d", "r", "C", "noise"],
                           "grid": {"n": [200, 800]}, "params": base})


def stable(df):
    return df.drop(columns=PROVENANCE).reset_index(drop=True)


# --------------------------------------------------------------------------- config


def test_resolve_applies_quick_and_overrides():
    raw = toy(quick={"reps": 2, "grid": {"mu": [5.0]}, "params": {"tag": "q"}})
    c = resolve_config(raw, quick=True)
    assert (c["reps"], c["grid"], c["params"]["tag"]) == (2, [{"mu": [5.0]}], "q")
    # a fixed parameter given on the command line as a list becomes a grid axis
    c = resolve_config(raw, overrides={"grid": {"tag": ["u", "v"]}, "reps": 3, "seed": 9})
    assert c["grid"] == [{"mu": [0.0, 1.0, 3.0], "tag": ["u", "v"]}] and "tag" not in c["params"]
    assert (c["reps"], c["seed"]) == (3, 9)
    assert len(expand_cells(c)) == 3 * 2 * 2  # points x blocks of 2 replicates


@pytest.mark.parametrize(
    "change, message",
    [
        ({"colour": 1}, "unknown key(s) 'colour'"),
        ({"reps": 0}, "reps must be an integer >= 1"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"reps_per_cell": 0}, "reps_per_cell must be an integer >= 1"),
        ({"experiment": "no_such_module:f"}, "cannot be imported"),
        ({"experiment": "pca"}, "experiment must be one of"),
        ({"grid": {"mu": []}}, "must be a non-empty list"),
        ({"data_keys": ["nu"]}, "data_keys ['nu']"),
        ({"quick": {"bogus": 1}}, "unknown key(s) 'bogus' in [quick]"),
    ],
)
def test_bad_configs_are_rejected_with_the_key_named(change, message):
    raw = toy(**change)
    with pytest.raises(ConfigError) as exc:
        resolve_config(raw, quick="quick" in change)
    assert message in str(exc.value)


@pytest.mark.parametrize(
    "params, message",
    [({"r": 30}, "r must be"), ({"methods": ["vae"]}, "methods must be one of"),
     ({"C": 0.5}, "C must lie in [1, inf)")],
)
def test_the_experiment_validates_every_grid_point_before_running(params, message):
    with pytest.raises(ConfigError, match="grid point") as exc:
        tiny_subspace(**params)
    assert message in str(exc.value)
    with pytest.raises(ConfigError, match="n must be"):
        resolve_config({"experiment": "subspace", "grid": {"n": [0, 100]},
                        "params": {"d": 10, "r": 2, "C": 2, "noise": "uniform", "methods": ["pca"]}})


def test_load_config_by_name_and_path(tmp_path):
    assert load_config("fig1", config_dir=ROOT / "spikedcl" / "configs")["name"] == "fig1"
    with pytest.raises(ConfigError, match="not found.*known configs: .*fig1"):
        load_config("fig99", config_dir=ROOT / "spikedcl" / "configs")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\n[grid\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


# --------------------------------------------------------------------------- cells and seeds


def test_cell_ids_are_stable_distinct_and_survive_extending_the_grid():
    cells = expand_cells(resolve_config(toy()))
    ids = [c.cell_id for c in cells]
    assert len(set(ids)) == len(ids) == 9
    assert ids == [c.cell_id for c in expand_cells(resolve_config(toy()))]
    longer = expand_cells(resolve_config(toy(grid={"mu": [0.0, 1.0, 3.0, 7.0]}, reps=8)))
    assert set(ids) < {c.cell_id for c in longer}
    # integral floats and ints address the same cell; the device does not change rows
    same = expand_cells(resolve_config(toy(grid={"mu": [0, 1, 3]})))
    assert [c.cell_id for c in same] == ids
    dev = expand_cells(resolve_config(toy(params={"tag": "t", "device": "cuda"})))
    assert [c.cell_id for c in dev] == ids
    assert config_hash(resolve_config(toy(grid={"mu": [9.0]}, reps=1))) == config_hash(resolve_config(toy()))
    assert config_hash(resolve_config(toy(seed=4))) != config_hash(resolve_config(toy()))


def test_rows_do_not_depend_on_blocking_or_on_the_other_methods():
    a = run_sweep(tiny_subspace()).table
    b = run_sweep(resolve_config({**_raw_tiny(), "reps_per_cell": 1})).table
    key = ["n", "rep", "method", "metric"]
    pd.testing.assert_frame_equal(
        a.sort_values(key)[key + ["value"]].reset_index(drop=True),
        b.sort_values(key)[key + ["value"]].reset_index(drop=True),
    )
    # common random numbers: PCA sees the same data whether or not CL also runs
    only_pca = run_sweep(tiny_subspace(methods=["pca"])).table
    mine = a[(a.method == "pca")].sort_values(key)["value"].to_numpy()
    np.testing.assert_array_equal(mine, only_pca[only_pca.method == "pca"].sort_values(key)["value"].to_numpy())


def _raw_tiny():
    return {"name": "tiny", "experiment": "subspace", "reps": 4, "seed": 0, "reps_per_cell": 2,
            "data_keys": ["n", "d", "r", "C", "noise"], "grid": {"n": [200, 800]},
            "params": {"d": 30, "r": 2, "C": 4.0, "noise": "uniform", "methods": ["pca", "cl", "cl-expected"]}}


def test_run_cell_schema_and_provenance():
    cell = expand_cells(tiny_subspace())[0]
    df = run_cell(cell, context={"backend": "threading"})
    lead = ["sweep", "cell_id", "n", "d", "r", "noise", "C"]
    assert list(df.columns[: len(lead)]) == lead
    for col in ("method", "solver", "rep", "seed", "metric", "value", "n_iter", "converged",
                "time_s", "backend", "device", "dtype", "version"):
        assert col in df.columns
    assert set(df["rep"]) == set(cell.reps) and (df["backend"] == "threading").all()
    assert {"sin_theta", "excess_risk", "excess_risk_linear", "cl_bound_shape"} <= set(df["metric"])
    theory = df[df.method == "theory"]
    assert (theory["solver"] == "").all() and len(theory) == 3 * len(cell.reps)
    # a cell is pure: running it again gives the same values
    pd.testing.assert_frame_equal(stable(df), stable(run_cell(cell, context={"backend": "threading"})))


# --------------------------------------------------------------------------- storage and resume


def test_in_memory_and_on_disk_agree_and_resume_reuses_everything(tmp_path):
    config = resolve_config(toy())
    mem = run_sweep(config)
    disk = run_sweep(config, tmp_path)
    assert disk.n_run == 9 and disk.n_skipped == 0
    pd.testing.assert_frame_equal(stable(mem.table), stable(disk.table))
    files = sorted((tmp_path / io.CELL_DIR).glob("*.parquet"))
    mtimes = [f.stat().st_mtime_ns for f in files]
    again = run_sweep(config, tmp_path)
    assert again.n_run == 0 and again.n_skipped == 9
    assert [f.stat().st_mtime_ns for f in files] == mtimes  # nothing rewritten
    pd.testing.assert_frame_equal(disk.table, again.table)
    pd.testing.assert_frame_equal(disk.table, pd.read_parquet(tmp_path / "results.parquet"))
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["config_hash"] == config_hash(config) and saved["n_cells"] == 9


def test_truncated_or_foreign_cell_files_are_recomputed(tmp_path):
    config = resolve_config(toy())
    first = run_sweep(config, tmp_path).table
    cells = expand_cells(config)
    truncated = io.cell_path(tmp_path, cells[0].cell_id)
    truncated.write_bytes(truncated.read_bytes()[:-20])
    foreign = io.cell_path(tmp_path, cells[1].cell_id)
    foreign.write_bytes(io.cell_path(tmp_path, cells[2].cell_id).read_bytes())
    (tmp_path / io.CELL_DIR / ".leftover.parquet.tmp").write_bytes(b"partial")
    assert not io.cell_is_complete(tmp_path, cells[0].cell_id)
    assert not io.cell_is_complete(tmp_path, cells[1].cell_id)
    with pytest.warns(CorruptCellWarning) as caught:
        again = run_sweep(config, tmp_path)
    named = " ".join(str(w.message) for w in caught)
    assert cells[0].cell_id in named and cells[1].cell_id in named
    assert again.n_run == 2 and again.n_skipped == 7
    pd.testing.assert_frame_equal(stable(first), stable(again.table))
    assert not list((tmp_path / io.CELL_DIR).glob(".*.tmp"))


def test_failing_cells_are_recorded_and_the_rest_is_kept(tmp_path):
    config = resolve_config(toy(experiment="sweep_toys:fails_at_three"))
    res = run_sweep(config, tmp_path)
    assert len(res.failures) == 3 and res.n_run == 6  # mu = 3: three blocks of two replicates
    assert all("mu = 3 is not allowed" in f["error"] for f in res.failures)
    assert set(res.table["mu"]) == {0.0, 1.0}
    recorded = json.loads((tmp_path / "failures.json").read_text())
    assert {f["cell_id"] for f in recorded} == {f["cell_id"] for f in res.failures}
    # the failed cells are retried on the next run, the finished ones are not
    assert run_sweep(config, tmp_path).n_skipped == 6


def test_a_directory_of_another_configuration_is_refused_unless_forced(tmp_path):
    run_sweep(resolve_config(toy()), tmp_path)
    before = sorted(p.name for p in (tmp_path / io.CELL_DIR).iterdir())
    with pytest.raises(ConfigError, match="holds results of another configuration"):
        run_sweep(resolve_config(toy(seed=4)), tmp_path)
    assert sorted(p.name for p in (tmp_path / io.CELL_DIR).iterdir()) == before
    forced = run_sweep(resolve_config(toy(seed=4)), tmp_path, force=True)
    assert forced.n_run == 9 and len(list((tmp_path / io.CELL_DIR).iterdir())) == 9


def test_unwritable_output_is_a_config_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="not writable"):
        run_sweep(resolve_config(toy()), blocker / "out")


# --------------------------------------------------------------------------- backends


def test_rows_are_identical_to_the_last_bit_across_n_jobs_backends_and_replicate(tmp_path):
    config = tiny_subspace()
    reference = stable(run_sweep(config, n_jobs=1).table)
    runs = {
        "loky-2": run_sweep(config, tmp_path / "loky", n_jobs=2, backend="loky").table,
        "threading-2": run_sweep(config, tmp_path / "threads", n_jobs=2, backend="threading").table,
        "sequential": run_sweep(config, tmp_path / "seq", backend="sequential").table,
    }
    for name, table in runs.items():
        pd.testing.assert_frame_equal(reference, stable(table), check_exact=True, obj=name)
    # one replicate regenerated alone gives the sweep's values bit for bit
    from spikedcl.sweep import replicate

    rows = replicate(config, {"n": 800}, 3)
    swept = reference[(reference["n"] == 800) & (reference["rep"] == 3)]
    pd.testing.assert_frame_equal(stable(rows).drop(columns="cell_id"),
                                  swept.drop(columns="cell_id").reset_index(drop=True), check_exact=True)


def test_rows_are_identical_on_a_dask_local_cluster():
    pytest.importorskip("dask.distributed")
    config = tiny_subspace()
    reference = stable(run_sweep(config).table)
    table = run_sweep(config, n_jobs=2, backend="dask").table
    pd.testing.assert_frame_equal(reference, stable(table), check_exact=True)


def test_a_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    config_file = tmp_path / "slow.toml"
    config_file.write_text(
        'name = "slow"\nexperiment = "subspace"\nreps = 6\nseed = 1\nreps_per_cell = 1\n'
        'data_keys = ["n", "d", "r", "C", "noise"]\n[grid]\nn = [20000, 30000]\n'
        '[params]\nd = 150\nr = 3\nC = 4.0\nnoise = "uniform"\nmethods = ["pca", "cl"]\n'
    )
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "simulations" / "sweep.py"), "--config", str(config_file),
           "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    cells = out / io.CELL_DIR
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(cells.glob("*.parquet"))) < 3 and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(cells.glob("*.parquet")))
    assert 1 <= finished < 12, "the sweep should have been killed part-way"
    assert not (out / "results.parquet").exists()
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{12 - finished} cells run, {finished} reused" in rerun.stdout
    resumed = pd.read_parquet(out / "results.parquet")
    fresh = run_sweep(resolve_config(load_config(config_file)), tmp_path / "fresh").table
    pd.testing.assert_frame_equal(stable(fresh), stable(resumed))


# --------------------------------------------------------------------------- summary


def test_summary_table_matches_a_direct_t_interval():
    from scipy import stats

    df = run_sweep(resolve_config(toy())).table
    table = summary_table(df, "x")
    sub = df[(df.mu == 1.0) & (df.method == "b")]["value"].to_numpy()
    half = stats.t.ppf(0.975, sub.size - 1) * sub.std(ddof=1) / np.sqrt(sub.size)
    assert table.loc[1.0, "b"] == f"{sub.mean():.3f} ± {half:.3f}"
    with pytest.raises(ValueError, match="metric 'y' not in the results"):
        summary_table(df, "y")


def test_one_replicate_is_regenerated_alone():
    from spikedcl.sweep import replicate

    config = tiny_subspace()
    table = run_sweep(config).table
    rows = replicate(config, {"n": 800}, rep=3)
    mine = table[(table.n == 800) & (table.rep == 3)]
    np.testing.assert_array_equal(rows["value"].to_numpy(), mine["value"].to_numpy())
    with pytest.raises(ValueError, match=r"lacks the grid axes \['n'\]"):
        replicate(config, {"d": 30}, rep=0)


def test_summary_of_grid_tables_with_different_axes():
    raw = toy(grid=[{"mu": [0.0, 1.0]}, {"mu": [5.0], "sd": [2.0, 3.0]}], reps=3)
    df = run_sweep(resolve_config(raw)).table
    from spikedcl.sweep import coordinate_columns

    assert sorted(coordinate_columns(df)) == ["mu", "sd", "tag"]
    table = summary_table(df, "x")
    assert len(table) == 4 and list(table.columns) == ["a", "b"]  # (0, nan), (1, nan), (5, 2), (5, 3)
    assert table.index.names == ["mu", "sd"]


def test_stacked_replicates_give_the_rows_of_the_loop():
    methods = ["pca", "ae", "gan", "cl", "cl-expected", "pca-population", "oracle"]
    loop = run_sweep(tiny_subspace(methods=methods, batch_replicates=False)).table
    stacked_config = tiny_subspace(methods=methods, batch_replicates=True, memory_limit=2_000_000)
    stacked = run_sweep(stacked_config).table
    # the execution options do not change the cells
    assert [c.cell_id for c in expand_cells(stacked_config)] == list(dict.fromkeys(loop["cell_id"]))
    assert len(stacked) == len(loop)
    pd.testing.assert_frame_equal(
        stable(loop).drop(columns="value"), stable(stacked).drop(columns="value"), check_like=True
    )
    # batched products and eigendecompositions round differently: sinΘ and risks agree to 1e-10
    np.testing.assert_allclose(stacked["value"], loop["value"], rtol=1e-10, atol=1e-12)
    with pytest.raises(ConfigError, match="batch_replicates must be"):
        tiny_subspace(batch_replicates="sometimes")
