"""Spectral contrastive loss: closed form vs gradient descent, moments, the augmentation graph."""

import math

import numpy as np
import pytest

import spikedcl as sc
from spikedcl.solvers import gradient_descent
from spikedcl.systems import spectral as sp
from spikedcl.systems.encoder import representation_basis


def additive_noise_moments(d, rng):
    """Views x + xi of a latent x ~ N(0, Sigma0), anisotropic noise xi ~ N(0, D)."""
    A = rng.standard_normal((d, d)) / math.sqrt(d)
    Sigma0 = A @ A.T + np.diag(np.linspace(0.1, 2.0, d))
    D = np.diag(rng.uniform(0.2, 2.0, d))
    return Sigma0, D


def test_closed_form_solves_the_objective(rng):
    """G-2: GD from a random start reaches L* to 7 digits, on the same row space."""
    d, k = 10, 3
    Sigma0, D = additive_noise_moments(d, rng)
    Sigma, Cplus = Sigma0 + D, Sigma0
    W_star, L_star, mu = sp.spectral_closed_form(Sigma, Cplus, k)
    assert float(sp.spectral_population_loss(W_star, Sigma, Cplus)) == pytest.approx(float(L_star), rel=1e-12)
    res = gradient_descent(
        lambda p: sp.spectral_population_loss(p[0], Sigma, Cplus),
        lambda p: (sp.spectral_population_grad(p[0], Sigma, Cplus),),
        (0.1 * rng.standard_normal((k, d)),),
        step=0.1,
        max_iter=20_000,
        tol_grad=1e-10,
    )
    assert res.converged
    assert res.loss == pytest.approx(float(L_star), rel=1e-7)
    assert float(sc.sin_theta(res.params[0].T, W_star.T)) < 1e-5
    # the identity L = ||M_s - B^T B||^2 - ||M_s||^2 with B = W Sigma^{1/2}
    lam, V = np.linalg.eigh(Sigma)
    half, ihalf = (V * np.sqrt(lam)) @ V.T, (V / np.sqrt(lam)) @ V.T
    Ms = ihalf @ Cplus @ ihalf
    W = rng.standard_normal((k, d))
    B = W @ half
    assert float(sp.spectral_population_loss(W, Sigma, Cplus)) == pytest.approx(
        np.sum((Ms - B.T @ B) ** 2) - np.sum(Ms**2), rel=1e-10
    )
    np.testing.assert_allclose(mu, np.sort(np.linalg.eigvalsh(Ms))[::-1][:k], rtol=1e-10)


def test_population_gradient_finite_differences(rng):
    d, k = 6, 2
    Sigma0, D = additive_noise_moments(d, rng)
    W = rng.standard_normal((k, d))
    g = sp.spectral_population_grad(W, Sigma0 + D, Sigma0)
    h = 1e-6
    fd = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        fd[idx] = (
            float(sp.spectral_population_loss(W + E, Sigma0 + D, Sigma0))
            - float(sp.spectral_population_loss(W - E, Sigma0 + D, Sigma0))
        ) / (2 * h)
    np.testing.assert_allclose(g, fd, atol=1e-8 * max(1.0, np.abs(g).max()), rtol=0)


def test_minibatch_estimator_is_unbiased(rng):
    """G-2: the minibatch loss at W* on n = 2000 fresh pairs estimates L* within Monte Carlo error.

    The tolerance is 5 standard errors, the standard error estimated from the
    per-sample positive term and per-pair negative term (a U-statistic has
    variance O(1/n)).
    """
    d, k, n = 10, 3, 2000
    Sigma0, D = additive_noise_moments(d, rng)
    W_star, L_star, _ = sp.spectral_closed_form(Sigma0 + D, Sigma0, k)
    X0 = rng.standard_normal((n, d)) @ np.linalg.cholesky(Sigma0).T
    s = np.sqrt(np.diag(D))
    X1 = X0 + rng.standard_normal((n, d)) * s
    X2 = X0 + rng.standard_normal((n, d)) * s
    Z1, Z2 = X1 @ W_star.T, X2 @ W_star.T
    value = float(sp.spectral_loss(Z1, Z2))
    pos = -2 * np.sum(Z1 * Z2, axis=1)
    neg = (Z1 @ Z2.T) ** 2
    np.fill_diagonal(neg, np.nan)
    se = math.sqrt(np.var(pos) / n + 4 * np.var(np.nanmean(neg, axis=1)) / n)
    assert abs(value - float(L_star)) < 5 * se
    # the full-batch loss, trained by GD, is minimised near W* as well
    assert float(sp.spectral_loss(Z1, Z2)) < float(sp.spectral_loss(0.5 * Z1, 0.5 * Z2))


