"""Experiments run by the sweep engine, one :class:`~spikedcl.experiments.base.Experiment` per kind of cell.

An experiment is called as ``exp(params, seed) -> list[dict]``: ``params``
holds one grid point merged with the configuration's fixed parameters,
``seed`` is the :class:`numpy.random.SeedSequence` addressed by ``(root, data
cell, rep)`` (see :func:`spikedcl.cell_seed`), and each returned row names a
``method``, a ``metric`` and a float ``value`` (optionally ``solver``,
``n_iter``, ``converged``, ``time_s`` and extra columns). The sweep engine
adds the cell's coordinates and provenance. The contract (declared
parameters, one data draw per replicate, devices, the memory plan of a cell
under its ``memory_limit``: :class:`MemoryPlan`, :class:`MemoryLimitError`) is in
:mod:`spikedcl.experiments.base`; the metrics of a representation are in the
registry of :mod:`spikedcl.metrics`.

=================  ================================================================
module             experiments (registered short names)
=================  ================================================================
``subspace``       ``subspace``: subspace recovery and downstream risk (F1–F4)
``supervised``     ``supervised_transfer``, ``supervised_transfer_classification`` (F5)
``systems``        ``losses``, ``nt_xent``, ``nt_xent_style``, ``align_uniform``,
                   ``spectral``, ``siglip``, ``byol``, ``collapse``, ``batch_size``
``gd``             ``gd``: gradient descent and SGD against the closed forms (F6)
=================  ================================================================
"""

from . import base, gd, subspace, supervised, systems
from .base import EXPERIMENTS, Experiment, MemoryLimitError, MemoryPlan, Param, register_experiment, seed_children

__all__ = ["EXPERIMENTS", "Experiment", "MemoryLimitError", "MemoryPlan", "Param", "register_experiment",
           "seed_children", "base", "gd", "subspace", "supervised", "systems"]
