"""Closed-form minimisers: linear contrastive learning and its baselines.

Every fit is an eigendecomposition of a ``d x d`` sufficient statistic built
from ``X`` without forming ``n x n`` or ``n x d x d`` objects:

* contrastive learning (spec §3): top eigenvectors of
  :math:`M = S_{pos} - S_{neg}`, realized from masked views or mask-averaged;
* PCA / linear autoencoder / linear GAN (spec §4): top eigenvectors of the
  second moment :math:`\\hat\\Sigma_0 = X^\\top X / n`;
* HeteroPCA (not in the paper): iterative diagonal imputation.
"""

from __future__ import annotations

import warnings

from ._array_api import get_namespace
from ._linalg import diag_part, offdiag, sym, top_eigh
from ._validation import (
    check_choice,
    check_data,
    check_int,
    check_positive,
    check_rank,
    check_unit_interval,
)
from .augment import MASK_MODES, split_views
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
]

CL_LOSSES = ("cross-view", "simclr")
SOLVERS = ("closed_form", "gd")
CL_SOLVERS = SOLVERS + ("sgd", "adam")
CL_MASKS = ("realized", "expected")


def second_moment(X, *, center=False):
    """Second-moment matrix :math:`\\hat\\Sigma_0 = X^\\top X / n` (or the centred covariance).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data.
    center : bool, default=False
        Subtract the column means first (divisor stays ``n``).

    Returns
    -------
    array of shape (n_features, n_features)
        The symmetric second-moment matrix.
    """
    _, X = check_data(X)
    return _second_moment(X, center)


def _second_moment(X, center=False):
    xp = get_namespace(X)
    if center:
        X = X - xp.mean(X, axis=0, keepdims=True)
    return sym(X.mT @ X) / X.shape[0]


def _negative_pairs(X):
    """:math:`N = (s s^\\top - X^\\top X)/(n(n-1))`, the mean over ordered pairs i != j of x_i x_j^T."""
    xp = get_namespace(X)
    n = X.shape[0]
    s = xp.sum(X, axis=0)
    G = X.mT @ X
    return sym(s[:, None] * s[None, :] - G) / (n * (n - 1)), G / n


def contrastive_matrix(X1, X2, *, loss="cross-view"):
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
    _, X1 = check_data(X1, "X1")
    _, X2 = check_data(X2, "X2")
    if X1.shape != X2.shape:
        raise ValueError(f"X1 and X2 must have the same shape, got {X1.shape} and {X2.shape}")
    check_choice(loss, "loss", CL_LOSSES)
    return _realized_matrix(X1, X2, loss)


def _realized_matrix(X1, X2, loss):
    xp = get_namespace(X1, X2)
    n = X1.shape[0]
    C12 = X1.mT @ X2
    S_pos = sym(C12) / n
    if loss == "cross-view":
        s1, s2 = xp.sum(X1, axis=0), xp.sum(X2, axis=0)
        S_neg = sym(s1[:, None] * s2[None, :] - C12) / (n * (n - 1))
    else:
        S_neg = _negative_pairs(X1 + X2)[0] / 4
    return S_pos - S_neg


