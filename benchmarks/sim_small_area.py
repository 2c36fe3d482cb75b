"""Simulation: Fay-Herriot EBLUPs for school shares against the known school truths.

Each replication draws a city of 25-60 schools with 20-300 answering pupils each, a school
covariate ``x ~ N(0, 1)`` (known for every school, as a register variable would be) and a true
school prevalence ``p_d = expit(-1.5 + 0.4 x_d + u_d)``, ``u_d ~ N(0, sd_u^2)``. Pupils answer
yes with probability ``p_d`` (binomial), so the direct estimate is ``y_d / n_d`` with the
binomial (design) variance ``p(1-p)/n`` -- 0 where no pupil or every pupil said yes, which
:func:`ssp_research.analysis.small_area.fay_herriot` replaces by a smoothed variance. Each
replication fits the REML Fay-Herriot model on ``x`` with the design variances
(``variance="direct"``) and with smoothed variances for every school (``variance="smoothed"``)
and records, against the truth ``p_d``:

- coverage of the 95 % EBLUP intervals (overall and for small schools, n < 50),
- the empirical MSE of the EBLUP and of the direct estimate, and their ratio,
- the mean estimated MSE over the empirical one (is the MSE estimate honest?),
- the share of schools where ``use`` is True (and the coverage among them),
- the same coverage for the direct Wald (p -/+ z se) and Wilson intervals.

Monte Carlo standard errors treat replications as independent clusters of schools.
Run: ``.venv/bin/python benchmarks/sim_small_area.py [--reps 4000] [--seed 20261214]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy import stats

from ssp_research.analysis.small_area import fay_herriot

Z = float(stats.norm.ppf(0.975))


def city(rng: np.random.Generator, sd_u: float):
    """One simulated city: its schools' direct estimates and true prevalences."""
    m = int(rng.integers(25, 61))
    n = rng.integers(20, 301, m)
    x = rng.normal(0, 1, m)
    truth = 1 / (1 + np.exp(-(-1.5 + 0.4 * x + rng.normal(0, sd_u, m))))
    p = rng.binomial(n, truth) / n
    direct = pd.DataFrame({"unit": np.arange(m), "estimate": p, "se": np.sqrt(p * (1 - p) / n),
                           "n": n, "x": x})
    return direct, truth


def wilson(p, n):
    c = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    h = Z / (1 + Z**2 / n) * np.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return c - h, c + h


def simulate(reps: int, seed: int, sd_u: float) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows = []
    for rep in range(reps):
        direct, truth = city(rng, sd_u)
        small = direct["n"].to_numpy() < 50
        base = dict(rep=rep, small=small, n=direct["n"].to_numpy(),
                    err_direct=(direct["estimate"].to_numpy() - truth) ** 2)
        wl, wh = wilson(direct["estimate"].to_numpy(), direct["n"].to_numpy())
        dl = direct["estimate"] - Z * direct["se"]
        dh = direct["estimate"] + Z * direct["se"]
        base["cov_wald"] = ((dl <= truth) & (truth <= dh)).to_numpy()
        base["cov_wilson"] = (wl <= truth) & (truth <= wh)
        for variance in ("direct", "smoothed"):
            r = fay_herriot(direct, covariates=["x"], variance=variance)
            rows.append(pd.DataFrame(dict(
                base, variance=variance,
                cov=((r["ci_low"] <= truth) & (truth <= r["ci_high"])).to_numpy(),
                err=((r["eblup"] - truth) ** 2).to_numpy(), mse_hat=r["mse"].to_numpy(),
                use=r["use"].to_numpy(), boundary=r.attrs["boundary"],
                zero_se=(direct["se"] == 0).to_numpy())))
    return pd.concat(rows, ignore_index=True)


def share(df: pd.DataFrame, col: str) -> tuple[float, float]:
    """Pooled share over schools and its Monte Carlo se (replications as clusters)."""
    g = df.groupby("rep")[col].agg(["sum", "count"])
    est = g["sum"].sum() / g["count"].sum()
    k = len(g)
    resid = g["sum"] - est * g["count"]
    se = np.sqrt(k / (k - 1) * (resid**2).sum()) / g["count"].sum()
    return float(est), float(se)


def report(res: pd.DataFrame, sd_u: float, reps: int) -> None:
    print(f"\n== sd_u = {sd_u} (logit scale), {reps} cities, "
          f"{res[res.variance == 'direct'].shape[0]} schools; REML, covariate x ==")
    first = res[res.variance == "direct"]
    print(f"schools with n < 50: {first.small.mean():.3f} of all; with se = 0 (p = 0 or 1): "
          f"{first.zero_se.mean():.3f} (among n < 50: {first[first.small].zero_se.mean():.3f})")
    for subset, label in ((slice(None), "all schools"), ("small", "small schools (n < 50)")):
        print(f"-- {label}")
        for variance, d in res.groupby("variance"):
            if subset == "small":
                d = d[d.small]
            c, cse = share(d, "cov")
            u, use = share(d, "use")
            cu, cuse = share(d[d.use], "cov")
            ratio = d.err.mean() / d.err_direct.mean()
            calib = d.mse_hat.mean() / d.err.mean()
            print(f"   EBLUP ({variance:8s} variances): coverage {c:.3f} (MC se {cse:.3f}); "
                  f"MSE EBLUP/direct {ratio:.3f}; estimated/empirical MSE {calib:.3f}; "
                  f"use=True {u:.3f}; coverage where use {cu:.3f}")
        d = first if subset != "small" else first[first.small]
        w, wse = share(d, "cov_wald")
        wi, wise = share(d, "cov_wilson")
        print(f"   direct: Wald coverage {w:.3f} (MC se {wse:.3f}); Wilson coverage {wi:.3f} "
              f"(MC se {wise:.3f}); empirical MSE of direct {d.err_direct.mean():.6f}")
    at0 = res.groupby(["variance", "rep"]).boundary.first().groupby("variance").mean()
    print(f"cities with sigma2_u at 0: direct variances {at0['direct']:.3f}, "
          f"smoothed {at0['smoothed']:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=20261214)
    ap.add_argument("--sd-u", type=float, nargs="*", default=[0.4, 0.15])
    a = ap.parse_args()
    for i, sd in enumerate(a.sd_u):
        t0 = time.perf_counter()
        res = simulate(a.reps, a.seed + i, sd)
        report(res, sd, a.reps)
        print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
