"""Sweep experiments of the contrastive systems (seed_systems.md), on the experiment contract.

Every experiment here is an :class:`~spikedcl.experiments.base.Experiment`
called as ``exp(params, seed) -> list[dict]``, with declared parameters
(``exp.describe()``), one data draw per replicate and the CPU as its only
device. On the masked spiked model (``losses``, ``nt_xent``,
``align_uniform``, ``spectral``, the ``training`` task of ``batch_size`` and
the ``masking`` task of ``collapse``) the draw is
:func:`~spikedcl.experiments.spiked.draw_spiked`: the seed's first child draws
the model, the samples and the task, its second the masks and the
initialisation, so every method of a replicate sees the same samples.

The methods on the spiked model are the closed forms of :data:`SPIKED_METHODS`
(``cl``, ``pca``, ``spectral``, ``spectral-population``, ``byol``) and every
loss registered in :data:`spikedcl.systems.base.LOSSES` (``nt-xent``,
``nt-xent-head``, ``siglip``, ``spectral-sgd``, ``align-uniform``, ...),
trained by :func:`train_embedding` (Adam, fresh complementary masks in every
batch) with the loss's hyperparameters taken from the cell's parameters of the
same names. Every fit reports the registered metrics named by ``metrics``
(default :data:`SYSTEMS_METRICS`: ``sin_theta``, ``excess_risk``,
``excess_risk_linear``, ``rankme``, ``align`` and ``uniform``; the last two on
held-out masked views).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings

import numpy as np

from .._registry import Registry
from .._validation import check_choice, check_int, check_positive, check_unit_interval
from ..augment import split_views
from ..closed_form import fit_contrastive, fit_pca
from ..data import SpikedModel
from ..exceptions import SpikedModelWarning
from ..metrics import Representation, check_metrics, metric_rows, register_metric, sin_theta
from ..solvers import epochs_for_steps, gradient_descent, stochastic_descent
from ..systems import byol as _byol
from ..systems.align_uniform import alignment, sphere_log_partition, uniformity, uniformity_lower_bound
from ..systems.base import LOSSES, make_loss
from ..systems.collapse import collapse_toy, embedding_spectrum, rankme
from ..systems.encoder import encode, encode_backward, init_encoder, representation_basis
from ..systems.negatives import (
    gaussian_mutual_information,
    info_nce_estimate,
    nt_xent_bias_first_order,
    nt_xent_bias_terms,
    nt_xent_population_limit,
    whitened_view_encoder,
)
from ..systems.nt_xent import ridge_probe_r2, style_views
from ..systems.siglip import INIT_LOG_TEMPERATURE, clip_value_and_grad, siglip_value_and_grad
from ..systems.spectral import (
    spectral_closed_form,
    spectral_moments,
    spectral_population_grad,
    spectral_population_loss,
    view_moments,
)
from .base import REQUIRED, Param, register_experiment, require, seed_children
from .spiked import draw_spiked, spiked_params

__all__ = [
    "SPIKED_METHODS",
    "SYSTEMS_METRICS",
    "METRIC_SAMPLES",
    "STYLE_DEFAULTS",
    "BIAS_DEFAULTS",
    "register_spiked_method",
    "spiked_methods",
    "fit_spiked",
    "train_embedding",
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

#: Rows used for the alignment / uniformity metrics (their cost is quadratic).
METRIC_SAMPLES = 1000
#: The default metrics of a fit on the spiked model.
SYSTEMS_METRICS = ("sin_theta", "excess_risk", "excess_risk_linear", "rankme", "align", "uniform")
#: What the spiked-model representations provide to the metrics.
PROVIDES = ("basis", "W", "X", "model", "w", "rng")


# ----------------------------------------------------------------------------- metrics of an encoder


def _held_out_views(rep):
    return rep.views(lambda X, p, rng: split_views(X, p, rng=rng), METRIC_SAMPLES)


def _embedded_views(rep):
    """Embeddings of the held-out views, or ``None`` when one of them vanishes."""
    X1, X2 = _held_out_views(rep)
    Z1, Z2 = X1 @ rep.W.T, X2 @ rep.W.T
    ok = rep.W.shape[0] >= 1 and np.all(np.linalg.norm(Z1, axis=1) > 0) and np.all(np.linalg.norm(Z2, axis=1) > 0)
    return (Z1, Z2) if ok else None


@register_metric("rankme", needs=("W", "X"))
def _rankme_metric(rep):
    """RankMe effective rank of the embeddings :math:`XW^\\top`."""
    return rankme(rep.host_samples() @ rep.W.T)


@register_metric("align", needs=("W", "X", "rng"))
def _align_metric(rep):
    """Alignment of the embeddings of held-out masked views (undefined for a vanishing embedding)."""
    Z = _embedded_views(rep)
    return None if Z is None else alignment(*Z)


@register_metric("uniform", needs=("W", "X", "rng"))
def _uniform_metric(rep):
    """Uniformity of the embeddings of held-out first views (undefined for a vanishing embedding)."""
    Z = _embedded_views(rep)
    return None if Z is None else uniformity(Z[0])


# ----------------------------------------------------------------------------- methods on the spiked model


class SpikedContext:
    """What a method on the spiked model fits from: the replicate's draw, the cell, the shared generator.

    Parameters
    ----------
    P : dict
        Resolved parameters.
    draw : SpikedDraw
        The replicate's data.

    Attributes
    ----------
    X, model, w, r : the samples, model, task and representation dimension.
    rng : numpy.random.Generator
        The fit generator, shared by the methods in their configuration order.
    cache : dict
        Per-replicate results methods share (the spectral plug-in moments).
    """

    def __init__(self, P, draw):
        self.P, self.draw = P, draw
        self.X, self.model, self.w, self.r = draw.X, draw.model, draw.w, int(P["r"])
        self.rng = np.random.default_rng(draw.fit_seed)
        self.cache = {}


#: Closed-form (and ODE) methods on the spiked model: ``fit(ctx) -> (W, info)``.
SPIKED_METHODS = Registry("method")


def register_spiked_method(name, *, replace=False):
    """Decorator: register ``fit(ctx) -> (W, info)`` as a method on the masked spiked model.

    Parameters
    ----------
    name : str
        Method name in configurations and rows.
    replace : bool, default=False
        Allow replacing a method of the same name.

    Returns
    -------
    callable
        The decorator, returning the function unchanged.
    """

    def decorator(fn):
        SPIKED_METHODS.add(name, fn, replace=replace)
        return fn

    return decorator


_CLOSED = {"solver": "closed_form", "n_iter": 0, "converged": True}


@register_spiked_method("cl")
def _cl(ctx):
    return np.asarray(fit_contrastive(ctx.X, ctx.r, p=ctx.P["mask_prob"], rng=ctx.rng).W), dict(_CLOSED)


@register_spiked_method("pca")
def _pca(ctx):
    return np.asarray(fit_pca(ctx.X, ctx.r).W), dict(_CLOSED)


def _spectral_views_moments(ctx):
    """Plug-in moments of one mask draw, recorded for the methods that reuse them (``spectral-gd``)."""
    X1, X2 = split_views(ctx.X, ctx.P["mask_prob"], rng=ctx.rng)
    ctx.cache["spectral_moments"] = view_moments(X1, X2)
    return ctx.cache["spectral_moments"]


@register_spiked_method("spectral")
def _spectral(ctx):
    Sigma, Cplus = _spectral_views_moments(ctx)
    return spectral_closed_form(Sigma, Cplus, ctx.r)[0], dict(_CLOSED)


@register_spiked_method("spectral-population")
def _spectral_population(ctx):
    Sigma, Cplus = spectral_moments(ctx.model.covariance(), 0.5)
    return spectral_closed_form(Sigma, Cplus, ctx.r)[0], dict(_CLOSED)


@register_spiked_method("byol")
def _byol_fit(ctx):
    """SimSiam-style linear dynamics on the masked moments (seed_systems.md §5, B-5)."""
    X, r, rng, p = ctx.X, ctx.r, ctx.rng, ctx.P["mask_prob"]
    n, d = X.shape
    S = X.T @ X / n
    # complementary masks: the augmentation mean is p x, the augmentation covariance p(1-p) diag(x^2)
    Xm = p**2 * S
    Xv = p * (1 - p) * np.diag(np.diag(S))
    W0 = rng.standard_normal((r, d)) / math.sqrt(d)
    Wp0 = 0.5 * np.eye(r) + 0.05 * rng.standard_normal((r, r))
    steps = int(ctx.P["byol_steps"])
    out = _byol.integrate_dynamics(W0, Wp0, Xm, Xv, variant="simsiam", eta=float(ctx.P["eta"]),
                                   dt=float(ctx.P["byol_dt"]), n_steps=steps)
    return out["W"], {"solver": "ode-euler", "n_iter": steps, "converged": True}


def spiked_methods():
    """Names of every method on the spiked model: :data:`SPIKED_METHODS` and the registered losses.

    Returns
    -------
    tuple of str
        Closed forms first, then the losses of :data:`spikedcl.systems.base.LOSSES`.
    """
    return tuple(SPIKED_METHODS) + tuple(n for n in LOSSES if n not in SPIKED_METHODS)


def train_embedding(loss, X, k, rng, *, p, batch_size, steps, lr, views=None, full=False):
    """Adam on a registered loss, with fresh complementary masks (or ``views(idx, rng)``) in every batch.

    Parameters
    ----------
    loss : ContrastiveLoss
        A loss of the protocol of :mod:`spikedcl.systems.base`: its
        ``value_and_grad(Z1, Z2, *extra)``, ``extra_init`` (scalar parameters
        trained with the encoder), ``head_shape(k)`` (projection head) and
        optional ``penalty(W)`` on the encoder weights.
    X : numpy.ndarray of shape (n, d)
        Samples (ignored but for its shape when ``views`` is given).
    k : int
        Representation dimension.
    rng : numpy.random.Generator
        Initialisation, batches and masks.
    p : float
        Keep probability of the masks.
    batch_size, steps : int
        Minibatch size (capped at n) and Adam steps.
    lr : float
        Learning rate.
    views : callable, optional
        ``views(idx, rng) -> (X1, X2)`` instead of masked views of ``X[idx]``.
    full : bool, default=False
        Return every trained parameter instead of the encoder ``W``.

    Returns
    -------
    W : numpy.ndarray of shape (k, d), or tuple of arrays with ``full``
        The trained encoder (the first layer) or all parameters.
    result : SolverResult
        The solver's record.
    """
    n, d = X.shape
    enc0 = init_encoder(k, d, head=loss.head_shape(k), rng=rng)
    n_enc = len(enc0)
    params0 = enc0 + tuple(np.asarray(float(e)) for e in loss.extra_init)
    penalty = loss.penalty

    def batch_grad(params, idx, rng):
        enc, extra = params[:n_enc], params[n_enc:]
        X1, X2 = split_views(X[idx], p, rng=rng) if views is None else views(idx, rng)
        Z1, _ = encode(enc, X1)
        Z2, _ = encode(enc, X2)
        value, dZ1, dZ2, *dextra = loss.value_and_grad(Z1, Z2, *extra)
        g = tuple(a + b for a, b in zip(encode_backward(enc, X1, dZ1), encode_backward(enc, X2, dZ2)))
        if penalty is not None:
            pv, pg = penalty(enc[0])
            value, g = value + pv, (g[0] + pg,) + g[1:]
        return value, g + tuple(dextra)

    batch_size = min(batch_size, n)
    res = stochastic_descent(batch_grad, params0, n_samples=n, batch_size=batch_size,
                             epochs=epochs_for_steps(n, batch_size, steps), lr=lr, method="adam", rng=rng)
    return (res.params if full else res.params[0]), res


def _fit_method(method, ctx):
    if method in SPIKED_METHODS:
        return SPIKED_METHODS[method](ctx)
    P = ctx.P
    loss = make_loss(method, P)
    W, res = train_embedding(loss, ctx.X, ctx.r, ctx.rng, p=float(P["mask_prob"]), batch_size=int(P["batch_size"]),
                             steps=int(P["steps"]), lr=float(P["lr"]))
    return W, {"solver": "adam", "n_iter": res.n_iter, "converged": res.converged}


def fit_spiked(method, X, r, params, rng):
    """Fit one method on masked views of the spiked-model samples ``X``.

    Parameters
    ----------
    method : str
        One of :func:`spiked_methods`.
    X : numpy.ndarray of shape (n, d)
        Samples.
    r : int
        Representation dimension.
    params : dict
        Parameters of the ``losses`` experiment (defaults filled for those
        missing): ``mask_prob``, ``batch_size``, ``steps``, ``lr``, ``eta``,
        ``byol_steps``, ``byol_dt``, the hyperparameters of the registered
        losses, and ``model`` (a :class:`SpikedModel`, for ``"spectral-population"``).
    rng : numpy.random.Generator
        Masks and initialisation.

    Returns
    -------
    W : numpy.ndarray of shape (r, d)
        The encoder.
    info : dict
        ``solver``, ``n_iter``, ``converged``.
    """
    check_choice(method, "method", spiked_methods())
    cell = {k: v for k, v in params.items() if k != "model"}
    P = losses.resolve({"n": X.shape[0], "d": X.shape[1], "r": r, **cell})
    ctx = SpikedContext(P, _Draw(params.get("model"), X, None, None))
    ctx.rng = rng
    return _fit_method(method, ctx)


@dataclasses.dataclass(frozen=True)
class _Draw:
    model: object
    X: object
    w: object
    fit_seed: object


def _method_rows(method, W, info, elapsed, ctx):
    """The metric rows of one fitted encoder; draws the held-out views from the shared generator."""
    W = np.asarray(W, dtype=float)
    rep = Representation(basis=representation_basis(W, ctx.r), W=W, X=ctx.X, model=ctx.model, w=ctx.w,
                         rng=ctx.rng, mask_prob=float(ctx.P["mask_prob"]))
    _held_out_views(rep)  # drawn whatever the metrics, so the methods after it see the same generator
    return [{**row, **info, "time_s": elapsed} for row in metric_rows(method, rep, ctx.P["metrics"])]


def _spiked_rows(methods, ctx):
    rows = []
    for method in methods:
        t0 = time.perf_counter()
        W, info = _fit_method(method, ctx)
        rows += _method_rows(method, W, info, time.perf_counter() - t0, ctx)
    return rows


def _loss_params():
    """The hyperparameters of the registered losses, as declared parameters (type and default from the fields)."""
    kinds = {"float": float, "int": int, "str": str, "bool": bool, float: float, int: int, str: str, bool: bool}
    out = {}
    for cls in LOSSES.values():
        for f in dataclasses.fields(cls):
            if f.name not in out and f.default is not dataclasses.MISSING:
                out[f.name] = Param(f.name, kinds.get(f.type, object), f.default,
                                    doc=f"hyperparameter of the loss {cls.name!r} (and any loss declaring it)")
    return tuple(out.values())


def _training_params(*, ranged=True, methods=("cl", "pca")):
    """Declared parameters of the methods on the spiked model (``ranged=False``: types only)."""
    def rng_(**kw):
        return kw if ranged else {}

    return (
        Param("mask_prob", float, 0.5, **rng_(low=0, high=1, open_low=True, open_high=True),
              doc="keep probability of the masks"),
        Param("methods", list, list(methods), choices=spiked_methods, items=str,
              doc="methods fitted to the same samples"),
        Param("metrics", list, list(SYSTEMS_METRICS), items=str, doc="registered metrics (spikedcl.metrics.METRICS)"),
        Param("batch_size", int, 256, **rng_(low=2), doc="minibatch size of the trained losses"),
        Param("steps", int, 300, low=1, doc="Adam steps of the trained losses"),
        Param("lr", float, 0.05, **rng_(low=0, open_low=True), doc="Adam learning rate"),
        Param("eta", float, 1e-3, low=0, doc="weight decay of 'byol'"),
        Param("byol_steps", int, 4000, low=1, doc="Euler steps of 'byol'"),
        Param("byol_dt", float, 0.1, low=0, open_low=True, doc="Euler step of 'byol'"),
        Param("gd_max_iter", int, 5000, low=1, doc="iterations of 'spectral-gd'"),
    )


def _spiked_model_params(*, required=True):
    return spiked_params(n_low=4, sizes_required=required, C_low=0.0, C_open=True)


def _spiked_declared(methods, extra=()):
    def params():
        return _spiked_model_params() + _training_params(methods=methods) + tuple(extra) + _loss_params()

    return params


def _check_spiked(P):
    check_int(P["r"], "r", low=1, high=int(P["d"]) - 1)
    check_metrics(P["metrics"], PROVIDES)
    for name, cls in LOSSES.items():  # every hyperparameter is checked by its loss, used or not
        required = any(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                       for f in dataclasses.fields(cls))
        if name in P["methods"] or not required:
            make_loss(name, P)


def _with_methods(*names):
    """Method choices of an experiment: the spiked methods and ``names``."""
    def choices():
        return spiked_methods() + names

    return choices


# ----------------------------------------------------------------------------- experiments on the spiked model


@register_experiment("losses", params=_spiked_declared(("cl", "pca")), draw=draw_spiked, check=_check_spiked)
def losses(P, draw):
    """Head-to-head on the paper's masked spiked model: sinΘ and downstream excess risk vs n.

    Parameters
    ----------
    P : dict
        The resolved cell (called as ``losses(params, seed)``): ``n``, ``d``,
        ``r``, ``C``, ``noise``, ``methods`` (names in :func:`spiked_methods`),
        ``metrics`` and the training options (``losses.describe()``).
    draw : SpikedDraw
        The replicate's data.

    Returns
    -------
    list of dict
        One row per (method, metric).
    """
    return _spiked_rows(P["methods"], SpikedContext(P, draw))


@register_experiment("nt_xent", params=_spiked_declared(("nt-xent",)), draw=draw_spiked, check=_check_spiked)
def nt_xent(P, draw):
    """S-2: NT-Xent on the masked spiked model across temperatures (seed_systems.md §1).

    Parameters
    ----------
    P : dict
        As :func:`losses`, with ``temperature`` on the grid; ``methods`` may hold
        ``"nt-xent"``, ``"nt-xent-head"`` and closed-form references.
    draw : SpikedDraw
        The replicate's data.

    Returns
    -------
    list of dict
        One row per (method, metric).
    """
    return _spiked_rows(P["methods"], SpikedContext(P, draw))


@register_experiment("align_uniform", draw=draw_spiked, check=_check_spiked,
                     params=_spiked_declared((), (Param("ratio", float, 1.0, low=0, open_low=True,
                                                        doc="lambda_align / lambda_uniform (lambda_uniform = 1)"),)))
def align_uniform(P, draw):
    """U-3: alignment–uniformity weights on the masked spiked model (seed_systems.md §2).

    Parameters
    ----------
    P : dict
        As :func:`losses`, with ``ratio`` = λ_a/λ_u on the grid (λ_u = 1).
    draw : SpikedDraw
        The replicate's data.

    Returns
    -------
    list of dict
        Rows of ``"align-uniform"``, the ``methods`` references, and the theory row
        ``uniform_min`` (the uniformity of the uniform law on S^{r-1}).
    """
    cell = {**P, "lam_align": P["ratio"], "lam_uniform": 1.0}
    rows = _spiked_rows(["align-uniform"] + list(P["methods"]), SpikedContext(cell, draw))
    r = int(P["r"])
    if r >= 2:
        rows.append({"method": "theory", "metric": "uniform_min", "value": uniformity_lower_bound(2.0, r)})
    return rows


def _spectral_params():
    return tuple(p if p.name != "methods" else Param("methods", list, ["spectral"],
                                                      choices=_with_methods("spectral-gd"), items=str,
                                                      doc="methods; 'spectral-gd' runs last")
                 for p in _spiked_declared(("spectral",))())


@register_experiment("spectral", params=_spectral_params, draw=draw_spiked, check=_check_spiked)
def spectral(P, draw):
    """G-3: spectral contrastive learning on the masked spiked model (seed_systems.md §3).

    The closed form on the plug-in moments of one mask draw (``"spectral"``),
    its population limit (``"spectral-population"``) and gradient descent on
    the same plug-in objective (``"spectral-gd"``, fitted after the other
    methods on the same samples and, when ``"spectral"`` runs, on the same
    mask draw, so that it agrees with ``"spectral"`` to the solver's
    tolerance), with the paper's CL and PCA.

    Parameters
    ----------
    P : dict
        As :func:`losses`; ``methods`` may include ``"spectral-gd"``.
    draw : SpikedDraw
        The replicate's data.

    Returns
    -------
    list of dict
        One row per (method, metric); ``"spectral-gd"`` adds ``loss_gap``, the
        relative gap of its loss to the closed form's, and
        ``sin_theta_to_closed_form``.
    """
    ctx = SpikedContext(P, draw)
    methods = list(P["methods"])
    rows = _spiked_rows([m for m in methods if m != "spectral-gd"], ctx)
    if "spectral-gd" in methods:
        rows += _spectral_gd_rows(ctx)
    return rows


def _spectral_gd_rows(ctx):
    """Gradient descent on the plug-in spectral objective of the replicate's mask draw."""
    r, rng = ctx.r, ctx.rng
    Sigma, Cplus = ctx.cache.get("spectral_moments") or _spectral_views_moments(ctx)
    W_star, L_star, _ = spectral_closed_form(Sigma, Cplus, r)
    t0 = time.perf_counter()
    scale = 1 / float(np.linalg.eigvalsh(Sigma)[-1])
    res = gradient_descent(
        lambda q: spectral_population_loss(q[0], Sigma, Cplus),
        lambda q: (spectral_population_grad(q[0], Sigma, Cplus),),
        (0.1 * rng.standard_normal((r, ctx.X.shape[1])),),
        step=0.1 * scale,
        max_iter=int(ctx.P["gd_max_iter"]),
        tol_rel=1e-13,
    )
    info = {"solver": "gd", "n_iter": res.n_iter, "converged": res.converged}
    W = res.params[0]
    rows = _method_rows("spectral-gd", W, info, time.perf_counter() - t0, ctx)
    info["time_s"] = rows[0]["time_s"] if rows else time.perf_counter() - t0
    gap = (res.loss - float(L_star)) / abs(float(L_star))
    rows.append({"method": "spectral-gd", "metric": "loss_gap", "value": float(gap), **info})
    rows.append({"method": "spectral-gd", "metric": "sin_theta_to_closed_form",
                 "value": float(sin_theta(W.T, W_star.T)), **info})
    return rows


