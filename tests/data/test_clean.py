"""Cleaning: hand-computed indicators, the log against planted anomalies, ids, bad input."""

from __future__ import annotations

import hashlib
import hmac
import json

import numpy as np
import pandas as pd
import pytest

from ssp_research import cli
from ssp_research.core.errors import DataError
from ssp_research.data import clean, io
from ssp_research.data.codebook import load_codebook

KEY = b"test-key"
UNG = load_codebook("ungdata")


def _raw(n: int, **cols) -> pd.DataFrame:
    """A valid ungdata export of n rows: every item answered 1 unless given."""
    base = {"respondent_id": [f"T2025-{i:06d}" for i in range(n)], "wave": [2025] * n,
            "municipality": ["Trondheim"] * n, "district": ["Østbyen"] * n,
            "school": ["Åsvang skole"] * n, "grade": [9] * n, "gender": [2] * n,
            "birth_year": [2025 - 9 - 6] * n, "weight": [1.5] * n}
    base.update({name: [1] * n for name in UNG.items})
    for k, v in cols.items():
        base[k] = list(v)
    return pd.DataFrame(base)


def _clean(raw, cb="ungdata", **kw):
    kw.setdefault("key", KEY)
    return clean.apply(raw, cb, **kw)


# --- indicators against hand computations ---------------------------------------------------

HAND = {  # indicator: (item, expected 0/1 for codes 1..k), written from the published definitions
    "lonely": ("lonely", [0, 0, 1, 1]),
    "bullied": ("bullied", [0, 0, 0, 1, 1, 1]),
    "close_friend": ("close_friend", [1, 1, 0, 0]),
    "thriving": ("school_thrive", [1, 1, 0, 0]),
    "local_env": ("local_env", [1, 1, 0, 0, 0]),
    "inactive": ("phys_active", [1, 1, 0, 0, 0]),
    "screen_4h": ("screen_time", [0, 0, 0, 0, 1]),
    "poor_economy": ("family_economy", [1, 1, 0, 0, 0]),
    "good_health": ("health", [1, 1, 0, 0, 0]),
}


@pytest.mark.parametrize("indicator", sorted(HAND))
def test_item_indicator_matches_hand_computation(indicator):
    item, expected = HAND[indicator]
    codes = list(range(1, len(expected) + 1)) + [98, 99]
    res = _clean(_raw(len(codes), **{item: codes}))
    got = res.data[UNG.indicator_column(indicator)].to_numpy()
    np.testing.assert_array_equal(got, expected + [np.nan, np.nan])


def test_depressive_indicator_mean_and_min_answered():
    rows = [[3, 3, 3, 3, 3, 3],     # mean 3.0 -> 1
            [3, 3, 3, 2, 2, 2],     # 2.5 -> 0
            [4, 4, 4, 99, 98, 1],   # 4 answered, 13/4 = 3.25 -> 1
            [4, 4, 4, 99, 99, 99],  # 3 answered -> NaN
            [3, 3, 3, 3, 3, 99],    # 5 answered, 3.0 -> 1
            [2, 3, 3, 3, 4, 4]]     # 19/6 = 3.17 -> 1
    dep = np.array(rows).T
    res = _clean(_raw(6, **{f"dep{j + 1}": dep[j] for j in range(6)}))
    np.testing.assert_allclose(res.data["depressive_mean"],
                               [3, 2.5, 3.25, np.nan, 3, 19 / 6])
    np.testing.assert_array_equal(res.data["ind_depressive"], [1, 0, 1, np.nan, 1, 1])
    assert res.count("scale_too_few_answered", "depressive_mean") == 1


def test_reverse_scoring_and_scale():
    res = _clean(_raw(3, climate1=[5, 1, 99], climate2=[5, 1, 99], climate3=[5, 1, 99],
                      climate4=[1, 5, 2], climate5=[5, 1, 99]))
    d = res.data
    np.testing.assert_array_equal(d["climate4"], [5, 1, 4])  # 6 - x
    np.testing.assert_allclose(d["school_climate"], [5, 1, np.nan])  # row 3: 1 of 5 answered
    assert res.count("reversed", "climate4") == 3


# --- the log ----------------------------------------------------------------------------------

