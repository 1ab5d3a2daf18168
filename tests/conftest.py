"""Shared fixtures.

``seed`` is fixed by default; set ``SPIKEDCL_SEED=any`` to draw one per run, or
an integer to pin it (the statistical tolerances hold for any seed).
"""

import os

import numpy as np
import pytest

import spikedcl


def _seed():
    value = os.environ.get("SPIKEDCL_SEED", "0")
    if value == "any":
        return int(np.random.SeedSequence().entropy % 100)
    return int(value)


SEED = _seed()


def pytest_report_header(config):
    return f"spikedcl seed: {SEED} (set SPIKEDCL_SEED to change)"


@pytest.fixture
def seed():
    return SEED


@pytest.fixture
def rng(seed):
    return np.random.default_rng(seed)


@pytest.fixture
def small_model(seed):
    """d = 40, r = 3, C = 4: small enough for dense checks, inside the theory's regime."""
    return spikedcl.SpikedModel.random(40, 3, condition=4.0, rng=seed)
