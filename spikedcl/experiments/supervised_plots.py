"""Figures of the supervised CL sweeps: they live in :mod:`spikedcl.plotting.supervised`.

This module re-exports them so that ``[figure] function = "spikedcl.experiments.supervised_plots:NAME"``
keeps working.
"""

from ..plotting.supervised import fig5, fig5_classification  # noqa: F401

__all__ = ["fig5", "fig5_classification"]
