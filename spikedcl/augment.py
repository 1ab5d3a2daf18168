"""Random-masking augmentation: mask laws and two complementary views of each sample (docs/model.md §2).

A diagonal 0/1 mask :math:`A` splits a sample into :math:`Ax` and
:math:`(I - A)x`. Positive pairs never see the noise diagonal because

.. math::

    \\mathbb{E}_A[A x x^\\top (I - A)] = p(1-p)\\,\\Delta(x x^\\top),

where :math:`\\Delta` deletes the diagonal. Masks are drawn on the host from
an explicit ``rng`` and moved to the namespace and device of ``X``.

Every mask law is one :class:`MaskLaw` subclass: it draws rows of masks, says
whether one mask is shared by all samples, how many raw 64-bit outputs of the
bit generator one row consumes (so row blocks can be drawn in parallel from
advanced copies of the generator) and, when it has one, the pair moment of the
mask-averaged contrastive matrix. :func:`register_mask_law` adds a law under a
new ``mask_mode`` name; every public function that takes ``mask_mode=`` then
accepts it.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from ._array_api import device_of, get_namespace, to_namespace
from ._linalg import diag_part, offdiag
from ._registry import lookup_named, register_named
from ._typing import Array, RNGLike
from ._validation import check_data, check_int, check_unit_interval
from .random import check_rng

__all__ = [
    "MASK_MODES",
    "MASK_LAWS",
    "MaskLaw",
    "MaskStream",
    "register_mask_law",
    "get_mask_law",
    "draw_mask",
    "random_mask",
    "split_views",
    "expected_mask_moments",
]


class MaskLaw:
    """A law of the random 0/1 masks that split a sample into two views (docs/model.md §2).

    Subclass it, set :attr:`name` (the ``mask_mode`` string) and :attr:`shared`,
    implement :meth:`draw`, and register an instance with :func:`register_mask_law`.
    ``True`` entries mark the coordinates of view 1.

    Attributes
    ----------
    name : str
        The ``mask_mode`` that selects the law.
    shared : bool
        One mask row is drawn once and shared by every sample (and every minibatch).

    Examples
    --------
    A law that always sends the first ``floor(p d)`` coordinates to view 1, shared by all samples:

    >>> import numpy as np
    >>> import spikedcl as sc
    >>> class FirstCoordinates(sc.MaskLaw):
    ...     name = "first-coordinates"
    ...     shared = True
    ...     def draw(self, rows, d, p, rng):
    ...         mask = np.zeros((1, d), dtype=bool)
    ...         mask[0, : int(p * d)] = True
    ...         return mask
    >>> sc.draw_mask(5, 6, 0.5, rng=0, mode=FirstCoordinates()).astype(int)
    array([[1, 1, 1, 0, 0, 0]])
    >>> sc.MaskLaw.pair_moment(FirstCoordinates(), 0.5, 6) is None  # no mask average: masks="expected" is refused
    True
    """

    name: ClassVar[str] = ""
    shared: ClassVar[bool] = False

    def check(self, p: float, d: int) -> None:
        """Refuse a masking probability the law cannot use at dimension ``d`` (default: none).

        Parameters
        ----------
        p : float
            Masking probability, already in ``(0, 1)``.
        d : int
            Number of coordinates.

        Raises
        ------
        ValueError
            Naming ``p`` and the allowed range.
        """

    def draw(self, rows: int, d: int, p: float, rng: np.random.Generator) -> np.ndarray:
        """Draw masks without checks (the caller validated ``rows``, ``d``, ``p``, ``rng``).

        Parameters
        ----------
        rows : int
            Number of samples.
        d : int
            Number of coordinates.
        p : float
            Masking probability in ``(0, 1)``.
        rng : numpy.random.Generator
            Random generator.

        Returns
        -------
        numpy.ndarray of bool, shape (rows, d), or (1, d) for a shared law
            The masks.
        """
        raise NotImplementedError

    def draws_per_row(self, d: int, p: float) -> int | None:
        """Raw 64-bit outputs of a PCG64 generator that one row of :meth:`draw` consumes.

        ``None`` (the default) when the count is not fixed, or the law is shared:
        the row blocks of a fit are then drawn one after another. With a count,
        block ``b`` starting at row ``s`` is drawn from a copy of the generator
        advanced by ``s`` times the count, which gives the serial draw bit for bit.

        Parameters
        ----------
        d : int
            Number of coordinates.
        p : float
            Masking probability.

        Returns
        -------
        int or None
            The count.
        """
        return None

    def pair_moment(self, p: float, d: int | None) -> float | None:
        """:math:`q` with :math:`\\mathbb E[A x x^\\top (I-A)] = q\\,\\Delta(x x^\\top)` for fresh iid masks.

        ``None`` (the default) when the law has no mask-averaged matrix
        (``masks="expected"`` is then refused).

        Parameters
        ----------
        p : float
            Masking probability.
        d : int
            Number of coordinates.

        Returns
        -------
        float or None
            The pair moment.
        """
        return None

    def stream(self, d: int, p: float, rng: np.random.Generator) -> MaskStream:
        """A :class:`MaskStream`: the masks of consecutive row blocks, in draw order.

        Parameters
        ----------
        d : int
            Number of coordinates.
        p : float
            Masking probability.
        rng : numpy.random.Generator
            Random generator, consumed as one :meth:`draw` of all the rows would.

        Returns
        -------
        MaskStream
            ``stream(rows)`` gives the next ``rows`` masks (the one shared row for a shared law).
        """
        return MaskStream(self, d, p, rng)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class MaskStream:
    """The masks of consecutive row blocks of one law (see :meth:`MaskLaw.stream`).

    Parameters
    ----------
    law : MaskLaw
        The law.
    d : int
        Number of coordinates.
    p : float
        Masking probability.
    rng : numpy.random.Generator
        Random generator.
    """

    def __init__(self, law: MaskLaw, d: int, p: float, rng: np.random.Generator) -> None:
        self.law, self.d, self.p, self.rng = law, d, p, rng
        self._shared: np.ndarray | None = None

    def __call__(self, rows: int) -> np.ndarray:
        """The masks of the next ``rows`` samples, shape (rows, d) or (1, d) for a shared law."""
        if self.law.shared:
            if self._shared is None:
                self._shared = self.law.draw(1, self.d, self.p, self.rng)
            return self._shared
        return self.law.draw(rows, self.d, self.p, self.rng)


def _bernoulli(rows, d, p, rng):
    """iid Bernoulli(p) booleans of shape (rows, d), row by row from ``rng``.

    For ``p = 1/2`` each entry is one bit of a uniform 64-bit word
    (``rng.integers(0, 2**64, dtype=uint64)``: the raw output of PCG64, two
    outputs of a 32-bit generator such as MT19937): row i takes ``ceil(d / 64)``
    words and entry j is bit ``j % 64`` of word ``j // 64`` (least significant first). Otherwise entry (i, j) is
    ``u < p`` for the ``i d + j``-th double of ``rng.random``. Either way a row
    takes a fixed number of draws, so drawing rows in blocks gives the same masks
    as drawing them at once (what the chunked and stacked paths rely on).
    """
    if p == 0.5:
        words = rng.integers(0, 2**64, size=(rows, -(-d // 64)), dtype=np.uint64)
        octets = words.astype("<u8", copy=False).view(np.uint8)  # byte order fixed across platforms
        return np.unpackbits(octets, axis=1, count=d, bitorder="little").view(bool)
    return rng.random((rows, d)) < p


def _bernoulli_draws(d, p):
    """PCG64 outputs per Bernoulli row: one per 64-bit word at p = 1/2, one per double otherwise."""
    return -(-d // 64) if p == 0.5 else d


def _k_subsets(rows, d, p, rng):
    """A uniformly random ``floor(p d)``-subset per row: the k smallest of d iid uniforms."""
    k = math.floor(p * d)
    idx = np.argpartition(rng.random((rows, d)), k, axis=1)[:, :k]
    mask = np.zeros((rows, d), dtype=bool)
    np.put_along_axis(mask, idx, True, axis=1)
    return mask


def _check_count(law, p, d):
    if math.floor(p * d) == 0:
        raise ValueError(
            f"p must be at least 1/d = {1 / d:.3g} for mode={law.name!r}: floor(p d) = 0 leaves view 1 empty"
        )


class PerSample(MaskLaw):
    """iid Bernoulli(p) entries, fresh for every sample (the paper's law)."""

    name = "per-sample"

    def draw(self, rows, d, p, rng):  # documented on MaskLaw
        return _bernoulli(rows, d, p, rng)

    def draws_per_row(self, d, p):
        return _bernoulli_draws(d, p)

    def pair_moment(self, p, d):
        return p * (1 - p)


class Fixed(MaskLaw):
    """One random set of ``floor(p d)`` coordinates shared by all samples (the reproduction report's)."""

    name = "fixed"
    shared = True

    def check(self, p, d):
        _check_count(self, p, d)

    def draw(self, rows, d, p, rng):
        return _k_subsets(1, d, p, rng)


class FixedBernoulli(MaskLaw):
    """One iid Bernoulli(p) mask shared by all samples (the model document's fixed-mask reference values)."""

    name = "fixed-bernoulli"
    shared = True

    def draw(self, rows, d, p, rng):
        return _bernoulli(1, d, p, rng)


class ExactCount(MaskLaw):
    """A fresh uniformly random set of ``floor(p d)`` coordinates per sample."""

    name = "exact-count"

    def check(self, p, d):
        _check_count(self, p, d)

    def draw(self, rows, d, p, rng):
        return _k_subsets(rows, d, p, rng)

    def draws_per_row(self, d, p):
        return d


#: The registered mask laws by ``mask_mode`` name (:func:`register_mask_law` adds one).
MASK_LAWS = {law.name: law for law in (PerSample(), Fixed(), FixedBernoulli(), ExactCount())}

#: The built-in ``mask_mode`` names.
MASK_MODES = tuple(MASK_LAWS)


def register_mask_law(law: MaskLaw, *, replace: bool = False) -> MaskLaw:
    """Register a mask law so that ``mask_mode=law.name`` selects it everywhere.

    Parameters
    ----------
    law : MaskLaw
        An instance of a :class:`MaskLaw` subclass with a non-empty :attr:`~MaskLaw.name`.
    replace : bool, default=False
        Allow replacing a registered law of the same name (never a built-in one).

    Returns
    -------
    MaskLaw
        ``law``, so the call can decorate an instantiation.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> class FirstCoordinates(sc.MaskLaw):
    ...     name = "first-coordinates"
    ...     shared = True
    ...     def draw(self, rows, d, p, rng):
    ...         mask = np.zeros((1, d), dtype=bool)
    ...         mask[0, : int(p * d)] = True
    ...         return mask
    >>> law = sc.register_mask_law(FirstCoordinates())
    >>> X = sc.SpikedModel.random(40, 2, rng=0).sample(200, rng=1)
    >>> fit = sc.fit_contrastive(X, 2, mask_mode="first-coordinates", rng=2)
    >>> fit.info["mask_mode"], fit.W.shape
    ('first-coordinates', (2, 40))
    >>> del sc.augment.MASK_LAWS["first-coordinates"]  # unregister (leaves the registry as it was)
    """
    return register_named(MASK_LAWS, law, MaskLaw, MASK_MODES, what="law", kind="mask law", replace=replace)


def get_mask_law(mode: str | MaskLaw, name: str = "mask_mode") -> MaskLaw:
    """The :class:`MaskLaw` registered as ``mode`` (or ``mode`` itself when it is a law).

    Parameters
    ----------
    mode : str or MaskLaw
        A registered name or a law.
    name : str, default="mask_mode"
        Parameter name for the error message.

    Returns
    -------
    MaskLaw
        The law.
    """
    return lookup_named(MASK_LAWS, mode, MaskLaw, name)


def draw_mask(n: int, d: int, p: float = 0.5, *, rng: RNGLike = None, mode: str | MaskLaw = "per-sample") -> np.ndarray:
    """Draw a boolean mask on the host; ``True`` marks a coordinate of view 1.

    Parameters
    ----------
    n : int
        Number of samples.
    d : int
        Number of coordinates.
    p : float, default=0.5
        Probability (``"per-sample"``) or fraction (``"fixed"``,
        ``"exact-count"``: exactly ``floor(p d)`` coordinates) of coordinates
        sent to view 1, in ``(0, 1)``.
    rng : None, int or numpy.random.Generator, optional
        Random generator.
    mode : {"per-sample", "fixed", "fixed-bernoulli", "exact-count"} or MaskLaw, default="per-sample"
        ``"per-sample"``: iid Bernoulli(p) entries, fresh for every sample;
        ``"fixed"``: one random set of ``floor(p d)`` coordinates shared by all
        samples (the reproduction report's implementation);
        ``"fixed-bernoulli"``: one iid Bernoulli(p) mask shared by all samples
        (its count varies, which adds bias: the model document's fixed-mask reference
        values are reproduced by this law); ``"exact-count"``: a fresh set of
        ``floor(p d)`` coordinates per sample. Any name of :data:`MASK_LAWS`.

    Returns
    -------
    numpy.ndarray of bool, shape (n, d) or (1, d)
        The mask; the shared (fixed) laws return one row that broadcasts over samples.

    Notes
    -----
    The model document phrases the fixed mask as "``floor(p d)`` zeros". The contrastive
    objectives are symmetric in the two views, so sending ``floor(p d)``
    coordinates to view 1 or to view 2 gives the same fit.

    The Bernoulli laws draw ``p = 1/2`` entries as raw random bits (one 64-bit
    draw per 64 entries, about 20 times cheaper than a double per entry) and any
    other ``p`` as ``u < p`` with ``u`` from ``rng.random``; both are exact.

    Examples
    --------
    >>> import spikedcl as sc
    >>> sc.draw_mask(3, 8, 0.5, rng=0).astype(int)  # a fresh mask per sample
    array([[1, 1, 1, 1, 1, 0, 1, 0],
           [1, 0, 0, 0, 0, 1, 0, 0],
           [0, 0, 0, 1, 1, 1, 0, 1]])
    >>> sc.draw_mask(3, 8, 0.5, rng=0, mode="fixed").astype(int)  # one row of floor(p d) = 4 ones, shared
    array([[0, 1, 1, 1, 0, 0, 1, 0]])
    """
    n = check_int(n, "n", low=1)
    d = check_int(d, "d", low=2)
    p = check_unit_interval(p, "p")
    law = get_mask_law(mode, "mode")
    law.check(p, d)
    return law.draw(n, d, p, check_rng(rng))


def random_mask(
    X: Array, p: float = 0.5, *, rng: RNGLike = None, mode: str | MaskLaw = "per-sample"
) -> tuple[Array, Array]:
    """Split every sample into two complementary masked views.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data, one sample per row.
    p : float, default=0.5
        Masking probability in ``(0, 1)``; see :func:`draw_mask`.
    rng : None, int or numpy.random.Generator, optional
        Random generator for the mask.
    mode : {"per-sample", "fixed", "fixed-bernoulli", "exact-count"} or MaskLaw, default="per-sample"
        Mask law; see :func:`draw_mask`.

    Returns
    -------
    X1 : array of shape (n_samples, n_features)
        View 1, ``A x`` for each sample (no ``1/p`` rescaling).
    X2 : array of shape (n_samples, n_features)
        View 2, ``(I - A) x``; ``X1 + X2 == X`` exactly.

    Notes
    -----
    docs/model.md §2. The mask is drawn on the host and copied to the device of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> X = np.arange(12.0).reshape(2, 6)
    >>> X1, X2 = sc.random_mask(X, 0.5, rng=0)
    >>> X1
    array([[ 0.,  1.,  2.,  3.,  4.,  0.],
           [ 6.,  0.,  0.,  0.,  0., 11.]])
    >>> bool(np.array_equal(X1 + X2, X))  # complementary views
    True
    """
    _, X = check_data(X, "X", min_rows=1)
    p = check_unit_interval(p, "p")
    law = get_mask_law(mode, "mode")
    law.check(p, X.shape[1])
    return apply_mask(X, law.draw(X.shape[0], X.shape[1], p, check_rng(rng)))


def split_views(
    X: Array, p: float = 0.5, *, rng: RNGLike = None, mode: str | MaskLaw = "per-sample"
) -> tuple[Array, Array]:
    """:func:`random_mask` without the checks on ``X`` (for callers that validated it).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data.
    p : float, default=0.5
        Masking probability in ``(0, 1)``.
    rng : None, int or numpy.random.Generator, optional
        Random generator for the mask.
    mode : str or MaskLaw, default="per-sample"
        Mask law.

    Returns
    -------
    X1, X2 : arrays of shape (n_samples, n_features)
        The two views, as :func:`random_mask`.
    """
    law = get_mask_law(mode, "mode")
    return apply_mask(X, law.draw(X.shape[0], X.shape[1], p, check_rng(rng)))


def apply_mask(X: Array, mask: np.ndarray) -> tuple[Array, Array]:
    """The views ``(A x, x - A x)`` of the rows of ``X`` for a host boolean ``mask``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        Data.
    mask : numpy.ndarray of bool, shape (n_samples, n_features) or (1, n_features)
        ``True`` marks view 1.

    Returns
    -------
    X1, X2 : arrays of shape (n_samples, n_features)
        ``X1 + X2 == X`` exactly.
    """
    xp = get_namespace(X)
    mask = to_namespace(mask, xp, device=device_of(X))
    X1 = X * xp.astype(mask, X.dtype)  # 4x faster than where(); entries are x or ±0 exactly
    return X1, X - X1


def expected_mask_moments(x: Array, p: float = 0.5) -> dict[str, Array]:
    """Mask-averaged moments of one sample under iid Bernoulli(p) masks.

    Parameters
    ----------
    x : array of shape (n_features,)
        One sample.
    p : float, default=0.5
        Masking probability in ``(0, 1)``.

    Returns
    -------
    dict of str to array
        ``"mean"``: :math:`\\mathbb{E}[Ax] = p x`, shape (d,);
        ``"cross"``: :math:`\\mathbb{E}[A x x^\\top (I-A)] = p(1-p)\\Delta(x x^\\top)`,
        shape (d, d); ``"same"``: :math:`\\mathbb{E}[A x x^\\top A] = p^2 x x^\\top + p(1-p) D(x x^\\top)`,
        shape (d, d).

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> m = sc.expected_mask_moments(np.array([1.0, 2.0, 3.0]), p=0.5)
    >>> m["mean"]
    array([0.5, 1. , 1.5])
    >>> m["cross"]  # p(1-p) times the off-diagonal of x x^T
    array([[0.  , 0.5 , 0.75],
           [0.5 , 0.  , 1.5 ],
           [0.75, 1.5 , 0.  ]])
    """
    xp, x = check_data(x, "x", ndim=1)
    p = check_unit_interval(p, "p")
    outer = x[:, None] * x[None, :]
    return {
        "mean": p * x,
        "cross": p * (1 - p) * offdiag(outer),
        "same": p**2 * outer + p * (1 - p) * diag_part(outer),
    }
