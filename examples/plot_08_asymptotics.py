"""
Exact asymptotics and sample sizes to a billion
===============================================

The bounds of the paper are shapes with unknown constants. For the moment-based
estimators (PCA, equivalently the autoencoder and the GAN, and CL on the
mask-averaged matrix :math:`\\bar M`) random-matrix theory gives more: the
proportional-regime value of :math:`E\\|\\sin\\Theta(U^\\star, \\hat U)\\|_F^2` for the
model's own :math:`U^\\star`, :math:`\\nu` and noise variances
(:func:`spikedcl.asymptotic_sin_theta`, docs/model.md §12). This example compares
it with fits on exactly drawn sufficient statistics
(:meth:`spikedcl.SpikedModel.sample_moments`), whose cost does not grow with
``n``, from ``n = 500`` to ``n = 10^9``.
"""

import matplotlib.pyplot as plt
import numpy as np

import spikedcl as sc

d, r, reps = 100, 3, 20
ns = np.array([500, 2_000, 10_000, 100_000, 10**6, 10**9])
model = sc.SpikedModel.random(d=d, r=r, condition=8.0, rng=0)

# %%
# One prediction per estimator and ``n``: the deterministic equivalent of the
# resolvent, its outliers (the spikes that separate from the bulk) and the
# residues there. It takes milliseconds.

print(sc.asymptotic_sin_theta(model, 2_000))
predicted = {m: np.array([sc.asymptotic_sin_theta(model, int(n), method=m).sin_theta_sq for n in ns])
             for m in ("pca", "cl-expected")}

# %%
# The fits: :math:`(X^\top X, X^\top\mathbf 1)` drawn from their exact joint law
# (a Bartlett-factored Wishart), then PCA on :math:`S = X^\top X/n` and CL on
# :math:`\bar M`, which for centred views is :math:`p(1-p)` times the
# off-diagonal part of the centred second moment (the factor does not move the
# eigenvectors).

rng = np.random.default_rng(1)
measured = {m: np.zeros((len(ns), reps)) for m in predicted}
for i, n in enumerate(ns):
    for k in range(reps):
        gram, total = model.sample_moments(int(n), rng=rng)
        S = gram / n
        S_c = S - np.outer(total, total) / n**2
        M_bar = S_c - np.diag(np.diag(S))
        for name, matrix in (("pca", S), ("cl-expected", M_bar)):
            basis = np.linalg.eigh(matrix)[1][:, -r:]
            measured[name][i, k] = float(sc.sin_theta(model.U, basis)) ** 2

for name in predicted:
    gaps = measured[name].mean(axis=1) / predicted[name] - 1
    print(name, "relative gap of the mean:", np.array2string(gaps, precision=3))

fig, ax = plt.subplots(figsize=(5.5, 3.8))
for name, colour in (("pca", "#D55E00"), ("cl-expected", "#56B4E9")):
    mean = measured[name].mean(axis=1)
    half = 2 * measured[name].std(axis=1, ddof=1) / np.sqrt(reps)
    ax.errorbar(ns, mean, yerr=half, fmt="o", color=colour, capsize=2, label=f"{name}, measured")
    ax.plot(ns, predicted[name], "--", color=colour, label=f"{name}, asymptotic prediction")
ax.set(xscale="log", yscale="log", xlabel="sample size $n$",
       ylabel=r"$\|\sin\Theta(U^\star, \hat U)\|_F^2$", title=f"$d = {d}$, $r = {r}$, $C = 8$, one model")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The prediction is a proportional-regime limit. At :math:`d = 100` the measured
# means lie a few per cent below it where :math:`n` is comparable to :math:`d^2`
# (finite-size terms of relative order :math:`r/d`, docs/model.md §12), and the
# gap closes as :math:`n` grows. PCA's error tends to its heteroskedastic bias, CL's to its
# :math:`r^{3/2}\log d/d` floor: both limits are :func:`spikedcl.population_fit`.
# In a sweep the same comparison is the rows ``pca-asymptotic`` and
# ``cl-asymptotic`` and ``sampler = "moments"`` (figure F1 and its panel to
# :math:`n = 10^9`: ``spikedcl sweep --config fig1``).
