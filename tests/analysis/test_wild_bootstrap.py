"""The restricted wild cluster bootstrap (ssp_research.analysis.wild_bootstrap): p-values of
the PyPI package wildboottest (tests/reference/wild_bootstrap_reference.py), a brute-force
refit with statsmodels for weighted models, the interval by test inversion, the weights."""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm

from ssp_research.analysis.wild_bootstrap import wild_cluster_bootstrap
from ssp_research.core.errors import EstimationError, ParameterError

REF = json.loads((Path(__file__).parents[1] / "reference" / "wild_bootstrap_reference.json"
                  ).read_text())


@pytest.mark.parametrize("case", sorted(REF["cases"]))
@pytest.mark.parametrize("param", ["d", "x2"])
def test_matches_wildboottest(case, param):
    c = REF["cases"][case]
    y, x, cl = np.array(c["y"]), np.array(c["x"]), np.array(c["cluster"])
    r = np.array([0.0, 1.0, 0.0]) if param == "d" else np.array([0.0, 0.0, 1.0])
    res = wild_cluster_bootstrap(y, x, r, cl, weights_type="rademacher", ci=False)
    g = len(np.unique(cl))
    assert res.enumerated and res.draws == 2**g
    assert res.t_stat == pytest.approx(c[f"{param}_t"], rel=1e-9)
    # wildboottest counts only |t*| > |t|; v = +1 and v = -1 give |t*| = |t| up to
    # rounding, which we count as ties and it counts as it happens to round
    extra = round((res.p_value - c[f"{param}_p"]) * 2**g, 9)
    assert extra in (0, 1, 2)


def _data(seed=4, g=8, per=5):
    rng = np.random.default_rng(seed)
    cl = np.repeat(np.arange(g), per)
    x = np.column_stack([np.ones(g * per), cl < 3, rng.normal(size=g * per)])
    y = 0.4 * x[:, 1] + rng.normal(0, 0.8, g)[cl] + rng.normal(0, 1, g * per)
    w = rng.uniform(0.5, 3.0, g)[cl] * rng.uniform(0.8, 1.2, g * per)
    return y, x, cl, w


def test_weighted_bootstrap_equals_brute_force_refits():
    """Every sign vector: impose the null, rebuild y*, refit WLS with statsmodels, take its
    cluster-robust t: the p-value is the share of |t*| >= |t|."""
    y, x, cl, w = _data()
    tau = 0.1
    res = wild_cluster_bootstrap(y, x, [0, 1, 0], cl, weights=w, tau=tau,
                                 weights_type="rademacher", ci=False)
    fit = sm.WLS(y, x, weights=w).fit(cov_type="cluster", cov_kwds={"groups": cl})
    assert res.estimate == pytest.approx(fit.params[1], rel=1e-12)
    assert res.se == pytest.approx(fit.bse[1], rel=1e-10)
    t_obs = (fit.params[1] - tau) / fit.bse[1]
    assert res.t_stat == pytest.approx(t_obs, rel=1e-10)
    # restricted WLS: regress y - tau * x1 on the other columns
    rfit = sm.WLS(y - tau * x[:, 1], x[:, [0, 2]], weights=w).fit()
    fitted = rfit.fittedvalues + tau * x[:, 1]
    resid = y - fitted
    t_star = []
    for v in product([-1.0, 1.0], repeat=8):
        ys = fitted + resid * np.array(v)[cl]
        f = sm.WLS(ys, x, weights=w).fit(cov_type="cluster", cov_kwds={"groups": cl})
        t_star.append((f.params[1] - tau) / f.bse[1])
    t_star = np.abs(t_star)
    assert res.p_value == pytest.approx(np.mean(t_star >= abs(t_obs) - 1e-10), abs=1e-12)


def test_interval_inverts_the_test():
    y, x, cl, w = _data(seed=9, g=10)
    res = wild_cluster_bootstrap(y, x, [0, 1, 0], cl, weights=w, weights_type="rademacher")
    assert res.ci_low < res.estimate < res.ci_high
    for bound, inside in ((res.ci_low, 1e-7), (res.ci_high, -1e-7)):
        def p(t):
            return wild_cluster_bootstrap(y, x, [0, 1, 0], cl, weights=w, tau=t,
                                          weights_type="rademacher", ci=False).p_value
        assert p(bound + inside) > 0.05
        assert p(bound - 50 * inside) <= 0.05


def test_weights_type_and_draws():
    y, x, cl, w = _data(g=6)
    webb = wild_cluster_bootstrap(y, x, [0, 1, 0], cl, ci=False)
    assert webb.weights_type == "webb" and webb.enumerated and webb.draws == 6**6
    y, x, cl, w = _data(g=20, per=3)
    rad = wild_cluster_bootstrap(y, x, [0, 1, 0], cl, draws=499, seed=3, ci=False)
    assert rad.weights_type == "rademacher" and not rad.enumerated and rad.draws == 499
    again = wild_cluster_bootstrap(y, x, [0, 1, 0], cl, draws=499, seed=3, ci=False)
    assert again.p_value == rad.p_value  # seeded


def test_size_under_the_null_with_many_clusters():
    """Planted null, 30 balanced clusters: rejections at 5 % near 5 % (binomial bounds)."""
    rng = np.random.default_rng(12)
    cl = np.repeat(np.arange(30), 4)
    x = np.column_stack([np.ones(120), cl < 15])
    rejections = 0
    for k in range(300):
        y = rng.normal(0, 1, 30)[cl] + rng.normal(0, 1, 120)
        rejections += wild_cluster_bootstrap(y, x, [0, 1], cl, draws=199, seed=k,
                                             ci=False).p_value <= 0.05
    assert 4 <= rejections <= 29  # 5 % of 300 is 15; these are ~ +-3.6 binomial sd


def test_bad_input():
    y, x, cl, w = _data()
    with pytest.raises(ParameterError, match="do not fit"):
        wild_cluster_bootstrap(y, x, [0, 1], cl)
    with pytest.raises(ParameterError, match="positive"):
        wild_cluster_bootstrap(y, x, [0, 1, 0], cl, weights=np.zeros_like(y))
    with pytest.raises(ParameterError, match="weights_type"):
        wild_cluster_bootstrap(y, x, [0, 1, 0], cl, weights_type="mammen")
    with pytest.raises(EstimationError, match="2 clusters"):
        wild_cluster_bootstrap(y, x, [0, 1, 0], np.zeros_like(cl))
    with pytest.raises(EstimationError, match="collinear"):
        wild_cluster_bootstrap(y, np.column_stack([x, x[:, 1]]), [0, 1, 0, 0], cl)
