"""F6: training reaches the closed forms (docs/model.md §3, §9).

One replicate draws a spiked model (condition number ``C``) and ``n`` samples,
then records per-iteration curves:

* full-batch gradient descent on linear CL in both batch forms (realized masks,
  the same masks as the closed form): the loss gap :math:`L(W_t) - L^\\star`
  (metric ``loss_gap``) and :math:`\\|W_t^\\top W_t - P^\\star\\|_F` (metric
  ``distance_to_closed_form``), methods ``"cl-gd-cross-view"`` and ``"cl-gd-simclr"``;
* gradient descent on the linear autoencoder: its loss gap and
  :math:`\\sin\\Theta(W_D, U_{PCA})` (metric ``sin_theta_to_pca``), method ``"ae-gd"``;
* minibatch SGD with fresh masks at every step: :math:`\\sin\\Theta(W, U^\\star)`
  per epoch (metric ``sin_theta``, method ``"cl-sgd"``, column ``batch``: 32,
  256 or ``"full"``) against the closed form on :math:`\\bar M` (method
  ``"cl-expected"``, one level repeated per epoch).

Every row carries the iteration (or epoch) in the column ``step``.
"""

from __future__ import annotations

import numpy as np

from ..closed_form import fit_autoencoder, fit_contrastive, fit_pca
from ..data import SpikedModel
from ..metrics import sin_theta
from .base import Param, register_experiment, seed_children

__all__ = ["gd", "GD_PARAMS", "SGD_BATCHES"]

#: Minibatch sizes of the SGD panel; the full batch is added as ``"full"``.
SGD_BATCHES = (32, 256)

#: Declared parameters of :func:`gd`.
GD_PARAMS = (
    Param("n", int, low=4, doc="number of samples"),
    Param("d", int, low=2, doc="dimension"),
    Param("r", int, low=1, doc="representation dimension (1 <= r < d)"),
    Param("lam", float, 0.5, low=0, open_low=True, doc="CL regularisation λ"),
    Param("C", float, 8.0, low=1, doc="noise condition number of the spiked model"),
    Param("epochs", int, 40, low=1, doc="SGD epochs"),
)


def _check(P):
    if P["r"] >= P["d"]:
        raise ValueError(f"r must lie in [1, d - 1] = [1, {P['d'] - 1}], got {P['r']}")


def _draw(P, seed):
    data_seed, fit_seed = seed_children(seed, 2)
    rng = np.random.default_rng(data_seed)
    model = SpikedModel.random(P["d"], P["r"], condition=P["C"], rng=rng)
    return model, model.sample(P["n"], rng=rng), fit_seed


def _curve(method, metric, values, **extra):
    return [{"method": method, "metric": metric, "value": float(v), "step": i, **extra}
            for i, v in enumerate(values)]


@register_experiment("gd", params=GD_PARAMS, draw=_draw, check=_check)
def gd(P, data):
    """F6: gradient descent and SGD against the closed forms, one replicate.

    Parameters
    ----------
    P : dict
        The resolved cell (called as ``gd(params, seed)``): ``n``, ``d``, ``r``,
        ``lam`` (0.5), ``C`` (8), ``epochs`` (40).
    data : tuple
        ``(model, X, fit_seed)``: the replicate's spiked model, its samples of
        shape (n, d) and the seed of every fit (each fit restarts from it, so
        GD uses the same masks as its closed form).

    Returns
    -------
    list of dict
        The curves described in the module docstring, one row per step.
    """
    model, X, fit_seed = data
    n, r, lam, epochs = P["n"], P["r"], P["lam"], P["epochs"]
    rows = []
    for loss in ("cross-view", "simclr"):
        closed = fit_contrastive(X, r, lam=lam, loss=loss, rng=np.random.default_rng(fit_seed))
        P_star = closed.W.T @ closed.W
        fit = fit_contrastive(
            X, r, lam=lam, loss=loss, solver="gd", rng=np.random.default_rng(fit_seed),
            solver_options={"monitor": lambda W, P_star=P_star: np.linalg.norm(W.T @ W - P_star)},
        )
        method = f"cl-gd-{loss}"
        rows += _curve(method, "loss_gap", np.array(fit.info["loss_history"]) - float(closed.loss))
        rows += _curve(method, "distance_to_closed_form", fit.info["monitor"])
    U_pca = fit_pca(X, r).basis
    ae = fit_autoencoder(
        X, r, solver="gd", rng=np.random.default_rng(fit_seed),
        solver_options={"monitor": lambda E, D: sin_theta(U_pca, D)},
    )
    rows += _curve("ae-gd", "loss_gap", np.array(ae.info["loss_history"]) - float(fit_autoencoder(X, r).loss))
    rows += _curve("ae-gd", "sin_theta_to_pca", ae.info["monitor"])
    level = float(sin_theta(model.U, fit_contrastive(X, r, lam=lam, masks="expected").basis))
    rows += _curve("cl-expected", "sin_theta", [level] * (epochs + 1))
    for batch in (*SGD_BATCHES, n):
        fit = fit_contrastive(
            X, r, lam=lam, solver="sgd", rng=np.random.default_rng(fit_seed),
            solver_options={"batch_size": batch, "epochs": epochs, "monitor": lambda W: sin_theta(model.U, W.T)},
        )
        rows += _curve("cl-sgd", "sin_theta", [np.nan] + list(fit.info["monitor"]),
                       batch="full" if batch == n else str(batch))
    return rows
