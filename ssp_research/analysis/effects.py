"""Trends, gaps, school effects (ICC) and the pilot evaluation (difference-in-differences).

Every function takes the tidy data (or a :class:`~ssp_research.survey.design.SurveyDesign`) first,
names columns by keyword and returns a tidy DataFrame at full precision with the columns
``variable`` (the indicator column), a few identifying columns, then ``estimate, se, ci_low,
ci_high, df, n`` (and ``p_value`` where a test is made). Design-based models are fitted with
:func:`ssp_research.survey.models.svyglm` (R's ``svyglm``); descriptive trends and gaps use the city
design of :func:`ssp_research.analysis.indicators.city_design` (schools x waves as strata) unless a
design is given. School effects (ICC) and the pilot evaluation are in
:mod:`ssp_research.analysis.schools`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(2)
>>> n = 4000
>>> df = pd.DataFrame({"wave": rng.choice([2019, 2021, 2023, 2025], n), "weight": 1.0,
...                    "school": rng.choice(list("ABCDEFGH"), n)})
>>> p = 1 / (1 + np.exp(-(-1.5 + 0.2 * (df["wave"] - 2019) / 2)))
>>> df["ind_x"] = rng.binomial(1, p).astype(float)
>>> t = trend(df, "ind_x", adjust=())
>>> t.loc[t["quantity"] == "log_odds_per_wave", ["estimate", "df"]].round(3)
   estimate      df
0     0.161  3967.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ssp_research.core.errors import DataError, EstimationError, ParameterError

__all__ = ["trend", "trend_slope", "gaps", "social_gradient"]

_COLS = ["estimate", "se", "ci_low", "ci_high", "df", "n", "p_value"]


# --- helpers ----------------------------------------------------------------------------------


def _design(data: Any, clustered: bool = False, school: str = "school", strata=None):
    """The data as a design: a given SurveyDesign, the city design, or schools as clusters."""
    from ssp_research.analysis.indicators import city_design
    from ssp_research.survey.design import SurveyDesign

    if isinstance(data, pd.DataFrame):
        if "weight" not in data.columns:
            data = data.assign(weight=1.0)
        if school not in data.columns:
            raise DataError(
                f"the data has no {school!r} column", column=school,
                rule="schools are strata (descriptive) or clusters (pilot, ICC)",
                hint="pass a SurveyDesign or name the school column with school=",
            )
        if clustered:
            return SurveyDesign(data, ids=school, strata=strata, weights="weight")
        return city_design(data, school=school)
    return data


def _column(design, name: str) -> np.ndarray:
    if name not in design.data.columns:
        raise DataError(
            f"column {name!r} is not in the data", column=name, rule="known column",
            hint=f"use one of {list(design.data.columns)[:15]}",
        )
    return pd.to_numeric(design.data[name], errors="coerce").to_numpy("float64")


def _ci_t(est, se, df, level):
    q = stats.t.ppf(0.5 + level / 2, df) if df > 0 else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2 * stats.t.sf(np.abs(np.asarray(est) / np.asarray(se)), df) if df > 0 else np.nan
    return est - q * se, est + q * se, p


def _wave_steps(waves: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Wave step = position of the wave among the survey's waves (0, 1, 2, ...)."""
    levels = sorted(int(v) for v in np.unique(waves[np.isfinite(waves)]))
    step = np.searchsorted(levels, waves).astype(float)
    return step, levels


def _domain_means(design, y: np.ndarray, groups: np.ndarray, ngroups: int):
    """Domain means, their covariance (joint linearised scores, C1's ``vcov``) and n."""
    w = np.asarray(design.weights, dtype=float)
    ok = np.isfinite(y) & (w > 0) & (groups >= 0)
    g = np.where(ok, groups, 0)
    yz = np.where(ok, y, 0.0)
    wsum = np.bincount(g, weights=w * ok, minlength=ngroups)
    est = np.bincount(g, weights=w * yz * ok, minlength=ngroups) / np.where(wsum > 0, wsum, np.nan)
    n = np.bincount(g, weights=ok.astype(float), minlength=ngroups)
    scores = np.zeros((len(y), ngroups))
    rows = np.nonzero(ok)[0]
    scores[rows, g[rows]] = w[rows] * (yz[rows] - est[g[rows]]) / wsum[g[rows]]
    return est, design.vcov(scores, present=ok), n, ok