def test_missing_and_invalid_codes_are_na_and_logged():
    res = _clean(_raw(6, lonely=[1, 98, 99, 99, 7, 0], bullied=[1, 2, 3, 4, 5, "x"]))
    np.testing.assert_array_equal(res.data["lonely"], [1] + [np.nan] * 5)
    log = res.log.set_index(["rule", "column", "detail"])["rows"]
    assert log[("missing_code", "lonely", "code 98: Vet ikke / don't know")] == 1
    assert log[("missing_code", "lonely", "code 99: Ubesvart / not answered")] == 2
    assert res.count("invalid_code", "lonely") == 2
    assert res.count("non_numeric", "bullied") == 1
    assert list(res.log.columns) == ["rule", "column", "rows", "detail"]


def test_strict_codebook_raises_with_row_and_column():
    with pytest.raises(DataError) as info:
        _clean(_raw(4, lonely=[1, 2, 5, 7]), strict=True, source="bølge.csv")
    err = info.value
    assert (err.row, err.column, err.file) == (3, "lonely", "bølge.csv")
    assert "not an allowed code" in str(err) and "2 such rows" in str(err)
    assert "strict: false" in err.hint


def test_gender_recoded_and_unknown_gender_logged():
    res = _clean(_raw(4, gender=[1, 2, "Jente", 3]))
    assert res.data["gender"].tolist()[:3] == ["boy", "girl", "girl"]
    assert pd.isna(res.data["gender"].iloc[3]) and res.count("invalid_code", "gender") == 1
    assert res.data["wave"].dtype == "int64" and res.data["grade"].dtype == "int64"


def test_exact_duplicates_removed_first_copy_flagged():
    raw = _raw(4, lonely=[1, 2, 3, 4])
    raw = pd.concat([raw, raw.iloc[[1, 1, 3]]], ignore_index=True)
    res = _clean(raw)
    assert len(res.data) == 4 and res.rows_in == 7 and res.count("duplicate_removed") == 3
    assert res.data["flag_duplicate"].tolist() == [False, True, False, True]


def test_straightlining_and_age_grade_flags():
    dep = {f"dep{j}": [2, 1, 3, 99] for j in range(1, 7)}
    dep["dep6"] = [2, 2, 3, 99]
    res = _clean(_raw(4, **dep, grade=[8, 9, 10, 10], birth_year=[2011, 2010, 2004, 2009]))
    # straight-lined: rows 1 and 3 (all six answered alike); row 4 has nothing answered
    assert res.data["flag_straightlining"].tolist() == [True, False, True, False]
    # age = 2025 - birth_year; expected grade + 5 (+/- 1): 14 ok, 15 ok, 21 bad, 16 ok
    assert res.data["flag_age_grade"].tolist() == [False, False, True, False]
    assert res.count("straightlining") == 2 and res.count("age_grade") == 1


# --- ids --------------------------------------------------------------------------------------

def test_ids_pseudonymised_with_key_from_environment(monkeypatch):
    monkeypatch.setenv("SSP_PSEUDONYM_KEY", "s3cret")
    res = clean.apply(_raw(2), "ungdata")
    expected = hmac.new(b"s3cret", b"T2025-000000", hashlib.sha256).hexdigest()
    assert res.data["respondent_id"].iloc[0] == expected
    assert not res.data["respondent_id"].str.startswith("T2025").any()


def test_no_key_refuses_and_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("SSP_PSEUDONYM_KEY", raising=False)
    with pytest.raises(DataError, match="SSP_PSEUDONYM_KEY") as info:
        clean.apply(_raw(2), "ungdata")
    assert info.value.column == "respondent_id"
    res = clean.apply(_raw(2), "ungdata", pseudonymise=False)
    out = tmp_path / "clear.parquet"
    with pytest.raises(DataError, match="in the clear"):
        clean.write_clean(res, out)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_write_clean_writes_data_and_log_atomically(tmp_path):
    res = _clean(_raw(3, lonely=[1, 99, 4]), source={"path": "x.csv", "sha256": "abc"})
    data_path, log_path = clean.write_clean(res, tmp_path / "out" / "clean.parquet")
    back = pd.read_parquet(data_path)
    pd.testing.assert_frame_equal(back, res.data)
    doc = json.loads(log_path.read_text(encoding="utf-8"))
    assert log_path.name == "clean.log.json"
    assert doc["codebook"]["instrument"] == "ungdata" and doc["source"]["sha256"] == "abc"
    assert doc["rows_in"] == 3 and {"rule", "column", "rows", "detail"} == set(doc["log"][0])
    assert sorted(p.name for p in data_path.parent.iterdir()) == ["clean.log.json",
                                                                   "clean.parquet"]


