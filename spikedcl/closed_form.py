"""Closed-form minimisers: statistic -> top eigenpairs -> :class:`~spikedcl.results.FitResult`.

Every fit is an eigendecomposition of a ``d x d`` sufficient statistic
(:mod:`spikedcl.stats`) built from ``X`` without forming ``n x n`` or
``n x d x d`` objects:

* contrastive learning (docs/model.md §3): top eigenvectors of the batch form's
  :math:`M = S_{pos} - S_{neg}` (:mod:`spikedcl.forms`), realized from masked
  views (:mod:`spikedcl.augment`) or mask-averaged;
* PCA / linear autoencoder / linear GAN (docs/model.md §4): top eigenvectors of the
  second moment :math:`\\hat\\Sigma_0 = X^\\top X / n`;
* HeteroPCA (not in the paper): iterative diagonal imputation.

Replicates may share a leading axis: ``X`` of shape (R, n, d) gives stacked
statistics (R, d, d), one batched ``eigh`` and results with a leading ``R``
axis (the masks of replicate ``i`` are those a loop over ``X[i]`` with the same
``rng`` would draw). With ``eigensolver="matrix-free"`` (the default from
``d >= 4096``) the ``d x d`` statistic is never formed: it is applied to blocks
of vectors through products with the data and its top eigenpairs are found by
block Krylov iteration (:mod:`spikedcl.eigensolvers`).

The public functions validate their arguments once (:mod:`spikedcl.options`);
what they call receives checked arrays and frozen options.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from ._array_api import get_namespace
from ._linalg import diag_part, offdiag, sym
from ._typing import Array, RNGLike
from ._validation import check_choice, check_data, check_int, check_positive, check_rank
from .augment import MaskLaw
from .eigensolvers import EIGENSOLVERS, EigensolverChoice, SymmetricOperator, choose_eigensolver, top_eigenpairs
from .exceptions import RankDeficientWarning
from .forms import CL_LOSSES, BatchForm, get_form
from .objectives import autoencoder_loss
from .options import (
    CL_MASKS,
    GD_OPTIONS,
    MINIBATCH_OPTIONS,
    ContrastiveOptions,
    MasksChoice,
    check_bool,
    check_fit_data,
    contrastive_options,
    solver_options,
)
from .random import check_rng
from .results import FitResult
from .stats import check_statistic, data_statistics, operator_statistics, view_statistics
from .training import train_autoencoder, train_contrastive, train_contrastive_minibatch, train_pca

__all__ = [
    "CL_LOSSES",
    "CL_MASKS",
    "second_moment",
    "contrastive_matrix",
    "expected_contrastive_matrix",
    "fit_contrastive",
    "fit_pca",
    "fit_autoencoder",
    "fit_gan",
    "fit_heteropca",
    "contrastive_fit_from_matrix",
    "principal_fit_from_moment",
    "heteropca_fit_from_moment",
    "contrastive_operator",
    "second_moment_operator",
    "replicates_per_batch",
    "data_contrastive_matrix",
    "solve_contrastive",
]

SOLVERS = ("closed_form", "gd")
CL_SOLVERS = SOLVERS + ("sgd", "adam")
PRINCIPAL_METHODS = ("pca", "autoencoder", "gan")
#: ``solver=`` choices: of the principal fits, and of :func:`fit_contrastive`.
PrincipalSolver = Literal["closed_form", "gd"]
ContrastiveSolver = Literal["closed_form", "gd", "sgd", "adam"]


def second_moment(X: Array, *, center: bool = False, batched: bool = False) -> Array:
    """Second-moment matrix :math:`\\hat\\Sigma_0 = X^\\top X / n` (or the centred covariance).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data.
    center : bool, default=False
        Subtract the column means first (divisor stays ``n``).
    batched : bool, default=False
        ``X`` has a leading replicate axis, shape (n_replicates, n_samples, n_features);
        the result then has shape (n_replicates, n_features, n_features).

    Returns
    -------
    array of shape (n_features, n_features)
        The symmetric second-moment matrix.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> X = model.sample(2000, rng=1)
    >>> S = sc.second_moment(X)
    >>> S.shape, bool(np.allclose(S, X.T @ X / 2000))
    ((60, 60), True)
    """
    check_bool(center, "center")
    _, X = check_fit_data(X, finite=center, batched=batched)
    return _moment_of(X, center)


def _moment_of(X, center):
    """:math:`\\hat\\Sigma_0` of checked data, the statistic checked for overflow."""
    xp = get_namespace(X)
    if center:
        X = X - xp.mean(X, axis=-2, keepdims=True)
    stats = data_statistics(X, {"gram"})
    check_statistic(xp.linalg.diagonal(stats.gram), X)
    return stats.second_moment()


def contrastive_matrix(X1: Array, X2: Array, *, loss: str | BatchForm = "cross-view", batched: bool = False) -> Array:
    """Realized contrastive matrix :math:`M = S_{pos} - S_{neg}` from two views (docs/model.md §3).

    With :math:`f(x) = Wx`, the batch losses equal
    :math:`-\\operatorname{tr}(W M W^\\top) + \\frac{\\lambda}{2}\\|WW^\\top\\|_F^2`.

    Parameters
    ----------
    X1 : array of shape (n_samples, n_features)
        First views, one per sample.
    X2 : array of shape (n_samples, n_features)
        Second views of the same samples.
    loss : {"cross-view", "simclr"}, default="cross-view"
        ``"cross-view"`` (L-a): anchor view 1 against view 2 of the other
        samples, :math:`S_{neg} = \\operatorname{sym}(s_1 s_2^\\top - X_1^\\top X_2)/(n(n-1))`.
        ``"simclr"`` (L-b): 2n anchors, negatives are both views of the other
        samples with weight :math:`1/(2n-2)`, so :math:`S_{neg} = N/4` with
        :math:`N = (s s^\\top - X^\\top X)/(n(n-1))`, :math:`X = X_1 + X_2`.
    batched : bool, default=False
        The views have a leading replicate axis (n_replicates, n_samples, n_features).

    Returns
    -------
    array of shape (n_features, n_features)
        The symmetric matrix ``M``, with :math:`S_{pos} = \\operatorname{sym}(X_1^\\top X_2)/n`.

    Notes
    -----
    Cost: one (cross-view) or two (SimCLR) ``d x n x d`` products; the pair
    sums use the column-sum identity
    :math:`\\sum_{i \\ne j} a_i b_j^\\top = (\\sum a_i)(\\sum b_j)^\\top - \\sum a_i b_i^\\top`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> X = model.sample(2000, rng=1)
    >>> X1, X2 = sc.random_mask(X, 0.5, rng=2)
    >>> M = sc.contrastive_matrix(X1, X2)
    >>> M.shape, bool(np.allclose(M, M.T))
    ((60, 60), True)
    >>> fit = sc.fit_contrastive(X, 2, rng=2)  # draws the same masks from the same rng
    >>> round(float(sc.sin_theta(fit.basis, sc.closed_form.contrastive_fit_from_matrix(M, 2).basis)), 6)
    0.0
    """
    _, X1 = check_fit_data(X1, "X1", batched=batched)
    _, X2 = check_fit_data(X2, "X2", batched=batched)
    if X1.shape != X2.shape:
        raise ValueError(f"X1 and X2 must have the same shape, got {X1.shape} and {X2.shape}")
    form = get_form(loss)
    return view_statistics(X1, X2, form.needs).form_matrix(form, X=X1, name="X1")


def expected_contrastive_matrix(
    X: Array, p: float = 0.5, *, loss: str | BatchForm = "cross-view", batched: bool = False
) -> Array:
    """Mask-averaged contrastive matrix :math:`\\bar M = \\mathbb{E}_A[M]` (docs/model.md §3).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data (unmasked).
    p : float, default=0.5
        Probability of a coordinate entering view 1 (iid per-sample masks).
    loss : {"cross-view", "simclr"}, default="cross-view"
        Batch form, as in :func:`contrastive_matrix`.
    batched : bool, default=False
        ``X`` has a leading replicate axis (n_replicates, n_samples, n_features).

    Returns
    -------
    array of shape (n_features, n_features)
        ``"cross-view"``: :math:`p(1-p)[\\Delta(\\hat\\Sigma_0) - N]`;
        ``"simclr"``: :math:`p(1-p)\\Delta(\\hat\\Sigma_0) - N/4`, with
        :math:`N = (s s^\\top - X^\\top X)/(n(n-1))`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> X = model.sample(2000, rng=1)
    >>> M = sc.expected_contrastive_matrix(X, p=0.5)
    >>> n, s = X.shape[0], X.sum(axis=0)
    >>> S0 = X.T @ X / n
    >>> N = (np.outer(s, s) - X.T @ X) / (n * (n - 1))  # negative pairs
    >>> bool(np.allclose(M, 0.25 * (S0 - np.diag(np.diag(S0)) - N)))  # p(1-p)[Delta(S0) - N]
    True
    """
    _, X = check_fit_data(X, finite=False, batched=batched)
    opts = contrastive_options(p, 1.0, "expected", loss)
    return data_contrastive_matrix(X, opts, None)


def data_contrastive_matrix(X: Array, options: ContrastiveOptions, rng: np.random.Generator | None) -> Array:
    """The formed ``M`` of checked data ``X`` (n, d) or a stack (R, n, d), for validated ``options``.

    Parameters
    ----------
    X : array of shape (n, d) or (R, n, d)
        Checked data (finiteness is detected in the statistic).
    options : ContrastiveOptions
        Validated options (:func:`spikedcl.options.contrastive_options`).
    rng : numpy.random.Generator or None
        Mask generator (realized masks).

    Returns
    -------
    array of shape (d, d) or (R, d, d)
        Mask-averaged with ``options.masks="expected"``, else realized from masks drawn with ``rng``.
    """
    form = options.form
    if options.masks == "expected":
        stats = data_statistics(X, {"gram", "total"})
    else:
        stats = data_statistics(X, form.needs, law=options.law, p=options.p, rng=rng)
    return stats.form_matrix(form, options.pair_moment, X)


def fit_contrastive(
    X: Array,
    r: int,
    *,
    p: float = 0.5,
    lam: float = 1.0,
    masks: MasksChoice = "realized",
    loss: str | BatchForm = "cross-view",
    mask_mode: str | MaskLaw = "per-sample",
    rng: RNGLike = None,
    solver: ContrastiveSolver = "closed_form",
    solver_options: Mapping[str, Any] | None = None,
    eigensolver: EigensolverChoice = "auto",
    batched: bool = False,
) -> FitResult:
    """Linear contrastive learning with random-masking views (docs/model.md §3), in closed form or by GD.

    Minimises

    .. math::

        \\mathcal L(W) = -\\operatorname{tr}(W M W^\\top) + \\frac{\\lambda}{2}\\|W W^\\top\\|_F^2,

    whose minimisers are :math:`W = Q\\,\\operatorname{diag}(\\sqrt{(\\mu_k)_+/\\lambda})V_r^\\top`,
    :math:`Q \\in O(r)`, with :math:`(\\mu_k, v_k)` the top eigenpairs of ``M``, and
    :math:`\\mathcal L^\\star = -\\sum_{k \\le r} (\\mu_k)_+^2/(2\\lambda)`.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data, ``n_samples >= 2`` (shape (n_replicates, n_samples, n_features)
        with ``batched=True``).
    r : int
        Representation dimension, ``1 <= r < n_features``.
    p : float, default=0.5
        Masking probability in ``(0, 1)``.
    lam : float, default=1.0
        Regularisation :math:`\\lambda > 0`; it scales ``W`` and never changes the subspace.
    masks : {"realized", "expected"}, default="realized"
        ``"realized"``: draw masks (with ``rng``) and use the batch matrix of
        :func:`contrastive_matrix`; ``"expected"``: the mask-averaged
        :math:`\\bar M` of :func:`expected_contrastive_matrix` (per-sample masks only).
    loss : {"cross-view", "simclr"}, default="cross-view"
        Batch form (L-a) or (L-b).
    mask_mode : {"per-sample", "fixed", "fixed-bernoulli", "exact-count"}, default="per-sample"
        Mask law for ``masks="realized"``; see :func:`spikedcl.draw_mask`.
    rng : None, int or numpy.random.Generator, optional
        Random generator for the masks, then for the GD initialisation.
    solver : {"closed_form", "gd", "sgd", "adam"}, default="closed_form"
        ``"gd"`` runs :func:`spikedcl.training.train_contrastive` on the same ``M``
        and lands on the closed form; ``"sgd"`` and ``"adam"`` train on minibatches
        with fresh masks at every step
        (:func:`spikedcl.training.train_contrastive_minibatch`) and approach the
        closed form on :math:`\\bar M`.
    solver_options : dict, optional
        Options of the solver (:data:`spikedcl.training.GD_OPTIONS`,
        :data:`spikedcl.training.MINIBATCH_OPTIONS`).
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        ``"dense"``: form ``M`` and take its full ``eigh``; ``"matrix-free"``:
        never form ``M`` (memory :math:`O(nd)`), apply it through products with
        the data and solve by block Krylov iteration
        (:func:`spikedcl.eigensolvers.top_eigenpairs`); ``"auto"``: matrix-free
        from ``d >= 4096``, else form ``M`` and let
        :func:`~spikedcl.eigensolvers.top_eigenpairs` choose.
    batched : bool, default=False
        ``X`` has a leading replicate axis, shape (n_replicates, n_samples, n_features):
        every replicate is fitted at once with batched products and ``eigh``
        (closed form only); replicate ``i`` gets the masks a loop calling
        ``fit_contrastive(X[i], ..., rng=rng)`` in turn would draw.

    Returns
    -------
    FitResult
        ``method`` is ``"contrastive"`` for realized masks and ``"contrastive-expected"``
        for ``masks="expected"``; ``W`` of shape (r, d), ``basis`` = :math:`V_r` of shape (d, r),
        ``eigenvalues`` = :math:`\\mu_1 \\ge \\dots \\ge \\mu_r`, ``loss`` = :math:`\\mathcal L^\\star`
        (with a leading replicate axis on each for stacked ``X``).
        Warns with :class:`RankDeficientWarning` when :math:`\\mu_r \\le 0`
        (then ``W`` has rank < r; ``basis`` is still :math:`V_r`).

    Examples
    --------
    Under heteroskedastic noise contrastive learning recovers :math:`U^\\star` better than PCA:

    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> X = model.sample(2000, rng=1)
    >>> cl = sc.fit_contrastive(X, 2, p=0.5, rng=2)
    >>> cl.method, cl.W.shape
    ('contrastive', (2, 60))
    >>> round(float(sc.sin_theta(model.U, cl.basis)), 3), round(float(sc.sin_theta(model.U, sc.fit_pca(X, 2).basis)), 3)
    (0.302, 0.619)

    Gradient descent on the mask-averaged matrix lands on the closed form:

    >>> exact = sc.fit_contrastive(X, 2, masks="expected")
    >>> gd = sc.fit_contrastive(X, 2, masks="expected", solver="gd", rng=3)
    >>> exact.method, gd.solver, gd.converged
    ('contrastive-expected', 'gd', True)
    >>> round(float(sc.sin_theta(exact.basis, gd.basis)), 6), bool(abs(gd.loss - exact.loss) < 1e-9)
    (0.0, True)
    """
    check_choice(solver, "solver", CL_SOLVERS)
    # the closed forms detect non-finite data in the statistics they compute anyway
    xp, X = check_fit_data(X, finite=solver != "closed_form", batched=batched)
    r = check_rank(r, X.shape[-1])
    opts = contrastive_options(p, lam, masks, loss, mask_mode, d=X.shape[-1])
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    rng = check_rng(rng)
    _check_batched_solver(batched, solver)
    info = opts.info()
    if solver in ("sgd", "adam"):
        if opts.masks != "realized":
            raise ValueError(f"solver={solver!r} draws fresh masks at every step: use masks='realized'")
        fit = train_contrastive_minibatch(
            X, r, p=opts.p, lam=opts.lam, loss=opts.form, mask_mode=opts.law, method=solver, rng=rng,
            solver_options=_options(solver_options, "minibatch"),
        )
        fit.info.update(info)
        return fit
    gd_options = _options(solver_options, "gd") if solver == "gd" else None
    method = "dense" if solver == "gd" else choose_eigensolver(eigensolver, X.shape[-1], r, formed=False)
    if method == "matrix-free":
        realized = opts.masks == "realized"
        stats = operator_statistics(X, law=opts.law if realized else None, p=opts.p, rng=rng)
        mu, V = top_eigenpairs(stats.operator(opts.form, opts.pair_moment), r, eigensolver="matrix-free")
        return _contrastive_result(xp, mu, V, r, opts.lam, dict(info, eigensolver="matrix-free"))
    M = data_contrastive_matrix(X, opts, rng)
    if solver == "gd":
        fit = train_contrastive(M, r, lam=opts.lam, rng=rng, solver_options=gd_options)
        fit.info.update(info)
        return replace(fit, method=_contrastive_label(opts.masks))
    return solve_contrastive(M, r, lam=opts.lam, info=info, eigensolver="dense" if eigensolver == "dense" else "auto")


def _options(options, kind):
    """``solver_options`` checked for the GD (``kind="gd"``) or minibatch solvers."""
    return solver_options(options, GD_OPTIONS if kind == "gd" else MINIBATCH_OPTIONS)


def replicates_per_batch(n_replicates: int, n: int, d: int, *, memory_limit: int = 2**30, itemsize: int = 8) -> int:
    """How many replicates to stack on a leading axis within a memory budget.

    A batched realized-mask fit holds, per replicate, the data and its two views
    plus a float copy of the mask (four ``n x d`` arrays) and a few ``d x d``
    statistics; the sweep stacks this many replicates and loops over the batches.

    Parameters
    ----------
    n_replicates : int
        Replicates wanted, ``>= 1``.
    n : int
        Samples per replicate, ``>= 2``.
    d : int
        Dimension, ``>= 2``.
    memory_limit : int, default=1073741824
        Budget in bytes (1 GiB).
    itemsize : int, default=8
        Bytes per entry (8 for float64, 4 for float32).

    Returns
    -------
    int
        Batch size in ``[1, n_replicates]`` (1 when a single replicate exceeds the budget).

    Examples
    --------
    >>> import spikedcl as sc
    >>> sc.replicates_per_batch(100, 1000, 200)  # all fit in 1 GiB
    100
    >>> sc.replicates_per_batch(100, 10**6, 1000)  # one replicate alone exceeds it
    1
    """
    n_replicates = check_int(n_replicates, "n_replicates", low=1)
    n = check_int(n, "n", low=2)
    d = check_int(d, "d", low=2)
    memory_limit = check_int(memory_limit, "memory_limit", low=1)
    itemsize = check_int(itemsize, "itemsize", low=1)
    per_replicate = (4 * n * d + 4 * d * d) * itemsize
    return max(1, min(n_replicates, memory_limit // per_replicate))


def contrastive_operator(
    X: Array,
    *,
    p: float = 0.5,
    loss: str | BatchForm = "cross-view",
    masks: MasksChoice = "expected",
    Y: Array | None = None,
    batched: bool = False,
) -> SymmetricOperator:
    """The contrastive matrix as a matrix-free operator: ``M @ V`` without forming ``M``.

    For the mask-averaged cross-view matrix

    .. math::

        \\bar M V = p(1-p)\\Big[\\frac{X^\\top (X V)}{n-1} - D(\\hat\\Sigma_0) V
        - \\frac{s\\,(s^\\top V)}{n(n-1)}\\Big], \\qquad s = X^\\top 1,

    and for realized masks
    :math:`\\operatorname{sym}(X_1^\\top X_2) = (X^\\top X - Y^\\top Y)/4` with
    :math:`Y = X_1 - X_2`. Each application costs four (expected: two) products
    of shape ``n x d x b``; memory stays :math:`O(nd)`.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data (shape (n_replicates, n_samples, n_features) with ``batched=True``).
    p : float, default=0.5
        Masking probability in ``(0, 1)`` (used by ``masks="expected"``).
    loss : {"cross-view", "simclr"}, default="cross-view"
        Batch form (docs/model.md §3).
    masks : {"expected", "realized"}, default="expected"
        Mask-averaged :math:`\\bar M` or the realized ``M`` of the views ``Y`` describes.
    Y : array of the shape of ``X``, optional
        ``X1 - X2`` of the realized views (required with ``masks="realized"``).
    batched : bool, default=False
        ``X`` has a leading replicate axis.

    Returns
    -------
    SymmetricOperator
        ``op.matmat(V)`` equals ``M @ V`` for ``V`` of shape (..., d, b).

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> X = model.sample(2000, rng=1)
    >>> op = sc.contrastive_operator(X, p=0.5)
    >>> V = np.random.default_rng(5).standard_normal((60, 3))
    >>> op.d, bool(np.allclose(op.matmat(V), sc.expected_contrastive_matrix(X, 0.5) @ V))
    (60, True)
    """
    _, X = check_fit_data(X, batched=batched)
    opts = contrastive_options(p, 1.0, masks, loss)
    if opts.masks == "expected":
        return operator_statistics(X).operator(opts.form, opts.pair_moment)
    if Y is None or tuple(Y.shape) != tuple(X.shape):
        raise ValueError("masks='realized' needs Y = X1 - X2 of the same shape as X")
    return operator_statistics(X, signed=Y).operator(opts.form)


def second_moment_operator(X: Array, *, center: bool = False, batched: bool = False) -> SymmetricOperator:
    """:math:`\\hat\\Sigma_0 = X^\\top X/n` (or the centred covariance) as a matrix-free operator.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data (shape (n_replicates, n_samples, n_features) with ``batched=True``).
    center : bool, default=False
        Subtract the column means :math:`\\bar x`: :math:`X^\\top X/n - \\bar x \\bar x^\\top`.
    batched : bool, default=False
        ``X`` has a leading replicate axis.

    Returns
    -------
    SymmetricOperator
        ``op.matmat(V) = X^T (X V)/n`` for ``V`` of shape (..., d, b).

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> X = model.sample(2000, rng=1)
    >>> op = sc.second_moment_operator(X)
    >>> V = np.random.default_rng(5).standard_normal((60, 3))
    >>> bool(np.allclose(op.matmat(V), sc.second_moment(X) @ V))
    True
    """
    check_bool(center, "center")
    _, X = check_fit_data(X, batched=batched)
    return operator_statistics(X).moment_operator(center)


def contrastive_fit_from_matrix(
    M: Array, r: int, *, lam: float = 1.0, info: dict[str, Any] | None = None, eigensolver: EigensolverChoice = "auto"
) -> FitResult:
    """Minimise :math:`-\\operatorname{tr}(WMW^\\top) + \\frac{\\lambda}{2}\\|WW^\\top\\|_F^2` for a given ``M``.

    Parameters
    ----------
    M : array of shape (d, d) or (n_replicates, d, d)
        Contrastive matrix (or a stack); only its symmetric part is used.
    r : int
        Representation dimension, ``1 <= r < d``.
    lam : float, default=1.0
        Regularisation :math:`\\lambda > 0`.
    info : dict, optional
        Extras stored in the result.
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        How to find the top-``r`` eigenpairs (:func:`spikedcl.eigensolvers.top_eigenpairs`).

    Returns
    -------
    FitResult
        As :func:`fit_contrastive`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> fit = sc.closed_form.contrastive_fit_from_matrix(np.diag([4.0, 1.0, 0.5, 0.0]), 2, lam=2.0)
    >>> fit.eigenvalues, float(fit.loss)  # loss = -(4^2 + 1^2) / (2 lam)
    (array([4., 1.]), -4.25)
    >>> np.round(fit.W, 3)  # sqrt(mu / lam) on the top eigenvectors
    array([[1.414, 0.   , 0.   , 0.   ],
           [0.   , 0.707, 0.   , 0.   ]])
    """
    M = _check_square(M, "M")
    r = check_rank(r, M.shape[-1])
    lam = check_positive(lam, "lam")
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    return solve_contrastive(M, r, lam=lam, info=info, eigensolver=eigensolver)


def solve_contrastive(
    M: Array, r: int, *, lam: float, info: dict[str, Any] | None = None, eigensolver: EigensolverChoice = "auto"
) -> FitResult:
    """The closed-form minimiser for a checked, finite ``M`` and validated ``r``, ``lam``, ``eigensolver``.

    Parameters
    ----------
    M : array of shape (d, d) or (n_replicates, d, d)
        Contrastive matrix (only its symmetric part is used).
    r : int
        Representation dimension, ``1 <= r < d``.
    lam : float
        Regularisation :math:`\\lambda > 0`.
    info : dict, optional
        Extras stored in the result.
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        How to find the top-``r`` eigenpairs.

    Returns
    -------
    FitResult
        As :func:`fit_contrastive`.
    """
    xp = get_namespace(M)
    mu, V = top_eigenpairs(sym(M), r, eigensolver=eigensolver)
    return _contrastive_result(xp, mu, V, r, lam, info)


def _contrastive_result(xp, mu, V, r, lam, info):
    mu_pos = xp.clip(mu, min=0.0)
    if not bool(xp.all(mu[..., -1] > 0)):
        warnings.warn(
            f"the contrastive matrix has fewer than r={r} positive eigenvalues "
            f"(mu_r = {float(xp.min(mu[..., -1])):.3g}); W has rank < r",
            RankDeficientWarning,
            stacklevel=3,
        )
    W = xp.sqrt(mu_pos / lam)[..., :, None] * V.mT
    loss_value = -xp.sum(mu_pos**2, axis=-1) / (2 * lam)
    info = dict(info or {}, lam=lam)
    return FitResult(_contrastive_label(info.get("masks")), W, V, mu, loss_value, info=info)


def _contrastive_label(masks):
    """``"contrastive-expected"`` for the mask-averaged matrix, else ``"contrastive"`` (realized masks, a given M)."""
    return "contrastive-expected" if masks == "expected" else "contrastive"


def _principal(S, r, eigensolver="auto", eigenpairs=None):
    xp = get_namespace(S)
    sig, V = top_eigenpairs(S, r, eigensolver=eigensolver) if eigenpairs is None else eigenpairs
    tail = xp.linalg.trace(S) - xp.sum(sig, axis=-1)
    return xp, xp.clip(sig, min=0.0), V, tail


def _moment(X, r, center, batched=False):
    _, X = check_fit_data(X, finite=center, batched=batched)
    r = check_rank(r, X.shape[-1])
    return _moment_of(X, center), r


def _check_square(M, name):
    """Validate a square matrix (or a stack of them) and return its symmetric part."""
    ndim = 3 if getattr(M, "ndim", None) == 3 else 2
    _, M = check_data(M, name, ndim=ndim, min_rows=1)
    if M.shape[-2] != M.shape[-1]:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {tuple(M.shape)}")
    return sym(M)


def _principal_fit(X, r, method, center, eigensolver, batched, lam=0.0):
    """PCA / AE / GAN from data, dense or matrix-free."""
    check_bool(center, "center")
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    shape = getattr(X, "shape", None) or (0,)
    if method != "autoencoder" and choose_eigensolver(eigensolver, shape[-1], 1, formed=False) == "matrix-free":
        xp, X = check_fit_data(X, batched=batched)
        r = check_rank(r, X.shape[-1])
        stats = operator_statistics(X)
        sig, V = top_eigenpairs(stats.moment_operator(center), r, eigensolver="matrix-free")
        n = X.shape[-2]
        trace = xp.sum(stats.column_squares, axis=-1) / n
        if center:
            trace = trace - xp.sum(xp.mean(X, axis=-2) ** 2, axis=-1)
        return _principal_result(xp, method, xp.clip(sig, min=0.0), V, trace - xp.sum(sig, axis=-1), None,
                                 lam, {"center": center, "eigensolver": "matrix-free"})
    S, r = _moment(X, r, center, batched)
    return _principal_from_moment(S, r, method, lam, {"center": center}, "dense" if eigensolver == "dense" else "auto")


def fit_pca(
    X: Array,
    r: int,
    *,
    center: bool = False,
    solver: PrincipalSolver = "closed_form",
    solver_options: Mapping[str, Any] | None = None,
    rng: RNGLike = None,
    eigensolver: EigensolverChoice = "auto",
    batched: bool = False,
) -> FitResult:
    """Principal component analysis: top-``r`` eigenvectors of the second moment (docs/model.md §4).

    .. math::

        \\min_{V^\\top V = I_r} \\frac1n \\|X - X V V^\\top\\|_F^2

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data (shape (n_replicates, n_samples, n_features) with ``batched=True``).
    r : int
        Number of components, ``1 <= r < n_features``.
    center : bool, default=False
        Centre the columns first. The theory (and the default) uses the
        uncentred :math:`\\hat\\Sigma_0`; centring changes it by O(1/n).
    solver : {"closed_form", "gd"}, default="closed_form"
        ``"gd"`` minimises the Grassmann objective with
        :func:`spikedcl.training.train_pca`.
    solver_options : dict, optional
        Options of the gradient-descent solver (:data:`spikedcl.training.GD_OPTIONS`).
    rng : None, int or numpy.random.Generator, optional
        Draws the GD initialisation.
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        As in :func:`fit_contrastive`: ``"matrix-free"`` never forms
        :math:`\\hat\\Sigma_0` (``S V = X^T (X V)/n``); ``"auto"`` does so from ``d >= 4096``.
    batched : bool, default=False
        ``X`` has a leading replicate axis (n_replicates, n_samples, n_features);
        every result field gains that axis (closed form only).

    Returns
    -------
    FitResult
        ``W = V_r^T`` (orthonormal rows), ``eigenvalues`` the top-``r`` eigenvalues
        of :math:`\\hat\\Sigma_0`, ``loss`` the reconstruction error
        :math:`\\operatorname{tr}\\hat\\Sigma_0 - \\sum_{k \\le r}\\sigma_k`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> X = model.sample(2000, rng=1)
    >>> fit = sc.fit_pca(X, 2)
    >>> fit.method, bool(np.allclose(fit.W @ fit.W.T, np.eye(2)))  # orthonormal rows
    ('pca', True)
    >>> round(float(sc.sin_theta(model.U, fit.basis)), 3)  # biased by the heteroskedastic noise
    0.619
    >>> gd = sc.fit_pca(X, 2, solver="gd", rng=4)
    >>> round(float(sc.sin_theta(fit.basis, gd.basis)), 6)  # the Grassmann GD finds the same subspace
    0.0
    """
    check_choice(solver, "solver", SOLVERS)
    check_bool(center, "center")
    _check_batched_solver(batched, solver)
    if solver == "gd":
        options = _options(solver_options, "gd")
        S, r = _moment(X, r, center)
        fit = train_pca(S, r, rng=rng, solver_options=options)
        fit.info["center"] = center
        return fit
    return _principal_fit(X, r, "pca", center, eigensolver, batched)


def fit_autoencoder(
    X: Array,
    r: int,
    *,
    lam: float = 0.0,
    center: bool = False,
    solver: PrincipalSolver = "closed_form",
    solver_options: Mapping[str, Any] | None = None,
    rng: RNGLike = None,
    eigensolver: EigensolverChoice = "auto",
    batched: bool = False,
) -> FitResult:
    """Two-factor linear autoencoder in closed form (docs/model.md §4).

    .. math::

        \\min_{W_E \\in \\mathbb R^{r\\times d},\\, W_D \\in \\mathbb R^{d \\times r}}
        \\frac1n \\|X - X W_E^\\top W_D^\\top\\|_F^2 + \\lambda(\\|W_E\\|_F^2 + \\|W_D\\|_F^2)

    Minimisers (Baldi & Hornik 1989; Kunin et al. 2019 for :math:`\\lambda > 0`):
    :math:`W_E = \\operatorname{diag}(\\sqrt{(1 - \\lambda/\\sigma_k)_+})V_r^\\top`,
    :math:`W_D = W_E^\\top`, with :math:`(\\sigma_k, v_k)` the top eigenpairs of
    :math:`\\hat\\Sigma_0`; the loss is
    :math:`\\operatorname{tr}\\hat\\Sigma_0 - \\sum_{\\sigma_k > \\lambda}(\\sigma_k - \\lambda)^2/\\sigma_k`.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data (shape (n_replicates, n_samples, n_features) with ``batched=True``).
    r : int
        Bottleneck width, ``1 <= r < n_features``.
    lam : float, default=0.0
        Penalty on both factors (never the encoder alone: then no minimiser exists).
    center : bool, default=False
        Centre the columns first.
    solver : {"closed_form", "gd"}, default="closed_form"
        ``"gd"`` trains both factors with :func:`spikedcl.training.train_autoencoder`.
    solver_options : dict, optional
        Options of the gradient-descent solver (:data:`spikedcl.training.GD_OPTIONS`).
    rng : None, int or numpy.random.Generator, optional
        Draws the GD initialisation.
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        Eigensolver for the formed second moment
        (:func:`spikedcl.eigensolvers.top_eigenpairs`).
    batched : bool, default=False
        ``X`` has a leading replicate axis (n_replicates, n_samples, n_features);
        every result field gains that axis (closed form only).

    Returns
    -------
    FitResult
        ``W`` the encoder (r, d); ``info["decoder"]`` the decoder (d, r);
        ``basis`` spans the PCA subspace while :math:`\\sigma_r > \\lambda`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> X = model.sample(2000, rng=1)
    >>> fit = sc.fit_autoencoder(X, 2, lam=0.1)
    >>> fit.method, fit.W.shape, fit.info["decoder"].shape
    ('autoencoder', (2, 60), (60, 2))
    >>> round(float(sc.sin_theta(sc.fit_pca(X, 2).basis, fit.basis)), 6)  # the PCA subspace
    0.0
    """
    lam = check_positive(lam, "lam", allow_zero=True)
    check_choice(solver, "solver", SOLVERS)
    check_bool(center, "center")
    _check_batched_solver(batched, solver)
    if solver == "gd":
        options = _options(solver_options, "gd")
        S, r = _moment(X, r, center)
        fit = train_autoencoder(S, r, lam=lam, rng=rng, solver_options=options)
        fit.info["center"] = center
        return fit
    return _principal_fit(X, r, "autoencoder", center, eigensolver, batched, lam=lam)


def fit_gan(
    X: Array, r: int, *, center: bool = False, eigensolver: EigensolverChoice = "auto", batched: bool = False
) -> FitResult:
    """Linear GAN in the LQG setting: the optimal generator spans the PCA subspace (docs/model.md §4).

    With a linear generator :math:`G z`, :math:`z \\sim N(0, I_r)`, and a quadratic
    discriminator, the GAN minimises the 2-Wasserstein distance

    .. math::

        \\min_{G \\in \\mathbb R^{d \\times r}} W_2^2\\big(N(0, \\hat\\Sigma_0), N(0, G G^\\top)\\big),

    attained at :math:`G = V_r \\operatorname{diag}(\\sqrt{\\sigma_k})` with value
    :math:`\\sum_{k > r} \\sigma_k` (Feizi, Farnia, Ginart & Tse). This is a
    reconstruction of the paper's GAN baseline (no adversarial trainer):
    :math:`U_{GAN} = U_{PCA}`.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data (shape (n_replicates, n_samples, n_features) with ``batched=True``).
    r : int
        Latent dimension, ``1 <= r < n_features``.
    center : bool, default=False
        Centre the columns first.
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        As in :func:`fit_pca`.
    batched : bool, default=False
        ``X`` has a leading replicate axis (n_replicates, n_samples, n_features);
        every result field gains that axis (closed form only).

    Returns
    -------
    FitResult
        ``W = G^T`` of shape (r, d); ``loss`` the optimal :math:`W_2^2`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> X = model.sample(2000, rng=1)
    >>> fit = sc.fit_gan(X, 2)
    >>> bool(np.allclose(fit.W @ fit.W.T, np.diag(fit.eigenvalues)))  # G = V_r diag(sqrt(sigma))
    True
    >>> tail = np.linalg.eigvalsh(sc.second_moment(X))[:-2].sum()
    >>> round(float(fit.loss), 3), round(float(tail), 3)  # the optimal W_2^2 is the spectrum's tail
    (32.283, 32.283)
    """
    return _principal_fit(X, r, "gan", center, eigensolver, batched)


def _check_batched_solver(batched, solver):
    check_bool(batched, "batched")
    if batched and solver != "closed_form":
        raise ValueError(f"batched=True (X of shape (R, n, d)) needs solver='closed_form', got {solver!r}")


def principal_fit_from_moment(
    S: Array,
    r: int,
    method: Literal["pca", "autoencoder", "gan"] = "pca",
    *,
    lam: float = 0.0,
    info: dict[str, Any] | None = None,
    eigensolver: EigensolverChoice = "auto",
    eigenpairs: tuple[Array, Array] | None = None,
) -> FitResult:
    """PCA, linear autoencoder or linear GAN fitted to a given second-moment matrix.

    Parameters
    ----------
    S : array of shape (d, d) or (n_replicates, d, d)
        Symmetric positive semi-definite second moment (or a stack).
    r : int
        Dimension, ``1 <= r < d``.
    method : {"pca", "autoencoder", "gan"}, default="pca"
        Which minimiser to return (see :func:`fit_pca`, :func:`fit_autoencoder`,
        :func:`fit_gan`); all span the top-``r`` eigenvectors of ``S``.
    lam : float, default=0.0
        Autoencoder penalty on both factors.
    info : dict, optional
        Extras stored in the result.
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        How to find the top-``r`` eigenpairs (:func:`spikedcl.eigensolvers.top_eigenpairs`).
    eigenpairs : tuple of arrays, optional
        ``(values, vectors)``, the top-``r`` eigenpairs of ``S`` as
        :func:`~spikedcl.eigensolvers.top_eigenpairs` returns them (shapes (r,)
        and (d, r)), when already known: PCA, the autoencoder and the GAN of one
        moment then share one decomposition (``eigensolver`` is unused).

    Returns
    -------
    FitResult
        The fitted representation.
    """
    check_choice(method, "method", PRINCIPAL_METHODS)
    S = _check_square(S, "S")
    r = check_rank(r, S.shape[-1])
    lam = check_positive(lam, "lam", allow_zero=True)
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    if eigenpairs is not None:
        sig, V = eigenpairs
        if tuple(V.shape) != (*S.shape[:-1], r) or tuple(sig.shape) != (*S.shape[:-2], r):
            raise ValueError(f"eigenpairs must have shapes {(*S.shape[:-2], r)} and {(*S.shape[:-1], r)} "
                             f"for S of shape {tuple(S.shape)} and r={r}, got {tuple(sig.shape)} and {tuple(V.shape)}")
    return _principal_from_moment(S, r, method, lam, info, eigensolver, eigenpairs)


def _principal_from_moment(S, r, method, lam, info, eigensolver, eigenpairs=None):
    xp, sig, V, tail = _principal(S, r, eigensolver, eigenpairs)
    return _principal_result(xp, method, sig, V, tail, S, lam, dict(info or {}))


def _principal_result(xp, method, sig, V, tail, S, lam, info):
    if method == "pca":
        return FitResult("pca", V.mT, V, sig, tail, info=info)
    if method == "gan":
        return FitResult("gan", xp.sqrt(sig)[..., :, None] * V.mT, V, sig, tail, info=info)
    scale = xp.sqrt(xp.clip(1 - lam / sig, min=0.0)) if lam > 0 else xp.ones_like(sig)
    if not bool(xp.all(scale[..., -1] > 0)):
        warnings.warn(
            f"lam={lam} exceeds the r-th eigenvalue of the second moment; the encoder has rank < r",
            RankDeficientWarning,
            stacklevel=3,
        )
    W_enc = scale[..., :, None] * V.mT
    W_dec = W_enc.mT
    info.update(decoder=W_dec, lam=lam)
    if S is not None and S.ndim == 2:
        loss = autoencoder_loss(W_enc, W_dec, S, lam)
    else:  # stacks: tr S - sum_{sigma > lam} (sigma - lam)^2 / sigma (the same value in closed form)
        gain = xp.where(sig > lam, (sig - lam) ** 2 / xp.where(sig > 0, sig, xp.ones_like(sig)), xp.zeros_like(sig))
        loss = (tail + xp.sum(sig, axis=-1)) - xp.sum(gain, axis=-1)
    return FitResult("autoencoder", W_enc, V, sig, loss, info=info)


def fit_heteropca(X: Array, r: int, *, max_iter: int = 50, tol: float = 1e-8) -> FitResult:
    """HeteroPCA (Zhang, Cai & Wu 2022) — an extra baseline, **not in the paper**.

    Starting from :math:`N_0 = \\Delta(\\hat\\Sigma_0)` (the contrastive estimator),
    iterate :math:`N_t = \\Delta(N_{t-1}) + D(\\operatorname{trunc}_r N_{t-1})`, imputing
    the deleted diagonal from the best rank-``r`` approximation, until
    :math:`\\|N_t - N_{t-1}\\|_F \\le \\mathrm{tol}\\,\\|N_{t-1}\\|_F`.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data.
    r : int
        Rank, ``1 <= r < n_features``.
    max_iter : int, default=50
        Maximum number of imputation steps.
    tol : float, default=1e-8
        Relative change at which to stop.

    Returns
    -------
    FitResult
        ``basis`` the top-``r`` singular vectors of the final ``N``; ``loss`` the
        off-diagonal residual :math:`\\|\\Delta(\\hat\\Sigma_0 - \\operatorname{trunc}_r N)\\|_F^2`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> X = model.sample(2000, rng=1)
    >>> fit = sc.fit_heteropca(X, 2)
    >>> fit.method, fit.converged
    ('heteropca', True)
    >>> round(float(sc.sin_theta(model.U, fit.basis)), 3)  # PCA: 0.619, contrastive: 0.302
    0.231
    """
    S, r = _moment(X, r, False)
    return heteropca_fit_from_moment(S, r, max_iter=max_iter, tol=tol)


def heteropca_fit_from_moment(S: Array, r: int, *, max_iter: int = 50, tol: float = 1e-8) -> FitResult:
    """HeteroPCA on a given second-moment matrix (see :func:`fit_heteropca`).

    Parameters
    ----------
    S : array of shape (d, d)
        Symmetric second moment.
    r : int
        Rank, ``1 <= r < d``.
    max_iter : int, default=50
        Maximum number of imputation steps.
    tol : float, default=1e-8
        Relative change at which to stop.

    Returns
    -------
    FitResult
        As :func:`fit_heteropca`.
    """
    S = _check_square(S, "S")
    r = check_rank(r, S.shape[0])
    xp = get_namespace(S)
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = check_positive(tol, "tol")
    target = offdiag(S)
    N = target
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (the count is reported after the loop)
        L, V, vals = _truncate(N, r)
        N_new = target + diag_part(L)
        change = float(xp.linalg.matrix_norm(N_new - N))
        N = N_new
        if change <= tol * float(xp.linalg.matrix_norm(N)):
            converged = True
            break
    L, V, vals = _truncate(N, r)
    loss = xp.sum(offdiag(S - L) ** 2)
    return FitResult(
        "heteropca", V.mT, V, vals, loss, solver="iterative", n_iter=n_iter, converged=converged
    )


def _truncate(N, r):
    """Best rank-``r`` approximation of a symmetric matrix (largest |eigenvalues|)."""
    xp = get_namespace(N)
    vals, vecs = xp.linalg.eigh(N)
    order = xp.argsort(xp.abs(vals), descending=True)[:r]
    vals = xp.take(vals, order)
    V = xp.take(vecs, order, axis=1)
    return (V * vals[None, :]) @ V.mT, V, vals
