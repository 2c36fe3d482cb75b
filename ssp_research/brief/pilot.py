"""The pilot-evaluation sections of the briefs (difference-in-differences).

Used by ``notebooks/briefs/evidence_brief.ipynb`` (one paragraph and a figure where the unit
has pilot schools) and ``notebooks/briefs/pilot_evaluation.ipynb`` (the whole evaluation).
The effect in percentage points is :func:`ssp_research.analysis.pilots.pilot_effect`
(randomisation inference over schools, or the wild cluster bootstrap where there are at least
:data:`~ssp_research.analysis.pilots.MIN_WCB_SCHOOLS` pilot and comparison schools; the text
names the test and why); the odds-ratio table for researchers is ``pilot_did`` of
:mod:`ssp_research.analysis.schools` (schools as clusters, school and wave fixed effects);
the observed shares come from :func:`ssp_research.analysis.indicators.indicator_table` and
pass through :func:`~ssp_research.disclosure.protect` before they are drawn.

The treated group is the unit's pilot schools (the city: all pilot schools; a district: its
pilot schools; a school: itself; a municipality of national data: its pilot schools, against
its own non-pilot schools (its brief reads only its rows); the country: not evaluated here, a
pooled model over every school of the country is the municipalities' job); the comparison
group is every non-pilot school of the city.
"""

from __future__ import annotations

import html as _html
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ssp_research import disclosure
from ssp_research.analysis import indicators
from ssp_research.analysis.pilots import MIN_WCB_SCHOOLS, pilot_effect
from ssp_research.analysis.schools import pilot_did
from ssp_research.brief import exhibits, language, theme
from ssp_research.brief.content import Brief, Html
from ssp_research.brief.texts import TEXTS
from ssp_research.core import paths
from ssp_research.core.errors import DesignError, EstimationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["pilot_table", "pilot_effect_for", "pilot_html", "pilot_did_html", "show_pilot_trend",
           "pilot_figure", "pilot_summary"]


def pilot_table(b: Brief, indicator: str = "lonely", *, start: int = 2023) -> pd.DataFrame:
    """Difference-in-differences of the unit's pilot schools against the non-pilot schools.

    City: all pilot schools; district: its pilot schools; school: the school itself (when it is a
    pilot school). The comparison group is every non-pilot school of the city. Uses ``pilot_did``
    (:mod:`ssp_research.analysis.schools`) (schools as clusters). Returns its rows (``did``,
    ``event`` per wave, ``pretrend``), or an empty frame when the unit has no pilot school.
    """
    data = b.data
    if b.unit_type == "country" or "pilot" not in data.columns or not data.loc[
            b.unit_mask, "pilot"].any():
        return pd.DataFrame()  # the country: evaluated per municipality (see pilot_html)
    key = ("pilot_did", indicator, start)
    if key not in b.cache:
        treated = data["pilot"].to_numpy() & b.unit_mask
        keep = treated | ~data["pilot"].to_numpy()
        sub = data.loc[keep].assign(treated_unit=treated[keep])
        try:
            b.cache[key] = pilot_did(sub, b.codebook.indicator_column(indicator),
                                        treated="treated_unit", start=start)
        except DesignError:  # e.g. a municipality whose only school is in the pilot
            b.cache[key] = pd.DataFrame()
            b.cache[key].attrs["reason"] = "too_few_schools"
    return b.cache[key].copy()


def pilot_effect_for(b: Brief, indicator: str = "lonely", *, start: int = 2023):
    """The unit's pilot effect in percentage points (:func:`~ssp_research.analysis.pilots.
    pilot_effect`: randomisation inference over schools, or the wild cluster bootstrap where
    there are enough pilot and comparison schools), or None without pilot schools.

    The pilot schools evaluated are the unit's (the city: all; a district: its own; a
    school: itself); the comparison is every school of the data in no pilot.
    """
    data = b.data
    if b.unit_type == "country" or "pilot" not in data.columns or not data.loc[
            b.unit_mask, "pilot"].any():
        return None
    key = ("pilot_effect", indicator, start)
    if key not in b.cache:
        pilot = data["pilot"].astype(bool).to_numpy()
        sub = data.assign(treated_unit=pilot & b.unit_mask, comparison=~pilot)
        sub = sub[sub["treated_unit"] | sub["comparison"]]
        try:
            b.cache[key] = pilot_effect(sub, b.codebook.indicator_column(indicator),
                                        treated="treated_unit", comparison="comparison",
                                        start=start)
        except (DesignError, EstimationError):
            b.cache[key] = None
    return b.cache[key]


