"""Supervised contrastive learning: in-domain gain and transfer loss (docs/model.md §8, §9 F5).

One replicate draws a model (Haar :math:`U^\\star`, noise profile with condition
number ``C``), ``n`` unlabeled samples and ``m`` labeled samples whose labels
follow the source task :math:`w_s = e_{source}`, fits
:func:`spikedcl.fit_supervised_contrastive` at weight ``alpha`` with
representation dimension ``k``, and evaluates the representation on the source
task and on the transfer task :math:`w_t = e_{transfer}`:

* :func:`supervised_transfer` (regression labels): the exact population risk
  :math:`R(W^\\top)` of docs/model.md §6 on both tasks, its excess over :math:`U^\\star`,
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
from dataclasses import dataclass

import numpy as np

from .._registry import Registry
from .._validation import check_rank
from ..data import NOISE_PROFILES, SpikedModel
from ..downstream import (
    class_labels,
    logistic_test_metrics,
    population_risk,
    regression_labels,
)
from ..exceptions import RankDeficientWarning, SpikedModelWarning
from ..supervised import (
    fit_supervised_contrastive,
    multiclass_labels,
    population_supervised_fit,
    sample_class_means,
    task_pair,
)
from .base import REQUIRED, Param, register_experiment, seed_children

__all__ = ["FEATURES", "LABEL_MODELS", "MAX_CLASSES", "METHODS", "PARAMS", "CLASSIFICATION_PARAMS",
           "supervised_transfer", "supervised_transfer_classification", "validate"]

LABEL_MODELS = ("logistic", "class-mean")
#: largest ``n_classes`` of the classification experiment (the downstream Newton
#: system has (k + 1)(K - 1) unknowns; larger K is possible but not exercised)
MAX_CLASSES = 10
#: ``"W"``: the minimiser's rows (directions with eigenvalue <= 0 carry no feature);
#: ``"basis"``: the top-k eigenvectors of M(alpha) whatever their sign
FEATURES = ("W", "basis")
#: Methods by name -> ``masks`` of the self-supervised term of :func:`spikedcl.fit_supervised_contrastive`.
METHODS = Registry("method")
METHODS.add("supervised-cl", "realized")
METHODS.add("supervised-cl-expected", "expected")

#: Declared parameters of both F5 experiments.
PARAMS = (
    Param("alpha", float, REQUIRED, low=0, high=1, doc="supervised weight"),
    Param("m", int, REQUIRED, low=2, doc="labeled samples"),
    Param("n", int, 20000, low=2, doc="unlabeled samples"),
    Param("d", int, 100, low=3, doc="ambient dimension"),
    Param("r", int, 5, low=1, doc="spike rank (in [1, d - 1])"),
    Param("k", int, None, low=1, doc="representation dimension (default r; in [1, d - 1])"),
    Param("C", float, 8.0, low=1, doc="noise condition number"),
    Param("noise", str, "uniform", choices=NOISE_PROFILES, doc="noise profile"),
    Param("mask_prob", float, 0.5, low=0, high=1, open_low=True, open_high=True, doc="keep probability p"),
    Param("lam", float, 1.0, low=0, open_low=True, doc="penalty weight"),
    Param("loss", str, "cross-view", choices=("cross-view", "simclr"), doc="batch form of the self-supervised term"),
    Param("source", int, 0, low=0, doc="latent direction of the source task"),
    Param("transfer", int, 1, low=0, doc="latent direction of the transfer task"),
    Param("noise_std", float, 0.1, low=0, doc="label noise sd"),
    Param("solver", str, "closed_form", choices=("closed_form", "gd"), doc="solver of the fit"),
    Param("methods", list, list(METHODS), choices=lambda: tuple(METHODS), nonempty=True, items=str,
          doc="'supervised-cl' (realized masks), 'supervised-cl-expected' (mask-averaged)"),
    Param("theory", bool, True, doc="add the population fit as method='theory'"),
    Param("features", str, "W", choices=FEATURES, doc="features: the minimiser's rows or the eigenvector basis"),
)
#: Declared parameters of the classification experiment (beyond :data:`PARAMS`; the
#: regression experiment accepts and ignores them, so one cell serves both).
CLASSIFICATION_PARAMS = (
    Param("label_model", str, "logistic", choices=LABEL_MODELS, doc="logistic labels or class means"),
    Param("n_classes", int, 2, low=2, high=MAX_CLASSES, doc="classes K"),
    Param("scale", float, 1.0, low=0, open_low=True, doc="logit scale T"),
    Param("separation", float, 0.8, low=0, high=1, open_low=True, open_high=True,
          doc="class-mean distance in units of nu"),
    Param("n_train", int, 2000, low=2, doc="downstream training samples per task"),
    Param("n_test", int, 10000, low=2, doc="downstream test samples per task"),
)


def _check(P):
    if P["k"] is None:
        P["k"] = P["r"]
    r = check_rank(P["r"], P["d"])
    check_rank(P["k"], P["d"], "k")
    task_pair(r, source=P["source"], transfer=P["transfer"])


@dataclass(frozen=True)
class SupervisedDraw:
    """One replicate's data of the F5 experiments (drawn once, shared by every method and alpha).

    Parameters
    ----------
    model : SpikedModel
        The model.
    X_u : numpy.ndarray of shape (n, d)
        Unlabeled sample.
    X_l : numpy.ndarray of shape (m, d)
        Labeled sample.
    y : numpy.ndarray of shape (m,)
        Its labels (source task).
    w_s, w_t : numpy.ndarray of shape (r,)
        Source and transfer tasks.
    fit_seed : numpy.random.SeedSequence
        Seed of the masks and the solver's initialisation.
    tasks : dict, optional
        Downstream samples of each task (classification only).
    """

    model: object
    X_u: object
    X_l: object
    y: object
    w_s: object
    w_t: object
    fit_seed: object
    tasks: object = None


def _draw(P, rng):
    """Model, unlabeled sample and the labeled latent sample (draw order fixed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        model = SpikedModel.random(int(P["d"]), int(P["r"]), noise=P["noise"], condition=float(P["C"]), rng=rng)
        X_u = model.sample(int(P["n"]), rng=rng)
    return model, X_u


def _draw_regression(P, seed):
    data_seed, fit_seed = seed_children(seed, 2)
    rng = np.random.default_rng(data_seed)
    model, X_u = _draw(P, rng)
    w_s, w_t = task_pair(model.r, source=int(P["source"]), transfer=int(P["transfer"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        X_l, Z_l = model.sample(int(P["m"]), rng=rng, return_latent=True)
    y = regression_labels(Z_l, w_s, nu=model.nu, noise_std=float(P["noise_std"]), rng=rng)
    return SupervisedDraw(model, X_u, X_l, y, w_s, w_t, fit_seed)


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


@register_experiment("supervised_transfer", params=PARAMS + CLASSIFICATION_PARAMS, draw=_draw_regression,
                     check=_check)
def supervised_transfer(P, data):
    """One replicate of the F5 regression experiment (docs/model.md §8, §9 F5).

    Parameters
    ----------
    P : dict
        The resolved cell (called as ``supervised_transfer(params, seed)``): ``alpha`` (supervised weight in [0, 1]) and ``m`` (labeled
        sample size) are required; optional, with defaults: ``n`` = 20000
        unlabeled samples, ``d`` = 100, ``r`` = 5, ``k`` = ``r`` (representation
        dimension), ``C`` = 8, ``noise`` = ``"uniform"``, ``mask_prob`` = 0.5, ``lam`` = 1,
        ``loss`` = ``"cross-view"``, ``source`` = 0 and ``transfer`` = 1 (latent
        directions of the two tasks), ``noise_std`` = 0.1, ``solver`` =
        ``"closed_form"``, ``methods`` (``"supervised-cl"``: realized masks;
        ``"supervised-cl-expected"``: mask-averaged :math:`M_{self}`, the model document's
        reference setting), ``theory`` = True and ``features`` = ``"W"`` (the
        minimiser's rows; ``"basis"``: the top-k eigenvectors of :math:`M(\alpha)`,
        also those with eigenvalue <= 0, see :data:`FEATURES`).
    data : SupervisedDraw
        The replicate's draw: the seed's children are the data (model,
        unlabeled sample, labeled sample, labels) and the masks and solver
        initialisation.

    Returns
    -------
    list of dict
        Rows ``method``, ``metric``, ``value`` (+ ``solver``, ``n_iter``,
        ``converged``, ``time_s``). Metrics: ``risk_source``, ``risk_transfer``
        (population risk :math:`R(W^\\top)`, docs/model.md §6; 1.01 without features),
        ``excess_source``, ``excess_transfer`` (minus :math:`R(U^\\star)`) and
        ``label_sine`` (:math:`\\sin\\angle(U^\\star w_s, \\operatorname{row}W)`).
        ``method="oracle"``: the risks of :math:`U^\\star`; ``method="theory"``: the
        same metrics for the population fit (``n, m → ∞``).
    """
    model, X_u, X_l, y, w_s, w_t = data.model, data.X_u, data.X_l, data.y, data.w_s, data.w_t
    noise_std = float(P["noise_std"])
    R_oracle = tuple(float(population_risk(model.U, model, w, noise_std=noise_std)) for w in (w_s, w_t))
    rows = [
        {"method": "oracle", "metric": name, "value": value, "solver": "exact"}
        for name, value in zip(("risk_source", "risk_transfer"), R_oracle)
    ]
    for method in P["methods"]:
        t0 = time.perf_counter()
        fit = _fit(P, X_l, y, X_u, "regression", METHODS[method], data.fit_seed)
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


validate = supervised_transfer.validate


def _class_means(w, separation, nu, n_classes):
    """Class means :math:`a\\nu\\,t_c\\,w`, :math:`t_c` equally spaced in [-1, 1] (``±aνw`` for two classes)."""
    if n_classes == 2:
        return separation * nu * np.stack([-w, w])
    return separation * nu * (np.linspace(-1.0, 1.0, n_classes)[:, None] * w[None, :])


def _logistic_labels(Z, w, nu, scale, n_classes, rng):
    """docs/model.md §6 labels for two classes; for K classes the logits :math:`T c\\langle z, w\\rangle/\\nu`, c = 0..K-1."""
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


def _draw_classification(P, seed):
    data_seed, fit_seed, eval_seed = seed_children(seed, 3)
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
    return SupervisedDraw(model, X_u, X_l, y, w_s, w_t, fit_seed, tasks)


@register_experiment("supervised_transfer_classification", params=PARAMS + CLASSIFICATION_PARAMS,
                     draw=_draw_classification, check=_check)
def supervised_transfer_classification(P, data):
    """One replicate of the F5 classification experiment (docs/model.md §6, §8).

    The labeled sample carries two-class labels of the source task: the model document's
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
    P : dict
        The resolved cell (called as ``supervised_transfer_classification(params, seed)``):
        as :func:`supervised_transfer`, plus ``label_model`` (``"logistic"``),
        ``n_classes`` (2, an integer in [2, 10]), ``scale`` (1.0), ``separation``
        (0.8), ``n_train`` (2000) and ``n_test`` (10000).
    data : SupervisedDraw
        The replicate's draw; the seed's children are the data, the masks and
        solver initialisation, and the downstream samples (the same for every method).

    Returns
    -------
    list of dict
        Rows with metrics ``accuracy_source``, ``accuracy_transfer``,
        ``log_loss_source``, ``log_loss_transfer`` and ``label_sine`` per method;
        ``method="oracle"`` holds the same accuracies and log-losses with the
        features :math:`U^\\star` (on the same downstream samples).
    """
    model, X_u, X_l, y, w_s, tasks = data.model, data.X_u, data.X_l, data.y, data.w_s, data.tasks
    K = int(P["n_classes"])
    rows = []
    oracle = {}
    for method in P["methods"]:
        t0 = time.perf_counter()
        fit = _fit(P, X_l, y, X_u, "class", METHODS[method], data.fit_seed)
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

