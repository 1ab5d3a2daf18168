"""Supervised contrastive learning: in-domain gain and transfer loss (spec §8, §9 F5).

One replicate draws a model (Haar :math:`U^\\star`, noise profile with condition
number ``C``), ``n`` unlabeled samples and ``m`` labeled samples whose labels
follow the source task :math:`w_s = e_{source}`, fits
:func:`spikedcl.fit_supervised_contrastive` at weight ``alpha`` with
representation dimension ``k``, and evaluates the representation on the source
task and on the transfer task :math:`w_t = e_{transfer}`:

* :func:`supervised_transfer` (regression labels): the exact population risk
  :math:`R(W^\\top)` of spec §6 on both tasks, its excess over :math:`U^\\star`,
  and the sine between the label direction :math:`U^\\star w_s` and the learned
  subspace; ``method="theory"`` rows hold the population (``n, m → ∞``) fit.
* :func:`supervised_transfer_classification` (``n_classes`` ordered class
  labels along the task direction, logistic or class-mean model):
  finite-sample logistic regression (multinomial for more than two classes) on
  fresh training and test data of each task, accuracy and log-loss, next to
  the oracle features :math:`U^\\star`.

Every ``alpha`` and ``k`` of a replicate sees the same data, masks and downstream
samples (the seed does not depend on them: leave them out of ``data_keys``).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .._validation import check_choice, check_int, check_positive, check_rank, check_unit_interval
from ..data import NOISE_PROFILES, SpikedModel
from ..downstream import (
    class_labels,
    logistic_test_metrics,
    population_risk,
    regression_labels,
)
from ..exceptions import RankDeficientWarning, SpikedModelWarning
from ..supervised import (
    _check_alpha,
    fit_supervised_contrastive,
    multiclass_labels,
    population_supervised_fit,
    sample_class_means,
    task_pair,
)

__all__ = ["FEATURES", "LABEL_MODELS", "MAX_CLASSES", "supervised_transfer", "supervised_transfer_classification", "validate"]

LABEL_MODELS = ("logistic", "class-mean")
#: largest ``n_classes`` of the classification experiment (the downstream Newton
#: system has (k + 1)(K - 1) unknowns; larger K is possible but not exercised)
MAX_CLASSES = 10
#: ``"W"``: the minimiser's rows (directions with eigenvalue <= 0 carry no feature);
#: ``"basis"``: the top-k eigenvectors of M(alpha) whatever their sign
FEATURES = ("W", "basis")
#: method name -> ``masks`` of the self-supervised term
_METHODS = {"supervised-cl": "realized", "supervised-cl-expected": "expected"}

_DEFAULTS = {
    "n": 20000, "d": 100, "r": 5, "C": 8.0, "noise": "uniform", "mask_prob": 0.5, "lam": 1.0,
    "loss": "cross-view", "source": 0, "transfer": 1, "noise_std": 0.1, "solver": "closed_form",
    "methods": list(_METHODS), "theory": True, "features": "W",
    # classification
    "label_model": "logistic", "n_classes": 2, "scale": 1.0, "separation": 0.8, "n_train": 2000,
    "n_test": 10000,
}


def _children(seed, k):
    """The first ``k`` children of ``seed``, as ``seed.spawn(k)`` gives them on a fresh sequence.

    Addressed rather than spawned, so calling the experiment twice with the same
    :class:`~numpy.random.SeedSequence` object gives the same rows.
    """
    return [
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i), pool_size=seed.pool_size)
        for i in range(k)
    ]


def _resolved(params):
    out = dict(_DEFAULTS, **params)
    out.setdefault("k", out["r"])
    return out


def validate(params):
    """Check one cell's parameters before anything runs.

    Parameters
    ----------
    params : dict
        The cell, as passed to :func:`supervised_transfer` or
        :func:`supervised_transfer_classification`.

    Raises
    ------
    ValueError, TypeError
        Naming the offending parameter and its allowed range.
    """
    for key in ("alpha", "m"):
        if key not in params:
            raise ValueError(f"the supervised experiment needs the parameter {key!r}")
    P = _resolved(params)
    _check_alpha(P["alpha"])
    check_int(P["m"], "m", low=2)
    check_int(P["n"], "n", low=2)
    d = check_int(P["d"], "d", low=3)
    r = check_rank(P["r"], d)
    check_rank(P["k"], d, "k")
    task_pair(r, source=P["source"], transfer=P["transfer"])
    if check_positive(P["C"], "C") < 1:
        raise ValueError(f"C (noise condition number) must be >= 1, got {P['C']}")
    check_choice(P["noise"], "noise", NOISE_PROFILES)
    check_unit_interval(P["mask_prob"], "mask_prob")
    check_positive(P["lam"], "lam")
    check_positive(P["noise_std"], "noise_std", allow_zero=True)
    check_choice(P["solver"], "solver", ("closed_form", "gd"))
    check_choice(P["features"], "features", FEATURES)
    methods = P["methods"]
    if isinstance(methods, str) or not methods:
        raise ValueError(f"methods must be a non-empty list of names in {tuple(_METHODS)}, got {methods!r}")
    for method in methods:
        check_choice(method, "methods", tuple(_METHODS))
    check_choice(P["label_model"], "label_model", LABEL_MODELS)
    check_int(P["n_classes"], "n_classes", low=2, high=MAX_CLASSES)
    check_positive(P["scale"], "scale")
    sep = check_positive(P["separation"], "separation")
    if sep >= 1:
        raise ValueError(f"separation (class-mean distance in units of nu) must lie in (0, 1), got {sep}")
    check_int(P["n_train"], "n_train", low=2)
    check_int(P["n_test"], "n_test", low=2)


def _draw(P, rng):
    """Model, unlabeled sample and the labeled latent sample (draw order fixed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        model = SpikedModel.random(int(P["d"]), int(P["r"]), noise=P["noise"], condition=float(P["C"]), rng=rng)
        X_u = model.sample(int(P["n"]), rng=rng)
    return model, X_u


def _fit(P, X_l, y, X_u, label_type, masks, fit_seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)  # alpha = 1 has rank K - 1 < k
        return fit_supervised_contrastive(
            X_l, y, int(P["k"]), alpha=float(P["alpha"]), X_unlabeled=X_u, label_type=label_type,
            p=float(P["mask_prob"]), lam=float(P["lam"]), masks=masks, loss=P["loss"],
            rng=np.random.default_rng(fit_seed), solver=P["solver"],
        )


def _features(fit, P):
    """Feature directions as rows: ``fit.W`` or the eigenvector basis transposed."""
    return np.asarray(fit.W if P["features"] == "W" else fit.basis.T)


def _label_sine(W, u):
    """Sine of the angle between the unit vector ``u`` and the row space of ``W`` (1 if W = 0)."""
    norms = np.linalg.norm(W, axis=1)
    rows = W[norms > 1e-12 * max(norms.max(), 1e-300)] if norms.max() > 0 else W[:0]
    if rows.shape[0] == 0:
        return 1.0
    Q = np.linalg.qr(rows.T)[0]
    return float(np.sqrt(max(0.0, 1.0 - float(np.sum((Q.T @ u) ** 2)))))


def _risk_rows(method, W, model, w_s, w_t, noise_std, R_oracle, extra):
    B = W.T
    R_s = float(population_risk(B, model, w_s, noise_std=noise_std))
    R_t = float(population_risk(B, model, w_t, noise_std=noise_std))
    values = {
        "risk_source": R_s,
        "risk_transfer": R_t,
        "excess_source": R_s - R_oracle[0],
        "excess_transfer": R_t - R_oracle[1],
        "label_sine": _label_sine(W, model.U @ w_s),
    }
    return [dict({"method": method, "metric": k, "value": v}, **extra) for k, v in values.items()]


def supervised_transfer(params, seed):
    """One replicate of the F5 regression experiment (spec §8, §9 F5).

    Parameters
    ----------
    params : dict
        The cell: ``alpha`` (supervised weight in [0, 1]) and ``m`` (labeled
        sample size) are required; optional, with defaults: ``n`` = 20000
        unlabeled samples, ``d`` = 100, ``r`` = 5, ``k`` = ``r`` (representation
        dimension), ``C`` = 8, ``noise`` = ``"uniform"``, ``mask_prob`` = 0.5, ``lam`` = 1,
        ``loss`` = ``"cross-view"``, ``source`` = 0 and ``transfer`` = 1 (latent
        directions of the two tasks), ``noise_std`` = 0.1, ``solver`` =
        ``"closed_form"``, ``methods`` (``"supervised-cl"``: realized masks;
        ``"supervised-cl-expected"``: mask-averaged :math:`M_{self}`, the spec's
        reference setting), ``theory`` = True and ``features`` = ``"W"`` (the
        minimiser's rows; ``"basis"``: the top-k eigenvectors of :math:`M(\alpha)`,
        also those with eigenvalue <= 0, see :data:`FEATURES`).
    seed : numpy.random.SeedSequence
        The replicate's seed; children: data (model, unlabeled sample, labeled
        sample, labels), masks and solver initialisation.

    Returns
    -------
    list of dict
        Rows ``method``, ``metric``, ``value`` (+ ``solver``, ``n_iter``,
        ``converged``, ``time_s``). Metrics: ``risk_source``, ``risk_transfer``
        (population risk :math:`R(W^\\top)`, spec §6; 1.01 without features),
        ``excess_source``, ``excess_transfer`` (minus :math:`R(U^\\star)`) and
        ``label_sine`` (:math:`\\sin\\angle(U^\\star w_s, \\operatorname{row}W)`).
        ``method="oracle"``: the risks of :math:`U^\\star`; ``method="theory"``: the
        same metrics for the population fit (``n, m → ∞``).
    """
    validate(params)
    P = _resolved(params)
    data_seed, fit_seed = _children(seed, 2)
    rng = np.random.default_rng(data_seed)
    model, X_u = _draw(P, rng)
    w_s, w_t = task_pair(model.r, source=int(P["source"]), transfer=int(P["transfer"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        X_l, Z_l = model.sample(int(P["m"]), rng=rng, return_latent=True)
    noise_std = float(P["noise_std"])
    y = regression_labels(Z_l, w_s, nu=model.nu, noise_std=noise_std, rng=rng)
    R_oracle = tuple(float(population_risk(model.U, model, w, noise_std=noise_std)) for w in (w_s, w_t))
    rows = [
        {"method": "oracle", "metric": name, "value": value, "solver": "exact"}
        for name, value in zip(("risk_source", "risk_transfer"), R_oracle)
    ]
    for method in P["methods"]:
        t0 = time.perf_counter()
        fit = _fit(P, X_l, y, X_u, "regression", _METHODS[method], fit_seed)
        extra = {"solver": fit.solver, "n_iter": fit.n_iter, "converged": fit.converged,
                 "time_s": time.perf_counter() - t0}
        rows += _risk_rows(method, _features(fit, P), model, w_s, w_t, noise_std, R_oracle, extra)
    if P["theory"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RankDeficientWarning)
            pop = population_supervised_fit(model, w_s, int(P["k"]), alpha=float(P["alpha"]), p=float(P["mask_prob"]),
                                            lam=float(P["lam"]))
        rows += _risk_rows("theory", _features(pop, P), model, w_s, w_t, noise_std, R_oracle, {"solver": "exact"})
    return rows


supervised_transfer.validate = validate


def _class_means(w, separation, nu, n_classes):
    """Class means :math:`a\\nu\\,t_c\\,w`, :math:`t_c` equally spaced in [-1, 1] (``±aνw`` for two classes)."""
    if n_classes == 2:
        return separation * nu * np.stack([-w, w])
    return separation * nu * (np.linspace(-1.0, 1.0, n_classes)[:, None] * w[None, :])


def _logistic_labels(Z, w, nu, scale, n_classes, rng):
    """Spec §6 labels for two classes; for K classes the logits :math:`T c\\langle z, w\\rangle/\\nu`, c = 0..K-1."""
    if n_classes == 2:
        return class_labels(Z, w, nu=nu, scale=scale, rng=rng)
    return multiclass_labels(Z, w[:, None] * np.arange(1, n_classes)[None, :], nu=nu, scale=scale, rng=rng)


def _class_mean_task(model, w, separation, n_train, n_test, rng, n_classes=2):
    means = _class_means(w, separation, model.nu, n_classes)
    X, _, y = sample_class_means(model, n_train, means, rng=rng)
    X_t, _, y_t = sample_class_means(model, n_test, means, rng=rng)
    return X, y, X_t, y_t


def _class_metrics(B, model, task, n_classes=2):
    """Accuracy and log-loss of logistic regression on features ``X B`` and on ``X U*``."""
    X, y, X_t, y_t = task
    out = {}
    for name, basis in (("", B), ("_oracle", model.U)):
        acc, ll = logistic_test_metrics(X @ basis, y, X_t @ basis, y_t, n_classes=n_classes)
        out["accuracy" + name], out["log_loss" + name] = float(acc), float(ll)
    return out


def _nonzero_rows(W):
    norms = np.linalg.norm(W, axis=1)
    keep = norms > 1e-12 * max(float(norms.max()), 1e-300)
    return W[keep] if keep.any() else W[:1]


def supervised_transfer_classification(params, seed):
    """One replicate of the F5 classification experiment (spec §6, §8).

    The labeled sample carries two-class labels of the source task: the spec's
    logistic model :math:`y \\sim \\mathrm{Bernoulli}(\\mathrm{sigmoid}(T z_{source}/\\nu))`
    (``label_model="logistic"``, logit scale ``scale`` = T, 1 in the paper) or the
    class-mean model with means :math:`\\pm a\\nu e_{source}` (``"class-mean"``,
    ``separation`` = a, :func:`spikedcl.supervised.sample_class_means`). Each
    task (source and transfer, the same label model on the other direction) is
    then learned by logistic regression on ``n_train`` fresh labeled samples
    projected on the representation and scored on ``n_test`` fresh test samples.

    ``n_classes`` = K > 2 (not in the paper) orders K classes along the same task
    direction, so the label subspace stays one-dimensional: the logistic model
    becomes the adjacent-categories multinomial model with class logits
    :math:`T c\\, z_{source}/\\nu`, c = 0, ..., K-1 (log-odds :math:`T z_{source}/\\nu`
    between neighbouring classes, :func:`spikedcl.supervised.multiclass_labels`),
    the class-mean model has K equally likely classes with means equally spaced
    from :math:`-a\\nu e_{source}` to :math:`a\\nu e_{source}`, and the downstream
    classifier is multinomial logistic regression
    (:func:`spikedcl.downstream.multiclass_test_metrics`). K = 2 is the
    two-class experiment, row for row.

    Parameters
    ----------
    params : dict
        As :func:`supervised_transfer`, plus ``label_model`` (``"logistic"``),
        ``n_classes`` (2, an integer in [2, 10]), ``scale`` (1.0), ``separation``
        (0.8), ``n_train`` (2000) and ``n_test`` (10000).
    seed : numpy.random.SeedSequence
        The replicate's seed; children: data, masks and solver initialisation,
        downstream samples (the same for every method).

    Returns
    -------
    list of dict
        Rows with metrics ``accuracy_source``, ``accuracy_transfer``,
        ``log_loss_source``, ``log_loss_transfer`` and ``label_sine`` per method;
        ``method="oracle"`` holds the same accuracies and log-losses with the
        features :math:`U^\\star` (on the same downstream samples).
    """
    validate(params)
    P = _resolved(params)
    data_seed, fit_seed, eval_seed = _children(seed, 3)
    rng = np.random.default_rng(data_seed)
    model, X_u = _draw(P, rng)
    w_s, w_t = task_pair(model.r, source=int(P["source"]), transfer=int(P["transfer"]))
    m, scale, sep = int(P["m"]), float(P["scale"]), float(P["separation"])
    K = int(P["n_classes"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        if P["label_model"] == "logistic":
            X_l, Z_l = model.sample(m, rng=rng, return_latent=True)
            y = _logistic_labels(Z_l, w_s, model.nu, scale, K, rng)
        else:
            X_l, _, y = sample_class_means(model, m, _class_means(w_s, sep, model.nu, K), rng=rng)
    # downstream samples, shared by all methods and all alpha
    eval_rng = np.random.default_rng(eval_seed)
    n_train, n_test = int(P["n_train"]), int(P["n_test"])
    tasks = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        for name, w in (("source", w_s), ("transfer", w_t)):
            if P["label_model"] == "logistic":
                X, Z = model.sample(n_train, rng=eval_rng, return_latent=True)
                X_t, Z_t = model.sample(n_test, rng=eval_rng, return_latent=True)
                tasks[name] = (X, _logistic_labels(Z, w, model.nu, scale, K, eval_rng),
                               X_t, _logistic_labels(Z_t, w, model.nu, scale, K, eval_rng))
            else:
                tasks[name] = _class_mean_task(model, w, sep, n_train, n_test, eval_rng, K)
    rows = []
    oracle = {}
    for method in P["methods"]:
        t0 = time.perf_counter()
        fit = _fit(P, X_l, y, X_u, "class", _METHODS[method], fit_seed)
        W = _features(fit, P)
        extra = {"solver": fit.solver, "n_iter": fit.n_iter, "converged": fit.converged}
        B = _nonzero_rows(W).T  # zero rows of W carry no feature
        values = {"label_sine": _label_sine(W, model.U @ w_s)}
        for name, task in tasks.items():
            res = _class_metrics(B, model, task, K)
            values[f"accuracy_{name}"] = res["accuracy"]
            values[f"log_loss_{name}"] = res["log_loss"]
            oracle[f"accuracy_{name}"] = res["accuracy_oracle"]
            oracle[f"log_loss_{name}"] = res["log_loss_oracle"]
        extra["time_s"] = time.perf_counter() - t0
        rows += [dict({"method": method, "metric": k, "value": v}, **extra) for k, v in values.items()]
    rows += [{"method": "oracle", "metric": k, "value": v, "solver": "exact"} for k, v in oracle.items()]
    return rows


supervised_transfer_classification.validate = validate
