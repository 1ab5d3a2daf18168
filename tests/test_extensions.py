"""Extension recipes: a mask law, a batch form and a noise profile defined outside the package.

Each toy is one class (or function) registered by name; the public fits then
accept the name like a built-in one and give the closed form computed here
independently.
"""

import math

import numpy as np
import pytest

import spikedcl as sc
from spikedcl.augment import MASK_LAWS, MaskLaw, register_mask_law
from spikedcl.data import NOISE_PROFILES, register_noise_profile
from spikedcl.forms import FORMS, BatchForm, register_form

ATOL = 1e-12  # float64 rounding on O(1) entries of d <= 40 matrices


class CyclicBlock(MaskLaw):
    """Toy law: view 1 is a cyclic run of floor(p d) coordinates starting at a uniform offset, per sample."""

    name = "toy-cyclic"

    def check(self, p, d):
        if math.floor(p * d) == 0:
            raise ValueError("p must be at least 1/d for mode='toy-cyclic'")

    def draw(self, rows, d, p, rng):
        start = rng.integers(0, d, size=rows)
        return (np.arange(d)[None, :] - start[:, None]) % d < math.floor(p * d)


class PositiveOnly(BatchForm):
    """Toy form: positive pairs only, M = sym(X1^T X2)/n (no negatives)."""

    name = "toy-positive"
    needs = frozenset({"cross"})

    def matrix(self, stats):
        return (stats.cross + stats.cross.mT) / (2 * stats.n)

    def expected(self, stats, q):
        G = stats.gram / stats.n
        return q * (G - np.diag(np.diag(G)))

    def operator(self, stats, q=None):
        n = stats.n
        if q is not None:
            return lambda V: q * (stats.apply_gram(V) / n - (stats.column_squares / n)[..., :, None] * V)
        return lambda V: (stats.apply_gram(V) - stats.apply_signed(V)) / (4 * n)

    def batch_loss(self, W, X1, X2, lam):
        G = W @ W.T
        return -np.sum((X1 @ W.T) * (X2 @ W.T)) / X1.shape[0] + lam / 2 * np.sum(G * G)

    def batch_grad(self, W, X1, X2, lam):
        F1, F2 = X1 @ W.T, X2 @ W.T
        return -(F1.T @ X2 + F2.T @ X1) / X1.shape[0] + 2 * lam * (W @ W.T) @ W


@pytest.fixture
def toy_law():
    law = register_mask_law(CyclicBlock())
    yield law
    MASK_LAWS.pop(law.name)


@pytest.fixture
def toy_form():
    form = register_form(PositiveOnly())
    yield form
    FORMS.pop(form.name)


@pytest.fixture
def X(seed):
    model = sc.SpikedModel.random(40, 3, rng=seed)
    return model.sample(3000, rng=seed)


def _top(M, r):
    mu, V = np.linalg.eigh(M)
    return mu[::-1][:r], V[:, ::-1][:, :r]


def test_toy_mask_law_fits_like_a_builtin(toy_law, X, seed):
    fit = sc.fit_contrastive(X, 3, mask_mode="toy-cyclic", p=0.3, rng=seed)
    X1, X2 = sc.random_mask(X, 0.3, rng=seed, mode="toy-cyclic")
    assert np.all(X1.astype(bool).sum(axis=1) <= math.floor(0.3 * 40))  # the law's count, at most
    mu, V = _top(sc.contrastive_matrix(X1, X2), 3)  # the same masks, M built independently
    np.testing.assert_allclose(fit.eigenvalues, mu, atol=ATOL)
    assert float(sc.sin_theta(fit.basis, V)) < 1e-10
    assert fit.info["mask_mode"] == "toy-cyclic"
    # every other entry point takes the name: matrix-free, stacked, streamed, minibatch
    free = sc.fit_contrastive(X, 3, mask_mode="toy-cyclic", p=0.3, rng=seed, eigensolver="matrix-free")
    np.testing.assert_allclose(free.eigenvalues, mu, rtol=1e-10)
    stack = sc.fit_contrastive(np.stack([X, X]), 3, mask_mode="toy-cyclic", p=0.3, rng=seed, batched=True)
    np.testing.assert_allclose(stack.eigenvalues[0], mu, atol=ATOL)
    model = sc.SpikedModel.random(40, 3, rng=seed)
    streamed = sc.fit_contrastive_streamed(model, 3000, 3, mask_mode="toy-cyclic", p=0.3, rng=seed, mask_rng=seed,
                                           chunk_size=700)
    inmem = sc.fit_contrastive(model.sample(3000, rng=seed), 3, mask_mode="toy-cyclic", p=0.3, rng=seed)
    np.testing.assert_allclose(streamed.eigenvalues, inmem.eigenvalues, atol=ATOL)
    sgd = sc.fit_contrastive(X, 3, mask_mode="toy-cyclic", p=0.3, rng=seed, solver="adam",
                             solver_options={"epochs": 2})
    assert sgd.W.shape == (3, 40) and np.all(np.isfinite(sgd.W))
    with pytest.raises(ValueError, match="masks='expected' averages iid per-sample masks"):
        sc.fit_contrastive(X, 3, mask_mode="toy-cyclic", masks="expected")
    with pytest.raises(ValueError, match="toy-cyclic"):
        sc.fit_contrastive(X, 3, mask_mode="toy-cyclic", p=0.01, rng=seed)


