"""Tests of ssp_research.survey.models against R's survey 4.1.1 (tests/reference/survey_models_*).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import REL
from support import api_frames as _api
from support import assert_rel as _assert_rel
from support import dclus1 as _dclus1
from support import dstrat as _dstrat
from support import models_reference as _reference

from ssp_research.core.errors import EstimationError, ParameterError
from ssp_research.survey import models
from ssp_research.survey.design import SurveyDesign


def assert_glm_matches(table: pd.DataFrame, ref: dict) -> None:
    """Compare a svyglm table with R's summary/confint (CIs to 1e-6 of |bound| + SE).

    R's IRLS stops at a relative deviance change of 1e-8, ours at 1e-10, so quasi-family
    SEs differ from R's in the 7th digit (2e-7 relative for the logistic model)."""
    assert list(table.columns) == [
        "term", "estimate", "se", "ci_low", "ci_high", "df", "n", "statistic", "p_value"
    ]
    assert table["term"].tolist() == ref["term"]
    _assert_rel(table["estimate"], ref["estimate"])
    _assert_rel(table["se"], ref["se"])
    _assert_rel(table["statistic"], ref["statistic"])
    _assert_rel(table["p_value"], ref["p_value"], rel=1e-5)
    se = np.asarray(ref["se"])
    for col in ("ci_low", "ci_high"):
        bound = np.asarray(ref[col])
        assert np.all(np.abs(table[col] - bound) < REL * (np.abs(bound) + se)), col
    assert (table["df"] == ref["df"]).all()
    assert (table["n"] == ref["n"]).all()


# --- svyglm against R ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "design", "formula", "family", "domain"),
    [
        ("glm_strat_gaussian", "strat", "api00 ~ ell + meals", "gaussian", None),
        ("glm_clus1_gaussian_factor", "clus1", "api00 ~ ell + meals + stype", "gaussian", None),
        ("glm_clus1_quasibinomial", "clus1", "yes ~ ell + meals", "quasibinomial", None),
        ("glm_clus1_quasibinomial", "clus1", "yes ~ ell + meals", "binomial", None),
        ("glm_clus1_quasibinomial", "clus1", "sch.wide ~ ell + meals", "quasibinomial", None),
        ("glm_strat_quasipoisson", "strat", "enroll ~ ell + meals", "quasipoisson", None),
        ("glm_clus1_missing", "clus1", "api00 ~ avg.ed + ell", "gaussian", None),
        ("glm_clus1_domain_E", "clus1", "api00 ~ ell", "gaussian", "E"),
        ("glm_strat_nointercept", "strat", "api00 ~ 0 + stype", "gaussian", None),
    ],
)
def test_svyglm_matches_r(key, design, formula, family, domain):
    d = _dstrat() if design == "strat" else _dclus1()
    if domain:
        d = d.subset(d.data["stype"] == domain)
    table = models.svyglm(d, formula, family=family)
    assert_glm_matches(table, _reference()[key])


