"""Tests of ssp_research.analysis.indicators: R survey references (svyratio with covmat, svyby,
svyciprop, svystandardize), agreement with SurveyDesign, planted truth, bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ssp_research.analysis import indicators
from ssp_research.core.errors import CodebookError, DataError, ParameterError

REFDIR = Path(__file__).parents[1] / "reference"
REF = json.loads((REFDIR / "trend_reference.json").read_text())
V = np.array(REF["ind_school_district_city_vcov"]).reshape(3, 3)
E = np.array(REF["ind_school_district_city_est"])
STD = pd.DataFrame({"grade": np.repeat([8, 9, 10], 2), "gender": ["boy", "girl"] * 3,
                    "pupils": [1000, 980, 1010, 990, 1020, 1005]})


def _one(t: pd.DataFrame) -> pd.Series:
    assert len(t) == 1
    return t.iloc[0]


# --- R reference ------------------------------------------------------------------------------


def test_school_vs_district_matches_r_with_overlap(refdata):
    r = _one(indicators.indicator_table(refdata, indicators=["lonely"], waves=[2025],
                                        unit=("school", "Midtbyen_2"), compare="district"))
    assert r["estimate"] == pytest.approx(E[0], rel=1e-10)
    assert r["se"] == pytest.approx(np.sqrt(V[0, 0]), rel=1e-8)
    assert r["cmp_estimate"] == pytest.approx(E[1], rel=1e-10)
    assert r["cmp_se"] == pytest.approx(np.sqrt(V[1, 1]), rel=1e-8)
    assert r["diff"] == pytest.approx(E[0] - E[1], rel=1e-9)
    assert r["diff_se"] == pytest.approx(np.sqrt(V[0, 0] + V[1, 1] - 2 * V[0, 1]), rel=1e-8)
    # ignoring the overlap would be wrong by a lot here
    assert r["diff_se"] < 0.8 * np.hypot(r["se"], r["cmp_se"])
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(REF["ind_school_ci_logit"], rel=1e-8)
    assert r["df"] == REF["ind_df"]
    assert r["reason"] == ""


def test_school_vs_city_matches_r(refdata):
    r = _one(indicators.indicator_table(refdata, indicators=["lonely"], waves=[2025],
                                        unit=("school", "Midtbyen_2"), compare="city"))
    assert r["cmp_estimate"] == pytest.approx(E[2], rel=1e-10)
    assert r["diff_se"] == pytest.approx(np.sqrt(V[0, 0] + V[2, 2] - 2 * V[0, 2]), rel=1e-8)
    assert r["cmp_n"] == refdata.query("wave == 2025")["ind_lonely"].notna().sum()


def test_all_schools_in_one_pass_match_r_svyby(refdata):
    t = indicators.indicator_table(refdata, indicators=["lonely"], waves=[2025], unit="school",
                                   compare=None)
    assert t["school"].tolist() == REF["ind_schools"]
    np.testing.assert_allclose(t["estimate"], REF["ind_school_est"], rtol=1e-10)
    np.testing.assert_allclose(t["se"], REF["ind_school_se"], rtol=1e-8)
    sub = refdata.query("wave == 2025")
    counts = sub.groupby("school")["ind_lonely"].agg(["count", "sum"])
    np.testing.assert_array_equal(t["n"], counts["count"].to_numpy())
    np.testing.assert_array_equal(t["count"], counts["sum"].to_numpy())


def test_vectorised_equals_one_unit_at_a_time(refdata):
    every = indicators.indicator_table(refdata, indicators=["lonely", "bullied"],
                                       unit="school", compare="district")
    one = indicators.indicator_table(refdata, indicators=["lonely", "bullied"],
                                     unit=("school", "Ostbyen_3"), compare="district")
    sel = every[every["school"] == "Ostbyen_3"].reset_index(drop=True)
    cols = ["estimate", "se", "cmp_estimate", "cmp_se", "diff", "diff_se", "p_value"]
    pd.testing.assert_frame_equal(sel[cols], one[cols])
    assert len(every) == 2 * 4 * 12


def test_units_of_several_columns_leave_out_respondents_without_a_key(refdata):
    d = refdata.copy()
    d["gender"] = d["gender"].astype(object)
    d.loc[d.index[::7], "gender"] = None  # pupils who did not give their gender
    every = indicators.indicator_table(d, indicators=["lonely"], unit=["school", "gender"],
                                       compare=None)
    assert set(every["gender"]) == {"girl", "boy"}
    known = d[d["gender"].notna()]
    n = known.groupby(["wave", "school", "gender"])["ind_lonely"].count()
    got = every.set_index(["wave", "school", "gender"])["n"]
    assert (got == n.reindex(got.index)).all()


def test_pooled_three_waves_matches_r(refdata):
    t = indicators.indicator_table(refdata, indicators=["lonely"], unit=("school", "Midtbyen_2"),
                                   compare="city", pool=3)
    r = t[t["wave"] == 2025].iloc[0]
    assert r["pooled_from"] == 2021
    assert (r["estimate"], r["se"]) == pytest.approx(REF["ind_pooled_est_se"], rel=1e-8)
    sub = refdata[(refdata["wave"] >= 2021) & (refdata["school"] == "Midtbyen_2")]
    assert r["n"] == sub["ind_lonely"].notna().sum()  # the pooled n
    first = t[t["wave"] == 2019].iloc[0]
    assert first["pooled_from"] == 2019  # a window never reaches before the first wave


def test_direct_standardisation_matches_r_svystandardize(refdata):
    t = indicators.indicator_table(refdata, indicators=["lonely"], waves=[2025], unit="school",
                                   compare="city", standardise=STD)
    assert t["school"].tolist() == REF["std_schools"]
    np.testing.assert_allclose(t["estimate"], REF["std_est"], rtol=1e-9)
    np.testing.assert_allclose(t["se"], REF["std_se"], rtol=1e-8)
    # the city is standardised to the same population: it is the shares-weighted cell means
    sub = refdata[(refdata["wave"] == 2025) & refdata["ind_lonely"].notna()]
    cells = sub.assign(wy=sub["weight"] * sub["ind_lonely"]).groupby(["grade", "gender"])
    p = (cells["wy"].sum() / cells["weight"].sum()).rename("p").reset_index()
    m = p.merge(STD, on=["grade", "gender"])
    assert t["cmp_estimate"].iloc[0] == pytest.approx(
        (m["p"] * m["pupils"]).sum() / m["pupils"].sum(), rel=1e-12)


def test_agrees_with_survey_design_estimates(refdata):
    design = indicators.city_design(refdata)
    sub = design.subset((refdata["wave"] == 2023).to_numpy())
    ref = sub.mean("ind_bullied", by="district")
    t = indicators.indicator_table(design, indicators=["bullied"], waves=[2023],
                                   unit="district", compare=None)
    np.testing.assert_allclose(t["estimate"], ref["estimate"], rtol=1e-10)
    np.testing.assert_allclose(t["se"], ref["se"], rtol=1e-8)


def test_reference_figures_comparison(refdata):
    pub = pd.DataFrame({"indicator": ["lonely", "lonely"], "wave": [2023, 2025],
                        "estimate": [0.2, 0.25], "se": [0.01, np.nan]})
    t = indicators.indicator_table(refdata, indicators=["lonely", "bullied"], unit=None,
                                   compare=pub)
    r = t[(t["indicator"] == "lonely") & (t["wave"] == 2023)].iloc[0]
    assert r["diff"] == pytest.approx(r["estimate"] - 0.2)
    assert r["diff_se"] == pytest.approx(np.hypot(r["se"], 0.01))
    r25 = t[(t["indicator"] == "lonely") & (t["wave"] == 2025)].iloc[0]
    assert r25["diff_se"] == pytest.approx(r25["se"])  # a figure without se is fixed
    missing = t[(t["indicator"] == "bullied")]
    assert missing["cmp_estimate"].isna().all()
    assert (missing["reason"] == "no reference figure").all()
    assert missing["p_value"].isna().all()


# --- codebook, series breaks, bad input ---------------------------------------------------------


def test_codebook_indicators_and_series_break(city):
    from ssp_research.data.codebook import load_codebook

    data, _truth = city
    cb = load_codebook("ungdata")
    t = indicators.indicator_table(data, cb, unit=None, compare=None)
    assert t["indicator"].unique().tolist() == list(cb.indicators)
    assert len(t) == len(cb.indicators) * 4
    hib = t.drop_duplicates("indicator").set_index("indicator")["higher_is_better"]
    assert not hib["lonely"] and hib["close_friend"]
    broken = dataclasses.replace(cb, breaks=({"indicator": "bullied", "wave": 2023},))
    p = indicators.indicator_table(data, broken, indicators=["bullied"], unit=None,
                                   compare=None, pool=3)
    assert p.set_index("wave")["series_break"].to_dict() == {
        2019: False, 2021: False, 2023: True, 2025: False}
    # the pooled 2025 window starts at the break, not before it
    n23_25 = data.loc[data["wave"] >= 2023, "ind_bullied"].notna().sum()
    assert p.set_index("wave").loc[2025, "n"] == n23_25
    with pytest.raises(CodebookError, match="unknown indicator"):
        indicators.indicator_table(data, cb, indicators=["happiness"])


def test_unit_without_respondents_in_a_wave_gives_nan_row_with_reason(refdata):
    thin = refdata[~((refdata["school"] == "Heimdal_1") & (refdata["wave"] == 2021))]
    t = indicators.indicator_table(thin, indicators=["lonely"], unit=("school", "Heimdal_1"))
    r = t[t["wave"] == 2021].iloc[0]
    assert r["n"] == 0 and np.isnan(r["estimate"]) and np.isnan(r["diff"])
    assert r["reason"] == "no respondents"
    assert (t[t["wave"] != 2021]["reason"] == "").all()


def test_empty_standardisation_cell_gives_reason(refdata):
    thin = refdata[~((refdata["school"] == "Ostbyen_1") & (refdata["grade"] == 8)
                     & (refdata["gender"] == "girl"))]
    t = indicators.indicator_table(thin, indicators=["lonely"], unit="school", waves=[2025],
                                   standardise=STD)
    r = t.set_index("school")
    assert np.isnan(r.loc["Ostbyen_1", "estimate"])
    assert r.loc["Ostbyen_1", "reason"] == "empty standardisation cell"
    assert r.drop("Ostbyen_1")["estimate"].notna().all()


def test_bad_input_named_errors(refdata):
    with pytest.raises(DataError, match="no respondents in unit"):
        indicators.indicator_table(refdata, indicators=["lonely"], unit=("school", "Nowhere"))
    with pytest.raises(DataError, match="indicator columns not in the data"):
        indicators.indicator_table(refdata, indicators=["happiness"])
    with pytest.raises(ParameterError, match="pool must be"):
        indicators.indicator_table(refdata, indicators=["lonely"], pool=0)
    with pytest.raises(ParameterError, match="pupils"):
        indicators.indicator_table(refdata, indicators=["lonely"],
                                   standardise=STD.drop(columns="pupils"))
    with pytest.raises(ParameterError, match="no indicators given"):
        indicators.indicator_table(refdata)
    with pytest.raises(DataError, match="weights"):
        indicators.indicator_table(refdata.assign(weight=-1.0), indicators=["lonely"])


# --- planted truth ----------------------------------------------------------------------------


def test_city_estimates_cover_planted_prevalences(city):
    data, truth = city
    names = [n for n, v in truth["indicators"].items() if "expected_prevalence" in v]
    t = indicators.indicator_table(data, indicators=names, unit=None, compare=None,
                                   level=0.999)
    for _, r in t.iterrows():
        planted = truth["indicators"][r["indicator"]]["expected_prevalence"]["by_wave"]
        assert r["ci_low"] < planted[str(r["wave"])] < r["ci_high"], (r["indicator"], r["wave"])


def test_pilot_schools_differ_from_city_after_start(city):
    """Pilot schools (planted -0.4 log-odds from 2023) are less lonely than the city in the
    pooled 2023-2025 window; the same comparison before the start shows no such gap."""
    data, truth = city
    pil = data.assign(group=np.where(data["pilot"], "pilot", "other"))
    t = indicators.indicator_table(pil, indicators=["lonely"], unit="group", compare="city",
                                   pool=2)
    r = t.set_index(["wave", "group"])
    after, before = r.loc[(2025, "pilot")], r.loc[(2021, "pilot")]
    assert before["diff_ci_low"] < 0 < before["diff_ci_high"]
    assert after["diff_ci_high"] < 0 and after["p_value"] < 0.001
    assert after["diff"] < before["diff"] - 0.02


# --- CLI --------------------------------------------------------------------------------------


def test_cli_estimate_writes_csv_and_json(tmp_path, capsys):
    from ssp_research.cli import main

    data = str(REFDIR / "effects_reference_data.csv")
    out = tmp_path / "t.csv"
    # the reference numbers, as internal work (the protected default is tested in
    # tests/disclosure/test_release.py)
    rc = main(["estimate", data, "--indicator", "lonely", "--by", "school", "--compare",
               "district", "--wave", "2025", "--output", str(out), "--unprotected"])
    captured = capsys.readouterr()
    assert rc == 0 and captured.out.strip() == str(out)
    assert "NOT protected" in captured.err
    t = pd.read_csv(out)
    assert len(t) == 12 and t.columns[:4].tolist() == ["internal_unprotected", "indicator",
                                                       "wave", "school"]
    r = t[t["school"] == "Midtbyen_2"].iloc[0]
    assert r["diff_se"] == pytest.approx(np.sqrt(V[0, 0] + V[1, 1] - 2 * V[0, 1]), rel=1e-12)
    rc = main(["estimate", data, "--indicator", "lonely", "--unit", "school=Midtbyen_2",
               "--wave", "2025", "--format", "json", "--unprotected"])
    recs = json.loads(capsys.readouterr().out)
    assert rc == 0 and recs[0]["estimate"] == pytest.approx(E[0], rel=1e-12)
    assert recs[0]["cmp_estimate"] == pytest.approx(E[2], rel=1e-12)
    rc = main(["estimate", data, "--indicator", "happiness"])
    assert rc == 2 and "unknown indicator 'happiness'" in capsys.readouterr().err


def test_standardise_to_city_equals_population_table(city):
    from ssp_research.core import paths

    data, _truth = city
    popfile = paths.synthetic_dir() / "population.csv"
    if not popfile.exists():
        pytest.skip("population.csv not written")
    pop = pd.read_csv(popfile)
    kw = dict(indicators=["lonely"], unit="school", waves=[2025])
    a = indicators.indicator_table(data, standardise=pop, **kw)
    b = indicators.indicator_table(data, standardise="city", **kw)
    # weights sum to the pupils of each cell, so both standards are the same population
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-9)
    raw = indicators.indicator_table(data, **kw)
    assert not np.allclose(a["estimate"], raw["estimate"])
    with pytest.raises(ParameterError, match="unknown standard population"):
        indicators.indicator_table(data, standardise="nation", **kw)


def test_compare_all_is_the_whole_data(refdata):
    two = refdata.assign(municipality=np.where(refdata["district"] == "Heimdal", "K1", "K2"))
    a = indicators.indicator_table(two, indicators=["lonely"], unit=None, compare="all",
                                   waves=[2025])
    b = indicators.indicator_table(refdata, indicators=["lonely"], unit=None, compare=None,
                                   waves=[2025])
    assert a["municipality"].tolist() == ["K1", "K2"]
    np.testing.assert_allclose(a["cmp_estimate"], b["estimate"].iloc[0], rtol=1e-12)
    assert (a["cmp_n"] == b["n"].iloc[0]).all()


def test_standardisation_by_one_column_matches_a_hand_computation(city):
    """Direct standardisation by gender alone (a flat index; once gave all-NaN)."""
    df = city[0]
    std = pd.DataFrame({"gender": ["boy", "girl"], "pupils": [1, 3]})
    t = indicators.indicator_table(df, "ungdata", indicators=["lonely"], waves=[2025],
                                   compare=None, standardise=std, standardise_by=["gender"])
    d = df[df["wave"] == 2025]
    by_gender = d.groupby("gender").apply(
        lambda g: np.average(g["ind_lonely"].dropna(), weights=g.loc[g["ind_lonely"].notna(),
                                                                      "weight"]))
    expected = 0.25 * by_gender["boy"] + 0.75 * by_gender["girl"]
    assert t["estimate"].iloc[0] == pytest.approx(expected, rel=1e-10)
