"""Notebook reprs are short: shapes and key scalars, never whole arrays."""


import numpy as np

import spikedcl as sc
from spikedcl.solvers import gradient_descent
from spikedcl.sweep import load_config, resolve_config, run_sweep

SHORT = 250  # characters: one line in a notebook cell, whatever d is


def test_model_and_fit_reprs_name_shapes_and_scalars_not_arrays():
    model = sc.SpikedModel.random(2000, 3, condition=8.0, rng=0)
    text = repr(model)
    assert len(text) < SHORT and "d=2000, r=3" in text and "condition=8" in text and "'uniform'" in text
    X = model.sample(3000, rng=1)
    fit = sc.fit_contrastive(X, 3, rng=2)
    text = repr(fit)
    assert len(text) < SHORT and text.startswith("FitResult(method='contrastive'") and "r=3, d=2000" in text
    top = float(np.asarray(fit.eigenvalues)[0])
    assert f"{top:.4g}" in text  # the leading eigenvalue, to 4 digits
    wide = repr(sc.fit_pca(X, 10))
    assert len(wide) < SHORT and "...] (10,)" in wide  # ten eigenvalues shown as three and a count


def test_batched_fit_and_solver_reprs_stay_short():
    rng = np.random.default_rng(3)
    Xs = rng.standard_normal((4, 300, 40))
    fit = sc.fit_contrastive(Xs, 2, masks="expected", batched=True)
    text = repr(fit)
    assert len(text) < SHORT and "batch=(4,)" in text and "array(4, 2)" in text
    A = rng.standard_normal((30, 30))
    S = A @ A.T / 30 + np.eye(30)

    def fun(params):
        (x,) = params
        return 0.5 * np.sum(x * (S @ x))

    def grad(params):
        (x,) = params
        return (S @ x,)

    res = gradient_descent(fun, grad, (rng.standard_normal((30, 2)),), step=0.1, max_iter=5, warn=False)
    text = repr(res)
    assert len(text) < SHORT and "params=[(30, 2)]" in text and "n_iter=5" in text


def test_sweep_result_repr_counts_cells_and_rows():
    result = run_sweep(resolve_config(load_config("quick"), quick=True))
    text = repr(result)
    assert text == (f"SweepResult(cells={len(result.cells)}, run={result.n_run}, reused=0, failed=0, streamed=0, "
                    f"rows={len(result.table)}, elapsed={result.elapsed:.1f} s)")
