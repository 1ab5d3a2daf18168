"""Supervised contrastive learning (docs/model.md §8): label models, the supervised matrix, the fit, F5."""

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.integrate
import scipy.special
import scipy.stats

import spikedcl as sc
from spikedcl.exceptions import RankDeficientWarning
from spikedcl.experiments.supervised import supervised_transfer, supervised_transfer_classification
from spikedcl.supervised import (
    fit_supervised_contrastive,
    label_embedding,
    multiclass_labels,
    population_supervised_fit,
    population_supervised_matrix,
    sample_class_means,
    supervised_matrix,
    supervised_pair_grad,
    supervised_pair_loss,
    task_pair,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def labeled(seed):
    """d = 30, r = 3: unlabeled n = 600, labeled m = 200 with regression labels on e_1."""
    model = sc.SpikedModel.random(30, 3, condition=4.0, rng=seed)
    rng = np.random.default_rng(seed + 1)
    X_u = model.sample(600, rng=rng)
    X_l, Z_l = model.sample(200, rng=rng, return_latent=True)
    w_s, w_t = task_pair(3)
    y = sc.regression_labels(Z_l, w_s, rng=rng)
    return model, X_u, X_l, Z_l, y


def _pair_sum(X, E):
    """Independent M_sup: the explicit double loop over ordered pairs i != j."""
    m, d = X.shape
    M = np.zeros((d, d))
    for i in range(m):
        for j in range(m):
            if i != j:
                M += float(E[i] @ E[j]) * np.outer(X[i], X[j])
    return (M + M.T) / (2 * m * (m - 1))


# --------------------------------------------------------------------------- label models


def test_task_pair():
    w_s, w_t = task_pair(5)
    np.testing.assert_array_equal(w_s, np.eye(5)[0])
    np.testing.assert_array_equal(w_t, np.eye(5)[1])
    w_s, w_t = task_pair(5, source=3, transfer=0)
    assert w_s[3] == 1 and w_t[0] == 1 and w_s @ w_t == 0


def test_binary_labels_equal_the_spec_generator(seed):
    Z = np.random.default_rng(seed).standard_normal((500, 4))
    w = np.array([0.6, 0.8, 0.0, 0.0])
    for T in (1.0, 3.0):
        a = multiclass_labels(Z, w, scale=T, rng=seed)
        b = sc.class_labels(Z, w, scale=T, rng=seed)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(multiclass_labels(Z, w[:, None], scale=T, rng=seed), b)


@pytest.mark.parametrize("scale, reference", [(1.0, 0.675), (2.0, 0.778), (4.0, 0.871)])
def test_class_labels_reproduce_the_bayes_accuracy(scale, reference, seed):
    """With z known, the Bayes rule 1{<z, w> > 0} is right with probability E[sigmoid(T|u|)] (docs/model.md §6)."""
    n = 200_000
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, 3))
    w = np.array([1.0, 0.0, 0.0])
    y = multiclass_labels(Z, w, scale=scale, rng=rng)
    accuracy = np.mean((Z @ w > 0) == (y == 1))
    exact = 2 * scipy.integrate.quad(lambda u: scipy.special.expit(scale * u) * scipy.stats.norm.pdf(u), 0, np.inf)[0]
    assert abs(exact - reference) < 5e-4  # the model document's reference, to its 3 decimals
    se = math.sqrt(exact * (1 - exact) / n)
    assert abs(accuracy - exact) < 4 * se


def test_multiclass_probabilities(seed):
    """Class frequencies at a fixed z match the softmax with reference class 0, within 4 SE."""
    z = np.array([[0.5, -1.0], [2.0, 0.3], [-0.4, -0.2]])
    W = np.array([[1.0, -0.5], [0.5, 1.5]])  # (r, K - 1): three classes
    n_each = 20_000
    Z = np.repeat(z, n_each, axis=0)
    y = multiclass_labels(Z, W, scale=1.5, rng=seed).reshape(3, n_each)
    logits = np.concatenate([np.zeros((3, 1)), 1.5 * z @ W], axis=1)
    prob = scipy.special.softmax(logits, axis=1)
    freq = np.stack([(y == k).mean(axis=1) for k in range(3)], axis=1)
    assert np.all(np.abs(freq - prob) < 4 * np.sqrt(prob * (1 - prob) / n_each))


