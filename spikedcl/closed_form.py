"""Closed-form minimisers: linear contrastive learning and its baselines.

Every fit is an eigendecomposition of a ``d x d`` sufficient statistic built
from ``X`` without forming ``n x n`` or ``n x d x d`` objects:

* contrastive learning (spec §3): top eigenvectors of
  :math:`M = S_{pos} - S_{neg}`, realized from masked views or mask-averaged;
* PCA / linear autoencoder / linear GAN (spec §4): top eigenvectors of the
  second moment :math:`\\hat\\Sigma_0 = X^\\top X / n`;
* HeteroPCA (not in the paper): iterative diagonal imputation.

Replicates may share a leading axis: ``X`` of shape (R, n, d) gives stacked
statistics (R, d, d), one batched ``eigh`` and results with a leading ``R``
axis (the masks of replicate ``i`` are those a loop over ``X[i]`` with the same
``rng`` would draw). With ``eigensolver="matrix-free"`` (the default from
``d >= 4096``) the ``d x d`` statistic is never formed: it is applied to blocks
of vectors through products with the data and its top eigenpairs are found by
block Krylov iteration (:mod:`spikedcl.eigensolvers`).
"""

from __future__ import annotations

import contextlib
import math
import warnings

from ._array_api import device_of, get_namespace, is_numpy_namespace, to_namespace
from ._linalg import diag_part, offdiag, sym
from ._validation import (
    check_choice,
    check_data,
    check_int,
    check_positive,
    check_rank,
    check_unit_interval,
)
from .augment import MASK_MODES, draw_mask
from .eigensolvers import EIGENSOLVERS, SymmetricOperator, choose_eigensolver, top_eigenpairs
from .exceptions import RankDeficientWarning
from .objectives import autoencoder_loss
from .random import check_rng
from .results import FitResult
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
]

CL_LOSSES = ("cross-view", "simclr")
SOLVERS = ("closed_form", "gd")
CL_SOLVERS = SOLVERS + ("sgd", "adam")
CL_MASKS = ("realized", "expected")


def second_moment(X, *, center=False, batched=False):
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
    """
    _, X = _check_X(X, finite=center, batched=batched)
    return _second_moment(X, center)


def _check_X(X, name="X", *, finite=True, batched=False):
    """:func:`check_data` for one data set (n, d) or, with ``batched``, a stack of replicates (R, n, d).

    With ``finite=False`` the caller checks the statistic instead (a non-finite
    entry of ``X`` makes a diagonal entry of :math:`X^\\top X` non-finite),
    which saves a pass over ``X``.
    """
    if batched is not False and batched is not True:
        raise TypeError(f"batched must be True or False, got {batched!r}")
    if batched:
        xp, X = check_data(X, name, ndim=3, finite=finite)
        if X.shape[-2] < 2:
            raise ValueError(f"{name} must have at least 2 rows (samples) per replicate, got n={X.shape[-2]}")
        return xp, X
    return check_data(X, name, finite=finite)


def _check_gram(G, name="X"):
    """Raise the data check's error when the Gram matrix shows a non-finite input."""
    xp = get_namespace(G)
    if not bool(xp.all(xp.isfinite(xp.linalg.diagonal(G)))):
        raise ValueError(f"{name} contains NaN or infinite values")
    return G


def _fp_quiet(xp):
    """Silence NumPy's floating-point warnings where the caller checks finiteness itself."""
    if is_numpy_namespace(xp):
        import numpy as np

        return np.errstate(invalid="ignore", over="ignore")
    return contextlib.nullcontext()


def _gram(X):
    """:math:`X^\\top X` (stacked); NumPy's floating-point warnings on non-finite
    input are silenced because :func:`_check_gram` then raises the data error."""
    with _fp_quiet(get_namespace(X)):
        return _check_gram(X.mT @ X)


def _outer(a, b):
    """Outer products of the last axes: (..., d) x (..., d) -> (..., d, d)."""
    return a[..., :, None] * b[..., None, :]


