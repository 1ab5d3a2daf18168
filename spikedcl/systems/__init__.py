"""Linear versions of the other contrastive systems (docs/systems.md).

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
``linear_cl``          the paper's linear contrastive loss through the loss protocol
``base``               the loss protocol: :class:`ContrastiveLoss`, :data:`LOSSES`, :func:`register_loss`
``encoder``            linear encoder (optional ReLU head) and the solver glue
``experiments``        the sweep experiment functions (imported on demand)
``plots``              the figure functions (imported on demand; needs matplotlib)
=====================  ============================================================

Import with ``import spikedcl.systems``; nothing here is loaded by ``import spikedcl``.
"""

from . import align_uniform, base, byol, collapse, encoder, linear_cl, negatives, nt_xent, siglip, spectral
from .align_uniform import AlignUniform, align_uniform_loss, alignment, uniformity, uniformity_lower_bound
from .base import LOSSES, ContrastiveLoss, make_loss, register_loss
from .byol import integrate_dynamics, integrate_modes, mode_fixed_points
from .collapse import embedding_spectrum, participation_ratio, rankme
from .encoder import encode, encoder_objective, init_encoder
from .linear_cl import LinearCL
from .negatives import gaussian_critic, gaussian_mutual_information, info_nce_estimate
from .nt_xent import NTXent, NTXentHead, info_nce_bound, info_nce_loss, nt_xent_loss
from .siglip import SigLIP, clip_loss, siglip_loss
from .spectral import SpectralSGD, spectral_closed_form, spectral_loss, spectral_population_loss

__all__ = [
    "base",
    "linear_cl",
    "LOSSES",
    "ContrastiveLoss",
    "register_loss",
    "make_loss",
    "NTXent",
    "NTXentHead",
    "SigLIP",
    "SpectralSGD",
    "AlignUniform",
    "LinearCL",
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
