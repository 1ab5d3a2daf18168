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
