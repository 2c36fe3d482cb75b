"""Tests of ssp_research.analysis.schools (ICC, pilot DiD): R survey reference, planted truth
on the synthetic city, simulations with the effect planted and removed, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import simulate_city

from ssp_research.analysis import schools as effects
from ssp_research.core.errors import DataError, EstimationError

REFDIR = Path(__file__).parents[1] / "reference"
REF = json.loads((REFDIR / "trend_reference.json").read_text())


# --- R reference and planted truth -----------------------------------------------------------


def test_did_matches_r_two_way_fixed_effects(refdata):
    r = effects.pilot_did(refdata, "ind_lonely")
    did = r[r["quantity"] == "did"].iloc[0]
    assert did["estimate"] == pytest.approx(REF["did_coef"], rel=1e-6)
    # R's glm stops IRLS at a relative deviance change of 1e-8: with 15 fixed effects its
    # sandwich differs from the converged one in the 6th digit
    assert did["se"] == pytest.approx(REF["did_se"], rel=1e-5)
    assert did["df"] == 12 - 4  # clusters - strata
    ev = r[r["quantity"] == "event"]
    assert ev["wave"].tolist() == [2019, 2021, 2023, 2025]
    ref_row = ev[ev["wave"] == 2021].iloc[0]
    assert ref_row["estimate"] == 0 and ref_row["reason"] == "reference wave"
    pre = r[r["quantity"] == "pretrend"].iloc[0]
    # one pre-period coefficient: the F test is the square of its t test
    ev19 = ev[ev["wave"] == 2019].iloc[0]
    assert pre["statistic"] == pytest.approx(ev19["statistic"] ** 2, rel=1e-9)
    assert pre["p_value"] == pytest.approx(ev19["p_value"], rel=1e-9)


@pytest.mark.parametrize("name", ["lonely", "good_health"])
def test_latent_icc_recovers_truth(city, name):
    data, truth = city
    r = effects.school_icc(data, "ind_" + name)
    lat = r[r["scale"] == "latent"].iloc[0]
    planted = truth["indicators"][name]["latent_icc"]
    assert lat["ci_low"] < planted < lat["ci_high"]
    assert lat["ci_low"] > 0.005  # clearly non-zero: fails without school effects
    assert lat["n_schools"] == 25


def test_pilot_did_recovers_planted_effect(city):
    data, truth = city
    r = effects.pilot_did(data, "ind_lonely", start=truth["pilot"]["start_wave"])
    did = r[r["quantity"] == "did"].iloc[0]
    assert did["ci_low"] < truth["pilot"]["effect_log_odds"] < did["ci_high"]
    assert did["p_value"] < 0.01
    pre = r[r["quantity"] == "pretrend"].iloc[0]
    assert pre["p_value"] > 0.05  # no planted pre-trend


# --- the planted effect removed (simulated in-test) -------------------------------------------


def test_null_simulation_finds_no_pilot_effect_or_school_effect():
    rng = np.random.default_rng(11)
    null = simulate_city(rng)
    did = effects.pilot_did(null, "ind_y")
    d = did[did["quantity"] == "did"].iloc[0]
    assert d["ci_low"] < 0 < d["ci_high"]
    icc = effects.school_icc(null, "ind_y")
    assert icc["ci_low"].min() == pytest.approx(0.0, abs=0.003)


def test_planted_pilot_and_school_effects_in_simulation_are_found():
    rng = np.random.default_rng(12)
    sim = simulate_city(rng, school_sd=0.5, slope=0.2, pilot=-0.6)
    d = effects.pilot_did(sim, "ind_y")
    d = d[d["quantity"] == "did"].iloc[0]
    assert d["ci_low"] < -0.6 < d["ci_high"] and d["ci_high"] < 0
    lat = effects.school_icc(sim, "ind_y").iloc[1]
    planted = 0.25 / (0.25 + np.pi**2 / 3)
    assert lat["ci_low"] < planted < lat["ci_high"] and lat["ci_low"] > 0.01


def test_icc_continuous_mixedlm_recovers_and_null():
    rng = np.random.default_rng(13)
    s = np.repeat(np.arange(40), 80)
    for sd, expect in [(0.3, 0.09 / 1.09), (0.0, 0.0)]:
        u = rng.normal(0, sd, 40) if sd else np.zeros(40)
        df = pd.DataFrame({"school": s, "score": 3 + u[s] + rng.normal(0, 1, len(s))})
        r = effects.school_icc(df, "score").iloc[0]
        assert r["method"] == "mixedlm_reml"
        assert r["ci_low"] - 1e-9 <= expect <= r["ci_high"]
        if sd:
            assert r["ci_low"] > 0.02
        assert r["sigma2_within"] == pytest.approx(1.0, abs=0.06)


# --- bad input --------------------------------------------------------------------------------


def test_bad_input_gives_named_errors(refdata):
    with pytest.raises(EstimationError, match="no pre-period"):
        effects.pilot_did(refdata[refdata["wave"] >= 2023], "ind_lonely")
    with pytest.raises(EstimationError, match="both pilot and other"):
        effects.pilot_did(refdata.assign(pilot=True), "ind_lonely")
    with pytest.raises(EstimationError, match="no wave from 2031"):
        effects.pilot_did(refdata, "ind_lonely", start=2031)
    with pytest.raises(DataError, match="not in the data"):
        effects.pilot_did(refdata, "ind_lonely", treated="programme")
    with pytest.raises(EstimationError, match="two schools"):
        effects.school_icc(refdata[refdata["school"] == "Heimdal_1"], "ind_lonely")
    with pytest.raises(DataError, match="not in the data"):
        effects.school_icc(refdata, "ind_nope")
