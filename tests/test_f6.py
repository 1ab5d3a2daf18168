"""F6 as a sweep configuration: a small grid through run_sweep, and the figure drawn from the saved rows."""

import numpy as np
import pandas as pd
import pytest

from spikedcl.experiments.gd import gd
from spikedcl.plotting.gd import F6_PANELS, f6_curves, fig6
from spikedcl.sweep import load_config, resolve_config, run_sweep


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    config = resolve_config(load_config("fig6"), quick=True)
    config["grid"] = [{"n": [600]}]
    config["params"].update(d=12, r=2, epochs=3)
    config["reps"] = 2
    out = tmp_path_factory.mktemp("fig6")
    return config, run_sweep(config, out), out


def test_small_grid_through_run_sweep(small_run):
    config, res, out = small_run
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == len(res.table) > 0 and set(df["rep"]) == {0, 1}
    assert set(df["metric"]) == {p[0] for p in F6_PANELS}
    last = df.sort_values("step").groupby(["rep", "method", "metric"])["value"].last()
    for rep in (0, 1):
        # the solver stops at a gradient norm of 1e-10: the distance to P* is of that order
        assert last[(rep, "cl-gd-cross-view", "distance_to_closed_form")] < 1e-8
        assert last[(rep, "cl-gd-simclr", "distance_to_closed_form")] < 1e-8
        # the AE decoder reaches the PCA subspace (F6's criterion: sinΘ < 1e-6)
        assert last[(rep, "ae-gd", "sin_theta_to_pca")] < 1e-6
    # one data draw per replicate: the replicates differ, a rerun of a replicate does not
    assert last[(0, "cl-expected", "sin_theta")] != last[(1, "cl-expected", "sin_theta")]
    seed = np.random.SeedSequence(0, spawn_key=(1, 0))
    params = {"n": 600, "d": 12, "r": 2, "epochs": 3}
    a, b = pd.DataFrame(gd(params, seed)), pd.DataFrame(gd(params, seed))
    np.testing.assert_array_equal(a["value"].to_numpy(), b["value"].to_numpy())


def test_figure_drawn_from_the_saved_rows(small_run):
    config, _, out = small_run
    df = pd.read_parquet(out / "results.parquet")
    curves = f6_curves(df)
    assert list(dict.fromkeys(curves["panel"])) == [p[1] for p in F6_PANELS]
    series = set(curves[curves["panel"] == "minibatch"]["series"])
    assert series == {"closed form (M̄)", "SGD batch 32", "SGD batch 256", "SGD batch full"}
    fig = fig6(df, config)
    assert len(fig.axes) == 4 and [ax.get_yscale() for ax in fig.axes] == ["log", "log", "log", "linear"]
    labels = {t.get_text() for t in fig.legends[0].get_texts()}  # one legend for the four panels
    assert {"CL cross-view (GD)", "CL SimCLR (GD)", "autoencoder (GD)", r"CL (mask-averaged $\bar M$)"} <= labels


@pytest.mark.parametrize(("params", "match"), [({"r": 12}, "r must lie"), ({"lam": 0.0}, "lam"),
                                              ({"epochs": 0}, "epochs")])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        gd.validate({"n": 600, "d": 12, "r": 2, **params})
