import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.special

import spikedcl
from spikedcl import (
    class_labels,
    classification_excess,
    draw_task,
    excess_risk,
    linear_oracle_risk,
    ols_test_mse,
    population_risk,
    regression_excess,
    regression_labels,
)
from spikedcl.downstream import fit_logistic


@pytest.fixture
def setting(seed):
    model = spikedcl.SpikedModel.random(60, 4, condition=8.0, rng=seed)
    return model, draw_task(4, rng=seed + 1)


def test_task_vector_is_uniform_on_the_sphere(seed):
    rng = np.random.default_rng(seed)
    W = np.stack([draw_task(3, rng=rng) for _ in range(20_000)])
    np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(W.T @ W / 20_000, np.eye(3) / 3, atol=6 * 0.3 / np.sqrt(20_000))


def test_population_risk_matches_monte_carlo_ols(setting, seed):
    """Spec §6 [ref]: the formula matches OLS on 2·10⁵ points within 0.002; we allow 0.005."""
    model, w = setting
    n = 200_000
    X, Z = model.sample(n, rng=seed + 2, return_latent=True)
    Xt, Zt = model.sample(n, rng=seed + 3, return_latent=True)
    y = regression_labels(Z, w, nu=model.nu, rng=seed + 4)
    yt = regression_labels(Zt, w, nu=model.nu, rng=seed + 5)
    B = spikedcl.fit_pca(X, 4).basis
    for basis in (B, model.U, np.random.default_rng(seed).standard_normal((60, 4))):
        mc = ols_test_mse(X @ basis, y, Xt @ basis, yt)
        assert abs(mc - population_risk(basis, model, w)) < 0.005


def test_risk_identities(setting, rng):
    model, w = setting
    B = rng.standard_normal((60, 3))
    G = rng.standard_normal((3, 3))
    assert population_risk(B @ G, model, w) == pytest.approx(population_risk(B, model, w), rel=1e-10)
    # rank-deficient B: the pseudo-inverse ignores the repeated column
    assert population_risk(np.column_stack([B, B[:, :1]]), model, w) == pytest.approx(
        population_risk(B, model, w), rel=1e-10
    )
    # features orthogonal to the signal explain nothing: R = Var(y) = 1 + σ_ε²
    P_perp = np.eye(60) - model.U @ model.U.T
    assert population_risk(P_perp @ B, model, w) == pytest.approx(1.01, rel=1e-12)
    # the linear oracle is attained by span(Σ⁻¹U*) and bounds every representation
    r_lin = linear_oracle_risk(model, w)
    Sigma_x = model.covariance()
    c = model.nu * model.U @ w
    assert r_lin == pytest.approx(1.01 - c @ np.linalg.solve(Sigma_x, c), rel=1e-12)
    assert population_risk(model.U / model.noise_var[:, None], model, w) == pytest.approx(r_lin, rel=1e-10)
    for _ in range(50):
        assert population_risk(rng.standard_normal((60, 4)), model, w) >= r_lin - 1e-12
    assert excess_risk(B, model, w, reference="linear") >= 0
    # ΔR_U* of the oracle tilt is R_lin − R(U*), computed here with dense solves
    def dense_risk(basis):
        bc = basis.T @ c
        return 1.01 - bc @ np.linalg.solve(basis.T @ Sigma_x @ basis, bc)

    tilt = np.linalg.solve(np.diag(model.noise_var), model.U)
    assert excess_risk(tilt, model, w) == pytest.approx(dense_risk(tilt) - dense_risk(model.U), rel=1e-10)
    assert excess_risk(tilt, model, w) < 0
    assert excess_risk(B, model, w) == pytest.approx(
        population_risk(B, model, w) - population_risk(model.U, model, w), abs=1e-15
    )


def test_labels(setting, seed):
    model, w = setting
    n = 100_000
    _, Z = model.sample(n, rng=seed, return_latent=True)
    y = regression_labels(Z, w, nu=model.nu, noise_std=0.1, rng=seed)
    assert abs(y.var() - 1.01) < 6 * np.sqrt(2 / n)
    assert np.corrcoef(y, Z @ w)[0, 1] == pytest.approx(1 / np.sqrt(1.01), abs=0.002)
    yc = class_labels(Z, w, nu=model.nu, rng=seed)
    assert set(np.unique(yc)) == {0.0, 1.0}


