import numpy as np
import pytest
import scipy.linalg

from spikedcl import haar_basis, principal_angles, sin_theta
from spikedcl.theory import random_subspace_value


@pytest.fixture
def pair(rng):
    return rng.standard_normal((20, 4)), rng.standard_normal((20, 4))


def test_definitions_agree(pair):
    U, V = (np.linalg.qr(B).Q for B in pair)
    s = np.linalg.svd(U.T @ V, compute_uv=False)
    fro = sin_theta(U, V)
    assert fro == pytest.approx(np.sqrt(4 - np.sum(s**2)), rel=1e-12)
    assert fro == pytest.approx(np.linalg.norm(U @ U.T - V @ V.T) / np.sqrt(2), rel=1e-12)
    U_perp = scipy.linalg.null_space(U.T)
    assert fro == pytest.approx(np.linalg.norm(U_perp.T @ V), rel=1e-12)
    assert sin_theta(U, V, norm="op") == pytest.approx(np.sqrt(1 - s.min() ** 2), rel=1e-12)


def test_symmetry_invariance_and_range(pair, rng):
    U, V = pair
    for norm in ("fro", "op"):
        d = sin_theta(U, V, norm=norm)
        assert d == pytest.approx(sin_theta(V, U, norm=norm), rel=1e-12)
        G, H = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))  # any invertible change of basis
        assert sin_theta(U @ G, V @ H, norm=norm) == pytest.approx(d, rel=1e-10)
        assert sin_theta(U, U @ G, norm=norm) < 1e-13
    op, fro = sin_theta(U, V, norm="op"), sin_theta(U, V)
    assert 0 <= op <= fro <= 2 * op <= 2  # ‖·‖ <= ‖·‖_F <= √r ‖·‖, r = 4
    # orthogonal subspaces attain the maximum √r
    E = np.eye(20)
    assert sin_theta(E[:, :4], E[:, 4:8]) == pytest.approx(2.0, rel=1e-15)
    assert sin_theta(E[:, :4], E[:, 4:8], norm="op") == pytest.approx(1.0, rel=1e-15)


def test_small_angles_keep_relative_accuracy(rng):
    U = np.linalg.qr(rng.standard_normal((30, 3))).Q
    theta = 1e-9
    # rotate the first basis vector by theta toward a direction outside span(U)
    w = np.linalg.qr(np.column_stack([U, rng.standard_normal(30)])).Q[:, 3]
    V = U.copy()
    V[:, 0] = np.cos(theta) * U[:, 0] + np.sin(theta) * w
    assert sin_theta(U, V) == pytest.approx(np.sin(theta), rel=1e-6)
    np.testing.assert_allclose(principal_angles(U, V), [0, 0, theta], atol=1e-15, rtol=1e-6)


def test_principal_angles_match_scipy(pair):
    U, V = pair
    np.testing.assert_allclose(principal_angles(U, V), np.sort(scipy.linalg.subspace_angles(U, V)), atol=1e-12)
    ang = principal_angles(U, V)
    assert np.all(np.diff(ang) >= 0) and ang.min() >= 0 and ang.max() <= np.pi / 2
    assert sin_theta(U, V) == pytest.approx(np.sqrt(np.sum(np.sin(ang) ** 2)), rel=1e-12)


@pytest.mark.parametrize("d, r", [(200, 5), (40, 10)])
def test_random_subspace_mean(d, r, seed):
    """E‖sinΘ‖_F² = r(d − r)/d exactly for a uniformly random subspace (docs/model.md §5)."""
    rng = np.random.default_rng(seed)
    U = haar_basis(d, r, rng)
    reps = 400
    sq = np.array([sin_theta(U, haar_basis(d, r, rng)) ** 2 for _ in range(reps)])
    target = random_subspace_value(d, r) ** 2
    assert abs(sq.mean() - target) < 6 * sq.std() / np.sqrt(reps)
    assert sq.std() < 0.1 * target  # concentration: it really is an anchor


def test_bad_input(pair):
    U, V = pair
    with pytest.raises(ValueError, match="same r"):
        sin_theta(U, V[:, :3])
    with pytest.raises(ValueError, match="norm must be one of"):
        sin_theta(U, V, norm="nuclear")
    with pytest.raises(ValueError, match="U must be 2-D"):
        sin_theta(U[:, 0], V)
    with pytest.raises(ValueError, match="r <= d"):
        sin_theta(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        principal_angles(U * np.nan, V)
    # a rank-deficient basis spans fewer than r dimensions: no silent answer
    E = np.eye(20)
    with pytest.raises(ValueError, match="V must have full column rank"):
        sin_theta(E[:, :2], np.column_stack([E[:, 0], np.zeros(20)]))
    with pytest.raises(ValueError, match="U must have full column rank"):
        sin_theta(np.column_stack([U[:, :3], U[:, 0] + U[:, 1]]), V)


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(d=st.integers(2, 30), data=st.data())
def test_sin_theta_properties_for_any_shape(d, data):
    r = data.draw(st.integers(1, d))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    U, V = rng.standard_normal((d, r)), rng.standard_normal((d, r))
    fro, op = sin_theta(U, V), sin_theta(U, V, norm="op")
    assert -1e-12 <= op <= fro + 1e-12 <= np.sqrt(r) * op + 1e-9
    assert fro <= np.sqrt(min(r, d - r)) + 1e-12  # at most min(r, d − r) angles can be non-zero
    assert fro == pytest.approx(sin_theta(V, U), abs=1e-10)
    Q = np.linalg.qr(rng.standard_normal((d, d))).Q  # rotating both subspaces changes nothing
    assert sin_theta(Q @ U, Q @ V) == pytest.approx(fro, abs=1e-10)
