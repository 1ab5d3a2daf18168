"""The loss protocol shared by every contrastive loss, and its registry.

A loss is a frozen dataclass whose fields are its hyperparameters (with
defaults, checked in ``__post_init__``) and whose class attribute ``name`` is
the method name a sweep configuration uses. Its one obligatory method is

.. code-block:: text

    value_and_grad(Z1, Z2, *extra) -> (loss, dZ1, dZ2, *dextra)

on two paired batches of embeddings ``Z1, Z2`` of shape (m, k); ``extra`` are
scalar parameters trained alongside the encoder (SigLIP's log-temperature and
bias), started at :attr:`ContrastiveLoss.extra_init`. :meth:`head_shape` says
whether the loss is trained behind a projection head, and a loss with a known
minimiser offers ``closed_form(X1, X2, k) -> W`` (``None`` otherwise); a loss
with a term on the encoder weights themselves (the paper's linear CL) offers
``penalty(W) -> (value, dW)``.

A new loss is one class in one file::

    from spikedcl.systems.base import ContrastiveLoss, register_loss

    @register_loss
    @dataclass(frozen=True)
    class MyLoss(ContrastiveLoss):
        name = "my-loss"
        weight: float = 1.0

        def value_and_grad(self, Z1, Z2):
            ...

and :func:`make_loss` builds it from a sweep cell's parameters, taking the
fields it declares and ignoring the other keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from .._typing import Array

__all__ = ["LOSSES", "ContrastiveLoss", "register_loss", "make_loss", "loss_names"]

#: Registered losses by method name (filled by :func:`register_loss`).
LOSSES: dict[str, type] = {}


class ContrastiveLoss:
    """Base of the loss protocol (subclasses are frozen dataclasses).

    Attributes
    ----------
    name : str
        Method name in sweep configurations and result rows (class attribute).
    extra_init : tuple of float
        Initial values of the scalar parameters trained with the encoder,
        passed after ``Z1, Z2`` to :meth:`value_and_grad`; ``()`` for none.
    closed_form : callable or None
        ``closed_form(X1, X2, k) -> W`` of shape (k, d): the minimiser over
        linear encoders on the views, where one is known; ``None`` otherwise.
    penalty : callable or None
        ``penalty(W) -> (value, dW)``: a term on the encoder weights ``W`` of
        shape (k, d) added to the loss (the paper's :math:`\\frac\\lambda2\\|WW^\\top\\|_F^2`);
        ``None`` for a loss of the embeddings alone.
    """

    name: ClassVar[str] = ""
    extra_init: ClassVar[tuple[float, ...]] = ()
    closed_form: ClassVar[Callable[..., Any] | None] = None
    penalty: ClassVar[Callable[..., Any] | None] = None

    def value_and_grad(self, Z1: Array, Z2: Array, *extra: Array) -> tuple[Array, ...]:
        """Loss and its gradients.

        Parameters
        ----------
        Z1, Z2 : array of shape (m, k)
            Embeddings of the two views, paired row by row.
        *extra : scalar arrays
            Trained scalar parameters, as many as :attr:`extra_init`.

        Returns
        -------
        tuple
            ``(loss, dZ1, dZ2, *dextra)``: the loss (shape ()), its gradients
            with respect to ``Z1`` and ``Z2`` (shape (m, k)) and to each extra.
        """
        raise NotImplementedError(f"{type(self).__name__} must define value_and_grad")

    def loss(self, Z1: Array, Z2: Array, *extra: Array) -> Array:
        """The loss value alone (first entry of :meth:`value_and_grad`)."""
        return self.value_and_grad(Z1, Z2, *extra)[0]

    def head_shape(self, r: int) -> tuple[int, int] | None:
        """Widths ``(h, m)`` of the projection head for representation dimension ``r``, or ``None``.

        Parameters
        ----------
        r : int
            Representation dimension.

        Returns
        -------
        tuple of int or None
            ``None`` for a loss on the representation itself.
        """
        return None

    @classmethod
    def hyperparameters(cls) -> tuple[str, ...]:
        """Names of the hyperparameters (the dataclass fields), in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))


def register_loss(cls: type[ContrastiveLoss]) -> type[ContrastiveLoss]:
    """Class decorator: add a loss class to :data:`LOSSES` under ``cls.name``.

    Parameters
    ----------
    cls : type
        A frozen dataclass subclassing :class:`ContrastiveLoss`, with a
        non-empty string ``name``.

    Returns
    -------
    type
        ``cls`` itself.

    Raises
    ------
    TypeError
        If ``cls`` is not a frozen dataclass subclass of :class:`ContrastiveLoss`.
    ValueError
        If ``name`` is empty or already registered to another class.
    """
    if not (isinstance(cls, type) and issubclass(cls, ContrastiveLoss)):
        raise TypeError(f"register_loss takes a subclass of ContrastiveLoss, got {cls!r}")
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:
        raise TypeError(f"{cls.__name__} must be a frozen dataclass (@dataclass(frozen=True))")
    name = cls.name
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__name__}.name must be a non-empty string, got {name!r}")
    other = LOSSES.get(name)
    if other is not None and other.__qualname__ != cls.__qualname__:
        raise ValueError(f"loss name {name!r} is already registered to {other.__module__}.{other.__qualname__}")
    LOSSES[name] = cls
    return cls


def loss_names() -> tuple[str, ...]:
    """Names of the registered losses, sorted."""
    return tuple(sorted(LOSSES))


def make_loss(name: str, params: Mapping[str, Any] | None = None) -> ContrastiveLoss:
    """The registered loss ``name`` built from the keys of ``params`` that it declares.

    Parameters
    ----------
    name : str
        A key of :data:`LOSSES`.
    params : mapping, optional
        Sweep-cell parameters; keys that are not hyperparameters of the loss are
        ignored, missing ones take the class defaults.

    Returns
    -------
    ContrastiveLoss
        The validated loss instance.

    Raises
    ------
    ValueError
        If ``name`` is not registered (the message lists the registered names),
        or a hyperparameter is out of range.

    Examples
    --------
    >>> from spikedcl import systems
    >>> systems.make_loss("nt-xent", {"temperature": 0.2, "n": 100})  # keys it does not declare are ignored
    NTXent(temperature=0.2, similarity='cosine')
    """
    cls = LOSSES.get(name) if isinstance(name, str) else None
    if cls is None:
        allowed = ", ".join(repr(n) for n in loss_names())
        raise ValueError(f"loss must be one of {allowed}; got {name!r}")
    params = {} if params is None else params
    return cls(**{f: params[f] for f in cls.hyperparameters() if f in params})
