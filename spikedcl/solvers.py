"""Gradient-based solvers that take pure loss/gradient callables (docs/model.md §3, §10 choice 20).

A solver sees parameters as a tuple of arrays and two callables,
``fun(params) -> loss`` (0-d array) and ``grad(params) -> tuple of arrays``.
It returns a :class:`SolverResult` and knows nothing of the model.
:func:`damped_newton` is the one second-order routine (the logistic probes of
:mod:`spikedcl.downstream` use it).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ._array_api import get_namespace
from ._typing import Array, RNGLike
from ._validation import check_choice, check_int, check_positive
from .exceptions import ConvergenceWarning, DivergenceError
from .random import check_rng

__all__ = ["SolverResult", "gradient_descent", "stochastic_descent", "damped_newton", "epochs_for_steps"]

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

    params: tuple[Array, ...]
    loss: float
    loss_history: list[float]
    grad_norm: float
    n_iter: int
    converged: bool
    stop_reason: str
    wall_time: float
    step: float
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self):
        shapes = ", ".join(str(tuple(getattr(a, "shape", ()))) for a in self.params)
        return (f"SolverResult(params=[{shapes}], loss={float(self.loss):.6g}, n_iter={self.n_iter}, "
                f"converged={self.converged}, stop_reason={self.stop_reason!r}, grad_norm={float(self.grad_norm):.3g})")


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
    fun: Callable[[tuple[Array, ...]], Array],
    grad: Callable[[tuple[Array, ...]], tuple[Array, ...]],
    x0: tuple[Array, ...],
    *,
    step: float,
    max_iter: int = 100_000,
    tol_grad: float = 1e-10,
    tol_rel: float = 0.0,
    backtracking: bool = True,
    monitor: Callable[[tuple[Array, ...]], float] | None = None,
    warn: bool = True,
) -> SolverResult:
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
    monitor : callable, optional
        ``monitor(params) -> float``, recorded at the start and after every step
        in ``info["monitor"]``.
    warn : bool, default=True
        Emit a :class:`~spikedcl.exceptions.ConvergenceWarning` when the run
        stops at ``max_iter >= 1`` steps without meeting a tolerance; pass
        ``False`` for a run capped on purpose (a trajectory of a fixed length).

    Returns
    -------
    SolverResult
        The final iterate and its history.

    Raises
    ------
    DivergenceError
        When the loss becomes non-finite (fixed step, or backtracking exhausted),
        naming the step size to reduce.

    Warns
    -----
    ConvergenceWarning
        With ``warn``, when ``max_iter`` steps end with ``converged=False``.

    Examples
    --------
    The quadratic :math:`f(x) = x^\\top A x / 2` has its minimum at the origin:

    >>> import numpy as np
    >>> from spikedcl.solvers import gradient_descent
    >>> A = np.diag([1.0, 4.0])
    >>> res = gradient_descent(lambda p: 0.5 * p[0] @ A @ p[0], lambda p: (A @ p[0],),
    ...                        (np.array([1.0, 1.0]),), step=0.2)
    >>> res.converged, res.stop_reason
    (True, 'gradient norm')
    >>> np.round(res.params[0], 6)
    array([0., 0.])
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
    monitored = [] if monitor is None else [float(monitor(x))]
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
        if monitor is not None:
            monitored.append(float(monitor(x)))
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
    if warn and not converged and max_iter > 0:
        rel = f" or a relative loss change of {tol_rel:g}" if tol_rel > 0 else ""
        warnings.warn(
            f"gradient descent stopped at max_iter={max_iter} steps with gradient norm "
            f"{math.sqrt(gn2):.3g} > tol_grad={tol_grad:g}{rel} (converged=False): "
            "raise max_iter or the tolerances, or pass warn=False for a run capped on purpose",
            ConvergenceWarning,
            stacklevel=2,
        )
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
        info={} if monitor is None else {"monitor": monitored},
    )


SCHEDULES = ("constant", "cosine", "inverse-sqrt")
STOCHASTIC_METHODS = ("sgd", "adam")


def _lr_factor(schedule, t, total):
    """Learning-rate multiplier at step ``t`` of ``total``."""
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * t / total))
    return 1 / math.sqrt(1 + t)


def _batches_per_epoch(n_samples, batch_size):
    """Minibatches in an epoch of :func:`stochastic_descent` (a last batch of one sample is dropped)."""
    return n_samples // batch_size + (1 if n_samples % batch_size >= 2 else 0)


def epochs_for_steps(n_samples: int, batch_size: int, steps: int) -> int:
    """The fewest epochs (at least one) in which :func:`stochastic_descent` takes ``steps`` steps.

    Parameters
    ----------
    n_samples : int
        Samples per epoch.
    batch_size : int
        Minibatch size (a last batch of one sample is dropped).
    steps : int
        Wanted number of steps.

    Returns
    -------
    int
        :math:`\\max(1, \\lceil \\text{steps} / \\text{batches per epoch}\\rceil)`.

    Examples
    --------
    >>> from spikedcl.solvers import epochs_for_steps
    >>> epochs_for_steps(1000, 100, 25)  # 10 steps an epoch
    3
    """
    return max(1, math.ceil(steps / _batches_per_epoch(n_samples, batch_size)))


def stochastic_descent(
    batch_grad: Callable[[tuple[Array, ...], Any, Any], tuple[Any, tuple[Array, ...]]],
    x0: tuple[Array, ...],
    *,
    n_samples: int,
    batch_size: int,
    epochs: int,
    lr: float,
    method: Literal["sgd", "adam"] = "adam",
    schedule: Literal["constant", "cosine", "inverse-sqrt"] = "constant",
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    tol_rel: float = 0.0,
    rng: RNGLike = None,
    monitor: Callable[[tuple[Array, ...]], float] | None = None,
) -> SolverResult:
    """Minibatch SGD or Adam over shuffled epochs.

    Each epoch visits a fresh permutation of the samples in batches of
    ``batch_size`` (the last, smaller batch is dropped when it has fewer than
    two samples). ``batch_grad`` draws whatever randomness the objective needs
    for the batch, e.g. fresh masks, from the generator it is given.

    Parameters
    ----------
    batch_grad : callable
        ``batch_grad(params, idx, rng) -> (loss, grads)`` for the sample indices
        ``idx`` (a NumPy integer array).
    x0 : tuple of arrays
        Initial parameters.
    n_samples : int
        Number of samples.
    batch_size : int
        Samples per step, ``2 <= batch_size``; larger than ``n_samples`` means full batch.
    epochs : int
        Passes over the data.
    lr : float
        Base learning rate :math:`\\eta > 0`.
    method : {"sgd", "adam"}, default="adam"
        Plain SGD or Adam (Kingma & Ba 2015, with bias correction).
    schedule : {"constant", "cosine", "inverse-sqrt"}, default="constant"
        Learning-rate schedule over all steps.
    betas : tuple of float, default=(0.9, 0.999)
        Adam's moment decay rates.
    eps : float, default=1e-8
        Adam's denominator offset.
    tol_rel : float, default=0.0
        Stop when the mean batch loss of an epoch changes by at most ``tol_rel``
        times its size (0 disables).
    rng : None, int or numpy.random.Generator, optional
        Shuffles the samples and is passed on to ``batch_grad``.
    monitor : callable, optional
        ``monitor(params) -> float``, recorded after every epoch in ``info["monitor"]``.

    Returns
    -------
    SolverResult
        ``loss_history`` holds the mean batch loss of each epoch; ``n_iter`` counts steps.

    Raises
    ------
    DivergenceError
        When a batch loss or gradient becomes non-finite, naming the learning rate.

    Examples
    --------
    Minibatch Adam on the mean squared deviation lands near the sample mean:

    >>> import numpy as np
    >>> from spikedcl.solvers import stochastic_descent
    >>> y = np.random.default_rng(0).standard_normal(64) + 3.0
    >>> def batch_grad(params, idx, rng):
    ...     r = params[0] - y[idx]
    ...     return 0.5 * np.mean(r**2), (np.array(np.mean(r)),)
    >>> res = stochastic_descent(batch_grad, (np.array(0.0),), n_samples=64, batch_size=16,
    ...                          epochs=200, lr=0.05, rng=0)
    >>> res.n_iter, bool(abs(float(res.params[0]) - y.mean()) < 0.05)
    (800, True)
    """
    n_samples = check_int(n_samples, "n_samples", low=2)
    batch_size = min(check_int(batch_size, "batch_size", low=2), n_samples)
    epochs = check_int(epochs, "epochs", low=1)
    lr = check_positive(lr, "lr")
    check_choice(method, "method", STOCHASTIC_METHODS)
    check_choice(schedule, "schedule", SCHEDULES)
    rng = check_rng(rng)
    t0 = time.perf_counter()
    x = tuple(x0)
    xp = get_namespace(*x)
    m = [xp.zeros_like(a) for a in x]
    v = [xp.zeros_like(a) for a in x]
    n_batches = _batches_per_epoch(n_samples, batch_size)
    total = epochs * n_batches
    history, monitored = [], []
    step, converged, reason = 0, False, "max_iter"
    for _ in range(epochs):
        perm = rng.permutation(n_samples)
        epoch_loss = 0.0
        for b in range(n_batches):
            idx = perm[b * batch_size : (b + 1) * batch_size]
            loss, g = batch_grad(x, idx, rng)
            loss = float(loss)
            eta = lr * _lr_factor(schedule, step, total)
            if not math.isfinite(loss) or not math.isfinite(_norm2(g)):
                raise DivergenceError(
                    f"the batch loss or gradient became non-finite at step {step + 1} with "
                    f"learning rate {eta:.3g}: reduce lr"
                )
            step += 1
            if method == "sgd":
                x = tuple(a - eta * ga for a, ga in zip(x, g))
            else:
                b1, b2 = betas
                m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
                v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
                c1, c2 = 1 - b1**step, 1 - b2**step
                x = tuple(a - eta * (mi / c1) / (xp.sqrt(vi / c2) + eps) for a, mi, vi in zip(x, m, v))
            epoch_loss += loss / n_batches
        if monitor is not None:
            monitored.append(float(monitor(x)))
        if tol_rel > 0 and history and abs(history[-1] - epoch_loss) <= tol_rel * abs(epoch_loss):
            history.append(epoch_loss)
            converged, reason = True, "relative loss change"
            break
        history.append(epoch_loss)
    return SolverResult(
        params=x,
        loss=history[-1],
        loss_history=history,
        grad_norm=math.nan,
        n_iter=step,
        converged=converged,
        stop_reason=reason,
        wall_time=time.perf_counter() - t0,
        step=lr,
        info={"monitor": monitored, "epochs": len(history), "batch_size": batch_size, "method": method},
    )


def damped_newton(
    fun: Callable[[Array], Array],
    grad_hess: Callable[[Array], tuple[Array, Array]],
    x0: Array,
    *,
    solve: Callable[[Array, Array], Array] | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
    accept_tol: float | None = None,
    min_step: float = 1e-10,
    label: str = "damped Newton",
    stacklevel: int = 2,
) -> SolverResult:
    """Newton's method with step halving, for smooth strictly convex objectives.

    At each iterate the Newton direction :math:`s = H^{-1}\\nabla f` is followed
    with the largest :math:`t \\in \\{1, 1/2, 1/4, \\dots\\} \\ge` ``min_step`` such
    that :math:`f(x - ts) \\le f(x)` (far from the minimum full Newton steps can
    overshoot); when no such :math:`t` exists the iterate is the minimum to
    rounding and the run stops.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> array of shape ()``.
    grad_hess : callable
        ``grad_hess(x) -> (g, H)``: the gradient, shaped like ``x``, and the Hessian.
    x0 : array
        Initial point (any shape).
    solve : callable, optional
        ``solve(H, g) -> s``: the Newton direction shaped like ``x``; default
        ``xp.linalg.solve(H, g[:, None])[:, 0]`` for a 1-D ``x``.
    max_iter : int, default=100
        Maximum Newton steps, ``>= 1``.
    tol : float, default=1e-10
        Stop when the gradient's max-norm falls below ``tol``.
    accept_tol : float, optional
        Max-norm of the gradient up to which a run that stops without meeting
        ``tol`` (no descent left, or ``max_iter``) still counts as converged;
        default ``tol``.
    min_step : float, default=1e-10
        Smallest step fraction tried by the halving.
    label : str, default="damped Newton"
        What is being fitted, for the warning.
    stacklevel : int, default=2
        ``stacklevel`` of the warning, relative to the caller of this function.

    Returns
    -------
    SolverResult
        ``params = (x,)``; ``grad_norm`` is the gradient's **max-norm** at the
        last point where it was evaluated (``info["grad_norm"] = "max"``);
        ``stop_reason`` is ``"gradient norm"``, ``"no descent"`` or ``"max_iter"``;
        ``step`` the last step fraction.

    Warns
    -----
    ConvergenceWarning
        When the run ends with ``converged=False``.

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl.solvers import damped_newton
    >>> res = damped_newton(lambda x: np.sum(np.cosh(x)), lambda x: (np.sinh(x), np.diag(np.cosh(x))),
    ...                     np.array([1.0, -2.0]))
    >>> res.converged, float(res.loss)
    (True, 2.0)
    >>> np.round(res.params[0], 8) + 0.0
    array([0., 0.])
    """
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = check_positive(tol, "tol")
    accept_tol = tol if accept_tol is None else check_positive(accept_tol, "accept_tol")
    t0 = time.perf_counter()
    xp = get_namespace(x0)
    if solve is None:
        def solve(H, g):
            return xp.linalg.solve(H, g[:, None])[:, 0]

    x = x0
    f = fun(x)
    history = [float(f)]
    grad_norm, reason, n_iter, t = math.inf, "max_iter", 0, 1.0
    for _ in range(max_iter):
        g, H = grad_hess(x)
        grad_norm = float(xp.max(xp.abs(g)))
        if grad_norm < tol:
            reason = "gradient norm"
            break
        direction = solve(H, g)
        t = 1.0
        while t >= min_step:
            trial = x - t * direction
            f_trial = fun(trial)
            if bool(f_trial <= f):
                break
            t /= 2
        else:
            reason = "no descent"
            break
        x, f, n_iter = trial, f_trial, n_iter + 1
        history.append(float(f))
    else:
        grad_norm = float(xp.max(xp.abs(grad_hess(x)[0])))
    converged = grad_norm < tol or grad_norm <= accept_tol
    if not converged:
        warnings.warn(
            f"{label} stopped with max |gradient| = {grad_norm:.2g} > tol={tol:g} "
            f"within max_iter={max_iter} Newton steps",
            ConvergenceWarning,
            stacklevel=stacklevel + 1,
        )
    return SolverResult(
        params=(x,),
        loss=float(f),
        loss_history=history,
        grad_norm=grad_norm,
        n_iter=n_iter,
        converged=converged,
        stop_reason=reason,
        wall_time=time.perf_counter() - t0,
        step=t,
        info={"grad_norm": "max"},
    )
