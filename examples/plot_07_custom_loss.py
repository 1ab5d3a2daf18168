"""
Writing your own loss
=====================

A batch form of the linear contrastive loss says how the pairs of a batch enter
the objective :math:`-\\operatorname{tr}(WMW^\\top) + \\frac{\\lambda}{2}\\|WW^\\top\\|_F^2`
(docs/model.md §3). It is one class: the realized matrix ``M`` of two views, its
mask average, an operator ``V -> M V`` for the matrix-free path, and the loss
and gradient of a batch for minibatch training. Registered under a name, it is
accepted by :func:`~spikedcl.fit_contrastive` (closed form, matrix-free, GD,
SGD, Adam), :func:`~spikedcl.contrastive_matrix` and the sweep's configurations
like the built-in ``"cross-view"`` and ``"simclr"``.

This example writes a form with positive pairs only (no negatives),
:math:`M = \\operatorname{sym}(X_1^\\top X_2)/n`, and fits with it.
"""

import numpy as np

import spikedcl as sc
from spikedcl.forms import FORMS, BatchForm, register_form
from spikedcl.sweep import resolve_config, run_sweep, summary_table


class PositiveOnly(BatchForm):
    """Positive pairs only: M = sym(X1^T X2) / n."""

    name = "positive-only"
    needs = frozenset({"cross"})  # the statistics matrix() reads: X1^T X2

    def matrix(self, stats):
        return (stats.cross + stats.cross.mT) / (2 * stats.n)

    def expected(self, stats, q):
        # E[A x x^T (I - A)] = q Δ(x x^T): the off-diagonal part of the second moment, times q
        G = stats.gram / stats.n
        return q * (G - np.diag(np.diag(G)))

    def operator(self, stats, q=None):
        n = stats.n
        if q is not None:
            return lambda V: q * (stats.apply_gram(V) / n - (stats.column_squares / n)[..., :, None] * V)
        return lambda V: (stats.apply_gram(V) - stats.apply_signed(V)) / (4 * n)

    def batch_loss(self, W, X1, X2, lam):
        G = W @ W.T
        return -np.sum((X1 @ W.T) * (X2 @ W.T)) / X1.shape[0] + lam / 2 * np.sum(G * G)

    def batch_grad(self, W, X1, X2, lam):
        F1, F2 = X1 @ W.T, X2 @ W.T
        return -(F1.T @ X2 + F2.T @ X1) / X1.shape[0] + 2 * lam * (W @ W.T) @ W


FORMS.pop("positive-only", None)  # so that this example can run twice in one Python process
register_form(PositiveOnly())

# %%
# Fit with it
# -----------
# ``loss="positive-only"`` now works wherever a batch form is named.

rng = np.random.default_rng(12)
d, r = 60, 3
model = sc.SpikedModel.random(d=d, r=r, condition=8.0, rng=rng)
X = model.sample(4_000, rng=rng)

fits = {
    "cross-view": sc.fit_contrastive(X, r, rng=np.random.default_rng(13)),
    "positive-only": sc.fit_contrastive(X, r, loss="positive-only", rng=np.random.default_rng(13)),
    "positive-only, GD": sc.fit_contrastive(X, r, loss="positive-only", solver="gd", rng=np.random.default_rng(13)),
    "positive-only, matrix-free": sc.fit_contrastive(X, r, loss="positive-only", eigensolver="matrix-free",
                                                     rng=np.random.default_rng(13)),
    "positive-only, expected": sc.fit_contrastive(X, r, loss="positive-only", masks="expected"),
}
for name, fit in fits.items():
    print(f"{name:28s} sinΘ to U* {float(sc.sin_theta(model.U, fit.basis)):.4f}   "
          f"top eigenvalue {float(fit.eigenvalues[0]):.4f}")

# %%
# The check a new form deserves: its matrix, built here by hand from the same
# masks, gives the fit's eigenvalues, and its batch gradient is the gradient of
# the matrix objective.

X1, X2 = sc.random_mask(X, 0.5, rng=np.random.default_rng(13))
M = (X1.T @ X2 + X2.T @ X1) / (2 * X.shape[0])
print("closed form == hand-built M:", np.allclose(np.linalg.eigvalsh(M)[::-1][:r], fits["positive-only"].eigenvalues))
W = np.random.default_rng(14).standard_normal((r, d))
form = PositiveOnly()
print("batch gradient == matrix gradient:",
      np.allclose(form.batch_grad(W, X1, X2, 1.0), sc.contrastive_grad(W, M, 1.0)))

# %%
# In a sweep
# ----------
# A configuration names the form as ``loss``. Registrations live in the
# process that makes them, so this sweep runs in this process
# (``backend="sequential"``); for process workers put the class in an importable
# module (see the user guide, "Extending spikedcl").

config = resolve_config({
    "name": "positive-only", "experiment": "subspace", "reps": 4, "seed": 0,
    "grid": {"n": [1_000, 4_000]},
    "params": {"d": 40, "r": 2, "C": 8.0, "noise": "uniform", "methods": ["pca", "cl"],
               "loss": "positive-only", "metrics": ["sin_theta"], "theory": False},
})
result = run_sweep(config, backend="sequential")
summary_table(result.table, "sin_theta")
