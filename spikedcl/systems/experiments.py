"""Former home of the systems' sweep experiments, now in :mod:`spikedcl.experiments.systems`.

Re-exported here so that ``"spikedcl.systems.experiments:NAME"`` in a
configuration and ``from spikedcl.systems import experiments`` keep working;
configurations name them by their registered short names (``experiment =
"losses"``).
"""

from ..experiments.systems import (  # noqa: F401
    BIAS_DEFAULTS,
    METRIC_SAMPLES,
    SPIKED_METHODS,
    STYLE_DEFAULTS,
    SYSTEMS_METRICS,
    align_uniform,
    batch_size,
    byol,
    collapse,
    fit_spiked,
    losses,
    nt_xent,
    nt_xent_style,
    siglip,
    spectral,
    spiked_methods,
    train_embedding,
)
from ..experiments.systems import __all__  # noqa: F401