@pytest.mark.parametrize("scale", [1.0, 2.0, 4.0])
def test_bayes_accuracy_of_class_labels(scale, seed):
    """Spec §6 [ref]: E[sigmoid(T|u|)], u ~ N(0,1) is 0.675 / 0.778 / 0.871 at T = 1 / 2 / 4."""
    exact = scipy.integrate.quad(
        lambda u: scipy.special.expit(scale * abs(u)) * np.exp(-u * u / 2) / np.sqrt(2 * np.pi), -np.inf, np.inf
    )[0]
    assert exact == pytest.approx({1.0: 0.675, 2.0: 0.778, 4.0: 0.871}[scale], abs=5e-4)
    n = 400_000
    Z = np.random.default_rng(seed).standard_normal((n, 2))
    w = np.array([0.6, 0.8])
    y = class_labels(Z, w, scale=scale, rng=seed + 1)
    acc = np.mean((Z @ w > 0) == (y > 0.5))
    assert abs(acc - exact) < 6 * np.sqrt(exact * (1 - exact) / n)


def test_ols_matches_lstsq(rng):
    F, Ft = rng.standard_normal((50, 3)), rng.standard_normal((20, 3))
    y, yt = rng.standard_normal(50), rng.standard_normal(20)
    A = np.column_stack([np.ones(50), F])
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    expected = np.mean((yt - np.column_stack([np.ones(20), Ft]) @ beta) ** 2)
    assert ols_test_mse(F, y, Ft, yt) == pytest.approx(expected, rel=1e-10)


def test_logistic_newton_matches_lbfgs(rng):
    n, k, ridge = 2000, 3, 1e-3
    F = rng.standard_normal((n, k))
    y = (rng.random(n) < scipy.special.expit(F @ np.array([1.0, -0.5, 0.2]) + 0.3)).astype(float)
    A = np.column_stack([np.ones(n), F])

    def f(b):
        a = A @ b
        return np.mean(np.logaddexp(0, a) - y * a) + ridge / 2 * np.sum(b[1:] ** 2)

    ref = scipy.optimize.minimize(f, np.zeros(k + 1), method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
    beta = fit_logistic(F, y, ridge=ridge)
    assert f(beta) <= ref.fun + 1e-12
    np.testing.assert_allclose(beta, ref.x, atol=1e-5)


def _independent_downstream(B, model, w, X, Z, seed, kind):
    """Replay the draws of regression_excess / classification_excess and refit with NumPy/SciPy."""
    rng = np.random.default_rng(seed)
    label = (lambda Z_: Z_ @ w + 0.1 * rng.standard_normal(len(Z_))) if kind == "reg" else (
        lambda Z_: (rng.random(len(Z_)) < scipy.special.expit(Z_ @ w)).astype(float)
    )
    y = label(Z)
    Xt, Zt = model.sample(10_000, rng=rng, return_latent=True)
    yt = label(Zt)
    out = []
    for basis in (B, model.U):
        A, At = (np.column_stack([np.ones(len(M)), M @ basis]) for M in (X, Xt))
        if kind == "reg":
            beta = np.linalg.lstsq(A, y, rcond=None)[0]
            out.append(np.mean((yt - At @ beta) ** 2))
        else:
            def f(b):
                a = A @ b
                return np.mean(np.logaddexp(0, a) - y * a) + 0.5e-6 * np.sum(b[1:] ** 2)

            beta = scipy.optimize.minimize(f, np.zeros(A.shape[1]), method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15}).x
            a = At @ beta
            out.append((np.mean((a > 0) == (yt > 0.5)), np.mean(np.logaddexp(0, a) - yt * a)))
    return out


