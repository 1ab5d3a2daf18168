"""Bad input at the public boundary: each case a clear error naming the parameter, or a warning."""

import numpy as np
import pytest

import spikedcl as sc
from spikedcl.exceptions import SpikedModelWarning


@pytest.fixture
def X(seed):
    return sc.SpikedModel.random(20, 2, rng=seed).sample(400, rng=seed)


@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_solver_options_must_be_a_mapping(X, solver):
    with pytest.raises(TypeError, match=r"solver_options must be None or a dict with keys among .*max_iter|epochs"):
        sc.fit_contrastive(X, 2, solver=solver, solver_options=5, rng=0)
    with pytest.raises(TypeError, match="solver_options must be None or a dict"):
        sc.fit_pca(X, 2, solver="gd", solver_options=5)
    with pytest.raises(TypeError, match=r"solver_options\['monitor'\] must be callable"):
        sc.fit_pca(X, 2, solver="gd", solver_options={"monitor": 3})


def test_float16_is_upcast_to_float32_with_a_warning(X):
    with pytest.warns(UserWarning, match="X has dtype float16, which linear algebra does not support"):
        fit = sc.fit_contrastive(X.astype(np.float16), 2, rng=0)
    assert fit.W.dtype == np.float32
    ref = sc.fit_contrastive(X.astype(np.float16).astype(np.float32), 2, rng=0)
    np.testing.assert_array_equal(fit.W, ref.W)  # exactly the float32 fit of the same numbers
    with pytest.warns(UserWarning, match="float16"):
        sc.fit_pca(X.astype(np.float16), 2)


def test_np_matrix_is_a_plain_array(X):
    for fit in (sc.fit_pca, sc.fit_gan):
        np.testing.assert_array_equal(fit(np.matrix(X), 2).W, fit(X, 2).W)
    np.testing.assert_array_equal(sc.fit_contrastive(np.matrix(X), 2, rng=1).W, sc.fit_contrastive(X, 2, rng=1).W)


def test_population_fit_needs_a_model(X):
    with pytest.raises(TypeError, match="model must be a SpikedModel .*got ndarray"):
        sc.population_fit(X, "pca")
    with pytest.raises(TypeError, match="model must be a SpikedModel"):
        sc.population_matrix(X)


def test_transform_checks_the_number_of_features(X):
    fit = sc.fit_pca(X, 2)
    with pytest.raises(ValueError, match=r"n_features = 20 \(the fit's dimension\), got shape \(400, 19\)"):
        fit.transform(X[:, :19])
    assert fit.transform(X).shape == (400, 2)


@pytest.mark.parametrize("call", [
    lambda X: sc.fit_contrastive(X, 2, rng=0),
    lambda X: sc.fit_contrastive(X, 2, loss="simclr", rng=0),
    lambda X: sc.fit_contrastive(X, 2, masks="expected"),
    lambda X: sc.fit_contrastive(X, 2, rng=0, eigensolver="matrix-free"),
    lambda X: sc.fit_pca(X, 2),
    lambda X: sc.fit_pca(X, 2, eigensolver="matrix-free"),
    lambda X: sc.second_moment(X),
    lambda X: sc.contrastive_matrix(*sc.random_mask(X, rng=0)),
])
def test_overflow_of_finite_data_is_not_called_nan(X, call):
    """(1e200)^2 overflows float64 although every entry is finite."""
    with pytest.raises(ValueError, match="is finite but its statistics overflowed .*rescale"):
        call(X * 1e200)
    X = X.copy()
    X[3, 4] = np.nan
    with pytest.raises(ValueError, match="contains NaN or infinite values"):
        call(X)


@pytest.mark.parametrize("call", [
    lambda X: sc.fit_pca(X, 2, center="yes"),
    lambda X: sc.fit_autoencoder(X, 2, center="yes"),
    lambda X: sc.fit_gan(X, 2, center=1),
    lambda X: sc.second_moment(X, center="yes"),
    lambda X: sc.second_moment_operator(X, center="no"),
    lambda X: sc.fit_pca(X, 2, batched="yes"),
])
def test_flags_must_be_bools(X, call):
    with pytest.raises(TypeError, match=r"(center|batched) must be True or False, got"):
        call(X)


@pytest.mark.parametrize("call", [
    lambda X: sc.fit_contrastive(X, 2, rng=0),
    lambda X: sc.fit_pca(X, 2),
    lambda X: sc.fit_autoencoder(X, 2),
    lambda X: sc.fit_heteropca(X, 2),
])
def test_fewer_samples_than_features_warns(X, call):
    with pytest.warns(SpikedModelWarning, match=r"X has n=20 rows .* and d=400 columns .* pass X.T"):
        call(X.T)
