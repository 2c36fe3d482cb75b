"""Does a pilot that ``plan_pilot`` says is detectable get detected at the stated power? (issue 14)

For each plan (6 of 24 schools, 2 of 24, 10 of 30; two waves before the start, two from it;
baseline 25 %, school level sd 0.35 and school drift sd 0.12 per wave step on the logit scale,
100 pupils per school and wave), :func:`ssp_research.analysis.pilot_plan.plan_pilot` gives the
minimum detectable effect (MDE) at 80 % power. Then fresh cities are simulated here, with a
different seed and a generator written independently of the plan's, with that effect planted
and two departures from the plan's assumptions that real cities have: a city-wide trend
(logit N(0.05, 0.05) per wave step) and pupils varying from wave to wave (50-150, mean 100).
Each city is evaluated with :func:`ssp_research.analysis.pilots.pilot_effect_cells` (the
brief's test); the achieved power is the share given the verdict "sure".

Goal: achieved within 5 points of the stated power for every plan. The Monte Carlo standard
error of the difference is printed (stated: ``--plan-reps`` cities, achieved: ``--reps``).

Run: ``.venv/bin/python benchmarks/sim_pilot_plan.py [--reps 500] [--plan-reps 1000]``
(about 4 minutes on one core, most of it the 134,596 exact assignments of 6 of 24).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import pandas as pd

from ssp_research.analysis.pilot_plan import plan_pilot
from ssp_research.analysis.pilots import pilot_effect_cells

PLANS = ((24, 6), (24, 2), (30, 10))
BASELINE, SCHOOL_SD, DRIFT_SD, PUPILS = 0.25, 0.35, 0.12, 100
BEFORE, AFTER = 2, 2


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def fresh_city(rng: np.random.Generator, n_schools: int, n_pilot: int, effect_points: float):
    """One city: school x wave shares, the pilot starting at wave BEFORE (waves 0, 1, ...)."""
    waves = np.arange(BEFORE + AFTER)
    delta = logit(BASELINE + effect_points / 100) - logit(BASELINE)
    trend = rng.normal(0.05, 0.05)
    pilots = set(rng.choice(n_schools, n_pilot, replace=False).tolist())
    rows = []
    for s in range(n_schools):
        level = logit(BASELINE) + rng.normal(0, SCHOOL_SD)
        drift = rng.normal(0, DRIFT_SD)
        for t in waves:
            eta = level + (trend + drift) * (t - (BEFORE - 1))
            if s in pilots and t >= BEFORE:
                eta += delta
            n = int(rng.integers(50, 151))
            yes = rng.binomial(n, 1 / (1 + math.exp(-eta)))
            rows.append((f"school {s:02d}", int(t), yes / n, float(n)))
    cells = pd.DataFrame(rows, columns=["school", "wave", "share", "weight"])
    return cells, {f"school {s:02d}": BEFORE for s in pilots}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=500, help="fresh cities per plan")
    ap.add_argument("--plan-reps", type=int, default=1000, help="the plan's simulated cities")
    ap.add_argument("--draws", type=int, default=1999, help="the evaluation's random draws")
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args(argv)
    failed = False
    for n_schools, n_pilot in PLANS:
        t0 = time.perf_counter()
        plan = plan_pilot(schools=n_schools, pilot_schools=n_pilot, pupils_per_school=PUPILS,
                          waves_before=BEFORE, waves_after=AFTER, baseline=BASELINE,
                          school_sd=SCHOOL_SD, drift_sd=DRIFT_SD, power=0.8,
                          reps=args.plan_reps, seed=args.seed)
        plan_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        rng = np.random.default_rng([args.seed, 1000 + n_schools, n_pilot])  # not the plan's
        sure = 0
        for rep in range(args.reps):
            cells, pilots = fresh_city(rng, n_schools, n_pilot, plan.effect_points)
            r = pilot_effect_cells(cells, pilots, draws=args.draws, seed=rep)
            sure += r.verdict == "sure"
        achieved = sure / args.reps
        se = math.sqrt(plan.power_se ** 2 + achieved * (1 - achieved) / args.reps)
        diff = achieved - plan.power
        ok = abs(diff) <= 0.05
        failed |= not ok
        print({"plan": f"{n_pilot} of {n_schools}", "mde_points": round(plan.effect_points, 2),
               "mde_mc_se": round(plan.mde_se, 2) if plan.mde_se else None,
               "stated_power": round(plan.power, 3), "achieved_power": round(achieved, 3),
               "difference": round(diff, 3), "mc_se_difference": round(se, 3),
               "test": plan.method, "plan_seconds": round(plan_s, 1),
               "check_seconds": round(time.perf_counter() - t1, 1),
               "within_5_points": ok}, flush=True)
    print(f"goal: achieved power within 5 points of the stated power for every plan: "
          f"{'NOT met' if failed else 'met'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