def expected_contrastive_matrix(X, p=0.5, *, loss="cross-view"):
    """Mask-averaged contrastive matrix :math:`\\bar M = \\mathbb{E}_A[M]` (spec §3).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data (unmasked).
    p : float, default=0.5
        Probability of a coordinate entering view 1 (iid per-sample masks).
    loss : {"cross-view", "simclr"}, default="cross-view"
        Batch form, as in :func:`contrastive_matrix`.

    Returns
    -------
    array of shape (n_features, n_features)
        ``"cross-view"``: :math:`p(1-p)[\\Delta(\\hat\\Sigma_0) - N]`;
        ``"simclr"``: :math:`p(1-p)\\Delta(\\hat\\Sigma_0) - N/4`, with
        :math:`N = (s s^\\top - X^\\top X)/(n(n-1))`.
    """
    _, X = check_data(X)
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
        Data, ``n_samples >= 2``.
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

    Returns
    -------
    FitResult
        ``W`` of shape (r, d), ``basis`` = :math:`V_r` of shape (d, r),
        ``eigenvalues`` = :math:`\\mu_1 \\ge \\dots \\ge \\mu_r`, ``loss`` = :math:`\\mathcal L^\\star`.
        Warns with :class:`RankDeficientWarning` when :math:`\\mu_r \\le 0`
        (then ``W`` has rank < r; ``basis`` is still :math:`V_r`).
    """
    xp, X = check_data(X)
    r = check_rank(r, X.shape[1])
    p = check_unit_interval(p, "p")
    lam = check_positive(lam, "lam")
    check_choice(masks, "masks", CL_MASKS)
    check_choice(loss, "loss", CL_LOSSES)
    check_choice(mask_mode, "mask_mode", MASK_MODES)
    check_choice(solver, "solver", CL_SOLVERS)
    rng = check_rng(rng)
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
    if masks == "expected":
        if mask_mode != "per-sample":
            raise ValueError(
                "masks='expected' averages iid per-sample masks; use mask_mode='per-sample' "
                f"or masks='realized' (got mask_mode={mask_mode!r})"
            )
        M = _expected_matrix(X, p, loss)
    else:
        M = _realized_matrix(*split_views(X, p, rng=rng, mode=mask_mode), loss)
    if solver == "gd":
        fit = train_contrastive(M, r, lam=lam, rng=rng, solver_options=solver_options)
        fit.info.update(info)
        return fit
    return contrastive_fit_from_matrix(M, r, lam=lam, info=info)


def contrastive_fit_from_matrix(M, r, *, lam=1.0, info=None):
    """Minimise :math:`-\\operatorname{tr}(WMW^\\top) + \\frac{\\lambda}{2}\\|WW^\\top\\|_F^2` for a given ``M``.

    Parameters
    ----------
    M : array of shape (d, d)
        Contrastive matrix; only its symmetric part is used.
    r : int
        Representation dimension, ``1 <= r < d``.
    lam : float, default=1.0
        Regularisation :math:`\\lambda > 0`.
    info : dict, optional
        Extras stored in the result.

    Returns
    -------
    FitResult
        As :func:`fit_contrastive`.
    """
    M = _check_square(M, "M")
    r = check_rank(r, M.shape[0])
    lam = check_positive(lam, "lam")
    xp = get_namespace(M)
    mu, V = top_eigh(M, r)
    mu_pos = xp.clip(mu, min=0.0)
    if not bool(mu[-1] > 0):
        warnings.warn(
            f"the contrastive matrix has fewer than r={r} positive eigenvalues "
            f"(mu_r = {float(mu[-1]):.3g}); W has rank < r",
            RankDeficientWarning,
            stacklevel=3,
        )
    W = xp.sqrt(mu_pos / lam)[:, None] * V.mT
    loss_value = -xp.sum(mu_pos**2) / (2 * lam)
    return FitResult("contrastive", W, V, mu, loss_value, info=dict(info or {}, lam=lam))


def _principal(S, r):
    xp = get_namespace(S)
    sig, V = top_eigh(S, r)
    tail = xp.linalg.trace(S) - xp.sum(sig)
    return xp, xp.clip(sig, min=0.0), V, tail


def _moment(X, r, center):
    _, X = check_data(X)
    r = check_rank(r, X.shape[1])
    return _second_moment(X, center), r


def _check_square(M, name):
    """Validate a square matrix and return its symmetric part."""
    _, M = check_data(M, name, min_rows=1)
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {tuple(M.shape)}")
    return sym(M)


def fit_pca(X, r, *, center=False, solver="closed_form", solver_options=None, rng=None):
    """Principal component analysis: top-``r`` eigenvectors of the second moment (spec §4).

    .. math::

        \\min_{V^\\top V = I_r} \\frac1n \\|X - X V V^\\top\\|_F^2

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data.
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

    Returns
    -------
    FitResult
        ``W = V_r^T`` (orthonormal rows), ``eigenvalues`` the top-``r`` eigenvalues
        of :math:`\\hat\\Sigma_0`, ``loss`` the reconstruction error
        :math:`\\operatorname{tr}\\hat\\Sigma_0 - \\sum_{k \\le r}\\sigma_k`.
    """
    check_choice(solver, "solver", SOLVERS)
    S, r = _moment(X, r, center)
    if solver == "gd":
        fit = train_pca(S, r, rng=rng, solver_options=solver_options)
        fit.info["center"] = center
        return fit
    return principal_fit_from_moment(S, r, "pca", info={"center": center})


def fit_autoencoder(X, r, *, lam=0.0, center=False, solver="closed_form", solver_options=None, rng=None):
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
        Data.
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

    Returns
    -------
    FitResult
        ``W`` the encoder (r, d); ``info["decoder"]`` the decoder (d, r);
        ``basis`` spans the PCA subspace while :math:`\\sigma_r > \\lambda`.
    """
    lam = check_positive(lam, "lam", allow_zero=True)
    check_choice(solver, "solver", SOLVERS)
    S, r = _moment(X, r, center)
    if solver == "gd":
        fit = train_autoencoder(S, r, lam=lam, rng=rng, solver_options=solver_options)
        fit.info["center"] = center
        return fit
    return principal_fit_from_moment(S, r, "autoencoder", lam=lam, info={"center": center})


