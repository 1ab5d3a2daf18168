"""Subspace recovery and downstream risk on the spiked model (spec §9, F1–F4).

One replicate draws a model (Haar :math:`U^\\star`, a noise profile with
condition number ``C``), ``n`` samples and a regression task :math:`w^\\star`
from the data seed, fits every requested method to the same samples (common
random numbers) and reports :math:`\\|\\sin\\Theta(U^\\star, \\hat U)\\|_F` and the
exact downstream excess risks :math:`\\Delta R_{U^\\star}` and
:math:`\\Delta R_{lin}` of spec §6. Theory rows (``method="theory"``) hold the
bound shape :math:`r^{3/2}\\log d/d + \\sqrt{dr/n}`, the random-subspace anchor
:math:`\\sqrt{r(d-r)/d}` and the autoencoder lower bound :math:`c\\sqrt r`.
"""

from __future__ import annotations

import time

import numpy as np

from .. import theory
from .._array_api import get_namespace, to_numpy
from .._registry import Registry
from .._validation import check_rank
from ..closed_form import (
    fit_autoencoder,
    fit_contrastive,
    fit_gan,
    fit_heteropca,
    fit_pca,
    principal_fit_from_moment,
    replicates_per_batch,
    second_moment,
)
from ..augment import MASK_LAWS
from ..downstream import linear_oracle_risk, population_risk
from ..forms import FORMS
from ..metrics import Representation, check_metrics, metric_rows
from ..population import population_fit
from ..results import FitResult
from .base import REQUIRED, Param, register_experiment
from .spiked import ReplicateContext, draw_spiked, spiked_params

__all__ = ["METHODS", "METRICS", "PARAMS", "register_method", "subspace_recovery", "subspace_recovery_batch",
           "validate"]

#: The default metrics (any metric of :data:`spikedcl.metrics.METRICS` may be asked for).
METRICS = ("sin_theta", "excess_risk", "excess_risk_linear")
#: What the subspace experiment's representations provide to the metrics.
PROVIDES = ("basis", "W", "X", "model", "w", "rng")

#: Methods by name: ``fit(ctx) -> FitResult``, or a list of rows for a method
#: without a representation (the oracle). ``ctx`` is a :class:`FitContext`.
METHODS = Registry("method")


def register_method(name, *, solver_aware=False, replace=False):
    """Decorator: register ``fit(ctx) -> FitResult`` as a method of the subspace experiment.

    Parameters
    ----------
    name : str
        Method name in configurations and rows.
    solver_aware : bool, default=False
        Whether the fit honours ``solver = "gd"`` (informational).
    replace : bool, default=False
        Allow replacing a method of the same name.

    Returns
    -------
    callable
        The decorator, returning the function unchanged.
    """

    def decorator(fn):
        fn.solver_aware = solver_aware
        METHODS.add(name, fn, replace=replace)
        return fn

    return decorator


class FitContext(ReplicateContext):
    """What a method of the subspace experiment fits from: a fresh generator per method, the shared moment.

    Parameters
    ----------
    P, draw : dict, SpikedDraw
        The resolved cell (its ``solver`` picks the closed forms or their
        iterative solvers) and the replicate's data.
    """

    def __init__(self, P, draw):
        super().__init__(P, draw)
        self._moment = None

    def rng(self):
        """A fresh generator of the fit seed: every method sees the same masks and initialisation."""
        return np.random.default_rng(self.draw.fit_seed)

    def moment(self):
        """:math:`X^\\top X / n`, computed once per replicate and shared by the methods."""
        if self._moment is None:
            self._moment = second_moment(self.X)
        return self._moment


def _principal(kind, fit_solver):
    def fit(ctx):
        if ctx.P["solver"] == "closed_form":
            return principal_fit_from_moment(ctx.moment(), ctx.r, kind)
        return fit_solver(ctx.X, ctx.r, solver=ctx.P["solver"], rng=ctx.rng())

    return fit


register_method("pca", solver_aware=True)(_principal("pca", fit_pca))
register_method("ae", solver_aware=True)(_principal("autoencoder", fit_autoencoder))


@register_method("gan")
def _gan(ctx):
    if ctx.P["solver"] == "closed_form":
        return principal_fit_from_moment(ctx.moment(), ctx.r, "gan")
    return fit_gan(ctx.X, ctx.r)


def _contrastive(masks, mode):
    def fit(ctx):
        P = ctx.P
        return fit_contrastive(ctx.X, ctx.r, p=P["mask_prob"], lam=P["lam"], masks=masks, loss=P["loss"],
                               mask_mode=P["mask_mode"] if mode is None else mode, rng=ctx.rng(),
                               solver=P["solver"])

    return fit


register_method("cl", solver_aware=True)(_contrastive("realized", None))
for _name, _mode in (("cl-fixed", "fixed"), ("cl-fixed-bernoulli", "fixed-bernoulli")):
    register_method(_name, solver_aware=True)(_contrastive("realized", _mode))
