"""Downstream tasks on a learned representation (spec §6).

Labels depend on the latent factor through a task vector :math:`w^\\star` on
the unit sphere of :math:`\\mathbb R^r`:

* regression: :math:`y = \\langle z, w^\\star\\rangle/\\nu + \\varepsilon`,
  :math:`\\varepsilon \\sim N(0, \\sigma_\\varepsilon^2)`, :math:`\\sigma_\\varepsilon = 0.1`;
* classification: :math:`y \\sim \\mathrm{Bernoulli}(\\mathrm{sigmoid}(T\\langle z, w^\\star\\rangle/\\nu))`,
  with logit scale :math:`T = 1` in the paper (other ``T`` is not in the paper).

The population risk of linear regression on features :math:`B^\\top x` is exact;
finite-sample variants fit OLS or logistic regression and report the gap to
the oracle features :math:`U^\\star`.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._array_api import device_of, get_namespace, to_namespace
from ._linalg import eye_like
from .exceptions import ConvergenceWarning
from ._validation import check_choice, check_data, check_int, check_positive
from .random import check_rng

__all__ = [
    "draw_task",
    "regression_labels",
    "class_labels",
    "population_risk",
    "linear_oracle_risk",
    "excess_risk",
    "ols_test_mse",
    "fit_logistic",
    "logistic_test_metrics",
    "regression_excess",
    "classification_excess",
]

RISK_REFERENCES = ("latent", "linear")


def draw_task(r, *, rng=None):
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


def regression_labels(Z, w, *, nu=1.0, noise_std=0.1, rng=None):
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
    """
    xp, Z = check_data(Z, "Z", min_rows=1)
    w = _task(w, Z)
    nu = check_positive(nu, "nu")
    noise_std = check_positive(noise_std, "noise_std", allow_zero=True)
    eps = check_rng(rng).standard_normal(Z.shape[0]) * noise_std
    return Z @ w / nu + to_namespace(eps, xp, device=device_of(Z), dtype=Z.dtype)


def class_labels(Z, w, *, nu=1.0, scale=1.0, rng=None):
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
    """
    xp, Z = check_data(Z, "Z", min_rows=1)
    w = _task(w, Z)
    nu = check_positive(nu, "nu")
    scale = check_positive(scale, "scale")
    u = to_namespace(check_rng(rng).random(Z.shape[0]), xp, device=device_of(Z), dtype=Z.dtype)
    prob = 1 / (1 + xp.exp(-scale * (Z @ w) / nu))
    return xp.astype(u < prob, Z.dtype)


def _check_basis(B, model):
    xp, B = check_data(B, "B", min_rows=1)
    if B.shape[0] != model.d:
        raise ValueError(f"B must have shape (d, k) with d={model.d}, got {tuple(B.shape)}")
    return xp, B


def _model_arrays(model, like):
    xp = get_namespace(like)
    dev = device_of(like)
    U = to_namespace(model.U, xp, device=dev, dtype=like.dtype)
    s2 = to_namespace(model.noise_var, xp, device=dev, dtype=like.dtype)
    return xp, U, s2


def population_risk(B, model, w, *, noise_std=0.1):
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
    """
    xp, B = _check_basis(B, model)
    _, U, s2 = _model_arrays(model, B)
    w = _task(w, U)
    BU = B.mT @ U
    gram = model.nu**2 * (BU @ BU.mT) + B.mT @ (s2[:, None] * B)
    bc = model.nu * (BU @ w)
    return xp.sum(w**2) + noise_std**2 - bc @ (xp.linalg.pinv(gram) @ bc)


def linear_oracle_risk(model, w, *, noise_std=0.1, like=None):
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
    """
    like = np.zeros((1, 1)) if like is None else check_data(like, "like", min_rows=1)[1]
    xp, U, s2 = _model_arrays(model, like)
    w = _task(w, U)
    K = U.mT @ (U / s2[:, None])
    nu2 = model.nu**2
    explained = nu2 * (w @ (K @ xp.linalg.solve(eye_like(K) + nu2 * K, w[:, None])[:, 0]))
    return xp.sum(w**2) + noise_std**2 - explained


def excess_risk(B, model, w, *, reference="latent", noise_std=0.1):
    """Excess population risk :math:`R(B) - R_{ref}` (spec §6).

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
    """
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


def ols_test_mse(F_train, y_train, F_test, y_test):
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
    """
    xp, F_train, y_train = _check_xy(F_train, y_train, "train")
    _, F_test, y_test = _check_xy(F_test, y_test, "test")
    A = _design(F_train)
    beta = xp.linalg.pinv(A.mT @ A) @ (A.mT @ y_train)
    resid = y_test - _design(F_test) @ beta
    return xp.mean(resid**2)


def _logistic_objective(A, y, beta, ridge):
    xp = get_namespace(A)
    a = A @ beta
    penalty = ridge / 2 * xp.sum(beta[1:] ** 2)
    return xp.mean(xp.logaddexp(xp.zeros_like(a), a) - y * a) + penalty


