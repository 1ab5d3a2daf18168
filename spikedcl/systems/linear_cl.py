"""The paper's linear contrastive loss through the loss protocol (docs/model.md §3).

With a linear encoder :math:`f(x) = Wx` and embeddings :math:`Z_v = X_v W^\\top`,
the batch loss of :func:`spikedcl.objectives.contrastive_batch_loss` splits into
a part that depends on the embeddings alone,

.. math::

    \\ell(Z_1, Z_2) = -\\frac1n\\sum_i \\langle z^{(1)}_i, z^{(2)}_i\\rangle
    + w\\,\\mathrm{neg}(Z_1, Z_2),

(:meth:`LinearCL.value_and_grad`), and the penalty
:math:`\\frac\\lambda2\\|WW^\\top\\|_F^2` on the encoder weights
(:meth:`LinearCL.penalty`). The sum is :func:`~spikedcl.objectives.contrastive_loss`
with ``M = contrastive_matrix(X1, X2, loss=form)``, whose minimiser is
:meth:`LinearCL.closed_form`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._array_api import device_of, get_namespace
from .._typing import Array
from .._validation import check_positive
from ..closed_form import contrastive_fit_from_matrix, contrastive_matrix
from ..forms import get_form
from ..objectives import contrastive_batch_loss, contrastive_grad, contrastive_loss
from ._common import check_pair
from .base import ContrastiveLoss, register_loss

__all__ = ["LinearCL"]


@register_loss
@dataclass(frozen=True)
class LinearCL(ContrastiveLoss):
    """The paper's linear contrastive loss as a loss of the protocol, method ``"linear-cl"``.

    Parameters
    ----------
    lam : float, default=1.0
        Penalty weight :math:`\\lambda`, in (0, inf).
    form : {"cross-view", "simclr"} or a registered form name, default="cross-view"
        Batch form (L-a or L-b of docs/model.md §3; see :data:`spikedcl.forms.FORMS`).
    """

    name = "linear-cl"
    lam: float = 1.0
    form: str = "cross-view"

    def __post_init__(self):
        object.__setattr__(self, "lam", check_positive(self.lam, "lam"))
        get_form(self.form, "form")

    def value_and_grad(self, Z1: Array, Z2: Array) -> tuple[Array, Array, Array]:
        """Embedding part of the batch loss and its gradients.

        Parameters
        ----------
        Z1, Z2 : array of shape (n, k)
            Embeddings of the two views, paired row by row, ``n >= 2``.

        Returns
        -------
        loss : array of shape ()
            :func:`~spikedcl.objectives.contrastive_batch_loss` of the identity
            encoder on ``(Z1, Z2)`` with ``lam = 0``.
        dZ1, dZ2 : array of shape (n, k)
            Gradients with respect to ``Z1`` and ``Z2``.
        """
        xp, Z1, Z2 = check_pair(Z1, Z2)
        identity = xp.eye(Z1.shape[1], dtype=Z1.dtype, device=device_of(Z1))
        loss = contrastive_batch_loss(identity, Z1, Z2, 0.0, loss=self.form)
        return (loss, *get_form(self.form).embedding_grad(Z1, Z2))

    def penalty(self, W: Array) -> tuple[Array, Array]:
        """The encoder penalty :math:`\\frac\\lambda2\\|WW^\\top\\|_F^2` and its gradient.

        Parameters
        ----------
        W : array of shape (k, d)
            Encoder weights.

        Returns
        -------
        value : array of shape ()
            :func:`~spikedcl.objectives.contrastive_loss` with ``M = 0``.
        grad : array of shape (k, d)
            :func:`~spikedcl.objectives.contrastive_grad` with ``M = 0``.
        """
        xp = get_namespace(W)
        zero = xp.zeros((W.shape[1], W.shape[1]), dtype=W.dtype, device=device_of(W))
        return contrastive_loss(W, zero, self.lam), contrastive_grad(W, zero, self.lam)

    def closed_form(self, X1: Array, X2: Array, k: int) -> Array:
        """Minimiser ``W`` (k, d) over linear encoders: the protocol's ``closed_form(X1, X2, k)``.

        ``W`` of :func:`spikedcl.closed_form.contrastive_fit_from_matrix` on the
        realized ``M`` of the views ``X1, X2`` (n, d); ``1 <= k < d``.
        """
        M = contrastive_matrix(X1, X2, loss=self.form)
        return contrastive_fit_from_matrix(M, k, lam=self.lam).W
