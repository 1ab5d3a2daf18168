"""The subspace experiment's moment sampler and its asymptotic rows (docs/model.md §12).

``sampler="moments"`` draws each replicate's model as the data sampler does and then only
(XᵀX, Xᵀ1), exactly; the moment-based methods fit from them at any n. The asymptotic rows
are the deterministic-equivalent predictions for the replicate's own model.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from spikedcl.asymptotics import asymptotic_sin_theta
from spikedcl.exceptions import SpikedModelWarning
from spikedcl.experiments.spiked import draw_spiked
from spikedcl.experiments.subspace import subspace_recovery
from spikedcl.random import cell_seed
from spikedcl.sweep import ConfigError, expand_cells, load_config, resolve_config, run_sweep

MOMENT_METHODS = ["pca", "ae", "gan", "cl-expected", "heteropca", "pca-population", "cl-population",
                  "pca-asymptotic", "cl-asymptotic"]


def _config(sampler, n, reps, methods=MOMENT_METHODS, d=20, r=2):
    return resolve_config(load_config("quick"), overrides={
        "params": {"methods": methods, "sampler": sampler, "d": d, "r": r, "metrics": ["sin_theta"]},
        "grid": {"n": n}, "reps": reps})


def _by(table, method, metric="sin_theta"):
    rows = table[(table["method"] == method) & (table["metric"] == metric)]
    return rows.sort_values(["n", "rep"])["value"].to_numpy()


@pytest.fixture(scope="module")
def both():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpikedModelWarning)
        return {s: run_sweep(_config(s, [200], 150)).table for s in ("data", "moments")}


def test_the_models_are_the_data_samplers_and_the_model_only_rows_agree_bit_for_bit(both):
    for method in ("pca-population", "cl-population", "pca-asymptotic", "cl-asymptotic"):
        np.testing.assert_array_equal(_by(both["data"], method), _by(both["moments"], method))


def test_the_fits_from_moments_have_the_data_samplers_law(both):
    # other draws, the same law: two-sample KS on the 150 per-replicate sinΘ of each method (p > 1e-3)
    for method in ("pca", "cl-expected", "heteropca"):
        a, b = _by(both["data"], method), _by(both["moments"], method)
        assert not np.array_equal(a, b)
        assert scipy.stats.ks_2samp(a, b).pvalue > 1e-3, method


def test_the_moment_sampler_reaches_n_1e9_in_small_memory():
    config = _config("moments", [10**9], 2, methods=["pca", "cl-expected", "pca-population", "cl-population"],
                     d=60, r=3)
    P = subspace_recovery.resolve(config["params"] | {"n": 10**9})
    plan = subspace_recovery.memory_plan(P | {"memory_limit": 64 * 2**20})
    assert plan.path == "in-memory" and plan.bytes < 2**20 * 8
    table = run_sweep(config).table
    # at n = 1e9 the fit is its population limit to O(n^-1/2): sinΘ within 1e-3 of it
    for fit, limit in (("pca", "pca-population"), ("cl-expected", "cl-population")):
        np.testing.assert_allclose(_by(table, fit), _by(table, limit), atol=1e-3)


@pytest.mark.parametrize(("params", "message"), [
    ({"methods": ["pca", "cl"]}, r"methods \['cl'\] cannot fit from"),
    ({"methods": ["pca"], "solver": "gd"}, r"methods \['pca'\] cannot fit from"),
])
def test_methods_that_need_the_samples_are_refused(params, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(load_config("quick"), overrides={"params": {"sampler": "moments", **params}})


def test_the_asymptotic_rows_are_the_prediction_for_the_replicates_model():
    config = _config("data", [500], 2, methods=["pca-asymptotic", "cl-asymptotic"], d=40, r=2)
    table = run_sweep(config).table
    assert set(table["metric"]) >= {"sin_theta", "sin_theta_sq", "n_outliers"}
    for method in ("pca-asymptotic", "cl-asymptotic"):
        sq, s, k = (_by(table, method, m) for m in ("sin_theta_sq", "sin_theta", "n_outliers"))
        np.testing.assert_allclose(s, np.sqrt(sq), rtol=1e-15)
        assert np.all((k >= 0) & (k <= 2) & (k == np.round(k)))
    # no sin_theta requested: no asymptotic rows
    quiet = run_sweep(resolve_config(load_config("quick"), overrides={
        "params": {"methods": ["pca", "pca-asymptotic"], "metrics": ["excess_risk"], "d": 40, "r": 2},
        "grid": {"n": [500]}, "reps": 1})).table
    assert "pca-asymptotic" not in set(quiet["method"])


def test_asymptotic_rows_equal_a_direct_prediction_on_the_drawn_model():
    config = _config("data", [800], 1, methods=["pca-asymptotic"], d=30, r=2)
    cell = expand_cells(config)[0]
    P = subspace_recovery.resolve(cell.params)
    draw = draw_spiked(P, cell_seed(cell.seed, cell.data_key, 0))
    expected = asymptotic_sin_theta(draw.model, 800, method="pca").sin_theta_sq
    table = run_sweep(config).table
    assert _by(table, "pca-asymptotic", "sin_theta_sq")[0] == expected


def test_a_grid_table_may_set_a_list_parameter_and_a_fixed_value_replaces_an_axis():
    raw = load_config("quick")
    params = {k: v for k, v in raw["params"].items() if k != "methods"} | {"d": 20, "r": 2}
    raw = {**raw, "params": params,
           "grid": [{"n": [500], "sampler": ["data"], "methods": [["pca", "cl"]]},
                    {"n": [10**6], "sampler": ["moments"], "methods": [["pca", "cl-expected"]]}]}
    config = resolve_config(raw)
    cells = expand_cells(config)
    assert {(c.params["n"], c.params["sampler"], tuple(c.params["methods"])) for c in cells} == {
        (500, "data", ("pca", "cl")), (10**6, "moments", ("pca", "cl-expected"))}
    # a --methods override replaces the per-table methods everywhere (no table keeps its own silently)
    fixed = resolve_config(raw, overrides={"params": {"methods": ["pca"]}})
    assert {tuple(c.params["methods"]) for c in expand_cells(fixed)} == {("pca",)}
    with pytest.raises(ConfigError, match=r"sets \['methods'\] both in \[params\] and as grid axes"):
        resolve_config({**raw, "params": {**raw["params"], "methods": ["pca"]}})
    assert isinstance(run_sweep(resolve_config(raw, overrides={"reps": 1})).table, pd.DataFrame)
