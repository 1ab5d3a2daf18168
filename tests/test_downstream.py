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
    multiclass_labels,
    multiclass_test_metrics,
    ols_test_mse,
    population_risk,
    regression_excess,
    regression_labels,
)
from spikedcl.downstream import (
    _multinomial_derivatives,
    _multinomial_objective,
    _one_hot,
    fit_logistic,
    fit_multinomial_logistic,
    logistic_test_metrics,
)


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
    """docs/model.md §6 [ref]: the formula matches OLS on 2·10⁵ points within 0.002; we allow 0.005."""
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
    """docs/model.md §6 [ref]: E[sigmoid(T|u|)], u ~ N(0,1) is 0.675 / 0.778 / 0.871 at T = 1 / 2 / 4."""
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
            def f(b, A=A):
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


# --------------------------------------------------------------------------- multinomial logistic regression


def _multinomial_setup(rng, n=400, k=3, K=4):
    F = rng.standard_normal((n, k))
    B = rng.standard_normal((k, K - 1))
    y = multiclass_labels(F, B, scale=1.5, rng=rng)
    A = np.column_stack([np.ones(n), F])
    return F, y, A


def _nll_all_classes(b, A, y, K, ridge):
    """Penalised multinomial NLL written independently: all K logit columns, class 0 pinned at 0."""
    beta = b.reshape(K - 1, A.shape[1]).T
    logits = np.column_stack([np.zeros(len(A)), A @ beta])
    ll = logits[np.arange(len(A)), y.astype(int)] - scipy.special.logsumexp(logits, axis=1)
    return -ll.mean() + ridge / 2 * np.sum(beta[1:] ** 2)


def test_multinomial_gradient_and_hessian_match_finite_differences(rng):
    """Central differences with h = 1e-5: truncation O(h²) ≈ 1e-10, rounding O(ε/h) ≈ 1e-11."""
    F, y, A = _multinomial_setup(rng)
    K, p, ridge = 4, A.shape[1], 0.05
    Y = _one_hot(y, K)
    pen = ridge * np.r_[0.0, np.ones(p - 1)]
    beta = 0.5 * rng.standard_normal((p, K - 1))
    grad, H = _multinomial_derivatives(A, Y, beta, pen)
    h = 1e-5
    flat = beta.T.reshape(-1)

    def unflat(v):
        return v.reshape(K - 1, p).T

    num_grad, num_H = np.zeros_like(flat), np.zeros((flat.size, flat.size))
    for j in range(flat.size):
        e = np.zeros_like(flat)
        e[j] = h
        num_grad[j] = (_multinomial_objective(A, Y, unflat(flat + e), ridge)
                       - _multinomial_objective(A, Y, unflat(flat - e), ridge)) / (2 * h)
        num_H[:, j] = (_multinomial_derivatives(A, Y, unflat(flat + e), pen)[0].T.reshape(-1)
                       - _multinomial_derivatives(A, Y, unflat(flat - e), pen)[0].T.reshape(-1)) / (2 * h)
    np.testing.assert_allclose(grad.T.reshape(-1), num_grad, atol=1e-8)
    np.testing.assert_allclose(H, num_H, atol=1e-8)
    np.testing.assert_allclose(H, H.T, atol=1e-15)
    # the objective equals the independent all-classes form
    assert _multinomial_objective(A, Y, beta, ridge) == pytest.approx(_nll_all_classes(flat, A, y, K, ridge), rel=1e-13)


@pytest.mark.parametrize("K", [3, 5])
def test_multinomial_newton_matches_lbfgs(K, rng):
    """L-BFGS (gtol 1e-10) on the independently written objective: Newton's value is no worse
    (to 1e-12) and, the objective being strongly convex with curvature >= ~0.01 here, the
    minimisers agree to ~gtol/curvature; we allow 1e-5."""
    F, y, A = _multinomial_setup(rng, n=1500, K=K)
    ridge = 1e-3
    beta = fit_multinomial_logistic(F, y, ridge=ridge)
    assert beta.shape == (4, K - 1)
    ref = scipy.optimize.minimize(_nll_all_classes, np.zeros(4 * (K - 1)), args=(A, y, K, ridge), method="L-BFGS-B",
                                  options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 10_000})
    flat = beta.T.reshape(-1)
    assert _nll_all_classes(flat, A, y, K, ridge) <= ref.fun + 1e-12
    np.testing.assert_allclose(flat, ref.x, atol=1e-5)


