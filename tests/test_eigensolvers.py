"""Matrix-free block Krylov eigensolver against dense ``eigh`` (docs/model.md §3–§4 closed forms).

Tolerances: the solver stops at a relative residual of 1e-10, and by Davis–Kahan
the angle to the dense eigenvectors is at most residual / relative gap. The
spiked matrices below have relative gaps above 0.05 at the r-th eigenvalue, so
sinΘ < 1e-8 holds with a margin of 5x or more; eigenvalues converge
quadratically in the residual (1e-12 relative is loose).
"""

import tracemalloc
import warnings

import numpy as np
import pytest

import spikedcl as sc
from spikedcl.eigensolvers import (
    MATRIX_FREE_MIN_D,
    SymmetricOperator,
    block_krylov_eigh,
    choose_eigensolver,
    top_eigenpairs,
)
from spikedcl.exceptions import ConvergenceWarning


def dense_top(A, k):
    w, V = np.linalg.eigh(A)
    return w[::-1][:k], V[:, ::-1][:, :k]


@pytest.fixture
def data(seed):
    model = sc.SpikedModel.random(120, 3, condition=4.0, rng=seed)
    return model, model.sample(4000, rng=seed + 1)


def spectrum_matrix(rng, d, top, low=-6.0, high=2.0):
    """Symmetric matrix with prescribed top eigenvalues and a bulk in [low, high] (|low| > top)."""
    Q = np.eye(d)
    for _ in range(4):  # a product of Householder reflections: orthogonal, dense, cheap
        v = rng.standard_normal(d)
        Q = Q - 2 * np.outer(Q @ v, v) / (v @ v)
    lam = np.concatenate([top, rng.uniform(low, high, d - len(top))])
    return (Q * lam) @ Q.T, lam


def test_krylov_finds_the_algebraically_largest(rng):
    # the bulk reaches -6, beyond the wanted 5 > 4 > 3: Rayleigh-Ritz must order algebraically
    A, lam = spectrum_matrix(rng, 200, [5.0, 4.0, 3.0])
    vals, vecs, info = block_krylov_eigh(A, 3)
    w, V = dense_top(A, 3)
    assert info["converged"]
    np.testing.assert_allclose(vals, [5.0, 4.0, 3.0], rtol=1e-12)
    assert float(sc.sin_theta(vecs, V)) < 1e-8
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(3), atol=1e-12)


def test_krylov_on_a_stack(rng):
    A = np.stack([spectrum_matrix(rng, 150, [4.0 + i, 3.0, 2.5])[0] for i in range(3)])
    vals, vecs, info = block_krylov_eigh(A, 3)
    assert vals.shape == (3, 3) and vecs.shape == (3, 150, 3) and info["converged"]
    for i in range(3):
        w, V = dense_top(A[i], 3)
        np.testing.assert_allclose(vals[i], w, rtol=1e-12)
        assert float(sc.sin_theta(vecs[i], V)) < 1e-8


