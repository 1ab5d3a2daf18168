"""What every execution engine of the sweep shares: outcomes, the engine protocol, one-thread calls.

An engine runs one function over many tasks and yields one :class:`Outcome`
per task, in completion order, whatever happens to its workers: a task whose
worker process died is reported (``kind="lost"``) after the engine's own
retry, and tasks an engine can no longer run (its cluster is gone) are
reported ``kind="unavailable"``; the engine never hangs and never runs a task
anywhere but where it was asked to.

Every task runs with one BLAS thread and one statistics thread
(:func:`single_threaded`), so a row does not depend on how many tasks run side
by side, on the backend, or on the machine's core count.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

__all__ = ["Outcome", "Engine", "OUTCOME_KINDS", "single_threaded", "call_single_threaded", "error_text",
           "THREAD_ENV", "EngineUnavailable", "ignore_interrupts", "signals_handled", "signals_ignored"]

#: ``ok``: the task returned; ``raised``: it raised (a defect of the task, not of the engine);
#: ``lost``: its worker died (twice, where the engine retries); ``unavailable``: the engine could not run it.
OUTCOME_KINDS = ("ok", "raised", "lost", "unavailable")

_PR_SET_PDEATHSIG = 1  # linux/prctl.h

#: Environment of worker processes: one thread in every BLAS and OpenMP runtime.
THREAD_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}


class EngineUnavailable(ConnectionError):
    """An engine that cannot start: an unreachable Dask scheduler (the sweep's CLI exits with 2)."""


@dataclass(frozen=True)
class Outcome:
    """The result of one task.

    Parameters
    ----------
    key : str
        The task's key.
    kind : str
        One of :data:`OUTCOME_KINDS`.
    value : object, optional
        What the task returned (``kind="ok"``).
    error : str, optional
        One-line reason (any other kind).
    traceback : str, optional
        Where it was raised, when known.
    """

    key: str
    kind: str = "ok"
    value: object = None
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the task returned."""
        return self.kind == "ok"


def error_text(exc: BaseException) -> str:
    """The one-line ``Type: message`` of an exception.

    Parameters
    ----------
    exc : BaseException
        The exception.

    Returns
    -------
    str
        As :func:`traceback.format_exception_only` prints it, stripped.
    """
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class Engine:
    """Base of the sweep's engines: a context manager that maps a function over keyed tasks.

    Subclasses implement :meth:`map` and :meth:`shutdown`.

    Attributes
    ----------
    name : str
        The backend's name, recorded in every row.
    workers : int
        How many tasks run at once (the sweep divides its memory budget by it).
    """

    name = "engine"
    workers = 1

    def map(self, fn: Callable[..., Any], tasks: Mapping[str, tuple[Any, ...]]) -> Iterator[Outcome]:
        """Run ``fn(*args)`` for every ``key, args`` of ``tasks``; yield an :class:`Outcome` each, as they end.

        Parameters
        ----------
        fn : callable
            A picklable module-level function.
        tasks : dict
            ``key -> tuple of arguments``.

        Yields
        ------
        Outcome
            Exactly one per key.
        """
        raise NotImplementedError

    def shutdown(self, *, kill: bool = False) -> None:
        """Release the workers; with ``kill``, end the running tasks now (on an interrupt).

        Parameters
        ----------
        kill : bool, default=False
            Terminate worker processes instead of waiting for them.
        """

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.shutdown(kill=exc_type is not None)
        return False


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """One BLAS/OpenMP thread and one statistics thread inside the block.

    Products split over several BLAS threads add in another order, so their
    last bits depend on the thread count; inside this block they do not.
    The limits are process-wide: use the block around whole runs in one
    process, not around tasks that run concurrently in threads.
    """
    from threadpoolctl import threadpool_limits

    from ..stats import limit_threads

    with threadpool_limits(limits=1), limit_threads(1):
        yield


@contextlib.contextmanager
def signals_handled(
    handler: Callable[[int, FrameType | None], Any] | int | signal.Handlers, *signums: int
) -> Iterator[None]:
    """``handler`` for the signals ``signums`` inside the block (main thread only; elsewhere a no-op).

    The previous handlers are restored on leaving it. With ``signal.SIG_IGN``,
    processes spawned inside the block inherit the ignored dispositions.

    Parameters
    ----------
    handler : callable or signal.Handlers
        ``handler(signum, frame)``, or ``signal.SIG_IGN`` / ``signal.SIG_DFL``.
    *signums : int
        Signal numbers, e.g. ``signal.SIGINT``.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in signums}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def signals_ignored(*signums: int) -> contextlib.AbstractContextManager[None]:
    """:func:`signals_handled` with ``signal.SIG_IGN``: the signals ``signums`` ignored inside the block.

    Parameters
    ----------
    *signums : int
        Signal numbers, e.g. ``signal.SIGINT``.

    Returns
    -------
    contextlib.AbstractContextManager
        The block's context manager.
    """
    return signals_handled(signal.SIG_IGN, *signums)


def ignore_interrupts() -> None:
    """Worker-process initializer: leave SIGINT to the sweep's process, and end with it.

    A Ctrl-C at a terminal reaches the whole process group; a worker that
    ignores it neither prints a traceback nor dies half-way through a task
    the sweep is about to discard anyway. On Linux the worker also asks the
    kernel for SIGTERM when the sweep's process dies (``PR_SET_PDEATHSIG``),
    so a sweep killed by SIGKILL leaves no idle worker behind.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the worker outlives a killed sweep until its pipe closes
            pass


def call_single_threaded(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` with one thread (in a worker process, which runs one task at a time).

    Parameters
    ----------
    fn : callable
        The task.
    *args
        Its arguments.

    Returns
    -------
    object
        What ``fn`` returns.
    """
    for name, value in THREAD_ENV.items():  # for runtimes started inside the task
        os.environ.setdefault(name, value)
    with single_threaded():
        return fn(*args)
