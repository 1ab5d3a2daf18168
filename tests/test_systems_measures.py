"""Alignment/uniformity, collapse measures and the InfoNCE bound on Gaussian pairs."""

import math

import numpy as np
import pytest

from spikedcl.systems import align_uniform as au
from spikedcl.systems import collapse as co
from spikedcl.systems import negatives as ng


def sphere(n, m, rng):
    Z = rng.standard_normal((n, m))
    return Z / np.linalg.norm(Z, axis=1, keepdims=True)


@pytest.mark.parametrize("m", [2, 3, 8, 32])
def test_uniformity_oracle(m, rng):
    """U-1: uniform points on S^{m-1} have uniformity -2t + log 0F1(; m/2; t^2).

    The tolerance is 5 standard errors of the pair U-statistic (Hoeffding:
    4 var(h1)/N + 2 var(K)/(N(N-1)), h1(u_i) = mean_j K_ij), divided by the mean
    kernel for the log.
    """
    N, t = 1500, 2.0
    U = sphere(N, m, rng)
    value = float(au.uniformity(U, t=t))
    K = np.exp(-t * np.clip(2 - 2 * U @ U.T, 0, None))
    np.fill_diagonal(K, np.nan)
    h1 = np.nanmean(K, axis=1)
    # variance of a U-statistic of order 2: 4 var(h1)/N + 2 var(K)/(N(N-1))
    var = 4 * np.var(h1) / N + 2 * np.nanvar(K) / (N * (N - 1))
    se = math.sqrt(var) / np.mean(h1)
    expected = au.uniformity_lower_bound(t, m)
    assert abs(value - expected) < 5 * se + 1e-12
    assert value == pytest.approx(math.log(np.nanmean(K)), rel=1e-10)


def test_uniformity_range_and_collapse(rng):
    t = 2.0
    Z = np.tile(rng.standard_normal((1, 5)), (10, 1))
    assert float(au.uniformity(Z, t=t)) == 0.0
    # the reference closed forms of docs/systems.md §2
    for m, ref in ((2, -1.5750), (3, -2.0798), (8, -3.0825), (32, -3.7518), (128, -3.9375)):
        assert au.uniformity_lower_bound(t, m) == pytest.approx(ref, abs=1e-4)
    Z1 = rng.standard_normal((20, 4))
    assert float(au.alignment(Z1, Z1)) == pytest.approx(0.0, abs=1e-24)
    assert float(au.alignment(Z1, -Z1)) == pytest.approx(4.0)
    assert 0 <= float(au.alignment(Z1, rng.standard_normal((20, 4)))) <= 4


def test_align_uniform_loss_combines_the_metrics(rng):
    Z1, Z2 = rng.standard_normal((9, 3)), rng.standard_normal((9, 3))
    loss = float(au.align_uniform_loss(Z1, Z2, lam_align=0.98, lam_uniform=0.96))
    expected = 0.98 * float(au.alignment(Z1, Z2)) + 0.96 * (float(au.uniformity(Z1)) + float(au.uniformity(Z2))) / 2
    assert loss == pytest.approx(expected, rel=1e-12)
    assert au.DEFAULT_ALPHA == 2 and au.DEFAULT_T == 2 and au.DEFAULT_WEIGHTS == (1.0, 1.0)


def test_rankme_oracles(rng):
    """Isotropic Gaussian with N >> K: RankMe ~ K (singular values equal to O(sqrt(K/N)));
    rank one gives ~1."""
    N, K = 20_000, 16
    Z = rng.standard_normal((N, K))
    # singular values sqrt(N)(1 + O(sqrt(K/N))): entropy deficit O(K/N) relative
    assert float(co.rankme(Z)) == pytest.approx(K, rel=10 * K / N)
    assert float(co.participation_ratio(Z)) == pytest.approx(K, rel=20 * math.sqrt(K / N))
    one = rng.standard_normal((N, 1)) @ rng.standard_normal((1, K))
    assert float(co.rankme(one)) == pytest.approx(1.0, abs=1e-4)
    assert co.numerical_rank(one) == 1 and co.numerical_rank(Z) == K
    assert float(co.rankme(Z, spectrum="eig", center=True)) == pytest.approx(K, rel=20 * K / N)
    lam = co.embedding_spectrum(Z)
    assert np.all(np.diff(lam) <= 0) and lam.shape == (K,)


def test_strong_augmentation_collapses_one_layer(seed):
    """D-1: noise 3.0 on the last 8 coordinates removes them from the spectrum; noise 0.01 keeps all 16."""
    weak = co.collapse_toy(1, noise=0.01, n_iter=1500, n_samples=4000, rng=seed)
    strong = co.collapse_toy(1, noise=3.0, n_iter=1500, n_samples=4000, rng=seed)
    assert weak["rankme"] > 15.5
    assert strong["rankme"] < 12.0
    lam = strong["spectrum"]
    assert np.all(lam[8:] < 1e-1 * lam[7])