def test_labelled_gives_ordered_categoricals():
    res = _clean(_raw(3, lonely=[1, 4, 99], climate4=[1, 5, 3], gender=[1, 2, 2]))
    nb, en = res.labelled("nb"), res.labelled("en")
    assert nb["lonely"].cat.ordered and nb["lonely"].tolist()[:2] == [
        "Ikke plaget i det hele tatt", "Veldig mye plaget"]
    assert pd.isna(nb["lonely"].iloc[2])
    assert list(en["lonely"].cat.categories) == [
        "Not bothered at all", "A little bothered", "Quite bothered", "Very bothered"]
    # climate4 raw 1 ("Helt uenig" with a negative statement) is stored as 5
    assert res.data["climate4"].tolist() == [5, 1, 3]
    assert nb["climate4"].tolist() == ["Helt uenig", "Helt enig", "Verken enig eller uenig"]
    assert en["gender"].tolist() == ["Boy", "Girl", "Girl"]
    assert nb["ind_lonely"].tolist()[:2] == [0.0, 1.0]


# --- harmonisation ----------------------------------------------------------------------------

def test_wave_harmonisation_renames_and_recodes():
    cb = load_codebook("trondheim")
    raw = pd.DataFrame({"elevnr": ["a", "b", "c", "d"], "aar": [2020, 2021, 2022, 2022],
                        "skole": ["Ås"] * 4, "trinn": [8, 9, 10, 8], "kjonn": [1, 2, 1, 2],
                        "ensom": [3, 4, np.nan, 2], "ensomhet": [np.nan, np.nan, 1, 2],
                        "mobbet": [3, 5, 4, 6]})
    res = clean.apply(raw, cb, key=KEY, require_items=False)
    d = res.data
    assert "ensom" not in d and d["ensomhet"].tolist() == [3, 4, 1, 2]
    assert d["ind_lonely"].tolist() == [1, 1, 0, 0]
    # 2020's 5-point scale: 3 -> 4 (every 14 days); later waves unchanged
    assert d["mobbet"].tolist() == [4, 5, 4, 6] and d["ind_bullied"].tolist() == [1, 1, 1, 1]
    assert res.count("rename", "ensomhet") == 2 and res.count("recode", "mobbet") == 1
    assert cb.series_breaks[0][:2] == ("bullied", 2022)


# --- bad input --------------------------------------------------------------------------------

def test_missing_required_column():
    with pytest.raises(DataError, match=r"missing required column\(s\) \['grade'") as info:
        _clean(_raw(2).drop(columns=["grade"]), source="w.csv")
    assert info.value.column == "grade" and info.value.file == "w.csv"
    with pytest.raises(DataError, match="'dep3'"):
        _clean(_raw(2).drop(columns=["dep3"]))


def test_not_a_survey_and_empty():
    with pytest.raises(DataError, match="none of the ungdata codebook's columns"):
        _clean(pd.DataFrame({"dato": ["1.1."], "beløp": [3]}))
    with pytest.raises(DataError, match="no rows"):
        _clean(_raw(2).iloc[:0])


# --- the shipped synthetic exports: log counts = planted anomalies ---------------------------

@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    synth = pytest.importorskip("ssp_research.data.synth.simulate")
    out = tmp_path_factory.mktemp("synth")
    result = synth.generate(rows=3000, seed=3)
    files = synth.write(result, out)
    return synth, result, files


@pytest.mark.parametrize("kind", ["csv", "sav"])
def test_cleaning_log_matches_planted_anomalies(synthetic, kind):
    synth, result, files = synthetic
    _check_against_truth(synth, files[kind], result.truth["anomalies"][kind], result.data, kind)


@pytest.mark.parametrize("kind", ["csv", "sav"])
def test_shipped_raw_exports_match_truth_json(kind):
    synth = pytest.importorskip("ssp_research.data.synth.simulate")
    from ssp_research.core.paths import synthetic_dir

    folder = synthetic_dir()
    raw = sorted((folder / "raw").glob(f"trondheim_*.{kind}"))
    if not raw or not (folder / "truth.json").exists():
        pytest.skip("no shipped synthetic data (run `make synth`)")
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    tidy = pd.read_parquet(folder / "trondheim.parquet")
    _check_against_truth(synth, raw[0], truth["anomalies"][kind], tidy, kind)


