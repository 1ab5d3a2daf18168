"""The ``byol`` experiment (B-1–B-3): linear non-contrastive dynamics against their per-mode fixed points."""

from __future__ import annotations

import time

import numpy as np

from ...systems import byol as _byol
from ..base import REQUIRED, Param, register_experiment

__all__ = ["byol"]


_BYOL_PARAMS = (
    Param("eta", float, REQUIRED, low=0, doc="weight decay"),
    Param("variant", str, "simsiam", choices=_byol.DYNAMICS, doc="dynamics"),
    Param("dim", int, 8, low=1, doc="dimension"),
    Param("sigma2", float, 0.5, low=0, doc="augmentation variance"),
    Param("alpha_p", float, 1.0, doc="predictor learning-rate ratio"),
    Param("beta", float, 0.05, doc="target EMA rate"),
    Param("dt", float, 0.01, low=0, open_low=True, doc="Euler step"),
    Param("n_steps", int, 30_000, low=1, doc="Euler steps"),
)


def _draw_byol_init(P, seed):
    """The random initialisation of the online and predictor weights."""
    dim = int(P["dim"])
    rng = np.random.default_rng(seed)
    W0 = 0.3 * np.linalg.qr(rng.standard_normal((dim, dim)))[0] + 0.02 * rng.standard_normal((dim, dim))
    Wp0 = 0.5 * np.eye(dim) + 0.05 * rng.standard_normal((dim, dim))
    return W0, Wp0


@register_experiment("byol", params=_BYOL_PARAMS, draw=_draw_byol_init)
def byol(P, init):
    """B-1–B-3: linear non-contrastive dynamics vs the per-mode fixed points (docs/systems.md §5).

    Parameters
    ----------
    P : dict
        The resolved cell (called as ``byol(params, seed)``): ``eta`` (weight
        decay, grid), ``variant`` in :data:`spikedcl.systems.byol.DYNAMICS`
        (grid), ``dim`` (8), ``sigma2`` (0.5), ``alpha_p`` (1), ``beta``
        (0.05), ``dt`` (0.01), ``n_steps`` (30000).
    init : tuple of numpy.ndarray
        The replicate's random initialisation ``(W0, Wp0)`` (from the seed).

    Returns
    -------
    list of dict
        ``s_max``, ``s_mean`` (top and mean eigenvalue of :math:`F = WW^\\top`),
        ``n_alive`` (modes with :math:`s > 10^{-6}`), ``commutator`` and
        ``asymmetry`` per variant; theory rows ``s_plus`` (NaN beyond the
        threshold, then 0 is the prediction) and ``s_directpred``.
    """
    dim, sigma2, eta, alpha_p = int(P["dim"]), float(P["sigma2"]), float(P["eta"]), float(P["alpha_p"])
    variant = P["variant"]
    W0, Wp0 = init
    t0 = time.perf_counter()
    n_steps = int(P["n_steps"])
    out = _byol.integrate_dynamics(
        W0, Wp0, np.eye(dim), sigma2 * np.eye(dim), variant=variant, alpha_p=alpha_p, eta=eta,
        beta=float(P["beta"]), dt=float(P["dt"]), n_steps=n_steps,
    )
    info = {"solver": "ode-euler", "n_iter": n_steps, "converged": True, "time_s": time.perf_counter() - t0}
    s = np.asarray(out["F_eigenvalues"])
    rows = [
        {"method": variant, "metric": "s_max", "value": float(s[0]), **info},
        {"method": variant, "metric": "s_mean", "value": float(s.mean()), **info},
        {"method": variant, "metric": "n_alive", "value": float(np.sum(s > 1e-6)), **info},
        {"method": variant, "metric": "commutator", "value": float(out["commutator"]), **info},
        {"method": variant, "metric": "asymmetry", "value": float(out["asymmetry"]), **info},
    ]
    fp = _byol.mode_fixed_points(1.0, eta, sigma2, alpha_p)
    s_plus, s_dp = _byol.predicted_eigenvalues(fp)
    rows += [
        {"method": "theory", "metric": "s_plus", "value": s_plus},
        {"method": "theory", "metric": "s_directpred", "value": s_dp},
        {"method": "theory", "metric": "threshold", "value": fp["threshold"]},
    ]
    return rows