def _check_breaks(codebook: Any, indicator: str, levels: list[int], wave: str) -> None:
    from ssp_research.data.codebook import load_codebook

    cb = load_codebook(codebook)
    name = indicator[4:] if indicator.startswith("ind_") else indicator
    names = {name}
    if name in cb.indicators:
        names.add(cb.indicators[name].source)
    for what, at, _note in cb.series_breaks:
        if what in names and levels[0] < at <= levels[-1]:
            raise EstimationError(
                f"the codebook declares a series break for {what!r} at {at}: a trend over "
                f"{levels[0]}-{levels[-1]} crosses it", column=wave, file=cb.path,
                rule="no trend across a series break",
                hint=f"use waves from {at} on, or pass allow_break=True and say so",
            )


def _with_columns(design, **columns):
    """A shallow copy of the design whose data has extra columns (same rows, same structure)."""
    return design.assign(**columns)


def _fit(design, formula: str, family: str):
    from ssp_research.survey.models import svyglm

    return svyglm(design, formula, family=family)


# --- trends -----------------------------------------------------------------------------------


def _trend_model(design, indicator, wave, adjust, codebook, allow_break):
    """The logistic trend model of :func:`trend`: ``(wv, y, levels, design2, terms, fit)``."""
    wv = _column(design, wave)
    y = _column(design, indicator)
    step, levels = _wave_steps(wv)
    if len(levels) < 2:
        raise EstimationError(
            f"a trend needs at least two waves; the data has {levels}", column=wave,
            rule="waves >= 2", hint="add earlier waves or report the single wave's estimate",
        )
    if codebook is not None and not allow_break:
        _check_breaks(codebook, indicator, levels, wave)
    d2 = _with_columns(design, _step=step)
    terms = ["_step"] + [f"C({c})" for c in adjust]
    fit = _fit(d2, f"{indicator} ~ " + " + ".join(terms), "quasibinomial")
    return wv, y, levels, d2, terms, fit


def trend_slope(data: Any, indicator: str, *, wave: str = "wave",
                 adjust: Sequence[str] = ("gender", "grade"), codebook: Any = None,
                 allow_break: bool = False) -> tuple[float, float]:
    """``(estimate, p_value)`` of the ``log_odds_per_wave`` row of :func:`trend` alone.

    The same model and test, without the prevalence, observed and change rows (the briefs'
    trend arrows need only the slope and its p-value).
    """
    design = _design(data)
    fit = _trend_model(design, indicator, wave, adjust, codebook, allow_break)[-1]
    b = fit.set_index("term")
    slope, se = float(b.loc["_step", "estimate"]), float(b.loc["_step", "se"])
    p = _ci_t(slope, se, float(fit["df"].iloc[0]), 0.95)[2]
    return slope, float(p)


