"""Sufficient statistics of data and of its two masked views (docs/model.md §3–§4).

Every closed form depends on the data only through a few sums over samples:

.. math::

    G = \\sum_i x_i x_i^\\top,\\quad s = \\sum_i x_i,\\quad
    C_{12} = \\sum_i x^{(1)}_i x^{(2)\\top}_i,\\quad s_v = \\sum_i x^{(v)}_i.

:class:`ViewStatistics` holds them and builds from them the second moment,
every batch form's contrastive matrix (realized or mask-averaged,
:mod:`spikedcl.forms`) and, for the matrix-free path, operators that apply
those matrices through products with the data. The statistics are built

* from data in memory (:func:`data_statistics`): on the CPU in cache-sized row
  blocks, each block masked, reduced and dropped. A pool of threads (one per
  core; NumPy releases the GIL in the generator and in ufuncs) draws the masks
  and writes the views of the next blocks while the calling thread runs the
  products with all of BLAS's threads (never two BLAS calls at once); the
  masks of a block come from a copy of the PCG64 generator advanced to the
  block's first row, so masks and sums are bit-identical to the serial draw
  whatever the thread count (other bit generators draw serially);
* from two given views (:func:`view_statistics`);
* from chunks streamed one at a time (:class:`StatisticsAccumulator`), memory
  independent of ``n``;
* matrix-free (:func:`operator_statistics`): the data itself, its column sums
  and squares and the signed views :math:`Y = X_1 - X_2`.

Private layers receive validated inputs (:mod:`spikedcl.options`) and check
nothing but the finiteness of what they compute.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import copy
import math
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from ._array_api import device_of, get_namespace, is_numpy_namespace, to_namespace
from ._linalg import sym
from ._typing import Array
from ._validation import check_choice, check_int, check_unit_interval
from .augment import MaskLaw, get_mask_law
from .eigensolvers import SymmetricOperator
from .forms import BatchForm, get_form

__all__ = [
    "ViewStatistics",
    "StatisticsAccumulator",
    "data_statistics",
    "view_statistics",
    "operator_statistics",
    "block_masks",
    "default_threads",
    "limit_threads",
    "check_statistic",
    "VIEW_BLOCK_ENTRIES",
]

#: Entries of one view block on the CPU (4 MiB of float64): the block and its two views stay in cache.
VIEW_BLOCK_ENTRIES = 1 << 19
#: Entries of one temporary block of the matrix-free path (32 MiB of float64).
BLOCK_ENTRIES = 1 << 22
#: Largest ``Y = X1 - X2`` (bytes) the matrix-free realized path holds whole; above it
#: ``Y`` is rebuilt in row blocks at each product (about 2x slower, memory n d bytes).
SIGNED_VIEWS_BUDGET = 1 << 30
#: Bit generators with ``advance``: the only ones whose row blocks are drawn in parallel.
_ADVANCEABLE = (np.random.PCG64, np.random.PCG64DXSM)

_MASKED = ("cross", "total1", "total2")


@dataclass(frozen=True, eq=False)
class ViewStatistics:
    """Sufficient statistics of ``n`` samples and of their two views.

    Parameters
    ----------
    n : int
        Number of samples.
    gram : array of shape (..., d, d), optional
        :math:`G = X^\\top X` of the unmasked data.
    total : array of shape (..., d), optional
        :math:`s = X^\\top 1`.
    cross : array of shape (..., d, d), optional
        :math:`C_{12} = X_1^\\top X_2` of the realized views.
    total1 : array of shape (..., d), optional
        :math:`s_1 = X_1^\\top 1`.
    total2 : array of shape (..., d), optional
        :math:`s_2 = X_2^\\top 1` (``s - s1`` when not given).
    data : array of shape (..., n, d), optional
        The samples, held by the matrix-free statistics.
    column_squares : array of shape (..., d), optional
        :math:`\\sum_i x_{ij}^2` (matrix-free).
    signed : callable, optional
        ``V -> Y^T (Y V)`` for the signed views :math:`Y = X_1 - X_2` (matrix-free, realized).
    signed_total : array of shape (..., d), optional
        :math:`Y^\\top 1`.
    info : dict, default={}
        How the statistics were drawn (``p``, ``mask_mode``, ``chunk_size``, ...).

    Examples
    --------
    The statistics of two views give the contrastive matrix of the views themselves:

    >>> import numpy as np
    >>> import spikedcl as sc
    >>> from spikedcl.stats import view_statistics
    >>> X = np.random.default_rng(0).standard_normal((200, 5))
    >>> X1, X2 = sc.augment.split_views(X, 0.5, rng=np.random.default_rng(1))
    >>> stats = view_statistics(X1, X2, {"cross", "total1", "total2"})
    >>> stats.n, stats.d, stats.cross.shape
    (200, 5, (5, 5))
    >>> bool(np.allclose(stats.contrastive_matrix(), sc.contrastive_matrix(X1, X2)))
    True

    Built by hand from the Gram matrix, they give the second moment:

    >>> stats = sc.ViewStatistics(200, gram=X.T @ X, total=X.sum(axis=0))
    >>> bool(np.allclose(stats.second_moment(), X.T @ X / 200))
    True
    """

    n: int
    gram: Array | None = None
    total: Array | None = None
    cross: Array | None = None
    total1: Array | None = None
    total2: Array | None = None
    data: Array | None = None
    column_squares: Array | None = None
    signed: Callable[[Array], Array] | None = None
    signed_total: Array | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.total2 is None and self.total1 is not None and self.total is not None:
            object.__setattr__(self, "total2", self.total - self.total1)

    @property
    def d(self) -> int:
        """Dimension of the samples."""
        for a in (self.gram, self.cross, self.total, self.data):
            if a is not None:
                return a.shape[-1]
        raise ValueError("the statistics hold no array")

    def second_moment(self, center: bool = False) -> Array:
        """Second moment :math:`\\hat\\Sigma_0 = G/n` (or the centred covariance).

        Parameters
        ----------
        center : bool, default=False
            Subtract :math:`\\bar x \\bar x^\\top`, :math:`\\bar x = s/n`.

        Returns
        -------
        array of shape (..., d, d)
            As :func:`spikedcl.second_moment` on the same samples.
        """
        S = sym(self.gram) / self.n
        if center:
            m = self.total / self.n
            S = S - m[..., :, None] * m[..., None, :]
        return S

    def contrastive_matrix(
        self,
        loss: Literal["cross-view", "simclr"] | str | BatchForm = "cross-view",
        masks: Literal["realized", "expected"] = "realized",
        p: float | None = None,
    ) -> Array:
        """The contrastive matrix ``M`` (realized) or :math:`\\bar M` (mask-averaged), docs/model.md §3.

        Parameters
        ----------
        loss : {"cross-view", "simclr"} or BatchForm, default="cross-view"
            Batch form (:mod:`spikedcl.forms`).
        masks : {"realized", "expected"}, default="realized"
            ``"realized"`` needs the view statistics (stream with ``views=True``).
        p : float, optional
            Masking probability for ``"expected"`` (default: ``info["p"]``, else 0.5).

        Returns
        -------
        array of shape (..., d, d)
            As :func:`spikedcl.contrastive_matrix` / :func:`spikedcl.expected_contrastive_matrix`.
        """
        form = get_form(loss)
        check_choice(masks, "masks", ("realized", "expected"))
        if masks == "expected":
            p = check_unit_interval(self.info.get("p", 0.5) if p is None else p, "p")
            # the mask average is that of iid per-sample masks, whatever law the views were streamed with
            return form.expected(self, get_mask_law("per-sample").pair_moment(p, self.gram.shape[-1]))
        missing = sorted(k for k in form.needs if getattr(self, k) is None)
        if missing:
            raise ValueError(
                f"masks='realized' with loss={form.name!r} needs the view statistics {missing}: stream with views=True"
            )
        return form.matrix(self)

    def form_matrix(self, form: BatchForm, q: float | None = None, X: Array | None = None, name: str = "X") -> Array:
        """A form's realized ``M`` (``q=None``) or mask average of pair moment ``q``, checked to be finite.

        Parameters
        ----------
        form : BatchForm
            The batch form.
        q : float, optional
            Pair moment of the mask law (mask average); ``None`` for the realized views.
        X : array, optional
            The data, scanned only when ``M`` is not finite (see :func:`check_statistic`).
        name : str, default="X"
            Name of the data in the error message.

        Returns
        -------
        array of shape (..., d, d)
            The matrix.
        """
        some = self.gram if self.gram is not None else self.cross
        with _fp_quiet(get_namespace(some)):
            M = form.matrix(self) if q is None else form.expected(self, q)
        return check_statistic(M, X, name)

    def apply_gram(self, V: Array) -> Array:
        """:math:`X^\\top X V` through the data (matrix-free) or the formed Gram matrix.

        Parameters
        ----------
        V : array of shape (..., d, b)
            Block of vectors.

        Returns
        -------
        array of shape (..., d, b)
            The product.
        """
        if self.data is not None:
            return self.data.mT @ (self.data @ V)
        return self.gram @ V

    def apply_signed(self, V: Array) -> Array:
        """:math:`Y^\\top Y V` of the signed views :math:`Y = X_1 - X_2` (matrix-free, realized).

        Parameters
        ----------
        V : array of shape (..., d, b)
            Block of vectors.

        Returns
        -------
        array of shape (..., d, b)
            The product.
        """
        return self.signed(V)

    def operator(self, form: BatchForm, q: float | None = None) -> SymmetricOperator:
        """A form's matrix as a :class:`~spikedcl.eigensolvers.SymmetricOperator` (matrix-free).

        Parameters
        ----------
        form : BatchForm
            The batch form.
        q : float, optional
            Pair moment of the mask law for the mask average; ``None`` for the realized views.

        Returns
        -------
        SymmetricOperator
            ``op.matmat(V) = M @ V``.
        """
        return self._wrap(form.operator(self, q))

    def moment_operator(self, center: bool = False) -> SymmetricOperator:
        """:math:`\\hat\\Sigma_0` (or the centred covariance) as a matrix-free operator.

        Parameters
        ----------
        center : bool, default=False
            Subtract :math:`\\bar x \\bar x^\\top`.

        Returns
        -------
        SymmetricOperator
            ``op.matmat(V) = X^T (X V)/n``.
        """
        n = self.n
        if not center:
            return self._wrap(lambda V: self.apply_gram(V) / n)
        m = self.total / n
        return self._wrap(lambda V: self.apply_gram(V) / n - m[..., :, None] * (m[..., None, :] @ V))

    def _wrap(self, matmat):
        X = self.data
        return SymmetricOperator(matmat, X.shape[-1], get_namespace(X), X.dtype, device_of(X), tuple(X.shape[:-2]))


def _fp_quiet(xp):
    """Silence NumPy's floating-point warnings where the caller checks finiteness itself."""
    if is_numpy_namespace(xp):
        return np.errstate(invalid="ignore", over="ignore")
    return contextlib.nullcontext()


