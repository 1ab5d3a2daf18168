"""Statistics of sweep results: means with confidence intervals, fitted rates, theory checks.

Everything here works on the long tables written by :mod:`spikedcl.sweep`
(one row per cell, replicate, method and metric) and uses only host NumPy,
SciPy and pandas. Confidence intervals are Student-t over replicates for
means, and replicate bootstraps (resampling replicates within each grid point)
for fitted slopes; bootstraps use a fixed generator so the checks are
reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._typing import RNGLike
from .theory import random_subspace_value

__all__ = ["mean_ci", "select", "slope_ci", "theory_checks", "CHECK_COLUMNS"]

CHECK_COLUMNS = (
    "check",
    "config",
    "method",
    "estimate",
    "ci_low",
    "ci_high",
    "theory",
    "criterion",
    "passed",
)


def select(
    df: pd.DataFrame,
    metric: str | None = None,
    method: str | Sequence[str] | None = None,
    where: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Rows of ``df`` with the given metric, method(s) and coordinate values.

    Parameters
    ----------
    df : pandas.DataFrame
        Long results table.
    metric : str, optional
        Keep this metric only.
    method : str or sequence of str, optional
        Keep these methods only.
    where : dict, optional
        ``{column: value}`` equalities to keep.

    Returns
    -------
    pandas.DataFrame
        The matching rows.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from spikedcl import analysis
    >>> rng = np.random.default_rng(0)
    >>> n = np.repeat([250, 500, 1000, 2000], 5)  # 5 replicates per sample size
    >>> df = pd.DataFrame({"n": n, "method": "cl", "metric": "sin_theta",
    ...                    "value": 3 / np.sqrt(n) * rng.uniform(0.9, 1.1, n.size)})
    >>> df = pd.concat([df, df.assign(method="pca", value=0.7)], ignore_index=True)
    >>> len(analysis.select(df, metric="sin_theta", method="cl"))
    20
    >>> analysis.select(df, method="pca", where={"n": 500})["value"].tolist()
    [0.7, 0.7, 0.7, 0.7, 0.7]
    """
    mask = np.ones(len(df), dtype=bool)
    if metric is not None:
        mask &= (df["metric"] == metric).to_numpy()
    if method is not None:
        methods = [method] if isinstance(method, str) else list(method)
        mask &= df["method"].isin(methods).to_numpy()
    for key, value in (where or {}).items():
        if key not in df.columns:
            raise ValueError(f"where: no column {key!r} in the results; have {list(df.columns)}")
        mask &= (df[key] == value).to_numpy()
    return df[mask]


def mean_ci(df: pd.DataFrame, by: str | list[str], *, level: float = 0.95) -> pd.DataFrame:
    """Mean, Student-t confidence interval and count of ``value`` per group.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows with a ``value`` column (one per replicate).
    by : str or list of str
        Grouping columns.
    level : float, default=0.95
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Columns ``by`` + ``mean, half, low, high, count``; ``half`` is 0 for a
        single replicate.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from spikedcl import analysis
    >>> rng = np.random.default_rng(0)
    >>> n = np.repeat([250, 500, 1000, 2000], 5)  # 5 replicates per sample size
    >>> df = pd.DataFrame({"n": n, "method": "cl", "metric": "sin_theta",
    ...                    "value": 3 / np.sqrt(n) * rng.uniform(0.9, 1.1, n.size)})
    >>> ci = analysis.mean_ci(df, "n")
    >>> ci[["n", "mean", "count"]].round(3)
          n   mean  count
    0   250  0.184      5
    1   500  0.141      5
    2  1000  0.095      5
    3  2000  0.067      5
    >>> bool((ci["low"] < ci["mean"]).all() and (ci["mean"] < ci["high"]).all())
    True
    """
    from scipy import stats

    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    by = [by] if isinstance(by, str) else list(by)
    g = df.groupby(by, sort=True, dropna=False)["value"]
    out = pd.DataFrame({"mean": g.mean(), "sem": g.sem(), "count": g.count()}).reset_index()
    dof = (out["count"] - 1).clip(lower=1)
    out["half"] = out["sem"].fillna(0.0) * stats.t.ppf(0.5 + level / 2, dof)
    out["low"] = out["mean"] - out["half"]
    out["high"] = out["mean"] + out["half"]
    return out[by + ["mean", "half", "low", "high", "count"]]


