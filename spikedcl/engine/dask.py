"""The Dask engine: cells as ``distributed`` futures on a cluster, with deadlines for what can be lost.

:class:`DaskEngine` submits each task with :meth:`distributed.Client.submit`
and collects it with :class:`distributed.as_completed` in a polling loop, so
that whatever happens to the cluster every task ends as one
:class:`~spikedcl.engine.base.Outcome`:

- the task returned: ``ok``, with the value the worker returned;
- the task raised, or could not be sent (its arguments do not pickle):
  ``raised``, with the traceback;
- its worker died: the scheduler runs it on another worker; when the
  workers running it died ``allowed-failures + 1`` times: ``lost`` (if that
  left the cluster without a worker, ``lost`` only once a worker is back
  within ``worker_timeout``: a nanny restarted it);
- the cluster had no worker for ``worker_timeout`` seconds: every unfinished
  task ``unavailable``, then :meth:`~DaskEngine.map` returns;
- the scheduler is gone (killed, unreachable): every unfinished task
  ``unavailable`` at once.

Nothing runs in the client's process: there is no local fallback.

At most as many tasks are in flight as the cluster has worker threads, so
each worker holds the one task it runs: when a worker dies, the scheduler
counts the death against that task alone (with more tasks queued on a
worker, all of them would count it, and an innocent task could be declared
lost). For the same reason, a cluster of your own should run one thread per
worker (``dask worker --nthreads 1``; the one-BLAS-thread limit of every task
is process-wide) and its scheduler should retry a task that killed its worker
once (``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1``; Dask's default
is 3). The local cluster this engine starts when given no scheduler is set up
so.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import numbers
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .base import THREAD_ENV, Engine, EngineUnavailable, Outcome, call_single_threaded, error_text, signals_ignored

try:
    import dask
    import psutil
    from dask.base import tokenize
    from distributed import Client, KilledWorker, LocalCluster, as_completed
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port
except ImportError as exc:  # the optional dependency; DaskEngine() says how to install it
    dask = None
    _MISSING = exc
else:
    _MISSING = None

__all__ = ["DaskEngine", "EngineUnavailable", "LOCAL_CLUSTER_CONFIG"]

#: Dask configuration of the local cluster :class:`DaskEngine` starts: a task that kills its worker is
#: retried once, and a worker is sent one task per thread.
LOCAL_CLUSTER_CONFIG = {"distributed.scheduler.allowed-failures": 1,
                        "distributed.scheduler.worker-saturation": 1.0}

#: Seconds between two waits for finished tasks, and between two checks of the cluster.
_WAIT_S = 0.1
_CHECK_S = 0.5
#: Seconds granted beyond ``connect_timeout`` for the scheduler's handshake.
_HANDSHAKE_SLACK_S = 2.0


@contextlib.contextmanager
def _quiet(logger):
    """``logger`` silent inside the block."""
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)




def _positive_seconds(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number of seconds, got {value!r}")
    return float(value)


class DaskEngine(Engine):
    """Tasks as futures on a Dask cluster: a local one started for the run, or the scheduler at an address.

    Parameters
    ----------
    n_workers : int, default=1
        Worker processes (one thread each) of the local cluster started when
        ``scheduler`` is None; ignored with a scheduler.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    connect_timeout : float, default=10.0
        Seconds to reach the scheduler (and to fetch one result).
    worker_timeout : float, default=60.0
        Seconds the cluster may have no worker before the unfinished tasks
        are reported ``unavailable``.

    Attributes
    ----------
    address : str
        The scheduler's address.
    workers : int
        Worker threads connected now (at least 1).

    Raises
    ------
    ImportError
        Without ``distributed`` (``pip install -e '.[dask]'``).
    EngineUnavailable
        When the scheduler cannot be reached within ``connect_timeout``.
    ValueError
        For a bad ``n_workers``, ``scheduler`` or timeout.
    """

    name = "dask"

    def __init__(
        self,
        *,
        n_workers: int = 1,
        scheduler: str | None = None,
        connect_timeout: float = 10.0,
        worker_timeout: float = 60.0,
    ) -> None:
        if isinstance(n_workers, bool) or not isinstance(n_workers, numbers.Integral) or n_workers < 1:
            raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
            raise ValueError(f"scheduler must be None (a local cluster) or an address such as "
                             f"'tcp://host:8786', got {scheduler!r}")
        self.connect_timeout = _positive_seconds(connect_timeout, "connect_timeout")
        self.worker_timeout = _positive_seconds(worker_timeout, "worker_timeout")
        if _MISSING is not None:
            raise ImportError(f"the dask backend needs distributed ({_MISSING}): pip install -e '.[dask]'")
        self._client = self._cluster = None
        self._pids = {}
        self._running = {}
        self._serial = 0
        self._token = tokenize(socket.gethostname(), os.getpid(), time.time_ns(), id(self))
        if scheduler is None:
            self._start_local(n_workers)
        else:
            self._connect(scheduler.strip())

    def _start_local(self, n_workers):
        # the worker processes inherit an ignored SIGINT: a Ctrl-C reaches the whole process group, and the
        # sweep's process, not the workers, ends the run; their warnings of cancelled tasks are not shown
        with dask.config.set(LOCAL_CLUSTER_CONFIG), signals_ignored(signal.SIGINT):
            cluster = LocalCluster(n_workers=int(n_workers), threads_per_worker=1, processes=True,
                                   dashboard_address=None, env=dict(THREAD_ENV), silence_logs=logging.CRITICAL,
                                   # no dashboard, and its HTTP routes on a free local port, not 8787
                                   scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
        try:
            self._cluster = cluster
            self._client = Client(cluster, timeout=self.connect_timeout, set_as_default=False)
            self.address = cluster.scheduler_address
            self._note_workers(cluster)
        except BaseException:
            self.shutdown(kill=True)
            raise

    def _note_workers(self, cluster):
        """Remember the local cluster's worker processes (a nanny restarts a dead one as a new process)."""
        for nanny in list(cluster.workers.values()):
            pid = getattr(nanny, "pid", None)
            if pid and pid not in self._pids:
                try:
                    self._pids[pid] = psutil.Process(pid).create_time()
                except psutil.NoSuchProcess:
                    pass

    def _connect(self, address):
        try:
            scheme, location = parse_address(address)
            if scheme in ("tcp", "tls", "ws", "wss"):
                parse_host_port(location)
        except ValueError as exc:
            raise ValueError(f"scheduler must be an address such as 'tcp://host:8786', got {address!r} "
                             f"({error_text(exc)})") from None
        # Dask's own timeout covers connecting, not a peer that accepts and never answers the handshake
        # (any other server on that port): the client is built in a thread given a bounded wait
        box = {}

        def connect():
            try:
                box["client"] = Client(address, timeout=self.connect_timeout, set_as_default=False)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=connect, daemon=True, name="spikedcl-dask-connect")
        thread.start()
        thread.join(self.connect_timeout + _HANDSHAKE_SLACK_S)
        if thread.is_alive():
            raise EngineUnavailable(f"no Dask scheduler answered at {address} within "
                                    f"{self.connect_timeout + _HANDSHAKE_SLACK_S:g} s")
        exc = box.get("error")
        if isinstance(exc, (OSError, TimeoutError)):
            raise EngineUnavailable(f"cannot reach the Dask scheduler at {address} within "
                                    f"{self.connect_timeout:g} s ({error_text(exc)})") from None
        if exc is not None:
            raise EngineUnavailable(f"cannot connect to the Dask scheduler at {address} "
                                    f"({error_text(exc)})") from None
        self._client = box["client"]
        self.address = self._client.scheduler.address

    @property
    def _lost_scheduler(self):
        """The reason given for the tasks left when the client loses its scheduler."""
        return f"lost the Dask scheduler at {self.address}"

    @property
    def workers(self) -> int:
        """Worker threads connected now (at least 1)."""
        threads, _ = self._check()
        return max(1, threads)

    def _check(self):
        """``(worker threads, None)``, or ``(0, reason)`` when the scheduler is lost.

        The question runs in the client's event loop while this thread
        watches the client: when the client sees its connection to the
        scheduler close, the answer is not waited for (a dead scheduler's
        port refuses connections, which Dask retries until its timeout).
        """
        client = self._client
        if client is None:
            return 0, "the Dask engine is shut down"
        lost = self._lost_scheduler
        if client.status != "running":
            return 0, lost
        answer = asyncio.run_coroutine_threadsafe(client.scheduler.identity(n_workers=0), client.loop.asyncio_loop)
        deadline = time.monotonic() + self.connect_timeout
        while not concurrent.futures.wait([answer], timeout=_WAIT_S).done:
            if client.status != "running" or time.monotonic() > deadline:
                answer.cancel()
                return 0, (lost if client.status != "running" else
                           f"{lost} (no answer within {self.connect_timeout:g} s)")
        try:
            info = answer.result()
        except Exception as exc:  # noqa: BLE001 - CommClosedError, OSError, cancelled: the scheduler is out of reach
            return 0, f"{lost} ({error_text(exc)})"
        return int(info.get("total_threads", 0)), None

    def map(self, fn: Callable[..., Any], tasks: Mapping[str, tuple[Any, ...]]) -> Iterator[Outcome]:
        """Run ``fn(*args)`` on the cluster for every ``key, args`` of ``tasks``; yield an Outcome each.

        Parameters
        ----------
        fn : callable
            A module-level function the workers can import.
        tasks : dict
            ``key -> tuple of arguments``.

        Yields
        ------
        Outcome
            Exactly one per key, as the tasks end: ``ok``, ``raised``, ``lost``
            (its workers died), or ``unavailable`` (no worker for
            ``worker_timeout`` seconds, or the scheduler is gone).

        Raises
        ------
        RuntimeError
            After :meth:`shutdown`.
        """
        if self._client is None:
            raise RuntimeError("the Dask engine is shut down; make a new one")
        todo = list(tasks.items())
        running = self._running = {}
        lost = {}  # key -> "lost" Outcome that came when the cluster had no worker
        finished = as_completed(loop=self._client.loop)
        idle_since, next_check, width = None, 0.0, 0
        try:
            while todo or running or lost:
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + _CHECK_S
                    width, reason = self._check()
                    if reason is None and width == 0:
                        idle_since = now if idle_since is None else idle_since
                        if now - idle_since >= self.worker_timeout:
                            reason = f"no Dask worker for {self.worker_timeout:g} s at {self.address}"
                    else:
                        idle_since = None
                    if reason is not None:
                        yield from self._give_up(todo, running, lost, reason)
                        return
                    if width:  # the cluster lives on: the tasks were lost to their own workers' deaths
                        yield from lost.values()
                        lost.clear()
                while todo and len(running) < width:
                    key, args = todo[0]
                    self._serial += 1
                    try:
                        future = self._client.submit(call_single_threaded, fn, *args, pure=False,
                                                     key=f"spikedcl-cell-{self._token}-{self._serial}")
                    except Exception as exc:  # noqa: BLE001 - reported as the task's outcome
                        if self._client.status != "running":  # the next check gives up on the scheduler
                            next_check = 0.0
                            break
                        todo.pop(0)
                        while exc.__cause__ or exc.__context__:  # the reason, not the wrappers
                            exc = exc.__cause__ or exc.__context__
                        yield Outcome(key, "raised", error=f"could not send it to the Dask scheduler "
                                                           f"({error_text(exc)})", traceback=traceback.format_exc())
                        continue
                    todo.pop(0)
                    running[future] = key
                    finished.add(future)
                batch = finished.next_batch(block=False)
                if not batch:
                    with finished.thread_condition:
                        finished.thread_condition.wait(timeout=_WAIT_S)
                    continue
                for future in batch:
                    if future not in running:  # cancelled by shutdown()
                        continue
                    outcome = self._outcome(running[future], future)
                    if outcome is None:  # not finished after all (its result was lost): wait again
                        finished.add(future)
                        continue
                    del running[future]
                    if outcome.kind == "lost" and self._check()[0] == 0:
                        # the task's last worker was the cluster's last one: lost to the task, or to the
                        # cluster? Lost if workers come back (a nanny restarts them) within worker_timeout,
                        # else unavailable with every other unfinished task.
                        lost[outcome.key] = outcome
                        next_check = 0.0
                        continue
                    yield outcome
        finally:
            self._cancel(running)

    def _outcome(self, key, future):
        """The Outcome of a done future, or None when it is to be waited for again."""
        status = future.status
        if status == "finished":
            try:
                value = future.result(timeout=self.connect_timeout)
            except (OSError, TimeoutError):  # its result is out of reach for now (its worker died)
                return None
            except Exception as exc:  # noqa: BLE001 - reported as the task's outcome
                if future.cancelled():
                    return Outcome(key, "unavailable", error=self._lost_scheduler)
                return Outcome(key, "raised", error=f"its result could not be fetched ({error_text(exc)})",
                               traceback=traceback.format_exc())
            return Outcome(key, value=value)
        if status == "error":
            exc = future.exception()
            if isinstance(exc, KilledWorker):
                return Outcome(key, "lost", error=f"the Dask workers running it died {exc.allowed_failures + 1} "
                                                  f"times (the last at {exc.last_worker.address})")
            text = "".join(traceback.format_exception(type(exc), exc, future.traceback()))
            return Outcome(key, "raised", error=error_text(exc), traceback=text)
        if status == "cancelled":  # the client cancels every future when it loses the scheduler
            return Outcome(key, "unavailable", error=self._lost_scheduler)
        return None

    def _give_up(self, todo, running, lost, reason):
        keys = list(lost) + list(running.values()) + [key for key, _ in todo]
        self._cancel(running)
        todo.clear()
        lost.clear()
        if self._client is not None and self._client.status != "running":
            # the client would try to reconnect for connect_timeout seconds, then log that it failed
            self._close_client(self._client, self.connect_timeout)
        for key in keys:
            yield Outcome(key, "unavailable", error=reason)

    def _cancel(self, running):
        futures = list(running)
        running.clear()
        client = self._client
        if futures and client is not None and client.status == "running":
            try:
                client.cancel(futures, force=True)
            except (OSError, TimeoutError):
                pass

    def shutdown(self, *, kill: bool = False) -> None:
        """Cancel the unfinished tasks, close the client, and the local cluster this engine started.

        Parameters
        ----------
        kill : bool, default=False
            Do not wait for running tasks: the local cluster's worker
            processes are killed (on a cluster of your own, the tasks are
            cancelled, and a task already running ends on its worker, its
            result discarded). Idempotent.
        """
        self._cancel(self._running)
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        timeout = 2.0 if kill else self.connect_timeout
        try:
            if client is not None:
                self._close_client(client, timeout)
            if cluster is not None:
                self._note_workers(cluster)
                try:
                    cluster.close(timeout=timeout)
                except (OSError, TimeoutError, RuntimeError):
                    pass
        finally:
            self._reap()

    @staticmethod
    def _close_client(client, timeout):
        """Close ``client``; if it lost its scheduler (reported in the outcomes), without Dask's own error logs."""
        lost = client.status != "running"
        with _quiet(logging.getLogger("distributed.client")) if lost else contextlib.nullcontext():
            try:
                client.close(timeout=timeout)
            except (OSError, TimeoutError, RuntimeError):
                pass

    def _reap(self):
        """Kill the local cluster's worker processes that are still alive."""
        pids, self._pids = self._pids, {}
        procs = []
        for pid, started in pids.items():
            try:
                proc = psutil.Process(pid)
                if proc.create_time() == started:
                    proc.kill()
                    procs.append(proc)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=5)