def _signed(x: float, lang: str, decimals: int = 1) -> str:
    """A signed number with a true minus sign (U+2212) and the language's decimal mark."""
    text = language.format_number(abs(x), lang, decimals)
    return ("\u2212" if x < 0 and text.strip("0,.") else "+" if x > 0 else "") + text


def _waves(waves: list[int], lang: str) -> str:
    items = [str(w) for w in waves]
    word = " og " if lang == "nb" else " and "
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + word + items[-1]


def pilot_html(b: Brief, indicator: str = "lonely", *, start: int = 2023) -> Html:
    """The pilot evaluation as text: the effect in percentage points with its interval, the
    periods and the groups named, a verdict only where the design supports one, and the
    pre-period check worded as what it is."""
    T = TEXTS[b.lang]
    if b.unit_type == "country":
        return Html(f"<p>{_html.escape(T['pilot_country'])}</p>")
    if "pilot" not in b.data.columns or not b.data.loc[b.unit_mask, "pilot"].any():
        key = "no_pilot_school" if b.unit_type == "school" else "no_pilot"
        return Html(f"<p>{_html.escape(T[key].format(unit=b.unit))}</p>")
    eff = pilot_effect_for(b, indicator, start=start)
    if eff is None:
        return Html(f"<p>{_html.escape(T['pilot_too_few'].format(unit=b.unit))}</p>")
    lang = b.lang
    if _uses_hidden_cells(b, indicator, eff):
        return Html(f"<p>{_html.escape(T['pilot_hidden'])}</p>")
    n_pilot, n_cmp = len(eff.pilot_schools), len(eff.comparison_schools)
    if b.unit_type == "school":
        pilots = b.unit
    else:
        pilots = T["pilot_school_of" if n_pilot == 1 else "pilot_schools_of"].format(
            n=n_pilot, unit=b.unit)
    base = eff.pre_waves[-1]
    words = {
        "label": b.label(indicator).lower(), "pilots": pilots,
        "comparison": T["pilot_comparison"].format(n=n_cmp, city=b.city),
        "base": base, "post": _waves(eff.post_waves, lang),
        "effect": _signed(100 * eff.estimate, lang),
        "size": language.format_number(abs(100 * eff.estimate), lang, 1),
        "direction": T["lower"] if eff.estimate < 0 else T["higher"],
        "ci": (f"{_signed(100 * eff.ci_low, lang)} {T['and']} {_signed(100 * eff.ci_high, lang)}"
               if np.isfinite(eff.ci_low) and np.isfinite(eff.ci_high) else None),
        "p": language.format_number(eff.p_value, lang, 3),
        "assignments": language.format_number(eff.assignments, lang),
        "min_wcb": MIN_WCB_SCHOOLS,
    }
    parts = [T["pilot_compare"].format(**words), T["pilot_effect_pp"].format(**words)]
    if words["ci"] and eff.verdict is not None:
        parts.append(T["pilot_ci"].format(**words))
    if eff.verdict == "sure":
        parts.append(T["pilot_sure"].format(**words))
    elif eff.verdict == "no sure difference":
        parts.append(T["pilot_not_sure"].format(**words))
    else:
        parts.append(T["pilot_no_verdict_" + eff.reason].format(**words))
    pre = eff.pretrend
    if pre.get("reason") == "only_one_pre_wave":
        pre_text = T["pilot_pre_one"].format(**words)
    elif pre.get("verdict") == "sure":
        pre_text = T["pilot_pre_differs"].format(a=pre["waves"][0], b=pre["waves"][1])
    elif pre.get("verdict") == "no sure difference":
        pre_text = T["pilot_pre_alike"].format(a=pre["waves"][0], b=pre["waves"][1])
    else:
        pre_text = T["pilot_pre_unknown"]
    method = _method_text(eff, T, words)
    return Html(f'<p class="ssp-pilot">{_html.escape(" ".join(parts))}</p>'
                f'<p class="ssp-note">{_html.escape(pre_text)} {_html.escape(method)}</p>')


