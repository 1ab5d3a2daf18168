"""Losses of spikedcl.systems: finite-difference gradients, stability, conventions, bad input."""

import inspect
import math

import numpy as np
import pytest

from spikedcl.solvers import gradient_descent
from spikedcl.systems import align_uniform as au
from spikedcl.systems import nt_xent as nx
from spikedcl.systems import siglip as sg
from spikedcl.systems import spectral as sp
from spikedcl.systems.encoder import encode, encoder_objective, init_encoder

STEP = 1e-6
#: docs/systems.md "Shared rules": central differences at step 1e-6 agree to 1e-9
#: (truncation O(h^2 f''') ~ 1e-12, rounding O(eps f / h) ~ 1e-10 for O(1) losses).
FD_TOL = 1e-9


def assert_fd(g, fd):
    """Absolute 1e-9 for O(1) gradients, relative beyond (rounding scales with the loss)."""
    np.testing.assert_allclose(g, fd, atol=FD_TOL * max(1.0, float(np.abs(fd).max())), rtol=0)


def fd_grad(f, Z, h=STEP):
    G = np.zeros_like(Z)
    for idx in np.ndindex(Z.shape):
        E = np.zeros_like(Z)
        E[idx] = h
        G[idx] = (float(f(Z + E)) - float(f(Z - E))) / (2 * h)
    return G


EMBEDDING_LOSSES = {
    "nt-xent-cosine": (nx.nt_xent_value_and_grad, {"temperature": 0.3}),
    "nt-xent-dot": (nx.nt_xent_value_and_grad, {"temperature": 2.0, "similarity": "dot"}),
    "info-nce-cosine": (nx.info_nce_value_and_grad, {"temperature": 0.2}),
    "info-nce-dot": (nx.info_nce_value_and_grad, {"temperature": 1.5, "similarity": "dot"}),
    "align-uniform": (au.align_uniform_value_and_grad, {"lam_align": 0.7, "lam_uniform": 1.3}),
    "align-uniform-alpha3": (au.align_uniform_value_and_grad, {"alpha": 3.0, "t": 3.0}),
    "spectral": (sp.spectral_value_and_grad, {}),
    "spectral-projected": (sp.spectral_value_and_grad, {"mu": 2.0, "project": True}),
    "siglip": (lambda Z1, Z2: sg.siglip_value_and_grad(Z1, Z2, 0.4, -1.5)[:3], {}),
    "clip": (lambda Z1, Z2: sg.clip_value_and_grad(Z1, Z2, 0.4)[:3], {}),
}


@pytest.mark.parametrize("name", sorted(EMBEDDING_LOSSES))
def test_embedding_gradients_match_finite_differences(name, rng):
    fn, kw = EMBEDDING_LOSSES[name]
    Z1, Z2 = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    _, g1, g2 = fn(Z1, Z2, **kw)
    assert_fd(g1, fd_grad(lambda Z: fn(Z, Z2, **kw)[0], Z1))
    assert_fd(g2, fd_grad(lambda Z: fn(Z1, Z, **kw)[0], Z2))


def test_siglip_scalar_gradients(rng):
    X, Y = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    t, b = 0.3, -2.0
    _, _, _, dt, db = sg.siglip_value_and_grad(X, Y, t, b)
    fd_t = (sg.siglip_loss(X, Y, t + STEP, b) - sg.siglip_loss(X, Y, t - STEP, b)) / (2 * STEP)
    fd_b = (sg.siglip_loss(X, Y, t, b + STEP) - sg.siglip_loss(X, Y, t, b - STEP)) / (2 * STEP)
    assert abs(float(dt) - float(fd_t)) < FD_TOL
    assert abs(float(db) - float(fd_b)) < FD_TOL
    _, _, _, dtc = sg.clip_value_and_grad(X, Y, t)
    fd_tc = (sg.clip_loss(X, Y, t + STEP) - sg.clip_loss(X, Y, t - STEP)) / (2 * STEP)
    assert abs(float(dtc) - float(fd_tc)) < FD_TOL


@pytest.mark.parametrize("head", [None, (5, 3)])
def test_encoder_chain_rule(head, rng):
    """The W (and head) gradient of a composed loss matches finite differences."""
    X1, X2 = rng.standard_normal((5, 6)), rng.standard_normal((5, 6))
    params = init_encoder(4, 6, head=head, scale=1.0, rng=rng)
    fun, grad = encoder_objective(nx.nt_xent_value_and_grad, X1, X2, temperature=0.5)
    g = grad(params)
    for i, P in enumerate(params):
        def f(A, i=i):
            return fun(tuple(A if j == i else params[j] for j in range(len(params))))

        assert_fd(g[i], fd_grad(f, P))


