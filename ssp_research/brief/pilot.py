"""The pilot-evaluation sections of the briefs (difference-in-differences).

Used by ``notebooks/briefs/evidence_brief.ipynb`` (one paragraph and a figure where the unit
has pilot schools) and ``notebooks/briefs/pilot_evaluation.ipynb`` (the whole evaluation).
The model is ``pilot_did`` of :mod:`ssp_research.analysis.schools` (schools as clusters,
school and wave fixed effects); the observed shares come from
:func:`ssp_research.analysis.indicators.indicator_table` and pass through
:func:`~ssp_research.disclosure.protect` before they are drawn.

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
from ssp_research.analysis.schools import pilot_did
from ssp_research.brief import language, theme
from ssp_research.brief.content import Brief, Html
from ssp_research.brief.texts import TEXTS
from ssp_research.core import paths
from ssp_research.core.errors import DesignError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["pilot_table", "pilot_html", "pilot_did_html", "show_pilot_trend",
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


def pilot_html(b: Brief, indicator: str = "lonely", *, start: int = 2023) -> Html:
    """The pilot evaluation as text: effect as an odds ratio with CI, hedged, and pretrend."""
    T = TEXTS[b.lang]
    did = pilot_table(b, indicator, start=start)
    if b.unit_type == "country":
        return Html(f"<p>{_html.escape(T['pilot_country'])}</p>")
    if did.attrs.get("reason") == "too_few_schools":
        return Html(f"<p>{_html.escape(T['pilot_too_few'].format(unit=b.unit))}</p>")
    if did.empty:
        key = "no_pilot_school" if b.unit_type == "school" else "no_pilot"
        return Html(f"<p>{_html.escape(T[key].format(unit=b.unit))}</p>")
    row = did[did["quantity"] == "did"].iloc[0]
    pre = did[did["quantity"] == "pretrend"].iloc[0]
    lang = b.lang

    def num(x):
        return language.format_number(x, lang, 2)

    odds = f"{num(math.exp(row['estimate']))} ({num(math.exp(row['ci_low']))}–" \
           f"{num(math.exp(row['ci_high']))})"
    clear = row["p_value"] < 0.05 and (row["ci_high"] < 0 or row["ci_low"] > 0)
    label = b.label(indicator).lower() if lang == "nb" else b.label(indicator).lower()
    if lang == "nb":
        verdict = ("forskjellen er statistisk sikker" if clear else
                   "det er ingen sikker forskjell")
        text = (f"{T['pilot_intro'].format(before=start - 2, after=start)} Endring i "
                f"{label} i pilotskolene utover endringen i andre skoler, som oddsforhold: "
                f"{odds}; {verdict}.")
        pre_text = ("Før piloten utviklet pilotskolene og de andre skolene seg likt "
                    "(ingen sikker forskjell)." if pre["p_value"] >= 0.05 else
                    "Advarsel: pilotskolene utviklet seg annerledes allerede før piloten; "
                    "tolk effekten med forsiktighet.")
    else:
        verdict = "the difference is statistically clear" if clear else "no clear difference"
        text = (f"{T['pilot_intro'].format(before=start - 2, after=start)} Change in "
                f"{label} in pilot schools beyond the change in other schools, as an odds "
                f"ratio: {odds}; {verdict}.")
        pre_text = ("Before the pilot, pilot and other schools developed alike (no clear "
                    "difference)." if pre["p_value"] >= 0.05 else
                    "Caution: pilot schools developed differently already before the pilot.")
    if pd.isna(pre["p_value"]):
        pre_text = ""
    return Html(f'<p class="ssp-pilot">{_html.escape(text)}</p>'
                f'<p class="ssp-note">{_html.escape(pre_text)}</p>')


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
    return Html(disclosure.to_html(prot, list(labels), labels, b.lang,
                                   formatters={"estimate": num,
                                               "n": lambda v: language.format_number(v, b.lang)}))


def show_pilot_trend(b: Brief, indicator: str = "lonely") -> None:
    """Observed share per wave in the unit's pilot schools and in the other schools.

    Shows nothing when the unit has no pilot school. The groups are not cells of the
    protected publication, so a wave in which any unit of the publication (the city, a
    district or any school; for a municipality, any of its schools) is hidden for the
    indicator is hidden for both groups.
    """
    theme.show_rendered(lambda: pilot_figure(b, indicator))


def pilot_figure(b: Brief, indicator: str = "lonely") -> Figure | None:
    """The figure of :func:`show_pilot_trend`, None without pilot schools (draw it inside
    :func:`~ssp_research.brief.theme.rendering`)."""
    from ssp_research.brief import plots

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
    ax = plots.trend(prot, series="group", indicator=indicator, codebook=b.codebook,
                     lang=b.lang)
    return ax.figure


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
    """The pilot's DiD as one plain line (for regression checks of notebooks)."""
    did = pilot_table(b, indicator, start=start)
    if did.empty:
        return f"{b.unit}: no pilot"
    row = did[did["quantity"] == "did"].iloc[0]
    return f"{indicator} DiD log-odds: {row['estimate']:.3f} (p={row['p_value']:.4f})"
