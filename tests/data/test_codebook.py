"""Codebooks: built-ins load, validation errors name file/line/key, rules, SPSS draft."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml

from ssp_research import cli
from ssp_research.core.errors import CodebookError
from ssp_research.core.paths import resource_path
from ssp_research.data.codebook import (
    Indicator,
    list_codebooks,
    load_codebook,
)
from ssp_research.data.draft import draft_codebook

MINI = textwrap.dedent("""\
    instrument: mini
    version: "1"
    columns: {respondent_id: id, wave: wave, school: school, grade: grade, gender: gender}
    groups:
      gender: {codes: {1: boy, 2: girl}}
    missing_codes: {99: not answered}
    items:
      q1:
        label: {nb: "Spørsmål én", en: "Question one"}
        type: ordinal
        codes: {1: Nei, 2: Ja}
      q2:
        label: Spørsmål to
        type: ordinal
        codes: {1: a, 2: b, 3: c}
    scales:
      s: {items: [q1, q2], method: mean, min_answered: 2}
    indicators:
      agree:
        label: {nb: Ja, en: Yes}
        source_item: q1
        rule: {in: [2]}
        higher_is_better: true
    """)


def _write(tmp_path, text, name="mini.yml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _error(tmp_path, text, *words):
    p = _write(tmp_path, text)
    with pytest.raises(CodebookError) as info:
        load_codebook(p)
    msg = str(info.value)
    assert p.name in msg and "What to do" in msg, msg
    for w in words:
        assert w in msg, msg
    return info.value


def test_builtin_codebooks_list():
    assert {"ungdata", "elevus", "trondheim"} <= set(list_codebooks())


@pytest.mark.parametrize("name", ["ungdata", "elevus", "trondheim"])
def test_builtin_codebook_is_valid_and_documented(name):
    cb = load_codebook(name)
    assert cb.instrument == name and cb.version and cb.source
    assert cb.columns["respondent_id"] and cb.columns["grade"] and cb.columns["gender"]
    for ind in cb.indicators.values():
        assert ind.definition and ind.reference, f"{name}.{ind.name} lacks its source"
        assert ind.label["nb"] and ind.label["en"]
        assert ind.source in cb.items or ind.source in cb.scales
    for item in cb.items.values():
        assert item.label["nb"] and item.label["en"]
    assert cb.indicator_column(next(iter(cb.indicators))).startswith("ind_")


def test_ungdata_definitions_match_the_published_cut_offs():
    cb = load_codebook("ungdata")
    ind = cb.indicators
    assert ind["lonely"].rule == ("in", (3, 4)) and not ind["lonely"].higher_is_better
    assert ind["depressive"].rule == (">=", 3.0) and ind["depressive"].source == "depressive_mean"
    assert cb.scales["depressive_mean"].min_answered == 4
    assert ind["bullied"].rule == ("in", (4, 5, 6))
    assert cb.items["climate4"].reverse and cb.items["lonely"].missing == (98, 99)
    assert cb.label("ind_lonely", "en") == "Loneliness"
    assert cb.label("lonely", "nb") == "Følt deg ensom (sist uke)"
    assert cb.label("girl", "nb") == "Jente"


def test_elevus_and_trondheim_definitions():
    el = load_codebook("elevus")
    assert el.indicators["bullied"].rule == ("in", (3, 4, 5))  # 2-3 times a month or more
    assert el.items["mobbet"].codes[3]["nb"] == "2 eller 3 ganger i måneden"
    assert el.scales["trivsel"].method == "mean" and el.items["trives_skolen"].code_span == (1, 5)
    assert [(b[0], b[1]) for b in el.series_breaks] == [("thriving", 2013), ("bullied", 2016)]
    tr = load_codebook("trondheim")
    assert set(tr.indicators) >= {"lonely", "depressive", "bullied", "close_friend", "thriving"}
    assert tr.series_breaks[0][:2] == ("bullied", 2022)
    assert tr.renames[0]["to"] == "ensomhet" and tr.recodes[0]["item"] == "mobbet"


@pytest.mark.parametrize(
    "rule, expected",
    [({"in": [2, 3]}, [0, 1, 1, 0]), ({">=": 3}, [0, 0, 1, 1]), ({">": 3}, [0, 0, 0, 1]),
     ({"<=": 2}, [1, 1, 0, 0]), ({"<": 2}, [1, 0, 0, 0]), ({"==": 4}, [0, 0, 0, 1])],
)
def test_rules_evaluate_by_hand(tmp_path, rule, expected):
    text = MINI.replace("codes: {1: a, 2: b, 3: c}", "codes: {1: a, 2: b, 3: c, 4: d}")
    flow = yaml.safe_dump(rule, default_flow_style=True).strip()
    text = text.replace("source_item: q1\n    rule: {in: [2]}",
                        f"source_item: q2\n    rule: {flow}")
    cb = load_codebook(_write(tmp_path, text))
    got = cb.indicators["agree"].evaluate([1, 2, 3, 4, np.nan])
    np.testing.assert_array_equal(got, expected + [np.nan])


def test_plain_string_label_serves_both_languages(tmp_path):
    cb = load_codebook(_write(tmp_path, MINI))
    assert cb.items["q2"].label == {"nb": "Spørsmål to", "en": "Spørsmål to"}
    assert cb.items["q1"].codes[2] == {"nb": "Ja", "en": "Ja"}
    assert cb.missing_codes == {99: "not answered"} and cb.items["q1"].missing == (99,)


def test_typo_in_key_names_file_line_and_suggestion(tmp_path):
    err = _error(tmp_path, MINI.replace("    type: ordinal\n    codes: {1: Nei",
                                        "    typ: ordinal\n    codes: {1: Nei"),
                 "unknown key 'typ'", "did you mean 'type'", "items.q1.typ")
    assert err.row == 10


def test_codebook_errors(tmp_path):
    _error(tmp_path, MINI.replace("items: [q1, q2]", "items: [q1, q22]"),
           "undefined item 'q22'", "scales.s.items", "did you mean 'q2'")
    _error(tmp_path, MINI.replace("  agree:", "  yes:"), "True", "quote")
    _error(tmp_path, MINI.replace("rule: {in: [2]}", "rule: {'=>': 3}"),
           "unknown rule operator '=>'", "did you mean '>='")
    _error(tmp_path, MINI.replace("rule: {in: [2]}", "rule: {in: [7]}"),
           "codes [7] are not codes of item 'q1'")
    _error(tmp_path, MINI.replace("source_item: q1", "source_item: q9"), "undefined item 'q9'")
    _error(tmp_path, MINI.replace("type: ordinal\n    codes: {1: a",
                                  "type: likert\n    codes: {1: a"), "unknown item type 'likert'")
    _error(tmp_path, MINI.replace('version: "1"\n', ""), "missing required key 'version'")
    _error(tmp_path, MINI.replace("codes: {1: Nei, 2: Ja}", "codes: {1: Nei, 99: Ja}"),
           "both valid and missing")
    breaks = "harmonisation:\n  series_breaks:\n    - {indicator: nope, wave: 2021}\n"
    _error(tmp_path, MINI + breaks, "undefined indicator 'nope'")
    _error(tmp_path, MINI.replace("min_answered: 2", "min_answered: 5"), "min_answered 5")
    err = _error(tmp_path, MINI.replace("  q2:\n", "  q2\n"), "invalid YAML")
    assert err.row is not None


def test_unknown_builtin_name_suggests(tmp_path):
    with pytest.raises(CodebookError, match="did you mean 'ungdata'"):
        load_codebook("ungdta")


def test_indicator_column_unknown():
    with pytest.raises(CodebookError, match="unknown indicator"):
        load_codebook("ungdata").indicator_column("nope")


def test_evaluate_handles_nan_and_scale():
    ind = Indicator("d", {"nb": "d", "en": "d"}, (">=", 3.0), False, source_scale="m")
    np.testing.assert_array_equal(ind.evaluate(np.array([2.99, 3.0, np.nan])), [0, 1, np.nan])


@pytest.fixture
def sav(tmp_path):
    df = pd.DataFrame({"ElevID": ["a1", "a2", "a3"], "kjonn": [1, 2, 1], "trinn": [8, 9, 10],
                       "skole": ["Åsen", "Bø", "Øya"], "ensom": [1.0, 4.0, 99.0],
                       "timer": [1.5, 3.0, 2.0], "kommentar": ["æ", "ø", "å"]})
    p = tmp_path / "eksport.sav"
    pyreadstat.write_sav(
        df, p, column_labels={"ensom": "Følt deg ensom", "kjonn": "Kjønn"},
        variable_value_labels={"kjonn": {1: "Gutt", 2: "Jente"},
                               "ensom": {1: "Ikke plaget", 2: "Litt", 3: "Ganske mye",
                                         4: "Veldig mye", 99: "Ubesvart"}},
        missing_ranges={"ensom": [99]})
    return p


def test_draft_from_spss_loads_as_a_codebook(tmp_path, sav):
    text = draft_codebook(sav)
    cb = load_codebook(_write(tmp_path, text, "draft.yml"))
    assert cb.instrument == "eksport"
    assert cb.columns["gender"] == "kjonn" and cb.columns["grade"] == "trinn"
    assert cb.columns["respondent_id"] == "ElevID" and cb.columns["school"] == "skole"
    ensom = cb.items["ensom"]
    assert ensom.type == "ordinal" and list(ensom.codes) == [1, 2, 3, 4]
    assert ensom.missing == (99,) and ensom.label["nb"] == "Følt deg ensom"
    assert cb.items["timer"].type == "numeric" and cb.items["timer"].range == (1.5, 3.0)
    assert cb.items["kommentar"].type == "text"


def test_cli_codebook_draft_list_check(tmp_path, sav, capsys):
    assert cli.main(["codebook", "draft", str(sav)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Drafted by `ssp codebook draft`") and "Følt deg ensom" in out
    assert cli.main(["codebook", "list"]) == 0
    assert "elevus" in capsys.readouterr().out.split()
    assert cli.main(["codebook", "check", "trondheim"]) == 0
    assert "OK" in capsys.readouterr().out
    bad = _write(tmp_path, MINI.replace("label: Spørsmål to", "lable: Spørsmål to"))
    assert cli.main(["codebook", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'label'" in err and "mini.yml" in err
    assert cli.main(["codebook", "draft"]) == 2
    assert "needs a file" in capsys.readouterr().err


@pytest.mark.parametrize("action, own, foreign", [
    ("draft", ["usage: ssp codebook draft", "--sheet", "--header-row", "FILE",
               "ssp codebook draft export.sav > codebook.yml"], ["NAME_OR_PATH", "ACTION"]),
    ("check", ["usage: ssp codebook check", "NAME_OR_PATH"], ["--sheet", "FILE"]),
])
def test_cli_codebook_action_help_is_its_own(capsys, action, own, foreign):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["codebook", action, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert all(word in text for word in own), text
    assert not any(word in text for word in foreign), text
    with pytest.raises(SystemExit):
        cli.main(["codebook", "--help"])
    parent = capsys.readouterr().out
    assert "usage: ssp codebook [-h] ACTION" in parent
    assert all(a in parent.split() for a in ("draft", "list", "check"))


def test_builtin_yaml_files_are_utf8_and_name_their_stem():
    for name in list_codebooks():
        text = resource_path("codebooks", f"{name}.yml").read_text(encoding="utf-8")
        assert yaml.safe_load(text)["instrument"] == name


def test_drafted_codebook_cleans_its_own_file(tmp_path, sav):
    from ssp_research.data import clean
    from ssp_research.data.io import read_survey

    cb = load_codebook(_write(tmp_path, draft_codebook(sav), "draft.yml"))
    assert cb.missing_codes == {99: "Ubesvart"}  # the common user-missing set, with its label
    res = clean.apply(read_survey(sav), cb, key=b"k")
    assert res.data["ensom"].tolist()[:2] == [1.0, 4.0] and np.isnan(res.data["ensom"].iloc[2])
    assert res.count("missing_code", "ensom") == 1
    assert res.data["kommentar"].tolist() == ["æ", "ø", "å"]
