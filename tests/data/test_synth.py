"""Tests of ssp_research.data.synth.simulate: determinism, sizes, calibration, planted structure,
mess counts."""

from __future__ import annotations

import hashlib
import hmac
import json
import math

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import statsmodels.api as sm

from ssp_research import cli
from ssp_research.core import paths
from ssp_research.core.errors import ParameterError
from ssp_research.data import synth
from ssp_research.data.synth import instrument

ITEMS = instrument.ITEMS


@pytest.fixture(scope="module")
def city():
    return synth.generate()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    res = synth.generate(rows=3000, seed=11)
    return res, synth.write(res, out)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _alpha(x: pd.DataFrame) -> float:
    x = x.dropna()
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var().sum() / x.sum(axis=1).var())


def _anova_icc(y: pd.Series, g: pd.Series) -> float:
    df = pd.DataFrame({"y": y, "g": g}).dropna()
    grp = df.groupby("g")["y"]
    n0 = grp.size().mean()
    msb = (grp.size() * (grp.mean() - df["y"].mean()) ** 2).sum() / (grp.ngroups - 1)
    msw = ((df["y"] - grp.transform("mean")) ** 2).sum() / (len(df) - grp.ngroups)
    return (msb - msw) / (msb + (n0 - 1) * msw)


# --- determinism and sizes ----------------------------------------------------------------------

def test_same_seed_same_bytes(written, tmp_path):
    res, files = written
    again = synth.write(synth.generate(rows=3000, seed=11), tmp_path)
    assert sorted(files) == ["csv", "data", "population", "sav", "truth"]
    for role in files:
        assert _sha(files[role]) == _sha(again[role]), role
    other = synth.generate(rows=3000, seed=12)
    assert not other.data[ITEMS].equals(res.data[ITEMS])


def test_committed_files_are_reproducible(city, tmp_path):
    files = synth.write(city, tmp_path)
    shipped = paths.PROJECT_DIR / "data" / "synthetic"
    for role, path in files.items():
        committed = shipped / path.relative_to(tmp_path)
        assert committed.exists(), f"run `ssp synth` to regenerate {committed}"
        assert _sha(path) == _sha(committed), f"{committed} is stale: run `ssp synth`"


