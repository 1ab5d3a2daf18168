"""
Quick start
===========

Draw samples from a spiked covariance model, learn a linear representation by
contrastive learning (CL) with random-masking views and by PCA, and measure how
far each learned subspace is from the true one (docs/model.md §1–§5).
"""

# %%
# The model
# ---------
# :math:`x = U^\star z + \xi` with :math:`U^\star` a random orthonormal
# :math:`d \times r` basis, :math:`z \sim N(0, I_r)` and heteroskedastic noise
# :math:`\xi` whose variances span a ratio ``condition``. Every random draw comes
# from an explicit generator.

import matplotlib.pyplot as plt
import numpy as np

import spikedcl as sc

rng = np.random.default_rng(0)
model = sc.SpikedModel.random(d=100, r=3, noise="uniform", condition=8.0, rng=rng)
print(model)

# %%
# Samples are rows: ``X`` has shape ``(n, d)``.

X = model.sample(5_000, rng=rng)
print(X.shape)

# %%
# Fits
# ----
# ``fit_contrastive`` masks each sample into two complementary views and returns
# the closed-form minimiser of the linear contrastive loss; ``masks="expected"``
# uses the mask-averaged matrix instead of drawn masks. PCA is the autoencoder's
# (and the GAN's) subspace.

cl = sc.fit_contrastive(X, r=3, p=0.5, rng=rng)
cl_expected = sc.fit_contrastive(X, r=3, masks="expected")
pca = sc.fit_pca(X, r=3)
print(cl)

# %%
# Each fit is a :class:`~spikedcl.FitResult`: ``W`` (r × d), an orthonormal
# ``basis`` (d × r) of the learned subspace, the top ``eigenvalues`` of the
# statistic and the objective at ``W``. :func:`~spikedcl.sin_theta` is the
# Frobenius norm of the sines of the principal angles (0 is perfect recovery).

for fit in (pca, cl, cl_expected):
    print(f"{fit.method:22s} sinΘ = {float(sc.sin_theta(model.U, fit.basis)):.3f}")

# %%
# The noise sits on the diagonal of the covariance; the masked views never pair
# a coordinate with itself, so CL is blind to it while PCA is pulled toward the
# noisiest coordinates. The principal angles show it direction by direction.

fig, ax = plt.subplots(figsize=(5, 3))
for i, fit in enumerate((pca, cl, cl_expected)):
    angles = np.degrees(np.asarray(sc.principal_angles(model.U, fit.basis)))
    ax.bar(np.arange(3) + 0.27 * (i - 1), angles, width=0.27, label=fit.method)
ax.set_xticks(range(3), [f"angle {k + 1}" for k in range(3)])
ax.set_ylabel("principal angle (degrees)")
ax.legend()
fig.tight_layout()

# %%
# The population limit (:math:`n \to \infty`) of each method shows the bias
# that remains with infinite data: PCA keeps a bias, CL almost none.

for method in ("pca", "contrastive"):
    limit = sc.population_fit(model, method, p=0.5)
    print(f"{method:12s} n → ∞: sinΘ = {float(sc.sin_theta(model.U, limit.basis)):.3f}")
