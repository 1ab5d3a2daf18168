"""SpikedModel.sample_moments: the exact joint law of (XᵀX, Xᵀ1) for Gaussian rows, in O(d³) whatever n.

The moment identities are checked by Monte Carlo against their exact values with z-scores from the exact
standard errors (|z| < 5 over a few dozen entries: a false alarm has probability below 1e-4); the law
itself is compared with the data sampler's by two-sample Kolmogorov–Smirnov tests (p > 1e-3 each).
"""

import warnings

import numpy as np
import pytest
import scipy.stats

import spikedcl
from spikedcl.exceptions import SpikedModelWarning

R = 4000  # Monte Carlo replicates of the identities


def _draws(model, n, seed, reps=R):
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        pairs = [model.sample_moments(n, rng=rng) for _ in range(reps)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


@pytest.mark.parametrize("n", [40, 5])  # n - 1 >= r + d (Bartlett) and n - 1 < r + d (the rows themselves)
def test_first_and_second_moments_are_exact(n, seed):
    model = spikedcl.SpikedModel.random(6, 2, condition=4.0, rng=seed)
    Sigma = model.covariance()
    grams, totals = _draws(model, n, seed)
    # E[XᵀX] = n Σ, Var[(XᵀX)_ij] = n (Σ_ij² + Σ_ii Σ_jj) (Wishart)
    var_gram = n * (Sigma**2 + np.outer(np.diag(Sigma), np.diag(Sigma)))
    z = (grams.mean(0) - n * Sigma) / np.sqrt(var_gram / R)
    assert np.abs(z).max() < 5
    # E[Xᵀ1] = 0 and Cov[Xᵀ1] = n Σ; E[(Xᵀ1)_i (Xᵀ1)_j] has variance n² (Σ_ij² + Σ_ii Σ_jj)
    z = totals.mean(0) / np.sqrt(n * np.diag(Sigma) / R)
    assert np.abs(z).max() < 5
    outer = np.einsum("ki,kj->kij", totals, totals)
    z = (outer.mean(0) - n * Sigma) / np.sqrt(n**2 * (Sigma**2 + np.outer(np.diag(Sigma), np.diag(Sigma))) / R)
    assert np.abs(z).max() < 5
    # odd moments vanish: E[(XᵀX)_ij (Xᵀ1)_k] = 0
    cross = np.einsum("kij,kl->ijl", grams, totals) / R
    scale = np.sqrt(np.einsum("ij,l->ijl", var_gram + (n * Sigma) ** 2, n * np.diag(Sigma)) / R)
    assert np.abs(cross / scale).max() < 5
    # the variance of the Gram entries itself (relative s.e. of a variance ≈ sqrt(2 (1 + kurtosis / 2) / R))
    rel = grams.var(0) / var_gram - 1
    assert np.abs(rel).max() < 5 * np.sqrt(2 * 4 / R)


def _data_moments(model, n, seed, reps):
    rng = np.random.default_rng(seed)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        for _ in range(reps):
            X = model.sample(n, rng=rng)
            out.append((X.T @ X, X.sum(0)))
    return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])


def _pca_sin_theta(model, grams):
    return np.array([float(spikedcl.sin_theta(model.U, np.linalg.eigh(G)[1][:, -model.r:])) for G in grams])


@pytest.mark.parametrize("n", [30, 200])
def test_the_law_equals_the_data_samplers(n, seed):
    model = spikedcl.SpikedModel.random(12, 2, condition=8.0, rng=seed)
    reps = 1500
    g1, t1 = _draws(model, n, seed + 1, reps)
    g2, t2 = _data_moments(model, n, seed + 2, reps)
    statistics = {
        "gram[0,0]": (g1[:, 0, 0], g2[:, 0, 0]),
        "gram[0,1]": (g1[:, 0, 1], g2[:, 0, 1]),
        "total[3]": (t1[:, 3], t2[:, 3]),
        "total·gram·total": (np.einsum("ki,kij,kj->k", t1, g1, t1), np.einsum("ki,kij,kj->k", t2, g2, t2)),
        "PCA sinΘ": (_pca_sin_theta(model, g1), _pca_sin_theta(model, g2)),
    }
    for name, (a, b) in statistics.items():
        p = scipy.stats.ks_2samp(a, b).pvalue
        assert p > 1e-3, f"{name}: KS p = {p:.2g}"


def test_cost_does_not_grow_with_n_and_huge_n_concentrates(seed):
    model = spikedcl.SpikedModel.random(30, 3, condition=8.0, rng=seed)
    gram, total = model.sample_moments(10**12, rng=seed)
    # S = XᵀX/n has entrywise s.d. sqrt((Σ_ij² + Σ_ii Σ_jj)/n) ≈ 1.4e-6 · max Σ_ii: 1e-4 is 70 s.d.
    np.testing.assert_allclose(gram / 10**12, model.covariance(), atol=1e-4 * model.covariance().max())
    assert np.abs(total).max() / 10**12 < 1e-4
    np.testing.assert_allclose(gram, gram.T, rtol=0, atol=0)
    assert np.linalg.eigvalsh(gram).min() > 0


def test_same_rng_same_draw_and_bad_n():
    model = spikedcl.SpikedModel.random(10, 2, rng=0)
    a, b = model.sample_moments(100, rng=3), model.sample_moments(100, rng=3)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    for bad in (1, 0, 2.5, "100"):
        with pytest.raises((ValueError, TypeError), match="n"):
            model.sample_moments(bad)
