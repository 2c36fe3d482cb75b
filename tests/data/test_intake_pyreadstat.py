"""Intake of files nobody in this project wrote: every SPSS file of pyreadstat's test data.

For each file: read it, draft a codebook, load the draft, clean with it. No traceback, and no
respondent lost without a logged, named reason (see tests/data/pyreadstat/README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ssp_research import cli
from ssp_research.data import clean, draft_codebook, load_codebook, read_survey

FILES = Path(__file__).parent / "pyreadstat"
SPSS = sorted(p for p in FILES.iterdir() if p.suffix in (".sav", ".zsav", ".por"))
KEY = b"intake-test-key"


def test_all_of_pyreadstats_spss_files_are_here():
    assert len(SPSS) == 12 and {p.suffix for p in SPSS} == {".sav", ".zsav", ".por"}


def _intake(path: Path, tmp_path: Path):
    sf = read_survey(path)
    text = draft_codebook(sf)
    cb_path = tmp_path / f"{path.stem}.yml"
    cb_path.write_text(text, encoding="utf-8")
    cb = load_codebook(cb_path)
    return sf, cb, clean.apply(sf, cb, key=KEY)


@pytest.mark.parametrize("path", SPSS, ids=[p.name for p in SPSS])
def test_read_draft_clean_loses_no_respondent_silently(path, tmp_path):
    sf, cb, res = _intake(path, tmp_path)
    assert res.rows_in == len(sf.data) == sf.provenance["rows"]
    lost = res.rows_in - len(res.data)
    assert lost == res.count("duplicate_removed")  # the only way a row may go, and logged
    # every variable of the file is drafted: as a role column or an item
    assert set(sf.data.columns) == set(cb.items) | set(cb.columns.values())
    out, _log = clean.write_clean(res, tmp_path / "clean.parquet")
    assert len(pd.read_parquet(out)) == len(res.data)


def test_sample_large_keeps_its_485_rows_and_says_why(tmp_path):
    sf, _cb, res = _intake(FILES / "sample_large.sav", tmp_path)
    assert len(res.data) == 485 and res.count("duplicate_removed") == 0
    # 5 distinct rows repeated: every row has an identical twin, all flagged and kept
    assert res.data["flag_duplicate"].sum() == 485
    detail = res.log.query("rule == 'duplicate_answers_kept'")["detail"].iloc[0]
    assert "480 row(s) repeat the answers" in detail and "no respondent id" in detail
    assert "data rows 6, 7, 8, 9, 10 and 475 more" in detail


def test_cli_clean_of_sample_large_writes_485_rows(tmp_path, capsys):
    cb = tmp_path / "cb.yml"
    assert cli.main(["codebook", "draft", str(FILES / "sample_large.sav")]) == 0
    cb.write_text(capsys.readouterr().out, encoding="utf-8")
    out = tmp_path / "clean.parquet"
    assert cli.main(["clean", str(FILES / "sample_large.sav"), "--codebook", str(cb),
                     "--out", str(out)]) == 0
    assert "485 rows in, 485 out" in capsys.readouterr().err
    assert len(pd.read_parquet(out)) == 485


def test_draft_of_every_variable_type(tmp_path):
    sf, cb, res = _intake(FILES / "simple_alltypes.sav", tmp_path)
    it = cb.items
    assert it["x"].type == "ordinal" and list(it["x"].codes)[:3] == [1, 2, 3]
    assert it["x"].codes[1]["nb"] == "red"
    assert it["y"].type == "date" and it["date"].type == "date"
    assert it["str"].type == "text" and it["ca_subvar_1"].type == "text"  # labelled string
    assert it["z"].missing == (999,) and it["z"].missing_ranges == ((-999.0, 0.0),)
    assert [it[b].type for b in ("bool1", "bool2", "bool3")] == ["binary"] * 3
    assert {it[b].battery for b in ("bool1", "bool2", "bool3")} == {"mymrset"}
    notes = "\n".join(load_codebook_notes(tmp_path / "simple_alltypes.yml"))
    assert "ca_subvar_1: string variable with value labels" in notes
    assert "multiple-response set 'mymrset' (dichotomy, counted value 1)" in notes
    # cleaning: the missing range -999..0 makes z's -9 missing, logged; dates are datetimes
    assert np.isnan(res.data["z"].iloc[0]) and res.data["z"].iloc[2] == pytest.approx(1.234)
    assert res.count("missing_code", "z") == 2  # -9 (range) and 999 (code)
    assert pd.api.types.is_datetime64_any_dtype(res.data["y"])
    assert res.data["y"].iloc[0] == pd.Timestamp("2000-01-01")


def load_codebook_notes(path: Path) -> list[str]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))["notes"]


def test_por_sav_and_zsav_give_the_same_data(tmp_path):
    sav, zsav, por = (read_survey(FILES / f"sample.{e}") for e in ("sav", "zsav", "por"))
    pd.testing.assert_frame_equal(sav.data, zsav.data)
    assert [c.lower() for c in por.data.columns] == list(sav.data.columns)
    assert por.provenance["format"] == "spss" and "user_missing" not in por.provenance["reader"]


def test_string_user_missing_is_noted_and_one_column_files_are_read(tmp_path):
    sf, cb, res = _intake(FILES / "missing_char.sav", tmp_path)
    assert sf.data.shape == (2, 1) and cb.items["mychar"].type == "text"
    assert any("string user-missing value(s) ['Z']" in n
               for n in load_codebook_notes(tmp_path / "missing_char.yml"))
    assert res.data["mychar"].tolist() == ["Z", "a"]


def test_qualtrics_response_id_is_the_respondent_id(tmp_path):
    _sf, cb, res = _intake(FILES / "test_width.sav", tmp_path)
    assert cb.columns["respondent_id"] == "ResponseId"
    assert "respondent_id" in res.data and res.data["respondent_id"].str.len().eq(64).all()
