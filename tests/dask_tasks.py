"""Toy tasks for the Dask-engine tests: importable by worker processes (``tests/`` on their path).

:func:`hold` synchronises a test with a running task through files: it
writes ``NAME.started`` (holding its process id), then waits for
``NAME.release``, so a test can act on the worker while the task runs
without assuming how fast anything is.
"""

import os
import signal
import time
from pathlib import Path

import numpy as np

#: Longest a held task waits for its release file before it gives up (raises), in seconds.
HOLD_LIMIT_S = 120.0


def call(fn, *args):
    """``fn(*args)``: one map can mix these task functions."""
    return fn(*args)


def square(x):
    """``x * x``."""
    return x * x


def worker_pid():
    """The id of the process the task runs in."""
    return os.getpid()


def linalg(seed, n=300):
    """The sum of ``A A^T`` and its eigenvalues for a standard normal ``n x n`` ``A`` drawn from ``seed``.

    Multi-threaded BLAS sums in another order, so these bits depend on the
    thread count a task runs with.
    """
    a = np.random.default_rng(seed).standard_normal((n, n))
    gram = a @ a.T
    return {"sum": float(gram.sum()), "eigvalsh": np.linalg.eigvalsh(gram)}


def fails(x):
    """Raises ValueError."""
    raise ValueError(f"x = {x} is not allowed here")


def kill_own_worker():
    """Kills the process it runs in with SIGKILL (as the kernel's OOM killer would)."""
    os.kill(os.getpid(), signal.SIGKILL)


def hold(directory, name):
    """Write ``directory/NAME.started`` (this process's id), wait for ``directory/NAME.release``; return ``name``."""
    directory = Path(directory)
    partial = directory / f"{name}.started.{os.getpid()}"
    partial.write_text(str(os.getpid()))
    partial.replace(directory / f"{name}.started")
    deadline = time.monotonic() + HOLD_LIMIT_S
    while not (directory / f"{name}.release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} was not released within {HOLD_LIMIT_S:g} s")
        time.sleep(0.02)
    return name