def test_two_classes_reproduce_the_binary_fit(rng):
    n = 1000
    F = rng.standard_normal((n, 3))
    y = (rng.random(n) < scipy.special.expit(F @ np.array([1.0, -0.5, 0.2]) + 0.3)).astype(float)
    Ft = rng.standard_normal((500, 3))
    yt = (rng.random(500) < scipy.special.expit(Ft @ np.array([1.0, -0.5, 0.2]) + 0.3)).astype(float)
    beta2 = fit_logistic(F, y)
    betaK = fit_multinomial_logistic(F, y, n_classes=2)
    # the same objective; both stop at max |gradient| < 1e-10 with curvature >= ~0.1: within ~1e-9
    np.testing.assert_allclose(betaK[:, 0], beta2, rtol=0, atol=1e-8)
    At = np.column_stack([np.ones(500), Ft])
    np.testing.assert_array_equal(At @ betaK[:, 0] > 0, At @ beta2 > 0)  # the same predictions
    acc2, ll2 = logistic_test_metrics(F, y, Ft, yt)
    accK, llK = multiclass_test_metrics(F, y, Ft, yt, n_classes=2)
    assert accK == acc2 and llK == pytest.approx(ll2, rel=1e-8)
    # the dispatcher keeps the binary path (bit for bit) and passes K > 2 on
    assert logistic_test_metrics(F, y, Ft, yt, n_classes=2) == (acc2, ll2)
    y3, yt3 = y + (F[:, 0] > 1), yt + (Ft[:, 0] > 1)
    assert logistic_test_metrics(F, y3, Ft, yt3) == multiclass_test_metrics(F, y3, Ft, yt3)


def test_multinomial_fit_reaches_the_bayes_accuracy(seed):
    """Latent features, the model document's logistic model with K = 4 classes and known coefficients T·W.

    n_test = 20000: the test accuracy has sd <= 0.5/sqrt(n_test) = 0.0035 around the
    Bayes rule's (evaluated on the same points, so only the disagreement of the two
    rules is random); the plug-in loss from fitting 12 coefficients on 20000 points is
    O(p(K-1)/n_train) ≈ 1e-3. Tolerance 4·0.5/sqrt(n_test) + 0.002 ≈ 0.016.
    """
    rng = np.random.default_rng(seed)
    n, K, T = 20_000, 4, 2.0
    W = np.array([[1.0, 0.0, -0.6], [0.0, 1.0, 0.8], [0.5, -0.5, 0.0]])
    Z, Zt = rng.standard_normal((n, 3)), rng.standard_normal((n, 3))
    y, yt = (multiclass_labels(M, W, scale=T, rng=rng) for M in (Z, Zt))
    acc, ll = multiclass_test_metrics(Z, y, Zt, yt)
    logits = np.column_stack([np.zeros(n), T * Zt @ W])
    logp = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
    bayes_acc = np.mean(np.argmax(logits, axis=1) == yt)
    bayes_ll = -np.mean(logp[np.arange(n), yt.astype(int)])
    tol = 4 * 0.5 / np.sqrt(n) + 0.002
    assert abs(acc - bayes_acc) < tol
    assert np.mean(np.exp(logp).max(axis=1)) > 0.6 > 1 / K + tol  # the test can tell a fit from chance
    assert abs(ll - bayes_ll) < 0.01
    # the coefficients: within 5 sd of T·W (sd from the Fisher information at the truth)
    beta = fit_multinomial_logistic(Z, y)
    A = np.column_stack([np.ones(n), Z])
    truth = np.vstack([np.zeros(K - 1), T * W])
    _, H = _multinomial_derivatives(A, _one_hot(y, K), truth, np.zeros(4))
    sd = np.sqrt(np.diag(np.linalg.inv(H)) / n).reshape(K - 1, 4).T
    assert np.all(np.abs(beta - truth) < 5 * sd)


