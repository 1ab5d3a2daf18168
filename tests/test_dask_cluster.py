"""The Dask engine on real clusters: a scheduler and two workers started as processes on 127.0.0.1.

Nothing is mocked: workers and schedulers are killed with SIGKILL while
tasks run on them. Tests synchronise with running tasks through files
(:func:`dask_tasks.hold`), never through sleeps that assume a speed; every
wait is bounded, and every test runs under an alarm.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

import dask_tasks  # noqa: E402

from spikedcl.engine import SequentialEngine, make_engine  # noqa: E402
from spikedcl.engine.base import THREAD_ENV  # noqa: E402
from spikedcl.engine.dask import DaskEngine, EngineUnavailable  # noqa: E402

TESTS = Path(__file__).resolve().parent
#: Bound on starting a cluster, and on any wait for a task to start, in seconds (generous: 2 loaded cores).
START_S = 60.0
#: Bound on a whole test, in seconds (an engine that hangs fails the test instead of the suite).
TEST_S = 120
#: Slack over a deadline the engine promises, in seconds: its checks run every 0.5 s, and the machine
#: may be loaded; far below the timeouts the other paths would wait for (60 s).
SLACK_S = 10.0

CLUSTER_ENV = {# two BLAS threads per worker process (a nanny sets one): the engine's limit, not the workers'
               # environment, must make the rows bit-identical to the sequential engine's
               **dict.fromkeys(THREAD_ENV, "2"),
               # one retry of a task that killed its worker, and one task at a time per worker thread
               "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
               "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}


@pytest.fixture(autouse=True)
def alarm():
    """Fail a test that runs longer than TEST_S instead of hanging the suite."""
    def expire(signum, frame):
        raise TimeoutError(f"test ran over {TEST_S} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _wait_for(predicate, what, limit=START_S):
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {limit:g} s")
        time.sleep(0.05)


def _group_members(pgid):
    """Live (not zombie) processes of process group ``pgid``."""
    members = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, psutil.Error):
            pass
    return members


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes, each in its own process group."""

    def __init__(self, directory, nanny=True):
        self.directory = Path(directory)
        self.nanny = nanny
        self.procs = {}
        self.address = None
        self.env = {**os.environ, **CLUSTER_ENV,
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}

    def _spawn(self, name, args):
        log = open(self.directory / f"{name}.log", "wb")
        with log:
            self.procs[name] = subprocess.Popen([sys.executable, "-m", *args], cwd=self.directory, env=self.env,
                                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, n_workers=2):
        file = self.directory / "scheduler.json"
        self._spawn("scheduler", ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--scheduler-file", str(file), "--no-dashboard",
                                  "--dashboard-address", "127.0.0.1:0"])
        for i in range(n_workers):  # started with the scheduler: they wait for its file
            self._spawn(f"worker{i}", ["distributed.cli.dask_worker", "--scheduler-file", str(file),
                                       "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                                       "--nanny" if self.nanny else "--no-nanny",
                                       "--name", f"worker{i}", "--local-directory", str(self.directory / f"worker{i}")])
        _wait_for(lambda: "address" in self._read(file), "the scheduler wrote its address")
        self.address = self._read(file)["address"]
        self.wait_for_workers(n_workers)

    def wait_for_workers(self, n_workers=2):
        with distributed.Client(self.address, timeout=START_S, set_as_default=False) as client:
            client.wait_for_workers(n_workers, timeout=START_S)

    @staticmethod
    def _read(file):
        try:
            return json.loads(file.read_text())
        except (OSError, ValueError):  # not written yet, or half written
            return {}

    def group_of(self, pid):
        """Name of the process (scheduler or worker, with its nanny) that ``pid`` belongs to."""
        pgid = os.getpgid(pid)
        names = [name for name, proc in self.procs.items() if proc.pid == pgid]
        assert names, f"process {pid} is in none of the cluster's process groups"
        return names[0]

    def kill(self, name):
        """SIGKILL the whole process group of ``name`` (a worker's nanny and worker process alike)."""
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=START_S)

    def close(self):
        for name in self.procs:
            self.kill(name)
        left = {name: _group_members(proc.pid) for name, proc in self.procs.items()}
        assert not any(left.values()), f"processes left after the cluster was killed: {left}"


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two one-thread workers on 127.0.0.1, without nannies: a killed worker stays dead."""
    cluster = Cluster(tmp_path, nanny=False)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def _shared(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def shared_cluster(_shared):
    """A scheduler and two workers with nannies (which restart a killed worker), for the tests that kill none
    for good; a task that kills its worker is retried once."""
    _shared.wait_for_workers(2)
    return _shared


def _in_background(action):
    """Run ``action`` in a daemon thread; the returned ``check()`` joins it and re-raises what it raised."""
    errors = []

    def run():
        try:
            action()
        except BaseException as exc:  # noqa: BLE001 - reported by check()
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def check():
        thread.join(START_S)
        assert not thread.is_alive(), "the background action did not end"
        if errors:
            raise errors[0]

    return check


def _started(directory, *names):
    for name in names:
        _wait_for(lambda name=name: (directory / f"{name}.started").exists(), f"task {name} started")
    return {name: int((directory / f"{name}.started").read_text()) for name in names}


def _release(directory, *names):
    for name in names:
        (directory / f"{name}.release").touch()


def _comparable(outcomes):
    """``key -> (kind, value, error)``; linalg values as (sum, eigenvalue bytes) to compare bit for bit."""
    out = {}
    for outcome in outcomes:
        value = outcome.value
        if isinstance(value, dict):
            value = (value["sum"], value["eigvalsh"].dtype.str, value["eigvalsh"].tobytes())
        assert outcome.key not in out, f"two outcomes for {outcome.key!r}"
        out[outcome.key] = (outcome.kind, value, outcome.error)
    return out


def _linalg_tasks(seeds):
    return {f"linalg{seed}": (seed,) for seed in seeds}


def _sequential(fn, tasks):
    return _comparable(SequentialEngine().map(fn, tasks))


def test_map_on_a_cluster_equals_the_sequential_engine_bit_for_bit(shared_cluster):
    cluster = shared_cluster
    tasks = {"square2": (dask_tasks.square, 2), "square7": (dask_tasks.square, 7),
             "fails": (dask_tasks.fails, 3), "linalg0": (dask_tasks.linalg, 0), "linalg1": (dask_tasks.linalg, 1),
             "linalg2": (dask_tasks.linalg, 2)}

    with DaskEngine(scheduler=cluster.address, connect_timeout=5.0) as engine:
        assert engine.workers == 2
        assert engine.address == cluster.address
        got = _comparable(engine.map(dask_tasks.call, tasks))
        pids = [o.value for o in engine.map(dask_tasks.worker_pid, {i: () for i in range(4)})]
        unsent = _comparable(engine.map(dask_tasks.square, {"lock": (threading.Lock(),), "three": (3,)}))
    # exact equality (tolerance 0): both run each task with one BLAS thread, so the sums add in one order
    assert got == _sequential(dask_tasks.call, tasks)
    assert got["fails"][:1] == ("raised",) and got["fails"][2] == "ValueError: x = 3 is not allowed here"
    assert os.getpid() not in pids, "a task ran in the client's process"
    assert {cluster.group_of(pid) for pid in pids} <= {"worker0", "worker1"}
    # a task that cannot be sent is that task's failure, not the map's
    assert unsent["three"] == ("ok", 9, None)
    assert unsent["lock"][0] == "raised" and "cannot pickle '_thread.lock' object" in unsent["lock"][2]


def test_a_worker_killed_mid_run_is_survived_with_identical_rows(cluster, tmp_path):
    holds = tmp_path / "holds"
    holds.mkdir()
    tasks = {"a": (dask_tasks.hold, str(holds), "a"), "b": (dask_tasks.hold, str(holds), "b"),
             **{key: (dask_tasks.linalg, *args) for key, args in _linalg_tasks(range(3)).items()}}
    killed = {}

    def kill_a_worker():
        pid = _started(holds, "a", "b")["a"]
        killed["name"] = cluster.group_of(pid)
        cluster.kill(killed["name"])
        _release(holds, "a", "b")

    with DaskEngine(scheduler=cluster.address, connect_timeout=5.0, worker_timeout=60.0) as engine:
        check = _in_background(kill_a_worker)
        got = _comparable(engine.map(dask_tasks.call, tasks))
        check()
    assert {key: kind for key, (kind, _, _) in got.items()} == dict.fromkeys(tasks, "ok")
    assert got["a"][1] == "a" and got["b"][1] == "b"
    # "a" ran again, on the worker that is left
    survivor = ({"worker0", "worker1"} - {killed["name"]}).pop()
    assert cluster.group_of(int((holds / "a.started").read_text())) == survivor
    expected = _sequential(dask_tasks.linalg, _linalg_tasks(range(3)))
    assert {key: got[key] for key in expected} == expected  # bit for bit (tolerance 0)


def test_a_task_that_kills_its_worker_is_lost_after_one_retry_while_the_others_finish(shared_cluster):
    cluster = shared_cluster
    tasks = {"killer": (dask_tasks.kill_own_worker,), **{f"square{x}": (dask_tasks.square, x) for x in range(4)}}
    with DaskEngine(scheduler=cluster.address, connect_timeout=5.0, worker_timeout=60.0) as engine:
        got = _comparable(engine.map(dask_tasks.call, tasks))
    kind, value, error = got.pop("killer")
    assert kind == "lost" and value is None
    assert "died 2 times" in error  # the first run and the one retry
    assert got == {f"square{x}": ("ok", x * x, None) for x in range(4)}


def test_all_workers_killed_makes_every_unfinished_task_unavailable_within_the_worker_timeout(cluster, tmp_path):
    holds = tmp_path / "holds"
    holds.mkdir()
    tasks = {"a": (dask_tasks.hold, str(holds), "a"), "b": (dask_tasks.hold, str(holds), "b"),
             "square1": (dask_tasks.square, 1), "square2": (dask_tasks.square, 2)}
    killed_at = {}

    def kill_all_workers():
        _started(holds, "a", "b")
        cluster.kill("worker0")
        killed_at["t"] = time.monotonic()  # the cluster has no worker only after this
        cluster.kill("worker1")

    with DaskEngine(scheduler=cluster.address, connect_timeout=5.0, worker_timeout=3.0) as engine:
        check = _in_background(kill_all_workers)
        outcomes = list(engine.map(dask_tasks.call, tasks))
        ended = time.monotonic()
        check()
    waited = ended - killed_at["t"]
    assert sorted(o.key for o in outcomes) == sorted(tasks)
    assert {(o.kind, o.error) for o in outcomes} == {("unavailable", f"no Dask worker for 3 s at {cluster.address}")}
    # the engine waits the whole worker timeout after the last worker went, and not much longer
    assert 3.0 <= waited <= 3.0 + SLACK_S, f"ended {waited:.1f} s after the workers were killed"


def test_a_killed_scheduler_makes_every_unfinished_task_unavailable_at_once(cluster, tmp_path):
    holds = tmp_path / "holds"
    holds.mkdir()
    tasks = {"a": (dask_tasks.hold, str(holds), "a"), "b": (dask_tasks.hold, str(holds), "b"),
             "square1": (dask_tasks.square, 1)}
    killed_at = {}

    def kill_the_scheduler():
        _started(holds, "a", "b")
        cluster.kill("scheduler")
        killed_at["t"] = time.monotonic()

    # both timeouts far above the slack: an engine that waited for either would fail
    engine = DaskEngine(scheduler=cluster.address, connect_timeout=30.0, worker_timeout=60.0)
    with engine:
        check = _in_background(kill_the_scheduler)
        outcomes = list(engine.map(dask_tasks.call, tasks))
        ended = time.monotonic()
        check()
    closed = time.monotonic()
    assert sorted(o.key for o in outcomes) == sorted(tasks)
    assert {o.kind for o in outcomes} == {"unavailable"}
    assert all(o.error.startswith(f"lost the Dask scheduler at {cluster.address}") for o in outcomes)
    # the engine sees the connection close: it waits neither for the workers nor for the scheduler's answer
    assert ended - killed_at["t"] <= SLACK_S, f"ended {ended - killed_at['t']:.1f} s after the scheduler was killed"
    assert closed - ended <= SLACK_S, f"shutdown took {closed - ended:.1f} s"


def test_an_unreachable_scheduler_raises_engine_unavailable_within_the_connect_timeout():
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    start = time.monotonic()
    with pytest.raises(EngineUnavailable, match=f"Dask scheduler at {address}") as raised:
        make_engine("dask", 1, scheduler=address, connect_timeout=2.0)
    waited = time.monotonic() - start
    assert isinstance(raised.value, ConnectionError)
    assert waited <= 2.0 + SLACK_S, f"gave up after {waited:.1f} s"


def test_the_local_cluster_runs_tasks_in_its_workers_and_leaves_no_process():
    engine = make_engine("dask", 2)
    with engine:
        assert engine.workers == 2
        assert list(engine.map(dask_tasks.square, {})) == []
        pids = [o.value for o in engine.map(dask_tasks.worker_pid, {i: () for i in range(6)})]
        got = _comparable(engine.map(dask_tasks.linalg, _linalg_tasks([4])))
        procs = [psutil.Process(pid) for pid in set(pids)]
        # the local cluster retries a task that kills its worker once; its nannies restart the workers
        killer = _comparable(engine.map(dask_tasks.call, {"killer": (dask_tasks.kill_own_worker,),
                                                          "square5": (dask_tasks.square, 5)}))
    assert os.getpid() not in pids, "a task ran in the client's process"
    assert got == _sequential(dask_tasks.linalg, _linalg_tasks([4]))  # bit for bit (tolerance 0)
    assert killer["square5"] == ("ok", 25, None)
    assert killer["killer"][0] == "lost" and "died 2 times" in killer["killer"][2]
    _wait_for(lambda: not any(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE for proc in procs),
              "the local cluster's workers ended", limit=SLACK_S)
    engine.shutdown()  # idempotent
    with pytest.raises(RuntimeError, match="shut down"):
        next(engine.map(dask_tasks.square, {"x": (1,)}))


@pytest.mark.parametrize("options, match", [
    ({"n_workers": 0}, "n_workers"), ({"n_workers": True}, "n_workers"), ({"scheduler": ""}, "scheduler"),
    ({"scheduler": 8786}, "scheduler"), ({"connect_timeout": 0}, "connect_timeout"),
    ({"worker_timeout": float("inf")}, "worker_timeout"), ({"worker_timeout": "60"}, "worker_timeout"),
])
def test_bad_options_name_the_parameter(options, match):
    with pytest.raises(ValueError, match=match):
        DaskEngine(**options)


def test_without_distributed_the_engine_says_how_to_install_it():
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from spikedcl.engine.dask import DaskEngine\n"
            "try:\n    DaskEngine()\nexcept ImportError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=START_S)
    assert done.returncode == 0, done.stderr
    assert "pip install -e '.[dask]'" in done.stdout


# --------------------------------------------------------------------------- the sweep's command line on a cluster


def _sweep_cli(config, out, address, *extra):
    return [sys.executable, str(TESTS.parent / "simulations" / "sweep.py"), "--config", str(config), "--out",
            str(out), "--no-progress", "--backend", "dask", "--scheduler", address, *extra]


def _gated_config(directory, gate):
    path = directory / "gated.toml"
    path.write_text('name = "gated"\nexperiment = "sweep_toys:gated"\nreps = 3\nseed = 5\nreps_per_cell = 1\n'
                    f'[grid]\nmu = [0.0, 1.0, 2.0, 3.0]\n[params]\ngate = "{gate}"\n')
    return path


def _saved(out):
    return len(list((out / "cells").glob("*.parquet"))) if (out / "cells").is_dir() else 0


def test_the_sweep_survives_a_killed_worker_and_fails_clearly_when_all_are_gone(cluster, tmp_path):
    from spikedcl.sweep import load_config, resolve_config, run_sweep

    gate = tmp_path / "gate"
    config, out = _gated_config(tmp_path, gate), tmp_path / "out"
    proc = subprocess.Popen(_sweep_cli(config, out, cluster.address), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=cluster.env)
    # the nine mu < 3 cells are saved; the mu = 3 cells now hold both workers, waiting for the gate
    _wait_for(lambda: _saved(out) >= 9 or proc.poll() is not None, "nine saved cells")
    cluster.kill("worker0")
    gate.touch()
    stdout, stderr = proc.communicate(timeout=START_S)
    assert proc.returncode == 0, stderr
    assert "12 cells run, 0 reused, 0 failed" in stdout
    table = pd.read_parquet(out / "results.parquet")
    reference = run_sweep(resolve_config(load_config(config)), backend="sequential").table
    pd.testing.assert_frame_equal(reference.drop(columns=["time_s", "backend"]),
                                  table.drop(columns=["time_s", "backend"]), check_exact=True)
    # then every worker is gone: the unfinished cells fail after --worker-timeout, with the list, exit 1
    gate.unlink()
    out2 = tmp_path / "out2"
    proc = subprocess.Popen(_sweep_cli(config, out2, cluster.address, "--worker-timeout", "3"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=cluster.env)
    _wait_for(lambda: _saved(out2) >= 9 or proc.poll() is not None, "nine saved cells")
    cluster.kill("worker1")
    t0 = time.monotonic()
    stdout, stderr = proc.communicate(timeout=START_S)
    assert proc.returncode == 1 and time.monotonic() - t0 < 3 + SLACK_S, stderr
    assert "[unavailable]" in stderr and "no Dask worker" in stderr and "Traceback" not in stderr
    failures = json.loads((out2 / "failures.json").read_text())
    assert len(failures) == 3 and {f["kind"] for f in failures} == {"unavailable"}
    assert _saved(out2) == 9  # the finished cells are kept: a rerun on a live cluster resumes


def test_a_port_that_is_not_a_scheduler_raises_engine_unavailable_within_the_bound():
    with socket.socket() as server:  # accepts connections and never answers Dask's handshake
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(EngineUnavailable, match=f"no Dask scheduler answered at {address}"):
            DaskEngine(scheduler=address, connect_timeout=1.0)
        assert time.monotonic() - t0 < 1.0 + 2.0 + SLACK_S
    with pytest.raises(ValueError, match="scheduler must be an address such as 'tcp://host:8786'"):
        DaskEngine(scheduler="not an address")
