"""The ``collapse`` experiment (D-1–D-3): dimensional collapse in the DirectCLR toys and under masking."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..._validation import check_int, check_positive, check_unit_interval
from ...closed_form import fit_contrastive
from ...metrics import sin_theta
from ...systems.collapse import collapse_toy, embedding_spectrum, rankme
from ...systems.encoder import representation_basis
from ..base import Param, register_experiment, require
from ..spiked import draw_spiked
from .parameters import check_spiked, spiked_declared

__all__ = ["collapse"]


def _collapse_params():
    base = {p.name: p for p in spiked_declared(("cl",))()}
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
        check_spiked(P)
        check_unit_interval(P["mask_prob"], "mask_prob")


def _draw_collapse(P, seed):
    return seed if P["task"] == "toy" else draw_spiked(P, seed)


@register_experiment("collapse", params=_collapse_params, draw=_draw_collapse, check=_check_collapse)
def collapse(P, data):
    """D-1/D-2 (DirectCLR toys) and D-3 (masking) of dimensional collapse (docs/systems.md §6).

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
