"""Experiments run by the sweep engine, one function per kind of cell.

An experiment is a pure function ``fn(params, seed) -> list[dict]``: ``params``
holds one grid point merged with the configuration's fixed parameters, ``seed``
is the :class:`numpy.random.SeedSequence` addressed by ``(root, data cell,
rep)`` (see :func:`spikedcl.cell_seed`), and each returned row names a
``method``, a ``metric`` and a float ``value`` (optionally ``solver``,
``n_iter``, ``converged``, ``time_s`` and extra columns). The sweep engine
adds the cell's coordinates and provenance.
"""
