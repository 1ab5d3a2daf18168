"""The spiked covariance model with heteroskedastic noise (docs/model.md §1).

.. math::

    x = U^\\star z + \\xi,\\qquad z \\sim N(0, \\nu^2 I_r),\\qquad
    \\xi \\sim N(0, \\operatorname{diag}(\\sigma_1^2, \\dots, \\sigma_d^2)),

with :math:`U^\\star \\in O_{d,r}` Haar distributed. The model lives on the
host (NumPy); samples are drawn on the host and then moved to the requested
array namespace and device, so CPU and GPU runs see bit-identical data.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ._array_api import device_of, get_namespace, is_cupy_namespace, is_numpy_namespace, to_namespace
from ._typing import Array, Device, Namespace, RNGLike
from ._validation import check_choice, check_int, check_positive, check_rank
from .exceptions import SpikedModelWarning
from .random import check_rng

__all__ = [
    "SpikedModel",
    "NOISE_PROFILES",
    "GENERATORS",
    "noise_variances",
    "register_noise_profile",
    "haar_basis",
    "namespace_generator",
]


def _uniform(d, min_var, max_var, rng):
    """``linspace(min, max, d)``."""
    return np.linspace(min_var, max_var, d)


def _uniform_random(d, min_var, max_var, rng):
    """iid uniform on ``[min, max]``."""
    return rng.uniform(min_var, max_var, size=d)


def _two_block(d, min_var, max_var, rng):
    """``max`` on the first ``ceil(d/2)`` coordinates and ``min`` on the rest."""
    out = np.full(d, min_var)
    out[: math.ceil(d / 2)] = max_var
    return out


def _linear_std(d, min_var, max_var, rng):
    """Standard deviations ``linspace(sqrt(max), sqrt(min), d)``."""
    return np.linspace(math.sqrt(max_var), math.sqrt(min_var), d) ** 2


#: The noise profiles (docs/model.md §1), name -> ``profile(d, min_var, max_var, rng)`` returning the
#: ``d`` variances in ``[min_var, max_var]``; :func:`register_noise_profile` adds one.
NOISE_PROFILES = {
    "uniform": _uniform,
    "uniform-random": _uniform_random,
    "two-block": _two_block,
    "linear-std": _linear_std,
}
_BUILTIN_PROFILES = tuple(NOISE_PROFILES)

#: A noise profile: ``profile(d, min_var, max_var, rng)`` returning the ``d`` variances.
NoiseProfile = Callable[[int, float, float, np.random.Generator], np.ndarray]


def register_noise_profile(name: str, profile: NoiseProfile) -> NoiseProfile:
    """Add a noise profile: ``SpikedModel.random(..., noise=name)`` then draws its variances.

    Parameters
    ----------
    name : str
        The ``noise=`` name (not a built-in one).
    profile : callable
        ``profile(d, min_var, max_var, rng)`` returning an array of shape (d,) of positive
        variances; ``min_var = max_var / condition``; ``rng`` a :class:`numpy.random.Generator`.

    Returns
    -------
    callable
        ``profile``, so the call can decorate the function.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> def one_loud(d, min_var, max_var, rng):
    ...     out = np.full(d, min_var)
    ...     out[0] = max_var  # a single noisy coordinate
    ...     return out
    >>> profile = sc.register_noise_profile("one-loud", one_loud)
    >>> model = sc.SpikedModel.random(40, 2, noise="one-loud", condition=10.0, rng=0)
    >>> np.round(model.noise_var[:3], 3)
    array([1. , 0.1, 0.1])
    >>> del sc.data.NOISE_PROFILES["one-loud"]  # unregister (leaves the registry as it was)
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if name in _BUILTIN_PROFILES:
        raise ValueError(f"noise profile {name!r} is built in; choose another name")
    if not callable(profile):
        raise TypeError(f"profile must be callable as profile(d, min_var, max_var, rng), got {profile!r}")
    NOISE_PROFILES[name] = profile
    return profile

