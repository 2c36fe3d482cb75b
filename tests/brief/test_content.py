"""Tests of the brief's building blocks (ssp_research.brief.content, ssp_research.brief.pilot).

On the shipped synthetic data: comparisons computed by hand, suppression that cannot be undone
through the difference column, the HTML contract and the audit, gaps with their margins, and
the planted pilot effect recovered by the pilot section.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from ssp_research.brief import content, gaps, language, pilot, sections
from ssp_research.core import paths
from ssp_research.core.errors import DataError, ParameterError
from ssp_research.disclosure.auditing import audit

SMALL_SCHOOL = "Kvernbekken skole"  # about 50 pupils a wave: some cells are suppressed


@pytest.fixture(scope="module")
def city():
    return content.load()  # builds the city's protected publication itself


@pytest.fixture(scope="module")
def pub_path(city, tmp_path_factory):
    """The city publication written once, as ``ssp batch`` does; other briefs read it."""
    from ssp_research.disclosure import publication

    path = tmp_path_factory.mktemp("publication") / "publication.parquet"
    publication.write_publication(content.joint_publication(city), path)
    return str(path)


@pytest.fixture(scope="module")
def district(pub_path):
    return content.load(unit_type="district", unit="Heimdal", lang="en", publication_path=pub_path)


@pytest.fixture(scope="module")
def small(pub_path):
    return content.load(unit_type="school", unit=SMALL_SCHOOL, publication_path=pub_path)


def test_load_defaults(city):
    assert (city.unit_type, city.unit, city.wave, city.lang) == ("city", "Trondheim", 2025, "nb")
    assert city.comparison == "previous_wave" and city.comparison_name == "Trondheim 2023"
    assert len(city.indicator_names) == 10 and city.unit_mask.all()


@pytest.mark.parametrize("kwargs, message", [
    ({"unit_type": "district", "unit": "Sentrum"}, "units in the data: Heimdal, Lerkendal"),
    ({"wave": 2024}, "waves in the data: 2019, 2021, 2023, 2025"),
    ({"comparison": "city"}, "cannot be compared with itself"),
    ({"unit_type": "district", "unit": "Heimdal", "comparison": "district"}, "for schools"),
    ({"unit_type": "county"}, "unknown unit_type"),
    ({"lang": "de"}, "unknown language"),
])  # fmt: skip
def test_load_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        content.load(**kwargs)


def test_load_rejects_missing_data(tmp_path):
    with pytest.raises(DataError, match="cannot read the brief's data"):
        content.load(str(tmp_path / "none.parquet"))


def test_previous_wave_comparison_by_hand(city):
    t = city.indicators.set_index(["indicator", "wave"])
    now, before = t.loc[("lonely", 2025)], t.loc[("lonely", 2023)]
    assert now["cmp_estimate"] == pytest.approx(before["estimate"], rel=1e-12)
    diff_se = math.sqrt(now["se"] ** 2 + before["se"] ** 2)
    assert now["diff"] == pytest.approx(now["estimate"] - before["estimate"], rel=1e-12)
    assert now["diff_se"] == pytest.approx(diff_se, rel=1e-12)
    assert now["diff_ci_high"] - now["diff"] == pytest.approx(1.959964 * diff_se, rel=1e-6)
    assert math.isnan(t.loc[("lonely", 2019), "cmp_estimate"])


def test_district_against_city_keeps_design_based_difference(district):
    latest = district.latest.set_index("indicator")
    row = latest.loc["bullied"]
    assert row["cmp_estimate"] == pytest.approx(
        district.data.loc[district.data["wave"] == 2025].pipe(
            lambda d: np.average(d["ind_bullied"].dropna(),
                                 weights=d.loc[d["ind_bullied"].notna(), "weight"])), rel=1e-9)
    assert row["diff"] == pytest.approx(row["estimate"] - row["cmp_estimate"], rel=1e-9)
    assert 0 <= row["p_value"] <= 1 and not row["suppressed"]


def test_suppressed_cells_leave_no_trace(small):
    t = small.indicators
    hidden = t[t["suppressed"]]
    assert len(hidden) >= 1, "the small school should have suppressed cells"
    cols = ["estimate", "se", "ci_low", "ci_high", "count", "diff", "diff_se", "diff_ci_low",
            "diff_ci_high", "p_value"]
    assert hidden[cols].isna().all().all()
    assert set(hidden["marker"]) <= {"*", "*⚡"}
    for name in hidden.loc[hidden["wave"] == small.wave, "indicator"]:
        assert small.arrow(name) == ""
    for name in set(hidden["indicator"]):
        assert math.isnan(small.trends.set_index("indicator").loc[name, "slope"])


def test_goals_html_contract_and_audit(small, tmp_path):
    html = sections.goals_html(small)
    # goals 2 and 5 are unmeasured
    assert html.count("<table class=\"ssp-table\" data-ssp-dataset=\"ungdata--") == 3
    assert html.count('class="ssp-unmeasured"') == 4
    for row in re.findall(r'<tr data-ssp-n="\d+" data-ssp-status="suppressed".*?</tr>', html):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        # share, CI, difference, arrow and barometer go; the (public) comparison, the
        # national figure and n stay
        assert not any(re.search(r"\d", cells[i]) for i in (0, 1, 3, 4, 6)), row
        assert cells[0] == "*" and cells[4] == cells[6] == "" and re.search(r"\d", cells[2])
    assert "* Ikke vist for å beskytte personvernet." in html
    page = tmp_path / "content.html"
    page.write_text(f"<html><body>{html}</body></html>", encoding="utf-8")
    assert audit(page) == []


def test_english_numbers(district):
    html = sections.goals_html(district)
    table = re.search(r'<table class="ssp-table"[^>]*>.*?</table>', html, re.S).group(0)
    assert "%" in table and "\u00a0%" not in table and re.search(r"-?\d\.\d \(", table)
    assert "Comparison: Trondheim" in table
    assert re.search(r'class="ssp-n num">1,\d{3}<', table)  # 1,660 answers in English


def test_headlines(district):
    html = sections.headlines_html(district)
    items = re.findall(r"<li[^>]*>(.*?)</li>", html)
    assert 3 <= len(items) <= 7
    assert all(re.search(r"\b20\d\d\b", s) for s in items)  # every finding has its years


def test_summary_lines_are_not_a_table(city, small):
    for b in (city, small):
        lines = sections.summary(b).splitlines()
        assert len(lines) == 11
        numbers = [re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])", ln) for ln in lines[1:]]
        assert all(len(n) <= 2 for n in numbers), numbers
    assert "lonely: 20.1 % (n=6573)" in sections.summary(city)


def test_gap_table_margins_and_groups(city):
    t = gaps.gap_table(city, "gender")
    lonely = t[t["indicator"] == "lonely"].set_index("gender")
    assert set(lonely.index) == {"all", "girl", "boy"}
    assert lonely.loc["girl", "n"] + lonely.loc["boy", "n"] <= lonely.loc["all", "n"]
    d = city.data[(city.data["wave"] == 2025) & (city.data["gender"] == "girl")]
    d = d[d["ind_lonely"].notna()]
    assert lonely.loc["girl", "estimate"] == pytest.approx(
        np.average(d["ind_lonely"], weights=d["weight"]), rel=1e-9)
    econ = gaps.gap_table(city, "family_economy")
    assert set(econ["economy_group"]) == {"all", "poor", "middle", "good"}
    assert "poor_economy" not in set(econ["indicator"])
    with pytest.raises(ParameterError, match="unknown gap"):
        gaps.gap_table(city, "school")


def test_method_section(city, district):
    html = sections.method_html(city)
    assert "Forrige undersøkelse: Elevene i de to årene er ulike utvalg" in html
    assert "kodebok 2025.1" in html and "færre enn 20" in html
    assert "Comparison with the previous survey" not in sections.method_html(district)


def test_pilot_section_recovers_the_planted_effect(city):
    truth = json.loads((paths.synthetic_dir() / "truth.json").read_text())["pilot"]
    did = pilot.pilot_table(city, truth["indicator"], start=truth["start_wave"])
    row = did[did["quantity"] == "did"].iloc[0]
    assert row["ci_low"] < truth["effect_log_odds"] < row["ci_high"]
    text = pilot.pilot_html(city)
    # the brief speaks in percentage points, names the periods and the groups, and gives a
    # verdict from the randomisation test (7 pilot schools: enough for one)
    assert "Forskjellen er statistisk sikker" in text and "prosentpoeng" in text
    assert "fra 2021 (siste undersøkelse før piloten) til 2023 og 2025" in text
    assert "de 7 pilotskolene i Trondheim" in text and "de 18 skolene i Trondheim" in text
    assert "\u2212" in text and "randomiseringstest" in text
    assert "fordi pilotskolene er få (færre enn 10)" in text
    eff = pilot.pilot_effect_for(city)
    assert eff.ci_low < truth["did_expected_prevalence"] < eff.ci_high
    table = pilot.pilot_did_html(city)
    assert table.startswith('<div class="ssp-table-wrap"') and '<table class="ssp-table"' in table
    assert "DiD" in table and "<caption>" in table


@pytest.mark.parametrize(("lang", "words"), [
    ("nb", ["villbootstrap over skolene", "1\u00a0999 tenkte utfall", "minst 10 av hver"]),
    ("en", ["wild cluster bootstrap", "1,999 imagined outcomes", "at least 10 of each"])])
def test_pilot_method_named_in_plain_words(lang, words):
    from types import SimpleNamespace

    from ssp_research.brief.texts import TEXTS

    eff = SimpleNamespace(method="wild cluster bootstrap", method_reason="enough_schools",
                          exact=False)
    fmt = {"assignments": language.format_number(1999, lang), "min_wcb": 10}
    text = pilot._method_text(eff, TEXTS[lang], fmt)
    assert all(w in text for w in words), text
    eff = SimpleNamespace(method="randomisation", method_reason="asked", exact=True)
    assert "because" not in pilot._method_text(eff, TEXTS["en"], fmt)


def test_one_pilot_school_gets_no_verdict():
    b = content.load(unit_type="district", unit="Lerkendal", lang="nb")
    text = pilot.pilot_html(b)
    assert "den ene pilotskolen i Lerkendal" in text
    assert "kan vi ikke skille resultatet fra vanlig variasjon mellom skoler" in text
    assert "statistisk sikker" not in text


def test_no_pilot_school(small):
    assert pilot.pilot_table(small).empty
    assert "er ikke med i pilotprogrammet" in pilot.pilot_html(small)
    assert pilot.pilot_summary(small) == f"{SMALL_SCHOOL}: no pilot"


def test_html_objects_display_as_html(city):
    h = sections.method_html(city)
    assert h._repr_html_() == str(h) and repr(h).startswith("<Html: ")


def test_disclosure_overrides_reach_tables_and_method_text(tmp_path, monkeypatch):
    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))  # a first release of its own
    strict = content.load(unit_type="school", unit=SMALL_SCHOOL, disclosure_rules={"min_n": 60})
    latest = strict.latest
    assert latest["suppressed"].all()  # about 50 answers each: below 60 everywhere
    assert set(latest["reason"]) <= {"n", "count", "series"}
    assert "færre enn 60" in sections.method_html(strict)
    with pytest.raises(Exception, match="min_nn"):
        content.load(disclosure_rules={"min_nn": 5})


def test_other_frameworks_drive_the_goals():
    b = content.load(unit_type="district", unit="Midtbyen", framework="lillestrom", lang="en")
    html = sections.goals_html(b)
    goals = re.findall(r'<section class="ssp-goal" id="goal-(\w+)">', html)
    assert goals == ["A", "B", "C"]
    assert "Quality of relationships" in html


def test_texts_exist_in_both_languages():
    from ssp_research.brief.texts import TEXTS

    assert set(TEXTS["nb"]) == set(TEXTS["en"])
    assert all(TEXTS["nb"][k] and TEXTS["en"][k] for k in TEXTS["nb"])


def test_suppression_is_decided_on_the_whole_city_publication(city, small, pub_path):
    pub = city.publication
    assert set(pub["level"]) == {"city", "district", "school"}
    assert len(pub) == 10 * 4 * (1 + 4 + pub.loc[pub["level"] == "school", "unit"].nunique())
    secondary = pub[pub["reason"] == "secondary"]
    assert len(secondary) > 0  # a small school's hidden cell would be recoverable otherwise
    row = secondary.iloc[0]
    other = content.load(unit_type="school", unit=row["unit"], publication_path=pub_path)
    mine = other.indicators.set_index(["indicator", "wave"]).loc[(row["indicator"],
                                                                  row["wave"])]
    assert mine["suppressed"] and mine["reason"] == "secondary" and mine["n"] >= 100
    assert math.isnan(mine["estimate"]) and math.isnan(mine["diff"])
    # every brief derives the same pattern from the same data
    assert small.publication["suppressed"].tolist() == pub["suppressed"].tolist()


def test_gap_suppression_comes_from_the_whole_city(small):
    g = gaps.gap_table(small, "gender")
    pub = small.full_publication
    assert set(pub["level"]) == {"city", "district", "school"}
    mine = pub[(pub["unit"] == SMALL_SCHOOL) & (pub["grade"] == "all") & (pub["wave"] == 2025)]
    assert g["suppressed"].sum() == mine["suppressed"].sum() > 0
    assert g.loc[g["suppressed"], ["estimate", "ci_low", "count"]].isna().all().all()
    econ = gaps.gap_table(small, "family_economy")
    groups = econ[econ["economy_group"] != "all"]
    assert groups["suppressed"].all() and {"n", "series"} <= set(groups["reason"])


def test_batch_publication_with_economy_rows(city, tmp_path):
    from ssp_research.disclosure import publication

    path = tmp_path / "publication.parquet"
    publication.write_publication(content.joint_publication(city), path)
    assert set(publication.read_publication(path)["economy_group"]) == {
        "all", "poor", "middle", "good"}
    own = content.load(unit_type="school", unit=SMALL_SCHOOL)  # builds its own publication
    b1 = content.load(unit_type="school", unit=SMALL_SCHOOL, publication_path=str(path))
    assert b1.indicators["suppressed"].tolist() == own.indicators["suppressed"].tolist()
    econ = gaps.gap_table(b1, "family_economy")
    assert econ["suppressed"].tolist() == gaps.gap_table(own, "family_economy")[
        "suppressed"].tolist()
    # a publication without family-economy rows (older batch): no group is shown
    old = tmp_path / "old.parquet"
    publication.write_publication(city.full_publication, old)
    b2 = content.load(unit_type="school", unit=SMALL_SCHOOL, publication_path=str(old))
    groups = gaps.gap_table(b2, "family_economy").query("economy_group != 'all'")
    assert len(groups) == 3 * 9 and groups["suppressed"].all()
    assert groups[["estimate", "n", "count"]].isna().all().all()


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """Three municipalities of synthetic national data (two with pilot schools) and their
    national publication (country, municipalities, schools), as ``ssp batch`` writes them."""
    import warnings

    from ssp_research.data.synth import simulate as synth
    from ssp_research.disclosure import publication

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = synth.generate(national=True, rows=60_000, seed=7).data
        pilots = data.groupby("municipality")["pilot"].any()
        keep = list(pilots[pilots].index[:2]) + list(pilots[~pilots].index[:1])
        data = data[data["municipality"].isin(keep)].reset_index(drop=True)
        pub = publication.build_publication(data, "ungdata", levels=(
            "country", "municipality", "school"), top_name="Norge")
    tmp = tmp_path_factory.mktemp("national")
    data.to_parquet(tmp / "national.parquet", index=False)
    publication.write_publication(pub, tmp / "publication.parquet")
    return tmp, keep, data, pub


def test_national_briefs_read_their_rows_and_show_the_published_figures(national):
    tmp, keep, data, pub = national
    path = str(tmp / "publication.parquet")
    biggest = data["municipality"].value_counts().index[0]  # (small ones: all hidden)
    for unit_type, unit in [("municipality", biggest), ("country", "Norge")]:
        b = content.load(str(tmp / "national.parquet"), unit_type=unit_type, unit=unit,
                       publication_path=path)
        if unit_type == "municipality":  # only its rows and the columns a brief uses
            assert len(b.data) == int((data["municipality"] == unit).sum())
            assert "respondent_id" not in b.data.columns
            schools = set(data.loc[(data["municipality"] == unit) & data["pilot"], "school"])
            assert set(b.full_publication.query("level == 'school'")["unit"]) == schools
        else:
            assert len(b.data) == len(data)
        t = b.indicators
        assert len(t) == t[["indicator", "wave"]].drop_duplicates().shape[0]  # one unit
        mine = pub[(pub["level"] == unit_type) & (pub["unit"] == unit) & (pub["gender"] == "all")
                   & (pub["grade"] == "all")].set_index(["indicator", "wave"])
        idx = [tuple(r) for r in t[["indicator", "wave"]].to_numpy()]
        assert t["suppressed"].tolist() == mine["suppressed"].reindex(idx).tolist()
        assert 0 < t["suppressed"].sum() < len(t)
        for col in ("estimate", "se", "ci_low", "ci_high", "df", "n"):
            np.testing.assert_allclose(t[col].to_numpy(float),
                                       mine[col].reindex(idx).to_numpy(float), rtol=1e-12)
    country = pilot.pilot_html(b)
    assert "per kommune" in country and pilot.pilot_table(b).empty


def test_pilot_that_cannot_be_estimated_is_said_so(monkeypatch):
    """A unit whose pilot comparison has too few schools gets a sentence, not a failure."""
    from ssp_research.core.errors import DesignError

    def one_psu(*args, **kwargs):
        raise DesignError("the design has only one primary sampling unit")

    monkeypatch.setattr(pilot, "pilot_effect", one_psu)
    b = content.load(unit_type="city", unit="Trondheim", lang="en")
    text = pilot.pilot_html(b)
    assert "cannot be evaluated" in text and "Trondheim" in text


def test_small_school_gets_model_based_estimates_named_so():
    from ssp_research.brief import small_schools

    b = content.load(unit_type="school", unit="Fjordgløtt skole", lang="nb")
    t = small_schools.small_area_table(b)
    assert len(t) >= 5 and (t["n"] < small_schools.SMALL_N).all()
    # shrunk towards the schools' mean: between the direct estimate and that mean, and
    # narrower intervals than the direct ones
    assert ((t["eblup_high"] - t["eblup_low"]) < (t["ci_high"] - t["ci_low"])).all()
    html = small_schools.small_area_html(b)
    assert "Modellbaserte anslag" in html and "Fay–Herriot" in html
    assert "beregnet med en modell, ikke målt direkte" in html
    city = content.load(unit_type="city", unit="Trondheim", lang="nb")
    assert small_schools.small_area_html(city) == ""


def test_model_based_estimate_never_shows_a_hidden_direct_one(monkeypatch):
    from ssp_research.brief import small_schools

    b = content.load(unit_type="school", unit="Fjordgløtt skole", lang="en")
    pub = b.publication.copy()
    own = (pub["unit"] == "Fjordgløtt skole") & (pub["indicator"] == "lonely")
    pub.loc[own, ["estimate", "se", "ci_low", "ci_high"]] = np.nan
    pub.loc[own, "suppressed"] = True
    b.__dict__["publication"] = pub  # the cached property, as if the cell were hidden
    t = small_schools.small_area_table(b)
    assert "lonely" not in set(t["indicator"]) and len(t) >= 4
