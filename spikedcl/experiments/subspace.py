"""Subspace recovery and downstream risk on the spiked model (docs/model.md §9, F1–F4).

One replicate draws a model (Haar :math:`U^\\star`, a noise profile with
condition number ``C``), ``n`` samples and a regression task :math:`w^\\star`
from the data seed, fits every requested method to the same samples (common
random numbers) and reports :math:`\\|\\sin\\Theta(U^\\star, \\hat U)\\|_F` and the
exact downstream excess risks :math:`\\Delta R_{U^\\star}` and
:math:`\\Delta R_{lin}` of docs/model.md §6. Theory rows (``method="theory"``) hold the
bound shape :math:`r^{3/2}\\log d/d + \\sqrt{dr/n}`, the random-subspace anchor
:math:`\\sqrt{r(d-r)/d}` and the autoencoder lower bound :math:`c\\sqrt r`.

Memory. :func:`subspace_memory` estimates the peak bytes of one replicate
from the cell's parameters. When a cell's ``memory_limit`` is below the
in-memory estimate, the replicate is streamed: the ``(n, d)`` sample matrix
is never built; the samples are drawn chunk by chunk from the same random
numbers (:func:`~spikedcl.experiments.spiked.draw_spiked_streamed`) and reduced to
the statistics each method fits from (:class:`StreamedPath`): the second
moment for PCA, AE, GAN and HeteroPCA, the data sums for CL on :math:`\\bar M`,
and for realized-mask CL the view sums of each mask law, masks drawn from the
method's own generator as in memory. Population methods and the oracle need
no samples. The rows equal the in-memory rows to rounding (the same products
summed in another order: ~1e-13 relative in float64, ~1e-6 in float32); at
``d >= 4096`` the in-memory CL fits are matrix-free while the streamed ones
solve the formed matrix, so they agree to the Krylov solver's tolerance.
Methods without a streamed path (``solver="gd"``, a method registered without
one) and metrics that read the samples make the cell refuse
(:class:`~spikedcl.experiments.base.MemoryLimitError`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import theory
from .._array_api import get_namespace, to_numpy
from .._registry import Registry
from .._validation import check_rank
from ..asymptotics import asymptotic_sin_theta
from ..augment import MASK_LAWS, get_mask_law
from ..closed_form import (
    fit_autoencoder,
    fit_contrastive,
    fit_gan,
    fit_heteropca,
    fit_pca,
    heteropca_fit_from_moment,
    principal_fit_from_moment,
    replicates_per_batch,
    second_moment,
    solve_contrastive,
)
from ..downstream import linear_oracle_risk, population_risk
from ..eigensolvers import MATRIX_FREE_MIN_D, top_eigenpairs
from ..forms import FORMS, get_form
from ..metrics import METRICS as METRIC_REGISTRY
from ..metrics import Representation, check_metrics, metric_rows
from ..options import contrastive_options
from ..population import population_fit
from ..results import FitResult
from ..stats import SIGNED_VIEWS_BUDGET, VIEW_BLOCK_ENTRIES, default_threads
from ..streaming import DEFAULT_MEMORY_LIMIT
from .base import REQUIRED, Param, format_bytes, register_experiment
from .spiked import ReplicateContext, draw_spiked, draw_spiked_moments, draw_spiked_streamed, spiked_params

__all__ = ["METHODS", "METRICS", "PARAMS", "StreamedPath", "register_method", "subspace_memory", "streamed_layout",
           "subspace_recovery", "subspace_recovery_batch", "validate", "DATA_STATISTICS", "STACK_MEMORY"]

#: The default metrics (any metric of :data:`spikedcl.metrics.METRICS` may be asked for).
METRICS = ("sin_theta", "excess_risk", "excess_risk_linear")
#: What the subspace experiment's representations provide to the metrics.
PROVIDES = ("basis", "W", "X", "model", "w", "rng")

#: Methods by name: ``fit(ctx) -> FitResult``, or a list of rows for a method
#: without a representation (the oracle). ``ctx`` is a :class:`FitContext`.
METHODS = Registry("method")

#: Key of the unmasked data sums (``gram``, ``total``) among a streamed draw's statistics.
DATA_STATISTICS = "data"
#: Samplers of a replicate: the samples themselves, or their sufficient statistics drawn exactly.
SAMPLERS = ("data", "moments")
#: Bytes per stacked group of :func:`subspace_recovery_batch` when ``memory_limit`` is ``None`` (1 GiB).
STACK_MEMORY = 2**30


def _no_needs(P: dict[str, Any]) -> tuple[Any, ...]:
    return ()


@dataclass(frozen=True)
class StreamedPath:
    """How a method of the subspace experiment fits without the sample matrix.

    Parameters
    ----------
    fit : callable
        ``fit(ctx) -> FitResult`` (or rows) on a :class:`FitContext` whose
        ``X`` is ``None``: it reads ``ctx.moment()``, ``ctx.statistics`` and
        the model, task and generators, as the in-memory fit reads ``X``.
    needs : callable, default=no statistics
        ``needs(P) -> tuple``: the statistics the fit reads, each
        :data:`DATA_STATISTICS` (the unmasked ``gram`` and ``total``) or the
        name of a mask law (the realized-view sums of the cell's batch form,
        masks drawn from a fresh generator of the fit seed).
    closed_form_only : bool, default=False
        The path exists only for ``solver="closed_form"``.
    """

    fit: Callable[[FitContext], Any]
    needs: Callable[[dict[str, Any]], tuple[Any, ...]] = _no_needs
    closed_form_only: bool = False

    def available(self, P: dict[str, Any]) -> bool:
        """Whether the cell ``P`` can take this path."""
        return not self.closed_form_only or P["solver"] == "closed_form"


def register_method(
    name: str, *, solver_aware: bool = False, streamed: StreamedPath | None = None, replace: bool = False
) -> Callable[[Callable[[FitContext], Any]], Callable[[FitContext], Any]]:
    """Decorator: register ``fit(ctx) -> FitResult`` as a method of the subspace experiment.

    Parameters
    ----------
    name : str
        Method name in configurations and rows.
    solver_aware : bool, default=False
        Whether the fit honours ``solver = "gd"`` (informational).
    streamed : StreamedPath, optional
        The method's fit from streamed statistics; without it a cell over its
        ``memory_limit`` that asks for the method is refused.
    replace : bool, default=False
        Allow replacing a method of the same name.

    Returns
    -------
    callable
        The decorator, returning the function unchanged.

    Examples
    --------
    A method that fits PCA under another name, run with the built-in one on the same samples:

    >>> import numpy as np
    >>> import spikedcl as sc
    >>> from spikedcl.experiments.subspace import METHODS, register_method, subspace_recovery
    >>> @register_method("top-variance")
    ... def top_variance(ctx):
    ...     return sc.fit_pca(ctx.X, ctx.r)
    >>> cell = {"n": 200, "d": 20, "r": 2, "C": 4.0, "noise": "uniform", "theory": False,
    ...         "methods": ["top-variance", "pca"], "metrics": ["sin_theta"]}
    >>> rows = subspace_recovery(cell, np.random.SeedSequence(0))
    >>> [(row["method"], round(row["value"], 4)) for row in rows]
    [('top-variance', 0.5359), ('pca', 0.5359)]
    >>> del METHODS["top-variance"]  # unregister
    """
    if streamed is not None and not isinstance(streamed, StreamedPath):
        raise TypeError(f"streamed must be a StreamedPath, got {streamed!r}")

    def decorator(fn):
        fn.solver_aware = solver_aware
        fn.streamed = streamed
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
        self._eigenpairs = None

    def rng(self):
        """A fresh generator of the fit seed: every method sees the same masks and initialisation."""
        return np.random.default_rng(self.draw.fit_seed)

    def moment(self):
        """:math:`X^\\top X / n`, computed once per replicate and shared by the methods.

        From the streamed data sums when the draw is streamed (the same matrix to rounding).
        """
        if self._moment is None:
            if self.X is None:
                self._moment = self.statistics[DATA_STATISTICS].second_moment()
            else:
                self._moment = second_moment(self.X)
        return self._moment

    def principal(self, kind):
        """PCA, AE or GAN (``kind``) in closed form from :meth:`moment`, one top-``r`` decomposition shared by all."""
        if self._eigenpairs is None:
            self._eigenpairs = top_eigenpairs(self.moment(), self.r)
        return principal_fit_from_moment(self.moment(), self.r, kind, eigenpairs=self._eigenpairs)


def _data_needs(P):
    return (DATA_STATISTICS,)


def _principal(kind, fit_solver):
    def fit(ctx):
        if ctx.P["solver"] == "closed_form":
            return ctx.principal(kind)
        return fit_solver(ctx.X, ctx.r, solver=ctx.P["solver"], rng=ctx.rng())

    return fit


def _principal_streamed(kind):
    return StreamedPath(lambda ctx: ctx.principal(kind), _data_needs, closed_form_only=True)


register_method("pca", solver_aware=True, streamed=_principal_streamed("pca"))(_principal("pca", fit_pca))
register_method("ae", solver_aware=True, streamed=_principal_streamed("autoencoder"))(
    _principal("autoencoder", fit_autoencoder))


def _gan_streamed(ctx):
    return ctx.principal("gan")


@register_method("gan", streamed=StreamedPath(_gan_streamed, _data_needs))
def _gan(ctx):
    if ctx.P["solver"] == "closed_form":
        return ctx.principal("gan")
    return fit_gan(ctx.X, ctx.r)


def _contrastive(masks, mode):
    def fit(ctx):
        P = ctx.P
        return fit_contrastive(ctx.X, ctx.r, p=P["mask_prob"], lam=P["lam"], masks=masks, loss=P["loss"],
                               mask_mode=P["mask_mode"] if mode is None else mode, rng=ctx.rng(),
                               solver=P["solver"])

    return fit


def _contrastive_streamed(masks, mode):
    """CL from the streamed sums: ``M`` formed and solved as :func:`fit_contrastive` forms and solves it."""

    def law_of(P):
        return P["mask_mode"] if mode is None else mode

    def needs(P):
        return (DATA_STATISTICS,) if masks == "expected" else (law_of(P),)

    def fit(ctx):
        P = ctx.P
        opts = contrastive_options(P["mask_prob"], P["lam"], masks, P["loss"], law_of(P), d=int(P["d"]))
        stats = ctx.statistics[needs(P)[0]]
        M = stats.form_matrix(opts.form, opts.pair_moment, name="the streamed samples")
        return solve_contrastive(M, ctx.r, lam=opts.lam, info=opts.info())

    return StreamedPath(fit, needs, closed_form_only=True)


register_method("cl", solver_aware=True, streamed=_contrastive_streamed("realized", None))(
    _contrastive("realized", None))
for _name, _mode in (("cl-fixed", "fixed"), ("cl-fixed-bernoulli", "fixed-bernoulli")):
    register_method(_name, solver_aware=True, streamed=_contrastive_streamed("realized", _mode))(
        _contrastive("realized", _mode))
register_method("cl-expected", solver_aware=True, streamed=_contrastive_streamed("expected", None))(
    _contrastive("expected", None))
register_method("heteropca", streamed=StreamedPath(lambda ctx: heteropca_fit_from_moment(ctx.moment(), ctx.r),
                                                   _data_needs))(lambda ctx: fit_heteropca(ctx.X, ctx.r))


@register_method("oracle")
def _oracle(ctx):
    oracle = linear_oracle_risk(ctx.model, ctx.w) - population_risk(ctx.model.U, ctx.model, ctx.w)
    return [{"method": "oracle", "metric": "excess_risk", "value": float(oracle), "solver": "exact"}]


_oracle.streamed = StreamedPath(_oracle)  # the oracle reads no samples


def _population(kind):
    def fit(ctx):
        return population_fit(ctx.model, kind, r=ctx.r, p=ctx.P["mask_prob"], rng=ctx.rng())

    return fit


for _name, _kind in (("pca-population", "pca"), ("cl-population", "contrastive"),
                     ("cl-fixed-population", "contrastive-fixed-bernoulli"), ("heteropca-population", "heteropca")):
    _fit = _population(_kind)
    register_method(_name, streamed=StreamedPath(_fit))(_fit)  # population fits read no samples


def _asymptotic(name, kind):
    """Rows of the deterministic-equivalent prediction (docs/model.md §12) for the replicate's own model."""

    def fit(ctx):
        if "sin_theta" not in ctx.P["metrics"]:
            return []
        t0 = time.perf_counter()
        pred = asymptotic_sin_theta(ctx.model, int(ctx.P["n"]), method=kind, p=float(ctx.P["mask_prob"]))
        extra = {"method": name, "solver": "exact", "time_s": time.perf_counter() - t0}
        return [dict(extra, metric="sin_theta", value=float(np.sqrt(pred.sin_theta_sq))),
                dict(extra, metric="sin_theta_sq", value=float(pred.sin_theta_sq)),
                dict(extra, metric="n_outliers", value=float(pred.n_outliers))]

    return fit


