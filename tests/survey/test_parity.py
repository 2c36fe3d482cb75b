"""R parity of the survey stage: factors, factor() in formulas, regTermTest, odds ratios,
svyquantile rules, calibrate(calfun=, bounds=) and svyciprop edge cases.

Reference values come from tests/reference/survey_parity_reference.R (R survey 4.1.1); every
comparison is relative 1e-6 (absolute 1e-12 where R's value is exactly 0) unless a test
says otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ssp_research.survey.design import SurveyDesign

REF = json.loads(
    (Path(__file__).parents[1] / "reference" / "survey_parity_reference.json").read_text()
)
RTOL = 1e-6


def derive(df: pd.DataFrame) -> pd.DataFrame:
    """The derived columns of survey_parity_reference.R."""
    df = df.copy()
    row = np.arange(1, len(df) + 1)
    df["stype_na"] = df["stype"].where(row % 7 != 0, None)
    df["high"] = (df["api00"] > 800).astype(float)
    df["sgrade"] = np.select([df["stype"] == "E", df["stype"] == "M"], [8.0, 9.0], 10.0)
    df["grade"] = pd.Categorical(
        np.select([df["stype"] == "E", df["stype"] == "M"], ["g8", "g9"], "g10"),
        categories=["g8", "g9", "g10"],
    )
    return df


@pytest.fixture(scope="module")
def designs(survey_data):
    c1 = derive(survey_data("apiclus1"))
    st = derive(survey_data("apistrat"))
    return {
        "clus1": SurveyDesign(c1, ids="dnum", weights="pw", fpc="fpc"),
        "strat": SurveyDesign(st, ids=None, strata="stype", weights="pw", fpc="fpc"),
    }


def close(ours, ref, rtol=RTOL, atol=0.0):
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(ref, dtype=float),
                               rtol=rtol, atol=atol)


def check(r: pd.DataFrame, ref: dict, cols=("estimate", "se", "ci_low", "ci_high")):
    """Relative 1e-6; absolute 1e-12 only where R's value is exactly 0 (rounding noise)."""
    for c in cols:
        close(r[c], ref[c], atol=1e-12)


# ---- 1. factor variables ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["clus1", "strat"])
@pytest.mark.parametrize("var", ["stype", "grade", "stype_na"])
def test_mean_of_a_factor_is_one_row_per_level(designs, name, var):
    r = designs[name].mean(var)
    ref = REF[f"{name}_mean_{var}"]
    assert [f"{v}{c}" for v, c in zip(r["variable"], r["category"])] == ref["names"]
    check(r, ref)


@pytest.mark.parametrize("name", ["clus1", "strat"])
@pytest.mark.parametrize("var", ["stype", "stype_na"])
def test_total_of_a_factor(designs, name, var):
    r = designs[name].total(var)
    ref = REF[f"{name}_total_{var}"]
    assert list(r["category"]) == [n[len(var):] for n in ref["names"]]
    check(r, ref)


@pytest.mark.parametrize("name", ["clus1", "strat"])
def test_factor_by_domain(designs, name):
    r = designs[name].mean("stype_na", by="awards")
    ref = REF[f"{name}_mean_by_awards"]
    assert [f"{a}:stype_na{c}" for a, c in zip(r["awards"], r["category"])] == ref["names"]
    check(r, ref)
    r = designs[name].total("stype", by="awards")
    check(r, REF[f"{name}_total_by_awards"])


@pytest.mark.parametrize("name", ["clus1", "strat"])
@pytest.mark.parametrize("method", ["logit", "beta", "mean"])
def test_proportion_of_a_factor(designs, name, method):
    r = designs[name].proportion("stype_na", method=method)
    ref = REF[f"{name}_ciprop_stype_na_{method}"]
    assert list(r["category"]) == ref["names"]
    check(r, ref)


def test_mixed_numeric_and_factor_and_boolean_stay_indicators(designs):
    d = designs["clus1"].assign(flag=lambda f: f["api00"] > 800)
    r = d.mean(["api00", "stype", "flag"])
    assert r["variable"].tolist() == ["api00", "stype", "stype", "stype", "flag"]
    assert r["category"].isna().tolist() == [True, False, False, False, True]
    close(r["estimate"].iloc[-1], d.mean("high")["estimate"].iloc[0])


