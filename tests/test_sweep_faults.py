"""The sweep under faults, through its command line, with real processes and signals.

Each test runs ``simulations/sweep.py`` in a subprocess of its own session
(so the whole process tree is visible as one process group), synchronises on
the cell files the sweep writes, never on elapsed time, and bounds every wait.
"""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spikedcl import io
from spikedcl.experiments import EXPERIMENTS
from spikedcl.sweep import expand_cells, load_config, resolve_config, run_sweep

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "simulations" / "sweep.py"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
WAIT = 120  # seconds: the bound of every wait below (never reached when the machine is sane)


def write_config(path, experiment="sweep_toys:gaussian", reps=4, grid=(0.0, 1.0, 2.0, 3.0), **params):
    lines = [f'name = "{path.stem}"', f'experiment = "{experiment}"', f"reps = {reps}", "seed = 5",
             "reps_per_cell = 1", "[grid]", f"mu = {list(grid)}", "[params]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in params.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def cli(config, out, *extra):
    return [sys.executable, str(SWEEP), "--config", str(config), "--out", str(out), "--no-progress", *extra]


def run(argv, timeout=WAIT):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=ENV)


def start(argv):
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            start_new_session=True)


def wait_for(predicate, what, proc=None):
    deadline = time.monotonic() + WAIT
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the sweep ended (rc {proc.returncode}) before {what}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def saved(out):
    return len(list((out / io.CELL_DIR).glob("*.parquet"))) if (out / io.CELL_DIR).is_dir() else 0


