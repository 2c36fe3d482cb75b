"""Planning a pilot: variation from the data, power / MDE, seeded assignment (issue 14)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ssp_research import cli
from ssp_research.analysis import pilot_plan
from ssp_research.analysis.pilot_plan import (
    _Cities,
    _full_reject,
    _sizes,
    _Test,
    assign_pilot,
    plan_pilot,
    power_curve,
    variation_from_data,
    write_assignment,
)
from ssp_research.core import paths
from ssp_research.core.errors import DataError, ParameterError

DESIGN = dict(pupils_per_school=100, waves_before=2, waves_after=2, baseline=0.25,
              school_sd=0.35, drift_sd=0.12)


def _pupils(rng, schools=150, school_sd=0.35, drift_sd=0.12, wave_sd=0.0,
            waves=(2019, 2021, 2023, 2025)):
    """Pupil rows with planted school levels (at the latest wave), drifts and a city trend."""
    a = rng.normal(0, school_sd, schools)
    d = rng.normal(0, drift_sd, schools)
    parts = []
    for s in range(schools):
        for t, w in enumerate(waves):
            n = int(rng.integers(100, 300))
            eta = -1.2 + a[s] + d[s] * (t - len(waves) + 1) + 0.05 * t + rng.normal(0, wave_sd)
            parts.append(pd.DataFrame({
                "school": f"s{s:03d}", "wave": w, "district": f"d{s % 3}",
                "y": rng.binomial(1, 1 / (1 + np.exp(-eta)), n).astype(float),
                "weight": rng.uniform(0.9, 1.1, n)}))
    return pd.concat(parts, ignore_index=True)


def test_variation_recovers_planted_school_sd_and_drift():
    rng = np.random.default_rng(11)
    est = [variation_from_data(_pupils(rng), "y") for _ in range(3)]
    school_sd = np.mean([v["school_sd"] for v in est])
    drift_sd = np.mean([v["drift_sd"] for v in est])
    assert abs(school_sd - 0.35) < 0.05
    assert abs(drift_sd - 0.12) < 0.03
    v = est[0]
    assert v["waves"] == [2019, 2021, 2023, 2025] and v["schools"] == 150
    assert 0.2 < v["baseline"] < 0.35 and 1.0 < v["deff"] < 1.01
    assert len(v["pupils"]) == 150 and 100 <= v["pupils_median"] <= 300


def test_variation_wave_sd_and_errors():
    rng = np.random.default_rng(2)
    v = variation_from_data(_pupils(rng, schools=200, drift_sd=0.0, wave_sd=0.12), "y")
    assert abs(v["wave_sd"] - 0.12) < 0.04 and v["drift_sd"] < 0.06
    df = _pupils(rng, schools=10)
    with pytest.raises(DataError, match="not 0/1"):
        variation_from_data(df.assign(y=df["y"] * 3), "y")
    with pytest.raises(DataError):
        variation_from_data(df, "nope")
    df["pilot"] = df["school"].isin(["s000", "s001"])
    assert variation_from_data(df, "y", leave_out="pilot")["schools"] == 8


def test_variation_on_the_shipped_data():
    data = pd.read_parquet(paths.synthetic_dir() / "trondheim.parquet")
    v = variation_from_data(data, "ind_lonely", leave_out="pilot")
    assert v["schools"] == 18 and len(v["left_out"]) == 7
    assert 0.15 < v["baseline"] < 0.3 and 0.1 < v["school_sd"] < 0.6


def test_fast_test_agrees_with_pilot_effect_cells_city_by_city():
    for schools, k, sizes in ((12, 3, [60, 90, 200]), (30, 10, 120)):
        cities = _Cities(schools, k, _sizes(sizes, schools), 2, 2, 0.25, 0.35, 0.12, 0.05,
                         40, 3)
        test = _Test(schools, k, 0.95, 199, 5)
        for effect in (0.0, -0.08):
            share = cities.shares(effect)
            fast = test.reject(share, cities.weight, 2)
            full = _full_reject(share, cities.weight, k, 2, 0.95, 199, 5)
            assert (fast == full).all()


def test_power_grows_with_effect_and_pilot_schools():
    curve = power_curve([0, -4, -8, -14], schools=20, pilot_schools=4, reps=150, **DESIGN)
    assert curve["power"].is_monotonic_increasing
    assert curve["power"].iloc[0] < 0.12 and curve["power"].iloc[-1] > 0.8
    few = plan_pilot(schools=20, pilot_schools=2, effect_points=-8, reps=150, **DESIGN)
    many = plan_pilot(schools=20, pilot_schools=5, effect_points=-8, reps=150, **DESIGN)
    assert few.power < many.power
    assert few.power_se == pytest.approx(np.sqrt(few.power * (1 - few.power) / 150))


def test_mde_and_reproducible():
    a = plan_pilot(schools=20, pilot_schools=4, reps=150, seed=3, **DESIGN)
    b = plan_pilot(schools=20, pilot_schools=4, reps=150, seed=3, **DESIGN)
    assert a.mde_points == b.mde_points and a.power >= 0.8 and a.mde_se > 0
    assert a.effect_points == -a.mde_points and a.method == "randomisation (exact)"
    assert not a.curve.empty and a.seconds < 20
    up = plan_pilot(schools=20, pilot_schools=4, reps=150, seed=3, direction="up", **DESIGN)
    assert up.effect_points > 0
    hopeless = plan_pilot(schools=20, pilot_schools=2, reps=50, power=0.99,
                          **{**DESIGN, "drift_sd": 1.5})
    assert hopeless.mde_points is None and "no effect up to" in hopeless.note


def test_one_pilot_school_has_no_power():
    p = plan_pilot(schools=24, pilot_schools=1, effect_points=-10, **DESIGN)
    assert p.power == 0.0 and p.mde_points is None
    assert "no verdict" in p.note and "one pilot school" in p.note


def test_bad_designs_are_parameter_errors():
    for bad in (dict(schools=10, pilot_schools=10), dict(schools=10, pilot_schools=2,
                                                         waves_before=0)):
        with pytest.raises(ParameterError):
            plan_pilot(**{**DESIGN, **bad})
    with pytest.raises(ParameterError):
        plan_pilot(schools=10, pilot_schools=2, effect_points=-30, **DESIGN)


def _schools(n=25):
    return pd.DataFrame({"school": [f"School {i:02d}" for i in range(n)],
                         "district": [["A", "B", "C", "D"][i % 4] for i in range(n)]})


def test_assignment_is_reproducible_and_stratified(tmp_path):
    schools = _schools()
    a = assign_pilot(schools, 6, seed=42)
    assert a.equals(assign_pilot(schools.sample(frac=1, random_state=1), 6, seed=42))
    other = [set(assign_pilot(schools, 6, seed=s).query("pilot")["school"]) for s in (1, 2, 3)]
    assert any(o != set(a.query("pilot")["school"]) for o in other)
    # 7/6/6/6 schools, 6 pilots: quotas 1.68, 1.44 x 3 -> 2, then the tie to the first name
    assert a.groupby("district")["pilot"].sum().to_dict() == {"A": 2, "B": 2, "C": 1, "D": 1}
    rec = a.attrs["assignment"]
    assert rec["seed"] == 42 and rec["counts"]["A"] == {"schools": 7, "pilot": 2}
    assert len(rec["schools_sha256"]) == 64 and rec["ssp_research"]
    assert assign_pilot(schools.assign(district="X"), 6, seed=42).attrs["assignment"][
        "schools_sha256"] != rec["schools_sha256"]
    plain = assign_pilot(schools, 5, strata=None, seed=1)
    assert plain["pilot"].sum() == 5 and "district" not in plain
    out = write_assignment(a, tmp_path / "a.csv")
    assert pd.read_csv(out)["pilot"].sum() == 6
    assert json.loads(out.with_suffix(".json").read_text())["pilot_schools"] == rec[
        "pilot_schools"]


def test_assignment_errors():
    with pytest.raises(DataError):
        assign_pilot(_schools().drop(columns="district"), 3, seed=1)
    with pytest.raises(ParameterError):
        assign_pilot(_schools(), 30, seed=1)
    two = pd.concat([_schools(), _schools().assign(district="Z")])
    with pytest.raises(DataError, match="more than one stratum"):
        assign_pilot(two, 3, seed=1)


def test_cli_pilot_plan_on_the_shipped_data(tmp_path, capsys):
    out = tmp_path / "assignment.csv"
    code = cli.main(["pilot", "plan", "--pilot-schools", "4", "--reps", "100",
                     "--assign", str(out), "--strata", "district"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "between-school sd" in text and "minimum detectable effect at 80% power" in text
    table = pd.read_csv(out)
    assert table["pilot"].sum() == 4 and table["school"].nunique() == 25
    assert json.loads(out.with_suffix(".json").read_text())["strata"] == "district"
    assert cli.main(["pilot", "plan", "--pilot-schools", "2", "--effect", "-10",
                     "--reps", "100"]) == 0
    assert "power for -10.0 points" in capsys.readouterr().out
    assert cli.main(["pilot", "plan", "--pilot-schools", "1", "--effect", "-10"]) == 0
    assert "no verdict" in capsys.readouterr().out
    assert cli.main(["pilot", "plan", "--pilot-schools", "40"]) == 2
    assert "What to do" in capsys.readouterr().err


def test_module_is_exported():
    import ssp_research.api as ssp

    assert ssp.plan_pilot is plan_pilot and ssp.assign_pilot is pilot_plan.assign_pilot
