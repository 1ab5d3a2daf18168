"""
Contrastive systems: the spectral loss and NT-Xent
==================================================

Two losses of :mod:`spikedcl.systems` on the spiked data and masked views of
the paper. The spectral contrastive loss (docs/systems.md §3) has a closed form
over linear encoders; NT-Xent (docs/systems.md §1) does not and is trained by
Adam. Every loss is a frozen dataclass with ``value_and_grad(Z1, Z2)``, and one
trainer, :func:`spikedcl.experiments.systems.train_embedding`, trains any of them
with fresh masks in every batch.
"""

import matplotlib.pyplot as plt
import numpy as np

import spikedcl as sc
from spikedcl.experiments.systems import train_embedding
from spikedcl.systems import NTXent, SpectralSGD, spectral_closed_form, spectral_loss
from spikedcl.systems.encoder import representation_basis
from spikedcl.systems.spectral import view_moments

rng = np.random.default_rng(9)
d, r = 50, 3
model = sc.SpikedModel.random(d=d, r=r, condition=8.0, rng=rng)
X = model.sample(4_000, rng=rng)
w = sc.draw_task(r, rng=rng)

# %%
# The spectral loss in closed form
# --------------------------------
# :math:`\mathcal L(W) = -2\operatorname{tr}(WC_+W^\top) + \|W\Sigma W^\top\|_F^2`
# with :math:`\Sigma` the second moment of one view and :math:`C_+` that of the
# positive pairs; the minimiser's row space is whitened by
# :math:`\Sigma^{-1/2}`.

X1, X2 = sc.random_mask(X, 0.5, rng=rng)
Sigma, Cplus = view_moments(X1, X2)
W_spectral, loss_star, mu = spectral_closed_form(Sigma, Cplus, r)
print(f"closed-form minimum {float(loss_star):.4f}; top eigenvalues {np.round(np.asarray(mu), 3)}")

# %%
# Adam on the minibatch loss (``SpectralSGD``, the loss of batches of view pairs)
# approaches the closed form's minimum, evaluated here on the same views.

W_adam, record = train_embedding(SpectralSGD(), X, r, np.random.default_rng(10), p=0.5, batch_size=256,
                                 steps=300, lr=0.05)
print(f"Adam after {record.n_iter} steps: loss on all views {float(spectral_loss(X1 @ W_adam.T, X2 @ W_adam.T)):.4f}")

# %%
# NT-Xent, trained
# ----------------
# Cosine similarities at temperature :math:`\tau = 0.5`; the representation is
# the linear encoder itself.

W_nt, _ = train_embedding(NTXent(temperature=0.5), X, r, np.random.default_rng(11), p=0.5, batch_size=128,
                          steps=200, lr=0.05)

# %%
# Subspace error and downstream risk disagree
# -------------------------------------------
# The whitened spectral encoder is far from :math:`U^\star` in sinΘ, yet its
# features predict as well as the best linear features: sinΘ and the
# downstream risk measure different things (docs/systems.md §3, G-3).

encoders = {"PCA": sc.fit_pca(X, r).W, "linear CL": sc.fit_contrastive(X, r, rng=rng).W,
            "spectral (closed form)": W_spectral, "spectral (Adam)": W_adam, "NT-Xent (Adam)": W_nt}
rows = {name: (float(sc.sin_theta(model.U, representation_basis(W))),
               float(sc.excess_risk(W.T, model, w, reference="linear"))) for name, W in encoders.items()}
for name, (s, risk) in rows.items():
    print(f"{name:24s} sinΘ {s:.3f}   R - R_lin {risk:.4f}")

fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
names = list(rows)
axes[0].barh(names, [v[0] for v in rows.values()])
axes[0].set_xlabel(r"$\|\sin\Theta(U^\star, \hat U)\|_F$")
axes[1].barh(names, [v[1] for v in rows.values()], color="C1")
axes[1].set_xlabel(r"$R(W^\top) - R_{lin}$")
axes[0].invert_yaxis()
fig.tight_layout()
