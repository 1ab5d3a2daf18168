"""Execution engines of the sweep: where cells run, and what happens when workers fail.

==============  ==============================================================================
``sequential``  this process, one cell after the other (``n_jobs=1``)
``threading``   daemon threads of this process
``loky``        worker processes on this machine; a dead worker's cell is retried once, alone
``dask``        a Dask cluster through ``distributed`` futures (:mod:`spikedcl.engine.dask`)
==============  ==============================================================================

Every engine yields one :class:`~spikedcl.engine.base.Outcome` per task and
runs each task with one BLAS thread (:func:`~spikedcl.engine.base.single_threaded`),
so rows are bit-identical across engines and worker counts.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from .base import OUTCOME_KINDS, Engine, EngineUnavailable, Outcome, call_single_threaded, single_threaded
from .local import LokyEngine, SequentialEngine, ThreadEngine

__all__ = ["BACKENDS", "Engine", "EngineUnavailable", "Outcome", "OUTCOME_KINDS", "make_engine", "resolve_workers",
           "single_threaded", "call_single_threaded"]

#: Backends of :func:`make_engine`.
BACKENDS = ("loky", "threading", "sequential", "dask")


def resolve_workers(n_jobs: int) -> int:
    """Number of workers for ``n_jobs`` (joblib's convention: ``-1`` all cores, ``-2`` all but one).

    Parameters
    ----------
    n_jobs : int
        Non-zero integer.

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    ValueError
        For 0 or a non-integer.

    Examples
    --------
    >>> from spikedcl.engine import resolve_workers
    >>> resolve_workers(3)
    3
    >>> resolve_workers(-1) == resolve_workers(-2) + 1 or resolve_workers(-1) == 1  # all cores, all but one
    True
    """
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a positive integer or negative (-1: all cores), got {n_jobs!r}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)


def make_engine(
    backend: Literal["loky", "threading", "sequential", "dask"] = "loky", n_jobs: int = 1, **options: Any
) -> Engine:
    """The engine of ``backend`` with ``n_jobs`` workers.

    Parameters
    ----------
    backend : {"loky", "threading", "sequential", "dask"}, default="loky"
        Where the cells run. A local backend with one worker runs in this
        process (as joblib does).
    n_jobs : int, default=1
        Workers (``-1``: all cores). For ``dask`` without a scheduler, the
        workers of the local cluster started for the run.
    **options
        Options of the Dask engine (:class:`spikedcl.engine.dask.DaskEngine`):
        ``scheduler``, ``connect_timeout``, ``worker_timeout``.

    Returns
    -------
    Engine
        Use it as a context manager.

    Raises
    ------
    ValueError
        For an unknown backend, a bad ``n_jobs``, or options the backend does not take.

    Examples
    --------
    Every task yields one :class:`Outcome`; one that raises is reported, not re-raised:

    >>> from spikedcl.engine import make_engine
    >>> with make_engine("threading", n_jobs=2) as engine:
    ...     outcomes = sorted((o.key, o.kind, o.value) for o in engine.map(divmod, {"a": (7, 2), "b": (1, 0)}))
    >>> outcomes
    [('a', 'ok', (3, 1)), ('b', 'raised', None)]
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    workers = resolve_workers(n_jobs)
    if backend == "dask":
        from .dask import DaskEngine

        return DaskEngine(n_workers=workers, **options)
    if options:
        raise ValueError(f"options {sorted(options)} apply to the dask backend only, not {backend!r}")
    if backend == "sequential" or workers == 1:
        return SequentialEngine()
    return ThreadEngine(workers) if backend == "threading" else LokyEngine(workers)
