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
        "ref": "Landet ({year})", "barometer": "Mot landet",
        "bar_better": "✔ bedre", "bar_same": "= ingen sikker forskjell",
        "bar_worse": "✖ dårligere", "bar_none": "– ikke noe landstall",
        "fn_barometer": "Mot landet: enhetens andel testet mot siste publiserte landstall "
                        "(høyst tre år gammelt), med usikkerheten i begge tallene. ✔ bedre og ✖ "
                        "dårligere betyr en statistisk sikker forskjell i god eller dårlig retning "
                        "for indikatoren; = ingen sikker forskjell; – ikke noe publisert landstall "
                        "passer. Kilder: {sources}.",
        "trend_good": "bedre", "trend_bad": "dårligere",
        "poor": "Dårlig råd", "middle": "Verken god eller dårlig", "good": "God råd",
        "all": "Alle", "no_pilot": "{unit} har ingen skoler i pilotprogrammet.",
        "no_pilot_school": "{unit} er ikke med i pilotprogrammet.",
        "pilot_too_few": "Piloten i {unit} kan ikke evalueres: det trengs minst to skoler "
                         "(klynger) i sammenligningen.",
        "pilot_country": "Pilotprogrammet evalueres per kommune (se kommunenes rapporter), "
                         "ikke for hele landet samlet.",
        "event": "Pilot mot andre, år", "model_row": "Modellledd", "odds_ratio": "Oddsforhold",
        "pilot": "Pilotskoler", "other": "Andre skoler",
        # figures and tables: titles, captions, the folded numbers, charts with nothing shown
        "fig_trends": "Utvikling {first}–{last}: {unit} og {cmp}",
        "fig_trends_own": "Utvikling {first}–{last}: {unit}",
        "fig_trends_cap": "Andel per undersøkelse. Det skyggelagte feltet er 95 % "
                          "konfidensintervall. {unit} er blå, {cmp} er oransje.",
        "fig_trends_cap_own": "Andel per undersøkelse. Det skyggelagte feltet er 95 % "
                              "konfidensintervall.",
        "fig_pooled_cap": " Hvert punkt slår sammen opptil {k} undersøkelser, til og med året "
                          "under punktet.",
        "fig_trends_alt": "Linjediagram: utviklingen for {k} indikatorer i {unit}, "
                          "{first}–{last}. Tallene står i tabellen under figuren.",
        "fig_gaps": "Forskjeller etter {by}: {unit}, {period}",
        "fig_gaps_cap": "Punktet er andelen i gruppen, streken er 95 % konfidensintervall.",
        "fig_gaps_alt": "Punktdiagram: andelen for hver indikator etter {by} i {unit}, "
                        "{period}. Tallene står i tabellen under figuren.",
        "fig_pilot": "Ensomhet {first}–{last}: pilotskolene og de andre skolene i {unit}",
        "fig_pilot_cap": "Andel per undersøkelse med 95 % konfidensintervall (skyggelagt).",
        "fig_pilot_alt": "Linjediagram: andelen for {label} i pilotskolene og i de andre "
                         "skolene, {first}–{last}. Tallene står i tabellen under figuren.",
        "figdata": "Tallene i figuren",
        "group": "Gruppe", "year": "År",
        "nochart": "Tall etter {by} vises ikke for {unit} i {period}: gruppene er så små at "
                   "tallene kunne avsløre enkeltelever.",
        "tab_goal": "{goal}: {unit}, {period}",
        "tab_pilot": "Pilotens virkning: modellen for {label}",
        "tab_sae": "Direkte og modellbaserte andeler: {unit}, {period}",
        "sae_title": "Modellbaserte anslag for en liten skole",
        "sae_intro": "Skolen er liten (høyst {n} svar i {wave}), så skolens egne tall er "
                     "usikre. Et modellbasert anslag (Fay–Herriot-modellen) låner styrke fra "
                     "de andre skolene i {city}: det trekker skolens andel mot gjennomsnittet "
                     "for skolene, mer jo færre som svarte. Anslagene er beregnet med en "
                     "modell, ikke målt direkte, og vises bare der de er mer presise enn "
                     "skolens egne tall. De bygger bare på tall som allerede er publisert.",
        "sae_direct": "Skolens egne svar", "sae_model": "Modellbasert anslag",
        "sae_weight": "Vekt på skolens egne svar",
        "pilot_schools_of": "de {n} pilotskolene i {unit}",
        "pilot_school_of": "den ene pilotskolen i {unit}",
        "pilot_comparison": "de {n} skolene i {city} som ikke er med i piloten",
        "pilot_compare": "Vi sammenligner endringen i {label} fra {base} (siste undersøkelse "
                         "før piloten) til {post} i {pilots} med endringen i {comparison}.",
        "pilot_effect_pp": "Etter at piloten startet, var andelen i pilotskolene {size} "
                           "prosentpoeng {direction} enn om de hadde fulgt utviklingen i de "
                           "andre skolene (forskjell {effect} prosentpoeng).",
        "lower": "lavere", "higher": "høyere", "and": "og",
        "pilot_ci": "Med 95 % sikkerhet ligger forskjellen mellom {ci} prosentpoeng.",
        "pilot_method_random": "Metode: resultatet er sammenlignet med {assignments} tilfeldig "
                               "valgte måter å velge like mange pilotskoler blant skolene på "
                               "(randomiseringstest); det holder også når pilotskolene er få.",
        "pilot_sure": "Forskjellen er statistisk sikker: så stor forskjell oppstår sjelden "
                      "mellom skoler uten pilot (p = {p}).",
        "pilot_not_sure": "Vi fant ingen sikker forskjell: like store forskjeller oppstår også "
                          "mellom skoler uten pilot (p = {p}).",
        "pilot_no_verdict_one_pilot_school": "Med én pilotskole kan vi ikke skille resultatet "
                                             "fra vanlig variasjon mellom skoler, så vi "
                                             "trekker ingen konklusjon.",
        "pilot_no_verdict_too_few_comparison_schools": "Det er for få skoler å sammenligne "
                                                       "med til å trekke en konklusjon.",
        "pilot_no_verdict_too_few_assignments": "Det er for få skoler til å trekke en "
                                                "konklusjon.",
        "pilot_pre_alike": "Vi fant ingen sikker forskjell i utviklingen før piloten ({a} til "
                           "{b}). Det viser ikke at utviklingen ville vært lik uten piloten.",
        "pilot_pre_differs": "Advarsel: pilotskolene utviklet seg annerledes enn de andre "
                             "skolene allerede før piloten ({a} til {b}). Tolk resultatet med "
                             "forsiktighet.",
        "pilot_pre_one": "Utviklingen før piloten kan ikke sjekkes: det finnes bare én "
                         "undersøkelse før start.",
        "pilot_pre_unknown": "Utviklingen før piloten kan ikke vurderes sikkert.",
        "pilot_method": "Metode: resultatet er sammenlignet med alle de {assignments} måtene å "
                        "velge like mange pilotskoler blant skolene på (randomiseringstest); "
                        "det holder også når pilotskolene er få.",
        "pilot_method_wcb": "Metode: villbootstrap over skolene (wild cluster bootstrap): vi "
                            "lager {assignments} tenkte utfall der hver skoles egne avvik "
                            "snus tilfeldig, og ser hvor ofte så stor forskjell oppstår uten "
                            "pilot.",
        "pilot_why_enough_schools": "Vi bruker denne metoden fordi det er mange nok "
                                    "pilotskoler og skoler å sammenligne med (minst {min_wcb} "
                                    "av hver); den tåler at skolene er ulike store og "
                                    "varierer ulikt.",
        "pilot_why_few_pilot_schools": "Vi bruker denne metoden fordi pilotskolene er få "
                                       "(færre enn {min_wcb}); andre metoder gir da for "
                                       "skråsikre svar.",
        "pilot_why_few_comparison_schools": "Vi bruker denne metoden fordi skolene å "
                                            "sammenligne med er få (færre enn {min_wcb}).",
        "pilot_hidden": "Effekten av piloten vises ikke: den bygger på skoletall som er skjult "
                        "for å verne små grupper.",
        "design": ("Utvalg og vekter: Alle ungdomsskoler er med. Hver skole er et eget lag "
                  "(stratum) hvert år, og hver elev teller for seg. Vektene retter opp for ulik "
                  "svarprosent etter skole, trinn og kjønn."),
        "ci_method": ("Usikkerhet: Intervallene viser hvor det sanne tallet trolig ligger (95 % "
                     "konfidensintervall). De er regnet ut som i R-pakken survey (svyciprop). "
                     "Vi tester forskjeller med t-test, og vi tar med at enheten er en del av "
                     "byen. Trender er testet med logistisk regresjon på år (svyglm)."),
        "pool": "Sammenslåing: {pool} undersøkelsesår slått sammen i et glidende vindu.",
        "no_pool": "Sammenslåing: ingen (hvert år for seg).",
        "std": "Standardisering: direkte standardisert etter trinn og kjønn til byens "
               "elevtall.",
        "no_std": "Standardisering: ingen (rå andeler).",
        "economy_rule": "Familiens økonomi: gruppene (dårlig råd, middels, god råd) er skjermet "
                        "sammen med resten av publiseringen; gruppenes størrelse vises ikke (den "
                        "er selv et svar), og gruppene vises bare der andelen med dårlig råd "
                        "vises for enheten.",
        "prev_note": ("Forrige undersøkelse: Elevene i de to årene er ulike utvalg, og vi tester "
                     "forskjellen som mellom to uavhengige utvalg."),
        "codebook": "Spørreskjema: {title} (kodebok {version}). Kilde: {source}.",
        "framework": "Strategi: {title}. Kilde: {url}",
        "rules": "Personvern (prikking)",
        "data": "Data: {n} svar fra {unit} i {wave}.",
        "h_unit": "Enhet", "h_survey": "Undersøkelse", "h_years": "År", "h_answers": "Svar",
        "h_rate": "Svarprosent", "h_strategy": "Strategi", "h_compare": "Sammenlignet med",
        "h_years_pooled": "{period} ({k} undersøkelser slått sammen)",
        "h_answers_n": "{n}", "h_rate_n": "{rate} av elevene svarte ({n} av {pupils})",
        "h_national": "landstall fra Ungdata {year}", "h_district": "bydel i {city}",
        "h_school": "skole i {district}, {city}", "h_city": "kommune",
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
        "ref": "Norway ({year})", "barometer": "Against Norway",
        "bar_better": "✔ better", "bar_same": "= no clear difference",
        "bar_worse": "✖ worse", "bar_none": "– no national figure",
        "fn_barometer": "Against Norway: the unit's share tested against the latest published "
                        "national figure (at most three years old), with the uncertainty of both. "
                        "✔ better and ✖ worse mean a statistically clear difference in the "
                        "indicator's good or bad direction; = no clear difference; – no published "
                        "national figure fits. Sources: {sources}.",
        "trend_good": "better", "trend_bad": "worse",
        "poor": "Hard up", "middle": "Neither good nor poor", "good": "Well off",
        "all": "All", "no_pilot": "{unit} has no schools in the pilot programme.",
        "no_pilot_school": "{unit} is not in the pilot programme.",
        "pilot_too_few": "The pilot in {unit} cannot be evaluated: the comparison needs at "
                         "least two schools (clusters).",
        "pilot_country": "The pilot programme is evaluated per municipality (see the "
                         "municipalities' briefs), not for the country as a whole.",
        "event": "Pilot vs others, year", "model_row": "Model term", "odds_ratio": "Odds ratio",
        "pilot": "Pilot schools", "other": "Other schools",
        "fig_trends": "Trends {first}–{last}: {unit} and {cmp}",
        "fig_trends_own": "Trends {first}–{last}: {unit}",
        "fig_trends_cap": "Share per survey. The shaded band is the 95% confidence interval. "
                          "{unit} is blue, {cmp} is orange.",
        "fig_trends_cap_own": "Share per survey. The shaded band is the 95% confidence "
                              "interval.",
        "fig_pooled_cap": " Each point pools up to {k} surveys, up to and including the year "
                          "below it.",
        "fig_trends_alt": "Line chart: the trends of {k} indicators in {unit}, "
                          "{first}–{last}. The numbers are in the table below the figure.",
        "fig_gaps": "Differences by {by}: {unit}, {period}",
        "fig_gaps_cap": "The dot is the group's share, the line its 95% confidence interval.",
        "fig_gaps_alt": "Dot chart: the share of each indicator by {by} in {unit}, {period}. "
                        "The numbers are in the table below the figure.",
        "fig_pilot": "Loneliness {first}–{last}: the pilot schools and the other schools "
                     "in {unit}",
        "fig_pilot_cap": "Share per survey with its 95% confidence interval (shaded).",
        "fig_pilot_alt": "Line chart: the share for {label} in the pilot schools and in the "
                         "other schools, {first}–{last}. The numbers are in the table below "
                         "the figure.",
        "figdata": "The numbers in the figure",
        "group": "Group", "year": "Year",
        "nochart": "Numbers by {by} are not shown for {unit} in {period}: the groups are so "
                   "small that the numbers could identify single pupils.",
        "tab_goal": "{goal}: {unit}, {period}",
        "tab_pilot": "The pilot's effect: the model for {label}",
        "tab_sae": "Direct and model-based shares: {unit}, {period}",
        "sae_title": "Model-based estimates for a small school",
        "sae_intro": "The school is small (at most {n} answers in {wave}), so its own figures "
                     "are uncertain. A model-based estimate (the Fay–Herriot model) borrows "
                     "strength from the other schools in {city}: it draws the school's share "
                     "towards the mean of the schools, the more the fewer answered. These "
                     "estimates come from a model, not a direct measurement, and are shown "
                     "only where they are more precise than the school's own figures. They "
                     "use only figures that are already published.",
        "sae_direct": "The school's own answers", "sae_model": "Model-based estimate",
        "sae_weight": "Weight of the school's own answers",
        "pilot_schools_of": "the {n} pilot schools in {unit}",
        "pilot_school_of": "the one pilot school in {unit}",
        "pilot_comparison": "the {n} schools in {city} that are not in the pilot",
        "pilot_compare": "We compare the change in {label} from {base} (the last survey before "
                         "the pilot) to {post} in {pilots} with the change in {comparison}.",
        "pilot_effect_pp": "After the pilot started, the share in the pilot schools was {size} "
                           "percentage points {direction} than if they had followed the "
                           "development in the other schools (difference {effect} percentage "
                           "points).",
        "lower": "lower", "higher": "higher", "and": "and",
        "pilot_ci": "With 95% confidence the difference lies between {ci} percentage points.",
        "pilot_method_random": "Method: the result is compared with {assignments} randomly "
                               "chosen ways of choosing as many pilot schools among the schools "
                               "(a randomisation test); it holds also when pilot schools are "
                               "few.",
        "pilot_sure": "The difference is statistically clear: a difference this large rarely "
                      "arises between schools without the pilot (p = {p}).",
        "pilot_not_sure": "We found no clear difference: differences this large also arise "
                          "between schools without the pilot (p = {p}).",
        "pilot_no_verdict_one_pilot_school": "With one pilot school the result cannot be told "
                                             "apart from ordinary variation between schools, "
                                             "so we draw no conclusion.",
        "pilot_no_verdict_too_few_comparison_schools": "There are too few schools to compare "
                                                       "with to draw a conclusion.",
        "pilot_no_verdict_too_few_assignments": "There are too few schools to draw a "
                                                "conclusion.",
        "pilot_pre_alike": "We found no clear difference in the development before the pilot "
                           "({a} to {b}). That does not show that the development would have "
                           "been the same without the pilot.",
        "pilot_pre_differs": "Caution: the pilot schools developed differently from the other "
                             "schools already before the pilot ({a} to {b}). Interpret the "
                             "result with care.",
        "pilot_pre_one": "The development before the pilot cannot be checked: there is only one "
                         "survey before the start.",
        "pilot_pre_unknown": "The development before the pilot cannot be judged with certainty.",
        "pilot_method": "Method: the result is compared with all {assignments} ways of choosing "
                        "as many pilot schools among the schools (a randomisation test); it "
                        "holds also when pilot schools are few.",
        "pilot_method_wcb": "Method: a wild cluster bootstrap over the schools: we build "
                            "{assignments} imagined outcomes in which each school's own "
                            "deviations are flipped at random, and see how often a difference "
                            "this large arises without a pilot.",
        "pilot_why_enough_schools": "We use it because there are enough pilot schools and "
                                    "schools to compare with (at least {min_wcb} of each); it "
                                    "allows schools to differ in size and in how much they "
                                    "vary.",
        "pilot_why_few_pilot_schools": "We use it because the pilot schools are few (fewer "
                                       "than {min_wcb}); other methods then claim more "
                                       "certainty than the data hold.",
        "pilot_why_few_comparison_schools": "We use it because the schools to compare with "
                                            "are few (fewer than {min_wcb}).",
        "pilot_hidden": "The pilot's effect is not shown: it is built from school figures that "
                        "are hidden to protect small groups.",
        "design": ("Sample and weights: Every lower secondary school takes part. Each school is "
                  "its own stratum each year, and each pupil counts on their own. The weights "
                  "correct for different response rates by school, grade and gender."),
        "ci_method": ("Uncertainty: The intervals show where the true figure probably lies (95% "
                     "confidence intervals). They are computed as in the R package survey "
                     "(svyciprop). We test differences with a t test, and we allow for the "
                     "unit being part of the city. Trends are tested with a logistic "
                     "regression on year (svyglm)."),
        "pool": "Pooling: {pool} survey years pooled in a rolling window.",
        "no_pool": "Pooling: none (each year on its own).",
        "std": "Standardisation: directly standardised by grade and gender to the city's "
               "pupils.",
        "no_std": "Standardisation: none (crude shares).",
        "economy_rule": "Family economy: the groups (hard up, middle, well off) are protected "
                        "together with the rest of the publication; group sizes are not shown "
                        "(a group's size is itself an answer), and the groups are shown only "
                        "where the unit's share of hard-up families is shown.",
        "prev_note": ("Previous survey: The pupils of the two years are different samples, and we "
                     "test the difference as between two independent samples."),
        "codebook": "Questionnaire: {title} (codebook {version}). Source: {source}.",
        "framework": "Strategy: {title}. Source: {url}",
        "rules": "Privacy (suppression)",
        "data": "Data: {n} answers from {unit} in {wave}.",
        "h_unit": "Unit", "h_survey": "Survey", "h_years": "Year", "h_answers": "Answers",
        "h_rate": "Response rate", "h_strategy": "Strategy", "h_compare": "Compared with",
        "h_years_pooled": "{period} ({k} surveys pooled)",
        "h_answers_n": "{n}", "h_rate_n": "{rate} of pupils answered ({n} of {pupils})",
        "h_national": "national figures from Ungdata {year}", "h_district": "district of {city}",
        "h_school": "school in {district}, {city}", "h_city": "municipality",
    },
}  # fmt: skip
