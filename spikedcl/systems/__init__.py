"""Linear versions of the other contrastive systems (spec: seed_systems.md).

One small module per system, each with pure loss and gradient functions on
embeddings that compose with :mod:`spikedcl.systems.encoder` and the solvers
of :mod:`spikedcl.solvers`:

=====================  ============================================================
module                 contents
=====================  ============================================================
``nt_xent``            SimCLR's NT-Xent, one-directional InfoNCE, the InfoNCE MI bound (§1, §7)
``align_uniform``      alignment, uniformity, their weighted loss and its range (§2)
``spectral``           spectral contrastive loss, linear closed form, augmentation graph (§3)
``siglip``             SigLIP's sigmoid loss with learnable temperature and bias; CLIP (§4)
``byol``               BYOL / SimSiam / DirectPred linear dynamics and fixed points (§5)
``collapse``           embedding spectra, RankMe, DirectCLR's linear toys (§6)
``negatives``          Gaussian pairs of known mutual information (§7)
``encoder``            linear encoder (optional ReLU head) and the solver glue
``experiments``        the sweep experiment functions (imported on demand)
``plots``              the figure functions (imported on demand; needs matplotlib)
=====================  ============================================================

Import with ``import spikedcl.systems``; nothing here is loaded by ``import spikedcl``.
"""

from . import align_uniform, byol, collapse, encoder, negatives, nt_xent, siglip, spectral
from .align_uniform import align_uniform_loss, alignment, uniformity, uniformity_lower_bound
from .byol import integrate_dynamics, integrate_modes, mode_fixed_points
from .collapse import embedding_spectrum, participation_ratio, rankme
from .encoder import encode, encoder_objective, init_encoder
from .negatives import gaussian_critic, gaussian_mutual_information, info_nce_estimate
from .nt_xent import info_nce_bound, info_nce_loss, nt_xent_loss
from .siglip import clip_loss, siglip_loss
from .spectral import spectral_closed_form, spectral_loss, spectral_population_loss

__all__ = [
    "nt_xent",
    "align_uniform",
    "spectral",
    "siglip",
    "byol",
    "collapse",
    "negatives",
    "encoder",
    "nt_xent_loss",
    "info_nce_loss",
    "info_nce_bound",
    "alignment",
    "uniformity",
    "uniformity_lower_bound",
    "align_uniform_loss",
    "spectral_loss",
    "spectral_population_loss",
    "spectral_closed_form",
    "siglip_loss",
    "clip_loss",
    "integrate_dynamics",
    "integrate_modes",
    "mode_fixed_points",
    "embedding_spectrum",
    "rankme",
    "participation_ratio",
    "encode",
    "encoder_objective",
    "init_encoder",
    "gaussian_critic",
    "gaussian_mutual_information",
    "info_nce_estimate",
]
