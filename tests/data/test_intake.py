"""Intake: Excel title rows and merged headers, Norwegian column names, duplicates by id, and
messages that name the file, row, column and the fix."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from ssp_research import cli
from ssp_research.analysis.indicators import city_design
from ssp_research.core.errors import DataError
from ssp_research.data import clean, draft_codebook, load_codebook, read_survey, roles
from ssp_research.data.io import SurveyFile

KEY = b"intake-test-key"
UNG = load_codebook("ungdata")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "norwegian_columns.md"


def _norwegian(n: int = 4) -> pd.DataFrame:
    """An ungdata export with Norwegian background columns and labels as text."""
    df = pd.DataFrame({"Elevnr": [f"E{i}" for i in range(n)], "År": [2025] * n,
                       "Bydel": ["Østbyen"] * n, "Skole": ["Åsvang skole"] * n,
                       "Trinn": ["8. trinn", "9. trinn", "10. trinn", "9.trinn"][:n],
                       "Klasse": ["8A", "9B", "10C", "9B"][:n],
                       "Kjønn": ["Gutt", "Jente", "Jente", "Gutt"][:n], "Vekt": [1.5] * n})
    for name in UNG.items:
        df[name] = 1
    return df


def _workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Elever"
    ws.append(["Ungdata 2025 - Trondheim kommune"])
    ws.merge_cells("A1:F1")
    ws.append([])
    ws.append(["Bakgrunn", None, None, None, "Svar", None])
    ws.merge_cells("A3:D3")
    ws.merge_cells("E3:F3")
    ws.append(["respondent_id", "wave", "school", "grade", "gender", "lonely"])
    ws.append(["a", 2025, "Ås", 8, 1, 2])
    ws.append(["b", 2025, "Ås", 9, 2, 4])
    wb.create_sheet("Forklaring").append(["Dette arket forklarer variablene"])
    wb.save(path)
    return path


# --- Excel ------------------------------------------------------------------------------------

def test_excel_title_row_and_merged_header_detected(tmp_path):
    sf = read_survey(_workbook(tmp_path / "u.xlsx"))
    assert list(sf.data.columns) == ["respondent_id", "wave", "school", "grade", "gender",
                                     "lonely"]
    assert len(sf.data) == 2 and sf.data["lonely"].tolist() == [2, 4]
    r = sf.provenance["reader"]
    assert (r["sheet"], r["header_row"], r["header_detected"]) == ("Elever", 4, True)
    assert r["rows_above_header"][0] == "Ungdata 2025 - Trondheim kommune"
    res = clean.apply(sf, "ungdata", key=KEY, require_items=False)
    assert res.data["gender"].tolist() == ["boy", "girl"]


def test_excel_sheet_and_header_row_given(tmp_path):
    p = _workbook(tmp_path / "u.xlsx")
    assert list(read_survey(p, sheet="Elever", header_row=4).data.columns)[:2] == [
        "respondent_id", "wave"]
    assert read_survey(p, sheet=0).provenance["reader"]["sheet"] == "Elever"
    # the wrong header row: the message names the sheet and says how to fix it
    with pytest.raises(DataError) as info:
        clean.apply(read_survey(p, header_row=2), "ungdata", key=KEY)
    text = str(info.value)
    assert "sheet 'Elever'" in text and "u.xlsx" in text
    assert "--header-row N" in text and "Unnamed: 1" in text
    with pytest.raises(DataError, match="header_row=N") as info:  # the merged title row
        read_survey(p, header_row=1)
    assert "sheet 'Elever'" in str(info.value) and info.value.row == 1
    with pytest.raises(DataError, match=r"did you mean 'Elever'\? give one of \['Elever', "
                                        r"'Forklaring'\]"):
        read_survey(p, sheet="Elevr")


def test_cli_sheet_and_header_row(tmp_path, capsys):
    p = _workbook(tmp_path / "u.xlsx")
    out = tmp_path / "c.parquet"
    assert cli.main(["clean", str(p), "--codebook", "ungdata", "--out", str(out),
                     "--sheet", "Elever", "--header-row", "4"]) == 2  # items required
    assert "missing required column(s)" in capsys.readouterr().err
    assert cli.main(["codebook", "draft", str(p), "--sheet", "0", "--header-row", "4"]) == 0
    text = capsys.readouterr().out
    assert "gender: gender" in text and "lonely:" in text
    assert cli.main(["codebook", "draft", str(p), "--sheet", "Data"]) == 2
    assert "no sheet named 'Data'" in capsys.readouterr().err


# --- Norwegian names --------------------------------------------------------------------------

def test_norwegian_columns_cleaned_to_roles_and_city_design_works():
    res = clean.apply(_norwegian(), "ungdata", key=KEY)
    d = res.data
    for role in ("respondent_id", "wave", "district", "school", "grade", "gender", "weight"):
        assert role in d, role
    assert d["grade"].tolist() == [8, 9, 10, 9] and d["grade"].dtype == "int64"
    assert d["gender"].tolist() == ["boy", "girl", "girl", "boy"]
    assert d["Klasse"].tolist()[:2] == ["8A", "9B"]  # ungdata has no class role: passed
    assert res.count("role_column_found", "wave") == 4 and res.count("grade_from_label") == 4
    found = res.log.query("rule == 'role_column_found' and column == 'wave'")["detail"].iloc[0]
    assert "'År' read as the wave column 'wave'" in found
    design = city_design(d)
    assert design.mean("lonely")["estimate"].iloc[0] == 1.0


def test_city_design_missing_role_column_is_named():
    df = pd.DataFrame({"År": [2025, 2025], "school": ["Ås", "Bø"], "weight": [1.0, 1.0]})
    with pytest.raises(DataError) as info:
        city_design(df)
    err = info.value
    assert err.column == "wave" and "columns found: År, school, weight" in str(err)
    assert "pass wave='År'" in err.hint
    with pytest.raises(DataError, match="did you mean 'schol'"):
        city_design(pd.DataFrame({"wave": [1], "schol": ["Ås"], "weight": [1.0]}))


def test_draft_picks_up_kjonn_labels_and_trinn_labels(tmp_path):
    df = pd.DataFrame({"Kjønn": [1, 2, 2], "Trinn": [1, 2, 3], "Skole": [1, 1, 2],
                       "ensom": [1, 4, 2]})
    meta = {"value_labels": {"Kjønn": {1: "Gutt", 2: "Jente"},
                             "Trinn": {1: "8. trinn", 2: "9. trinn", 3: "10. trinn"},
                             "Skole": {1: "Åsvang skole", 2: "Berg skole"}}}
    p = tmp_path / "d.yml"
    p.write_text(draft_codebook(SurveyFile(df, {"path": "n.sav"}, meta)), encoding="utf-8")
    cb = load_codebook(p)
    assert cb.columns == {"school": "Skole", "grade": "Trinn", "gender": "Kjønn"}
    assert cb.groups["gender"]["codes"] == {1: "boy", 2: "girl"}
    assert cb.groups["gender"]["labels"]["girl"]["nb"] == "Jente"
    assert cb.groups["grade"]["codes"] == {1: 8, 2: 9, 3: 10}
    res = clean.apply(df, cb, key=KEY)
    assert res.data["gender"].tolist() == ["boy", "girl", "girl"]
    assert res.data["grade"].tolist() == [8, 9, 10]
    assert res.data["school"].tolist() == ["Åsvang skole", "Åsvang skole", "Berg skole"]
    assert res.labelled("nb")["gender"].tolist() == ["Gutt", "Jente", "Jente"]


def test_mapping_documented_as_in_the_code():
    text = DOCS.read_text(encoding="utf-8")
    for role, names in roles.ROLE_NAMES.items():
        row = re.search(rf"^\| {role} \| (.+) \|$", text, re.MULTILINE)
        assert row and tuple(n.strip() for n in row.group(1).split(",")) == names, role
    for label, tidy in roles.GENDER_LABELS.items():
        row = next(r for r in text.splitlines() if r.startswith("| gender |")
                   and f"`{tidy}`" in r)
        assert label in row.lower(), label


# --- duplicates -------------------------------------------------------------------------------

def test_duplicates_only_by_id():
    raw = pd.DataFrame({"respondent_id": ["a", "b", "b", "c", "c", None, None],
                        "wave": [2025] * 7, "school": ["Ås"] * 7, "grade": [9] * 7,
                        "gender": [1] * 7, "lonely": [1, 2, 2, 3, 4, 1, 1]})
    res = clean.apply(raw, "ungdata", key=KEY, require_items=False)
    # b twice with the same answers: the copy goes; c with different answers: both kept;
    # the two id-less identical rows: both kept
    assert res.rows_in == 7 and len(res.data) == 6 and res.count("duplicate_removed") == 1
    assert res.data["flag_duplicate"].tolist() == [False, True, True, True, True, True]
    assert res.count("duplicate_id_kept") == 2 and res.count("duplicate_answers_kept") == 1
    detail = res.log.query("rule == 'duplicate_removed'")["detail"].iloc[0]
    assert "same respondent_id" in detail and "data row 3" in detail


# --- messages ---------------------------------------------------------------------------------

def test_duplicated_csv_header_is_named(tmp_path):
    p = tmp_path / "bølge.csv"
    p.write_text("respondent_id;dep1;dep2;dep3;dep2\na;1;2;3;4\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_survey(p)
    err = info.value
    assert "duplicated column header: 'dep2' in columns 3, 5" in str(err)
    assert err.file.endswith("bølge.csv") and err.row == 1 and err.column == "dep2"
    assert "missing required" not in str(err)


def test_non_numeric_answers_logged_with_rows_examples_and_count():
    raw = pd.DataFrame({"respondent_id": list("abcdefg"), "wave": [2025] * 7,
                        "school": ["Ås"] * 7, "grade": [9] * 7, "gender": [1] * 7,
                        "lonely": ["1", "x", "2", "x", "n/a", "3", "?"]})
    res = clean.apply(raw, "ungdata", key=KEY, require_items=False)
    detail = res.log.query("rule == 'non_numeric' and column == 'lonely'")["detail"].iloc[0]
    assert res.count("non_numeric", "lonely") == 4
    assert detail.startswith("4 value(s) not numbers: 'x' (data rows 2, 4)")
    assert "'n/a' (data row 5)" in detail and "'?' (data row 7)" in detail


def test_plain_numbers_in_messages():
    raw = pd.DataFrame({"respondent_id": ["a", "b"], "wave": [2025] * 2, "school": ["Ås"] * 2,
                        "grade": [9] * 2, "gender": [1.0, 3.0], "lonely": [1, 2]})
    with pytest.raises(DataError) as info:
        clean.apply(raw, "ungdata", key=KEY, require_items=False, strict=True)
    assert "value 3 is not a code of gender" in str(info.value) and info.value.row == 2
    assert "np.float64" not in str(info.value)
    res = clean.apply(raw, "ungdata", key=KEY, require_items=False)
    detail = res.log.query("rule == 'invalid_code'")["detail"].iloc[0]
    assert detail == "1 value(s) not codes: 3 (data row 2) -> NA"


def test_mistyped_column_gets_did_you_mean():
    raw = pd.DataFrame({"respondent_id": ["a"], "wave": [2025], "schoool": ["Ås"],
                        "grade": [9], "gender": [1], "lonely": [1]})
    with pytest.raises(DataError) as info:
        clean.apply(raw, "ungdata", key=KEY, require_items=False)
    assert info.value.column == "school"
    assert "did you mean 'schoool' for 'school'?" in info.value.hint


def test_wave_text_is_logged_not_dropped_silently():
    raw = pd.DataFrame({"respondent_id": ["a", "b"], "wave": [2025, "vår"],
                        "school": ["Ås"] * 2, "grade": [9, 9], "gender": [1, 2],
                        "lonely": [1, 2]})
    res = clean.apply(raw, "ungdata", key=KEY, require_items=False)
    assert res.count("non_numeric", "wave") == 1 and len(res.data) == 2
    assert pd.isna(res.data["wave"].iloc[1]) and res.data["lonely"].iloc[1] == 2.0
    detail = res.log.query("rule == 'non_numeric'")["detail"].iloc[0]
    assert detail == "1 value(s) not numbers: 'vår' (data row 2) -> NA"
