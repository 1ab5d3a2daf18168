"""Supervised contrastive learning: labels help in-domain and can hurt transfer (docs/model.md §8).

The paper states the claim; the model below is the specification's
**reconstruction** of it, not the paper's section. A labeled sample
:math:`(X_l, y)` of size ``m`` adds a supervised pair term to the
self-supervised contrastive matrix of an unlabeled sample of size ``n``:

.. math::

    M(\\alpha) = (1 - \\alpha) M_{self} + \\alpha M_{sup},\\qquad
    M_{sup} = \\frac{1}{m(m-1)}\\sum_{i \\ne j} K_{ij}\\, x_i x_j^\\top
            = \\frac{X_l^\\top K X_l - X_l^\\top \\operatorname{diag}(K) X_l}{m(m-1)},

with the label kernel :math:`K_{ij} = \\langle \\tilde y_i, \\tilde y_j\\rangle`:
:math:`\\tilde y = y` for regression, :math:`\\tilde y = \\pm 1` for two classes and
the one-hot code minus the class frequencies for three or more. Distinct pairs
only, so :math:`M_{sup}` carries no noise-diagonal bias; its mean has range in
:math:`\\operatorname{span}(U^\\star)` and rank at most ``K - 1`` (regression:
:math:`cc^\\top`, :math:`c = \\mathbb E[xy]`, rank 1). The representation minimises
the contrastive objective of docs/model.md §3 on :math:`M(\\alpha)`.

Label models (docs/model.md §6, §8): regression labels on a latent direction
(:func:`task_pair` gives the source task :math:`e_1` and the transfer task
:math:`e_2`), multinomial-logistic class labels (:func:`multiclass_labels`, the
model document's Bernoulli-sigmoid model for two classes, with a logit scale ``T``) and a
class-mean (Gaussian-mixture) model (:func:`sample_class_means`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from ._array_api import device_of, get_namespace, to_namespace
from ._typing import Array, Device, Namespace, RNGLike
from ._validation import check_choice, check_data, check_int, check_positive, check_rank
from .augment import MaskLaw
from .closed_form import contrastive_fit_from_matrix, data_contrastive_matrix, solve_contrastive
from .data import SpikedModel
from .forms import BatchForm
from .options import GD_OPTIONS, MasksChoice, contrastive_options
from .options import solver_options as check_solver_options
from .population import population_matrix
from .random import check_rng
from .results import FitResult
from .training import train_contrastive

__all__ = [
    "LABEL_TYPES",
    "task_pair",
    "multiclass_labels",
    "sample_class_means",
    "label_embedding",
    "supervised_matrix",
    "supervised_pair_loss",
    "supervised_pair_grad",
    "population_supervised_matrix",
    "fit_supervised_contrastive",
    "population_supervised_fit",
]

LABEL_TYPES = ("regression", "class")
#: The ``label_type=`` choices.
LabelType = Literal["regression", "class"]
SUPERVISED_SOLVERS = ("closed_form", "gd")


# --------------------------------------------------------------------------- label models


def task_pair(r: int, *, source: int = 0, transfer: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Source and transfer task vectors on two different latent directions (docs/model.md §8).

    Parameters
    ----------
    r : int
        Latent dimension, ``r >= 2``.
    source : int, default=0
        Index of the source (in-domain) latent direction, in ``[0, r)``.
    transfer : int, default=1
        Index of the transfer latent direction, in ``[0, r)`` and different from ``source``.

    Returns
    -------
    w_source : numpy.ndarray of shape (r,)
        The unit vector :math:`e_{source}` (default of the model document :math:`e_1`).
    w_transfer : numpy.ndarray of shape (r,)
        The unit vector :math:`e_{transfer}` (default of the model document :math:`e_2`).

    Examples
    --------
    >>> import spikedcl as sc
    >>> w_source, w_transfer = sc.task_pair(3)
    >>> w_source, w_transfer
    (array([1., 0., 0.]), array([0., 1., 0.]))
    """
    r = check_int(r, "r", low=2)
    source = check_int(source, "source", low=0, high=r - 1)
    transfer = check_int(transfer, "transfer", low=0, high=r - 1)
    if source == transfer:
        raise ValueError(f"transfer must differ from source, got both = {source}")
    eye = np.eye(r)
    return eye[source].copy(), eye[transfer].copy()


