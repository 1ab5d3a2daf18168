"""Warning classes raised by spikedcl."""

__all__ = ["SpikedModelWarning", "RankDeficientWarning", "ConvergenceWarning", "DivergenceError", "CorruptCellWarning"]


class SpikedModelWarning(UserWarning):
    """A setting outside the regime of the theory (n > d >> r, incoherent U*).

    Examples
    --------
    >>> import warnings
    >>> import spikedcl as sc
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     model = sc.SpikedModel.random(12, 3, rng=0)  # d = 12 is not >> r = 3
    >>> [w.category.__name__ for w in caught][:1]
    ['SpikedModelWarning']
    """


class RankDeficientWarning(UserWarning):
    """A fitted representation has fewer than r positive directions.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> M = np.diag([2.0, -1.0, -1.0, -1.0])  # one positive eigenvalue, r = 2 asked
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fit = sc.closed_form.contrastive_fit_from_matrix(M, 2)
    >>> [w.category.__name__ for w in caught]
    ['RankDeficientWarning']
    >>> int(np.linalg.matrix_rank(fit.W))  # the second direction has weight sqrt(max(mu, 0)) = 0
    1
    """


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before meeting its tolerance."""


class DivergenceError(ArithmeticError):
    """An iterative solver produced a non-finite loss or diverging iterates."""


class CorruptCellWarning(UserWarning):
    """A saved cell file failed its check (unreadable, foreign or altered) and is computed again."""
