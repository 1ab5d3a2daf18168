"""Exact proportional-regime predictions of the moment-based estimators (docs/model.md §12).

For rows :math:`x_i \\sim N(0, \\Sigma_x)`, :math:`\\Sigma_x = \\nu^2 U^\\star U^{\\star\\top} + D`,
:math:`D = \\operatorname{diag}(\\sigma_1^2, \\dots, \\sigma_d^2)`, and ``n, d -> inf`` with
``d/n`` fixed and ``r`` fixed, the top-``r`` eigenvectors of

* PCA (= autoencoder = GAN subspace): :math:`S = X^\\top X/n`;
* mask-averaged contrastive learning :math:`\\bar M` (``masks="expected"``):
  :math:`p(1-p)(S_c - \\operatorname{diag} S)`, :math:`S_c` the centred sample covariance,

have a deterministic :math:`\\mathbb E\\|\\sin\\Theta(U^\\star, \\hat U)\\|_F^2`. It is computed here
from the deterministic equivalent of the resolvent with the Woodbury identity
(O(d r^2) per evaluation), the outliers as the real roots of an ``r x r`` secular
equation beyond the bulk edge, and the projector's trace from the residues there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ._validation import check_choice, check_int, check_unit_interval
from .data import SpikedModel

__all__ = ["ASYMPTOTIC_METHODS", "AsymptoticPrediction", "asymptotic_sin_theta"]

#: The ``method=`` names of :func:`asymptotic_sin_theta`.
ASYMPTOTIC_METHODS = ("pca", "cl-expected")

AsymptoticMethod = Literal["pca", "cl-expected"]

# Grids of log(alpha - 1) on which the bulk edge is bracketed (docs/model.md §12, "Bulk edge"):
# first e^+-25 around sqrt(d/n) (the isotropic edge has alpha - 1 = sqrt(d/n) exactly) in steps
# of 0.5, else alpha - 1 from e^-70 (n/d ~ 1e60) to e^35 (d/n ~ 1e30) in steps of 0.25.
_LOG_EPS_LOCAL = np.arange(-25.0, 25.0 + 1e-9, 0.5)
_LOG_EPS_GRID = np.arange(-70.0, 35.0 + 1e-9, 0.25)
# Outliers closer than this (relative) are one cluster: the residue of a multiple root.
_CLUSTER_RTOL = 1e-8


@dataclass(frozen=True, eq=False)
class AsymptoticPrediction:
    """Deterministic-equivalent prediction of :math:`\\mathbb E\\|\\sin\\Theta(U^\\star, \\hat U)\\|_F^2`.

    Parameters
    ----------
    sin_theta_sq : float
        :math:`r - \\sum_k \\|U^{\\star\\top}\\hat u_k\\|^2` over the outliers, in ``[0, r]``.
    n_outliers : int
        How many of the ``r`` spikes separate from the bulk (BBP-type transition),
        counted with multiplicity.
    outlier_eigenvalues : numpy.ndarray of shape (n_outliers,)
        Limits of the top sample eigenvalues of the estimator's matrix, descending
        (for ``"cl-expected"`` those of :math:`\\bar M`, i.e. including the factor :math:`p(1-p)`).
    overlaps : numpy.ndarray of shape (n_outliers,)
        :math:`\\|U^{\\star\\top}\\hat u_k\\|^2` of the outlier eigenvectors, in the same order; spikes
        that do not separate contribute 0.
    bulk_edge : float
        Right edge of the bulk spectrum, in the same units as ``outlier_eigenvalues``.
    method : str
        ``"pca"`` or ``"cl-expected"``.
    n : int
        Sample size.
    d : int
        Ambient dimension.
    r : int
        Signal rank.
    p : float
        Masking probability (scales the eigenvalues of ``"cl-expected"`` only).

    Examples
    --------
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(100, 2, noise="two-block", condition=4.0, rng=0)
    >>> from spikedcl.asymptotics import asymptotic_sin_theta
    >>> pred = asymptotic_sin_theta(model, 1000, method="pca")
    >>> pred.n_outliers, pred.overlaps.shape
    (2, (2,))
    """

    sin_theta_sq: float
    n_outliers: int
    outlier_eigenvalues: np.ndarray
    overlaps: np.ndarray
    bulk_edge: float
    method: str
    n: int
    d: int
    r: int
    p: float

    def __repr__(self) -> str:
        eig = ", ".join(f"{v:.4g}" for v in self.outlier_eigenvalues)
        return (
            f"AsymptoticPrediction(method={self.method!r}, d={self.d}, r={self.r}, n={self.n}, "
            f"sin_theta_sq={self.sin_theta_sq:.4g}, n_outliers={self.n_outliers}, "
            f"outlier_eigenvalues=[{eig}], bulk_edge={self.bulk_edge:.4g})"
        )


class _Equivalent:
    """The deterministic equivalent of one statistic, parametrised by ``eps = alpha - 1``.

    With :math:`\\alpha = 1/(1+\\delta)` and :math:`B(z) = \\operatorname{diag}(\\alpha\\sigma_j^2 - a_j - z)`,
    written :math:`B = \\varepsilon \\sigma^2 + b - z` with ``b = sigma^2 - a`` exact (no cancellation),
    the bulk fixed point is :math:`\\delta = (1/n)\\sum_j \\sigma_j^2 / B_{jj}` and
    :math:`\\delta = -\\varepsilon/(1+\\varepsilon)`.
    """

    def __init__(self, s2, b, U, nu2, n_eff):
        self.s2, self.b, self.U, self.nu2, self.n = s2, b, U, nu2, float(n_eff)
        self.s4 = s2 * s2
        self.d, self.r = U.shape
        self._edge()

    # -- the bulk ------------------------------------------------------------------------------
    def z_of_eps(self, eps):
        """The z at which ``eps`` solves the fixed point, and ``B`` there (vectorised over ``eps``).

        For fixed ``eps`` and ``x = z - max pole > 0``, ``h(x) = -1/F(x)``, ``F = (1/n) sum s2/B``,
        rises concavely from 0 (a sum of poles has a concave reciprocal, linear for one pole), so
        Newton on ``h = -1/delta`` from the left of the root converges monotonically and fast.
        Returns ``z`` of shape (k,) and ``B`` of shape (k, d), all entries of ``B`` negative.
        """
        eps = np.atleast_1d(np.asarray(eps, dtype=float))[:, None]
        target = -eps / (1.0 + eps)  # delta
        poles = eps * self.s2 + self.b
        jmax = np.argmax(poles, axis=1)
        cmax = np.take_along_axis(poles, jmax[:, None], axis=1)
        gaps = poles - cmax  # <= 0, exact zero at j_max
        # F <= (its j_max term) = target here, so the start lies left of the root
        x = self.s2[jmax][:, None] / (self.n * -target)  # x = z - cmax > 0
        for _ in range(100):
            B = gaps - x
            F = np.sum(self.s2 / B, axis=1, keepdims=True) / self.n
            Fz = np.sum(self.s2 / B**2, axis=1, keepdims=True) / self.n
            step = (F * F / Fz) * (1.0 / F - 1.0 / target)  # Newton on h = -1/F
            x = x + np.maximum(step, 0.0)
            if np.all(step <= 1e-15 * x):
                break
        return (cmax + x)[:, 0], gaps - x

    def _fold(self, eps, B):
        """``1 - dF/d delta`` at (eps, B): zero at the bulk edge, positive beyond it."""
        eps = np.atleast_1d(eps)[:, None]
        return 1.0 - np.sum(self.s2**2 * (1.0 + eps) ** 2 / B**2, axis=1) / self.n

    def _bracket(self, log_grid):
        """First sign change of the fold along ``log_grid`` (from small eps), or None."""
        fold = self._fold(np.exp(log_grid), self.z_of_eps(np.exp(log_grid))[1])
        if not fold[0] > 0:
            return None
        k = int(np.argmax(fold <= 0))
        return None if fold[k] > 0 else (log_grid[k - 1], log_grid[k])

    def _edge(self):
        """Locate the right bulk edge: the first fold of the branch ``z(eps)`` from ``eps = 0``."""
        from scipy.optimize import brentq  # imported on use: ``import spikedcl`` stays light

        bracket = self._bracket(0.5 * math.log(self.d / self.n) + _LOG_EPS_LOCAL)
        if bracket is None:
            bracket = self._bracket(_LOG_EPS_GRID)
        if bracket is None:  # pragma: no cover - n/d beyond 1e60 or d/n beyond 1e30
            raise ValueError("n / d must lie between 1e-30 and 1e60 for the bulk-edge search")

        def f(log_eps):
            e = math.exp(log_eps)
            return float(self._fold(e, self.z_of_eps(e)[1])[0])

        log_eps = brentq(f, *bracket, xtol=1e-13, rtol=1e-15, maxiter=200)
        self.eps_edge = math.exp(log_eps)
        self.z_edge = float(self.z_of_eps(self.eps_edge)[0][0])

    def eps_of_z(self, z):
        """The physical ``eps`` in ``[0, eps_edge]`` at ``z >= z_edge`` (safeguarded Newton)."""
        if z <= self.z_edge:
            return self.eps_edge
        lo, hi, e = 0.0, self.eps_edge, 0.0
        for _ in range(200):
            w = 1.0 / (e * self.s2 + self.b - z)  # 1/B
            H = (self.s2 @ w) / self.n + e / (1.0 + e)  # increasing in eps on [0, eps_edge]
            if H == 0.0:
                return e
            if H < 0.0:
                lo = e
            else:
                hi = e
            Hp = (1.0 - (self.s4 @ (w * w)) * (1.0 + e) ** 2 / self.n) / (1.0 + e) ** 2
            new = e - H / Hp if Hp > 0 else 0.5 * (lo + hi)
            if not lo <= new <= hi:
                new = 0.5 * (lo + hi)
            if abs(new - e) <= 1e-15 * max(e, 1e-300) or hi - lo <= 1e-15 * hi:
                return new
            e = new
        return e

    # -- the spikes ----------------------------------------------------------------------------
    def secular(self, z, derivative=False):
        """``G(z) = I/(alpha nu^2) + U^T B^{-1} U`` (r x r), and optionally ``G'(z)`` and ``c = 1/(alpha nu^2)``."""
        e = self.eps_of_z(z)
        B = e * self.s2 + self.b - z
        c = 1.0 / ((1.0 + e) * self.nu2)
        UB = self.U.T / B
        G = UB @ self.U + c * np.eye(self.r)
        if not derivative:
            return G
        alpha = 1.0 + e
        Fz = np.sum(self.s2 / B**2) / self.n
        fold = 1.0 - np.sum(self.s2**2 * alpha**2 / B**2) / self.n
        ddelta = Fz / fold  # d delta / dz (infinite at the edge)
        dB = -(alpha**2) * ddelta * self.s2 - 1.0  # dB/dz
        Gp = (UB * (-dB / B)) @ self.U + (ddelta / self.nu2) * np.eye(self.r)
        return G, Gp, c


