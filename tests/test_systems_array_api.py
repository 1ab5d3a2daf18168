"""The contrastive systems on array-api-strict, on a non-default device and in float32.

Results must equal the NumPy results on the same host-drawn data; on
``Device("no_float64")`` nothing may upcast.
"""

import math

import numpy as np
import pytest

array_api_strict = pytest.importorskip("array_api_strict")

from spikedcl._array_api import to_namespace, to_numpy  # noqa: E402
from spikedcl.systems import align_uniform as au  # noqa: E402
from spikedcl.systems import byol, collapse, spectral  # noqa: E402
from spikedcl.systems import negatives as ng  # noqa: E402
from spikedcl.systems import nt_xent as nx  # noqa: E402
from spikedcl.systems import siglip as sg  # noqa: E402
from spikedcl.systems.encoder import encode, encode_backward  # noqa: E402
from spikedcl.systems.negatives import gaussian_critic  # noqa: E402

xs = array_api_strict
DEV = xs.Device("device1")
F32 = xs.Device("no_float64")


def move(a, device=DEV, dtype=None):
    return to_namespace(a, xs, device=device, dtype=dtype)


def check(out, ref, *, device=DEV, rtol=1e-9, atol=1e-11):
    assert hasattr(out, "__array_namespace__") and out.__array_namespace__() is xs, type(out)
    assert out.device == device
    if device == F32:
        assert out.dtype == xs.float32
    np.testing.assert_allclose(to_numpy(out), np.asarray(ref), rtol=rtol, atol=atol)


LOSSES = [
    (nx.nt_xent_value_and_grad, {"temperature": 0.3}),
    (nx.nt_xent_value_and_grad, {"temperature": 0.01, "similarity": "dot"}),
    (nx.info_nce_value_and_grad, {"temperature": 0.2}),
    (au.align_uniform_value_and_grad, {"lam_align": 2.0}),
    (spectral.spectral_value_and_grad, {"project": True}),
    (lambda a, b: sg.siglip_value_and_grad(a, b, 0.5, -3.0), {}),
    (lambda a, b: sg.clip_value_and_grad(a, b, 0.5), {}),
    (lambda a, b: ng.nt_xent_bias_terms(a, b, temperature=0.3, log_partition=0.4), {}),
    (lambda a, b: (ng.minibatch_log_partition(a, b, temperature=0.3, positive=False),), {}),
]


@pytest.mark.parametrize("device", [DEV, F32], ids=["device1", "float32"])
@pytest.mark.parametrize("k", range(len(LOSSES)))
def test_losses_and_gradients(k, device):
    fn, kw = LOSSES[k]
    rng = np.random.default_rng(0)
    Z1, Z2 = rng.standard_normal((7, 4)), rng.standard_normal((7, 4))
    dtype = xs.float32 if device == F32 else None
    ref = fn(Z1.astype(np.float32), Z2.astype(np.float32), **kw) if dtype else fn(Z1, Z2, **kw)
    out = fn(move(Z1, device, dtype), move(Z2, device, dtype), **kw)
    tol = dict(rtol=2e-4, atol=1e-5) if dtype else {}
    for a, b in zip(out, ref):
        check(a, b, device=device, **tol)


def test_encoder_and_measures():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((9, 6))
    params = tuple(rng.standard_normal(s) for s in ((3, 6), (5, 3), (2, 5)))
    Z, H = encode(params, X)
    Zs, Hs = encode(tuple(move(p) for p in params), move(X))
    check(Zs, Z)
    check(Hs, H)
    dZ = rng.standard_normal(Z.shape)
    for a, b in zip(encode_backward(tuple(move(p) for p in params), move(X), move(dZ)), encode_backward(params, X, dZ)):
        check(a, b)
    Y = rng.standard_normal((50, 5))
    check(collapse.rankme(move(Y)), collapse.rankme(Y))
    check(collapse.embedding_spectrum(move(Y), normalize=True), collapse.embedding_spectrum(Y, normalize=True))
    check(collapse.participation_ratio(move(Y)), collapse.participation_ratio(Y))
    check(au.uniformity(move(Y)), au.uniformity(Y))
    check(au.alignment(move(Y), move(Y[::-1])), au.alignment(Y, Y[::-1]))
    check(gaussian_critic(move(Y), move(Y[::-1]), 0.5), gaussian_critic(Y, Y[::-1], 0.5))
    check(nx.info_nce_bound(move(Y @ Y.T)), nx.info_nce_bound(Y @ Y.T))


def test_spectral_and_dynamics():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((6, 6))
    Sigma, Cplus = A @ A.T + np.eye(6), 0.5 * (A @ A.T)
    W, L, mu = spectral.spectral_closed_form(Sigma, Cplus, 2)
    Ws, Ls, mus = spectral.spectral_closed_form(move(Sigma), move(Cplus), 2)
    check(Ls, L)
    check(mus, mu)
    check(spectral.spectral_population_loss(Ws, move(Sigma), move(Cplus)), float(L))
    check(spectral.spectral_population_grad(move(W), move(Sigma), move(Cplus)),
          spectral.spectral_population_grad(W, Sigma, Cplus))
    S, C = spectral.spectral_moments(move(Sigma), 0.5)
    check(S, spectral.spectral_moments(Sigma, 0.5)[0])
    G, _ = spectral.augmentation_graph([2, 3], rng=0)
    Abar, _ = spectral.normalized_adjacency(G)
    check(spectral.normalized_adjacency(move(G))[0], Abar)
    F = rng.standard_normal((5, 2))
    check(spectral.graph_spectral_grad(move(F), move(Abar)), spectral.graph_spectral_grad(F, Abar))
    W0, Wp0 = rng.standard_normal((3, 4)), np.eye(3) + 0.1 * rng.standard_normal((3, 3))
    I4 = np.eye(4)
    ref = byol.integrate_dynamics(W0, Wp0, I4, 0.5 * I4, variant="directpred", n_steps=20)
    out = byol.integrate_dynamics(move(W0), move(Wp0), move(I4), move(0.5 * I4), variant="directpred", n_steps=20)
    check(out["W"], ref["W"])
    check(out["F_eigenvalues"], ref["F_eigenvalues"])
    assert math.isfinite(out["commutator"])