def test_class_mean_model(seed):
    """z keeps mean 0 and covariance nu^2 I; Bayes accuracy Phi(a / sqrt(nu^2 - a^2)) for means ±a w."""
    model = sc.SpikedModel.random(30, 3, nu=1.5, rng=seed)
    a, n = 0.8 * model.nu, 100_000
    w = np.array([0.0, 1.0, 0.0])
    X, Z, y = sample_class_means(model, n, np.stack([-a * w, a * w]), rng=seed)
    assert X.shape == (n, 30) and set(np.unique(y)) == {0.0, 1.0}
    tol = 5 * model.nu**2 * math.sqrt(2 / n)  # sd of a covariance entry is <= sqrt(2) nu^2 / sqrt(n)
    np.testing.assert_allclose(Z.T @ Z / n, model.nu**2 * np.eye(3), atol=tol)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=5 * model.nu / math.sqrt(n))
    bayes = scipy.stats.norm.cdf(a / math.sqrt(model.nu**2 - a**2))
    accuracy = np.mean((Z @ w > 0) == (y == 1))
    assert abs(accuracy - bayes) < 4 * math.sqrt(bayes * (1 - bayes) / n)
    # the residual, X - Z U*^T, is the noise
    resid = X - Z @ model.U.T
    np.testing.assert_allclose(resid.var(axis=0), model.noise_var, rtol=5 * math.sqrt(2 / n))
    with pytest.raises(ValueError, match="too far apart"):
        sample_class_means(model, 10, np.stack([-2 * w, 2 * w]) * model.nu, rng=seed)
    with pytest.raises(ValueError, match="priors"):
        sample_class_means(model, 10, np.stack([-w, w]), priors=[0.2, 0.2], rng=seed)


# --------------------------------------------------------------------------- the supervised matrix


def test_label_embedding():
    y = np.array([2.0, 5.0, 5.0, 2.0, 5.0])
    np.testing.assert_array_equal(label_embedding(y, label_type="class")[:, 0], [-1, 1, 1, -1, 1])
    y3 = np.array([0, 1, 2, 2, 1, 1])
    E = label_embedding(y3, label_type="class")
    onehot = (y3[:, None] == np.arange(3)).astype(float)
    np.testing.assert_allclose(E, onehot - onehot.mean(axis=0))
    np.testing.assert_array_equal(label_embedding(y, label_type="regression")[:, 0], y)


@pytest.mark.parametrize("kind", ["regression", "binary", "three-class"])
def test_supervised_matrix_equals_the_pair_sum(kind, rng):
    X = rng.standard_normal((25, 6))
    if kind == "regression":
        y, label_type = rng.standard_normal(25), "regression"
        E = y[:, None]
    elif kind == "binary":
        y, label_type = rng.integers(0, 2, 25).astype(float), "class"
        E = (2 * y - 1)[:, None]
    else:
        y, label_type = rng.integers(0, 3, 25), "class"
        onehot = (y[:, None] == np.arange(3)).astype(float)
        E = onehot - onehot.mean(axis=0)
    np.testing.assert_allclose(supervised_matrix(X, y, label_type=label_type), _pair_sum(X, E), rtol=1e-12, atol=1e-14)


def test_pair_loss_and_gradient(rng):
    X = rng.standard_normal((40, 7))
    y = rng.integers(0, 3, 40)
    W = rng.standard_normal((2, 7))
    M = supervised_matrix(X, y, label_type="class")
    loss = supervised_pair_loss(W, X, y, label_type="class")
    np.testing.assert_allclose(loss, -np.trace(W @ M @ W.T), rtol=1e-12)
    grad = supervised_pair_grad(W, X, y, label_type="class")
    np.testing.assert_allclose(grad, -2 * W @ M, rtol=1e-11, atol=1e-14)
    # central finite differences, error O(h^2) on a quadratic: exact to rounding
    h = 1e-5
    fd = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        fd[idx] = (supervised_pair_loss(W + E, X, y, label_type="class")
                   - supervised_pair_loss(W - E, X, y, label_type="class")) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_full_objective_gradient(labeled, rng):
    """(1 - a) L_self + a L_sup + reg: its gradient from the batch pieces matches finite differences."""
    _, X_u, X_l, _, y = labeled
    alpha, lam = 0.3, 0.7
    X1, X2 = sc.random_mask(X_u, 0.5, rng=rng)
    W = 0.3 * rng.standard_normal((2, X_u.shape[1]))

    def loss(W):
        self_part = sc.objectives.contrastive_batch_loss(W, X1, X2, 0.0)
        return (1 - alpha) * self_part + alpha * supervised_pair_loss(W, X_l, y) + lam / 2 * np.sum((W @ W.T) ** 2)

    grad = ((1 - alpha) * sc.objectives.contrastive_batch_grad(W, X1, X2, 0.0)
            + alpha * supervised_pair_grad(W, X_l, y) + 2 * lam * (W @ W.T) @ W)
    M = (1 - alpha) * sc.contrastive_matrix(X1, X2) + alpha * supervised_matrix(X_l, y)
    np.testing.assert_allclose(loss(W), sc.contrastive_loss(W, M, lam), rtol=1e-10)
    np.testing.assert_allclose(grad, sc.contrastive_grad(W, M, lam), rtol=1e-9, atol=1e-12)
    h = 1e-6
    for idx in [(0, 0), (1, 5), (0, 17)]:
        E = np.zeros_like(W)
        E[idx] = h
        fd = (loss(W + E) - loss(W - E)) / (2 * h)
        assert abs(fd - grad[idx]) <= 1e-6 * max(1.0, abs(grad[idx]))


