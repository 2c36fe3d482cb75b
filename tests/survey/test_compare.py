"""Tests of ssp_research.survey.compare (svyttest, svycontrast, svychisq) against R survey 4.1.1."""

from __future__ import annotations

import pandas as pd
import pytest
from support import api_frames as _api
from support import assert_rel as _assert_rel
from support import dclus1 as _dclus1
from support import dstrat as _dstrat
from support import models_reference as _reference

from ssp_research.core.errors import EstimationError, ParameterError
from ssp_research.survey import compare, models
from ssp_research.survey.design import SurveyDesign

# --- t-test, contrasts, chi-square ------------------------------------------------------------


@pytest.mark.parametrize(("key", "design"), [("ttest_clus1", "clus1"), ("ttest_strat", "strat")])
def test_svyttest_matches_r(key, design):
    d = _dstrat() if design == "strat" else _dclus1()
    t = compare.svyttest(d, "api00 ~ sch.wide")
    ref = _reference()[key]
    row = t.iloc[0]
    assert row["contrast"] == "Yes - No" and row["variable"] == "api00"
    _assert_rel(row[["estimate", "statistic", "p_value", "ci_low", "ci_high"]].astype(float),
                [ref[k] for k in ("estimate", "statistic", "p_value", "ci_low", "ci_high")])
    assert row["df"] == ref["df"]


def test_svyttest_one_sample_and_errors():
    d = _dclus1()
    t = compare.svyttest(d, "api00 ~ 1")
    assert t["df"].iloc[0] == d.degf() - 1  # R: degf(design) - 1
    w, y = d.weights, d.data["api00"].to_numpy(float)
    assert t["estimate"].iloc[0] == pytest.approx((w * y).sum() / w.sum(), rel=1e-12)
    with pytest.raises(EstimationError, match="3 levels"):
        compare.svyttest(d, "api00 ~ stype")


def test_svycontrast_domains_match_r_joint_covariance():
    ref = _reference()["contrast_clus1_domains"]
    c = compare.svycontrast(_dclus1(), "api00", {"E - H": {"E": 1, "H": -1},
                                                "E - M": {"E": 1, "M": -1}}, by="stype")
    _assert_rel(c["estimate"], ref["estimate"])
    _assert_rel(c["se"], ref["se"])
    assert (c["df"] == ref["degf"]).all() and c["contrast"].tolist() == ["E - H", "E - M"]


def test_svycontrast_paired_variables_and_glm_table():
    d = _dclus1()
    ref = _reference()["contrast_clus1_paired"]
    c = compare.svycontrast(d, ["api00", "api99"], {"growth": [1, -1]})
    _assert_rel(c["estimate"], [ref["estimate"]])
    _assert_rel(c["se"], [ref["se"]])
    fit = models.svyglm(d, "api00 ~ 0 + stype")
    c2 = compare.svycontrast(fit, contrasts={"E - H": {"stypeE": 1, "stypeH": -1}})
    _assert_rel(c2["se"], [_reference()["contrast_clus1_domains"]["se"][0]])
    assert c2["df"].iloc[0] == fit["df"].iloc[0]


def test_svycontrast_unknown_coefficient():
    with pytest.raises(ParameterError, match="unknown coefficient") as err:
        compare.svycontrast(_dclus1(), "api00", {"x": {"Q": 1}}, by="stype")
    assert "'E'" in err.value.hint


@pytest.mark.parametrize(
    ("key", "design", "row", "col"),
    [("chisq_clus1", "clus1", "sch.wide", "stype"), ("chisq_strat", "strat", "sch.wide", "stype"),
     ("chisq_clus1_3x2", "clus1", "stype", "comp.imp")],
)
def test_svychisq_matches_r(key, design, row, col):
    d = _dstrat() if design == "strat" else _dclus1()
    ref = _reference()[key]
    f = compare.svychisq(d, row, col).iloc[0]
    _assert_rel([f["statistic"], f["ndf"], f["ddf"], f["p_value"], f["pearson_x2"]],
                [ref["F"], ref["ndf"], ref["ddf"], ref["p_F"], ref["X2"]])
    c = compare.svychisq(d, row, col, statistic="Chisq").iloc[0]
    _assert_rel([c["pearson_x2"], c["ndf"], c["p_value"]],
                [ref["X2"], ref["df_chisq"], ref["p_chisq"]])
    assert c["statistic"] == pytest.approx(c["pearson_x2"] / c["mean_deff"], rel=1e-12)


def test_design_methods_delegate_to_compare():
    d = _dclus1()
    pd.testing.assert_frame_equal(d.ttest("api00 ~ sch.wide"),
                                  compare.svyttest(d, "api00 ~ sch.wide"))
    pd.testing.assert_frame_equal(d.chisq("sch.wide", "stype"),
                                  compare.svychisq(d, "sch.wide", "stype"))


def test_svychisq_with_missing_values_matches_r():
    df = _api()["apiclus1"].copy()
    df.loc[df.index[:10], "sch.wide"] = None
    d = SurveyDesign(df, ids="dnum", weights="pw", fpc="fpc")
    ref = _reference()["chisq_clus1_missing"]
    f = compare.svychisq(d, "sch.wide", "stype").iloc[0]
    _assert_rel([f["statistic"], f["ndf"], f["ddf"], f["p_value"], f["pearson_x2"]],
                [ref["F"], ref["ndf"], ref["ddf"], ref["p_F"], ref["X2"]])
    assert f["n"] == 173


def test_svychisq_bad_statistic():
    with pytest.raises(ParameterError, match="statistic"):
        compare.svychisq(_dclus1(), "stype", "sch.wide", statistic="Wald")




def test_svycontrast_totals_and_crossed_domains_match_r_domain_estimates():
    d = _dclus1()
    ref = _reference()
    t = compare.svycontrast(d, "enroll", {"E": {"E": 1}}, by="stype", statistic="total")
    _assert_rel(t[["estimate", "se"]].iloc[0].astype(float),
                [ref["domain_total_enroll_E"]["estimate"], ref["domain_total_enroll_E"]["se"]])
    m = compare.svycontrast(d, "api00", {"E yes": {"E:Yes": 1}}, by=["stype", "sch.wide"])
    _assert_rel(m[["estimate", "se"]].iloc[0].astype(float),
                [ref["domain_mean_api00_E_yes"]["estimate"],
                 ref["domain_mean_api00_E_yes"]["se"]])
    assert m.attrs["vcov"].shape == (1, 1)
