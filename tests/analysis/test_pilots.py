"""Pilot effects in percentage points with randomisation inference (issue 14)."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from ssp_research.analysis.pilots import pilot_effect, pilot_effect_cells, school_wave_shares
from ssp_research.core import paths
from ssp_research.core.errors import DataError, EstimationError

WAVES = (2019, 2021, 2023, 2025)


@pytest.fixture(scope="module")
def synthetic():
    return pd.read_parquet(paths.synthetic_dir() / "trondheim.parquet")


def _cells(rng, n_schools=14, effect=None, size=120):
    """School x wave shares with school levels and drift; ``effect(school, wave)``."""
    level = rng.normal(0.25, 0.05, n_schools)
    drift = rng.normal(0, 0.01, n_schools)
    rows = []
    for s in range(n_schools):
        for k, w in enumerate(WAVES):
            p = np.clip(level[s] + drift[s] * k + (effect(s, w) if effect else 0.0), 0.01, 0.99)
            rows.append((f"s{s:02d}", w, rng.binomial(size, p) / size, float(size)))
    return pd.DataFrame(rows, columns=["school", "wave", "share", "weight"])


def _att_by_hand(cells, treated, start):
    """The estimator written out plainly: per post wave, the treated schools' change from
    the wave before the start minus the other schools' change, weighted by pupils."""
    wide = cells.pivot(index="school", columns="wave", values="share")
    size = cells.groupby("school")["weight"].sum()
    base = max(w for w in WAVES if w < start)
    others = [s for s in wide.index if s not in treated]
    atts = []
    for t in (w for w in WAVES if w >= start):
        d = wide[t] - wide[base]
        atts.append(np.average(d[treated], weights=size[treated])
                    - np.average(d[others], weights=size[others]))
    return float(np.mean(atts))


def test_p_value_is_the_exact_randomisation_distribution():
    cells = _cells(np.random.default_rng(5), n_schools=10)
    treated = ["s01", "s04", "s07"]
    r = pilot_effect_cells(cells, {s: 2023 for s in treated})
    schools = sorted(cells["school"].unique())
    t_obs = _att_by_hand(cells, treated, 2023)
    all_t = [_att_by_hand(cells, list(c), 2023) for c in combinations(schools, 3)]
    assert r.assignments == len(all_t) == 120 and r.method == "randomisation (exact)"
    assert r.estimate == pytest.approx(t_obs, abs=1e-12)
    assert r.p_value == pytest.approx(np.mean(np.abs(all_t) >= abs(t_obs) - 1e-12))


def test_interval_inverts_the_test_and_agrees_with_the_verdict():
    cells = _cells(np.random.default_rng(8), effect=lambda s, w: -0.08 * (s < 4 and w >= 2023))
    r = pilot_effect_cells(cells, {f"s{s:02d}": 2023 for s in range(4)})
    assert r.verdict == "sure" and r.ci_high < 0 and r.p_value <= 0.05
    # at the bounds the test is at the edge of rejecting a constant effect
    for bound, inside in ((r.ci_low, 1e-6), (r.ci_high, -1e-6)):
        shifted = cells.copy()
        post = shifted["school"].isin([f"s{s:02d}" for s in range(4)]) & (
            shifted["wave"] >= 2023)
        shifted.loc[post, "share"] -= bound + inside
        assert pilot_effect_cells(shifted, {f"s{s:02d}": 2023 for s in range(4)}
                                  ).p_value > 0.05


def test_one_pilot_school_gets_an_estimate_but_no_verdict():
    cells = _cells(np.random.default_rng(2), effect=lambda s, w: -0.15 * (s == 0 and w >= 2023))
    r = pilot_effect_cells(cells, {"s00": 2023})
    assert r.verdict is None and r.reason == "one_pilot_school"
    assert r.estimate < -0.05 and r.assignments == 14


def test_planted_pilot_effect_of_the_synthetic_data_is_recovered_in_points(synthetic):
    truth = json.loads((paths.synthetic_dir() / "truth.json").read_text())["pilot"]
    r = pilot_effect(synthetic, "ind_" + truth["indicator"], start=truth["start_wave"])
    assert r.pilot_schools == sorted(truth["schools"])
    assert r.ci_low < truth["did_expected_prevalence"] < r.ci_high
    assert r.estimate == pytest.approx(truth["did_expected_prevalence"], abs=0.02)
    assert r.verdict == "sure" and r.pre_waves == [2019, 2021]
    assert r.pretrend["verdict"] == "no sure difference"


def test_no_pilot_effect_on_the_synthetic_data_without_one(synthetic):
    # another indicator has no planted pilot effect
    r = pilot_effect(synthetic, "ind_bullied")
    assert r.ci_low < 0 < r.ci_high and r.verdict == "no sure difference"


def test_staggered_starts_compare_each_cohort_with_never_treated_schools():
    """Cohorts starting 2021 and 2023 with effects growing with time in the programme: the
    estimate is the pupils' average of the per-cohort, per-wave effects (no cohort is used
    as a control for another)."""
    starts = {"s00": 2021, "s01": 2021, "s02": 2021, "s03": 2023, "s04": 2023, "s05": 2023}

    def effect(s, w):
        g = starts.get(f"s{s:02d}")
        return 0.0 if g is None or w < g else -0.03 * (1 + (w - g) // 2)

    cells = _cells(np.random.default_rng(11), n_schools=16, effect=effect, size=4000)
    r = pilot_effect_cells(cells, starts)
    # truth: cohort 2021 at 2021/2023/2025: -0.03, -0.06, -0.09; cohort 2023: -0.03, -0.06
    truth = np.mean([-0.03, -0.06, -0.09, -0.03, -0.06])
    assert r.cohorts == {2021: 3, 2023: 3}
    assert r.estimate == pytest.approx(truth, abs=0.01)
    assert r.ci_low < truth < r.ci_high and r.method.startswith("randomisation")


def test_shares_are_design_weighted_and_missing_answers_left_out():
    df = pd.DataFrame({"school": ["a", "a", "a", "b"], "wave": 2025,
                       "ind_y": [1.0, 0.0, np.nan, 1.0], "weight": [3.0, 1.0, 5.0, 2.0]})
    cells = school_wave_shares(df, "ind_y")
    assert cells.set_index("school")["share"].to_dict() == {"a": 0.75, "b": 1.0}
    assert cells.set_index("school")["n"].to_dict() == {"a": 2, "b": 1}


def test_errors_name_the_problem(synthetic):
    with pytest.raises(DataError, match="'pilot_2'"):
        pilot_effect(synthetic, "ind_lonely", treated="pilot_2")
    with pytest.raises(EstimationError, match="no pre-period"):
        pilot_effect(synthetic, "ind_lonely", start=2019)
