import math
import warnings

import numpy as np
import pytest

import spikedcl
from spikedcl import SpikedModel, SpikedModelWarning, noise_variances


def test_haar_basis_is_orthonormal_and_unbiased(seed):
    rng = np.random.default_rng(seed)
    U = spikedcl.haar_basis(30, 4, rng)
    np.testing.assert_allclose(U.T @ U, np.eye(4), atol=1e-12)
    # E[U U^T] = (r/d) I for a Haar basis: average 2000 projectors
    P = sum(B @ B.T for B in (spikedcl.haar_basis(30, 4, rng) for _ in range(2000))) / 2000
    # each entry has sd <= sqrt(r/d)/sqrt(2000)*~1; 6 sd of 0.0058 is 0.035
    np.testing.assert_allclose(P, 4 / 30 * np.eye(30), atol=0.035)


@pytest.mark.parametrize("profile", ["uniform", "uniform-random", "two-block", "linear-std"])
@pytest.mark.parametrize("condition", [1.0, 3.7, 8.0])
def test_noise_profiles_have_the_requested_condition(profile, condition):
    s2 = noise_variances(101, profile, condition=condition, max_var=2.0, rng=0)
    assert s2.shape == (101,)
    assert s2.max() == pytest.approx(2.0, rel=1e-12) or profile == "uniform-random"
    if profile != "uniform-random":
        assert s2.max() / s2.min() == pytest.approx(condition, rel=1e-12)
    else:
        assert 2.0 / condition <= s2.min() and s2.max() <= 2.0


def test_two_block_and_linear_std_shapes():
    s2 = noise_variances(7, "two-block", condition=4.0)
    np.testing.assert_array_equal(s2, [1, 1, 1, 1, 0.25, 0.25, 0.25])
    sd = np.sqrt(noise_variances(5, "linear-std", condition=4.0))
    np.testing.assert_allclose(np.diff(sd), np.full(4, -0.125))


def test_random_model_fields(seed):
    m = SpikedModel.random(200, 5, nu=2.0, snr=0.5, condition=8.0, rng=seed)
    assert (m.d, m.r) == (200, 5)
    assert m.condition == pytest.approx(8.0)
    # sigma_max^2 = nu^2 / rho^2
    assert m.noise_var.max() == pytest.approx(16.0)
    assert m.incoherence == pytest.approx(np.max(np.sum(m.U**2, axis=1)))
    assert m.incoherence_ratio == pytest.approx(m.incoherence / (5 * math.log(200) / 200))
    Sigma = m.covariance()
    np.testing.assert_allclose(Sigma, 4.0 * m.U @ m.U.T + np.diag(m.noise_var))


def test_sample_moments_match_the_covariance(small_model, seed):
    n = 200_000
    X, Z = small_model.sample(n, rng=seed, return_latent=True)
    assert X.shape == (n, 40) and Z.shape == (n, 3)
    Sigma = small_model.covariance()
    # entrywise sd of the sample second moment <= sqrt(2)*max var/sqrt(n) ~ 0.0045
    np.testing.assert_allclose(X.T @ X / n, Sigma, atol=6 * np.sqrt(2 / n) * Sigma.max())
    np.testing.assert_allclose(Z.T @ Z / n, np.eye(3), atol=6 * np.sqrt(2 / n))
    # the noise is X - Z U^T and is independent of Z
    E = X - Z @ small_model.U.T
    np.testing.assert_allclose(E.var(axis=0), small_model.noise_var, rtol=6 * np.sqrt(2 / n))
    np.testing.assert_allclose(Z.T @ E / n, 0, atol=6 / np.sqrt(n))


def test_sampling_is_reproducible_and_dtype_aware(small_model):
    a = small_model.sample(50, rng=3)
    b = small_model.sample(50, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    c = small_model.sample(50, rng=3, dtype=np.float32)
    assert c.dtype == np.float32
    np.testing.assert_array_equal(c, a.astype(np.float32))


def test_warnings_outside_the_regime(small_model):
    with pytest.warns(SpikedModelWarning, match="n=30 <= d=40"):
        small_model.sample(30, rng=0)
    with pytest.warns(SpikedModelWarning, match="not much larger"):
        SpikedModel.random(20, 5, rng=0)
    coherent = np.zeros((100, 2))
    coherent[0, 0] = coherent[1, 1] = 1.0  # I(U) = 1 = 10.9 x r log d / d
    with pytest.warns(SpikedModelWarning, match="coherent"):
        SpikedModel(U=coherent, nu=1.0, noise_var=np.ones(100))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SpikedModel.random(200, 5, rng=0)  # inside the regime: silent
        SpikedModel(U=spikedcl.haar_basis(100, 2, 0), nu=1.0, noise_var=np.ones(100))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"d": 10, "r": 10}, ValueError, r"r must be an integer in \[1, 9\]"),
        ({"d": 10, "r": 0}, ValueError, r"r must be an integer in \[1, 9\]"),
        ({"d": 10, "r": 2.0}, TypeError, "r must be an integer"),
        ({"d": 10, "r": 2, "noise": "pink"}, ValueError, "noise must be one of"),
        ({"d": 10, "r": 2, "condition": 0.5}, ValueError, r"condition must lie in \[1, inf\)"),
        ({"d": 10, "r": 2, "nu": -1.0}, ValueError, r"nu must lie in \(0, inf\)"),
        ({"d": 10, "r": 2, "noise": np.ones(9)}, ValueError, "noise_var must have shape"),
        ({"d": 10, "r": 2, "noise": -np.ones(10)}, ValueError, "finite and positive"),
        ({"d": 10, "r": 2, "rng": "seed"}, TypeError, "rng must be"),
    ],
)
def test_bad_model_arguments(kwargs, exc, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        with pytest.raises(exc, match=match):
            SpikedModel.random(**kwargs)


def test_bad_model_fields_and_sample_size(small_model):
    with pytest.raises(ValueError, match="orthonormal"):
        SpikedModel(U=np.ones((5, 2)), nu=1.0, noise_var=np.ones(5))
    with pytest.raises(ValueError, match=r"n must be an integer in \[2, inf\]"):
        small_model.sample(1)