def _check_against_truth(synth, path, truth, tidy, kind):
    survey = io.read_survey(path)
    res = clean.apply(survey, "ungdata", key=synth.SYNTHETIC_KEY.encode())
    log = res.log
    for item, per_code in truth["missing_codes"].items():
        for code, planted in per_code.items():
            sel = ((log["rule"] == "missing_code") & (log["column"] == item)
                   & log["detail"].str.startswith(f"code {code}:"))
            assert int(log.loc[sel, "rows"].sum()) == planted, (item, code)
    for item, spec in truth["out_of_range"].items():
        assert res.count("invalid_code", item) == spec["rows"], item
    assert res.count("duplicate_removed") == truth["duplicate_rows"]
    assert res.count("age_grade") == truth["age_grade_rows"]
    assert res.rows_in == truth["rows_in_export"] and len(res.data) == truth["respondents"]
    # the tidy data shipped by synth is exactly what cleaning the export gives
    tidy = tidy if kind == "csv" else tidy[tidy["wave"] == 2025]
    tidy = tidy.reset_index(drop=True)
    assert list(res.data.columns) == list(tidy.columns)
    for col in tidy.columns:
        pd.testing.assert_series_equal(res.data[col], tidy[col], check_dtype=False,
                                       obj=col)
    if kind == "csv":
        assert res.count("straightlining") == int(tidy["flag_straightlining"].sum())


def test_cli_clean_writes_outputs_and_fails_cleanly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SSP_PSEUDONYM_KEY", "k")
    src = tmp_path / "eksport.csv"
    _raw(5, lonely=[1, 2, 3, 99, 7]).to_csv(src, sep=";", decimal=",", index=False,
                                            encoding="cp1252")
    out = tmp_path / "ut" / "ren.parquet"
    assert cli.main(["clean", str(src), "--codebook", "ungdata", "--out", str(out)]) == 0
    assert out.exists() and out.with_suffix(".log.json").exists()
    assert pd.read_parquet(out)["school"].iloc[0] == "Åsvang skole"
    bad_out = tmp_path / "bad" / "x.parquet"
    for args in (["--strict"], []):
        code = cli.main(["clean", str(src), "--codebook", "ungdata", "--out", str(bad_out),
                         *args] + (["--codebook", "ungdta"] if not args else []))
        assert code == 2
        assert not bad_out.exists() and not bad_out.with_suffix(".log.json").exists()
    err = capsys.readouterr().err
    assert "not an allowed code" in err and "did you mean 'ungdata'" in err
    monkeypatch.delenv("SSP_PSEUDONYM_KEY")
    assert cli.main(["clean", str(src), "--codebook", "ungdata", "--out", str(bad_out)]) == 2
    assert "SSP_PSEUDONYM_KEY" in capsys.readouterr().err and not bad_out.exists()


def test_filtered_frame_with_gaps_in_its_index():
    raw = _raw(6, lonely=[1, 2, 3, 4, 1, 2])
    sub = raw[raw.index % 2 == 1]  # index 1, 3, 5
    res = _clean(sub)
    assert res.data.index.tolist() == [0, 1, 2]
    assert res.data["lonely"].tolist() == [2, 4, 2] and res.data["gender"].tolist() == ["girl"] * 3
    assert res.data["ind_lonely"].tolist() == [0, 1, 0]


def test_strict_error_names_the_export_row_after_duplicates():
    raw = _raw(3, lonely=[1, 1, 9])
    raw = pd.concat([raw.iloc[[0]], raw], ignore_index=True)  # a duplicate first
    with pytest.raises(DataError) as info:
        _clean(raw, strict=True)
    assert info.value.row == 4


OTHER = {  # (codebook, indicator): (item, expected for codes 1..k), from each YAML's definition
    ("elevus", "thriving"): ("trives_skolen", [0, 0, 0, 1, 1]),
    ("elevus", "bullied"): ("mobbet", [0, 0, 1, 1, 1]),  # 2-3 times a month or more
    ("trondheim", "lonely"): ("ensomhet", [0, 0, 1, 1]),
    ("trondheim", "bullied"): ("mobbet", [0, 0, 0, 1, 1, 1]),
    ("trondheim", "close_friend"): ("fortrolig_venn", [1, 1, 0, 0]),
    ("trondheim", "thriving"): ("trivsel", [0, 0, 1, 1]),  # codes run uenig -> enig
    ("trondheim", "trusted_adult"): ("voksen_skole", [0, 0, 0, 1, 1]),
}