def check_statistic(S: Array, X: Array | None, name: str = "X") -> Array:
    """Raise a clear error when a statistic of ``X`` is not finite; return ``S``.

    Parameters
    ----------
    S : array
        A statistic computed from ``X`` (a matrix, its diagonal or column sums).
    X : array or None
        The data it came from; scanned only when ``S`` is not finite, to tell a
        non-finite input from an overflow of finite data.
    name : str, default="X"
        Name of the data in the message.

    Returns
    -------
    array
        ``S``.

    Raises
    ------
    ValueError
        ``"X contains NaN or infinite values"``, or that the statistic overflowed.
    """
    xp = get_namespace(S)
    if bool(xp.all(xp.isfinite(S))):
        return S
    if X is not None and bool(xp.all(xp.isfinite(X))):
        peak = float(xp.max(xp.abs(X)))
        raise ValueError(
            f"{name} is finite but its statistics overflowed (largest |entry| = {peak:.3g}; products of "
            f"entries must stay below {float(xp.finfo(X.dtype).max):.3g}): rescale {name}"
        )
    raise ValueError(f"{name} contains NaN or infinite values")


_THREAD_LIMIT = contextvars.ContextVar("spikedcl_thread_limit", default=None)


def default_threads() -> int:
    """Threads used to build row blocks: the CPUs this process may run on, capped by :func:`limit_threads`.

    Returns
    -------
    int
        At least 1.
    """
    try:
        cpus = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        cpus = max(1, os.cpu_count() or 1)
    limit = _THREAD_LIMIT.get()
    return cpus if limit is None else min(cpus, limit)