def _second_moment(X, center=False):
    xp = get_namespace(X)
    if center:
        X = X - xp.mean(X, axis=-2, keepdims=True)
    return sym(_gram(X)) / X.shape[-2]


def _pair_mean(a, b, C, n):
    """:math:`\\operatorname{sym}(ab^\\top - C)/(n(n-1))`: for rows :math:`x_i, y_i` (n of each) with
    column sums ``a``, ``b`` and :math:`C = \\sum_i x_i y_i^\\top`, the symmetrised mean of
    :math:`x_i y_j^\\top` over the ordered pairs i != j."""
    return sym(_outer(a, b) - C) / (n * (n - 1))


def _negative_pairs(X):
    """:math:`N = (s s^\\top - X^\\top X)/(n(n-1))`, the mean over ordered pairs i != j of x_i x_j^T."""
    xp = get_namespace(X)
    n = X.shape[-2]
    G = _gram(X)
    s = xp.sum(X, axis=-2)
    return _pair_mean(s, s, G, n), G / n


def contrastive_matrix(X1, X2, *, loss="cross-view", batched=False):
    """Realized contrastive matrix :math:`M = S_{pos} - S_{neg}` from two views (spec §3).

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
    """
    _, X1 = _check_X(X1, "X1", batched=batched)
    _, X2 = _check_X(X2, "X2", batched=batched)
    if X1.shape != X2.shape:
        raise ValueError(f"X1 and X2 must have the same shape, got {X1.shape} and {X2.shape}")
    check_choice(loss, "loss", CL_LOSSES)
    return _realized_matrix(X1, X2, loss)


def _realized_matrix(X1, X2, loss):
    """``M`` from two checked views of the same samples."""
    xp = get_namespace(X1, X2)
    n = X1.shape[-2]
    with _fp_quiet(xp):
        C12 = X1.mT @ X2
    if loss == "simclr":
        return _views_matrix(C12, None, n, _negative_pairs(X1 + X2)[0])
    return _views_matrix(C12, (xp.sum(X1, axis=-2), xp.sum(X2, axis=-2)), n)


def _views_matrix(C12, sums, n, negatives=None):
    """:math:`M = \\operatorname{sym}(C_{12})/n - S_{neg}` from the view statistics
    :math:`C_{12} = \\sum_i x^{(1)}_i x^{(2)\\top}_i`: with ``sums = (s1, s2)`` the
    cross-view negatives, else ``negatives / 4`` (SimCLR, ``negatives`` the pair mean of ``X``)."""
    S_pos = sym(C12) / n
    if sums is not None:
        return S_pos - _pair_mean(*sums, C12, n)
    return S_pos - negatives / 4  # of X = X1 + X2 exactly (entries are x + 0 or 0 + x)


def expected_contrastive_matrix(X, p=0.5, *, loss="cross-view", batched=False):
    """Mask-averaged contrastive matrix :math:`\\bar M = \\mathbb{E}_A[M]` (spec §3).

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
    """
    _, X = _check_X(X, finite=False, batched=batched)
    p = check_unit_interval(p, "p")
    check_choice(loss, "loss", CL_LOSSES)
    return _expected_matrix(X, p, loss)


def _expected_matrix(X, p, loss):
    N, S0 = _negative_pairs(X)
    q = p * (1 - p)
    if loss == "cross-view":
        return q * (offdiag(sym(S0)) - N)
    return q * offdiag(sym(S0)) - N / 4


