"""Findings as plain-language sentences (nb and en).

The brief stage is the only one that rounds: every function takes full-precision,
*protected* tables (after :func:`ssp_research.disclosure.protect`) and writes text. Numbers
follow the language (Bokmål ``12,3 %`` and ``1 234``, English ``12.3%`` and ``1,234``) through
the formatters of :mod:`ssp_research.brief.language`.

Honesty rules, enforced here and tested:

* a difference is called a difference only when the design-based test says so: ``p_value <
  0.05`` **and** the confidence interval of the difference excludes 0; otherwise the text says
  "ingen sikker forskjell" / "no clear difference";
* a change over time is called a rise or fall only when the trend test is significant;
* a suppressed cell's value is never written: the text says the figure is not shown to protect
  privacy;
* strengths are written as shares of pupils ("Nesten 9 av 10 elever ... har en venn de kan
  stole på"), and lead the findings when the strategy asks for strength-first wording; a
  risk is never turned into a strength ("har ikke mange depressive symptomer").

Examples
--------
>>> row = {"estimate": 0.2, "diff": 0.05, "diff_ci_low": 0.01, "diff_ci_high": 0.09,
...        "p_value": 0.01}
>>> is_significant(row), trend_arrow({"estimate": 0.2, "slope": 0.1, "p_value": 0.001})
(True, '↑')
"""

from __future__ import annotations

import pandas as pd

from ssp_research.brief.language import (
    _PHRASES,
    _STRENGTH_MIN,
    _check_lang,
    _fraction,
    _join,
    _missing,
    _noun,
    _subject,
    format_percent,
    text,
)
from ssp_research.core.errors import DataError, ParameterError

__all__ = [
    "is_significant",
    "trend_arrow",
    "indicator_sentence",
    "headline_findings",
    "goal_summaries",
]

ALPHA = 0.05
_MAX_STRENGTHS = 3  # leave room for the hedged "no clear difference" sentence
_MIN_SENTENCES = 3  # below this, indicators without a clear difference get their own sentence


# --- significance and arrows --------------------------------------------------------------------


def _get(row, *names, default=None):
    for name in names:
        if name in row and not _missing(row[name]):
            return row[name]
    return default


def _suppressed(row) -> bool:
    """Suppressed by disclosure control (the value must never be written)."""
    return bool(_get(row, "suppressed", default=False))


def _hidden(row) -> bool:
    """No value to talk about: suppressed, or no estimate at all (e.g. no answers)."""
    return _suppressed(row) or _missing(_get(row, "estimate"))


def is_significant(row, alpha: float = ALPHA) -> bool:
    """Whether the unit-vs-comparison difference of an indicator row is statistically clear.

    True only when ``p_value < alpha`` and the interval ``[diff_ci_low, diff_ci_high]``
    excludes 0 (when either is present, both present ones must agree); False when the row is
    suppressed or has neither.

    Examples
    --------
    >>> is_significant({"diff": 0.05, "diff_ci_low": 0.01, "diff_ci_high": 0.09,
    ...                 "p_value": 0.01, "estimate": 0.2})
    True
    >>> is_significant({"diff": 0.05, "diff_ci_low": -0.01, "diff_ci_high": 0.11,
    ...                 "p_value": 0.03, "estimate": 0.2})
    False
    """
    if _hidden(row):
        return False
    p = _get(row, "p_value")
    low, high = _get(row, "diff_ci_low"), _get(row, "diff_ci_high")
    if p is None and (low is None or high is None):
        return False
    ok = True
    if p is not None:
        ok = ok and float(p) < alpha
    if low is not None and high is not None:
        ok = ok and (float(low) > 0 or float(high) < 0)
    return bool(ok)


