import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize

import spikedcl
from spikedcl import (
    RankDeficientWarning,
    SpikedModel,
    contrastive_grad,
    contrastive_loss,
    contrastive_matrix,
    expected_contrastive_matrix,
    fit_autoencoder,
    fit_contrastive,
    fit_contrastive_streamed,
    fit_gan,
    fit_heteropca,
    fit_pca,
    random_mask,
    sin_theta,
)
from spikedcl.closed_form import contrastive_fit_from_matrix, data_contrastive_matrix
from spikedcl.options import contrastive_options
from spikedcl.stats import data_statistics

ATOL = 1e-12  # float64 rounding on O(1) entries of d <= 60 matrices


def _sym(B):
    return (B + B.T) / 2


def dense_cross_view(X1, X2):
    """(L-a) from explicit per-pair sums: mean positive pair minus mean ordered negative pair."""
    n = X1.shape[0]
    pos = sum(_sym(np.outer(X1[i], X2[i])) for i in range(n)) / n
    neg = sum(_sym(np.outer(X1[i], X2[j])) for i in range(n) for j in range(n) if i != j)
    return pos - neg / (n * (n - 1))


def dense_simclr(X1, X2):
    """(L-b): 2n anchors, positive = other view, negatives = both views of others, weight 1/(2n-2)."""
    n = X1.shape[0]
    views = [X1, X2]
    M = 0
    for v in (0, 1):
        for i in range(n):
            a, pos = views[v][i], views[1 - v][i]
            M = M + _sym(np.outer(a, pos))
            for j in range(n):
                if j != i:
                    for u in (0, 1):
                        M = M - _sym(np.outer(a, views[u][j])) / (2 * n - 2)
    return M / (2 * n)