def fit_contrastive(
    X,
    r,
    *,
    p=0.5,
    lam=1.0,
    masks="realized",
    loss="cross-view",
    mask_mode="per-sample",
    rng=None,
    solver="closed_form",
    solver_options=None,
    eigensolver="auto",
    batched=False,
):
    """Linear contrastive learning with random-masking views (spec §3), in closed form or by GD.

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
        ``W`` of shape (r, d), ``basis`` = :math:`V_r` of shape (d, r),
        ``eigenvalues`` = :math:`\\mu_1 \\ge \\dots \\ge \\mu_r`, ``loss`` = :math:`\\mathcal L^\\star`
        (with a leading replicate axis on each for stacked ``X``).
        Warns with :class:`RankDeficientWarning` when :math:`\\mu_r \\le 0`
        (then ``W`` has rank < r; ``basis`` is still :math:`V_r`).
    """
    check_choice(masks, "masks", CL_MASKS)
    check_choice(solver, "solver", CL_SOLVERS)
    # the closed forms detect non-finite data in the statistics they compute anyway
    xp, X = _check_X(X, finite=solver != "closed_form", batched=batched)
    r = check_rank(r, X.shape[-1])
    p, lam = _check_cl_options(p, lam, masks, loss, mask_mode)
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    rng = check_rng(rng)
    if batched and solver != "closed_form":
        raise ValueError(f"batched=True (X of shape (R, n, d)) needs solver='closed_form', got {solver!r}")
    info = {"p": p, "lam": lam, "masks": masks, "loss": loss, "mask_mode": mask_mode}
    if solver in ("sgd", "adam"):
        if masks != "realized":
            raise ValueError(f"solver={solver!r} draws fresh masks at every step: use masks='realized'")
        fit = train_contrastive_minibatch(
            X, r, p=p, lam=lam, loss=loss, mask_mode=mask_mode, method=solver, rng=rng,
            solver_options=solver_options,
        )
        fit.info.update(info)
        return fit
    _check_mask_law(masks, mask_mode)
    method = "dense" if solver == "gd" else choose_eigensolver(eigensolver, X.shape[-1], r, formed=False)
    if method == "matrix-free":
        if masks == "expected":
            op = _expected_operator(X, p, loss)
        else:
            mask = _device_masks(X, X.shape, p, rng, mask_mode)
            if math.prod(X.shape) * 8 <= _SIGNED_VIEWS_BUDGET:  # hold Y = X1 - X2: fastest
                op = _realized_operator(X, loss, Y=xp.where(mask, X, -X))
            else:  # rebuild Y block by block at each product: n d bytes beyond X
                op = _realized_operator(X, loss, mask=mask)
        mu, V = top_eigenpairs(op, r, eigensolver="matrix-free")
        return _contrastive_result(xp, mu, V, r, lam, dict(info, eigensolver="matrix-free"))
    M = _data_contrastive_matrix(X, p, rng, masks, mask_mode, loss)
    return _fit_from_matrix(
        M, r, lam=lam, solver=solver, rng=rng, solver_options=solver_options, info=info,
        eigensolver="dense" if eigensolver == "dense" else "auto",
    )


def _check_cl_options(p, lam, masks, loss, mask_mode):
    """Check the options shared by the contrastive fits; return ``(p, lam)`` as floats."""
    p = check_unit_interval(p, "p")
    lam = check_positive(lam, "lam")
    check_choice(masks, "masks", CL_MASKS)
    check_choice(loss, "loss", CL_LOSSES)
    check_choice(mask_mode, "mask_mode", MASK_MODES)
    return p, lam


def _check_mask_law(masks, mask_mode):
    """``masks="expected"`` is the average over iid per-sample masks: refuse any other mask law."""
    if masks == "expected" and mask_mode != "per-sample":
        raise ValueError(
            "masks='expected' averages iid per-sample masks; use mask_mode='per-sample' "
            f"or masks='realized' (got mask_mode={mask_mode!r})"
        )


def _data_contrastive_matrix(X, p, rng, masks, mask_mode, loss):
    """The formed ``M`` of data ``X`` (or of a stack of replicates): mask-averaged with
    ``masks="expected"``, else realized from masks drawn with ``rng``."""
    if masks == "expected":
        return _expected_matrix(X, p, loss)
    xp = get_namespace(X)
    if X.ndim == 3 and is_numpy_namespace(xp):
        # on the CPU, views of one replicate at a time stay in cache (measured faster than
        # one pass over the stack); the eigendecomposition is still one batched call
        return xp.stack([_realized_views_matrix(X[i, ...], p, rng, mask_mode, loss) for i in range(X.shape[0])])
    return _realized_views_matrix(X, p, rng, mask_mode, loss)


