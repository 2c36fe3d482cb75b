"""Pilot effects in percentage points with randomisation inference (issue 14)."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from ssp_research.analysis.pilots import (
    MIN_WCB_SCHOOLS,
    _did_regression,
    pilot_effect,
    pilot_effect_cells,
    school_wave_shares,
)
from ssp_research.analysis.wild_bootstrap import wild_cluster_bootstrap
from ssp_research.core import paths
from ssp_research.core.errors import DataError, EstimationError, ParameterError

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
    assert r.assignments == len(all_t) == 120 and r.method == "randomisation" and r.exact
    assert r.method_reason == "few_pilot_schools"
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


# --- which test: the wild cluster bootstrap where there are enough schools ------------------


def test_enough_schools_use_the_wild_cluster_bootstrap():
    n_pilot = MIN_WCB_SCHOOLS
    cells = _cells(np.random.default_rng(21), n_schools=2 * n_pilot + 4,
                   effect=lambda s, w: -0.06 * (s < n_pilot and w >= 2023), size=2000)
    start = {f"s{s:02d}": 2023 for s in range(n_pilot)}
    r = pilot_effect_cells(cells, start)
    ri = pilot_effect_cells(cells, start, method="randomisation")
    assert r.method == "wild cluster bootstrap" and r.method_reason == "enough_schools"
    assert ri.method == "randomisation" and ri.method_reason == "asked"
    # the same estimate, two tests; both find the planted effect
    assert r.estimate == pytest.approx(ri.estimate, abs=1e-14)
    assert r.verdict == ri.verdict == "sure" and r.ci_low < -0.06 < r.ci_high
    assert r.as_row()["method"] == "wild cluster bootstrap"
    assert r.pretrend["verdict"] is not None
    # one fewer pilot school: back to randomisation inference
    fewer = pilot_effect_cells(cells, dict(list(start.items())[:-1]))
    assert fewer.method == "randomisation" and fewer.method_reason == "few_pilot_schools"
    few_cmp = pilot_effect_cells(cells[cells["school"] < f"s{2 * n_pilot - 1:02d}"], start)
    assert few_cmp.method_reason == "few_comparison_schools"


def test_regression_form_is_the_estimator_and_the_bootstrap_its_test():
    """Staggered cohorts, missing cells: r'b of the stacked regression is the estimate, and
    the p-value and interval are those of the wild bootstrap on it."""
    starts = {f"s{s:02d}": (2021 if s < 5 else 2023) for s in range(11)}
    cells = _cells(np.random.default_rng(4), n_schools=24)
    cells = cells.drop(index=cells.index[(cells["school"] == "s03") & (cells["wave"] == 2025)])
    cells.loc[cells["school"] == "s20", "weight"] = 400.0
    r = pilot_effect_cells(cells, starts, method="wild cluster bootstrap", draws=999, seed=5)
    ri = pilot_effect_cells(cells, starts, method="randomisation", draws=999, seed=5)
    assert r.estimate == pytest.approx(ri.estimate, abs=1e-14)
    pool = sorted(starts) + sorted(set(cells["school"]) - set(starts))
    wide = cells.pivot_table(index="school", columns="wave", values="share").reindex(pool)
    size = cells.groupby("school")["weight"].sum().reindex(pool).to_numpy()
    cohort = np.array([0 if starts[s] == 2021 else 1 for s in sorted(starts)]
                      + [-1] * (len(pool) - len(starts)))
    y, x, rr, cl, w = _did_regression(wide.to_numpy(float), size, cohort, [2021, 2023],
                                      list(WAVES))
    boot = wild_cluster_bootstrap(y, x, rr, cl, weights=w, draws=999, seed=5)
    assert boot.estimate == pytest.approx(r.estimate, abs=1e-14)
    assert (r.p_value, r.ci_low, r.ci_high) == (boot.p_value, boot.ci_low, boot.ci_high)
    assert r.assignments == 999 and not r.exact


def test_unknown_method_is_refused():
    cells = _cells(np.random.default_rng(1))
    with pytest.raises(ParameterError, match="unknown method"):
        pilot_effect_cells(cells, {"s00": 2023, "s01": 2023}, method="bootstrap")
