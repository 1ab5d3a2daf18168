"""The ``nt_xent`` experiment (S-2): NT-Xent on the masked spiked model across temperatures."""

from __future__ import annotations

from ..base import register_experiment
from ..spiked import draw_spiked
from .methods import SpikedContext, spiked_rows
from .parameters import check_spiked, spiked_declared

__all__ = ["nt_xent"]


@register_experiment("nt_xent", params=spiked_declared(("nt-xent",)), draw=draw_spiked, check=check_spiked)
def nt_xent(P, draw):
    """S-2: NT-Xent on the masked spiked model across temperatures (docs/systems.md §1).

    Parameters
    ----------
    P : dict
        As :func:`losses`, with ``temperature`` on the grid; ``methods`` may hold
        ``"nt-xent"``, ``"nt-xent-head"`` and closed-form references.
    draw : SpikedDraw
        The replicate's data.

    Returns
    -------
    list of dict
        One row per (method, metric) at the cell's temperature.
    """
    return spiked_rows(P["methods"], SpikedContext(P, draw))
