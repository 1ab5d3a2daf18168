"""Batch forms of the linear contrastive loss (docs/model.md §3), one class each.

A batch form says how the positive and negative pairs of a batch of ``n`` view
pairs :math:`(x^{(1)}_i, x^{(2)}_i)` enter the loss. With :math:`f(x) = Wx` every
form is :math:`-\\operatorname{tr}(W M W^\\top) + \\frac{\\lambda}{2}\\|WW^\\top\\|_F^2` for a
form-specific matrix ``M`` of a few sufficient statistics
(:class:`spikedcl.stats.ViewStatistics`). A :class:`BatchForm` gives, in one place:

* :meth:`~BatchForm.matrix`: the realized ``M`` from the statistics of the views;
* :meth:`~BatchForm.expected`: the mask average :math:`\\bar M` under a mask law of pair moment ``q``;
* :meth:`~BatchForm.operator`: ``V -> M V`` without forming ``M`` (matrix-free path);
* :meth:`~BatchForm.batch_loss` / :meth:`~BatchForm.batch_grad`: the loss of a batch and its
  gradient from the features alone, in O(n d r) (minibatch training).

:func:`register_form` adds a form under a new ``loss=`` name; the public fits
then accept it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from ._array_api import get_namespace
from ._linalg import offdiag, pair_mean, rank1_apply, sym
from ._registry import lookup_named, register_named
from ._typing import Array

__all__ = ["BatchForm", "CrossView", "SimCLR", "FORMS", "CL_LOSSES", "register_form", "get_form"]


class BatchForm:
    """A batch form of the linear contrastive loss (docs/model.md §3).

    Subclass it, set :attr:`name` and :attr:`needs`, implement the five methods
    and register an instance with :func:`register_form`.

    Attributes
    ----------
    name : str
        The ``loss=`` string that selects the form.
    needs : frozenset of str
        Fields of :class:`~spikedcl.stats.ViewStatistics` that :meth:`matrix` reads
        (among ``"gram"``, ``"total"``, ``"cross"``, ``"total1"``, ``"total2"``).

    Examples
    --------
    A built-in form and the matrix it builds from the statistics of two views:

    >>> import numpy as np
    >>> import spikedcl as sc
    >>> from spikedcl.forms import get_form
    >>> from spikedcl.stats import view_statistics
    >>> form = get_form("cross-view")
    >>> form.name, sorted(form.needs)
    ('cross-view', ['cross', 'total1', 'total2'])
    >>> X = np.random.default_rng(0).standard_normal((100, 6))
    >>> X1, X2 = sc.augment.split_views(X, 0.5, rng=np.random.default_rng(1))
    >>> M = form.matrix(view_statistics(X1, X2, form.needs))
    >>> bool(np.allclose(M, sc.contrastive_matrix(X1, X2)))
    True
    """

    name: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset({"cross", "total1", "total2"})

    def matrix(self, stats: Any) -> Array:
        """Realized contrastive matrix ``M`` from the statistics of two views.

        Parameters
        ----------
        stats : ViewStatistics
            With the fields of :attr:`needs`.

        Returns
        -------
        array of shape (..., d, d)
            The symmetric ``M``.
        """
        raise NotImplementedError

    def expected(self, stats: Any, q: float) -> Array:
        """Mask-averaged :math:`\\bar M` from the data statistics ``gram`` and ``total``.

        Parameters
        ----------
        stats : ViewStatistics
            With ``gram`` :math:`X^\\top X` and ``total`` :math:`X^\\top 1` of the unmasked data.
        q : float
            Pair moment of the mask law, :math:`\\mathbb E[A x x^\\top (I - A)] = q\\Delta(x x^\\top)`.

        Returns
        -------
        array of shape (..., d, d)
            The symmetric :math:`\\bar M`.
        """
        raise NotImplementedError

    def operator(self, stats: Any, q: float | None = None) -> Callable[[Array], Array]:
        """``V -> M V`` (realized, ``q=None``) or ``V -> \\bar M V`` without forming the matrix.

        Parameters
        ----------
        stats : ViewStatistics
            Matrix-free statistics (:func:`spikedcl.stats.operator_statistics`).
        q : float, optional
            Pair moment for the mask average; ``None`` for the realized views.

        Returns
        -------
        callable
            ``matmat(V)`` for ``V`` of shape (..., d, b).
        """
        raise NotImplementedError

    def batch_loss(self, W: Array, X1: Array, X2: Array, lam: float) -> Array:
        """Loss of a batch of view pairs from the features alone, O(n d r).

        Parameters
        ----------
        W : array of shape (r, d)
            Encoder weights.
        X1, X2 : arrays of shape (n, d)
            The two views, ``n >= 2``.
        lam : float
            Regularisation :math:`\\lambda`.

        Returns
        -------
        array of shape ()
            :math:`-\\operatorname{tr}(W M W^\\top) + \\frac{\\lambda}{2}\\|WW^\\top\\|_F^2` with ``M`` the batch's matrix.
        """
        raise NotImplementedError

    def batch_grad(self, W: Array, X1: Array, X2: Array, lam: float) -> Array:
        """Gradient of :meth:`batch_loss` with respect to ``W``, O(n d r).

        Parameters
        ----------
        W : array of shape (r, d)
            Encoder weights.
        X1, X2 : arrays of shape (n, d)
            The two views.
        lam : float
            Regularisation :math:`\\lambda`.

        Returns
        -------
        array of shape (r, d)
            :math:`-2 W M + 2\\lambda (W W^\\top) W` without forming ``M``.
        """
        raise NotImplementedError

    def embedding_grad(self, Z1: Array, Z2: Array) -> tuple[Array, Array]:
        """Gradients of the penalty-free batch loss with respect to the embeddings, O(n k).

        Optional: what :class:`spikedcl.systems.linear_cl.LinearCL` trains through the
        loss protocol; a form without it cannot be used there.

        Parameters
        ----------
        Z1, Z2 : arrays of shape (n, k)
            Embeddings of the two views (rows ``W x``), ``n >= 2``.

        Returns
        -------
        dZ1, dZ2 : arrays of shape (n, k)
            Gradients of :meth:`batch_loss` of the identity encoder with ``lam = 0``.
        """
        raise NotImplementedError(f"the batch form {self.name!r} has no embedding gradient")

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def _regulariser(xp, W, lam):
    G = W @ W.mT
    return lam / 2 * xp.sum(G * G)


def _expected_apply(stats, a, dd, c):
    """``V -> a X^T X V - dd D(X^T X / n) V - c s s^T V`` on the data held by ``stats``."""
    dS, s, gram = stats.column_squares / stats.n, stats.total, stats.apply_gram
    return lambda V: a * gram(V) - dd * (dS[..., :, None] * V) - c * rank1_apply(s, V)


class CrossView(BatchForm):
    """(L-a): anchor view 1 against view 2 of the other samples.

    :math:`M = \\operatorname{sym}(C_{12})/n - \\operatorname{sym}(s_1 s_2^\\top - C_{12})/(n(n-1))` with
    :math:`C_{12} = X_1^\\top X_2`, :math:`s_v = X_v^\\top 1`; mask average
    :math:`q[\\Delta(\\hat\\Sigma_0) - N]`, :math:`N = (s s^\\top - X^\\top X)/(n(n-1))`.
    """

    name = "cross-view"
    needs = frozenset({"cross", "total1", "total2"})

    def matrix(self, stats: Any) -> Array:  # documented on BatchForm
        C12, n = stats.cross, stats.n
        return sym(C12) / n - pair_mean(stats.total1, stats.total2, C12, n)

    def expected(self, stats: Any, q: float) -> Array:
        G, s, n = stats.gram, stats.total, stats.n
        return q * (offdiag(sym(G / n)) - pair_mean(s, s, G, n))

    def operator(self, stats: Any, q: float | None = None) -> Callable[[Array], Array]:
        n = stats.n
        if q is not None:
            return _expected_apply(stats, q / (n - 1), q, q / (n * (n - 1)))
        gx, gy = stats.apply_gram, stats.apply_signed
        s, t = stats.total, stats.signed_total
        s1, s2 = (s + t) / 2, (s - t) / 2

        def matmat(V):
            pos = (gx(V) - gy(V)) / 4  # sym(X1^T X2) V
            neg = (s1[..., :, None] * (s2[..., None, :] @ V) + s2[..., :, None] * (s1[..., None, :] @ V)) / 2
            return pos / (n - 1) - neg / (n * (n - 1))

        return matmat

    def batch_loss(self, W: Array, X1: Array, X2: Array, lam: float) -> Array:
        xp = get_namespace(W, X1, X2)
        n = X1.shape[0]
        F1, F2 = X1 @ W.mT, X2 @ W.mT
        pos = xp.sum(F1 * F2)
        neg = xp.sum((W @ xp.sum(X1, axis=0)) * (W @ xp.sum(X2, axis=0))) - pos
        return -pos / n + (1 / (n * (n - 1))) * neg + _regulariser(xp, W, lam)

    def batch_grad(self, W: Array, X1: Array, X2: Array, lam: float) -> Array:
        xp = get_namespace(W, X1, X2)
        n = X1.shape[0]
        a_sum, b_sum = xp.sum(X1, axis=0), xp.sum(X2, axis=0)
        pos = (X1 @ W.mT).mT @ X2 + (X2 @ W.mT).mT @ X1  # d/dW sum_i <W a_i, W b_i> = W (A^T B + B^T A)
        Wa, Wb = W @ a_sum, W @ b_sum
        neg = Wa[:, None] * b_sum[None, :] + Wb[:, None] * a_sum[None, :] - pos
        return -pos / n + (1 / (n * (n - 1))) * neg + 2 * lam * ((W @ W.mT) @ W)

    def embedding_grad(self, Z1: Array, Z2: Array) -> tuple[Array, Array]:
        xp = get_namespace(Z1, Z2)
        n = Z1.shape[0]
        weight = 1 / (n * (n - 1))
        s1, s2 = xp.sum(Z1, axis=0), xp.sum(Z2, axis=0)
        return -Z2 / n + weight * (s2[None, :] - Z2), -Z1 / n + weight * (s1[None, :] - Z1)


class SimCLR(BatchForm):
    """(L-b): 2n anchors; negatives are both views of the other samples, weight :math:`1/(2n-2)`.

    :math:`M = \\operatorname{sym}(C_{12})/n - N/4` with :math:`N = (s s^\\top - X^\\top X)/(n(n-1))` of
    :math:`X = X_1 + X_2`; mask average :math:`q\\Delta(\\hat\\Sigma_0) - N/4`.
    """

    name = "simclr"
    needs = frozenset({"cross", "gram", "total"})

    def matrix(self, stats: Any) -> Array:
        C12, n = stats.cross, stats.n
        return sym(C12) / n - pair_mean(stats.total, stats.total, stats.gram, n) / 4

    def expected(self, stats: Any, q: float) -> Array:
        G, s, n = stats.gram, stats.total, stats.n
        return q * offdiag(sym(G / n)) - pair_mean(s, s, G, n) / 4

    def operator(self, stats: Any, q: float | None = None) -> Callable[[Array], Array]:
        n = stats.n
        if q is not None:
            return _expected_apply(stats, q / n + 1 / (4 * n * (n - 1)), q, 1 / (4 * n * (n - 1)))
        gx, gy, s = stats.apply_gram, stats.apply_signed, stats.total

        def matmat(V):
            GV = gx(V)
            pos = (GV - gy(V)) / (4 * n)
            return pos - (rank1_apply(s, V) - GV) / (4 * n * (n - 1))

        return matmat

    def batch_loss(self, W: Array, X1: Array, X2: Array, lam: float) -> Array:
        xp = get_namespace(W, X1, X2)
        n = X1.shape[0]
        F1, F2 = X1 @ W.mT, X2 @ W.mT
        F = F1 + F2
        neg = xp.sum((W @ xp.sum(X1 + X2, axis=0)) ** 2) - xp.sum(F * F)
        return -xp.sum(F1 * F2) / n + (1 / (4 * n * (n - 1))) * neg + _regulariser(xp, W, lam)

    def batch_grad(self, W: Array, X1: Array, X2: Array, lam: float) -> Array:
        xp = get_namespace(W, X1, X2)
        n = X1.shape[0]
        X = X1 + X2
        s = xp.sum(X, axis=0)
        F1, F2 = X1 @ W.mT, X2 @ W.mT
        pos = F1.mT @ X2 + F2.mT @ X1
        neg = 2 * ((W @ s)[:, None] * s[None, :] - (F1 + F2).mT @ X)
        return -pos / n + (1 / (4 * n * (n - 1))) * neg + 2 * lam * ((W @ W.mT) @ W)

    def embedding_grad(self, Z1: Array, Z2: Array) -> tuple[Array, Array]:
        xp = get_namespace(Z1, Z2)
        n = Z1.shape[0]
        weight = 1 / (4 * n * (n - 1))
        F = Z1 + Z2
        dneg = 2 * weight * (xp.sum(F, axis=0)[None, :] - F)
        return -Z2 / n + dneg, -Z1 / n + dneg


#: The registered batch forms by ``loss=`` name (:func:`register_form` adds one).
FORMS = {form.name: form for form in (CrossView(), SimCLR())}

#: The built-in ``loss=`` names.
CL_LOSSES = tuple(FORMS)


def register_form(form: BatchForm, *, replace: bool = False) -> BatchForm:
    """Register a batch form so that ``loss=form.name`` selects it in every contrastive fit.

    Parameters
    ----------
    form : BatchForm
        An instance of a :class:`BatchForm` subclass with a non-empty :attr:`~BatchForm.name`.
    replace : bool, default=False
        Allow replacing a registered form of the same name (never a built-in one).

    Returns
    -------
    BatchForm
        ``form``.

    Examples
    --------
    A tiny form without negatives, :math:`M = \\operatorname{sym}(X_1^\\top X_2)/n`, whose mask
    average is :math:`q` times the off-diagonal second moment (NumPy only, closed forms
    only: :meth:`~BatchForm.matrix` and :meth:`~BatchForm.expected`):

    >>> import numpy as np
    >>> import spikedcl as sc
    >>> from spikedcl.forms import FORMS, BatchForm, register_form
    >>> class PositivesOnly(BatchForm):
    ...     name = "positives-only"
    ...     needs = frozenset({"cross"})
    ...     def matrix(self, stats):
    ...         C = stats.cross / stats.n
    ...         return (C + C.T) / 2
    ...     def expected(self, stats, q):
    ...         G = stats.gram / stats.n
    ...         return q * (G - np.diag(np.diag(G)))
    >>> form = register_form(PositivesOnly())
    >>> X = np.random.default_rng(0).standard_normal((100, 6))
    >>> X1, X2 = sc.augment.split_views(X, 0.5, rng=np.random.default_rng(1))
    >>> M = sc.contrastive_matrix(X1, X2, loss="positives-only")
    >>> bool(np.allclose(M, (X1.T @ X2 + X2.T @ X1) / 200))
    True
    >>> sc.fit_contrastive(X, 2, loss="positives-only", rng=0).W.shape
    (2, 6)

    A name is registered once (``replace=True`` rebinds it); remove the entry to undo:

    >>> register_form(PositivesOnly())
    Traceback (most recent call last):
        ...
    ValueError: a batch form named 'positives-only' is already registered
    >>> del FORMS["positives-only"]
    """
    return register_named(FORMS, form, BatchForm, CL_LOSSES, what="form", kind="batch form", replace=replace)


def get_form(loss: str | BatchForm, name: str = "loss") -> BatchForm:
    """The :class:`BatchForm` registered as ``loss`` (or ``loss`` itself when it is a form).

    Parameters
    ----------
    loss : str or BatchForm
        A registered name or a form.
    name : str, default="loss"
        Parameter name for the error message.

    Returns
    -------
    BatchForm
        The form.
    """
    return lookup_named(FORMS, loss, BatchForm, name)
