"""The data draw of the spiked-model experiments: one model, sample and task per replicate.

:func:`draw_spiked` is the ``draw`` hook of every experiment on the masked
spiked model (the subspace experiment and the systems' head-to-head
experiments): the replicate seed's first child draws the model (Haar
:math:`U^\\star`, noise profile of condition number ``C``), the ``n`` samples
and the regression task :math:`w^\\star`, in that order; its second child
seeds the methods (masks and initialisation). Every method of the replicate
sees this one draw.

:func:`draw_spiked_streamed` is the same draw without the ``(n, d)`` sample
matrix: the samples are drawn chunk by chunk from the same random numbers and
reduced to the statistics the methods fit from, and the task is drawn after
them from the generator left exactly where the in-memory draw leaves it.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._array_api import namespace_for, to_namespace
from .._typing import Array
from ..data import NOISE_PROFILES, SpikedModel
from ..downstream import draw_task
from ..exceptions import SpikedModelWarning
from ..stats import ViewStatistics
from ..streaming import StatisticsRequest, streamed_statistics
from .base import REQUIRED, Param, seed_children

__all__ = ["SpikedDraw", "ReplicateContext", "draw_spiked", "draw_spiked_streamed", "draw_spiked_moments",
           "spiked_params"]


@dataclass(frozen=True)
class SpikedDraw:
    """One replicate's data on the spiked model.

    Parameters
    ----------
    model : SpikedModel
        The model (:math:`U^\\star` of shape (d, r), noise variances).
    X : array of shape (n, d) or None
        Samples, in the cell's namespace and dtype (``None`` for a streamed draw).
    w : numpy.ndarray of shape (r,)
        Regression task :math:`w^\\star`.
    fit_seed : numpy.random.SeedSequence
        Seed of the methods' masks and initialisation.
    statistics : dict, optional
        A streamed draw's statistics by key (:func:`draw_spiked_streamed`); ``None`` in memory.
    """

    model: SpikedModel
    X: Array | None
    w: np.ndarray
    fit_seed: np.random.SeedSequence
    statistics: dict[Hashable, Any] | None = None


class ReplicateContext:
    """What the methods of one replicate fit from: the resolved cell and the replicate's draw.

    The experiments' method contexts extend it (the subspace experiment's
    ``FitContext``, the systems' ``SpikedContext``).

    Parameters
    ----------
    P : dict
        Resolved parameters (``P["r"]`` is the representation dimension).
    draw : SpikedDraw
        The replicate's data.

    Attributes
    ----------
    X, model, w, r : the samples (``None`` when streamed), model, task and representation dimension.
    statistics : dict or None
        The streamed draw's statistics by key.
    """

    def __init__(self, P: dict[str, Any], draw: SpikedDraw) -> None:
        self.P, self.draw = P, draw
        self.X, self.model, self.w, self.r = draw.X, draw.model, draw.w, int(P["r"])
        self.statistics = draw.statistics


def spiked_params(
    *,
    C: float = 8.0,
    noise: str = "uniform",
    required: bool = False,
    n_low: int = 2,
    sizes_required: bool = True,
    C_low: float = 1.0,
    C_open: bool = False,
) -> tuple[Param, ...]:
    """Declared parameters of the spiked model: ``n``, ``d``, ``r``, ``C``, ``noise``.

    Parameters
    ----------
    C, noise : default values
        Defaults of the condition number and the noise profile (ignored with ``required``).
    required : bool, default=False
        Make ``C`` and ``noise`` required.
    n_low : int, default=2
        Smallest sample size.
    sizes_required : bool, default=True
        Make ``n``, ``d`` and ``r`` required (else optional, ``None`` by
        default, for experiments whose tasks need them only sometimes).
    C_low : float, default=1.0
        Smallest condition number.
    C_open : bool, default=False
        Exclude ``C_low`` itself.

    Returns
    -------
    tuple of Param
        The declarations (``r`` in [1, d - 1] is checked by the experiment).
    """
    size = REQUIRED if sizes_required else None
    return (
        Param("n", int, size, low=n_low, doc="samples"),
        Param("d", int, size, low=2, doc="ambient dimension"),
        Param("r", int, size, low=1, doc="spike rank = representation dimension (in [1, d - 1])"),
        Param("C", float, REQUIRED if required else C, low=C_low, open_low=C_open, doc="noise condition number"),
        Param("noise", str, REQUIRED if required else noise, choices=NOISE_PROFILES, doc="noise profile"),
    )


def _replicate_model(P, seed):
    """The replicate's model from its data generator, that generator (left after the model) and the fit seed."""
    data_seed, fit_seed = seed_children(seed, 2)
    rng = np.random.default_rng(data_seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        model = SpikedModel.random(int(P["d"]), int(P["r"]), noise=P["noise"], condition=float(P["C"]), rng=rng)
    return model, rng, fit_seed


def draw_spiked(P: dict[str, Any], seed: np.random.SeedSequence) -> SpikedDraw:
    """Model, samples (in ``P``'s device and dtype), task and fit seed of one replicate.

    Parameters
    ----------
    P : dict
        Resolved parameters: ``n``, ``d``, ``r``, ``C``, ``noise``, ``device``, ``dtype``.
    seed : numpy.random.SeedSequence
        The replicate's seed (not modified).

    Returns
    -------
    SpikedDraw
        The replicate's data.
    """
    model, rng, fit_seed = _replicate_model(P, seed)
    xp, device = namespace_for(P["device"], P["dtype"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        X = model.sample(int(P["n"]), rng=rng, xp=xp, device=device, dtype=getattr(xp, P["dtype"]))
    return SpikedDraw(model, X, draw_task(int(P["r"]), rng=rng), fit_seed)


def draw_spiked_moments(P: dict[str, Any], seed: np.random.SeedSequence, key: Hashable) -> SpikedDraw:
    """The replicate's model with the sufficient statistics of ``n`` samples drawn directly, in O(d³).

    The model comes from the data generator as in :func:`draw_spiked`, so a
    cell's models are those of the data sampler; ``(XᵀX, Xᵀ1)`` are drawn by
    :meth:`spikedcl.SpikedModel.sample_moments` from the seed's third child, a
    stream of its own: they have the law of the data sampler's statistics but
    are other draws (the data sampler's samples are not reproduced), and the
    task :math:`w^\\star` is drawn from the data generator right after the model.

    Parameters
    ----------
    P : dict
        Resolved parameters: ``n``, ``d``, ``r``, ``C``, ``noise``, ``device``, ``dtype``.
    seed : numpy.random.SeedSequence
        The replicate's seed (not modified).
    key : hashable
        Key of the statistics in the draw's ``statistics``.

    Returns
    -------
    SpikedDraw
        With ``X = None`` and ``statistics = {key: ViewStatistics(n, gram=XᵀX, total=Xᵀ1)}``.
    """
    model, rng, fit_seed = _replicate_model(P, seed)
    moments_seed = seed_children(seed, 3)[2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        gram, total = model.sample_moments(int(P["n"]), rng=np.random.default_rng(moments_seed))
    xp, device = namespace_for(P["device"], P["dtype"])
    dtype = getattr(xp, P["dtype"])
    stats = ViewStatistics(int(P["n"]), gram=to_namespace(gram, xp, device=device, dtype=dtype),
                           total=to_namespace(total, xp, device=device, dtype=dtype))
    return SpikedDraw(model, None, draw_task(int(P["r"]), rng=rng), fit_seed, {key: stats})


def draw_spiked_streamed(
    P: dict[str, Any],
    seed: np.random.SeedSequence,
    needs: Mapping[Hashable, tuple[Any, ...]],
    *,
    p: float,
    chunk_size: int,
) -> SpikedDraw:
    """The draw of :func:`draw_spiked` reduced to statistics: the sample matrix is never built.

    The model comes from the data generator as in :func:`draw_spiked`; the
    ``n`` samples are drawn in chunks of ``chunk_size`` rows from the same
    random numbers (:func:`spikedcl.streaming.streamed_statistics`) and the
    task :math:`w^\\star` is drawn afterwards from the generator left where
    ``model.sample`` leaves it, so model, task and fit seed equal those of
    :func:`draw_spiked`. Each request with a mask law draws its masks from a
    fresh generator of the fit seed, as each method does in memory.

    Parameters
    ----------
    P : dict
        Resolved parameters: ``n``, ``d``, ``r``, ``C``, ``noise``, ``device``, ``dtype``.
    seed : numpy.random.SeedSequence
        The replicate's seed (not modified).
    needs : mapping of hashable to tuple
        ``key -> (fields, law)``: the :class:`~spikedcl.stats.ViewStatistics`
        fields to accumulate and the mask law of the views (``None`` for the
        unmasked ``gram`` and ``total``).
    p : float
        Masking probability of the views, in ``(0, 1)``.
    chunk_size : int
        Rows per chunk, ``>= 1``.

    Returns
    -------
    SpikedDraw
        With ``X = None`` and ``statistics`` mapping each key to its
        :class:`~spikedcl.stats.ViewStatistics`.
    """
    model, rng, fit_seed = _replicate_model(P, seed)
    xp, device = namespace_for(P["device"], P["dtype"])
    requests = {
        key: StatisticsRequest(frozenset(fields), law=law, p=p if law is not None else None,
                               rng=np.random.default_rng(fit_seed) if law is not None else None)
        for key, (fields, law) in needs.items()
    }
    stats = streamed_statistics(model, int(P["n"]), requests, rng=rng, chunk_size=chunk_size, xp=xp, device=device,
                                dtype=getattr(xp, P["dtype"]))
    return SpikedDraw(model, None, draw_task(int(P["r"]), rng=rng), fit_seed, stats)