# --------------------------------------------------------------------------- the fit


@pytest.mark.parametrize("masks", ["realized", "expected"])
@pytest.mark.parametrize("loss", ["cross-view", "simclr"])
def test_alpha_zero_is_self_supervised_cl(labeled, seed, masks, loss):
    _, X_u, X_l, _, y = labeled
    fit = fit_supervised_contrastive(X_l, y, 3, alpha=0.0, X_unlabeled=X_u, masks=masks, loss=loss, rng=seed)
    ref = sc.fit_contrastive(X_u, 3, masks=masks, loss=loss, rng=seed)
    for field in ("W", "basis", "eigenvalues", "loss"):
        np.testing.assert_array_equal(getattr(fit, field), getattr(ref, field))
    # without X_unlabeled the labeled sample is the unlabeled one
    fit = fit_supervised_contrastive(X_l, y, 3, alpha=0.0, masks=masks, loss=loss, rng=seed)
    np.testing.assert_array_equal(fit.W, sc.fit_contrastive(X_l, 3, masks=masks, loss=loss, rng=seed).W)


def test_alpha_zero_gd_is_self_supervised_gd(labeled, seed):
    _, X_u, X_l, _, y = labeled
    opts = {"max_iter": 300}
    fit = fit_supervised_contrastive(X_l, y, 3, alpha=0.0, X_unlabeled=X_u, rng=seed, solver="gd", solver_options=opts)
    ref = sc.fit_contrastive(X_u, 3, rng=seed, solver="gd", solver_options=opts)
    np.testing.assert_array_equal(fit.W, ref.W)
    assert fit.solver == "gd" and fit.method == "supervised-contrastive"


