"""Pilot effects in percentage points, with inference that holds when pilot schools are few.

A pilot is assigned to schools, and a municipality has few of them: one, two, six pilot
schools against twenty others. Cluster-robust standard errors (and the t test of a two-way
fixed-effects model, :func:`ssp_research.analysis.schools.pilot_did`) need many *treated*
clusters; with one or two pilot schools they call ordinary school-to-school variation an
effect most of the time (70 % and 27 % of cities with no effect at all, in the simulation of
``benchmarks/sim_pilot.py``). This module uses **randomisation inference** instead (Fisher;
Conley & Taber 2011; MacKinnon & Webb 2020 "Randomization inference for
difference-in-differences with few treated clusters"):

1. Each school's share per wave (design-weighted, from the pupils' answers) is the outcome.
2. The effect is a difference-in-differences in **percentage points** in the manner of
   Callaway & Sant'Anna (2021): for each start cohort ``g`` and each wave ``t >= g``, the
   change in the cohort's schools from the last wave before ``g`` to ``t``, minus the same
   change in the schools never in the pilot; averaged over waves and cohorts, each weighted by
   its pupils (the weights' sum). Schools that join in different years are thus never compared
   with each other (no two-way fixed-effects regression that mixes cohorts).
3. The p-value compares the estimate with the estimates for every other way of choosing the
   same number of pilot schools (per cohort) among the schools compared: all of them when there
   are at most :data:`MAX_EXACT` ways (exact), else ``draws`` random ones. It is valid in
   finite samples if the pilot schools could as well have been any others of the pool
   (exchangeable schools); it needs no large-sample approximation.
4. The confidence interval inverts that test under a constant effect (the effects ``tau`` for
   which the test does not reject), so interval and verdict always agree.

**Which test, and why.** With at least :data:`MIN_WCB_SCHOOLS` pilot schools *and* as many
comparison schools, the p-value and interval come from a **restricted wild cluster
bootstrap** over schools instead (:mod:`ssp_research.analysis.wild_bootstrap`; the same
estimate, written as a weighted regression of each school's change on its cohort per
comparison, schools as clusters, the cluster-robust t statistic of the pooled effect). It
lets schools differ in size and in how much their shares vary, which the randomisation test
does not (it assumes the pilot schools could as well have been any others; MacKinnon & Webb
2020 show it over-rejects when the pilot schools are much larger or smaller than the rest).
With few pilot schools the wild bootstrap is unreliable: the bootstrap t statistic of an
effect estimated from G1 treated clusters has too few independent pieces, and the restricted
bootstrap under-rejects and the unrestricted one over-rejects severely when G1 is small
(MacKinnon & Webb 2017, "Wild bootstrap inference for wildly different cluster sizes",
*J. Applied Econometrics* 32(2); 2018, "The wild bootstrap for few (treated) clusters",
*Econometrics Journal* 21(2)). There the randomisation test is used.
``benchmarks/sim_pilot.py`` prints both tests' null rejections and coverage per design.

A **verdict** ("sure" / "no sure difference") is given only when the design can support one:
at least :data:`MIN_PILOT_SCHOOLS` pilot schools, at least as many comparison schools, and
enough distinct assignments that a p-value below ``1 - level`` is possible at all. Otherwise
the estimate is shown without a verdict and ``reason`` says why (one pilot school cannot be
told apart from ordinary variation between schools).

The **pre-trend** check is the same estimator as a placebo on the pre-period (the last
pre-wave treated as the start): "no sure difference in the development before the pilot"
when it does not reject, which is not proof that the trends were parallel.

Examples
--------
>>> rng = np.random.default_rng(3)
>>> cells = pd.DataFrame([(s, w, 0.2 + 0.01 * s + rng.normal(0, 0.02)
...                        - 0.06 * (s < 4 and w >= 2023), 100.0)
...                       for s in range(16) for w in (2019, 2021, 2023, 2025)],
...                      columns=["school", "wave", "share", "weight"])
>>> start = pd.Series({s: 2023 for s in range(4)})
>>> r = pilot_effect_cells(cells, start)
>>> r.method, r.exact, r.assignments, r.verdict
('randomisation', True, 1820, 'sure')
>>> bool(r.ci_low < -0.06 < r.ci_high)
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from ssp_research.analysis.wild_bootstrap import wild_cluster_bootstrap
from ssp_research.core.errors import DataError, EstimationError, ParameterError

__all__ = ["PilotEffect", "pilot_effect", "pilot_effect_cells", "school_wave_shares",
           "MIN_PILOT_SCHOOLS", "MAX_EXACT", "MIN_WCB_SCHOOLS", "METHODS"]

#: Fewer pilot schools than this get an estimate but no verdict.
MIN_PILOT_SCHOOLS = 2
#: Up to this many distinct assignments the randomisation distribution is enumerated.
MAX_EXACT = 200_000
#: With at least this many pilot schools and as many comparison schools the wild cluster
#: bootstrap is used (``method="auto"``), else randomisation inference.
MIN_WCB_SCHOOLS = 10
#: The tests ``method=`` can ask for.
METHODS = ("auto", "randomisation", "wild cluster bootstrap")


@dataclass
class PilotEffect:
    """A pilot's effect in percentage points (as a share: -0.05 = 5 points fewer).

    Attributes
    ----------
    estimate, ci_low, ci_high : float
        The effect and its ``level`` interval (NaN bounds when the test cannot reject
        anything at this level: too few assignments).
    p_value : float
        Two-sided randomisation p-value of "no effect".
    verdict : {"sure", "no sure difference", None}
        None: the design cannot support a verdict (``reason`` says why).
    method : {"randomisation", "wild cluster bootstrap"}
        The test behind the p-value and the interval.
    method_reason : str
        Why that test: ``"few_pilot_schools"``, ``"few_comparison_schools"`` (randomisation:
        fewer than :data:`MIN_WCB_SCHOOLS`), ``"enough_schools"`` (wild bootstrap) or
        ``"asked"`` (``method=`` named it).
    exact : bool
        Every assignment (randomisation) or every sign vector (bootstrap) was used.
    assignments : int
        Distinct assignments of pilot schools the p-value compares with (randomisation), or
        bootstrap samples (wild bootstrap).
    pilot_schools, comparison_schools : list of str
    pre_waves, post_waves : list of int
        The waves before and from the (earliest) start.
    cohorts : dict
        Start wave -> number of pilot schools (several: staggered starts).
    by_wave : DataFrame
        ``wave, estimate`` per post wave (cohorts pooled) and the pre-period placebo waves.
    pretrend : dict
        ``estimate, p_value, verdict, reason`` of the placebo on the pre-period.
    reason : str
        Why there is no verdict ("" when there is one).
    level : float
    """

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str | None
    method: str
    assignments: int
    pilot_schools: list
    comparison_schools: list
    pre_waves: list
    post_waves: list
    cohorts: dict
    by_wave: pd.DataFrame = field(repr=False)
    pretrend: dict = field(repr=False)
    reason: str = ""
    level: float = 0.95
    excluded: dict = field(default_factory=dict, repr=False)
    method_reason: str = ""
    exact: bool = True

    def as_row(self) -> dict[str, Any]:
        """The headline numbers as one flat record (for tables and logs)."""
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "p_value": self.p_value, "verdict": self.verdict, "method": self.method,
                "method_reason": self.method_reason, "exact": self.exact,
                "assignments": self.assignments, "pilot_schools": len(self.pilot_schools),
                "comparison_schools": len(self.comparison_schools),
                "pretrend_p": self.pretrend.get("p_value", np.nan), "reason": self.reason}


def school_wave_shares(data: pd.DataFrame, indicator: str, *, school: str = "school",
                       wave: str = "wave", weight: str | None = "weight") -> pd.DataFrame:
    """Each school's design-weighted share of ``indicator`` per wave.

    Returns ``school, wave, share, weight, n``: ``weight`` is the sum of the pupils' weights
    (the pupils the school stands for), ``n`` the answers. Rows with a missing answer are
    left out of both.
    """
    for col in (indicator, school, wave) + ((weight,) if weight else ()):
        if col not in data.columns:
            raise DataError(f"column {col!r} is not in the data", column=col,
                            rule="pilot evaluation columns",
                            hint="name the columns with indicator=, school=, wave=, weight=")
    y = pd.to_numeric(data[indicator], errors="coerce")
    w = (pd.to_numeric(data[weight], errors="coerce") if weight
         else pd.Series(1.0, index=data.index))
    ok = y.notna() & w.notna() & (w > 0)
    frame = pd.DataFrame({"school": data.loc[ok, school].astype(str),
                          "wave": data.loc[ok, wave].astype(int),
                          "wy": (y * w)[ok], "weight": w[ok]})
    cells = frame.groupby(["school", "wave"], sort=True).agg(
        wy=("wy", "sum"), weight=("weight", "sum"), n=("wy", "size")).reset_index()
    cells["share"] = cells["wy"] / cells["weight"]
    return cells[["school", "wave", "share", "weight", "n"]]


def _att(y: np.ndarray, w: np.ndarray, groups: np.ndarray, starts: list[int],
         waves: list[int], post_only: bool = True) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """The pooled ATT for many assignments at once.

    ``y`` (schools x waves, NaN where a school has no answers), ``w`` (schools), ``groups``
    (assignments x schools: the index into ``starts`` of the school's cohort, -1 never in the
    pilot). Returns the ATT per assignment and, per post wave, the ATT of that wave.
    """
    col = {wv: i for i, wv in enumerate(waves)}
    never = (groups == -1)
    total = np.zeros(groups.shape[0])
    weight_sum = np.zeros(groups.shape[0])
    per_wave: dict[int, list] = {}
    for k, g in enumerate(starts):
        base = max(wv for wv in waves if wv < g)
        member = (groups == k)
        for t in (wv for wv in waves if wv >= g):
            diff = y[:, col[t]] - y[:, col[base]]
            valid = np.isfinite(diff)
            d = np.where(valid, diff, 0.0)
            wt = np.where(valid, w, 0.0)
            tw = member @ wt
            cw = never @ wt
            with np.errstate(invalid="ignore", divide="ignore"):
                att = (member @ (wt * d)) / tw - (never @ (wt * d)) / cw
            good = (tw > 0) & (cw > 0)
            total += np.where(good, att * tw, 0.0)
            weight_sum += np.where(good, tw, 0.0)
            per_wave.setdefault(t, []).append((np.where(good, att, 0.0), np.where(good, tw, 0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = total / weight_sum
    by_wave = {}
    for t, parts in per_wave.items():
        num = sum(a * b for a, b in parts)
        den = sum(b for _, b in parts)
        with np.errstate(invalid="ignore", divide="ignore"):
            by_wave[t] = num / den
    return pooled, by_wave


@functools.lru_cache(maxsize=8)
def _all_assignments(s: int, sizes: tuple[int, ...]) -> np.ndarray:
    """Every assignment of cohorts of ``sizes`` to ``s`` schools (-1: never in the pilot),
    the observed one (cohort 0 first, then 1 ..., then the comparison schools) among them."""
    rows = []

    def fill(prefix: np.ndarray, free: list[int], k: int):
        if k == len(sizes):
            rows.append(prefix.copy())
            return
        for chosen in combinations(free, sizes[k]):
            prefix[list(chosen)] = k
            fill(prefix, [i for i in free if i not in chosen], k + 1)
            prefix[list(chosen)] = -1

    fill(np.full(s, -1), list(range(s)), 0)
    out = np.array(rows, dtype=np.int64)
    out.flags.writeable = False
    return out


def _assignments(cohort_of: np.ndarray, n_starts: int, draws: int, seed: int
                 ) -> tuple[np.ndarray, bool]:
    """Assignments of the observed cohort sizes to the pool's schools: every one when there
    are at most :data:`MAX_EXACT`, else ``draws`` random ones plus the observed (first row)."""
    s = len(cohort_of)
    sizes = tuple(int((cohort_of == k).sum()) for k in range(n_starts))
    count, left = 1, s
    for m in sizes:
        count *= math.comb(left, m)
        left -= m
    if count <= MAX_EXACT:
        return _all_assignments(s, sizes), True
    rng = np.random.default_rng(seed)
    out = np.empty((draws + 1, s), dtype=np.int64)
    out[0] = cohort_of
    for i in range(1, draws + 1):
        out[i] = rng.permutation(cohort_of)
    return out, False


def _p_value(t_obs: float, t_all: np.ndarray) -> float:
    """Two-sided: the share of assignments at least as far from 0 as the observed (with a
    relative tolerance so that ties from symmetric designs count as ties)."""
    tol = 1e-12 * max(1.0, abs(t_obs))
    return float(np.mean(np.abs(t_all) >= abs(t_obs) - tol))


def _invert(t_y: np.ndarray, t_e: np.ndarray, t_obs: float, e_obs: float, alpha: float,
            scale: float) -> tuple[float, float]:
    """The interval of constant effects ``tau`` the randomisation test does not reject.

    Under "the effect is tau", the untreated outcomes are ``y - tau * E`` (E: 1 for the
    observed pilot schools' post-period cells), so every assignment's statistic is
    ``t_y - tau * t_e`` and the observed one ``t_obs - tau * e_obs``.
    """
    def p(tau: float) -> float:
        return _p_value(t_obs - tau * e_obs, t_y - tau * t_e)

    est = t_obs / e_obs if e_obs else t_obs
    bounds = []
    for sign in (-1.0, 1.0):
        inner, outer = est, est + sign * scale
        grow = 0
        while p(outer) > alpha:
            inner, outer = outer, outer + sign * scale * 2 ** grow
            grow += 1
            if grow > 12:  # never rejected: the test cannot bound the effect this way
                bounds.append(np.nan)
                break
        else:
            for _ in range(50):
                mid = (inner + outer) / 2
                if p(mid) > alpha:
                    inner = mid
                else:
                    outer = mid
            bounds.append(inner)
    return bounds[0], bounds[1]


def _did_regression(y: np.ndarray, w: np.ndarray, cohort_of: np.ndarray, starts: list[int],
                    waves: list[int]):
    """The estimator of :func:`_att` (observed assignment) as one weighted regression.

    One row per comparison ``(g, t)`` and school of cohort ``g`` or never in the pilot with
    both waves: the change ``y[t] - y[g - 1]``, an intercept and a pilot dummy per
    comparison, weight the school's pupils. Each comparison's dummy is its ATT(g, t); the
    pooled effect is ``r'b`` with ``r`` the comparisons' shares of pilot pupils. Returns
    ``outcome, X, r, cluster (school), weight``.
    """
    col = {wv: i for i, wv in enumerate(waves)}
    cells = [(k, max(wv for wv in waves if wv < g), t) for k, g in enumerate(starts)
             for t in waves if t >= g]
    rows, tw = [], []
    for c, (k, base, t) in enumerate(cells):
        diff = y[:, col[t]] - y[:, col[base]]
        member = np.isfinite(diff) & ((cohort_of == k) | (cohort_of == -1))
        treated = member & (cohort_of == k)
        if not treated.any() or not (member & (cohort_of == -1)).any():
            continue  # as _att: a comparison without both groups does not count
        for i in np.flatnonzero(member):
            rows.append((c, i, diff[i], float(treated[i])))
        tw.append((c, float(w[treated].sum())))
    used = [c for c, _ in tw]
    pos = {c: j for j, c in enumerate(used)}
    m = len(used)
    x = np.zeros((len(rows), 2 * m))
    for j, (c, _i, _d, d) in enumerate(rows):
        x[j, pos[c]] = 1.0
        x[j, m + pos[c]] = d
    total = sum(v for _, v in tw)
    r = np.concatenate([np.zeros(m), [v / total for _, v in tw]])
    school = np.array([i for _, i, _, _ in rows])
    return np.array([d for _, _, d, _ in rows]), x, r, school, w[school]


def _choose(method: str, n_pilot: int, n_comparison: int) -> tuple[str, str]:
    """The test and why (see the module's docs)."""
    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r}", rule=f"one of {METHODS}",
                             hint="use 'auto' (the rule of the module's docs)")
    if method != "auto":
        return method, "asked"
    if n_pilot < MIN_WCB_SCHOOLS:
        return "randomisation", "few_pilot_schools"
    if n_comparison < MIN_WCB_SCHOOLS:
        return "randomisation", "few_comparison_schools"
    return "wild cluster bootstrap", "enough_schools"


