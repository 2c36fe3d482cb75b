"""Tests of ssp_research.survey.weights against R's survey 4.1.1 (tests/reference/survey_models_*).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from support import REL
from support import api_frames as _api
from support import dclus1 as _dclus1
from support import dstrat as _dstrat
from support import models_reference as _reference

from ssp_research.core.errors import DataError, DesignError, EstimationError, ParameterError
from ssp_research.survey import models, weights
from ssp_research.survey.design import SurveyDesign

POP_STYPE = {"E": 4421, "H": 755, "M": 1018}
POP_WIDE = {"No": 1072, "Yes": 5122}
POP_CAL = {"(Intercept)": 6194, "api99": 3914069}


def _mean(d, var):
    """Linearised mean and SE through the design contract (scores -> d.vcov)."""
    y = d.data[var].to_numpy(dtype=float, na_value=np.nan)
    w = np.where(np.isnan(y), 0.0, d.weights)
    y = np.nan_to_num(y)
    m = (w * y).sum() / w.sum()
    return m, float(np.sqrt(d.vcov(w * (y - m) / w.sum())[0, 0]))


def _total(d, var):
    y = np.nan_to_num(d.data[var].to_numpy(dtype=float, na_value=np.nan))
    return (d.weights * y).sum(), float(np.sqrt(d.vcov(d.weights * y)[0, 0]))


def _check(design, ref, stats):
    np.testing.assert_allclose(design.weights, ref["weights"], rtol=REL)
    for key, (fun, var) in stats.items():
        est, se = fun(design, var)
        np.testing.assert_allclose([est, se], [ref[key]["estimate"], ref[key]["se"]], rtol=REL,
                                   err_msg=key)


def _check_glm(design, ref):
    fit = models.svyglm(design, "api00 ~ ell + meals")
    np.testing.assert_allclose(fit["estimate"], ref["estimate"], rtol=REL)
    np.testing.assert_allclose(fit["se"], ref["se"], rtol=REL)
    assert (fit["df"] == ref["df"]).all()


# --- post-stratification -----------------------------------------------------------------------


def test_poststratify_cluster_design_matches_r():
    ref = _reference()["ps_clus1"]
    d = _dclus1().poststratify("stype", population=POP_STYPE)
    _check(d, ref, {"mean_api00": (_mean, "api00"), "total_enroll": (_total, "enroll")})
    dom = d.subset(d.data["sch.wide"] == "Yes")
    np.testing.assert_allclose(_mean(dom, "api00"),
                               [ref["mean_api00_domain_yes"]["estimate"],
                                ref["mean_api00_domain_yes"]["se"]], rtol=REL)
    _check_glm(d, ref["glm"])


def test_poststratify_stratified_design_and_frame_population():
    ref = _reference()["ps_strat"]
    pop = pd.DataFrame({"sch.wide": ["No", "Yes"], "Freq": [1072, 5122]})
    d = weights.poststratify(_dstrat(), "sch.wide", pop)
    _check(d, ref, {"mean_api00": (_mean, "api00"), "total_enroll": (_total, "enroll")})
    assert d.calibrated and not _dstrat().calibrated


def test_poststratify_crossed_cells_hit_population_counts():
    d = _dclus1()
    cells = d.data.groupby(["stype", "sch.wide"], observed=True).size()
    pop = {key: 100.0 * (i + 1) for i, key in enumerate(cells.index)}
    ps = weights.poststratify(d, ["stype", "sch.wide"], pop)
    got = ps.data.assign(w=ps.weights).groupby(["stype", "sch.wide"], observed=True)["w"].sum()
    np.testing.assert_allclose(got.to_numpy(), [pop[k] for k in got.index], rtol=1e-12)


def test_poststratify_errors_name_the_problem():
    d = _dclus1()
    with pytest.raises(EstimationError, match="unknown post-stratification variable") as err:
        weights.poststratify(d, "stipe", POP_STYPE)
    assert err.value.column == "stipe"
    with pytest.raises(DesignError, match="no population total") as err:
        weights.poststratify(d, "stype", {"E": 4421, "H": 755})
    assert "population" in err.value.hint
    with pytest.raises(DesignError, match="no respondents"):
        weights.poststratify(d, "stype", {**POP_STYPE, "X": 10})
    with pytest.warns(UserWarning, match="absent from the sample"):
        ps = weights.poststratify(d, "stype", {**POP_STYPE, "X": 10}, partial=True)
    assert ps.weights.sum() == pytest.approx(6194)
    with pytest.raises(ParameterError, match="non-negative"):
        weights.poststratify(d, "stype", {"E": -1, "H": 755, "M": 1018})
    df = _api()["apiclus1"].copy()
    df["g"] = df["stype"].astype(object)
    df.loc[df.index[3], "g"] = None
    with pytest.raises(DataError, match="no value of post-stratification variable 'g'") as err:
        weights.poststratify(SurveyDesign(df, ids="dnum", weights="pw", fpc="fpc"), "g",
                             POP_STYPE)
    assert err.value.row == df.index[3]


# --- raking ------------------------------------------------------------------------------------


def test_rake_matches_r_default_control():
    ref = _reference()["rake_clus1"]
    d = _dclus1().rake({"stype": POP_STYPE, "sch.wide": POP_WIDE})
    _check(d, ref, {"mean_api00": (_mean, "api00"), "total_enroll": (_total, "enroll")})
    _check_glm(d, ref["glm"])


def test_rake_tight_convergence_hits_margins_and_matches_r():
    ref = _reference()["rake_clus1_tight"]
    d = weights.rake(_dclus1(), {"stype": POP_STYPE, "sch.wide": POP_WIDE}, maxit=50,
                     epsilon=1e-8)
    _check(d, ref, {"mean_api00": (_mean, "api00")})
    frame = d.data.assign(w=d.weights)  # epsilon < 1 is relative: 1e-8 * 6194 weight units
    for var, pop in (("stype", POP_STYPE), ("sch.wide", POP_WIDE)):
        got = frame.groupby(var, observed=True)["w"].sum()
        np.testing.assert_allclose(got.to_numpy(), [pop[k] for k in got.index], rtol=1e-8)


def test_rake_warns_when_not_converged_and_rejects_bad_control():
    with pytest.warns(weights.RakingWarning, match="did not converge after 1"):
        weights.rake(_dclus1(), {"stype": POP_STYPE, "sch.wide": POP_WIDE}, maxit=1,
                     epsilon=1e-12)
    with pytest.raises(ParameterError, match="maxit"):
        weights.rake(_dclus1(), {"stype": POP_STYPE}, maxit=0)
    with pytest.raises(ParameterError, match="non-empty dict"):
        weights.rake(_dclus1(), {})


# --- calibration -------------------------------------------------------------------------------


def test_calibrate_linear_matches_r_and_hits_totals():
    ref = _reference()["cal_clus1_linear"]
    d = _dclus1().calibrate("~ api99", population=POP_CAL, bounds=None)
    _check(d, ref, {"mean_api00": (_mean, "api00"), "total_api00": (_total, "api00"),
                    "total_enroll": (_total, "enroll")})
    api99 = d.data["api99"].to_numpy(dtype=float)
    assert d.weights.sum() == pytest.approx(6194, rel=1e-12)
    assert (d.weights * api99).sum() == pytest.approx(3914069, rel=1e-12)


def test_calibrate_with_factor_matches_r():
    ref = _reference()["cal_clus1_factor"]
    pop = {"(Intercept)": 6194, "stypeH": 755, "stypeM": 1018, "api99": 3914069}
    d = weights.calibrate(_dclus1(), "~ stype + api99", pop)
    _check(d, ref, {"mean_api00": (_mean, "api00"), "total_enroll": (_total, "enroll")})
    _check_glm(d, ref["glm"])
    same = weights.calibrate(_dclus1(), "~ stype + api99", [6194, 755, 1018, 3914069])
    np.testing.assert_allclose(same.weights, d.weights, rtol=1e-12)


def test_calibrate_bounded_matches_r_and_respects_bounds():
    ref = _reference()["cal_clus1_bounded"]
    d0 = _dclus1()
    d = weights.calibrate(d0, "~ api99", POP_CAL, bounds=(0.7, 1.3))
    _check(d, ref, {"mean_api00": (_mean, "api00"), "total_enroll": (_total, "enroll")})
    g = d.weights / d0.weights
    assert g.min() >= 0.7 - 1e-12 and g.max() <= 1.3 + 1e-12
    assert np.isclose(g, 0.7).sum() + np.isclose(g, 1.3).sum() > 10  # bounds are active


def test_calibrate_errors():
    d = _dclus1()
    with pytest.raises(EstimationError, match="did not converge") as err:
        weights.calibrate(d, "~ api99", POP_CAL, bounds=(0.95, 1.05))
    assert "force=True" in err.value.hint
    forced = weights.calibrate(d, "~ api99", POP_CAL, bounds=(0.95, 1.05), force=True)
    g = forced.weights / d.weights
    assert g.min() >= 0.95 - 1e-12 and g.max() <= 1.05 + 1e-12
    with pytest.raises(ParameterError, match="lower < 1 < upper"):
        weights.calibrate(d, "~ api99", POP_CAL, bounds=(1.1, 2))
    with pytest.raises(ParameterError, match="do not match") as err:
        weights.calibrate(d, "~ api99", {"(Intercept)": 6194, "api98": 1})
    assert "api98" in err.value.hint and "api99" in err.value.hint
    with pytest.raises(ParameterError, match="2 population totals for 3"):
        weights.calibrate(d, "~ api99 + ell", [6194, 1])
    df = _api()["apiclus1"].assign(twice=lambda f: f["api99"] * 2.0)
    with pytest.raises(EstimationError, match="collinear"):
        weights.calibrate(SurveyDesign(df, ids="dnum", weights="pw", fpc="fpc"),
                          "~ api99 + twice", [6194, 1, 2])
    with pytest.raises(DataError, match="missing calibration variable"):
        weights.calibrate(d, "~ avg.ed", {"(Intercept)": 6194, "avg.ed": 17000})


def test_weighting_steps_chain_and_leave_the_input_alone():
    d = _dclus1()
    w0 = d.weights.copy()
    chained = d.poststratify("stype", POP_STYPE).calibrate("~ api99", POP_CAL)
    np.testing.assert_array_equal(d.weights, w0)
    assert len(chained._postcal) == 2
    assert chained.weights.sum() == pytest.approx(6194, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m, se = _mean(chained, "api00")
    assert np.isfinite(se) and se > 0


def test_rake_with_a_crossed_margin_matches_r():
    ref = _reference()["rake_clus1_crossed"]
    levels = [("E", "No"), ("H", "No"), ("M", "No"), ("E", "Yes"), ("H", "Yes"), ("M", "Yes")]
    margins = {("stype", "sch.wide"): dict(zip(levels, ref["pop_sw"])),
               "comp.imp": dict(zip(["No", "Yes"], ref["pop_ci"]))}
    d = weights.rake(_dclus1(), margins, maxit=50, epsilon=1e-10)
    _check(d, ref, {"mean_api00": (_mean, "api00")})


def test_poststratify_a_domain_matches_r_subset_then_poststratify():
    ref = _reference()["ps_clus1_in_domain"]
    d = _dclus1()
    dom = d.subset(d.data["sch.wide"] == "Yes")
    ps = weights.poststratify(dom, "stype", {"E": 3949, "H": 421, "M": 752})
    assert (ps.weights[d.data["sch.wide"] != "Yes"] == 0).all()
    for key, fun, var in (("mean_api00", _mean, "api00"), ("total_enroll", _total, "enroll")):
        np.testing.assert_allclose(fun(ps, var), [ref[key]["estimate"], ref[key]["se"]],
                                   rtol=REL, err_msg=key)


def test_missing_strata_values_outside_the_domain_are_ignored():
    df = _api()["apiclus1"].copy()
    df["g"] = df["stype"].astype(object)
    outside = np.flatnonzero(df["sch.wide"] != "Yes")[:3]
    df.loc[df.index[outside], "g"] = None
    d = SurveyDesign(df, ids="dnum", weights="pw", fpc="fpc")
    dom = d.subset(df["sch.wide"] == "Yes")
    ps = weights.poststratify(dom, "g", {"E": 3949, "H": 421, "M": 752})
    ref = _reference()["ps_clus1_in_domain"]["mean_api00"]
    np.testing.assert_allclose(_mean(ps, "api00"), [ref["estimate"], ref["se"]], rtol=REL)



def test_calibrate_warns_on_negative_weights_and_accepts_a_series():
    df = pd.DataFrame({"x": [1.0, 2, 3, 10], "psu": [1, 2, 3, 4], "w": [1.0, 1, 1, 1]})
    d = SurveyDesign(df, ids="psu", weights="w")
    pop = pd.Series({"x": 4.0, "(Intercept)": 4.0})  # order differs from the columns
    with pytest.warns(UserWarning, match="negative weight"):
        c = weights.calibrate(d, "~ x", pop)
    assert c.weights.sum() == pytest.approx(4.0) and (c.weights * df.x).sum() == pytest.approx(4)