# ----------------------------------------------------------------------------- two towers (SigLIP / CLIP)


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


# ----------------------------------------------------------------------------- BYOL dynamics


_BYOL_PARAMS = (
    Param("eta", float, REQUIRED, low=0, doc="weight decay"),
    Param("variant", str, "simsiam", choices=_byol.DYNAMICS, doc="dynamics"),
    Param("dim", int, 8, low=1, doc="dimension"),
    Param("sigma2", float, 0.5, low=0, doc="augmentation variance"),
    Param("alpha_p", float, 1.0, doc="predictor learning-rate ratio"),
    Param("beta", float, 0.05, doc="target EMA rate"),
    Param("dt", float, 0.01, low=0, open_low=True, doc="Euler step"),
    Param("n_steps", int, 30_000, low=1, doc="Euler steps"),
)


def _draw_byol_init(P, seed):
    """The random initialisation of the online and predictor weights."""
    dim = int(P["dim"])
    rng = np.random.default_rng(seed)
    W0 = 0.3 * np.linalg.qr(rng.standard_normal((dim, dim)))[0] + 0.02 * rng.standard_normal((dim, dim))
    Wp0 = 0.5 * np.eye(dim) + 0.05 * rng.standard_normal((dim, dim))
    return W0, Wp0


@register_experiment("byol", params=_BYOL_PARAMS, draw=_draw_byol_init)
def byol(P, init):
    """B-1–B-3: linear non-contrastive dynamics vs the per-mode fixed points (seed_systems.md §5).

    Parameters
    ----------
    P : dict
        The resolved cell (called as ``byol(params, seed)``): ``eta`` (weight
        decay, grid), ``variant`` in :data:`spikedcl.systems.byol.DYNAMICS`
        (grid), ``dim`` (8), ``sigma2`` (0.5), ``alpha_p`` (1), ``beta``
        (0.05), ``dt`` (0.01), ``n_steps`` (30000).
    init : tuple of numpy.ndarray
        The replicate's random initialisation ``(W0, Wp0)`` (from the seed).

    Returns
    -------
    list of dict
        ``s_max``, ``s_mean`` (top and mean eigenvalue of :math:`F = WW^\\top`),
        ``n_alive`` (modes with :math:`s > 10^{-6}`), ``commutator`` and
        ``asymmetry`` per variant; theory rows ``s_plus`` (NaN beyond the
        threshold, then 0 is the prediction) and ``s_directpred``.
    """
    dim, sigma2, eta, alpha_p = int(P["dim"]), float(P["sigma2"]), float(P["eta"]), float(P["alpha_p"])
    variant = P["variant"]
    W0, Wp0 = init
    t0 = time.perf_counter()
    n_steps = int(P["n_steps"])
    out = _byol.integrate_dynamics(
        W0, Wp0, np.eye(dim), sigma2 * np.eye(dim), variant=variant, alpha_p=alpha_p, eta=eta,
        beta=float(P["beta"]), dt=float(P["dt"]), n_steps=n_steps,
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
    s_plus, s_dp = _byol.predicted_eigenvalues(fp)
    rows += [
        {"method": "theory", "metric": "s_plus", "value": s_plus},
        {"method": "theory", "metric": "s_directpred", "value": s_dp},
        {"method": "theory", "metric": "threshold", "value": fp["threshold"]},
    ]
    return rows


# ----------------------------------------------------------------------------- dimensional collapse


def _collapse_params():
    base = {p.name: p for p in _spiked_declared(("cl",))()}
    for name in ("n", "d", "r"):
        base[name] = dataclasses.replace(base[name], default=None)
    base["mask_prob"] = Param("mask_prob", float, None, doc="keep probability (task 'masking', in (0, 1))")
    return tuple(base.values()) + (
        Param("task", str, "toy", choices=("toy", "masking"), doc="DirectCLR toy or linear CL on masks"),
        Param("case", int, 1, doc="toy: 1 (one layer) or 2 (two layers)"),
        Param("aug_noise", float, None, doc="toy: augmentation strength (>= 0)"),
        Param("n_iter", int, 2000, low=1, doc="toy: SGD iterations"),
        Param("n_samples", int, 10_000, low=2, doc="toy: samples"),
        Param("k", int, None, low=1, doc="masking: representation dimension of linear CL (default 2 r)"),
    )


def _check_collapse(P):
    if P["task"] == "toy":
        require(P, ("aug_noise",), "the collapse toy")
        check_positive(P["aug_noise"], "aug_noise", allow_zero=True)
        check_int(P["case"], "case", low=1, high=2)
    else:
        require(P, ("n", "d", "r", "mask_prob"), "the collapse masking task")
        check_int(P["n"], "n", low=4)
        _check_spiked(P)
        check_unit_interval(P["mask_prob"], "mask_prob")


def _draw_collapse(P, seed):
    return seed if P["task"] == "toy" else draw_spiked(P, seed)


@register_experiment("collapse", params=_collapse_params, draw=_draw_collapse, check=_check_collapse)
def collapse(P, data):
    """D-1/D-2 (DirectCLR toys) and D-3 (masking) of dimensional collapse (seed_systems.md §6).

    Parameters
    ----------
    P : dict
        The resolved cell (called as ``collapse(params, seed)``): ``task`` =
        ``"toy"`` with ``case`` (1 or 2), ``aug_noise`` (augmentation
        strength), ``n_iter``, ``n_samples``; or ``task`` = ``"masking"`` with
        ``mask_prob`` and the spiked-model keys ``n``, ``d``, ``r``, ``C``,
        ``k`` (representation dimension of linear CL).
    data : SeedSequence or SpikedDraw
        The toy's seed, or the masking task's spiked-model draw.

    Returns
    -------
    list of dict
        ``rankme`` and ``log10_eig`` (one row per eigenvalue, with the
        ``index`` column) of the embedding covariance; the masking task adds
        ``n_positive`` (eigenvalues of the CL matrix above zero) and ``sin_theta``.
    """
    task = P["task"]
    t0 = time.perf_counter()
    if task == "toy":
        case = int(P["case"])
        out = collapse_toy(case, noise=float(P["aug_noise"]), n_iter=int(P["n_iter"]),
                           n_samples=int(P["n_samples"]), rng=np.random.default_rng(data))
        method = f"linear-{case}-layer" if case == 1 else "linear-2-layer"
        info = {"solver": "sgd", "n_iter": out["n_iter"], "converged": True, "time_s": time.perf_counter() - t0}
        spectrum, rk = np.asarray(out["spectrum"]), out["rankme"]
    else:
        model, X = data.model, data.X
        rng = np.random.default_rng(data.fit_seed)
        k = int(P["k"]) if P["k"] is not None else 2 * model.r
        fit = fit_contrastive(X, k, p=float(P["mask_prob"]), rng=rng)
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


# ----------------------------------------------------------------------------- S-3: projection head and style


#: Defaults of :func:`nt_xent_style` (S-3).
STYLE_DEFAULTS = dict(n=2000, r=3, q=2, d_noise=25, k=8, style=2.0, jitter=0.3, temperature=0.5, lr=0.01,
                      batch_size=128, n_probe=4000, ridge=1e-3)

_STYLE_PARAMS = (
    Param("steps", int, REQUIRED, low=0, doc="Adam steps (0: the random initialisation)"),
    Param("head", str, "relu", choices=("relu", "none"), doc="ReLU projection head of widths (k, r), or none"),
    Param("n", int, STYLE_DEFAULTS["n"], low=2, doc="training signals"),
    Param("r", int, STYLE_DEFAULTS["r"], low=1, doc="signal dimension"),
    Param("q", int, STYLE_DEFAULTS["q"], low=1, doc="style dimension"),
    Param("d_noise", int, STYLE_DEFAULTS["d_noise"], low=0, doc="noise coordinates"),
    Param("k", int, STYLE_DEFAULTS["k"], low=1, doc="width of h"),
    Param("style", float, STYLE_DEFAULTS["style"], low=0, open_low=True, doc="style sd"),
    Param("jitter", float, STYLE_DEFAULTS["jitter"], low=0, doc="signal jitter sd"),
    Param("temperature", float, STYLE_DEFAULTS["temperature"], low=0, open_low=True, doc="NT-Xent temperature"),
    Param("lr", float, STYLE_DEFAULTS["lr"], low=0, open_low=True, doc="Adam learning rate"),
    Param("batch_size", int, STYLE_DEFAULTS["batch_size"], low=2, doc="minibatch size (at most n)"),
    Param("n_probe", int, STYLE_DEFAULTS["n_probe"], low=8, doc="probe samples (half to fit, half to score)"),
    Param("ridge", float, STYLE_DEFAULTS["ridge"], low=0, doc="ridge of the probes"),
)


def _check_style(P):
    check_int(P["batch_size"], "batch_size", low=2, high=int(P["n"]))


def _draw_signals(P, seed):
    data_seed, fit_seed = seed_children(seed, 2)
    return np.random.default_rng(data_seed).standard_normal((int(P["n"]), int(P["r"]))), fit_seed


@register_experiment("nt_xent_style", params=_STYLE_PARAMS, draw=_draw_signals, check=_check_style)
def nt_xent_style(P, data):
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
    P : dict
        The resolved cell (called as ``nt_xent_style(params, seed)``): ``head``
        in {"relu", "none"} and ``steps`` (Adam steps, 0 = the random
        initialisation) on the grid; :data:`STYLE_DEFAULTS` for the rest.
    data : tuple
        The replicate's signals (the seed's first child) and the seed of the
        initialisation, the views and the probe data (its second).

    Returns
    -------
    list of dict
        ``style_r2_h``, ``style_r2_z``, ``signal_r2_h``, ``signal_r2_z`` of method
        ``"nt-xent-head"`` or ``"nt-xent"``.
    """
    n, r, q, dn, k = (int(P[key]) for key in ("n", "r", "q", "d_noise", "k"))
    steps, head = int(P["steps"]), P["head"]
    signal, fit_seed = data
    rng = np.random.default_rng(fit_seed)
    opts = dict(style=float(P["style"]), jitter=float(P["jitter"]))

    def views(idx, rng):
        return style_views(signal[idx], q, dn, rng=rng, **opts), style_views(signal[idx], q, dn, rng=rng, **opts)

    t0 = time.perf_counter()
    head_widths = (k, r) if head == "relu" else None
    loss = _HeadLoss(make_loss("nt-xent", {"temperature": float(P["temperature"])}), head_widths)
    if steps > 0:
        enc, res = train_embedding(loss, np.zeros((n, r + q + dn)), k, rng, p=0.5,
                                   batch_size=int(P["batch_size"]), steps=steps, lr=float(P["lr"]),
                                   views=views, full=True)
        info = {"solver": "adam", "n_iter": res.n_iter, "converged": res.converged}
    else:
        enc = init_encoder(k, r + q + dn, head=head_widths, rng=rng)
        info = {"solver": "init", "n_iter": 0, "converged": True}
    info["time_s"] = time.perf_counter() - t0
    m = int(P["n_probe"]) // 2
    S = rng.standard_normal((2 * m, r))
    X = style_views(S, q, dn, rng=rng, **opts)
    Z, H = encode(enc, X)
    C = X[:, r:r + q]
    method = "nt-xent-head" if head == "relu" else "nt-xent"
    rows = []
    for name, target in (("style", C), ("signal", S)):
        for feat, F in (("h", H), ("z", Z)):
            value = float(ridge_probe_r2(F[:m], target[:m], F[m:], target[m:], ridge=float(P["ridge"])))
            rows.append({"method": method, "metric": f"{name}_r2_{feat}", "value": value, **info})
    return rows


class _HeadLoss:
    """A registered loss behind a projection head of given widths (the S-3 head is (k, r), not the loss's own)."""

    def __init__(self, loss, head):
        self.loss, self.head = loss, head
        self.extra_init, self.penalty = loss.extra_init, loss.penalty
        self.value_and_grad = loss.value_and_grad

    def head_shape(self, k):
        return self.head


# ----------------------------------------------------------------------------- N-1 / N-2 / N-3: batch size


#: Defaults of the N-2 (minibatch bias) task of :func:`batch_size`.
BIAS_DEFAULTS = dict(bias_d=100, aug_noise=1.5, bias_temperatures=(0.1, 0.2, 0.5, 1.0), bias_batches=100,
                     bias_pairs=20_000)


def _batch_params():
    base = {p.name: p for p in _spiked_model_params(required=False)}
    base["d"] = Param("d", int, 10, low=1, doc="mi: dimension of the Gaussian pairs")
    base["r"] = Param("r", int, None, low=1, doc="bias: embedding dimension k (default 5); training: spike rank")
    for p in _training_params(ranged=False, methods=("nt-xent", "spectral-sgd")):
        base[p.name] = p
    return tuple(base.values()) + (
        Param("task", str, "mi", choices=("mi", "training", "bias"), doc="N-1, N-3 or N-2"),
        Param("K", int, None, doc="mi and bias: batch size (>= 2)"),
        Param("rho", float, None, doc="mi: correlation, in (0, 1)"),
        Param("training_d", int, 100, low=2, doc="training: ambient dimension"),
        Param("bias_d", int, BIAS_DEFAULTS["bias_d"], low=3, doc="bias: dimension of the spiked model"),
        Param("aug_noise", float, BIAS_DEFAULTS["aug_noise"], low=0, open_low=True, doc="bias: view noise sd"),
        Param("bias_temperatures", list, list(BIAS_DEFAULTS["bias_temperatures"]), items=float, nonempty=True,
              doc="bias: temperatures (positive)"),
        Param("bias_batches", int, BIAS_DEFAULTS["bias_batches"], low=1, doc="bias: minibatches per replicate"),
        Param("bias_pairs", int, BIAS_DEFAULTS["bias_pairs"], low=2, doc="bias: positive pairs of the theory rows"),
    ) + _loss_params()


def _training_cell(P):
    return {**P, "d": int(P["training_d"])}


def _check_batch(P):
    task = P["task"]
    if task == "training":
        cell = _training_cell(P)
        require(cell, ("n", "r"), "the batch_size training task")
        for spec in _spiked_model_params() + _training_params():
            spec.check(cell[spec.name])
        _check_spiked(cell)
        return
    require(P, ("K",), "the batch_size experiment")
    check_int(P["K"], "K", low=2)
    if task == "bias":
        d = int(P["bias_d"])
        check_int(P["r"] if P["r"] is not None else 5, "r", low=2, high=d - 1)
        for t in P["bias_temperatures"]:
            check_positive(t, "bias_temperatures")
        return
    require(P, ("rho",), "the batch_size experiment")
    check_unit_interval(P["rho"], "rho")


def _draw_batch(P, seed):
    """The data of one replicate of each task (the mi task draws from the seed itself)."""
    task = P["task"]
    if task == "training":
        return draw_spiked(_training_cell(P), seed)
    if task == "mi":
        return seed
    data_seed, batch_seed = seed_children(seed, 2)
    rng = np.random.default_rng(data_seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        model = SpikedModel.random(int(P["bias_d"]), int(P["r"] if P["r"] is not None else 5), noise=P["noise"],
                                   condition=float(P["C"]), rng=rng)
    return model, rng, batch_seed


def _bias_rows(P, data):
    """N-2: the minibatch NT-Xent bias of a fixed whitening encoder at batch size ``K`` (see :func:`batch_size`)."""
    N, r = int(P["K"]), int(P["r"] if P["r"] is not None else 5)
    sigma, batches = float(P["aug_noise"]), int(P["bias_batches"])
    temperatures = [float(t) for t in P["bias_temperatures"]]
    model, rng, batch_seed = data
    W, mu = whitened_view_encoder(model.covariance(), r, sigma)

    def views(n, rng):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SpikedModelWarning)
            X = model.sample(n, rng=rng)
        return (X + sigma * rng.standard_normal(X.shape)) @ W.T, (X + sigma * rng.standard_normal(X.shape)) @ W.T

    # the positive-pair cosines, for the population limit and the first-order prediction
    P1, P2 = views(int(P["bias_pairs"]), rng)
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


@register_experiment("batch_size", params=_batch_params, draw=_draw_batch, check=_check_batch)
def batch_size(P, data):
    """N-1, N-2 and N-3 of seed_systems.md §7: InfoNCE against log K; the minibatch NT-Xent bias; losses vs batch size.

    Parameters
    ----------
    P : dict
        The resolved cell (called as ``batch_size(params, seed)``). ``task = "mi"`` (default): ``K`` (batch size), ``rho`` (correlation), ``d`` (10).
        ``task = "bias"``: ``K`` = N (pairs per batch), ``r`` (embedding dimension k, 5),
        ``C``, ``noise`` and ``bias_d`` (100) of the spiked model, ``aug_noise``
        (σ = 1.5; views x + σε), ``bias_temperatures`` ((0.1, 0.2, 0.5, 1)),
        ``bias_batches`` (100 minibatches per replicate), ``bias_pairs`` (20,000
        positive pairs for the theory rows).
        ``task = "training"``: the spiked-model keys of :func:`losses` (the dimension
        as ``training_d``, default 100) with ``batch_size``, ``lr`` and ``steps`` (the
        same number of Adam steps for every batch size).
    data : object
        The replicate's draw: the seed itself (``"mi"``), the spiked-model
        draw (``"training"``), or the model, its generator and the batch seed
        (``"bias"``).

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
    task = P["task"]
    if task == "training":
        cell = _training_cell(P)
        return _spiked_rows(cell["methods"], SpikedContext(cell, data))
    if task == "bias":
        return _bias_rows(P, data)
    K, rho, d = int(P["K"]), float(P["rho"]), int(P["d"])
    t0 = time.perf_counter()
    est = float(info_nce_estimate(K, d, rho, reps=1, rng=np.random.default_rng(data))[0])
    return [
        {"method": "info-nce", "metric": "mi_estimate", "value": est, "solver": "exact",
         "time_s": time.perf_counter() - t0},
        {"method": "theory", "metric": "log_k", "value": math.log(K)},
        {"method": "theory", "metric": "mutual_information", "value": gaussian_mutual_information(rho, d)},
    ]
