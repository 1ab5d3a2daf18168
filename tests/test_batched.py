"""Replicates on a leading axis (``batched=True``) equal a Python loop over replicates.

The batched fit runs the same products and ``eigh`` on stacks, and draws the
masks of replicate i exactly as the loop does with the shared ``rng``; LAPACK's
batched and single calls agree to rounding (1e-12 absolute on O(1) entries).
"""

import numpy as np
import pytest

import spikedcl as sc

R, N, D, RANK = 4, 600, 40, 3


@pytest.fixture
def stack(seed):
    model = sc.SpikedModel.random(D, RANK, condition=4.0, rng=seed)
    return np.stack([model.sample(N, rng=np.random.SeedSequence(seed, spawn_key=(i,))) for i in range(R)])


def same_fit(batch, loop, atol=1e-12):
    for i, ref in enumerate(loop):
        assert float(sc.sin_theta(ref.basis, batch.basis[i])) < 1e-10
        np.testing.assert_allclose(batch.eigenvalues[i], ref.eigenvalues, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(batch.W[i].T @ batch.W[i], ref.W.T @ ref.W, atol=atol)
        assert float(batch.loss[i]) == pytest.approx(float(ref.loss), rel=1e-11, abs=1e-14)


@pytest.mark.parametrize(
    "kw",
    [{}, {"loss": "simclr"}, {"mask_mode": "fixed"}, {"mask_mode": "exact-count", "p": 0.3},
     {"masks": "expected"}, {"masks": "expected", "loss": "simclr"}],
)
@pytest.mark.parametrize("eigensolver", ["dense", "matrix-free"])
def test_batched_contrastive_equals_loop(stack, seed, kw, eigensolver):
    rng = np.random.default_rng(seed)
    loop = [sc.fit_contrastive(stack[i], RANK, rng=rng, eigensolver="dense", **kw) for i in range(R)]
    batch = sc.fit_contrastive(stack, RANK, rng=np.random.default_rng(seed), batched=True, eigensolver=eigensolver, **kw)
    assert batch.W.shape == (R, RANK, D) and batch.basis.shape == (R, D, RANK) and batch.loss.shape == (R,)
    same_fit(batch, loop, atol=1e-10 if eigensolver == "matrix-free" else 1e-12)


@pytest.mark.parametrize("fit, kw", [(sc.fit_pca, {}), (sc.fit_pca, {"center": True}), (sc.fit_gan, {}),
                                     (sc.fit_autoencoder, {}), (sc.fit_autoencoder, {"lam": 1.1})])
def test_batched_principal_equals_loop(stack, fit, kw):
    same_fit(fit(stack, RANK, batched=True, **kw), [fit(stack[i], RANK, **kw) for i in range(R)])


def test_batched_matrices(stack, seed):
    for i, S in enumerate(sc.second_moment(stack, batched=True)):
        np.testing.assert_allclose(S, sc.second_moment(stack[i]), rtol=1e-13, atol=1e-13)
    M = sc.expected_contrastive_matrix(stack, 0.3, loss="simclr", batched=True)
    for i in range(R):
        np.testing.assert_allclose(M[i], sc.expected_contrastive_matrix(stack[i], 0.3, loss="simclr"), atol=1e-13)
    views = [sc.random_mask(stack[i], rng=seed) for i in range(R)]
    M = sc.contrastive_matrix(np.stack([v[0] for v in views]), np.stack([v[1] for v in views]), batched=True)
    for i in range(R):
        np.testing.assert_allclose(M[i], sc.contrastive_matrix(*views[i]), atol=1e-13)
    # stacks of formed matrices go straight to the from-matrix fits
    fit = sc.closed_form.contrastive_fit_from_matrix(M, RANK)
    same_fit(fit, [sc.closed_form.contrastive_fit_from_matrix(M[i], RANK) for i in range(R)])


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda X: sc.fit_contrastive(X[0], 2, batched=True), ValueError, r"X must be 3-D"),
        (lambda X: sc.fit_pca(X, 2), ValueError, r"X must be 2-D"),
        (lambda X: sc.fit_contrastive(X, 2, batched="yes"), TypeError, "batched must be True or False"),
        (lambda X: sc.fit_contrastive(X, 2, batched=True, solver="gd"), ValueError, "batched=True .* needs solver='closed_form'"),
        (lambda X: sc.fit_pca(X, 2, batched=True, solver="gd"), ValueError, "batched=True .* needs solver='closed_form'"),
        (lambda X: sc.fit_pca(X[:, :1], 2, batched=True), ValueError, "at least 2 rows"),
        (lambda X: sc.fit_pca(X, 40, batched=True), ValueError, r"r must be an integer in \[1, 39\]"),
    ],
)
def test_bad_input(stack, call, exc, match):
    with pytest.raises(exc, match=match):
        call(stack)


def test_replicates_per_batch():
    # 4 n x d arrays and 4 d x d per replicate, float64
    per = (4 * 1000 * 50 + 4 * 50 * 50) * 8
    assert sc.replicates_per_batch(20, 1000, 50, memory_limit=3 * per) == 3
    assert sc.replicates_per_batch(2, 1000, 50, memory_limit=10 * per) == 2
    assert sc.replicates_per_batch(5, 1000, 50, memory_limit=1) == 1
    assert sc.replicates_per_batch(20, 1000, 50, memory_limit=3 * per // 2, itemsize=4) == 3
    with pytest.raises(ValueError, match=r"memory_limit must be an integer in \[1, inf\]"):
        sc.replicates_per_batch(5, 1000, 50, memory_limit=0)
    with pytest.raises(ValueError, match=r"n_replicates must be an integer in \[1, inf\]"):
        sc.replicates_per_batch(0, 1000, 50)
