"""Methods on the masked spiked model: their registry, the fit of one method and its metric rows.

A method is a closed form (or an ODE) registered in :data:`SPIKED_METHODS`
(``cl``, ``pca``, ``spectral``, ``spectral-population``, ``byol``) or a loss
registered in :data:`spikedcl.systems.base.LOSSES` (``nt-xent``,
``nt-xent-head``, ``siglip``, ``spectral-sgd``, ``align-uniform``, ...),
trained by :func:`~spikedcl.experiments.systems.trainer.train_embedding` with
the loss's hyperparameters taken from the cell's parameters of the same names.
Every method of a replicate fits from one :class:`SpikedContext`: the
replicate's draw and one fit generator shared in the configuration's order.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..._registry import Registry
from ...augment import split_views
from ...closed_form import fit_contrastive, fit_pca
from ...metrics import Representation, metric_rows
from ...systems import byol as _byol
from ...systems.base import LOSSES, make_loss
from ...systems.encoder import representation_basis
from ...systems.spectral import spectral_closed_form, spectral_moments, view_moments
from ..spiked import ReplicateContext, SpikedDraw
from .representation_metrics import held_out_views
from .trainer import train_embedding

__all__ = [
    "SYSTEMS_METRICS",
    "PROVIDES",
    "SpikedContext",
    "SPIKED_METHODS",
    "register_spiked_method",
    "spiked_methods",
    "spectral_view_moments",
    "fit_method",
    "method_rows",
    "spiked_rows",
]

#: The default metrics of a fit on the spiked model.
SYSTEMS_METRICS = ("sin_theta", "excess_risk", "excess_risk_linear", "rankme", "align", "uniform")
#: What the spiked-model representations provide to the metrics.
PROVIDES = ("basis", "W", "X", "model", "w", "rng")


class SpikedContext(ReplicateContext):
    """What a method on the spiked model fits from: the replicate's draw, the cell, the shared generator.

    Parameters
    ----------
    P, draw : dict, SpikedDraw
        The resolved cell (with the hyperparameters of the trained losses) and
        the replicate's data (its ``fit_seed`` seeds :attr:`rng`; a
        :class:`numpy.random.Generator` there is used as it is).

    Attributes
    ----------
    rng : numpy.random.Generator
        The fit generator, shared by the methods in their configuration order.
    cache : dict
        Per-replicate results methods share (the spectral plug-in moments).
    """

    def __init__(self, P: dict[str, Any], draw: SpikedDraw) -> None:
        super().__init__(P, draw)
        self.rng = np.random.default_rng(draw.fit_seed)
        self.cache = {}


#: Closed-form (and ODE) methods on the spiked model: ``fit(ctx) -> (W, info)``.
SPIKED_METHODS = Registry("method")


def register_spiked_method(name: str, *, replace: bool = False) -> Callable[[Callable[[SpikedContext], tuple[np.ndarray, dict[str, Any]]]], Callable[[SpikedContext], tuple[np.ndarray, dict[str, Any]]]]:
    """Decorator: register ``fit(ctx) -> (W, info)`` as a method on the masked spiked model.

    Parameters
    ----------
    name : str
        Name in the ``methods`` parameter of the experiments on the spiked model and in their rows.
    replace : bool, default=False
        Allow replacing a registered method of that name.

    Returns
    -------
    callable
        ``decorator(fit) -> fit``, registering ``fit`` in :data:`SPIKED_METHODS`.
    """
    return functools.partial(SPIKED_METHODS.add, name, replace=replace)


_CLOSED = {"solver": "closed_form", "n_iter": 0, "converged": True}


@register_spiked_method("cl")
def _cl(ctx):
    return np.asarray(fit_contrastive(ctx.X, ctx.r, p=ctx.P["mask_prob"], rng=ctx.rng).W), dict(_CLOSED)


@register_spiked_method("pca")
def _pca(ctx):
    return np.asarray(fit_pca(ctx.X, ctx.r).W), dict(_CLOSED)


def spectral_view_moments(ctx: SpikedContext) -> tuple[np.ndarray, np.ndarray]:
    """Plug-in moments of one mask draw of the replicate, recorded for the methods that reuse them.

    The draw comes from the context's shared generator; ``"spectral-gd"``
    fits on the moments recorded by ``"spectral"`` when it ran.

    Parameters
    ----------
    ctx : SpikedContext
        The replicate's context; the moments are stored in
        ``ctx.cache["spectral_moments"]``.

    Returns
    -------
    Sigma, Cplus : numpy.ndarray of shape (d, d)
        The views' second moment and symmetrised cross moment
        (:func:`spikedcl.systems.spectral.view_moments`).
    """
    X1, X2 = split_views(ctx.X, ctx.P["mask_prob"], rng=ctx.rng)
    ctx.cache["spectral_moments"] = view_moments(X1, X2)
    return ctx.cache["spectral_moments"]


@register_spiked_method("spectral")
def _spectral(ctx):
    Sigma, Cplus = spectral_view_moments(ctx)
    return spectral_closed_form(Sigma, Cplus, ctx.r)[0], dict(_CLOSED)


@register_spiked_method("spectral-population")
def _spectral_population(ctx):
    Sigma, Cplus = spectral_moments(ctx.model.covariance(), 0.5)
    return spectral_closed_form(Sigma, Cplus, ctx.r)[0], dict(_CLOSED)


@register_spiked_method("byol")
def _byol_fit(ctx):
    """SimSiam-style linear dynamics on the masked moments (docs/systems.md §5, B-5)."""
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


def spiked_methods() -> tuple[str, ...]:
    """Names of every method on the spiked model: :data:`SPIKED_METHODS` and the registered losses.

    Returns
    -------
    tuple of str
        Closed forms first, then the losses of :data:`spikedcl.systems.base.LOSSES`.
    """
    return tuple(SPIKED_METHODS) + tuple(n for n in LOSSES if n not in SPIKED_METHODS)


def fit_method(method: str, ctx: SpikedContext) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit one method of the replicate: a registered closed form, or Adam on a registered loss.

    Parameters
    ----------
    method : str
        A name of :func:`spiked_methods`.
    ctx : SpikedContext
        The replicate's context; its parameters hold the loss's
        hyperparameters and ``mask_prob``, ``batch_size``, ``steps``, ``lr``.

    Returns
    -------
    W : numpy.ndarray of shape (r, d)
        The encoder.
    info : dict
        ``solver``, ``n_iter``, ``converged``.
    """
    if method in SPIKED_METHODS:
        return SPIKED_METHODS[method](ctx)
    P = ctx.P
    loss = make_loss(method, P)
    W, res = train_embedding(loss, ctx.X, ctx.r, ctx.rng, p=float(P["mask_prob"]), batch_size=int(P["batch_size"]),
                             steps=int(P["steps"]), lr=float(P["lr"]))
    return W, {"solver": "adam", "n_iter": res.n_iter, "converged": res.converged}