def pilot_effect_cells(cells: pd.DataFrame, start: Mapping[str, int] | pd.Series, *,
                       comparison: list | None = None, level: float = 0.95,
                       draws: int = 9_999, seed: int = 20261203,
                       method: str = "auto") -> PilotEffect:
    """:func:`pilot_effect` on school x wave shares (``school, wave, share, weight``).

    Parameters
    ----------
    cells : DataFrame
        One row per school and wave: ``share`` (0-1), ``weight`` (pupils it stands for).
    start : mapping or Series
        Pilot school -> the first wave of its pilot (one start for all, or staggered).
    comparison : list, optional
        The schools never in the pilot to compare with (default: every other school in
        ``cells``).
    level : float
    draws : int
        Random assignments when there are more than :data:`MAX_EXACT` (randomisation), or
        bootstrap samples when the sign vectors are too many to enumerate (wild bootstrap).
    seed : int
        Seed of those draws (the result is reproducible).
    method : {"auto", "randomisation", "wild cluster bootstrap"}
        The test; ``"auto"``: the wild cluster bootstrap with at least
        :data:`MIN_WCB_SCHOOLS` pilot and comparison schools, else randomisation.
    """
    start = pd.Series(start, dtype="int64")
    start.index = start.index.astype(str)
    cells = cells.assign(school=cells["school"].astype(str))
    pilots = sorted(set(start.index) & set(cells["school"]))
    if comparison is None:
        comparison = sorted(set(cells["school"]) - set(start.index))
    comparison = sorted(map(str, comparison))
    waves = sorted(int(v) for v in cells["wave"].unique())
    first = int(start.loc[pilots].min()) if pilots else None
    if not pilots or not comparison:
        raise EstimationError("need both pilot and comparison schools", column="pilot",
                              rule="pilot and other schools in the data",
                              hint="check the pilot column and the unit's schools")
    if not any(w < first for w in waves):
        raise EstimationError(f"the pilot has no pre-period: no wave before {first} in {waves}",
                              column="wave", rule="at least one wave before the start",
                              hint="a difference-in-differences needs waves before the start")
    early = [s for s in pilots if int(start[s]) <= waves[0]]
    if early:
        raise EstimationError(f"pilot schools that start in the first wave ({waves[0]}): "
                              f"{', '.join(early[:5])}", column="wave",
                              rule="a wave before each school's start",
                              hint="leave those schools out: they have no before-period")
    pool = pilots + comparison
    wide = cells.pivot_table(index="school", columns="wave", values="share").reindex(
        index=pool, columns=waves)
    size = cells.groupby("school")["weight"].sum().reindex(pool).fillna(0.0).to_numpy()
    y = wide.to_numpy(float)
    # a school needs its base wave and at least one post wave to enter a comparison
    starts = sorted({int(v) for v in start.loc[pilots]})
    cohort_of = np.array([starts.index(int(start[s])) for s in pilots] + [-1] * len(comparison))
    test, why = _choose(method, len(pilots), len(comparison))
    alpha = 1 - level
    if test == "randomisation":
        groups, exact = _assignments(cohort_of, len(starts), draws, seed)
        obs = 0 if not exact else int(np.flatnonzero((groups == cohort_of).all(axis=1))[0])
    else:
        groups, obs = cohort_of[None, :], 0
    t_all, by_wave_all = _att(y, size, groups, starts, waves)
    t_obs = float(t_all[obs])
    if test == "randomisation":
        # E: the observed pilot schools' post cells (the interval under a constant effect)
        e = np.zeros_like(y)
        for i, s in enumerate(pilots):
            e[i, [j for j, wv in enumerate(waves) if wv >= int(start[s])]] = 1.0
        e_all, _ = _att(np.where(np.isfinite(y), e, np.nan), size, groups, starts, waves)
        n_assign = len(groups)
        p = _p_value(t_obs, t_all)
        scale = max(float(np.nanstd(t_all)), 1e-4)
        lo, hi = _invert(t_all, e_all, t_obs, float(e_all[obs]), alpha, scale)
    else:
        out, x, r, cl, wt = _did_regression(y, size, cohort_of, starts, waves)
        boot = wild_cluster_bootstrap(out, x, r, cl, weights=wt, level=level, draws=draws,
                                      seed=seed)
        p, lo, hi, n_assign, exact = (boot.p_value, boot.ci_low, boot.ci_high, boot.draws,
                                      boot.enumerated)
    reason = ""
    if len(pilots) < MIN_PILOT_SCHOOLS:
        reason = "one_pilot_school"
    elif len(comparison) < MIN_PILOT_SCHOOLS:
        reason = "too_few_comparison_schools"
    elif n_assign * alpha < 2:
        reason = "too_few_assignments"
    verdict = None
    if not reason:
        verdict = "sure" if (p <= alpha and np.isfinite(lo) and np.isfinite(hi)
                             and (hi < 0 or lo > 0)) else "no sure difference"
    by_wave = pd.DataFrame({"wave": list(by_wave_all),
                            "estimate": [float(v[obs]) for v in by_wave_all.values()]})
    pre = [w for w in waves if w < first]
    post = [w for w in waves if w >= first]
    pretrend = _pretrend(cells, pilots, comparison, pre, level, draws, seed, test)
    return PilotEffect(
        estimate=t_obs, ci_low=lo, ci_high=hi, p_value=p, verdict=verdict,
        method=test, method_reason=why, exact=bool(exact), assignments=n_assign,
        pilot_schools=pilots, comparison_schools=comparison,
        pre_waves=pre, post_waves=post, cohorts={g: int((cohort_of == k).sum())
                                                for k, g in enumerate(starts)},
        by_wave=by_wave, pretrend=pretrend, reason=reason, level=level)