def _method_text(eff, T: dict, words: dict) -> str:
    """The test in plain words, and why it is the one used."""
    if eff.method == "wild cluster bootstrap":
        text = T["pilot_method_wcb"].format(**words)
    else:
        text = T["pilot_method" if eff.exact else "pilot_method_random"].format(**words)
    why = T.get(f"pilot_why_{eff.method_reason}")
    return f"{text} {why.format(**words)}" if why else text


def _uses_hidden_cells(b: Brief, indicator: str, eff) -> bool:
    """Whether a wave the effect is computed from is one in which some school of the
    publication is hidden for ``indicator``: the effect is a difference of school shares, and
    with the shown ones it could give a hidden share (as for :func:`pilot_figure`)."""
    hidden = _hidden_waves(b, indicator)
    used = {eff.pre_waves[-1], *eff.post_waves}
    return bool(hidden and used & hidden)


def pilot_did_html(b: Brief, indicator: str = "lonely", *, start: int = 2023) -> Html:
    """The pilot's model rows as a table: DiD and event-study log-odds ratios with CIs.

    Model coefficients over many respondents (``n`` in ``data-ssp-n``); the table goes
    through :func:`~ssp_research.disclosure.protect` like any other.
    """
    did = pilot_table(b, indicator, start=start)
    if did.empty:
        return pilot_html(b, indicator, start=start)
    T = TEXTS[b.lang]
    rows = did[did["quantity"].isin(["did", "event"])].copy()
    rows = rows[rows["reason"].fillna("") == ""]
    rows["what"] = [
        ("DiD" if q == "did" else f"{T['event']} {int(w)}")
        for q, w in zip(rows["quantity"], rows["wave"])
    ]  # fmt: skip
    table = rows[["what", "estimate", "se", "ci_low", "ci_high", "df", "n", "p_value"]]
    prot = disclosure.protect(table, b.rules, series_by=(), hierarchy={})

    def num(x):
        return "" if pd.isna(x) else language.format_number(math.exp(x), b.lang, 2)

    prot["ci"] = [f"{num(lo)}–{num(hi)}" for lo, hi in zip(prot["ci_low"], prot["ci_high"])]
    prot["p"] = ["< 0,001" if b.lang == "nb" and p < 0.001 else "< 0.001" if p < 0.001 else
                 language.format_number(p, b.lang, 3) for p in prot["p_value"]]
    labels = {"what": T["model_row"], "estimate": T["odds_ratio"], "ci": T["ci"], "p": "p",
              "n": T["n"]}
    caption = T["tab_pilot"].format(label=b.label(indicator).lower())
    return Html(disclosure.to_html(prot, list(labels), labels, b.lang, caption=caption,
                                   numeric=["ci", "p"],
                                   formatters={"estimate": num,
                                               "n": lambda v: language.format_number(v, b.lang)}))


def show_pilot_trend(b: Brief, indicator: str = "lonely") -> None:
    """Observed share per wave in the unit's pilot schools and in the other schools.

    Shows nothing when the unit has no pilot school. The groups are not cells of the
    protected publication, so a wave in which any unit of the publication (the city, a
    district or any school; for a municipality, any of its schools) is hidden for the
    indicator is hidden for both groups.
    """
    prot = _pilot_rows(b, indicator)
    if prot is None:
        return
    T = TEXTS[b.lang]
    first, last = exhibits.span(b, prot["wave"])
    label = b.label(indicator)
    fmt = dict(first=first, last=last, unit=b.unit, label=label.lower())
    data = exhibits.share_columns(b, prot).assign(year=[str(int(w)) for w in prot["wave"]])
    labels = {"group": T["group"], "year": T["year"], "estimate": T["estimate"], "ci": T["ci"]}
    theme.show_rendered(lambda: pilot_figure(b, indicator, rows=prot),
                        title=T["fig_pilot"].format(**fmt) if indicator == "lonely"
                        else f"{label} {first}–{last}: {T['pilot'].lower()}, {b.unit}",
                        caption=T["fig_pilot_cap"], alt=T["fig_pilot_alt"].format(**fmt),
                        data_html=exhibits.figure_data_html(b, data, list(labels), labels,
                                                            numeric=["ci"]))


