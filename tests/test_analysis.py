"""Statistics of sweep results: t intervals, bootstrap slopes and the theory checks."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from spikedcl.analysis import mean_ci, select, slope_ci, theory_checks


def _table(method, xs, fn, reps, rng, noise=0.05, metric="sin_theta", x="n", **coords):
    rows = []
    for v in xs:
        for rep in range(reps):
            value = fn(v) * (1 + noise * rng.standard_normal())
            rows.append({x: v, "method": method, "metric": metric, "value": value, "rep": rep, **coords})
    return pd.DataFrame(rows)


def test_mean_ci_is_the_student_t_interval(rng):
    df = pd.DataFrame({"g": np.repeat([1, 2], [5, 12]), "value": rng.standard_normal(17)})
    out = mean_ci(df, "g", level=0.9)
    for g, row in out.set_index("g").iterrows():
        v = df[df.g == g]["value"]
        low, high = stats.t.interval(0.9, v.size - 1, loc=v.mean(), scale=stats.sem(v))
        np.testing.assert_allclose([row["low"], row["high"]], [low, high], rtol=1e-12)
    single = mean_ci(df.iloc[:1], "g")
    assert single["half"].iloc[0] == 0 and single["count"].iloc[0] == 1
    with pytest.raises(ValueError, match="level must be in"):
        mean_ci(df, "g", level=1.0)


def test_slope_ci_recovers_an_exact_power_law_and_narrows_like_sqrt_reps(rng):
    xs = [500, 2000, 8000, 32000]
    exact = _table("cl", xs, lambda n: 3 * n ** -0.5, 4, rng, noise=0.0)
    s, lo, hi = slope_ci(exact, "n")
    np.testing.assert_allclose([s, lo, hi], -0.5, atol=1e-12)
    widths = []
    for reps in (20, 320):
        df = _table("cl", xs, lambda n: 3 * n ** -0.5, reps, rng, noise=0.1)
        s, lo, hi = slope_ci(df, "n", rng=1)
        means = df.groupby("n")["value"].mean()
        assert s == pytest.approx(np.polyfit(np.log(xs), np.log(means), 1)[0], abs=1e-12)
        assert lo < s < hi
        widths.append(hi - lo)
    # 16 x the replicates: the interval shrinks 4 x (bootstrap and sampling error: ±35 %)
    assert 4 / 1.35 < widths[0] / widths[1] < 4 * 1.35
    with pytest.raises(ValueError, match="two distinct values"):
        slope_ci(exact[exact.n == 500], "n")
    with pytest.raises(ValueError, match="positive means"):
        slope_ci(exact.assign(value=-exact["value"]), "n")


def test_select_filters_and_names_a_missing_column():
    df = pd.DataFrame({"metric": ["a", "a", "b"], "method": ["x", "y", "x"], "d": [1, 2, 1], "value": [1, 2, 3]})
    assert select(df, "a", ["x", "y"], {"d": 2})["value"].tolist() == [2]
    with pytest.raises(ValueError, match="no column 'n'"):
        select(df, where={"n": 1})


def _fig1(rng, cl_exponent):
    xs = [500, 1000, 2000, 5000, 10000, 20000, 50000]
    cl = _table("cl", xs, lambda n: 30 * n ** cl_exponent, 20, rng, r=5)
    pca = _table("pca", xs, lambda n: 0.55 + 400 / n, 20, rng, r=5)
    return pd.concat([cl, pca], ignore_index=True)


def test_theory_checks_pass_on_the_theory_and_fail_off_it(rng):
    good = theory_checks({"fig1": _fig1(rng, -0.5)}).set_index("check")
    assert good.loc["CL sinΘ exponent in n (variance regime)", "passed"]
    assert good["passed"].all()
    bad = theory_checks({"fig1": _fig1(rng, -0.2)}).set_index("check")
    row = bad.loc["CL sinΘ exponent in n (variance regime)"]
    assert not row["passed"] and abs(row["estimate"] + 0.2) < 0.02  # means to ±1.2 %: slope error < 0.01
    # U-shape: an interior minimum passes, a monotone curve fails
    ds = [20, 50, 100, 200, 400, 800]
    u = _table("cl", ds, lambda d: 0.1 * (d / 100) ** 0.5 + 0.1 * (100 / d), 20, rng, x="d", r=5)
    mono = _table("cl", ds, lambda d: 0.1 * (d / 10), 20, rng, x="d", r=5)
    assert theory_checks({"fig2": u})["passed"].all()
    assert not theory_checks({"fig2": mono})["passed"].any()
    # growth with C: PCA growing passes, flat PCA fails
    cs = [1.0, 2.0, 4.0, 8.0, 16.0]
    grow = pd.concat([_table("pca", cs, lambda c: 0.3 * c ** 0.25, 10, rng, x="C", noise_="u"),
                      _table("cl", cs, lambda c: 0.3, 10, rng, x="C", noise_="u")]).rename(columns={"noise_": "noise"})
    assert theory_checks({"fig4": grow})["passed"].all()
    flat = grow.assign(value=np.where(grow.method == "pca", 0.3, grow.value))
    assert not theory_checks({"fig4": flat}).set_index("method").loc["pca", "passed"]
    assert theory_checks({}).empty


def test_saved_figures_are_byte_identical_on_a_rerun(tmp_path, monkeypatch):
    """No creation date in the files: the same figure saved at two dates gives the same bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spikedcl.plotting import save_figure

    digests = []
    for out, date in (("a", "0"), ("b", "1000000000")):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", date)  # the date matplotlib would stamp
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [3, 1, 2])
        paths = save_figure(fig, tmp_path / out, "f")
        plt.close(fig)
        digests.append([p.read_bytes() for p in paths])
    assert digests[0] == digests[1]
