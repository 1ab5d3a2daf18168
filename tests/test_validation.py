"""Bad input gets a clear TypeError/ValueError naming the parameter and its range."""

import numpy as np
import pytest

import spikedcl as sc

X = np.random.default_rng(0).standard_normal((30, 6))
FITS = [sc.fit_contrastive, sc.fit_pca, sc.fit_autoencoder, sc.fit_gan, sc.fit_heteropca]


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize(
    "r, exc, match",
    [
        (6, ValueError, r"r must be an integer in \[1, 5\], got 6"),
        (9, ValueError, r"r must be an integer in \[1, 5\], got 9"),
        (0, ValueError, r"r must be an integer in \[1, 5\], got 0"),
        (2.5, TypeError, "r must be an integer"),
        (True, TypeError, "r must be an integer"),
    ],
)
def test_bad_rank(fit, r, exc, match):
    with pytest.raises(exc, match=match):
        fit(X, r)


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize(
    "data, exc, match",
    [
        (X[:1], ValueError, r"X must have at least 2 rows \(samples\), got n=1"),
        (X[:, 0], ValueError, r"X must be 2-D of shape \(n_samples, n_features\), got shape \(30,\)"),
        (X[None], ValueError, r"X must be 2-D .* got shape \(1, 30, 6\)"),
        (np.where(X > 1.5, np.nan, X), ValueError, "X contains NaN or infinite values"),
        (np.where(X > 1.5, np.inf, X), ValueError, "X contains NaN or infinite values"),
        ("data", TypeError, "X must be an array"),
        (None, TypeError, "X must be an array"),
        (X.astype(complex), TypeError, "X must have a real floating dtype"),
        ([["a", "b"], ["c", "d"]], TypeError, "X must be a numeric array"),
    ],
)
def test_bad_data(fit, data, exc, match):
    with pytest.raises(exc, match=match):
        fit(data, 2)


def test_lists_and_integers_are_accepted():
    fit = sc.fit_pca(np.arange(40).reshape(10, 4).tolist(), 2)
    assert fit.W.dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"p": 0.0}, ValueError, r"p must lie in the open interval \(0, 1\), got 0.0"),
        ({"p": 1.5}, ValueError, r"p must lie in the open interval \(0, 1\), got 1.5"),
        ({"p": np.nan}, ValueError, "p must be finite"),
        ({"lam": 0.0}, ValueError, r"lam must lie in \(0, inf\), got 0.0"),
        ({"lam": -1.0}, ValueError, r"lam must lie in \(0, inf\)"),
        ({"lam": "1"}, TypeError, "lam must be a real number"),
        ({"masks": "average"}, ValueError, "masks must be one of 'realized', 'expected'; got 'average'"),
        ({"loss": "infonce"}, ValueError, "loss must be one of 'cross-view', 'simclr'"),
        ({"mask_mode": "block"}, ValueError, "mask_mode must be one of 'per-sample', 'fixed', 'fixed-bernoulli', 'exact-count'"),
        ({"masks": "expected", "mask_mode": "fixed"}, ValueError, "masks='expected' averages iid per-sample masks"),
        ({"rng": -3}, ValueError, "rng seed must be a non-negative integer"),
        ({"rng": 1.5}, TypeError, "rng must be None"),
    ],
)
def test_bad_contrastive_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sc.fit_contrastive(X, 2, **kwargs)


def test_bad_options_of_other_fits():
    with pytest.raises(ValueError, match=r"lam must lie in \[0, inf\)"):
        sc.fit_autoencoder(X, 2, lam=-0.1)
    with pytest.raises(ValueError, match=r"max_iter must be an integer in \[1, inf\]"):
        sc.fit_heteropca(X, 2, max_iter=0)
    with pytest.raises(ValueError, match=r"tol must lie in \(0, inf\)"):
        sc.fit_heteropca(X, 2, tol=0.0)


def test_mismatched_views():
    with pytest.raises(ValueError, match=r"X1 and X2 must have the same shape, got \(30, 6\) and \(30, 5\)"):
        sc.contrastive_matrix(X, X[:, :5])
    with pytest.raises(ValueError, match=r"X1 must have at least 2 rows"):
        sc.contrastive_matrix(X[:1], X[:1])


def test_unknown_population_method():
    model = sc.SpikedModel.random(30, 2, rng=0)
    with pytest.raises(ValueError, match="method must be one of 'pca', 'autoencoder', 'gan', 'contrastive'"):
        sc.population_fit(model, "vae")
    with pytest.raises(ValueError, match=r"r must be an integer in \[1, 29\]"):
        sc.population_fit(model, "pca", r=30)


def test_from_matrix_entry_points_validate_and_symmetrise(rng):
    from spikedcl.closed_form import (
        contrastive_fit_from_matrix,
        heteropca_fit_from_moment,
        principal_fit_from_moment,
    )

    A = rng.standard_normal((5, 5))
    M = A @ A.T  # positive definite: no rank warning
    with pytest.raises(ValueError, match=r"r must be an integer in \[1, 4\], got 7"):
        contrastive_fit_from_matrix(M, 7)
    with pytest.raises(ValueError, match=r"r must be an integer in \[1, 4\], got 0"):
        principal_fit_from_moment(M @ M, 0)
    with pytest.raises(ValueError, match=r"lam must lie in \(0, inf\)"):
        contrastive_fit_from_matrix(M, 2, lam=-1.0)
    with pytest.raises(ValueError, match=r"M must be a square \(d, d\) matrix, got shape \(5, 4\)"):
        contrastive_fit_from_matrix(M[:, :4], 2)
    with pytest.raises(ValueError, match=r"S must be a square"):
        heteropca_fit_from_moment(M[:4], 2)
    # only the symmetric part of M enters the objective tr(W M W^T)
    a, b = contrastive_fit_from_matrix(M / 2 + (A - A.T), 2), contrastive_fit_from_matrix(M / 2, 2)
    np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, atol=1e-12)


def test_mask_sizes():
    with pytest.raises(ValueError, match=r"p must be at least 1/d = 0.02 for mode='fixed'"):
        sc.draw_mask(10, 50, 0.01, mode="fixed")
    with pytest.raises(ValueError, match="mode='exact-count'"):
        sc.fit_contrastive(X, 2, p=0.1, mask_mode="exact-count", rng=0)
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, inf\]"):
        sc.draw_mask(-1, 5)
    with pytest.raises(ValueError, match=r"r must be an integer in \[1, 4\], got 8"):
        sc.haar_basis(5, 8)
