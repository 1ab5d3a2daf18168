"""One solver stack: the damped Newton routine, the max_iter warning, the swapped risk arguments."""

import warnings

import numpy as np
import pytest

import spikedcl as sc
from spikedcl import downstream
from spikedcl.exceptions import ConvergenceWarning
from spikedcl.solvers import damped_newton, epochs_for_steps, gradient_descent, stochastic_descent


@pytest.fixture
def quadratic():
    A = np.diag([1.0, 10.0])
    b = np.ones(2)
    return (lambda p: 0.5 * p[0] @ A @ p[0] - b @ p[0]), (lambda p: (A @ p[0] - b,))


def test_gradient_descent_warns_when_it_stops_at_max_iter(quadratic):
    fun, grad = quadratic
    with pytest.warns(ConvergenceWarning, match=r"max_iter=5 steps .*tol_grad=1e-10.*warn=False"):
        res = gradient_descent(fun, grad, (np.zeros(2),), step=0.05, max_iter=5)
    assert not res.converged and res.stop_reason == "max_iter"


def test_gradient_descent_capped_on_purpose_is_silent(quadratic):
    fun, grad = quadratic
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = gradient_descent(fun, grad, (np.zeros(2),), step=0.05, max_iter=5, warn=False)
        assert res.n_iter == 5 and not res.converged
        # zero steps is an evaluation, not a failed run; a converged run never warns
        assert gradient_descent(fun, grad, (np.zeros(2),), step=0.05, max_iter=0).n_iter == 0
        assert gradient_descent(fun, grad, (np.zeros(2),), step=1.0).converged


def test_damped_newton_minimises_a_strictly_convex_function():
    # f(x) = sum(exp(x) - 2 x): minimiser log 2 in every coordinate, Hessian diag(exp(x))
    res = damped_newton(
        lambda x: np.sum(np.exp(x) - 2 * x),
        lambda x: (np.exp(x) - 2, np.diag(np.exp(x))),
        np.array([3.0, -4.0]),
        tol=1e-12,
    )
    assert res.converged and res.stop_reason == "gradient norm"
    # at max-norm gradient < 1e-12 and curvature 2, x is within 1e-12 of log 2
    np.testing.assert_allclose(res.params[0], np.log(2.0), atol=1e-12)
    assert res.loss_history == sorted(res.loss_history, reverse=True)  # halving keeps descent
    assert len(res.loss_history) == res.n_iter + 1


def test_damped_newton_warns_at_max_iter():
    with pytest.warns(ConvergenceWarning, match=r"toy fit stopped with max \|gradient\|.*max_iter=1 Newton"):
        res = damped_newton(
            lambda x: np.sum(np.exp(x) - 2 * x),
            lambda x: (np.exp(x) - 2, np.diag(np.exp(x))),
            np.array([5.0]),
            max_iter=1,
            label="toy fit",
        )
    assert not res.converged and res.stop_reason == "max_iter" and res.n_iter == 1


@pytest.mark.parametrize("bad", [{"max_iter": 0}, {"tol": -1.0}])
def test_damped_newton_checks_its_options(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        damped_newton(lambda x: np.sum(x**2), lambda x: (2 * x, 2 * np.eye(1)), np.ones(1), **bad)


def test_logistic_probes_run_on_the_newton_routine():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((300, 3))
    y = (F @ np.array([1.0, -2.0, 0.5]) + 0.5 * rng.standard_normal(300) > 0).astype(float)
    beta = downstream.fit_logistic(F, y)
    # K = 2 multinomial is the same strictly convex problem: one minimiser (Newton tol 1e-10 on the gradient)
    beta_m = downstream.fit_multinomial_logistic(F, y)
    np.testing.assert_allclose(beta_m[:, 0], beta, atol=1e-8)
    with pytest.warns(ConvergenceWarning, match="^logistic regression stopped"):
        downstream.fit_logistic(F, y, max_iter=1)
    with pytest.warns(ConvergenceWarning, match="^multinomial logistic regression stopped"):
        downstream.fit_multinomial_logistic(F, y, max_iter=1)


def test_epochs_for_steps_is_public_and_matches_the_descent():
    # 10 samples in batches of 4: batches of 4, 4, 2 -> 3 steps per epoch; 7 steps need 3 epochs
    assert epochs_for_steps(10, 4, 7) == 3
    res = stochastic_descent(
        lambda p, idx, rng: (np.sum(p[0] ** 2), (2 * p[0],)), (np.ones(2),), n_samples=10, batch_size=4,
        epochs=epochs_for_steps(10, 4, 7), lr=0.01, rng=0,
    )
    assert res.n_iter == 9


@pytest.fixture
def risk_args():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sc.SpikedModelWarning)
        model = sc.SpikedModel.random(12, 2, rng=0)
    B = np.linalg.qr(np.random.default_rng(1).standard_normal((12, 2)))[0]
    return B, model, np.ones(2)


def test_excess_risk_in_order(risk_args):
    B, model, w = risk_args
    # the true subspace has zero excess risk against U*: exact up to rounding of O(1) risks
    assert float(downstream.excess_risk(model.U, model, w)) == pytest.approx(0.0, abs=1e-12)
    assert np.isfinite(float(downstream.excess_risk(B, model, w)))


@pytest.mark.parametrize(
    ("order", "error", "message"),
    [
        ((1, 0, 2), TypeError, r"excess_risk\(B, model, w\).*SpikedModel as B: the arguments look swapped"),
        ((0, 2, 1), TypeError, r"SpikedModel as w: the arguments look swapped"),
        ((2, 1, 0), ValueError, r"B must be 2-D of shape \(d, k\) = \(12, k\).*B and w look swapped"),
    ],
)
def test_excess_risk_with_swapped_arguments_says_which_is_which(risk_args, order, error, message):
    args = [risk_args[i] for i in order]
    with pytest.raises(error, match=message):
        downstream.excess_risk(*args)


def test_excess_risk_with_a_transposed_basis(risk_args):
    B, model, w = risk_args
    with pytest.raises(ValueError, match=r"looks transposed: pass B\.T"):
        downstream.excess_risk(B.T, model, w)