def test_alpha_one_uses_the_labels_only(labeled, seed):
    _, X_u, X_l, _, y = labeled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)  # regression M_sup has one positive eigenvalue
        a = fit_supervised_contrastive(X_l, y, 2, alpha=1.0, X_unlabeled=X_u, rng=seed)
        b = fit_supervised_contrastive(X_l, y, 2, alpha=1.0, X_unlabeled=X_u[:300], masks="expected")
        ref = sc.closed_form.contrastive_fit_from_matrix(supervised_matrix(X_l, y), 2)
    for fit in (a, b):
        np.testing.assert_allclose(fit.W, ref.W, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(fit.eigenvalues, ref.eigenvalues, rtol=1e-12, atol=1e-15)
    # regression: M_sup = (g g^T - X^T diag(y^2) X)/(m(m-1)) has exactly one positive eigenvalue
    assert a.eigenvalues[0] > 0 >= a.eigenvalues[1]
    assert a.info["alpha"] == 1.0 and a.info["m"] == 200 and a.info["n"] == 600


def test_convex_mix_and_additive_form_share_the_subspace(labeled, seed):
    """L_self + beta L_sup has the subspace of the convex mix at alpha = beta / (1 + beta) (docs/model.md §8)."""
    _, X_u, X_l, _, y = labeled
    beta = 0.5
    fit = fit_supervised_contrastive(X_l, y, 3, alpha=beta / (1 + beta), X_unlabeled=X_u, masks="expected")
    M_add = sc.expected_contrastive_matrix(X_u) + beta * supervised_matrix(X_l, y)
    vals, vecs = np.linalg.eigh(M_add)
    assert sc.sin_theta(vecs[:, ::-1][:, :3], fit.basis) < 1e-10
    np.testing.assert_allclose(vals[::-1][:3], (1 + beta) * fit.eigenvalues, rtol=1e-10)


@pytest.mark.parametrize("label_type", ["regression", "class"])
def test_closed_form_and_gd_agree(labeled, seed, label_type):
    model, X_u, X_l, Z_l, y = labeled
    if label_type == "class":
        y = multiclass_labels(Z_l, np.eye(3)[:, :2] * 2, rng=seed)
    kw = dict(alpha=0.4, X_unlabeled=X_u, label_type=label_type, lam=0.5, rng=seed)
    cf = fit_supervised_contrastive(X_l, y, 3, **kw)
    gd = fit_supervised_contrastive(X_l, y, 3, solver="gd", **kw)
    assert gd.converged
    P_cf, P_gd = cf.W.T @ cf.W, gd.W.T @ gd.W
    assert np.linalg.norm(P_gd - P_cf) < 1e-7 * np.linalg.norm(P_cf)
    np.testing.assert_allclose(gd.loss, cf.loss, rtol=1e-10)
    assert sc.sin_theta(cf.basis, gd.basis) < 1e-6


def test_supervised_only_concentrates_on_the_label_directions(seed):
    """At alpha = 1 the learned subspace approaches span(U* w) like sqrt(d/m).

    Measured constants (d = 50, r = 4, 5 seeds): sine ≈ 0.8 sqrt(d/m) for
    regression, sinΘ_F ≈ 2.1 sqrt(d/m) for three logistic classes at T = 2; the
    bounds below leave a factor 2 and the slope of the rate a band of ±0.25.
    """
    model = sc.SpikedModel.random(50, 4, condition=4.0, rng=seed)
    w_s, w_t = task_pair(4)
    W3 = np.stack([w_s, w_t], axis=1)
    ms = np.array([500, 2000, 8000])
    reg, cls = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)
        for m in ms:
            X, Z = model.sample(int(m), rng=seed + int(m), return_latent=True)
            y = sc.regression_labels(Z, w_s, rng=seed)
            reg.append(float(sc.sin_theta(model.U @ w_s[:, None], fit_supervised_contrastive(X, y, 1, alpha=1.0).basis)))
            y3 = multiclass_labels(Z, 2 * W3, rng=seed)
            cls.append(float(sc.sin_theta(model.U @ W3, fit_supervised_contrastive(
                X, y3, 2, alpha=1.0, label_type="class").basis)))
    rate = np.sqrt(50 / ms)
    assert np.all(np.array(reg) < 1.6 * rate) and np.all(np.array(cls) < 4.2 * rate)
    for values in (reg, cls):
        slope = np.polyfit(np.log(ms), np.log(values), 1)[0]
        assert -0.75 < slope < -0.25, slope


def test_population_supervised_matrix(seed):
    """M_sup of a large labeled sample is within O(sqrt(d/m)) of its population limit c c^T."""
    model = sc.SpikedModel.random(30, 3, condition=4.0, rng=seed)
    w = np.array([0.0, 0.6, 0.8])
    m = 40_000
    X, Z = model.sample(m, rng=seed + 1, return_latent=True)
    for label_type, y, scale in [
        ("regression", sc.regression_labels(Z, w, rng=seed), 1.0),
        ("class", sc.class_labels(Z, w, scale=2.0, rng=seed), 2.0),
    ]:
        M = supervised_matrix(X, y, label_type=label_type)
        P = population_supervised_matrix(model, w, label_type=label_type, scale=scale)
        # ||M - P|| ~ ||Sigma_x|| sqrt(d/m); ||Sigma_x|| <= nu^2 + max noise variance <= 2
        assert np.linalg.norm(M - P, 2) < 3 * 2 * math.sqrt(30 / m), label_type
    # the logistic gain E[u tanh(T u / 2)] by direct quadrature
    gain = scipy.integrate.quad(lambda u: u * np.tanh(u) * scipy.stats.norm.pdf(u), -np.inf, np.inf)[0]
    P = population_supervised_matrix(model, w, label_type="class", scale=2.0)
    np.testing.assert_allclose(np.trace(P), gain**2, rtol=1e-10)