def _fit_from_matrix(M, r, *, lam, solver, rng, solver_options, info=None, eigensolver="auto"):
    """Minimise the contrastive objective on a formed ``M``: by GD with ``solver="gd"``, else in closed form."""
    if solver == "gd":
        fit = train_contrastive(M, r, lam=lam, rng=rng, solver_options=solver_options)
        fit.info.update(info or {})
        return fit
    return contrastive_fit_from_matrix(M, r, lam=lam, info=info, eigensolver=eigensolver)


def _realized_views_matrix(X, p, rng, mode, loss):
    """``M`` of ``X`` (or of a stack, one draw after another) from masks drawn with ``rng``."""
    if mode in ("per-sample", "exact-count"):
        def masks(shape):
            return _device_masks(X, shape, p, rng, mode)
    else:
        shared = _device_masks(X, X.shape, p, rng, mode)

        def masks(shape):
            return shared
    C12, s1, s2 = _view_sums(X, masks)
    xp = get_namespace(X)
    if not bool(xp.all(xp.isfinite(s1)) and xp.all(xp.isfinite(s2))):  # X is unchecked: NaN shows here
        raise ValueError("X contains NaN or infinite values")
    if loss == "simclr":
        return _views_matrix(C12, None, X.shape[-2], _negative_pairs(X)[0])
    return _views_matrix(C12, (s1, s2), X.shape[-2])


