"""Page 1 of the brief (ssp_research.brief.findings): what a leader acts on.

At most seven findings, each indicator once, each with its size and years; the pilot, the
largest clear gaps and the national figure among them; directions that agree with the truth
planted in the synthetic data; a risk never turned into a strength; pooled years named; the
English page saying the same things as the Bokmål one.
"""

from __future__ import annotations

import json
import re

import pytest

from ssp_research.brief import content, findings, gaps
from ssp_research.core import paths

SMALL_SCHOOL = "Kvernbekken skole"


@pytest.fixture(scope="module")
def pub_path(tmp_path_factory):
    from ssp_research.disclosure import publication

    city = content.load()
    path = tmp_path_factory.mktemp("publication") / "publication.parquet"
    publication.write_publication(content.joint_publication(city), path)
    return str(path)


@pytest.fixture(scope="module")
def briefs(pub_path):
    kw = {"publication_path": pub_path}
    return {
        "city": content.load(**kw),
        "city_en": content.load(lang="en", **kw),
        "district": content.load(unit_type="district", unit="Heimdal", **kw),
        "small_pooled": content.load(unit_type="school", unit=SMALL_SCHOOL, pool=3,
                                     publication_path=""),
    }


@pytest.fixture(scope="module")
def truth():
    return json.loads((paths.synthetic_dir() / "truth.json").read_text())[
        "parameters"]["indicators"]


@pytest.mark.parametrize("name", ["city", "city_en", "district", "small_pooled"])
def test_at_most_seven_each_indicator_once_with_years(briefs, name):
    found = findings.key_findings(briefs[name])
    assert 3 <= len(found) <= findings.MAX_FINDINGS
    keys = [f.key for f in found]
    assert len(keys) == len(set(keys)), keys
    for f in found:
        if f.kind != "privacy":
            assert re.search(r"\b(19|20)\d\d\b", f.text), f.text  # the years of every number
        assert not re.search(r"Trondheim 20\d\d", f.text), f.text  # no "i Trondheim 2025"
        assert "ikke mange" not in f.text and "ikke mobbet" not in f.text  # no inverted risk


def test_city_page_one_has_pilot_gaps_benchmark_and_strength_first(briefs):
    found = findings.key_findings(briefs["city"])
    kinds = [f.kind for f in found]
    assert kinds[0] == "strength"  # Stein Saks Papir asks for strength-first wording
    assert "pilot" in kinds and kinds.count("gap") >= 2
    assert any("landstallet" in f.text for f in found)
    pilot = next(f for f in found if f.kind == "pilot")
    assert "6,5 prosentpoeng" in pilot.text and "statistisk sikker" in pilot.text


def test_directions_agree_with_the_planted_truth(briefs, truth):
    """A rise is written only where the synthetic data were made to rise, and the group named
    higher is the one the data were made higher for."""
    for name in ("city", "district"):
        for f in findings.key_findings(briefs[name]):
            t = truth.get(f.key)
            if t is None:
                continue
            if f.kind == "trend" and abs(t["trend"]) >= 0.03:
                assert ("har økt" in f.text) == (t["trend"] > 0), f.text
            if f.kind == "gap" and "jenter" in f.text and abs(t["girl"]) >= 0.3:
                assert f.text.startswith("Flere jenter") == (t["girl"] > 0), f.text


def test_gap_sentences_show_the_published_cells(briefs):
    b = briefs["city"]
    table = gaps.gap_table(b, "gender").set_index(["indicator", "gender"])["estimate"]
    lonely = next(f for f in findings.gap_findings(b, "gender") if f.key == "lonely")
    girls = f"{100 * table[('lonely', 'girl')]:.1f}".replace(".", ",")
    boys = f"{100 * table[('lonely', 'boy')]:.1f}".replace(".", ",")
    assert lonely.text == (f"Flere jenter ({girls}\u00a0%) enn gutter ({boys}\u00a0%) føler seg "
                           "ensomme i 2025.")
    html = findings.gap_sentence_html(b, "gender")
    assert html.startswith('<p class="ssp-gap-text">') and lonely.text in html


def test_pooled_school_names_the_pooled_years_and_hides_what_is_hidden(briefs):
    b = briefs["small_pooled"]
    assert b.period() == "2021\u20132025"
    found = findings.key_findings(b)
    assert any("2021\u20132025" in f.text for f in found)
    hidden = set(b.latest.loc[b.latest["suppressed"], "indicator"])
    for f in found:
        if f.kind == "privacy":
            assert not re.search(r"\d", f.text)  # names, never values
        else:
            assert f.key not in hidden


def test_english_says_the_same_things(briefs):
    nb = [(f.kind, f.key) for f in findings.key_findings(briefs["city"])]
    en = [(f.kind, f.key) for f in findings.key_findings(briefs["city_en"])]
    assert nb == en