def test_population_fit(seed):
    model = sc.SpikedModel.random(40, 4, condition=8.0, rng=seed)
    w_s, w_t = task_pair(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)
        one = population_supervised_fit(model, w_s, 1, alpha=1.0)
        zero = population_supervised_fit(model, w_s, 4, alpha=0.0)
    assert sc.sin_theta(model.U @ w_s[:, None], one.basis) < 1e-10
    np.testing.assert_allclose(zero.basis, sc.population_fit(model, "contrastive", r=4).basis, atol=1e-10)


def test_array_api_strict(labeled, seed):
    xs = pytest.importorskip("array_api_strict")
    from spikedcl._array_api import to_numpy

    dev = xs.Device("device1")
    model, X_u, X_l, Z_l, y = labeled
    y3 = multiclass_labels(Z_l, np.eye(3)[:, :2], rng=seed)
    to = lambda a: xs.asarray(a, device=dev)  # noqa: E731
    for yy, lt in ((y, "regression"), (y3, "class")):
        fit = fit_supervised_contrastive(to(X_l), to(yy), 3, alpha=0.5, X_unlabeled=to(X_u), label_type=lt, rng=seed)
        ref = fit_supervised_contrastive(X_l, yy, 3, alpha=0.5, X_unlabeled=X_u, label_type=lt, rng=seed)
        assert fit.W.device == dev
        np.testing.assert_allclose(to_numpy(fit.W @ fit.W.mT), ref.W @ ref.W.T, rtol=1e-9, atol=1e-12)
        W = xs.asarray(np.asarray(ref.W), device=dev)
        g = supervised_pair_grad(W, to(X_l), to(yy), label_type=lt)
        assert g.device == dev
        np.testing.assert_allclose(to_numpy(g), supervised_pair_grad(ref.W, X_l, yy, label_type=lt), rtol=1e-9, atol=1e-12)
    lab = multiclass_labels(to(Z_l), np.eye(3)[:, :2], rng=seed)
    assert lab.device == dev
    np.testing.assert_array_equal(to_numpy(lab), y3)


# --------------------------------------------------------------------------- bad input


def test_bad_input(labeled):
    _, X_u, X_l, _, y = labeled
    fit = fit_supervised_contrastive
    with pytest.raises(ValueError, match=r"len\(y\) = 199 != m = 200"):
        fit(X_l, y[:-1], 2, alpha=0.5)
    for alpha in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"alpha must lie in the closed interval \[0, 1\]"):
            fit(X_l, y, 2, alpha=alpha)
    with pytest.raises(TypeError, match="alpha must be a real number"):
        fit(X_l, y, 2, alpha="0.5")
    with pytest.raises(TypeError, match="alpha"):
        fit(X_l, y, 2)  # alpha is required
    with pytest.raises(ValueError, match="at least 2 classes in y"):
        fit(X_l, np.ones(200), 2, alpha=0.5, label_type="class")
    y_nan = y.copy()
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        fit(X_l, y_nan, 2, alpha=0.5)
    with pytest.raises(ValueError, match="y contains NaN"):
        fit(X_l, y_nan, 2, alpha=0.5, label_type="class")
    with pytest.raises(ValueError, match="y must be 1-D"):
        fit(X_l, y[:, None], 2, alpha=0.5)
    with pytest.raises(ValueError, match="X_unlabeled must have the n_features=30"):
        fit(X_l, y, 2, alpha=0.5, X_unlabeled=X_u[:, :10])
    with pytest.raises(ValueError, match="label_type must be one of"):
        fit(X_l, y, 2, alpha=0.5, label_type="ordinal")
    with pytest.raises(ValueError, match="solver must be one of"):
        fit(X_l, y, 2, alpha=0.5, solver="adam")
    with pytest.raises(ValueError, match="masks='expected'"):
        fit(X_l, y, 2, alpha=0.5, masks="expected", mask_mode="fixed")
    with pytest.raises(ValueError, match=r"r must be an integer in \[1, 29\]"):
        fit(X_l, y, 30, alpha=0.5)
    with pytest.raises(ValueError, match="transfer must differ from source"):
        task_pair(4, source=1, transfer=1)
    with pytest.raises(ValueError, match="W must have shape"):
        multiclass_labels(np.zeros((5, 3)), np.ones(4))


# --------------------------------------------------------------------------- experiments (F5)


def _rows(rows):
    return pd.DataFrame(rows).set_index(["method", "metric"])["value"]