for _name, _kind in (("pca-asymptotic", "pca"), ("cl-asymptotic", "cl-expected")):
    _fit = _asymptotic(_name, _kind)
    register_method(_name, streamed=StreamedPath(_fit))(_fit)  # predictions read no samples


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
    Param("sampler", str, "data", choices=SAMPLERS,
          doc="'data': draw the n samples; 'moments': draw only (XᵀX, Xᵀ1), exactly, in O(d³) whatever n "
              "(methods that read the statistics alone; other draws than the data sampler's)"),
)


def _check(P):
    check_rank(P["r"], P["d"])
    check_metrics(P["metrics"], PROVIDES)
    if P["sampler"] == "moments":
        _check_moments(P)


def _moment_based(method, P):
    """Whether ``method`` fits the cell ``P`` from the unmasked ``XᵀX`` and ``Xᵀ1`` alone."""
    path = getattr(METHODS[method], "streamed", None)
    return path is not None and path.available(P) and all(key == DATA_STATISTICS for key in path.needs(P))


def _sample_metrics(P):
    """The metrics of ``P`` that read the samples themselves."""
    return [m for m in P["metrics"] if "X" in METRIC_REGISTRY.lookup(m, "metrics").needs]


def _check_moments(P):
    """``sampler="moments"`` gives the methods ``XᵀX`` and ``Xᵀ1`` only: refuse what needs more."""
    needy = [m for m in P["methods"] if not _moment_based(m, P)]
    if needy:
        moment_based = [m for m in METHODS if _moment_based(m, P)]
        raise ValueError(f"sampler='moments' draws only XᵀX and Xᵀ1, which methods {needy} cannot fit from "
                         f"(solver={P['solver']!r}); the moment-based methods are {moment_based} (on the command "
                         "line, choose among them or run the samples alone with --sampler data and --n)")
    sample_metrics = _sample_metrics(P)
    if sample_metrics:
        raise ValueError(f"sampler='moments' draws no samples, which metrics {sample_metrics} read")


