r"""scikit-learn estimators over the closed-form fits (docs/model.md §3, §4, §8).

Each estimator is a thin transformer over one function of the function API:

* :class:`LinearContrastive` over :func:`spikedcl.fit_contrastive`;
* :class:`LinearAutoencoder` over :func:`spikedcl.fit_autoencoder`;
* :class:`HeteroPCA` over :func:`spikedcl.fit_heteropca`;
* :class:`SupervisedContrastive` over :func:`spikedcl.fit_supervised_contrastive`.

They follow the scikit-learn conventions: every ``__init__`` argument is stored
unchanged and validated only in ``fit`` (a bad value raises a :class:`ValueError`
or :class:`TypeError` naming the parameter and its allowed values); fitted
attributes end with an underscore; ``transform(X)`` returns the features
:math:`F = XW^\top` exactly as :meth:`spikedcl.FitResult.transform` does (no
centring: the fits use the uncentred second moment, docs/model.md §10 choice 5).
The estimators work on NumPy arrays (inputs are converted by
:func:`sklearn.utils.validation.validate_data`); the function API also accepts
other array-API namespaces.

This module is the only one of spikedcl that imports scikit-learn
(``pip install "spikedcl[sklearn]"``); ``import spikedcl`` does not.
"""

from __future__ import annotations

import numbers
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._typing import RNGLike
from ._validation import check_choice, check_int, check_positive, check_unit_interval
from .augment import MASK_LAWS, MaskLaw
from .closed_form import CL_SOLVERS, SOLVERS, fit_autoencoder, fit_contrastive, fit_heteropca
from .eigensolvers import EIGENSOLVERS
from .forms import FORMS, BatchForm
from .options import CL_MASKS, check_bool
from .supervised import LABEL_TYPES, SUPERVISED_SOLVERS, fit_supervised_contrastive

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sklearn_validate_data
except ImportError:  # scikit-learn 1.4 and 1.5: the estimator's own method
    _sklearn_validate_data = None

__all__ = ["LinearContrastive", "LinearAutoencoder", "HeteroPCA", "SupervisedContrastive"]

#: Floating dtypes kept as they are (anything else becomes float64), as the function API does.
_DTYPES = (np.float64, np.float32)


def _validate_data(estimator, X, y="no_validation", **kwargs):
    """:func:`sklearn.utils.validation.validate_data`, or ``estimator._validate_data`` before 1.6."""
    if _sklearn_validate_data is not None:
        return _sklearn_validate_data(estimator, X, y, **kwargs)
    return estimator._validate_data(X, y, **kwargs)


def _check_n_components(n_components, n_features):
    """``n_components`` as an int with ``1 <= n_components < n_features``."""
    n_components = check_int(n_components, "n_components", low=1)
    if n_components >= n_features:
        raise ValueError(
            f"n_components must satisfy 1 <= n_components < n_features, i.e. lie in [1, {n_features - 1}] "
            f"for X with n_features = {n_features}; got n_components={n_components}"
        )
    return n_components


def _check_registered(value, name, table, cls):
    """``value`` when it is an instance of ``cls`` or a name registered in ``table`` (read at fit time)."""
    if isinstance(value, cls):
        return value
    return table[check_choice(value, name, tuple(table))]