# ---- 2. factor() in formulas -----------------------------------------------------------------
MODELS = {
    "lin": ("api00 ~ ell + factor(sgrade)", "gaussian"),
    "inter": ("api00 ~ factor(sgrade) * ell + meals", "gaussian"),
    "logit": ("awards ~ meals + factor(sgrade) + ell", "quasibinomial"),
}


@pytest.mark.parametrize("name", ["clus1", "strat"])
@pytest.mark.parametrize("model", list(MODELS))
def test_factor_in_formula_matches_svyglm(designs, name, model):
    formula, family = MODELS[model]
    fit = designs[name].glm(formula, family=family)
    ref = REF[f"{name}_glm_{model}"]
    assert fit["term"].tolist() == ref["names"]
    check(fit, ref)
    assert (fit["df"] == ref["df"][0]).all()


def test_unknown_formula_variable_lists_columns_and_close_matches(designs):
    from ssp_research.core.errors import EstimationError

    d = designs["clus1"]
    wide = d.assign(**{f"q{i}": 0.0 for i in range(40)})
    with pytest.raises(EstimationError) as e:
        wide.glm("api00 ~ sgrad")
    msg = str(e.value)
    assert "did you mean 'sgrade'" in msg
    assert f"... and {wide.data.shape[1] - 30} more" in msg
    with pytest.raises(EstimationError, match=r"log\(\) is not supported.*factor\(x\) or C\(x\)"):
        d.glm("api00 ~ log(ell)")


# ---- 3. regTermTest --------------------------------------------------------------------------
TERMS = {
    "lin": ["~ factor(sgrade)", "~ ell + factor(sgrade)"],
    "inter": ["~ factor(sgrade):ell", ["factor(sgrade)", "ell:factor(sgrade)"]],
    "logit": ["~ factor(sgrade)", "~ meals"],
}


@pytest.fixture(scope="module")
def fits(designs):
    return {(n, m): designs[n].glm(MODELS[m][0], family=MODELS[m][1])
            for n in designs for m in MODELS}


@pytest.mark.parametrize("name", ["clus1", "strat"])
@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("j", [1, 2])
@pytest.mark.parametrize("method", ["Wald", "Wald_inf", "WorkingWald", "LRT"])
def test_regtermtest_matches_r(designs, fits, name, model, j, method):
    from ssp_research.survey.termtest import regtermtest

    ref = REF[f"{name}_rtt_{model}_{j}_{method}"]
    fit = fits[(name, model)]
    r = regtermtest(fit, TERMS[model][j - 1], design=designs[name],
                    method=method.replace("_inf", ""),
                    df=np.inf if method.endswith("_inf") else None)
    close(r["statistic"], ref["statistic"])
    close(r["p_value"], ref["p_value"])
    assert int(r["df"].iloc[0]) == ref["df"][0]
    if "ddf" in ref:
        assert float(r["ddf"].iloc[0]) == ref["ddf"][0]
    if "lambda" in ref:
        close(r.attrs["lambda"], ref["lambda"])


@pytest.mark.parametrize("name", ["clus1", "strat"])
@pytest.mark.parametrize("model", list(MODELS))
def test_deviance_is_rs(fits, name, model):
    close(fits[(name, model)].attrs["deviance"], REF[f"{name}_dev_{model}"]["deviance"])


def test_regtermtest_refuses_unknown_terms_and_lrt_without_design(fits):
    from ssp_research.core.errors import ParameterError
    from ssp_research.survey.termtest import regtermtest

    fit = fits[("clus1", "lin")]
    with pytest.raises(ParameterError, match="'meals' is not in the model.*factor\\(sgrade\\)"):
        regtermtest(fit, "~ meals")
    with pytest.raises(ParameterError, match="needs its design"):
        regtermtest(fit, "~ ell", method="LRT")
    with pytest.raises(ParameterError, match="from svyglm"):
        regtermtest(pd.DataFrame(fit.to_dict()), "~ ell")  # a copy without the attrs