def trend(
    data: Any,
    indicator: str,
    *,
    wave: str = "wave",
    adjust: Sequence[str] = ("gender", "grade"),
    change: tuple[int, int] | None = None,
    codebook: Any = None,
    allow_break: bool = False,
    level: float = 0.95,
) -> pd.DataFrame:
    """Design-based logistic trend of an indicator over waves.

    Parameters
    ----------
    data : DataFrame or SurveyDesign
        Tidy data (city design) or a design.
    indicator : str
        The 0/1 indicator column (e.g. ``"ind_lonely"``).
    wave : str
        The wave column; the wave step is the wave's position among the survey's waves.
    adjust : list of str
        Covariates entered as factors (default gender and grade); ``()`` for none.
    change : (int, int), optional
        Two waves (from, to) for the change in prevalence (default: first and last wave).
    codebook : str, Codebook or path, optional
        If given, a series break declared for the indicator inside the waves is an
        EstimationError (a trend across it compares different questions), unless
        ``allow_break=True``.
    allow_break : bool
    level : float

    Returns
    -------
    DataFrame
        Rows by ``quantity``: ``log_odds_per_wave`` (the slope: its t test is the test of a
        linear trend), ``odds_ratio_per_wave``, ``prevalence`` (one row per ``wave``: predicted
        by the model, averaged over the respondents' covariates), ``observed`` (per wave: the
        design-based prevalence) and ``change`` (observed prevalence at ``to`` minus ``from``;
        ``wave`` = to, ``wave_from`` = from). Columns: ``variable, quantity, wave, wave_from,
        estimate, se, ci_low, ci_high, df, n, p_value``.

    Notes
    -----
    logit P(y = 1) = b0 + b1 step + adjusters, fitted by weighted score equations with the
    sandwich variance (R: ``svyglm(y ~ step + gender + factor(grade), design,
    family = quasibinomial())``); df = degf - p + 1. Predicted prevalence at wave s:
    mean_i expit(x_i(s)' b) (weighted), se by the delta method. The change uses the joint
    linearised scores of the two wave means (R: ``svycontrast`` on ``svyby``).

    Examples
    --------
    See the module example.
    """
    design = _design(data)
    wv, y, levels, d2, terms, fit = _trend_model(design, indicator, wave, adjust, codebook,
                                                 allow_break)
    data_ = d2.data
    df_res = float(fit["df"].iloc[0])
    n = int(fit["n"].iloc[0])
    b = fit.set_index("term")
    slope, slope_se = float(b.loc["_step", "estimate"]), float(b.loc["_step", "se"])
    rows = []
    lo, hi, p = _ci_t(slope, slope_se, df_res, level)
    rows.append(dict(quantity="log_odds_per_wave", wave=np.nan, wave_from=np.nan,
                     estimate=slope, se=slope_se, ci_low=lo, ci_high=hi, df=df_res, n=n,
                     p_value=p))
    rows.append(dict(quantity="odds_ratio_per_wave", wave=np.nan, wave_from=np.nan,
                     estimate=np.exp(slope), se=np.exp(slope) * slope_se, ci_low=np.exp(lo),
                     ci_high=np.exp(hi), df=df_res, n=n, p_value=p))
    # predicted prevalence per wave, averaged over the used respondents' covariates
    from ssp_research.survey.models import model_matrix

    X, names, ok = model_matrix(data_, "~ " + " + ".join(terms))
    use = ok & np.isfinite(y) & (np.asarray(design.weights) > 0)
    beta = fit["estimate"].to_numpy()
    vcov = fit.attrs["vcov"].to_numpy()
    j = names.index("_step")
    w = np.asarray(design.weights)[use]
    Xu = X[use].copy()
    n_wave = np.bincount(np.searchsorted(levels, wv[use]), minlength=len(levels))
    for s, wave_value in enumerate(levels):
        Xu[:, j] = s
        mu = 1 / (1 + np.exp(-(Xu @ beta)))
        est = np.average(mu, weights=w)
        grad = (w * mu * (1 - mu)) @ Xu / w.sum()
        se = float(np.sqrt(grad @ vcov @ grad))
        lo, hi, _p = _ci_t(est, se, df_res, level)
        rows.append(dict(quantity="prevalence", wave=wave_value, wave_from=np.nan, estimate=est,
                         se=se, ci_low=lo, ci_high=hi, df=df_res, n=int(n_wave[s]),
                         p_value=np.nan))
    # observed prevalences and the change between two waves
    wcode = np.where(np.isfinite(wv), np.searchsorted(levels, wv), -1)
    est, v, nn, _ok = _domain_means(design, y, wcode, len(levels))
    dfree = float(design.degf())
    for s, wave_value in enumerate(levels):
        se = float(np.sqrt(v[s, s]))
        lo, hi, _p = _ci_t(est[s], se, dfree, level)
        rows.append(dict(quantity="observed", wave=wave_value, wave_from=np.nan,
                         estimate=est[s], se=se, ci_low=lo, ci_high=hi, df=dfree, n=int(nn[s]),
                         p_value=np.nan))
    a, z = change if change is not None else (levels[0], levels[-1])
    if a not in levels or z not in levels:
        raise ParameterError(
            f"change waves {a}, {z} are not among the survey's waves {levels}",
            rule="change=(from_wave, to_wave)", hint=f"choose two of {levels}",
        )
    ia, iz = levels.index(a), levels.index(z)
    diff = est[iz] - est[ia]
    dse = float(np.sqrt(max(v[iz, iz] + v[ia, ia] - 2 * v[ia, iz], 0.0)))
    lo, hi, p = _ci_t(diff, dse, dfree, level)
    rows.append(dict(quantity="change", wave=z, wave_from=a, estimate=diff, se=dse, ci_low=lo,
                     ci_high=hi, df=dfree, n=int(nn[ia] + nn[iz]), p_value=p))
    out = pd.DataFrame(rows)
    out.insert(0, "variable", indicator)
    return out[["variable", "quantity", "wave", "wave_from", *_COLS]]


# --- gaps -------------------------------------------------------------------------------------


def _subset_wave(design, wave: str, which: int | Sequence[int] | None):
    if which is None:
        return design
    wv = _column(design, wave)
    keep = np.isin(wv, np.atleast_1d(which))
    if not keep.any():
        raise EstimationError(
            f"no respondents in wave(s) {which}", column=wave, rule="wave present in the data",
            hint=f"use one of {sorted(np.unique(wv[np.isfinite(wv)]).astype(int).tolist())}",
        )
    return design.subset(keep)


