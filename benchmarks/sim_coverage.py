"""Simulation: do 95 % intervals for proportions cover the truth 95 % of the time?

A synthetic finite population of pupils in schools within strata, with school effects
(intra-class correlation) and unequal school sizes, is sampled again and again: a stratified
cluster sample of schools without replacement (all pupils of a sampled school answer). Each
replication estimates the population share with :func:`ssp_research.survey.estimate.proportion`
(weights = N_h / n_h, fpc = N_h) and records whether each interval method covers the
population value (the planted truth). Goal: 93.5-96.5 % over 1,000 replications.

Run: ``.venv/bin/python benchmarks/sim_coverage.py [--reps 1000] [--seed 20261122]``
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ssp_research.survey.design import SurveyDesign
from ssp_research.survey.estimate import proportion

METHODS = ("logit", "likelihood", "beta", "asin", "mean", "xlogit", "wilson")


def make_population(seed: int, strata: int = 20, schools_per_stratum: int = 25):
    """Pupils with a 0/1 outcome; returns the frame and the true population share."""
    rng = np.random.default_rng(seed)
    n_schools = strata * schools_per_stratum
    size = rng.integers(40, 160, n_schools)
    school = np.repeat(np.arange(n_schools), size)
    stratum = school // schools_per_stratum
    effect = rng.normal(0, 0.6, n_schools)[school] + 0.05 * (stratum - strata / 2)
    y = (rng.random(len(school)) < 1 / (1 + np.exp(-(-1.0 + effect)))).astype(float)
    pop = pd.DataFrame({"school": school, "stratum": stratum, "y": y})
    return pop, float(y.mean())


def simulate(reps: int = 1000, seed: int = 20261122, per_stratum: int = 5, methods=METHODS,
             progress: bool = True) -> pd.DataFrame:
    """Coverage (share of replications whose interval covers the truth) per method."""
    pop, truth = make_population(seed)
    rng = np.random.default_rng(seed + 1)
    schools = pop.groupby("school")["stratum"].first()
    n_h = schools.groupby(schools).size()
    hits = {m: 0 for m in methods}
    widths = {m: 0.0 for m in methods}
    by_school = {s: g for s, g in pop.groupby("school")}
    for _ in tqdm(range(reps), disable=not progress, desc="replications"):
        chosen = [rng.choice(ids.index.to_numpy(), per_stratum, replace=False)
                  for _, ids in schools.groupby(schools)]
        sample = pd.concat([by_school[s] for s in np.concatenate(chosen)], ignore_index=True)
        sample["N"] = n_h.loc[sample["stratum"]].to_numpy().astype(float)
        sample["w"] = sample["N"] / per_stratum
        d = SurveyDesign(sample, ids="school", strata="stratum", weights="w", fpc="N")
        for m in methods:
            r = proportion(d, "y", method=m).iloc[0]
            hits[m] += bool(r.ci_low <= truth <= r.ci_high)
            widths[m] += (r.ci_high - r.ci_low) / reps
    return pd.DataFrame({"method": list(methods),
                         "coverage": [hits[m] / reps for m in methods],
                         "mean_width": [widths[m] for m in methods],
                         "reps": reps, "truth": truth})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20261122)
    a = ap.parse_args(argv)
    res = simulate(a.reps, a.seed)
    print(res.to_string(index=False))
    ok = res.coverage.between(0.935, 0.965).all()
    print("all methods within 93.5-96.5 %:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
