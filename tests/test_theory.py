import numpy as np
import pytest

from spikedcl import theory


def test_bound_shape_at_the_reference_points():
    """docs/model.md §9 'shape' column and §7's remark on the report's defaults."""
    n = np.array([500, 1000, 2000, 5000, 10_000, 20_000, 50_000])
    shape = theory.cl_upper_bound(n, 200, 5)
    np.testing.assert_allclose(shape, [1.71, 1.30, 1.00, 0.74, 0.61, 0.52, 0.44], atol=0.005)
    d = np.array([20, 50, 100, 400, 800])
    np.testing.assert_allclose(theory.cl_upper_bound(20_000, d, 5), [1.75, 0.99, 0.67, 0.48, 0.54], atol=0.005)
    # constant 1 is vacuous at r = 10, d = 40, n = 20000: 3.06 against the ceiling √r = 3.16
    assert float(theory.cl_upper_bound(20_000, 40, 10)) == pytest.approx(3.06, abs=0.005)
    bias, var = theory.cl_bound_terms(20_000, 40, 10)
    assert float(bias) == pytest.approx(10**1.5 * np.log(40) / 40)
    assert float(var) == pytest.approx(np.sqrt(40 * 10 / 20_000))


def test_anchors():
    assert float(theory.random_subspace_value(200, 5)) == pytest.approx(2.21, abs=0.005)
    assert float(theory.random_subspace_value(40, 10)) == pytest.approx(2.74, abs=0.005)
    assert float(theory.ae_lower_bound(5, c=0.35)) == pytest.approx(0.35 * np.sqrt(5))


def test_fits_recover_known_constants(rng):
    n = np.repeat([1000, 2000, 5000, 20_000], 3)
    d = np.tile([50, 200, 800], 4)
    r = np.full(12, 5)
    y = theory.cl_upper_bound(n, d, r, a=0.11, b=0.86)
    fit = theory.fit_bound_coefficients(n, d, r, y)
    np.testing.assert_allclose(fit.coef, [0.11, 0.86], rtol=1e-10)
    assert fit.max_rel_misfit < 1e-10
    # a negative bias constant is not allowed: NNLS pins it at 0
    fit = theory.fit_bound_coefficients(n, d, r, theory.cl_upper_bound(n, d, r, a=0.0, b=1.2) * np.exp(0.01 * rng.standard_normal(12)))
    assert fit.coef[0] >= 0 and fit.coef[1] == pytest.approx(1.2, rel=0.02)
    one = theory.fit_bound_constant(2.0 * theory.cl_upper_bound(n, d, r), 2.0 * 1.7 * theory.cl_upper_bound(n, d, r))
    assert one.coef[0] == pytest.approx(1.7, rel=1e-12)


def test_loglog_slope(rng):
    n = np.array([2000, 5000, 10_000, 20_000, 50_000])
    slope, intercept = theory.loglog_slope(n, 3.0 * n**-0.5)
    assert slope == pytest.approx(-0.5, rel=1e-12) and np.exp(intercept) == pytest.approx(3.0, rel=1e-12)


def test_bad_theory_input():
    with pytest.raises(ValueError, match="1 <= r < d"):
        theory.cl_upper_bound(100, 5, 5)
    with pytest.raises(ValueError, match="n >= 2"):
        theory.cl_bound_terms(1, 50, 5)
    with pytest.raises(ValueError, match=r"c must lie in \(0, 1\)"):
        theory.ae_lower_bound(5, c=1.5)
    with pytest.raises(ValueError, match="observed must be"):
        theory.fit_bound_constant([1.0, 2.0], [1.0, -2.0])
    with pytest.raises(ValueError, match="two distinct"):
        theory.loglog_slope([1.0, 1.0], [1.0, 2.0])
