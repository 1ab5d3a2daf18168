"""
The downstream task
===================

Features learned without labels are judged by a regression on top of them
(docs/model.md §6): labels :math:`y = z^\\top w^\\star + \\varepsilon` and a linear
predictor on the features :math:`B^\\top x`. For a Gaussian model the risk of the
best such predictor has a closed form, :func:`~spikedcl.population_risk`, so the
excess risk over the oracle features :math:`U^\\star` is exact, without a test
sample. :func:`~spikedcl.regression_excess` measures the same thing with a finite
training and test sample.
"""

import matplotlib.pyplot as plt
import numpy as np

import spikedcl as sc

rng = np.random.default_rng(2)
d, r = 100, 3
model = sc.SpikedModel.random(d=d, r=r, condition=8.0, rng=rng)
w = sc.draw_task(r, rng=rng)  # a unit task vector on the sphere

# %%
# Exact excess risk against n
# ---------------------------
# :math:`\Delta R_{U^\star} = R(B) - R(U^\star)` for PCA and CL features. It can
# be negative: a basis tilted toward low-noise coordinates can beat
# :math:`U^\star` itself.

ns = [500, 1_000, 2_000, 5_000, 10_000]
risks = {"pca": [], "cl": []}
for n in ns:
    X = model.sample(n, rng=rng)
    risks["pca"].append(float(sc.excess_risk(sc.fit_pca(X, r).basis, model, w)))
    risks["cl"].append(float(sc.excess_risk(sc.fit_contrastive(X, r, rng=rng).basis, model, w)))

fig, ax = plt.subplots(figsize=(5, 3.4))
for name, marker in (("pca", "s"), ("cl", "o")):
    ax.plot(ns, risks[name], marker=marker, label=name)
ax.axhline(0.0, color="k", lw=0.8)
ax.set(xscale="log", xlabel="n", ylabel=r"$R(\hat U) - R(U^\star)$", title="exact excess risk")
ax.legend()
fig.tight_layout()

# %%
# The limits as :math:`n \to \infty`
# ----------------------------------
# The population fits keep the bias of each method: PCA's excess risk does not
# vanish with more data, CL's nearly does.

for method in ("pca", "contrastive"):
    limit = sc.population_fit(model, method)
    print(f"{method:12s} n → ∞: ΔR = {float(sc.excess_risk(limit.basis, model, w)):+.4f}")

# %%
# A finite-sample check
# ---------------------
# Ordinary least squares on ``n`` training samples, test error on fresh samples;
# both feature maps see the same draws. ``"excess"`` is the test MSE on the
# learned features minus that on :math:`U^\star`.

X, Z = model.sample(5_000, rng=rng, return_latent=True)
for name, fit in (("pca", sc.fit_pca(X, r)), ("cl", sc.fit_contrastive(X, r, rng=rng))):
    out = sc.regression_excess(fit.basis, model, w, X, Z, n_test=5_000, rng=np.random.default_rng(3))
    print(f"{name:4s} test MSE {float(out['mse']):.4f}, oracle {float(out['mse_oracle']):.4f}, "
          f"excess {float(out['excess']):+.4f}")
