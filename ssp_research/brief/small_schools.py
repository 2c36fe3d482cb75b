"""Model-based estimates for a small school's brief (Fay–Herriot), named as model-based.

A school with few answers has wide intervals. :func:`small_area_table` fits the area-level
Fay–Herriot model (:func:`ssp_research.analysis.small_area.fay_herriot`, REML, no
covariates: each school's share is drawn towards the mean of the schools, the more the fewer
answered) on the **published** school estimates of the brief's wave, and shows the
school's model-based estimate beside its direct one where

* the school had fewer than :data:`SMALL_N` answers to the indicator,
* its direct estimate is shown in the publication (a hidden one stays hidden: the model-based
  estimate is a weighted mean of the direct one and the other schools' mean, so it would give
  the hidden share away),
* the model's MSE is below the direct variance (it is more precise).

The model uses nothing but published numbers (the other schools' shown estimates and
standard errors), so it releases nothing the publication does not.
"""

from __future__ import annotations

import html as _html

import numpy as np
import pandas as pd

from ssp_research import disclosure
from ssp_research.analysis.small_area import fay_herriot
from ssp_research.brief import language
from ssp_research.brief.content import Brief, Html
from ssp_research.brief.texts import TEXTS
from ssp_research.core.errors import EstimationError

__all__ = ["SMALL_N", "small_area_table", "small_area_html"]

#: Schools with fewer answers than this to an indicator get its model-based estimate.
SMALL_N = 100


def small_area_table(b: Brief) -> pd.DataFrame:
    """Per indicator of a small school's brief: direct and model-based estimates.

    Columns ``indicator, estimate, ci_low, ci_high, n, eblup, eblup_low, eblup_high, gamma``;
    empty for other unit types, without a publication, or where no indicator qualifies.
    """
    pub = b.publication
    cols = ["indicator", "estimate", "ci_low", "ci_high", "n", "eblup", "eblup_low",
            "eblup_high", "gamma"]
    if b.unit_type != "school" or pub is None:
        return pd.DataFrame(columns=cols)
    schools = pub[(pub["level"] == "school") & (pub["wave"] == b.wave)]
    rows = []
    for name in b.indicator_names:
        own = schools[(schools["indicator"] == name) & (schools["unit"] == b.unit)]
        if own.empty or bool(own["suppressed"].iloc[0]) or own["n"].iloc[0] >= SMALL_N:
            continue
        shown = schools[(schools["indicator"] == name) & ~schools["suppressed"].astype(bool)]
        try:
            fit = fay_herriot(shown, area="unit", n="n", proportion=True)
        except EstimationError:
            continue  # too few shown schools for the model
        r = fit[fit["unit"] == b.unit].iloc[0]
        if not bool(r["use"]):
            continue
        rows.append({"indicator": name, "estimate": own["estimate"].iloc[0],
                     "ci_low": own["ci_low"].iloc[0], "ci_high": own["ci_high"].iloc[0],
                     "n": own["n"].iloc[0], "eblup": r["eblup"], "eblup_low": r["ci_low"],
                     "eblup_high": r["ci_high"], "gamma": r["gamma"]})
    return pd.DataFrame(rows, columns=cols)


def small_area_html(b: Brief) -> Html:
    """The small school's model-based estimates as a section (empty for other briefs)."""
    t = small_area_table(b)
    if t.empty:
        return Html("")
    T, lang = TEXTS[b.lang], b.lang
    t = t.assign(label=[b.label(n) for n in t["indicator"]],
                 direct_ci=[language.format_ci(lo, hi, lang) for lo, hi in
                            zip(t["ci_low"], t["ci_high"])],
                 model=[language.format_percent(v, lang) for v in t["eblup"]],
                 model_ci=[language.format_ci(lo, hi, lang) for lo, hi in
                           zip(t["eblup_low"], t["eblup_high"])],
                 own_weight=[language.format_percent(g, lang) for g in t["gamma"]],
                 suppressed=False, reason="", marker="")
    labels = {"label": T["indicator"], "estimate": T["sae_direct"], "direct_ci": T["ci"],
              "model": T["sae_model"], "model_ci": T["ci"], "own_weight": T["sae_weight"],
              "n": T["n"]}
    caption = T["tab_sae"].format(unit=b.unit, period=b.period())
    table = disclosure.to_html(t, list(labels), labels, lang, caption=caption,
                               numeric=["direct_ci", "model", "model_ci", "own_weight"],
                               formatters={
        "estimate": lambda v: language.format_percent(v, lang),
        "n": lambda v: language.format_number(v, lang)})
    n = int(np.nanmax(t["n"]))
    intro = T["sae_intro"].format(n=language.format_number(n, lang), wave=b.wave,
                                  city=b.city)
    return Html(f'<section class="ssp-small-area"><h3>{_html.escape(T["sae_title"])}</h3>'
                f"<p>{_html.escape(intro)}</p>{table}</section>")
