"""N-2 (docs/systems.md §7): the minibatch NT-Xent of a fixed encoder against its population limit.

The view embeddings are exactly N(0, I_k) (k = 5; per-coordinate view correlation
mu = 0.4), so the population log-partition is the closed form log 0F1(; k/2; 1/(4 tau^2))
and the per-batch estimates of ``nt_xent_bias_terms`` are unbiased. Their standard
deviations, measured once over 100 batches (any N from 8 to 512), are about
1.1/(2N) at tau = 0.2 and 0.3/(2N) at tau = 0.5, against biases of about -0.9/(2N)
(NT-Xent, tau = 0.2), +0.35/(2N) (NT-Xent, tau = 0.5) and -0.53/(2N) (log-mean,
tau = 0.5): the relative Monte Carlo error of a mean over B batches is about
1.2/sqrt(B), 0.9/sqrt(B) and 0.6/sqrt(B), whatever N. The tolerances below are
derived from these numbers for the batch counts used.
"""

import math

import numpy as np
import pytest

from spikedcl.random import cell_seed
from spikedcl.systems import experiments as E
from spikedcl.systems import negatives as ng
from spikedcl.systems.align_uniform import sphere_log_partition
from spikedcl.systems.nt_xent import nt_xent_loss

K_DIM, MU = 5, 0.4


def _pairs(N, rng):
    a = rng.standard_normal((N, K_DIM))
    return a, MU * a + math.sqrt(1 - MU**2) * rng.standard_normal((N, K_DIM))


def _bias(N, tau, batches, rng):
    """Mean and standard error over ``batches`` minibatches of the (NT-Xent, log-mean) bias estimates."""
    c = sphere_log_partition(tau, K_DIM)
    est = np.array([[float(v) for v in ng.nt_xent_bias_terms(*_pairs(N, rng), temperature=tau, log_partition=c)]
                    for _ in range(batches)])
    return est.mean(axis=0), est.std(axis=0, ddof=1) / math.sqrt(batches)


def _cosines(rng, n=20_000):
    a, b = _pairs(n, rng)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_log_partition_reassembles_nt_xent(rng):
    Z1, Z2 = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    tau = 0.3
    U = np.vstack([Z1, Z2])
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    S = U @ U.T / tau
    g = ng.minibatch_log_partition(Z1, Z2, temperature=tau)
    pos = np.sum(U * np.roll(U, 6, axis=0), axis=1) / tau
    assert float(nt_xent_loss(Z1, Z2, temperature=tau)) == pytest.approx(np.mean(g - pos) + math.log(11), rel=1e-12)
    neg = ng.minibatch_log_partition(Z1, Z2, temperature=tau, positive=False)
    for i in range(12):
        others = np.delete(S[i], [i, (i + 6) % 12])
        assert neg[i] == pytest.approx(math.log(np.mean(np.exp(others))), rel=1e-12)
        assert g[i] == pytest.approx(math.log(np.mean(np.exp(np.delete(S[i], i)))), rel=1e-12)


