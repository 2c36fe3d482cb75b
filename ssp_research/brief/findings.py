"""Page 1 of the evidence brief: at most seven findings a leader can act on.

Every finding is a statistically clear fact with its size and years (or the pilot's result,
sure or not), chosen by importance (size in percentage points × certainty, capped) from:

* **changes and differences** of the strategy's indicators: a clear trend over the years
  ("økte fra 7,0 % i 2019 til 9,5 % i 2025"), else a clear difference from the comparison (the
  previous survey, or the city), else a clear difference from the national figure; the national
  figure is named in the same sentence when the unit differs clearly from it;
* **gaps between groups**: the largest clear gap by gender, by grade and by family economy;
* **the pilot** (always, when the unit has pilot schools: the strategy asks to learn from it);
* **strengths**: a high share of a good indicator ("9 av 10 elever ... har en venn de kan stole
  på"), first when the strategy asks for strength-first wording; a risk is never turned into a
  strength;
* a privacy note naming indicators that are not shown (never their values).

Each indicator appears at most once. Values are the protected publication's cells (a hidden
cell gives no finding); the gap tests are design-based contrasts of the two groups' domain
means (:func:`ssp_research.analysis.effects.gaps`), on the same waves as the cells shown.

>>> from ssp_research.brief import load
>>> b = load("data/synthetic/trondheim.parquet", lang="en")
>>> [f.kind for f in key_findings(b)][:2]
['strength', 'gap']
"""

from __future__ import annotations

import html as _html
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ssp_research.analysis import effects, indicators
from ssp_research.brief import gaps as _gaps
from ssp_research.brief import language, narrate, pilot
from ssp_research.brief.content import Brief, Html

__all__ = ["Finding", "key_findings", "findings_html", "gap_findings", "gap_sentence_html",
           "MAX_FINDINGS"]

MAX_FINDINGS = 7
_Z_CAP = 4.0  # beyond this, more certainty does not make a finding more important
_STRENGTH_SCORE = 1.0  # a strength ranks below any clear change of a few points
GAP_PAIRS = {  # the two groups a gap compares: (group, reference)
    "gender": ("girl", "boy"),
    "grade": (10, 8),
    "family_economy": ("poor", "good"),
}


@dataclass(frozen=True)
class Finding:
    """One page-1 finding.

    Attributes
    ----------
    kind : {"strength", "trend", "change", "difference", "benchmark", "gap", "pilot", "privacy"}
    key : str
        The indicator it is about ("pilot" and "privacy" for those).
    score : float
        Importance: size in percentage points × certainty (|z|, capped at 4).
    text : str
        The sentence(s), in the brief's language.
    """

    kind: str
    key: str
    score: float
    text: str


def _z(p: float) -> float:
    return float(stats.norm.isf(max(float(p), 1e-300) / 2))


def _score(size: float, z: float) -> float:
    return abs(100 * size) * min(abs(z), _Z_CAP)


def _pct(x, lang: str) -> str:
    return language.format_percent(x, lang, 1)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _subject(b: Brief, name: str) -> str:
    subject, comma = language._subject(name, b.codebook, b.lang)
    return subject + comma


def _verb(up: bool, lang: str) -> str:
    if lang == "nb":
        return "har økt" if up else "har gått ned"
    return "has risen" if up else "has fallen"


def _judged(good: bool, lang: str) -> str:
    if lang == "nb":
        return " Det er en god utvikling." if good else " Det er en dårlig utvikling."
    return " That is a good development." if good else " That is a bad development."


def _benchmark_clause(b: Brief, ref: pd.Series, unit_first: bool = False) -> str:
    """ "Tallet er lavere enn landstallet (22 % i Ungdata 2024)." for a clear difference."""
    if ref is None or ref.get("ref_class") not in ("better", "worse"):
        return ""
    lower = float(ref["ref_diff"]) < 0
    fig = language.format_percent(ref["ref_estimate"], b.lang)
    year = int(ref["ref_year"])
    if b.lang == "nb":
        word = "lavere" if lower else "høyere"
        return f" Tallet er {word} enn landstallet ({fig} i Ungdata {year})."
    word = "lower" if lower else "higher"
    return f" The figure is {word} than the national one ({fig} in Ungdata {year})."


