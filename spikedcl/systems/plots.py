"""Figures of the contrastive-systems sweeps: they live in :mod:`spikedcl.plotting.systems`.

This module re-exports them so that ``[figure] function = "spikedcl.systems.plots:NAME"``
keeps working.
"""

from ..plotting.systems import (  # noqa: F401
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
