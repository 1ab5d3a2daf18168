"""The result type shared by every fitting routine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._array_api import short_repr
from ._typing import Array

__all__ = ["FitResult"]


@dataclass(frozen=True, eq=False)
class FitResult:
    """A fitted linear representation ``f(x) = W x``.

    Parameters
    ----------
    method : str
        ``"contrastive"`` (realized masks, or a given matrix), ``"contrastive-expected"``
        (the mask-averaged :math:`\\bar M`), ``"supervised-contrastive"``, ``"pca"``,
        ``"autoencoder"``, ``"gan"`` or ``"heteropca"``.
    W : array of shape (r, d)
        The minimiser of the method's objective (encoder weights).
    basis : array of shape (d, r)
        Orthonormal basis of the learned subspace (row space of ``W``).
    eigenvalues : array of shape (r,)
        Top-``r`` eigenvalues, descending, of the matrix whose eigenvectors
        span ``basis`` (``M`` for contrastive learning, the second moment for
        PCA / autoencoder / GAN).
    loss : array of shape ()
        Objective value at ``W`` (0-d array in the namespace of the input).
    solver : str, default="closed_form"
        How ``W`` was obtained.
    n_iter : int, default=0
        Iterations used (0 for a closed form).
    converged : bool, default=True
        Whether the solver met its tolerance.
    info : dict, default={}
        Method-specific extras (e.g. the decoder of an autoencoder).

    Examples
    --------
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(50, 2, rng=0)
    >>> X = model.sample(400, rng=1)
    >>> fit = sc.fit_pca(X, 2)
    >>> fit.method, fit.W.shape, fit.basis.shape, fit.eigenvalues.shape
    ('pca', (2, 50), (50, 2), (2,))
    >>> fit.transform(X).shape
    (400, 2)
    """

    method: str
    W: Array
    basis: Array
    eigenvalues: Array
    loss: Array
    solver: str = "closed_form"
    n_iter: int = 0
    converged: bool = True
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def r(self) -> int:
        """Dimension of the representation."""
        return self.W.shape[0]

    def __repr__(self) -> str:
        d = self.W.shape[-1]
        batch = tuple(self.W.shape[:-2])
        stack = f", batch={batch}" if batch else ""
        return (f"FitResult(method={self.method!r}, solver={self.solver!r}, r={self.W.shape[-2]}, d={d}{stack}, "
                f"eigenvalues={short_repr(self.eigenvalues)}, loss={short_repr(self.loss)}, "
                f"n_iter={self.n_iter}, converged={self.converged})")

    def transform(self, X: Array) -> Array:
        """Features ``F = X W^T`` of shape (n_samples, r).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Data.

        Returns
        -------
        array of shape (n_samples, r)
            The representation of each sample.

        Raises
        ------
        ValueError
            When ``X`` does not have the ``d`` columns of ``W``.

        Examples
        --------
        >>> import spikedcl as sc
        >>> X = sc.SpikedModel.random(30, 2, rng=0).sample(100, rng=1)
        >>> fit = sc.fit_contrastive(X, 2, rng=2)
        >>> F = fit.transform(X)
        >>> F.shape
        (100, 2)
        >>> bool(abs(F - X @ fit.W.T).max() == 0)
        True
        """
        shape = tuple(getattr(X, "shape", ()))
        d = self.W.shape[-1]
        if len(shape) < 1 or shape[-1] != d:
            raise ValueError(
                f"X must have shape (n_samples, n_features) with n_features = {d} (the fit's dimension), "
                f"got shape {shape}"
            )
        return X @ self.W.mT