def _series(b: Brief, name: str) -> pd.DataFrame:
    """The unit's shown values of one indicator, from its last series break on."""
    s = b.indicators[b.indicators["indicator"] == name].sort_values("wave")
    breaks = s.loc[s["series_break"].astype(bool), "wave"]
    if len(breaks):
        s = s[s["wave"] >= int(breaks.max())]
    return s[~s["suppressed"].astype(bool) & s["estimate"].notna()]


def _indicator_finding(b: Brief, name: str, row: pd.Series, ref) -> Finding | None:
    lang = b.lang
    hib = bool(row["higher_is_better"])
    subject = _subject(b, name)
    trend = b.trends.set_index("indicator").loc[name]
    series = _series(b, name)
    if (not math.isnan(trend["slope"]) and trend["p_value"] < narrate.ALPHA
            and trend["slope"] != 0 and len(series) >= 2):
        first, last = series.iloc[0], series.iloc[-1]
        up = float(trend["slope"]) > 0
        text = (f"{subject} {_verb(up, lang)} " + (
            f"fra {_pct(first['estimate'], lang)} i {b.period(first['wave'])} til "
            f"{_pct(last['estimate'], lang)} i {b.period(last['wave'])}."
            if lang == "nb" else
            f"from {_pct(first['estimate'], lang)} in {b.period(first['wave'])} to "
            f"{_pct(last['estimate'], lang)} in {b.period(last['wave'])}."))
        text += _judged(up == hib, lang) + _benchmark_clause(b, ref)
        size = float(last["estimate"]) - float(first["estimate"])
        return Finding("trend", name, _score(size, _z(trend["p_value"])), text)
    if narrate.is_significant(row):
        diff = float(row["diff"])
        z = diff / float(row["diff_se"]) if row.get("diff_se") else 1.96
        up = diff > 0
        est, cmp_ = _pct(row["estimate"], lang), _pct(row["cmp_estimate"], lang)
        if b.comparison == "previous_wave":
            prev = b.previous_wave
            text = (f"{subject} {_verb(up, lang)} " + (
                f"fra {cmp_} i {prev} til {est} i {b.period()}." if lang == "nb" else
                f"from {cmp_} in {prev} to {est} in {b.period()}."))
            text += _judged(up == hib, lang)
            kind = "change"
        else:
            good = up == hib
            if lang == "nb":
                word = "høyere" if up else "lavere"
                text = (f"{subject} er {word} {_in(b)} ({est}) enn i {b.comparison_name} "
                        f"({cmp_}) i {b.period()}. Det er {'bedre' if good else 'dårligere'} "
                        f"enn i {b.comparison_name}.")
            else:
                word = "higher" if up else "lower"
                text = (f"{subject} is {word} {_in(b)} ({est}) than in {b.comparison_name} "
                        f"({cmp_}) in {b.period()}. That is {'better' if good else 'worse'} "
                        f"than in {b.comparison_name}.")
            kind = "difference"
        return Finding(kind, name, _score(diff, z), text + _benchmark_clause(b, ref))
    if ref is not None and ref.get("ref_class") in ("better", "worse"):
        diff = float(ref["ref_diff"])
        half = (float(ref["ref_diff_ci_high"]) - float(ref["ref_diff_ci_low"])) / 2
        z = diff / (half / 1.96) if half > 0 else 1.96
        lower = diff < 0
        fig = language.format_percent(ref["ref_estimate"], lang)
        year = int(ref["ref_year"])
        est = _pct(row["estimate"], lang)
        if lang == "nb":
            word = "lavere" if lower else "høyere"
            text = (f"{subject} er {word} {_in(b)} ({est} i {b.period()}) enn i landet "
                    f"({fig} i Ungdata {year}).")
        else:
            word = "lower" if lower else "higher"
            text = (f"{subject} is {word} {_in(b)} ({est} in {b.period()}) than in the "
                    f"country ({fig} in Ungdata {year}).")
        return Finding("benchmark", name, _score(diff, z), text)
    return None