def pilot_figure(b: Brief, indicator: str = "lonely", *,
                 rows: pd.DataFrame | None = None) -> Figure | None:
    """The figure of :func:`show_pilot_trend`, None without pilot schools (draw it inside
    :func:`~ssp_research.brief.theme.rendering`); ``rows``: the protected groups when
    already computed."""
    from ssp_research.brief import plots

    prot = _pilot_rows(b, indicator) if rows is None else rows
    if prot is None:
        return None
    T = TEXTS[b.lang]
    ax = plots.trend(prot, series="group", indicator=indicator, codebook=b.codebook,
                     lang=b.lang, colors={T["pilot"]: theme.UNIT_COLOR,
                                          T["other"]: theme.COMPARISON_COLOR})
    return ax.figure


def _pilot_rows(b: Brief, indicator: str) -> pd.DataFrame | None:
    """Protected shares per wave of the unit's pilot schools and the other schools (None
    without pilot schools)."""
    data = b.data
    if b.unit_type == "country" or "pilot" not in data.columns or not data.loc[
            b.unit_mask, "pilot"].any():
        return None
    treated = data["pilot"].to_numpy() & b.unit_mask
    keep = treated | ~data["pilot"].to_numpy()
    T = TEXTS[b.lang]
    sub = data.loc[keep].assign(group=np.where(treated[keep], T["pilot"], T["other"]))
    t = indicators.indicator_table(sub, b.codebook, indicators=[indicator], unit="group",
                                   compare=None)
    core = t[["indicator", "wave", "group", "estimate", "se", "ci_low", "ci_high", "df", "n",
              "count", "series_break"]]
    prot = disclosure.protect(core, b.rules, hierarchy={})
    # The groups are sums of school cells, not cells of the publication: "other schools" is
    # the city minus every pilot school, so a wave in which ANY unit of the publication
    # (city, district or school) is hidden for the indicator is hidden in both series (a
    # group, with the shown cells, would narrow the hidden one).
    hidden_waves = _hidden_waves(b, indicator)
    if hidden_waves is not None:
        drop = prot["wave"].isin(hidden_waves).to_numpy()
        prot.loc[drop, ["estimate", "se", "ci_low", "ci_high", "count"]] = np.nan
        prot.loc[drop, "suppressed"] = True
        prot.loc[drop, "reason"] = "secondary"
        prot.loc[drop, "marker"] = "*"
    return prot


def _hidden_waves(b: Brief, indicator: str) -> set | None:
    """Waves in which some unit of the publication is hidden for ``indicator`` (None: none).

    A municipality's brief holds only its own and its pilot schools' rows, so its other
    schools are read from the batch publication (``parent`` = the municipality).
    """
    pub = b.publication
    if pub is None:
        return None
    pub = pub[pub["indicator"] == indicator]
    if b.unit_type == "municipality" and b.publication_path:
        rest = pd.read_parquet(paths.in_project(b.publication_path), engine="pyarrow", columns=[
            "indicator", "wave", "gender", "grade", "suppressed"], filters=[
            ("level", "==", "school"), ("parent", "==", b.unit),
            ("indicator", "==", indicator)])
        rest = rest[(rest["gender"] == "all") & (rest["grade"] == "all")]
        pub = pd.concat([pub[["wave", "suppressed"]], rest[["wave", "suppressed"]]])
    return set(pub.loc[pub["suppressed"].astype(bool), "wave"])


def pilot_summary(b: Brief, indicator: str = "lonely", *, start: int = 2023) -> str:
    """The pilot's effect as one plain line (for regression checks of notebooks)."""
    eff = pilot_effect_for(b, indicator, start=start)
    if eff is None:
        return f"{b.unit}: no pilot"
    if eff.method == "wild cluster bootstrap":
        detail = f"{'all ' if eff.exact else ''}{eff.assignments} draws"
    else:
        detail = "exact" if eff.exact else f"{eff.assignments - 1} random assignments"
    return (f"{indicator} DiD points: {100 * eff.estimate:.2f} "
            f"({100 * eff.ci_low:.2f} to {100 * eff.ci_high:.2f}), p={eff.p_value:.4f}, "
            f"verdict={eff.verdict}, {eff.method} ({detail})")
