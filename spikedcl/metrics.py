"""Subspace distances (docs/model.md §5) and the metric registry of the sweep experiments.

:func:`sin_theta` and :func:`principal_angles` compare column spaces only: they
orthonormalise their inputs and never look at individual eigenvector entries,
so they are invariant to any change of basis :math:`U \\to U G` with
:math:`G` invertible.

The registry :data:`METRICS` maps a metric name to a function of a
:class:`Representation` (what one fitted method produced in one replicate:
its basis, encoder, the replicate's model, task and samples). Every experiment
that produces a representation (the subspace experiment and the spiked-model
systems experiments) accepts any registered metric by name, so a new metric is
one function::

    from spikedcl.metrics import register_metric

    @register_metric("top_cosine", needs=("basis", "model"))
    def top_cosine(rep):
        return float(abs(rep.model.U[:, 0] @ rep.basis[:, 0]))

A metric returns a float, or ``None`` when it is undefined for that
representation (then no row is written).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._array_api import to_numpy
from ._linalg import orthonormalize
from ._registry import Registry
from ._typing import Array
from ._validation import check_choice, check_data
from .data import SpikedModel
from .downstream import excess_risk

__all__ = [
    "sin_theta",
    "principal_angles",
    "METRICS",
    "Metric",
    "Representation",
    "register_metric",
    "metric_rows",
    "check_metrics",
]

SIN_THETA_NORMS = ("fro", "op")


def _bases(U, V):
    xp, U = check_data(U, "U", min_rows=1)
    _, V = check_data(V, "V", min_rows=1)
    if U.shape != V.shape:
        raise ValueError(
            f"U and V must both have shape (d, r) with the same r, got {tuple(U.shape)} "
            f"and {tuple(V.shape)} (sinΘ is undefined for subspaces of different dimension)"
        )
    if U.shape[1] > U.shape[0]:
        raise ValueError(f"U and V must have shape (d, r) with r <= d, got {tuple(U.shape)}")
    return xp, orthonormalize(U, "U"), orthonormalize(V, "V")


def _sines_cosines(U, V):
    xp, Qu, Qv = _bases(U, V)
    C = Qu.mT @ Qv
    # residual of V outside span(U): its singular values are the sines, accurate
    # for small angles where 1 - cos^2 would cancel
    R = Qv - Qu @ C
    return xp, xp.linalg.svdvals(R), xp.linalg.svdvals(C)


def sin_theta(U: Array, V: Array, *, norm: Literal["fro", "op"] = "fro") -> Array:
    """Norm of :math:`\\sin\\Theta(U, V)` between the column spaces of ``U`` and ``V``.

    .. math::

        \\|\\sin\\Theta\\|_F = \\|U_\\perp^\\top \\hat V\\|_F = \\tfrac{1}{\\sqrt2}\\|P_U - P_V\\|_F \\in [0, \\sqrt r],
        \\qquad \\|\\sin\\Theta\\| = \\sqrt{1 - \\sigma_{\\min}(U^\\top V)^2} \\in [0, 1].

    Parameters
    ----------
    U : array of shape (d, r)
        Basis of the first subspace (need not be orthonormal; full column rank,
        else :class:`ValueError`: pass ``fit.basis``, not a rank-deficient ``W.T``).
    V : array of shape (d, r)
        Basis of the second subspace, same shape.
    norm : {"fro", "op"}, default="fro"
        Frobenius or spectral norm.

    Returns
    -------
    array of shape ()
        The distance; symmetric in ``U`` and ``V``, zero on equal spans (to
        rounding), invariant under ``U -> U G`` for invertible ``G``.

    Notes
    -----
    docs/model.md §5. The sines are the singular values of :math:`(I - Q_U Q_U^\\top) Q_V`,
    which keeps full relative accuracy for nearly equal subspaces.

    Examples
    --------
    Two planes of R^4 at a principal angle of 30 degrees:

    >>> import numpy as np
    >>> import spikedcl as sc
    >>> U = np.eye(4)[:, :2]
    >>> V = np.array([[1.0, 0.0], [0.0, np.cos(np.pi / 6)], [0.0, np.sin(np.pi / 6)], [0.0, 0.0]])
    >>> round(float(sc.sin_theta(U, V)), 3), round(float(sc.sin_theta(U, V, norm="op")), 3)
    (0.5, 0.5)
    >>> round(float(sc.sin_theta(U, U @ np.array([[2.0, 1.0], [0.0, 3.0]]))), 3)  # same span, other basis
    0.0
    """
    check_choice(norm, "norm", SIN_THETA_NORMS)
    xp, sines, _ = _sines_cosines(U, V)
    sines = xp.clip(sines, max=1.0)
    if norm == "fro":
        return xp.sqrt(xp.sum(sines**2))
    return xp.max(sines)


def principal_angles(U: Array, V: Array) -> Array:
    """Principal angles between the column spaces of ``U`` and ``V``, ascending.

    Parameters
    ----------
    U : array of shape (d, r)
        Basis of the first subspace.
    V : array of shape (d, r)
        Basis of the second subspace, same shape.

    Returns
    -------
    array of shape (r,)
        Angles in :math:`[0, \\pi/2]`, ascending. Small angles come from the
        sines and large ones from the cosines, for accuracy over the whole range
        (as :func:`scipy.linalg.subspace_angles`).

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> U = np.eye(4)[:, :2]
    >>> V = np.array([[1.0, 0.0], [0.0, np.cos(np.pi / 6)], [0.0, np.sin(np.pi / 6)], [0.0, 0.0]])
    >>> np.round(np.degrees(sc.principal_angles(U, V)), 6)
    array([ 0., 30.])
    """
    xp, sines, cosines = _sines_cosines(U, V)
    from_sin = xp.flip(xp.asin(xp.clip(sines, max=1.0)))  # ascending angles
    from_cos = xp.acos(xp.clip(cosines, min=0.0, max=1.0))  # ascending angles
    use_sin = from_sin < (math.pi / 4)
    return xp.where(use_sin, from_sin, from_cos)



# --------------------------------------------------------------------------- registry

#: What a :class:`Representation` may provide, for :attr:`Metric.needs`.
REPRESENTATION_FIELDS = ("basis", "W", "X", "model", "w", "rng")


@dataclass(frozen=True)
class Metric:
    """A registered metric of a representation.

    Parameters
    ----------
    name : str
        Metric name in configurations and result rows.
    fn : callable
        ``fn(rep) -> float or None`` on a :class:`Representation`.
    needs : tuple of str
        Fields of the representation the metric reads (of
        :data:`REPRESENTATION_FIELDS`); an experiment refuses a metric whose
        needs it cannot provide.
    doc : str
        One line for listings.
    """

    name: str
    fn: Callable[[Representation], float | None]
    needs: tuple[str, ...] = ("basis",)
    doc: str = ""


#: Registered metrics by name (filled by :func:`register_metric`).
METRICS = Registry("metric")


def register_metric(
    name: str, *, needs: Iterable[str] = ("basis",), doc: str | None = None, replace: bool = False
) -> Callable[[Callable[[Representation], float | None]], Callable[[Representation], float | None]]:
    """Decorator: register ``fn(rep) -> float or None`` as the metric ``name``.

    Parameters
    ----------
    name : str
        Metric name.
    needs : tuple of str, default=("basis",)
        Fields of :class:`Representation` the metric reads.
    doc : str, optional
        One-line description (default: the first line of the docstring).
    replace : bool, default=False
        Allow replacing a metric registered under ``name`` by another function.

    Returns
    -------
    callable
        The decorator, which returns the function unchanged.

    Raises
    ------
    ValueError
        For an unknown field in ``needs`` or a name already taken.

    Examples
    --------
    >>> import spikedcl as sc
    >>> from spikedcl.metrics import METRICS, Representation, metric_rows, register_metric
    >>> @register_metric("top_cosine", needs=("basis", "model"), doc="|cos| of the first directions")
    ... def top_cosine(rep):
    ...     return float(abs(rep.model.U[:, 0] @ rep.basis[:, 0]))
    >>> model = sc.SpikedModel.random(40, 2, rng=0)
    >>> rep = Representation(basis=model.U, model=model)
    >>> [(row["metric"], round(row["value"], 3)) for row in metric_rows("oracle", rep, ["sin_theta", "top_cosine"])]
    [('sin_theta', 0.0), ('top_cosine', 1.0)]
    >>> del METRICS["top_cosine"]  # unregister (leaves the registry as it was)
    """
    needs = tuple(needs)
    unknown = [n for n in needs if n not in REPRESENTATION_FIELDS]
    if unknown:
        raise ValueError(f"needs {unknown} must be fields of Representation: {REPRESENTATION_FIELDS}")

    def decorator(fn):
        if not callable(fn):
            raise TypeError(f"register_metric decorates a function rep -> float, got {fn!r}")
        line = doc if doc is not None else (fn.__doc__ or "").strip().split("\n")[0]
        METRICS.add(name, Metric(name, fn, needs, line), replace=replace)
        return fn

    return decorator


@dataclass
class Representation:
    """What one method produced in one replicate, for the registered metrics.

    Parameters
    ----------
    basis : numpy.ndarray of shape (d, r)
        Basis of the learned subspace (host, float64).
    W : numpy.ndarray of shape (k, d), optional
        The encoder, when the method has one.
    X : array of shape (n, d), optional
        The replicate's samples (any namespace; metrics move them to the host).
    model : SpikedModel, optional
        The replicate's model (:math:`U^\\star`, noise).
    w : numpy.ndarray of shape (r,), optional
        The replicate's regression task.
    rng : numpy.random.Generator, optional
        Generator of the held-out masked views of :meth:`views`.
    mask_prob : float, default=0.5
        Keep probability of those views.
    """

    basis: np.ndarray
    W: np.ndarray | None = None
    X: Array | None = None
    model: SpikedModel | None = None
    w: np.ndarray | None = None
    rng: np.random.Generator | None = None
    mask_prob: float = 0.5
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def provides(self, needs: Iterable[str]) -> bool:
        """Whether every field named in ``needs`` is set."""
        return all(getattr(self, n) is not None for n in needs)

    def host_samples(self) -> np.ndarray:
        """The samples on the host in float64, converted once."""
        if "X" not in self.cache:
            self.cache["X"] = np.asarray(to_numpy(self.X), dtype=np.float64)
        return self.cache["X"]

    def views(self, draw: Callable[..., tuple[Array, Array]], m: int) -> tuple[np.ndarray, np.ndarray]:
        """Two views of the first ``m`` samples, drawn once by ``draw(X[:m], p, rng)`` and cached.

        Parameters
        ----------
        draw : callable
            ``draw(X, p, rng) -> (X1, X2)``, e.g. :func:`spikedcl.augment.split_views`.
        m : int
            Rows used (the first ``m`` samples).

        Returns
        -------
        tuple of numpy.ndarray of shape (min(m, n), d)
            The two views.
        """
        if "views" not in self.cache:
            X = self.host_samples()
            self.cache["views"] = draw(X[: min(m, X.shape[0])], self.mask_prob, self.rng)
        return self.cache["views"]


def check_metrics(names: Iterable[str], provides: Sequence[str], where: str = "metrics") -> tuple[str, ...]:
    """Check metric names against the registry and what a representation provides.

    Parameters
    ----------
    names : list of str
        Requested metrics.
    provides : tuple of str
        Fields of :class:`Representation` the experiment fills.
    where : str, default="metrics"
        Parameter name for the messages.

    Returns
    -------
    tuple of str
        ``names`` as a tuple.

    Raises
    ------
    ValueError
        For a name that is not registered or whose needs are not provided.
    """
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise TypeError(f"{where} must be a list of metric names, got {names!r}")
    usable = [n for n, m in METRICS.items() if set(m.needs) <= set(provides)]
    for name in names:
        if name not in usable:
            allowed = ", ".join(repr(n) for n in usable)
            raise ValueError(f"{where} must hold names among {allowed}; got {name!r}")
    return tuple(names)


def metric_rows(method: str, rep: Representation, names: Sequence[str]) -> list[dict[str, Any]]:
    """One row per defined metric: ``{"method", "metric", "value"}``.

    Parameters
    ----------
    method : str
        Method name written in the rows.
    rep : Representation
        The representation.
    names : sequence of str
        Registered metric names, in row order.

    Returns
    -------
    list of dict
        Rows of the metrics that returned a value (``None`` skips one).
    """
    rows = []
    for name in names:
        value = METRICS.lookup(name, "metrics").fn(rep)
        if value is not None:
            rows.append({"method": method, "metric": name, "value": float(value)})
    return rows


@register_metric("sin_theta", needs=("basis", "model"))
def _sin_theta_metric(rep):
    """:math:`\\|\\sin\\Theta(U^\\star, \\hat U)\\|_F` of the learned subspace."""
    return sin_theta(rep.model.U, rep.basis)


@register_metric("excess_risk", needs=("basis", "model", "w"))
def _excess_risk_metric(rep):
    """Downstream excess risk :math:`\\Delta R_{U^\\star}` (docs/model.md §6)."""
    return excess_risk(rep.basis, rep.model, rep.w)


@register_metric("excess_risk_linear", needs=("basis", "model", "w"))
def _excess_risk_linear_metric(rep):
    """Downstream excess risk over the linear oracle, :math:`\\Delta R_{lin}` (docs/model.md §6)."""
    return excess_risk(rep.basis, rep.model, rep.w, reference="linear")