def _strength(b: Brief, name: str, row: pd.Series) -> Finding | None:
    phrase = language._PHRASES.get(name, {}).get(b.lang)
    if phrase is None or not bool(row["higher_is_better"]):
        return None
    est = float(row["estimate"])
    if est < language._STRENGTH_MIN:
        return None
    frac = _cap(language._fraction(est, b.lang))
    pupils = "elever" if b.lang == "nb" else "pupils"
    when = ("i " if b.lang == "nb" else "in ") + b.period()
    return Finding("strength", name, _STRENGTH_SCORE,
                   f"{frac} {pupils} {_in(b)} {phrase['rel']} ({_pct(est, b.lang)} {when}).")


def _group_words(by: str, group, lang: str) -> str:
    """A group as the plural subject of a sentence: "jenter", "elever på 10. trinn"."""
    nb = lang == "nb"
    if by == "gender":
        return {"girl": "jenter" if nb else "girls", "boy": "gutter" if nb else "boys"}[group]
    if by == "grade":
        return f"elever på {int(group)}. trinn" if nb else f"pupils in year {int(group)}"
    words = {"poor": ("elever fra familier med dårlig råd", "pupils from hard-up families"),
             "good": ("elever fra familier med god råd", "pupils from well-off families")}
    return words[group][0 if nb else 1]


def _in(b: Brief, name: str | None = None) -> str:
    """ "i Trondheim", "ved Lade skole" / "in Trondheim", "at Lade School"."""
    name = b.unit if name is None else name
    school = name == b.unit and b.unit_type == "school"
    if b.lang == "nb":
        return f"{'ved' if school else 'i'} {name}"
    return f"{'at' if school else 'in'} {name}"


def _gap_sentence(b: Brief, name: str, by: str, hi, lo, p_hi: float, p_lo: float) -> str:
    """ "Flere jenter (24,6 %) enn gutter (15,7 %) føler seg ensomme." """
    lang = b.lang
    g_hi, g_lo = _group_words(by, hi, lang), _group_words(by, lo, lang)
    phrase = language._PHRASES.get(name, {}).get(lang)
    a, c = _pct(p_hi, lang), _pct(p_lo, lang)
    when = ("i " if lang == "nb" else "in ") + b.period()
    if phrase is None:
        label = language.indicator_label(name, b.codebook, lang)
        return (f"Andelen for «{label}» er {a} blant {g_hi} og {c} blant {g_lo} {when}."
                if lang == "nb" else
                f"The share for '{label}' is {a} among {g_hi} and {c} among {g_lo} {when}.")
    if by == "grade" and lang == "nb":  # "Flere elever på 10. trinn (x) enn på 8. trinn (y)"
        g_lo = g_lo.removeprefix("elever ")
    elif by == "grade":
        g_lo = g_lo.removeprefix("pupils ")
    if by == "family_economy":
        g_lo = g_lo.replace("elever fra ", "fra ").replace("pupils from ", "from ")
    more = "Flere" if lang == "nb" else "More"
    than = "enn" if lang == "nb" else "than"
    return f"{more} {g_hi} ({a}) {than} {g_lo} ({c}) {phrase['rel']} {when}."


def _window_mask(b: Brief) -> np.ndarray:
    pooled_from = b.latest["pooled_from"].min() if "pooled_from" in b.latest.columns else b.wave
    waves = b.data["wave"].to_numpy()
    return b.unit_mask & (waves >= int(pooled_from)) & (waves <= int(b.wave))


