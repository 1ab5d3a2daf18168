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
import warnings

import numpy as np

from .. import theory
from .._array_api import get_namespace, namespace_for, to_numpy
from .._validation import check_choice, check_int, check_positive, check_rank, check_unit_interval
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
from ..data import NOISE_PROFILES, SpikedModel
from ..downstream import draw_task, excess_risk, linear_oracle_risk, population_risk
from ..exceptions import SpikedModelWarning
from ..metrics import sin_theta
from ..population import population_fit
from ..results import FitResult

__all__ = ["METHODS", "METRICS", "subspace_recovery", "subspace_recovery_batch", "validate"]

METRICS = ("sin_theta", "excess_risk", "excess_risk_linear")

# method -> (fit from the samples, population method or None). A fit takes
# (X, r, params, rng, moment) where ``moment`` lazily returns X^T X / n, so PCA,
# the autoencoder and the GAN share one product per replicate.
_FROM_MOMENT = {"pca": "pca", "ae": "autoencoder", "gan": "gan"}
_CL_MODES = {"cl": "per-sample", "cl-fixed": "fixed", "cl-fixed-bernoulli": "fixed-bernoulli"}
_POPULATION = {
    "pca-population": "pca",
    "cl-population": "contrastive",
    "cl-fixed-population": "contrastive-fixed-bernoulli",
    "heteropca-population": "heteropca",
}
METHODS = (
    tuple(_FROM_MOMENT) + tuple(_CL_MODES) + ("cl-expected", "heteropca", "oracle") + tuple(_POPULATION)
)
_SOLVER_AWARE = {"pca", "ae", "cl", "cl-fixed", "cl-fixed-bernoulli", "cl-expected"}


def _fit(method, X, r, params, rng, moment):
    """Fit ``method`` to ``X``; returns a FitResult."""
    solver = params.get("solver", "closed_form")
    lam = params.get("lam", 1.0)
    p = params.get("mask_prob", 0.5)
    loss = params.get("loss", "cross-view")
    if method in _FROM_MOMENT and solver == "closed_form":
        return principal_fit_from_moment(moment(), r, _FROM_MOMENT[method])
    if method == "pca":
        return fit_pca(X, r, solver=solver, rng=rng)
    if method == "ae":
        return fit_autoencoder(X, r, solver=solver, rng=rng)
    if method == "gan":
        return fit_gan(X, r)
    if method == "heteropca":
        return fit_heteropca(X, r)
    masks = "expected" if method == "cl-expected" else "realized"
    mode = _CL_MODES.get(method, "per-sample")
    return fit_contrastive(X, r, p=p, lam=lam, masks=masks, loss=loss, mask_mode=mode, rng=rng, solver=solver)


def _metric_rows(method, basis, model, w, metrics):
    values = {}
    if "sin_theta" in metrics:
        values["sin_theta"] = sin_theta(model.U, basis)
    if "excess_risk" in metrics:
        values["excess_risk"] = excess_risk(basis, model, w)
    if "excess_risk_linear" in metrics:
        values["excess_risk_linear"] = excess_risk(basis, model, w, reference="linear")
    return [{"method": method, "metric": k, "value": float(v)} for k, v in values.items()]


def _theory_rows(n, d, r, metrics):
    rows = []
    if "sin_theta" in metrics:
        rows.append({"method": "theory", "metric": "cl_bound_shape", "value": float(theory.cl_upper_bound(n, d, r))})
        rows.append({"method": "theory", "metric": "random_subspace", "value": float(theory.random_subspace_value(d, r))})
        rows.append({"method": "theory", "metric": "ae_lower_bound", "value": float(theory.ae_lower_bound(r))})
    return rows


def validate(params):
    """Check one cell's parameters before anything runs.

    Parameters
    ----------
    params : dict
        The cell, as passed to :func:`subspace_recovery`.

    Raises
    ------
    ValueError, TypeError
        Naming the offending parameter and its allowed range.
    """
    for key in ("n", "d", "r", "C", "noise", "methods"):
        if key not in params:
            raise ValueError(f"the subspace experiment needs the parameter {key!r}")
    check_int(params["n"], "n", low=2)
    d = check_int(params["d"], "d", low=2)
    check_rank(params["r"], d)
    if check_positive(params["C"], "C") < 1:
        raise ValueError(f"C (noise condition number) must be >= 1, got {params['C']}")
    check_choice(params["noise"], "noise", NOISE_PROFILES)
    methods = params["methods"]
    if isinstance(methods, str) or not methods:
        raise ValueError(f"methods must be a non-empty list of names in {METHODS}, got {methods!r}")
    for method in methods:
        check_choice(method, "methods", METHODS)
    for metric in params.get("metrics", METRICS):
        check_choice(metric, "metrics", METRICS)
    check_choice(params.get("solver", "closed_form"), "solver", ("closed_form", "gd"))
    check_unit_interval(params.get("mask_prob", 0.5), "mask_prob")
    check_positive(params.get("lam", 1.0), "lam")
    check_choice(params.get("dtype", "float64"), "dtype", ("float64", "float32"))
    if params.get("batch_replicates", "auto") not in (True, False, "auto"):
        raise ValueError(f"batch_replicates must be true, false or 'auto', got {params['batch_replicates']!r}")
    check_int(params.get("memory_limit", 2**30), "memory_limit", low=1)


