"""
Subspace recovery against n
===========================

The paper's first claim (docs/model.md §7, figure F1 of §9): the error of linear
CL decays like :math:`\\sqrt{dr/n}` down to a floor of order
:math:`r^{3/2}\\log d/d`, while PCA (equivalently the autoencoder and the GAN)
keeps a bias of order one under heteroskedastic noise. This example draws a
small version of the figure directly with the function API: a few values of
``n``, three replicates each.
"""

import matplotlib.pyplot as plt
import numpy as np

import spikedcl as sc

d, r, reps = 100, 3, 3
ns = np.array([500, 1_000, 2_000, 5_000, 10_000])
rng = np.random.default_rng(1)

# %%
# For every replicate a new model and new samples; every method fits the same
# samples, so the comparison uses common random numbers.

errors = {"pca": np.zeros((len(ns), reps)), "cl": np.zeros((len(ns), reps)),
          "cl-expected": np.zeros((len(ns), reps))}
for i, n in enumerate(ns):
    for k in range(reps):
        model = sc.SpikedModel.random(d=d, r=r, condition=8.0, rng=rng)
        X = model.sample(int(n), rng=rng)
        fits = {"pca": sc.fit_pca(X, r), "cl": sc.fit_contrastive(X, r, rng=rng),
                "cl-expected": sc.fit_contrastive(X, r, masks="expected")}
        for name, fit in fits.items():
            errors[name][i, k] = float(sc.sin_theta(model.U, fit.basis))

# %%
# The bound's shape :math:`r^{3/2}\log d/d + \sqrt{dr/n}` has unknown
# constants; :func:`spikedcl.theory.fit_bound_constant` fits one common constant to
# the CL means on log scale, and :func:`spikedcl.theory.loglog_slope` gives the
# empirical exponents.

shape = sc.theory.cl_upper_bound(ns, d, r)
bound = sc.theory.fit_bound_constant(shape, errors["cl"].mean(axis=1))
print(bound)

fig, ax = plt.subplots(figsize=(5.5, 3.8))
for name, marker in (("pca", "s"), ("cl", "o"), ("cl-expected", "^")):
    mean = errors[name].mean(axis=1)
    slope, _ = sc.theory.loglog_slope(ns, mean)
    ax.errorbar(ns, mean, yerr=errors[name].std(axis=1, ddof=1), marker=marker, capsize=2,
                label=f"{name} (slope {slope:+.2f})")
ax.plot(ns, bound.coef[0] * shape, "k--", label="CL bound shape, fitted constant")
ax.set(xscale="log", yscale="log", xlabel="n", ylabel=r"$\|\sin\Theta(U^\star, \hat U)\|_F$",
       title=f"d = {d}, r = {r}, C = 8")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The same comparison at paper scale is the ``fig1`` configuration of the
# command line: ``spikedcl sweep --config fig1`` then ``spikedcl figures fig1``.