@pytest.mark.parametrize("head", [None, (5, 3)])
def test_encoder_objective_is_the_loss_of_the_embeddings(head, rng):
    """fun, grad and value_and_grad of the composed loss are the loss of encode(params, X_v), to the bit."""
    from spikedcl.systems.linear_cl import LinearCL

    X1, X2 = rng.standard_normal((5, 6)), rng.standard_normal((5, 6))
    params = init_encoder(4, 6, head=head, scale=1.0, rng=rng)
    Z1, Z2 = encode(params, X1)[0], encode(params, X2)[0]
    fun, grad = encoder_objective(nx.nt_xent_value_and_grad, X1, X2, temperature=0.5)
    expected = nx.nt_xent_value_and_grad(Z1, Z2, temperature=0.5)[0]
    assert float(fun(params)) == float(expected) == float(fun.value_and_grad(params)[0])
    for g, h in zip(grad(params), fun.value_and_grad(params)[1]):
        np.testing.assert_array_equal(g, h)
    if head is None:  # a loss with a penalty on W: fun adds it
        loss = LinearCL(lam=0.7)
        fun, _ = encoder_objective(loss, X1, X2)
        assert float(fun(params)) == float(loss.value_and_grad(Z1, Z2)[0] + loss.penalty(params[0])[0])


def test_nt_xent_explicit_sum_and_factor_two(rng):
    """The loss equals the paper's per-pair sum; the TF form (one CE per view over N anchors) is twice it."""
    N, tau = 5, 0.4
    Z1, Z2 = rng.standard_normal((N, 3)), rng.standard_normal((N, 3))
    Z = np.concatenate([Z1, Z2])
    U = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    S = U @ U.T / tau
    terms = []
    for i in range(2 * N):
        j = (i + N) % (2 * N)
        others = [k for k in range(2 * N) if k != i]
        terms.append(-S[i, j] + np.log(np.sum(np.exp(S[i, others]))))
    paper = np.mean(terms)
    assert float(nx.nt_xent_loss(Z1, Z2, temperature=tau)) == pytest.approx(paper, rel=1e-12)
    # official TF: loss_a + loss_b, each the mean over the N anchors of one view
    tf = np.mean(terms[:N]) + np.mean(terms[N:])
    assert tf == pytest.approx(2 * paper, rel=1e-12)


def test_nt_xent_high_temperature_oracle(rng):
    """S-1: random embeddings at tau = 10 give NT-Xent close to log(2N - 1).

    With cosines of 32-d random unit vectors (sd 1/sqrt(32)) divided by tau = 10 the
    logits have sd s = 0.018: the loss is log(2N-1) - mean positive logit + O(s^2), and
    the mean of the N independent positive logits has sd s/sqrt(N). Tolerance: 5 such
    sd plus the s^2/2 curvature term.
    """
    s = 1 / math.sqrt(32) / 10
    for N in (16, 256):
        Z = rng.standard_normal((2 * N, 32))
        value = float(nx.nt_xent_loss(Z[:N], Z[N:], temperature=10.0))
        assert abs(value - math.log(2 * N - 1)) < 5 * s / math.sqrt(N) + s**2


@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_float32_small_temperature_is_finite(similarity, rng):
    """No overflow at tau = 0.01 in float32, and agreement with the float64 value."""
    Z = rng.standard_normal((64, 8))
    Z32 = Z.astype(np.float32)
    for fn in (nx.nt_xent_value_and_grad, nx.info_nce_value_and_grad):
        loss32, g32, _ = fn(Z32[:32], Z32[32:], temperature=0.01, similarity=similarity)
        loss64, g64, _ = fn(Z[:32], Z[32:], temperature=0.01, similarity=similarity)
        assert loss32.dtype == np.float32
        assert np.isfinite(loss32) and np.all(np.isfinite(g32))
        assert float(loss32) == pytest.approx(float(loss64), rel=1e-4)
    loss, *_ = sg.siglip_value_and_grad(Z32[:32], Z32[32:], math.log(100.0), 50.0)
    assert np.isfinite(loss)
    loss, *_ = sg.clip_value_and_grad(Z32[:32], Z32[32:], math.log(100.0))
    assert np.isfinite(loss)