def pairwise_loss(W, X1, X2, lam, form):
    """The batch loss from inner products of features, never through a matrix M."""
    F1, F2 = X1 @ W.T, X2 @ W.T
    n = X1.shape[0]
    reg = lam / 2 * np.sum((W @ W.T) ** 2)
    if form == "cross-view":
        pos = np.mean(np.sum(F1 * F2, axis=1))
        neg = sum(F1[i] @ F2[j] for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
        return -pos + neg + reg
    F = [F1, F2]
    total = 0.0
    for v in (0, 1):
        for i in range(n):
            total -= F[v][i] @ F[1 - v][i]
            total += sum(F[v][i] @ F[u][j] for j in range(n) if j != i for u in (0, 1)) / (2 * n - 2)
    return total / (2 * n) + reg


@pytest.mark.parametrize("form, dense", [("cross-view", dense_cross_view), ("simclr", dense_simclr)])
@pytest.mark.parametrize("mask_mode", spikedcl.augment.MASK_MODES)
def test_realized_matrix_matches_per_pair_sums(form, dense, mask_mode, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((7, 5)) + 0.5  # non-zero mean: negatives matter
    X1, X2 = random_mask(X, 0.4, rng=seed, mode=mask_mode)
    M = contrastive_matrix(X1, X2, loss=form)
    np.testing.assert_allclose(M, dense(X1, X2), atol=ATOL)
    W = rng.standard_normal((2, 5))
    assert contrastive_loss(W, M, 0.7) == pytest.approx(pairwise_loss(W, X1, X2, 0.7, form), rel=1e-12)


@pytest.mark.parametrize("form", ["cross-view", "simclr"])
@pytest.mark.parametrize("mask_mode", spikedcl.augment.MASK_MODES)
@pytest.mark.parametrize("p", [0.5, 0.3])
def test_row_blocked_statistic_equals_whole_views(form, mask_mode, p, seed):
    """The fit builds the views in row blocks (3 rows here, the last block short):
    same masks, same M as the whole views of random_mask, to rounding."""
    X = np.random.default_rng(seed).standard_normal((20, 9)) + 0.3
    opts = contrastive_options(p, 1.0, "realized", form, mask_mode)
    need = opts.form.needs
    stats = data_statistics(X, need, law=opts.law, p=p, rng=np.random.default_rng(seed), block_rows=3)
    blocked = opts.form.matrix(stats)
    whole = contrastive_matrix(*random_mask(X, p, rng=seed, mode=mask_mode), loss=form)
    np.testing.assert_allclose(blocked, whole, rtol=0, atol=ATOL)
    X[4, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        data_contrastive_matrix(X, opts, np.random.default_rng(seed))


@pytest.mark.parametrize("form, dense", [("cross-view", dense_cross_view), ("simclr", dense_simclr)])
def test_fit_contrastive_is_the_eigen_solution_of_the_dense_matrix(form, dense, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((9, 6)) @ rng.standard_normal((6, 6))
    lam, r = 0.5, 2
    fit = fit_contrastive(X, r, lam=lam, loss=form, rng=seed, p=0.5)
    M = dense(*random_mask(X, 0.5, rng=seed))  # the same masks, rebuilt independently
    mu, V = np.linalg.eigh(M)
    mu, V = mu[::-1][:r], V[:, ::-1][:, :r]
    np.testing.assert_allclose(fit.eigenvalues, mu, atol=ATOL)
    assert sin_theta(fit.basis, V) < 1e-10
    P = (V * np.maximum(mu, 0) / lam) @ V.T
    np.testing.assert_allclose(fit.W.T @ fit.W, P, atol=ATOL)
    assert fit.loss == pytest.approx(-np.sum(np.maximum(mu, 0) ** 2) / (2 * lam), rel=1e-12)
    assert fit.loss == pytest.approx(contrastive_loss(fit.W, M, lam), rel=1e-10)


def test_closed_form_is_a_minimiser(small_model, seed):
    X = small_model.sample(2000, rng=seed)
    fit = fit_contrastive(X, 3, lam=0.8, rng=seed)
    M = contrastive_matrix(*random_mask(X, rng=seed))
    # stationary point ...
    assert np.linalg.norm(contrastive_grad(fit.W, M, 0.8)) < 1e-12
    # ... that no perturbation or random point improves, and that is invariant to W -> QW
    rng = np.random.default_rng(seed)
    for scale in (1e-3, 1e-1, 1.0):
        for _ in range(20):
            Wp = fit.W + scale * rng.standard_normal(fit.W.shape) * np.abs(fit.W).max()
            assert contrastive_loss(Wp, M, 0.8) >= fit.loss - 1e-15
    Q = np.linalg.qr(rng.standard_normal((3, 3))).Q
    assert contrastive_loss(Q @ fit.W, M, 0.8) == pytest.approx(fit.loss, rel=1e-12)


def test_contrastive_gradient_by_finite_differences(rng):
    d, r, lam = 8, 3, 0.6
    A = rng.standard_normal((d, d))
    M = (A + A.T) / 2
    W = rng.standard_normal((r, d))
    G = contrastive_grad(W, M, lam)
    h = 1e-6
    num = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        num[idx] = (contrastive_loss(W + E, M, lam) - contrastive_loss(W - E, M, lam)) / (2 * h)
    # central differences: error O(h^2 * third derivative) ~ 1e-9 relative
    np.testing.assert_allclose(G, num, rtol=1e-6, atol=1e-8)


def test_lambda_changes_scale_not_subspace(small_model, seed):
    X = small_model.sample(3000, rng=seed)
    a = fit_contrastive(X, 3, lam=1.0, rng=seed)
    b = fit_contrastive(X, 3, lam=4.0, rng=seed)
    assert sin_theta(a.basis, b.basis) < 1e-12
    np.testing.assert_allclose(b.W, a.W / 2, atol=ATOL)
    assert b.loss == pytest.approx(a.loss / 4, rel=1e-12)
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, atol=ATOL)


@pytest.mark.parametrize("form", ["cross-view", "simclr"])
@pytest.mark.parametrize("p", [0.5, 0.3])
def test_expected_matrix_is_the_mask_average(form, p, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((6, 4)) + 0.3
    T = 20_000
    draws = np.stack(
        [contrastive_matrix(*random_mask(X, p, rng=rng), loss=form) for _ in range(T)]
    )
    mean, sd = draws.mean(axis=0), draws.std(axis=0)
    Mbar = expected_contrastive_matrix(X, p, loss=form)
    assert np.all(np.abs(mean - Mbar) <= 6 * sd / np.sqrt(T) + 1e-12)


def test_batch_forms_coincide_on_average_at_one_half(small_model, seed):
    X = small_model.sample(500, rng=seed)
    a = expected_contrastive_matrix(X, 0.5, loss="cross-view")
    b = expected_contrastive_matrix(X, 0.5, loss="simclr")
    np.testing.assert_allclose(a, b, atol=ATOL)
    # away from 1/2 only the weight of the small negative-pair term differs
    c = expected_contrastive_matrix(X, 0.3, loss="cross-view")
    d = expected_contrastive_matrix(X, 0.3, loss="simclr")
    n, s = X.shape[0], X.sum(axis=0)
    N = (np.outer(s, s) - X.T @ X) / (n * (n - 1))
    np.testing.assert_allclose(d - c, (0.21 - 0.25) * N, atol=ATOL)


def test_realized_batch_forms_agree_in_sin_theta(seed):
    """docs/model.md §3 [ref]: realized (L-a) and (L-b) agree in sinΘ to about 3 decimals."""
    model = spikedcl.SpikedModel.random(100, 5, condition=8.0, rng=seed)
    X = model.sample(20_000, rng=seed)
    a = fit_contrastive(X, 5, loss="cross-view", rng=seed + 1)
    b = fit_contrastive(X, 5, loss="simclr", rng=seed + 1)
    assert abs(sin_theta(model.U, a.basis) - sin_theta(model.U, b.basis)) < 2e-3
    assert sin_theta(a.basis, b.basis) < 0.01  # the negative terms differ by O(d/n)


def test_rank_deficient_contrastive_fit_warns():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 1)) @ np.ones((1, 10)) + 0.1 * rng.standard_normal((500, 10))
    with pytest.warns(RankDeficientWarning, match="fewer than r=6 positive"):
        fit = fit_contrastive(X, 6, masks="expected")
    assert np.linalg.matrix_rank(fit.W) < 6
    np.testing.assert_allclose(fit.basis.T @ fit.basis, np.eye(6), atol=ATOL)


@pytest.mark.parametrize("center", [False, True])
def test_pca_matches_the_svd(center, rng):
    X = rng.standard_normal((300, 12)) @ rng.standard_normal((12, 12)) + 2.0
    fit = fit_pca(X, 4, center=center)
    Xc = X - X.mean(axis=0) if center else X
    _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    assert sin_theta(fit.basis, Vt[:4].T) < 1e-10
    np.testing.assert_allclose(fit.eigenvalues, s[:4] ** 2 / 300, rtol=1e-10)
    resid = Xc - Xc @ fit.W.T @ fit.W
    assert fit.loss == pytest.approx(np.sum(resid**2) / 300, rel=1e-10)
    np.testing.assert_allclose(fit.W @ fit.W.T, np.eye(4), atol=ATOL)


def _ae_loss_from_data(X, We, Wd, lam):
    return np.sum((X - X @ We.T @ Wd.T) ** 2) / X.shape[0] + lam * (np.sum(We**2) + np.sum(Wd**2))


@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_autoencoder_closed_form_beats_a_numerical_optimiser(lam, rng):
    n, d, r = 200, 6, 2
    X = rng.standard_normal((n, d)) @ np.diag([3, 2, 1.5, 1, 0.5, 0.2])
    fit = fit_autoencoder(X, r, lam=lam)
    We, Wd = fit.W, fit.info["decoder"]
    assert fit.loss == pytest.approx(_ae_loss_from_data(X, We, Wd, lam), rel=1e-10)
    S = X.T @ X / n
    sig = np.linalg.eigvalsh(S)[::-1]
    expected = np.trace(S) - sum((s - lam) ** 2 / s for s in sig[:r] if s > lam)
    assert fit.loss == pytest.approx(expected, rel=1e-10)

    def f(theta):
        return _ae_loss_from_data(X, theta[: r * d].reshape(r, d), theta[r * d :].reshape(d, r), lam)

    best = min(
        scipy.optimize.minimize(f, rng.standard_normal(2 * r * d), method="BFGS", options={"gtol": 1e-10}).fun
        for _ in range(3)
    )
    assert fit.loss <= best + 1e-8
    assert best == pytest.approx(fit.loss, rel=1e-6)  # the optimiser reaches it: no better point exists
    assert sin_theta(fit.basis, fit_pca(X, r).basis) < 1e-12
    if lam == 0:
        np.testing.assert_allclose(Wd @ We, fit.basis @ fit.basis.T, atol=ATOL)


def test_gan_generator_minimises_the_wasserstein_distance(rng):
    n, d, r = 400, 7, 3
    X = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    fit = fit_gan(X, r)
    S = X.T @ X / n

    def w2(G):  # Bures distance between N(0, S) and N(0, G G^T), via matrix square roots
        C = G @ G.T
        root = np.real(scipy.linalg.sqrtm(S))
        cross = np.sqrt(np.clip(np.linalg.eigvalsh(root @ C @ root), 0, None)).sum()
        return np.trace(S) + np.trace(C) - 2 * cross

    assert fit.loss == pytest.approx(w2(fit.W.T), rel=1e-6, abs=1e-8)
    for _ in range(20):
        assert w2(fit.W.T + 0.1 * rng.standard_normal((d, r))) > fit.loss
    assert sin_theta(fit.basis, fit_pca(X, r).basis) < 1e-12


def _population_data(model):
    """A d x d 'sample' whose second moment is exactly the population covariance."""
    return np.sqrt(model.d) * np.linalg.cholesky(model.covariance()).T


def test_population_limits(seed):
    """PCA is exact when C = 1 and biased otherwise; HeteroPCA removes the deletion bias."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", spikedcl.SpikedModelWarning)
        flat = spikedcl.SpikedModel.random(60, 3, condition=1.0, rng=seed)
        hard = spikedcl.SpikedModel.random(60, 3, noise="two-block", condition=8.0, rng=seed)
        assert sin_theta(flat.U, fit_pca(_population_data(flat), 3).basis) < 1e-10
        pca_bias = sin_theta(hard.U, fit_pca(_population_data(hard), 3).basis)
        assert pca_bias > 0.35 * np.sqrt(3) * 0.8  # docs/model.md §7: ≈ 0.35√r on the two-block instance
        hetero = fit_heteropca(_population_data(hard), 3, max_iter=500, tol=1e-13)
    assert hetero.converged
    assert sin_theta(hard.U, hetero.basis) < 1e-5
    # the population CL subspace: top eigenvectors of Δ(Σ_x); its bias is small but not 0
    S = hard.covariance()
    cl = np.linalg.eigh(S - np.diag(np.diag(S)))[1][:, -3:]
    assert 1e-3 < sin_theta(hard.U, cl) < 0.25 * pca_bias
    assert sin_theta(cl, spikedcl.population_fit(hard, "contrastive").basis) < 1e-10
    assert sin_theta(hard.U, spikedcl.population_fit(hard, "heteropca").basis) < 1e-5


def test_large_n_cl_beats_pca_on_two_block_and_pca_is_consistent_at_c1(seed):
    n, d, r = 100_000, 50, 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", spikedcl.SpikedModelWarning)
        hard = spikedcl.SpikedModel.random(d, r, noise="two-block", condition=8.0, rng=seed)
        flat = spikedcl.SpikedModel.random(d, r, condition=1.0, rng=seed)
    X = hard.sample(n, rng=seed)
    cl = sin_theta(hard.U, fit_contrastive(X, r, rng=seed).basis)
    pca = sin_theta(hard.U, fit_pca(X, r).basis)
    assert cl < 0.5 * pca
    # sampling error of PCA at C = 1: Davis–Kahan gives ≲ 2 σ_max √(d r / n)/ν² ≈ 0.08
    assert sin_theta(flat.U, fit_pca(flat.sample(n, rng=seed), r).basis) < 2 * np.sqrt(d * r / n)


def test_heteropca_iterates_and_reports(small_model, seed):
    X = small_model.sample(5000, rng=seed)
    fit = fit_heteropca(X, 3)
    assert fit.method == "heteropca" and fit.solver == "iterative"
    assert 1 <= fit.n_iter <= 50
    np.testing.assert_allclose(fit.W @ fit.W.T, np.eye(3), atol=ATOL)
    one = fit_heteropca(X, 3, max_iter=1)
    assert one.n_iter == 1 and not one.converged
    assert fit.loss <= one.loss + 1e-15  # imputation reduces the off-diagonal residual


@pytest.mark.parametrize("solver", ["closed_form", "gd"])
@pytest.mark.parametrize("eigensolver", ["dense", "matrix-free"])
def test_method_label_tells_realized_from_expected_masks(solver, eigensolver):
    if solver == "gd" and eigensolver == "matrix-free":
        pytest.skip("gd forms M")
    X = SpikedModel.random(30, 2, rng=0).sample(200, rng=1)
    labels = {masks: fit_contrastive(X, 2, masks=masks, solver=solver, eigensolver=eigensolver, rng=0).method
              for masks in ("realized", "expected")}
    assert labels == {"realized": "contrastive", "expected": "contrastive-expected"}
    model = SpikedModel.random(30, 2, rng=0)
    assert fit_contrastive_streamed(model, 200, 2, masks="expected", rng=1).method == "contrastive-expected"
    assert fit_contrastive_streamed(model, 200, 2, rng=1).method == "contrastive"
    assert contrastive_fit_from_matrix(expected_contrastive_matrix(X), 2).method == "contrastive"


def test_principal_fits_share_a_given_decomposition_and_refuse_wrong_shapes():
    from spikedcl.closed_form import principal_fit_from_moment
    from spikedcl.eigensolvers import top_eigenpairs

    X = SpikedModel.random(30, 3, rng=0).sample(400, rng=1)
    S = X.T @ X / 400
    pairs = top_eigenpairs(S, 3)
    for kind in ("pca", "autoencoder", "gan"):
        a, b = principal_fit_from_moment(S, 3, kind), principal_fit_from_moment(S, 3, kind, eigenpairs=pairs)
        for field in ("W", "basis", "eigenvalues", "loss"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))  # the same decomposition
    with pytest.raises(ValueError, match="eigenpairs must have shapes"):
        principal_fit_from_moment(S, 2, "pca", eigenpairs=pairs)
