"""Streamed sufficient statistics equal the in-memory path for the same seeds.

The streamed path uses exactly the random numbers of ``model.sample(n, rng=seed)``
and ``fit_contrastive(X, r, rng=mask_seed)``; only the summation order differs
(chunks), so matrices agree to ~1e-15 relative and the fits to the dense
eigensolver's rounding (sinΘ ~1e-14; 1e-10 leaves room for clustered spectra).
"""

import numpy as np
import pytest

import spikedcl as sc
from spikedcl.streaming import DEFAULT_MEMORY_LIMIT, chunk_size_for

N = 1501  # not a multiple of the chunk sizes below


@pytest.fixture
def model(seed):
    return sc.SpikedModel.random(40, 3, condition=4.0, rng=seed)


@pytest.mark.parametrize("chunk_size", [1, 64, 500, N])
def test_chunks_use_the_random_numbers_of_sample(model, seed, chunk_size):
    rng_a, rng_b = np.random.default_rng(seed), np.random.default_rng(seed)
    X = model.sample(N, rng=rng_a)
    chunks = list(model.sample_chunks(N, chunk_size, rng=rng_b))
    assert [c.shape[0] for c in chunks[:-1]] == [chunk_size] * (len(chunks) - 1)
    # Z U*^T is blocked differently by BLAS: equal to rounding, not to the bit
    np.testing.assert_allclose(np.concatenate(chunks), X, rtol=0, atol=1e-14)
    assert rng_a.random() == rng_b.random()  # the generator is left in the same state


CASES = [
    {},
    {"loss": "simclr"},
    {"mask_mode": "fixed"},
    {"mask_mode": "fixed-bernoulli", "loss": "simclr"},
    {"mask_mode": "exact-count", "p": 0.3},
    {"masks": "expected"},
    {"masks": "expected", "loss": "simclr", "p": 0.3},
]


@pytest.mark.parametrize("kw", CASES)
@pytest.mark.parametrize("chunk_size", [7, 500])
def test_streamed_contrastive_equals_in_memory(model, seed, kw, chunk_size):
    X = model.sample(N, rng=seed)
    ref = sc.fit_contrastive(X, 3, rng=seed + 1, lam=0.7, **kw)
    fit = sc.fit_contrastive_streamed(model, N, 3, rng=seed, mask_rng=seed + 1, lam=0.7, chunk_size=chunk_size, **kw)
    assert float(sc.sin_theta(ref.basis, fit.basis)) < 1e-10
    np.testing.assert_allclose(fit.eigenvalues, ref.eigenvalues, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fit.W.T @ fit.W, ref.W.T @ ref.W, atol=1e-12)
    assert fit.info["streamed"]["n_chunks"] == -(-N // chunk_size)


def test_streamed_matrices_and_moments(model, seed):
    X = model.sample(N, rng=seed)
    mom = sc.streamed_moments(model, N, rng=seed, mask_rng=seed + 1, p=0.4, chunk_size=100)
    X1, X2 = sc.random_mask(X, 0.4, rng=seed + 1)
    for loss in ("cross-view", "simclr"):
        np.testing.assert_allclose(mom.contrastive_matrix(loss), sc.contrastive_matrix(X1, X2, loss=loss), rtol=0, atol=1e-13)
        np.testing.assert_allclose(
            mom.contrastive_matrix(loss, "expected"), sc.expected_contrastive_matrix(X, 0.4, loss=loss), rtol=0, atol=1e-13
        )
    for center in (False, True):
        np.testing.assert_allclose(mom.second_moment(center), sc.second_moment(X, center=center), rtol=0, atol=1e-13)
        ref, fit = sc.fit_pca(X, 3, center=center), sc.fit_pca_streamed(model, N, 3, rng=seed, center=center, chunk_size=333)
        assert float(sc.sin_theta(ref.basis, fit.basis)) < 1e-10
        assert float(fit.loss) == pytest.approx(float(ref.loss), rel=1e-12)


def test_memory_does_not_grow_with_n(model):
    """The chunk size, not n, sets the working set (measured by the default budget)."""
    assert chunk_size_for(10**9, 200) == chunk_size_for(10**8, 200) < 10**6
    assert chunk_size_for(10**9, 200) * 6 * 200 * 8 + 4 * 200**2 * 8 <= DEFAULT_MEMORY_LIMIT
    mom = sc.streamed_moments(model, 20_000, rng=0, memory_limit=4 * 40**2 * 8 + 6 * 40 * 8 * 1000)
    assert mom.info["chunk_size"] == 1000 and mom.info["n_chunks"] == 20


def test_device_generator_draws_the_model(model, seed):
    """generator='device' (NumPy's own generator here): not the host numbers, the same law."""
    n = 40_000
    X = model.sample(n, rng=seed, xp=np, generator="device")
    assert not np.allclose(X[:50], model.sample(50, rng=seed))
    # entries of the second moment: sd <= sqrt(2) max variance / sqrt(n); 6 sd
    np.testing.assert_allclose(X.T @ X / n, model.covariance(), atol=6 * np.sqrt(2) * 2.0 / np.sqrt(n))
    mom = sc.streamed_moments(model, n, rng=seed, chunk_size=7000, xp=np, generator="device")
    np.testing.assert_allclose(mom.second_moment(), model.covariance(), atol=6 * np.sqrt(2) * 2.0 / np.sqrt(n))


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        ({"chunk_size": 0}, ValueError, r"chunk_size must be an integer in \[1, 100\], got 0"),
        ({"chunk_size": 101}, ValueError, r"chunk_size must be an integer in \[1, 100\], got 101"),
        ({"chunk_size": 2.5}, TypeError, "chunk_size must be an integer"),
        ({"memory_limit": 1000}, ValueError, "memory_limit must be at least 53120 bytes for d=40"),
        ({"memory_limit": 0}, ValueError, r"memory_limit must be an integer in \[1, inf\]"),
        ({"chunk_size": 100, "memory_limit": 60_000}, ValueError, r"chunk_size=100 needs about .* use chunk_size <= 4"),
        ({"views": "yes"}, TypeError, "views must be True or False"),
        ({"generator": "gpu"}, ValueError, "generator must be one of 'host', 'device'"),
        ({"p": 1.0}, ValueError, r"p must lie in the open interval \(0, 1\)"),
        ({"mask_mode": "random"}, ValueError, "mask_mode must be one of"),
    ],
)
def test_bad_input(model, kw, exc, match):
    with pytest.raises(exc, match=match):
        sc.streamed_moments(model, 100, rng=0, **kw)


def test_bad_model_and_rank(model):
    with pytest.raises(TypeError, match="model must be a SpikedModel"):
        sc.streamed_moments(np.ones((3, 3)), 100)
    with pytest.raises(ValueError, match=r"r must be an integer in \[1, 39\]"):
        sc.fit_contrastive_streamed(model, 100, 40)
    with pytest.raises(ValueError, match=r"n must be an integer in \[2, inf\]"):
        sc.fit_pca_streamed(model, 1, 2)
    with pytest.raises(ValueError, match="masks='expected' averages iid per-sample masks"):
        sc.fit_contrastive_streamed(model, 100, 2, masks="expected", mask_mode="fixed")
    with pytest.raises(ValueError, match="needs the view statistics"):
        sc.streamed_moments(model, 100, views=False).contrastive_matrix()
    with pytest.raises(ValueError, match="chunk_size must be an integer"):
        list(model.sample_chunks(10, 0))
