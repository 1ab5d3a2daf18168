"""Engines on this machine: in process, in threads, in loky worker processes.

:class:`LokyEngine` runs each task in a worker process with one BLAS thread
and keeps at most ``workers`` tasks in flight, so when a worker dies (the
kernel's OOM killer, a segfault, ``kill -9``) the tasks it may have been
running are known. They are retried once, each alone in a fresh pool, so a
task that kills its worker is found and reported (``kind="lost"``) while the
others it shared the pool with finish; the sweep goes on.
"""

from __future__ import annotations

import queue
import re
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, wait
from typing import Any

from threadpoolctl import threadpool_limits

from ..stats import limit_threads
from .base import THREAD_ENV, Engine, Outcome, call_single_threaded, error_text, ignore_interrupts, single_threaded

__all__ = ["SequentialEngine", "ThreadEngine", "LokyEngine"]


def _call(fn, key, args):
    try:
        return Outcome(key, value=fn(*args))
    except Exception as exc:  # noqa: BLE001 - a defect of the task, reported as its outcome
        return Outcome(key, "raised", error=error_text(exc), traceback=traceback.format_exc())


def _death(exc):
    """The reason of a worker's death, from loky's error (its exit codes, e.g. ``SIGKILL(-9)``)."""
    codes = re.search(r"exit codes of the workers are (\{[^}]*\})", str(exc))
    how = f"exit code {codes.group(1)}" if codes else error_text(exc)
    return f"the worker process running this cell died, also when the cell was retried alone ({how})"


class SequentialEngine(Engine):
    """Every task in this process, one after the other (``n_jobs=1``)."""

    name = "sequential"
    workers = 1

    def map(self, fn: Callable[..., Any], tasks: Mapping[str, tuple[Any, ...]]) -> Iterator[Outcome]:
        with single_threaded():
            for key, args in tasks.items():
                yield _call(fn, key, args)


class ThreadEngine(Engine):
    """Tasks in ``workers`` daemon threads of this process.

    The threads are daemons: an interrupted sweep exits without waiting for
    the tasks they run (which write nothing; the sweep's process writes).

    Parameters
    ----------
    workers : int
        Number of threads, ``>= 1``.
    """

    name = "threading"

    def __init__(self, workers: int) -> None:
        self.workers = int(workers)

    def map(self, fn: Callable[..., Any], tasks: Mapping[str, tuple[Any, ...]]) -> Iterator[Outcome]:
        todo, done = queue.SimpleQueue(), queue.SimpleQueue()
        for item in tasks.items():
            todo.put(item)

        def work():
            with limit_threads(1):
                while True:
                    try:
                        key, args = todo.get_nowait()
                    except queue.Empty:
                        return
                    done.put(_call(fn, key, args))

        with threadpool_limits(limits=1):
            for _ in range(min(self.workers, len(tasks))):
                threading.Thread(target=work, daemon=True, name="spikedcl-cell").start()
            for _ in range(len(tasks)):
                yield done.get()


class LokyEngine(Engine):
    """Tasks in ``workers`` loky processes, each with one BLAS thread; dead workers are survived.

    Parameters
    ----------
    workers : int
        Number of worker processes, ``>= 1``.
    """

    name = "loky"

    def __init__(self, workers: int) -> None:
        self.workers = int(workers)
        self._executor = None

    def _pool(self):
        from joblib.externals.loky.process_executor import ProcessPoolExecutor

        if self._executor is None:
            self._executor = ProcessPoolExecutor(max_workers=self.workers, env=dict(THREAD_ENV),
                                                 initializer=ignore_interrupts)
        return self._executor

    def _discard_pool(self, kill):
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=not kill, kill_workers=kill)

    def _run(self, fn, items, width):
        """Yield ``(key, outcome or None)``: None when the pool broke while the task was in flight."""
        from joblib.externals.loky.process_executor import BrokenProcessPool

        pending, running = list(items), {}
        while pending or running:
            while pending and len(running) < width:
                key, args = pending.pop(0)
                try:
                    future = self._pool().submit(call_single_threaded, _call, fn, key, args)
                except BrokenProcessPool:
                    self._discard_pool(kill=True)
                    future = self._pool().submit(call_single_threaded, _call, fn, key, args)
                running[future] = key
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            broken = None
            for future in finished:
                key = running.pop(future)
                try:
                    yield key, future.result()
                except BrokenProcessPool as exc:
                    broken = exc
                    yield key, (None, exc)
            if broken is not None:  # every task still in flight died with the pool
                for key in running.values():
                    yield key, (None, broken)
                running.clear()
                self._discard_pool(kill=True)

    def map(self, fn: Callable[..., Any], tasks: Mapping[str, tuple[Any, ...]]) -> Iterator[Outcome]:
        suspects = {}
        for key, result in self._run(fn, tasks.items(), self.workers):
            if isinstance(result, Outcome):
                yield result
            else:
                suspects[key] = result[1]
        for key in suspects:  # once more, alone: a task that kills its worker is found
            self._discard_pool(kill=True)
            for _, result in self._run(fn, [(key, tasks[key])], 1):
                if isinstance(result, Outcome):
                    yield result
                else:
                    yield Outcome(key, "lost", error=_death(result[1]))

    def shutdown(self, *, kill: bool = False) -> None:
        self._discard_pool(kill)
