"""Sweep experiments of the contrastive systems (docs/systems.md), on the experiment contract.

Every experiment here is an :class:`~spikedcl.experiments.base.Experiment`
called as ``exp(params, seed) -> list[dict]``, with declared parameters
(``exp.describe()``), one data draw per replicate and the CPU as its only
device. On the masked spiked model (``losses``, ``nt_xent``,
``align_uniform``, ``spectral``, the ``training`` task of ``batch_size`` and
the ``masking`` task of ``collapse``) the draw is
:func:`~spikedcl.experiments.spiked.draw_spiked`: the seed's first child draws
the model, the samples and the task, its second the masks and the
initialisation, so every method of a replicate sees the same samples.

The methods on the spiked model are the closed forms of :data:`SPIKED_METHODS`
(``cl``, ``pca``, ``spectral``, ``spectral-population``, ``byol``) and every
loss registered in :data:`spikedcl.systems.base.LOSSES` (``nt-xent``,
``nt-xent-head``, ``siglip``, ``spectral-sgd``, ``align-uniform``, ...),
trained by :func:`train_embedding` (Adam, fresh complementary masks in every
batch) with the loss's hyperparameters taken from the cell's parameters of the
same names. Every fit reports the registered metrics named by ``metrics``
(default :data:`SYSTEMS_METRICS`: ``sin_theta``, ``excess_risk``,
``excess_risk_linear``, ``rankme``, ``align`` and ``uniform``; the last two on
held-out masked views).

==========================  =========================================================
module                      contents
==========================  =========================================================
``methods``                 :data:`SPIKED_METHODS`, :class:`SpikedContext`, the fit of
                            one method and its metric rows
``trainer``                 :func:`train_embedding`, Adam on a registered loss
``representation_metrics``  the ``rankme``, ``align`` and ``uniform`` metrics
``parameters``              declared parameters and checks on the spiked model
``loss_comparison``         ``losses`` (and :func:`fit_spiked`)
``nt_xent_temperature``     ``nt_xent`` (S-2)
``projection_head``         ``nt_xent_style`` (S-3)
``align_uniform_weights``   ``align_uniform`` (U-3)
``spectral_cl``             ``spectral`` (G-3)
``two_towers``              ``siglip`` (Sg-1, Sg-2)
``byol_dynamics``           ``byol`` (B-1–B-3)
``dimensional_collapse``    ``collapse`` (D-1–D-3)
``batch_size_effects``      ``batch_size`` (N-1–N-3)
==========================  =========================================================
"""

from __future__ import annotations

from .methods import SPIKED_METHODS, SYSTEMS_METRICS, SpikedContext, register_spiked_method, spiked_methods
from .representation_metrics import METRIC_SAMPLES
from .trainer import train_embedding
# the experiments, in their registration order
from .loss_comparison import fit_spiked, losses
from .nt_xent_temperature import nt_xent
from .align_uniform_weights import align_uniform
from .spectral_cl import spectral
from .two_towers import siglip
from .byol_dynamics import byol
from .dimensional_collapse import collapse
from .projection_head import STYLE_DEFAULTS, nt_xent_style
from .batch_size_effects import BIAS_DEFAULTS, batch_size

__all__ = [
    "SPIKED_METHODS",
    "SYSTEMS_METRICS",
    "SpikedContext",
    "METRIC_SAMPLES",
    "STYLE_DEFAULTS",
    "BIAS_DEFAULTS",
    "register_spiked_method",
    "spiked_methods",
    "fit_spiked",
    "train_embedding",
    "losses",
    "nt_xent",
    "nt_xent_style",
    "align_uniform",
    "spectral",
    "siglip",
    "byol",
    "collapse",
    "batch_size",
]
