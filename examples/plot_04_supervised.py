"""
Supervised contrastive learning
===============================

Labels help in-domain but can hurt transfer (docs/model.md §8, figure F5). The
supervised contrastive matrix mixes the self-supervised matrix of masked views
with a matrix of labeled pairs, :math:`M(\\alpha) = (1-\\alpha)M_{self} + \\alpha
M_{sup}`. With fewer features than signal directions (``k < r``) the labels
decide which directions are kept: the in-domain task (the label's direction
:math:`e_1`) improves at once, and a transfer task on another direction
:math:`e_2` is lost.
"""

import matplotlib.pyplot as plt
import numpy as np

import spikedcl as sc

rng = np.random.default_rng(4)
d, r, k = 100, 5, 2
model = sc.SpikedModel.random(d=d, r=r, condition=8.0, rng=rng)
w_source, w_transfer = sc.task_pair(r)          # e_1 and e_2

X_unlabeled = model.sample(5_000, rng=rng)
X, Z = model.sample(1_000, rng=rng, return_latent=True)
y = sc.regression_labels(Z, w_source, rng=rng)  # labels of the in-domain task

# %%
# One fit per weight :math:`\alpha`; the same masks for every :math:`\alpha`
# (a fresh generator of the same seed), so only the weight changes. The risk is
# the exact population risk of a regression on the features ``W.T``.

alphas = [0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
in_domain, transfer = [], []
for alpha in alphas:
    fit = sc.fit_supervised_contrastive(X, y, k, alpha=alpha, X_unlabeled=X_unlabeled,
                                        rng=np.random.default_rng(5))
    in_domain.append(float(sc.population_risk(fit.W.T, model, w_source)))
    transfer.append(float(sc.population_risk(fit.W.T, model, w_transfer)))

fig, ax = plt.subplots(figsize=(5, 3.4))
ax.plot(alphas, in_domain, "o-", label="in-domain task $e_1$")
ax.plot(alphas, transfer, "s-", label="transfer task $e_2$")
ax.axhline(float(sc.population_risk(model.U, model, w_source)), color="k", ls=":", label=r"features $U^\star$")
ax.set(xscale="symlog", xlabel=r"weight of the labels $\alpha$", ylabel="population risk",
       title=f"k = {k} features, r = {r}, m = {len(y)} labels")
ax.set_xscale("symlog", linthresh=0.02)
ax.legend(fontsize=8)
fig.tight_layout()