#: Where samples are drawn: ``"host"`` (NumPy, bit-identical on every device) or
#: ``"device"`` (the namespace's own generator, e.g. CuPy's; not bit-identical).
GENERATORS = ("host", "device")


def namespace_generator(xp: Namespace, seed: int, device: Device = None) -> Any:
    """A random generator that draws directly in namespace ``xp`` (``generator="device"``).

    Parameters
    ----------
    xp : namespace
        NumPy or CuPy (through array-api-compat or not).
    seed : int
        Seed, drawn from the caller's host generator.
    device : object, optional
        CuPy device on which to draw.

    Returns
    -------
    object
        A generator with ``standard_normal(shape, dtype=)`` and ``random(shape, dtype=)``;
        CuPy's draws other numbers than NumPy's for the same seed.

    Raises
    ------
    ValueError
        For namespaces without a generator of their own (e.g. array-api-strict).
    """
    if is_cupy_namespace(xp):
        import cupy

        with cupy.cuda.Device(getattr(device, "id", device) or 0) if device is not None else _null():
            return cupy.random.default_rng(seed)
    if is_numpy_namespace(xp):
        return np.random.default_rng(seed)
    raise ValueError(
        f"generator='device' needs a NumPy or CuPy namespace, got {getattr(xp, '__name__', xp)!r}; "
        "use generator='host'"
    )


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

#: Incoherence ratio I(U*) / (r log d / d) above which a warning is raised (docs/model.md §1).
INCOHERENCE_WARN_RATIO = 2.0


def noise_variances(
    d: int, profile: str = "uniform", *, condition: float = 4.0, max_var: float = 1.0, rng: RNGLike = None
) -> np.ndarray:
    """Noise variances of a heteroskedastic profile (docs/model.md §1, "Noise profiles").

    Parameters
    ----------
    d : int
        Ambient dimension.
    profile : {"uniform", "uniform-random", "two-block", "linear-std"} or a registered name
        ``"uniform"``: ``linspace(min, max, d)``; ``"uniform-random"``: iid
        uniform on ``[min, max]``; ``"two-block"``: ``max`` on the first
        ``ceil(d/2)`` coordinates and ``min`` on the rest; ``"linear-std"``:
        standard deviations ``linspace(sqrt(max), sqrt(max/C), d)``.
    condition : float, default=4.0
        Variance ratio ``C = max / min >= 1``.
    max_var : float, default=1.0
        The largest variance :math:`\\sigma^2_{\\max} = \\nu^2/\\rho^2`.
    rng : None, int or numpy.random.Generator, optional
        Used only by ``"uniform-random"``.

    Returns
    -------
    numpy.ndarray of shape (d,)
        The variances :math:`\\sigma_i^2`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> np.round(sc.noise_variances(5, "uniform", condition=4.0), 3)
    array([0.25 , 0.438, 0.625, 0.812, 1.   ])
    >>> sc.noise_variances(6, "two-block", condition=4.0)
    array([1.  , 1.  , 1.  , 0.25, 0.25, 0.25])
    """
    d = check_int(d, "d", low=2)
    check_choice(profile, "noise", NOISE_PROFILES)
    condition = check_positive(condition, "condition")
    if condition < 1:
        raise ValueError(f"condition must lie in [1, inf), got {condition}")
    max_var = check_positive(max_var, "max_var")
    min_var = max_var / condition
    out = np.asarray(NOISE_PROFILES[profile](d, min_var, max_var, check_rng(rng)), dtype=float)
    if out.shape != (d,):
        raise ValueError(f"noise profile {profile!r} must return shape ({d},), got {out.shape}")
    return out