def test_siglip_bias_initialisation():
    """Sg-1's reference setting: off-diagonal cosines N(0, 0.05^2), diagonal 0.9, t = 10.

    Each of the n - 1 negatives of a row costs E softplus(t c + b), c ~ N(0, 0.05^2)
    (Gauss-Hermite quadrature), the positive softplus(-(9 + b)). At b = 0 that is about
    (n-1) log 2 per row (2962.9 at n = 4096); at b = -10 the row costs 1.52, 1.31 of it
    from the positive. The average over n rows of n - 1 iid negatives has sd below 1e-3
    of its mean here, far inside the 1 % tolerance.
    """
    rng = np.random.default_rng(0)
    n, t = 1024, 10.0
    C = 0.05 * rng.standard_normal((n, n))
    np.fill_diagonal(C, 0.9)
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    for b in (0.0, -5.0, -10.0):
        # normalize=False with Y = I makes the logits exactly t C + b
        value = float(sg.siglip_loss(C, np.eye(n), math.log(t), b, normalize=False))
        negative = np.sum(weights * np.logaddexp(0, t * 0.05 * nodes + b))
        expected = (n - 1) * negative + np.logaddexp(0, -(t * 0.9 + b))
        assert value == pytest.approx(expected, rel=0.01)
    assert 2962.0 < 4095 * np.sum(weights * np.logaddexp(0, t * 0.05 * nodes)) < 2963.5


def test_siglip_loss_matches_explicit_logsigmoid(rng):
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    V = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    logits = math.exp(0.7) * U @ V.T - 3.0
    z = 2 * np.eye(5) - 1
    expected = -np.sum(np.log(1 / (1 + np.exp(-z * logits)))) / 5
    assert float(sg.siglip_loss(X, Y, 0.7, -3.0)) == pytest.approx(expected, rel=1e-12)
    assert sg.INIT_LOG_TEMPERATURE == pytest.approx(math.log(10)) and sg.INIT_BIAS == -10.0


def test_info_nce_bound_never_exceeds_log_k(rng):
    """Each term of the bound is at most log K for any critic, even a diverging one."""
    for K in (2, 7, 50):
        S = 30 * rng.standard_normal((K, K))
        S[np.diag_indices(K)] += 1e3  # a critic that puts all mass on the positives
        assert float(nx.info_nce_bound(S)) <= math.log(K) + 1e-12
        assert float(nx.info_nce_bound(rng.standard_normal((K, K)))) <= math.log(K)


def test_gradient_descent_decreases_nt_xent(rng):
    """The losses plug into the existing solver: GD lowers the loss monotonically."""
    X1, X2 = rng.standard_normal((20, 6)), rng.standard_normal((20, 6))
    X2 = X1 + 0.3 * X2
    fun, grad = encoder_objective(nx.nt_xent_value_and_grad, X1, X2, temperature=0.5)
    res = gradient_descent(fun, grad, init_encoder(3, 6, rng=rng), step=1.0, max_iter=50, warn=False)
    assert res.loss < res.loss_history[0]
    assert all(b <= a + 1e-12 for a, b in zip(res.loss_history, res.loss_history[1:]))


def test_encode_shapes(rng):
    X = rng.standard_normal((4, 6))
    Z, H = encode(init_encoder(3, 6, head=(5, 2), rng=rng), X)
    assert Z.shape == (4, 2) and H.shape == (4, 3)


# ------------------------------------------------------------------ bad input

ALL_VG = [
    nx.nt_xent_value_and_grad,
    nx.info_nce_value_and_grad,
    au.align_uniform_value_and_grad,
    sp.spectral_value_and_grad,
    sg.siglip_value_and_grad,
    sg.clip_value_and_grad,
]


@pytest.mark.parametrize("fn", [nx.nt_xent_loss, nx.info_nce_loss])
@pytest.mark.parametrize("tau", [0.0, -0.5, math.inf, math.nan])
def test_bad_temperature(fn, tau):
    Z = np.ones((3, 2)) + np.eye(3, 2)
    with pytest.raises(ValueError, match="temperature"):
        fn(Z, Z, temperature=tau)


@pytest.mark.parametrize("fn", ALL_VG)
def test_batch_of_one_rejected(fn):
    Z = np.ones((1, 3))
    with pytest.raises(ValueError, match="batch size must be at least 2"):
        fn(Z, Z)


