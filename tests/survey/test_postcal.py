"""Tests of ssp_research.survey.postcal: the variance adjustments of weighted designs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ssp_research.survey import postcal, weights
from ssp_research.survey.design import SurveyDesign


def test_raking_adjustment_equals_r_sweeps_row_by_row():
    """The one-pass raking residuals equal R's literal ten sweeps (svyrecvar), zeros kept."""
    rng = np.random.default_rng(7)
    n = 300
    a, b = rng.integers(0, 3, n), rng.integers(0, 4, n)
    psw_a, psw_b = rng.uniform(1, 3, n), rng.uniform(1, 3, n)
    psw_a[:5] = psw_b[:5] = 0.0  # rows outside a domain when raked
    x = rng.normal(size=(n, 2))
    x[:5] = 0.0
    naive = x.copy()
    for _ in range(10):
        for cells, psw in ((a, psw_a), (b, psw_b)):
            keep = psw != 0
            for c in np.unique(cells[keep]):
                rows = keep & (cells == c)
                naive[rows] -= psw[rows, None] * (naive[rows] / psw[rows, None]).mean(axis=0)
    fast = postcal.Raking([(a, psw_a), (b, psw_b)]).adjust(x)
    np.testing.assert_allclose(fast, naive, rtol=1e-10, atol=1e-12)



def _small_design(seed=3, n=400):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "psu": rng.integers(0, 40, n), "g": rng.choice(["a", "b", "c"], n),
        "h": rng.choice(["u", "v"], n), "x": rng.gamma(2.0, 3.0, n), "y": rng.normal(5, 2, n),
        "w": rng.uniform(1, 4, n),
    })
    return SurveyDesign(df, ids="psu", weights="w")


def _se_total(d, var):
    return float(np.sqrt(d.vcov(d.weights * d.data[var].to_numpy(float))[0, 0]))


def test_calibrated_and_poststratified_totals_have_zero_variance():
    """Totals of the calibration variables are fixed by design: their SE is 0."""
    d = _small_design()
    n_tot, x_tot = d.weights.sum() * 1.02, (d.weights * d.data["x"]).sum() * 0.99
    cal = weights.calibrate(d, "~ x", {"(Intercept)": n_tot, "x": x_tot})
    assert _se_total(cal, "x") < 1e-8 * x_tot
    ps = weights.poststratify(d, "g", {"a": 100.0, "b": 200.0, "c": 300.0})
    ind_a = (d.data["g"] == "a").astype(float)
    se = float(np.sqrt(ps.vcov(ps.weights * ind_a.to_numpy())[0, 0]))
    assert se < 1e-9
    assert _se_total(ps, "y") > 0  # other variables keep their variance


def test_raking_converged_margins_have_near_zero_variance():
    d = _small_design(seed=5)
    frame = d.data.assign(w=d.weights)
    pop_g = frame.groupby("g")["w"].sum().mul(1.2).to_dict()
    pop_h = frame.groupby("h")["w"].sum().mul(1.2).to_dict()
    rk = weights.rake(d, {"g": pop_g, "h": pop_h}, maxit=100, epsilon=1e-12)
    ind_u = (d.data["h"] == "u").to_numpy(float)
    se_u = float(np.sqrt(rk.vcov(rk.weights * ind_u)[0, 0]))
    se_raw = float(np.sqrt(d.vcov(d.weights * ind_u)[0, 0]))
    assert se_u < 1e-3 * se_raw
