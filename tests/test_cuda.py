"""The CuPy path: the same library code on GPU arrays (marked ``cuda``).

Skipped without CuPy or without a visible CUDA device. Data are drawn on the
host and copied, so GPU results must equal the NumPy results up to the
different BLAS/LAPACK (cuBLAS, cuSOLVER) rounding: 1e-9 relative on fitted
quantities, sinΘ below 1e-9 for the subspaces. Run with ``pytest -m cuda``.
"""

import numpy as np
import pytest

import spikedcl as sc
from spikedcl._array_api import namespace_for, to_numpy


def _gpu_available():
    try:
        namespace_for("cuda")
    except ValueError:
        return False
    return True


HAVE_GPU = _gpu_available()
cuda = pytest.mark.skipif(not HAVE_GPU, reason="needs CuPy and a CUDA device (pip install -e '.[gpu]')")


def test_missing_cupy_or_gpu_gives_one_clear_message():
    if HAVE_GPU:
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match=r"device='cuda' needs (CuPy|a CUDA GPU).*pip install -e \"\.\[gpu\]\""):
        namespace_for("cuda")


@pytest.mark.parametrize(
    "device, dtype, exc, match",
    [("tpu", None, ValueError, "device must be one of 'cpu', 'cuda'"),
     ("cuda:x", None, ValueError, "device must be one of"),
     (0, None, TypeError, "device must be a string"),
     ("cpu", "float16", TypeError, "dtype must be 'float64' or 'float32'")],
)
def test_namespace_for_bad_input(device, dtype, exc, match):
    with pytest.raises(exc, match=match):
        namespace_for(device, dtype)


def test_namespace_for_cpu():
    xp, device = namespace_for("cpu", "float32")
    x = xp.ones(3, dtype=xp.float32, device=device)
    assert x.dtype == np.float32


@pytest.fixture(scope="module")
def gpu():
    if not HAVE_GPU:
        pytest.skip("needs CuPy and a CUDA device")
    return namespace_for("cuda")


@pytest.fixture(scope="module")
def data(gpu):
    xp, device = gpu
    model = sc.SpikedModel.random(60, 3, condition=4.0, rng=0)
    X = model.sample(3000, rng=1)
    return model, X, model.sample(3000, rng=1, xp=xp, device=device)


def close(out, ref, rtol=1e-9, atol=1e-11):
    assert type(out).__module__.startswith("cupy"), type(out)
    np.testing.assert_allclose(to_numpy(out), ref, rtol=rtol, atol=atol)


@cuda
@pytest.mark.cuda
def test_host_draw_is_bit_identical(data):
    _, X, Xg = data
    close(Xg, X, rtol=0, atol=0)


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("kw", [{}, {"loss": "simclr"}, {"masks": "expected"}, {"mask_mode": "fixed"}])
@pytest.mark.parametrize("eigensolver", ["dense", "matrix-free"])
def test_contrastive_on_gpu_equals_cpu(data, kw, eigensolver):
    _, X, Xg = data
    g = sc.fit_contrastive(Xg, 3, rng=2, eigensolver=eigensolver, **kw)
    c = sc.fit_contrastive(X, 3, rng=2, eigensolver="dense", **kw)
    close(g.eigenvalues, c.eigenvalues)
    xp = g.basis.__array_namespace__()
    assert float(sc.sin_theta(g.basis, xp.asarray(c.basis, device=g.basis.device))) < 1e-9


@cuda
@pytest.mark.cuda
def test_pca_batched_and_streamed_on_gpu(data, gpu):
    xp, device = gpu
    model, X, Xg = data
    close(sc.fit_pca(Xg, 3).eigenvalues, sc.fit_pca(X, 3).eigenvalues)
    stack = xp.stack([Xg, Xg * 2])
    fit = sc.fit_contrastive(stack, 3, rng=3, batched=True)
    ref = sc.fit_contrastive(np.stack([X, 2 * X]), 3, rng=3, batched=True)
    close(fit.eigenvalues, ref.eigenvalues)
    s = sc.fit_contrastive_streamed(model, 3000, 3, rng=1, mask_rng=2, chunk_size=700, xp=xp, device=device)
    close(s.eigenvalues, sc.fit_contrastive(X, 3, rng=2).eigenvalues)


@cuda
@pytest.mark.cuda
def test_device_generator_and_float32(gpu):
    xp, device = gpu
    model = sc.SpikedModel.random(60, 3, condition=4.0, rng=0)
    n = 200_000
    X = model.sample(n, rng=1, xp=xp, device=device, generator="device")
    assert type(X).__module__.startswith("cupy")
    # not the host numbers, the same law: second moment within 6 sd of the covariance
    close(X.mT @ X / n, model.covariance(), rtol=0, atol=6 * np.sqrt(2) * 2.0 / np.sqrt(n))
    X32 = model.sample(20_000, rng=1, xp=xp, device=device, dtype=xp.float32)
    f32, f64 = sc.fit_contrastive(X32, 3, rng=2), sc.fit_contrastive(model.sample(20_000, rng=1), 3, rng=2)
    assert f32.W.dtype == xp.float32
    assert float(sc.sin_theta(xp.asarray(f64.basis, dtype=xp.float32), f32.basis)) < 1e-3