@contextlib.contextmanager
def limit_threads(k: int) -> Iterator[None]:
    """Cap :func:`default_threads` at ``k`` inside the block (in this thread and the tasks it starts).

    The statistics do not depend on the thread count (every block's masks are
    drawn from its own generator position); the cap only keeps a cell that
    runs beside others from starting more threads than its share.

    Parameters
    ----------
    k : int
        Largest number of threads, ``>= 1``.
    """
    token = _THREAD_LIMIT.set(check_int(k, "k", low=1))
    try:
        yield
    finally:
        _THREAD_LIMIT.reset(token)


_POOLS = {}


def _pool(threads):
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="spikedcl-views")
    return _POOLS[threads]


def _ordered(work, items, threads):
    """``work(item)`` for each item, in order; on ``threads`` threads with at most 2 per thread in flight."""
    if threads <= 1 or len(items) <= 1:
        yield from map(work, items)
        return
    pool, pending = _pool(threads), collections.deque()
    for item in items:
        pending.append(pool.submit(work, item))
        if len(pending) >= 2 * threads:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class _BlockMasks:
    """Masks of row blocks ``[start, stop)``, drawable in any order and concurrently.

    A per-row law with a fixed number of PCG64 outputs per row draws block
    ``[start, stop)`` from a copy of the generator advanced by ``start`` rows;
    :meth:`finish` leaves ``rng`` where the serial draw of all ``n`` rows would.
    Any other law (shared, or non-PCG64 generator) draws the blocks in order
    from ``rng`` itself (``parallel`` is then False).
    """

    def __init__(self, law, n, d, p, rng, *, parallel=True):
        self.law, self.n, self.d, self.p, self.rng = law, n, d, p, rng
        per_row = None if law.shared or not parallel else law.draws_per_row(d, p)
        self.per_row = per_row if isinstance(rng.bit_generator, _ADVANCEABLE) else None
        self.parallel = self.per_row is not None
        self.stream = law.stream(d, p, rng)

    def __call__(self, start, stop):
        if not self.parallel:
            if self.law.shared or (stop - start) * self.d <= BLOCK_ENTRIES:
                return self.stream(stop - start)
            # a long run of rows: drawn in 32 MiB blocks (the uniforms behind a mask take 8 bytes an entry)
            mask = np.empty((stop - start, self.d), dtype=bool)
            step = max(1, BLOCK_ENTRIES // self.d)
            for a in range(0, stop - start, step):
                b = min(a + step, stop - start)
                mask[a:b] = self.stream(b - a)
            return mask
        bits = copy.deepcopy(self.rng.bit_generator)
        bits.advance(start * self.per_row)
        return self.law.draw(stop - start, self.d, self.p, np.random.Generator(bits))

    def finish(self):
        if self.parallel:
            bits = copy.deepcopy(self.rng.bit_generator)
            bits.advance(self.n * self.per_row)
            state, old = bits.state, self.rng.bit_generator.state
            state["has_uint32"], state["uinteger"] = old["has_uint32"], old["uinteger"]  # the serial draw keeps them
            self.rng.bit_generator.state = state


def block_masks(
    law: str | MaskLaw,
    n: int,
    d: int,
    p: float,
    rng: np.random.Generator,
    *,
    block_rows: int,
    threads: int | None = None,
) -> np.ndarray:
    """The masks of ``n`` rows drawn in row blocks as the fits draw them (for checks).

    Parameters
    ----------
    law : str or MaskLaw
        Mask law.
    n, d : int
        Rows and coordinates.
    p : float
        Masking probability in ``(0, 1)``.
    rng : numpy.random.Generator
        Generator, left as one ``law.draw(n, d, p, rng)`` leaves it.
    block_rows : int
        Rows per block.
    threads : int, optional
        Threads drawing the blocks (default :func:`default_threads`).

    Returns
    -------
    numpy.ndarray of bool, shape (n, d) or (1, d)
        Equal to ``law.draw(n, d, p, rng)`` bit for bit, whatever ``block_rows`` and ``threads``.
    """
    law = get_mask_law(law)
    n, d = check_int(n, "n", low=1), check_int(d, "d", low=2)
    block_rows = check_int(block_rows, "block_rows", low=1)
    threads = default_threads() if threads is None else check_int(threads, "threads", low=1)
    source = _BlockMasks(law, n, d, p, rng)
    spans = [(a, min(a + block_rows, n)) for a in range(0, n, block_rows)]
    parts = list(_ordered(lambda s: source(*s), spans, threads if source.parallel else 1))
    source.finish()
    return parts[0] if law.shared else np.concatenate(parts)


def _block_rows(X):
    """Rows per view block: cache-sized for a 2-D NumPy ``X``, all rows otherwise."""
    n, d = X.shape[-2:]
    return max(1, VIEW_BLOCK_ENTRIES // d) if X.ndim == 2 and is_numpy_namespace(get_namespace(X)) else n


def _block_sums(xp, Xb, mask, need):
    """The statistics in ``need`` of one row block (with its host ``mask`` when views are needed)."""
    out = {}
    if "gram" in need:
        out["gram"] = Xb.mT @ Xb
    if "total" in need:
        out["total"] = xp.sum(Xb, axis=-2)
    if mask is not None:
        X1, X2 = _views(xp, Xb, mask)
        out["cross"], out["total1"], out["total2"] = X1.mT @ X2, xp.sum(X1, axis=-2), xp.sum(X2, axis=-2)
    return out


def _views(xp, Xb, mask):
    """The two views of a row block for its host boolean ``mask``."""
    X1 = Xb * xp.astype(to_namespace(mask, xp, device=device_of(Xb)), Xb.dtype)  # entries x or ±0 exactly
    return X1, Xb - X1


def _add(total, part):
    if total is None:
        return dict(part)
    return {k: total[k] + part[k] for k in total}


def data_statistics(
    X: Array,
    need: Iterable[str],
    *,
    law: MaskLaw | None = None,
    p: float | None = None,
    rng: np.random.Generator | None = None,
    threads: int | None = None,
    block_rows: int | None = None,
) -> ViewStatistics:
    """The statistics ``need`` of checked data ``X`` (n, d) or a stack (R, n, d).

    Parameters
    ----------
    X : array of shape (n, d) or (R, n, d)
        Validated data.
    need : iterable of str
        Among ``"gram"``, ``"total"``, ``"cross"``, ``"total1"``, ``"total2"``;
        the last three need a mask law.
    law : MaskLaw, optional
        Mask law of the views.
    p : float, optional
        Masking probability (validated).
    rng : numpy.random.Generator, optional
        Mask generator; replicate ``i`` of a stack gets the masks a loop over ``X[i]`` would draw.
    threads : int, optional
        Threads for the row blocks (default :func:`default_threads`).
    block_rows : int, optional
        Rows per block (default: 4 MiB blocks on the CPU, one block elsewhere).

    Returns
    -------
    ViewStatistics
        With the fields of ``need`` (the others ``None``).

    Examples
    --------
    The unmasked statistics suffice for the mask-averaged matrix:

    >>> import numpy as np
    >>> import spikedcl as sc
    >>> from spikedcl.stats import data_statistics
    >>> X = np.random.default_rng(0).standard_normal((200, 5))
    >>> stats = data_statistics(X, {"gram", "total"})
    >>> bool(np.allclose(stats.gram, X.T @ X))
    True
    >>> M = stats.contrastive_matrix(masks="expected", p=0.5)
    >>> bool(np.allclose(M, sc.expected_contrastive_matrix(X, 0.5)))
    True
    """
    xp = get_namespace(X)
    need = frozenset(need)
    views = bool(need & set(_MASKED))
    n = X.shape[-2]
    if not views:
        with _fp_quiet(xp):
            part = _block_sums(xp, X, None, need)
        return ViewStatistics(n, **part)
    if X.ndim == 3 and is_numpy_namespace(xp):
        # on the CPU one replicate at a time keeps the view blocks in cache (measured faster than
        # one pass over the stack); the eigendecomposition is still one batched call
        parts = [data_statistics(X[i], need, law=law, p=p, rng=rng, threads=threads, block_rows=block_rows)
                 for i in range(X.shape[0])]
        return ViewStatistics(n, **{k: xp.stack([getattr(s, k) for s in parts]) for k in need})
    if X.ndim == 3 or not is_numpy_namespace(xp):  # other namespaces: one pass, masks replicate after replicate
        mask = _host_masks(law, X.shape, p, rng)
        with _fp_quiet(xp):
            return ViewStatistics(n, **_block_sums(xp, X, mask, need))
    rows = _block_rows(X) if block_rows is None else block_rows
    source = _BlockMasks(law, n, X.shape[-1], p, rng)
    threads = (default_threads() if threads is None else threads) if source.parallel else 1

    d = X.shape[-1]

    def views(span):  # on the pool: the mask draw and the elementwise work, single-threaded by nature
        start, stop = span
        Xb, mask = X[start:stop, :], source(start, stop)
        # [X1 | 1] and [X2 | 1]: one product then gives C12 and both column sums
        A = np.empty((stop - start, d + 1), dtype=X.dtype)
        B = np.empty((stop - start, d + 1), dtype=X.dtype)
        A[:, d] = B[:, d] = 1.0
        np.multiply(Xb, mask, out=A[:, :d], dtype=Xb.dtype)  # entries x or ±0 exactly
        np.subtract(Xb, A[:, :d], out=B[:, :d])
        return A, B

    spans = [(a, min(a + rows, n)) for a in range(0, n, rows)]
    total = None
    with _fp_quiet(xp):
        # the products run here, one block after another, with all of BLAS's threads, while the pool
        # prepares the next blocks; summed in block order: the same sums on any thread count
        for A, B in _ordered(views, spans, threads):
            part = A.T @ B
            total = part if total is None else total + part
        out = {"cross": total[:d, :d], "total1": total[:d, d], "total2": total[d, :d]}
        out.update(_block_sums(xp, X, None, need & {"gram", "total"}))
    source.finish()
    return ViewStatistics(n, **{k: out[k] for k in need})


def view_statistics(X1: Array, X2: Array, need: Iterable[str]) -> ViewStatistics:
    """The statistics ``need`` of two checked views of the same samples (``X = X1 + X2``).

    Parameters
    ----------
    X1, X2 : arrays of shape (n, d) or (R, n, d)
        The views.
    need : iterable of str
        Fields of :class:`ViewStatistics` to compute.

    Returns
    -------
    ViewStatistics
        With the fields of ``need``.
    """
    xp = get_namespace(X1, X2)
    need = frozenset(need)
    out = {}
    with _fp_quiet(xp):
        if "cross" in need:
            out["cross"] = X1.mT @ X2
        if "total1" in need or "total2" in need:
            out["total1"], out["total2"] = xp.sum(X1, axis=-2), xp.sum(X2, axis=-2)
        if "gram" in need or "total" in need:
            X = X1 + X2
            out.update(_block_sums(xp, X, None, need & {"gram", "total"}))
    return ViewStatistics(X1.shape[-2], **out)


class StatisticsAccumulator:
    """Sums of the statistics of consecutive chunks of samples (streamed fits).

    Parameters
    ----------
    need : iterable of str
        Fields of :class:`ViewStatistics` to accumulate.
    law : MaskLaw, optional
        Mask law of the views (when ``need`` holds view statistics).
    p : float, optional
        Masking probability.
    rng : numpy.random.Generator, optional
        Host mask generator, consumed as one in-memory fit on all the rows would.
    device_masks : callable, optional
        ``device_masks(shape)`` draws per-sample masks on the device instead (``generator="device"``).
    """

    def __init__(
        self,
        need: Iterable[str],
        *,
        law: MaskLaw | None = None,
        p: float | None = None,
        rng: np.random.Generator | None = None,
        device_masks: Callable[[tuple[int, ...]], Array] | None = None,
    ) -> None:
        self.need = frozenset(need)
        self.law, self.p, self.rng, self.device_masks = law, p, rng, device_masks
        self.stream = None
        self.n = 0
        self.sums = None

    def add(self, Xc: Array) -> None:
        """Add the statistics of the chunk ``Xc`` of shape (k, d)."""
        xp = get_namespace(Xc)
        mask = None
        if self.need & set(_MASKED):
            if self.device_masks is not None:
                mask = self.device_masks(tuple(Xc.shape))
            else:
                if self.stream is None:
                    self.stream = self.law.stream(Xc.shape[-1], self.p, self.rng)
                mask = self.stream(Xc.shape[0])
        with _fp_quiet(xp):
            self.sums = _add(self.sums, _block_sums(xp, Xc, mask, self.need))
        self.n += Xc.shape[0]

    def result(self, info: dict[str, Any] | None = None) -> ViewStatistics:
        """The accumulated :class:`ViewStatistics` (``info`` stored with it)."""
        if self.sums is None:
            raise ValueError("no chunk was added to the statistics")
        key = "gram" if "gram" in self.sums else sorted(self.sums)[0]
        xp = get_namespace(self.sums[key])
        if not bool(xp.all(xp.isfinite(self.sums[key]))):
            raise ValueError("the streamed statistics are not finite (overflow): rescale the model")
        return ViewStatistics(self.n, **self.sums, info=dict(info or {}))


def operator_statistics(
    X: Array,
    *,
    law: MaskLaw | None = None,
    p: float | None = None,
    rng: np.random.Generator | None = None,
    signed: Array | None = None,
) -> ViewStatistics:
    """Matrix-free statistics of checked data: ``X``, its column sums and squares, and the signed views.

    Parameters
    ----------
    X : array of shape (..., n, d)
        Validated data.
    law : MaskLaw, optional
        Mask law of the realized views (none: mask-averaged operators only).
    p : float, optional
        Masking probability.
    rng : numpy.random.Generator, optional
        Mask generator (drawn as :func:`data_statistics` draws).
    signed : array of the shape of ``X``, optional
        ``Y = X1 - X2`` of given realized views (instead of ``law``).

    Returns
    -------
    ViewStatistics
        With ``data``, ``total``, ``column_squares`` and, for views, ``signed`` and ``signed_total``.
    """
    xp = get_namespace(X)
    n = X.shape[-2]
    with _fp_quiet(xp):
        s = check_statistic(xp.sum(X, axis=-2), X)
        sq = check_statistic(_column_squares(X), X)
        out = {"data": X, "total": s, "column_squares": sq}
        if law is not None:
            mask = _host_masks(law, X.shape, p, rng)
            mask = to_namespace(mask, xp, device=device_of(X))
            if math.prod(X.shape) * 8 <= SIGNED_VIEWS_BUDGET:  # hold Y = X1 - X2: fastest
                signed = xp.where(mask, X, -X)
            else:
                out["signed"], out["signed_total"] = _signed_gram(X, mask)
        if signed is not None:
            out["signed"] = lambda V: signed.mT @ (signed @ V)
            out["signed_total"] = xp.sum(signed, axis=-2)
    return ViewStatistics(n, **out)


def _host_masks(law, shape, p, rng):
    """Host masks of shape (R, n or 1, d): replicate i gets what the i-th of R draws of n rows gives."""
    n, d = shape[-2:]
    if len(shape) == 2:
        return _BlockMasks(law, n, d, p, rng, parallel=False)(0, n)
    return np.stack([_BlockMasks(law, n, d, p, rng, parallel=False)(0, n) for _ in range(shape[0])])


def _column_squares(X):
    """:math:`\\sum_i x_{ij}^2` per column, in row blocks (no ``n x d`` temporary)."""
    xp = get_namespace(X)
    n = X.shape[-2]
    rows = max(1, BLOCK_ENTRIES // math.prod(X.shape[:-2] + X.shape[-1:]))
    total = None
    for start in range(0, n, rows):
        block = X[..., start:min(start + rows, n), :]
        part = xp.sum(block * block, axis=-2)
        total = part if total is None else total + part
    return total


def _signed_gram(X, mask):
    """``V -> Y^T (Y V)`` and ``Y^T 1`` for :math:`Y = (2A - 1) \\circ X`, built block by block.

    ``Y`` is never held whole: each application rebuilds 32 MiB row blocks of it
    from ``X`` and the boolean ``mask`` (shape (..., n, d), or (..., 1, d) for a
    shared mask), so the realized operator needs ``n d`` bytes beyond ``X``.
    """
    xp = get_namespace(X)
    n = X.shape[-2]
    rows = max(1, BLOCK_ENTRIES // math.prod(X.shape[:-2] + X.shape[-1:]))
    per_row = mask.shape[-2] == n

    def blocks():
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            Xb = X[..., start:stop, :]
            yield xp.where(mask[..., start:stop, :] if per_row else mask, Xb, -Xb)

    t = None
    for Yb in blocks():
        part = xp.sum(Yb, axis=-2)
        t = part if t is None else t + part

    def apply(V):
        out = None
        for Yb in blocks():
            part = Yb.mT @ (Yb @ V)
            out = part if out is None else out + part
        return out

    return apply, t


def with_info(stats, **info):
    """``stats`` with ``info`` added (statistics are frozen)."""
    return replace(stats, info={**stats.info, **info})
