"""BYOL / SimSiam / DirectPred linear dynamics (Tian, Chen & Ganguli 2021; docs/systems.md §5).

A linear online network :math:`f = Wx`, a linear predictor :math:`W_p` and a
target :math:`W_a` evolve under the gradient flow of the non-contrastive loss

.. math::

    \\dot W_p = \\alpha_p\\big(-W_pW(X+X') + W_aX\\big)W^\\top - \\eta W_p,\\qquad
    \\dot W = W_p^\\top\\big(-W_pW(X+X') + W_aX\\big) - \\eta W,\\qquad
    \\dot W_a = \\beta(W - W_a),

with :math:`X` the second moment of the augmentation mean and :math:`X'` the
augmentation covariance. When :math:`X = I`, :math:`X' = \\sigma^2 I`, the
eigenspaces of :math:`W_p` and :math:`F = WW^\\top` align and every mode
:math:`(p, s)` follows a two-dimensional ODE whose fixed points are explicit
(:func:`mode_fixed_points`). :func:`integrate_dynamics` integrates the matrix
ODE and :func:`integrate_modes` the per-mode ODE, so the two can be checked
against each other and against the fixed points.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from .._array_api import get_namespace
from .._linalg import eye_like, sym
from .._typing import Array
from .._validation import check_choice, check_int, check_positive
from ..random import check_rng

__all__ = [
    "DYNAMICS",
    "collapse_threshold",
    "mode_fixed_points",
    "predicted_eigenvalues",
    "mode_rhs",
    "integrate_modes",
    "dynamics_rhs",
    "directpred_predictor",
    "integrate_dynamics",
    "ema_schedule",
]

#: Variants of :func:`integrate_dynamics`.
DYNAMICS = ("simsiam", "byol", "directpred", "no-predictor")


def collapse_threshold(tau: float = 1.0, sigma2: float = 0.0) -> float:
    """Weight decay :math:`\\eta^\\star = \\tau^2/(4(1+\\sigma^2))` above which every mode collapses.

    Parameters
    ----------
    tau : float, default=1.0
        Target-to-online ratio :math:`W_a = \\tau W` (1 for SimSiam's stop-gradient).
    sigma2 : float, default=0.0
        Augmentation variance :math:`\\sigma^2 \\ge 0`.

    Returns
    -------
    float
        :math:`\\eta^\\star`.
    """
    tau = check_positive(tau, "tau")
    sigma2 = check_positive(sigma2, "sigma2", allow_zero=True)
    return tau**2 / (4 * (1 + sigma2))


def mode_fixed_points(
    tau: float = 1.0, eta: float = 0.0, sigma2: float = 0.0, alpha_p: float = 1.0
) -> dict[str, float]:
    """Non-trivial fixed points of the per-mode BYOL/SimSiam ODE.

    .. math::

        p_\\pm = \\frac{\\tau \\pm \\sqrt{\\tau^2 - 4\\eta(1+\\sigma^2)}}{2(1+\\sigma^2)},
        \\qquad s_\\pm = p_\\pm^2/\\alpha_p

    Parameters
    ----------
    tau : float, default=1.0
        Target ratio :math:`\\tau > 0`.
    eta : float, default=0.0
        Weight decay :math:`\\eta \\ge 0`.
    sigma2 : float, default=0.0
        Augmentation variance :math:`\\sigma^2 \\ge 0`.
    alpha_p : float, default=1.0
        Predictor learning-rate ratio :math:`\\alpha_p > 0`.

    Returns
    -------
    dict of str to float
        ``p_plus`` (stable), ``p_minus`` (the boundary of the collapse basin),
        ``s_plus``, ``s_minus`` and ``threshold`` :math:`\\eta^\\star`. Beyond the
        threshold there is no non-trivial fixed point: the ``p``/``s`` entries are
        NaN and every mode collapses to :math:`s = 0`.

    Notes
    -----
    docs/systems.md §5: :math:`\\dot p = \\alpha_p s[\\tau - (1+\\sigma^2)p] - \\eta p`,
    :math:`\\dot s = 2ps[\\tau - (1+\\sigma^2)p] - 2\\eta s`; the fixed points solve
    :math:`p(\\tau - (1+\\sigma^2)p) = \\eta`.

    Examples
    --------
    >>> from spikedcl import systems
    >>> systems.mode_fixed_points(tau=1.0)
    {'p_plus': 1.0, 'p_minus': 0.0, 's_plus': 1.0, 's_minus': 0.0, 'threshold': 0.25}
    """
    tau = check_positive(tau, "tau")
    eta = check_positive(eta, "eta", allow_zero=True)
    sigma2 = check_positive(sigma2, "sigma2", allow_zero=True)
    alpha_p = check_positive(alpha_p, "alpha_p")
    thr = collapse_threshold(tau, sigma2)
    disc = tau**2 - 4 * eta * (1 + sigma2)
    if disc < 0:
        nan = math.nan
        return {"p_plus": nan, "p_minus": nan, "s_plus": nan, "s_minus": nan, "threshold": thr}
    root = math.sqrt(disc)
    pp = (tau + root) / (2 * (1 + sigma2))
    pm = (tau - root) / (2 * (1 + sigma2))
    return {"p_plus": pp, "p_minus": pm, "s_plus": pp**2 / alpha_p, "s_minus": pm**2 / alpha_p, "threshold": thr}


def predicted_eigenvalues(fixed_points: dict[str, float]) -> tuple[float, float]:
    """Predicted top eigenvalue of :math:`F` from :func:`mode_fixed_points`.

    Parameters
    ----------
    fixed_points : dict
        The output of :func:`mode_fixed_points`.

    Returns
    -------
    s_plus : float
        SimSiam/BYOL's :math:`s_+` (0 past the collapse threshold).
    s_directpred : float
        DirectPred's :math:`(p_+/1.1)^2` (:math:`\\epsilon = 0.1`; 0 past the threshold).
    """
    s_plus = 0.0 if math.isnan(fixed_points["s_plus"]) else fixed_points["s_plus"]
    s_directpred = 0.0 if math.isnan(fixed_points["p_plus"]) else (fixed_points["p_plus"] / 1.1) ** 2
    return s_plus, s_directpred


def mode_rhs(
    p: Array, s: Array, *, tau: float = 1.0, eta: float = 0.0, sigma2: float = 0.0, alpha_p: float = 1.0
) -> tuple[Array, Array]:
    """Right-hand side of the per-mode ODE for eigenvalues ``p`` of :math:`W_p` and ``s`` of :math:`F`.

    .. math::

        \\dot p = \\alpha_p s[\\tau - (1+\\sigma^2)p] - \\eta p,\\qquad
        \\dot s = 2ps[\\tau - (1+\\sigma^2)p] - 2\\eta s

    Parameters
    ----------
    p : array of shape (m,)
        Predictor eigenvalues.
    s : array of shape (m,)
        Eigenvalues of :math:`F = WW^\\top`.
    tau : float, default=1.0
        Target ratio.
    eta : float, default=0.0
        Weight decay.
    sigma2 : float, default=0.0
        Augmentation variance.
    alpha_p : float, default=1.0
        Predictor learning-rate ratio.

    Returns
    -------
    dp : array of shape (m,)
        :math:`\\dot p`.
    ds : array of shape (m,)
        :math:`\\dot s`.
    """
    g = tau - (1 + sigma2) * p
    return alpha_p * s * g - eta * p, 2 * p * s * g - 2 * eta * s


def integrate_modes(
    p0: Array,
    s0: Array,
    *,
    tau: float = 1.0,
    eta: float = 0.0,
    sigma2: float = 0.0,
    alpha_p: float = 1.0,
    dt: float = 0.01,
    n_steps: int = 10_000,
) -> tuple[Array, Array]:
    """Euler integration of the per-mode ODE (:func:`mode_rhs`).

    Parameters
    ----------
    p0 : array of shape (m,)
        Initial predictor eigenvalues.
    s0 : array of shape (m,)
        Initial eigenvalues of :math:`F`, non-negative.
    tau, eta, sigma2, alpha_p : float, optional
        The parameters of :func:`mode_rhs`, with its defaults.
    dt : float, default=0.01
        Euler step.
    n_steps : int, default=10000
        Number of steps.

    Returns
    -------
    p : array of shape (m,)
        Final predictor eigenvalues.
    s : array of shape (m,)
        Final eigenvalues of :math:`F`.
    """
    dt = check_positive(dt, "dt")
    n_steps = check_int(n_steps, "n_steps", low=0)
    p, s = p0, s0
    for _ in range(n_steps):
        dp, ds = mode_rhs(p, s, tau=tau, eta=eta, sigma2=sigma2, alpha_p=alpha_p)
        p, s = p + dt * dp, s + dt * ds
    return p, s


def dynamics_rhs(
    Wp: Array,
    W: Array,
    Wa: Array,
    X: Array,
    Xprime: Array,
    *,
    alpha_p: float = 1.0,
    eta: float = 0.0,
    beta: float = 0.0,
) -> tuple[Array, Array, Array]:
    """Right-hand side of the linear BYOL/SimSiam matrix ODE.

    .. math::

        \\Delta = -W_pW(X+X') + W_aX,\\quad
        \\dot W_p = \\alpha_p\\Delta W^\\top - \\eta W_p,\\quad
        \\dot W = W_p^\\top\\Delta - \\eta W,\\quad
        \\dot W_a = \\beta(W - W_a)

    Parameters
    ----------
    Wp : array of shape (k, k)
        Predictor.
    W : array of shape (k, d)
        Online encoder.
    Wa : array of shape (k, d)
        Target encoder.
    X : array of shape (d, d)
        Second moment of the augmentation mean :math:`\\mathbb E[\\bar x\\bar x^\\top]`.
    Xprime : array of shape (d, d)
        Mean augmentation covariance.
    alpha_p : float, default=1.0
        Predictor learning-rate ratio.
    eta : float, default=0.0
        Weight decay.
    beta : float, default=0.0
        EMA rate of the target (0 freezes it).

    Returns
    -------
    dWp : array of shape (k, k)
        :math:`\\dot W_p`.
    dW : array of shape (k, d)
        :math:`\\dot W`.
    dWa : array of shape (k, d)
        :math:`\\dot W_a`.
    """
    delta = -(Wp @ W) @ (X + Xprime) + Wa @ X
    dWp = alpha_p * (delta @ W.mT) - eta * Wp
    dW = Wp.mT @ delta - eta * W
    return dWp, dW, beta * (W - Wa)


def directpred_predictor(F_hat: Array, *, eps: float = 0.1) -> Array:
    """DirectPred's predictor from the feature correlation, paper form.

    .. math::

        \\hat F = U\\Lambda U^\\top,\\qquad W_p = U\\operatorname{diag}\\big(\\sqrt{\\lambda_j}
        + \\epsilon\\max_k\\sqrt{\\lambda_k}\\big)U^\\top

    Parameters
    ----------
    F_hat : array of shape (k, k)
        EMA of :math:`\\mathbb E[ff^\\top]`, symmetric positive semi-definite.
    eps : float, default=0.1
        Boost :math:`\\epsilon \\ge 0` of small eigenvalues.

    Returns
    -------
    array of shape (k, k)
        Symmetric predictor.

    Notes
    -----
    docs/systems.md §5: the official code first divides the eigenvalues by the
    largest one, harmless under a cosine loss but collapsing in the
    unnormalised ODE; this is the paper's form.
    """
    xp = get_namespace(F_hat)
    lam, U = xp.linalg.eigh(sym(F_hat))
    root = xp.sqrt(xp.clip(lam, min=0))
    p = root + eps * xp.max(root)
    return (U * p[None, :]) @ U.mT


def ema_schedule(k: int, K: int, tau_base: float = 0.996) -> float:
    """BYOL's cosine EMA schedule :math:`\\tau_k = 1 - (1-\\tau_{base})(\\cos(\\pi k/K) + 1)/2`.

    Parameters
    ----------
    k : int
        Current step, ``0 <= k <= K``.
    K : int
        Total steps, ``K >= 1``.
    tau_base : float, default=0.996
        Base rate (0.996 for 1000 epochs, 0.99 for 100–300, 0.97 for 40).

    Returns
    -------
    float
        :math:`\\tau_k`, rising from ``tau_base`` to 1.
    """
    K = check_int(K, "K", low=1)
    k = check_int(k, "k", low=0, high=K)
    return 1 - (1 - tau_base) * (math.cos(math.pi * k / K) + 1) / 2


def integrate_dynamics(
    W0: Array,
    Wp0: Array,
    X: Array,
    Xprime: Array,
    *,
    variant: Literal["simsiam", "byol", "directpred", "no-predictor"] = "simsiam",
    alpha_p: float = 1.0,
    eta: float = 0.01,
    beta: float = 0.05,
    dt: float = 0.01,
    n_steps: int = 20_000,
    rho: float = 0.3,
    eps: float = 0.1,
    record_every: int | None = None,
) -> dict[str, Any]:
    """Euler integration of the linear non-contrastive dynamics.

    .. math::

        \\dot W = W_p^\\top\\big(-W_pW(X+X') + W_aX\\big) - \\eta W

    Parameters
    ----------
    W0 : array of shape (k, d)
        Initial online encoder.
    Wp0 : array of shape (k, k)
        Initial predictor (ignored by ``"directpred"`` and ``"no-predictor"``).
    X : array of shape (d, d)
        Second moment of the augmentation mean.
    Xprime : array of shape (d, d)
        Augmentation covariance.
    variant : {"simsiam", "byol", "directpred", "no-predictor"}, default="simsiam"
        ``"simsiam"``: stop-gradient target :math:`W_a = W`, trained predictor;
        ``"byol"``: EMA target :math:`\\dot W_a = \\beta(W - W_a)` starting at ``W0``;
        ``"directpred"``: predictor set by :func:`directpred_predictor` from an EMA
        (rate ``rho``) of :math:`WXW^\\top`, target :math:`W_a = W`;
        ``"no-predictor"``: :math:`W_p = I`, :math:`W_a = W` (collapses).
    alpha_p : float, default=1.0
        Predictor learning-rate ratio :math:`\\alpha_p > 0`.
    eta : float, default=0.01
        Weight decay :math:`\\eta \\ge 0`.
    beta : float, default=0.05
        EMA rate of the BYOL target, ``> 0``.
    dt : float, default=0.01
        Euler step.
    n_steps : int, default=20000
        Number of steps.
    rho : float, default=0.3
        DirectPred's EMA factor :math:`\\hat F \\leftarrow \\rho\\hat F + (1-\\rho)F`.
    eps : float, default=0.1
        DirectPred's eigenvalue boost.
    record_every : int, optional
        Record diagnostics every so many steps.

    Returns
    -------
    dict
        ``W``, ``Wp``, ``Wa`` (final arrays), ``F_eigenvalues`` (descending eigenvalues
        of :math:`WW^\\top`, shape (k,)), ``Wp_eigenvalues`` (descending eigenvalues of
        the symmetric part of :math:`W_p`), ``commutator`` (:math:`\\|[F, W_p]\\|_F/(\\|F\\|_F\\|W_p\\|_F)`),
        ``asymmetry`` (:math:`\\|W_p - W_p^\\top\\|_F/\\|W_p\\|_F`) and ``history``
        (list of ``(t, commutator, F eigenvalues)`` when recording).
    """
    check_choice(variant, "variant", DYNAMICS)
    alpha_p = check_positive(alpha_p, "alpha_p")
    eta = check_positive(eta, "eta", allow_zero=True)
    beta = check_positive(beta, "beta")
    dt = check_positive(dt, "dt")
    n_steps = check_int(n_steps, "n_steps", low=0)
    xp = get_namespace(W0, Wp0, X, Xprime)
    k, d = W0.shape
    if Wp0.shape != (k, k) or X.shape != (d, d) or Xprime.shape != (d, d):
        raise ValueError(
            f"shapes must be W0 (k, d), Wp0 (k, k), X and Xprime (d, d); got {tuple(W0.shape)}, "
            f"{tuple(Wp0.shape)}, {tuple(X.shape)}, {tuple(Xprime.shape)}"
        )
    W, Wa = W0, W0
    I = eye_like(Wp0)
    Wp = I if variant == "no-predictor" else Wp0
    F_hat = W @ X @ W.mT
    if variant == "directpred":
        Wp = directpred_predictor(F_hat, eps=eps)
    history = []

    def diagnostics(W, Wp):
        F = W @ W.mT
        nF = float(xp.linalg.matrix_norm(F))
        nP = float(xp.linalg.matrix_norm(Wp))
        comm = float(xp.linalg.matrix_norm(F @ Wp - Wp @ F)) / max(nF * nP, 1e-300)
        return F, comm, nP

    for step in range(n_steps):
        if record_every and step % record_every == 0:
            F, comm, _ = diagnostics(W, Wp)
            history.append((step * dt, comm, np.sort(np.linalg.eigvalsh(np.asarray(F)))[::-1]))
        target = W if variant != "byol" else Wa
        dWp, dW, dWa = dynamics_rhs(Wp, W, target, X, Xprime, alpha_p=alpha_p, eta=eta, beta=beta)
        W_new = W + dt * dW
        if variant == "simsiam":
            Wp = Wp + dt * dWp
        elif variant == "byol":
            Wp = Wp + dt * dWp
            Wa = Wa + dt * dWa
        elif variant == "directpred":
            F_hat = rho * F_hat + (1 - rho) * (W_new @ X @ W_new.mT)
            Wp = directpred_predictor(F_hat, eps=eps)
        W = W_new
    F, comm, nP = diagnostics(W, Wp)
    asym = float(xp.linalg.matrix_norm(Wp - Wp.mT)) / max(nP, 1e-300)
    return {
        "W": W,
        "Wp": Wp,
        "Wa": W if variant != "byol" else Wa,
        "F_eigenvalues": xp.flip(xp.linalg.eigvalsh(sym(F))),
        "Wp_eigenvalues": xp.flip(xp.linalg.eigvalsh(sym(Wp))),
        "commutator": comm,
        "asymmetry": asym,
        "history": history,
    }


def random_init(k, d, *, scale=0.5, rng=None):
    """Host-drawn initial ``(W0, Wp0)`` with iid :math:`N(0, \\mathrm{scale}^2/d)` / :math:`N(0, \\mathrm{scale}^2/k)` entries."""
    rng = check_rng(rng)
    return scale * rng.standard_normal((k, d)) / math.sqrt(d), scale * rng.standard_normal((k, k)) / math.sqrt(k)
