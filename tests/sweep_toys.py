"""Toy experiments for the sweep-engine tests (importable as ``sweep_toys:NAME``)."""

import numpy as np


def gaussian(params, seed):
    """One N(mu, 1) draw per method, from the addressed seed."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(2)
    return [
        {"method": "a", "metric": "x", "value": float(params["mu"] + z[0])},
        {"method": "b", "metric": "x", "value": float(params["mu"] + z[1]), "extra": "kept"},
    ]


def fails_at_three(params, seed):
    """Like :func:`gaussian`, but raises for ``mu == 3``."""
    if params["mu"] == 3:
        raise RuntimeError("mu = 3 is not allowed here")
    return gaussian(params, seed)


def slow(params, seed):
    """Like :func:`gaussian`, after sleeping ``params["sleep"]`` seconds (a cell that takes time)."""
    import time

    time.sleep(params["sleep"])
    return gaussian(params, seed)


def kills_its_worker(params, seed):
    """Like :func:`gaussian`, but the process running ``mu == 3`` dies by SIGKILL (as by the OOM killer)."""
    import os
    import signal

    if params["mu"] == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return gaussian(params, seed)


def gated(params, seed):
    """Like :func:`gaussian`, but a ``mu == 3`` cell first waits (up to 2 min) for the file ``params["gate"]``."""
    import pathlib
    import time

    if params["mu"] == 3:
        deadline = time.monotonic() + 120
        while not pathlib.Path(params["gate"]).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the gate {params['gate']} never opened")
            time.sleep(0.01)
    return gaussian(params, seed)
