"""The ``siglip`` experiment (Sg-1/Sg-2): sigmoid (SigLIP) vs softmax (CLIP) two-tower training."""

from __future__ import annotations

import math
import time

import numpy as np

from ..._validation import check_int
from ...metrics import sin_theta
from ...solvers import epochs_for_steps, stochastic_descent
from ...systems.encoder import representation_basis
from ...systems.siglip import INIT_LOG_TEMPERATURE, clip_value_and_grad, siglip_value_and_grad
from ..base import REQUIRED, Param, register_experiment, seed_children

__all__ = ["siglip"]


def _tower_data(n, d, r, noise, rng):
    """Paired inputs (u, v) sharing a rank-r latent: u = U z + noise, v = V z + noise."""
    U = np.linalg.qr(rng.standard_normal((d, r)))[0]
    V = np.linalg.qr(rng.standard_normal((d, r)))[0]
    Zl = rng.standard_normal((n, r))
    return U, V, Zl @ U.T + noise * rng.standard_normal((n, d)), Zl @ V.T + noise * rng.standard_normal((n, d))


def _draw_towers(P, seed):
    """Tower bases, training and test pairs, and the fit generator of one replicate."""
    data_seed, fit_seed = seed_children(seed, 2)
    n, n_test = int(P["n"]), int(P["n_test"])
    U, V, Xu, Xv = _tower_data(n + n_test, int(P["d"]), int(P["r"]), float(P["noise"]),
                               np.random.default_rng(data_seed))
    return {"U": U, "V": V, "train": (Xu[:n], Xv[:n]), "test": (Xu[n:], Xv[n:]), "fit_seed": fit_seed}


def _check_siglip(P):
    check_int(P["r"], "r", low=1, high=int(P["d"]) - 1)
    check_int(P["batch_size"], "batch_size", low=2, high=int(P["n"]))


_SIGLIP_PARAMS = (
    Param("n", int, REQUIRED, low=2, doc="training pairs"),
    Param("d", int, REQUIRED, low=2, doc="input dimension of each tower"),
    Param("r", int, REQUIRED, low=1, doc="latent rank (in [1, d - 1])"),
    Param("batch_size", int, REQUIRED, low=2, doc="pairs per batch (at most n)"),
    Param("loss", str, "sigmoid", choices=("sigmoid", "softmax"), doc="SigLIP (sigmoid) or CLIP (softmax)"),
    Param("noise", float, 0.5, low=0, doc="input noise sd"),
    Param("budget", int, 32768, low=2, doc="pairs seen in training"),
    Param("lr", float, 0.01, low=0, open_low=True, doc="Adam learning rate"),
    Param("bias_init", float, -10.0, doc="initial SigLIP bias b"),
    Param("n_test", int, 1000, low=2, doc="test pairs of the retrieval metric"),
)


@register_experiment("siglip", params=_SIGLIP_PARAMS, draw=_draw_towers, check=_check_siglip)
def siglip(P, data):
    """Sg-1/Sg-2: sigmoid (SigLIP) vs softmax (CLIP) two-tower training across batch sizes.

    Both losses see the same budget of pairs; each tower is linear,
    :math:`x = \\mathrm{normalise}(Au)`, :math:`y = \\mathrm{normalise}(Bv)`, on
    pairs sharing a rank-r latent.

    Parameters
    ----------
    P : dict
        The resolved cell (called as ``siglip(params, seed)``): ``batch_size``
        (grid), ``loss`` in {"sigmoid", "softmax"} (grid), ``d``, ``r``, ``n``
        (training pairs), ``budget`` (pairs seen), ``noise`` (input noise sd),
        ``lr``, ``bias_init`` (-10), ``n_test`` (1000).
    data : dict
        The replicate's towers and pairs (the seed's first child) and fit seed
        (its second).

    Returns
    -------
    list of dict
        ``retrieval_top1`` (test pairs, y retrieved from x among ``n_test``),
        ``sin_theta_a``/``sin_theta_b`` (each tower's row space vs its true
        latent basis), ``temperature``, ``bias``, and the Sg-1 rows
        ``initial_loss`` for the bias values 0, -5, -10 (method ``"siglip-init"``).
    """
    d, r, n = int(P["d"]), int(P["r"]), int(P["n"])
    B = int(P["batch_size"])
    loss_name = P["loss"]
    n_test = int(P["n_test"])
    U, V = data["U"], data["V"]
    (Xu, Xv), (Tu, Tv) = data["train"], data["test"]
    frng = np.random.default_rng(data["fit_seed"])
    A0 = frng.standard_normal((r, d)) / math.sqrt(d)
    B0 = frng.standard_normal((r, d)) / math.sqrt(d)
    rows = []
    # Sg-1: the loss at initialisation for three biases (the first batch, untrained towers)
    idx = np.arange(min(B, n))
    for b in (0.0, -5.0, -10.0):
        value = float(siglip_value_and_grad(Xu[idx] @ A0.T, Xv[idx] @ B0.T, INIT_LOG_TEMPERATURE, b)[0])
        rows.append({"method": "siglip-init", "metric": "initial_loss", "value": value, "bias_init": b})
    bias_init = float(P["bias_init"])

    def batch_grad(q, idx, rng):
        A, Bt, t = q[0], q[1], q[2]
        Zx, Zy = Xu[idx] @ A.T, Xv[idx] @ Bt.T
        if loss_name == "sigmoid":
            loss, dX, dY, dt, db = siglip_value_and_grad(Zx, Zy, t, q[3])
            return loss, (dX.T @ Xu[idx], dY.T @ Xv[idx], dt, db)
        loss, dX, dY, dt = clip_value_and_grad(Zx, Zy, t)
        return loss, (dX.T @ Xu[idx], dY.T @ Xv[idx], dt, np.asarray(0.0))

    steps = max(1, int(P["budget"]) // B)
    t0 = time.perf_counter()
    res = stochastic_descent(
        batch_grad,
        (A0, B0, np.asarray(INIT_LOG_TEMPERATURE), np.asarray(bias_init)),
        n_samples=n,
        batch_size=B,
        epochs=epochs_for_steps(n, B, steps),
        lr=float(P["lr"]),
        method="adam",
        rng=frng,
    )
    info = {"solver": "adam", "n_iter": res.n_iter, "converged": res.converged, "time_s": time.perf_counter() - t0}
    A, Bt, t, b = res.params
    Zx, Zy = Tu @ A.T, Tv @ Bt.T
    Zx = Zx / np.linalg.norm(Zx, axis=1, keepdims=True)
    Zy = Zy / np.linalg.norm(Zy, axis=1, keepdims=True)
    top1 = float(np.mean(np.argmax(Zx @ Zy.T, axis=1) == np.arange(n_test)))
    method = "siglip" if loss_name == "sigmoid" else "clip"
    for metric, value in (
        ("retrieval_top1", top1),
        ("sin_theta_a", float(sin_theta(U, representation_basis(A)))),
        ("sin_theta_b", float(sin_theta(V, representation_basis(Bt)))),
        ("temperature", float(np.exp(t))),
        ("bias", float(b) if loss_name == "sigmoid" else math.nan),
    ):
        rows.append({"method": method, "metric": metric, "value": value, **info})
    return rows