def _host_weights(W, r):
    W = np.asarray(W, dtype=float)
    if W.ndim == 1:
        W = W[:, None]
    if W.ndim != 2 or W.shape[0] != r or W.shape[1] < 1:
        raise ValueError(f"W must have shape (r,) or (r, n_classes - 1) with r={r}, got {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError("W contains NaN or infinite values")
    return W


def multiclass_labels(
    Z: Array, W: Array, *, nu: float = 1.0, scale: float = 1.0, rng: RNGLike = None
) -> Array:
    """Class labels from the multinomial-logistic model on the latent factors.

    Class 0 is the reference class with logit 0 and class ``k >= 1`` has logit
    :math:`T\\langle z, w_k\\rangle/\\nu`:

    .. math::

        \\Pr(y = k \\mid z) = \\frac{\\exp(T\\langle z, w_k\\rangle/\\nu)}
        {1 + \\sum_{j \\ge 1} \\exp(T\\langle z, w_j\\rangle/\\nu)},\\qquad w_0 = 0.

    With one column this is the model document's model
    :math:`y \\sim \\mathrm{Bernoulli}(\\mathrm{sigmoid}(T\\langle z, w\\rangle/\\nu))` (§6)
    and the draws equal those of :func:`spikedcl.class_labels` for the same ``rng``;
    the Bayes accuracy with ``z`` known is :math:`\\mathbb E[\\mathrm{sigmoid}(T|u|)]`,
    0.675 at ``T = 1``.

    Parameters
    ----------
    Z : array of shape (n_samples, r)
        Latent factors.
    W : array of shape (r,) or (r, n_classes - 1)
        Class directions :math:`w_1, \\dots, w_{K-1}` (host array-like).
    nu : float, default=1.0
        Signal scale of the model.
    scale : float, default=1.0
        Logit multiplier :math:`T > 0`; ``T = 1`` is the paper's model, other values
        are an option not in the paper (stronger labels for larger ``T``).
    rng : None, int or numpy.random.Generator, optional
        Random generator; one uniform per sample, drawn on the host.

    Returns
    -------
    array of shape (n_samples,)
        Labels in :math:`\\{0, \\dots, K-1\\}` as floats, in the namespace and on the
        device of ``Z``. A sample gets class :math:`\\#\\{k \\ge 1 : u < \\Pr(y \\ge k \\mid z)\\}`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 3, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(600, rng=1, return_latent=True)
    >>> W = np.random.default_rng(5).standard_normal((3, 2))  # K = 3 classes
    >>> y = sc.multiclass_labels(Z, W, rng=6)
    >>> y[:10], np.bincount(y.astype(int))
    (array([1., 2., 2., 1., 0., 0., 1., 2., 1., 2.]), array([223, 182, 195]))
    >>> w = np.array([1.0, 0.0, 0.0])  # one column: the binary model of class_labels, the same draws
    >>> bool(np.array_equal(sc.multiclass_labels(Z, w, rng=6), sc.class_labels(Z, w, rng=6)))
    True
    """
    xp, Z = check_data(Z, "Z", min_rows=1)
    W = _host_weights(W, Z.shape[1])
    nu = check_positive(nu, "nu")
    scale = check_positive(scale, "scale")
    u = to_namespace(check_rng(rng).random(Z.shape[0]), xp, device=device_of(Z), dtype=Z.dtype)
    W = to_namespace(W, xp, device=device_of(Z), dtype=Z.dtype)
    logits = scale * (Z @ W) / nu  # (n, K - 1)
    if W.shape[1] == 1:  # the model document's sigmoid, written as spikedcl.class_labels writes it
        prob = 1 / (1 + xp.exp(-logits[:, 0]))
        return xp.astype(u < prob, Z.dtype)
    zero = xp.zeros((Z.shape[0], 1), dtype=Z.dtype, device=device_of(Z))
    full = xp.concat([zero, logits], axis=1)
    full = full - xp.max(full, axis=1, keepdims=True)
    expo = xp.exp(full)
    prob = expo / xp.sum(expo, axis=1, keepdims=True)
    k = W.shape[1]
    # tail sums Pr(y >= k | z) for k = 1..K-1: prob[:, 1:] @ T with T[j, k] = [j >= k]
    idx = xp.arange(k, device=device_of(Z))
    upper = xp.astype(idx[:, None] >= idx[None, :], Z.dtype)
    tail = prob[:, 1:] @ upper
    return xp.sum(xp.astype(u[:, None] < tail, Z.dtype), axis=1)


def sample_class_means(
    model: SpikedModel,
    n: int,
    means: Array,
    *,
    priors: Array | None = None,
    rng: RNGLike = None,
    xp: Namespace | None = None,
    device: Device = None,
    dtype: Any = None,
) -> tuple[Array, Array, Array]:
    """Draw from the spiked model with a class-mean (Gaussian-mixture) latent factor.

    A reconstruction (docs/model.md §8: "the paper's own model may differ, e.g. class-mean
    geometry"). Classes are drawn with probabilities :math:`\\pi`, then

    .. math::

        z = (\\mu_y - \\bar\\mu) + L g,\\quad g \\sim N(0, I_r),\\quad
        L L^\\top = \\nu^2 I_r - \\textstyle\\sum_k \\pi_k (\\mu_k - \\bar\\mu)(\\mu_k - \\bar\\mu)^\\top,
        \\qquad x = U^\\star z + \\xi,

    so :math:`z` keeps mean 0 and covariance :math:`\\nu^2 I_r`: the data's second
    moments, hence the self-supervised matrix, are those of the spiked model,
    and only the labels carry the class geometry. For two classes
    :math:`\\mu = \\pm a w` the Bayes accuracy with ``z`` known is
    :math:`\\Phi(a/\\sqrt{\\nu^2 - a^2})`.

    Parameters
    ----------
    model : SpikedModel
        The data model (``U``, ``nu``, noise variances).
    n : int
        Number of samples, ``n >= 2``.
    means : array-like of shape (n_classes, r)
        Class means :math:`\\mu_k` in latent coordinates, ``n_classes >= 2``; their
        covariance under ``priors`` must not exceed :math:`\\nu^2 I_r`.
    priors : array-like of shape (n_classes,), optional
        Class probabilities (default uniform).
    rng : None, int or numpy.random.Generator, optional
        Random generator; draws the classes, then ``g``, then the noise (on the host).
    xp : array namespace, optional
        Namespace of the returned arrays (default NumPy).
    device : object, optional
        Device of the returned arrays in ``xp``.
    dtype : dtype, optional
        Floating dtype of the returned arrays (default float64).

    Returns
    -------
    X : array of shape (n, d)
        Samples.
    Z : array of shape (n, r)
        Latent factors.
    y : array of shape (n,)
        Classes in :math:`\\{0, \\dots, K-1\\}` as floats.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 3, rng=0)
    >>> X, Z, y = sc.sample_class_means(model, 500, means=[[0.8, 0.0, 0.0], [-0.8, 0.0, 0.0]], rng=7)
    >>> X.shape, Z.shape, np.bincount(y.astype(int))
    ((500, 40), (500, 3), array([235, 265]))
    >>> np.round(Z.T @ Z / 500, 1)  # the latent covariance stays nu^2 I
    array([[1. , 0. , 0. ],
           [0. , 1. , 0.1],
           [0. , 0.1, 1. ]])
    """
    n = check_int(n, "n", low=2)
    means = np.asarray(means, dtype=float)
    if means.ndim != 2 or means.shape[1] != model.r or means.shape[0] < 2:
        raise ValueError(
            f"means must have shape (n_classes, r) with n_classes >= 2 and r={model.r}, got {means.shape}"
        )
    if not np.all(np.isfinite(means)):
        raise ValueError("means contains NaN or infinite values")
    K = means.shape[0]
    if priors is None:
        priors = np.full(K, 1.0 / K)
    priors = np.asarray(priors, dtype=float)
    if priors.shape != (K,) or np.any(~np.isfinite(priors)) or np.any(priors <= 0) or abs(priors.sum() - 1) > 1e-9:
        raise ValueError(f"priors must be {K} positive probabilities summing to 1, got {priors}")
    centred = means - priors @ means
    cov_mu = (centred * priors[:, None]).T @ centred
    vals, vecs = np.linalg.eigh(model.nu**2 * np.eye(model.r) - cov_mu)
    if vals[0] < -1e-12 * model.nu**2:
        raise ValueError(
            f"the class means are too far apart: their covariance must not exceed nu^2 I_r = {model.nu**2:g} I_r "
            f"(largest eigenvalue exceeds it by {-vals[0]:.3g})"
        )
    L = vecs * np.sqrt(np.clip(vals, 0.0, None))
    rng = check_rng(rng)
    y = rng.choice(K, size=n, p=priors)
    Z = centred[y] + rng.standard_normal((n, model.r)) @ L.T
    X = Z @ model.U.T + rng.standard_normal((n, model.d)) * np.sqrt(model.noise_var)
    y = y.astype(float)
    if xp is not None:
        return tuple(to_namespace(a, xp, device=device, dtype=dtype) for a in (X, Z, y))
    if dtype is not None:
        return X.astype(dtype), Z.astype(dtype), y.astype(dtype)
    return X, Z, y


# --------------------------------------------------------------------------- the supervised matrix


def _check_labels(y, m, label_type, like):
    _, y = check_data(y, "y", ndim=1)
    if y.shape[0] != m:
        raise ValueError(f"y must have one label per labeled sample: len(y) = {y.shape[0]} != m = {m}")
    return label_embedding(y, label_type=label_type, dtype=like.dtype)


def label_embedding(y: Array, *, label_type: LabelType = "regression", dtype: Any = None) -> Array:
    """The label vectors :math:`\\tilde y_i` of the kernel :math:`K_{ij} = \\langle\\tilde y_i, \\tilde y_j\\rangle` (docs/model.md §8).

    Parameters
    ----------
    y : array of shape (m,)
        Labels: real values (regression) or class labels (any distinct values).
    label_type : {"regression", "class"}, default="regression"
        ``"regression"``: :math:`\\tilde y = y` (not centred, as :math:`\\mathbb E[y] = 0`);
        ``"class"``: :math:`\\pm 1` for two classes (the larger label is +1), the one-hot
        code minus the empirical class frequencies for three or more.
    dtype : dtype, optional
        Floating dtype of the result (default: that of ``y``, float64 for integers).

    Returns
    -------
    array of shape (m, q)
        The embedding; ``q = 1`` for regression and two classes, ``q = K`` for
        ``K >= 3`` classes.

    Examples
    --------
    >>> import numpy as np
    >>> from spikedcl.supervised import label_embedding
    >>> label_embedding(np.array([0.0, 2.0, 2.0, 0.0]), label_type="class")  # two classes: -1 / +1
    array([[-1.],
           [ 1.],
           [ 1.],
           [-1.]])
    >>> label_embedding(np.array([0.0, 1.0, 2.0, 2.0]), label_type="class")  # one-hot minus frequencies
    array([[ 0.75, -0.25, -0.5 ],
           [-0.25,  0.75, -0.5 ],
           [-0.25, -0.25,  0.5 ],
           [-0.25, -0.25,  0.5 ]])
    """
    xp, y = check_data(y, "y", ndim=1)
    check_choice(label_type, "label_type", LABEL_TYPES)
    if dtype is not None:
        y = xp.astype(y, dtype)
    if y.shape[0] < 2:
        raise ValueError(f"y must hold at least 2 labels, got {y.shape[0]}")
    if label_type == "regression":
        return y[:, None]
    classes = xp.unique_values(y)
    K = classes.shape[0]
    if K < 2:
        raise ValueError(f"label_type='class' needs at least 2 classes in y, got only {float(classes[0])!r}")
    if K == 2:
        return (2 * xp.astype(y == classes[1], y.dtype) - 1)[:, None]
    onehot = xp.astype(y[:, None] == classes[None, :], y.dtype)
    return onehot - xp.mean(onehot, axis=0, keepdims=True)


def _supervised_matrix(X, E):
    xp = get_namespace(X, E)
    m = X.shape[0]
    G = X.mT @ E  # (d, q)
    k = xp.sum(E * E, axis=1)  # diag(K)
    M = G @ G.mT - (X.mT * k[None, :]) @ X
    return (M + M.mT) / (2 * m * (m - 1))


def supervised_matrix(X: Array, y: Array, *, label_type: LabelType = "regression") -> Array:
    """Supervised contrastive matrix :math:`M_{sup}` over distinct labeled pairs (docs/model.md §8).

    .. math::

        M_{sup} = \\frac{1}{m(m-1)}\\sum_{i \\ne j} K_{ij}\\, x_i x_j^\\top
        = \\frac{(X^\\top E)(X^\\top E)^\\top - X^\\top \\operatorname{diag}(\\|\\tilde y_i\\|^2) X}{m(m-1)},

    with :math:`E` the label embedding (:func:`label_embedding`), :math:`K = E E^\\top`.

    Parameters
    ----------
    X : array of shape (m, d)
        Labeled samples, ``m >= 2``.
    y : array of shape (m,)
        Their labels.
    label_type : {"regression", "class"}, default="regression"
        Label kernel, see :func:`label_embedding`.

    Returns
    -------
    array of shape (d, d)
        The symmetric matrix :math:`M_{sup}`, in O(m d²) without forming the
        ``m x m`` kernel. Its mean is :math:`cc^\\top` with :math:`c = \\mathbb E[x\\tilde y]`
        (regression: :math:`c = \\nu U^\\star w^\\star`, eigenvalue :math:`\\nu^2`, four
        times the signal eigenvalue :math:`\\nu^2/4` of :math:`M_{self}` at ``p = 1/2``).

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 3, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(600, rng=1, return_latent=True)
    >>> y = sc.regression_labels(Z, sc.task_pair(3)[0], rng=2)
    >>> Xl, yl, m = X[:100], y[:100], 100
    >>> M = sc.supervised_matrix(Xl, yl)
    >>> pairs = (np.outer(Xl.T @ yl, Xl.T @ yl) - (Xl.T * yl**2) @ Xl) / (m * (m - 1))  # sum over i != j
    >>> M.shape, bool(np.allclose(M, pairs))
    ((40, 40), True)
    """
    _, X = check_data(X)
    E = _check_labels(y, X.shape[0], label_type, X)
    return _supervised_matrix(X, E)


def _pair_terms(W, X, y, label_type):
    """What the pair loss and its gradient share: ``(xp, X, E, F, k, m(m-1))`` with
    :math:`E` the label embedding, :math:`F = XW^\\top` and :math:`k_i = \\|\\tilde y_i\\|^2`."""
    xp, X = check_data(X)
    E = _check_labels(y, X.shape[0], label_type, X)
    m = X.shape[0]
    return xp, X, E, X @ W.mT, xp.sum(E * E, axis=1), m * (m - 1)


def supervised_pair_loss(W: Array, X: Array, y: Array, *, label_type: LabelType = "regression") -> Array:
    """Supervised pair term of the loss, from the features alone (docs/model.md §8).

    .. math::

        \\mathcal L_{sup}(W) = -\\frac{1}{m(m-1)}\\sum_{i \\ne j} K_{ij}\\,\\langle W x_i, W x_j\\rangle
        = -\\operatorname{tr}(W M_{sup} W^\\top),

    computed as :math:`-(\\|F^\\top E\\|_F^2 - \\sum_i \\|\\tilde y_i\\|^2 \\|F_i\\|^2)/(m(m-1))`,
    :math:`F = X W^\\top`, in O(m d r).

    Parameters
    ----------
    W : array of shape (r, d)
        Encoder weights.
    X : array of shape (m, d)
        Labeled samples.
    y : array of shape (m,)
        Their labels.
    label_type : {"regression", "class"}, default="regression"
        Label kernel, see :func:`label_embedding`.

    Returns
    -------
    array of shape ()
        The loss (no regulariser; add :math:`\\frac{\\lambda}{2}\\|WW^\\top\\|_F^2` for the full objective).

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 3, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(600, rng=1, return_latent=True)
    >>> from spikedcl.supervised import supervised_pair_loss
    >>> y = sc.regression_labels(Z, sc.task_pair(3)[0], rng=2)
    >>> W = np.random.default_rng(4).standard_normal((3, 40))
    >>> M = sc.supervised_matrix(X, y)
    >>> bool(np.isclose(supervised_pair_loss(W, X, y), -np.trace(W @ M @ W.T)))
    True
    """
    xp, X, E, F, k, pairs = _pair_terms(W, X, y, label_type)
    FE = F.mT @ E
    return -(xp.sum(FE * FE) - xp.sum(k * xp.sum(F * F, axis=1))) / pairs


def supervised_pair_grad(W: Array, X: Array, y: Array, *, label_type: LabelType = "regression") -> Array:
    """Gradient of :func:`supervised_pair_loss` with respect to ``W``, in O(m d r).

    .. math::

        \\nabla_W \\mathcal L_{sup} = -\\frac{2}{m(m-1)}\\Big(W G G^\\top - (F^\\top \\operatorname{diag}(k)) X\\Big)
        = -2 W M_{sup},\\qquad G = X^\\top E,\\ k_i = \\|\\tilde y_i\\|^2.

    Parameters
    ----------
    W : array of shape (r, d)
        Encoder weights.
    X : array of shape (m, d)
        Labeled samples.
    y : array of shape (m,)
        Their labels.
    label_type : {"regression", "class"}, default="regression"
        Label kernel, see :func:`label_embedding`.

    Returns
    -------
    array of shape (r, d)
        The gradient.
    """
    _, X, E, F, k, pairs = _pair_terms(W, X, y, label_type)
    G = X.mT @ E
    return -2 * ((W @ G) @ G.mT - (F.mT * k[None, :]) @ X) / pairs


def population_supervised_matrix(
    model: SpikedModel,
    w: Array,
    *,
    label_type: LabelType = "regression",
    scale: float = 1.0,
    xp: Namespace | None = None,
    device: Device = None,
) -> Array:
    """Population limit :math:`\\mathbb E[M_{sup}] = cc^\\top` of the supervised matrix.

    Parameters
    ----------
    model : SpikedModel
        The data model.
    w : array-like of shape (r,)
        Task vector of the labels.
    label_type : {"regression", "class"}, default="regression"
        ``"regression"``: :math:`y = \\langle z, w\\rangle/\\nu + \\varepsilon`, so
        :math:`c = \\nu U^\\star w`. ``"class"``: two classes from the logistic model
        with logit scale ``T``, :math:`\\tilde y = \\pm 1`, so
        :math:`c = \\nu\\,\\mathbb E[u\\tanh(T u \\|w\\|/2)]\\,U^\\star w/\\|w\\|`, :math:`u \\sim N(0, 1)`
        (Gauss–Hermite quadrature).
    scale : float, default=1.0
        Logit multiplier ``T`` (``label_type="class"``).
    xp : array namespace, optional
        Namespace of the result (default NumPy).
    device : object, optional
        Device of the result in ``xp``.

    Returns
    -------
    array of shape (d, d)
        :math:`cc^\\top`, rank one.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> from spikedcl.supervised import population_supervised_matrix
    >>> model = sc.SpikedModel.random(40, 3, rng=0)
    >>> M = population_supervised_matrix(model, sc.task_pair(3)[0])
    >>> M.shape, int(np.linalg.matrix_rank(M))  # c c^T with c = nu U* w
    ((40, 40), 1)
    """
    check_choice(label_type, "label_type", LABEL_TYPES)
    scale = check_positive(scale, "scale")
    w = np.asarray(w, dtype=float)
    if w.shape != (model.r,) or not np.all(np.isfinite(w)):
        raise ValueError(f"w must be a finite vector of shape ({model.r},), got shape {w.shape}")
    if label_type == "regression":
        c = model.nu * (model.U @ w)
    else:
        norm = float(np.linalg.norm(w))
        nodes, weights = np.polynomial.hermite_e.hermegauss(80)
        gain = float(np.sum(weights * nodes * np.tanh(scale * norm * nodes / 2)) / math.sqrt(2 * math.pi))
        c = model.nu * gain * (model.U @ w) / (norm if norm > 0 else 1.0)
    M = np.outer(c, c)
    return M if xp is None else to_namespace(M, xp, device=device)


# --------------------------------------------------------------------------- the fit


def _check_alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number in [0, 1], got {alpha!r}")
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:  # also rejects NaN
        raise ValueError(f"alpha must lie in the closed interval [0, 1], got {alpha}")
    return alpha


def _as_supervised(fit, info):
    """``fit`` relabelled as a supervised contrastive fit, with ``info`` added to its own."""
    return dataclasses.replace(fit, method="supervised-contrastive", info={**fit.info, **info})


def fit_supervised_contrastive(
    X: Array,
    y: Array,
    r: int,
    *,
    alpha: float,
    X_unlabeled: Array | None = None,
    label_type: LabelType = "regression",
    p: float = 0.5,
    lam: float = 1.0,
    masks: MasksChoice = "realized",
    loss: str | BatchForm = "cross-view",
    mask_mode: str | MaskLaw = "per-sample",
    rng: RNGLike = None,
    solver: Literal["closed_form", "gd"] = "closed_form",
    solver_options: Mapping[str, Any] | None = None,
) -> FitResult:
    """Supervised contrastive learning: a convex mix of self-supervised and label pairs (docs/model.md §8).

    Minimises the contrastive objective of docs/model.md §3 on the mixed matrix

    .. math::

        \\mathcal L_\\alpha(W) = -\\operatorname{tr}(W M(\\alpha) W^\\top) + \\frac{\\lambda}{2}\\|W W^\\top\\|_F^2,
        \\qquad M(\\alpha) = (1-\\alpha) M_{self} + \\alpha M_{sup},

    where :math:`M_{self}` is the contrastive matrix of :func:`spikedcl.fit_contrastive`
    on the unlabeled sample (masked views, realized or mask-averaged) and
    :math:`M_{sup}` is :func:`supervised_matrix` of the labeled sample. The minimiser
    is :math:`W = \\operatorname{diag}(\\sqrt{(\\mu_k)_+/\\lambda})V_r^\\top` with
    :math:`(\\mu_k, v_k)` the top eigenpairs of :math:`M(\\alpha)`.

    This is the specification's reconstruction of the paper's supervised
    contrastive learning (only the claim is from the paper). The convex weight is
    the default; the additive form :math:`\\mathcal L_{self} + \\beta\\mathcal L_{sup}`
    gives the same subspace at :math:`\\alpha = \\beta/(1+\\beta)` (and ``W`` scaled by
    :math:`\\sqrt{1+\\beta}`). Scale: :math:`M_{self}`'s signal eigenvalues are about
    :math:`p(1-p)\\nu^2` (:math:`\\nu^2/4`), those of the regression :math:`M_{sup}`
    about :math:`\\nu^2`, so :math:`\\alpha = 0.2` already weighs the labels as much.

    Parameters
    ----------
    X : array of shape (m, n_features)
        Labeled samples, ``m >= 2``.
    y : array of shape (m,)
        Their labels, finite; at least two classes for ``label_type="class"``.
    r : int
        Representation dimension, ``1 <= r < n_features`` (the model document's ``k``).
    alpha : float
        Weight of the supervised term in ``[0, 1]``: 0 is self-supervised
        contrastive learning (exactly :func:`spikedcl.fit_contrastive` on the
        unlabeled sample), 1 uses the labels only.
    X_unlabeled : array of shape (n, n_features), optional
        Unlabeled samples for :math:`M_{self}`; default ``X`` itself (the labeled
        samples, labels ignored). ``m`` and ``n`` are separate knobs.
    label_type : {"regression", "class"}, default="regression"
        Label kernel (:func:`label_embedding`).
    p : float, default=0.5
        Masking probability in ``(0, 1)``.
    lam : float, default=1.0
        Regularisation :math:`\\lambda > 0` (scale only).
    masks : {"realized", "expected"}, default="realized"
        :math:`M_{self}` from drawn masks or mask-averaged, as in :func:`spikedcl.fit_contrastive`.
    loss : {"cross-view", "simclr"}, default="cross-view"
        Batch form (L-a) or (L-b) of the self-supervised term.
    mask_mode : {"per-sample", "fixed", "fixed-bernoulli", "exact-count"}, default="per-sample"
        Mask law for ``masks="realized"``.
    rng : None, int or numpy.random.Generator, optional
        Draws the masks (always, also at ``alpha = 1``, so every ``alpha`` sees the
        same masks), then the GD initialisation.
    solver : {"closed_form", "gd"}, default="closed_form"
        ``"gd"`` runs :func:`spikedcl.training.train_contrastive` on :math:`M(\\alpha)`.
    solver_options : dict, optional
        Options of the GD solver (:data:`spikedcl.training.GD_OPTIONS`).

    Returns
    -------
    FitResult
        ``method="supervised-contrastive"``; ``W`` (r, d), ``basis`` (d, r),
        ``eigenvalues`` of :math:`M(\\alpha)`, ``loss``; ``info`` holds ``alpha``,
        ``m``, ``n``, ``label_type``, ``n_classes`` and the options.

    Raises
    ------
    ValueError
        For ``alpha`` outside ``[0, 1]``, ``len(y) != m``, NaN or infinite labels,
        a single class with ``label_type="class"``, or mismatched feature counts.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(40, 3, noise="two-block", condition=8.0, rng=0)
    >>> X, Z = model.sample(600, rng=1, return_latent=True)
    >>> y = sc.regression_labels(Z, sc.task_pair(3)[0], rng=2)
    >>> fit = sc.fit_supervised_contrastive(X[:100], y[:100], 3, alpha=0.2, X_unlabeled=X, rng=3)
    >>> fit.method, fit.info["alpha"], fit.info["m"], fit.info["n"]
    ('supervised-contrastive', 0.2, 100, 600)
    >>> self_only = sc.fit_supervised_contrastive(X[:100], y[:100], 3, alpha=0.0, X_unlabeled=X, rng=3)
    >>> bool(np.allclose(self_only.W, sc.fit_contrastive(X, 3, rng=3).W))  # alpha = 0: self-supervised CL
    True
    """
    xp, X = check_data(X, "X")
    alpha = _check_alpha(alpha)
    check_choice(label_type, "label_type", LABEL_TYPES)
    E = _check_labels(y, X.shape[0], label_type, X)
    if X_unlabeled is None:
        X_self = X
    else:
        _, X_self = check_data(X_unlabeled, "X_unlabeled")
        if X_self.shape[1] != X.shape[1]:
            raise ValueError(
                f"X_unlabeled must have the n_features={X.shape[1]} columns of X, got {X_self.shape[1]}"
            )
    r = check_rank(r, X.shape[1])
    opts = contrastive_options(p, lam, masks, loss, mask_mode, d=X.shape[1])
    check_choice(solver, "solver", SUPERVISED_SOLVERS)
    gd_options = check_solver_options(solver_options, GD_OPTIONS) if solver == "gd" else None
    rng = check_rng(rng)
    M_self = data_contrastive_matrix(X_self, opts, rng)
    if alpha == 0.0:
        M = M_self  # bit-for-bit the self-supervised matrix
    elif alpha == 1.0:
        M = _supervised_matrix(X, E)
    else:
        M = (1 - alpha) * M_self + alpha * _supervised_matrix(X, E)
    n_classes = 0 if label_type == "regression" else max(2, E.shape[1])
    info = {
        "alpha": alpha, "m": X.shape[0], "n": X_self.shape[0], "label_type": label_type,
        "n_classes": n_classes, "p": opts.p, "masks": opts.masks, "loss": opts.loss, "mask_mode": opts.mask_mode,
    }
    if solver == "gd":
        fit = train_contrastive(M, r, lam=opts.lam, rng=rng, solver_options=gd_options)
    else:
        fit = solve_contrastive(M, r, lam=opts.lam)
    return _as_supervised(fit, info)


def population_supervised_fit(
    model: SpikedModel,
    w: Array,
    r: int,
    *,
    alpha: float,
    label_type: LabelType = "regression",
    scale: float = 1.0,
    p: float = 0.5,
    lam: float = 1.0,
) -> FitResult:
    """Population (``n, m → ∞``) supervised contrastive fit on :math:`(1-\\alpha)p(1-p)\\Delta(\\Sigma_x) + \\alpha cc^\\top`.

    Parameters
    ----------
    model : SpikedModel
        The data model.
    w : array-like of shape (r,)
        Task vector of the labels.
    r : int
        Representation dimension.
    alpha : float
        Supervised weight in ``[0, 1]``.
    label_type : {"regression", "class"}, default="regression"
        Label model (:func:`population_supervised_matrix`).
    scale : float, default=1.0
        Logit multiplier for ``label_type="class"``.
    p : float, default=0.5
        Masking probability.
    lam : float, default=1.0
        Regularisation (scale only).

    Returns
    -------
    FitResult
        The closed form on the population matrix (NumPy).
    """
    alpha = _check_alpha(alpha)
    M_self = population_matrix(model, "contrastive", p=p)
    M_sup = population_supervised_matrix(model, w, label_type=label_type, scale=scale)
    M = (1 - alpha) * M_self + alpha * M_sup
    fit = contrastive_fit_from_matrix(M, r, lam=lam)
    return _as_supervised(fit, {"alpha": alpha})

