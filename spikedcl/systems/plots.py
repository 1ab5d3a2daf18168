"""Compatibility re-exports: the figures of the contrastive-systems sweeps live in :mod:`spikedcl.plotting.systems`.

Nothing is defined here. The module keeps ``[figure] function =
"spikedcl.systems.plots:NAME"`` in older configurations and
``from spikedcl.systems.plots import NAME`` working; the configurations of
this repository name ``spikedcl.plotting.systems:NAME``, and new code should too.
"""

from ..plotting.systems import (
    BIAS_FIT_MIN_N,
    align_uniform,
    batch_size,
    bias_slopes,
    byol,
    collapse,
    losses,
    nt_xent,
    nt_xent_style,
    siglip,
    spectral,
)

__all__ = ["losses", "nt_xent", "nt_xent_style", "align_uniform", "spectral", "siglip", "byol", "collapse",
           "batch_size", "bias_slopes", "BIAS_FIT_MIN_N"]
