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
from .._array_api import namespace_for, to_numpy
from .._validation import check_choice, check_int, check_positive, check_rank, check_unit_interval
from ..closed_form import (
    fit_autoencoder,
    fit_contrastive,
    fit_gan,
    fit_heteropca,
    fit_pca,
    principal_fit_from_moment,
    second_moment,
)
from ..data import NOISE_PROFILES, SpikedModel
from ..downstream import draw_task, excess_risk, linear_oracle_risk, population_risk
from ..exceptions import SpikedModelWarning
from ..metrics import sin_theta
from ..population import population_fit

__all__ = ["METHODS", "METRICS", "subspace_recovery", "validate"]

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
    n, d, r = int(params["n"]), int(params["d"]), int(params["r"])
    methods = list(params["methods"])
    metrics = tuple(params.get("metrics", METRICS))
    data_seed, fit_seed = seed.spawn(2)
    rng = np.random.default_rng(data_seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        model = SpikedModel.random(d, r, noise=params["noise"], condition=float(params["C"]), rng=rng)
        xp, device = namespace_for(params.get("device", "cpu"), params.get("dtype"))
        X = model.sample(n, rng=rng, xp=xp, device=device, dtype=getattr(xp, params.get("dtype", "float64")))
    w = draw_task(r, rng=rng)
    cache = {}

    def moment():
        if "S" not in cache:
            cache["S"] = second_moment(X)
        return cache["S"]

    rows = []
    for method in methods:
        t0 = time.perf_counter()
        if method == "oracle":
            oracle = linear_oracle_risk(model, w) - population_risk(model.U, model, w)
            rows.append({"method": method, "metric": "excess_risk", "value": float(oracle), "solver": "exact"})
            continue
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
        rows += _theory_rows(n, d, r, metrics)
    return rows


subspace_recovery.validate = validate