def trend_arrow(row, alpha: float = ALPHA) -> str:
    """An arrow for a statistically clear change: "↑", "↓", or "→" (no clear change).

    Reads a trend row (``slope`` or ``trend_slope`` with ``p_value``/``trend_p_value``) and
    otherwise an indicator row (``diff`` vs the comparison, tested by :func:`is_significant`).
    A suppressed row, or one without an estimate, gives "" (nothing to show).

    Examples
    --------
    >>> trend_arrow({"estimate": 0.2, "slope": 0.01, "p_value": 0.001})
    '↑'
    >>> trend_arrow({"estimate": 0.2, "slope": -0.01, "p_value": 0.2})
    '→'
    >>> trend_arrow({"estimate": float("nan"), "suppressed": True, "slope": 0.01})
    ''
    """
    if _hidden(row):
        return ""
    slope = _get(row, "slope", "trend_slope")
    if slope is not None:
        p = _get(row, "trend_p_value", "slope_p_value", "p_value")
        if p is None or float(p) >= alpha or float(slope) == 0:
            return "→"
        return "↑" if float(slope) > 0 else "↓"
    diff = _get(row, "diff")
    if diff is None or not is_significant(row, alpha):
        return "→"
    return "↑" if float(diff) > 0 else "↓"


# --- sentences ----------------------------------------------------------------------------------


def indicator_sentence(
    row,
    *,
    codebook=None,
    lang: str = "nb",
    unit_name: str | None = None,
    comparison_name: str | None = None,
) -> str:
    """One hedged sentence comparing a unit with its comparison for one indicator row.

    Parameters
    ----------
    row : Mapping or Series
        An indicator-table row (``indicator, estimate, cmp_estimate, diff, diff_ci_low,
        diff_ci_high, p_value, suppressed``).
    codebook : Codebook, optional
        For labels of indicators without a built-in phrase.
    lang : {"nb", "en"}
    unit_name, comparison_name : str, optional
        Names used in the text (defaults "enheten"/"the unit", ...).

    Returns
    -------
    str
        "…er høyere i X (18 %) enn i Y (12 %), og forskjellen er statistisk sikker." when
        :func:`is_significant`; "…er 14 % i X og 12 % i Y; det er ingen sikker forskjell."
        otherwise; a privacy note without any number when the row is suppressed; "Det finnes
        ikke noe tall ..." / "There is no figure ..." when the estimate is missing otherwise.

    Examples
    --------
    >>> row = {"indicator": "lonely", "estimate": 0.18, "cmp_estimate": 0.12, "diff": 0.06,
    ...        "diff_ci_low": 0.02, "diff_ci_high": 0.10, "p_value": 0.004}
    >>> indicator_sentence(row, lang="en", unit_name="Midtbyen", comparison_name="Trondheim")
    'The share who feel lonely is higher in Midtbyen (18%) than in Trondheim (12%), and the difference is statistically clear.'
    """  # noqa: E501
    _check_lang(lang)
    name = str(row["indicator"])
    unit = unit_name or text("unit", lang)
    cmp_ = comparison_name or text("comparison_unit", lang)
    if _suppressed(row):
        label = _noun(name, codebook, lang)
        if lang == "nb":
            return f"Tallet for {label} i {unit} vises ikke, for å beskytte personvernet."
        return f"The figure for {label} in {unit} is not shown, to protect privacy."
    if _hidden(row):
        label = _noun(name, codebook, lang)
        if lang == "nb":
            return f"Det finnes ikke noe tall for {label} i {unit}."
        return f"There is no figure for {label} in {unit}."
    subject, comma = _subject(name, codebook, lang)
    est = format_percent(row["estimate"], lang)
    cmp_est = _get(row, "cmp_estimate")
    if cmp_est is None:
        return f"{subject}{comma} er {est} i {unit}." if lang == "nb" else (
            f"{subject} is {est} in {unit}."
        )
    cmp_txt = format_percent(cmp_est, lang)
    if is_significant(row):
        diff = _get(row, "diff", default=float(row["estimate"]) - float(cmp_est))
        if lang == "nb":
            word = "høyere" if diff > 0 else "lavere"
            return (
                f"{subject}{comma} er {word} i {unit} ({est}) enn i {cmp_} ({cmp_txt}), "
                "og forskjellen er statistisk sikker."
            )
        word = "higher" if diff > 0 else "lower"
        return (
            f"{subject} is {word} in {unit} ({est}) than in {cmp_} ({cmp_txt}), "
            "and the difference is statistically clear."
        )
    if lang == "nb":
        return (
            f"{subject}{comma} er {est} i {unit} og {cmp_txt} i {cmp_}; "
            "det er ingen sikker forskjell."
        )
    return f"{subject} is {est} in {unit} and {cmp_txt} in {cmp_}; there is no clear difference."


