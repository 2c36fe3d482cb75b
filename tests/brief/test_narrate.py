"""Sentence tests of ssp_research.brief.narrate (and the formats of ssp_research.brief.language)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ssp_research.analysis.frameworks import load_framework
from ssp_research.brief import language
from ssp_research.brief.language import format_ci, format_number, format_percent, format_points
from ssp_research.brief.narrate import (
    goal_summaries,
    headline_findings,
    indicator_sentence,
    is_significant,
    trend_arrow,
)
from ssp_research.core.errors import DataError, ParameterError

NB = "\u00a0"
NAN = float("nan")


def row(indicator="lonely", est=0.18, cmp=0.12, lo=0.02, hi=0.10, p=0.004, hib=False,
        suppressed=False, wave=2025):  # fmt: skip
    return {
        "indicator": indicator, "wave": wave, "estimate": est, "cmp_estimate": cmp,
        "diff": est - cmp if not np.isnan(est) else NAN, "diff_ci_low": lo, "diff_ci_high": hi,
        "p_value": p, "higher_is_better": hib, "suppressed": suppressed,
        "reason": "primary" if suppressed else "", "marker": "*" if suppressed else "",
    }  # fmt: skip


def table(*rows):
    return pd.DataFrame(list(rows))


# --- number formats -------------------------------------------------------------------------


def test_percent_formats_in_both_languages():
    assert format_percent(0.123, "nb", decimals=1) == f"12,3{NB}%"
    assert format_percent(0.123, "en", decimals=1) == "12.3%"
    assert format_percent(0.125, "en") == "13%"  # half up, not banker's rounding
    assert format_percent(0.0005, "nb", decimals=1) == f"0,1{NB}%"
    assert format_percent(NAN, "nb") == "–"
    assert format_percent(None, "en") == "–"


def test_number_formats_with_thousands_separators():
    assert format_number(1234, "nb") == f"1{NB}234"
    assert format_number(1234567.891, "nb", decimals=2) == f"1{NB}234{NB}567,89"
    assert format_number(1234, "en") == "1,234"
    assert format_number(999, "nb") == "999"
    assert format_number(2.345, "en", decimals=2) == "2.35"  # repr-based half up


def test_points_and_ci():
    assert format_points(0.0649, "en") == "6 percentage points"
    assert format_points(-0.0651, "nb", 1) == "\u22126,5 prosentpoeng"
    assert format_ci(0.101, 0.1449, "nb", 1) == f"10,1–14,5{NB}%"
    assert format_ci(0.101, 0.1449, "en") == "10–14%"
    assert format_ci(NAN, 0.2, "en") == "–"
    assert format_ci(3.14159, 3.5, "nb", 2, percent=False) == "3,14–3,50"


def test_unknown_language_is_a_parameter_error():
    with pytest.raises(ParameterError, match="unknown language 'de'"):
        format_percent(0.1, "de")
    with pytest.raises(ParameterError, match="unknown text key"):
        language.text("nope", "nb")
    assert language.text("school_variation", "en") == "Variation between schools"
    assert set(language.TEXTS["gaps"]) == {"nb", "en"}


# --- significance ---------------------------------------------------------------------------


def test_is_significant_needs_p_and_ci_to_agree():
    assert is_significant(row())
    assert not is_significant(row(p=0.03, lo=-0.01))  # CI covers 0
    assert not is_significant(row(p=0.07))  # p >= 0.05
    assert not is_significant(row(p=0.05))  # boundary: not below alpha
    assert is_significant(row(p=NAN))  # CI alone
    assert not is_significant(row(p=NAN, lo=NAN, hi=NAN))  # nothing to test
    assert not is_significant(row(suppressed=True))


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("nb", f"Andelen som føler seg ensomme, er høyere i Midtbyen (18{NB}%) enn i Trondheim "
               f"(12{NB}%), og forskjellen er statistisk sikker."),
        ("en", "The share who feel lonely is higher in Midtbyen (18%) than in Trondheim (12%), "
               "and the difference is statistically clear."),
    ],
)  # fmt: skip
def test_significant_difference_sentence(lang, expected):
    s = indicator_sentence(row(), lang=lang, unit_name="Midtbyen", comparison_name="Trondheim")
    assert s == expected


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("nb", f"Andelen som trives på skolen, er lavere i Heimdal (81{NB}%) enn i Trondheim "
               f"(86{NB}%), og forskjellen er statistisk sikker."),
        ("en", "The share who thrive at school is lower in Heimdal (81%) than in Trondheim (86%), "
               "and the difference is statistically clear."),
    ],
)  # fmt: skip
def test_significant_lower_sentence(lang, expected):
    r = row("thriving", est=0.81, cmp=0.86, lo=-0.08, hi=-0.02, p=0.001, hib=True)
    s = indicator_sentence(r, lang=lang, unit_name="Heimdal", comparison_name="Trondheim")
    assert s == expected


@pytest.mark.parametrize(
    "lang, expected",
    [
        ("nb", f"Andelen som føler seg ensomme, er 15{NB}% i Østbyen og 12{NB}% i Trondheim; "
               "det er ingen sikker forskjell."),
        ("en", "The share who feel lonely is 15% in Østbyen and 12% in Trondheim; "
               "there is no clear difference."),
    ],
)  # fmt: skip
def test_not_significant_is_hedged(lang, expected):
    # p < 0.05 but the CI of the difference covers 0: still no clear difference
    r = row(est=0.15, cmp=0.12, lo=-0.001, hi=0.061, p=0.049)
    s = indicator_sentence(r, lang=lang, unit_name="Østbyen", comparison_name="Trondheim")
    assert s == expected
    assert "higher" not in s and "høyere" not in s


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_suppressed_cell_value_is_never_written(lang):
    # even if a value survived in the row, a suppressed row's number must not appear
    r = row("bullied", est=0.0734, cmp=0.05, suppressed=True)
    s = indicator_sentence(r, lang=lang, unit_name="Skole A", comparison_name="Trondheim")
    assert "7" not in s and "%" not in s
    assert ("vises ikke" in s and "personvern" in s) if lang == "nb" else "not shown" in s
    assert "mobbing" in s if lang == "nb" else "bullying" in s
    found = headline_findings(table(r), lang=lang, unit_name="Skole A")
    assert len(found) == 1 and "7" not in found[0] and "%" not in found[0]


# --- headline findings ----------------------------------------------------------------------


def _brief_table():
    return table(
        row("lonely", est=0.18, cmp=0.12, lo=0.02, hi=0.10, p=0.004),  # clear, +6 pp
        row("bullied", est=0.05, cmp=0.07, lo=-0.03, hi=-0.01, p=0.01),  # clear, -2 pp
        row("close_friend", est=0.90, cmp=0.89, lo=-0.02, hi=0.04, p=0.5, hib=True),
        row("thriving", est=0.74, cmp=0.80, lo=-0.13, hi=0.01, p=0.09, hib=True),
        row("depressive", est=NAN, cmp=0.15, lo=NAN, hi=NAN, p=NAN, suppressed=True),
    )


def _trends():
    return pd.DataFrame(
        {
            "indicator": ["inactive"] * 3 + ["screen_4h"] * 3 + ["local_env"] * 3,
            "wave": [2021, 2023, 2025] * 3,
            "estimate": [0.10, 0.12, 0.15, 0.30, 0.27, 0.22, 0.8, 0.81, 0.79],
            "slope": [0.0125] * 3 + [-0.02] * 3 + [-0.002] * 3,
            "p_value": [0.01] * 3 + [0.001] * 3 + [0.6] * 3,
        }
    )


def test_headline_order_and_hedging_nb():
    t = pd.concat([table(row("inactive", est=0.15, cmp=0.14, lo=-0.01, hi=0.03, p=0.3)),
                   table(row("screen_4h", est=0.22, cmp=0.25, lo=-0.07, hi=0.01, p=0.2)),
                   _brief_table()])  # fmt: skip
    out = headline_findings(t, lang="nb", unit_name="Midtbyen", comparison_name="Trondheim",
                            trends=_trends())  # fmt: skip
    assert out == [
        f"Andelen som føler seg ensomme, er høyere i Midtbyen (18{NB}%) enn i Trondheim (12{NB}%),"
        " og forskjellen er statistisk sikker.",
        f"Andelen som blir mobbet, er lavere i Midtbyen (5{NB}%) enn i Trondheim (7{NB}%),"
        " og forskjellen er statistisk sikker.",
        f"Andelen som bruker over fire timer på skjerm daglig i Midtbyen, har gått ned fra 30{NB}%"
        f" i 2021 til 22{NB}% i 2025, en statistisk sikker nedgang.",
        f"Andelen som er fysisk inaktive i Midtbyen, har økt fra 10{NB}% i 2021 til 15{NB}% i"
        " 2025, en statistisk sikker økning.",
        f"9 av 10 elever i Midtbyen har en venn de kan stole på (90{NB}%).",
        "For fysisk inaktivitet, skjermtid over fire timer, fortrolig venn og skoletrivsel er det"
        " ingen sikker forskjell mellom Midtbyen og Trondheim.",
    ][:5] + [
        "Tallet for depressive symptomer i Midtbyen vises ikke, for å beskytte personvernet.",
    ]  # fmt: skip


def test_headline_english_rising_and_falling_and_no_trend_for_nonsignificant():
    out = headline_findings(_brief_table().iloc[:0], lang="en", unit_name="Lerkendal",
                            trends=_trends(), max_sentences=6)  # fmt: skip
    assert out == [
        "The share who spend over four hours a day on screens in Lerkendal has fallen from 30% in"
        " 2021 to 22% in 2025, a statistically clear decrease.",
        "The share who are physically inactive in Lerkendal has risen from 10% in 2021 to 15% in"
        " 2025, a statistically clear increase.",
    ]  # fmt: skip
    # local_env's slope has p = 0.6: no sentence about it
    assert not any("local" in s for s in out)


def test_trends_are_restricted_to_the_framework():
    fw = load_framework("lillestrom")  # neither inactive nor screen_4h is in it
    t = table(row("lonely", est=0.15, cmp=0.14, lo=-0.01, hi=0.03, p=0.3))
    out = headline_findings(t, lang="en", trends=_trends(), unit_name="X", framework=fw)
    assert out == ["The share who feel lonely is 15% in X and 14% in the comparison; "
                   "there is no clear difference."]
    out_all = headline_findings(t, lang="en", trends=_trends(), unit_name="X")
    assert out_all[0].startswith("The share who spend over four hours a day on screens in X")


def test_series_break_is_noted_in_trend_sentence():
    tr = _trends()[lambda d: d.indicator == "inactive"].assign(series_break=[False, True, False])
    t = table(row("inactive", est=0.15, cmp=0.14, lo=-0.01, hi=0.03, p=0.3))
    out = headline_findings(t, lang="nb", trends=tr, unit_name="X")
    assert out[0].endswith("(merk brudd i tidsserien i 2023).")


def test_max_sentences_keeps_the_privacy_note():
    out = headline_findings(_brief_table(), lang="en", unit_name="U", max_sentences=2)
    assert len(out) == 2
    assert out[0].startswith("The share who feel lonely is higher")
    assert out[1] == "The figure for depressive symptoms in U is not shown, to protect privacy."
    with pytest.raises(ParameterError):
        headline_findings(_brief_table(), max_sentences=0)


def test_strength_first_framework_never_turns_a_risk_into_a_strength():
    fw = load_framework("trondheim_ssp")  # strength_first: true
    t = table(
        row("bullied", est=0.08, cmp=0.07, lo=-0.01, hi=0.03, p=0.4),
        row("close_friend", est=0.88, cmp=0.89, lo=-0.03, hi=0.01, p=0.4, hib=True),
        row("thriving", est=0.80, cmp=0.86, lo=-0.09, hi=-0.03, p=0.001, hib=True),
        row("school_climate", est=0.9, cmp=0.9, lo=-0.1, hi=0.1, p=0.9, hib=True),  # not in fw
    )
    out = headline_findings(t, framework=fw, lang="nb", unit_name="Heimdal",
                            comparison_name="Trondheim")  # fmt: skip
    assert out[0] == f"Nesten 9 av 10 elever i Heimdal har en venn de kan stole på (88{NB}%)."
    assert out[1].startswith("Andelen som trives på skolen, er lavere i Heimdal")
    assert not any("ikke mobbet" in s for s in out)  # 92 % not bullied is not a strength
    assert not any("school" in s.lower() and "klima" in s for s in out)  # not in the framework


@pytest.mark.parametrize(
    "share, nb, en",
    [(0.90, "9 av 10", "9 in 10"), (0.87, "Nesten 9 av 10", "Almost 9 in 10"),
     (0.83, "Drøyt 8 av 10", "Just over 8 in 10"), (0.97, "Nesten alle", "Almost all"),
     (0.96, "Drøyt 9 av 10", "Just over 9 in 10"),
     (0.70, "7 av 10", "7 in 10")],
)  # fmt: skip
def test_strength_fractions(share, nb, en):
    t = table(row("close_friend", est=share, cmp=share, lo=-0.02, hi=0.02, p=0.9, hib=True))
    assert headline_findings(t, lang="nb", unit_name="U")[0].startswith(nb + " elever i U har")
    assert headline_findings(t, lang="en", unit_name="U")[0].startswith(en + " pupils in U have")


def test_low_positive_share_is_not_a_strength():
    t = table(row("good_health", est=0.65, cmp=0.66, lo=-0.05, hi=0.03, p=0.7, hib=True))
    out = headline_findings(t, lang="en", unit_name="U", comparison_name="C")
    assert out == ["The share who rate their health as good is 65% in U and 66% in C; "
                   "there is no clear difference."]


def test_latest_wave_is_used_and_higher_is_better_from_codebook():
    from ssp_research.data.codebook import load_codebook

    cb = load_codebook("ungdata")
    old = row("close_friend", est=0.95, cmp=0.95, p=0.9, lo=-0.01, hi=0.01, wave=2023)
    new = row("close_friend", est=0.80, cmp=0.80, p=0.9, lo=-0.01, hi=0.01, wave=2025)
    t = table(old, new).drop(columns="higher_is_better")
    out = headline_findings(t, codebook=cb, lang="en", unit_name="U")
    assert out[0] == "8 in 10 pupils in U have a friend they can trust (80%)."
    out23 = headline_findings(t, codebook=cb, lang="en", unit_name="U", wave=2023)
    assert out23[0].startswith("Just over 9 in 10 pupils in U")


def test_duplicate_indicator_rows_are_a_data_error():
    t = table(row(), row())
    with pytest.raises(DataError, match="more than once") as info:
        headline_findings(t)
    assert "one unit" in str(info.value)
    with pytest.raises(DataError, match="'indicator' and 'estimate'"):
        headline_findings(pd.DataFrame({"x": [1]}))


def test_unknown_indicator_uses_codebook_style_label():
    cb = {"indicators": {"vaping": {"label": {"nb": "Bruker e-sigarett", "en": "Vaping"}}}}
    r = row("vaping", est=0.07, cmp=0.04, lo=0.01, hi=0.05, p=0.01)
    s = indicator_sentence(r, codebook=cb, lang="en", unit_name="U", comparison_name="C")
    assert s == ("The share for 'Vaping' is higher in U (7%) than in C (4%), and the "
                 "difference is statistically clear.")  # fmt: skip


# --- arrows and goals -----------------------------------------------------------------------


def test_trend_arrow():
    assert trend_arrow({"estimate": 0.1, "slope": 0.02, "p_value": 0.01}) == "↑"
    assert trend_arrow({"estimate": 0.1, "trend_slope": -0.02, "trend_p_value": 0.01}) == "↓"
    assert trend_arrow({"estimate": 0.1, "slope": 0.02, "p_value": 0.2}) == "→"
    assert trend_arrow(row()) == "↑"  # indicator row: clear positive difference
    assert trend_arrow(row(lo=-0.01)) == "→"
    assert trend_arrow(row(est=0.05, cmp=0.10, lo=-0.08, hi=-0.02, p=0.001)) == "↓"
    assert trend_arrow(row(suppressed=True)) == ""


def test_goal_summaries_show_unmeasured_goals_without_numbers():
    fw = load_framework("trondheim_ssp")
    out = goal_summaries(_brief_table(), framework=fw, lang="nb", unit_name="Midtbyen",
                         comparison_name="Trondheim")  # fmt: skip
    assert [g["id"] for g in out] == ["1", "2", "3", "4", "5"]
    g2 = out[1]
    assert g2["measured"] is False and g2["sentences"] == []
    assert "tjenestedata" in g2["unmeasured"]
    g4 = out[3]  # psykisk helse: depressive (suppressed), lonely; good_health missing
    assert g4["sentences"][0] == (
        "Tallet for depressive symptomer i Midtbyen vises ikke, for å beskytte personvernet.")
    assert g4["sentences"][1].startswith("Andelen som føler seg ensomme, er høyere")
    assert g4["missing"] == ["good_health"]


def _planted_trend_data(seed=3, n=3000):
    """Planted truth: loneliness rises (log-odds +0.3 per wave), bullying flat."""
    rng = np.random.default_rng(seed)
    wave = rng.choice([2019, 2021, 2023, 2025], n)
    step = (wave - 2019) / 2
    df = pd.DataFrame({"wave": wave, "weight": 1.0, "school": rng.choice(list("ABCDEF"), n)})
    df["ind_lonely"] = rng.binomial(1, 1 / (1 + np.exp(-(-2.0 + 0.3 * step)))).astype(float)
    df["ind_bullied"] = rng.binomial(1, 0.08, n).astype(float)
    return df


def test_trends_from_effects_trend_output():
    from ssp_research.analysis.effects import trend

    df = _planted_trend_data()
    tr = pd.concat([trend(df, "ind_lonely", adjust=()), trend(df, "ind_bullied", adjust=())])
    out = headline_findings(table().assign(indicator=[], estimate=[]), lang="en",
                            unit_name="Trondheim", trends=tr)  # fmt: skip
    assert len(out) == 1  # the flat bullying trend is not told
    obs = tr[(tr.variable == "ind_lonely") & (tr.quantity == "observed")].sort_values("wave")
    first, last = obs["estimate"].iloc[0], obs["estimate"].iloc[-1]
    assert out[0] == (
        f"The share who feel lonely in Trondheim has risen from {format_percent(first, 'en')} in "
        f"2019 to {format_percent(last, 'en')} in 2025, a statistically clear increase.")
    assert last > first


@pytest.mark.parametrize(
    "lang, expected",
    [("nb", "Det finnes ikke noe tall for mobbing i U."),
     ("en", "There is no figure for bullying in U.")],
)  # fmt: skip
def test_missing_estimate_is_not_called_a_privacy_suppression(lang, expected):
    r = row("bullied", est=NAN, cmp=0.07, lo=NAN, hi=NAN, p=NAN) | {"reason": "no answers"}
    assert indicator_sentence(r, lang=lang, unit_name="U") == expected
    assert not is_significant(r) and trend_arrow(r) == ""
    # in the headlines a row without a value is simply left out (no privacy note)
    assert headline_findings(table(r, row()), lang=lang, unit_name="U")[1:] == []


def test_few_findings_are_filled_with_hedged_sentences_then_a_summary():
    t = table(
        row("lonely", est=0.15, cmp=0.14, lo=-0.01, hi=0.03, p=0.3),
        row("bullied", est=0.08, cmp=0.07, lo=-0.01, hi=0.03, p=0.4),
        row("inactive", est=0.12, cmp=0.11, lo=-0.01, hi=0.03, p=0.5),
        row("screen_4h", est=0.30, cmp=0.29, lo=-0.02, hi=0.04, p=0.6),
        row("depressive", est=NAN, cmp=0.15, lo=NAN, hi=NAN, p=NAN, suppressed=True),
    )
    out = headline_findings(t, lang="en", unit_name="U", comparison_name="C")
    assert out == [
        "The share who feel lonely is 15% in U and 14% in C; there is no clear difference.",
        "The share who are bullied is 8% in U and 7% in C; there is no clear difference.",
        "For physical inactivity and screen time over four hours, there is no clear difference"
        " between U and C.",
        "The figure for depressive symptoms in U is not shown, to protect privacy.",
    ]