def _contrast_rows(design, y, codes, labels, pairs, level):
    """Prevalence per group and the differences of the given (group, reference) pairs."""
    est, v, n, _ok = _domain_means(design, y, codes, len(labels))
    dfree = float(design.degf())
    rows = []
    for g, lab in enumerate(labels):
        se = float(np.sqrt(v[g, g]))
        lo, hi, _p = _ci_t(est[g], se, dfree, level)
        rows.append(dict(quantity="prevalence", group=lab, reference=None, estimate=est[g],
                         se=se, ci_low=lo, ci_high=hi, df=dfree, n=int(n[g]), p_value=np.nan))
    for g, r in pairs:
        d = est[g] - est[r]
        se = float(np.sqrt(max(v[g, g] + v[r, r] - 2 * v[g, r], 0.0)))
        lo, hi, p = _ci_t(d, se, dfree, level)
        rows.append(dict(quantity="difference", group=labels[g], reference=labels[r],
                         estimate=d, se=se, ci_low=lo, ci_high=hi, df=dfree,
                         n=int(n[g] + n[r]), p_value=p))
    return rows


def gaps(
    data: Any,
    indicator: str,
    *,
    by: str = "gender",
    reference: Any = None,
    scale: str = "difference",
    adjust: Sequence[str] = (),
    wave: int | Sequence[int] | None = None,
    wave_column: str = "wave",
    level: float = 0.95,
) -> pd.DataFrame:
    """Prevalence by a grouping (gender, grade, family economy) and each group's gap.

    Parameters
    ----------
    data : DataFrame or SurveyDesign
    indicator : str
        The 0/1 indicator column.
    by : str
        The grouping column.
    reference : optional
        The reference group (default: the first in sorted order, e.g. "boy", grade 8).
    scale : {"difference", "log_odds"}
        ``difference``: prevalences and differences of prevalences; ``log_odds``: log odds
        ratios of each group vs the reference from a design-based logistic regression,
        adjusted for the factors in ``adjust``.
    adjust : list of str
        Factors adjusted for on the log-odds scale (e.g. grade, family_economy).
    wave : int or list of int, optional
        Restrict to these waves (a domain of the full design); default all waves.
    wave_column : str
    level : float

    Returns
    -------
    DataFrame
        ``variable, by, quantity, group, reference, estimate, se, ci_low, ci_high, df, n,
        p_value``: a ``prevalence`` row per group and a ``difference`` row (group minus
        reference, percentage points as a share) per other group, with its t test; with
        ``scale="log_odds"`` one ``log_odds_ratio`` row per other group (df = degf - p + 1).

    Notes
    -----
    The gap is p_g - p_r with Var = V_gg + V_rr - 2 V_gr from the joint linearised scores of
    the two domain means. In R: ``svycontrast(svyby(~y, ~gender, design, svymean,
    covmat = TRUE), c(boy = -1, girl = 1))``.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame({"wave": 2025, "school": rng.choice(list("ABCD"), 2000),
    ...                    "gender": rng.choice(["boy", "girl"], 2000), "weight": 1.0})
    >>> df["ind_x"] = rng.binomial(1, np.where(df["gender"] == "girl", 0.3, 0.2)).astype(float)
    >>> g = gaps(df, "ind_x", by="gender")
    >>> g.loc[g["quantity"] == "difference", ["group", "reference"]].to_string(index=False)
    'group reference\\n girl       boy'
    """
    design = _subset_wave(_design(data), wave_column, wave)
    y = _column(design, indicator)
    if by not in design.data.columns:
        raise DataError(f"column {by!r} is not in the data", column=by, rule="known column",
                        hint="by= names a grouping column such as gender or grade")
    codes, labels = pd.factorize(design.data[by], sort=True)
    labels = list(labels)
    ref = labels[0] if reference is None else reference
    if ref not in labels:
        raise ParameterError(f"reference group {ref!r} is not a value of {by!r}", column=by,
                             rule="reference in the groups", hint=f"use one of {labels}")
    r = labels.index(ref)
    if scale == "log_odds":
        order = [ref] + [lab for lab in labels if lab != ref]
        cat = pd.Categorical(design.data[by], categories=order)
        d2 = _with_columns(design, _group=cat)
        terms = ["C(_group)"] + [f"C({c})" for c in adjust]
        fit = _fit(d2, f"{indicator} ~ " + " + ".join(terms), "quasibinomial").set_index("term")
        rows = []
        for lab in order[1:]:
            row = fit.loc[f"_group{lab}"]
            rows.append(dict(variable=indicator, by=by, quantity="log_odds_ratio", group=lab,
                             reference=ref, **{c: row[c] for c in _COLS}))
        out = pd.DataFrame(rows)
        out["n"] = out["n"].astype("int64")
        return out
    if scale != "difference":
        raise ParameterError(f"unknown gap scale {scale!r}",
                             rule="scale in {'difference', 'log_odds'}", hint="use 'difference'")
    pairs = [(g, r) for g in range(len(labels)) if g != r]
    out = pd.DataFrame(_contrast_rows(design, y, codes.astype(np.int64), labels, pairs, level))
    out.insert(0, "by", by)
    out.insert(0, "variable", indicator)
    return out


