"""The experiment contract: registries extended from outside, one data draw per replicate, devices refused.

The toy experiment, metric and loss below are registered from this test module
(outside the package) and run through :func:`spikedcl.sweep.run_sweep`, as a
researcher's own would be.
"""

import importlib.util
import math
import pickle
from dataclasses import dataclass

import numpy as np
import pytest

from spikedcl.data import SpikedModel
from spikedcl.experiments import EXPERIMENTS, Experiment
from spikedcl.experiments.base import Param, register_experiment, seed_children
from spikedcl.metrics import METRICS, register_metric
from spikedcl.random import cell_seed
from spikedcl.sweep import (
    ConfigError,
    describe_experiment,
    load_config,
    replicate,
    resolve_config,
    run_sweep,
    summary_table,
)
from spikedcl.systems.base import LOSSES, ContrastiveLoss, register_loss

TINY_SPIKED = dict(n=300, d=20, r=3, C=4.0, noise="uniform", steps=5, batch_size=64, byol_steps=50, gd_max_iter=50)

#: One small valid cell per registered built-in experiment (and task).
CELLS = {
    "subspace": ("subspace", dict(n=200, d=20, r=2, C=4.0, noise="uniform", methods=["pca", "cl", "cl-population"])),
    "supervised_transfer": ("supervised_transfer", dict(alpha=0.5, m=50, n=300, d=20, r=3)),
    "supervised_transfer_classification": ("supervised_transfer_classification",
                                           dict(alpha=0.5, m=50, n=300, d=20, r=3, n_train=60, n_test=60)),
    "losses": ("losses", {**TINY_SPIKED, "methods": ["cl", "pca", "nt-xent", "byol"]}),
    "nt_xent": ("nt_xent", {**TINY_SPIKED, "methods": ["nt-xent"]}),
    "align_uniform": ("align_uniform", {**TINY_SPIKED, "ratio": 2.0}),
    "spectral": ("spectral", {**TINY_SPIKED, "methods": ["spectral", "spectral-gd", "cl"]}),
    "collapse-masking": ("collapse", {**TINY_SPIKED, "task": "masking", "mask_prob": 0.5, "k": 4}),
    "collapse-toy": ("collapse", dict(task="toy", case=1, aug_noise=0.5, n_iter=10, n_samples=100)),
    "batch_size-training": ("batch_size", {**TINY_SPIKED, "task": "training", "training_d": 20,
                                           "methods": ["nt-xent"]}),
    "batch_size-bias": ("batch_size", dict(task="bias", K=8, r=3, bias_d=20, bias_batches=2, bias_pairs=100)),
    "batch_size-mi": ("batch_size", dict(K=8, rho=0.5)),
    "siglip": ("siglip", dict(n=64, d=8, r=2, batch_size=16, budget=32, n_test=16)),
    "byol": ("byol", dict(eta=0.05, n_steps=20)),
    "nt_xent_style": ("nt_xent_style", dict(steps=2, n=100, n_probe=40, batch_size=32)),
    "gd": ("gd", dict(n=300, d=10, r=2, epochs=2)),
}
#: Cells that draw a spiked model, and whether the experiment draws its samples once too.
SPIKED = {"subspace": 1, "supervised_transfer": None, "supervised_transfer_classification": None, "losses": 1,
          "nt_xent": 1, "align_uniform": 1, "spectral": 1, "collapse-masking": 1, "batch_size-training": 1,
          "batch_size-bias": None, "gd": 1}


def test_every_builtin_experiment_is_registered_and_covered_here():
    builtin = {name for name, exp in EXPERIMENTS.items() if exp.target.startswith("spikedcl.")}
    assert builtin == {name for name, _ in CELLS.values()}
    for name in builtin:
        assert isinstance(EXPERIMENTS[name], Experiment) and name in EXPERIMENTS[name].describe()


# --------------------------------------------------------------------------- a toy experiment from outside


@register_experiment("toy_coin", params=(Param("p", float, 0.5, low=0, high=1, doc="heads probability"),
                                         Param("flips", int, 10, low=1)))
def toy_coin(P, data):
    """Share of heads in ``flips`` Bernoulli(p) draws from the replicate's seed."""
    rng = np.random.default_rng(data)
    heads = rng.random(int(P["flips"])) < P["p"]
    return [{"method": "coin", "metric": "heads", "value": float(heads.mean())}]