def slope_ci(
    df: pd.DataFrame,
    x: str,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    log_x: bool = True,
    rng: RNGLike = 0,
) -> tuple[float, float, float]:
    """Slope of the log mean against ``x`` (or log ``x``), with a bootstrap interval.

    The estimate is the least-squares slope of :math:`\\log \\bar y(x)` on
    :math:`\\log x` (``log_x=True``) or on :math:`x`; the interval resamples
    the replicates of every grid point independently.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of one method and metric, with columns ``x`` and ``value``,
        several replicates per ``x`` and a positive mean at every ``x``
        (resamples with a non-positive mean are left out of the interval).
    x : str
        The abscissa column.
    level : float, default=0.95
        Confidence level of the percentile interval.
    n_boot : int, default=2000
        Bootstrap resamples.
    log_x : bool, default=True
        Regress on :math:`\\log x` (an exponent) rather than on :math:`x`.
    rng : int or numpy.random.Generator, default=0
        Generator of the resamples.

    Returns
    -------
    slope, low, high : float
        Estimate and interval.

    Examples
    --------
    A :math:`n^{-1/2}` rate measured with 10 % noise: the slope and its interval.

    >>> import numpy as np
    >>> import pandas as pd
    >>> from spikedcl import analysis
    >>> rng = np.random.default_rng(0)
    >>> n = np.repeat([250, 500, 1000, 2000], 5)  # 5 replicates per sample size
    >>> df = pd.DataFrame({"n": n, "method": "cl", "metric": "sin_theta",
    ...                    "value": 3 / np.sqrt(n) * rng.uniform(0.9, 1.1, n.size)})
    >>> slope, low, high = analysis.slope_ci(df, "n", rng=1)
    >>> round(slope, 2), bool(low < -0.5 < high)
    (-0.5, True)
    """
    rng = np.random.default_rng(rng)
    groups = [g["value"].to_numpy(float) for _, g in df.groupby(x, sort=True)]
    xs = np.sort(df[x].unique()).astype(float)
    if len(xs) < 2:
        raise ValueError(f"slope_ci needs at least two distinct values of {x!r}")
    means = np.array([v.mean() for v in groups])
    if np.any(means <= 0):
        raise ValueError("slope_ci needs positive means at every x (it fits the log mean)")
    lx = np.log(xs) if log_x else xs
    slope = np.polyfit(lx, np.log(means), 1)[0]
    boot = np.empty((n_boot, len(groups)))
    for j, v in enumerate(groups):
        boot[:, j] = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    boot = boot[(boot > 0).all(axis=1)]  # resamples whose log mean exists
    lxc = lx - lx.mean()
    slopes = (np.log(boot) - np.log(boot).mean(axis=1, keepdims=True)) @ lxc / (lxc @ lxc)
    low, high = np.quantile(slopes, [(1 - level) / 2, (1 + level) / 2])
    return float(slope), float(low), float(high)


def _row(check, config, method, est, low, high, theory, criterion, passed):
    return dict(zip(CHECK_COLUMNS, (check, config, method, est, low, high, theory, criterion, bool(passed))))


def _data_sampled(df):
    """The rows fitted to samples: those of ``sampler="moments"`` cells (exact statistics, n to 1e9) left out."""
    if "sampler" not in df:
        return df
    return df[df["sampler"].isna() | (df["sampler"] == "data")]


#: Largest relative gap |mean sin²Θ measured − predicted| / predicted allowed by the asymptotic check.
ASYMPTOTIC_TOLERANCE = 0.05