def test_whitened_encoder_whitens_the_views(rng):
    A = rng.standard_normal((12, 12))
    Sigma = A @ A.T / 12
    W, mu = ng.whitened_view_encoder(Sigma, 4, 0.7)
    np.testing.assert_allclose(W @ (Sigma + 0.49 * np.eye(12)) @ W.T, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(W @ Sigma @ W.T, np.diag(mu), atol=1e-12)
    lam = np.linalg.eigvalsh(Sigma)[::-1][:4]
    np.testing.assert_allclose(mu, lam / (lam + 0.49), rtol=1e-12)


def test_nt_xent_bias_is_negative_with_slope_minus_one(seed):
    """tau = 0.2: bias < 0 at every N and |bias| ~ N^-1.

    200 batches per N: relative error 1.2/sqrt(200) = 0.085 per point, so the
    slope over N = 16..256 (log range 2.77) has a standard error of about
    0.085 sqrt(2)/2.77 = 0.043; the first-order prediction's own slope over that
    range is -1.02. Tolerance 0.2 (> 4 standard errors); each mean is > 10
    standard errors below zero.
    """
    rng = np.random.default_rng(seed)
    Ns, means, ses = (16, 64, 256), [], []
    for N in Ns:
        m, s = _bias(N, 0.2, 200 if N < 256 else 100, rng)
        means.append(m)
        ses.append(s)
    means, ses = np.array(means), np.array(ses)
    for j in range(2):  # NT-Xent, then the negatives' log-mean (the Jensen term alone)
        assert np.all(means[:, j] + 4 * ses[:, j] < 0), (means[:, j], ses[:, j])
        slope, half = ng.loglog_slope_ci(Ns, means[:, j], ses[:, j])
        assert abs(slope + 1) < 0.2, (j, slope, half)
        assert half < 0.2


def test_bias_sign_and_size_follow_the_first_order_theory(seed):
    """N = 64: 2N * bias within 5 standard errors plus 15 % (the O(1/N) higher order) of the prediction.

    At tau = 0.2 the Jensen term wins (NT-Xent bias < 0); at tau = 0.5 the positive in
    the denominator wins (NT-Xent bias > 0), while the log-mean stays negative.
    """
    rng = np.random.default_rng(seed)
    cos = _cosines(rng)
    N = 64
    for tau, sign in ((0.2, -1), (0.5, 1)):
        mean, se = _bias(N, tau, 150, rng)
        pred = ng.nt_xent_bias_first_order(cos, N, tau, K_DIM)
        for j in range(2):
            assert abs(mean[j] - pred[j]) < 5 * se[j] + 0.15 * abs(pred[j]), (tau, j, mean[j], pred[j], se[j])
        assert np.sign(pred[0]) == sign and np.sign(mean[0]) == sign
        assert pred[1] < 0 and mean[1] < 0


def test_population_limit_and_first_order_inputs():
    assert ng.nt_xent_population_limit(0.5, 0.5, 5) == pytest.approx(-1 + sphere_log_partition(0.5, 5))
    # identical views (cosine 1): the pair covariance equals the variance, a_J = Var/m^2
    m = math.exp(sphere_log_partition(0.5, 4))
    var = math.exp(sphere_log_partition(0.25, 4)) / m**2 - 1  # E e^{2s/tau} = 0F1(; k/2; 1/tau^2)
    nt, lm = ng.nt_xent_bias_first_order(np.ones(3), 10, 0.5, 4)
    assert lm == pytest.approx(-var / 18, rel=1e-10)
    assert nt == pytest.approx((math.exp(2) / m - 1) / 19 - var * 18 / 19**2, rel=1e-10)
    with pytest.raises(ValueError, match="cosines"):
        ng.nt_xent_bias_first_order([1.5], 10, 0.5, 4)
    with pytest.raises(ValueError, match="mean_cosine"):
        ng.nt_xent_population_limit(2.0, 0.5, 4)
    with pytest.raises(ValueError, match="temperature"):
        ng.nt_xent_bias_first_order([0.5], 10, 0.0, 4)
    with pytest.raises(ValueError, match="aug_noise"):
        ng.whitened_view_encoder(np.eye(3), 2, 0.0)
    with pytest.raises(ValueError, match="log_partition"):
        ng.nt_xent_bias_terms(np.ones((3, 2)), np.ones((3, 2)), temperature=1.0, log_partition=math.inf)


def test_loglog_slope_ci():
    x = np.array([1.0, 2, 4, 8])
    slope, half = ng.loglog_slope_ci(x, -3 / x, 0.01 * 3 / x)
    assert slope == pytest.approx(-1, abs=1e-12) and 0 < half < 0.05
    with pytest.raises(ValueError, match="y_se"):
        ng.loglog_slope_ci(x, 1 / x, np.zeros(4))


def test_bias_task_rows_agree_with_theory(seed):
    """The sweep task end to end: bias rows per temperature and their first-order prediction."""
    params = {"task": "bias", "K": 32, "r": 5, "C": 8.0, "bias_d": 30, "bias_batches": 60,
              "bias_pairs": 5000, "bias_temperatures": [0.5]}
    rows = E.batch_size(params, cell_seed(seed, 3, 0))
    get = {(r["method"], r["metric"]): r["value"] for r in rows}
    for method in ("nt-xent", "log-mean"):
        pred = get["theory", f"bias_first_order_{method.replace('-', '_')}"]
        assert abs(get[method, "bias"] - pred) < 5 * get[method, "bias_se"] + 0.15 * abs(pred)
    assert 0 < get["theory", "view_correlation"] < 1
