"""Subspace distances: sinΘ norms and principal angles (spec §5).

All functions compare column spaces only: they orthonormalise their inputs
and never look at individual eigenvector entries, so they are invariant to
any change of basis :math:`U \\to U G` with :math:`G` invertible.
"""

from __future__ import annotations

import math

from ._array_api import get_namespace
from ._linalg import orthonormalize
from ._validation import check_choice, check_data

__all__ = ["sin_theta", "principal_angles"]

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


def sin_theta(U, V, *, norm="fro"):
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
    Spec §5. The sines are the singular values of :math:`(I - Q_U Q_U^\\top) Q_V`,
    which keeps full relative accuracy for nearly equal subspaces.
    """
    check_choice(norm, "norm", SIN_THETA_NORMS)
    xp, sines, _ = _sines_cosines(U, V)
    sines = xp.clip(sines, max=1.0)
    if norm == "fro":
        return xp.sqrt(xp.sum(sines**2))
    return xp.max(sines)


def principal_angles(U, V):
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
    """
    xp, sines, cosines = _sines_cosines(U, V)
    from_sin = xp.flip(xp.asin(xp.clip(sines, max=1.0)))  # ascending angles
    from_cos = xp.acos(xp.clip(cosines, min=0.0, max=1.0))  # ascending angles
    use_sin = from_sin < (math.pi / 4)
    return xp.where(use_sin, from_sin, from_cos)

