"""Population (n → ∞) versions of every estimator: the bias each method keeps.

As :math:`n \\to \\infty` the sample moments converge to their population
values: :math:`\\hat\\Sigma_0 \\to \\Sigma_x = \\nu^2 U^\\star U^{\\star\\top} + \\Sigma` and, for
zero-mean data, the negative-pair term :math:`N \\to 0`, so

* PCA / autoencoder / GAN fit :math:`\\Sigma_x`;
* contrastive learning with per-sample masks fits :math:`p(1-p)\\Delta(\\Sigma_x)` (docs/model.md §3);
* contrastive learning with a fixed mask ``a`` fits
  :math:`\\operatorname{sym}(\\operatorname{diag}(a)\\Sigma_x\\operatorname{diag}(1-a))` (docs/model.md §2);
* HeteroPCA imputes the diagonal of :math:`\\Delta(\\Sigma_x)`.

These give the ``n = ∞`` rows of the model document's reference tables.
"""

from __future__ import annotations

from typing import Literal

from ._array_api import to_namespace
from ._linalg import offdiag, sym
from ._typing import Array, Device, Namespace, RNGLike
from ._validation import check_choice, check_positive, check_rank, check_unit_interval
from .augment import draw_mask
from .closed_form import (
    PRINCIPAL_METHODS,
    contrastive_fit_from_matrix,
    heteropca_fit_from_moment,
    principal_fit_from_moment,
)
from .data import SpikedModel
from .results import FitResult

__all__ = ["POPULATION_METHODS", "population_matrix", "population_fit"]

POPULATION_METHODS = PRINCIPAL_METHODS + (
    "contrastive",
    "contrastive-fixed",
    "contrastive-fixed-bernoulli",
    "heteropca",
)

#: The ``method=`` names of :func:`population_matrix` and :func:`population_fit`.
PopulationMethod = Literal[
    "pca", "autoencoder", "gan", "contrastive", "contrastive-fixed", "contrastive-fixed-bernoulli", "heteropca"
]


def _check_model(model):
    """Refuse anything but a :class:`SpikedModel` (samples in particular) with a pointer to the sample fits."""
    if not isinstance(model, SpikedModel):
        raise TypeError(
            f"model must be a SpikedModel (e.g. SpikedModel.random(d, r)), got {type(model).__name__}; "
            "population fits take the model, not samples: fit samples with spikedcl.fit_pca / fit_contrastive"
        )


def population_matrix(
    model: SpikedModel,
    method: PopulationMethod = "contrastive",
    *,
    p: float = 0.5,
    rng: RNGLike = None,
    xp: Namespace | None = None,
    device: Device = None,
) -> Array:
    """The ``d x d`` matrix whose top eigenvectors a method recovers as ``n → ∞``.

    Parameters
    ----------
    model : SpikedModel
        The data model.
    method : str, default="contrastive"
        One of :data:`POPULATION_METHODS`.
    p : float, default=0.5
        Masking probability (contrastive methods).
    rng : None, int or numpy.random.Generator, optional
        Draws the mask for ``"contrastive-fixed"`` (``floor(p d)`` coordinates)
        and ``"contrastive-fixed-bernoulli"`` (iid Bernoulli(p)).
    xp : array namespace, optional
        Namespace of the result (default NumPy).
    device : object, optional
        Device of the result in ``xp``.

    Returns
    -------
    array of shape (d, d)
        :math:`\\Sigma_x` (principal methods and HeteroPCA's input),
        :math:`p(1-p)\\Delta(\\Sigma_x)` or the fixed-mask cross moment.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, rng=0)
    >>> S = model.covariance()
    >>> M = sc.population_matrix(model, "contrastive", p=0.5)
    >>> M.shape
    (60, 60)
    >>> bool(np.allclose(M, 0.25 * (S - np.diag(np.diag(S)))))  # p(1-p) Delta(Sigma_x)
    True
    """
    _check_model(model)
    check_choice(method, "method", POPULATION_METHODS)
    p = check_unit_interval(p, "p")
    S = model.covariance()
    if method == "contrastive":
        S = p * (1 - p) * offdiag(S)
    elif method.startswith("contrastive-"):
        a = draw_mask(1, model.d, p, rng=rng, mode=method.removeprefix("contrastive-"))[0].astype(float)
        S = sym(a[:, None] * S * (1 - a)[None, :])
    return S if xp is None else to_namespace(S, xp, device=device)


def population_fit(
    model: SpikedModel,
    method: PopulationMethod = "contrastive",
    *,
    r: int | None = None,
    p: float = 0.5,
    lam: float = 1.0,
    rng: RNGLike = None,
    xp: Namespace | None = None,
    device: Device = None,
) -> FitResult:
    """Fit a method to population moments: its limit as ``n → ∞``.

    Parameters
    ----------
    model : SpikedModel
        The data model.
    method : str, default="contrastive"
        One of :data:`POPULATION_METHODS`.
    r : int, optional
        Representation dimension (default ``model.r``).
    p : float, default=0.5
        Masking probability (contrastive methods).
    lam : float, default=1.0
        Contrastive regularisation :math:`\\lambda`.
    rng : None, int or numpy.random.Generator, optional
        Draws the mask of the fixed-mask methods.
    xp : array namespace, optional
        Namespace of the result (default NumPy).
    device : object, optional
        Device of the result in ``xp``.

    Returns
    -------
    FitResult
        The population fit; ``sin_theta(model.U, fit.basis)`` is the method's bias.

    Examples
    --------
    The bias each method keeps at ``n = ∞`` under strongly heteroskedastic noise:

    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> for method in ("pca", "contrastive", "heteropca"):
    ...     fit = sc.population_fit(model, method)
    ...     print(method, round(float(sc.sin_theta(model.U, fit.basis)), 3))
    pca 0.543
    contrastive 0.044
    heteropca 0.0
    """
    _check_model(model)
    r = model.r if r is None else check_rank(r, model.d)
    lam = check_positive(lam, "lam")
    S = population_matrix(model, method, p=p, rng=rng, xp=xp, device=device)
    if method in PRINCIPAL_METHODS:
        return principal_fit_from_moment(S, r, method, info={"population": True})
    if method == "heteropca":
        return heteropca_fit_from_moment(S, r, max_iter=1000, tol=1e-12)
    return contrastive_fit_from_matrix(S, r, lam=lam, info={"population": True, "method": method})