def _check_model(model):
    if not isinstance(model, SpikedModel):
        raise TypeError(
            f"model must be a SpikedModel (e.g. SpikedModel.random(d, r)), got {type(model).__name__}"
        )


def asymptotic_sin_theta(
    model: SpikedModel,
    n: int,
    *,
    method: AsymptoticMethod = "pca",
    p: float = 0.5,
) -> AsymptoticPrediction:
    """Deterministic-equivalent :math:`\\mathbb E\\|\\sin\\Theta(U^\\star, \\hat U)\\|_F^2` at sample size ``n``.

    :math:`\\hat U` spans the top-``r`` eigenvectors of the estimator's matrix, computed from ``n``
    rows :math:`x_i \\sim N(0, \\Sigma_x)` of ``model``; the prediction is exact in the
    proportional limit ``n, d -> inf``, ``d/n`` fixed, ``r`` fixed (docs/model.md §12):

    .. math::

        \\mathbb E\\|\\sin\\Theta\\|_F^2 \\approx r - \\sum_{\\lambda_k > \\lambda_+}
        \\operatorname{Res}_{z=\\lambda_k} c(z)^2 \\operatorname{tr} G(z)^{-1},\\qquad
        G(z) = \\frac{I_r}{\\alpha(z)\\nu^2} + U^{\\star\\top} B(z)^{-1} U^\\star,

    with :math:`c = 1/(\\alpha\\nu^2)`, :math:`B(z) = \\alpha(z) D - A - zI`,
    :math:`\\alpha = 1/(1+\\delta)`, :math:`\\delta(z) = \\frac1n \\operatorname{tr} D B(z)^{-1}`
    (a fixed point), the outliers :math:`\\lambda_k` the real roots of :math:`\\det G = 0`
    beyond the bulk edge :math:`\\lambda_+`, ``A = 0`` for PCA and
    :math:`A = \\operatorname{diag}(\\Sigma_x)` for the mask-averaged contrastive matrix.

    Parameters
    ----------
    model : SpikedModel
        The data model: its own :math:`U^\\star` (d, r), :math:`\\nu` and noise variances (d,).
    n : int
        Sample size, ``n >= 2``; ``n`` up to ``1e60 d`` and down to ``1e-30 d`` are handled.
    method : {"pca", "cl-expected"}, default="pca"
        ``"pca"``: top-``r`` eigenvectors of :math:`X^\\top X/n` (also the autoencoder's and the
        GAN's subspace); ``"cl-expected"``: of the mask-averaged contrastive matrix
        :math:`\\bar M` of ``fit_contrastive(X, r, masks="expected")`` (cross-view form).
    p : float, default=0.5
        Masking probability, in (0, 1). :math:`\\bar M = p(1-p)(S_c - \\operatorname{diag} S)`
        exactly, so ``p`` scales its eigenvalues and leaves ``sin_theta_sq`` unchanged.

    Returns
    -------
    AsymptoticPrediction
        ``sin_theta_sq`` in ``[0, r]``, ``n_outliers``, ``outlier_eigenvalues`` and ``overlaps``
        of shape (n_outliers,), ``bulk_edge``.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`SpikedModel` or ``n`` not an integer.
    ValueError
        If ``n < 2``, ``method`` is unknown or ``p`` lies outside (0, 1).

    Notes
    -----
    The statistic of ``"cl-expected"`` is :math:`\\bar M/(p(1-p)) = S_c - \\operatorname{diag}(S)`:
    the cross-view negative-pair term is exactly the centring, and :math:`S_c` is a Wishart
    matrix with ``n - 1`` degrees of freedom (used here); ``diag(S)`` is replaced by the
    deterministic ``diag(Sigma_x)``, an error of operator norm
    :math:`O(\\sqrt{\\log d/n})`. Each evaluation of ``G`` costs O(d r^2); the spikes' own
    O(r/n) share of :math:`\\delta` is left out, which makes ``G`` meromorphic beyond the bulk
    and the isotropic case exactly Paul's / BBP's closed form. Finite-size corrections are of
    relative order ``r/d`` away from the transition (about 1 % for PCA and 4 % for
    :math:`\\bar M` at d = 200, r = 5, n = 20000) and larger next to it. Realized masks are not
    covered. See docs/model.md §12.

    Examples
    --------
    One spike in isotropic noise is the BBP / Paul closed form: outlier
    :math:`\\sigma^2(1+\\ell)(1+\\gamma/\\ell)` and overlap :math:`(1-\\gamma/\\ell^2)/(1+\\gamma/\\ell)`:

    >>> import numpy as np
    >>> import spikedcl as sc
    >>> U = sc.haar_basis(400, 1, rng=2)
    >>> model = sc.SpikedModel(U=U, nu=1.0, noise_var=np.full(400, 0.5))  # ell = 2
    >>> from spikedcl.asymptotics import asymptotic_sin_theta
    >>> pred = asymptotic_sin_theta(model, 800)  # gamma = 1/2
    >>> round(float(pred.outlier_eigenvalues[0]), 6), 0.5 * 3 * 1.25
    (1.875, 1.875)
    >>> round(float(pred.overlaps[0]), 6), round((1 - 0.5 / 4) / (1 + 0.5 / 2), 6)
    (0.7, 0.7)

    Mask-averaged CL against PCA under heteroskedastic noise:

    >>> model = sc.SpikedModel.random(200, 5, noise="uniform", condition=8, rng=11)
    >>> for method in ("pca", "cl-expected"):
    ...     pred = asymptotic_sin_theta(model, 20000, method=method)
    ...     print(method, pred.n_outliers, round(pred.sin_theta_sq, 3))
    pca 5 0.332
    cl-expected 5 0.047
    """
    from scipy.optimize import brentq  # imported on use: ``import spikedcl`` stays light

    _check_model(model)
    n = check_int(n, "n", low=2)
    check_choice(method, "method", ASYMPTOTIC_METHODS)
    p = check_unit_interval(p, "p")
    U = np.asarray(model.U, dtype=float)
    s2 = np.asarray(model.noise_var, dtype=float)
    nu2 = float(model.nu) ** 2
    if method == "pca":
        scale, n_eff, b = 1.0, n, s2.copy()  # A = 0: b = sigma^2
    else:
        # A = diag(Sigma_x): b = sigma^2 - a = -nu^2 |U_j|^2, computed without cancellation
        scale, n_eff, b = p * (1.0 - p), n - 1, -nu2 * np.sum(U**2, axis=1)
    eq = _Equivalent(s2, b, U, nu2, n_eff)
    r = U.shape[1]

    # outliers: eigenvalues of G(z_edge) below 0 each cross 0 once (G' is positive definite)
    g_edge = np.linalg.eigvalsh(eq.secular(eq.z_edge))
    n_out = int(np.sum(g_edge < 0))
    roots = []
    if n_out:
        z_hi = eq.z_edge + max(abs(eq.z_edge), nu2 + float(s2.max()))
        while np.linalg.eigvalsh(eq.secular(z_hi))[0] <= 0:
            z_hi = eq.z_edge + 2.0 * (z_hi - eq.z_edge)
        upper = z_hi
        for k in range(n_out):  # the k-th smallest eigenvalue of G has the k-th largest root
            def g(z, k=k):
                return float(np.linalg.eigvalsh(eq.secular(z))[k])

            # g_k >= g_{k-1}: g_k(upper) <= 0 only by rounding at a multiple root
            root = upper if k and g(upper) <= 0 else brentq(
                g, eq.z_edge, upper, xtol=1e-15, rtol=1e-15, maxiter=300
            )
            roots.append(root)
            upper = root
    overlaps = np.zeros(n_out)
    k = 0
    while k < n_out:  # clusters of (numerically) equal roots: residue of a multiple root
        j = k + 1
        while j < n_out and roots[j - 1] - roots[j] <= _CLUSTER_RTOL * max(
            abs(roots[k]), abs(eq.z_edge), roots[k] - eq.z_edge
        ):
            j += 1
        z0 = float(np.mean(roots[k:j]))
        G, Gp, c = eq.secular(z0, derivative=True)
        _, V = np.linalg.eigh(G)
        Vc = V[:, k:j]
        mu = np.linalg.eigvalsh(Vc.T @ Gp @ Vc)  # ascending: largest overlap first
        overlaps[k:j] = c**2 / mu
        k = j
    overlaps = np.clip(overlaps, 0.0, 1.0)
    sin2 = float(min(max(r - overlaps.sum(), 0.0), r))
    return AsymptoticPrediction(
        sin_theta_sq=sin2,
        n_outliers=n_out,
        outlier_eigenvalues=scale * np.asarray(roots, dtype=float),
        overlaps=overlaps,
        bulk_edge=scale * eq.z_edge,
        method=method,
        n=n,
        d=model.d,
        r=r,
        p=p,
    )
