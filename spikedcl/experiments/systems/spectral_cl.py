"""The ``spectral`` experiment (G-3): spectral contrastive learning on the masked spiked model.

``spectral-gd`` is gradient descent on the plug-in objective of the
replicate's mask draw, fitted after the other methods.
"""

from __future__ import annotations

import time

import numpy as np

from ...metrics import sin_theta
from ...solvers import gradient_descent
from ...systems.spectral import spectral_closed_form, spectral_population_grad, spectral_population_loss
from ..base import Param, register_experiment
from ..spiked import draw_spiked
from .methods import SpikedContext, method_rows, spectral_view_moments, spiked_methods, spiked_rows
from .parameters import check_spiked, spiked_declared

__all__ = ["spectral"]


def _with_methods(*names):
    """Method choices of an experiment: the spiked methods and ``names``."""
    def choices():
        return spiked_methods() + names

    return choices


def _spectral_params():
    return tuple(p if p.name != "methods" else Param("methods", list, ["spectral"],
                                                      choices=_with_methods("spectral-gd"), items=str,
                                                      doc="methods; 'spectral-gd' runs last")
                 for p in spiked_declared(("spectral",))())


@register_experiment("spectral", params=_spectral_params, draw=draw_spiked, check=check_spiked)
def spectral(P, draw):
    """G-3: spectral contrastive learning on the masked spiked model (docs/systems.md §3).

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
    rows = spiked_rows([m for m in methods if m != "spectral-gd"], ctx)
    if "spectral-gd" in methods:
        rows += _spectral_gd_rows(ctx)
    return rows


def _spectral_gd_rows(ctx):
    """Gradient descent on the plug-in spectral objective of the replicate's mask draw."""
    r, rng = ctx.r, ctx.rng
    Sigma, Cplus = ctx.cache.get("spectral_moments") or spectral_view_moments(ctx)
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
    rows = method_rows("spectral-gd", W, info, time.perf_counter() - t0, ctx)
    info["time_s"] = rows[0]["time_s"] if rows else time.perf_counter() - t0
    gap = (res.loss - float(L_star)) / abs(float(L_star))
    rows.append({"method": "spectral-gd", "metric": "loss_gap", "value": float(gap), **info})
    rows.append({"method": "spectral-gd", "metric": "sin_theta_to_closed_form",
                 "value": float(sin_theta(W.T, W_star.T)), **info})
    return rows
