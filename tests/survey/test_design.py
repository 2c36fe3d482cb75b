"""SurveyDesign: construction, validation errors, the variance contract used by weights/models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ssp_research.core.errors import DataError, DesignError, ParameterError
from ssp_research.survey.design import SurveyDesign


@pytest.fixture
def small():
    rng = np.random.default_rng(7)
    n = 400
    df = pd.DataFrame({"psu": rng.integers(0, 40, n), "w": rng.uniform(1, 4, n),
                       "y": rng.normal(10, 2, n), "g": rng.integers(0, 3, n)})
    df["st"] = df.psu % 4
    df["N"] = 25.0  # 10 PSUs sampled of 25 in each stratum
    return df


def test_the_survey_stage_and_the_api_export_the_design():
    from ssp_research import api, survey

    assert survey.SurveyDesign is SurveyDesign and api.SurveyDesign is SurveyDesign


def test_degf_psus_minus_strata(small):
    d = SurveyDesign(small, ids="psu", strata="st", weights="w")
    assert d.degf() == 40 - 4
    assert d.subset(small.st == 0).degf() == 10 - 1  # R: degf of the subset design
    assert SurveyDesign(small, ids=None, weights="w").degf() == len(small) - 1


def test_vcov_matches_hand_formula(small):
    d = SurveyDesign(small, ids="psu", strata="st", weights="w", fpc="N")
    z = np.column_stack([small.w * small.y, small.w])
    v = d.vcov(z)
    # by hand: sum_h (1 - n_h/N_h) n_h/(n_h-1) sum_c (z_c - zbar_h)^2
    want = np.zeros((2, 2))
    tot = pd.DataFrame(z, columns=["a", "b"]).groupby([small.st, small.psu]).sum()
    for _, g in tot.groupby(level=0):
        nh = len(g)
        c = g.to_numpy() - g.to_numpy().mean(axis=0)
        want += (1 - nh / 25) * nh / (nh - 1) * c.T @ c
    np.testing.assert_allclose(v, want, rtol=1e-12)
    assert v.shape == (2, 2) and np.allclose(v, v.T)


def test_postcal_adjust_is_applied_in_order(small):
    d = SurveyDesign(small, ids="psu", strata="st", weights="w")
    calls = []

    class Halve:
        def adjust(self, scores):
            calls.append("halve")
            return scores / 2

    class Neg:
        def adjust(self, scores):
            calls.append("neg")
            return -scores

    d2 = d._with(postcal=[Halve(), Neg()])
    z = (small.w * small.y).to_numpy()
    assert d2.vcov(z)[0, 0] == pytest.approx(d.vcov(z)[0, 0] / 4, rel=1e-12)
    assert calls == ["halve", "neg"]
    assert d._postcal == [] and d2.calibrated
    # domain variance goes through the same adjustment
    r1, r2 = d.mean("y", by="g"), d2.mean("y", by="g")
    np.testing.assert_allclose(r2.se, r1.se / 2, rtol=1e-10)


def test_with_new_weights_and_subset_keep_structure(small):
    d = SurveyDesign(small, ids="psu", strata="st", weights="w")
    d2 = d._with(weights=np.ones(len(small)))
    assert d2.weights.sum() == len(small) and d.weights.sum() != len(small)
    assert d2._stages is d._stages
    sub = d.subset(small.g == 1)
    assert (sub.weights[small.g != 1] == 0).all() and len(sub.data) == len(small)
    with pytest.raises(DesignError, match="wrong length"):
        d._with(weights=np.ones(3))


def test_weights_from_fpc_and_fraction_equal(small):
    frac = small.assign(f=10 / 25)
    a = SurveyDesign(small, ids="psu", strata="st", fpc="N")
    b = SurveyDesign(frac, ids="psu", strata="st", fpc="f")
    np.testing.assert_allclose(a.weights, 2.5)
    np.testing.assert_allclose(b.weights, 2.5)
    np.testing.assert_allclose(a.mean("y").se, b.mean("y").se, rtol=1e-12)


def test_nest(small):
    df = small.assign(local=small.psu // 4)  # ids reused across strata
    with pytest.raises(DesignError, match="more than one stratum") as e:
        SurveyDesign(df, ids="local", strata="st", weights="w")
    assert "nest=True" in str(e.value)
    d = SurveyDesign(df, ids="local", strata="st", weights="w", nest=True)
    ref = SurveyDesign(small, ids="psu", strata="st", weights="w")
    assert d.degf() == ref.degf()
    np.testing.assert_allclose(d.mean("y").se, ref.mean("y").se, rtol=1e-12)


def test_lonely_psu_fail_and_options(small):
    df = small.copy()
    df.loc[df.st == 3, "psu"] = 3  # stratum 3 has one PSU
    with pytest.raises(DesignError, match="only one PSU") as e:
        SurveyDesign(df, ids="psu", strata="st", weights="w")
    assert "lonely_psu" in str(e.value)
    se = {o: SurveyDesign(df, ids="psu", strata="st", weights="w", lonely_psu=o)
          .total("y").se.iloc[0] for o in ["remove", "certainty", "adjust", "average"]}
    assert se["remove"] == se["certainty"] < se["adjust"]
    assert se["average"] == pytest.approx(se["remove"] * np.sqrt(4 / 3), rel=1e-12)
    with pytest.raises(ParameterError, match="lonely_psu"):
        SurveyDesign(df, ids="psu", strata="st", weights="w", lonely_psu="drop")
    # a census stratum (fpc = sampled PSUs) with one PSU is not lonely
    df["N"] = np.where(df.st == 3, 1.0, 25.0)
    SurveyDesign(df, ids="psu", strata="st", weights="w", fpc="N")


@pytest.mark.parametrize("bad,match", [(-1.0, "invalid sampling weight"),
                                       (np.nan, "missing sampling weights")])
def test_bad_weights(small, bad, match):
    df = small.copy()
    df.loc[5, "w"] = bad
    with pytest.raises(DesignError, match=match) as e:
        SurveyDesign(df, ids="psu", weights="w")
    assert e.value.row == 5 and e.value.column == "w" and e.value.hint


def test_bad_design_columns(small):
    with pytest.raises(DesignError, match="'psx' is not in the data") as e:
        SurveyDesign(small, ids="psx", weights="w")
    assert "psu" in str(e.value)
    with pytest.raises(DesignError, match="missing values in ids"):
        SurveyDesign(small.assign(psu=small.psu.where(small.psu != 3)), ids="psu", weights="w")
    with pytest.raises(DesignError, match="only one primary sampling unit"):
        SurveyDesign(small.assign(psu=1), ids="psu", weights="w")
    with pytest.raises(DesignError, match="100 %"):
        SurveyDesign(small.assign(N=5.0), ids="psu", strata="st", fpc="N")
    with pytest.raises(DesignError, match="mixes"):
        SurveyDesign(small.assign(N=np.where(small.st == 0, 0.5, 20)), ids="psu",
                     strata="st", fpc="N")
    with pytest.raises(DesignError, match="DataFrame"):
        SurveyDesign(small.to_numpy(), ids="psu")


def test_no_weights_warns_like_r(small):
    with pytest.warns(UserWarning, match="assuming equal probability"):
        d = SurveyDesign(small, ids="psu")
    assert (d.weights == 1).all()


def test_unknown_variable_is_data_error(small):
    d = SurveyDesign(small, ids="psu", weights="w")
    with pytest.raises(DataError, match="'yy' is not in the data") as e:
        d.mean("yy")
    assert "did you mean y" in str(e.value)
    # a text column is a factor (one row per level, as R's svymean(~factor)), not an error
    r = SurveyDesign(small.assign(t="a"), ids="psu", weights="w").mean("t")
    assert r["category"].tolist() == ["a"] and r["estimate"].tolist() == [1.0]


def test_two_stage_with_fpc_adds_second_stage():
    rng = np.random.default_rng(2)
    rows = [(p, s, rng.normal()) for p in range(8) for s in range(5) for _ in range(3)]
    df = pd.DataFrame(rows, columns=["p", "s", "y"]).assign(N1=20.0, N2=10.0)
    two = SurveyDesign(df, ids=["p", "s"], fpc=["N1", "N2"])
    np.testing.assert_allclose(two.weights, (20 / 8) * (10 / 5))
    one = SurveyDesign(df.assign(w=two.weights), ids=["p", "s"], weights="w", fpc="N1")
    z = (two.weights * df.y).to_numpy()
    # R's svyrecvar: V = V_1 + (n1 / N1) * sum_p (1 - n2/N2) n2/(n2-1) sum_s (z_ps - zbar_p)^2
    ssu = pd.Series(z).groupby([df.p, df.s]).sum()
    v2 = sum((1 - 5 / 10) * 5 / 4 * ((g - g.mean()) ** 2).sum() for _, g in ssu.groupby(level=0))
    assert len(two._stages) == 2 and len(one._stages) == 1
    assert two.vcov(z)[0, 0] == pytest.approx(one.vcov(z)[0, 0] + 8 / 20 * v2, rel=1e-12)


def test_delegations_import_lazily(small):
    d = SurveyDesign(small, ids="psu", weights="w")
    for name in ["poststratify", "rake", "calibrate", "glm", "ttest", "contrast", "chisq"]:
        assert callable(getattr(d, name))
    assert "SurveyDesign(400 rows, 40 PSUs" in repr(d)


def test_probs_equal_inverse_weights(small):
    a = SurveyDesign(small.assign(p=1 / small.w), ids="psu", strata="st", probs="p")
    b = SurveyDesign(small, ids="psu", strata="st", weights="w")
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-12)
    with pytest.raises(DesignError, match="both weights and probs"):
        SurveyDesign(small.assign(p=0.5), ids="psu", weights="w", probs="p")


def test_vcov_zero_for_census_strata(small):
    # every PSU sampled (fpc = sampled PSUs): no first-stage variance, as R
    d = SurveyDesign(small.assign(N=10.0), ids="psu", strata="st", weights="w", fpc="N")
    assert d.vcov((small.w * small.y).to_numpy())[0, 0] == 0.0