@pytest.mark.parametrize(
    "kw",
    [{"masks": "expected"}, {"masks": "expected", "loss": "simclr"}, {}, {"loss": "simclr"},
     {"mask_mode": "fixed"}, {"mask_mode": "exact-count", "loss": "simclr"}],
)
def test_matrix_free_contrastive_equals_dense(data, kw, seed):
    _, X = data
    dense = sc.fit_contrastive(X, 3, rng=seed, eigensolver="dense", **kw)
    free = sc.fit_contrastive(X, 3, rng=seed, eigensolver="matrix-free", **kw)
    assert free.info["eigensolver"] == "matrix-free"
    assert float(sc.sin_theta(dense.basis, free.basis)) < 1e-8
    np.testing.assert_allclose(free.eigenvalues, dense.eigenvalues, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(free.W.T @ free.W, dense.W.T @ dense.W, atol=1e-10)
    assert float(free.loss) == pytest.approx(float(dense.loss), rel=1e-12)


@pytest.mark.parametrize("fit", [sc.fit_pca, sc.fit_gan])
@pytest.mark.parametrize("center", [False, True])
def test_matrix_free_principal_equals_dense(data, fit, center):
    _, X = data
    dense = fit(X, 3, center=center, eigensolver="dense")
    free = fit(X, 3, center=center, eigensolver="matrix-free")
    assert float(sc.sin_theta(dense.basis, free.basis)) < 1e-8
    np.testing.assert_allclose(free.eigenvalues, dense.eigenvalues, rtol=1e-12)
    # the loss is tr(S) - sum(top): trace from the data, no d x d matrix
    assert float(free.loss) == pytest.approx(float(dense.loss), rel=1e-10)


def test_operators_apply_the_dense_matrices(data, rng):
    _, X = data
    V = rng.standard_normal((X.shape[1], 4))
    for loss in ("cross-view", "simclr"):
        op = sc.contrastive_operator(X, p=0.3, loss=loss)
        np.testing.assert_allclose(op.matmat(V), sc.expected_contrastive_matrix(X, 0.3, loss=loss) @ V, atol=1e-12)
        X1, X2 = sc.random_mask(X, rng=3)
        op = sc.contrastive_operator(X, loss=loss, masks="realized", Y=X1 - X2)
        np.testing.assert_allclose(op.matmat(V), sc.contrastive_matrix(X1, X2, loss=loss) @ V, atol=1e-12)
    for center in (False, True):
        op = sc.second_moment_operator(X, center=center)
        np.testing.assert_allclose(op.matmat(V), sc.second_moment(X, center=center) @ V, atol=1e-12)


def test_auto_choice_and_fallback(rng):
    assert choose_eigensolver("auto", 200, 5, formed=True) == "dense"
    assert choose_eigensolver("auto", 1000, 5, formed=True) == "matrix-free"
    assert choose_eigensolver("auto", 1000, 200, formed=True) == "dense"
    assert choose_eigensolver("auto", MATRIX_FREE_MIN_D - 1, 5, formed=False) == "dense"
    assert choose_eigensolver("auto", MATRIX_FREE_MIN_D, 5, formed=False) == "matrix-free"
    assert choose_eigensolver("dense", 10**5, 5, formed=False) == "dense"
    # one cycle cannot converge on a clustered spectrum: "auto" falls back to eigh on a formed matrix ...
    A, _ = spectrum_matrix(rng, 600, [1.0, 0.999, 0.998], low=-1.0, high=0.997)
    w, V = dense_top(A, 3)
    vals, vecs = top_eigenpairs(A, 3, eigensolver="auto", max_restarts=1)
    np.testing.assert_allclose(vals, w, rtol=1e-12)
    assert float(sc.sin_theta(vecs, V)) < 1e-8
    # ... and warns for an operator, which has no dense fallback
    with pytest.warns(ConvergenceWarning, match="max_restarts"):
        top_eigenpairs(SymmetricOperator.from_matrix(A), 3, max_restarts=1)


def test_matrix_free_never_forms_d_by_d(seed):
    """n < d: X (n x d) is smaller than one d x d float64 matrix, and so is the fit's peak allocation."""
    d, n = 1500, 200
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + rng.standard_normal((n, 1)) @ rng.standard_normal((1, d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracemalloc.start()
        for kw in ({"masks": "expected"}, {}):
            sc.fit_contrastive(X, 2, rng=seed, eigensolver="matrix-free", **kw)
        sc.fit_pca(X, 2, eigensolver="matrix-free")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < d * d * 8 / 2, peak


def test_float32_matrix_free_within_tolerance(data):
    _, X = data
    X32 = X.astype(np.float32)
    for kw in ({"masks": "expected"}, {}):
        f32 = sc.fit_contrastive(X32, 3, rng=1, eigensolver="matrix-free", **kw)
        f64 = sc.fit_contrastive(X, 3, rng=1, eigensolver="dense", **kw)
        assert f32.W.dtype == np.float32
        # float32 products carry relative error ~1e-6 sqrt(n); the gap is > 0.05 relative
        assert float(sc.sin_theta(f64.basis, f32.basis.astype(np.float64))) < 1e-3
        np.testing.assert_allclose(f32.eigenvalues, f64.eigenvalues, rtol=1e-4)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda A: top_eigenpairs(A, 3, eigensolver="lanczos"), ValueError, "eigensolver must be one of 'auto', 'dense', 'matrix-free'"),
        (lambda A: top_eigenpairs(A, 0), ValueError, r"k must be an integer in \[1, 39\]"),
        (lambda A: top_eigenpairs(SymmetricOperator.from_matrix(A), 2, eigensolver="dense"), ValueError, "needs a formed"),
        (lambda A: block_krylov_eigh(A, 3, block_size=2), ValueError, r"block_size must be an integer in \[3, 40\]"),
        (lambda A: block_krylov_eigh(A, 3, tol=0.0), ValueError, r"tol must lie in \(0, inf\)"),
        (lambda A: block_krylov_eigh(A, 3, max_restarts=0), ValueError, r"max_restarts must be an integer in \[1, inf\]"),
        (lambda A: sc.fit_pca(np.ones((5, 40)) + A[:5], 2, eigensolver="fast"), ValueError, "eigensolver must be one of"),
        (lambda A: sc.fit_contrastive(A, 2, eigensolver=None), ValueError, "eigensolver must be one of"),
    ],
)
def test_bad_input(rng, call, exc, match):
    A = rng.standard_normal((40, 40))
    with pytest.raises(exc, match=match):
        call(A + A.T)


def test_small_dimension_is_exact(rng):
    """With 2 b > d the block spans the whole space: one Rayleigh-Ritz step, exact to rounding."""
    A = rng.standard_normal((12, 12))
    A = A + A.T
    vals, vecs, info = block_krylov_eigh(A, 5)
    w, V = dense_top(A, 5)
    assert info["n_restarts"] == 1 and info["converged"]
    np.testing.assert_allclose(vals, w, rtol=1e-12, atol=1e-12)
    assert float(sc.sin_theta(vecs, V)) < 1e-10


@pytest.mark.parametrize("kw", [{}, {"loss": "simclr"}, {"mask_mode": "fixed"}])
def test_matrix_free_realized_in_row_blocks(data, seed, monkeypatch, kw):
    """Above the memory budget Y = X1 - X2 is rebuilt in row blocks: same fit."""
    from spikedcl import stats

    _, X = data
    dense = sc.fit_contrastive(X, 3, rng=seed, eigensolver="dense", **kw)
    monkeypatch.setattr(stats, "SIGNED_VIEWS_BUDGET", 0)
    monkeypatch.setattr(stats, "BLOCK_ENTRIES", 1000 * X.shape[1])  # 4 blocks of 1000 rows
    free = sc.fit_contrastive(X, 3, rng=seed, eigensolver="matrix-free", **kw)
    assert float(sc.sin_theta(dense.basis, free.basis)) < 1e-8
    np.testing.assert_allclose(free.eigenvalues, dense.eigenvalues, rtol=1e-12, atol=1e-14)