def _toy_config(**kw):
    raw = {"name": "toy", "experiment": "toy_coin", "reps": 4, "seed": 1, "grid": {"p": [0.0, 1.0]},
           "params": {"flips": 5}}
    raw.update(kw)
    return resolve_config(raw)


def test_a_toy_experiment_registered_outside_runs_through_the_sweep():
    config = _toy_config()
    assert config["experiment"] == f"{__name__}:toy_coin"  # what worker processes import
    table = run_sweep(config).table
    by_p = table.groupby("p")["value"].agg(["min", "max"])
    # p = 0 gives no heads, p = 1 only heads, exactly
    assert by_p.loc[0.0].tolist() == [0.0, 0.0] and by_p.loc[1.0].tolist() == [1.0, 1.0]
    assert len(table) == 2 * 4
    # its declared range is checked at every grid point before anything runs
    with pytest.raises(ConfigError, match=r"p must lie in the closed interval \[0, 1\]"):
        _toy_config(grid={"p": [0.5, 1.5]})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'flip' \(did you mean 'flips'\?\).*allowed: \['device', 'dtype', 'flips'"):
        _toy_config(params={"flip": 3})


def test_experiments_are_pure_functions_of_the_seed():
    """Addressed seeds: the same SeedSequence object twice gives the same rows (spawning would not)."""
    for key in ("losses", "siglip", "nt_xent_style", "supervised_transfer"):
        name, params = CELLS[key]
        seed = cell_seed(0, 5, 0)
        first = [r["value"] for r in EXPERIMENTS[name](dict(params), seed)]
        again = [r["value"] for r in EXPERIMENTS[name](dict(params), seed)]
        assert first == again, key


def test_seed_children_equal_spawn_on_a_fresh_sequence():
    seed = cell_seed(3, 4, 5)
    addressed = seed_children(seed, 3)
    spawned = cell_seed(3, 4, 5).spawn(3)
    for a, b in zip(addressed, spawned):
        assert (a.generate_state(4) == b.generate_state(4)).all()


# --------------------------------------------------------------------------- a toy metric from outside


@register_metric("toy_top_cosine", needs=("basis", "model"))
def _toy_top_cosine(rep):
    """Largest |cosine| between the first true direction and the learned subspace."""
    u = rep.model.U[:, 0]
    Q = np.linalg.qr(rep.basis)[0]
    return float(np.linalg.norm(Q.T @ u))


def test_a_toy_metric_registered_outside_is_available_to_every_representation_experiment():
    assert "toy_top_cosine" in METRICS
    sub = resolve_config({"name": "m1", "experiment": "subspace", "reps": 2, "grid": {"n": [400]},
                          "params": {"d": 20, "r": 2, "C": 2.0, "noise": "uniform", "methods": ["pca", "cl"],
                                     "metrics": ["sin_theta", "toy_top_cosine"]}})
    sysc = resolve_config({"name": "m2", "experiment": "losses", "reps": 2, "grid": {"n": [400]},
                           "params": {"d": 20, "r": 2, "methods": ["cl", "pca"],
                                      "metrics": ["sin_theta", "rankme", "toy_top_cosine"]}})
    for config in (sub, sysc):
        table = run_sweep(config).table
        cos = table[table.metric == "toy_top_cosine"]
        assert len(cos) == 2 * 2  # two methods, two replicates
        # a cosine between a unit vector and a subspace lies in [0, 1] (to rounding)
        assert ((cos.value >= 0) & (cos.value <= 1 + 1e-12)).all()
        # consistency with sin_theta: for r = 2, |cos(u_1, span)|^2 >= 1 - sin_theta_F^2
        st = table[table.metric == "sin_theta"].set_index(["method", "rep"])["value"]
        c = cos.set_index(["method", "rep"])["value"]
        assert (c**2 >= 1 - st**2 - 1e-9).all()
    with pytest.raises(ConfigError, match="metrics must hold names among"):
        resolve_config({"name": "m3", "experiment": "losses", "grid": {"n": [400]},
                        "params": {"d": 20, "r": 2, "metrics": ["no_such_metric"]}})


# --------------------------------------------------------------------------- a toy loss from outside


@register_loss
@dataclass(frozen=True)
class ToyCosineLoss(ContrastiveLoss):
    """Negative mean cosine of the paired embeddings plus ``spread`` times the mean squared norm."""

    name = "toy-cosine"
    spread: float = 0.1

    def __post_init__(self):
        if not self.spread > 0:
            raise ValueError(f"spread must lie in (0, inf), got {self.spread}")

    def value_and_grad(self, Z1, Z2):
        m = Z1.shape[0]
        loss = -np.sum(Z1 * Z2) / m + self.spread * (np.sum(Z1**2) + np.sum(Z2**2)) / m
        return loss, -Z2 / m + 2 * self.spread * Z1 / m, -Z1 / m + 2 * self.spread * Z2 / m


def test_a_toy_loss_registered_outside_is_a_method_of_the_losses_experiment():
    assert LOSSES["toy-cosine"] is ToyCosineLoss
    config = resolve_config({"name": "l", "experiment": "losses", "reps": 1, "grid": {"spread": [0.05, 0.5]},
                             "params": {"n": 400, "d": 20, "r": 2, "steps": 30, "methods": ["toy-cosine", "pca"]}})
    table = run_sweep(config).table
    toy = table[table.method == "toy-cosine"]
    assert set(toy.metric) >= {"sin_theta", "excess_risk", "rankme"} and (toy.solver == "adam").all()
    assert ((toy.value.to_numpy() == toy.value.to_numpy()) & np.isfinite(toy.value.to_numpy())).all()
    # the hyperparameter is a declared parameter, checked by the loss at every grid point
    with pytest.raises(ConfigError, match="spread must lie in"):
        resolve_config({"name": "l", "experiment": "losses", "grid": {"spread": [-1.0]},
                        "params": {"n": 400, "d": 20, "r": 2}})
    # the same samples for PCA whether or not the toy loss runs (common random numbers; the
    # methods share one mask generator in configuration order, so only PCA is compared)
    alone = run_sweep(resolve_config({"name": "l", "experiment": "losses", "reps": 1, "grid": {"spread": [0.05]},
                                      "params": {"n": 400, "d": 20, "r": 2, "steps": 30, "methods": ["pca"]}})).table
    both = table[(table.method == "pca") & (table.spread == 0.05) & (table.metric == "sin_theta")].value.to_numpy()
    np.testing.assert_array_equal(both, alone[alone.metric == "sin_theta"].value.to_numpy())


# --------------------------------------------------------------------------- one data draw per replicate


@pytest.mark.parametrize("key", sorted(CELLS))
def test_one_data_draw_per_replicate(key, monkeypatch):
    name, params = CELLS[key]
    exp = EXPERIMENTS[name]
    calls = {"random": 0, "sample": 0, "draw": 0}
    random, sample, draw = SpikedModel.random.__func__, SpikedModel.sample, Experiment.draw

    def counted(kind, fn, wrap=None):
        def inner(*a, **k):
            calls[kind] += 1
            return fn(*a, **k)

        return classmethod(inner) if wrap else inner

    monkeypatch.setattr(SpikedModel, "random", counted("random", random, wrap=True))
    monkeypatch.setattr(SpikedModel, "sample", counted("sample", sample))
    monkeypatch.setattr(Experiment, "draw", counted("draw", draw))
    rows = exp(dict(params), cell_seed(0, 1, 2))
    assert rows and calls["draw"] == 1
    if key in SPIKED:
        assert calls["random"] == 1, calls
        if SPIKED[key] is not None:
            assert calls["sample"] == SPIKED[key], calls
    else:
        assert calls["random"] == 0


def test_spectral_gd_fits_the_same_draw_as_the_spectral_closed_form():
    """spectral-gd minimises the plug-in objective of the mask draw of 'spectral', on the replicate's one sample."""
    params = dict(n=2000, d=20, r=3, C=4.0, noise="uniform", methods=["spectral", "spectral-gd", "cl"],
                  gd_max_iter=20000)
    for rep in range(2):
        rows = EXPERIMENTS["spectral"](dict(params), cell_seed(0, 9, rep))
        v = {(r["method"], r["metric"]): r["value"] for r in rows}
        # GD stops at a relative loss change of 1e-13: the loss gap is of that order and the
        # subspaces (hence every subspace metric) agree to about its square root
        assert abs(v["spectral-gd", "loss_gap"]) < 1e-9
        assert v["spectral-gd", "sin_theta_to_closed_form"] < 1e-4
        for metric in ("sin_theta", "excess_risk", "excess_risk_linear"):
            assert v["spectral-gd", metric] == pytest.approx(v["spectral", metric], rel=1e-4, abs=1e-8)


# --------------------------------------------------------------------------- devices and dtypes


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
@pytest.mark.parametrize("key", sorted(CELLS))
def test_cuda_without_cupy_is_refused_by_every_experiment(key):
    name, params = CELLS[key]
    exp = EXPERIMENTS[name]
    with pytest.raises(ValueError, match=r"device|CuPy|cupy") as exc:
        exp({**params, "device": "cuda"}, cell_seed(0, 0, 0))
    assert "cuda" in str(exc.value)
    with pytest.raises(ConfigError, match="cuda"):
        resolve_config({"name": "x", "experiment": name, "grid": {}, "params": {**params, "device": "cuda"}})


def test_cpu_only_experiments_refuse_cuda_whatever_is_installed():
    for key in ("losses", "siglip", "byol", "supervised_transfer"):
        name, params = CELLS[key]
        with pytest.raises(ValueError, match="runs on the CPU only"):
            EXPERIMENTS[name].validate({**params, "device": "cuda"})


def test_dtypes_are_honoured_or_refused():
    name, params = CELLS["losses"]
    with pytest.raises(ValueError, match="supports dtype 'float64'"):
        EXPERIMENTS[name].validate({**params, "dtype": "float32"})
    rows = EXPERIMENTS["subspace"]({**CELLS["subspace"][1], "dtype": "float32"}, cell_seed(0, 0, 0))
    rows64 = EXPERIMENTS["subspace"](dict(CELLS["subspace"][1]), cell_seed(0, 0, 0))
    a = {(r["method"], r["metric"]): r["value"] for r in rows}
    b = {(r["method"], r["metric"]): r["value"] for r in rows64}
    # float32 fits move the values by rounding only (relative 1e-3 is far above float32's 1e-7 eps)
    for k in b:
        assert a[k] == pytest.approx(b[k], rel=1e-3, abs=1e-4)
    assert any(a[k] != b[k] for k in b if k[0] == "pca")  # ... but they did run in float32


# --------------------------------------------------------------------------- bad input at the sweep boundary


def test_run_sweep_refuses_an_unresolved_config():
    raw = load_config("quick")
    with pytest.raises(ConfigError, match=r"run_sweep takes a resolved configuration.*resolve_config"):
        run_sweep(raw)
    with pytest.raises(TypeError, match="run_sweep takes a resolved configuration"):
        run_sweep("quick")


def test_summary_table_names_unknown_by_columns():
    table = run_sweep(_toy_config()).table
    with pytest.raises(ValueError, match=r"by names \['nn'\].*allowed: \['flips', 'p'\]"):
        summary_table(table, "heads", by=["nn"])
    with pytest.raises(TypeError, match="by must be a list"):
        summary_table(table, "heads", by="p")
    assert list(summary_table(table, "heads", by=["p"]).index) == [0.0, 1.0]


def test_replicate_refuses_a_negative_rep():
    config = _toy_config()
    with pytest.raises(ValueError, match=r"rep must be an integer in \[0, inf\], got -1"):
        replicate(config, {"p": 0.5}, -1)
    with pytest.raises(TypeError, match="rep must be an integer"):
        replicate(config, {"p": 0.5}, 1.5)
    rows = replicate(config, {"p": 1.0}, 0)
    assert rows[["p", "method", "metric", "value", "rep"]].to_dict("records") == [
        {"p": 1.0, "method": "coin", "metric": "heads", "value": 1.0, "rep": 0}]
    assert not math.isnan(rows["value"].iloc[0])


def test_declared_parameters_drive_defaults_and_docs():
    losses = EXPERIMENTS["losses"]
    P = losses.resolve({"n": 100, "d": 10, "r": 2})
    # every declared parameter is filled, the loss hyperparameters from the loss classes' defaults
    assert set(P) == set(losses.params)
    assert (P["mask_prob"], P["temperature"], P["bias_init"], P["methods"]) == (0.5, 0.5, -10.0, ["cl", "pca"])
    text = describe_experiment("losses")
    for name in losses.params:
        assert f"\n  {name} : " in text
    assert "mask_prob : float, (0, 1), default 0.5" in text
    assert describe_experiment("sweep_toys:gaussian").startswith("sweep_toys:gaussian: One N(mu, 1) draw")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) 'mask_porb' \(did you mean 'mask_prob'\?\) of the losses experiment"):
        losses.validate({"n": 100, "d": 10, "r": 2, "mask_porb": 0.3})


def test_experiments_pickle_by_reference():
    for exp in EXPERIMENTS.values():
        assert pickle.loads(pickle.dumps(exp)) is exp