def haar_basis(d: int, r: int, rng: RNGLike = None) -> np.ndarray:
    """A Haar-distributed orthonormal ``d x r`` basis, ``Q sign(diag R)`` of ``qr(randn(d, r))``.

    Parameters
    ----------
    d : int
        Ambient dimension.
    r : int
        Number of columns, ``1 <= r < d``.
    rng : None, int or numpy.random.Generator, optional
        Random generator.

    Returns
    -------
    numpy.ndarray of shape (d, r)
        Orthonormal columns.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> B = sc.haar_basis(20, 3, rng=0)
    >>> B.shape, bool(np.allclose(B.T @ B, np.eye(3)))
    ((20, 3), True)
    """
    d = check_int(d, "d", low=2)
    r = check_rank(r, d)
    q, rr = np.linalg.qr(check_rng(rng).standard_normal((d, r)))
    return q * np.where(np.diag(rr) < 0, -1.0, 1.0)


@dataclass(frozen=True, eq=False)
class SpikedModel:
    """Spiked covariance model :math:`\\Sigma_x = \\nu^2 U^\\star U^{\\star\\top} + \\operatorname{diag}(\\sigma^2)`.

    Parameters
    ----------
    U : numpy.ndarray of shape (d, r)
        Orthonormal signal basis :math:`U^\\star`.
    nu : float
        Signal scale, :math:`\\operatorname{Cov}(z) = \\nu^2 I_r`.
    noise_var : numpy.ndarray of shape (d,)
        Noise variances :math:`\\sigma_i^2 > 0`.
    profile : str, default="custom"
        Name of the noise profile, for bookkeeping.

    Warns
    -----
    SpikedModelWarning
        When ``d < 10 r``, ``d < r^{3/2} log d`` or the incoherence ratio
        :math:`I(U^\\star)/(r \\log d/d)` exceeds 2; :meth:`sample` warns when ``n <= d``.

    See Also
    --------
    SpikedModel.random : Draw a model with a Haar basis and a named noise profile.

    Notes
    -----
    docs/model.md §1. The condition number is the variance ratio
    :math:`\\max_i \\sigma_i^2 / \\min_i \\sigma_i^2`; the SNR is
    :math:`\\rho = \\nu / \\sigma_{\\max}`.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> model = sc.SpikedModel.random(50, 3, snr=2.0, noise="two-block", condition=4.0, rng=0)
    >>> model
    SpikedModel(d=50, r=3, nu=1, noise='two-block', condition=4, incoherence_ratio=0.717)
    >>> X, Z = model.sample(200, rng=1, return_latent=True)
    >>> X.shape, Z.shape, model.covariance().shape
    ((200, 50), (200, 3), (50, 50))
    >>> custom = sc.SpikedModel(U=model.U, nu=2.0, noise_var=np.full(50, 0.5))  # explicit parameters
    >>> custom.profile, round(custom.condition, 3)
    ('custom', 1.0)
    """

    U: np.ndarray
    nu: float
    noise_var: np.ndarray
    profile: str = "custom"

    def __post_init__(self):
        U = np.asarray(self.U, dtype=float)
        s2 = np.asarray(self.noise_var, dtype=float)
        if U.ndim != 2 or U.shape[1] < 1 or U.shape[1] >= U.shape[0]:
            raise ValueError(f"U must have shape (d, r) with 1 <= r < d, got {U.shape}")
        if not np.allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-8):
            raise ValueError("U must have orthonormal columns (U.T @ U == I)")
        if s2.shape != (U.shape[0],):
            raise ValueError(f"noise_var must have shape (d,) = ({U.shape[0]},), got {s2.shape}")
        if not (np.all(np.isfinite(s2)) and np.all(s2 > 0)):
            raise ValueError("noise_var must be finite and positive")
        nu = check_positive(self.nu, "nu")
        U.setflags(write=False)
        s2.setflags(write=False)
        object.__setattr__(self, "U", U)
        object.__setattr__(self, "noise_var", s2)
        object.__setattr__(self, "nu", nu)
        self._warn_outside_regime()

    def _warn_outside_regime(self):
        d, r = self.d, self.r
        if d < 10 * r or d < r**1.5 * math.log(d):
            warnings.warn(
                f"d={d} is not much larger than r={r} (theory needs d >> r: "
                "d >= 10 r and d >= r^1.5 log d)",
                SpikedModelWarning,
                stacklevel=4,
            )
        if self.incoherence_ratio > INCOHERENCE_WARN_RATIO:
            warnings.warn(
                f"U* is coherent: max row norm^2 = {self.incoherence:.3g} is "
                f"{self.incoherence_ratio:.2f} x r log d / d (> {INCOHERENCE_WARN_RATIO})",
                SpikedModelWarning,
                stacklevel=4,
            )

    @classmethod
    def random(
        cls,
        d: int,
        r: int,
        *,
        nu: float = 1.0,
        snr: float = 1.0,
        noise: str | np.ndarray = "uniform",
        condition: float = 4.0,
        rng: RNGLike = None,
    ) -> SpikedModel:
        """Draw a model with a Haar :math:`U^\\star` and a named noise profile.

        Parameters
        ----------
        d : int
            Ambient dimension, ``d >= 2``.
        r : int
            Signal rank, ``1 <= r < d``.
        nu : float, default=1.0
            Signal scale :math:`\\nu`.
        snr : float, default=1.0
            :math:`\\rho = \\nu/\\sigma_{\\max}`, so :math:`\\sigma^2_{\\max} = \\nu^2/\\rho^2`.
        noise : str or array of shape (d,), default="uniform"
            A profile of :data:`NOISE_PROFILES` or explicit noise variances.
        condition : float, default=4.0
            Variance condition number ``C >= 1`` (ignored for explicit variances).
        rng : None, int or numpy.random.Generator, optional
            Random generator (Haar basis first, then ``uniform-random`` variances).

        Returns
        -------
        SpikedModel
            The model.

        Examples
        --------
        >>> import spikedcl as sc
        >>> model = sc.SpikedModel.random(60, 2, nu=1.0, snr=2.0, noise="linear-std", condition=9.0, rng=0)
        >>> model.d, model.r, model.profile, round(model.condition, 3)
        (60, 2, 'linear-std', 9.0)
        >>> round(float(model.noise_var.max()), 3)  # sigma_max^2 = (nu / snr)^2
        0.25
        """
        d = check_int(d, "d", low=2)
        r = check_int(r, "r", low=1, high=d - 1)
        nu = check_positive(nu, "nu")
        snr = check_positive(snr, "snr")
        rng = check_rng(rng)
        U = haar_basis(d, r, rng)
        if isinstance(noise, str):
            s2 = noise_variances(d, noise, condition=condition, max_var=(nu / snr) ** 2, rng=rng)
            profile = noise
        else:
            s2 = np.asarray(noise, dtype=float)
            profile = "custom"
        model = cls(U=U, nu=nu, noise_var=s2, profile=profile)
        return model

    @property
    def d(self) -> int:
        """Ambient dimension."""
        return self.U.shape[0]

    @property
    def r(self) -> int:
        """Signal rank."""
        return self.U.shape[1]

    def __repr__(self) -> str:
        return (f"SpikedModel(d={self.d}, r={self.r}, nu={self.nu:.4g}, noise={self.profile!r}, "
                f"condition={self.condition:.4g}, incoherence_ratio={self.incoherence_ratio:.3g})")

    @property
    def condition(self) -> float:
        """Variance condition number :math:`\\max \\sigma_i^2 / \\min \\sigma_i^2`."""
        return float(self.noise_var.max() / self.noise_var.min())

    @property
    def incoherence(self) -> float:
        """:math:`I(U^\\star) = \\max_i \\|e_i^\\top U^\\star\\|^2`."""
        return float(np.max(np.sum(self.U**2, axis=1)))

    @property
    def incoherence_ratio(self) -> float:
        """:math:`I(U^\\star) / (r \\log d / d)`, at most about 2 for a Haar basis."""
        return self.incoherence / (self.r * math.log(self.d) / self.d)

    def covariance(self) -> np.ndarray:
        """Population covariance :math:`\\nu^2 U^\\star U^{\\star\\top} + \\operatorname{diag}(\\sigma^2)`.

        Returns
        -------
        numpy.ndarray of shape (d, d)
            The covariance of ``x``.
        """
        return self.nu**2 * (self.U @ self.U.T) + np.diag(self.noise_var)

    def sample(
        self,
        n: int,
        *,
        rng: RNGLike = None,
        return_latent: bool = False,
        xp: Namespace | None = None,
        device: Device = None,
        dtype: Any = None,
        generator: Literal["host", "device"] = "host",
    ) -> Array | tuple[Array, Array]:
        """Draw ``n`` iid samples ``X = Z U*^T + randn(n, d) * sqrt(noise_var)``.

        Parameters
        ----------
        n : int
            Number of samples, ``n >= 2``.
        rng : None, int or numpy.random.Generator, optional
            Random generator. ``Z`` is drawn first, then the noise.
        return_latent : bool, default=False
            Also return the latent factors ``Z``.
        xp : array namespace, optional
            Namespace of the returned arrays (default NumPy). Data are drawn on
            the host and copied, so every namespace sees the same numbers.
        device : object, optional
            Device of the returned arrays in ``xp``.
        dtype : dtype, optional
            Floating dtype of the result in ``xp`` (default float64).
        generator : {"host", "device"}, default="host"
            ``"host"``: draw with NumPy and copy (bit-identical on every
            device). ``"device"``: draw in ``xp``'s own generator (CuPy on a
            GPU), seeded by one integer from ``rng``: no host draw and no
            transfer, for huge ``n``, but **not** bit-identical to the host
            draw (CuPy's generator gives other numbers).

        Returns
        -------
        X : array of shape (n, d)
            Samples, one per row.
        Z : array of shape (n, r)
            Latent factors with covariance :math:`\\nu^2 I_r`; only with
            ``return_latent=True``.

        See Also
        --------
        SpikedModel.sample_chunks : The same rows in chunks of bounded memory.

        Examples
        --------
        >>> import spikedcl as sc
        >>> model = sc.SpikedModel.random(40, 2, rng=0)
        >>> X = model.sample(500, rng=1)
        >>> X.shape
        (500, 40)
        >>> bool((X == model.sample(500, rng=1)).all())  # the same rng, the same rows
        True
        """
        n = check_int(n, "n", low=2)
        check_choice(generator, "generator", GENERATORS)
        if n <= self.d:
            warnings.warn(
                f"n={n} <= d={self.d}: the theory assumes n > d",
                SpikedModelWarning,
                stacklevel=2,
            )
        rng = check_rng(rng)
        if generator == "device":
            X, Z = self._device_draw(n, rng, xp, device, dtype)
            return (X, Z) if return_latent else X
        Z = self.nu * rng.standard_normal((n, self.r))
        X = Z @ self.U.T
        X += rng.standard_normal((n, self.d)) * np.sqrt(self.noise_var)
        if xp is not None:
            X = to_namespace(X, xp, device=device, dtype=dtype)
            Z = to_namespace(Z, xp, device=device, dtype=dtype)
        elif dtype is not None:
            X, Z = X.astype(dtype), Z.astype(dtype)
        return (X, Z) if return_latent else X

    def sample_moments(self, n: int, *, rng: RNGLike = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw the sufficient statistics ``(X^T X, X^T 1)`` of ``n`` Gaussian rows in O(d³), whatever ``n``.

        Rows :math:`x_i = \\nu U^\\star z_i + D^{1/2}\\varepsilon_i` are
        :math:`x_i = A\\,\\xi_i` with :math:`A = [\\nu U^\\star \\;|\\; D^{1/2}]`
        of shape (d, r + d) and :math:`\\xi_i \\sim N(0, I_{r+d})`, so
        :math:`X = \\Xi A^\\top`. An orthogonal :math:`H` whose first column is
        :math:`\\mathbf 1/\\sqrt n` leaves the law of :math:`\\Xi` unchanged, and
        with :math:`\\Xi' = H^\\top \\Xi`,

        .. math::

            X^\\top X = A\\,(g g^\\top + W)\\,A^\\top, \\qquad X^\\top \\mathbf 1 = \\sqrt n\\, A g,

        where :math:`g \\sim N(0, I_{r+d})` is the first row of :math:`\\Xi'` and
        :math:`W \\sim \\mathrm{Wishart}_{r+d}(n - 1, I)`, independent of
        :math:`g`, is drawn by the Bartlett decomposition :math:`W = L L^\\top`
        (:math:`L_{ii}^2 \\sim \\chi^2_{n-1-i}` for :math:`i = 0, \\dots, r+d-1`,
        :math:`L_{ij} \\sim N(0, 1)` below the diagonal); for :math:`n - 1 < r + d`,
        :math:`W` is the Gram matrix of :math:`n - 1` standard normal rows. The
        pair has exactly the joint law of the data sampler's statistics
        (docs/model.md §1), but from other random numbers: the same ``rng`` does
        not give the statistics of :meth:`sample`'s rows.

        Parameters
        ----------
        n : int
            Number of samples, ``n >= 2`` (any size: the cost does not grow with ``n``).
        rng : None, int or numpy.random.Generator, optional
            Random generator; ``g`` is drawn first, then the diagonal and the
            lower triangle of ``L`` (or the ``n - 1`` rows).

        Returns
        -------
        gram : numpy.ndarray of shape (d, d)
            :math:`X^\\top X`, symmetric positive semi-definite.
        total : numpy.ndarray of shape (d,)
            :math:`X^\\top \\mathbf 1`, the column sums.

        Examples
        --------
        >>> import numpy as np
        >>> import spikedcl as sc
        >>> model = sc.SpikedModel.random(50, 2, rng=0)
        >>> gram, total = model.sample_moments(10**9, rng=1)
        >>> gram.shape, total.shape
        ((50, 50), (50,))
        >>> bool(np.abs(gram / 10**9 - model.covariance()).max() < 1e-3)  # S -> Sigma at n = 1e9
        True
        """
        n = check_int(n, "n", low=2)
        if n <= self.d:
            warnings.warn(f"n={n} <= d={self.d}: the theory assumes n > d", SpikedModelWarning, stacklevel=2)
        rng = check_rng(rng)
        r, d, m = self.r, self.d, n - 1
        k = r + d
        g = rng.standard_normal(k)
        if m >= k:
            L = np.zeros((k, k + 1))
            L[np.diag_indices(k)] = np.sqrt(rng.chisquare(m - np.arange(k)))
            rows, cols = np.tril_indices(k, -1)
            L[rows, cols] = rng.standard_normal(rows.size)
        else:
            L = np.zeros((k, m + 1))
            L[:, :m] = rng.standard_normal((m, k)).T
        L[:, -1] = g
        B = (self.nu * self.U) @ L[:r] + np.sqrt(self.noise_var)[:, None] * L[r:]  # A [L | g]
        gram = B @ B.T
        gram = (gram + gram.T) / 2
        return gram, np.sqrt(n) * B[:, -1]

    def _device_draw(self, n, rng, xp, device, dtype, gen=None):
        """``X, Z`` drawn in ``xp``'s own generator (not bit-identical to the host draw)."""
        if xp is None:
            raise ValueError("generator='device' needs xp= (the namespace whose generator draws)")
        if gen is None:
            gen = namespace_generator(xp, int(check_rng(rng).integers(2**63)), device)
        like = to_namespace(self.U, xp, device=device, dtype=dtype)
        U, s = like, to_namespace(np.sqrt(self.noise_var), xp, device=device, dtype=dtype)
        xpn = get_namespace(U)
        Z = self.nu * xpn.asarray(gen.standard_normal((n, self.r), dtype=U.dtype), device=device_of(U))
        noise = xpn.asarray(gen.standard_normal((n, self.d), dtype=U.dtype), device=device_of(U))
        return Z @ U.mT + noise * s, Z

    def sample_chunks(
        self,
        n: int,
        chunk_size: int,
        *,
        rng: RNGLike = None,
        xp: Namespace | None = None,
        device: Device = None,
        dtype: Any = None,
        generator: Literal["host", "device"] = "host",
    ) -> Iterator[Array]:
        """Draw the rows of :meth:`sample` in consecutive chunks, holding one chunk at a time.

        With ``generator="host"`` the chunks use exactly the random numbers of
        ``sample(n, rng=rng)``, for every ``chunk_size``, and ``rng`` ends in the
        same state: ``Z`` is drawn from a copy of ``rng`` and the noise from a
        second copy advanced past the ``n r`` latent normals. The concatenated
        chunks equal ``sample``'s rows to rounding (the product
        :math:`Z U^{\\star\\top}` is blocked differently, ~1e-16). Memory is
        :math:`O(\\text{chunk\\_size}\\cdot d)`, independent of ``n``.

        Parameters
        ----------
        n : int
            Total number of samples, ``n >= 2``.
        chunk_size : int
            Rows per chunk, ``>= 1`` (the last chunk may be shorter).
        rng : None, int or numpy.random.Generator, optional
            Random generator, consumed as by :meth:`sample`.
        xp : array namespace, optional
            Namespace of the chunks (default NumPy).
        device : object, optional
            Device of the chunks.
        dtype : dtype, optional
            Floating dtype of the chunks (default float64).
        generator : {"host", "device"}, default="host"
            As in :meth:`sample`; ``"device"`` draws each chunk in ``xp``'s own
            generator (not bit-identical to the host draw).

        Yields
        ------
        array of shape (k, d)
            The next ``k <= chunk_size`` samples.

        Examples
        --------
        >>> import numpy as np
        >>> import spikedcl as sc
        >>> model = sc.SpikedModel.random(50, 3, rng=0)
        >>> chunks = list(model.sample_chunks(200, 64, rng=1))
        >>> [chunk.shape for chunk in chunks]
        [(64, 50), (64, 50), (64, 50), (8, 50)]
        >>> bool(np.allclose(np.vstack(chunks), model.sample(200, rng=1)))
        True
        """
        n = check_int(n, "n", low=2)
        chunk_size = check_int(chunk_size, "chunk_size", low=1)
        check_choice(generator, "generator", GENERATORS)
        rng = check_rng(rng)
        if generator == "device":
            gen = namespace_generator(xp, int(rng.integers(2**63)), device) if xp is not None else None
            for start in range(0, n, chunk_size):
                yield self._device_draw(min(chunk_size, n - start), rng, xp, device, dtype, gen)[0]
            return
        z_rng, noise_rng = copy.deepcopy(rng), copy.deepcopy(rng)
        skip = n * self.r
        while skip:  # advance past the latent normals in bounded memory
            k = min(skip, 1 << 20)  # 8 MiB of normals at a time
            noise_rng.standard_normal(k)
            skip -= k
        scale = np.sqrt(self.noise_var)
        for start in range(0, n, chunk_size):
            k = min(chunk_size, n - start)
            X = (self.nu * z_rng.standard_normal((k, self.r))) @ self.U.T
            X += noise_rng.standard_normal((k, self.d)) * scale
            if xp is not None:
                X = to_namespace(X, xp, device=device, dtype=dtype)
            elif dtype is not None:
                X = X.astype(dtype)
            if start + k >= n:
                rng.bit_generator.state = noise_rng.bit_generator.state
            yield X
