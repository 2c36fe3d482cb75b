"""Estimators against R's survey 4.1.1 (tests/reference/survey_design_reference.json)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from ssp_research.core.errors import DataError, ParameterError
from ssp_research.survey.design import SurveyDesign

RTOL = 1e-6
API_DESIGNS = ["clus1", "clus1_nofpc", "strat", "strat_frac", "clus2", "clus2_wr"]
PROP_METHODS = ["logit", "asin", "beta", "mean", "xlogit", "likelihood"]


def make_design(name, survey_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name.startswith("clus1"):
            df = survey_data("apiclus1")
            fpc = "fpc" if name == "clus1" else None
            return SurveyDesign(df, ids="dnum", weights="pw", fpc=fpc)
        if name == "strat":
            return SurveyDesign(survey_data("apistrat"), strata="stype", weights="pw", fpc="fpc")
        if name == "strat_frac":
            return SurveyDesign(survey_data("apistrat"), strata="stype", fpc="frac")
        if name == "clus2":
            return SurveyDesign(survey_data("apiclus2"), ids=["dnum", "snum"],
                                fpc=["fpc1", "fpc2"])
        if name == "clus2_wr":
            return SurveyDesign(survey_data("apiclus2"), ids=["dnum", "snum"], weights="pw")
        if name == "yrbs":
            return SurveyDesign(survey_data("yrbs"), ids="psu", strata="stratum",
                                weights="weight", nest=True)
        if name == "fpc":
            return SurveyDesign(survey_data("fpc"), ids="psuid", strata="stratid",
                                weights="weight", fpc="Nh", nest=True)
        if name == "mu284":
            return SurveyDesign(survey_data("mu284"), ids=["id1", "id2"], fpc=["n1", "n2"])
        if name == "hospital":
            return SurveyDesign(survey_data("hospital"), ids="hospno", strata="oblevel",
                                fpc="tothosp", weights="weighta")
    raise KeyError(name)


@pytest.fixture(scope="module")
def designs(survey_data):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = make_design(name, survey_data)
        return cache[name]

    return get


def check(ref, got, keys=("estimate", "se", "ci_low", "ci_high", "df"), rtol=RTOL):
    """Compare a tidy table with an R case (rows matched on the by labels)."""
    if "by" in ref:
        lab = pd.DataFrame(ref["by"]).astype(str)
        cols = list(lab.columns)
        got = (got.assign(**{c: got[c].astype(str) for c in cols})
               .merge(lab.reset_index(), on=cols).sort_values("index"))
        assert len(got) == len(lab)
    checked = 0
    for k in keys:
        if k not in ref:
            continue
        want = np.array([np.nan if v is None else v for v in ref[k]], dtype=float)
        have = np.asarray(got[k], dtype=float)
        np.testing.assert_allclose(have, want, rtol=rtol, atol=0, err_msg=k)
        checked += 1
    assert checked >= 2


def test_published_values(designs):
    # Lumley's book / R documentation: 644.17 (23.542), 662.29 (9.4089), 670.81 (30.099)
    for name, est, se in [("clus1", 644.17, 23.542), ("strat", 662.29, 9.4089),
                          ("clus2", 670.81, 30.099)]:
        r = designs(name).mean("api00")
        assert r["estimate"].iloc[0] == pytest.approx(est, abs=0.005)
        assert r["se"].iloc[0] == pytest.approx(se, rel=5e-5)


@pytest.mark.parametrize("name", API_DESIGNS)
def test_mean_total_ratio(designs, survey_ref, name):
    d = designs(name)
    check(survey_ref[f"{name}_mean_api00"], d.mean("api00"))
    check(survey_ref[f"{name}_mean_api00_deff"], d.mean("api00", deff=True),
          keys=("estimate", "se", "deff"))
    check(survey_ref[f"{name}_total_enroll"], d.total("enroll"))
    check(survey_ref[f"{name}_total_enroll_deff"], d.total("enroll", deff=True),
          keys=("estimate", "se", "deff"))
    check(survey_ref[f"{name}_mean_avg_ed"], d.mean("avg.ed"))  # missing values
    check(survey_ref[f"{name}_ratio"], d.ratio("api.stu", "enroll"))


@pytest.mark.parametrize("name", API_DESIGNS)
def test_domains(designs, survey_ref, name):
    d = designs(name)
    check(survey_ref[f"{name}_by_stype_mean_api00"], d.mean("api00", by="stype"))
    check(survey_ref[f"{name}_by_stype_mean_api00_deff"], d.mean("api00", by="stype", deff=True),
          keys=("estimate", "se", "deff"))
    check(survey_ref[f"{name}_by_stype_wide_mean_avg_ed"],
          d.mean("avg.ed", by=["stype", "sch.wide"]))
    check(survey_ref[f"{name}_by_stype_total_enroll"], d.total("enroll", by="stype"))
    check(survey_ref[f"{name}_by_stype_ratio"], d.ratio("api.stu", "enroll", by="stype"))
    sub = d.subset(d.data["stype"] == "E")
    check(survey_ref[f"{name}_subset_E_mean_api00"], sub.mean("api00"))
    assert sub.degf() == survey_ref[f"{name}_subset_E_mean_api00"]["df"][0]


@pytest.mark.parametrize("name", API_DESIGNS)
@pytest.mark.parametrize("method", PROP_METHODS)
def test_proportion_methods(designs, survey_ref, name, method):
    d = designs(name)
    rtol = RTOL
    keys = ("estimate", "se", "ci_low", "ci_high", "df")
    check(survey_ref[f"{name}_ciprop_yes_{method}"], d.proportion("yes", method=method),
          keys=keys, rtol=rtol)
    check(survey_ref[f"{name}_by_stype_ciprop_yes_{method}"],
          d.proportion("yes", method=method, by="stype"), keys=keys, rtol=rtol)


@pytest.mark.parametrize("name", API_DESIGNS)
def test_quantiles(designs, survey_ref, name):
    d = designs(name)
    check(survey_ref[f"{name}_quantile_api00"], d.quantile("api00", [0.25, 0.5, 0.75]))
    check(survey_ref[f"{name}_quantile_avg_ed"], d.quantile("avg.ed", [0.1, 0.5]))
    check(survey_ref[f"{name}_by_stype_quantile_api00"], d.quantile("api00", 0.5, by="stype"))


def test_other_designs(designs, survey_ref):
    for m in ["logit", "beta", "mean", "likelihood"]:
        check(survey_ref[f"yrbs_ciprop_q8_{m}"], designs("yrbs").proportion("q8", method=m))
    check(survey_ref["fpc_mean_x"], designs("fpc").mean("x"))
    check(survey_ref["fpc_total_x"], designs("fpc").total("x"))
    check(survey_ref["mu284_mean_y1"], designs("mu284").mean("y1"))
    check(survey_ref["mu284_total_y1"], designs("mu284").total("y1"))
    check(survey_ref["hospital_mean_births"], designs("hospital").mean("births"))
    check(survey_ref["hospital_total_births"], designs("hospital").total("births"))


@pytest.mark.parametrize("option", ["remove", "certainty", "adjust", "average"])
def test_lonely_psu_options(survey_data, survey_ref, option):
    d = SurveyDesign(survey_data("apistrat"), strata="dnum", weights="pw", lonely_psu=option)
    check(survey_ref[f"lonely_{option}_mean_api00"], d.mean("api00"))
    check(survey_ref[f"lonely_{option}_total_enroll"], d.total("enroll"))
    check(survey_ref[f"lonely_{option}_by_stype_mean_api00"], d.mean("api00", by="stype"))
    d2 = SurveyDesign(survey_data("apiclus2"), ids=["dnum", "snum"], fpc=["fpc1", "fpc2p1"],
                      lonely_psu=option)
    check(survey_ref[f"lonely2_{option}_mean_api00"], d2.mean("api00"))
    check(survey_ref[f"lonely2_{option}_by_stype_mean_api00"], d2.mean("api00", by="stype"))


def test_table_columns_and_counts(designs):
    d = designs("clus1")
    r = d.proportion(["yes", "high"], by=["stype"], deff=True)
    assert list(r.columns) == ["variable", "stype", "estimate", "se", "ci_low", "ci_high",
                               "df", "n", "count", "deff"]
    yes = d.data["yes"]
    e = r[(r.variable == "yes") & (r.stype == "E")].iloc[0]
    assert e["n"] == int((yes.notna() & (d.data.stype == "E")).sum())
    assert e["count"] == int(((yes == 1) & (d.data.stype == "E")).sum())
    q = d.quantile("api00", [0.5])
    assert list(q.columns)[:3] == ["variable", "quantile", "estimate"]


def test_empty_domain_gives_nan_row(designs):
    d = designs("clus1")
    r = d.subset(np.zeros(len(d.data), dtype=bool)).mean("api00")
    assert r["n"].iloc[0] == 0 and np.isnan(r["estimate"].iloc[0]) and np.isnan(r["se"].iloc[0])
    empty = d.subset(np.zeros(len(d.data), dtype=bool))
    for r in [empty.total("enroll"), empty.ratio("api.stu", "enroll"),
              empty.quantile("api00", [0.5]), empty.proportion("yes", method="likelihood"),
              empty.mean("api00", by="stype")]:
        assert (r["n"] == 0).all() and r["estimate"].isna().all() and (r["df"] == 0).all()
    r = d.subset(d.data["stype"] == "E").proportion("yes", by="stype")
    assert set(r.stype) == {"E", "H", "M"}
    assert (r.loc[r.stype != "E", "n"] == 0).all()
    assert r.loc[r.stype != "E", "estimate"].isna().all()


def test_bad_input_errors(designs):
    d = designs("clus1")
    with pytest.raises(DataError, match="api00") as e:
        d.mean("api0")
    assert "did you mean" in str(e.value)
    with pytest.raises(DataError, match="0/1"):
        d.proportion("api00")
    with pytest.raises(ParameterError, match="wilson"):
        d.proportion("yes", method="wald")
    with pytest.raises(ParameterError, match="quantile"):
        d.quantile("api00", [1.5])
    with pytest.raises(DataError, match="stype2"):
        d.mean("api00", by="stype2")


def test_wilson_matches_formula(designs):
    d = designs("strat")
    r = d.proportion("yes", method="wilson").iloc[0]
    p, v, df = r.estimate, r.se**2, r.df
    from scipy import stats

    t = stats.t.ppf(0.975, df)
    n = p * (1 - p) / v
    centre = (p + t**2 / (2 * n)) / (1 + t**2 / n)
    half = t / (1 + t**2 / n) * np.sqrt(p * (1 - p) / n + t**2 / (4 * n**2))
    assert r.ci_low == pytest.approx(centre - half, rel=1e-12)
    assert r.ci_high == pytest.approx(centre + half, rel=1e-12)
    assert r.ci_low < p < r.ci_high


def test_many_domains_match_single_domain_loop():
    rng = np.random.default_rng(3)
    n = 3000
    df = pd.DataFrame({"school": rng.integers(0, 60, n), "g": rng.integers(0, 3, n),
                       "k": rng.integers(0, 4, n), "w": rng.uniform(1, 3, n),
                       "y": (rng.random(n) < 0.3).astype(float)})
    df["st"] = df.school % 6
    df.loc[rng.random(n) < 0.05, "y"] = np.nan
    d = SurveyDesign(df, ids="school", strata="st", weights="w")
    r = d.proportion("y", by=["g", "k"], method="beta")
    for _, row in r.sample(4, random_state=1).iterrows():
        one = d.subset((df.g == row.g) & (df.k == row.k)).proportion("y", method="beta").iloc[0]
        for c in ["estimate", "se", "ci_low", "ci_high", "df", "n", "count"]:
            assert one[c] == pytest.approx(row[c], rel=1e-10)


@pytest.mark.slow
def test_coverage_simulation():
    """1,000 replications: 95 % intervals cover the planted truth 93.5-96.5 % of the time."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "benchmarks" / "sim_coverage.py"
    spec = importlib.util.spec_from_file_location("sim_coverage", path)
    sim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sim)
    res = sim.simulate(1000, methods=("logit", "beta", "wilson"), progress=False)
    assert res.coverage.between(0.935, 0.965).all(), res