def test_svyglm_two_stage_design_matches_r():
    d = SurveyDesign(_api()["apiclus2"], ids=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    assert_glm_matches(models.svyglm(d, "api00 ~ ell + meals"),
                       _reference()["glm_clus2_gaussian"])


def test_svyglm_attrs_and_design_method():
    d = _dstrat()
    fit = d.glm("api00 ~ ell + meals", family="gaussian")
    vcov = fit.attrs["vcov"]
    assert list(vcov.index) == ["(Intercept)", "ell", "meals"]
    np.testing.assert_allclose(np.sqrt(np.diag(vcov)), fit["se"], rtol=1e-12)
    assert fit.attrs["degf"] == 197 and fit.attrs["response"] == "api00"


def test_svyglm_recovers_planted_logistic_effects():
    rng = np.random.default_rng(20261122)
    n_psu, m = 200, 40
    psu = np.repeat(np.arange(n_psu), m)
    stratum = psu % 4
    u = rng.normal(0, 0.3, n_psu)[psu]
    x = rng.normal(size=n_psu * m)
    g = rng.choice(["a", "b"], n_psu * m)
    eta = -0.5 + 0.8 * x + 0.6 * (g == "b") + u
    y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    df = pd.DataFrame({"y": y, "x": x, "g": g, "psu": psu, "st": stratum,
                       "w": rng.uniform(1, 3, n_psu * m)})
    fit = models.svyglm(SurveyDesign(df, ids="psu", strata="st", weights="w"),
                        "y ~ x + g", family="quasibinomial")
    est = dict(zip(fit["term"], fit["estimate"]))
    se = dict(zip(fit["term"], fit["se"]))
    # cluster effect attenuates the marginal slope a little; planted 0.8 and 0.6
    assert abs(est["x"] - 0.8 * 0.98) < 4 * se["x"]
    assert abs(est["gb"] - 0.6 * 0.98) < 4 * se["gb"]
    assert fit["df"].iloc[0] == n_psu - 4 - 3 + 1


# --- bad input ---------------------------------------------------------------------------------


def test_svyglm_unknown_variable_says_which():
    with pytest.raises(EstimationError, match="unknown variable 'nope'") as err:
        models.svyglm(_dstrat(), "api00 ~ nope")
    assert err.value.column == "nope" and "api00" in err.value.hint


def test_svyglm_bad_family_and_formula():
    with pytest.raises(ParameterError, match="unknown family"):
        models.svyglm(_dstrat(), "api00 ~ ell", family="gamma")
    with pytest.raises(ParameterError, match="no response"):
        models.svyglm(_dstrat(), "~ ell")
    with pytest.raises(ParameterError, match="one '~'"):
        models.svyglm(_dstrat(), "api00 = ell")


def test_svyglm_binomial_out_of_range_and_collinear():
    with pytest.raises(EstimationError, match="outside the range"):
        models.svyglm(_dstrat(), "api00 ~ ell", family="quasibinomial")
    df = _api()["apistrat"].assign(ell2=lambda f: f["ell"] * 2.0)
    d = SurveyDesign(df, strata="stype", weights="pw", fpc="fpc")
    with pytest.raises(EstimationError, match="rank"):
        models.svyglm(d, "api00 ~ ell + ell2")


# --- command line ------------------------------------------------------------------------------


def test_cli_glm_writes_the_table(tmp_path, capsys):
    from ssp_research import cli

    src = tmp_path / "apistrat.csv"
    _api()["apistrat"].to_csv(src, index=False)
    out = tmp_path / "fit.csv"
    code = cli.main(["glm", str(src), "api00 ~ ell + meals", "--strata", "stype",
                     "--weights", "pw", "--fpc", "fpc", "--output", str(out)])
    assert code == 0 and out.exists()
    table = pd.read_csv(out)
    _assert_rel(table["se"], _reference()["glm_strat_gaussian"]["se"])
    code = cli.main(["glm", str(src), "api00 ~ el", "--strata", "stype", "--weights", "pw"])
    assert code == 2
    assert "did you mean 'ell'" in capsys.readouterr().err


# --- ssp glm's designs: the city's by default (as the notebooks), SRS on request -------------

TREND_REF = json.loads((Path(__file__).parents[1] / "reference" / "trend_reference.json")
                       .read_text(encoding="utf-8"))


@pytest.fixture
def glm_data(refdata, tmp_path):
    """The R script's city data (tests/reference/trend_reference.R) with its derived columns."""
    src = tmp_path / "city.parquet"
    refdata.assign(step=(refdata["wave"] - 2019) / 2,
                   girl=(refdata["gender"] == "girl").astype(float)).to_parquet(src)
    return src


def _glm(capsys, *argv) -> pd.DataFrame:
    from ssp_research import cli

    capsys.readouterr()
    assert cli.main(["glm", *map(str, argv), "--format", "json"]) == 0
    return pd.read_json(io.StringIO(capsys.readouterr().out))


def test_cli_glm_defaults_to_the_city_design(glm_data, capsys):
    """R: svyglm(ind_lonely ~ step, svydesign(ids = ~1, strata = ~interaction(wave, school),
    weights = ~weight), family = quasibinomial())."""
    table = _glm(capsys, glm_data, "ind_lonely ~ step", "--family", "quasibinomial")
    np.testing.assert_allclose(table["estimate"], TREND_REF["trend_coef"], rtol=1e-6)
    np.testing.assert_allclose(table["se"], TREND_REF["trend_se"], rtol=1e-6)
    assert (table["df"] == TREND_REF["trend_df"]).all()
    explicit = _glm(capsys, glm_data, "ind_lonely ~ step", "--family", "quasibinomial",
                    "--design", "city")
    pd.testing.assert_frame_equal(explicit, table)


def test_cli_glm_simple_random_sampling(glm_data, capsys):
    """R: svyglm(ind_lonely ~ step + girl, svydesign(ids = ~1, data = d), quasibinomial())."""
    table = _glm(capsys, glm_data, "ind_lonely ~ step + girl", "--family", "quasibinomial",
                 "--design", "srs")
    np.testing.assert_allclose(table["estimate"], TREND_REF["glm_srs_coef"], rtol=1e-6)
    np.testing.assert_allclose(table["se"], TREND_REF["glm_srs_se"], rtol=1e-6)
    assert (table["df"] == TREND_REF["glm_srs_df"]).all()


def test_cli_glm_design_options_conflict_and_missing_columns(glm_data, tmp_path, capsys):
    from ssp_research import cli

    assert cli.main(["glm", str(glm_data), "ind_lonely ~ step", "--design", "srs",
                     "--weights", "weight"]) == 2
    assert "--weights describe a design; --design srs has its own" in capsys.readouterr().err
    no_school = tmp_path / "no_school.parquet"
    pd.read_parquet(glm_data).drop(columns="school").to_parquet(no_school)
    assert cli.main(["glm", str(no_school), "ind_lonely ~ step"]) == 2
    err = capsys.readouterr().err
    assert "'school'" in err and "default design is the city's" in err and "--design srs" in err
    # the design named column by column still works without the city's columns
    assert cli.main(["glm", str(no_school), "ind_lonely ~ step", "--strata", "district",
                     "--weights", "weight"]) == 0


def test_cli_glm_help_names_the_default_design(capsys):
    from ssp_research import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["glm", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "By default the design is the city's" in text and "--design {city,srs,columns}" in text