# ---- 4. odds ratios --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["clus1", "strat"])
def test_exponentiate_gives_odds_ratios_as_r(designs, name):
    formula, family = MODELS["logit"]
    fit = designs[name].glm(formula, family=family, exponentiate=True)
    ref = REF[f"{name}_or_logit"]
    assert fit["term"].tolist() == ref["names"]
    check(fit, ref, cols=("estimate", "ci_low", "ci_high"))
    plain = designs[name].glm(formula, family=family)
    close(fit["se"], plain["se"])
    close(fit["p_value"], plain["p_value"])


# ---- 5. svyquantile rules and interval types -------------------------------------------------
RULES = ["math", "school", "shahvaish"] + [f"hf{i}" for i in range(1, 10)]


@pytest.mark.parametrize("name", ["clus1", "strat"])
@pytest.mark.parametrize("var", ["api00", "meals"])
@pytest.mark.parametrize("qrule", RULES)
def test_quantile_rules_match_svyquantile(designs, name, var, qrule):
    r = designs[name].quantile(var, [0.1, 0.5, 0.9], qrule=qrule)
    check(r, REF[f"{name}_q_{var}_{qrule}_mean"])


@pytest.mark.parametrize("name", ["clus1", "strat"])
@pytest.mark.parametrize("var", ["api00", "meals"])
@pytest.mark.parametrize("qrule", ["math", "school", "hf7"])
@pytest.mark.parametrize("itype", ["beta", "xlogit", "asin", "score"])
def test_quantile_interval_types_match_svyquantile(designs, name, var, qrule, itype):
    r = designs[name].quantile(var, [0.25, 0.5, 0.75], qrule=qrule, interval_type=itype)
    check(r, REF[f"{name}_q_{var}_{qrule}_{itype}"])


@pytest.mark.parametrize("name", ["clus1", "strat"])
@pytest.mark.parametrize("qrule", ["math", "school", "hf7"])
@pytest.mark.parametrize("itype", ["mean", "beta", "score"])
def test_quantile_by_domain_matches_svyby(designs, name, qrule, itype):
    r = designs[name].quantile("api00", 0.5, by="awards", qrule=qrule, interval_type=itype)
    check(r, REF[f"{name}_qby_{qrule}_{itype}"])


def test_quantile_refuses_unknown_rule_and_interval(designs):
    from ssp_research.core.errors import ParameterError

    with pytest.raises(ParameterError, match="qrule='hf10'"):
        designs["clus1"].quantile("api00", qrule="hf10")
    with pytest.raises(ParameterError, match="replicate-weight designs only"):
        designs["clus1"].quantile("api00", interval_type="quantile")


# ---- 6. calibrate(calfun=, bounds=, bounds.const=) -------------------------------------------
POPC = {"(Intercept)": 6194, "stypeH": 755, "stypeM": 1018, "api99": 3914069}
POPS = {"(Intercept)": 6194, "api99": 3914069}
CALIBRATIONS = {
    "clus1_cal_raking": ("clus1", POPC, {"calfun": "raking"}),
    "clus1_cal_raking_bounded": ("clus1", POPC, {"calfun": "raking", "bounds": (0.6, 1.8)}),
    "clus1_cal_logit": ("clus1", POPC, {"calfun": "logit", "bounds": (0.5, 2.2)}),
    "clus1_cal_linear_const": ("clus1", POPC, {"bounds": (20, 60), "bounds_const": True}),
    "strat_cal_raking": ("strat", POPS, {"calfun": "raking"}),
    "strat_cal_logit": ("strat", POPS, {"calfun": "logit", "bounds": (0.5, 2)}),
}


def _calibrate(designs, case):
    name, pop, kwargs = CALIBRATIONS[case]
    formula = "~ stype + api99" if "stypeH" in pop else "~ api99"
    return designs[name].calibrate(formula, pop, **kwargs)