def _check_asymptotic(df, config):
    """Measured mean ‖sinΘ‖²_F against the deterministic equivalent, where every spike separates (§12).

    Paired by replicate (each replicate's model has its own prediction): the relative gap of a grid point is
    mean(sin²Θ − prediction) / mean(prediction), with a normal 95 % interval from the paired differences.
    """
    from scipy import stats

    rows = []
    coords = [c for c in ("n", "d", "C", "noise") if c in df and df[c].nunique(dropna=False) > 1] or ["r"]
    pair = [*coords, "cell_id", "rep"] if "cell_id" in df else [*coords, "rep"]
    z = stats.norm.ppf(0.975)
    for method, predicted in (("pca", "pca-asymptotic"), ("cl-expected", "cl-asymptotic")):
        fit, pred = select(df, "sin_theta", method), select(df, "sin_theta_sq", predicted)
        outliers = select(df, "n_outliers", predicted)
        if fit.empty or pred.empty:
            continue
        both = fit.assign(measured=fit["value"] ** 2)[pair + ["measured"]].merge(
            pred.rename(columns={"value": "predicted"})[pair + ["predicted", "r"]], on=pair)
        both = both.merge(outliers.rename(columns={"value": "outliers"})[pair + ["outliers"]], on=pair)
        both["diff"] = both["measured"] - both["predicted"]
        g = both.groupby(coords)
        summary = pd.DataFrame({"gap": g["diff"].mean() / g["predicted"].mean(),
                                "se": g["diff"].std(ddof=1) / np.sqrt(g["diff"].count()) / g["predicted"].mean(),
                                "separated": g["outliers"].min() >= g["r"].first()})
        summary = summary[summary["separated"]]
        if summary.empty:
            continue
        summary["se"] = summary["se"].fillna(0.0)
        low, high = summary["gap"] - z * summary["se"], summary["gap"] + z * summary["se"]
        consistent = (low <= ASYMPTOTIC_TOLERANCE) & (high >= -ASYMPTOTIC_TOLERANCE)
        worst = summary["gap"].abs().idxmax()
        key = worst if isinstance(worst, tuple) else (worst,)
        where = ", ".join(f"{k}={v}" for k, v in zip(coords, key))
        rows.append(_row(f"mean sin²Θ vs its asymptotic prediction: largest relative gap ({where})", config, method,
                         float(summary["gap"][worst]), float(low[worst]), float(high[worst]), 0.0,
                         f"95% CI of the gap meets ±{ASYMPTOTIC_TOLERANCE:g} at all {len(summary)} points "
                         "where the r spikes separate", bool(consistent.all())))
    return rows


def _check_rate(df, config, method, metric, x, target, tol, where=None, label=None):
    sub = select(df, metric, method, where)
    if sub[x].nunique() < 2:
        return []
    s, lo, hi = slope_ci(sub, x)
    crit = f"|slope - ({target:g})| <= {tol:g}"
    name = label or f"{metric} exponent in {x}"
    return [_row(name, config, method, s, lo, hi, target, crit, abs(s - target) <= tol)]