@pytest.mark.parametrize("fn", ALL_VG)
def test_incompatible_shapes_rejected(fn):
    with pytest.raises(ValueError, match="same number of rows"):
        fn(np.ones((4, 3)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="same number of columns"):
        fn(np.ones((4, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="2-D"):
        fn(np.ones(4), np.ones(4))


def test_other_bad_parameters():
    Z = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError, match="similarity"):
        nx.nt_xent_loss(Z, Z, similarity="euclid")
    with pytest.raises(ValueError, match="mu"):
        sp.spectral_loss(Z, Z, mu=0.0)
    with pytest.raises(ValueError, match="alpha"):
        au.align_uniform_loss(Z, Z, alpha=0.5)
    with pytest.raises(ValueError, match="t must lie"):
        au.uniformity(Z, t=-1.0)
    with pytest.raises(ValueError, match="lam_align"):
        au.align_uniform_loss(Z, Z, lam_align=-1.0)
    with pytest.raises(ValueError, match="log_temperature"):
        sg.siglip_loss(Z, Z, math.inf, 0.0)
    with pytest.raises(TypeError, match="bias"):
        sg.siglip_loss(Z, Z, 0.0, "b")
    with pytest.raises(ValueError, match="scores"):
        nx.info_nce_bound(np.ones((3, 4)))
    with pytest.raises(ValueError, match="params"):
        encode((np.ones((2, 3)), np.ones((2, 2))), np.ones((4, 3)))
    with pytest.raises(ValueError, match="W must have shape"):
        encode((np.ones((2, 5)),), np.ones((4, 3)))


#: (loss-only, gradient-only, value_and_grad, extra positional arguments, keywords)
DERIVED = [
    (nx.nt_xent_loss, nx.nt_xent_grad, nx.nt_xent_value_and_grad, (), {"temperature": 0.3, "similarity": "dot"}),
    (nx.info_nce_loss, nx.info_nce_grad, nx.info_nce_value_and_grad, (), {"temperature": 0.2}),
    (au.align_uniform_loss, au.align_uniform_grad, au.align_uniform_value_and_grad, (), {"lam_align": 0.7}),
    (sp.spectral_loss, sp.spectral_grad, sp.spectral_value_and_grad, (), {"mu": 2.0, "project": True}),
    (sg.siglip_loss, sg.siglip_grad, sg.siglip_value_and_grad, (0.4, -1.5), {"normalize": False}),
    (sg.clip_loss, sg.clip_grad, sg.clip_value_and_grad, (0.4,), {}),
]


@pytest.mark.parametrize("loss, grad, vg, args, kw", DERIVED, ids=lambda v: getattr(v, "__name__", ""))
def test_loss_and_grad_functions_are_the_outputs_of_value_and_grad(loss, grad, vg, args, kw, rng):
    # the loss-only and gradient-only functions return value_and_grad's own outputs: bit-identical
    Z1, Z2 = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    value, *grads = vg(Z1, Z2, *args, **kw)
    # the parameters are value_and_grad's; the returns are annotated as what each function returns
    assert inspect.signature(loss).parameters == inspect.signature(vg).parameters
    assert inspect.signature(loss).return_annotation == "Array"
    assert float(loss(Z1, Z2, *args, **kw)) == float(value)
    assert float(loss(Z1, Z2)) == float(vg(Z1, Z2)[0])  # the defaults are value_and_grad's
    assert inspect.signature(grad).parameters == inspect.signature(vg).parameters
    assert inspect.signature(grad).return_annotation == "tuple[Array, ...]"
    out = grad(Z1, Z2, *args, **kw)
    assert isinstance(out, tuple) and len(out) == len(grads)
    for g, expected in zip(out, grads):
        np.testing.assert_array_equal(g, expected)
    assert (loss.__name__, grad.__name__) == (vg.__name__.replace("value_and_grad", "loss"),
                                              vg.__name__.replace("value_and_grad", "grad"))


def test_loss_and_grad_functions_need_a_value_and_grad_name():
    from spikedcl.systems._common import loss_and_grad_functions

    def my_loss(Z1, Z2):
        return 0.0, Z1, Z2

    with pytest.raises(ValueError, match="value_and_grad must be named '<stem>_value_and_grad', got 'my_loss'"):
        loss_and_grad_functions(my_loss, loss="a", grad="b")
