"""Warning classes raised by spikedcl."""

__all__ = ["SpikedModelWarning", "RankDeficientWarning", "ConvergenceWarning", "DivergenceError", "CorruptCellWarning"]


class SpikedModelWarning(UserWarning):
    """A setting outside the regime of the theory (n > d >> r, incoherent U*)."""


class RankDeficientWarning(UserWarning):
    """A fitted representation has fewer than r positive directions."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before meeting its tolerance."""


class DivergenceError(ArithmeticError):
    """An iterative solver produced a non-finite loss or diverging iterates."""


class CorruptCellWarning(UserWarning):
    """A saved cell file failed its check (unreadable, foreign or altered) and is computed again."""