def method_rows(
    method: str, W: np.ndarray, info: dict[str, Any], elapsed: float, ctx: SpikedContext
) -> list[dict[str, Any]]:
    """The metric rows of one fitted encoder; draws the held-out views from the shared generator.

    Parameters
    ----------
    method : str
        Method name of the rows.
    W : array_like of shape (k, d)
        The encoder.
    info : dict
        Solver record added to every row (``solver``, ``n_iter``, ``converged``).
    elapsed : float
        Seconds of the fit (the rows' ``time_s``).
    ctx : SpikedContext
        The replicate's context (its ``metrics`` parameter names the metrics).

    Returns
    -------
    list of dict
        One row per metric.
    """
    W = np.asarray(W, dtype=float)
    rep = Representation(basis=representation_basis(W, ctx.r), W=W, X=ctx.X, model=ctx.model, w=ctx.w,
                         rng=ctx.rng, mask_prob=float(ctx.P["mask_prob"]))
    held_out_views(rep)  # drawn whatever the metrics, so the methods after it see the same generator
    return [{**row, **info, "time_s": elapsed} for row in metric_rows(method, rep, ctx.P["metrics"])]


def spiked_rows(methods: Sequence[str], ctx: SpikedContext) -> list[dict[str, Any]]:
    """Fit every method in order on the replicate's context and return their metric rows.

    Parameters
    ----------
    methods : list of str
        Names of :func:`spiked_methods`, fitted in this order from the shared generator.
    ctx : SpikedContext
        The replicate's context.

    Returns
    -------
    list of dict
        The rows of :func:`method_rows` of every method.
    """
    rows = []
    for method in methods:
        t0 = time.perf_counter()
        W, info = fit_method(method, ctx)
        rows += method_rows(method, W, info, time.perf_counter() - t0, ctx)
    return rows
