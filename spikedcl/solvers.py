"""Gradient-based solvers that take pure loss/gradient callables (spec §3, §10 choice 20).

A solver sees parameters as a tuple of arrays and two callables,
``fun(params) -> loss`` (0-d array) and ``grad(params) -> tuple of arrays``.
It returns a :class:`SolverResult` and knows nothing of the model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from ._array_api import get_namespace
from ._validation import check_int, check_positive
from .exceptions import DivergenceError

__all__ = ["SolverResult", "gradient_descent"]

#: Sufficient decrease constant of the Armijo backtracking rule.
ARMIJO = 1e-4
#: Halvings of the step before backtracking gives up.
MAX_HALVINGS = 60


@dataclass(frozen=True, eq=False)
class SolverResult:
    """Outcome of an iterative solver.

    Parameters
    ----------
    params : tuple of arrays
        The final iterate.
    loss : float
        Loss at ``params``.
    loss_history : list of float
        Loss before each step and at the end (``n_iter + 1`` values).
    grad_norm : float
        Frobenius norm of the gradient at ``params``.
    n_iter : int
        Steps taken.
    converged : bool
        Whether a stopping tolerance was met.
    stop_reason : str
        ``"gradient norm"``, ``"relative loss change"`` or ``"max_iter"``.
    wall_time : float
        Seconds spent.
    step : float
        The step size in use at the end (after any backtracking).
    info : dict, default={}
        Solver-specific extras.
    """

    params: tuple
    loss: float
    loss_history: list
    grad_norm: float
    n_iter: int
    converged: bool
    stop_reason: str
    wall_time: float
    step: float
    info: dict = field(default_factory=dict)


def _norm2(arrays):
    """Squared Frobenius norm of a tuple of arrays, scaled so it cannot overflow early."""
    xp = get_namespace(*arrays)
    total = 0.0
    for a in arrays:
        m = float(xp.max(xp.abs(a)))
        if not math.isfinite(m):
            return math.inf
        if m > 0:
            total += m * m * float(xp.sum((a / m) ** 2))
    return total


def gradient_descent(
    fun,
    grad,
    x0,
    *,
    step,
    max_iter=100_000,
    tol_grad=1e-10,
    tol_rel=0.0,
    backtracking=True,
):
    """Full-batch gradient descent with an optional Armijo backtracking line search.

    Iterates :math:`x_{t+1} = x_t - \\eta_t \\nabla f(x_t)`. With ``backtracking``
    the step is halved until :math:`f(x_{t+1}) \\le f(x_t) - 10^{-4}\\eta_t\\|\\nabla f(x_t)\\|^2`
    and kept for the next iterations; without it a fixed step is used and a
    non-finite loss stops the run with :class:`DivergenceError`.

    Parameters
    ----------
    fun : callable
        ``fun(params) -> array of shape ()``, the loss.
    grad : callable
        ``grad(params) -> tuple of arrays`` shaped like ``params``.
    x0 : tuple of arrays
        Initial parameters.
    step : float
        Initial step size :math:`\\eta_0 > 0`.
    max_iter : int, default=100000
        Maximum number of steps.
    tol_grad : float, default=1e-10
        Stop when :math:`\\|\\nabla f\\|_F \\le` ``tol_grad``.
    tol_rel : float, default=0.0
        Stop when :math:`|f_t - f_{t+1}| \\le` ``tol_rel`` :math:`\\cdot |f_t|` (0 disables).
    backtracking : bool, default=True
        Use the Armijo rule.

    Returns
    -------
    SolverResult
        The final iterate and its history.

    Raises
    ------
    DivergenceError
        When the loss becomes non-finite (fixed step, or backtracking exhausted),
        naming the step size to reduce.
    """
    step = check_positive(step, "step")
    max_iter = check_int(max_iter, "max_iter", low=0)
    tol_grad = check_positive(tol_grad, "tol_grad", allow_zero=True)
    tol_rel = check_positive(tol_rel, "tol_rel", allow_zero=True)
    t0 = time.perf_counter()
    x = tuple(x0)
    eps = float(get_namespace(*x).finfo(x[0].dtype).eps)
    f = float(fun(x))
    if not math.isfinite(f):
        raise DivergenceError(f"the loss is not finite at the initial point ({f})")
    history = [f]
    reason, converged, n_iter = "max_iter", False, 0
    g = grad(x)
    gn2 = _norm2(g)
    while n_iter < max_iter:
        if math.sqrt(gn2) <= tol_grad:
            reason, converged = "gradient norm", True
            break
        for _ in range(MAX_HALVINGS):
            trial = tuple(a - step * b for a, b in zip(x, g))
            f_trial = float(fun(trial))
            if not backtracking:
                break
            # Armijo, up to the rounding of f: near the minimum the decrease
            # falls below one ulp and must not shrink the step further
            slack = 8 * eps * max(1.0, abs(f))
            if math.isfinite(f_trial) and f_trial <= f - ARMIJO * step * gn2 + slack:
                break
            step /= 2
        if not math.isfinite(f_trial):
            raise DivergenceError(
                f"the loss became {f_trial} at iteration {n_iter + 1} with step size {step:.3g}: "
                "reduce step (or enable backtracking)"
            )
        x, n_iter = trial, n_iter + 1
        history.append(f_trial)
        change = abs(f - f_trial)
        f = f_trial
        g = grad(x)
        gn2 = _norm2(g)
        if not math.isfinite(gn2):
            raise DivergenceError(
                f"the gradient became non-finite at iteration {n_iter} with step size {step:.3g}: "
                "reduce step (or enable backtracking)"
            )
        if tol_rel > 0 and change <= tol_rel * abs(f):
            reason, converged = "relative loss change", True
            break
    else:
        if math.sqrt(gn2) <= tol_grad:
            reason, converged = "gradient norm", True
    return SolverResult(
        params=x,
        loss=f,
        loss_history=history,
        grad_norm=math.sqrt(gn2),
        n_iter=n_iter,
        converged=converged,
        stop_reason=reason,
        wall_time=time.perf_counter() - t0,
        step=step,
    )