def fit_gan(X, r, *, center=False):
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
        Data.
    r : int
        Latent dimension, ``1 <= r < n_features``.
    center : bool, default=False
        Centre the columns first.

    Returns
    -------
    FitResult
        ``W = G^T`` of shape (r, d); ``loss`` the optimal :math:`W_2^2`.
    """
    S, r = _moment(X, r, center)
    return principal_fit_from_moment(S, r, "gan", info={"center": center})


PRINCIPAL_METHODS = ("pca", "autoencoder", "gan")


def principal_fit_from_moment(S, r, method="pca", *, lam=0.0, info=None):
    """PCA, linear autoencoder or linear GAN fitted to a given second-moment matrix.

    Parameters
    ----------
    S : array of shape (d, d)
        Symmetric positive semi-definite second moment.
    r : int
        Dimension, ``1 <= r < d``.
    method : {"pca", "autoencoder", "gan"}, default="pca"
        Which minimiser to return (see :func:`fit_pca`, :func:`fit_autoencoder`,
        :func:`fit_gan`); all span the top-``r`` eigenvectors of ``S``.
    lam : float, default=0.0
        Autoencoder penalty on both factors.
    info : dict, optional
        Extras stored in the result.

    Returns
    -------
    FitResult
        The fitted representation.
    """
    check_choice(method, "method", PRINCIPAL_METHODS)
    S = _check_square(S, "S")
    r = check_rank(r, S.shape[0])
    lam = check_positive(lam, "lam", allow_zero=True)
    xp, sig, V, tail = _principal(S, r)
    info = dict(info or {})
    if method == "pca":
        return FitResult("pca", V.mT, V, sig, tail, info=info)
    if method == "gan":
        return FitResult("gan", xp.sqrt(sig)[:, None] * V.mT, V, sig, tail, info=info)
    scale = xp.sqrt(xp.clip(1 - lam / sig, min=0.0)) if lam > 0 else xp.ones_like(sig)
    if not bool(scale[-1] > 0):
        warnings.warn(
            f"lam={lam} exceeds the r-th eigenvalue of the second moment; the encoder has rank < r",
            RankDeficientWarning,
            stacklevel=3,
        )
    W_enc = scale[:, None] * V.mT
    W_dec = W_enc.mT
    info.update(decoder=W_dec, lam=lam)
    return FitResult("autoencoder", W_enc, V, sig, autoencoder_loss(W_enc, W_dec, S, lam), info=info)


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