def test_a_registered_name_is_not_taken_twice(toy_law):
    with pytest.raises(ValueError, match="already registered"):
        register_mask_law(CyclicBlock())
    with pytest.raises(ValueError, match="already registered"):
        register_form(type("Again", (PositiveOnly,), {"name": "simclr"})())
    with pytest.raises(ValueError, match="mask_mode must be one of .*'toy-cyclic'"):
        sc.fit_contrastive(np.ones((5, 3)), 1, mask_mode="nope")


@pytest.mark.parametrize("register, cls, what", [(register_mask_law, "MaskLaw", "law"), (register_form, "BatchForm", "form")])
def test_registering_a_non_instance_or_unnamed_entry_is_refused(register, cls, what):
    # both tables share one registration routine: the messages name the parameter and the class
    with pytest.raises(TypeError, match=f"{what} must be a {cls} instance, got int"):
        register(5)
    base = CyclicBlock if what == "law" else PositiveOnly
    with pytest.raises(ValueError, match=f"{what}.name must be a non-empty string, got ''"):
        register(type("Unnamed", (base,), {"name": ""})())


def test_toy_batch_form_fits_like_a_builtin(toy_form, X, seed):
    fit = sc.fit_contrastive(X, 3, loss="toy-positive", rng=seed)
    X1, X2 = sc.random_mask(X, rng=seed)
    M = (X1.T @ X2 + X2.T @ X1) / (2 * X.shape[0])  # the toy form's matrix, written here
    mu, V = _top(M, 3)
    np.testing.assert_allclose(fit.eigenvalues, mu, atol=ATOL)
    assert float(sc.sin_theta(fit.basis, V)) < 1e-10
    np.testing.assert_allclose(sc.contrastive_matrix(X1, X2, loss="toy-positive"), M, atol=ATOL)
    # batch loss and gradient agree with the matrix objective
    W = np.random.default_rng(seed).standard_normal((3, 40))
    from spikedcl.objectives import contrastive_batch_grad, contrastive_batch_loss

    assert contrastive_batch_loss(W, X1, X2, 0.7, loss="toy-positive") == pytest.approx(
        sc.contrastive_loss(W, M, 0.7), rel=1e-10)
    np.testing.assert_allclose(contrastive_batch_grad(W, X1, X2, 0.7, loss="toy-positive"),
                               sc.contrastive_grad(W, M, 0.7), atol=1e-10)
    # expected and matrix-free paths
    S0 = X.T @ X / X.shape[0]
    np.testing.assert_allclose(sc.expected_contrastive_matrix(X, 0.5, loss="toy-positive"),
                               0.25 * (S0 - np.diag(np.diag(S0))), atol=ATOL)
    free = sc.fit_contrastive(X, 3, loss="toy-positive", rng=seed, eigensolver="matrix-free")
    np.testing.assert_allclose(free.eigenvalues, mu, rtol=1e-10)
    gd = sc.fit_contrastive(X, 3, loss="toy-positive", rng=seed, solver="gd")
    assert float(sc.sin_theta(gd.basis, V)) < 1e-6  # GD lands on the closed form (tol_grad 1e-10)