@pytest.mark.parametrize("case", sorted(CALIBRATIONS))
def test_calibration_functions_match_r(designs, case):
    ref = REF[case]
    d = _calibrate(designs, case)
    close(d.weights, ref["weights"])
    m = d.mean("api00")
    close(m["estimate"], ref["mean"])
    close(m["se"], ref["mean_se"])
    t = d.total("enroll")
    close(t["estimate"], ref["total"])
    close(t["se"], ref["total_se"])
    p = d.proportion("high")
    close(p["estimate"], ref["prop"])
    close(p["se"], ref["prop_se"])
    close(p[["ci_low", "ci_high"]].to_numpy().ravel(), ref["prop_ci"])


def test_bounds_are_kept_and_totals_met(designs):
    d0 = designs["clus1"]
    for case in ("clus1_cal_raking_bounded", "clus1_cal_logit"):
        d = _calibrate(designs, case)
        lo, hi = CALIBRATIONS[case][2]["bounds"]
        g = d.weights / d0.weights
        assert g.min() >= lo - 1e-9 and g.max() <= hi + 1e-9
        assert d.weights.sum() == pytest.approx(6194, rel=1e-6)
    const = _calibrate(designs, "clus1_cal_linear_const")
    assert const.weights.min() >= 20 - 1e-9 and const.weights.max() <= 60 + 1e-9


def test_calibration_that_r_cannot_meet_fails_here_too(designs):
    from ssp_research.core.errors import EstimationError, ParameterError
    from ssp_research.survey.weights import CalibrationWarning

    assert REF["clus1_cal_raking_tight_fails"]["fails"] == [1]
    d = designs["clus1"]
    with pytest.raises(EstimationError, match="(?s)did not converge.*widen the bounds"):
        d.calibrate("~ stype + api99", POPC, calfun="raking", bounds=(0.8, 1.25))
    with pytest.warns(CalibrationWarning, match="did not converge"):
        kept = d.calibrate("~ stype + api99", POPC, calfun="raking", bounds=(0.8, 1.25),
                           force=True)
    g = kept.weights / d.weights
    assert g.min() >= 0.8 - 1e-9 and g.max() <= 1.25 + 1e-9
    with pytest.raises(ParameterError, match="finite bounds"):
        d.calibrate("~ api99", POPS, calfun="logit")
    with pytest.raises(ParameterError, match="calibration function"):
        d.calibrate("~ api99", POPS, calfun="ratio")


# ---- 7. svyciprop on calibrated designs: a domain, and p = 1 ---------------------------------
@pytest.mark.parametrize("method", ["logit", "beta", "mean", "likelihood", "asin"])
def test_ciprop_on_a_calibrated_design_matches_r(designs, method):
    ref = REF[f"clus1_cal_ciprop_{method}"]
    cal = _calibrate(designs, "clus1_cal_raking")
    domain = cal.subset(cal.data["stype"] == "M").proportion("high", method=method)
    got = domain[["estimate", "se", "ci_low", "ci_high"]].to_numpy().ravel()
    close(got, [ref[c][0] for c in ("estimate", "se", "ci_low", "ci_high")], rtol=1e-5)
    everyone = cal.assign(all_=(cal.data["api00"] > 0).astype(float)).proportion(
        "all_", method=method).iloc[0]
    want = {c: ref[c][1] for c in ("estimate", "se", "ci_low", "ci_high")}
    if want["estimate"] is None:  # R stops with an error (likelihood at p = 1)
        assert everyone["estimate"] == 1 and np.isnan(everyone["ci_low"])
        return
    if method == "logit":
        # R's glm does not converge at p = 1 (intercept about 26) and reports the
        # zero-width interval [1, 1]; here there is no interval, as for "beta" and "asin"
        # (docs/site/r_survey.md, "Proportions of 0 or 1")
        assert want["ci_low"] == pytest.approx(1, abs=1e-9)
        assert everyone["estimate"] == 1
        assert np.isnan([everyone["ci_low"], everyone["ci_high"]]).all()
        return
    assert everyone["estimate"] == pytest.approx(want["estimate"], abs=1e-9)
    assert everyone["se"] == pytest.approx(0, abs=1e-9)
    for c in ("ci_low", "ci_high"):
        if want[c] is None:
            assert np.isnan(everyone[c]), (c, everyone[c])
        else:
            assert everyone[c] == pytest.approx(want[c], abs=1e-9)
