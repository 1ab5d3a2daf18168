"""BYOL / SimSiam / DirectPred linear dynamics: matrix ODE, per-mode ODE and fixed points agree."""

import math

import numpy as np
import pytest

from spikedcl.systems import byol

D, SIGMA2 = 8, 0.5
X, XP = np.eye(D), SIGMA2 * np.eye(D)


def positive_init(rng, k=D, d=D):
    """A random encoder with spectrum near 0.3 and a predictor near 0.5 I: every mode
    starts inside the basin of p_+ and none needs an exponentially long escape from 0."""
    W0 = 0.3 * np.linalg.qr(rng.standard_normal((d, d)))[0][:k] + 0.02 * rng.standard_normal((k, d))
    Wp0 = 0.5 * np.eye(k) + 0.05 * rng.standard_normal((k, k))
    return W0, Wp0


def test_fixed_point_formula():
    """p_+- solve p(tau - (1+sigma^2)p) = eta and zero the per-mode right-hand side."""
    for eta in (0.01, 0.05, 0.15):
        fp = byol.mode_fixed_points(1.0, eta, SIGMA2, alpha_p=2.0)
        for p, s in ((fp["p_plus"], fp["s_plus"]), (fp["p_minus"], fp["s_minus"])):
            dp, ds = byol.mode_rhs(np.array([p]), np.array([s]), tau=1.0, eta=eta, sigma2=SIGMA2, alpha_p=2.0)
            assert abs(dp[0]) < 1e-14 and abs(ds[0]) < 1e-14
    assert byol.mode_fixed_points(1.0, 0.01, SIGMA2)["p_plus"] == pytest.approx(0.65651, abs=1e-5)
    assert byol.collapse_threshold(1.0, SIGMA2) == pytest.approx(1 / 6)
    assert math.isnan(byol.mode_fixed_points(1.0, 0.2, SIGMA2)["s_plus"])


def test_per_mode_ode_basins():
    """Starts above p_- go to (p_+, s_+); starts below p_- collapse; beyond eta* all collapse."""
    eta = 0.05
    fp = byol.mode_fixed_points(1.0, eta, SIGMA2)
    p0 = np.array([fp["p_minus"] * 0.5, fp["p_minus"] * 1.5, 0.3, 1.0])
    s0 = p0**2  # on the conserved manifold s = p^2/alpha_p
    p, s = byol.integrate_modes(p0, s0, eta=eta, sigma2=SIGMA2, dt=0.01, n_steps=40_000)
    assert s[0] < 1e-6
    np.testing.assert_allclose(s[1:], fp["s_plus"], rtol=1e-6)
    np.testing.assert_allclose(p[1:], fp["p_plus"], rtol=1e-6)
    p, s = byol.integrate_modes(np.full(3, 0.5), np.full(3, 0.5), eta=0.2, sigma2=SIGMA2, n_steps=20_000)
    assert np.all(s < 1e-6)


def test_conserved_quantity_decays_at_rate_two_eta(rng):
    """d/dt (s - p^2/alpha_p) = -2 eta (s - p^2/alpha_p), checked along an Euler path (error O(dt))."""
    eta, alpha_p, dt, n = 0.05, 1.5, 1e-3, 2000
    p0, s0 = rng.uniform(0.2, 0.8, 4), rng.uniform(0.2, 0.8, 4)
    p, s = byol.integrate_modes(p0, s0, eta=eta, sigma2=SIGMA2, alpha_p=alpha_p, dt=dt, n_steps=n)
    c0, c1 = s0 - p0**2 / alpha_p, s - p**2 / alpha_p
    np.testing.assert_allclose(c1, c0 * math.exp(-2 * eta * n * dt), atol=5e-3 * np.abs(c0).max())


