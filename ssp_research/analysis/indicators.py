"""Indicator tables: every indicator of an instrument for a unit against a comparison, by wave.

One call gives, for each indicator and wave, the unit's estimate with its CI, the comparison's
estimate (the city, the unit's own district, a fixed unit, or published reference figures), the
difference with its CI and a design-based test, the number of respondents, the series-break
marker from the codebook, and a ``reason`` where a number cannot be given. Rolling pooling of
consecutive waves (as the public-health profiles do) and direct standardisation by
grade x gender are options of the same call.

The design of the city data
---------------------------
Trondheim's own survey asks every lower-secondary school, so schools are not sampled: they are
**strata**, and pupils are the sampling units within each school and wave. :func:`city_design`
therefore uses ``strata = wave x school``, ``ids = pupil``, ``weights = weight`` (R:
``svydesign(ids = ~1, strata = ~interaction(wave, school), weights = ~weight)``). Treating
schools as PSUs (``ids = ~school``) would give every school estimate a standard error of exactly
zero (a domain inside one PSU has a linearised PSU total of zero), a silent wrong number. A
stratum with a single respondent is handled as R's ``survey.lonely.psu = "adjust"`` (centred at
zero, which is the grand mean of domain scores).

Variance
--------
Domain ratio estimates p = sum(w y) / sum(w) are Taylor-linearised with row scores
z = w (y - p) / W on the domain; with standardisation the scores are weighted by the standard
shares (see :func:`indicator_table`). PSU totals t of the scores give
Var = sum_h n_h / (n_h - 1) sum_i (t_hi - tbar_h)^2, and the covariance of a unit with its
comparison is the same sum over the products of their PSU totals (R: ``svyby(...,
covmat = TRUE)`` then ``svycontrast``), so the overlap of a school with its city is accounted for.
The computation is vectorised over all units and indicators with sparse group matrices.

Examples
--------
>>> from ssp_research.analysis.indicators import indicator_table
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"wave": 2025, "district": rng.choice(["A", "B"], 400),
...                    "weight": 1.0, "ind_x": rng.binomial(1, 0.3, 400).astype(float)})
>>> df["school"] = df["district"] + rng.choice(["1", "2"], 400)
>>> t = indicator_table(df, indicators=["x"], unit="district", compare="city")
>>> t[["indicator", "wave", "district", "n", "cmp_n"]]
  indicator  wave district    n  cmp_n
0         x  2025        A  179  400.0
1         x  2025        B  221  400.0
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ssp_research.analysis.domain_engine import _cross_cov, _Level, _spec_from
from ssp_research.core.atomic import atomic_write
from ssp_research.core.errors import DataError, ParameterError

__all__ = ["city_design", "require_role_columns", "indicator_table", "write_table",
           "with_economy_group", "resolve_indicators",
           "RESULT_COLUMNS", "ECONOMY_GROUPS"]

RESULT_COLUMNS = [
    "estimate", "se", "ci_low", "ci_high", "df", "n", "count",
    "cmp_estimate", "cmp_se", "cmp_ci_low", "cmp_ci_high", "cmp_n",
    "diff", "diff_se", "diff_ci_low", "diff_ci_high", "p_value",
    "series_break", "higher_is_better", "reason",
]  # fmt: skip


def require_role_columns(df: pd.DataFrame, columns: dict[str, str], *, what: str) -> None:
    """Raise a named DataError when a role column (``wave``, ``school`` ...) is missing.

    The message names the missing column, the columns found, a column that plays the role
    under a Norwegian name (``År`` for ``wave``, :mod:`ssp_research.data.roles`) or a close
    spelling, and the fix.

    Examples
    --------
    >>> try:
    ...     require_role_columns(pd.DataFrame({"År": [2025], "skole": ["Å"]}),
    ...                          {"wave": "wave"}, what="the city design")
    ... except DataError as err:
    ...     print(err.message)
    ...     print(err.hint.split(", or")[0])
    the wave column 'wave' is not in the data (needed by the city design); columns found: År, skole
    'År' looks like the wave column: pass wave='År'
    """
    from ssp_research.data.roles import role_of_column

    cols = [str(c) for c in df.columns]
    for role, col in columns.items():
        if col is None or col in df.columns:
            continue
        alias = [c for c in cols if role_of_column(c) == role]
        close = difflib.get_close_matches(str(col), cols, 1, 0.6)
        arg = {"weight": "weights"}.get(role, role)
        if alias:
            hint = f"{alias[0]!r} looks like the {role} column: pass {arg}={alias[0]!r}, or "
        elif close:
            hint = f"did you mean {close[0]!r}? pass {arg}={close[0]!r}, or "
        else:
            hint = f"pass {arg}= the column that holds the {role}, or "
        shown = ", ".join(cols[:30]) + (f" ... ({len(cols)} in all)" if len(cols) > 30 else "")
        raise DataError(
            f"the {role} column {col!r} is not in the data (needed by {what}); columns found: "
            f"{shown}", column=col, rule="tidy data names role columns by role",
            hint=hint + "clean the export with ssp clean / clean.apply, which names role "
                        "columns by role")


def city_design(df: pd.DataFrame, *, weights: str = "weight", wave: str = "wave",
                school: str = "school"):
    """The survey design of the city data: schools x waves as strata, pupils as units.

    Parameters
    ----------
    df : DataFrame
        Tidy survey data with ``wave``, ``school`` and ``weight`` columns.
    weights, wave, school : str
        Column names.

    Returns
    -------
    SurveyDesign
        ``SurveyDesign(df, ids=None, strata="_stratum", weights=weights, lonely_psu="adjust")``
        with ``_stratum`` = wave|school added to the data.

    Notes
    -----
    Every school takes part, so schools are strata, not sampled clusters (see the module notes).
    In R: ``svydesign(ids = ~1, strata = ~interaction(wave, school), weights = ~weight,
    data = df)`` with ``options(survey.lonely.psu = "adjust")``.
    """
    from ssp_research.survey.design import SurveyDesign  # helper C1's module, imported lazily

    require_role_columns(df, {"wave": wave, "school": school, "weight": weights},
                         what="the city design")
    data = df.assign(_stratum=df[wave].astype(str) + "|" + df[school].astype(str))
    return SurveyDesign(data, ids=None, strata="_stratum", weights=weights, lonely_psu="adjust")


# --- the public call --------------------------------------------------------------------------


def resolve_indicators(df: pd.DataFrame, codebook: Any, indicators: Sequence[str] | None):
    """(names, data columns, higher_is_better, {name: first wave of a new series})."""
    breaks: dict[str, list[int]] = {}
    if codebook is not None:
        from ssp_research.data.codebook import load_codebook

        cb = load_codebook(codebook)
        names = list(indicators) if indicators is not None else list(cb.indicators)
        cols = [cb.indicator_column(n) for n in names]  # CodebookError for unknown names
        hib = [bool(cb.indicators[n].higher_is_better) for n in names]
        for ind, wave, _note in cb.series_breaks:
            breaks.setdefault(ind, []).append(int(wave))
        for name in names:  # a break declared on the source item applies to the indicator
            src = cb.indicators[name].source
            if src in breaks and name not in breaks:
                breaks[name] = breaks[src]
    else:
        if not indicators:
            raise ParameterError(
                "no indicators given and no codebook to take them from",
                rule="indicators= or codebook=",
                hint="pass codebook='ungdata' or a list of indicator names",
            )
        names = list(indicators)
        cols = [("ind_" + n) if ("ind_" + n) in df.columns else n for n in names]
        hib = [np.nan] * len(names)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(
            f"indicator columns not in the data: {missing}", column=missing[0],
            rule="each indicator has a column ind_<name>",
            hint="clean the data with the codebook (clean.apply) or check the names",
        )
    return names, cols, hib, breaks


def _unit_codes(df: pd.DataFrame, unit: Any, city: str) -> tuple[list, np.ndarray, list]:
    """(output columns, group code per row (-1 outside), unit labels as tuples)."""
    if unit is None:
        if city in df.columns:
            codes, labels = pd.factorize(df[city].astype(str), sort=True)
            return [city], codes.astype(np.int64), [(v,) for v in labels]
        return ["unit"], np.zeros(len(df), dtype=np.int64), [("all",)]
    if isinstance(unit, str):
        unit = [unit]
    if isinstance(unit, list):
        for col in unit:
            _need_column(df, col, "unit")
        if len(unit) == 1:
            codes, labels = pd.factorize(df[unit[0]].astype(str), sort=True)
            return unit, codes.astype(np.int64), [(v,) for v in labels]
        keys = df[unit].astype(str)
        grouped = keys.groupby(unit, sort=True)
        codes = grouped.ngroup().fillna(-1).to_numpy(np.int64)  # -1: a key is missing
        return unit, codes, [tuple(k) for k in grouped.groups.keys()]
    col, value = unit
    _need_column(df, col, "unit")
    hit = (df[col].astype(str) == str(value)).to_numpy()
    if not hit.any():
        raise DataError(
            f"no respondents in unit {col}={value!r} in any wave", column=col,
            rule="the unit exists in the data",
            hint=f"use one of {sorted(df[col].astype(str).unique())[:10]}",
        )
    return [col], np.where(hit, 0, -1).astype(np.int64), [(str(value),)]


def _need_column(df: pd.DataFrame, col: str, what: str) -> None:
    if col not in df.columns:
        raise DataError(
            f"{what} column {col!r} is not in the data", column=col,
            rule=f"{what} names a data column", hint=f"use one of {list(df.columns)[:12]}",
        )


def _standard_shares(df: pd.DataFrame, standardise: Any, by: Sequence[str],
                     weights: str = "weight"):
    """(cell code per row, shares per cell; the last cell has share 0 for rows outside)."""
    if standardise is None:
        return np.zeros(len(df), dtype=np.int64), np.array([1.0])
    if isinstance(standardise, str):
        if standardise != "city":
            raise ParameterError(
                f"unknown standard population {standardise!r}",
                rule="standardise = 'city' or a table", hint="pass a DataFrame or 'city'",
            )
        for c in by:
            _need_column(df, c, "standardisation")
        w = df[weights] if weights in df.columns else pd.Series(1.0, index=df.index)
        standardise = (pd.DataFrame({**{c: df[c] for c in by}, "pupils": w})
                       .groupby(list(by), as_index=False)["pupils"].sum())
    std = pd.DataFrame(standardise)
    for c in by:
        _need_column(df, c, "standardisation")
        if c not in std.columns:
            raise ParameterError(
                f"the standard population has no {c!r} column", column=c,
                rule="standard population by " + " x ".join(by),
                hint="give a table with columns " + ", ".join(by) + " and pupils (or share)",
            )
    size = next((c for c in ("share", "pupils", "population", "n") if c in std.columns), None)
    if size is None:
        raise ParameterError(
            "the standard population needs a 'pupils' or 'share' column",
            rule="standard population size column", hint="add pupils= counts per cell",
        )
    tab = std.groupby([std[c].astype(str) for c in by])[size].sum()
    tab = tab[tab > 0]
    if len(by) == 1:  # groupby on one key gives a flat Index, not a MultiIndex
        keys = pd.Index(df[by[0]].astype(str))
    else:
        keys = pd.MultiIndex.from_frame(pd.DataFrame({c: df[c].astype(str) for c in by}))
    cell = tab.index.get_indexer(keys)
    cell = np.where(cell < 0, len(tab), cell).astype(np.int64)
    shares = np.append(tab.to_numpy("float64") / tab.sum(), 0.0)
    return cell, shares


def _partner(unit_codes: np.ndarray, cmp_codes: np.ndarray, nunits: int) -> np.ndarray:
    """The comparison group of each unit (from its first row); -1 if none."""
    out = np.full(nunits, -1, dtype=np.int64)
    ok = (unit_codes >= 0) & (cmp_codes >= 0)
    idx = np.nonzero(ok)[0][::-1]  # reversed so the first row wins
    out[unit_codes[idx]] = cmp_codes[idx]
    return out


def _ci(est, se, df, level, binary, n):
    """CI: logit (svyciprop's default) for shares, exact binomial at 0 or 1; Wald for means."""
    q = stats.t.ppf(0.5 + level / 2, df) if np.isfinite(df) and df > 0 else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = est - q * se, est + q * se
        lg = np.log(est / (1 - est))
        sl = se / (est * (1 - est))
        llo = 1 / (1 + np.exp(-(lg - q * sl)))
        lhi = 1 / (1 + np.exp(-(lg + q * sl)))
        a = (1 - level) / 2
        edge = np.where(n > 0, 1 - a ** (1 / np.maximum(n, 1)), np.nan)
    b = np.broadcast_to(binary, est.shape)
    lo = np.where(b, np.where(est <= 0, 0.0, np.where(est >= 1, 1 - edge, llo)), lo)
    hi = np.where(b, np.where(est <= 0, edge, np.where(est >= 1, 1.0, lhi)), hi)
    return lo, hi


def _window(all_waves: list[int], target: int, pool: int) -> list[int]:
    before = [w for w in all_waves if w <= target]
    return before[-pool:] if before and before[-1] == target else []


def indicator_table(
    data: Any,
    codebook: Any = None,
    *,
    indicators: Sequence[str] | None = None,
    unit: str | tuple[str, Any] | None = None,
    compare: str | tuple[str, Any] | pd.DataFrame | None = "city",
    waves: Sequence[int] | None = None,
    pool: int = 1,
    standardise: pd.DataFrame | None = None,
    standardise_by: Sequence[str] = ("grade", "gender"),
    level: float = 0.95,
    weights: str = "weight",
    wave: str = "wave",
    school: str = "school",
    city: str = "municipality",
) -> pd.DataFrame:
    """Every indicator by wave for a unit (or all units of a level) against a comparison.

    Parameters
    ----------
    data : DataFrame or SurveyDesign
        Tidy survey data (the city design of :func:`city_design` is used) or a design.
    codebook : str, Codebook or path, optional
        The instrument: gives the indicators (all by default), their data columns
        (``ind_<name>``), ``higher_is_better`` and the series breaks.
    indicators : list of str, optional
        Indicator names (default: all of the codebook). An unknown name is a CodebookError.
    unit : None, str, list of str or (column, value)
        None: the city (``municipality`` column, or all rows); a column name such as
        ``"school"``: every unit of that level at once; a list of columns such as
        ``["district", "gender"]``: every combination (one output column each);
        ``("school", "X")``: one unit.
    compare : "city", "all", column name, (column, value), DataFrame or None
        "city": the unit's municipality; "all": all the data (e.g. the nation in national
        data); a column such as ``"district"``: each unit's own
        group in that column (school vs its district); ``(column, value)``: one fixed unit;
        a DataFrame of published reference figures with columns ``indicator, wave, estimate``
        and optionally ``se``, ``n`` (treated as independent of the survey; se 0 if absent).
    waves : list of int, optional
        Waves to report (default: all in the data).
    pool : int
        Rolling window of consecutive waves (3 as in the public-health profiles); the estimate
        is sum(w y) / sum(w) over the window and ``n`` the pooled n. A window never crosses an
        indicator's series break (earlier waves are left out of it).
    standardise : DataFrame or "city", optional
        A standard population by ``standardise_by`` (default grade x gender) with a ``pupils``
        (or ``share``) column, summed over any other columns (so ``population.csv`` of the
        synthetic data works as it is); ``"city"``: the weighted distribution of all the data.
        Direct standardisation of unit and comparison.
    level : float
        Confidence level.
    weights, wave, school, city : str
        Column names used when ``data`` is a DataFrame.

    Returns
    -------
    DataFrame
        One row per indicator x wave x unit: ``indicator``, ``wave``, the unit column (named by
        the level, e.g. ``school``; ``municipality`` for the city), ``pooled_from`` (first wave
        of the window; only when ``pool > 1``), ``estimate``, ``se``, ``ci_low``, ``ci_high``
        (logit CI with design df, as ``svyciprop``; exact binomial bound at 0 or 1; Wald for
        non-binary columns), ``df`` (design df), ``n`` (respondents with an answer), ``count``
        (of them with the attribute), ``cmp_estimate``, ``cmp_se``, ``cmp_ci_low``,
        ``cmp_ci_high``, ``cmp_n``,
        ``diff`` (unit - comparison), ``diff_se``, ``diff_ci_low``, ``diff_ci_high``,
        ``p_value`` (t test of diff = 0 with design df), ``series_break`` (this wave starts a
        new series), ``higher_is_better`` and ``reason`` (empty, or why a value is NaN).

    Notes
    -----
    Standardised estimate: sum_c s_c p_uc over grade x gender cells c with standard shares
    s_c; its linearised row scores are s_c w (y - p_uc) / W_uc. The difference's variance is
    Var(u) + Var(c) - 2 Cov(u, c), with the covariance from the joint PSU totals (a school is
    part of its city). In R: ``svyby(~ind, ~school, design, svymean, covmat = TRUE)`` and
    ``svycontrast`` against ``svymean`` of the city.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"wave": np.repeat([2023, 2025], 300), "weight": 1.0,
    ...                    "school": rng.choice(["S1", "S2", "S3"], 600),
    ...                    "ind_y": rng.binomial(1, 0.2, 600).astype(float)})
    >>> t = indicator_table(df, indicators=["y"], unit=("school", "S1"), compare="city")
    >>> t[["wave", "school", "n", "cmp_n"]].to_string(index=False)
    ' wave school  n  cmp_n\\n 2023     S1 97  300.0\\n 2025     S1 97  300.0'
    """
    if not isinstance(pool, int | np.integer) or pool < 1:
        raise ParameterError(
            f"pool must be a positive integer, got {pool!r}", rule="pool >= 1",
            hint="pool=1 (single waves) or pool=3 (rolling three waves)",
        )
    spec = _spec_from(data, weights, wave, school)
    df = spec.data
    _need_column(df, wave, "wave")
    names, cols, hib, breaks = resolve_indicators(df, codebook, indicators)
    y = df[cols].apply(pd.to_numeric, errors="coerce").to_numpy("float64")
    binary = np.array([np.isin(y[:, k][np.isfinite(y[:, k])], (0.0, 1.0)).all()
                       for k in range(len(cols))])
    wv = pd.to_numeric(df[wave]).to_numpy()
    all_waves = sorted(int(v) for v in np.unique(wv))
    report_waves = all_waves if waves is None else [int(v) for v in waves]
    ucol, ucodes, ulabels = _unit_codes(df, unit, city)
    nunits = len(ulabels)
    cell, shares = _standard_shares(df, standardise, list(standardise_by), weights)

    reference = None
    ccodes = partner = None
    if isinstance(compare, pd.DataFrame):
        reference = compare
        need = {"indicator", "wave", "estimate"} - set(reference.columns)
        if need:
            raise ParameterError(
                f"the reference table lacks columns {sorted(need)}",
                rule="reference columns indicator, wave, estimate [, se, n]",
                hint="give published figures as a tidy table",
            )
    elif compare is not None:
        if compare == "city":
            _, ccodes, _ = _unit_codes(df, None, city)
        elif compare == "all":
            ccodes = np.zeros(len(df), dtype=np.int64)
        else:
            _, ccodes, _ = _unit_codes(df, compare, city)
        partner = _partner(ucodes, ccodes, nunits)
        if isinstance(compare, tuple):
            partner = np.zeros(nunits, dtype=np.int64)
        ncmp = int(ccodes.max()) + 1 if (ccodes >= 0).any() else 1

    k = len(cols)
    frames = []
    for target in report_waves:
        win = _window(all_waves, target, pool)
        rows = np.nonzero(np.isin(wv, win))[0] if win else np.zeros(0, dtype=np.int64)
        valid = np.isfinite(y[rows]).astype(float)
        for j, name in enumerate(names):  # a pooled window never crosses a series break
            first = max([b for b in breaks.get(name, []) if b <= target], default=None)
            if first is not None:
                valid[:, j] *= wv[rows] >= first
        yr = y[rows]
        unit_lv = _Level(spec, rows, ucodes[rows], nunits, cell[rows], shares, yr, valid)
        est, var = unit_lv.estimate, unit_lv.var
        out = {
            "estimate": est, "se": np.sqrt(var), "n": unit_lv.n, "count": unit_lv.count,
        }  # fmt: skip
        reason = np.where(unit_lv.n == 0, "no respondents", "")
        reason = np.where(unit_lv.empty_cell, "empty standardisation cell", reason)
        if partner is not None:
            cmp_lv = _Level(spec, rows, ccodes[rows], ncmp, cell[rows], shares, yr, valid)
            pidx = np.clip(partner, 0, None)
            has = (partner >= 0)[:, None]
            c_est = np.where(has, cmp_lv.estimate[pidx], np.nan)
            c_var = np.where(has, cmp_lv.var[pidx], np.nan)
            cov = _cross_cov(spec, unit_lv, cmp_lv, partner)
            out.update(cmp_estimate=c_est, cmp_se=np.sqrt(c_var),
                       cmp_n=np.where(has, cmp_lv.n[pidx], 0.0))
            d_var = np.maximum(var + c_var - 2 * cov, 0.0)
            reason = np.where((reason == "") & (out["cmp_n"] == 0),
                              "comparison has no respondents", reason)
        elif reference is not None:
            ref = reference[reference["wave"].astype(int) == target].drop_duplicates("indicator")
            ref = ref.set_index(ref["indicator"].astype(str))
            r_est = ref["estimate"].reindex(names).to_numpy("float64")
            r_se = (ref["se"].reindex(names).to_numpy("float64") if "se" in ref
                    else np.zeros(k))
            r_n = (ref["n"].reindex(names).to_numpy("float64") if "n" in ref
                   else np.full(k, np.nan))
            c_est = np.broadcast_to(r_est, (nunits, k))
            c_var = np.broadcast_to(np.nan_to_num(r_se) ** 2, (nunits, k))
            out.update(cmp_estimate=c_est, cmp_se=np.broadcast_to(r_se, (nunits, k)),
                       cmp_n=np.broadcast_to(r_n, (nunits, k)))
            d_var = var + c_var
            reason = np.where((reason == "") & np.isnan(c_est), "no reference figure", reason)
        else:
            c_est = np.full((nunits, k), np.nan)
            c_var = d_var = c_est
            out.update(cmp_estimate=c_est, cmp_se=c_est, cmp_n=c_est)
        out.update(diff=est - c_est, diff_se=np.sqrt(d_var))
        out["reason"] = reason
        frame = {key: np.asarray(val).T.ravel() for key, val in out.items()}
        frame["indicator"] = np.repeat(names, nunits)
        frame["wave"] = target
        for j, col in enumerate(ucol):
            frame[col] = np.tile([lab[j] for lab in ulabels], k)
        frame["pooled_from"] = win[0] if win else target
        frame["binary"] = np.repeat(binary, nunits)
        frame["series_break"] = np.repeat([target in breaks.get(n, []) for n in names], nunits)
        frame["higher_is_better"] = np.repeat(hib, nunits)
        frames.append(pd.DataFrame(frame))
    res = pd.concat(frames, ignore_index=True)
    dfree = spec.degf
    res["df"] = dfree
    n = res["n"].to_numpy("float64")
    est = res["estimate"].to_numpy("float64")
    binr = res.pop("binary").to_numpy(bool)
    res["ci_low"], res["ci_high"] = _ci(est, res["se"].to_numpy("float64"), dfree, level, binr, n)
    cmp_n = res["cmp_n"].to_numpy("float64")
    cmp_est = res["cmp_estimate"].to_numpy("float64")
    res["cmp_ci_low"], res["cmp_ci_high"] = _ci(
        cmp_est, res["cmp_se"].to_numpy("float64"), dfree, level, binr,
        np.where(np.isnan(cmp_n), np.inf, cmp_n),
    )
    q = stats.t.ppf(0.5 + level / 2, dfree)
    d, dse = res["diff"].to_numpy("float64"), res["diff_se"].to_numpy("float64")
    res["diff_ci_low"], res["diff_ci_high"] = d - q * dse, d + q * dse
    with np.errstate(invalid="ignore", divide="ignore"):
        tstat = np.where(dse > 0, d / dse, np.where(d == 0, 0.0, np.inf))
    res["p_value"] = np.where(np.isnan(d), np.nan, 2 * stats.t.sf(np.abs(tstat), dfree))
    res["n"] = res["n"].astype("int64")
    res["count"] = np.where(binr, res["count"], np.nan)
    extra = [] if pool == 1 else ["pooled_from"]
    order = np.lexsort((res["wave"].to_numpy(), pd.Categorical(res["indicator"], names).codes))
    res = res.iloc[order].reset_index(drop=True)
    return res[["indicator", "wave", *ucol, *extra, *RESULT_COLUMNS]]


def _json_default(value: Any):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return str(value)


def write_table(table: pd.DataFrame, path: str | Path | None, *, format: str = "csv") -> str:
    """Write a result table as CSV or JSON records, atomically; return the text if no path.

    Parameters
    ----------
    table : DataFrame
    path : str or Path, optional
        Destination; written to a temporary file in the same folder, then ``os.replace``.
    format : {"csv", "json"}
        Full precision in both (shortest round-trip repr of each float; NaN is empty in CSV
        and null in JSON).

    Returns
    -------
    str
        The path written, or the text when ``path`` is None.

    Examples
    --------
    >>> print(write_table(pd.DataFrame({"a": [0.1]}), None, format="json"))
    [{"a": 0.1}]
    """
    if format == "csv":
        text = table.to_csv(index=False)
    elif format == "json":
        recs = table.astype(object).where(table.notna(), None).to_dict(orient="records")
        text = json.dumps(recs, ensure_ascii=False, default=_json_default)
    else:
        raise ParameterError(f"unknown format {format!r}", rule="format in {'csv', 'json'}",
                             hint="use --format csv or --format json")
    if path is None:
        return text
    return str(atomic_write(path, text))


#: Family economy (the pupils' own 1-5 rating) as three groups.
ECONOMY_GROUPS = {1.0: "poor", 2.0: "poor", 3.0: "middle", 4.0: "good", 5.0: "good"}


def with_economy_group(data: pd.DataFrame) -> pd.DataFrame:
    """The data with ``economy_group`` (hard up 1-2, middle 3, well off 4-5) when it has
    ``family_economy``; unchanged otherwise.

    A batch that publishes family-economy gaps builds its publication from this frame with
    ``breakdowns=("gender", "grade", "economy_group")`` (one protection, see
    :func:`ssp_research.brief.gaps.gap_table`).

    >>> with_economy_group(pd.DataFrame({"family_economy": [1, 3, 5, None]}))[
    ...     "economy_group"].tolist()
    ['poor', 'middle', 'good', nan]
    """
    if "family_economy" not in data.columns:
        return data
    return data.assign(economy_group=data["family_economy"].astype(float).map(ECONOMY_GROUPS))
