"""Reading exports: round trips with Norwegian characters, provenance, and bad files."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from ssp_research.core.errors import DataError
from ssp_research.data.io import read_survey


@pytest.fixture
def frame():
    return pd.DataFrame({
        "skole": ["Fjordgløtt skole", "Åsheim ungdomsskole", "Østre Bæk"],
        "kjønn": [1, 2, 2],
        "ensom": [1, 4, 99],
        "vekt": [1.25, 0.5, 2.0],
    })


def _check(sf, frame):
    df = sf.data
    assert list(df.columns) == list(frame.columns)
    assert df["skole"].tolist() == frame["skole"].tolist()
    np.testing.assert_allclose(df["vekt"].to_numpy(float), frame["vekt"].to_numpy())
    np.testing.assert_array_equal(df["ensom"].to_numpy(float), [1, 4, 99])
    prov = sf.provenance
    assert prov["rows"] == 3 and prov["columns"] == 4
    assert prov["column_names"] == list(frame.columns)
    assert prov["sha256"] == hashlib.sha256(open(prov["path"], "rb").read()).hexdigest()


@pytest.mark.parametrize(
    "encoding, sep, decimal",
    [("utf-8", ",", "."), ("utf-8-sig", ";", ","), ("cp1252", ";", ","), ("utf-8", ";", ",")],
)
def test_csv_round_trip_detects_encoding_delimiter_decimal(tmp_path, frame, encoding, sep,
                                                           decimal):
    p = tmp_path / "eksport.csv"
    frame.to_csv(p, sep=sep, decimal=decimal, index=False, encoding=encoding, lineterminator="\r\n")
    sf = read_survey(p)
    _check(sf, frame)
    reader = sf.provenance["reader"]
    assert (reader["encoding"], reader["delimiter"], reader["decimal"]) == (encoding, sep, decimal)
    assert sf.provenance["format"] == "csv"


def test_csv_settings_can_be_forced(tmp_path, frame):
    p = tmp_path / "x.txt"
    frame.to_csv(p, sep="\t", index=False, encoding="cp1252")
    sf = read_survey(p, encoding="cp1252", delimiter="\t", decimal=".")
    _check(sf, frame)


def test_sav_round_trip_keeps_labels_and_user_missing(tmp_path, frame):
    p = tmp_path / "bølge2025.sav"
    pyreadstat.write_sav(
        frame.rename(columns={"kjønn": "kjonn"}), p,
        column_labels={"skole": "Skolens navn", "kjonn": "Kjønn", "ensom": "Følt deg ensom",
                       "vekt": "Vekt"},
        variable_value_labels={"kjonn": {1: "Gutt", 2: "Jente"},
                               "ensom": {1: "Ikke plaget", 4: "Veldig mye plaget",
                                         99: "Ubesvart"}},
        missing_ranges={"ensom": [98, 99]},
    )
    sf = read_survey(p)
    assert sf.data["skole"].tolist() == frame["skole"].tolist()
    assert sf.data["ensom"].tolist() == [1, 4, 99]  # user missing kept as a code
    assert sf.meta["variable_labels"]["ensom"] == "Følt deg ensom"
    assert sf.meta["value_labels"]["kjonn"] == {1: "Gutt", 2: "Jente"}
    assert sorted(sf.meta["user_missing"]["ensom"]) == [98, 99]
    assert sf.provenance["format"] == "spss" and sf.provenance["rows"] == 3
    # and without user_missing the codes become NaN, as SPSS would show them
    assert np.isnan(read_survey(p, user_missing=False).data["ensom"].iloc[2])


def test_excel_and_parquet_round_trip(tmp_path, frame):
    x = tmp_path / "ark.xlsx"
    frame.to_excel(x, index=False)
    _check(read_survey(x), frame)
    q = tmp_path / "data.parquet"
    frame.to_parquet(q, index=False)
    sf = read_survey(q)
    _check(sf, frame)
    assert sf.provenance["format"] == "parquet"


def _raises(path, *words, **kw):
    with pytest.raises(DataError) as info:
        read_survey(path, **kw)
    text = str(info.value)
    assert str(path.name) in text and "What to do" in text
    for w in words:
        assert w in text
    return info.value


def test_bad_files_are_named_data_errors(tmp_path):
    _raises(tmp_path / "finnes_ikke.csv", "file not found")
    empty = tmp_path / "tom.csv"
    empty.write_bytes(b"")
    _raises(empty, "empty")
    header = tmp_path / "header.csv"
    header.write_text("id;kjonn;ensom\n", encoding="utf-8")
    _raises(header, "no data rows")
    one = tmp_path / "notat.csv"
    one.write_text("Dette er et notat\nog ikke en undersøkelse\n", encoding="utf-8")
    _raises(one, "one column")
    other = tmp_path / "bilde.png"
    other.write_bytes(b"\x89PNG\r\n")
    _raises(other, "unknown file type")


def test_undecodable_and_binary_files(tmp_path):
    bad = tmp_path / "rot.csv"
    bad.write_bytes(b"id;navn\n1;\x81\x8d\x90\n")  # invalid in UTF-8 and in cp1252
    err = _raises(bad, "undecodable", "UTF-8")
    assert err.row == 2
    png = tmp_path / "bilde.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    _raises(png)
    _raises(bad, "cannot decode as utf-8", encoding="utf-8")


def test_corrupt_binary_formats(tmp_path):
    for name, words in (("x.sav", "SPSS"), ("x.xlsx", "Excel"), ("x.parquet", "Parquet")):
        p = tmp_path / name
        p.write_bytes(b"this is not a real file of that kind " * 10)
        _raises(p, words)


def test_semicolon_file_with_decimal_points_is_detected(tmp_path, frame):
    p = tmp_path / "punktum.csv"
    frame.to_csv(p, sep=";", decimal=".", index=False, encoding="utf-8")
    sf = read_survey(p)
    assert sf.provenance["reader"]["decimal"] == "."
    _check(sf, frame)
