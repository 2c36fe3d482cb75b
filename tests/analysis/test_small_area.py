"""Tests of ssp_research.analysis.small_area (Fay-Herriot EBLUP): R sae reference (REML, ML,
FH on the milk data, a school-like case and a sigma2_u = 0 case), planted truth in a seeded
simulation, zero-variance areas, the boundary, the refusal for too few areas, ``use``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ssp_research.analysis import city_design, fay_herriot
from ssp_research.core.errors import DataError, EstimationError, ParameterError

REFDIR = Path(__file__).parents[1] / "reference"
REF = json.loads((REFDIR / "small_area_reference.json").read_text())
DATA = Path(__file__).parents[2] / "data" / "synthetic" / "trondheim.parquet"


def _ref_case(name: str) -> tuple[pd.DataFrame, list[str]]:
    if name == "milk":
        df = pd.DataFrame({"unit": np.arange(43), "estimate": REF["milk_y"],
                           "se": np.sqrt(REF["milk_var"]),
                           "major": [f"m{int(v)}" for v in REF["milk_major"]]})
        return df, ["major"]
    df = pd.DataFrame({"unit": np.arange(len(REF[f"{name}_y"])), "estimate": REF[f"{name}_y"],
                       "se": np.sqrt(REF[f"{name}_var"]), "x": REF[f"{name}_x"]})
    return df, ["x"]


CASES = [(c, m) for c in ("milk", "school", "boundary") for m in ("reml", "ml", "fh")
         if f"{c}_{m}_eblup" in REF]


@pytest.mark.parametrize(("case", "method"), CASES)
def test_matches_r_sae(case, method):
    df, cov = _ref_case(case)
    r = fay_herriot(df, covariates=cov, method=method.upper(), proportion=False)
    key = f"{case}_{method}"
    assert r["sigma2_u"].iloc[0] == pytest.approx(REF[f"{key}_sigma2_u"], abs=1e-6, rel=1e-6)
    np.testing.assert_allclose(r["eblup"], REF[f"{key}_eblup"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(r["mse"], REF[f"{key}_mse"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(r.attrs["beta"], REF[f"{key}_beta"], rtol=1e-6, atol=1e-9)
    assert r.attrs["loglike"] == pytest.approx(REF[f"{key}_loglike"], rel=1e-8)
    assert r["model_based"].all() and (r["method"] == method.upper()).all()


def test_boundary_shrinks_to_synthetic():
    df, cov = _ref_case("boundary")
    r = fay_herriot(df, covariates=cov)
    assert r.attrs["boundary"] and r["sigma2_u"].eq(0).all()
    assert r["gamma"].eq(0).all()
    np.testing.assert_allclose(r["eblup"], r["synthetic"], rtol=0, atol=1e-15)
    # g1 = 0: the MSE is g2 + 2 g3 only (the uncertainty of b and sigma2_u); with 12 areas
    # 2 g3 can still exceed a precise area's direct variance, and then use is False
    np.testing.assert_allclose(r["mse"], r.attrs["g2"] + 2 * r.attrs["g3"], rtol=1e-12)
    assert (r["use"] == (r["mse"] < r["se"] ** 2)).all() and r["use"].sum() >= 8
    assert r["reason"].str.contains("sigma2_u estimated at 0").all()


# --- planted truth ----------------------------------------------------------------------------


def _city(rng, m=40, sd_u=0.4):
    n = rng.integers(20, 301, m)
    x = rng.normal(0, 1, m)
    truth = 1 / (1 + np.exp(-(-1.5 + 0.4 * x + rng.normal(0, sd_u, m))))
    p = rng.binomial(n, truth) / n
    return pd.DataFrame({"unit": np.arange(m), "estimate": p, "se": np.sqrt(p * (1 - p) / n),
                         "n": n, "x": x}), truth


@pytest.mark.parametrize("variance", ["direct", "smoothed"])
def test_planted_truth_eblup_beats_direct(variance):
    rng = np.random.default_rng(20261214)
    err_fh, err_dir, hit, small_fh, small_dir = [], [], [], [], []
    for _ in range(150):
        df, truth = _city(rng)
        r = fay_herriot(df, covariates=["x"], variance=variance)
        e, e0 = (r["eblup"] - truth) ** 2, (df["estimate"] - truth) ** 2
        err_fh.append(e.mean())
        err_dir.append(e0.mean())
        small = df["n"] < 50
        small_fh.append(e[small].sum())
        small_dir.append(e0[small].sum())
        hit.append(((r["ci_low"] <= truth) & (truth <= r["ci_high"])).mean())
    assert np.mean(err_fh) < 0.8 * np.mean(err_dir)
    assert np.sum(small_fh) < 0.6 * np.sum(small_dir)  # small schools gain the most
    assert 0.91 < np.mean(hit) < 0.97


def test_synthetic_city_direct_estimates():
    df = pd.read_parquet(DATA, columns=["wave", "school", "weight", "ind_lonely"])
    d = city_design(df[df["wave"] == 2025]).proportion("ind_lonely", by=["school"])
    r = fay_herriot(d, area="school")
    assert len(r) == d["school"].nunique() and list(r["school"]) == list(d["school"])
    lo = np.minimum(r["estimate"], r["synthetic"])
    hi = np.maximum(r["estimate"], r["synthetic"])
    assert ((r["eblup"] >= lo - 1e-12) & (r["eblup"] <= hi + 1e-12)).all()
    assert (r["gamma"].between(0, 1)).all() and r["sigma2_u"].iloc[0] > 0
    # smaller schools lean more on the model
    assert np.corrcoef(r["n"], r["gamma"])[0, 1] > 0.5


# --- zero or missing sampling variances -------------------------------------------------------


def _with_zero_area():
    rng = np.random.default_rng(11)
    df, _truth = _city(rng, m=30)
    df.loc[3, ["estimate", "se", "n"]] = [0.0, 0.0, 22]
    df.loc[7, ["estimate", "se", "n"]] = [1 / 25, np.nan, 25]  # se not reported
    return df


def test_zero_variance_area_gets_smoothed_variance():
    df = _with_zero_area()
    r = fay_herriot(df, covariates=["x"])
    bad = r.loc[[3, 7]]
    assert bad["variance_source"].str.startswith("smoothed: binomial").all()
    assert (r.drop(index=[3, 7])["variance_source"] == "design").all()
    assert (bad["se_model"] > 0).all() and (bad["gamma"] < 0.5).all()
    assert (bad["mse"] > 0).all() and (bad["eblup"] > 0).all()
    # the replacement: deff * p~(1 - p~) / n, p~ = synthetic of a fit on the usable areas
    ok = df.drop(index=[3, 7])
    fit0 = fay_herriot(ok, covariates=["x"])
    deff = np.median(ok["se"] ** 2 / (ok["estimate"] * (1 - ok["estimate"]) / ok["n"]))
    b = fit0.attrs["beta"]
    p_syn = b[0] + b[1] * df.loc[3, "x"]
    assert bad.loc[3, "se_model"] ** 2 == pytest.approx(deff * p_syn * (1 - p_syn) / 22,
                                                        rel=1e-12)
    assert bad["reason"].str.contains("compared with the smoothed variance").all()


def test_zero_variance_without_sample_size_is_refused():
    df = _with_zero_area().drop(columns="n")
    with pytest.raises(EstimationError, match="sample size") as err:
        fay_herriot(df, covariates=["x"])
    assert err.value.hint and "n=" in err.value.hint


def test_zero_variance_for_a_mean_uses_a_variance_function():
    rng = np.random.default_rng(5)
    n = rng.integers(20, 300, 20).astype(float)
    df = pd.DataFrame({"unit": range(20), "estimate": 3 + rng.normal(0, 0.3, 20),
                       "se": 1.1 / np.sqrt(n), "n": n})
    df.loc[0, "se"] = 0.0
    r = fay_herriot(df)
    assert r.loc[0, "variance_source"].startswith("smoothed: log D")
    assert r.loc[0, "se_model"] == pytest.approx(1.1 / np.sqrt(n[0]), rel=1e-6)
    with pytest.raises(EstimationError, match="for proportions"):
        fay_herriot(df, variance="smoothed")


def test_smoothed_variances_for_every_area():
    rng = np.random.default_rng(8)
    df, _truth = _city(rng, m=30)
    r = fay_herriot(df, covariates=["x"], variance="smoothed")
    assert r["variance_source"].str.startswith("smoothed").all()
    assert not np.allclose(r["se_model"], r["se"])


# --- refusals, use, clipping, missing estimates -----------------------------------------------


def test_too_few_areas_refused():
    df = pd.DataFrame({"unit": list("abcd"), "estimate": [0.1, 0.2, 0.15, 0.3],
                       "se": [0.05, 0.04, 0.06, 0.05]})
    with pytest.raises(EstimationError, match="at least 5 areas") as err:
        fay_herriot(df)
    assert err.value.rule == "areas >= 5" and "direct estimates" in err.value.hint
    five = pd.concat([df, df.iloc[[0]].assign(unit="e")], ignore_index=True)
    with pytest.raises(EstimationError, match="too many"):
        fay_herriot(five.assign(x=[1, 2, 3, 4, 6], z=[1, 0, 1, 1, 0]), covariates=["x", "z"])


def test_use_only_where_the_model_beats_the_direct_estimate():
    df = pd.DataFrame({"unit": list("abcdef"), "estimate": [1.0, 2.0, 1.5, 3.0, 0.5, 6.0],
                       "se": [1.0, 1.0, 1.0, 1.0, 1.0, 0.1]})
    r = fay_herriot(df)
    assert (r["use"] == (r["mse"] < r["se_model"] ** 2)).all()
    assert r["use"].tolist() == [True] * 5 + [False]
    assert r.loc[5, "gamma"] > 0.99
    assert r.loc[5, "reason"].startswith("the direct estimate is as precise")
    assert (r.loc[:4, "reason"] == "model-based MSE below the direct variance").all()


def test_proportion_intervals_clipped_and_flagged():
    rng = np.random.default_rng(2)
    n = np.full(12, 30)
    p = np.clip(rng.binomial(n, 0.04) / n, 1 / 30, None)
    df = pd.DataFrame({"unit": range(12), "estimate": p, "se": np.sqrt(p * (1 - p) / n), "n": n})
    r = fay_herriot(df)
    assert r.attrs["proportion"]
    assert (r["ci_low"] >= 0).all() and (r["ci_high"] <= 1).all()
    assert r["clipped"].any() and (r.loc[r["clipped"], "ci_low"] == 0).all()
    raw = fay_herriot(df, proportion=False)
    assert (raw["ci_low"] < 0).any() and not raw["clipped"].any()


def test_missing_estimate_gets_synthetic_and_covariate_frame():
    rng = np.random.default_rng(4)
    df, _truth = _city(rng, m=20)
    df.loc[0, ["estimate", "se"]] = np.nan
    cov = df[["unit", "x"]].sample(frac=1, random_state=1)
    r = fay_herriot(df.drop(columns="x"), covariates=cov)
    same = fay_herriot(df, covariates=["x"])
    np.testing.assert_allclose(r["eblup"], same["eblup"], rtol=1e-12)
    assert r.loc[0, "gamma"] == 0 and r.loc[0, "eblup"] == pytest.approx(r.loc[0, "synthetic"])
    assert r.loc[0, "mse"] > r["sigma2_u"].iloc[0] and r.loc[0, "use"]
    assert r.loc[0, "variance_source"] == "none"


def test_bad_input():
    df = pd.DataFrame({"unit": range(6), "estimate": np.linspace(0.1, 0.3, 6), "se": 0.05})
    with pytest.raises(DataError, match="'school'"):
        fay_herriot(df, area="school")
    with pytest.raises(ParameterError):
        fay_herriot(df, method="GLS")
    with pytest.raises(DataError, match="missing"):
        fay_herriot(df, covariates=pd.DataFrame({"unit": range(5), "x": range(5)}))
    with pytest.raises(DataError, match="more than one"):
        fay_herriot(pd.concat([df, df.iloc[[0]]]))