def test_two_layers_collapse_under_weak_augmentation(seed):
    """D-2: two linear layers lose dimensions even at noise 1e-3 (small singular values grow slowly)."""
    out = co.collapse_toy(2, noise=1e-3, n_iter=2000, n_samples=4000, rng=seed)
    lam = out["spectrum"]
    assert out["rankme"] < 15.0
    assert np.sum(lam < 1e-4 * lam[0]) >= 2
    assert out["alignment"].shape == (16,)


@pytest.mark.parametrize("rho", [0.5, 0.9, 0.99])
def test_info_nce_never_exceeds_log_k(rho, seed):
    """N-1: every batch estimate is at most log K; with I >> log K it saturates at log K.

    The shortfall log K - estimate is heavy-tailed (one close negative costs a lot), so
    saturation is checked on the median and only where I exceeds log K by 10 nats.
    """
    d = 10
    info = ng.gaussian_mutual_information(rho, d)
    for K in (4, 16, 64, 256):
        est = ng.info_nce_estimate(K, d, rho, reps=10, rng=seed)
        assert np.all(est <= math.log(K) + 1e-12)
        if info > math.log(K) + 10:
            assert np.median(est) > math.log(K) - 0.05
    # rho = 0.5 (I = 1.44 nats): K = 256 recovers I to within 0.15 (table: 1.39)
    if rho == 0.5:
        est = ng.info_nce_estimate(256, d, rho, reps=10, rng=seed)
        assert abs(est.mean() - info) < 0.15


def test_gaussian_critic_is_the_density_ratio(rng):
    d, rho = 3, 0.6

    def logpdf(y, mean, var):
        return -np.sum((y - mean) ** 2) / (2 * var) - d / 2 * math.log(2 * math.pi * var)

    X, Y = ng.gaussian_pairs(4, d, rho, rng=rng)
    S = ng.gaussian_critic(X, Y, rho)
    for i in range(4):
        for j in range(4):
            cond = logpdf(Y[j], rho * X[i], 1 - rho**2)
            marg = logpdf(Y[j], 0.0, 1.0)
            assert S[i, j] == pytest.approx(cond - marg, rel=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="rho"):
        ng.gaussian_mutual_information(1.0, 3)
    with pytest.raises(ValueError, match="K must be"):
        ng.info_nce_estimate(1, 3, 0.5)
    with pytest.raises(ValueError, match="spectrum"):
        co.rankme(np.ones((3, 2)), spectrum="sigma")
    with pytest.raises(ValueError, match="m must be"):
        au.uniformity_lower_bound(2.0, 1)
    with pytest.raises(ValueError, match="batch_size"):
        co.collapse_toy(1, batch_size=1)
    with pytest.raises(ValueError, match="at least 2 rows"):
        au.uniformity(np.ones((1, 3)))


def test_theorem1_many_negatives(rng):
    """U-2: L_M - log M falls towards Wang & Isola's limit as M grows.

    Normalisation-only encoder, m = 8, tau = 0.5, y = x + 0.3 noise. The limit is
    -E[u^T v]/tau + log 0F1(; m/2; 1/(4 tau^2)); E[u^T v] by Monte Carlo on 50,000 pairs
    (sd of u^T v below 0.05, so its error is < 1e-3). The gap is 1.83 at M = 1 and
    shrinks to about 0.02 at M = 256 (reference table); with 20 batches of 64 anchors
    the Monte Carlo error of each mean is about 0.003, far inside the 0.05 allowance.
    """
    m, tau = 8, 0.5
    X = rng.standard_normal((50_000, m))
    Y = X + 0.3 * rng.standard_normal(X.shape)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    V = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    limit = -np.mean(np.sum(U * V, axis=1)) / tau + au.sphere_log_partition(tau, m)
    assert limit == pytest.approx(-1.657, abs=0.01)
    gaps = []
    for M in (1, 16, 256):
        vals = []
        for _ in range(20):
            x = rng.standard_normal((64, m))
            y = x + 0.3 * rng.standard_normal((64, m))
            vals.append(float(au.negatives_loss(x, y, rng.standard_normal((64, M, m)), temperature=tau)) - math.log(M))
        gaps.append(np.mean(vals) - limit)
    assert gaps[0] > 1.5 and gaps[0] > gaps[1] > gaps[2] > -0.01
    assert gaps[2] < 0.05
    with pytest.raises(ValueError, match="negatives must have shape"):
        au.negatives_loss(x, y, np.ones((3, 2, m)))