def social_gradient(
    data: Any,
    indicator: str,
    *,
    economy: str = "family_economy",
    method: str = "slope",
    worst: Sequence[float] = (1, 2),
    best: Sequence[float] = (5,),
    adjust: Sequence[str] = (),
    wave: int | Sequence[int] | None = None,
    wave_column: str = "wave",
    level: float = 0.95,
) -> pd.DataFrame:
    """The social gradient of an indicator by family economy.

    Parameters
    ----------
    data : DataFrame or SurveyDesign
    indicator : str
        The 0/1 indicator column.
    economy : str
        The family-economy column (1 worst .. 5 best).
    method : {"slope", "extremes"}
        ``slope``: log-odds per step of ``economy`` from a design-based logistic regression;
        ``extremes``: prevalence among the worst-off minus among the best-off.
    worst, best : list of codes
        The worst- and best-off groups for ``extremes``.
    adjust : list of str
        Factors adjusted for in the slope model (e.g. gender, grade).
    wave, wave_column, level
        As in :func:`gaps`.

    Returns
    -------
    DataFrame
        ``variable, method, estimate, se, ci_low, ci_high, df, n, p_value``; for ``slope``
        also ``odds_ratio`` (per step).

    Notes
    -----
    slope: logit P(y) = b0 + b1 economy (+ adjusters), estimate = b1 (R: ``svyglm(y ~
    family_economy, design, family = quasibinomial())``); extremes: p_worst - p_best with the
    joint linearised variance.

    Examples
    --------
    >>> rng = np.random.default_rng(4)
    >>> df = pd.DataFrame({"wave": 2025, "school": rng.choice(list("ABCD"), 3000),
    ...                    "family_economy": rng.integers(1, 6, 3000), "weight": 1.0})
    >>> p = 1 / (1 + np.exp(-(-1 - 0.3 * (df["family_economy"] - 3))))
    >>> df["ind_x"] = rng.binomial(1, p).astype(float)
    >>> round(float(social_gradient(df, "ind_x")["estimate"].iloc[0]), 2)
    -0.31
    """
    design = _subset_wave(_design(data), wave_column, wave)
    y = _column(design, indicator)
    econ = _column(design, economy)
    if method == "slope":
        terms = [economy] + [f"C({c})" for c in adjust]
        fit = _fit(design, f"{indicator} ~ " + " + ".join(terms), "quasibinomial")
        row = fit.set_index("term").loc[economy]
        return pd.DataFrame([dict(
            variable=indicator, method="slope", estimate=row["estimate"], se=row["se"],
            ci_low=row["ci_low"], ci_high=row["ci_high"], df=row["df"], n=int(row["n"]),
            p_value=row["p_value"], odds_ratio=float(np.exp(row["estimate"])),
        )])
    if method != "extremes":
        raise ParameterError(f"unknown gradient method {method!r}",
                             rule="method in {'slope', 'extremes'}", hint="use 'slope'")
    codes = np.where(np.isin(econ, worst), 0, np.where(np.isin(econ, best), 1, -1))
    if (codes == 0).sum() == 0 or (codes == 1).sum() == 0:
        raise EstimationError(
            "the worst- or best-off group has no respondents", column=economy,
            rule=f"worst={list(worst)}, best={list(best)} present",
            hint="widen the groups, e.g. worst=(1, 2), best=(4, 5)",
        )
    rows = _contrast_rows(design, y, codes.astype(np.int64), ["worst", "best"], [(0, 1)], level)
    d = rows[-1]
    return pd.DataFrame([dict(variable=indicator, method="extremes",
                              **{k: d[k] for k in _COLS})])