def _latest(table: pd.DataFrame, wave) -> pd.DataFrame:
    if "indicator" not in table.columns or "estimate" not in table.columns:
        raise DataError(
            "an indicator table needs the columns 'indicator' and 'estimate'",
            column=", ".join(map(str, table.columns)),
            rule="indicator table contract (indicators.indicator_table)",
            hint="pass the protected output of indicators.indicator_table",
        )
    if "wave" in table.columns and len(table):
        table = table[table["wave"] == (table["wave"].max() if wave is None else wave)]
    dupes = table["indicator"][table["indicator"].duplicated()].unique().tolist()
    if dupes:
        raise DataError(
            f"indicator(s) {dupes} appear more than once for one wave",
            column="indicator",
            rule="one row per indicator and wave",
            hint="filter the table to one unit and no extra 'by' columns before narrating",
        )
    return table


def _hib(row, codebook) -> bool | None:
    value = _get(row, "higher_is_better")
    if value is not None:
        return bool(value)
    ind = getattr(codebook, "indicators", {}) or {}
    entry = ind.get(str(row["indicator"])) if hasattr(ind, "get") else None
    return getattr(entry, "higher_is_better", None)


def _trend_frame(trends: pd.DataFrame | None, quantity: str = "observed") -> pd.DataFrame | None:
    """Bring trend rows to ``indicator, wave, estimate, ci_low, ci_high, slope, p_value, ...``.

    Accepts the long output of :func:`ssp_research.analysis.effects.trend` (rows by ``quantity``,
    the indicator column in ``variable`` as ``ind_<name>``; several indicators concatenated): the
    per-wave rows of ``quantity`` ("observed" or "prevalence") get the ``log_odds_per_wave`` slope
    and its p-value. Any other table is returned as is.
    """
    if trends is None or "quantity" not in trends.columns:
        return trends
    t = trends.copy()
    if "indicator" not in t.columns:
        t["indicator"] = t["variable"].astype(str).str.removeprefix("ind_")
    slopes = t[t["quantity"] == "log_odds_per_wave"].set_index("indicator")
    waves = t[t["quantity"] == quantity].copy()
    if waves.empty:
        waves = t[t["quantity"] == "prevalence"].copy()
    waves = waves.drop(columns=["p_value"], errors="ignore")
    waves["slope"] = waves["indicator"].map(slopes["estimate"])
    waves["p_value"] = waves["indicator"].map(slopes["p_value"])
    waves["wave"] = waves["wave"].astype(int)
    return waves.drop(columns=["quantity"]).reset_index(drop=True)