def test_transfer_is_lost_at_alpha_one(seed):
    """docs/model.md §8 reference setting (d = 100, r = 5, n = 20000, C = 8, k = 5, M_self = M̄).

    Transfer risk: about 0.37 at alpha = 0 and 1.01 at alpha = 1 (docs/model.md: .372 / 1.004 at m = 20000).
    The per-replicate sd of either is about 0.01-0.02, so a margin of 0.4 over
    three replicates is more than 10 standard errors.
    """
    diffs, gains = [], []
    for rep in range(3):
        out = {}
        for alpha in (0.0, 1.0):
            rows = supervised_transfer({"alpha": alpha, "m": 2000, "methods": ["supervised-cl-expected"],
                                        "theory": False}, sc.cell_seed(seed, "transfer", rep))
            out[alpha] = _rows(rows)
        # the same data for every alpha (common random numbers): identical oracle rows
        assert out[0.0][("oracle", "risk_transfer")] == out[1.0][("oracle", "risk_transfer")]
        key = ("supervised-cl-expected", "risk_transfer")
        diffs.append(out[1.0][key] - out[0.0][key])
        gains.append(out[0.0][("supervised-cl-expected", "risk_source")]
                     - out[1.0][("supervised-cl-expected", "risk_source")])
    diffs = np.array(diffs)
    se = diffs.std(ddof=1) / math.sqrt(len(diffs))
    assert diffs.mean() > 0.4 and diffs.mean() > 10 * se
    # k = r: labels barely change the in-domain risk (docs/model.md: within about 0.01 at m = 2000)
    assert abs(np.mean(gains)) < 0.05


def test_experiment_is_a_pure_function_of_its_seed(seed):
    params = {"alpha": 0.5, "m": 300, "n": 500, "d": 30, "r": 3, "k": 2}
    ss = sc.cell_seed(seed, "pure", 0)
    a, b = supervised_transfer(params, ss), supervised_transfer(params, ss)
    strip = lambda rows: [{k: v for k, v in row.items() if k != "time_s"} for row in rows]  # noqa: E731
    assert strip(a) == strip(b)
    metrics = set(pd.DataFrame(a)["metric"])
    assert {"risk_source", "risk_transfer", "excess_source", "excess_transfer", "label_sine"} <= metrics
    assert all(isinstance(row["value"], float) for row in a)
    theory = _rows(a)
    assert 0 < theory[("theory", "risk_source")] < 1.02


def test_classification_experiment(seed):
    rows = supervised_transfer_classification(
        {"alpha": 1.0, "m": 2000, "n": 2000, "d": 30, "r": 3, "k": 1, "scale": 4.0, "n_train": 1000,
         "n_test": 4000, "methods": ["supervised-cl-expected"]},
        sc.cell_seed(seed, "cls", 0),
    )
    v = _rows(rows)
    # the label direction is learned: near-oracle accuracy in-domain, chance on the transfer task
    # (4000 test points: sd of an accuracy <= 0.008)
    assert v[("supervised-cl-expected", "accuracy_source")] > v[("oracle", "accuracy_source")] - 0.04
    assert abs(v[("supervised-cl-expected", "accuracy_transfer")] - 0.5) < 0.04
    assert v[("oracle", "accuracy_transfer")] > 0.65
    rows = supervised_transfer_classification(
        {"alpha": 0.5, "m": 500, "n": 1000, "d": 30, "r": 3, "label_model": "class-mean", "n_train": 500,
         "n_test": 1000}, sc.cell_seed(seed, "cls", 1))
    assert all(0 <= r["value"] <= 1 for r in rows if r["metric"].startswith("accuracy"))


