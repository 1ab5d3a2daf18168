"""Downstream tasks on a learned representation (docs/model.md §6).

Labels depend on the latent factor through a task vector :math:`w^\\star` on
the unit sphere of :math:`\\mathbb R^r`:

* regression: :math:`y = \\langle z, w^\\star\\rangle/\\nu + \\varepsilon`,
  :math:`\\varepsilon \\sim N(0, \\sigma_\\varepsilon^2)`, :math:`\\sigma_\\varepsilon = 0.1`;
* classification: :math:`y \\sim \\mathrm{Bernoulli}(\\mathrm{sigmoid}(T\\langle z, w^\\star\\rangle/\\nu))`,
  with logit scale :math:`T = 1` in the paper (other ``T`` is not in the paper);
  ``K > 2`` classes follow the multinomial-logistic model of
  :func:`spikedcl.supervised.multiclass_labels` (not in the paper).

The population risk of linear regression on features :math:`B^\\top x` is exact;
finite-sample variants fit OLS or logistic regression (binary, or multinomial
for ``K > 2`` classes) and report the gap to the oracle features :math:`U^\\star`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ._array_api import device_of, get_namespace, to_namespace
from ._linalg import eye_like
from ._typing import Array, RNGLike
from ._validation import check_choice, check_data, check_int, check_positive
from .data import SpikedModel
from .random import check_rng
from .solvers import damped_newton
from .supervised import multiclass_labels

__all__ = [
    "draw_task",
    "regression_labels",
    "class_labels",
    "population_risk",
    "linear_oracle_risk",
    "excess_risk",
    "ols_test_mse",
    "fit_logistic",
    "fit_multinomial_logistic",
    "logistic_test_metrics",
    "multiclass_test_metrics",
    "regression_excess",
    "classification_excess",
]

RISK_REFERENCES = ("latent", "linear")
#: Max-norm of the gradient up to which a Newton fit that runs out of descent counts as converged.
NEWTON_ACCEPT_TOL = 1e-6


def draw_task(r: int, *, rng: RNGLike = None) -> np.ndarray:
    """Draw a task vector :math:`w^\\star` uniformly on the unit sphere :math:`S^{r-1}`.

    Parameters
    ----------
    r : int
        Latent dimension.
    rng : None, int or numpy.random.Generator, optional
        Random generator.

    Returns
    -------
    numpy.ndarray of shape (r,)
        Unit vector (host array; it is moved to the data's device where used).

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> w = sc.draw_task(2, rng=2)
    >>> np.round(w, 3), round(float(np.linalg.norm(w)), 3)
    (array([ 0.34, -0.94]), 1.0)
    """
    r = check_int(r, "r", low=1)
    w = check_rng(rng).standard_normal(r)
    return w / np.linalg.norm(w)


def _task(w, like):
    """Task vector as an array of the namespace, device and dtype of ``like``."""
    if isinstance(w, (list, tuple, np.ndarray)):
        w = to_namespace(np.asarray(w, dtype=float), get_namespace(like),
                         device=device_of(like), dtype=like.dtype)
    if w.ndim != 1 or w.shape[0] != like.shape[1]:
        raise ValueError(f"w must have shape (r,) = ({like.shape[1]},), got {tuple(w.shape)}")
    return w


def regression_labels(
    Z: Array, w: Array, *, nu: float = 1.0, noise_std: float = 0.1, rng: RNGLike = None
) -> Array:
    """Regression labels :math:`y = Z w/\\nu + \\varepsilon`.

    Parameters
    ----------
    Z : array of shape (n_samples, r)
        Latent factors (from ``SpikedModel.sample(..., return_latent=True)``).
    w : array of shape (r,)
        Task vector.
    nu : float, default=1.0
        Signal scale of the model.
    noise_std : float, default=0.1
        :math:`\\sigma_\\varepsilon \\ge 0`.
    rng : None, int or numpy.random.Generator, optional
        Random generator for the label noise (drawn on the host).

    Returns
    -------
    array of shape (n_samples,)
        Labels in the namespace and on the device of ``Z``.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> y = sc.regression_labels(Z, w, noise_std=0.1, rng=3)
    >>> y.shape, round(float(np.var(y)), 3)  # Var(y) = |w|^2 + 0.1^2 = 1.01 in the population
    ((1000,), 1.057)
    """
    xp, Z = check_data(Z, "Z", min_rows=1)
    w = _task(w, Z)
    nu = check_positive(nu, "nu")
    noise_std = check_positive(noise_std, "noise_std", allow_zero=True)
    eps = check_rng(rng).standard_normal(Z.shape[0]) * noise_std
    return Z @ w / nu + to_namespace(eps, xp, device=device_of(Z), dtype=Z.dtype)


def class_labels(Z: Array, w: Array, *, nu: float = 1.0, scale: float = 1.0, rng: RNGLike = None) -> Array:
    """Binary labels :math:`y \\sim \\mathrm{Bernoulli}(\\mathrm{sigmoid}(T \\langle z, w\\rangle/\\nu))`.

    Parameters
    ----------
    Z : array of shape (n_samples, r)
        Latent factors.
    w : array of shape (r,)
        Task vector.
    nu : float, default=1.0
        Signal scale of the model.
    scale : float, default=1.0
        Logit multiplier :math:`T > 0`; ``T = 1`` is the paper's model, other
        values are an option not in the paper (Bayes accuracy 0.675 at T = 1).
    rng : None, int or numpy.random.Generator, optional
        Random generator (uniforms drawn on the host).

    Returns
    -------
    array of shape (n_samples,)
        Labels in {0, 1} as floats.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> y = sc.class_labels(Z, w, rng=3)
    >>> y[:8], round(float(y.mean()), 3)
    (array([1., 1., 0., 0., 1., 0., 0., 1.]), 0.499)
    """
    xp, Z = check_data(Z, "Z", min_rows=1)
    w = _task(w, Z)
    nu = check_positive(nu, "nu")
    scale = check_positive(scale, "scale")
    u = to_namespace(check_rng(rng).random(Z.shape[0]), xp, device=device_of(Z), dtype=Z.dtype)
    prob = 1 / (1 + xp.exp(-scale * (Z @ w) / nu))
    return xp.astype(u < prob, Z.dtype)


def _describe(value):
    shape = getattr(value, "shape", None)
    return f"{type(value).__name__} of shape {tuple(shape)}" if shape is not None else type(value).__name__


def _check_risk_args(B, model, w, fn):
    """Name the arguments of ``fn(B, model, w)`` when they come in the wrong order."""
    if isinstance(model, SpikedModel) and not isinstance(B, SpikedModel) and not isinstance(w, SpikedModel):
        B_ndim, w_ndim = np.ndim(B) if hasattr(B, "ndim") or isinstance(B, (list, tuple)) else None, getattr(w, "ndim", None)
        if B_ndim is not None and B_ndim != 2:
            hint = "; w is 2-D: B and w look swapped" if B_ndim == 1 and w_ndim == 2 else ""
            raise ValueError(
                f"{fn}: B must be 2-D of shape (d, k) = ({model.d}, k), directions as columns; "
                f"got shape {tuple(np.shape(B))}{hint}"
            )
        return
    where = [name for name, v in (("B", B), ("w", w)) if isinstance(v, SpikedModel)]
    hint = f"; got the SpikedModel as {where[0]}: the arguments look swapped" if where else ""
    raise TypeError(
        f"{fn}(B, model, w) takes B, an array of shape (d, k) of feature directions; model, a "
        f"SpikedModel; w, the task vector of shape (r,). model is {_describe(model)}{hint}"
    )


def _check_basis(B, model):
    xp, B = check_data(B, "B", min_rows=1)
    if B.shape[0] != model.d:
        flipped = " (it looks transposed: pass B.T, directions as columns)" if B.shape[-1] == model.d else ""
        raise ValueError(f"B must have shape (d, k) with d={model.d}, got {tuple(B.shape)}{flipped}")
    return xp, B


def _model_arrays(model, like):
    xp = get_namespace(like)
    dev = device_of(like)
    U = to_namespace(model.U, xp, device=dev, dtype=like.dtype)
    s2 = to_namespace(model.noise_var, xp, device=dev, dtype=like.dtype)
    return xp, U, s2


def population_risk(B: Array, model: SpikedModel, w: Array, *, noise_std: float = 0.1) -> Array:
    """Exact population risk of linear regression on the features :math:`B^\\top x`.

    .. math::

        R(B) = \\|w^\\star\\|^2 + \\sigma_\\varepsilon^2 - c^\\top B (B^\\top \\Sigma_x B)^{+} B^\\top c,
        \\qquad c = \\mathbb E[x y] = \\nu U^\\star w^\\star,

    where :math:`\\|w^\\star\\|^2 + \\sigma_\\varepsilon^2 = \\operatorname{Var}(y)` (1.01 for a unit task vector).

    Parameters
    ----------
    B : array of shape (d, k)
        Feature directions (e.g. ``fit.W.mT`` or ``fit.basis``); invariant under
        ``B -> B G`` for invertible ``G``.
    model : SpikedModel
        The data model.
    w : array of shape (r,)
        Task vector.
    noise_std : float, default=0.1
        Label noise :math:`\\sigma_\\varepsilon`.

    Returns
    -------
    array of shape ()
        :math:`R(B)`, computed in O(d k^2) without forming :math:`\\Sigma_x`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> round(float(sc.population_risk(model.U, model, w)), 3)  # the features U*^T x
    0.241
    >>> round(float(sc.population_risk(np.eye(40)[:, :1], model, w)), 3)  # one coordinate: about Var(y)
    1.009
    """
    _check_risk_args(B, model, w, "population_risk")
    xp, B = _check_basis(B, model)
    _, U, s2 = _model_arrays(model, B)
    w = _task(w, U)
    BU = B.mT @ U
    gram = model.nu**2 * (BU @ BU.mT) + B.mT @ (s2[:, None] * B)
    bc = model.nu * (BU @ w)
    return xp.sum(w**2) + noise_std**2 - bc @ (xp.linalg.pinv(gram) @ bc)


def linear_oracle_risk(
    model: SpikedModel, w: Array, *, noise_std: float = 0.1, like: Array | None = None
) -> Array:
    """Risk :math:`R_{lin} = 1 + \\sigma_\\varepsilon^2 - c^\\top\\Sigma_x^{-1}c` of the best linear predictor.

    Computed by Woodbury: :math:`c^\\top\\Sigma_x^{-1}c = \\nu^2 w^\\top K(I + \\nu^2 K)^{-1} w`,
    :math:`K = U^{\\star\\top}\\Sigma^{-1}U^\\star`; attained by the span of :math:`\\Sigma^{-1}U^\\star`.

    Parameters
    ----------
    model : SpikedModel
        The data model.
    w : array of shape (r,)
        Task vector.
    noise_std : float, default=0.1
        Label noise :math:`\\sigma_\\varepsilon`.
    like : array, optional
        An array whose namespace, device and dtype the result should use
        (default NumPy float64).

    Returns
    -------
    array of shape ()
        :math:`R_{lin}`, a lower bound on :math:`R(B)` for every ``B``.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> round(float(sc.linear_oracle_risk(model, w)), 3)  # below R(U*) = 0.241: no features do better
    0.142
    """
    like = np.zeros((1, 1)) if like is None else check_data(like, "like", min_rows=1)[1]
    xp, U, s2 = _model_arrays(model, like)
    w = _task(w, U)
    K = U.mT @ (U / s2[:, None])
    nu2 = model.nu**2
    explained = nu2 * (w @ (K @ xp.linalg.solve(eye_like(K) + nu2 * K, w[:, None])[:, 0]))
    return xp.sum(w**2) + noise_std**2 - explained


def excess_risk(
    B: Array,
    model: SpikedModel,
    w: Array,
    *,
    reference: Literal["latent", "linear"] = "latent",
    noise_std: float = 0.1,
) -> Array:
    """Excess population risk :math:`R(B) - R_{ref}` (docs/model.md §6).

    Parameters
    ----------
    B : array of shape (d, k)
        Feature directions.
    model : SpikedModel
        The data model.
    w : array of shape (r,)
        Task vector.
    reference : {"latent", "linear"}, default="latent"
        ``"latent"``: :math:`\\Delta R_{U^\\star} = R(B) - R(U^\\star)`, the paper's
        quantity, which can be negative (a basis tilted toward low-noise
        coordinates beats :math:`U^\\star`); ``"linear"``:
        :math:`\\Delta R_{lin} = R(B) - R_{lin} \\ge 0`.
    noise_std : float, default=0.1
        Label noise :math:`\\sigma_\\varepsilon`.

    Returns
    -------
    array of shape ()
        The excess risk.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> for fit in (sc.fit_contrastive(X, 2, rng=4), sc.fit_pca(X, 2)):
    ...     print(fit.method, round(float(sc.excess_risk(fit.basis, model, w)), 4),
    ...           round(float(sc.excess_risk(fit.basis, model, w, reference="linear")), 4))
    contrastive 0.0283 0.1277
    pca 0.2457 0.3451
    """
    _check_risk_args(B, model, w, "excess_risk")
    check_choice(reference, "reference", RISK_REFERENCES)
    _, B = _check_basis(B, model)
    risk = population_risk(B, model, w, noise_std=noise_std)
    if reference == "latent":
        xp, U, _ = _model_arrays(model, B)
        return risk - population_risk(U, model, w, noise_std=noise_std)
    return risk - linear_oracle_risk(model, w, noise_std=noise_std, like=B)


def _design(F):
    xp = get_namespace(F)
    ones = xp.ones((F.shape[0], 1), dtype=F.dtype, device=device_of(F))
    return xp.concat([ones, F], axis=1)


def _check_xy(F, y, name):
    xp, F = check_data(F, f"F_{name}", min_rows=2)
    _, y = check_data(y, f"y_{name}", ndim=1)
    if y.shape[0] != F.shape[0]:
        raise ValueError(
            f"y_{name} must have one label per row of F_{name}: {y.shape[0]} != {F.shape[0]}"
        )
    return xp, F, y


def ols_test_mse(F_train: Array, y_train: Array, F_test: Array, y_test: Array) -> Array:
    """Test mean squared error of ordinary least squares with an intercept.

    Parameters
    ----------
    F_train : array of shape (n_train, k)
        Training features.
    y_train : array of shape (n_train,)
        Training labels.
    F_test : array of shape (n_test, k)
        Test features.
    y_test : array of shape (n_test,)
        Test labels.

    Returns
    -------
    array of shape ()
        :math:`\\frac1{n_{test}}\\|y_{test} - [1, F_{test}]\\hat\\beta\\|^2`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> X_test, Z_test = model.sample(1000, rng=7, return_latent=True)
    >>> y, y_test = sc.regression_labels(Z, w, rng=6), sc.regression_labels(Z_test, w, rng=8)
    >>> B = sc.fit_contrastive(X, 2, rng=4).basis
    >>> round(float(sc.ols_test_mse(X @ B, y, X_test @ B, y_test)), 3)
    0.302
    >>> round(float(sc.ols_test_mse(X @ model.U, y, X_test @ model.U, y_test)), 3)  # oracle features
    0.269
    """
    xp, F_train, y_train = _check_xy(F_train, y_train, "train")
    _, F_test, y_test = _check_xy(F_test, y_test, "test")
    A = _design(F_train)
    beta = xp.linalg.pinv(A.mT @ A) @ (A.mT @ y_train)
    resid = y_test - _design(F_test) @ beta
    return xp.mean(resid**2)


def _ridge_vector(A, ridge):
    """Ridge per coefficient of the design ``A``: 0 for the intercept, ``ridge`` for the features."""
    xp = get_namespace(A)
    dev = device_of(A)
    return ridge * xp.concat(
        [xp.zeros(1, dtype=A.dtype, device=dev), xp.ones(A.shape[1] - 1, dtype=A.dtype, device=dev)]
    )


def _newton_fit(objective, grad_hess, beta0, *, solve=None, max_iter, tol, label):
    """The minimiser found by :func:`~spikedcl.solvers.damped_newton` from ``beta0``.

    A run that stops short of ``tol`` counts as converged up to the gradient
    max-norm ``max(tol, NEWTON_ACCEPT_TOL)``; the warning otherwise points at
    the caller of the public fit.
    """
    res = damped_newton(
        objective, grad_hess, beta0, solve=solve, max_iter=max_iter, tol=tol,
        accept_tol=max(tol, NEWTON_ACCEPT_TOL), label=label, stacklevel=3,
    )
    return res.params[0]


def _logistic_objective(A, y, beta, ridge):
    xp = get_namespace(A)
    a = A @ beta
    penalty = ridge / 2 * xp.sum(beta[1:] ** 2)
    return xp.mean(xp.logaddexp(xp.zeros_like(a), a) - y * a) + penalty


def fit_logistic(F: Array, y: Array, *, ridge: float = 1e-6, max_iter: int = 100, tol: float = 1e-10) -> Array:
    """Ridge logistic regression with an intercept, by damped Newton steps.

    .. math::

        \\min_\\beta \\frac1n \\sum_i \\big[\\log(1 + e^{a_i}) - y_i a_i\\big] + \\frac{\\rho}{2}\\|\\beta_{1:}\\|^2,
        \\qquad a = [1, F]\\beta.

    The problem is strictly convex, so Newton's minimiser is the one L-BFGS
    reaches (the model document's solver); Newton needs only ``solve`` and stays in the
    array API.

    Parameters
    ----------
    F : array of shape (n_samples, k)
        Features.
    y : array of shape (n_samples,)
        Labels in {0, 1}.
    ridge : float, default=1e-6
        :math:`\\rho > 0`, not applied to the intercept.
    max_iter : int, default=100
        Maximum Newton steps.
    tol : float, default=1e-10
        Stop when the gradient's max-norm falls below ``tol``.

    Returns
    -------
    array of shape (k + 1,)
        Intercept followed by the coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> from spikedcl.downstream import fit_logistic
    >>> beta = fit_logistic(X @ model.U, sc.class_labels(Z, w, rng=6))
    >>> beta.shape, np.round(beta, 3)  # intercept, then one coefficient per feature
    ((3,), array([-0.031,  0.314, -0.733]))
    """
    xp, F, y = _check_xy(F, y, "train")
    if not bool(xp.all((y == 0) | (y == 1))):
        raise ValueError("y must hold labels in {0, 1}")
    ridge = check_positive(ridge, "ridge")
    max_iter = check_int(max_iter, "max_iter", low=1)
    A = _design(F)
    n, k1 = A.shape
    pen = _ridge_vector(A, ridge)

    def grad_hess(beta):
        prob = 1 / (1 + xp.exp(-(A @ beta)))
        grad = A.mT @ (prob - y) / n + pen * beta
        H = (A.mT * (prob * (1 - prob))[None, :]) @ A
        return grad, H / n + eye_like(H) * pen[None, :]

    return _newton_fit(
        lambda beta: _logistic_objective(A, y, beta, ridge), grad_hess,
        xp.zeros(k1, dtype=A.dtype, device=device_of(A)),
        max_iter=max_iter, tol=tol, label="logistic regression",
    )


def _check_classes(y, name, n_classes, *, every=False):
    """Labels must be integers in ``0..n_classes-1``; with ``every``, each class must occur."""
    xp = get_namespace(y)
    ok = (y == xp.round(y)) & (y >= 0) & (y <= n_classes - 1)
    if not bool(xp.all(ok)):
        raise ValueError(f"{name} must hold class labels in {{0, ..., {n_classes - 1}}} (n_classes={n_classes})")
    if every:
        counts = xp.sum(_one_hot(y, n_classes, first=0), axis=0)
        missing = [j for j in range(n_classes) if not bool(counts[j] > 0)]
        if len(missing) == n_classes - 1:
            raise ValueError(f"{name} holds a single class; at least two are needed")
        if missing:
            raise ValueError(
                f"{name} must hold every class of 0..{n_classes - 1} (the intercepts diverge otherwise); "
                f"missing: {missing}"
            )


def _one_hot(y, n_classes, *, first=1):
    """Indicator matrix of shape (n, n_classes - first): column ``j`` is ``y == first + j``."""
    xp = get_namespace(y)
    classes = xp.arange(first, n_classes, dtype=y.dtype, device=device_of(y))
    return xp.astype(y[:, None] == classes[None, :], y.dtype)


def _full_logits(A, beta):
    """Logits of all K classes, the reference class 0 first (logit 0)."""
    xp = get_namespace(A)
    a = A @ beta
    zero = xp.zeros((a.shape[0], 1), dtype=a.dtype, device=device_of(a))
    return xp.concat([zero, a], axis=1)


def _log_softmax(logits):
    """Row-wise log-softmax, stabilised by the row maximum."""
    xp = get_namespace(logits)
    top = xp.max(logits, axis=1, keepdims=True)
    shifted = logits - top
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))


def _multinomial_objective(A, Y, beta, ridge):
    """Penalised mean negative log-likelihood; ``Y`` one-hot of classes 1..K-1, ``beta`` (p, K-1)."""
    xp = get_namespace(A)
    logp = _log_softmax(_full_logits(A, beta))
    nll = -xp.mean(logp[:, 0] * (1 - xp.sum(Y, axis=1)) + xp.sum(logp[:, 1:] * Y, axis=1))
    return nll + ridge / 2 * xp.sum(beta[1:, :] ** 2)


def _multinomial_derivatives(A, Y, beta, pen):
    """Gradient (p, K-1) and Hessian (p(K-1), p(K-1)) of :func:`_multinomial_objective`.

    ``pen`` is the ridge per row of ``beta`` (0 for the intercept). The Hessian
    is ordered class-major, matching ``reshape(beta.mT, (-1,))``:
    block ``(c, e)`` is :math:`A^\\top \\operatorname{diag}(P_c(\\delta_{ce} - P_e)) A/n + \\delta_{ce}\\operatorname{diag}(pen)`.
    """
    xp = get_namespace(A)
    n = A.shape[0]
    P = xp.exp(_log_softmax(_full_logits(A, beta))[:, 1:])  # (n, K-1)
    grad = A.mT @ (P - Y) / n + pen[:, None] * beta
    m = beta.shape[1]
    diag_pen = eye_like(A.mT @ A) * pen[None, :]
    rows = []
    for c in range(m):
        blocks = []
        for e in range(m):
            wgt = P[:, c] * ((1.0 if c == e else 0.0) - P[:, e])
            block = (A.mT * wgt[None, :]) @ A / n
            blocks.append(block + diag_pen if c == e else block)
        rows.append(xp.concat(blocks, axis=1))
    return grad, xp.concat(rows, axis=0)


def _n_classes(n_classes, *labels):
    """``n_classes`` checked, or inferred as one more than the largest label."""
    if n_classes is not None:
        return check_int(n_classes, "n_classes", low=2)
    top = max(float(get_namespace(y).max(y)) for y in labels)
    return max(int(top) + 1, 2) if top == int(top) else 2  # a non-integer label fails validation later


def fit_multinomial_logistic(
    F: Array,
    y: Array,
    *,
    n_classes: int | None = None,
    ridge: float = 1e-6,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> Array:
    """Ridge multinomial (softmax) logistic regression with intercepts, by damped Newton steps.

    Class 0 is the reference class (coefficients fixed at 0), so the parameters
    :math:`\\beta \\in \\mathbb R^{(k+1)\\times(K-1)}` are identifiable:

    .. math::

        \\min_\\beta\\; \\frac1n \\sum_i \\Big[\\log\\sum_{c=0}^{K-1} e^{a_{ic}} - a_{i y_i}\\Big]
        + \\frac{\\rho}{2}\\|\\beta_{1:,:}\\|_F^2,
        \\qquad a_{i0} = 0,\\; a_{ic} = [1, F_i]\\,\\beta_{:,c-1}.

    The objective is strictly convex when every class occurs (the per-sample
    Hessian :math:`\\operatorname{diag}(p) - pp^\\top` of the non-reference
    probabilities is positive definite), so Newton's minimiser is the unique one.
    For ``K = 2`` the objective is that of :func:`fit_logistic` and so is the minimiser.

    Parameters
    ----------
    F : array of shape (n_samples, k)
        Features.
    y : array of shape (n_samples,)
        Labels in :math:`\\{0, \\dots, K-1\\}` (floats or integers); every class must occur.
    n_classes : int, optional
        :math:`K \\ge 2` (default: one more than the largest label).
    ridge, max_iter, tol : float, int, float
        As in :func:`fit_logistic` (the ridge is not applied to the intercepts).

    Returns
    -------
    array of shape (k + 1, K - 1)
        Column ``c - 1`` holds class ``c``'s intercept followed by its coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> from spikedcl.downstream import fit_logistic, fit_multinomial_logistic
    >>> F, y = X @ model.U, sc.class_labels(Z, w, rng=6)
    >>> beta = fit_multinomial_logistic(F, y)
    >>> beta.shape, bool(np.allclose(beta[:, 0], fit_logistic(F, y), atol=1e-6))  # K = 2 is the binary fit
    ((3, 1), True)
    """
    xp, F, y = _check_xy(F, y, "train")
    K = _n_classes(n_classes, y)
    _check_classes(y, "y_train", K, every=True)
    ridge = check_positive(ridge, "ridge")
    max_iter = check_int(max_iter, "max_iter", low=1)
    A = _design(F)
    k1 = A.shape[1]
    pen = _ridge_vector(A, ridge)
    Y = _one_hot(y, K)

    def solve(H, grad):  # the Hessian is ordered class-major, as reshape(beta.mT, (-1,))
        step = xp.linalg.solve(H, xp.reshape(grad.mT, (-1, 1)))[:, 0]
        return xp.reshape(step, (K - 1, k1)).mT

    return _newton_fit(
        lambda beta: _multinomial_objective(A, Y, beta, ridge),
        lambda beta: _multinomial_derivatives(A, Y, beta, pen),
        xp.zeros((k1, K - 1), dtype=A.dtype, device=device_of(A)),
        solve=solve, max_iter=max_iter, tol=tol, label="multinomial logistic regression",
    )


def multiclass_test_metrics(
    F_train: Array, y_train: Array, F_test: Array, y_test: Array, *, n_classes: int | None = None, ridge: float = 1e-6
) -> tuple[Array, Array]:
    """Test accuracy and log-loss of multinomial logistic regression (:func:`fit_multinomial_logistic`).

    Parameters
    ----------
    F_train : array of shape (n_train, k)
        Training features.
    y_train : array of shape (n_train,)
        Training labels in :math:`\\{0, \\dots, K-1\\}`, every class present.
    F_test : array of shape (n_test, k)
        Test features.
    y_test : array of shape (n_test,)
        Test labels in :math:`\\{0, \\dots, K-1\\}`.
    n_classes : int, optional
        :math:`K \\ge 2` (default: one more than the largest training or test label).
    ridge : float, default=1e-6
        Ridge penalty.

    Returns
    -------
    accuracy : array of shape ()
        Fraction of test labels equal to the most probable class (ties: the lowest class).
    log_loss : array of shape ()
        Mean negative log-likelihood :math:`-\\frac1{n_{test}}\\sum_i \\log \\hat p_{y_i}(F_i)` on the test set.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> X_test, Z_test = model.sample(1000, rng=7, return_latent=True)
    >>> W = np.random.default_rng(9).standard_normal((2, 2))  # K = 3 classes
    >>> y, y_test = sc.multiclass_labels(Z, W, rng=6), sc.multiclass_labels(Z_test, W, rng=8)
    >>> np.bincount(y.astype(int))
    array([252, 409, 339])
    >>> accuracy, log_loss = sc.multiclass_test_metrics(X @ model.U, y, X_test @ model.U, y_test)
    >>> round(float(accuracy), 3), round(float(log_loss), 3)
    (0.603, 0.871)
    """
    xp, F_train, y_train = _check_xy(F_train, y_train, "train")
    _, F_test, y_test = _check_xy(F_test, y_test, "test")
    if F_test.shape[1] != F_train.shape[1]:
        raise ValueError(
            f"F_test must have the {F_train.shape[1]} columns of F_train, got {F_test.shape[1]}"
        )
    K = _n_classes(n_classes, y_train, y_test)
    _check_classes(y_train, "y_train", K, every=True)
    _check_classes(y_test, "y_test", K)
    beta = fit_multinomial_logistic(F_train, y_train, n_classes=K, ridge=ridge)
    logp = _log_softmax(_full_logits(_design(F_test), beta))
    onehot = _one_hot(y_test, K, first=0)
    pred = xp.argmax(logp, axis=1)
    acc = xp.mean(xp.astype(xp.astype(pred, y_test.dtype) == y_test, F_test.dtype))
    log_loss = -xp.mean(xp.sum(logp * onehot, axis=1))
    return acc, log_loss


def logistic_test_metrics(
    F_train: Array, y_train: Array, F_test: Array, y_test: Array, *, ridge: float = 1e-6, n_classes: int | None = None
) -> tuple[Array, Array]:
    """Test accuracy and log-loss of ridge logistic regression, binary or multinomial.

    Two classes use :func:`fit_logistic` (the model document's classifier); more classes
    are passed to :func:`multiclass_test_metrics`.

    Parameters
    ----------
    F_train : array of shape (n_train, k)
        Training features.
    y_train : array of shape (n_train,)
        Training labels in {0, 1}, or in :math:`\\{0, \\dots, K-1\\}`.
    F_test : array of shape (n_test, k)
        Test features.
    y_test : array of shape (n_test,)
        Test labels, as ``y_train``.
    ridge : float, default=1e-6
        Ridge penalty.
    n_classes : int, optional
        Number of classes :math:`K \\ge 2`; by default binary when every label
        (training and test) is 0 or 1, else one more than the largest label.

    Returns
    -------
    accuracy : array of shape ()
        Fraction of test labels predicted correctly (binary: threshold 1/2).
    log_loss : array of shape ()
        Mean negative log-likelihood on the test set.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> X_test, Z_test = model.sample(1000, rng=7, return_latent=True)
    >>> y, y_test = sc.class_labels(Z, w, rng=6), sc.class_labels(Z_test, w, rng=8)
    >>> accuracy, log_loss = sc.logistic_test_metrics(X @ model.U, y, X_test @ model.U, y_test)
    >>> round(float(accuracy), 3), round(float(log_loss), 3)
    (0.642, 0.624)
    """
    if n_classes is None:
        n_classes = 2 if all(_is_binary(y) for y in (y_train, y_test)) else None
    elif check_int(n_classes, "n_classes", low=2) == 2:
        n_classes = 2
    if n_classes != 2:
        return multiclass_test_metrics(F_train, y_train, F_test, y_test, n_classes=n_classes, ridge=ridge)
    beta = fit_logistic(F_train, y_train, ridge=ridge)
    xp, F_test, y_test = _check_xy(F_test, y_test, "test")
    a = _design(F_test) @ beta
    acc = xp.mean(xp.astype((a > 0) == (y_test > 0.5), F_test.dtype))
    log_loss = xp.mean(xp.logaddexp(xp.zeros_like(a), a) - y_test * a)
    return acc, log_loss


def _is_binary(y):
    """Whether every entry of ``y`` is 0 or 1 (anything else, the validators judge)."""
    try:
        xp = get_namespace(y)
    except TypeError:
        y = np.asarray(y)
        xp = get_namespace(y)
    return bool(xp.all((y == 0) | (y == 1)))


def _train_test_features(B, model, X, Z, n_test, rng, labels):
    """Labels for (X, Z), a fresh test sample with its labels, and the features of B and U*.

    Draw order from ``rng``: training labels, test sample, test labels.
    Returns ``(y, y_test, {"B": (F, F_test), "oracle": (F, F_test)})``.
    """
    n_test = check_int(n_test, "n_test", low=2)
    _, B = _check_basis(B, model)
    _, X = check_data(X, "X")
    _, Z = check_data(Z, "Z")
    if X.shape != (Z.shape[0], model.d) or Z.shape[1] != model.r:
        raise ValueError(
            f"X and Z must have shapes (n, {model.d}) and (n, {model.r}), got "
            f"{tuple(X.shape)} and {tuple(Z.shape)}"
        )
    y = labels(Z)
    X_t, Z_t = model.sample(n_test, rng=rng, return_latent=True, xp=get_namespace(X),
                            device=device_of(X), dtype=X.dtype)
    y_t = labels(Z_t)
    _, U, _ = _model_arrays(model, X)
    return y, y_t, {"B": (X @ B, X_t @ B), "oracle": (X @ U, X_t @ U)}


def regression_excess(
    B: Array,
    model: SpikedModel,
    w: Array,
    X: Array,
    Z: Array,
    *,
    n_test: int = 10_000,
    noise_std: float = 0.1,
    rng: RNGLike = None,
) -> dict[str, Array]:
    """Finite-sample regression: OLS test MSE on :math:`XB` minus that on :math:`XU^\\star`.

    Training labels are drawn for ``(X, Z)``; ``n_test`` fresh samples are drawn
    from ``model``. Both feature maps see the same draws.

    Parameters
    ----------
    B : array of shape (d, k)
        Feature directions.
    model : SpikedModel
        The data model.
    w : array of shape (r,)
        Task vector.
    X : array of shape (n_samples, d)
        Training data.
    Z : array of shape (n_samples, r)
        Its latent factors.
    n_test : int, default=10000
        Number of fresh test points.
    noise_std : float, default=0.1
        Label noise.
    rng : None, int or numpy.random.Generator, optional
        Random generator (training label noise, then the test sample).

    Returns
    -------
    dict of str to array of shape ()
        ``"mse"``, ``"mse_oracle"`` (features :math:`U^\\star`) and ``"excess"`` = their difference.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> B = sc.fit_contrastive(X, 2, rng=4).basis
    >>> out = sc.regression_excess(B, model, w, X, Z, n_test=2000, rng=5)
    >>> {key: round(float(value), 4) for key, value in out.items()}
    {'mse': 0.2736, 'mse_oracle': 0.2478, 'excess': 0.0258}
    """
    rng = check_rng(rng)
    y, y_t, feats = _train_test_features(
        B, model, X, Z, n_test, rng,
        lambda Z_: regression_labels(Z_, w, nu=model.nu, noise_std=noise_std, rng=rng),
    )
    mse, mse_oracle = (ols_test_mse(F, y, F_t, y_t) for F, F_t in feats.values())
    return {"mse": mse, "mse_oracle": mse_oracle, "excess": mse - mse_oracle}


def classification_excess(
    B: Array,
    model: SpikedModel,
    w: Array,
    X: Array,
    Z: Array,
    *,
    n_test: int = 10_000,
    scale: float = 1.0,
    rng: RNGLike = None,
) -> dict[str, Array]:
    """Finite-sample classification: logistic regression on :math:`XB` against :math:`XU^\\star`.

    Parameters
    ----------
    B : array of shape (d, k)
        Feature directions.
    model : SpikedModel
        The data model.
    w : array of shape (r,) or (r, K - 1)
        Task vector (binary labels, the model document's model), or the class directions
        :math:`w_1, \\dots, w_{K-1}` of the multinomial-logistic model of
        :func:`spikedcl.supervised.multiclass_labels` (``K`` classes, fitted by
        :func:`multiclass_test_metrics`; one column is the binary case).
    X : array of shape (n_samples, d)
        Training data.
    Z : array of shape (n_samples, r)
        Its latent factors.
    n_test : int, default=10000
        Number of fresh test points.
    scale : float, default=1.0
        Logit multiplier ``T`` (1 in the paper).
    rng : None, int or numpy.random.Generator, optional
        Random generator (training labels, then the test sample and its labels).

    Returns
    -------
    dict of str to array of shape ()
        ``"accuracy"``, ``"accuracy_oracle"``, ``"accuracy_deficit"`` (oracle minus
        ``B``, positive when ``B`` is worse), ``"log_loss"``, ``"log_loss_oracle"``
        and ``"excess_log_loss"`` (``B`` minus oracle).

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 2, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(1000, rng=1, return_latent=True)
    >>> w = sc.draw_task(2, rng=2)
    >>> B = sc.fit_contrastive(X, 2, rng=4).basis
    >>> out = sc.classification_excess(B, model, w, X, Z, n_test=2000, rng=5)
    >>> sorted(out)
    ['accuracy', 'accuracy_deficit', 'accuracy_oracle', 'excess_log_loss', 'log_loss', 'log_loss_oracle']
    >>> round(float(out["accuracy"]), 3), round(float(out["accuracy_oracle"]), 3)
    (0.652, 0.65)
    """
    rng = check_rng(rng)
    n_classes = 2
    if getattr(w, "ndim", np.ndim(w)) == 2:
        n_classes = int(w.shape[1]) + 1
        labels = lambda Z_: multiclass_labels(Z_, w, nu=model.nu, scale=scale, rng=rng)  # noqa: E731
    else:
        labels = lambda Z_: class_labels(Z_, w, nu=model.nu, scale=scale, rng=rng)  # noqa: E731
    y, y_t, feats = _train_test_features(B, model, X, Z, n_test, rng, labels)
    (acc, ll), (acc0, ll0) = (
        logistic_test_metrics(F, y, F_t, y_t, n_classes=n_classes) for F, F_t in feats.values()
    )
    return {
        "accuracy": acc,
        "accuracy_oracle": acc0,
        "accuracy_deficit": acc0 - acc,
        "log_loss": ll,
        "log_loss_oracle": ll0,
        "excess_log_loss": ll - ll0,
    }
