"""Planning a pilot before it starts: power, minimum detectable effect, a seeded assignment.

A pilot that cannot be judged afterwards is a wasted pilot. This module answers, before
the start, the two questions of a design (issue 14):

* **How large must the effect be to be seen?** :func:`plan_pilot` gives the power of the
  pilot evaluation for an effect in percentage points, or the minimum detectable effect (MDE)
  at a requested power, for a proposed design: schools, pilot schools, pupils per school,
  waves before and after the start.
* **Which schools?** :func:`assign_pilot` draws the pilot schools at random (seeded,
  stratified, e.g. by district) and records how, so that the draw can be reproduced and shown;
  :func:`write_assignment` writes it.

The variation the power depends on is estimated from the municipality's own data by
:func:`variation_from_data`.

**The model** (on the logit scale, per school ``s`` and wave ``t``; ``b`` is the last wave
before the start)::

    logit p[s, t] = logit(baseline) + a[s] + d[s] * (t - b) + u[s, t] + delta * pilot[s] * (t > b)

with ``a ~ N(0, school_sd^2)`` (the schools' levels at the base wave), ``d ~ N(0, drift_sd^2)``
(each school's own drift per wave step, the variation that makes few pilot schools hard to
judge), ``u ~ N(0, wave_sd^2)`` (a school's wave-to-wave ups and downs beyond sampling), and
``y[s, t] ~ Binomial(n[s], p[s, t])`` pupils. The effect in percentage points is the change at
the baseline share: ``delta = logit(baseline + effect) - logit(baseline)``.

**Power** is the share of simulated cities in which the evaluation gives the verdict "sure"
(:func:`ssp_research.analysis.pilots.pilot_effect_cells`, the test of the brief: the
randomisation test over schools, exact up to :data:`~ssp_research.analysis.pilots.MAX_EXACT`
assignments, level ``level``). The default ``engine="fast"`` computes that test's statistic
and p-value for every assignment of every simulated city at once (the same estimator, the
same assignments, the same p-value and the same conditions for a verdict; the tests check that
its decisions agree with ``pilot_effect_cells`` city by city); ``engine="full"`` calls
``pilot_effect_cells`` for each city (the same numbers, ~0.3 s a city with 134,596
assignments). The simulated cities are drawn once per plan (common random numbers), so the
power curve over the effect is smooth and the MDE search (bisection) is stable. A typical plan
(24 schools, 6 pilot schools, 400 cities) takes 5-15 s on one core, most of it the 134,596
assignments; 2 of 24 or 10 of 30 (random assignments) take about a second.

One pilot school gets no verdict in the evaluation (it cannot be told apart from ordinary
variation between schools), so its power is 0 and the plan says so.

Examples
--------
>>> plan = plan_pilot(schools=20, pilot_schools=4, pupils_per_school=150, waves_before=2,
...                   waves_after=1, baseline=0.25, school_sd=0.3, drift_sd=0.1,
...                   effect_points=-8, reps=200, seed=1)
>>> plan.assignments, 0.5 < plan.power <= 1.0
(4845, True)
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ssp_research import __version__
from ssp_research.analysis.pilots import (
    MIN_PILOT_SCHOOLS,
    _assignments,
    pilot_effect_cells,
    school_wave_shares,
)
from ssp_research.core.atomic import atomic_write
from ssp_research.core.errors import DataError, EstimationError, ParameterError

__all__ = ["PilotPlan", "variation_from_data", "plan_pilot", "power_curve", "assign_pilot",
           "write_assignment", "ROUNDING_RULE"]

#: How the pilot schools are shared out over the strata (see :func:`assign_pilot`).
ROUNDING_RULE = ("proportional allocation, largest remainder (Hamilton): each stratum gets "
                 "floor(n_pilot * N_h / N) schools, the rest go one each to the strata with the "
                 "largest remainders (ties: the larger stratum, then the stratum's name)")

_NO_VERDICT = {
    "one_pilot_school": "one pilot school: the evaluation gives no verdict (one school cannot "
                        "be told apart from ordinary variation between schools), so the power "
                        "is 0; plan at least 2 pilot schools",
    "too_few_comparison_schools": "fewer than 2 comparison schools: the evaluation gives no "
                                  "verdict, so the power is 0",
    "too_few_assignments": "too few ways to choose the pilot schools for a p-value below "
                           "1 - level: the evaluation gives no verdict, so the power is 0",
}


# --- the variation, from the municipality's own data ------------------------------------------


def _logit(p):
    return np.log(p / (1 - p))


def variation_from_data(data: pd.DataFrame, indicator: str, *, school: str = "school",
                        wave: str = "wave", weight: str | None = "weight",
                        leave_out: str | None = None) -> dict[str, Any]:
    """What the power of a pilot depends on, estimated from the municipality's own data.

    From the schools' design-weighted shares per wave
    (:func:`~ssp_research.analysis.pilots.school_wave_shares`), on the logit scale, by the
    method of moments:

    1. Each cell's empirical logit ``z = log((y + 0.5) / (n - y + 0.5))`` with ``n`` the
       cell's effective number of pupils (Kish: ``(sum w)^2 / sum w^2``) and ``y = share * n``;
       its sampling variance ``v = 1 / (n p (1 - p))`` with ``p`` the school's share over all
       waves (binomial, delta method).
    2. The wave means over schools are subtracted (a city-wide trend is not school variation)
       and each school's logits get a straight line over the wave steps ``t`` (centred):
       intercept ``alpha_s``, slope ``beta_s``, residual sum of squares ``RSS_s``.
    3. ``wave_sd^2 = (sum RSS_s * S/(S-1) - sum_t (1 - h_tt) v_st) / sum (T_s - 2)`` (``h`` the
       hat matrix of the line): the residual variance beyond sampling.
    4. ``drift_sd^2 = var(beta_s) - mean(var of beta_s from sampling and wave_sd)``; the same for
       the intercepts and their covariance with the slopes give the between-school variance
       of the level at the centre, carried to the latest wave:
       ``school_sd^2 = var_c + 2 (T-1-c) cov + (T-1-c)^2 drift_sd^2``.

    Each variance is truncated at 0 (the raw values are returned too). With two waves the
    wave-to-wave variation cannot be told from drift and is counted as drift (``wave_sd`` 0).

    Parameters
    ----------
    data : DataFrame
        Pupils' answers.
    indicator : str
        The 0/1 column (e.g. ``ind_lonely``).
    school, wave, weight : str
        Column names (``weight=None``: every answer counts once).
    leave_out : str, optional
        Boolean column: schools with any true value are left out (e.g. ``pilot``: an
        earlier pilot's effect would be counted as drift).

    Returns
    -------
    dict
        ``baseline`` (the share in the latest wave), ``baseline_wave``, ``school_sd``,
        ``drift_sd``, ``wave_sd`` (logit scale; ``drift_sd`` per wave step), ``icc_latent``,
        ``pupils_median`` (answers per school and wave), ``pupils_quantiles``, ``pupils`` (each
        school's median effective pupils per wave, sorted: the distribution a plan uses),
        ``deff`` (the weights' design effect), ``sampling_var_logit`` (mean over cells),
        ``sampling_sd_points`` (median over cells, of a school-wave share), ``schools``,
        ``waves``, ``raw`` (the untruncated variances) and ``method``.

    Raises
    ------
    DataError
        A missing column or an indicator that is not 0/1.
    EstimationError
        Fewer than 3 schools or 2 waves.

    Examples
    --------
    >>> rng = np.random.default_rng(5)
    >>> rows = []
    >>> for s in range(60):
    ...     a, d = rng.normal(0, 0.4), rng.normal(0, 0.15)
    ...     for t, w in enumerate((2019, 2021, 2023, 2025)):
    ...         p = 1 / (1 + np.exp(-(-1.2 + a + d * (t - 3))))
    ...         rows += [(s, w, v, 1.0) for v in rng.binomial(1, p, 200)]
    >>> df = pd.DataFrame(rows, columns=["school", "wave", "y", "weight"])
    >>> v = variation_from_data(df, "y")
    >>> v["schools"], v["waves"], bool(0.25 < v["school_sd"] < 0.55)
    (60, [2019, 2021, 2023, 2025], True)
    """
    if indicator not in data.columns:
        raise DataError(f"column {indicator!r} is not in the data", column=indicator,
                        rule="a 0/1 indicator column",
                        hint="give the indicator's column, e.g. ind_lonely")
    if leave_out is not None:
        if leave_out not in data.columns:
            raise DataError(f"column {leave_out!r} is not in the data", column=leave_out,
                            rule="leave_out: a boolean column",
                            hint="name a boolean column such as pilot, or leave it out")
        gone = set(data.loc[data[leave_out].fillna(False).astype(bool), school].astype(str))
        data = data[~data[school].astype(str).isin(gone)]
    y = pd.to_numeric(data[indicator], errors="coerce")
    values = set(np.unique(y.dropna()))
    if not values <= {0.0, 1.0}:
        raise DataError(f"column {indicator!r} is not 0/1 (values {sorted(values)[:6]})",
                        column=indicator, rule="a 0/1 indicator",
                        hint="use the indicator column (ind_<name>), not the item")
    cells = school_wave_shares(data, indicator, school=school, wave=wave, weight=weight)
    w = (pd.to_numeric(data[weight], errors="coerce") if weight
         else pd.Series(1.0, index=data.index))
    ok = y.notna() & w.notna() & (w > 0)
    w2 = (pd.DataFrame({"school": data.loc[ok, school].astype(str),
                        "wave": data.loc[ok, wave].astype(int), "w2": w[ok] ** 2})
          .groupby(["school", "wave"])["w2"].sum())
    cells = cells.merge(w2.reset_index(), on=["school", "wave"], how="left")
    cells["n_eff"] = cells["weight"] ** 2 / cells["w2"]
    waves = sorted(int(v) for v in cells["wave"].unique())
    schools = sorted(cells["school"].unique())
    if len(schools) < 3 or len(waves) < 2:
        raise EstimationError(f"{len(schools)} schools and {len(waves)} waves: too few to "
                              "estimate the variation between schools", column=school,
                              rule="at least 3 schools and 2 waves",
                              hint="use data with more schools or waves")
    latest = cells[cells["wave"] == waves[-1]]
    baseline = float((latest["share"] * latest["weight"]).sum() / latest["weight"].sum())
    # 1. empirical logits and their sampling variances
    pooled = cells.assign(wy=cells["share"] * cells["weight"]).groupby("school")[
        ["wy", "weight", "n_eff"]].sum()
    p_s = (pooled["wy"] / pooled["weight"]).clip(0.5 / pooled["n_eff"],
                                                  1 - 0.5 / pooled["n_eff"])
    n = cells["n_eff"].to_numpy(float)
    yy = cells["share"].to_numpy(float) * n
    cells["z"] = np.log((yy + 0.5) / (n - yy + 0.5))
    ps = p_s.reindex(cells["school"]).to_numpy(float)
    cells["v"] = 1.0 / (n * ps * (1 - ps))
    # 2. wave means out, a line per school
    cells["z"] -= cells.groupby("wave")["z"].transform("mean")
    step = {wv: i for i, wv in enumerate(waves)}
    centre = (len(waves) - 1) / 2
    cells["t"] = cells["wave"].map(step) - centre
    fits = []
    for _, g in cells.groupby("school", sort=True):
        if len(g) < 2:
            continue
        x = np.column_stack([np.ones(len(g)), g["t"].to_numpy(float)])
        xtx_inv = np.linalg.inv(x.T @ x)
        coef = xtx_inv @ x.T @ g["z"].to_numpy(float)
        resid = g["z"].to_numpy(float) - x @ coef
        h = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
        a_mat = xtx_inv @ x.T  # coef = A z
        fits.append({"alpha": coef[0], "beta": coef[1], "rss": float(resid @ resid),
                     "v": g["v"].to_numpy(float), "one_minus_h": 1 - h, "a": a_mat,
                     "df": len(g) - 2})
    if len(fits) < 3:
        raise EstimationError("fewer than 3 schools with answers in two waves", column=wave,
                              rule="at least 3 schools in two waves or more",
                              hint="use data with more waves per school")
    s_n = len(fits)
    df_sum = sum(f["df"] for f in fits)
    if df_sum > 0:
        rss = sum(f["rss"] for f in fits) * s_n / (s_n - 1)
        wave_var_raw = (rss - sum(float(f["one_minus_h"] @ f["v"]) for f in fits)) / df_sum
    else:
        wave_var_raw = 0.0
    wave_var = max(wave_var_raw, 0.0)
    # 4. noise (co)variances of each school's intercept and slope: A diag(v + wave_var) A'
    noise = np.mean([f["a"] @ np.diag(f["v"] + wave_var) @ f["a"].T for f in fits], axis=0)
    coefs = np.array([[f["alpha"], f["beta"]] for f in fits])
    between = np.cov(coefs, rowvar=False, ddof=1) - noise
    drift_var_raw = float(between[1, 1])
    drift_var = max(drift_var_raw, 0.0)
    lag = len(waves) - 1 - centre
    level_var_raw = float(between[0, 0] + 2 * lag * between[0, 1] + lag ** 2 * drift_var)
    level_var = max(level_var_raw, 0.0)
    per_school = cells.groupby("school")["n_eff"].median().sort_values()
    q = cells["n"].quantile([0.1, 0.25, 0.5, 0.75, 0.9])
    share_sd = np.sqrt(cells["share"].clip(0.01, 0.99) * (1 - cells["share"].clip(0.01, 0.99))
                       / cells["n_eff"])
    return {
        "indicator": indicator,
        "baseline": baseline,
        "baseline_wave": waves[-1],
        "school_sd": math.sqrt(level_var),
        "drift_sd": math.sqrt(drift_var),
        "wave_sd": math.sqrt(wave_var),
        "icc_latent": level_var / (level_var + math.pi ** 2 / 3),
        "pupils_median": float(cells["n"].median()),
        "pupils_quantiles": {f"q{int(k * 100)}": float(v) for k, v in q.items()},
        "pupils": [float(v) for v in per_school.round(1)],
        "deff": float(cells["n"].sum() / cells["n_eff"].sum()),
        "sampling_var_logit": float(cells["v"].mean()),
        "sampling_sd_points": float(100 * share_sd.median()),
        "schools": len(schools),
        "waves": waves,
        "left_out": sorted(gone) if leave_out is not None else [],
        "raw": {"school_var": level_var_raw, "drift_var": drift_var_raw,
                "wave_var": wave_var_raw},
        "method": "method of moments on school x wave empirical logits, binomial sampling "
                  "variance (Kish effective n) subtracted",
    }


# --- the simulation ---------------------------------------------------------------------------


@dataclass
class PilotPlan:
    """A proposed pilot: its power for an effect, or its minimum detectable effect.

    Attributes
    ----------
    schools, pilot_schools, comparison_schools : int
    pupils : list of float
        Pupils per school and wave assumed (one per school).
    waves_before, waves_after : int
    baseline, school_sd, drift_sd, wave_sd : float
        The variation assumed (logit scale; see the module's model).
    effect_points : float or None
        The effect in percentage points the power is for (given, or the MDE with its sign);
        None when no effect up to the largest possible one reaches the power.
    power, power_se : float
        Power at ``effect_points`` and its Monte Carlo standard error.
    target_power : float or None
        The power asked for (None when an effect was given).
    mde_points, mde_se : float or None
        The minimum detectable effect (size, points) and its Monte Carlo standard error.
    assignments : int
        Assignments the evaluation's test compares with.
    method : str
        ``"randomisation (exact)"`` or ``"randomisation (N random assignments)"``.
    level : float
    reps, draws, seed : int
    engine : str
    note : str
        Why the power is 0, or that no effect reaches it ("" otherwise).
    seconds : float
        Run time.
    """

    schools: int
    pilot_schools: int
    comparison_schools: int
    pupils: list
    waves_before: int
    waves_after: int
    baseline: float
    school_sd: float
    drift_sd: float
    wave_sd: float
    effect_points: float | None
    power: float
    power_se: float
    target_power: float | None
    mde_points: float | None
    mde_se: float | None
    assignments: int
    method: str
    level: float
    reps: int
    draws: int
    seed: int
    engine: str
    note: str = ""
    seconds: float = 0.0
    curve: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def as_row(self) -> dict[str, Any]:
        """The plan as one flat record (for tables and logs)."""
        row = asdict(self)
        row.pop("curve")
        row["pupils"] = float(np.median(self.pupils))
        return row


def _sizes(pupils, schools: int) -> np.ndarray:
    """Pupils per school: an int for every school, or a distribution (any length) taken at
    ``schools`` evenly spaced quantiles (so 25 schools' sizes can plan a 30-school pilot)."""
    if np.isscalar(pupils):
        arr = np.full(schools, float(pupils))
    else:
        seq = np.asarray(list(pupils), dtype=float)
        if seq.size == 0:
            raise ParameterError("pupils_per_school is empty", rule="pupils per school",
                                 hint="give a number or one number per school")
        arr = (np.sort(seq) if seq.size == schools
               else np.quantile(seq, (np.arange(schools) + 0.5) / schools))
    arr = np.round(arr)
    if not np.all(np.isfinite(arr)) or arr.min() < 1:
        raise ParameterError("pupils_per_school must be at least 1", rule="pupils per school",
                             hint="give the pupils answering per school and wave")
    return arr


class _Cities:
    """``reps`` simulated cities drawn once (common random numbers), pilots first."""

    def __init__(self, schools, k, sizes, before, after, baseline, school_sd, drift_sd,
                 wave_sd, reps, seed):
        rng = np.random.default_rng(seed)
        t_n = before + after
        self.k, self.before, self.baseline = k, before, baseline
        steps = np.arange(t_n) - (before - 1)
        a = rng.normal(0.0, school_sd, (reps, schools))
        d = rng.normal(0.0, drift_sd, (reps, schools))
        u = rng.normal(0.0, wave_sd, (reps, schools, t_n)) if wave_sd > 0 else 0.0
        self.n = rng.permuted(np.tile(sizes, (reps, 1)), axis=1)  # which schools are pilots
        self.eta0 = _logit(baseline) + a[..., None] + d[..., None] * steps + u
        self.uniform = rng.random((reps, schools, t_n))
        self.share0 = self._shares(self.eta0, self.n[..., None], self.uniform)
        self.weight = self.n * t_n  # a school's pupils over the waves (as pilot_effect_cells)

    @staticmethod
    def _shares(eta, n, uniform):
        p = 1.0 / (1.0 + np.exp(-eta))
        return stats.binom.ppf(uniform, n, p) / n

    def shares(self, effect: float) -> np.ndarray:
        """School x wave shares of every city with ``effect`` (a share) planted."""
        share = self.share0.copy()
        if effect:
            delta = _logit(self.baseline + effect) - _logit(self.baseline)
            k, b = self.k, self.before
            share[:, :k, b:] = self._shares(self.eta0[:, :k, b:] + delta,
                                            self.n[:, :k, None], self.uniform[:, :k, b:])
        return share


#: Exact designs with more assignments than this search the MDE on a random subset of
#: :data:`SEARCH_DRAWS` of them (the final power is of the exact test).
SEARCH_MAX = 20_000
SEARCH_DRAWS = 4_999


class _Test:
    """The evaluation's randomisation test for many cities at once (one start, balanced)."""

    def __init__(self, schools, k, level, draws, seed):
        cohort_of = np.array([0] * k + [-1] * (schools - k))
        groups, exact = _assignments(cohort_of, 1, draws, seed)
        self.member = (groups == 0).astype(float)
        self.obs = (int(np.flatnonzero((groups == cohort_of).all(axis=1))[0]) if exact else 0)
        self.exact = exact
        self.count = len(groups)
        self.alpha = 1 - level
        self.method = ("randomisation (exact)" if exact
                       else f"randomisation ({draws} random assignments)")
        if exact and self.count > SEARCH_MAX:
            rng = np.random.default_rng([seed, 1])
            others = np.delete(np.arange(self.count), self.obs)
            rows = np.concatenate([[self.obs], rng.choice(others, SEARCH_DRAWS, replace=False)])
            self.search = (self.member[rows], 0)
        else:
            self.search = (self.member, self.obs)

    def reject(self, share: np.ndarray, weight: np.ndarray, before: int,
               search: bool = False) -> np.ndarray:
        """"sure" per city: the p-value of pilot_effect_cells (same estimator, assignments
        and tolerance) at most ``1 - level`` (``search``: on the search subset)."""
        member, obs = self.search if search else (self.member, self.obs)
        diff = share[:, :, before:] - share[:, :, [before - 1]]
        wd = weight * diff.mean(axis=2)  # each school's mean change after the start, x weight
        tot_wd, tot_w = wd.sum(1), weight.sum(1)
        out = np.empty(len(share), dtype=bool)
        chunk = 64
        for lo in range(0, len(share), chunk):
            sl = slice(lo, lo + chunk)
            c = len(wd[sl])
            both = member @ np.concatenate([wd[sl], weight[sl]]).T.copy()
            num, den = both[:, :c], both[:, c:]
            att = num / den
            att -= (tot_wd[sl] - num) / (tot_w[sl] - den)
            np.abs(att, out=att)
            t_obs = att[obs]
            tol = 1e-12 * np.maximum(1.0, t_obs)
            out[sl] = np.mean(att >= t_obs - tol, axis=0) <= self.alpha
        return out


def _full_reject(share, weight, k, before, level, draws, seed) -> np.ndarray:
    """"sure" per city from :func:`pilot_effect_cells` itself."""
    reps, schools, t_n = share.shape
    names = [f"s{i:03d}" for i in range(schools)]
    out = np.empty(reps, dtype=bool)
    for r in range(reps):
        cells = pd.DataFrame({"school": np.repeat(names, t_n), "wave": np.tile(np.arange(t_n),
                              schools), "share": share[r].ravel(),
                              "weight": np.repeat(weight[r] / t_n, t_n)})
        res = pilot_effect_cells(cells, {nm: before for nm in names[:k]}, level=level,
                                 draws=draws, seed=seed, method="randomisation")
        out[r] = res.verdict == "sure"
    return out


def _check(schools, pilot_schools, waves_before, waves_after, baseline, power, level, reps):
    if schools < 2 or not 1 <= pilot_schools < schools:
        raise ParameterError(f"{pilot_schools} pilot schools of {schools}",
                             rule="1 <= pilot schools < schools",
                             hint="give fewer pilot schools than schools")
    if waves_before < 1 or waves_after < 1:
        raise ParameterError("a pilot needs a wave before and a wave after the start",
                             rule="waves_before >= 1 and waves_after >= 1",
                             hint="e.g. waves_before=2, waves_after=2")
    if not 0 < baseline < 1:
        raise ParameterError(f"baseline {baseline} is not a share", rule="0 < baseline < 1",
                             hint="give the baseline as a share, e.g. 0.22")
    if not 0 < power < 1 or not 0.5 < level < 1 or reps < 10:
        raise ParameterError("power, level or reps out of range",
                             rule="0 < power < 1, 0.5 < level < 1, reps >= 10",
                             hint="e.g. power=0.8, level=0.95, reps=400")


def _setup(schools, pilot_schools, pupils_per_school, waves_before, waves_after, baseline,
           school_sd, drift_sd, wave_sd, level, reps, draws, seed):
    sizes = _sizes(pupils_per_school, schools)
    cities = _Cities(schools, pilot_schools, sizes, waves_before, waves_after, baseline,
                     school_sd, drift_sd, wave_sd, reps, seed)
    test = _Test(schools, pilot_schools, level, draws, seed)
    reason = ""
    if pilot_schools < MIN_PILOT_SCHOOLS:
        reason = "one_pilot_school"
    elif schools - pilot_schools < MIN_PILOT_SCHOOLS:
        reason = "too_few_comparison_schools"
    elif test.count * (1 - level) < 2:
        reason = "too_few_assignments"
    return sizes, cities, test, reason


def _power_fn(cities, test, engine, level, draws, seed):
    cache: dict[tuple, float] = {}

    def power(effect: float, search: bool = False) -> float:
        search = search and test.search[0] is not test.member and engine == "fast"
        key = (round(effect, 10), search)
        if key not in cache:
            share = cities.shares(effect)
            if engine == "full":
                hits = _full_reject(share, cities.weight, cities.k, cities.before, level,
                                    draws, seed)
            else:
                hits = test.reject(share, cities.weight, cities.before, search=search)
            cache[key] = float(hits.mean())
        return cache[key]

    return power


def plan_pilot(*, schools: int, pilot_schools: int, pupils_per_school: int | Sequence[float],
               waves_before: int, waves_after: int, baseline: float, school_sd: float,
               drift_sd: float, wave_sd: float = 0.0, effect_points: float | None = None,
               power: float = 0.8, direction: str = "down", level: float = 0.95,
               reps: int = 400, draws: int = 999, seed: int = 20261214,
               engine: str = "fast") -> PilotPlan:
    """The power of a proposed pilot for an effect, or its minimum detectable effect.

    Parameters
    ----------
    schools : int
        Schools in the evaluation (pilot and comparison).
    pilot_schools : int
    pupils_per_school : int or sequence
        Pupils answering per school and wave: one number, or a distribution (e.g.
        ``variation_from_data(...)["pupils"]``), taken at ``schools`` quantiles.
    waves_before, waves_after : int
        Waves before the start (the last is the base) and from the start.
    baseline, school_sd, drift_sd, wave_sd : float
        The share at the start and the variation (logit scale, see the module's model), e.g.
        from :func:`variation_from_data`.
    effect_points : float, optional
        The effect in percentage points (-5: five points fewer); given, the plan's power is
        for it. Without it the plan searches the minimum detectable effect at ``power``.
    power : float
        The power the MDE is for.
    direction : {"down", "up"}
        The direction of the effect the MDE is searched in.
    level : float
        The evaluation's confidence level (its test's size is ``1 - level``).
    reps : int
        Simulated cities (the power's Monte Carlo standard error is
        ``sqrt(power (1 - power) / reps)``, 0.02 at 0.8 with 400).
    draws : int
        Random assignments of the test when there are more than ``MAX_EXACT`` (the brief uses
        9,999; 999 gives the same power up to Monte Carlo error, faster).
    seed : int
        Seed of the simulated cities and the test's draws (the plan is reproducible).
    engine : {"fast", "full"}
        ``"full"`` calls ``pilot_effect_cells`` for every city (slow; see the module's docs).

    Returns
    -------
    PilotPlan
        With ``curve``: the power at every effect the search evaluated.

    Raises
    ------
    ParameterError
        A design that is not a pilot (no comparison school, no wave before), or a bad value.

    Examples
    --------
    >>> p = plan_pilot(schools=24, pilot_schools=1, pupils_per_school=100, waves_before=2,
    ...                waves_after=2, baseline=0.25, school_sd=0.35, drift_sd=0.12)
    >>> p.power, p.mde_points, p.note.split(":")[0]
    (0.0, None, 'one pilot school')
    >>> p = plan_pilot(schools=24, pilot_schools=2, pupils_per_school=100, waves_before=2,
    ...                waves_after=2, baseline=0.25, school_sd=0.35, drift_sd=0.12, reps=200)
    >>> bool(5 < p.mde_points < 25), p.power >= 0.8
    (True, True)
    """
    t0 = time.perf_counter()
    _check(schools, pilot_schools, waves_before, waves_after, baseline, power, level, reps)
    if direction not in ("down", "up"):
        raise ParameterError(f"direction {direction!r}", rule='"down" or "up"',
                             hint='direction="down" for a pilot that lowers the share')
    if engine not in ("fast", "full"):
        raise ParameterError(f"engine {engine!r}", rule='"fast" or "full"',
                             hint='use engine="fast"')
    if min(school_sd, drift_sd, wave_sd) < 0:
        raise ParameterError("a negative sd", rule="school_sd, drift_sd, wave_sd >= 0",
                             hint="give standard deviations on the logit scale")
    if effect_points is not None and not 0 < baseline + effect_points / 100 < 1:
        raise ParameterError(f"baseline {baseline:.3f} + {effect_points} points is not a share",
                             rule="0 < baseline + effect < 1",
                             hint="give the effect in percentage points, e.g. -5")
    sizes, cities, test, reason = _setup(schools, pilot_schools, pupils_per_school,
                                         waves_before, waves_after, baseline, school_sd,
                                         drift_sd, wave_sd, level, reps, draws, seed)
    common = dict(schools=schools, pilot_schools=pilot_schools,
                  comparison_schools=schools - pilot_schools, pupils=[float(v) for v in sizes],
                  waves_before=waves_before, waves_after=waves_after, baseline=baseline,
                  school_sd=school_sd, drift_sd=drift_sd, wave_sd=wave_sd,
                  assignments=test.count, method=test.method, level=level, reps=reps,
                  draws=draws, seed=seed, engine=engine)
    if reason:
        return PilotPlan(**common, effect_points=effect_points, power=0.0, power_se=0.0,
                         target_power=None if effect_points is not None else power,
                         mde_points=None, mde_se=None, note=_NO_VERDICT[reason],
                         seconds=time.perf_counter() - t0)
    pw = _power_fn(cities, test, engine, level, draws, seed)

    def result(effect_pts, pwr, target, mde, mde_se, note=""):
        return PilotPlan(**common, effect_points=effect_pts, power=pwr,
                         power_se=math.sqrt(pwr * (1 - pwr) / reps), target_power=target,
                         mde_points=mde, mde_se=mde_se, note=note,
                         seconds=time.perf_counter() - t0, curve=curve_of())

    evaluated: dict[tuple[float, bool], float] = {}
    subset = test.search[0] is not test.member and engine == "fast"

    def at(effect_share: float, search: bool = False) -> float:
        key = (effect_share, search and subset)
        evaluated[key] = pw(effect_share, search=search)
        return evaluated[key]

    def curve_of() -> pd.DataFrame:
        keys = sorted(evaluated, key=lambda k: (abs(k[0]), k[1]))
        return pd.DataFrame({"effect_points": [100 * e for e, _ in keys],
                             "power": [evaluated[k] for k in keys],
                             "test": [f"{SEARCH_DRAWS} random assignments (search)" if srch
                                      else test.method for _, srch in keys]})

    if effect_points is not None:
        value = at(effect_points / 100)
        return result(effect_points, value, None, None, None)
    sign = -1.0 if direction == "down" else 1.0
    hi = (baseline if sign < 0 else 1 - baseline) - 0.005
    if at(sign * hi, search=True) < power:
        return result(None, at(sign * hi), power, None, None,
                      note=f"no effect up to {100 * hi:.1f} points reaches a power of "
                           f"{power:.0%} with this design")
    lo = 0.0
    for _ in range(20):  # bisection to 0.05 points
        if hi - lo < 5e-4:
            break
        mid = (lo + hi) / 2
        if at(sign * mid, search=True) >= power:
            hi = mid
        else:
            lo = mid
    mde = hi
    # Monte Carlo error of the MDE: the power's error over the curve's slope around it
    h = max(0.1 * mde, 0.002)
    low = max(mde - h, 0.0)
    slope = (at(sign * (mde + h), search=True) - at(sign * low, search=True)) / (mde + h - low)
    mde_se = (100 * math.sqrt(power * (1 - power) / reps) / slope) if slope > 0 else None
    pwr = at(sign * mde)
    # the search ran on a subset of the assignments: step up until the exact test has the power
    for _ in range(4):
        if pwr >= power or not subset:
            break
        mde += max((power - pwr) / slope if slope > 0 else 0.0, 5e-4)
        pwr = at(sign * mde)
    return result(100 * sign * mde, pwr, power, 100 * mde, mde_se)


def power_curve(effects_points: Sequence[float], **plan: Any) -> pd.DataFrame:
    """The power of one design at several effects (the same simulated cities for all).

    ``plan`` are the design arguments of :func:`plan_pilot` (without ``effect_points`` and
    ``power``). Returns ``effect_points, power, power_se``.

    Examples
    --------
    >>> c = power_curve([-2, -6, -10], schools=16, pilot_schools=4, pupils_per_school=100,
    ...                 waves_before=2, waves_after=2, baseline=0.25, school_sd=0.35,
    ...                 drift_sd=0.12, reps=100)
    >>> bool(c["power"].is_monotonic_increasing)
    True
    """
    args = {"wave_sd": 0.0, "level": 0.95, "reps": 400, "draws": 999, "seed": 20261214,
            "engine": "fast", **plan}
    args.pop("direction", None)
    _check(args["schools"], args["pilot_schools"], args["waves_before"], args["waves_after"],
           args["baseline"], 0.8, args["level"], args["reps"])
    _, cities, test, reason = _setup(
        args["schools"], args["pilot_schools"], args["pupils_per_school"],
        args["waves_before"], args["waves_after"], args["baseline"], args["school_sd"],
        args["drift_sd"], args["wave_sd"], args["level"], args["reps"], args["draws"],
        args["seed"])
    pw = _power_fn(cities, test, args["engine"], args["level"], args["draws"], args["seed"])
    rows = []
    for e in effects_points:
        if not 0 < args["baseline"] + e / 100 < 1:
            raise ParameterError(f"baseline + {e} points is not a share",
                                 rule="0 < baseline + effect < 1",
                                 hint="give effects in percentage points, e.g. -5")
        value = 0.0 if reason else pw(e / 100)
        rows.append({"effect_points": float(e), "power": value,
                     "power_se": math.sqrt(value * (1 - value) / args["reps"])})
    return pd.DataFrame(rows)


# --- the assignment ---------------------------------------------------------------------------


def _allocate(sizes: pd.Series, n_pilot: int) -> pd.Series:
    """Largest-remainder proportional allocation (see :data:`ROUNDING_RULE`)."""
    quota = n_pilot * sizes / sizes.sum()
    base = np.floor(quota).astype(int)
    left = n_pilot - int(base.sum())
    order = sorted(sizes.index, key=lambda h: (-(quota[h] - base[h]), -sizes[h], str(h)))
    for h in order[:left]:
        base[h] += 1
    return base


def assign_pilot(schools: pd.DataFrame, n_pilot: int, *, strata: str | None = "district",
                 seed: int, school: str = "school") -> pd.DataFrame:
    """A seeded, stratified random choice of pilot schools, recorded so it can be redone.

    The pilot schools are shared out over the strata in proportion to their schools
    (:data:`ROUNDING_RULE`) and drawn at random within each (simple random sampling without
    replacement; strata in sorted order, schools sorted by name, one
    ``numpy.random.default_rng(seed)`` for all): the same school list and seed give the same
    pilot schools, whatever the order of the rows.

    Parameters
    ----------
    schools : DataFrame
        One row per school (pupil rows are fine: the distinct schools are taken), with
        ``school`` and, for strata, the ``strata`` column.
    n_pilot : int
        Pilot schools to draw.
    strata : str or None
        Column to stratify by (None: simple random sampling over all schools).
    seed : int
        The draw's seed (record it before the draw, e.g. in the pilot's plan).
    school : str
        The school column.

    Returns
    -------
    DataFrame
        ``school[, strata], pilot`` sorted by school; ``.attrs["assignment"]`` holds the
        record: seed, strata, counts per stratum, the rounding rule, the versions of
        ssp_research and NumPy, and ``schools_sha256`` (of the sorted school list with its
        strata), which :func:`write_assignment` writes beside the table.

    Raises
    ------
    DataError
        A missing column, or a school in two strata.
    ParameterError
        ``n_pilot`` not between 1 and the number of schools.

    Examples
    --------
    >>> s = pd.DataFrame({"school": [f"S{i}" for i in range(10)],
    ...                   "district": ["A"] * 6 + ["B"] * 4})
    >>> a = assign_pilot(s, 5, seed=7)
    >>> a.groupby("district")["pilot"].sum().to_dict()
    {'A': 3, 'B': 2}
    >>> a.equals(assign_pilot(s.iloc[::-1], 5, seed=7))
    True
    """
    cols = [school] + ([strata] if strata else [])
    for col in cols:
        if col not in schools.columns:
            raise DataError(f"column {col!r} is not in the school list", column=col,
                            rule="pilot assignment columns",
                            hint="name the columns with school= and strata= (strata=None: no "
                                 "strata)")
    table = schools[cols].drop_duplicates().astype({school: str})
    if strata:
        table[strata] = table[strata].astype(str)
        twice = table[school][table[school].duplicated()]
        if len(twice):
            raise DataError(f"schools in more than one stratum: {', '.join(twice[:5])}",
                            column=strata, rule="one stratum per school",
                            hint="give each school one stratum (or strata=None)")
    table = table.sort_values(cols[::-1] if strata else cols).reset_index(drop=True)
    total = len(table)
    if not 1 <= n_pilot <= total:
        raise ParameterError(f"{n_pilot} pilot schools of {total}",
                             rule="1 <= pilot schools <= schools",
                             hint="ask for fewer pilot schools")
    listing = "\n".join("\t".join(r) for r in table[cols].itertuples(index=False))
    digest = hashlib.sha256(listing.encode("utf-8")).hexdigest()
    rng = np.random.default_rng(seed)
    table["pilot"] = False
    groups = list(table.groupby(strata, sort=True)) if strata else [("all", table)]
    alloc = _allocate(pd.Series({h: len(g) for h, g in groups}), n_pilot)
    counts = {}
    for h, g in groups:
        names = sorted(g[school])
        chosen = set(rng.choice(names, size=int(alloc[h]), replace=False)) if alloc[h] else set()
        table.loc[g.index[g[school].isin(chosen)], "pilot"] = True
        counts[str(h)] = {"schools": int(len(g)), "pilot": int(alloc[h])}
    table = table.sort_values(school).reset_index(drop=True)
    table.attrs["assignment"] = {
        "seed": int(seed), "strata": strata, "n_pilot": int(n_pilot), "schools": total,
        "counts": counts, "rounding": ROUNDING_RULE,
        "method": ("stratified simple random sampling without replacement" if strata
                   else "simple random sampling without replacement"),
        "ssp_research": __version__, "numpy": np.__version__,
        "schools_sha256": digest,
        "pilot_schools": sorted(table.loc[table["pilot"], school]),
    }
    return table


def write_assignment(assignment: pd.DataFrame, path: str | Path) -> Path:
    """Write an assignment of :func:`assign_pilot` as CSV and its record as JSON beside it.

    Both are written atomically (``OUT.csv`` and ``OUT.json``); returns the CSV's path.

    Examples
    --------
    >>> import tempfile
    >>> s = pd.DataFrame({"school": ["a", "b", "c"], "district": ["x", "x", "y"]})
    >>> out = write_assignment(assign_pilot(s, 1, seed=1), Path(tempfile.mkdtemp()) / "a.csv")
    >>> json.loads(out.with_suffix(".json").read_text())["seed"]
    1
    """
    path = Path(path)
    record = assignment.attrs.get("assignment")
    if record is None:
        raise ParameterError("the table has no assignment record", rule="from assign_pilot",
                             hint="write the table assign_pilot returned, unchanged")
    atomic_write(path.with_suffix(".json"), json.dumps(record, indent=2, ensure_ascii=False)
                 + "\n")
    return atomic_write(path, assignment.to_csv(index=False))
