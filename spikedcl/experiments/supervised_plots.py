"""Compatibility re-exports: the figures of the supervised CL sweeps live in :mod:`spikedcl.plotting.supervised`.

Nothing is defined here. The module keeps ``[figure] function =
"spikedcl.experiments.supervised_plots:NAME"`` in older configurations working;
the configurations of this repository name ``spikedcl.plotting.supervised:NAME``,
and new code should too.
"""

from ..plotting.supervised import fig5, fig5_classification

__all__ = ["fig5", "fig5_classification"]