# ----------------------------------------------------------------------------- memory
# Calibrated on the Linux CI machine (2 cores, OpenBLAS): peak RSS of one replicate in a fresh
# interpreter, less the RSS after the imports and a warm-up replicate; see tests/test_memory_guard.py
# and the table in subspace_memory's docstring.

#: Float64 ``(n, d)`` arrays alive at once in memory: the samples and the two noise temporaries of their draw.
SAMPLE_ARRAYS = 3
#: Float64 ``(d, d)`` arrays alive at once in memory (moment, contrastive matrices, eigendecomposition, population).
SQUARE_ARRAYS = 8
#: Float64 ``(d, d)`` arrays of a streamed replicate besides two per statistics request (its sums and their update).
STREAMED_SQUARE_ARRAYS = 4
#: Float64 ``(chunk, d)`` arrays alive at once while a chunk is drawn (chunk, noise, scaled noise) or
#: reduced (chunk, float mask or uniforms, two views), with slack for the mask laws' index arrays.
CHUNK_ARRAYS = 5
#: Bytes outside the arrays counted above (small temporaries, allocator slack); the in-memory
#: estimate adds :data:`MEMORY_SLACK` of its arrays on top.
MEMORY_MARGIN = 2**18
#: Fraction of the in-memory arrays added to their estimate.
MEMORY_SLACK = 0.02