def test_by_columns_categorical_bool_and_missing():
    rng = np.random.default_rng(1)
    n = 300
    df = pd.DataFrame({"s": rng.integers(0, 30, n), "w": rng.uniform(1, 2, n),
                       "y": (rng.random(n) < 0.4).astype(float),
                       "g": pd.Categorical(rng.choice(["b", "a", "c"], n),
                                           categories=["c", "b", "a"]),
                       "flag": rng.random(n) < 0.5, "k": rng.choice(["x", "y", None], n)})
    d = SurveyDesign(df, ids="s", weights="w")
    r = d.proportion("y", by="g")
    assert list(r.g.astype(str)) == ["c", "b", "a"]  # factor level order, as R
    assert isinstance(r.g.dtype, pd.CategoricalDtype)
    r = d.mean("y", by=["flag", "k"])
    assert len(r) == 4 and r.k.notna().all()  # rows with a missing by value are left out
    assert r.n.sum() == int(df.k.notna().sum())
    one = d.subset((df.flag == True) & (df.k == "y")).mean("y").iloc[0]  # noqa: E712
    row = r[(r.flag == True) & (r.k == "y")].iloc[0]  # noqa: E712
    assert row.estimate == pytest.approx(one.estimate, rel=1e-12)
    assert row.se == pytest.approx(one.se, rel=1e-10)