def fit_logistic(F, y, *, ridge=1e-6, max_iter=100, tol=1e-10):
    """Ridge logistic regression with an intercept, by damped Newton steps.

    .. math::

        \\min_\\beta \\frac1n \\sum_i \\big[\\log(1 + e^{a_i}) - y_i a_i\\big] + \\frac{\\rho}{2}\\|\\beta_{1:}\\|^2,
        \\qquad a = [1, F]\\beta.

    The problem is strictly convex, so Newton's minimiser is the one L-BFGS
    reaches (the spec's solver); Newton needs only ``solve`` and stays in the
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
    """
    xp, F, y = _check_xy(F, y, "train")
    if not bool(xp.all((y == 0) | (y == 1))):
        raise ValueError("y must hold labels in {0, 1}")
    ridge = check_positive(ridge, "ridge")
    max_iter = check_int(max_iter, "max_iter", low=1)
    A = _design(F)
    n, k1 = A.shape
    dev = device_of(A)
    # no penalty on the intercept
    pen = ridge * xp.concat(
        [xp.zeros(1, dtype=A.dtype, device=dev), xp.ones(k1 - 1, dtype=A.dtype, device=dev)]
    )
    beta = xp.zeros(k1, dtype=A.dtype, device=dev)
    f = _logistic_objective(A, y, beta, ridge)
    grad_norm = float("inf")
    for _ in range(max_iter):
        prob = 1 / (1 + xp.exp(-(A @ beta)))
        grad = A.mT @ (prob - y) / n + pen * beta
        grad_norm = float(xp.max(xp.abs(grad)))
        if grad_norm < tol:
            break
        H = (A.mT * (prob * (1 - prob))[None, :]) @ A
        H = H / n + eye_like(H) * pen[None, :]
        step = xp.linalg.solve(H, grad[:, None])[:, 0]
        t = 1.0
        while t >= 1e-10:  # backtracking: Newton steps can overshoot far from the minimum
            trial = beta - t * step
            f_trial = _logistic_objective(A, y, trial, ridge)
            if bool(f_trial <= f):
                break
            t /= 2
        else:
            break  # no descent along the Newton direction: the minimum, to rounding
        beta, f = trial, f_trial
    if grad_norm > max(tol, 1e-6):
        warnings.warn(
            f"logistic regression stopped with max |gradient| = {grad_norm:.2g} > tol={tol:g} "
            f"within max_iter={max_iter} Newton steps",
            ConvergenceWarning,
            stacklevel=2,
        )
    return beta


def logistic_test_metrics(F_train, y_train, F_test, y_test, *, ridge=1e-6):
    """Test accuracy and log-loss of ridge logistic regression (:func:`fit_logistic`).

    Parameters
    ----------
    F_train : array of shape (n_train, k)
        Training features.
    y_train : array of shape (n_train,)
        Training labels in {0, 1}.
    F_test : array of shape (n_test, k)
        Test features.
    y_test : array of shape (n_test,)
        Test labels in {0, 1}.
    ridge : float, default=1e-6
        Ridge penalty.

    Returns
    -------
    accuracy : array of shape ()
        Fraction of test labels predicted correctly (threshold 1/2).
    log_loss : array of shape ()
        Mean negative log-likelihood on the test set.
    """
    beta = fit_logistic(F_train, y_train, ridge=ridge)
    xp, F_test, y_test = _check_xy(F_test, y_test, "test")
    a = _design(F_test) @ beta
    acc = xp.mean(xp.astype((a > 0) == (y_test > 0.5), F_test.dtype))
    log_loss = xp.mean(xp.logaddexp(xp.zeros_like(a), a) - y_test * a)
    return acc, log_loss


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


def regression_excess(B, model, w, X, Z, *, n_test=10_000, noise_std=0.1, rng=None):
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
    """
    rng = check_rng(rng)
    y, y_t, feats = _train_test_features(
        B, model, X, Z, n_test, rng,
        lambda Z_: regression_labels(Z_, w, nu=model.nu, noise_std=noise_std, rng=rng),
    )
    mse, mse_oracle = (ols_test_mse(F, y, F_t, y_t) for F, F_t in feats.values())
    return {"mse": mse, "mse_oracle": mse_oracle, "excess": mse - mse_oracle}


def classification_excess(B, model, w, X, Z, *, n_test=10_000, scale=1.0, rng=None):
    """Finite-sample classification: logistic regression on :math:`XB` against :math:`XU^\\star`.

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
    """
    rng = check_rng(rng)
    y, y_t, feats = _train_test_features(
        B, model, X, Z, n_test, rng, lambda Z_: class_labels(Z_, w, nu=model.nu, scale=scale, rng=rng)
    )
    (acc, ll), (acc0, ll0) = (logistic_test_metrics(F, y, F_t, y_t) for F, F_t in feats.values())
    return {
        "accuracy": acc,
        "accuracy_oracle": acc0,
        "accuracy_deficit": acc0 - acc,
        "log_loss": ll,
        "log_loss_oracle": ll0,
        "excess_log_loss": ll - ll0,
    }
