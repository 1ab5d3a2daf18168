"""Top-``k`` symmetric eigensolvers: dense ``eigh`` and a matrix-free block Krylov method.

The closed forms of docs/model.md §3–§4 need only the ``k = r`` largest eigenpairs of a
symmetric ``d x d`` statistic. For small ``d`` a full ``eigh`` is cheapest. For
large ``d`` the statistic is never formed: it is applied to a block of vectors
through products with the data (``M V = q[X^T (X V)/n - ...]``), and a
restarted block Krylov method (block Lanczos with full reorthogonalisation and
Rayleigh–Ritz extraction) finds the top eigenpairs. Everything is built from
``matmul``, ``qr`` and a small ``eigh``, so the solver stays inside the array
API standard and runs on any namespace and device, including stacks of
matrices (a leading replicate axis).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ._array_api import device_of, get_namespace, to_namespace
from ._linalg import fix_signs, sym
from ._typing import Array, Device, Namespace
from ._validation import check_choice, check_int, check_positive
from .exceptions import ConvergenceWarning

__all__ = [
    "EIGENSOLVERS",
    "MATRIX_FREE_MIN_D",
    "SymmetricOperator",
    "block_krylov_eigh",
    "top_eigenpairs",
    "choose_eigensolver",
]

#: Accepted values of ``eigensolver=``.
EIGENSOLVERS = ("auto", "dense", "matrix-free")
#: The ``eigensolver=`` choices.
EigensolverChoice = Literal["auto", "dense", "matrix-free"]

#: With ``eigensolver="auto"`` fits from data go matrix-free from this ``d`` on
#: (a float64 ``d x d`` matrix is then 128 MiB or more).
MATRIX_FREE_MIN_D = 4096

#: With ``eigensolver="auto"`` a formed matrix is solved by block Krylov (with a
#: dense fallback) from this ``d`` on, when ``k <= d / 8``; below, by ``eigh``.
KRYLOV_MIN_D = 512


@dataclass(frozen=True)
class SymmetricOperator:
    """A symmetric ``d x d`` linear map given by its action on blocks of vectors.

    Parameters
    ----------
    matmat : callable
        ``matmat(V)`` returns ``A @ V`` for ``V`` of shape (..., d, b).
    d : int
        Dimension.
    xp : namespace
        Array namespace of the operator's data.
    dtype : dtype
        Floating dtype of the operator's data.
    device : object
        Device of the operator's data.
    batch_shape : tuple of int, default=()
        Leading (replicate) axes of the operator.

    Examples
    --------
    A diagonal operator known only by its action on blocks of vectors:

    >>> import numpy as np
    >>> import spikedcl as sc
    >>> w = np.linspace(1.0, 0.0, 100) ** 8
    >>> op = sc.SymmetricOperator(lambda V: w[:, None] * V, d=100, xp=np, dtype=np.float64, device="cpu")
    >>> values, vectors = sc.top_eigenpairs(op, 3)
    >>> np.round(values, 3), vectors.shape
    (array([1.   , 0.922, 0.849]), (100, 3))
    >>> sc.SymmetricOperator.from_matrix(np.diag(w)).d
    100
    """

    matmat: Callable[[Array], Array]
    d: int
    xp: Namespace
    dtype: Any
    device: Device
    batch_shape: tuple[int, ...] = ()

    @classmethod
    def from_matrix(cls, A: Array) -> SymmetricOperator:
        """Wrap a formed (stack of) symmetric matrix.

        Parameters
        ----------
        A : array of shape (..., d, d)
            Symmetric matrix or stack.

        Returns
        -------
        SymmetricOperator
            ``matmat(V) = A @ V``.
        """
        xp = get_namespace(A)
        return cls(lambda V: A @ V, A.shape[-1], xp, A.dtype, device_of(A), tuple(A.shape[:-2]))


def choose_eigensolver(
    eigensolver: EigensolverChoice, d: int, k: int, *, formed: bool
) -> Literal["dense", "matrix-free"]:
    """Resolve ``eigensolver="auto"`` to ``"dense"`` or ``"matrix-free"``.

    Parameters
    ----------
    eigensolver : {"auto", "dense", "matrix-free"}
        The request.
    d : int
        Dimension of the statistic.
    k : int
        Number of eigenpairs.
    formed : bool
        Whether the ``d x d`` matrix is already formed (then block Krylov is
        applied to it from ``d >= 512`` with ``k <= d/8``); otherwise the choice
        is whether to form it (matrix-free from ``d >= 4096``).

    Returns
    -------
    str
        ``"dense"`` or ``"matrix-free"``.
    """
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    if eigensolver != "auto":
        return eigensolver
    if formed:
        return "matrix-free" if d >= KRYLOV_MIN_D and 8 * k <= d else "dense"
    return "matrix-free" if d >= MATRIX_FREE_MIN_D else "dense"


def _default_tol(xp, dtype):
    eps = float(xp.finfo(dtype).eps)
    return 1e-10 if eps < 1e-10 else 3e-5


def _cholqr(Y, xp):
    """Orthonormal basis of the columns of ``Y`` by shifted Cholesky QR.

    :math:`Q = Y R^{-1}` with :math:`R^\\top R = Y^\\top Y + sI`, the shift
    :math:`s = 11(db + b(b+1))\\,\\varepsilon\\,\\|Y\\|_F^2` keeping the first
    factorisation defined, then two unshifted passes (shifted CholeskyQR3,
    Fukaya et al. 2020) give orthonormality to rounding. Only ``matmul``, a
    ``b x b`` Cholesky and inverse: LAPACK's tall-skinny ``qr`` is far slower
    with threaded BLAS.
    """
    d, b = Y.shape[-2], Y.shape[-1]
    eye = xp.eye(b, dtype=Y.dtype, device=device_of(Y))
    eps = float(xp.finfo(Y.dtype).eps)
    Q = Y
    try:
        for k in range(3):
            G = sym(Q.mT @ Q)
            if k == 0:
                G = G + (11 * (d * b + b * (b + 1)) * eps) * xp.linalg.trace(G)[..., None, None] * eye
            Q = Q @ xp.linalg.inv(xp.linalg.cholesky(G, upper=True))
        error = xp.max(xp.abs(Q.mT @ Q - eye))
        if bool(error <= 100 * b * eps):  # false for NaN too
            return Q
    except Exception:  # noqa: BLE001 - each library raises its own error for a non-positive-definite G
        pass
    # (nearly) rank-deficient block: Householder QR, slower but unconditionally stable
    Q, _ = xp.linalg.qr(Y)
    return Q


def _orthonormal_complement(V, Y, xp, noise):
    """Orthonormal basis of the part of ``Y`` orthogonal to the orthonormal ``V``.

    ``noise`` (rounding-sized, fixed) refills directions that an exhausted
    Krylov block leaves empty, so the new block is always of full rank.
    """
    for _ in range(2):
        Y = Y - V @ (V.mT @ Y)
    Y = _cholqr(Y + noise, xp)
    # directions rebuilt from a nearly empty block may lean on V again: project once more
    Y = Y - V @ (V.mT @ Y)
    return _cholqr(Y, xp)


def block_krylov_eigh(
    op: SymmetricOperator | Array,
    k: int,
    *,
    block_size: int | None = None,
    steps: int | None = None,
    tol: float | None = None,
    max_restarts: int = 60,
    seed: int = 0,
) -> tuple[Array, Array, dict[str, Any]]:
    """Top-``k`` eigenpairs of a symmetric operator by restarted block Lanczos.

    Each cycle builds the block Krylov basis
    :math:`\\mathcal K = [Q, AQ, \\dots, A^{s}Q]` (full reorthogonalisation:
    two-pass block Gram–Schmidt, then shifted Cholesky QR), extracts Ritz pairs from
    :math:`T = \\mathcal K^\\top A \\mathcal K` and restarts from the top
    ``block_size`` Ritz vectors (whose images are reused). It stops when every
    wanted Ritz pair has

    .. math::

        \\|A x_j - \\theta_j x_j\\| \\le \\mathrm{tol}\\cdot\\max_i|\\theta_i|,

    which bounds the angle to the true eigenvector by the residual over the
    spectral gap (Davis–Kahan).

    Parameters
    ----------
    op : SymmetricOperator or array of shape (..., d, d)
        The operator, or a formed symmetric matrix (stack).
    k : int
        Number of eigenpairs, ``1 <= k < d``.
    block_size : int, optional
        Block width ``b >= k`` (default ``min(d, max(2k, k + 6))``); when
        ``2b > d`` the block is the whole space and one Rayleigh–Ritz step is exact.
    steps : int, optional
        Krylov steps per cycle ``s >= 1`` (default so that the basis holds
        ``b (s+1) <= min(d, max(8b, 60))`` columns).
    tol : float, optional
        Relative residual tolerance (default 1e-10 in float64, 3e-5 in float32).
    max_restarts : int, default=60
        Maximum number of cycles.
    seed : int, default=0
        Seed of the host generator drawing the Gaussian start block (fixed, so
        results are deterministic).

    Returns
    -------
    values : array of shape (..., k)
        Ritz values, descending.
    vectors : array of shape (..., d, k)
        Orthonormal Ritz vectors with deterministic signs.
    info : dict
        ``"converged"`` (bool), ``"n_restarts"``, ``"n_applied"`` (columns the
        operator was applied to) and ``"residual"`` (largest relative residual).

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> w = np.linspace(1.0, 0.0, 100) ** 8
    >>> op = sc.SymmetricOperator(lambda V: w[:, None] * V, d=100, xp=np, dtype=np.float64, device="cpu")
    >>> values, vectors, info = sc.block_krylov_eigh(op, 3)
    >>> np.round(values, 3), info["converged"]
    (array([1.   , 0.922, 0.849]), True)
    >>> np.round(np.abs(vectors[:4]), 3)  # the first three coordinate axes
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.],
           [0., 0., 0.]])
    """
    if not isinstance(op, SymmetricOperator):
        op = SymmetricOperator.from_matrix(op)
    xp, d = op.xp, op.d
    k = check_int(k, "k", low=1, high=d - 1)
    b = min(d, max(2 * k, k + 6)) if block_size is None else check_int(block_size, "block_size", low=k, high=d)
    if steps is None:
        steps = max(1, min(d, max(8 * b, 60)) // b - 1)
    steps = check_int(steps, "steps", low=1)
    if 2 * b > d:
        b = d
    tol = _default_tol(xp, op.dtype) if tol is None else check_positive(tol, "tol")
    max_restarts = check_int(max_restarts, "max_restarts", low=1)

    host = np.random.default_rng(seed).standard_normal((2,) + op.batch_shape + (d, b))
    start = to_namespace(host, xp, device=op.device, dtype=op.dtype)
    Q = _cholqr(start[0, ...], xp)
    fill = start[1, ...] * (float(xp.finfo(op.dtype).eps) / math.sqrt(d))
    AQ = op.matmat(Q)
    n_applied = b
    info = {"converged": False, "n_restarts": 0, "n_applied": 0, "residual": math.inf}
    for cycle in range(1, max_restarts + 1):
        blocks, images = [Q], [AQ]
        V = Q
        n_steps = min(steps, d // b - 1) if d - b >= b else 0
        for _ in range(n_steps):
            scale = xp.max(xp.linalg.vector_norm(images[-1], axis=-2), axis=-1)[..., None, None]
            Qn = _orthonormal_complement(V, images[-1], xp, fill * scale)
            blocks.append(Qn)
            V = xp.concat(blocks, axis=-1)
            images.append(op.matmat(Qn))
            n_applied += b
        AV = xp.concat(images, axis=-1)
        theta, S = xp.linalg.eigh(sym(V.mT @ AV))
        theta = xp.flip(theta, axis=-1)[..., :b]
        S = xp.flip(S, axis=-1)[..., :b]
        Q, AQ = V @ S, AV @ S
        R = AQ[..., :k] - Q[..., :k] * theta[..., None, :k]
        res = xp.linalg.vector_norm(R, axis=-2)
        scale = xp.max(xp.abs(theta), axis=-1, keepdims=True)
        rel = float(xp.max(res / xp.where(scale > 0, scale, xp.ones_like(scale))))
        info.update(n_restarts=cycle, n_applied=n_applied, residual=rel)
        if rel <= tol or V.shape[-1] >= d:
            info["converged"] = True
            break
    return theta[..., :k], fix_signs(Q[..., :k]), info


def top_eigenpairs(
    A: Array | SymmetricOperator,
    k: int,
    *,
    eigensolver: EigensolverChoice = "auto",
    tol: float | None = None,
    max_restarts: int | None = None,
) -> tuple[Array, Array]:
    """Top-``k`` eigenpairs of a symmetric matrix or operator, descending.

    Parameters
    ----------
    A : array of shape (..., d, d) or SymmetricOperator
        Symmetric matrix (stack), or an operator known only by its action.
    k : int
        Number of eigenpairs, ``1 <= k < d``.
    eigensolver : {"auto", "dense", "matrix-free"}, default="auto"
        ``"dense"``: the namespace's full ``eigh`` (needs a formed matrix);
        ``"matrix-free"``: :func:`block_krylov_eigh`; ``"auto"``: dense below
        ``d = 512`` or for ``k > d/8``, else block Krylov with a dense fallback
        when it has not converged within its budget. Operators always use
        block Krylov.
    tol : float, optional
        Relative residual tolerance of the Krylov solver.
    max_restarts : int, optional
        Cycle budget of the Krylov solver (default 60; 12 under ``"auto"``
        before the dense fallback).

    Returns
    -------
    values : array of shape (..., k)
        The ``k`` largest eigenvalues, descending.
    vectors : array of shape (..., d, k)
        Orthonormal eigenvectors with deterministic signs.

    Warns
    -----
    ConvergenceWarning
        When the Krylov solver misses ``tol`` and no dense fallback exists.

    Examples
    --------
    >>> import numpy as np
    >>> import spikedcl as sc
    >>> A = np.diag([3.0, 1.0, 4.0, 1.5, 0.5])
    >>> values, vectors = sc.top_eigenpairs(A, 2)
    >>> values
    array([4., 3.])
    >>> np.abs(vectors).argmax(axis=0)  # e_3 and e_1
    array([2, 0])
    """
    check_choice(eigensolver, "eigensolver", EIGENSOLVERS)
    formed = not isinstance(A, SymmetricOperator)
    if formed:
        xp = get_namespace(A)
        d = A.shape[-1]
    else:
        xp, d = A.xp, A.d
    k = check_int(k, "k", low=1, high=d - 1)
    if not formed and eigensolver == "dense":
        raise ValueError("eigensolver='dense' needs a formed (d, d) matrix; got an operator")
    method = choose_eigensolver(eigensolver, d, k, formed=True) if formed else "matrix-free"
    if method == "dense":
        vals, vecs = xp.linalg.eigh(A)
        return xp.flip(vals, axis=-1)[..., :k], fix_signs(xp.flip(vecs, axis=-1)[..., :k])
    fallback = formed and eigensolver == "auto"
    budget = max_restarts if max_restarts is not None else (12 if fallback else 60)
    vals, vecs, info = block_krylov_eigh(A, k, tol=tol, max_restarts=budget)
    if info["converged"]:
        return vals, vecs
    if fallback:
        return top_eigenpairs(A, k, eigensolver="dense")
    warnings.warn(
        f"the block Krylov eigensolver stopped after {info['n_restarts']} cycles with relative "
        f"residual {info['residual']:.2e} (tol {tol or _default_tol(xp, A.dtype):.1e}); "
        "raise max_restarts or use eigensolver='dense'",
        ConvergenceWarning,
        stacklevel=2,
    )
    return vals, vecs