def test_matrix_ode_tracks_per_mode_ode(rng):
    """With W0 and a symmetric Wp0 sharing eigenvectors, the matrix ODE is the per-mode ODE.

    Euler on W and Euler on s = eig(W W^T) differ by O(dt) over a fixed horizon, so the
    gap must halve with the step: a modelling mismatch would not shrink.
    """
    Q = np.linalg.qr(rng.standard_normal((D, D)))[0]
    s0 = rng.uniform(0.05, 0.6, D)
    p0 = rng.uniform(0.05, 0.9, D)
    W0 = Q * np.sqrt(s0)  # W W^T = Q diag(s0) Q^T
    Wp0 = (Q * p0) @ Q.T
    eta, T = 0.03, 10.0
    errors = []
    for dt in (0.01, 0.005):
        n = round(T / dt)
        out = byol.integrate_dynamics(W0, Wp0, X, XP, variant="simsiam", eta=eta, dt=dt, n_steps=n)
        p, s = byol.integrate_modes(p0, s0, eta=eta, sigma2=SIGMA2, dt=dt, n_steps=n)
        errors.append(
            max(
                np.max(np.abs(out["F_eigenvalues"] - np.sort(s)[::-1])),
                np.max(np.abs(out["Wp_eigenvalues"] - np.sort(p)[::-1])),
            )
        )
        assert out["commutator"] < 1e-12
    assert errors[1] < 0.6 * errors[0]
    assert errors[1] < 2e-3


def test_simsiam_reaches_the_fixed_point(rng):
    """B-1: from a generic start the eigenspaces of F and Wp align, Wp turns symmetric and
    every mode of F ends at s_+ = p_+^2 = 0.431 (eta = 0.01)."""
    W0, Wp0 = positive_init(rng)
    out = byol.integrate_dynamics(W0, Wp0, X, XP, variant="simsiam", eta=0.01, n_steps=60_000)
    s_plus = byol.mode_fixed_points(1.0, 0.01, SIGMA2)["s_plus"]
    np.testing.assert_allclose(out["F_eigenvalues"], s_plus, rtol=1e-3)
    assert out["commutator"] < 1e-3
    assert out["asymmetry"] < 1e-2


@pytest.mark.parametrize("eta", [0.05, 0.15, 0.2])
def test_threshold(eta, rng):
    """B-2: the largest eigenvalue of F is s_+(eta) below eta* = 1/6 and 0 above."""
    W0, Wp0 = positive_init(rng)
    out = byol.integrate_dynamics(W0, Wp0, X, XP, variant="simsiam", eta=eta, n_steps=20_000)
    fp = byol.mode_fixed_points(1.0, eta, SIGMA2)
    top = float(out["F_eigenvalues"][0])
    if eta < fp["threshold"]:
        assert top == pytest.approx(fp["s_plus"], rel=1e-4)
    else:
        assert top < 1e-6


def test_ablations(rng):
    """B-3: no predictor collapses at rate sigma^2 + eta; the BYOL EMA target reaches the
    same s_+; DirectPred (paper form) settles where p = sqrt(s) + eps max sqrt(s) = p_+."""
    W0, Wp0 = positive_init(rng)
    eta, n, dt = 0.01, 2000, 0.01
    out = byol.integrate_dynamics(W0, Wp0, X, XP, variant="no-predictor", eta=eta, n_steps=n)
    ratio = np.linalg.norm(out["W"]) / np.linalg.norm(W0)
    assert ratio == pytest.approx((1 - dt * (SIGMA2 + eta)) ** n, rel=1e-10)

    fp = byol.mode_fixed_points(1.0, eta, SIGMA2)
    out = byol.integrate_dynamics(W0, Wp0, X, XP, variant="byol", eta=eta, beta=0.05, n_steps=60_000)
    np.testing.assert_allclose(out["F_eigenvalues"], fp["s_plus"], rtol=2e-3)

    out = byol.integrate_dynamics(W0, Wp0, X, XP, variant="directpred", eta=eta, n_steps=8000)
    expected = (fp["p_plus"] / 1.1) ** 2  # all modes equal: p = 1.1 sqrt(s)
    assert expected == pytest.approx(0.356, abs=1e-3)
    np.testing.assert_allclose(out["F_eigenvalues"], expected, rtol=1e-3)


def test_ema_schedule():
    assert byol.ema_schedule(0, 100, 0.99) == pytest.approx(0.99)
    assert byol.ema_schedule(100, 100, 0.99) == pytest.approx(1.0)


def test_bad_input():
    W0, Wp0 = np.ones((2, 3)), np.eye(2)
    with pytest.raises(ValueError, match="variant"):
        byol.integrate_dynamics(W0, Wp0, np.eye(3), np.eye(3), variant="moco")
    with pytest.raises(ValueError, match="shapes"):
        byol.integrate_dynamics(W0, np.eye(3), np.eye(3), np.eye(3))
    with pytest.raises(ValueError, match="eta"):
        byol.mode_fixed_points(1.0, -0.1, 0.5)
    with pytest.raises(ValueError, match="dt"):
        byol.integrate_modes(np.ones(2), np.ones(2), dt=0.0)
