"""The ``nt_xent_style`` experiment (S-3): a projection head absorbs the style nuisance."""

from __future__ import annotations

import time

import numpy as np

from ..._validation import check_int
from ...systems.base import make_loss
from ...systems.encoder import encode, init_encoder
from ...systems.nt_xent import ridge_probe_r2, style_views
from ..base import REQUIRED, Param, register_experiment, seed_children
from .trainer import train_embedding

__all__ = ["nt_xent_style", "STYLE_DEFAULTS"]


#: Defaults of :func:`nt_xent_style` (S-3).
STYLE_DEFAULTS = dict(n=2000, r=3, q=2, d_noise=25, k=8, style=2.0, jitter=0.3, temperature=0.5, lr=0.01,
                      batch_size=128, n_probe=4000, ridge=1e-3)

_STYLE_PARAMS = (
    Param("steps", int, REQUIRED, low=0, doc="Adam steps (0: the random initialisation)"),
    Param("head", str, "relu", choices=("relu", "none"), doc="ReLU projection head of widths (k, r), or none"),
    Param("n", int, STYLE_DEFAULTS["n"], low=2, doc="training signals"),
    Param("r", int, STYLE_DEFAULTS["r"], low=1, doc="signal dimension"),
    Param("q", int, STYLE_DEFAULTS["q"], low=1, doc="style dimension"),
    Param("d_noise", int, STYLE_DEFAULTS["d_noise"], low=0, doc="noise coordinates"),
    Param("k", int, STYLE_DEFAULTS["k"], low=1, doc="width of h"),
    Param("style", float, STYLE_DEFAULTS["style"], low=0, open_low=True, doc="style sd"),
    Param("jitter", float, STYLE_DEFAULTS["jitter"], low=0, doc="signal jitter sd"),
    Param("temperature", float, STYLE_DEFAULTS["temperature"], low=0, open_low=True, doc="NT-Xent temperature"),
    Param("lr", float, STYLE_DEFAULTS["lr"], low=0, open_low=True, doc="Adam learning rate"),
    Param("batch_size", int, STYLE_DEFAULTS["batch_size"], low=2, doc="minibatch size (at most n)"),
    Param("n_probe", int, STYLE_DEFAULTS["n_probe"], low=8, doc="probe samples (half to fit, half to score)"),
    Param("ridge", float, STYLE_DEFAULTS["ridge"], low=0, doc="ridge of the probes"),
)


def _check_style(P):
    check_int(P["batch_size"], "batch_size", low=2, high=int(P["n"]))


def _draw_signals(P, seed):
    data_seed, fit_seed = seed_children(seed, 2)
    return np.random.default_rng(data_seed).standard_normal((int(P["n"]), int(P["r"]))), fit_seed


@register_experiment("nt_xent_style", params=_STYLE_PARAMS, draw=_draw_signals, check=_check_style)
def nt_xent_style(P, data):
    """S-3: a projection head absorbs the nuisance; a ridge probe finds the style in h, not in z (docs/systems.md §1).

    Views are :math:`x = [s + 0.3\\varepsilon \\mid c \\mid \\xi]`
    (:func:`~spikedcl.systems.nt_xent.style_views`): the signal :math:`s \\in \\mathbb R^r`
    is shared by the two views of a sample, the style :math:`c \\in \\mathbb R^q`
    (sd ``style``) and the noise :math:`\\xi` are redrawn per view. The encoder
    :math:`h = Wx \\in \\mathbb R^k` is trained with NT-Xent (cosine, Adam, fresh
    views in every batch) on :math:`z = W_2\\mathrm{ReLU}(W_1 h)` (``head = "relu"``,
    widths (k, r)) or on :math:`z = h` (``head = "none"``). Ridge probes fitted on
    ``n_probe/2`` fresh single views and scored on as many others give the
    held-out :math:`R^2` of :math:`c` and of :math:`s` from :math:`h` and from :math:`z`.

    Parameters
    ----------
    P : dict
        The resolved cell (called as ``nt_xent_style(params, seed)``): ``head``
        in {"relu", "none"} and ``steps`` (Adam steps, 0 = the random
        initialisation) on the grid; :data:`STYLE_DEFAULTS` for the rest.
    data : tuple
        The replicate's signals (the seed's first child) and the seed of the
        initialisation, the views and the probe data (its second).

    Returns
    -------
    list of dict
        ``style_r2_h``, ``style_r2_z``, ``signal_r2_h``, ``signal_r2_z`` of method
        ``"nt-xent-head"`` or ``"nt-xent"``.
    """
    n, r, q, dn, k = (int(P[key]) for key in ("n", "r", "q", "d_noise", "k"))
    steps, head = int(P["steps"]), P["head"]
    signal, fit_seed = data
    rng = np.random.default_rng(fit_seed)
    opts = dict(style=float(P["style"]), jitter=float(P["jitter"]))

    def views(idx, rng):
        return style_views(signal[idx], q, dn, rng=rng, **opts), style_views(signal[idx], q, dn, rng=rng, **opts)

    t0 = time.perf_counter()
    head_widths = (k, r) if head == "relu" else None
    loss = _HeadLoss(make_loss("nt-xent", {"temperature": float(P["temperature"])}), head_widths)
    if steps > 0:
        enc, res = train_embedding(loss, np.zeros((n, r + q + dn)), k, rng, p=0.5,
                                   batch_size=int(P["batch_size"]), steps=steps, lr=float(P["lr"]),
                                   views=views, full=True)
        info = {"solver": "adam", "n_iter": res.n_iter, "converged": res.converged}
    else:
        enc = init_encoder(k, r + q + dn, head=head_widths, rng=rng)
        info = {"solver": "init", "n_iter": 0, "converged": True}
    info["time_s"] = time.perf_counter() - t0
    m = int(P["n_probe"]) // 2
    S = rng.standard_normal((2 * m, r))
    X = style_views(S, q, dn, rng=rng, **opts)
    Z, H = encode(enc, X)
    C = X[:, r:r + q]
    method = "nt-xent-head" if head == "relu" else "nt-xent"
    rows = []
    for name, target in (("style", C), ("signal", S)):
        for feat, F in (("h", H), ("z", Z)):
            value = float(ridge_probe_r2(F[:m], target[:m], F[m:], target[m:], ridge=float(P["ridge"])))
            rows.append({"method": method, "metric": f"{name}_r2_{feat}", "value": value, **info})
    return rows


class _HeadLoss:
    """A registered loss behind a projection head of given widths (the S-3 head is (k, r), not the loss's own)."""

    def __init__(self, loss, head):
        self.loss, self.head = loss, head
        self.extra_init, self.penalty = loss.extra_init, loss.penalty
        self.value_and_grad = loss.value_and_grad

    def head_shape(self, k):
        return self.head
