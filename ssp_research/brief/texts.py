"""Texts of the evidence briefs in Bokmål (``nb``) and English (``en``).

Column headings, footnotes and method sentences used by :mod:`ssp_research.brief.content` and
:mod:`ssp_research.brief.pilot`; plain-language findings come from
:mod:`ssp_research.brief.narrate`. Every key exists in both languages (checked by
``tests/brief/test_content.py``).
"""

from __future__ import annotations

__all__ = ["TEXTS"]

TEXTS = {
    "nb": {
        "to": "til", "indicator": "Indikator", "estimate": "Andel", "ci": "95 % KI",
        "cmp": "Sammenligning",
        "diff": "Forskjell (prosentpoeng)", "trend": "Utvikling", "n": "Antall svar",
        "prev": "{unit} {wave}", "fn_suppressed": "* Ikke vist for å beskytte personvernet.",
        "fn_break": "⚡ Brudd i tidsserien: ikke sammenlignbart med tidligere år.",
        "fn_arrow": "Pil: ↑ / ↓ statistisk sikker økning / nedgang over årene, → ingen sikker "
                    "endring; tom når tidsserien ikke kan vises.",
        "no_goal_ind": "Ingen indikator i undersøkelsen måler dette målet.",
        "poor": "Dårlig råd", "middle": "Verken god eller dårlig", "good": "God råd",
        "all": "Alle", "no_pilot": "{unit} har ingen skoler i pilotprogrammet.",
        "no_pilot_school": "{unit} er ikke med i pilotprogrammet.",
        "pilot_too_few": "Piloten i {unit} kan ikke evalueres: det trengs minst to skoler "
                         "(klynger) i sammenligningen.",
        "pilot_country": "Pilotprogrammet evalueres per kommune (se kommunenes rapporter), "
                         "ikke for hele landet samlet.",
        "event": "Pilot mot andre, år", "model_row": "Modellledd", "odds_ratio": "Oddsforhold",
        "pilot": "Pilotskoler", "other": "Andre skoler",
        "pilot_intro": "Pilotskoler sammenlignet med andre skoler, før ({before}) og etter "
                       "({after}) at piloten startet.",
        "design": "Utvalg og vekter: alle ungdomsskoler deltar, så skolene er strata (per år) "
                  "og elevene er enhetene; vektene justerer for svarprosent per skole, trinn "
                  "og kjønn.",
        "ci_method": "Usikkerhet: 95 % konfidensintervall (logit-intervall med designets "
                     "frihetsgrader, som R survey::svyciprop). Forskjeller testes "
                     "designbasert (t-test), og overlappet mellom enhet og by er tatt hensyn "
                     "til. Trender: designbasert logistisk regresjon på år (svyglm).",
        "pool": "Sammenslåing: {pool} undersøkelsesår slått sammen i et glidende vindu.",
        "no_pool": "Sammenslåing: ingen (hvert år for seg).",
        "std": "Standardisering: direkte standardisert etter trinn og kjønn til byens "
               "elevtall.",
        "no_std": "Standardisering: ingen (rå andeler).",
        "economy_rule": "Familiens økonomi: gruppene (dårlig råd, middels, god råd) er skjermet "
                        "sammen med resten av publiseringen; gruppenes størrelse vises ikke (den "
                        "er selv et svar), og gruppene vises bare der andelen med dårlig råd "
                        "vises for enheten.",
        "prev_note": "Sammenligning med forrige undersøkelse: uavhengige utvalg, normal-"
                     "tilnærming.",
        "codebook": "Instrument: {title}, kodebok versjon {version}. Kilde: {source}.",
        "framework": "Strategi: {title} ({period}). Kilde: {url}",
        "rules": "Personvern (prikking)",
        "data": "Data: {file}; {n} svar fra {unit} i {wave}.",
    },
    "en": {
        "to": "to", "indicator": "Indicator", "estimate": "Share", "ci": "95% CI",
        "cmp": "Comparison",
        "diff": "Difference (points)", "trend": "Trend", "n": "Answers",
        "prev": "{unit} {wave}", "fn_suppressed": "* Not shown, to protect privacy.",
        "fn_break": "⚡ Series break: not comparable with earlier years.",
        "fn_arrow": "Arrow: ↑ / ↓ statistically clear rise / fall over the years, → no clear "
                    "change; empty when the series cannot be shown.",
        "no_goal_ind": "No survey indicator measures this goal.",
        "poor": "Hard up", "middle": "Neither good nor poor", "good": "Well off",
        "all": "All", "no_pilot": "{unit} has no schools in the pilot programme.",
        "no_pilot_school": "{unit} is not in the pilot programme.",
        "pilot_too_few": "The pilot in {unit} cannot be evaluated: the comparison needs at "
                         "least two schools (clusters).",
        "pilot_country": "The pilot programme is evaluated per municipality (see the "
                         "municipalities' briefs), not for the country as a whole.",
        "event": "Pilot vs others, year", "model_row": "Model term", "odds_ratio": "Odds ratio",
        "pilot": "Pilot schools", "other": "Other schools",
        "pilot_intro": "Pilot schools compared with other schools, before ({before}) and after "
                       "({after}) the pilot started.",
        "design": "Sample and weights: every lower-secondary school takes part, so schools are "
                  "strata (per year) and pupils the units; weights adjust for response by "
                  "school, grade and gender.",
        "ci_method": "Uncertainty: 95% confidence intervals (logit interval with the design's "
                     "degrees of freedom, as R survey::svyciprop). Differences are tested "
                     "design-based (t test), allowing for the overlap of unit and city. "
                     "Trends: design-based logistic regression on year (svyglm).",
        "pool": "Pooling: {pool} survey years pooled in a rolling window.",
        "no_pool": "Pooling: none (each year on its own).",
        "std": "Standardisation: directly standardised by grade and gender to the city's "
               "pupils.",
        "no_std": "Standardisation: none (crude shares).",
        "economy_rule": "Family economy: the groups (hard up, middle, well off) are protected "
                        "together with the rest of the publication; group sizes are not shown "
                        "(a group's size is itself an answer), and the groups are shown only "
                        "where the unit's share of hard-up families is shown.",
        "prev_note": "Comparison with the previous survey: independent samples, normal "
                     "approximation.",
        "codebook": "Instrument: {title}, codebook version {version}. Source: {source}.",
        "framework": "Strategy: {title} ({period}). Source: {url}",
        "rules": "Privacy (suppression)",
        "data": "Data: {file}; {n} answers from {unit} in {wave}.",
    },
}  # fmt: skip
