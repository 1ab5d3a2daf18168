"""Streaming sufficient statistics: fits for huge ``n`` in memory independent of ``n``.

Every closed form of docs/model.md §3–§4 depends on the data only through a few
``d x d`` and ``d``-vector sums over samples:

.. math::

    G = \\sum_i x_i x_i^\\top, \\quad s = \\sum_i x_i, \\quad
    C_{12} = \\sum_i x^{(1)}_i x^{(2)\\top}_i, \\quad s_1 = \\sum_i x^{(1)}_i.

:func:`streamed_moments` draws the samples (and their masks) chunk by chunk
and accumulates these sums, so memory is :math:`O(d^2 + \\text{chunk}\\cdot d)`
whatever ``n``. The statistics then give the same matrices (``M``, :math:`\\bar M`,
:math:`\\hat\\Sigma_0`) as the in-memory path: with ``rng`` and ``mask_rng``
as in ``X = model.sample(n, rng=rng)``, ``fit_contrastive(X, r, rng=mask_rng)``
the results agree to rounding, for every chunk size.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ._array_api import device_of, get_namespace
from ._typing import Device, Namespace, RNGLike
from ._validation import check_choice, check_int, check_rank, check_unit_interval
from .augment import MaskLaw, get_mask_law
from .closed_form import principal_fit_from_moment, solve_contrastive
from .data import GENERATORS, SpikedModel, namespace_generator
from .eigensolvers import EIGENSOLVERS, EigensolverChoice
from .forms import BatchForm
from .options import MasksChoice, check_bool, contrastive_options
from .random import check_rng
from .results import FitResult
from .stats import StatisticsAccumulator, ViewStatistics

__all__ = [
    "StreamedMoments",
    "streamed_moments",
    "fit_contrastive_streamed",
    "fit_pca_streamed",
    "chunk_size_for",
    "DEFAULT_MEMORY_LIMIT",
    "StatisticsRequest",
    "streamed_statistics",
]

#: Default working-set budget of :func:`streamed_moments` in bytes (256 MiB).
DEFAULT_MEMORY_LIMIT = 256 * 2**20

# float64 arrays of shape (chunk, d) alive at once while a chunk is reduced:
# noise, X, mask uniforms (and the bool mask), X1, X2.
_CHUNK_ARRAYS = 6
# d x d accumulators (G, C12) and the matrices built from them.
_SQUARE_ARRAYS = 4


def chunk_size_for(n: int, d: int, memory_limit: int = DEFAULT_MEMORY_LIMIT, *, itemsize: int = 8) -> int:
    """Largest chunk whose working set fits in ``memory_limit`` bytes.

    Parameters
    ----------
    n : int
        Number of samples, ``n >= 2``.
    d : int
        Dimension, ``d >= 2``.
    memory_limit : int, default=268435456
        Budget in bytes for the chunk arrays plus the ``d x d`` accumulators.
    itemsize : int, default=8
        Bytes per entry (8 for float64, 4 for float32).

    Returns
    -------
    int
        Rows per chunk, in ``[1, n]``.

    Raises
    ------
    ValueError
        When the budget cannot hold the ``d x d`` statistics and one row.

    Examples
    --------
    >>> from spikedcl.streaming import chunk_size_for
    >>> chunk_size_for(10**6, 1000)  # rows of d = 1000 that fit in 256 MiB with the d x d sums
    4925
    >>> chunk_size_for(100, 10)  # everything fits: one chunk
    100
    """
    n = check_int(n, "n", low=2)
    d = check_int(d, "d", low=2)
    memory_limit = check_int(memory_limit, "memory_limit", low=1)
    itemsize = check_int(itemsize, "itemsize", low=1)
    fixed = _SQUARE_ARRAYS * d * d * itemsize
    per_row = _CHUNK_ARRAYS * d * itemsize
    if memory_limit < fixed + per_row:
        raise ValueError(
            f"memory_limit must be at least {fixed + per_row} bytes for d={d} "
            f"({_SQUARE_ARRAYS} d x d statistics and one row of {_CHUNK_ARRAYS} chunk arrays), got {memory_limit}"
        )
    return min(n, (memory_limit - fixed) // per_row)


#: The statistics of :func:`streamed_moments` (:class:`spikedcl.stats.ViewStatistics`):
#: ``gram``, ``total`` and, with views, ``cross``, ``total1``, ``total2``; methods
#: ``second_moment(center)`` and ``contrastive_matrix(loss, masks, p)``.
StreamedMoments = ViewStatistics


def streamed_moments(
    model: SpikedModel,
    n: int,
    *,
    rng: RNGLike = None,
    mask_rng: RNGLike = None,
    p: float = 0.5,
    mask_mode: str | MaskLaw = "per-sample",
    views: bool = True,
    chunk_size: int | None = None,
    memory_limit: int | None = None,
    xp: Namespace | None = None,
    device: Device = None,
    dtype: Any = None,
    generator: Literal["host", "device"] = "host",
) -> StreamedMoments:
    """Draw ``n`` samples chunk by chunk and accumulate their sufficient statistics.

    .. math::

        G = \\sum_{c} X_c^\\top X_c,\\quad s = \\sum_c X_c^\\top 1,\\quad
        C_{12} = \\sum_c X_{1,c}^\\top X_{2,c},\\quad s_1 = \\sum_c X_{1,c}^\\top 1

    over chunks :math:`X_c` of :meth:`SpikedModel.sample_chunks`.

    Parameters
    ----------
    model : SpikedModel
        The data model (docs/model.md §1).
    n : int
        Number of samples, ``n >= 2``.
    rng : None, int or numpy.random.Generator, optional
        Data generator, consumed exactly as ``model.sample(n, rng=rng)``.
    mask_rng : None, int or numpy.random.Generator, optional
        Mask generator, consumed exactly as ``fit_contrastive(X, r, rng=mask_rng)``
        consumes it (default: a child spawned from ``rng``).
    p : float, default=0.5
        Masking probability in ``(0, 1)``.
    mask_mode : {"per-sample", "fixed", "fixed-bernoulli", "exact-count"}, default="per-sample"
        Mask law (:func:`spikedcl.draw_mask`); a fixed mask is drawn once.
    views : bool, default=True
        Accumulate the realized-view statistics :math:`C_{12}, s_1` (one more
        ``d x chunk x d`` product per chunk); not needed for PCA or :math:`\\bar M`.
    chunk_size : int, optional
        Rows per chunk, in ``[1, n]`` (default from ``memory_limit``).
    memory_limit : int, optional
        Working-set budget in bytes (default 256 MiB), used when ``chunk_size`` is not given.
    xp : array namespace, optional
        Namespace in which chunks are reduced (default NumPy); the statistics live there.
    device : object, optional
        Device of the statistics.
    dtype : dtype, optional
        Floating dtype (default float64).
    generator : {"host", "device"}, default="host"
        ``"device"`` draws data and per-sample masks in ``xp``'s own generator
        (no host draw, no transfer; not bit-identical to the host path).

    Returns
    -------
    StreamedMoments
        The statistics; ``info`` records ``p``, ``mask_mode``, ``chunk_size``, ``n_chunks``.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> mom = sc.streamed_moments(model, 2000, rng=1, chunk_size=500)
    >>> mom.info["n_chunks"], mom.gram.shape
    (4, (60, 60))
    >>> X = model.sample(2000, rng=1)  # the same rows, held in memory at once
    >>> bool(np.allclose(mom.second_moment(False), sc.second_moment(X)))
    True
    """
    if not isinstance(model, SpikedModel):
        raise TypeError(f"model must be a SpikedModel, got {type(model).__name__}")
    n = check_int(n, "n", low=2)
    p = check_unit_interval(p, "p")
    law = get_mask_law(mask_mode)
    check_choice(generator, "generator", GENERATORS)
    check_bool(views, "views")
    d = model.d
    if views:
        law.check(p, d)
    chunk_size = _chunk_size(n, d, chunk_size, memory_limit, dtype)
    rng = check_rng(rng)
    mask_rng = rng.spawn(1)[0] if mask_rng is None else check_rng(mask_rng)
    return _stream(model, n, rng, mask_rng, p, law, views, chunk_size, xp, device, dtype, generator)


def _chunk_size(n, d, chunk_size, memory_limit, dtype):
    """Rows per chunk: checked ``chunk_size`` within ``memory_limit``, or the largest that fits."""
    itemsize = 4 if dtype is not None and "32" in str(dtype) else 8
    if chunk_size is None:
        limit = DEFAULT_MEMORY_LIMIT if memory_limit is None else memory_limit
        return chunk_size_for(n, d, limit, itemsize=itemsize)
    chunk_size = check_int(chunk_size, "chunk_size", low=1, high=n)
    if memory_limit is not None:
        need = _SQUARE_ARRAYS * d * d * itemsize + _CHUNK_ARRAYS * d * itemsize * chunk_size
        memory_limit = check_int(memory_limit, "memory_limit", low=1)
        if need > memory_limit:
            raise ValueError(
                f"chunk_size={chunk_size} needs about {need} bytes at d={d}, over memory_limit={memory_limit}; "
                f"use chunk_size <= {chunk_size_for(n, d, memory_limit, itemsize=itemsize)}"
            )
    return chunk_size


def _stream(model, n, rng, mask_rng, p, law, views, chunk_size, xp, device, dtype, generator):
    """:func:`streamed_moments` on validated arguments."""
    device_masks = None
    if generator == "device" and law is get_mask_law("per-sample") and xp is not None:  # device Bernoulli uniforms
        gen = namespace_generator(xp, int(mask_rng.integers(2**63)), device)
        device_masks = _device_uniforms(gen, p)
    need = {"gram", "total"} | ({"cross", "total1", "total2"} if views else set())
    acc = StatisticsAccumulator(need, law=law, p=p, rng=mask_rng, device_masks=device_masks)
    n_chunks = 0
    for Xc in model.sample_chunks(n, chunk_size, rng=rng, xp=xp, device=device, dtype=dtype, generator=generator):
        acc.add(Xc)
        n_chunks += 1
    info = {"p": p, "mask_mode": law.name, "chunk_size": chunk_size, "n_chunks": n_chunks, "generator": generator}
    return acc.result(info)


def _device_uniforms(gen, p):
    """Per-sample Bernoulli(p) masks of the device generator ``gen`` (``generator="device"``)."""
    def draw(shape):
        u = gen.random(shape)
        return get_namespace(u).asarray(u < p, device=device_of(u))
    return draw


def fit_contrastive_streamed(
    model: SpikedModel,
    n: int,
    r: int,
    *,
    p: float = 0.5,
    lam: float = 1.0,
    masks: MasksChoice = "realized",
    loss: str | BatchForm = "cross-view",
    mask_mode: str | MaskLaw = "per-sample",
    rng: RNGLike = None,
    mask_rng: RNGLike = None,
    chunk_size: int | None = None,
    memory_limit: int | None = None,
    xp: Namespace | None = None,
    device: Device = None,
    dtype: Any = None,
    generator: Literal["host", "device"] = "host",
    eigensolver: EigensolverChoice = "auto",
) -> FitResult:
    """Linear contrastive learning on ``n`` streamed samples (docs/model.md §3), memory independent of ``n``.

    Minimises :math:`-\\operatorname{tr}(WMW^\\top) + \\frac{\\lambda}{2}\\|WW^\\top\\|_F^2`
    with ``M`` built from :func:`streamed_moments`; equals
    ``fit_contrastive(model.sample(n, rng=rng), r, rng=mask_rng, ...)`` to rounding.

    Parameters
    ----------
    model : SpikedModel
        The data model.
    n : int
        Number of samples, ``n >= 2``.
    r : int
        Representation dimension, ``1 <= r < d``.
    p : float, default=0.5
        Masking probability in ``(0, 1)``.
    lam : float, default=1.0
        Regularisation :math:`\\lambda > 0`.
    masks : {"realized", "expected"}, default="realized"
        Realized masks or the mask-averaged :math:`\\bar M` (per-sample masks only).
    loss : {"cross-view", "simclr"}, default="cross-view"
        Batch form.
    mask_mode : {"per-sample", "fixed", "fixed-bernoulli", "exact-count"}, default="per-sample"
        Mask law.
    rng : None, int or numpy.random.Generator, optional
        Data generator.
    mask_rng : None, int or numpy.random.Generator, optional
        Mask generator (default: a child spawned from ``rng``).
    chunk_size : int, optional
        Rows per chunk, in ``[1, n]``.
    memory_limit : int, optional
        Working-set budget in bytes (default 256 MiB).
    xp : array namespace, optional
        Namespace of the computation (default NumPy).
    device : object, optional
        Device of the computation.
    dtype : dtype, optional
        Floating dtype (default float64).
    generator : {"host", "device"}, default="host"
        Where samples are drawn (see :meth:`SpikedModel.sample`).
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        Eigensolver for the formed ``d x d`` matrix.

    Returns
    -------
    FitResult
        As :func:`spikedcl.fit_contrastive`; ``info`` adds the streaming details.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> fit = sc.fit_contrastive_streamed(model, 2000, 2, rng=1, mask_rng=2, chunk_size=500)
    >>> fit.method, fit.info["streamed"]["n_chunks"]
    ('contrastive', 4)
    >>> in_memory = sc.fit_contrastive(model.sample(2000, rng=1), 2, rng=2)  # the same data and masks
    >>> round(float(sc.sin_theta(fit.basis, in_memory.basis)), 6)
    0.0
    """
    opts = contrastive_options(p, lam, masks, loss, mask_mode, d=model.d if isinstance(model, SpikedModel) else None)
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    if isinstance(model, SpikedModel):
        r = check_rank(r, model.d)
    mom = streamed_moments(
        model, n, rng=rng, mask_rng=mask_rng, p=opts.p, mask_mode=opts.law, views=opts.masks == "realized",
        chunk_size=chunk_size, memory_limit=memory_limit, xp=xp, device=device, dtype=dtype, generator=generator,
    )
    form = opts.form
    M = mom.form_matrix(form, opts.pair_moment, name="the streamed samples")
    info = {"p": opts.p, "masks": opts.masks, "loss": opts.loss, "mask_mode": opts.mask_mode, "streamed": dict(mom.info)}
    return solve_contrastive(M, r, lam=opts.lam, info=info, eigensolver=eigensolver)


def fit_pca_streamed(
    model: SpikedModel,
    n: int,
    r: int,
    *,
    center: bool = False,
    rng: RNGLike = None,
    chunk_size: int | None = None,
    memory_limit: int | None = None,
    xp: Namespace | None = None,
    device: Device = None,
    dtype: Any = None,
    generator: Literal["host", "device"] = "host",
    eigensolver: EigensolverChoice = "auto",
) -> FitResult:
    """PCA on ``n`` streamed samples (docs/model.md §4): top-``r`` eigenvectors of :math:`\\hat\\Sigma_0 = G/n`.

    .. math::

        \\min_{V^\\top V = I_r} \\frac1n \\|X - X V V^\\top\\|_F^2

    Parameters
    ----------
    model : SpikedModel
        The data model.
    n : int
        Number of samples, ``n >= 2``.
    r : int
        Number of components, ``1 <= r < d``.
    center : bool, default=False
        Centre the columns.
    rng : None, int or numpy.random.Generator, optional
        Data generator, consumed as by ``model.sample(n, rng=rng)``.
    chunk_size : int, optional
        Rows per chunk, in ``[1, n]``.
    memory_limit : int, optional
        Working-set budget in bytes (default 256 MiB).
    xp : array namespace, optional
        Namespace of the computation (default NumPy).
    device : object, optional
        Device of the computation.
    dtype : dtype, optional
        Floating dtype (default float64).
    generator : {"host", "device"}, default="host"
        Where samples are drawn.
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        Eigensolver for the formed ``d x d`` matrix.

    Returns
    -------
    FitResult
        As :func:`spikedcl.fit_pca` on ``model.sample(n, rng=rng)``.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(60, 2, noise="two-block", condition=8.0, rng=0)
    >>> fit = sc.fit_pca_streamed(model, 2000, 2, rng=1, chunk_size=500)
    >>> in_memory = sc.fit_pca(model.sample(2000, rng=1), 2)
    >>> fit.method, round(float(sc.sin_theta(fit.basis, in_memory.basis)), 6)
    ('pca', 0.0)
    """
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    if isinstance(model, SpikedModel):
        check_rank(r, model.d)
    mom = streamed_moments(
        model, n, rng=rng, views=False, chunk_size=chunk_size, memory_limit=memory_limit,
        xp=xp, device=device, dtype=dtype, generator=generator,
    )
    info = {"center": center, "streamed": dict(mom.info)}
    return principal_fit_from_moment(mom.second_moment(center), r, "pca", info=info, eigensolver=eigensolver)


@dataclass(frozen=True)
class StatisticsRequest:
    """Statistics to accumulate in one pass of :func:`streamed_statistics`.

    Parameters
    ----------
    need : frozenset of str
        Fields of :class:`~spikedcl.stats.ViewStatistics` (``"gram"``,
        ``"total"``, and with a mask law ``"cross"``, ``"total1"``, ``"total2"``).
    law : MaskLaw, optional
        Mask law of the realized views (required for view statistics).
    p : float, optional
        Masking probability in ``(0, 1)``.
    rng : numpy.random.Generator, optional
        The request's own mask generator, consumed as one in-memory fit on all
        ``n`` rows (:func:`spikedcl.stats.data_statistics`) consumes it.
    """

    need: frozenset[str]
    law: MaskLaw | None = None
    p: float | None = None
    rng: np.random.Generator | None = None


def streamed_statistics(
    model: SpikedModel,
    n: int,
    requests: Mapping[Hashable, StatisticsRequest],
    *,
    rng: RNGLike,
    chunk_size: int,
    xp: Namespace | None = None,
    device: Device = None,
    dtype: Any = None,
) -> dict[Hashable, ViewStatistics]:
    """Several sets of statistics of the same ``n`` streamed samples, in one pass over their chunks.

    Draws the rows of ``model.sample(n, rng=rng)`` chunk by chunk
    (:meth:`SpikedModel.sample_chunks`: the same random numbers for every
    chunk size, ``rng`` left where ``sample`` leaves it) and adds each chunk to
    one :class:`~spikedcl.stats.StatisticsAccumulator` per request, each with
    its own mask generator. Memory: a few arrays of ``chunk_size`` rows (the
    chunk, its noise or its masks and two views) and the requests' ``d x d``
    sums, whatever ``n``; each chunk is released before the next is drawn.

    Parameters
    ----------
    model : SpikedModel
        The data model.
    n : int
        Number of samples, ``n >= 2``.
    requests : mapping of hashable to StatisticsRequest
        What to accumulate, by key.
    rng : numpy.random.Generator
        Data generator.
    chunk_size : int
        Rows per chunk, ``>= 1``.
    xp : array namespace, optional
        Namespace of the chunks and statistics (default NumPy).
    device : object, optional
        Device of the chunks.
    dtype : dtype, optional
        Floating dtype of the chunks (default float64).

    Returns
    -------
    dict
        ``key -> ViewStatistics`` with the fields of each request; ``info``
        records ``chunk_size`` and ``n_chunks``.
    """
    if not isinstance(model, SpikedModel):
        raise TypeError(f"model must be a SpikedModel, got {type(model).__name__}")
    n = check_int(n, "n", low=2)
    chunk_size = check_int(chunk_size, "chunk_size", low=1)
    rng = check_rng(rng)
    accs = {}
    for key, req in dict(requests).items():
        if not isinstance(req, StatisticsRequest):
            raise TypeError(f"requests[{key!r}] must be a StatisticsRequest, got {type(req).__name__}")
        accs[key] = StatisticsAccumulator(req.need, law=req.law, p=req.p, rng=req.rng)
    n_chunks = 0
    for Xc in model.sample_chunks(n, chunk_size, rng=rng, xp=xp, device=device, dtype=dtype):
        for acc in accs.values():
            acc.add(Xc)
        n_chunks += 1
        del Xc  # the next chunk is drawn with this one released
    info = {"chunk_size": min(chunk_size, n), "n_chunks": n_chunks}
    out = {}
    for key, acc in accs.items():
        req = requests[key]
        extra = {"p": req.p, "mask_mode": req.law.name} if req.law is not None else {}
        out[key] = acc.result(dict(info, **extra))
    return out