def gap_findings(b: Brief, by: str) -> list[Finding]:
    """The clear gaps of the unit's latest wave (or pooled window) by ``by``, largest first.

    Parameters
    ----------
    b : Brief
    by : {"gender", "grade", "family_economy"}
        Girls against boys, grade 10 against grade 8, hard-up against well-off families.

    Returns
    -------
    list of Finding
        One per indicator whose two groups are both shown and differ clearly (design-based
        contrast, p < 0.05), the group with the higher share named first.
    """
    key = ("gap_findings", by)
    if key in b.cache:
        return b.cache[key]
    col = "economy_group" if by == "family_economy" else by
    table = _gaps.gap_table(b, by)
    a, r = GAP_PAIRS[by]
    shown = table[~table["suppressed"].astype(bool) & table["estimate"].notna()]
    if col not in b.data.columns and by != "family_economy":
        b.cache[key] = []
        return []
    data = indicators.with_economy_group(b.data) if by == "family_economy" else b.data
    if col not in data.columns:
        b.cache[key] = []
        return []
    design = indicators.city_design(data).subset(_window_mask(b))
    out = []
    for name in b.indicator_names:
        rows = shown[shown["indicator"] == name].set_index(col)["estimate"]
        rows.index = [str(i) for i in rows.index]
        if str(a) not in rows.index or str(r) not in rows.index:
            continue
        try:
            g = effects.gaps(design, b.codebook.indicator_column(name), by=col, reference=r)
        except Exception:  # noqa: BLE001 - a group without answers in the design: no test
            continue
        g = g[(g["quantity"] == "difference") & (g["group"].astype(str) == str(a))]
        if not len(g) or not float(g["p_value"].iloc[0]) < narrate.ALPHA:
            continue
        pa, pr = float(rows[str(a)]), float(rows[str(r)])
        hi, lo, p_hi, p_lo = (a, r, pa, pr) if pa >= pr else (r, a, pr, pa)
        z = _z(float(g["p_value"].iloc[0]))
        out.append(Finding("gap", name, _score(pa - pr, z),
                           _gap_sentence(b, name, by, hi, lo, p_hi, p_lo)))
    out.sort(key=lambda f: -f.score)
    b.cache[key] = out
    return out


def gap_sentence_html(b: Brief, by: str, *, at_most: int = 3) -> Html:
    """The sentence under a group-difference figure: its clearest gaps (at most three), or
    that there is no clear gap; nothing when the figure shows no values.

    >>> from ssp_research.brief import load
    >>> b = load("data/synthetic/trondheim.parquet", lang="en")
    >>> print(gap_sentence_html(b, "gender"))  # doctest: +ELLIPSIS
    <p class="ssp-gap-text">More girls (...%) than boys (...%) ...</p>
    """
    table = _gaps.gap_table(b, by)
    col = "economy_group" if by == "family_economy" else by
    groups = table[(table[col].astype(str) != "all") & ~table["suppressed"].astype(bool)
                   & table["estimate"].notna()]
    if not len(groups):
        return Html("")
    found = gap_findings(b, by)[:at_most]
    if found:
        text = " ".join(f.text for f in found)
    else:
        a, r = GAP_PAIRS[by]
        ga, gr = _group_words(by, a, b.lang), _group_words(by, r, b.lang)
        text = (f"Det er ingen sikre forskjeller mellom {ga} og {gr} her." if b.lang == "nb"
                else f"There are no clear differences between {ga} and {gr} here.")
    return Html(f'<p class="ssp-gap-text">{_html.escape(text)}</p>')


def _pilot_finding(b: Brief, indicator: str = "lonely") -> Finding | None:
    eff = pilot.pilot_effect_for(b, indicator)
    if eff is None or pilot._uses_hidden_cells(b, indicator, eff):
        return None
    lang = b.lang
    n = len(eff.pilot_schools)
    label = language.indicator_label(indicator, b.codebook, lang).lower()
    size = language.format_number(abs(100 * eff.estimate), lang, 1)
    years = f"{eff.pre_waves[-1]}–{eff.post_waves[-1]}"
    if lang == "nb":
        where = b.unit if b.unit_type == "school" else (
            "pilotskolen" if n == 1 else f"de {n} pilotskolene")
        word = "ned" if eff.estimate < 0 else "opp"
        subject = _subject(b, indicator)
        text = (f"Piloten mot {label}: Fra {years.replace('–', ' til ')} gikk "
                f"{subject[0].lower()}{subject[1:].rstrip(',')} {word} {size} prosentpoeng mer "
                f"{'ved' if b.unit_type == 'school' else 'i'} {where} enn i skolene uten pilot.")
        verdict = {"sure": " Forskjellen er statistisk sikker.",
                   "no sure difference": " Forskjellen er ikke statistisk sikker."}.get(
            eff.verdict, " Pilotskolene er for få til å si om piloten virker.")
    else:
        where = b.unit if b.unit_type == "school" else (
            "the pilot school" if n == 1 else f"the {n} pilot schools")
        word = "fell" if eff.estimate < 0 else "rose"
        subject = _subject(b, indicator)
        text = (f"The pilot on {label}: from {years.replace('–', ' to ')}, "
                f"{subject[0].lower()}{subject[1:]} {word} {size} percentage points more "
                f"{'at' if b.unit_type == 'school' else 'in'} {where} than in the schools "
                "without the pilot.")
        verdict = {"sure": " The difference is statistically clear.",
                   "no sure difference": " The difference is not statistically clear."}.get(
            eff.verdict, " There are too few pilot schools to say whether the pilot works.")
    score = _score(eff.estimate, _z(eff.p_value)) if eff.verdict == "sure" else 0.0
    return Finding("pilot", "pilot", score, text + verdict)


