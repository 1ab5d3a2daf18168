"""Declared parameters and checks of the experiments on the masked spiked model.

The parameters of an experiment on the spiked model are those of the model
(:func:`spiked_model_params`), of its methods (:func:`training_params`) and
the hyperparameters of every registered loss (:func:`loss_params`, read from
the loss's dataclass fields), assembled by :func:`spiked_declared`;
:func:`check_spiked` checks what a single parameter cannot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from ..._validation import check_int
from ...metrics import check_metrics
from ...systems.base import LOSSES, make_loss
from ..base import Param
from ..spiked import spiked_params
from .methods import PROVIDES, SYSTEMS_METRICS, spiked_methods

__all__ = ["loss_params", "training_params", "spiked_model_params", "spiked_declared", "check_spiked"]


def loss_params() -> tuple[Param, ...]:
    """The hyperparameters of the registered losses, as declared parameters (type and default from the fields).

    Returns
    -------
    tuple of Param
        One parameter per field name with a default, first loss declaring it first.
    """
    kinds = {"float": float, "int": int, "str": str, "bool": bool, float: float, int: int, str: str, bool: bool}
    out = {}
    for cls in LOSSES.values():
        for f in dataclasses.fields(cls):
            if f.name not in out and f.default is not dataclasses.MISSING:
                out[f.name] = Param(f.name, kinds.get(f.type, object), f.default,
                                    doc=f"hyperparameter of the loss {cls.name!r} (and any loss declaring it)")
    return tuple(out.values())


def training_params(*, ranged: bool = True, methods: Sequence[str] = ("cl", "pca")) -> tuple[Param, ...]:
    """Declared parameters of the methods on the spiked model.

    Parameters
    ----------
    ranged : bool, default=True
        Declare the ranges of ``mask_prob``, ``batch_size`` and ``lr``
        (``False``: types only, for an experiment that checks them per task).
    methods : tuple of str, default=("cl", "pca")
        Default of the ``methods`` parameter.

    Returns
    -------
    tuple of Param
        ``mask_prob``, ``methods``, ``metrics``, ``batch_size``, ``steps``,
        ``lr``, ``eta``, ``byol_steps``, ``byol_dt`` and ``gd_max_iter``.
    """
    def rng_(**kw):
        return kw if ranged else {}

    return (
        Param("mask_prob", float, 0.5, **rng_(low=0, high=1, open_low=True, open_high=True),
              doc="keep probability of the masks"),
        Param("methods", list, list(methods), choices=spiked_methods, items=str,
              doc="methods fitted to the same samples"),
        Param("metrics", list, list(SYSTEMS_METRICS), items=str, doc="registered metrics (spikedcl.metrics.METRICS)"),
        Param("batch_size", int, 256, **rng_(low=2), doc="minibatch size of the trained losses"),
        Param("steps", int, 300, low=1, doc="Adam steps of the trained losses"),
        Param("lr", float, 0.05, **rng_(low=0, open_low=True), doc="Adam learning rate"),
        Param("eta", float, 1e-3, low=0, doc="weight decay of 'byol'"),
        Param("byol_steps", int, 4000, low=1, doc="Euler steps of 'byol'"),
        Param("byol_dt", float, 0.1, low=0, open_low=True, doc="Euler step of 'byol'"),
        Param("gd_max_iter", int, 5000, low=1, doc="iterations of 'spectral-gd'"),
    )


def spiked_model_params(*, required: bool = True) -> tuple[Param, ...]:
    """Declared parameters of the spiked model (``n`` of at least 4, ``C`` positive).

    Parameters
    ----------
    required : bool, default=True
        Whether ``n``, ``d`` and ``r`` are mandatory.

    Returns
    -------
    tuple of Param
        See :func:`spikedcl.experiments.spiked.spiked_params`.
    """
    return spiked_params(n_low=4, sizes_required=required, C_low=0.0, C_open=True)


def spiked_declared(methods: Sequence[str], extra: Sequence[Param] = ()) -> Callable[[], tuple[Param, ...]]:
    """The declared parameters of an experiment on the spiked model, evaluated when checked.

    Parameters
    ----------
    methods : tuple of str
        Default of the ``methods`` parameter.
    extra : tuple of Param, default=()
        The experiment's own parameters.

    Returns
    -------
    callable
        ``params() -> tuple of Param``: the model, the methods, ``extra`` and
        the hyperparameters of the losses registered by then.
    """
    def params():
        return spiked_model_params() + training_params(methods=methods) + tuple(extra) + loss_params()

    return params


def check_spiked(P: dict[str, Any]) -> None:
    """Check a resolved cell on the spiked model beyond its single parameters.

    Parameters
    ----------
    P : dict
        The resolved cell.

    Raises
    ------
    ValueError
        For ``r`` outside [1, d - 1], a metric the representation cannot
        provide, or a hyperparameter refused by its loss (every registered loss
        without a required field checks its hyperparameters, used or not).
    """
    check_int(P["r"], "r", low=1, high=int(P["d"]) - 1)
    check_metrics(P["metrics"], PROVIDES)
    for name, cls in LOSSES.items():  # every hyperparameter is checked by its loss, used or not
        required = any(f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                       for f in dataclasses.fields(cls))
        if name in P["methods"] or not required:
            make_loss(name, P)
