"""Validated, frozen options of the public fits (checked once, at the public boundary).

The public functions turn their keyword arguments into the frozen objects
below; private layers (statistics, forms, mask laws, solvers) take those
objects and the array namespace and check nothing again.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from ._typing import Array, Namespace
from ._validation import check_choice, check_data, check_int, check_positive, check_unit_interval
from .augment import MaskLaw, get_mask_law
from .exceptions import SpikedModelWarning
from .forms import BatchForm, get_form

__all__ = [
    "CL_MASKS",
    "GD_OPTIONS",
    "MINIBATCH_OPTIONS",
    "ContrastiveOptions",
    "SolverOptions",
    "contrastive_options",
    "solver_options",
    "check_fit_data",
    "check_bool",
]

CL_MASKS = ("realized", "expected")
#: The ``masks=`` choices of the contrastive fits.
MasksChoice = Literal["realized", "expected"]
#: Options accepted by ``solver_options`` of the gradient-descent fits.
GD_OPTIONS = ("step", "max_iter", "tol_grad", "tol_rel", "backtracking", "init_scale", "monitor")
#: Options accepted by ``solver_options`` of the minibatch fits.
MINIBATCH_OPTIONS = ("batch_size", "epochs", "lr", "schedule", "tol_rel", "init_scale", "monitor")


@dataclass(frozen=True)
class ContrastiveOptions:
    """The validated options of a contrastive fit (docs/model.md §3).

    Parameters
    ----------
    p : float
        Masking probability in ``(0, 1)``.
    lam : float
        Regularisation :math:`\\lambda > 0`.
    masks : {"realized", "expected"}
        Realized views or the mask average.
    form : BatchForm
        Batch form (``loss=``).
    law : MaskLaw
        Mask law (``mask_mode=``).
    """

    p: float
    lam: float
    masks: MasksChoice
    form: BatchForm
    law: MaskLaw

    @property
    def loss(self) -> str:
        """Name of the batch form."""
        return self.form.name

    @property
    def mask_mode(self) -> str:
        """Name of the mask law."""
        return self.law.name

    @property
    def pair_moment(self) -> float | None:
        """The law's pair moment ``q`` for the mask average (``None`` for realized masks)."""
        return self.law.pair_moment(self.p, None) if self.masks == "expected" else None

    def info(self) -> dict[str, Any]:
        """The options as stored in ``FitResult.info``."""
        return {"p": self.p, "lam": self.lam, "masks": self.masks, "loss": self.loss, "mask_mode": self.mask_mode}


def contrastive_options(
    p: float = 0.5,
    lam: float = 1.0,
    masks: MasksChoice = "realized",
    loss: str | BatchForm = "cross-view",
    mask_mode: str | MaskLaw = "per-sample",
    d: int | None = None,
) -> ContrastiveOptions:
    """Check the options shared by the contrastive fits.

    Parameters
    ----------
    p : float, default=0.5
        Masking probability in ``(0, 1)``.
    lam : float, default=1.0
        Regularisation :math:`\\lambda > 0`.
    masks : {"realized", "expected"}, default="realized"
        ``"expected"`` needs a law with a mask average (``"per-sample"``).
    loss : str or BatchForm, default="cross-view"
        A registered batch form.
    mask_mode : str or MaskLaw, default="per-sample"
        A registered mask law.
    d : int, optional
        Dimension, for the law's own check of ``p`` (e.g. ``floor(p d) >= 1``).

    Returns
    -------
    ContrastiveOptions
        The frozen options.
    """
    p = check_unit_interval(p, "p")
    lam = check_positive(lam, "lam")
    check_choice(masks, "masks", CL_MASKS)
    form = get_form(loss)
    law = get_mask_law(mask_mode)
    if masks == "expected" and law.pair_moment(p, d) is None:
        raise ValueError(
            "masks='expected' averages iid per-sample masks; use mask_mode='per-sample' "
            f"or masks='realized' (got mask_mode={law.name!r})"
        )
    if d is not None and masks == "realized":
        law.check(p, d)
    return ContrastiveOptions(p, lam, masks, form, law)


@dataclass(frozen=True)
class SolverOptions:
    """Validated ``solver_options`` of an iterative solver (a read-only mapping).

    Parameters
    ----------
    values : mapping
        Option name to value, keys among the allowed ones.
    """

    values: Mapping[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        """The option ``key`` (or ``default``)."""
        return self.values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def as_dict(self) -> dict[str, Any]:
        """A mutable copy of the options."""
        return dict(self.values)


def solver_options(
    options: Mapping[str, Any] | SolverOptions | None, allowed: tuple[str, ...] = GD_OPTIONS
) -> SolverOptions:
    """Check ``solver_options``: ``None`` or a mapping whose keys are in ``allowed``.

    Parameters
    ----------
    options : None, mapping or SolverOptions
        The options (a :class:`SolverOptions` is already checked and returned as is).
    allowed : tuple of str, default=GD_OPTIONS
        Accepted keys.

    Returns
    -------
    SolverOptions
        The frozen, checked options.
    """
    if isinstance(options, SolverOptions):
        return options
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise TypeError(
            f"solver_options must be None or a dict with keys among {', '.join(allowed)}; "
            f"got {type(options).__name__} {options!r}"
        )
    options = dict(options)
    unknown = set(options) - set(allowed)
    if unknown:
        raise ValueError(f"unknown solver_options {sorted(unknown)}; allowed: {', '.join(allowed)}")
    if "max_iter" in options:
        options["max_iter"] = check_int(options["max_iter"], "max_iter", low=0)
    for key in ("step", "init_scale"):
        if key in options:
            options[key] = check_positive(options[key], key)
    if "monitor" in options and not callable(options["monitor"]):
        raise TypeError(f"solver_options['monitor'] must be callable, got {options['monitor']!r}")
    return SolverOptions(MappingProxyType(options))


def check_bool(value: bool, name: str) -> bool:
    """Check that ``value`` is ``True`` or ``False`` (not a truthy string or number)."""
    if value is not True and value is not False:
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_fit_data(
    X: Array, name: str = "X", *, finite: bool = True, batched: bool = False
) -> tuple[Namespace, Array]:
    """Check the data of a fit: (n, d), or (R, n, d) with ``batched``; warn when ``n < d``.

    With ``finite=False`` the caller checks the statistic instead (a non-finite
    entry of ``X`` makes a statistic non-finite), which saves a pass over ``X``.

    Parameters
    ----------
    X : array-like
        The data.
    name : str, default="X"
        Parameter name for the messages.
    finite : bool, default=True
        Scan ``X`` for NaN and infinite entries.
    batched : bool, default=False
        ``X`` has a leading replicate axis.

    Returns
    -------
    xp : namespace
        The array namespace of ``X``.
    X : array
        The checked data.

    Warns
    -----
    SpikedModelWarning
        When ``n < d``: fewer samples than features, as for a transposed ``X``.
    """
    check_bool(batched, "batched")
    if batched:
        xp, X = check_data(X, name, ndim=3, finite=finite)
        if X.shape[-2] < 2:
            raise ValueError(f"{name} must have at least 2 rows (samples) per replicate, got n={X.shape[-2]}")
    else:
        xp, X = check_data(X, name, finite=finite)
    n, d = X.shape[-2:]
    if n < d:
        warnings.warn(
            f"{name} has n={n} rows (samples) and d={d} columns (features): the fits expect "
            f"{name} of shape (n_samples, n_features) with n > d; pass {name}.T if it is transposed",
            SpikedModelWarning,
            stacklevel=3,
        )
    return xp, X
