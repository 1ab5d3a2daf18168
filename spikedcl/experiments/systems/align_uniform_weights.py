"""The ``align_uniform`` experiment (U-3): alignment–uniformity weights on the masked spiked model."""

from __future__ import annotations

from ...systems.align_uniform import uniformity_lower_bound
from ..base import Param, register_experiment
from ..spiked import draw_spiked
from .methods import SpikedContext, spiked_rows
from .parameters import check_spiked, spiked_declared

__all__ = ["align_uniform"]


@register_experiment("align_uniform", draw=draw_spiked, check=check_spiked,
                     params=spiked_declared((), (Param("ratio", float, 1.0, low=0, open_low=True,
                                                        doc="lambda_align / lambda_uniform (lambda_uniform = 1)"),)))


def align_uniform(P, draw):
    """U-3: alignment–uniformity weights on the masked spiked model (docs/systems.md §2).

    Parameters
    ----------
    P : dict
        As :func:`losses`, with ``ratio`` = λ_a/λ_u on the grid (λ_u = 1).
    draw : SpikedDraw
        The replicate's data.

    Returns
    -------
    list of dict
        Rows of ``"align-uniform"``, the ``methods`` references, and the theory row
        ``uniform_min`` (the uniformity of the uniform law on S^{r-1}).
    """
    cell = {**P, "lam_align": P["ratio"], "lam_uniform": 1.0}
    rows = spiked_rows(["align-uniform"] + list(P["methods"]), SpikedContext(cell, draw))
    r = int(P["r"])
    if r >= 2:
        rows.append({"method": "theory", "metric": "uniform_min", "value": uniformity_lower_bound(2.0, r)})
    return rows