def test_multiclass_classification_excess(seed):
    model = spikedcl.SpikedModel.random(40, 3, condition=4.0, rng=seed)
    X, Z = model.sample(3000, rng=seed, return_latent=True)
    W = np.eye(3)[:, :2] * 2
    out = classification_excess(spikedcl.fit_pca(X, 3).basis, model, W, X, Z, n_test=4000, rng=seed)
    assert 0.45 < out["accuracy_oracle"] < 1 and out["accuracy_deficit"] == out["accuracy_oracle"] - out["accuracy"]
    assert out["log_loss"] > 0
    # one column is the binary experiment, draw for draw
    one = classification_excess(model.U, model, W[:, :1], X, Z, n_test=500, rng=seed)
    two = classification_excess(model.U, model, W[:, 0], X, Z, n_test=500, rng=seed)
    assert one == two


def test_bad_multiclass_input(rng):
    F, Ft = rng.standard_normal((30, 2)), rng.standard_normal((10, 2))
    y = np.arange(30) % 3.0
    yt = np.arange(10) % 3.0
    with pytest.raises(ValueError, match=r"y_train must hold class labels in \{0, \.\.\., 1\}"):
        multiclass_test_metrics(F, y, Ft, yt, n_classes=2)
    with pytest.raises(ValueError, match=r"y_test must hold class labels in \{0, \.\.\., 2\}"):
        multiclass_test_metrics(F, y, Ft, yt + 0.5, n_classes=3)
    with pytest.raises(ValueError, match="y_train must hold class labels"):
        fit_multinomial_logistic(F, y - 1, n_classes=3)
    with pytest.raises(ValueError, match="y_train holds a single class"):
        fit_multinomial_logistic(F, np.zeros(30), n_classes=3)
    with pytest.raises(ValueError, match=r"y_train must hold every class of 0..3.*missing: \[3\]"):
        fit_multinomial_logistic(F, y, n_classes=4)
    with pytest.raises(ValueError, match="y_train contains NaN"):
        multiclass_test_metrics(F, np.r_[np.nan, y[1:]], Ft, yt)
    with pytest.raises(ValueError, match="F_test contains NaN"):
        multiclass_test_metrics(F, y, np.r_[[[np.nan, 0.0]], Ft[1:]], yt)
    with pytest.raises(ValueError, match="y_train must have one label per row of F_train: 29 != 30"):
        multiclass_test_metrics(F, y[:-1], Ft, yt)
    with pytest.raises(ValueError, match="F_test must have the 2 columns of F_train, got 3"):
        multiclass_test_metrics(F, y, np.ones((10, 3)), yt)
    with pytest.raises(ValueError, match=r"n_classes must be an integer in \[2, inf\]"):
        logistic_test_metrics(F, y, Ft, yt, n_classes=1)
    with pytest.warns(spikedcl.exceptions.ConvergenceWarning, match="max_iter=1"):
        fit_multinomial_logistic(F, y, max_iter=1)


def test_multiclass_on_array_api_strict(rng):
    xs = pytest.importorskip("array_api_strict")
    from spikedcl._array_api import to_numpy

    dev = xs.Device("device1")
    F, y, _ = _multinomial_setup(rng, n=300, K=3)
    Ft, yt, _ = _multinomial_setup(rng, n=100, K=3)
    to = lambda a: xs.asarray(a, device=dev)  # noqa: E731
    beta = fit_multinomial_logistic(to(F), to(y))
    assert beta.device == dev
    np.testing.assert_allclose(to_numpy(beta), fit_multinomial_logistic(F, y), rtol=1e-8, atol=1e-10)
    for a, b in zip(logistic_test_metrics(to(F), to(y), to(Ft), to(yt)), multiclass_test_metrics(F, y, Ft, yt)):
        assert a.device == dev
        assert float(a) == pytest.approx(float(b), rel=1e-9)