def test_missing_values_are_per_variable(designs):
    d = designs("clus1")
    both = d.mean(["api00", "avg.ed"])
    alone = d.mean("api00")
    assert both.iloc[0].se == pytest.approx(alone.iloc[0].se, rel=1e-12)
    assert both.iloc[1].n == int(d.data["avg.ed"].notna().sum())


def test_proportion_zero_has_no_interval_like_r(designs):
    # R: svyciprop(~z, dclus1, method=m) with z = 0 gives estimate 0, SE 0 and NaN limits,
    # except method="mean" (0, 0)
    d = designs("clus1")
    d = d._with()
    d.data = d.data.assign(z=0.0)
    for m in ["asin", "beta", "xlogit"]:
        r = d.proportion("z", method=m).iloc[0]
        assert r.estimate == 0 and r.se == 0 and np.isnan(r.ci_low) and np.isnan(r.ci_high)
    r = d.proportion("z", method="mean").iloc[0]
    assert (r.ci_low, r.ci_high) == (0, 0)


def test_ci_df_design_uses_t_and_level(designs):
    from scipy import stats

    d = designs("clus1")
    r = d.mean("api00", ci_df="design", level=0.9).iloc[0]
    t = stats.t.ppf(0.95, r.df)
    assert r.ci_high - r.estimate == pytest.approx(t * r.se, rel=1e-12)
    with pytest.raises(ParameterError, match="level"):
        d.mean("api00", level=95)
    with pytest.raises(ParameterError, match="ci_df"):
        d.mean("api00", ci_df="t")