def _trend_sentences(trends, names, codebook, lang, unit) -> list[tuple[float, str, str]]:
    """(importance, indicator, sentence) for each statistically clear trend."""
    trends = _trend_frame(trends)
    if trends is None or len(trends) == 0:
        return []
    out = []
    for name, rows in trends.groupby("indicator", sort=False):
        if name not in names:
            continue
        if "wave" in rows.columns:
            rows = rows.sort_values("wave")
        first = rows.iloc[0]
        slope = _get(first, "slope", "trend_slope")
        p = _get(first, "trend_p_value", "slope_p_value", "p_value")
        if slope is None or p is None or float(p) >= ALPHA or float(slope) == 0:
            continue
        shown = rows
        if "suppressed" in rows.columns:
            shown = rows[~rows["suppressed"].fillna(False).astype(bool)]
        shown = shown[shown["estimate"].notna()] if "estimate" in shown.columns else shown
        subject, comma = _subject(str(name), codebook, lang)
        up = float(slope) > 0
        if "wave" in shown.columns and len(shown) >= 2:
            a, b = shown.iloc[0], shown.iloc[-1]
            e0, e1 = format_percent(a["estimate"], lang), format_percent(b["estimate"], lang)
            w0, w1 = int(a["wave"]), int(b["wave"])
            if lang == "nb":
                verb, noun = ("økt", "økning") if up else ("gått ned", "nedgang")
                s = (f"{subject} i {unit}{comma} har {verb} fra {e0} i {w0} til {e1} i {w1}, "
                     f"en statistisk sikker {noun}")
            else:
                verb, noun = ("risen", "increase") if up else ("fallen", "decrease")
                s = (f"{subject} in {unit} has {verb} from {e0} in {w0} to {e1} in {w1}, "
                     f"a statistically clear {noun}")
        else:
            if lang == "nb":
                verb = "økt" if up else "gått ned"
                s = (f"{subject} i {unit}{comma} har {verb} over tid, "
                     "og endringen er statistisk sikker")
            else:
                verb = "risen" if up else "fallen"
                s = f"{subject} in {unit} has {verb} over time, a statistically clear change"
        if "series_break" in rows.columns and rows["series_break"].fillna(False).astype(bool).any():
            wave = rows.loc[rows["series_break"].fillna(False).astype(bool), "wave"].iloc[0]
            s += (f" (merk brudd i tidsserien i {int(wave)})" if lang == "nb"
                  else f" (note the series break in {int(wave)})")
        out.append((abs(float(slope)), str(name), s + "."))
    return sorted(out, key=lambda t: -t[0])


def _strength_sentences(rows, framework, lang, unit) -> list[tuple[float, str, str]]:
    out = []
    for _, row in rows.iterrows():
        name = str(row["indicator"])
        phrase = _PHRASES.get(name, {}).get(lang)
        if phrase is None or _hidden(row) or row.get("_hib") is None:
            continue
        est = float(row["estimate"])
        if not (row["_hib"] and est >= _STRENGTH_MIN):
            continue  # a risk is never turned into a strength (its complement)
        share, verb = est, phrase["rel"]
        frac = _fraction(share, lang)
        pct = format_percent(share, lang)
        if lang == "nb":
            s = f"{frac[0].upper()}{frac[1:]} elever i {unit} {verb} ({pct})."
        else:
            s = f"{frac[0].upper()}{frac[1:]} pupils in {unit} {verb} ({pct})."
        out.append((share, name, s))
    return sorted(out, key=lambda t: -t[0])