def theory_checks(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Compare fitted rates and shapes of the paper's figures with the theory.

    Parameters
    ----------
    results : dict of str to pandas.DataFrame
        Long tables by configuration name; the keys used are ``"fig1"`` (CL
        exponent in n, PCA plateau), ``"fig2"`` (CL U-shape in d), ``"fig3"``
        (downstream rate, oracle below U*) and ``"fig4"`` (PCA error growing
        with C, CL flat). Missing tables are skipped.

    Returns
    -------
    pandas.DataFrame
        One row per check with columns :data:`CHECK_COLUMNS`; ``estimate`` and
        its 95 % interval, the theory's value and the pass criterion.

    Notes
    -----
    The criteria, stated in the ``criterion`` column:

    * CL :math:`\\|\\sin\\Theta\\|_F \\propto n^{-1/2}` in the variance regime
      (docs/model.md §7): fitted exponent within 0.1 of −1/2 (the bias term
      :math:`r^{3/2}\\log d/d` flattens the finite grid slightly).
    * PCA plateau: exponent over the three largest ``n`` above −0.15, and the
      level :math:`c = \\text{error}/\\sqrt r` at the largest ``n`` with its
      interval above 0.1 — bounded away from zero, as :math:`c\\sqrt r` says.
    * CL U-shape in ``d``: the minimum of the mean is interior, and both ends
      exceed it by more than their interval half-widths.
    * PCA error grows with the condition number: the slope of the error in
      :math:`\\log_2 C` has an interval above 0, for each noise profile; CL's
      slope stays below PCA's.
    * Downstream: CL :math:`\\Delta R_{U^\\star}` exponent within 0.2 of −1,
      PCA's above −0.3 (flat), and the oracle's excess below 0 everywhere.
    * Measured against asymptotic (fig1, fig2, fig4; docs/model.md §12): the mean
      :math:`\\|\\sin\\Theta\\|_F^2` of PCA and CL on :math:`\\bar M` against the
      mean deterministic equivalent of the replicates' models, at the grid points
      where every replicate's prediction has all :math:`r` spikes separated from the
      bulk: at every such point the 95 % interval of the relative gap (paired by
      replicate) meets :math:`\\pm` :data:`ASYMPTOTIC_TOLERANCE` (5 %); the point
      with the largest gap is reported.

    Rows of ``sampler="moments"`` cells are left out of every check: they feed the
    figures' extended panels, not the finite-sample rates.
    """
    rows = []
    results = {name: _data_sampled(df) for name, df in results.items()}
    for name in ("fig1", "fig2", "fig4"):
        if results.get(name) is not None:
            rows += _check_asymptotic(results[name], name)
    fig1 = results.get("fig1")
    if fig1 is not None:
        for method in ("cl", "cl-expected"):
            rows += _check_rate(fig1, "fig1", method, "sin_theta", "n", -0.5, 0.1,
                                label="CL sinΘ exponent in n (variance regime)")
        pca = select(fig1, "sin_theta", "pca")
        if pca["n"].nunique() >= 3:
            top = sorted(pca["n"].unique())[-3:]
            s, lo, hi = slope_ci(pca[pca["n"].isin(top)], "n")
            rows.append(_row("PCA sinΘ plateau: exponent over the 3 largest n", "fig1", "pca", s, lo, hi,
                             0.0, "slope >= -0.15", s >= -0.15))
            last = mean_ci(pca[pca["n"] == top[-1]], "n").iloc[0]
            r = float(pca["r"].iloc[0])
            est, lo, hi = (float(v) / np.sqrt(r) for v in (last["mean"], last["low"], last["high"]))
            rows.append(_row("PCA sinΘ plateau level c = error / sqrt(r)", "fig1", "pca", est, lo, hi,
                             float("nan"), "ci_low > 0.1", lo > 0.1))
    fig2 = results.get("fig2")
    if fig2 is not None:
        for method in ("cl", "cl-expected"):
            stats = mean_ci(select(fig2, "sin_theta", method), "d")
            if len(stats) < 3:
                continue
            k = int(stats["mean"].to_numpy().argmin())
            m = stats.iloc[k]
            ends = stats.iloc[[0, -1]]
            ok = 0 < k < len(stats) - 1 and bool(((ends["low"] - m["high"]) > 0).all())
            rows.append(_row("CL sinΘ U-shaped in d: d at the minimum", "fig2", method, float(m["d"]),
                             float("nan"), float("nan"), float("nan"),
                             "interior minimum; both ends above it beyond the CIs", ok))
        pca = mean_ci(select(fig2, "sin_theta", "pca"), "d")
        if len(pca) >= 2:
            anchor = random_subspace_value(pca["d"].to_numpy(), int(fig2["r"].iloc[0]))
            rows.append(_row("PCA sinΘ below the random-subspace value", "fig2", "pca",
                             float(pca["high"].max()), float("nan"), float("nan"), float(np.min(anchor)),
                             "every mean's CI below sqrt(r(d-r)/d)",
                             bool((pca["high"].to_numpy() < np.asarray(anchor)).all())))
    fig3 = results.get("fig3")
    if fig3 is not None and "n" in fig3:
        d0 = fig3.groupby("d")["n"].nunique().idxmax()  # the n-sweep's dimension
        where = {"d": int(d0)}
        rows += _check_rate(fig3, "fig3", "cl", "excess_risk", "n", -1.0, 0.2, where,
                            label="CL ΔR_U* exponent in n")
        sub = select(fig3, "excess_risk", "pca", where)
        if sub["n"].nunique() >= 2:
            s, lo, hi = slope_ci(sub, "n")
            rows.append(_row("PCA ΔR_U* flat in n", "fig3", "pca", s, lo, hi, 0.0, "slope > -0.3", s > -0.3))
        oracle = select(fig3, "excess_risk", "oracle")
        if len(oracle):
            worst = float(oracle["value"].max())
            rows.append(_row("linear oracle beats U*: max ΔR_U*(oracle)", "fig3", "oracle", worst,
                             float("nan"), float("nan"), 0.0, "max < 0", worst < 0))
    fig4 = results.get("fig4")
    if fig4 is not None:
        for noise in sorted(fig4["noise"].unique()):
            slopes = {}
            for method in ("pca", "cl"):
                sub = select(fig4, "sin_theta", method, {"noise": noise})
                if sub["C"].nunique() < 2:
                    continue
                sub = sub.assign(log2C=np.log2(sub["C"].astype(float)))
                slopes[method] = slope_ci(sub, "log2C", log_x=False)
            if "pca" in slopes:
                s, lo, hi = slopes["pca"]
                rows.append(_row(f"PCA log sinΘ per doubling of C ({noise})", "fig4", "pca", s, lo, hi,
                                 float("nan"), "ci_low > 0", lo > 0))
            if "cl" in slopes and "pca" in slopes:
                s, lo, hi = slopes["cl"]
                rows.append(_row(f"CL log sinΘ per doubling of C ({noise})", "fig4", "cl", s, lo, hi,
                                 float("nan"), "ci_high < PCA's ci_low", hi < slopes["pca"][1]))
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))