def group_alive(pgid):
    """Whether any process of the group is still alive (zombies of exited children excluded)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


# --------------------------------------------------------------------------- signals


@pytest.mark.parametrize("signum, target, code, backend", [
    (signal.SIGINT, "group", 130, "loky"),  # Ctrl-C at a terminal: the whole foreground process group
    (signal.SIGTERM, "sweep", 143, "loky"),  # `kill PID`, or a batch scheduler's preemption
    (signal.SIGINT, "group", 130, "dask"),  # a local Dask cluster's worker processes too
    (signal.SIGHUP, "sweep", 129, "threading"),  # the terminal closed
])
def test_a_signal_ends_the_sweep_cleanly_and_it_resumes(tmp_path, signum, target, code, backend):
    if backend == "dask":
        pytest.importorskip("distributed")
    config = write_config(tmp_path / "slow.toml", "sweep_toys:slow", reps=6, sleep=0.3)
    out = tmp_path / "out"
    proc = start(cli(config, out, "--n-jobs", "2", "--backend", backend))
    wait_for(lambda: saved(out) >= 2, "two saved cells", proc)
    if target == "group":
        os.killpg(proc.pid, signum)
    else:
        os.kill(proc.pid, signum)
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    done = saved(out)
    assert f"{done} of 24 cells saved in {out}; rerun the same command to resume" in err
    # every worker process ended with the sweep: none keeps computing or writing
    wait_for(lambda: not group_alive(proc.pid), "the workers to exit")
    assert saved(out) == done
    rerun = run(cli(config, out, "--n-jobs", "2"))
    assert rerun.returncode == 0, rerun.stderr
    assert f"{24 - done} cells run, {done} reused" in rerun.stdout
    fresh = run_sweep(resolve_config(load_config(config)), n_jobs=8, backend="threading").table  # cells sleep
    pd.testing.assert_frame_equal(fresh.drop(columns=["time_s", "backend"]),
                                  pd.read_parquet(out / "results.parquet").drop(columns=["time_s", "backend"]),
                                  check_exact=True)


def test_a_sweep_killed_by_sigkill_leaves_no_worker_behind(tmp_path):
    config = write_config(tmp_path / "slow.toml", "sweep_toys:slow", reps=6, sleep=0.3)
    out = tmp_path / "out"
    proc = start(cli(config, out, "--n-jobs", "2"))
    wait_for(lambda: saved(out) >= 2, "two saved cells", proc)
    os.kill(proc.pid, signal.SIGKILL)  # no handler runs: the kernel tells the workers (parent-death signal)
    proc.wait(timeout=WAIT)
    wait_for(lambda: not group_alive(proc.pid), "the orphaned workers to exit")
    done = saved(out)
    time.sleep(1.0)  # were any worker still computing, it could not save: only the sweep's process writes
    assert saved(out) == done


def test_a_cell_that_kills_its_worker_fails_alone_and_the_sweep_goes_on(tmp_path):
    config = write_config(tmp_path / "killer.toml", "sweep_toys:kills_its_worker", reps=2)
    out = tmp_path / "out"
    res = run(cli(config, out, "--n-jobs", "2"))
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    failures = json.loads((out / "failures.json").read_text())
    assert {f["kind"] for f in failures} == {"lost"} and len(failures) == 2  # mu = 3, two replicates
    assert all(f["params"]["mu"] == 3 for f in failures)
    assert "SIGKILL" in failures[0]["error"] and "retried alone" in failures[0]["error"]
    table = pd.read_parquet(out / "results.parquet")
    assert sorted(table["mu"].unique()) == [0.0, 1.0, 2.0] and len(table) == 3 * 2 * 2


# --------------------------------------------------------------------------- locking


def test_a_second_sweep_on_the_same_directory_waits_or_exits_2(tmp_path):
    gate = tmp_path / "gate"
    config = write_config(tmp_path / "gated.toml", "sweep_toys:gated", reps=3, gate=str(gate))
    out = tmp_path / "out"
    first = start(cli(config, out))
    wait_for(lambda: saved(out) >= 1, "the first sweep's first cell", first)  # it now holds the lock
    refused = run(cli(config, out, "--no-wait"))
    assert refused.returncode == 2 and str(first.pid) in refused.stderr, refused.stderr
    log = tmp_path / "second.err"
    with open(log, "w") as err:
        second = subprocess.Popen(cli(config, out), stdout=subprocess.PIPE, stderr=err, text=True, env=ENV)
        wait_for(lambda: "waiting" in log.read_text().lower(), "the second sweep to wait", second)
        gate.touch()  # the first sweep may finish now
        assert first.wait(timeout=WAIT) == 0, first.stderr.read()
        out2, _ = second.communicate(timeout=WAIT)
    assert second.returncode == 0, log.read_text()
    assert "0 cells run, 12 reused" in out2  # the second computed nothing the first had done


# --------------------------------------------------------------------------- verified cells


def test_an_altered_cell_is_named_and_recomputed_and_a_damaged_config_is_reported(tmp_path):
    config = write_config(tmp_path / "toy.toml", reps=2)
    out = tmp_path / "out"
    assert run(cli(config, out)).returncode == 0
    reference = pd.read_parquet(out / "results.parquet")
    cell = expand_cells(resolve_config(load_config(config)))[0]
    path = io.cell_path(out, cell.cell_id)
    table = pq.read_table(path)
    values = table.column("value").to_pylist()
    values[0] += 1e-9  # a change no footer check can see
    altered = table.set_column(table.schema.get_field_index("value"), "value", pa.array(values))
    pq.write_table(altered.replace_schema_metadata(table.schema.metadata), path)
    res = run(cli(config, out))
    assert res.returncode == 0, res.stderr
    assert str(path) in res.stderr and "1 cells run, 7 reused" in res.stdout
    pd.testing.assert_frame_equal(reference.drop(columns=["time_s"]),
                                  pd.read_parquet(out / "results.parquet").drop(columns=["time_s"]),
                                  check_exact=True)
    (out / "config.json").write_text("{ not json")
    res = run(cli(config, out))
    assert res.returncode == 2 and "damaged" in res.stderr and "--rebuild-config" in res.stderr
    assert "another configuration" not in res.stderr and saved(out) == 8  # nothing deleted
    res = run(cli(config, out, "--rebuild-config"))
    assert res.returncode == 0 and "0 cells run, 8 reused" in res.stdout, res.stderr


# --------------------------------------------------------------------------- configurations


def test_misspelled_keys_exit_2_naming_the_closest_parameter(tmp_path):
    text = (ROOT / "spikedcl" / "configs" / "fig1.toml").read_text()
    bad = tmp_path / "fig1_typo.toml"
    bad.write_text(text.replace("mask_prob = 0.5", "mask_probb = 0.3"))
    res = run([sys.executable, str(SWEEP), "--config", str(bad), "--quick", "--dry-run"])
    assert res.returncode == 2 and "'mask_probb' (did you mean 'mask_prob'?)" in res.stderr
    bad.write_text(text.replace("[quick]\nreps = 3", "[quick]\nrep = 3"))
    res = run([sys.executable, str(SWEEP), "--config", str(bad), "--quick", "--dry-run"])
    assert res.returncode == 2 and "'rep' (did you mean 'reps'?)" in res.stderr
    # a command-line axis the experiment does not declare
    res = run([sys.executable, str(SWEEP), "--config", "siglip", "--quick", "--mask-prob", "0.3", "--dry-run"])
    assert res.returncode == 2 and "'mask_prob'" in res.stderr and "command line" in res.stderr


def test_extending_reps_computes_only_the_new_replicates(tmp_path):
    raw = {"name": "toy", "experiment": "sweep_toys:gaussian", "reps": 2, "seed": 3, "grid": {"mu": [0.0, 1.0]}}
    first = run_sweep(resolve_config(raw), tmp_path)  # cells of replicates 0-1 (the default block is 5)
    more = run_sweep(resolve_config({**raw, "reps": 6}), tmp_path)  # blocks 0-4 and 5: 0-1 reused, 2-4 and 5 new
    assert (first.n_run, more.n_run, more.n_skipped) == (2, 4, 2)
    assert sorted(len(c.reps) for c in more.cells) == [1, 1, 2, 2, 3, 3]
    again = run_sweep(resolve_config({**raw, "reps": 6}), tmp_path)
    assert (again.n_run, again.n_skipped) == (0, 6)
    fresh = run_sweep(resolve_config({**raw, "reps": 6})).table  # in memory: blocks 0-4 and 5
    for table in (more.table, again.table):
        pd.testing.assert_frame_equal(fresh.drop(columns=["time_s", "cell_id"]),
                                      table.drop(columns=["time_s", "cell_id"]), check_exact=True)
    pd.testing.assert_frame_equal(first.table.drop(columns="time_s"),
                                  more.table[more.table["rep"] < 2].drop(columns="time_s").reset_index(drop=True),
                                  check_exact=True)


def test_outputs_respect_the_umask(tmp_path):
    config = write_config(tmp_path / "toy.toml", reps=1)
    for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
        out = tmp_path / f"out{umask:o}"
        code = f"import os, runpy, sys; os.umask({umask}); sys.argv = {cli(config, out)[1:]!r}; " \
               "runpy.run_path(sys.argv[0], run_name='__main__')"
        res = run([sys.executable, "-c", code])
        assert res.returncode == 0, res.stderr
        files = [out / "results.parquet", out / "config.json", *(out / io.CELL_DIR).glob("*.parquet")]
        assert {oct(f.stat().st_mode & 0o777) for f in files} == {oct(mode)}


# --------------------------------------------------------------------------- full disk


def test_a_full_disk_ends_with_the_failure_list_and_a_finished_sweep_reruns_on_it(tmp_path):
    from fs_tools import run_on_tiny_fs

    config = write_config(tmp_path / "toy.toml", reps=30, grid=[float(m) for m in range(8)])
    # 240 cells of ~3 kB cannot fit 128 kB: the sweep stops at the first cell it cannot save
    res = run_on_tiny_fs(cli(config, "{fs}/out"), size="128k", env=ENV)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and "No space left on device" in res.stderr
    assert "[io]" in res.stderr and "[not-run]" in res.stderr
    # a finished sweep rerun on a full disk succeeds: nothing is rewritten
    small = write_config(tmp_path / "small.toml", reps=2)
    res = run_on_tiny_fs(cli(small, "{fs}/out"), size="512k", setup=shlex.join(cli(small, "{fs}/out")),
                         fill=True, env=ENV)
    assert res.returncode == 0, res.stderr
    assert "0 cells run, 8 reused" in res.stdout



# --------------------------------------------------------------------------- memory


def test_cells_over_the_memory_limit_stream_with_the_same_rows_or_are_refused(tmp_path):
    raw = {"name": "mem", "experiment": "subspace", "reps": 2, "seed": 2, "grid": {"n": [3000]},
           "params": {"d": 40, "r": 3, "C": 4.0, "noise": "uniform", "methods": ["pca", "ae", "cl", "cl-expected"]}}
    config = resolve_config(raw)
    experiment = EXPERIMENTS["subspace"]
    in_memory, on_stream, _ = experiment.memory_estimate(experiment.resolve({**config["params"], "n": 3000}))
    assert on_stream < in_memory
    whole = run_sweep(config, memory_limit=None)
    streamed = run_sweep(config, memory_limit=(in_memory + on_stream) // 2)  # only the streamed path fits
    assert (whole.n_streamed, streamed.n_streamed) == (0, 1)
    # the streamed statistics sum the same products in other orders: equal to rounding
    pd.testing.assert_frame_equal(whole.table.drop(columns=["time_s", "value"]),
                                  streamed.table.drop(columns=["time_s", "value"]))
    assert (whole.table["value"] - streamed.table["value"]).abs().max() < 1e-10
    # a method without a streamed path (gradient descent reads the samples): refused before any work
    res = run([sys.executable, str(SWEEP), "--config", str(write_toml(tmp_path / "gd.toml", raw, solver="gd")),
               "--memory-limit", str((in_memory + on_stream) // 2), "--out", str(tmp_path / "out"), "--no-progress"])
    assert res.returncode == 2 and "MiB in memory" in res.stderr and "memory_limit" in res.stderr, res.stderr
    assert saved(tmp_path / "out") == 0 and not (tmp_path / "out" / "config.json").exists()


def write_toml(path, raw, **params):
    p = {**raw["params"], **params}
    lines = [f'name = "{raw["name"]}"', f'experiment = "{raw["experiment"]}"', f'reps = {raw["reps"]}',
             f'seed = {raw["seed"]}', "[grid]", f'n = {raw["grid"]["n"]}', "[params]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in p.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- Dask scheduler


def test_an_unreachable_scheduler_exits_2_within_the_connect_timeout(tmp_path):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = write_config(tmp_path / "toy.toml", reps=1)
    t0 = time.monotonic()
    res = run(cli(config, tmp_path / "out", "--backend", "dask", "--scheduler", f"tcp://127.0.0.1:{port}",
                  "--connect-timeout", "2"))
    assert res.returncode == 2 and f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in res.stderr
    assert "Traceback" not in res.stderr and time.monotonic() - t0 < 2 + 20  # start-up included
    assert saved(tmp_path / "out") == 0