def headline_findings(
    indicator_table: pd.DataFrame,
    *,
    codebook=None,
    framework=None,
    lang: str = "nb",
    unit_name: str | None = None,
    comparison_name: str | None = None,
    trends: pd.DataFrame | None = None,
    wave: int | None = None,
    max_sentences: int = 6,
) -> list[str]:
    """3-6 plain-language findings generated from a protected indicator table.

    Parameters
    ----------
    indicator_table : DataFrame
        Protected output of ``indicators.indicator_table``: ``indicator, wave, estimate,
        cmp_estimate, diff, diff_ci_low, diff_ci_high, p_value, higher_is_better,
        suppressed`` (others ignored). Only the latest ``wave`` (or the one given) is used.
    codebook : Codebook, optional
        Indicator labels and ``higher_is_better`` when the table lacks it.
    framework : Framework, optional
        Restricts the findings to the framework's indicators; ``strength_first`` makes the
        strongest strength lead (a risk is never written as its complement).
    lang : {"nb", "en"}
    unit_name, comparison_name : str, optional
        Names of the unit and its comparison in the text.
    trends : DataFrame, optional
        The unit's trends: the (protected) output of ``effects.trend`` for one or more
        indicators, concatenated (observed prevalence per wave, tested by the
        ``log_odds_per_wave`` slope), or any table with ``indicator, wave, estimate`` and
        ``slope``/``trend_slope`` with ``p_value``/``trend_p_value`` repeated per wave;
        optionally ``series_break`` and ``suppressed``.
    wave : int, optional
        Wave to describe (default: the latest in the table).
    max_sentences : int
        At most this many sentences (the privacy note, when needed, is always kept).

    Returns
    -------
    list of str
        Ordered by importance: statistically clear differences from the comparison (largest
        first), then statistically clear trends, then up to three strengths (shares of at
        least 70 % of good indicators, highest first), then
        one sentence naming the indicators with no clear difference (when that would leave
        fewer than three findings, the first of them get a hedged sentence of their own, with
        their values), then one privacy note naming suppressed indicators (never their
        values). With ``framework.strength_first`` the strongest strength comes first.

    Notes
    -----
    A difference is "clear" when ``p_value < 0.05`` and the difference's 95 % CI excludes
    0 (:func:`is_significant`); a trend when its slope test has ``p < 0.05``. Strengths are
    higher-is-better shares of at least 70 %, rounded to tenths of pupils ("nesten 9 av 10"
    for 87 %).

    Examples
    --------
    >>> t = pd.DataFrame({
    ...     "indicator": ["lonely", "close_friend", "bullied"], "wave": 2025,
    ...     "estimate": [0.18, 0.87, float("nan")], "cmp_estimate": [0.12, 0.88, 0.07],
    ...     "diff": [0.06, -0.01, float("nan")], "diff_ci_low": [0.02, -0.04, float("nan")],
    ...     "diff_ci_high": [0.10, 0.02, float("nan")], "p_value": [0.004, 0.5, float("nan")],
    ...     "higher_is_better": [False, True, False], "suppressed": [False, False, True]})
    >>> for s in headline_findings(t, lang="en", unit_name="Midtbyen",
    ...                            comparison_name="Trondheim"):
    ...     print(s)
    The share who feel lonely is higher in Midtbyen (18%) than in Trondheim (12%), and the difference is statistically clear.
    Almost 9 in 10 pupils in Midtbyen have a friend they can trust (87%).
    For having a close friend, there is no clear difference between Midtbyen and Trondheim.
    The figure for bullying in Midtbyen is not shown, to protect privacy.
    """  # noqa: E501
    _check_lang(lang)
    if not 1 <= int(max_sentences) <= 20:
        raise ParameterError("max_sentences must be between 1 and 20", rule="1..20")
    unit = unit_name or text("unit", lang)
    cmp_ = comparison_name or text("comparison_unit", lang)
    rows = _latest(indicator_table, wave).copy()
    if framework is not None:
        keep = list(getattr(framework, "indicators", []))
        rows = rows[rows["indicator"].isin(keep)]
        rows = rows.assign(_order=rows["indicator"].map({n: i for i, n in enumerate(keep)}))
        rows = rows.sort_values("_order", kind="stable")
    rows["_hib"] = [_hib(r, codebook) for _, r in rows.iterrows()]
    names = set(rows["indicator"].astype(str))

    suppressed = [str(r["indicator"]) for _, r in rows.iterrows() if _suppressed(r)]
    sig = [(abs(float(r["diff"]) if not _missing(r.get("diff")) else 0.0), str(r["indicator"]),
            indicator_sentence(r, codebook=codebook, lang=lang, unit_name=unit,
                               comparison_name=cmp_))
           for _, r in rows.iterrows() if is_significant(r)]
    sig.sort(key=lambda t: -t[0])
    mentioned = {n for _, n, _ in sig}
    trends = _trend_frame(trends)
    if trends is not None and len(trends):
        names |= set(trends["indicator"].astype(str))
        if framework is not None:
            names &= set(getattr(framework, "indicators", []))
    no_value = {str(r["indicator"]) for _, r in rows.iterrows() if _hidden(r)}
    trend = _trend_sentences(trends, names - no_value, codebook, lang, unit)
    mentioned |= {n for _, n, _ in trend}
    strengths = [s for s in _strength_sentences(rows, framework, lang, unit)
                 if s[1] not in mentioned][:_MAX_STRENGTHS]
    unclear = [str(r["indicator"]) for _, r in rows.iterrows()
               if not _hidden(r) and not is_significant(r)
               and _get(r, "cmp_estimate") is not None]

    ordered = [s for _, _, s in sig] + [s for _, _, s in trend] + [s for _, _, s in strengths]
    if strengths and getattr(framework, "strength_first", False):
        ordered.remove(strengths[0][2])
        ordered.insert(0, strengths[0][2])
    # fewer than three findings: tell the first indicators without a clear difference one by
    # one (hedged, with their values), and only the rest in the summary sentence
    by_name = {str(r["indicator"]): r for _, r in rows.iterrows()}
    spare = max(0, _MIN_SENTENCES - len(ordered) - (1 if suppressed else 0))
    for name in unclear[:spare]:
        ordered.append(indicator_sentence(by_name[name], codebook=codebook, lang=lang,
                                          unit_name=unit, comparison_name=cmp_))
    unclear = unclear[spare:]
    if unclear:
        labels = _join([_noun(n, codebook, lang) for n in unclear], lang)
        ordered.append(
            f"For {labels} er det ingen sikker forskjell mellom {unit} og {cmp_}."
            if lang == "nb"
            else f"For {labels}, there is no clear difference between {unit} and {cmp_}."
        )
    note = None
    if suppressed:
        labels = _join([_noun(n, codebook, lang) for n in suppressed], lang)
        many = len(suppressed) > 1
        if lang == "nb":
            note = (f"{'Tallene' if many else 'Tallet'} for {labels} i {unit} vises ikke, "
                    "for å beskytte personvernet.")
        else:
            note = (f"The {'figures' if many else 'figure'} for {labels} in {unit} "
                    f"{'are' if many else 'is'} not shown, to protect privacy.")
    limit = int(max_sentences) - (1 if note else 0)
    out = ordered[: max(limit, 0)]
    return out + [note] if note else out