register_method("cl-expected", solver_aware=True)(_contrastive("expected", None))
register_method("heteropca")(lambda ctx: fit_heteropca(ctx.X, ctx.r))


@register_method("oracle")
def _oracle(ctx):
    oracle = linear_oracle_risk(ctx.model, ctx.w) - population_risk(ctx.model.U, ctx.model, ctx.w)
    return [{"method": "oracle", "metric": "excess_risk", "value": float(oracle), "solver": "exact"}]


def _population(kind):
    def fit(ctx):
        return population_fit(ctx.model, kind, r=ctx.r, p=ctx.P["mask_prob"], rng=ctx.rng())

    return fit


for _name, _kind in (("pca-population", "pca"), ("cl-population", "contrastive"),
                     ("cl-fixed-population", "contrastive-fixed-bernoulli"), ("heteropca-population", "heteropca")):
    register_method(_name)(_population(_kind))


def _theory_rows(n, d, r, metrics):
    rows = []
    if "sin_theta" in metrics:
        rows.append({"method": "theory", "metric": "cl_bound_shape", "value": float(theory.cl_upper_bound(n, d, r))})
        rows.append({"method": "theory", "metric": "random_subspace", "value": float(theory.random_subspace_value(d, r))})
        rows.append({"method": "theory", "metric": "ae_lower_bound", "value": float(theory.ae_lower_bound(r))})
    return rows


#: Declared parameters of the subspace experiment.
PARAMS = spiked_params(required=True) + (
    Param("methods", list, REQUIRED, choices=lambda: tuple(METHODS), nonempty=True, items=str,
          doc="methods fitted to the same samples"),
    Param("metrics", list, list(METRICS), items=str, doc="registered metrics of spikedcl.metrics.METRICS"),
    Param("solver", str, "closed_form", choices=("closed_form", "gd"),
          doc="closed form, or gradient descent for PCA, AE and CL (the others are closed form)"),
    Param("mask_prob", float, 0.5, low=0, high=1, open_low=True, open_high=True, doc="keep probability p"),
    Param("lam", float, 1.0, low=0, open_low=True, doc="penalty weight of CL"),
    Param("loss", str, "cross-view", choices=FORMS, doc="batch form of CL (a name of spikedcl.forms.FORMS)"),
    Param("mask_mode", str, "per-sample", choices=MASK_LAWS,
          doc="mask law of 'cl' and 'cl-expected' (a name of spikedcl.augment.MASK_LAWS)"),
    Param("theory", bool, True, doc="add the method='theory' rows"),
    Param("batch_replicates", object, "auto", choices=(True, False, "auto"),
          doc="stack the replicates of a cell (default: on a GPU only)"),
    Param("memory_limit", int, 2**30, low=1, doc="bytes per stacked group"),
)


def _check(P):
    check_rank(P["r"], P["d"])
    check_metrics(P["metrics"], PROVIDES)


def _replicate_rows(P, draw, prefit=None):
    """Rows of one replicate; ``prefit`` maps methods to fits already made (batched)."""
    ctx = FitContext(P, draw)
    metrics = tuple(P["metrics"])
    prefit = prefit or {}
    rows = []
    for method in P["methods"]:
        t0 = time.perf_counter()
        if method in prefit:
            fit, elapsed = prefit[method]
        else:
            fit = METHODS[method](ctx)
            elapsed = time.perf_counter() - t0
        if isinstance(fit, list):  # a method without a representation writes its own rows
            rows += fit
            continue
        extra = {"solver": fit.solver, "n_iter": fit.n_iter, "converged": fit.converged, "time_s": elapsed}
        rep = Representation(
            basis=to_numpy(fit.basis).astype(np.float64),  # metrics on the host, in float64
            W=None if fit.W is None else to_numpy(fit.W).astype(np.float64), X=draw.X, model=draw.model,
            w=draw.w, rng=ctx.rng(), mask_prob=float(P["mask_prob"]),
        )
        rows += [dict(row, **extra) for row in metric_rows(method, rep, metrics)]
    if P["theory"]:
        rows += _theory_rows(int(P["n"]), int(P["d"]), int(P["r"]), metrics)
    return rows


@register_experiment("subspace", params=PARAMS, draw=draw_spiked, check=_check, devices=("cpu", "cuda"),
                     dtypes=("float64", "float32"))
