"""The loss protocol: registry, validation, bit-identity with the functions, the paper's CL."""

from dataclasses import FrozenInstanceError, dataclass

import numpy as np
import pytest

from spikedcl import objectives
from spikedcl.closed_form import contrastive_matrix
from spikedcl.solvers import gradient_descent
from spikedcl.systems import align_uniform as au
from spikedcl.systems import nt_xent as nx
from spikedcl.systems import siglip as sg
from spikedcl.systems import spectral as sp
from spikedcl.systems.base import LOSSES, ContrastiveLoss, make_loss, register_loss
from spikedcl.systems.encoder import encoder_objective


@pytest.fixture
def pair():
    rng = np.random.default_rng(7)
    return rng.standard_normal((12, 4)), rng.standard_normal((12, 4))


def test_registry_holds_the_sweep_methods():
    for name in ("nt-xent", "nt-xent-head", "siglip", "spectral-sgd", "align-uniform", "linear-cl"):
        assert LOSSES[name].name == name


@pytest.mark.parametrize(
    ("name", "params", "call"),
    [
        ("nt-xent", {"temperature": 0.3}, lambda Z1, Z2: nx.nt_xent_value_and_grad(Z1, Z2, temperature=0.3)),
        ("nt-xent-head", {}, lambda Z1, Z2: nx.nt_xent_value_and_grad(Z1, Z2, temperature=0.5)),
        ("spectral-sgd", {}, sp.spectral_value_and_grad),
        (
            "align-uniform",
            {"lam_align": 2, "lam_uniform": 0.5},
            lambda Z1, Z2: au.align_uniform_value_and_grad(Z1, Z2, lam_align=2.0, lam_uniform=0.5),
        ),
    ],
)
def test_loss_classes_are_bit_identical_to_the_functions(pair, name, params, call):
    # exact equality: the experiments' rows must not move
    got = make_loss(name, dict(params, n=100, steps=3)).value_and_grad(*pair)
    want = call(*pair)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_siglip_extra_parameters(pair):
    loss = make_loss("siglip", {"bias_init": -5})
    assert loss.extra_init == (sg.INIT_LOG_TEMPERATURE, -5.0)
    extra = tuple(np.asarray(float(e)) for e in loss.extra_init)
    got = loss.value_and_grad(*pair, *extra)
    want = sg.siglip_value_and_grad(*pair, *extra)
    assert len(got) == 5
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert make_loss("siglip").extra_init[1] == sg.INIT_BIAS


def test_head_shape():
    assert make_loss("nt-xent").head_shape(3) is None
    assert make_loss("nt-xent-head").head_shape(3) == (6, 3)


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("nt-xent", {"temperature": 0.0}, "temperature"),
        ("nt-xent", {"similarity": "l1"}, "similarity"),
        ("align-uniform", {"lam_uniform": -1.0}, "lam_uniform"),
        ("spectral-sgd", {"mu": -2.0}, "mu"),
        ("linear-cl", {"lam": 0.0}, "lam"),
        ("linear-cl", {"form": "triplet"}, "form"),
    ],
)
def test_bad_hyperparameters_name_the_field(name, params, field):
    with pytest.raises(ValueError, match=field):
        make_loss(name, params)


def test_unknown_loss_lists_the_registered_names():
    with pytest.raises(ValueError, match="'nt-xent'"):
        make_loss("nt-xnet")


def test_losses_are_frozen():
    loss = make_loss("nt-xent")
    with pytest.raises(FrozenInstanceError):
        loss.temperature = 1.0


def test_register_rejects_non_protocol_classes():
    class Plain:
        name = "plain"

    with pytest.raises(TypeError, match="ContrastiveLoss"):
        register_loss(Plain)

    class Mutable(ContrastiveLoss):
        name = "mutable"

    with pytest.raises(TypeError, match="frozen dataclass"):
        register_loss(dataclass(Mutable))
    assert "plain" not in LOSSES and "mutable" not in LOSSES


def test_a_loss_registered_from_outside_trains_through_the_encoder_glue(pair):
    @register_loss
    @dataclass(frozen=True)
    class Cosine(ContrastiveLoss):
        """Negative mean inner product plus a quadratic penalty (a toy)."""

        name = "toy-inner"
        weight: float = 1.0

        def value_and_grad(self, Z1, Z2):
            n = Z1.shape[0]
            loss = -np.sum(Z1 * Z2) / n + self.weight * (np.sum(Z1**2) + np.sum(Z2**2)) / (2 * n)
            return loss, -Z2 / n + self.weight * Z1 / n, -Z1 / n + self.weight * Z2 / n

    try:
        loss = make_loss("toy-inner", {"weight": 2.0})
        X1, X2 = pair
        fun, grad = encoder_objective(loss, X1, X2)
        W = (np.ones((2, 4)) / 4,)
        # finite-difference check of the composed gradient (central differences, h = 1e-6)
        g = grad(W)[0]
        E = np.zeros_like(W[0])
        E[1, 2] = 1e-6
        fd = (fun((W[0] + E,)) - fun((W[0] - E,))) / 2e-6
        assert fd == pytest.approx(g[1, 2], rel=1e-6)
    finally:
        LOSSES.pop("toy-inner")


@pytest.mark.parametrize("form", ["cross-view", "simclr"])
def test_linear_cl_through_the_protocol_equals_the_papers_batch_loss(pair, form):
    rng = np.random.default_rng(3)
    X1, X2 = rng.standard_normal((20, 6)), rng.standard_normal((20, 6))
    W = rng.standard_normal((2, 6))
    loss = make_loss("linear-cl", {"lam": 0.7, "form": form})
    fun, grad = encoder_objective(loss, X1, X2)
    want = objectives.contrastive_batch_loss(W, X1, X2, 0.7, loss=form)
    want_grad = objectives.contrastive_batch_grad(W, X1, X2, 0.7, loss=form)
    # same sums in another order: agreement to a few ulps of the O(1) terms
    assert float(fun((W,))) == pytest.approx(float(want), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad((W,))[0], want_grad, rtol=1e-11, atol=1e-12)
    M = contrastive_matrix(X1, X2, loss=form)
    assert float(want) == pytest.approx(float(objectives.contrastive_loss(W, M, 0.7)), rel=1e-11)


def test_linear_cl_closed_form_is_the_minimiser_gradient_descent_finds():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((200, 5)) * np.array([3.0, 2.0, 1.0, 0.5, 0.3])
    X1, X2 = X + 0.1 * rng.standard_normal(X.shape), X + 0.1 * rng.standard_normal(X.shape)
    loss = make_loss("linear-cl", {"lam": 1.0})
    W_star = loss.closed_form(X1, X2, 2)
    fun, grad = encoder_objective(loss, X1, X2)
    res = gradient_descent(fun, grad, (0.1 * rng.standard_normal((2, 5)),), step=0.05, max_iter=20000, tol_grad=1e-9)
    assert res.converged
    # the minimiser is unique up to a rotation of the rows: compare W^T W (gradient norm at most 1e-9)
    np.testing.assert_allclose(res.params[0].T @ res.params[0], W_star.T @ W_star, atol=1e-6)


def test_spectral_closed_form_through_the_protocol(pair):
    rng = np.random.default_rng(5)
    X1, X2 = rng.standard_normal((50, 5)), rng.standard_normal((50, 5))
    got = make_loss("spectral-sgd").closed_form(X1, X2, 2)
    want = sp.spectral_closed_form(*sp.view_moments(X1, X2), 2)[0]
    np.testing.assert_array_equal(got, want)