def goal_summaries(
    indicator_table: pd.DataFrame,
    *,
    framework,
    codebook=None,
    lang: str = "nb",
    unit_name: str | None = None,
    comparison_name: str | None = None,
    wave: int | None = None,
) -> list[dict]:
    """Per goal of a framework: its title and one sentence per indicator, or why unmeasured.

    Returns
    -------
    list of dict
        One dict per goal, in the framework's order, with keys ``id``, ``title``,
        ``measured`` (bool), ``sentences`` (list of str, one per indicator present in the
        table, hedged as in :func:`indicator_sentence`; suppressed ones say "not shown"),
        ``unmeasured`` (str or None: what data would measure the goal or its unmeasured
        part), ``missing`` (indicators of the goal absent from the table).

    Examples
    --------
    >>> from ssp_research.analysis.frameworks import load_framework
    >>> fw = load_framework("lillestrom")
    >>> t = pd.DataFrame({"indicator": ["lonely"], "estimate": [0.1], "cmp_estimate": [0.11],
    ...                   "p_value": [0.6], "diff_ci_low": [-0.05], "diff_ci_high": [0.03]})
    >>> g = goal_summaries(t, framework=fw, lang="en", unit_name="Skedsmo")
    >>> g[1]["sentences"][0]
    'The share who feel lonely is 10% in Skedsmo and 11% in the comparison; there is no clear difference.'
    >>> g[2]["measured"], g[2]["sentences"]
    (False, [])
    """  # noqa: E501
    _check_lang(lang)
    rows = _latest(indicator_table, wave)
    by_name = {str(r["indicator"]): r for _, r in rows.iterrows()}
    out = []
    for goal in framework.goals:
        present = [n for n in goal.indicators if n in by_name]
        out.append(
            {
                "id": goal.id,
                "title": goal.title_in(lang),
                "measured": goal.measured,
                "sentences": [
                    indicator_sentence(by_name[n], codebook=codebook, lang=lang,
                                       unit_name=unit_name, comparison_name=comparison_name)
                    for n in present
                ],
                "unmeasured": goal.unmeasured_in(lang),
                "missing": [n for n in goal.indicators if n not in by_name],
            }
        )
    return out