def subspace_recovery(P, draw):
    """One replicate of the subspace-recovery experiment (spec §9, F1–F4).

    Called as ``subspace_recovery(params, seed)`` (the experiment contract of
    :mod:`spikedcl.experiments.base`).

    Parameters
    ----------
    P : dict
        The cell: ``n``, ``d``, ``r``, ``C`` (noise condition number), ``noise``
        (profile name), ``methods`` (names in :data:`METHODS`), and optionally
        ``metrics`` (registered metrics, default :data:`METRICS`), ``mask_prob``
        (default 0.5), ``lam`` (default 1), ``loss`` (``"cross-view"``),
        ``solver`` (``"closed_form"`` or ``"gd"``; the GAN, HeteroPCA and
        population methods are always closed form), ``device`` (``"cpu"`` or
        ``"cuda"``: where the fits run; the samples are drawn on the host, so
        both see the same data), ``dtype`` (``"float64"`` or ``"float32"``)
        and ``theory`` (default ``True``: add the ``method="theory"`` rows).
        See ``subspace_recovery.describe()``.
    draw : SpikedDraw
        The replicate's data (:func:`~spikedcl.experiments.spiked.draw_spiked`):
        the seed's first child draws the model, the samples and the task
        :math:`w^\\star`; its second seeds the masks and the solvers'
        initialisation, afresh for every method.

    Returns
    -------
    list of dict
        One row per (method, metric) with ``method``, ``metric``, ``value``,
        ``solver``, ``n_iter``, ``converged`` and ``time_s``.
    """
    return _replicate_rows(P, draw)


validate = subspace_recovery.validate


# fits that a stack of replicates can share: moment-based principal fits and M̄
_BATCHABLE = {"pca": "pca", "ae": "autoencoder", "gan": "gan", "cl-expected": None}


def subspace_recovery_batch(params, seeds):
    """Several replicates of :func:`subspace_recovery`, stacked on a leading axis when it pays.

    With ``params["batch_replicates"]`` true (default ``"auto"``: on a GPU
    device only), the replicates' samples are stacked as (R, n, d) in groups
    that fit ``params["memory_limit"]`` bytes (default 1 GiB; see
    :func:`spikedcl.closed_form.replicates_per_batch`), and PCA, the
    autoencoder, the GAN and CL on :math:`\bar M` are fitted with one batched
    product and eigendecomposition per group. Realized-mask CL and the other
    methods keep one call per replicate, each with its own mask seed, so every
    row equals that of :func:`subspace_recovery` (to rounding for the batched
    fits) and does not depend on the grouping. On the CPU stacking buys
    nothing (``benchmarks/README.md``), hence the default.

    Parameters
    ----------
    params : dict
        The cell (see :func:`subspace_recovery`), plus optionally
        ``batch_replicates`` (``True``, ``False`` or ``"auto"``) and
        ``memory_limit`` (bytes).
    seeds : list of numpy.random.SeedSequence
        One data seed per replicate (one :func:`~spikedcl.experiments.spiked.draw_spiked` each).

    Returns
    -------
    list of list of dict
        The rows of each replicate, in the order of ``seeds``.
    """
    P = subspace_recovery.resolve(params)
    mode = P["batch_replicates"]
    stack = mode is True or (mode == "auto" and P["device"] != "cpu")
    shared = [m for m in P["methods"] if m in _BATCHABLE and P["solver"] == "closed_form"]
    if not stack or not shared or len(seeds) < 2:
        return [_replicate_rows(P, draw_spiked(P, seed)) for seed in seeds]
    n, d, r = int(P["n"]), int(P["d"]), int(P["r"])
    itemsize = 4 if P["dtype"] == "float32" else 8
    group = replicates_per_batch(len(seeds), n, d, memory_limit=int(P["memory_limit"]), itemsize=itemsize)
    out = []
    for start in range(0, len(seeds), group):
        draws = [draw_spiked(P, seed) for seed in seeds[start:start + group]]
        xp = get_namespace(draws[0].X)
        Xs = xp.stack([draw.X for draw in draws])
        fits = {}
        t0 = time.perf_counter()
        S = second_moment(Xs, batched=True) if set(shared) - {"cl-expected"} else None
        for method in shared:
            if method == "cl-expected":
                fits[method] = fit_contrastive(Xs, r, p=P["mask_prob"], lam=P["lam"], masks="expected",
                                               loss=P["loss"], mask_mode=P["mask_mode"], batched=True)
            else:
                fits[method] = principal_fit_from_moment(S, r, _BATCHABLE[method])
        elapsed = (time.perf_counter() - t0) / len(draws)
        for i, draw in enumerate(draws):
            prefit = {m: (_unstack(fit, i), elapsed) for m, fit in fits.items()}
            out.append(_replicate_rows(P, draw, prefit))
    return out


def _unstack(fit, i):
    """Replicate ``i`` of a batched FitResult (only what the rows read)."""
    return FitResult(fit.method, fit.W[i, ...], fit.basis[i, ...], fit.eigenvalues[i, ...],
                     fit.loss[i, ...] if getattr(fit.loss, "ndim", 0) else fit.loss,
                     solver=fit.solver, n_iter=fit.n_iter, converged=fit.converged)


subspace_recovery.batch = subspace_recovery_batch