def test_finite_sample_downstream_matches_an_independent_refit(seed):
    model = spikedcl.SpikedModel.random(100, 5, condition=8.0, rng=seed)
    w = draw_task(5, rng=seed)
    X, Z = model.sample(5_000, rng=seed, return_latent=True)
    pca = spikedcl.fit_pca(X, 5).basis
    mse, mse_oracle = _independent_downstream(pca, model, w, X, Z, seed + 1, "reg")
    reg = regression_excess(pca, model, w, X, Z, rng=seed + 1)
    assert reg["mse"] == pytest.approx(mse, rel=1e-9) and reg["mse_oracle"] == pytest.approx(mse_oracle, rel=1e-9)
    (acc, ll), (acc0, ll0) = _independent_downstream(pca, model, w, X, Z, seed + 2, "cls")
    cls = classification_excess(pca, model, w, X, Z, rng=seed + 2)
    assert cls["accuracy"] == pytest.approx(acc, abs=2e-4) and cls["accuracy_oracle"] == pytest.approx(acc0, abs=2e-4)
    assert cls["log_loss"] == pytest.approx(ll, rel=1e-6) and cls["log_loss_oracle"] == pytest.approx(ll0, rel=1e-6)
    # the test MSE estimates the population risk: sd ≈ R·sqrt(2/10000) ≈ 0.006, plus O(k/n) fit error
    assert abs(reg["mse"] - population_risk(pca, model, w)) < 0.03
    assert abs(reg["excess"] - excess_risk(pca, model, w)) < 0.03


def test_risk_of_a_scaled_task(setting, rng):
    """Var(y) = ‖w‖² + σ²: scaling w by 3 scales the explained variance by 9."""
    model, w = setting
    B = rng.standard_normal((60, 3))
    r1 = population_risk(B, model, w)
    assert population_risk(B, model, 3 * w) == pytest.approx(9 * (r1 - 0.01) + 0.01, rel=1e-12)
    assert linear_oracle_risk(model, 3 * w) == pytest.approx(9 * (linear_oracle_risk(model, w) - 0.01) + 0.01, rel=1e-12)


def test_integer_bases_are_promoted(setting):
    model, w = setting
    B = np.zeros((60, 2), dtype=int)
    B[0, 0] = B[1, 1] = 1
    for ref in ("latent", "linear"):
        assert excess_risk(B, model, w, reference=ref) == pytest.approx(excess_risk(B.astype(float), model, w, reference=ref))


def test_logistic_reports_non_convergence(rng):
    F = rng.standard_normal((200, 2))
    y = (rng.random(200) < 0.5).astype(float)
    with pytest.warns(spikedcl.exceptions.ConvergenceWarning, match="max_iter=1"):
        fit_logistic(F, y, max_iter=1)


def test_bad_downstream_input(setting):
    model, w = setting
    with pytest.raises(ValueError, match=r"B must have shape \(d, k\) with d=60"):
        population_risk(np.ones((59, 2)), model, w)
    with pytest.raises(ValueError, match=r"w must have shape \(r,\) = \(4,\)"):
        population_risk(model.U, model, np.ones(3))
    with pytest.raises(ValueError, match="reference must be one of"):
        excess_risk(model.U, model, w, reference="bayes")
    with pytest.raises(ValueError, match="y_train must have one label per row"):
        ols_test_mse(np.ones((5, 2)), np.ones(4), np.ones((5, 2)), np.ones(5))
    with pytest.raises(ValueError, match=r"noise_std must lie in \[0, inf\)"):
        regression_labels(np.ones((5, 4)), w, noise_std=-1.0)
    with pytest.raises(ValueError, match=r"scale must lie in \(0, inf\)"):
        class_labels(np.ones((5, 4)), w, scale=0.0)
    with pytest.raises(ValueError, match=r"X and Z must have shapes \(n, 60\) and \(n, 4\)"):
        regression_excess(model.U, model, w, np.ones((10, 60)), np.ones((9, 4)))
    with pytest.raises(ValueError, match=r"n_test must be an integer in \[2, inf\]"):
        classification_excess(model.U, model, w, np.ones((10, 60)), np.ones((10, 4)), n_test=1)
    with pytest.raises(ValueError, match=r"nu must lie in \(0, inf\)"):
        regression_labels(np.ones((5, 4)), w, nu=0.0)
    with pytest.raises(ValueError, match=r"y must hold labels in \{0, 1\}"):
        fit_logistic(np.ones((5, 2)), np.array([-1.0, 1, 1, -1, 1]))