def _privacy(b: Brief, names: list[str]) -> Finding | None:
    if not names:
        return None
    labels = language._join([language._noun(n, b.codebook, b.lang) for n in names], b.lang)
    many = len(names) > 1
    if b.lang == "nb":
        text = (f"{'Tallene' if many else 'Tallet'} for {labels} vises ikke, "
                "for å beskytte personvernet.")
    else:
        text = (f"The {'figures' if many else 'figure'} for {labels} "
                f"{'are' if many else 'is'} not shown, to protect privacy.")
    return Finding("privacy", "privacy", 0.0, text)


def key_findings(b: Brief, *, max_findings: int = MAX_FINDINGS) -> list[Finding]:
    """Page 1: at most ``max_findings`` findings, most important first (see the module).

    The pilot (when the unit has one) and the privacy note are always among them; each
    indicator is named at most once; with ``framework.strength_first`` a strength leads.
    """
    latest = b.latest.set_index("indicator")
    bench = b.benchmark.set_index("indicator")
    hidden = [n for n in b.indicator_names if narrate._hidden(latest.loc[n])]
    candidates: list[Finding] = []
    strengths: list[Finding] = []
    for name in b.indicator_names:
        if name in hidden:
            continue
        row = latest.loc[name]
        ref = bench.loc[name] if name in bench.index else None
        found = _indicator_finding(b, name, row, ref)
        if found is not None:
            candidates.append(found)
        elif (s := _strength(b, name, row)) is not None:
            strengths.append(s)
    for by in GAP_PAIRS:
        candidates += gap_findings(b, by)[:2]  # a runner-up when the best names a used one
    fixed = [f for f in (_pilot_finding(b), _privacy(b, hidden)) if f is not None]
    room = max_findings - len(fixed)
    strength_first = bool(getattr(b.framework, "strength_first", False))
    lead = strengths[:1] if strength_first and room > 0 else []
    chosen: list[Finding] = list(lead)
    used = {f.key for f in chosen}
    dims_used: set[str] = set()
    for f in sorted(candidates, key=lambda f: -f.score):
        if len(chosen) >= room:
            break
        dim = next((by for by in GAP_PAIRS if f in gap_findings(b, by)), None)
        if f.key in used or (dim is not None and dim in dims_used):
            continue
        chosen.append(f)
        used.add(f.key)
        if dim is not None:
            dims_used.add(dim)
    for s in strengths:  # strengths fill the room that is left
        if len(chosen) >= room:
            break
        if s.key not in used:
            chosen.append(s)
            used.add(s.key)
    pilot_f = [f for f in fixed if f.kind == "pilot"]
    rest = chosen[len(lead):]
    rest.sort(key=lambda f: -f.score)
    return lead + rest + pilot_f + [f for f in fixed if f.kind == "privacy"]


def findings_html(b: Brief, *, max_findings: int = MAX_FINDINGS) -> Html:
    """Page 1's findings (:func:`key_findings`) as a numbered list."""
    items = "".join(f'<li class="ssp-finding ssp-finding-{f.kind}">{_html.escape(f.text)}</li>'
                    for f in key_findings(b, max_findings=max_findings))
    return Html(f'<ol class="ssp-headlines">{items}</ol>')