def test_city_sizes_and_columns(city):
    d, pop = city.data, city.population
    assert len(d) == 26_000
    per_wave = d.groupby("wave").size()
    assert per_wave.index.tolist() == [2019, 2021, 2023, 2025]
    assert per_wave.between(6000, 7000).all()
    assert d["municipality"].unique().tolist() == ["Trondheim"]
    assert sorted(d["district"].unique()) == sorted(instrument.DISTRICTS)
    assert d["school"].nunique() == 25
    assert sorted(d["grade"].unique()) == [8, 9, 10]
    assert sorted(d["gender"].unique()) == ["boy", "girl"]
    assert d["respondent_id"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert d["respondent_id"].is_unique
    for c in ITEMS + ["weight", "depressive_mean", "school_climate"]:
        assert d[c].dtype == np.float64, c
    assert d["pilot"].dtype == bool and d["flag_duplicate"].dtype == bool
    assert d["wave"].dtype == np.int64 and d["grade"].dtype == np.int64
    ind = [c for c in d if c.startswith("ind_")]
    assert len(ind) == 10 and set(np.unique(d[ind].stack().dropna())) == {0.0, 1.0}
    # small schools (60-120 pupils a wave) exist, so suppression matters
    school_size = pop.groupby(["wave", "school"])["pupils"].sum().groupby("school").mean()
    assert (school_size.between(60, 130)).sum() >= 3
    assert list(pop.columns) == ["wave", "district", "school", "grade", "gender", "pupils"]


def test_weights_sum_to_population_and_response_rates(city):
    d, pop = city.data, city.population
    keys = ["wave", "school", "grade", "gender"]
    w = d.groupby(keys)["weight"].sum()
    p = pop.set_index(keys)["pupils"]
    np.testing.assert_allclose(w.sort_index().to_numpy(), p.sort_index().to_numpy(), rtol=1e-9)
    rr = d.groupby(keys).size().sum() / pop["pupils"].sum()
    assert 0.80 <= rr <= 0.92
    cell_rr = (d.groupby(keys).size() / p).dropna()
    assert cell_rr.min() >= 0.5 and cell_rr.max() <= 1.0


# --- calibration and planted structure ------------------------------------------------------

@pytest.mark.parametrize("name, target, tol", [
    ("lonely", 0.22, 0.01), ("bullied", 0.08, 0.01), ("thriving", 0.85, 0.01),
    ("close_friend", 0.90, 0.01), ("depressive", 0.11, 0.01), ("inactive", 0.12, 0.01),
    ("screen_4h", 0.28, 0.015), ("good_health", 0.78, 0.015), ("local_env", 0.82, 0.015),
    ("poor_economy", 0.07, 0.01),
])
def test_calibrated_prevalence(city, name, target, tol):
    assert city.data[f"ind_{name}"].mean() == pytest.approx(target, abs=tol)
    assert city.truth["indicators"][name]["target_prevalence"] == pytest.approx(target)


def test_depressive_twice_as_common_among_girls_and_reliable(city):
    d = city.data
    by = d.groupby("gender")["ind_depressive"].mean()
    assert 1.7 <= by["girl"] / by["boy"] <= 2.7
    assert 0.82 <= _alpha(d[instrument.DEP]) <= 0.90
    assert 0.72 <= _alpha(d[instrument.CLIMATE]) <= 0.86
    assert 0.03 <= _anova_icc(d["school_climate"], d["school"]) <= 0.09


def test_trends_and_gradient(city):
    d = city.data
    bul = d.groupby("wave")["ind_bullied"].mean()
    assert bul[2025] > bul[2019] + 0.015  # rising
    lon = d.groupby("wave")["ind_lonely"].mean()
    assert lon[2025] <= lon[2019]  # stable or falling
    grad = d.groupby("family_economy")["ind_lonely"].mean()
    assert grad[1] > grad[3] > grad[5]
    expected = city.truth["indicators"]["bullied"]["expected_prevalence"]["by_wave"]
    assert expected["2025"] > expected["2019"]


def test_logistic_model_recovers_planted_lonely_effects(city):
    d = city.data.dropna(subset=["ind_lonely", "family_economy"])
    post = (d["pilot"] & (d["wave"] >= instrument.PILOT_START)).astype(float)
    X = pd.DataFrame({
        "const": 1.0, "girl": (d["gender"] == "girl").astype(float),
        "grade": d["grade"] - 9.0, "econ": d["family_economy"] - 3.0,
        "step": (d["wave"] - 2019) / 2.0, "pilot": d["pilot"].astype(float), "pilot_post": post,
    })
    fit = sm.Logit(d["ind_lonely"].to_numpy(), X.to_numpy()).fit(disp=0)
    b = dict(zip(X.columns, fit.params))
    t = city.truth["indicators"]["lonely"]
    assert b["girl"] == pytest.approx(t["effects"]["girl"], abs=0.1)
    assert b["econ"] == pytest.approx(t["effects"]["family_economy_step"], abs=0.06)
    assert b["step"] == pytest.approx(t["effects"]["wave_step"], abs=0.06)
    assert b["pilot_post"] == pytest.approx(t["pilot_effect"], abs=0.2)
    assert b["pilot_post"] < 0


def test_truth_file_is_complete(city):
    t = json.loads(json.dumps(city.truth))  # JSON-serialisable
    assert t["pseudonymisation"]["key"] == synth.SYNTHETIC_KEY
    for name in ["lonely", "bullied", "close_friend", "thriving", "local_env", "inactive",
                 "screen_4h", "good_health", "depressive"]:
        ind = t["indicators"][name]
        assert set(ind["effects"]) == {"girl", "grade_step", "family_economy_step", "wave_step"}
        assert 0.02 <= ind["latent_icc"] <= 0.05
        sd = ind["school_sd"]
        assert sd**2 / (sd**2 + math.pi**2 / 3) == pytest.approx(ind["latent_icc"])
        assert len(ind["school_effects"]) == 25
        assert set(ind["sample_prevalence"]["by_wave"]) == {"2019", "2021", "2023", "2025"}
    pilot = t["pilot"]
    assert 6 <= len(pilot["schools"]) <= 7 and pilot["start_wave"] == 2023
    districts = {s["district"] for s in t["design"]["schools"] if s["pilot"]}
    assert districts == set(instrument.DISTRICTS)
    assert t["trend"]["bullied"] > 0 >= t["trend"]["lonely"]
    for export in ("csv", "sav"):
        a = t["anomalies"][export]
        assert set(a["missing_codes"]) == set(ITEMS)
        assert a["duplicate_rows"] > 0 and a["age_grade_rows"] > 0
    assert t["anomalies"]["csv"]["rows_in_export"] == 26_000 + t["anomalies"]["csv"][
        "duplicate_rows"]


def test_ids_are_hmac_of_plain_ids(city):
    raw = city.raw.drop_duplicates()
    expect = [hmac.new(b"ssp-synthetic-demo-key", i.encode(), hashlib.sha256).hexdigest()
              for i in raw["respondent_id"]]
    assert expect == city.data["respondent_id"].tolist()
    assert raw["respondent_id"].str.fullmatch(r"T20(19|21|23|25)-\d{6}").all()


# --- raw exports: readable, messy in the stated counts, and clean to the tidy data ---------

def _mini_clean(raw: pd.DataFrame) -> pd.DataFrame:
    """An independent hand cleaning: dedup, missing/out-of-range codes to NaN, reverse."""
    raw = raw.drop_duplicates().reset_index(drop=True)
    valid = {"lonely": 4, "bullied": 6, "close_friend": 4, "school_thrive": 4}
    out = pd.DataFrame(index=raw.index)
    for c in ITEMS:
        top = valid.get(c, 4 if c.startswith("dep") else 5)
        x = raw[c].astype(float)
        out[c] = x.where(x.between(1, top))
    out["climate4"] = 6 - out["climate4"]
    return out


def test_csv_export_is_norwegian_messy_and_cleans_to_tidy(written):
    res, files = written
    blob = files["csv"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        blob.decode("utf-8")  # cp1252: Ø is one byte 0xD8
    assert b"\xd8stbyen" in blob and b"\r\n" in blob
    header = blob.split(b"\r\n")[0].decode("cp1252").split(";")
    assert header[:3] == ["respondent_id", "wave", "municipality"]
    raw = pd.read_csv(files["csv"], sep=";", decimal=",", encoding="cp1252")
    assert raw["weight"].dtype == np.float64
    truth = res.truth["anomalies"]["csv"]
    assert len(raw) == truth["rows_in_export"]
    assert raw.duplicated().sum() == truth["duplicate_rows"]
    for c in ITEMS:
        for code in ("98", "99"):
            assert (raw[c] == int(code)).sum() == truth["missing_codes"][c][code], (c, code)
    for c, spec in truth["out_of_range"].items():
        top = 6 if c == "bullied" else (5 if c in ("local_env", "health", "climate2") else 4)
        bad = ~raw[c].between(1, top) & ~raw[c].isin([98, 99])
        assert bad.sum() == spec["rows"] and set(raw.loc[bad, c]) == set(spec["codes"])
    clean = _mini_clean(raw)
    pd.testing.assert_frame_equal(clean, res.data[ITEMS].reset_index(drop=True))
    dedup = raw.drop_duplicates().reset_index(drop=True)
    np.testing.assert_array_equal(dedup["weight"].to_numpy(), res.data["weight"].to_numpy())
    assert (dedup["gender"].map({1: "boy", 2: "girl"}) == res.data["gender"]).all()


def test_sav_export_has_labels_user_missing_and_counts(written):
    res, files = written
    df, meta = pyreadstat.read_sav(str(files["sav"]), user_missing=True)
    truth = res.truth["anomalies"]["sav"]
    assert len(df) == truth["rows_in_export"] and set(df["wave"]) == {2025}
    assert meta.variable_value_labels["lonely"][3.0] == "Ganske mye plaget"
    assert meta.column_names_to_labels["dep1"] == "Følt at alt er et slit"
    assert {r["lo"] for r in meta.missing_ranges["bullied"]} == {98.0, 99.0}
    for c in ITEMS:
        assert (df[c] == 99).sum() == truth["missing_codes"][c]["99"], c
    plain, _ = pyreadstat.read_sav(str(files["sav"]))  # user-missing -> NaN
    assert plain["lonely"].isna().sum() == sum(truth["missing_codes"]["lonely"].values())
    once = df.drop_duplicates()
    dep = once[instrument.DEP].where(once[instrument.DEP].isin([1, 2, 3, 4]))
    flagged = res.data.loc[res.data["wave"] == 2025, "flag_straightlining"].sum()
    answered = dep.notna().all(axis=1) & dep.eq(dep["dep1"], axis=0).all(axis=1)
    assert flagged == answered.sum() >= truth["straightlining_planted"]


def test_flags_and_derived_columns_follow_codebook_rules(city):
    d = city.data
    dep = d[instrument.DEP]
    n_ok = dep.notna().sum(axis=1)
    mean = dep.mean(axis=1).where(n_ok >= 4)
    np.testing.assert_allclose(d["depressive_mean"], mean, equal_nan=True)
    expect = (mean >= 3).astype(float).where(mean.notna())
    np.testing.assert_array_equal(d["ind_depressive"], expect)
    lon = d["lonely"].isin([3, 4]).astype(float).where(d["lonely"].notna())
    np.testing.assert_array_equal(d["ind_lonely"], lon)
    a = city.truth["anomalies"]
    assert d["flag_duplicate"].sum() == a["csv"]["duplicate_rows"] == a["duplicate_flagged"]
    assert d["flag_age_grade"].sum() == a["csv"]["age_grade_rows"]
    age = d["wave"] - d["birth_year"] - d["grade"]
    assert set(age[~d["flag_age_grade"]]) <= {5, 6}
    assert d["flag_straightlining"].sum() == a["straightlining_flagged"]


# --- national variant, errors, CLI ------------------------------------------------------------

def test_national_structure():
    res = synth.generate(national=True, rows=60_000, seed=3)
    d = res.data
    assert len(d) == 60_000 and res.raw is None and res.name == "national"
    assert d["municipality"].nunique() >= 300
    assert d["district"].nunique() == 20
    assert d["school"].nunique() >= 1800
    city_cols = list(synth.generate(rows=1000).data.columns)
    assert list(d.columns) == city_cols
    assert d["ind_lonely"].mean() == pytest.approx(0.22, abs=0.01)
    assert "municipality" in res.population.columns


@pytest.mark.slow
def test_national_million_rows_is_fast():
    import time

    t0 = time.perf_counter()
    res = synth.generate(national=True, rows=1_000_000)
    assert len(res.data) == 1_000_000
    assert time.perf_counter() - t0 < 40  # ~15 s on a quiet 2-core machine


def test_bad_rows_raise_parameter_error():
    with pytest.raises(ParameterError, match="rows must be an integer >= 200"):
        synth.generate(rows=10)


def test_cli_writes_files(tmp_path, capsys):
    assert cli.main(["synth", "--out", str(tmp_path), "--rows", "800", "--seed", "5"]) == 0
    printed = capsys.readouterr().out.split()
    assert str(tmp_path / "trondheim.parquet") in printed
    back = pd.read_parquet(tmp_path / "trondheim.parquet")
    assert len(back) == 800 and back["gender"].dtype == "str"
    assert (tmp_path / "raw" / "trondheim_2025.sav").exists()
    assert cli.main(["synth", "--out", str(tmp_path), "--rows", "5"]) == 2
    assert "rows must be" in capsys.readouterr().err


def test_cleaning_the_shipped_csv_gives_the_shipped_tidy_data(monkeypatch):
    """Integration with clean.apply: the committed parquet is what cleaning the CSV gives."""
    clean = pytest.importorskip("ssp_research.data.clean")
    io = pytest.importorskip("ssp_research.data.io")
    monkeypatch.setenv(paths.PSEUDONYM_KEY_ENV, synth.SYNTHETIC_KEY)
    shipped = paths.PROJECT_DIR / "data" / "synthetic"
    result = clean.apply(io.read_survey(shipped / "raw" / "trondheim_2019-2025.csv"), "ungdata")
    got = result.data.reset_index(drop=True)
    want = pd.read_parquet(shipped / "trondheim.parquet")
    assert list(got.columns) == list(want.columns)
    got["pilot"] = got["pilot"].astype(bool)  # 0/1 in the export, passed through unchanged
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    truth = json.loads((shipped / "truth.json").read_text("utf-8"))["anomalies"]["csv"]
    log = result.log
    dup = log.loc[log["rule"] == "duplicate_removed", "rows"].sum()
    assert dup == truth["duplicate_rows"]
    bad = log[log["rule"] == "invalid_code"].set_index("column")["rows"].to_dict()
    assert bad == {c: v["rows"] for c, v in truth["out_of_range"].items() if v["rows"]}
    sav = clean.apply(io.read_survey(shipped / "raw" / "trondheim_2025.sav"), "ungdata").data
    sav["pilot"] = sav["pilot"].astype(bool)
    want25 = want[want["wave"] == 2025].reset_index(drop=True)
    pd.testing.assert_frame_equal(sav.reset_index(drop=True), want25, check_dtype=False)


def test_params_override_removes_planted_effects():
    base = synth.default_params()
    assert base["pilot"]["effect"] == -0.4 and base["indicators"]["lonely"]["icc"] == 0.03
    base["pilot"]["effect"] = 99.0
    assert synth.default_params()["pilot"]["effect"] == -0.4  # a fresh copy each time
    res = synth.generate(rows=8_000, params={"pilot": {"effect": 0.0},
                                              "indicators": {"bullied": {"trend": 0.0}}})
    t = res.truth
    assert t["pilot"]["effect_log_odds"] == 0.0 and t["pilot"]["att_prevalence"] == 0.0
    assert t["parameters"]["indicators"]["bullied"]["trend"] == 0.0
    by = t["indicators"]["bullied"]["expected_prevalence"]["by_wave"]
    assert abs(by["2025"] - by["2019"]) < 0.01  # no planted rise left
    planted = synth.generate(rows=8_000).truth["pilot"]
    assert planted["att_prevalence"] < -0.03  # the default programme lowers loneliness
    assert planted["did_expected_prevalence"] == pytest.approx(planted["att_prevalence"],
                                                               abs=0.01)


def test_unknown_or_bad_params_raise():
    with pytest.raises(ParameterError, match=r"unknown synth parameter.*'lonly'"):
        synth.generate(rows=500, params={"indicators": {"lonly": {"icc": 0.0}}})
    with pytest.raises(ParameterError, match="icc must be in"):
        synth.generate(rows=500, params={"indicators": {"lonely": {"icc": 1.5}}})