@pytest.mark.parametrize("masks", ["complementary", "bernoulli"])
def test_mask_moments_by_monte_carlo(masks, rng):
    """The plug-in moments of docs/systems.md §3 against masked samples (tolerance 6 sd / sqrt(n))."""
    d, n, p = 6, 40_000, 0.5
    U = np.linalg.qr(rng.standard_normal((d, 2)))[0]
    cov = U @ U.T + np.diag(np.linspace(0.5, 1.5, d))
    X = rng.standard_normal((n, d)) @ np.linalg.cholesky(cov).T
    if masks == "complementary":
        X1, X2 = sc.random_mask(X, p, rng=rng)
    else:
        X1 = X * (rng.random((n, d)) < p)
        X2 = X * (rng.random((n, d)) < p)
    Sigma, Cplus = sp.spectral_moments(cov, p, masks=masks)
    S_hat, C_hat = sp.view_moments(X1, X2)
    scale = np.max(np.abs(cov))
    tol = 6 * 2 * scale / math.sqrt(n)  # fourth moments of Gaussians: sd(x_i x_j) <= 2 max Sigma
    np.testing.assert_allclose(S_hat, Sigma, atol=tol, rtol=0)
    np.testing.assert_allclose(C_hat, Cplus, atol=tol, rtol=0)


def test_masked_spiked_model_whitened_solution(seed):
    """G-3 (population, complementary p = 1/2, C = 8): sinΘ and downstream risk disagree.

    The whitened row space is far from U* in sinΘ (about 1.08) yet its regression
    risk is within a few thousandths of the best linear predictor, below R(U*).
    """
    rng = np.random.default_rng(seed)
    model = sc.SpikedModel.random(200, 5, noise="uniform", condition=8.0, rng=rng)
    Sigma, Cplus = sp.spectral_moments(model.covariance(), 0.5)
    W, _, mu = sp.spectral_closed_form(Sigma, Cplus, 6)
    assert mu[4] > 0.3 and abs(mu[5]) < 0.05  # r = 5 informative eigenvalues, then ~0
    W = W[:5]
    w = sc.draw_task(5, rng=rng)
    r_w = float(sc.population_risk(W.T, model, w))
    r_lin = float(sc.linear_oracle_risk(model, w))
    r_u = float(sc.population_risk(model.U, model, w))
    assert float(sc.sin_theta(model.U, representation_basis(W))) > 0.8
    assert r_w - r_lin < 0.2 * (r_u - r_lin)
    assert r_w < r_u


def test_augmentation_graph():
    """G-1: the top eigenvalues are 1 per component, f = D^{-1/2}F* is constant per
    component (probe accuracy 1), GD reaches L = -sum gamma^2 = -3, and
    L_mf - L = ||A_bar||_F^2 exactly."""
    A, labels = sp.augmentation_graph([3, 4, 5], rng=1)
    Abar, deg = sp.normalized_adjacency(A)
    F, gamma = sp.graph_spectral_embedding(A, 4)
    np.testing.assert_allclose(gamma[:3], 1.0, atol=1e-12)
    assert gamma[3] < 1 - 1e-3
    f = F[:, :3] / np.sqrt(deg)[:, None]
    for c in range(3):
        block = f[labels == c]
        np.testing.assert_allclose(block, np.broadcast_to(block[0], block.shape), atol=1e-10)
    # linear probe = nearest class mean in the embedding
    means = np.stack([f[labels == c].mean(0) for c in range(3)])
    pred = np.argmin(((f[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert np.all(pred == labels)
    res = gradient_descent(
        lambda p: sp.graph_spectral_loss(p[0], Abar),
        lambda p: (sp.graph_spectral_grad(p[0], Abar),),
        (0.1 * np.random.default_rng(2).standard_normal((12, 3)),),
        step=0.05,
        max_iter=20_000,
        tol_grad=1e-9,
    )
    assert res.loss == pytest.approx(-3.0, abs=1e-9)
    Fh = res.params[0]
    L_mf = np.sum((Abar - Fh @ Fh.T) ** 2)
    assert L_mf - res.loss == pytest.approx(np.sum(Abar**2), rel=1e-12)


def test_leakage_lowers_the_gap():
    """G-4: cross-component edges of weight eps lower the third eigenvalue below 1."""
    gaps = []
    for eps in (0.0, 0.01, 0.1):
        A, _ = sp.augmentation_graph([4, 4, 4], eps=eps, rng=3)
        _, gamma = sp.graph_spectral_embedding(A, 4)
        gaps.append(gamma[2] - gamma[3])
    assert gaps[0] > gaps[1] > gaps[2]


def test_bad_input():
    with pytest.raises(ValueError, match="positive definite"):
        sp.spectral_closed_form(np.zeros((3, 3)), np.eye(3), 2)
    with pytest.raises(ValueError, match="k must be an integer"):
        sp.spectral_closed_form(np.eye(3), np.eye(3), 4)
    with pytest.raises(ValueError, match="Sigma and Cplus"):
        sp.spectral_closed_form(np.eye(3), np.eye(4), 2)
    with pytest.raises(ValueError, match="p must be 0.5"):
        sp.spectral_moments(np.eye(3), 0.3)
    with pytest.raises(ValueError, match="masks"):
        sp.spectral_moments(np.eye(3), 0.5, masks="other")
    with pytest.raises(ValueError, match="positive degrees"):
        sp.normalized_adjacency(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="W must have shape"):
        sp.spectral_population_loss(np.ones((2, 4)), np.eye(3), np.eye(3))
