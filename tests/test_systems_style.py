"""S-3 (docs/systems.md §1, optional): a projection head absorbs a per-view nuisance.

Views [signal | style c | noise] with c redrawn per view: after NT-Xent training with a
ReLU head, a ridge probe still recovers c from the representation h before the head, but
not from the head's output z.
"""

import numpy as np
import pytest

from spikedcl.random import cell_seed
from spikedcl.systems import experiments as E
from spikedcl.systems.nt_xent import ridge_probe_r2, style_views


def test_style_views_share_only_the_signal(rng):
    S = rng.standard_normal((20_000, 3))
    X1 = style_views(S, 2, 4, style=2.0, jitter=0.3, rng=rng)
    X2 = style_views(S, 2, 4, style=2.0, jitter=0.3, rng=rng)
    assert X1.shape == (20_000, 9)
    corr = np.array([np.corrcoef(X1[:, j], X2[:, j])[0, 1] for j in range(9)])
    # signal columns: correlation 1/(1 + 0.09); style and noise: independent (sd of a correlation 0.007)
    np.testing.assert_allclose(corr[:3], 1 / 1.09, atol=0.01)
    assert np.all(np.abs(corr[3:]) < 0.035)
    np.testing.assert_allclose(X1[:, 3:5].std(axis=0), 2.0, rtol=0.03)
    with pytest.raises(ValueError, match="style"):
        style_views(S, 2, 4, style=0.0)
    with pytest.raises(ValueError, match="q"):
        style_views(S, 0, 4)


def test_ridge_probe_r2_extremes(rng):
    F = rng.standard_normal((4000, 5))
    Y = F[:, :2] @ np.array([[1.0], [-2.0]]) + 3.0
    assert float(ridge_probe_r2(F[:2000], Y[:2000], F[2000:], Y[2000:], ridge=0.0)) == pytest.approx(1.0, abs=1e-10)
    noise = rng.standard_normal((4000, 1))
    # no information: R^2 <= 0 up to the sampling error 5/2000 of a 5-feature probe
    assert abs(float(ridge_probe_r2(F[:2000], noise[:2000], F[2000:], noise[2000:]))) < 0.02
    with pytest.raises(ValueError, match="ridge"):
        ridge_probe_r2(F[:10], Y[:10], F[10:20], Y[10:20], ridge=-1.0)


def test_head_removes_the_style_from_z_not_from_h(seed):
    """200 Adam steps, n = 1000. Over 12 seeds at 100 steps: R^2(c | h) 0.29-0.53,
    R^2(c | z) <= 0.05, R^2(signal | z) >= 0.3; the probes' own sampling error (2000
    held-out views, <= 8 features) is about 0.01. Thresholds 0.15 and 0.1."""
    rows = E.nt_xent_style({"head": "relu", "steps": 200, "n": 1000}, cell_seed(seed, 0, 0))
    v = {r["metric"]: r["value"] for r in rows}
    assert v["style_r2_h"] > 0.15 and v["style_r2_z"] < 0.1, v
    assert v["style_r2_h"] - v["style_r2_z"] > 0.15
    assert v["signal_r2_z"] > 0.3  # z learned the signal meanwhile
    init = {r["metric"]: r["value"] for r in E.nt_xent_style({"head": "relu", "steps": 0}, cell_seed(seed, 0, 0))}
    assert init["style_r2_z"] > v["style_r2_z"]  # training removed it from z