def _other_raw(cb, n, **cols):
    base = {cb.columns[r]: v for r, v in (("respondent_id", [str(i) for i in range(n)]),
                                          ("wave", [2024] * n), ("school", ["Ås"] * n),
                                          ("grade", [10] * n), ("gender", [1] * n))}
    base.update({name: [1] * n for name in cb.items})
    base.update({k: list(v) for k, v in cols.items()})
    return pd.DataFrame(base)


@pytest.mark.parametrize("key", sorted(OTHER))
def test_elevus_and_trondheim_indicators_by_hand(key):
    cb = load_codebook(key[0])
    item, expected = OTHER[key]
    codes = list(range(1, len(expected) + 1)) + [99]
    res = _clean(_other_raw(cb, len(codes), **{item: codes}), cb)
    np.testing.assert_array_equal(res.data[cb.indicator_column(key[1])], expected + [np.nan])


def test_elevus_index_means_and_high_support_by_hand():
    cb = load_codebook("elevus")
    support = {"laerer_bryr": [5, 4, 4, 99], "laerer_tro": [5, 4, 3, 99],
               "laerer_respekt": [4, 4, 4, 5], "laerer_hjelp": [99, 3, 4, 5]}
    res = _clean(_other_raw(cb, 4, **support), cb)
    # means: 14/3, 15/4, 15/4, NaN (2 of 4 answered < min 3)
    np.testing.assert_allclose(res.data["laererstotte"], [14 / 3, 3.75, 3.75, np.nan])
    np.testing.assert_array_equal(res.data["ind_high_support"], [1, 0, 0, np.nan])


def test_trondheim_depressive_and_reversed_item():
    cb = load_codebook("trondheim")
    dep = dict(zip(["slit", "sovn", "trist", "haplos", "anspent", "bekymret"],
                   [[3, 2], [3, 2], [3, 4], [3, 4], [99, 9], [9, 9]]))
    res = _clean(_other_raw(cb, 2, uro=[1, 5], **dep), cb)
    np.testing.assert_allclose(res.data["depressive_mean"], [3.0, 3.0])  # 4 answered each
    assert res.data["ind_depressive"].tolist() == [1.0, 1.0]
    assert res.data["uro"].tolist() == [5.0, 1.0]
    assert res.count("missing_code", "bekymret") == 2


def test_pilot_role_becomes_bool():
    assert UNG.columns["pilot"] == "pilot"
    raw = _raw(3)
    raw["pilot"] = [0, 1, 1]
    res = _clean(raw, UNG)
    assert res.data["pilot"].dtype == bool and res.data["pilot"].tolist() == [False, True, True]


@pytest.mark.parametrize("content", [b"", b"id;navn\n1;\x81\x8d\x90\n", b"bare tekst\n",
                                     b"dato;belop\n1.1.;3\n"])
def test_cli_bad_files_exit_2_without_output(tmp_path, monkeypatch, capsys, content):
    monkeypatch.setenv("SSP_PSEUDONYM_KEY", "k")
    src = tmp_path / "eksport.csv"
    src.write_bytes(content)
    out = tmp_path / "ut" / "x.parquet"
    assert cli.main(["clean", str(src), "--codebook", "ungdata", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "eksport.csv" in err and "What to do" in err
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_cleaning_clean_data_again_recomputes_derived_columns():
    first = _clean(_raw(3, lonely=[1, 3, 99]))
    again = clean.apply(first.data, "ungdata", pseudonymise=False)
    assert list(again.data.columns) == list(first.data.columns)
    pd.testing.assert_series_equal(again.data["ind_lonely"], first.data["ind_lonely"])
    assert again.count("recomputed", "ind_lonely") == 3


def test_one_wave_export_without_wave_column(tmp_path, monkeypatch):
    raw = _raw(2).drop(columns=["wave"])
    with pytest.raises(DataError, match="'wave'"):
        _clean(raw)
    res = _clean(raw, wave=2024)
    assert res.data["wave"].tolist() == [2024, 2024] and res.count("wave_assigned") == 2
    monkeypatch.setenv("SSP_PSEUDONYM_KEY", "k")
    src = tmp_path / "w.csv"
    raw.to_csv(src, index=False)
    out = tmp_path / "w.parquet"
    assert cli.main(["clean", str(src), "--codebook", "ungdata", "--out", str(out),
                     "--wave", "2024"]) == 0
    assert pd.read_parquet(out)["wave"].tolist() == [2024, 2024]
