"""The ``batch_size`` experiment (N-1–N-3): InfoNCE against log K, the minibatch NT-Xent bias, losses vs batch size."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from ..._validation import check_int, check_positive, check_unit_interval
from ...data import SpikedModel
from ...exceptions import SpikedModelWarning
from ...systems.align_uniform import sphere_log_partition
from ...systems.negatives import (
    gaussian_mutual_information,
    info_nce_estimate,
    nt_xent_bias_first_order,
    nt_xent_bias_terms,
    nt_xent_population_limit,
    whitened_view_encoder,
)
from ..base import Param, register_experiment, require, seed_children
from ..spiked import draw_spiked
from .methods import SpikedContext, spiked_rows
from .parameters import check_spiked, loss_params, spiked_model_params, training_params

__all__ = ["batch_size", "BIAS_DEFAULTS"]


#: Defaults of the N-2 (minibatch bias) task of :func:`batch_size`.
BIAS_DEFAULTS = dict(bias_d=100, aug_noise=1.5, bias_temperatures=(0.1, 0.2, 0.5, 1.0), bias_batches=100,
                     bias_pairs=20_000)


def _batch_params():
    base = {p.name: p for p in spiked_model_params(required=False)}
    base["d"] = Param("d", int, 10, low=1, doc="mi: dimension of the Gaussian pairs")
    base["r"] = Param("r", int, None, low=1, doc="bias: embedding dimension k (default 5); training: spike rank")
    for p in training_params(ranged=False, methods=("nt-xent", "spectral-sgd")):
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
    ) + loss_params()


def _training_cell(P):
    return {**P, "d": int(P["training_d"])}


def _check_batch(P):
    task = P["task"]
    if task == "training":
        cell = _training_cell(P)
        require(cell, ("n", "r"), "the batch_size training task")
        for spec in spiked_model_params() + training_params():
            spec.check(cell[spec.name])
        check_spiked(cell)
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
    """N-1, N-2 and N-3 of docs/systems.md §7: InfoNCE against log K; the minibatch NT-Xent bias; losses vs batch size.

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
        return spiked_rows(cell["methods"], SpikedContext(cell, data))
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
