"""Streaming sufficient statistics: fits for huge ``n`` in memory independent of ``n``.

Every closed form of spec §3–§4 depends on the data only through a few
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

from dataclasses import dataclass, field
from typing import Any

from ._array_api import device_of, get_namespace, to_namespace
from ._linalg import offdiag, sym
from ._validation import check_choice, check_int, check_rank, check_unit_interval
from .augment import MASK_MODES, draw_mask
from .closed_form import (
    CL_LOSSES,
    CL_MASKS,
    _check_cl_options,
    _check_mask_law,
    _pair_mean,
    _view_sums,
    _views_matrix,
    contrastive_fit_from_matrix,
    principal_fit_from_moment,
)
from .data import GENERATORS, SpikedModel, namespace_generator
from .eigensolvers import EIGENSOLVERS
from .random import check_rng

__all__ = [
    "StreamedMoments",
    "streamed_moments",
    "fit_contrastive_streamed",
    "fit_pca_streamed",
    "chunk_size_for",
    "DEFAULT_MEMORY_LIMIT",
]

#: Default working-set budget of :func:`streamed_moments` in bytes (256 MiB).
DEFAULT_MEMORY_LIMIT = 256 * 2**20

# float64 arrays of shape (chunk, d) alive at once while a chunk is reduced:
# noise, X, mask uniforms (and the bool mask), X1, X2.
_CHUNK_ARRAYS = 6
# d x d accumulators (G, C12) and the matrices built from them.
_SQUARE_ARRAYS = 4


def chunk_size_for(n, d, memory_limit=DEFAULT_MEMORY_LIMIT, *, itemsize=8):
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


@dataclass(frozen=True, eq=False)
class StreamedMoments:
    """Sufficient statistics of ``n`` samples and their masked views.

    Parameters
    ----------
    n : int
        Number of samples.
    gram : array of shape (d, d)
        :math:`G = X^\\top X = \\sum_i x_i x_i^\\top`.
    total : array of shape (d,)
        :math:`s = \\sum_i x_i`.
    cross : array of shape (d, d) or None
        :math:`C_{12} = X_1^\\top X_2` of the realized views (``None`` without views).
    total1 : array of shape (d,) or None
        :math:`s_1 = \\sum_i x^{(1)}_i` (``None`` without views).
    info : dict, default={}
        How the statistics were drawn (``p``, ``mask_mode``, ``chunk_size``, ``n_chunks``).
    """

    n: int
    gram: Any
    total: Any
    cross: Any = None
    total1: Any = None
    info: dict = field(default_factory=dict)

    def second_moment(self, center=False):
        """Second moment :math:`\\hat\\Sigma_0 = G/n` (or the centred covariance).

        Parameters
        ----------
        center : bool, default=False
            Subtract :math:`\\bar x \\bar x^\\top`, :math:`\\bar x = s/n`.

        Returns
        -------
        array of shape (d, d)
            As :func:`spikedcl.second_moment` on the same samples.
        """
        S = sym(self.gram) / self.n
        if center:
            m = self.total / self.n
            S = S - m[:, None] * m[None, :]
        return S

    def contrastive_matrix(self, loss="cross-view", masks="realized", p=None):
        """The contrastive matrix ``M`` (realized) or :math:`\\bar M` (mask-averaged), spec §3.

        Parameters
        ----------
        loss : {"cross-view", "simclr"}, default="cross-view"
            Batch form.
        masks : {"realized", "expected"}, default="realized"
            ``"realized"`` needs the view statistics (``views=True``).
        p : float, optional
            Masking probability for ``"expected"`` (default: the one streamed with).

        Returns
        -------
        array of shape (d, d)
            As :func:`spikedcl.contrastive_matrix` / :func:`spikedcl.expected_contrastive_matrix`.
        """
        check_choice(loss, "loss", CL_LOSSES)
        check_choice(masks, "masks", CL_MASKS)
        n, G, s = self.n, self.gram, self.total
        N = _pair_mean(s, s, G, n)
        if masks == "expected":
            p = check_unit_interval(self.info.get("p", 0.5) if p is None else p, "p")
            q = p * (1 - p)
            if loss == "cross-view":
                return q * (offdiag(sym(G) / n) - N)
            return q * offdiag(sym(G) / n) - N / 4
        if self.cross is None:
            raise ValueError("masks='realized' needs the view statistics: stream with views=True")
        sums = (self.total1, s - self.total1) if loss == "cross-view" else None
        return _views_matrix(self.cross, sums, n, N)


def streamed_moments(
    model,
    n,
    *,
    rng=None,
    mask_rng=None,
    p=0.5,
    mask_mode="per-sample",
    views=True,
    chunk_size=None,
    memory_limit=None,
    xp=None,
    device=None,
    dtype=None,
    generator="host",
):
    """Draw ``n`` samples chunk by chunk and accumulate their sufficient statistics.

    .. math::

        G = \\sum_{c} X_c^\\top X_c,\\quad s = \\sum_c X_c^\\top 1,\\quad
        C_{12} = \\sum_c X_{1,c}^\\top X_{2,c},\\quad s_1 = \\sum_c X_{1,c}^\\top 1

    over chunks :math:`X_c` of :meth:`SpikedModel.sample_chunks`.

    Parameters
    ----------
    model : SpikedModel
        The data model (spec §1).
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
    """
    if not isinstance(model, SpikedModel):
        raise TypeError(f"model must be a SpikedModel, got {type(model).__name__}")
    n = check_int(n, "n", low=2)
    p = check_unit_interval(p, "p")
    check_choice(mask_mode, "mask_mode", MASK_MODES)
    check_choice(generator, "generator", GENERATORS)
    if views is not True and views is not False:
        raise TypeError(f"views must be True or False, got {views!r}")
    d = model.d
    itemsize = 4 if dtype is not None and "32" in str(dtype) else 8
    if chunk_size is None:
        limit = DEFAULT_MEMORY_LIMIT if memory_limit is None else memory_limit
        chunk_size = chunk_size_for(n, d, limit, itemsize=itemsize)
    else:
        chunk_size = check_int(chunk_size, "chunk_size", low=1, high=n)
        if memory_limit is not None:
            need = _SQUARE_ARRAYS * d * d * itemsize + _CHUNK_ARRAYS * d * itemsize * chunk_size
            memory_limit = check_int(memory_limit, "memory_limit", low=1)
            if need > memory_limit:
                raise ValueError(
                    f"chunk_size={chunk_size} needs about {need} bytes at d={d}, over memory_limit={memory_limit}; "
                    f"use chunk_size <= {chunk_size_for(n, d, memory_limit, itemsize=itemsize)}"
                )
    rng = check_rng(rng)
    mask_rng = rng.spawn(1)[0] if mask_rng is None else check_rng(mask_rng)
    mask_gen = None
    if generator == "device" and mask_mode == "per-sample" and xp is not None:
        mask_gen = namespace_generator(xp, int(mask_rng.integers(2**63)), device)
    fixed = draw_mask(2, d, p, rng=mask_rng, mode=mask_mode) if mask_mode in ("fixed", "fixed-bernoulli") else None

    G = s = C12 = s1 = None
    n_chunks = 0
    for Xc in model.sample_chunks(n, chunk_size, rng=rng, xp=xp, device=device, dtype=dtype, generator=generator):
        xpc = get_namespace(Xc)
        G = Xc.mT @ Xc if G is None else G + Xc.mT @ Xc
        sc = xpc.sum(Xc, axis=0)
        s = sc if s is None else s + sc
        if views:
            C, t, _ = _view_sums(Xc, _chunk_masks(Xc, p, mask_rng, mask_mode, fixed, mask_gen))
            C12 = C if C12 is None else C12 + C
            s1 = t if s1 is None else s1 + t
        n_chunks += 1
    if not bool(get_namespace(G).all(get_namespace(G).isfinite(G))):
        raise ValueError("the streamed statistics are not finite (overflow): rescale the model")
    info = {"p": p, "mask_mode": mask_mode, "chunk_size": chunk_size, "n_chunks": n_chunks, "generator": generator}
    return StreamedMoments(n, G, s, C12, s1, info)


def _chunk_masks(Xc, p, mask_rng, mask_mode, fixed, mask_gen):
    """The mask source of :func:`~spikedcl.closed_form._view_sums` for one chunk: the
    shared fixed row, uniforms of the device generator, or host masks from ``mask_rng``."""
    xp, device = get_namespace(Xc), device_of(Xc)
    if fixed is not None:
        shared = to_namespace(fixed, xp, device=device)
        return lambda shape: shared
    if mask_gen is not None:
        return lambda shape: xp.asarray(mask_gen.random(shape) < p, device=device)
    return lambda shape: to_namespace(draw_mask(shape[0], shape[1], p, rng=mask_rng, mode=mask_mode), xp, device=device)


def fit_contrastive_streamed(
    model,
    n,
    r,
    *,
    p=0.5,
    lam=1.0,
    masks="realized",
    loss="cross-view",
    mask_mode="per-sample",
    rng=None,
    mask_rng=None,
    chunk_size=None,
    memory_limit=None,
    xp=None,
    device=None,
    dtype=None,
    generator="host",
    eigensolver="auto",
):
    """Linear contrastive learning on ``n`` streamed samples (spec §3), memory independent of ``n``.

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
    """
    lam = _check_cl_options(p, lam, masks, loss, mask_mode)[1]
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    _check_mask_law(masks, mask_mode)
    if isinstance(model, SpikedModel):
        check_rank(r, model.d)
    mom = streamed_moments(
        model, n, rng=rng, mask_rng=mask_rng, p=p, mask_mode=mask_mode, views=masks == "realized",
        chunk_size=chunk_size, memory_limit=memory_limit, xp=xp, device=device, dtype=dtype, generator=generator,
    )
    M = mom.contrastive_matrix(loss, masks)
    info = {"p": p, "masks": masks, "loss": loss, "mask_mode": mask_mode, "streamed": dict(mom.info)}
    return contrastive_fit_from_matrix(M, r, lam=lam, info=info, eigensolver=eigensolver)


def fit_pca_streamed(
    model,
    n,
    r,
    *,
    center=False,
    rng=None,
    chunk_size=None,
    memory_limit=None,
    xp=None,
    device=None,
    dtype=None,
    generator="host",
    eigensolver="auto",
):
    """PCA on ``n`` streamed samples (spec §4): top-``r`` eigenvectors of :math:`\\hat\\Sigma_0 = G/n`.

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