def test_classification_experiment_with_more_classes(seed):
    base = {"alpha": 1.0, "m": 2000, "n": 2000, "d": 30, "r": 3, "k": 1, "n_train": 1000, "n_test": 4000,
            "methods": ["supervised-cl-expected"]}
    strip = lambda rows: [{k: v for k, v in row.items() if k != "time_s"} for row in rows]  # noqa: E731
    for label_model in ("logistic", "class-mean"):
        # n_classes = 2 is the two-class experiment, row for row
        ss = sc.cell_seed(seed, "cls-K", 0)
        two = supervised_transfer_classification({**base, "label_model": label_model}, ss)
        assert strip(two) == strip(supervised_transfer_classification(
            {**base, "label_model": label_model, "n_classes": 2}, ss))
    # K = 3 equally likely class means along e_source: the label direction is learned, so the
    # source accuracy is near the oracle's; the transfer labels are independent of the kept
    # feature, so any classifier scores 1/3 in expectation (4000 test points: sd <= 0.0075)
    v = _rows(supervised_transfer_classification(
        {**base, "label_model": "class-mean", "n_classes": 3}, sc.cell_seed(seed, "cls-K", 1)))
    assert v[("supervised-cl-expected", "accuracy_source")] > v[("oracle", "accuracy_source")] - 0.04
    assert v[("oracle", "accuracy_source")] > 0.45
    assert abs(v[("supervised-cl-expected", "accuracy_transfer")] - 1 / 3) < 0.04
    v = _rows(supervised_transfer_classification(
        {**base, "alpha": 0.5, "k": 3, "scale": 4.0, "n_classes": 4}, sc.cell_seed(seed, "cls-K", 2)))
    assert v[("oracle", "accuracy_transfer")] > 0.5 and v[("supervised-cl-expected", "log_loss_source")] > 0


def test_experiment_validation():
    with pytest.raises(ValueError, match="needs the parameter 'alpha'"):
        supervised_transfer.validate({"m": 10})
    with pytest.raises(ValueError, match=r"alpha must lie in the closed interval"):
        supervised_transfer.validate({"alpha": 2.0, "m": 10})
    with pytest.raises(ValueError, match="label_model must be one of"):
        supervised_transfer.validate({"alpha": 0.0, "m": 10, "label_model": "probit"})
    for bad in (1, 11):
        with pytest.raises(ValueError, match=r"n_classes must be an integer in \[2, 10\]"):
            supervised_transfer.validate({"alpha": 0.0, "m": 10, "n_classes": bad})
    with pytest.raises(TypeError, match="n_classes must be an integer, got 2.5"):
        supervised_transfer.validate({"alpha": 0.0, "m": 10, "n_classes": 2.5})
    with pytest.raises(ValueError, match="methods must be one of"):
        supervised_transfer.validate({"alpha": 0.0, "m": 10, "methods": ["pca"]})


@pytest.mark.parametrize("name", ["fig5", "fig5_classification"])
def test_configs_run_quick_through_the_cli(name, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "simulations"))
    sys.modules.pop("sweep", None)
    import sweep

    small = ["--n", "500", "--d", "40"]  # smaller than the quick preset: the test checks the wiring
    assert sweep.main(["--config", name, "--quick", *small, "--out", str(tmp_path / name), "--no-progress"]) == 0
    df = pd.read_parquet(tmp_path / name / "results.parquet")
    assert {"alpha", "m", "k", "method", "metric", "value", "rep"} <= set(df.columns)
    assert df["value"].notna().all()
    # every alpha of a replicate saw the same data: one oracle value per (m, rep, metric)
    data_cell = ["m", "rep", "metric"] + [k for k in ("label_model", "n_classes") if k in df]
    oracle = df[df["method"] == "oracle"].groupby(data_cell)["value"].nunique()
    assert (oracle == 1).all()
    from spikedcl.experiments import supervised_plots
    from spikedcl.sweep import load_config, resolve_config

    config = resolve_config(load_config(name), quick=True)
    fig = getattr(supervised_plots, config["figure"]["function"].split(":")[1])(df, config)
    assert len(fig.axes) >= 2
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_float32_stays_float32(seed):
    """On a float64-less device every step of the fit and the label models stays in float32."""
    xs = pytest.importorskip("array_api_strict")
    dev = xs.Device("no_float64")
    model = sc.SpikedModel.random(30, 3, rng=seed)
    X, Z = model.sample(300, rng=seed, return_latent=True, xp=xs, device=dev, dtype=xs.float32)
    y = multiclass_labels(Z, np.eye(3)[:, :2], rng=seed)
    assert y.dtype == xs.float32 and y.device == dev
    for labels, label_type, solver in ((y, "class", "closed_form"),
                                       (sc.regression_labels(Z, np.eye(3)[0], rng=seed), "regression", "gd")):
        fit = fit_supervised_contrastive(X, labels, 3, alpha=0.5, label_type=label_type, rng=seed, solver=solver,
                                         solver_options={"max_iter": 50} if solver == "gd" else None)
        assert fit.W.dtype == xs.float32 and fit.W.device == dev