def _check_closed_unit(value, name):
    """A real number in the closed interval [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must lie in the closed interval [0, 1], got {value}")
    return value


def _check_random_state(random_state):
    """The ``rng`` argument of the function API for a scikit-learn ``random_state``.

    ``None``, a non-negative int, a :class:`numpy.random.SeedSequence` or a
    :class:`numpy.random.Generator` pass unchanged (an int seeds the generator
    the function builds, so the same int gives the fit of the function API); a
    legacy :class:`numpy.random.RandomState` supplies a seed drawn from it.
    """
    if random_state is None or isinstance(random_state, (np.random.Generator, np.random.SeedSequence)):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be None or a non-negative integer, got {random_state}")
        return int(random_state)
    raise TypeError(
        "random_state must be None, a non-negative int, a numpy.random.RandomState, "
        f"numpy.random.Generator or numpy.random.SeedSequence; got {type(random_state).__name__}"
    )


class _LinearRepresentation(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared fitted state and ``transform`` of the linear representations ``f(x) = W x``."""

    def _validate_X(self, X, *, reset):
        # fits need two samples (the pair sums of docs/model.md §3); transform takes one
        return _validate_data(self, X, reset=reset, dtype=_DTYPES, ensure_min_samples=2 if reset else 1)

    def _store(self, fit):
        """Copy the :class:`~spikedcl.FitResult` ``fit`` into the fitted attributes."""
        self.fit_result_ = fit
        self.W_ = fit.W
        self.components_ = fit.basis.T
        self.eigenvalues_ = fit.eigenvalues
        self.loss_ = float(fit.loss)
        self.n_iter_ = int(fit.n_iter)
        return self

    @property
    def _n_features_out(self):
        """Number of output features, for :meth:`get_feature_names_out`."""
        return self.components_.shape[0]

    def _random_tags(self):
        """Whether a fit with ``random_state=None`` draws random numbers (masks or a GD initialisation)."""
        return False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self._random_tags() and getattr(self, "random_state", None) is None
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"non_deterministic": self._random_tags() and getattr(self, "random_state", None) is None}

    def transform(self, X: ArrayLike) -> np.ndarray:
        r"""Features :math:`F = X W^\top` of the fitted representation.

        The data are not centred, as in :meth:`spikedcl.FitResult.transform`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with the ``n_features_in_`` columns seen in ``fit``.

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_components)
            ``X @ W_.T``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return X @ self.W_.T

    def fit_transform(self, X: ArrayLike, y: ArrayLike | None = None, **fit_params: Any) -> np.ndarray:
        r"""Fit to ``X`` and return its features :math:`F = XW^\top`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,), optional
            Labels, for the estimators that use them.
        **fit_params : dict
            Further arguments of ``fit``.

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_components)
            ``fit(X, y, **fit_params).transform(X)``.
        """
        return self.fit(X, y, **fit_params).transform(X)


_FITTED_ATTRIBUTES = """
    components_ : numpy.ndarray of shape (n_components, n_features)
        Orthonormal rows spanning the learned subspace (``FitResult.basis.T``).
    W_ : numpy.ndarray of shape (n_components, n_features)
        The minimiser of the objective (``FitResult.W``); ``transform`` returns ``X @ W_.T``.
    eigenvalues_ : numpy.ndarray of shape (n_components,)
        {eigenvalues}
    loss_ : float
        Objective value at ``W_``.
    n_iter_ : int
        Iterations of the solver (0 for a closed form).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : numpy.ndarray of shape (`n_features_in_`,)
        Names of the features seen in ``fit``, defined only when ``X`` has string column names.
    fit_result_ : FitResult
        The result of the function API."""


class LinearContrastive(_LinearRepresentation):
    r"""Linear contrastive learning with random-masking views (docs/model.md §2, §3).

    Each sample is split into complementary masked views :math:`Ax` and
    :math:`(I - A)x` (docs/model.md §2); the linear encoder :math:`f(x) = Wx`
    minimises the batch contrastive loss, which equals

    .. math::

        \mathcal L(W) = -\operatorname{tr}(W M W^\top) + \frac{\lambda}{2}\|W W^\top\|_F^2,
        \qquad M = S_{pos} - S_{neg}

    (docs/model.md §3). The minimiser is
    :math:`W = \operatorname{diag}(\sqrt{(\mu_k)_+/\lambda})V_r^\top` with
    :math:`(\mu_k, v_k)` the top eigenpairs of ``M``. A thin wrapper of
    :func:`spikedcl.fit_contrastive`.

    Parameters
    ----------
    n_components : int, default=2
        Representation dimension ``r``, ``1 <= n_components < n_features``.
    mask_prob : float, default=0.5
        Masking probability ``p`` in ``(0, 1)`` (``p=`` of :func:`spikedcl.fit_contrastive`).
    lam : float, default=1.0
        Regularisation :math:`\lambda > 0`; it scales ``W_`` and never changes the subspace.
    masks : {"realized", "expected"}, default="realized"
        Drawn masks, or the mask-averaged matrix :math:`\bar M` (per-sample masks only).
    loss : str or BatchForm, default="cross-view"
        A batch form registered with :func:`spikedcl.register_form`: ``"cross-view"`` (L-a),
        ``"simclr"`` (L-b) or one added later.
    mask_mode : str or MaskLaw, default="per-sample"
        A mask law registered with :func:`spikedcl.register_mask_law`: ``"per-sample"``,
        ``"fixed"``, ``"fixed-bernoulli"``, ``"exact-count"`` or one added later.
    solver : {"closed_form", "gd", "sgd", "adam"}, default="closed_form"
        Closed form, gradient descent on ``M``, or minibatch training with fresh masks.
    solver_options : dict, optional
        Options of the iterative solvers (:data:`spikedcl.training.GD_OPTIONS`,
        :data:`spikedcl.training.MINIBATCH_OPTIONS`).
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        How the top eigenpairs are found (see :func:`spikedcl.fit_contrastive`).
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator, default=None
        Draws the masks, then the GD initialisation (``rng=`` of the function API: an
        int gives the fit of ``fit_contrastive(..., rng=int)``). ``None`` draws fresh
        masks at every fit.

    Attributes
    ----------{attributes}

    See Also
    --------
    spikedcl.fit_contrastive : The function this estimator wraps.

    Notes
    -----
    ``transform`` does not centre ``X``: the negative pairs already centre the
    statistic (docs/model.md §3), and :meth:`spikedcl.FitResult.transform` does not either.

    Examples
    --------
    >>> import spikedcl
    >>> from spikedcl.estimators import LinearContrastive
    >>> model = spikedcl.SpikedModel.random(40, 3, condition=4.0, rng=0)
    >>> X = model.sample(4000, rng=1)
    >>> cl = LinearContrastive(n_components=3, random_state=0).fit(X)
    >>> cl.transform(X).shape
    (4000, 3)
    >>> cl.get_feature_names_out().tolist()
    ['linearcontrastive0', 'linearcontrastive1', 'linearcontrastive2']
    >>> print(f"{spikedcl.sin_theta(cl.components_.T, model.U):.2f}")
    0.22
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        mask_prob: float = 0.5,
        lam: float = 1.0,
        masks: str = "realized",
        loss: str = "cross-view",
        mask_mode: str = "per-sample",
        solver: str = "closed_form",
        solver_options: dict | None = None,
        eigensolver: str = "auto",
        random_state: RNGLike = None,
    ) -> None:
        self.n_components = n_components
        self.mask_prob = mask_prob
        self.lam = lam
        self.masks = masks
        self.loss = loss
        self.mask_mode = mask_mode
        self.solver = solver
        self.solver_options = solver_options
        self.eigensolver = eigensolver
        self.random_state = random_state

    def _random_tags(self):
        return self.masks != "expected" or self.solver != "closed_form"

    def fit(self, X: ArrayLike, y: None = None) -> Self:
        """Fit the contrastive representation to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, ``n_samples >= 2``.
        y : None
            Ignored.

        Returns
        -------
        LinearContrastive
            The fitted estimator.
        """
        X = self._validate_X(X, reset=True)
        d = X.shape[1]
        r = _check_n_components(self.n_components, d)
        p = check_unit_interval(self.mask_prob, "mask_prob")
        lam = check_positive(self.lam, "lam")
        check_choice(self.masks, "masks", CL_MASKS)
        form = _check_registered(self.loss, "loss", FORMS, BatchForm)
        law = _check_registered(self.mask_mode, "mask_mode", MASK_LAWS, MaskLaw)
        check_choice(self.solver, "solver", CL_SOLVERS)
        check_choice(self.eigensolver, "eigensolver", EIGENSOLVERS)
        rng = _check_random_state(self.random_state)
        if self.masks == "realized":
            try:
                law.check(p, d)
            except ValueError as exc:
                raise ValueError(f"mask_prob={p} does not suit mask_mode={law.name!r} at n_features={d}: {exc}") from None
        fit = fit_contrastive(
            X, r, p=p, lam=lam, masks=self.masks, loss=form, mask_mode=law, rng=rng, solver=self.solver,
            solver_options=self.solver_options, eigensolver=self.eigensolver,
        )
        return self._store(fit)


