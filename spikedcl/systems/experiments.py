"""Sweep experiments of the contrastive systems (seed_systems.md), one function per configuration.

Each function has the engine's signature ``fn(params, seed) -> list[dict]``
(see :mod:`spikedcl.experiments`): ``params`` is one grid point merged with
the configuration's fixed parameters, ``seed`` the replicate's
:class:`numpy.random.SeedSequence`. All randomness derives from ``seed``:
its first child draws the data (model, samples, task), its second the masks
and the solvers' initialisation, so every method of a replicate sees the same
samples. Rows carry ``method``, ``metric``, ``value`` and, for trained
methods, ``solver``, ``n_iter``, ``converged`` and ``time_s``.

Every fit on the spiked model reports the shared metrics of seed_systems.md:
``sin_theta`` (row space vs U*), ``excess_risk`` (ΔR_U*),
``excess_risk_linear`` (ΔR_lin), ``align`` and ``uniform`` (on held-out
masked views) and ``rankme`` (of the embeddings X Wᵀ).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from .._validation import check_choice, check_int, check_positive, check_unit_interval
from ..augment import split_views
from ..closed_form import fit_contrastive, fit_pca
from ..data import SpikedModel
from ..downstream import draw_task, excess_risk
from ..exceptions import SpikedModelWarning
from ..metrics import sin_theta
from ..solvers import _epochs_for_steps, stochastic_descent
from . import byol as _byol
from .align_uniform import (
    align_uniform_value_and_grad,
    alignment,
    sphere_log_partition,
    uniformity,
    uniformity_lower_bound,
)
from .collapse import collapse_toy, embedding_spectrum, rankme
from .encoder import encode, encode_backward, init_encoder, representation_basis
from .negatives import (
    gaussian_mutual_information,
    info_nce_estimate,
    nt_xent_bias_first_order,
    nt_xent_bias_terms,
    nt_xent_population_limit,
    whitened_view_encoder,
)
from .nt_xent import nt_xent_value_and_grad, ridge_probe_r2, style_views
from .siglip import INIT_LOG_TEMPERATURE, clip_value_and_grad, siglip_value_and_grad
from .spectral import spectral_closed_form, spectral_moments, spectral_value_and_grad, view_moments

__all__ = [
    "SPIKED_METHODS",
    "fit_spiked",
    "losses",
    "nt_xent",
    "nt_xent_style",
    "align_uniform",
    "spectral",
    "siglip",
    "byol",
    "collapse",
    "batch_size",
]

#: Methods :func:`fit_spiked` knows, on the masked spiked model.
SPIKED_METHODS = (
    "cl",
    "pca",
    "nt-xent",
    "nt-xent-head",
    "spectral",
    "spectral-population",
    "spectral-sgd",
    "siglip",
    "align-uniform",
    "byol",
)

#: Rows used for the alignment / uniformity metrics (their cost is quadratic).
METRIC_SAMPLES = 1000


# ----------------------------------------------------------------------------- helpers


def _spiked_data(params, seed):
    """Model, samples, task and the fit generator of one replicate."""
    n, d, r = int(params["n"]), int(params["d"]), int(params["r"])
    data_seed, fit_seed = seed.spawn(2)
    rng = np.random.default_rng(data_seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        model = SpikedModel.random(
            d, r, noise=params.get("noise", "uniform"), condition=float(params.get("C", 8.0)), rng=rng
        )
        X = model.sample(n, rng=rng)
    w = draw_task(r, rng=rng)
    return model, X, w, np.random.default_rng(fit_seed)


def _require(params, keys, what="the experiment"):
    """Raise unless ``params`` holds every one of ``keys``."""
    for key in keys:
        if key not in params:
            raise ValueError(f"{what} needs the parameter {key!r}")


def _check_spiked(params, methods=SPIKED_METHODS):
    _require(params, ("n", "d", "r"))
    check_int(params["n"], "n", low=4)
    d = check_int(params["d"], "d", low=2)
    check_int(params["r"], "r", low=1, high=d - 1)
    check_positive(params.get("C", 8.0), "C")
    check_unit_interval(params.get("mask_prob", 0.5), "mask_prob")
    for m in params.get("methods", []):
        check_choice(m, "methods", methods)
    check_positive(params.get("temperature", 0.5), "temperature")
    check_int(params.get("batch_size", 256), "batch_size", low=2)
    check_int(params.get("steps", 300), "steps", low=1)


def _train_embedding(loss_grad, X, k, rng, *, p, batch_size, steps, lr, head=None, extra0=(), views=None,
                     full=False):
    """Adam on an embedding loss with fresh complementary masks (or ``views(idx, rng)``) in every batch.

    ``loss_grad(Z1, Z2, *extra) -> (loss, dZ1, dZ2, *dextra)``; ``extra`` are
    scalar parameters trained alongside the encoder (SigLIP's t' and b). Returns
    ``(W, result)``, or ``(params, result)`` with ``full``.
    """
    n, d = X.shape
    enc0 = init_encoder(k, d, head=head, rng=rng)
    n_enc = len(enc0)
    params0 = enc0 + tuple(np.asarray(float(e)) for e in extra0)

    def batch_grad(params, idx, rng):
        enc, extra = params[:n_enc], params[n_enc:]
        X1, X2 = split_views(X[idx], p, rng=rng) if views is None else views(idx, rng)
        Z1, _ = encode(enc, X1)
        Z2, _ = encode(enc, X2)
        loss, dZ1, dZ2, *dextra = loss_grad(Z1, Z2, *extra)
        g = tuple(a + b for a, b in zip(encode_backward(enc, X1, dZ1), encode_backward(enc, X2, dZ2)))
        return loss, g + tuple(dextra)

    batch_size = min(batch_size, n)
    res = stochastic_descent(
        batch_grad,
        params0,
        n_samples=n,
        batch_size=batch_size,
        epochs=_epochs_for_steps(n, batch_size, steps),
        lr=lr,
        method="adam",
        rng=rng,
    )
    return (res.params if full else res.params[0]), res


def _byol_fit(X, r, rng, *, p, eta, steps, dt):
    """SimSiam-style linear dynamics on the masked moments (seed_systems.md §5, B-5)."""
    n, d = X.shape
    S = X.T @ X / n
    # complementary masks: the augmentation mean is p x, the augmentation covariance p(1-p) diag(x^2)
    Xm = p**2 * S
    Xv = p * (1 - p) * np.diag(np.diag(S))
    W0 = rng.standard_normal((r, d)) / math.sqrt(d)
    Wp0 = 0.5 * np.eye(r) + 0.05 * rng.standard_normal((r, r))
    out = _byol.integrate_dynamics(W0, Wp0, Xm, Xv, variant="simsiam", eta=eta, dt=dt, n_steps=steps)
    return out["W"], out


def fit_spiked(method, X, r, params, rng):
    """Fit one method on masked views of the spiked-model samples ``X``.

    Parameters
    ----------
    method : str
        One of :data:`SPIKED_METHODS`.
    X : numpy.ndarray of shape (n, d)
        Samples.
    r : int
        Representation dimension.
    params : dict
        ``mask_prob`` (0.5), ``temperature`` (0.5), ``batch_size`` (256), ``steps``
        (300), ``lr`` (0.05), ``lam_align``/``lam_uniform`` (1, 1), ``eta`` (1e-3),
        ``byol_steps`` (4000), ``byol_dt`` (0.1), ``model`` (a :class:`SpikedModel`,
        for ``"spectral-population"``). ``"spectral-sgd"`` trains the minibatch spectral
        loss with Adam, ``"spectral"`` is its closed form on plug-in moments.
    rng : numpy.random.Generator
        Masks and initialisation.

    Returns
    -------
    W : numpy.ndarray of shape (r, d)
        The encoder.
    info : dict
        ``solver``, ``n_iter``, ``converged``.
    """
    p = float(params.get("mask_prob", 0.5))
    tau = float(params.get("temperature", 0.5))
    batch_size = int(params.get("batch_size", 256))
    steps = int(params.get("steps", 300))
    lr = float(params.get("lr", 0.05))
    train = dict(p=p, batch_size=batch_size, steps=steps, lr=lr)
    if method == "cl":
        fit = fit_contrastive(X, r, p=p, rng=rng)
        return np.asarray(fit.W), {"solver": "closed_form", "n_iter": 0, "converged": True}
    if method == "pca":
        fit = fit_pca(X, r)
        return np.asarray(fit.W), {"solver": "closed_form", "n_iter": 0, "converged": True}
    if method in ("spectral", "spectral-population"):
        if method == "spectral":
            X1, X2 = split_views(X, p, rng=rng)
            Sigma, Cplus = view_moments(X1, X2)
        else:
            Sigma, Cplus = spectral_moments(params["model"].covariance(), 0.5)
        W, _, _ = spectral_closed_form(Sigma, Cplus, r)
        return W, {"solver": "closed_form", "n_iter": 0, "converged": True}
    if method in ("nt-xent", "nt-xent-head"):
        head = (2 * r, r) if method == "nt-xent-head" else None

        def loss_grad(Z1, Z2):
            return nt_xent_value_and_grad(Z1, Z2, temperature=tau)

        W, res = _train_embedding(loss_grad, X, r, rng, head=head, **train)
    elif method == "siglip":

        def loss_grad(Z1, Z2, t, b):
            return siglip_value_and_grad(Z1, Z2, t, b)

        W, res = _train_embedding(
            loss_grad, X, r, rng, extra0=(INIT_LOG_TEMPERATURE, params.get("bias_init", -10.0)), **train
        )
    elif method == "spectral-sgd":
        W, res = _train_embedding(spectral_value_and_grad, X, r, rng, **train)
    elif method == "align-uniform":
        la, lu = float(params.get("lam_align", 1.0)), float(params.get("lam_uniform", 1.0))

        def loss_grad(Z1, Z2):
            return align_uniform_value_and_grad(Z1, Z2, lam_align=la, lam_uniform=lu)

        W, res = _train_embedding(loss_grad, X, r, rng, **train)
    elif method == "byol":
        W, out = _byol_fit(
            X, r, rng, p=p, eta=float(params.get("eta", 1e-3)), steps=int(params.get("byol_steps", 4000)),
            dt=float(params.get("byol_dt", 0.1)),
        )
        return W, {"solver": "ode-euler", "n_iter": int(params.get("byol_steps", 4000)), "converged": True}
    else:
        check_choice(method, "method", SPIKED_METHODS)
    return W, {"solver": "adam", "n_iter": res.n_iter, "converged": res.converged}


def _representation_rows(method, W, model, w, X, rng, p=0.5):
    """The shared metrics of seed_systems.md for an encoder ``W`` (r × d)."""
    r = model.r
    B = representation_basis(W, r)
    rows = [
        ("sin_theta", float(sin_theta(model.U, B))),
        ("excess_risk", float(excess_risk(B, model, w))),
        ("excess_risk_linear", float(excess_risk(B, model, w, reference="linear"))),
        ("rankme", float(rankme(X @ W.T))),
    ]
    m = min(METRIC_SAMPLES, X.shape[0])
    X1, X2 = split_views(X[:m], p, rng=rng)
    Z1, Z2 = X1 @ W.T, X2 @ W.T
    if W.shape[0] >= 1 and np.all(np.linalg.norm(Z1, axis=1) > 0) and np.all(np.linalg.norm(Z2, axis=1) > 0):
        rows += [("align", float(alignment(Z1, Z2))), ("uniform", float(uniformity(Z1)))]
    return [{"method": method, "metric": k, "value": v} for k, v in rows]


def _spiked_rows(methods, params, seed, extra_columns=None):
    model, X, w, rng = _spiked_data(params, seed)
    r = int(params["r"])
    rows = []
    for method in methods:
        t0 = time.perf_counter()
        W, info = fit_spiked(method, X, r, {**params, "model": model}, rng)
        elapsed = time.perf_counter() - t0
        for row in _representation_rows(method, np.asarray(W, dtype=float), model, w, X, rng,
                                         p=float(params.get("mask_prob", 0.5))):
            rows.append({**row, **info, "time_s": elapsed, **(extra_columns or {})})
    return rows


# ----------------------------------------------------------------------------- experiments


def losses(params, seed):
    """Head-to-head on the paper's masked spiked model: sinΘ and downstream excess risk vs n.

    Parameters
    ----------
    params : dict
        ``n``, ``d``, ``r``, ``C``, ``noise``, ``methods`` (names in
        :data:`SPIKED_METHODS`) and the training options of :func:`fit_spiked`.
    seed : numpy.random.SeedSequence
        The replicate's seed.

    Returns
    -------
    list of dict
        One row per (method, metric).
    """
    _check_spiked(params)
    return _spiked_rows(params.get("methods", ["cl", "pca"]), params, seed)


losses.validate = _check_spiked


def nt_xent(params, seed):
    """S-2: NT-Xent on the masked spiked model across temperatures (seed_systems.md §1).

    Parameters
    ----------
    params : dict
        As :func:`losses`, with ``temperature`` on the grid; ``methods`` may hold
        ``"nt-xent"``, ``"nt-xent-head"`` and closed-form references.
    seed : numpy.random.SeedSequence
        The replicate's seed.

    Returns
    -------
    list of dict
        One row per (method, metric).
    """
    _check_spiked(params)
    return _spiked_rows(params.get("methods", ["nt-xent"]), params, seed)


nt_xent.validate = _check_spiked


def align_uniform(params, seed):
    """U-3: alignment–uniformity weights on the masked spiked model (seed_systems.md §2).

    Parameters
    ----------
    params : dict
        As :func:`losses`, with ``ratio`` = λ_a/λ_u on the grid (λ_u = 1).
    seed : numpy.random.SeedSequence
        The replicate's seed.

    Returns
    -------
    list of dict
        Rows of ``"align-uniform"``, the ``methods`` references, and the theory row
        ``uniform_min`` (the uniformity of the uniform law on S^{r-1}).
    """
    _check_spiked(params)
    ratio = check_positive(params.get("ratio", 1.0), "ratio")
    cell = {**params, "lam_align": ratio, "lam_uniform": 1.0}
    rows = _spiked_rows(["align-uniform"] + list(params.get("methods", [])), cell, seed)
    r = int(params["r"])
    if r >= 2:
        rows.append({"method": "theory", "metric": "uniform_min", "value": uniformity_lower_bound(2.0, r)})
    return rows


align_uniform.validate = _check_spiked


def spectral(params, seed):
    """G-3: spectral contrastive learning on the masked spiked model (seed_systems.md §3).

    The closed form on the plug-in moments of one mask draw (``"spectral"``),
    its population limit (``"spectral-population"``) and gradient descent on
    the same plug-in objective (``"spectral-gd"``), with the paper's CL and PCA.

    Parameters
    ----------
    params : dict
        As :func:`losses`; ``methods`` may include ``"spectral-gd"``.
    seed : numpy.random.SeedSequence
        The replicate's seed.

    Returns
    -------
    list of dict
        One row per (method, metric); ``"spectral-gd"`` adds ``loss_gap``, the
        relative gap of its loss to the closed form's.
    """
    _check_spiked(params, SPIKED_METHODS + ("spectral-gd",))
    methods = list(params.get("methods", ["spectral"]))
    rows = _spiked_rows([m for m in methods if m != "spectral-gd"], params, seed)
    if "spectral-gd" in methods:
        from ..solvers import gradient_descent
        from .spectral import spectral_population_grad, spectral_population_loss

        model, X, w, rng = _spiked_data(params, seed)
        r = int(params["r"])
        X1, X2 = split_views(X, float(params.get("mask_prob", 0.5)), rng=rng)
        Sigma, Cplus = view_moments(X1, X2)
        W_star, L_star, _ = spectral_closed_form(Sigma, Cplus, r)
        t0 = time.perf_counter()
        scale = 1 / float(np.linalg.eigvalsh(Sigma)[-1])
        res = gradient_descent(
            lambda q: spectral_population_loss(q[0], Sigma, Cplus),
            lambda q: (spectral_population_grad(q[0], Sigma, Cplus),),
            (0.1 * rng.standard_normal((r, X.shape[1])),),
            step=0.1 * scale,
            max_iter=int(params.get("gd_max_iter", 5000)),
            tol_rel=1e-13,
        )
        info = {"solver": "gd", "n_iter": res.n_iter, "converged": res.converged,
                "time_s": time.perf_counter() - t0}
        W = res.params[0]
        for row in _representation_rows("spectral-gd", W, model, w, X, rng):
            rows.append({**row, **info})
        gap = (res.loss - float(L_star)) / abs(float(L_star))
        rows.append({"method": "spectral-gd", "metric": "loss_gap", "value": float(gap), **info})
        rows.append({"method": "spectral-gd", "metric": "sin_theta_to_closed_form",
                     "value": float(sin_theta(W.T, W_star.T)), **info})
    return rows


spectral.validate = lambda params: _check_spiked(params, SPIKED_METHODS + ("spectral-gd",))


def _tower_data(n, d, r, noise, rng):
    """Paired inputs (u, v) sharing a rank-r latent: u = U z + noise, v = V z + noise."""
    U = np.linalg.qr(rng.standard_normal((d, r)))[0]
    V = np.linalg.qr(rng.standard_normal((d, r)))[0]
    Zl = rng.standard_normal((n, r))
    return U, V, Zl @ U.T + noise * rng.standard_normal((n, d)), Zl @ V.T + noise * rng.standard_normal((n, d))


def siglip(params, seed):
    """Sg-1/Sg-2: sigmoid (SigLIP) vs softmax (CLIP) two-tower training across batch sizes.

    Both losses see the same budget of pairs; each tower is linear,
    :math:`x = \\mathrm{normalise}(Au)`, :math:`y = \\mathrm{normalise}(Bv)`, on
    pairs sharing a rank-r latent.

    Parameters
    ----------
    params : dict
        ``batch_size`` (grid), ``loss`` in {"sigmoid", "softmax"} (grid), ``d``,
        ``r``, ``n`` (training pairs), ``budget`` (pairs seen), ``noise``
        (input noise sd), ``lr``, ``bias_init`` (-10), ``n_test`` (1000).
    seed : numpy.random.SeedSequence
        The replicate's seed.

    Returns
    -------
    list of dict
        ``retrieval_top1`` (test pairs, y retrieved from x among ``n_test``),
        ``sin_theta_a``/``sin_theta_b`` (each tower's row space vs its true
        latent basis), ``temperature``, ``bias``, and the Sg-1 rows
        ``initial_loss`` for the bias values 0, -5, -10 (method ``"siglip-init"``).
    """
    _check_siglip(params)
    d, r, n = int(params["d"]), int(params["r"]), int(params["n"])
    B = int(params["batch_size"])
    loss_name = params.get("loss", "sigmoid")
    data_seed, fit_seed = seed.spawn(2)
    rng = np.random.default_rng(data_seed)
    noise = float(params.get("noise", 0.5))
    n_test = int(params.get("n_test", 1000))
    U, V, Xu, Xv = _tower_data(n + n_test, d, r, noise, rng)
    Xu, Xv, Tu, Tv = Xu[:n], Xv[:n], Xu[n:], Xv[n:]
    frng = np.random.default_rng(fit_seed)
    A0 = frng.standard_normal((r, d)) / math.sqrt(d)
    B0 = frng.standard_normal((r, d)) / math.sqrt(d)
    rows = []
    # Sg-1: the loss at initialisation for three biases (the first batch, untrained towers)
    idx = np.arange(min(B, n))
    for b in (0.0, -5.0, -10.0):
        value = float(siglip_value_and_grad(Xu[idx] @ A0.T, Xv[idx] @ B0.T, INIT_LOG_TEMPERATURE, b)[0])
        rows.append({"method": "siglip-init", "metric": "initial_loss", "value": value, "bias_init": b})
    bias_init = float(params.get("bias_init", -10.0))

    def batch_grad(q, idx, rng):
        A, Bt, t = q[0], q[1], q[2]
        Zx, Zy = Xu[idx] @ A.T, Xv[idx] @ Bt.T
        if loss_name == "sigmoid":
            loss, dX, dY, dt, db = siglip_value_and_grad(Zx, Zy, t, q[3])
            return loss, (dX.T @ Xu[idx], dY.T @ Xv[idx], dt, db)
        loss, dX, dY, dt = clip_value_and_grad(Zx, Zy, t)
        return loss, (dX.T @ Xu[idx], dY.T @ Xv[idx], dt, np.asarray(0.0))

    budget = int(params.get("budget", 32768))
    steps = max(1, budget // B)
    t0 = time.perf_counter()
    res = stochastic_descent(
        batch_grad,
        (A0, B0, np.asarray(INIT_LOG_TEMPERATURE), np.asarray(bias_init)),
        n_samples=n,
        batch_size=B,
        epochs=_epochs_for_steps(n, B, steps),
        lr=float(params.get("lr", 0.01)),
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


def _check_siglip(params):
    _require(params, ("n", "d", "r", "batch_size"), "the siglip experiment")
    n = check_int(params["n"], "n", low=2)
    d = check_int(params["d"], "d", low=2)
    check_int(params["r"], "r", low=1, high=d - 1)
    check_int(params["batch_size"], "batch_size", low=2, high=n)
    check_choice(params.get("loss", "sigmoid"), "loss", ("sigmoid", "softmax"))
    check_int(params.get("budget", 32768), "budget", low=2)


siglip.validate = _check_siglip


def byol(params, seed):
    """B-1–B-3: linear non-contrastive dynamics vs the per-mode fixed points (seed_systems.md §5).

    Parameters
    ----------
    params : dict
        ``eta`` (weight decay, grid), ``variant`` in
        :data:`spikedcl.systems.byol.DYNAMICS` (grid), ``dim`` (8), ``sigma2`` (0.5),
        ``alpha_p`` (1), ``beta`` (0.05), ``dt`` (0.01), ``n_steps`` (30000).
    seed : numpy.random.SeedSequence
        The replicate's seed (random initialisation).

    Returns
    -------
    list of dict
        ``s_max``, ``s_mean`` (top and mean eigenvalue of :math:`F = WW^\\top`),
        ``n_alive`` (modes with :math:`s > 10^{-6}`), ``commutator`` and
        ``asymmetry`` per variant; theory rows ``s_plus`` (NaN beyond the
        threshold, then 0 is the prediction) and ``s_directpred``.
    """
    _check_byol(params)
    dim = int(params.get("dim", 8))
    sigma2 = float(params.get("sigma2", 0.5))
    eta = float(params["eta"])
    alpha_p = float(params.get("alpha_p", 1.0))
    variant = params.get("variant", "simsiam")
    rng = np.random.default_rng(seed)
    W0 = 0.3 * np.linalg.qr(rng.standard_normal((dim, dim)))[0] + 0.02 * rng.standard_normal((dim, dim))
    Wp0 = 0.5 * np.eye(dim) + 0.05 * rng.standard_normal((dim, dim))
    t0 = time.perf_counter()
    n_steps = int(params.get("n_steps", 30_000))
    out = _byol.integrate_dynamics(
        W0, Wp0, np.eye(dim), sigma2 * np.eye(dim), variant=variant, alpha_p=alpha_p, eta=eta,
        beta=float(params.get("beta", 0.05)), dt=float(params.get("dt", 0.01)), n_steps=n_steps,
    )
    info = {"solver": "ode-euler", "n_iter": n_steps, "converged": True, "time_s": time.perf_counter() - t0}
    s = np.asarray(out["F_eigenvalues"])
    rows = [
        {"method": variant, "metric": "s_max", "value": float(s[0]), **info},
        {"method": variant, "metric": "s_mean", "value": float(s.mean()), **info},
        {"method": variant, "metric": "n_alive", "value": float(np.sum(s > 1e-6)), **info},
        {"method": variant, "metric": "commutator", "value": float(out["commutator"]), **info},
        {"method": variant, "metric": "asymmetry", "value": float(out["asymmetry"]), **info},
    ]
    fp = _byol.mode_fixed_points(1.0, eta, sigma2, alpha_p)
    s_plus, s_dp = _byol._predicted_eigenvalues(fp)
    rows += [
        {"method": "theory", "metric": "s_plus", "value": s_plus},
        {"method": "theory", "metric": "s_directpred", "value": s_dp},
        {"method": "theory", "metric": "threshold", "value": fp["threshold"]},
    ]
    return rows


def _check_byol(params):
    _require(params, ("eta",), "the byol experiment")
    check_positive(params["eta"], "eta", allow_zero=True)
    check_choice(params.get("variant", "simsiam"), "variant", _byol.DYNAMICS)
    check_int(params.get("dim", 8), "dim", low=1)
    check_int(params.get("n_steps", 30_000), "n_steps", low=1)


byol.validate = _check_byol


def collapse(params, seed):
    """D-1/D-2 (DirectCLR toys) and D-3 (masking) of dimensional collapse (seed_systems.md §6).

    Parameters
    ----------
    params : dict
        ``task`` = ``"toy"`` with ``case`` (1 or 2), ``aug_noise`` (augmentation
        strength), ``n_iter``, ``n_samples``;
        or ``task`` = ``"masking"`` with ``mask_prob`` and the spiked-model keys
        ``n``, ``d``, ``r``, ``C``, ``k`` (representation dimension of linear CL).
    seed : numpy.random.SeedSequence
        The replicate's seed.

    Returns
    -------
    list of dict
        ``rankme`` and ``log10_eig`` (one row per eigenvalue, with the
        ``index`` column) of the embedding covariance; the masking task adds
        ``n_positive`` (eigenvalues of the CL matrix above zero) and ``sin_theta``.
    """
    _check_collapse(params)
    task = params.get("task", "toy")
    t0 = time.perf_counter()
    if task == "toy":
        case = int(params.get("case", 1))
        out = collapse_toy(
            case, noise=float(params["aug_noise"]), n_iter=int(params.get("n_iter", 2000)),
            n_samples=int(params.get("n_samples", 10_000)), rng=np.random.default_rng(seed),
        )
        method = f"linear-{case}-layer" if case == 1 else "linear-2-layer"
        info = {"solver": "sgd", "n_iter": out["n_iter"], "converged": True, "time_s": time.perf_counter() - t0}
        spectrum, rk = np.asarray(out["spectrum"]), out["rankme"]
    else:
        model, X, w, rng = _spiked_data(params, seed)
        k = int(params.get("k", 2 * model.r))
        fit = fit_contrastive(X, k, p=float(params["mask_prob"]), rng=rng)
        W = np.asarray(fit.W)
        Z = X @ W.T
        spectrum, rk = np.asarray(embedding_spectrum(Z)), float(rankme(Z))
        method = "cl"
        info = {"solver": "closed_form", "n_iter": 0, "converged": True, "time_s": time.perf_counter() - t0}
    rows = [{"method": method, "metric": "rankme", "value": float(rk), **info}]
    floor = 1e-300
    for i, lam in enumerate(spectrum):
        rows.append({"method": method, "metric": "log10_eig", "value": float(np.log10(max(lam, floor))),
                     "index": i, **info})
    if task == "masking":
        rows.append({"method": method, "metric": "n_positive",
                     "value": float(np.sum(np.asarray(fit.eigenvalues) > 0)), **info})
        rows.append({"method": method, "metric": "sin_theta",
                     "value": float(sin_theta(model.U, representation_basis(W, model.r))), **info})
    return rows


def _check_collapse(params):
    task = check_choice(params.get("task", "toy"), "task", ("toy", "masking"))
    if task == "toy":
        _require(params, ("aug_noise",), "the collapse toy")
        check_positive(params["aug_noise"], "aug_noise", allow_zero=True)
        check_int(params.get("case", 1), "case", low=1, high=2)
    else:
        _check_spiked(params)
        check_unit_interval(params.get("mask_prob"), "mask_prob")


collapse.validate = _check_collapse


#: Defaults of :func:`nt_xent_style` (S-3).
STYLE_DEFAULTS = dict(n=2000, r=3, q=2, d_noise=25, k=8, style=2.0, jitter=0.3, temperature=0.5, lr=0.01,
                      batch_size=128, n_probe=4000, ridge=1e-3)


def nt_xent_style(params, seed):
    """S-3: a projection head absorbs the nuisance; a ridge probe finds the style in h, not in z (seed_systems.md §1).

    Views are :math:`x = [s + 0.3\\varepsilon \\mid c \\mid \\xi]`
    (:func:`~spikedcl.systems.nt_xent.style_views`): the signal :math:`s \\in \\mathbb R^r`
    is shared by the two views of a sample, the style :math:`c \\in \\mathbb R^q`
    (sd ``style``) and the noise :math:`\\xi` are redrawn per view. The encoder
    :math:`h = Wx \\in \\mathbb R^k` is trained with NT-Xent (cosine, Adam, fresh
    views in every batch) on :math:`z = W_2\\mathrm{ReLU}(W_1 h)` (``head = "relu"``,
    widths (k, r)) or on :math:`z = h` (``head = "none"``). Ridge probes fitted on
    ``n_probe/2`` fresh single views and scored on as many others give the
    held-out :math:`R^2` of :math:`c` and of :math:`s` from :math:`h` and from :math:`z`.

    Parameters
    ----------
    params : dict
        ``head`` in {"relu", "none"} and ``steps`` (Adam steps, 0 = the random
        initialisation) on the grid; :data:`STYLE_DEFAULTS` for the rest.
    seed : numpy.random.SeedSequence
        The replicate's seed (its first child draws the signals, the second the
        initialisation, the views and the probe data).

    Returns
    -------
    list of dict
        ``style_r2_h``, ``style_r2_z``, ``signal_r2_h``, ``signal_r2_z`` of method
        ``"nt-xent-head"`` or ``"nt-xent"``.
    """
    _check_style(params)
    o = {key: params.get(key, value) for key, value in STYLE_DEFAULTS.items()}
    n, r, q, dn, k = (int(o[key]) for key in ("n", "r", "q", "d_noise", "k"))
    steps, head = int(params["steps"]), params.get("head", "relu")
    data_seed, fit_seed = seed.spawn(2)
    signal = np.random.default_rng(data_seed).standard_normal((n, r))
    rng = np.random.default_rng(fit_seed)
    opts = dict(style=float(o["style"]), jitter=float(o["jitter"]))

    def views(idx, rng):
        return style_views(signal[idx], q, dn, rng=rng, **opts), style_views(signal[idx], q, dn, rng=rng, **opts)

    tau = float(o["temperature"])

    def loss_grad(Z1, Z2):
        return nt_xent_value_and_grad(Z1, Z2, temperature=tau)

    t0 = time.perf_counter()
    head_widths = (k, r) if head == "relu" else None
    if steps > 0:
        enc, res = _train_embedding(loss_grad, np.zeros((n, r + q + dn)), k, rng, p=0.5,
                                    batch_size=int(o["batch_size"]), steps=steps, lr=float(o["lr"]),
                                    head=head_widths, views=views, full=True)
        info = {"solver": "adam", "n_iter": res.n_iter, "converged": res.converged}
    else:
        enc = init_encoder(k, r + q + dn, head=head_widths, rng=rng)
        info = {"solver": "init", "n_iter": 0, "converged": True}
    info["time_s"] = time.perf_counter() - t0
    m = int(o["n_probe"]) // 2
    S = rng.standard_normal((2 * m, r))
    X = style_views(S, q, dn, rng=rng, **opts)
    Z, H = encode(enc, X)
    C = X[:, r:r + q]
    method = "nt-xent-head" if head == "relu" else "nt-xent"
    rows = []
    for name, target in (("style", C), ("signal", S)):
        for feat, F in (("h", H), ("z", Z)):
            value = float(ridge_probe_r2(F[:m], target[:m], F[m:], target[m:], ridge=float(o["ridge"])))
            rows.append({"method": method, "metric": f"{name}_r2_{feat}", "value": value, **info})
    return rows


def _check_style(params):
    _require(params, ("steps",), "the nt_xent_style experiment")
    check_int(params["steps"], "steps", low=0)
    check_choice(params.get("head", "relu"), "head", ("relu", "none"))
    o = {key: params.get(key, value) for key, value in STYLE_DEFAULTS.items()}
    check_int(o["r"], "r", low=1)
    check_int(o["q"], "q", low=1)
    check_int(o["d_noise"], "d_noise", low=0)
    check_int(o["k"], "k", low=1)
    check_int(o["n_probe"], "n_probe", low=8)
    n = check_int(o["n"], "n", low=2)
    check_int(o["batch_size"], "batch_size", low=2, high=n)
    for key in ("style", "temperature", "lr"):
        check_positive(o[key], key)
    check_positive(o["jitter"], "jitter", allow_zero=True)
    check_positive(o["ridge"], "ridge", allow_zero=True)


nt_xent_style.validate = _check_style


#: Defaults of the N-2 (minibatch bias) task of :func:`batch_size`.
BIAS_DEFAULTS = dict(bias_d=100, aug_noise=1.5, bias_temperatures=(0.1, 0.2, 0.5, 1.0), bias_batches=100,
                     bias_pairs=20_000)


def _bias_rows(params, seed):
    """N-2: the minibatch NT-Xent bias of a fixed whitening encoder at batch size ``K`` (see :func:`batch_size`)."""
    N, r = int(params["K"]), int(params.get("r", 5))
    opts = {key: params.get(key, value) for key, value in BIAS_DEFAULTS.items()}
    d, sigma, batches = int(opts["bias_d"]), float(opts["aug_noise"]), int(opts["bias_batches"])
    temperatures = [float(t) for t in opts["bias_temperatures"]]
    data_seed, batch_seed = seed.spawn(2)
    rng = np.random.default_rng(data_seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        model = SpikedModel.random(d, r, noise=params.get("noise", "uniform"), condition=float(params.get("C", 8.0)),
                                   rng=rng)
    W, mu = whitened_view_encoder(model.covariance(), r, sigma)

    def views(n, rng):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpikedModelWarning)
            X = model.sample(n, rng=rng)
        return (X + sigma * rng.standard_normal(X.shape)) @ W.T, (X + sigma * rng.standard_normal(X.shape)) @ W.T

    # the positive-pair cosines, for the population limit and the first-order prediction
    P1, P2 = views(int(opts["bias_pairs"]), rng)
    cos = np.sum(P1 * P2, axis=1) / (np.linalg.norm(P1, axis=1) * np.linalg.norm(P2, axis=1))
    log_part = {t: sphere_log_partition(t, r) for t in temperatures}  # log 0F1(; r/2; 1/(4 tau^2))
    brng = np.random.default_rng(batch_seed)
    est = np.empty((batches, len(temperatures), 2))
    t0 = time.perf_counter()
    for b in range(batches):
        Z1, Z2 = views(N, brng)
        for j, t in enumerate(temperatures):
            est[b, j] = [float(v) for v in nt_xent_bias_terms(Z1, Z2, temperature=t, log_partition=log_part[t])]
    info = {"solver": "monte-carlo", "n_iter": batches, "converged": True, "time_s": time.perf_counter() - t0}
    rows = [{"method": "theory", "metric": "view_correlation", "value": float(np.mean(mu))}]
    for j, t in enumerate(temperatures):
        first = nt_xent_bias_first_order(cos, N, t, r)
        for i, method in enumerate(("nt-xent", "log-mean")):
            rows.append({"method": method, "metric": "bias", "value": float(est[:, j, i].mean()),
                         "temperature": t, **info})
            rows.append({"method": method, "metric": "bias_se",
                         "value": float(est[:, j, i].std(ddof=1) / math.sqrt(batches)) if batches > 1 else math.nan,
                         "temperature": t, **info})
            rows.append({"method": "theory", "metric": f"bias_first_order_{method.replace('-', '_')}",
                         "value": float(first[i]), "temperature": t})
        rows.append({"method": "theory", "metric": "population_limit",
                     "value": nt_xent_population_limit(float(cos.mean()), t, r), "temperature": t})
    return rows


def batch_size(params, seed):
    """N-1, N-2 and N-3 of seed_systems.md §7: InfoNCE against log K; the minibatch NT-Xent bias; losses vs batch size.

    Parameters
    ----------
    params : dict
        ``task = "mi"`` (default): ``K`` (batch size), ``rho`` (correlation), ``d`` (10).
        ``task = "bias"``: ``K`` = N (pairs per batch), ``r`` (embedding dimension k, 5),
        ``C``, ``noise`` and ``bias_d`` (100) of the spiked model, ``aug_noise``
        (σ = 1.5; views x + σε), ``bias_temperatures`` ((0.1, 0.2, 0.5, 1)),
        ``bias_batches`` (100 minibatches per replicate), ``bias_pairs`` (20,000
        positive pairs for the theory rows).
        ``task = "training"``: the spiked-model keys of :func:`losses` (the dimension
        as ``training_d``, default 100) with ``batch_size``, ``lr`` and ``steps`` (the
        same number of Adam steps for every batch size).
    seed : numpy.random.SeedSequence
        The replicate's seed.

    Returns
    -------
    list of dict
        ``"mi"``: ``mi_estimate`` (method ``"info-nce"``, optimal critic) and the
        theory rows ``log_k`` and ``mutual_information``; ``"training"``: the
        shared metrics of every method in ``methods``; ``"bias"``: per temperature
        (column ``temperature``) ``bias`` and ``bias_se`` of ``"nt-xent"`` and
        ``"log-mean"`` and the theory rows ``bias_first_order_nt_xent``,
        ``bias_first_order_log_mean`` and ``population_limit``, and
        ``view_correlation`` (mean μ of the encoder).

    Notes
    -----
    **N-2.** The encoder is fixed: :func:`~spikedcl.systems.negatives.whitened_view_encoder`
    of the model's covariance (top-k eigenvectors, scaled so that each view's
    embedding is exactly :math:`N(0, I_k)`). The bias is

    .. math::

        b(N) = \\mathbb E[\\mathcal L_N] - \\log(2N-1) - \\mathcal L_\\infty,\\qquad
        \\mathcal L_\\infty = -\\frac{\\mathbb E[u^\\top u^+]}{\\tau} + \\log{}_0F_1\\Big(;\\frac k2;\\frac1{4\\tau^2}\\Big),

    :math:`\\mathcal L_N` the minibatch NT-Xent (paper normalisation, cosine) and
    :math:`\\mathcal L_\\infty` its :math:`N \\to \\infty` limit after removing
    :math:`\\log(2N-1)`: the per-anchor log-mean over the batch replaced by its
    exact expectation over an independent view (see
    :func:`~spikedcl.systems.negatives.nt_xent_population_limit`). It is
    estimated by the mean of ``bias_batches`` minibatch estimates of
    :func:`~spikedcl.systems.negatives.nt_xent_bias_terms` (unbiased; control
    variates with exactly known means). ``"log-mean"`` is the same for the
    negatives-only log-mean (the Jensen term alone, :math:`\\le 0`).
    """
    _check_batch(params)
    task = params.get("task", "mi")
    if task == "training":
        cell = {**params, "d": int(params.get("training_d", 100))}
        return _spiked_rows(params.get("methods", ["nt-xent", "spectral-sgd"]), cell, seed)
    if task == "bias":
        return _bias_rows(params, seed)
    K, rho, d = int(params["K"]), float(params["rho"]), int(params.get("d", 10))
    t0 = time.perf_counter()
    est = float(info_nce_estimate(K, d, rho, reps=1, rng=np.random.default_rng(seed))[0])
    return [
        {"method": "info-nce", "metric": "mi_estimate", "value": est, "solver": "exact",
         "time_s": time.perf_counter() - t0},
        {"method": "theory", "metric": "log_k", "value": math.log(K)},
        {"method": "theory", "metric": "mutual_information", "value": gaussian_mutual_information(rho, d)},
    ]


def _check_batch(params):
    task = check_choice(params.get("task", "mi"), "task", ("mi", "training", "bias"))
    if task == "training":
        _check_spiked({**params, "d": params.get("training_d", 100)})
        check_positive(params.get("lr", 0.05), "lr")
        return
    _require(params, ("K",), "the batch_size experiment")
    check_int(params["K"], "K", low=2)
    if task == "bias":
        opts = {key: params.get(key, value) for key, value in BIAS_DEFAULTS.items()}
        d = check_int(opts["bias_d"], "bias_d", low=3)
        check_int(params.get("r", 5), "r", low=2, high=d - 1)
        check_positive(params.get("C", 8.0), "C")
        check_positive(opts["aug_noise"], "aug_noise")
        check_int(opts["bias_batches"], "bias_batches", low=1)
        check_int(opts["bias_pairs"], "bias_pairs", low=2)
        temps = opts["bias_temperatures"]
        if isinstance(temps, (str, bytes)) or not hasattr(temps, "__len__") or len(temps) == 0:
            raise ValueError(f"bias_temperatures must be a non-empty list of positive floats, got {temps!r}")
        for t in temps:
            check_positive(t, "bias_temperatures")
        return
    _require(params, ("rho",), "the batch_size experiment")
    check_unit_interval(params["rho"], "rho")
    check_int(params.get("d", 10), "d", low=1)


batch_size.validate = _check_batch