def _pretrend(cells, pilots, comparison, pre, level, draws, seed, method) -> dict:
    """The placebo on the pre-period: the last pre-wave as if the pilot had started then."""
    if len(pre) < 2:
        return {"estimate": np.nan, "p_value": np.nan, "verdict": None,
                "reason": "only_one_pre_wave"}
    sub = cells[cells["wave"].isin(pre)]
    placebo = pilot_effect_cells(sub, {s: pre[-1] for s in pilots}, comparison=comparison,
                                 level=level, draws=draws, seed=seed, method=method)
    return {"estimate": placebo.estimate, "p_value": placebo.p_value,
            "verdict": placebo.verdict, "reason": placebo.reason,
            "waves": (pre[-2], pre[-1])}


def pilot_effect(data: pd.DataFrame, indicator: str, *, treated: str = "pilot",
                 start: int | str = 2023, school: str = "school", wave: str = "wave",
                 weight: str | None = "weight", comparison: str | None = None,
                 level: float = 0.95, draws: int = 9_999, seed: int = 20261203,
                 method: str = "auto") -> PilotEffect:
    """The pilot's effect in percentage points, with inference that holds for few schools.

    Randomisation inference over schools, or the wild cluster bootstrap where there are
    enough pilot and comparison schools (see the module's docs: which test, and why).

    Parameters
    ----------
    data : DataFrame
        Pupils' answers (tidy data).
    indicator : str
        The 0/1 outcome column (e.g. ``ind_lonely``).
    treated : str
        Boolean column: the pupil's school is one of the pilot schools evaluated.
    start : int or str
        The first wave of the pilot, or the name of a column holding each pilot school's
        first wave (schools that joined in different years: staggered starts).
    school, wave, weight : str
        Column names (``weight=None``: every answer counts once).
    comparison : str, optional
        Boolean column of the schools to compare with (default: every school not
        ``treated``). Pass it when some schools are in neither group (a district's brief:
        its pilot schools against the city's schools that are in no pilot).
    level : float
        Confidence level of the interval (and 1 - level the test's size).
    draws, seed : int
        Random assignments when there are more than :data:`MAX_EXACT`, or bootstrap samples
        (seeded).
    method : {"auto", "randomisation", "wild cluster bootstrap"}
        The test (``"auto"``: the rule of the module's docs).

    Returns
    -------
    PilotEffect

    Raises
    ------
    DataError
        A column is missing.
    EstimationError
        No pilot or no comparison school, or no wave before the start.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> s = np.tile(np.repeat(np.arange(12), 80), 4)
    >>> w = np.repeat([2019, 2021, 2023, 2025], 12 * 80)
    >>> df = pd.DataFrame({"school": s, "wave": w, "pilot": s < 3, "weight": 1.0})
    >>> df["ind_y"] = rng.binomial(1, 0.25 - 0.12 * (df["pilot"] & (w >= 2023)))
    >>> r = pilot_effect(df, "ind_y")
    >>> r.verdict, r.assignments, bool(r.ci_low < -0.12 < r.ci_high)
    ('sure', 220, True)
    """
    for col in (treated,) + ((start,) if isinstance(start, str) else ()):
        if col not in data.columns:
            raise DataError(f"column {col!r} is not in the data", column=col,
                            rule="pilot evaluation columns",
                            hint="name the pilot column with treated= (and start=)")
    cells = school_wave_shares(data, indicator, school=school, wave=wave, weight=weight)
    is_pilot = data[treated].astype(bool)
    schools = data[school].astype(str)
    if isinstance(start, str):
        firsts = data.loc[is_pilot].groupby(schools[is_pilot])[start].min()
        if firsts.isna().any():
            bad = ", ".join(firsts.index[firsts.isna()][:5])
            raise DataError(f"pilot schools without a start wave: {bad}", column=start,
                            rule="a start wave for every pilot school",
                            hint="fill the start column for every pilot school")
        starts = firsts.astype(int)
    else:
        starts = pd.Series(int(start), index=sorted(schools[is_pilot].unique()))
    if comparison is None:
        pool = sorted(schools[~is_pilot].unique())
    else:
        pool = sorted(schools[data[comparison].astype(bool) & ~is_pilot].unique())
    cells = cells[cells["school"].isin(set(starts.index) | set(pool))]
    return pilot_effect_cells(cells, starts, comparison=pool, level=level, draws=draws,
                              seed=seed, method=method)
