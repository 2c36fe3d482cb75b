"""Tests of ssp_research.analysis.frameworks: built-in strategy frameworks and their validation."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from ssp_research.analysis.frameworks import Framework, list_frameworks, load_framework
from ssp_research.core.errors import CodebookError

# The indicator names of the built-in ungdata codebook (docs/synthetic_data.md) plus the scale.
CODEBOOK_INDICATORS = [
    "lonely",
    "depressive",
    "bullied",
    "close_friend",
    "thriving",
    "local_env",
    "inactive",
    "screen_4h",
    "poor_economy",
    "good_health",
]
CODEBOOK = {"indicators": {n: {} for n in CODEBOOK_INDICATORS}, "scales": {"school_climate": {}}}


def test_list_frameworks_names_the_three_builtins():
    assert list_frameworks() == ["lillestrom", "sandefjord", "trondheim_ssp"]


@pytest.mark.parametrize("name", ["trondheim_ssp", "lillestrom", "sandefjord"])
def test_builtin_frameworks_load_and_validate(name):
    fw = load_framework(name)
    assert isinstance(fw, Framework)
    assert fw.validate_against(CODEBOOK) is fw
    assert fw.source["url"].startswith("https://")
    for goal in fw.goals:
        assert goal.title_in("nb") and goal.title_in("en")
        if not goal.measured:
            # an unmeasured goal says what data would measure it, in both languages
            assert "measure" in goal.unmeasured_in("en")
            assert "mål" in goal.unmeasured_in("nb")


def test_trondheim_goals_are_the_five_innsatsomrader_in_order():
    fw = load_framework("trondheim_ssp")
    assert [g.title_in("nb") for g in fw.goals] == [
        "Bygge inkluderende fellesskap og motvirke utenforskap",
        "Samarbeid på tvers for barn og unge",
        "Forebyggende arbeid og tidlig innsats",
        "Psykisk helse",
        "Samarbeid med barn og unge",
    ]
    assert [g.id for g in fw.goals if not g.measured] == ["2", "5"]
    assert fw.goal("4").indicators == ("depressive", "lonely", "good_health")
    assert fw.strength_first is True
    assert fw.goal_term["nb"] == "innsatsområde"


def test_lillestrom_and_sandefjord_goal_titles():
    lil = load_framework("lillestrom")
    assert [g.title_in("nb") for g in lil.goals] == [
        "Læring, utvikling og livsmestring",
        "Relasjonskvalitet",
        "Flerfaglig samhandling",
    ]
    assert not lil.goal("C").measured
    san = load_framework("sandefjord")
    assert "fullføre videregående" in san.goal("1").title_in("nb")
    assert [g.measured for g in san.goals] == [True, False, False]
    assert "BTI" in san.goal("2").title_in("nb")


def test_indicators_are_unique_in_first_seen_order_and_goals_for():
    fw = load_framework("trondheim_ssp")
    assert fw.indicators == [
        "close_friend", "lonely", "bullied", "thriving", "local_env",
        "inactive", "screen_4h", "poor_economy", "depressive", "good_health",
    ]  # fmt: skip
    assert [g.id for g in fw.goals_for("lonely")] == ["1", "4"]
    assert fw.goals_for("school_climate") == []


def test_to_frame_has_one_row_per_goal_indicator():
    df = load_framework("lillestrom").to_frame("en")
    assert list(df.columns) == ["goal_id", "goal", "indicator", "measured", "unmeasured"]
    assert len(df) == 4 + 4 + 1
    row_c = df[df.goal_id == "C"].iloc[0]
    assert row_c["goal"] == "Multidisciplinary collaboration"
    assert not row_c["measured"]
    assert pd.isna(row_c["indicator"])


def test_unknown_indicator_is_a_codebook_error_naming_it():
    fw = load_framework("lillestrom")
    with pytest.raises(CodebookError) as info:
        fw.validate_against({"indicators": {"lonely": {}}})
    msg = str(info.value)
    assert "thriving" in msg and "goal A" in msg and "lillestrom" in msg
    assert "What to do" in msg


def test_validate_against_accepts_object_with_attributes_and_plain_names():
    fw = load_framework("sandefjord")
    cb = SimpleNamespace(indicators=dict.fromkeys(CODEBOOK_INDICATORS), scales=["school_climate"])
    assert fw.validate_against(cb) is fw
    with pytest.raises(CodebookError, match="school_climate"):
        fw.validate_against(CODEBOOK_INDICATORS)  # the scale is missing here


def test_goal_lookup_error_lists_known_ids():
    with pytest.raises(KeyError, match="A, B, C"):
        load_framework("lillestrom").goal("D")


def test_unknown_framework_name():
    with pytest.raises(CodebookError, match="unknown framework 'oslo'") as info:
        load_framework("oslo")
    assert "trondheim_ssp" in str(info.value)


def _write(tmp_path, text):
    path = tmp_path / "fw.yml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
name: test
municipality: Testby
title: {nb: Test, en: Test}
goals:
  - id: "1"
    title: {nb: Ensomhet, en: Loneliness}
    indicators: [lonely]
"""


def test_custom_file_loads(tmp_path):
    fw = load_framework(_write(tmp_path, GOOD))
    assert fw.name == "test" and fw.goal("1").indicators == ("lonely",)
    assert fw.strength_first is False and fw.file.endswith("fw.yml")


@pytest.mark.parametrize(
    "text, match",
    [
        (GOOD + "colour: red\n", "unknown key"),
        (GOOD.replace("municipality: Testby\n", ""), "missing key 'municipality'"),
        (GOOD.replace("indicators: [lonely]", "indicators: []"), "no indicators and no"),
        (GOOD.replace("{nb: Ensomhet, en: Loneliness}", "{nb: Ensomhet}"), "both languages"),
        (GOOD + "  - id: \"1\"\n    title: {nb: X, en: X}\n    indicators: [bullied]\n",
         "duplicate goal id"),
        (GOOD.replace("indicators: [lonely]", "indicators: [lonely]\n    wording: guess"),
         "bad wording"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)  # fmt: skip
def test_bad_framework_files_raise_codebook_errors(tmp_path, text, match):
    with pytest.raises(CodebookError, match=match) as info:
        load_framework(_write(tmp_path, text))
    assert "fw.yml" in str(info.value)


def test_cli_framework_list_show_check(capsys, tmp_path):
    from ssp_research.cli import main

    assert main(["framework", "list"]) == 0
    out = capsys.readouterr().out
    assert "trondheim_ssp: Stein Saks Papir: temaplan for oppvekst 2024–2027 (5 goals)" in out
    for name in list_frameworks():
        assert main(["framework", "check", name, "--codebook", "ungdata"]) == 0
    out = capsys.readouterr().out
    assert ("trondheim_ssp: 5 goals, 10 indicators, all in codebook ungdata; "
            "unmeasured goals: 2, 5") in out
    assert main(["framework", "show", "lillestrom", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "C. Multidisciplinary collaboration\n   indicators: -\n   not measured:" in out
    bad = _write(tmp_path, GOOD.replace("[lonely]", "[lonelyness]"))
    assert main(["framework", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "'lonelyness'" in err and "What to do" in err
    assert main(["framework", "show"]) == 2
    assert "needs a framework name" in capsys.readouterr().err