def geometric(d, min_var, max_var, rng):
    """Toy profile: variances in geometric progression from max to min."""
    return np.geomspace(max_var, min_var, d)


def test_toy_noise_profile_is_sampled_and_fitted(seed):
    register_noise_profile("toy-geometric", geometric)
    try:
        model = sc.SpikedModel.random(30, 2, noise="toy-geometric", condition=9.0, rng=seed)
        np.testing.assert_allclose(model.noise_var, np.geomspace(1.0, 1 / 9, 30), rtol=1e-14)
        assert model.profile == "toy-geometric" and model.condition == pytest.approx(9.0, rel=1e-12)
        X = model.sample(200_000, rng=seed)
        fit = sc.fit_contrastive(X, 2, rng=seed)
        limit = sc.population_fit(model, "contrastive")
        # sample fit -> population fit at rate sqrt(d r / n) / gap ~ 0.02 here; 0.1 leaves a 5x margin
        assert float(sc.sin_theta(fit.basis, limit.basis)) < 0.1
        with pytest.raises(ValueError, match="built in"):
            register_noise_profile("uniform", geometric)
    finally:
        NOISE_PROFILES.pop("toy-geometric", None)


# ----------------------------------------------------------------------------- the same toys through a sweep


def _subspace_sweep(**params):
    """Rows of a two-replicate subspace sweep (run in this process, where the toys are registered)."""
    from spikedcl.sweep import resolve_config, run_sweep

    raw = {"name": "toy", "experiment": "subspace", "reps": 2, "seed": 3,
           "grid": {"n": [400]}, "params": {"d": 24, "r": 2, "C": 4.0, "noise": "uniform", "theory": False,
                                             "metrics": ["sin_theta"], **params}}
    table = run_sweep(resolve_config(raw)).table
    return table.set_index(["method", "rep"])["value"]


def _replicate_draw(rep, noise="uniform"):
    """The samples and fit generator the sweep's replicate ``rep`` sees (addressed seeds)."""
    from spikedcl.experiments.spiked import draw_spiked
    from spikedcl.experiments.subspace import subspace_recovery
    from spikedcl.random import cell_seed

    P = subspace_recovery.resolve({"n": 400, "d": 24, "r": 2, "C": 4.0, "noise": noise, "methods": ["cl"]})
    # the data cell is named by the grid axes among the data keys: here n alone
    draw = draw_spiked(P, cell_seed(3, "n=400", rep))
    return draw.model, draw.X, np.random.default_rng(draw.fit_seed)


@pytest.mark.parametrize("mask_mode, masks", [("toy-cyclic", "realized"), ("per-sample", "expected")])
def test_toy_mask_law_and_form_run_through_a_sweep(toy_law, toy_form, mask_mode, masks):
    """``mask_mode`` and ``loss`` of a configuration take the registered names; rows equal the direct fits.

    The toy law has no pair moment (``masks="expected"`` refuses it), so the toy form's mask
    average is run with the built-in per-sample law.
    """
    method = "cl" if masks == "realized" else "cl-expected"
    values = _subspace_sweep(methods=[method], mask_mode=mask_mode, loss="toy-positive", mask_prob=0.5)
    for rep in range(2):
        model, X, rng = _replicate_draw(rep)
        fit = sc.fit_contrastive(X, 2, p=0.5, masks=masks, mask_mode=mask_mode, loss="toy-positive", rng=rng)
        assert values[(method, rep)] == pytest.approx(float(sc.sin_theta(model.U, fit.basis)), rel=1e-12)


def test_toy_noise_profile_runs_through_a_sweep():
    register_noise_profile("toy-geometric", geometric)
    try:
        values = _subspace_sweep(methods=["pca"], noise="toy-geometric")
        for rep in range(2):
            model, X, _ = _replicate_draw(rep, noise="toy-geometric")
            np.testing.assert_allclose(model.noise_var, np.geomspace(1.0, 1 / 4, 24), rtol=1e-14)
            expected = float(sc.sin_theta(model.U, sc.fit_pca(X, 2).basis))
            assert values[("pca", rep)] == pytest.approx(expected, rel=1e-12)
    finally:
        NOISE_PROFILES.pop("toy-geometric", None)
