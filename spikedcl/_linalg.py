"""Small array-API linear-algebra helpers shared by the closed forms and metrics."""

from __future__ import annotations

from ._array_api import device_of, get_namespace

__all__ = [
    "sym", "eye_like", "offdiag", "diag_part", "top_eigh", "fix_signs", "orthonormalize", "outer", "pair_mean",
    "rank1_apply",
]


def sym(B):
    """Symmetric part :math:`(B + B^\\top)/2` of a (stack of) square matrix."""
    return (B + B.mT) / 2


def eye_like(M):
    """Identity with the size, dtype and device of the square matrix ``M``."""
    xp = get_namespace(M)
    return xp.eye(M.shape[-1], dtype=M.dtype, device=device_of(M))


def offdiag(M):
    """:math:`\\Delta(M)`: ``M`` with its diagonal set to zero."""
    return M * (1 - eye_like(M))


def diag_part(M):
    """:math:`D(M)`: the diagonal part of ``M`` as a matrix."""
    return M * eye_like(M)


def fix_signs(V):
    """Flip columns so that the sum of cubes of each column is non-negative.

    Eigenvectors have no sign convention across libraries; this makes the
    exposed bases deterministic without changing any subspace.
    """
    xp = get_namespace(V)
    s = xp.sum(V**3, axis=-2, keepdims=True)
    return V * (1 - 2 * xp.astype(s < 0, V.dtype))


def top_eigh(S, k):
    """Top-``k`` eigenpairs of a symmetric matrix, in descending order.

    Parameters
    ----------
    S : array of shape (..., d, d)
        Symmetric matrix or stack of them.
    k : int
        Number of eigenpairs.

    Returns
    -------
    values : array of shape (..., k)
        The ``k`` largest eigenvalues, descending.
    vectors : array of shape (..., d, k)
        Orthonormal eigenvectors with deterministic signs (:func:`fix_signs`).
    """
    xp = get_namespace(S)
    # A full eigh through the namespace. SciPy's subset driver would compute only
    # k pairs, but SciPy ships its own OpenBLAS whose idle threads then slow the
    # next NumPy product 3x (measured in benchmarks/README.md).
    vals, vecs = xp.linalg.eigh(S)
    vals = xp.flip(vals, axis=-1)[..., :k]
    vecs = xp.flip(vecs, axis=-1)[..., :k]
    return vals, fix_signs(vecs)


def orthonormalize(B, name="B"):
    """Orthonormal basis (thin QR) of the columns of ``B`` of shape (d, k).

    Raises :class:`ValueError` naming ``name`` when ``B`` is numerically rank
    deficient (a QR would silently return a basis of another subspace).
    """
    xp = get_namespace(B)
    Q, R = xp.linalg.qr(B)
    diag = xp.abs(xp.linalg.diagonal(R))
    if not bool(xp.min(diag) > B.shape[0] * xp.finfo(B.dtype).eps * xp.max(diag)):
        raise ValueError(f"{name} must have full column rank (its columns span fewer than {B.shape[1]} dimensions)")
    return Q


def outer(a, b):
    """Outer products of the last axes: (..., d) x (..., d) -> (..., d, d)."""
    return a[..., :, None] * b[..., None, :]


def pair_mean(a, b, C, n):
    """:math:`\\operatorname{sym}(ab^\\top - C)/(n(n-1))`: the symmetrised mean of :math:`x_i y_j^\\top`
    over the ordered pairs i != j of ``n`` rows with column sums ``a``, ``b`` and :math:`C = \\sum_i x_i y_i^\\top`
    (the column-sum identity :math:`\\sum_{i \\ne j} a_i b_j^\\top = (\\sum a_i)(\\sum b_j)^\\top - \\sum a_i b_i^\\top`)."""
    return sym(outer(a, b) - C) / (n * (n - 1))


def rank1_apply(u, V):
    """:math:`u (u^\\top V)` for stacks: u (..., d), V (..., d, b)."""
    return u[..., :, None] * (u[..., None, :] @ V)
