"""Tests of ssp_research.analysis.effects (trends, gaps, gradient): R survey reference values,
planted-truth recovery on the synthetic city, null simulations and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support import simulate_city

from ssp_research.analysis import effects
from ssp_research.core.errors import DataError, EstimationError, ParameterError

REFDIR = Path(__file__).parents[1] / "reference"
REF = json.loads((REFDIR / "trend_reference.json").read_text())


# --- R reference ------------------------------------------------------------------------------


def test_trend_matches_r_svyglm(refdata):
    t = effects.trend(refdata, "ind_lonely", adjust=())
    slope = t[t["quantity"] == "log_odds_per_wave"].iloc[0]
    assert slope["estimate"] == pytest.approx(REF["trend_coef"][1], rel=1e-6)
    assert slope["se"] == pytest.approx(REF["trend_se"][1], rel=1e-6)
    assert slope["df"] == REF["trend_df"]
    prev = t[t["quantity"] == "prevalence"]
    np.testing.assert_allclose(prev["estimate"], REF["trend_pred"], rtol=1e-6)
    np.testing.assert_allclose(prev["se"], REF["trend_pred_se"], rtol=1e-6)
    assert prev["wave"].tolist() == [2019, 2021, 2023, 2025]
    odds = t[t["quantity"] == "odds_ratio_per_wave"].iloc[0]
    assert odds["estimate"] == pytest.approx(np.exp(REF["trend_coef"][1]), rel=1e-9)


def test_adjusted_trend_matches_r(refdata):
    t = effects.trend(refdata, "ind_lonely", adjust=("gender", "grade"))
    slope = t[t["quantity"] == "log_odds_per_wave"].iloc[0]
    assert slope["estimate"] == pytest.approx(REF["trend_adj_coef"][1], rel=1e-6)
    assert slope["se"] == pytest.approx(REF["trend_adj_se"][1], rel=1e-6)


def test_change_between_two_waves_is_difference_of_observed(refdata):
    t = effects.trend(refdata, "ind_lonely", adjust=(), change=(2021, 2025))
    obs = t[t["quantity"] == "observed"].set_index("wave")["estimate"]
    ch = t[t["quantity"] == "change"].iloc[0]
    assert ch["estimate"] == pytest.approx(obs[2025] - obs[2021], rel=1e-12)
    # waves are separate strata in the city design: Var(diff) = Var(a) + Var(b)
    se = t[t["quantity"] == "observed"].set_index("wave")["se"]
    assert ch["se"] == pytest.approx(np.hypot(se[2025], se[2021]), rel=1e-9)
    assert (ch["wave_from"], ch["wave"]) == (2021, 2025)


def test_gender_gap_matches_r_svycontrast(refdata):
    g = effects.gaps(refdata, "ind_lonely", by="gender", wave=2025)
    diff = g[g["quantity"] == "difference"].iloc[0]
    assert (diff["group"], diff["reference"]) == ("girl", "boy")
    assert diff["estimate"] == pytest.approx(REF["gap_gender"][0], rel=1e-9)
    assert diff["se"] == pytest.approx(REF["gap_gender"][1], rel=1e-9)


def test_gradient_slope_matches_r(refdata):
    s = effects.social_gradient(refdata, "ind_lonely", wave=2025).iloc[0]
    assert s["estimate"] == pytest.approx(REF["gradient_coef"][1], rel=1e-6)
    assert s["se"] == pytest.approx(REF["gradient_se"][1], rel=1e-6)
    assert s["odds_ratio"] == pytest.approx(np.exp(s["estimate"]))


# --- planted truth on the synthetic city ------------------------------------------------------


@pytest.mark.parametrize("name", ["bullied", "screen_4h", "thriving"])
def test_trend_recovers_planted_slope(city, name):
    data, truth = city
    t = effects.trend(data, "ind_" + name)
    s = t[t["quantity"] == "log_odds_per_wave"].iloc[0]
    assert s["ci_low"] < truth["trend"][name] < s["ci_high"]
    assert s["p_value"] < 0.05  # the planted trend is detected: fails if it were removed


@pytest.mark.parametrize("name", ["lonely", "good_health"])
def test_gender_gap_and_gradient_recover_truth(city, name):
    data, truth = city
    g = effects.gaps(data, "ind_" + name, scale="log_odds", adjust=["grade", "family_economy"])
    row = g.iloc[0]
    assert row["group"] == "girl"
    assert row["ci_low"] < truth["gender_gap_log_odds"][name] < row["ci_high"]
    assert row["p_value"] < 1e-6
    s = effects.social_gradient(data, "ind_" + name, adjust=["gender", "grade"]).iloc[0]
    assert s["ci_low"] < truth["social_gradient_log_odds_per_step"][name] < s["ci_high"]
    assert s["p_value"] < 1e-6


def test_gradient_extremes_sign(city):
    data, _truth = city
    e = effects.social_gradient(data, "ind_lonely", method="extremes").iloc[0]
    assert e["estimate"] > 0 and e["ci_low"] > 0  # the worst-off are lonelier


# --- the planted effect removed (simulated in-test) -------------------------------------------


def test_null_simulation_finds_no_trend():
    rng = np.random.default_rng(11)
    t = effects.trend(simulate_city(rng), "ind_y", adjust=())
    s = t[t["quantity"] == "log_odds_per_wave"].iloc[0]
    assert s["ci_low"] < 0 < s["ci_high"]


def test_planted_trend_in_simulation_is_found():
    rng = np.random.default_rng(12)
    t = effects.trend(simulate_city(rng, school_sd=0.5, slope=0.2), "ind_y", adjust=())
    s = t[t["quantity"] == "log_odds_per_wave"].iloc[0]
    assert s["ci_low"] < 0.2 < s["ci_high"] and s["ci_low"] > 0


# --- bad input --------------------------------------------------------------------------------


def test_bad_input_gives_named_errors(refdata):
    one = refdata[refdata["wave"] == 2025]
    with pytest.raises(EstimationError, match="at least two waves"):
        effects.trend(one, "ind_lonely")
    with pytest.raises(DataError, match="not in the data"):
        effects.trend(refdata, "ind_nope")
    with pytest.raises(ParameterError, match="reference group"):
        effects.gaps(refdata, "ind_lonely", by="gender", reference="other")
    with pytest.raises(ParameterError, match="change waves"):
        effects.trend(refdata, "ind_lonely", change=(2018, 2025))
    with pytest.raises(EstimationError, match="no respondents in wave"):
        effects.gaps(refdata, "ind_lonely", wave=2030)
    with pytest.raises(ParameterError, match="unknown gap scale"):
        effects.gaps(refdata, "ind_lonely", scale="ratio")
    with pytest.raises(EstimationError, match="worst- or best-off"):
        effects.social_gradient(refdata, "ind_lonely", method="extremes", best=(9,))


def test_trend_refuses_to_cross_a_series_break(refdata):
    import dataclasses

    from ssp_research.data.codebook import load_codebook

    cb = load_codebook("ungdata")
    broken = dataclasses.replace(cb, breaks=({"indicator": "lonely", "wave": 2023},))
    with pytest.raises(EstimationError, match="series break"):
        effects.trend(refdata, "ind_lonely", codebook=broken)
    after = effects.trend(refdata[refdata["wave"] >= 2023], "ind_lonely", codebook=broken)
    assert after[after["quantity"] == "observed"]["wave"].tolist() == [2023, 2025]
    crossing = effects.trend(refdata, "ind_lonely", codebook=broken, allow_break=True)
    plain = effects.trend(refdata, "ind_lonely")
    assert crossing["estimate"].iloc[0] == plain["estimate"].iloc[0]