class LinearAutoencoder(_LinearRepresentation):
    r"""Two-factor linear autoencoder, the PCA baseline of the paper (docs/model.md §4).

    .. math::

        \min_{W_E \in \mathbb R^{r\times d},\, W_D \in \mathbb R^{d \times r}}
        \frac1n \|X - X W_E^\top W_D^\top\|_F^2 + \lambda(\|W_E\|_F^2 + \|W_D\|_F^2),

    minimised by :math:`W_E = \operatorname{diag}(\sqrt{(1 - \lambda/\sigma_k)_+})V_r^\top`,
    :math:`W_D = W_E^\top`, with :math:`(\sigma_k, v_k)` the top eigenpairs of
    :math:`\hat\Sigma_0 = X^\top X/n`: the encoder spans the PCA subspace. A thin
    wrapper of :func:`spikedcl.fit_autoencoder`.

    Parameters
    ----------
    n_components : int, default=2
        Bottleneck width ``r``, ``1 <= n_components < n_features``.
    lam : float, default=0.0
        Penalty :math:`\lambda \ge 0` on both factors.
    center : bool, default=False
        Fit on column-centred data. ``transform`` never centres (as
        :meth:`spikedcl.FitResult.transform`): put a
        :class:`~sklearn.preprocessing.StandardScaler` (``with_std=False``) in front
        to centre the features too.
    solver : {"closed_form", "gd"}, default="closed_form"
        Closed form or gradient descent on both factors.
    solver_options : dict, optional
        Options of the gradient-descent solver (:data:`spikedcl.training.GD_OPTIONS`).
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        Eigensolver of the second moment.
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator, default=None
        Draws the GD initialisation (unused by the closed form).

    Attributes
    ----------{attributes}
    decoder_ : numpy.ndarray of shape (n_features, n_components)
        The decoder :math:`W_D`.

    See Also
    --------
    spikedcl.fit_autoencoder : The function this estimator wraps.

    Examples
    --------
    >>> import spikedcl
    >>> from spikedcl.estimators import LinearAutoencoder
    >>> model = spikedcl.SpikedModel.random(40, 3, condition=4.0, rng=0)
    >>> X = model.sample(4000, rng=1)
    >>> ae = LinearAutoencoder(n_components=3).fit(X)
    >>> ae.components_.shape, ae.decoder_.shape
    ((3, 40), (40, 3))
    >>> print(f"{spikedcl.sin_theta(ae.components_.T, model.U):.2f}")
    0.40
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        lam: float = 0.0,
        center: bool = False,
        solver: str = "closed_form",
        solver_options: dict | None = None,
        eigensolver: str = "auto",
        random_state: RNGLike = None,
    ) -> None:
        self.n_components = n_components
        self.lam = lam
        self.center = center
        self.solver = solver
        self.solver_options = solver_options
        self.eigensolver = eigensolver
        self.random_state = random_state

    def _random_tags(self):
        return self.solver != "closed_form"

    def fit(self, X: ArrayLike, y: None = None) -> Self:
        """Fit the autoencoder to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, ``n_samples >= 2``.
        y : None
            Ignored.

        Returns
        -------
        LinearAutoencoder
            The fitted estimator.
        """
        X = self._validate_X(X, reset=True)
        r = _check_n_components(self.n_components, X.shape[1])
        lam = check_positive(self.lam, "lam", allow_zero=True)
        check_bool(self.center, "center")
        check_choice(self.solver, "solver", SOLVERS)
        check_choice(self.eigensolver, "eigensolver", EIGENSOLVERS)
        rng = _check_random_state(self.random_state)
        fit = fit_autoencoder(
            X, r, lam=lam, center=self.center, solver=self.solver, solver_options=self.solver_options, rng=rng,
            eigensolver=self.eigensolver,
        )
        self._store(fit)
        self.decoder_ = fit.info["decoder"]
        return self


class HeteroPCA(_LinearRepresentation):
    r"""HeteroPCA (Zhang, Cai & Wu 2022), an extra baseline not in the paper (docs/model.md §4).

    Starting from :math:`N_0 = \Delta(\hat\Sigma_0)` (the contrastive estimator),
    iterate :math:`N_t = \Delta(N_{t-1}) + D(\operatorname{trunc}_r N_{t-1})`, imputing the
    deleted diagonal from the best rank-``r`` approximation, until
    :math:`\|N_t - N_{t-1}\|_F \le \mathrm{tol}\,\|N_t\|_F`. The representation is the
    top-``r`` eigenvectors of the last :math:`N_t` (``W_ = components_``). A thin
    wrapper of :func:`spikedcl.fit_heteropca`.

    Parameters
    ----------
    n_components : int, default=2
        Rank ``r``, ``1 <= n_components < n_features``.
    max_iter : int, default=50
        Maximum number of imputation steps, ``>= 1``.
    tol : float, default=1e-8
        Relative change at which to stop, ``> 0``.

    Attributes
    ----------{attributes}
    converged_ : bool
        Whether the iteration met ``tol`` within ``max_iter`` steps.

    See Also
    --------
    spikedcl.fit_heteropca : The function this estimator wraps.

    Examples
    --------
    >>> import spikedcl
    >>> from spikedcl.estimators import HeteroPCA
    >>> model = spikedcl.SpikedModel.random(40, 3, condition=4.0, rng=0)
    >>> X = model.sample(4000, rng=1)
    >>> hp = HeteroPCA(n_components=3).fit(X)
    >>> hp.transform(X[:5]).shape
    (5, 3)
    >>> print(f"{spikedcl.sin_theta(hp.components_.T, model.U):.2f}")
    0.18
    """

    def __init__(self, n_components: int = 2, *, max_iter: int = 50, tol: float = 1e-8) -> None:
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: ArrayLike, y: None = None) -> Self:
        """Fit HeteroPCA to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, ``n_samples >= 2``.
        y : None
            Ignored.

        Returns
        -------
        HeteroPCA
            The fitted estimator.
        """
        X = self._validate_X(X, reset=True)
        r = _check_n_components(self.n_components, X.shape[1])
        max_iter = check_int(self.max_iter, "max_iter", low=1)
        tol = check_positive(self.tol, "tol")
        fit = fit_heteropca(X, r, max_iter=max_iter, tol=tol)
        self._store(fit)
        self.converged_ = bool(fit.converged)
        return self


class SupervisedContrastive(_LinearRepresentation):
    r"""Supervised contrastive learning: self-supervised and label pairs mixed (docs/model.md §8).

    Minimises the contrastive objective of docs/model.md §3 on the mixed matrix

    .. math::

        \mathcal L_\alpha(W) = -\operatorname{tr}(W M(\alpha) W^\top) + \frac{\lambda}{2}\|W W^\top\|_F^2,
        \qquad M(\alpha) = (1-\alpha) M_{self} + \alpha M_{sup},

    with :math:`M_{self}` the masked-view contrastive matrix of the unlabeled
    sample and :math:`M_{sup} = \frac{1}{m(m-1)}\sum_{i \ne j} K_{ij} x_i x_j^\top` over
    distinct labeled pairs, :math:`K_{ij} = \langle\tilde y_i, \tilde y_j\rangle`. A
    reconstruction of the paper's claim (docs/model.md §8) and a thin wrapper of
    :func:`spikedcl.fit_supervised_contrastive`.

    Parameters
    ----------
    n_components : int, default=2
        Representation dimension ``r`` (the model document's ``k``), ``1 <= n_components < n_features``.
    alpha : float, default=0.5
        Weight of the supervised term in ``[0, 1]`` (required by the function API):
        0 is self-supervised contrastive learning, 1 uses the labels only.
    label_type : {"regression", "class"}, default="regression"
        Label kernel: :math:`\tilde y = y` for real targets; ``"class"`` takes any
        class labels (strings too), coded :math:`\pm 1` for two classes and one-hot
        minus the class frequencies for three or more.
    mask_prob : float, default=0.5
        Masking probability ``p`` in ``(0, 1)`` of the self-supervised term.
    lam : float, default=1.0
        Regularisation :math:`\lambda > 0` (scale only).
    masks : {"realized", "expected"}, default="realized"
        :math:`M_{self}` from drawn masks or mask-averaged.
    loss : str or BatchForm, default="cross-view"
        A registered batch form of the self-supervised term.
    mask_mode : str or MaskLaw, default="per-sample"
        A registered mask law (``masks="realized"``).
    solver : {"closed_form", "gd"}, default="closed_form"
        Closed form or gradient descent on :math:`M(\alpha)`.
    solver_options : dict, optional
        Options of the GD solver (:data:`spikedcl.training.GD_OPTIONS`).
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator, default=None
        Draws the masks (at every ``alpha``), then the GD initialisation.

    Attributes
    ----------{attributes}
    classes_ : numpy.ndarray of shape (n_classes,)
        The class labels seen in ``fit`` (``label_type="class"`` only).

    See Also
    --------
    spikedcl.fit_supervised_contrastive : The function this estimator wraps.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl
    >>> from spikedcl.estimators import SupervisedContrastive
    >>> model = spikedcl.SpikedModel.random(40, 3, condition=4.0, rng=0)
    >>> X, Z = model.sample(4000, rng=1, return_latent=True)
    >>> y = spikedcl.regression_labels(Z, np.array([1.0, 0.0, 0.0]), rng=2)
    >>> sup = SupervisedContrastive(n_components=1, alpha=0.5, random_state=0).fit(X, y)
    >>> sup.components_.shape
    (1, 40)

    The labels pick the task direction :math:`U^\star e_1` (without them, ``alpha=0``,
    the one component lands elsewhere in the signal subspace):

    >>> print(f"{spikedcl.sin_theta(sup.components_.T, model.U[:, :1]):.2f}")
    0.07
    >>> unsup = SupervisedContrastive(n_components=1, alpha=0.0, random_state=0).fit(X, y)
    >>> print(f"{spikedcl.sin_theta(unsup.components_.T, model.U[:, :1]):.2f}")
    0.99
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        alpha: float = 0.5,
        label_type: str = "regression",
        mask_prob: float = 0.5,
        lam: float = 1.0,
        masks: str = "realized",
        loss: str = "cross-view",
        mask_mode: str = "per-sample",
        solver: str = "closed_form",
        solver_options: dict | None = None,
        random_state: RNGLike = None,
    ) -> None:
        self.n_components = n_components
        self.alpha = alpha
        self.label_type = label_type
        self.mask_prob = mask_prob
        self.lam = lam
        self.masks = masks
        self.loss = loss
        self.mask_mode = mask_mode
        self.solver = solver
        self.solver_options = solver_options
        self.random_state = random_state

    def _random_tags(self):
        return self.masks != "expected" or self.solver != "closed_form"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return dict(super()._more_tags(), requires_y=True)

    def fit(self, X: ArrayLike, y: ArrayLike, *, X_unlabeled: ArrayLike | None = None) -> Self:
        """Fit the supervised contrastive representation to labeled (and unlabeled) samples.

        Parameters
        ----------
        X : array-like of shape (m, n_features)
            Labeled samples, ``m >= 2``.
        y : array-like of shape (m,)
            Their labels: real targets (``label_type="regression"``) or class labels,
            at least two classes (``label_type="class"``).
        X_unlabeled : array-like of shape (n, n_features), optional
            Unlabeled samples for :math:`M_{self}`; default ``X`` itself (labels ignored).

        Returns
        -------
        SupervisedContrastive
            The fitted estimator.
        """
        check_choice(self.label_type, "label_type", LABEL_TYPES)
        regression = self.label_type == "regression"
        X, y = _validate_data(
            self, X, y, reset=True, dtype=_DTYPES, ensure_min_samples=2, y_numeric=regression,
        )
        if not regression:
            # the label kernel depends only on class identity (docs/model.md §8): codes 0..K-1 in sorted order
            self.classes_, codes = np.unique(y, return_inverse=True)
            y = codes.astype(X.dtype)
        elif hasattr(self, "classes_"):
            del self.classes_
        if X_unlabeled is not None:
            X_unlabeled = self._validate_X(X_unlabeled, reset=False)
        d = X.shape[1]
        r = _check_n_components(self.n_components, d)
        alpha = _check_closed_unit(self.alpha, "alpha")
        p = check_unit_interval(self.mask_prob, "mask_prob")
        lam = check_positive(self.lam, "lam")
        check_choice(self.masks, "masks", CL_MASKS)
        form = _check_registered(self.loss, "loss", FORMS, BatchForm)
        law = _check_registered(self.mask_mode, "mask_mode", MASK_LAWS, MaskLaw)
        check_choice(self.solver, "solver", SUPERVISED_SOLVERS)
        rng = _check_random_state(self.random_state)
        if self.masks == "realized":
            try:
                law.check(p, d)
            except ValueError as exc:
                raise ValueError(f"mask_prob={p} does not suit mask_mode={law.name!r} at n_features={d}: {exc}") from None
        fit = fit_supervised_contrastive(
            X, y, r, alpha=alpha, X_unlabeled=X_unlabeled, label_type=self.label_type, p=p, lam=lam,
            masks=self.masks, loss=form, mask_mode=law, rng=rng, solver=self.solver,
            solver_options=self.solver_options,
        )
        return self._store(fit)


for _cls, _eigen in (
    (LinearContrastive, r"Top eigenvalues :math:`\mu_1 \ge \dots \ge \mu_r` of the contrastive matrix ``M``."),
    (LinearAutoencoder, r"Top eigenvalues of the second moment :math:`\hat\Sigma_0`."),
    (HeteroPCA, r"Eigenvalues of the final imputed matrix, largest in absolute value first."),
    (SupervisedContrastive, r"Top eigenvalues of the mixed matrix :math:`M(\alpha)`."),
):
    if _cls.__doc__:  # None under python -OO
        _cls.__doc__ = _cls.__doc__.replace("{attributes}", _FITTED_ATTRIBUTES.replace("{eigenvalues}", _eigen))
del _cls, _eigen
