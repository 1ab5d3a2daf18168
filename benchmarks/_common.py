"""Helpers shared by the benchmark scripts: machine description, timers, peak memory."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np


def cpu_name():
    """The processor's model name where the OS reports it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    """One line naming the machine and the numerical stack."""
    import scipy

    return (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"NumPy {np.__version__}, SciPy {scipy.__version__}")


def best_time(fn, repeat, sync=None):
    """Best (smallest) wall time of ``repeat`` calls after one warm-up call.

    The best of several is the least disturbed by other processes on a shared machine.
    ``sync`` (e.g. a CUDA stream synchronisation) runs before each clock read.
    """
    fn()
    if sync:
        sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_rss_mib():
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_isolated(script, args):
    """Run ``script`` with ``args`` in a fresh interpreter (so its peak memory is its own).

    The child prints one JSON object on its last output line; returns it.
    """
    out = subprocess.run([sys.executable, script, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