def subspace_recovery(params, seed):
    """One replicate of the subspace-recovery experiment (spec §9, F1–F4).

    Parameters
    ----------
    params : dict
        The cell: ``n``, ``d``, ``r``, ``C`` (noise condition number), ``noise``
        (profile name), ``methods`` (names in :data:`METHODS`), and optionally
        ``metrics`` (subset of :data:`METRICS`, default all), ``mask_prob``
        (default 0.5), ``lam`` (default 1), ``loss`` (``"cross-view"``),
        ``solver`` (``"closed_form"`` or ``"gd"``; the GAN, HeteroPCA and
        population methods are always closed form), ``device`` (``"cpu"`` or
        ``"cuda"``: where the fits run; the samples are drawn on the host, so
        both see the same data), ``dtype`` (``"float64"`` or ``"float32"``)
        and ``theory`` (default ``True``: add the ``method="theory"`` rows).
    seed : numpy.random.SeedSequence
        The replicate's data seed. Its first child draws the model, the
        samples and the task :math:`w^\\star`; its second seeds the masks and
        the solvers' initialisation, afresh for every method.

    Returns
    -------
    list of dict
        One row per (method, metric) with ``method``, ``metric``, ``value``,
        ``solver``, ``n_iter``, ``converged`` and ``time_s``.
    """
    validate(params)
    return _replicate_rows(params, _draw(params, seed))


def _draw(params, seed):
    """Model, samples (in the cell's namespace), task and fit seed of one replicate."""
    # the first two children of ``seed``, built without spawning (which would change its state)
    data_seed, fit_seed = (np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i),
                                                  pool_size=seed.pool_size) for i in range(2))
    rng = np.random.default_rng(data_seed)
    d, r = int(params["d"]), int(params["r"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        model = SpikedModel.random(d, r, noise=params["noise"], condition=float(params["C"]), rng=rng)
        xp, device = namespace_for(params.get("device", "cpu"), params.get("dtype"))
        X = model.sample(int(params["n"]), rng=rng, xp=xp, device=device,
                         dtype=getattr(xp, params.get("dtype", "float64")))
    return model, X, draw_task(r, rng=rng), fit_seed


def _replicate_rows(params, draw, prefit=None):
    """Rows of one replicate; ``prefit`` maps methods to fits already made (batched)."""
    model, X, w, fit_seed = draw
    r = int(params["r"])
    metrics = tuple(params.get("metrics", METRICS))
    prefit = prefit or {}
    cache = {}

    def moment():
        if "S" not in cache:
            cache["S"] = second_moment(X)
        return cache["S"]

    rows = []
    for method in params["methods"]:
        t0 = time.perf_counter()
        if method == "oracle":
            oracle = linear_oracle_risk(model, w) - population_risk(model.U, model, w)
            rows.append({"method": method, "metric": "excess_risk", "value": float(oracle), "solver": "exact"})
            continue
        if method in prefit:
            fit, elapsed = prefit[method]
        else:
            if method in _POPULATION:
                fit = population_fit(model, _POPULATION[method], r=r, p=params.get("mask_prob", 0.5),
                                     rng=np.random.default_rng(fit_seed))
            else:
                fit = _fit(method, X, r, params, np.random.default_rng(fit_seed), moment)
            elapsed = time.perf_counter() - t0
        extra = {
            "solver": fit.solver,
            "n_iter": fit.n_iter,
            "converged": fit.converged,
            "time_s": elapsed,
        }
        basis = to_numpy(fit.basis).astype(np.float64)  # metrics on the host, in float64
        rows += [dict(row, **extra) for row in _metric_rows(method, basis, model, w, metrics)]
    if params.get("theory", True):
        rows += _theory_rows(int(params["n"]), int(params["d"]), r, metrics)
    return rows


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
        One data seed per replicate.

    Returns
    -------
    list of list of dict
        The rows of each replicate, in the order of ``seeds``.
    """
    validate(params)
    mode = params.get("batch_replicates", "auto")
    stack = mode is True or (mode == "auto" and params.get("device", "cpu") != "cpu")
    shared = [m for m in params["methods"] if m in _BATCHABLE and params.get("solver", "closed_form") == "closed_form"]
    if not stack or not shared or len(seeds) < 2:
        return [_replicate_rows(params, _draw(params, seed)) for seed in seeds]
    n, d, r = int(params["n"]), int(params["d"]), int(params["r"])
    itemsize = 4 if params.get("dtype") == "float32" else 8
    group = replicates_per_batch(len(seeds), n, d, memory_limit=int(params.get("memory_limit", 2**30)),
                                 itemsize=itemsize)
    out = []
    for start in range(0, len(seeds), group):
        draws = [_draw(params, seed) for seed in seeds[start:start + group]]
        xp = get_namespace(draws[0][1])
        Xs = xp.stack([draw[1] for draw in draws])
        fits = {}
        t0 = time.perf_counter()
        S = second_moment(Xs, batched=True) if set(shared) - {"cl-expected"} else None
        for method in shared:
            if method == "cl-expected":
                fits[method] = fit_contrastive(Xs, r, p=params.get("mask_prob", 0.5), lam=params.get("lam", 1.0),
                                               masks="expected", loss=params.get("loss", "cross-view"), batched=True)
            else:
                fits[method] = principal_fit_from_moment(S, r, _BATCHABLE[method])
        elapsed = (time.perf_counter() - t0) / len(draws)
        for i, draw in enumerate(draws):
            prefit = {m: (_unstack(fit, i), elapsed) for m, fit in fits.items()}
            out.append(_replicate_rows(params, draw, prefit))
    return out


def _unstack(fit, i):
    """Replicate ``i`` of a batched FitResult (only what the rows read)."""
    return FitResult(fit.method, fit.W[i, ...], fit.basis[i, ...], fit.eigenvalues[i, ...],
                     fit.loss[i, ...] if getattr(fit.loss, "ndim", 0) else fit.loss,
                     solver=fit.solver, n_iter=fit.n_iter, converged=fit.converged)


subspace_recovery.validate = validate
subspace_recovery.batch = subspace_recovery_batch