def _view_sums(X, masks):
    """:math:`C_{12} = \\sum_i x^{(1)}_i x^{(2)\\top}_i` and the column sums of the two
    views :math:`X_1 = A \\circ X`, :math:`X_2 = X - X_1` of ``X`` (n, d) or a stack.

    ``masks(shape)`` returns the boolean mask of the next row block of that shape
    (in draw order) or one shared row. On the CPU a 2-D ``X`` is taken in row
    blocks whose views stay in cache (faster than whole-array views, measured in
    ``benchmarks/bench_closed_form.py``, and no ``n x d`` temporaries); elsewhere
    in one block.
    """
    xp = get_namespace(X)
    n, d = X.shape[-2:]
    rows = max(1, _VIEW_BLOCK_ENTRIES // d) if X.ndim == 2 and is_numpy_namespace(xp) else n
    C12 = s1 = s2 = None
    with _fp_quiet(xp):
        for start in range(0, n, rows):
            Xb = X[..., start:start + rows, :]
            X1 = Xb * xp.astype(masks(Xb.shape), X.dtype)  # 4x faster than where(); entries are x or ±0 exactly
            X2 = Xb - X1
            parts = (X1.mT @ X2, xp.sum(X1, axis=-2), xp.sum(X2, axis=-2))
            C12, s1, s2 = (part if total is None else total + part for total, part in zip((C12, s1, s2), parts))
    return C12, s1, s2


def replicates_per_batch(n_replicates, n, d, *, memory_limit=2**30, itemsize=8):
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
    """
    n_replicates = check_int(n_replicates, "n_replicates", low=1)
    n = check_int(n, "n", low=2)
    d = check_int(d, "d", low=2)
    memory_limit = check_int(memory_limit, "memory_limit", low=1)
    itemsize = check_int(itemsize, "itemsize", low=1)
    per_replicate = (4 * n * d + 4 * d * d) * itemsize
    return max(1, min(n_replicates, memory_limit // per_replicate))


def _device_masks(X, shape, p, rng, mode):
    """Host masks for data of ``shape`` (see :func:`_host_masks`) on the namespace and device of ``X``."""
    return to_namespace(_host_masks(shape, p, rng, mode), get_namespace(X), device=device_of(X))


def _host_masks(shape, p, rng, mode):
    """Host masks of shape (R, n or 1, d): replicate i gets what the i-th of R
    consecutive ``draw_mask(n, d, p, rng=rng, mode=mode)`` calls returns."""
    import numpy as np

    n, d = shape[-2:]
    reps = shape[0] if len(shape) == 3 else None
    if mode in ("per-sample", "exact-count"):
        # row by row: consecutive draws of any row counts are the same stream, so the
        # R n rows are drawn in blocks (for p != 1/2 the uniforms behind a mask take 8 bytes an entry)
        rows = (reps or 1) * n
        mask = np.empty((rows, d), dtype=bool)
        step = max(1, _BLOCK_ENTRIES // d)
        for start in range(0, rows, step):
            stop = min(start + step, rows)
            mask[start:stop] = draw_mask(stop - start, d, p, rng=rng, mode=mode)
        return mask if reps is None else mask.reshape(reps, n, d)
    if reps is None:
        return draw_mask(n, d, p, rng=rng, mode=mode)
    return np.stack([draw_mask(n, d, p, rng=rng, mode=mode) for _ in range(reps)])


_BLOCK_ENTRIES = 1 << 22  # 32 MiB of float64 per temporary block
_VIEW_BLOCK_ENTRIES = 1 << 19  # 4 MiB per view block: the two views and the data block stay in cache

#: Largest ``Y = X1 - X2`` (bytes) the matrix-free realized fit holds whole; above
#: it ``Y`` is rebuilt in row blocks at each product (about 2x slower, memory n d bytes).
_SIGNED_VIEWS_BUDGET = 1 << 30


def _column_squares(X):
    """:math:`\\sum_i x_{ij}^2` per column, in row blocks (no ``n x d`` temporary)."""
    xp = get_namespace(X)
    n = X.shape[-2]
    rows = max(1, _BLOCK_ENTRIES // math.prod(X.shape[:-2] + X.shape[-1:]))
    total = None
    for start in range(0, n, rows):
        block = X[..., start:min(start + rows, n), :]
        part = xp.sum(block * block, axis=-2)
        total = part if total is None else total + part
    return total


def contrastive_operator(X, *, p=0.5, loss="cross-view", masks="expected", Y=None, batched=False):
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
        Batch form (spec §3).
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
    """
    _, X = _check_X(X, batched=batched)
    p = check_unit_interval(p, "p")
    check_choice(loss, "loss", CL_LOSSES)
    check_choice(masks, "masks", CL_MASKS)
    if masks == "expected":
        return _expected_operator(X, p, loss)
    if Y is None or tuple(Y.shape) != tuple(X.shape):
        raise ValueError("masks='realized' needs Y = X1 - X2 of the same shape as X")
    return _realized_operator(X, loss, Y=Y)


def _checked_sum(X):
    """Column sums :math:`X^\\top 1`; non-finite exactly when ``X`` has a non-finite entry."""
    xp = get_namespace(X)
    s = xp.sum(X, axis=-2)
    if not bool(xp.all(xp.isfinite(s))):
        raise ValueError("X contains NaN or infinite values")
    return s


def _gram_apply(X):
    return lambda V: X.mT @ (X @ V)


def _rank1(u, V):
    """:math:`u (u^\\top V)` for stacks: u (..., d), V (..., d, b)."""
    return u[..., :, None] * (u[..., None, :] @ V)


def _operator(X, matmat):
    xp = get_namespace(X)
    return SymmetricOperator(matmat, X.shape[-1], xp, X.dtype, device_of(X), tuple(X.shape[:-2]))


def _expected_operator(X, p, loss):
    xp = get_namespace(X)
    n = X.shape[-2]
    q = p * (1 - p)
    with _fp_quiet(xp):
        dS = _column_squares(X) / n
        s = _checked_sum(X)
    gram = _gram_apply(X)
    if loss == "cross-view":
        a, c, dd = q / (n - 1), q / (n * (n - 1)), q
    else:
        a, c, dd = q / n + 1 / (4 * n * (n - 1)), 1 / (4 * n * (n - 1)), q
    return _operator(X, lambda V: a * gram(V) - dd * (dS[..., :, None] * V) - c * _rank1(s, V))


def _realized_operator(X, loss, Y=None, mask=None):
    """Realized ``M`` as an operator, from ``Y = X1 - X2`` or from the boolean mask of view 1."""
    xp = get_namespace(X)
    n = X.shape[-2]
    with _fp_quiet(xp):
        s = _checked_sum(X)
        if Y is not None:
            gy, t = _gram_apply(Y), xp.sum(Y, axis=-2)
        else:
            gy, t = _signed_gram(X, mask)
    s1, s2 = (s + t) / 2, (s - t) / 2
    gx = _gram_apply(X)
    if loss == "cross-view":
        def matmat(V):
            pos = (gx(V) - gy(V)) / 4  # sym(X1^T X2) V
            neg = (s1[..., :, None] * (s2[..., None, :] @ V) + s2[..., :, None] * (s1[..., None, :] @ V)) / 2
            return pos / (n - 1) - neg / (n * (n - 1))
    else:
        def matmat(V):
            GV = gx(V)
            pos = (GV - gy(V)) / (4 * n)
            return pos - (_rank1(s, V) - GV) / (4 * n * (n - 1))
    return _operator(X, matmat)


def _signed_gram(X, mask):
    """``V -> Y^T (Y V)`` and ``Y^T 1`` for :math:`Y = (2A - 1) \\circ X`, built block by block.

    ``Y`` is never held whole: each application rebuilds 32 MiB row blocks of it
    from ``X`` and the boolean ``mask`` (shape (..., n, d), or (..., 1, d) for a
    fixed mask), so the realized operator needs ``n d`` bytes beyond ``X``.
    """
    xp = get_namespace(X)
    n = X.shape[-2]
    rows = max(1, _BLOCK_ENTRIES // math.prod(X.shape[:-2] + X.shape[-1:]))
    per_row = mask.shape[-2] == n

    def blocks():
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            Xb = X[..., start:stop, :]
            yield xp.where(mask[..., start:stop, :] if per_row else mask, Xb, -Xb)

    t = None
    for Yb in blocks():
        part = xp.sum(Yb, axis=-2)
        t = part if t is None else t + part

    def apply(V):
        out = None
        for Yb in blocks():
            part = Yb.mT @ (Yb @ V)
            out = part if out is None else out + part
        return out

    return apply, t


def second_moment_operator(X, *, center=False, batched=False):
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
    """
    _, X = _check_X(X, batched=batched)
    return _moment_operator(X, center)


def _moment_operator(X, center):
    xp = get_namespace(X)
    n = X.shape[-2]
    gram = _gram_apply(X)
    with _fp_quiet(xp):
        _checked_sum(X)
    if not center:
        return _operator(X, lambda V: gram(V) / n)
    m = xp.mean(X, axis=-2)
    return _operator(X, lambda V: gram(V) / n - _rank1(m, V))


def contrastive_fit_from_matrix(M, r, *, lam=1.0, info=None, eigensolver="auto"):
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
    """
    M = _check_square(M, "M")
    r = check_rank(r, M.shape[-1])
    lam = check_positive(lam, "lam")
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    xp = get_namespace(M)
    mu, V = top_eigenpairs(M, r, eigensolver=eigensolver)
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
    return FitResult("contrastive", W, V, mu, loss_value, info=dict(info or {}, lam=lam))


def _principal(S, r, eigensolver="auto"):
    xp = get_namespace(S)
    sig, V = top_eigenpairs(S, r, eigensolver=eigensolver)
    tail = xp.linalg.trace(S) - xp.sum(sig, axis=-1)
    return xp, xp.clip(sig, min=0.0), V, tail


def _moment(X, r, center, batched=False):
    _, X = _check_X(X, finite=center, batched=batched)
    r = check_rank(r, X.shape[-1])
    return _second_moment(X, center), r


def _check_square(M, name):
    """Validate a square matrix (or a stack of them) and return its symmetric part."""
    ndim = 3 if getattr(M, "ndim", None) == 3 else 2
    _, M = check_data(M, name, ndim=ndim, min_rows=1)
    if M.shape[-2] != M.shape[-1]:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {tuple(M.shape)}")
    return sym(M)


def _principal_fit(X, r, method, center, eigensolver, batched, lam=0.0):
    """PCA / AE / GAN from data, dense or matrix-free."""
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    shape = getattr(X, "shape", None) or (0,)
    if method != "autoencoder" and choose_eigensolver(eigensolver, shape[-1], 1, formed=False) == "matrix-free":
        xp, X = _check_X(X, batched=batched)
        r = check_rank(r, X.shape[-1])
        sig, V = top_eigenpairs(_moment_operator(X, center), r, eigensolver="matrix-free")
        n = X.shape[-2]
        trace = xp.sum(_column_squares(X), axis=-1) / n
        if center:
            trace = trace - xp.sum(xp.mean(X, axis=-2) ** 2, axis=-1)
        return _principal_result(xp, method, xp.clip(sig, min=0.0), V, trace - xp.sum(sig, axis=-1), None,
                                 lam, {"center": center, "eigensolver": "matrix-free"})
    S, r = _moment(X, r, center, batched)
    return principal_fit_from_moment(
        S, r, method, lam=lam, info={"center": center}, eigensolver="dense" if eigensolver == "dense" else "auto"
    )


def fit_pca(
    X, r, *, center=False, solver="closed_form", solver_options=None, rng=None, eigensolver="auto", batched=False
):
    """Principal component analysis: top-``r`` eigenvectors of the second moment (spec §4).

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
    """
    check_choice(solver, "solver", SOLVERS)
    _check_batched_solver(batched, solver)
    if solver == "gd":
        S, r = _moment(X, r, center)
        fit = train_pca(S, r, rng=rng, solver_options=solver_options)
        fit.info["center"] = center
        return fit
    return _principal_fit(X, r, "pca", center, eigensolver, batched)


def fit_autoencoder(
    X, r, *, lam=0.0, center=False, solver="closed_form", solver_options=None, rng=None, eigensolver="auto",
    batched=False,
):
    """Two-factor linear autoencoder in closed form (spec §4).

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
    """
    lam = check_positive(lam, "lam", allow_zero=True)
    check_choice(solver, "solver", SOLVERS)
    _check_batched_solver(batched, solver)
    if solver == "gd":
        S, r = _moment(X, r, center)
        fit = train_autoencoder(S, r, lam=lam, rng=rng, solver_options=solver_options)
        fit.info["center"] = center
        return fit
    return _principal_fit(X, r, "autoencoder", center, eigensolver, batched, lam=lam)


def fit_gan(X, r, *, center=False, eigensolver="auto", batched=False):
    """Linear GAN in the LQG setting: the optimal generator spans the PCA subspace (spec §4).

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
    """
    return _principal_fit(X, r, "gan", center, eigensolver, batched)


def _check_batched_solver(batched, solver):
    if batched and solver != "closed_form":
        raise ValueError(f"batched=True (X of shape (R, n, d)) needs solver='closed_form', got {solver!r}")


PRINCIPAL_METHODS = ("pca", "autoencoder", "gan")


def principal_fit_from_moment(S, r, method="pca", *, lam=0.0, info=None, eigensolver="auto"):
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
    xp, sig, V, tail = _principal(S, r, eigensolver)
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


def fit_heteropca(X, r, *, max_iter=50, tol=1e-8):
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
    """
    S, r = _moment(X, r, False)
    return heteropca_fit_from_moment(S, r, max_iter=max_iter, tol=tol)


def heteropca_fit_from_moment(S, r, *, max_iter=50, tol=1e-8):
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
    for n_iter in range(1, max_iter + 1):
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