def _streamed_needs(P):
    """The statistics a streamed replicate accumulates, ``key -> (fields, law)``; ``None`` if a method has no path.

    Returns ``(needs, missing)``: ``missing`` lists the methods without a streamed path for ``P``.
    """
    needs, missing = {}, []
    form = get_form(P["loss"])
    for method in P["methods"]:
        path = getattr(METHODS[method], "streamed", None)
        if path is None or not path.available(P):
            missing.append(method)
            continue
        for key in path.needs(P):
            if key == DATA_STATISTICS:
                needs[key] = (frozenset({"gram", "total"}), None)
            else:
                needs[key] = (frozenset(form.needs), get_mask_law(key))
    return needs, missing


def streamed_layout(P: dict[str, Any], needs: Mapping[Any, Any] | None = None) -> tuple[int, int]:
    """Rows per chunk and peak bytes of a streamed replicate of the cell ``P``.

    The ``d x d`` sums (two float64 arrays per statistics request and
    :data:`STREAMED_SQUARE_ARRAYS` more for the fits) and :data:`MEMORY_MARGIN`
    are set aside first; the chunks (:data:`CHUNK_ARRAYS`
    float64 rows of ``d`` entries, one more in the cell's dtype when it is not
    float64) take the rest of ``P["memory_limit"]``, at most 256 MiB
    (:data:`~spikedcl.streaming.DEFAULT_MEMORY_LIMIT`).

    Parameters
    ----------
    P : dict
        Resolved parameters.
    needs : dict, optional
        The statistics requests (default: those of ``P``'s methods).

    Returns
    -------
    chunk_rows : int
        Rows per chunk, in ``[0, n]``: 0 when the limit cannot hold the ``d x d`` sums and one row.
    nbytes : int
        Estimated peak bytes (with ``chunk_rows = 0``: what one row would need).
    """
    if needs is None:
        needs = _streamed_needs(P)[0]
    n, d = int(P["n"]), int(P["d"])
    fixed = 8 * (2 * len(needs) + STREAMED_SQUARE_ARRAYS) * d * d + MEMORY_MARGIN
    per_row = (8 * CHUNK_ARRAYS + (0 if P["dtype"] == "float64" else 4)) * d
    limit = P.get("memory_limit")
    budget = DEFAULT_MEMORY_LIMIT if limit is None else min(DEFAULT_MEMORY_LIMIT, limit - fixed)
    rows = max(0, min(n, budget // per_row))
    return rows, fixed + per_row * max(rows, 1)


def _draws_views(P):
    """Whether a method of ``P`` may draw realized views in memory (a method without a streamed path may)."""
    for method in P["methods"]:
        path = getattr(METHODS[method], "streamed", None)
        if path is None or any(key != DATA_STATISTICS for key in path.needs(P)):
            return True
    return False


def _in_memory_bytes(P):
    n, d = int(P["n"]), int(P["d"])
    nd = n * d
    # X = Z U^T, plus randn(n, d) and its scaled copy while they are added; Z and nu * randn(n, r)
    peak = 8 * SAMPLE_ARRAYS * nd + 16 * n * int(P["r"])
    extra = 0
    if _draws_views(P):
        if d >= MATRIX_FREE_MIN_D and P["solver"] == "closed_form":
            # matrix-free realized CL: X, the mask's uniforms and booleans, and Y = X1 - X2 when it fits its budget
            peak = max(peak, 8 * nd + 9 * nd + (8 * nd if 8 * nd <= SIGNED_VIEWS_BUDGET else 0))
        else:
            # view blocks in flight on the thread pool: [X1 | 1], [X2 | 1], mask and uniforms, two per thread
            # (at most as many as there are blocks) and the (d + 1) x (d + 1) product and sum
            rows = min(n, max(1, VIEW_BLOCK_ENTRIES // d))
            in_flight = min(2 * default_threads(), -(-n // rows))
            extra = in_flight * rows * (16 * (d + 1) + 9 * d) + 16 * (d + 1) ** 2
    arrays = peak + extra + 8 * SQUARE_ARRAYS * d * d
    return arrays + int(MEMORY_SLACK * arrays) + MEMORY_MARGIN


def subspace_memory(P: dict[str, Any]) -> tuple[int, int | None, str]:
    """Peak bytes of one replicate of a subspace cell, in memory and streamed.

    In memory: :data:`SAMPLE_ARRAYS` float64 ``(n, d)`` arrays (the draw of the
    samples), or for realized-mask CL at ``d >= 4096`` (matrix-free) the samples,
    the masks and the signed views; the view blocks of the thread pool for
    realized CL below it; :data:`SQUARE_ARRAYS` ``(d, d)`` arrays, plus
    :data:`MEMORY_SLACK` of these arrays and :data:`MEMORY_MARGIN`. Streamed: :func:`streamed_layout`. Bytes beyond the
    interpreter and the imported libraries (about 100 MiB of RSS).

    Calibration: peak RSS of one replicate in a fresh interpreter less its RSS
    after the imports and a warm-up replicate at ``d = 20`` (2-core Linux
    machine, OpenBLAS, float64, r = 5, p = 0.5 per-sample masks unless said;
    "3 methods" = cl, pca, cl-expected; "8 methods" = those of fig1)::

        cell                                   path        estimate   measured   ratio
        n=200000, d=200, 3 methods             in memory   1004 MiB    924 MiB   1.09
        n=400000, d=100, pca                   in memory    966 MiB    932 MiB   1.04
        n=40000,  d=1000, 3 methods            in memory   1066 MiB    919 MiB   1.16
        n=20000,  d=2000, 3 methods            in memory   1298 MiB    918 MiB   1.41
        n=60000,  d=200, 3 methods             in memory    339 MiB    278 MiB   1.22
        n=20000,  d=200, 3 methods             in memory    150 MiB     93 MiB   1.60
        n=200000, d=200, 3 methods, 64 MiB     streamed      64 MiB     53 MiB   1.22
        n=200000, d=200, 8 methods, 128 MiB    streamed     128 MiB    104 MiB   1.23
        n=200000, d=200, cl exact-count p=0.3  streamed      64 MiB     52 MiB   1.23
        n=40000,  d=1000, 3 methods, 128 MiB   streamed     128 MiB     81 MiB   1.57
        n=20000,  d=2000, 3 methods, 384 MiB   streamed     384 MiB    248 MiB   1.55
        n=20000,  d=200, 3 methods, 16 MiB     streamed      16 MiB     13 MiB   1.24
        n=5000000, d=200, 3 methods, 1 GiB     streamed     259 MiB    163 MiB   1.59

    The estimate bounds the measured peak within 2x (the thread pool's view
    blocks are counted for :func:`~spikedcl.stats.default_threads` threads).

    Parameters
    ----------
    P : dict
        Resolved parameters.

    Returns
    -------
    tuple
        ``(in_memory_bytes, streamed_bytes or None, why)``: ``None`` and the
        reason when a method has no streamed path for the cell (``solver="gd"``,
        a method registered without one), a metric reads the samples, or the
        limit cannot hold the ``d x d`` statistics.
    """
    if P.get("sampler") == "moments":  # (r + d) x (d + 1) Bartlett factor and a few d x d statistics
        d = int(P["d"])
        arrays = 8 * (SQUARE_ARRAYS * d * d + (d + int(P["r"])) * (d + 2))
        return arrays + MEMORY_MARGIN, None, "sampler='moments' holds no samples"
    needs, missing = _streamed_needs(P)
    in_memory = _in_memory_bytes(P)
    if missing:
        return in_memory, None, (f"methods without a streamed path for solver={P['solver']!r}: {missing}")
    sample_metrics = _sample_metrics(P)
    if sample_metrics:
        return in_memory, None, f"metrics that read the samples: {sample_metrics}"
    rows, streamed = streamed_layout(P, needs)
    if rows == 0:
        return in_memory, streamed, f"its d x d statistics alone need about {format_bytes(streamed)}"
    return in_memory, streamed, ""


def _draw(P, seed):
    """The replicate's draw: :func:`draw_spiked`, streamed when the cell's memory plan says so, or its moments."""
    if P["sampler"] == "moments":
        return draw_spiked_moments(P, seed, DATA_STATISTICS)
    if subspace_recovery.memory_plan(P).path == "streamed":
        needs = _streamed_needs(P)[0]
        rows, _ = streamed_layout(P, needs)
        return draw_spiked_streamed(P, seed, needs, p=float(P["mask_prob"]), chunk_size=rows)
    return draw_spiked(P, seed)


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
            fn = METHODS[method]
            fit = fn(ctx) if ctx.X is not None else fn.streamed.fit(ctx)  # no samples: the streamed path
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


@register_experiment("subspace", params=PARAMS, draw=_draw, check=_check, devices=("cpu", "cuda"),
                     dtypes=("float64", "float32"), memory=subspace_memory)
def subspace_recovery(P, draw):
    """One replicate of the subspace-recovery experiment (docs/model.md §9, F1–F4).

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


def subspace_recovery_batch(params: dict[str, Any], seeds: list[np.random.SeedSequence]) -> list[list[dict[str, Any]]]:
    """Several replicates of :func:`subspace_recovery`, stacked on a leading axis when it pays.

    With ``params["batch_replicates"]`` true (default ``"auto"``: on a GPU
    device only), the replicates' samples are stacked as (R, n, d) in groups
    that fit ``params["memory_limit"]`` bytes (default :data:`STACK_MEMORY`, 1 GiB; see
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
    plan = subspace_recovery.memory_plan(P)
    mode = P["batch_replicates"]
    stack = mode is True or (mode == "auto" and P["device"] != "cpu")
    shared = [m for m in P["methods"] if m in _BATCHABLE and P["solver"] == "closed_form"]
    if not stack or not shared or len(seeds) < 2 or plan.path == "streamed":
        return [_replicate_rows(P, _draw(P, seed)) for seed in seeds]
    n, d, r = int(P["n"]), int(P["d"]), int(P["r"])
    itemsize = 4 if P["dtype"] == "float32" else 8
    limit = STACK_MEMORY if P["memory_limit"] is None else int(P["memory_limit"])
    group = replicates_per_batch(len(seeds), n, d, memory_limit=limit, itemsize=itemsize)
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
