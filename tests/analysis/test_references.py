"""Published reference figures: the file format, its errors, and the unit tested against them."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ssp_research.analysis import references as R
from ssp_research.core.errors import DataError


def _table(est, se, hib=False, suppressed=False, name="bullied"):
    return pd.DataFrame({"indicator": [name], "estimate": [est], "se": [se],
                         "higher_is_better": [hib], "suppressed": [suppressed]})


def test_shipped_file_is_valid_and_sourced():
    refs = R.load_references()
    assert list(refs.columns) == list(R.REFERENCE_COLUMNS)
    assert (refs["source"].str.len() > 5).all() and refs["url"].str.startswith("https://").all()
    assert refs["estimate"].between(0, 1).all()
    # every national figure's note in both languages (definition differences are stated)
    assert (refs["note_nb"].str.len() > 10).all() and (refs["note_en"].str.len() > 10).all()


def test_classes_follow_the_good_direction_and_both_uncertainties():
    refs = R.load_references()
    # bullying 2024: 8 %; se_r = sqrt(p(1-p)/150000 + 0.005^2/3)
    se_r = math.sqrt(0.08 * 0.92 / 150000 + 0.005**2 / 3)
    half = 1.959963984540054 * math.sqrt(0.01**2 + se_r**2)
    at_edge = 0.08 + half
    worse = R.compare_with_references(_table(at_edge + 1e-4, 0.01), refs, instrument="ungdata",
                                      year=2025)
    same = R.compare_with_references(_table(at_edge - 1e-4, 0.01), refs, instrument="ungdata",
                                     year=2025)
    assert worse["ref_class"].iloc[0] == "worse" and same["ref_class"].iloc[0] == "same"
    assert worse["ref_se"].iloc[0] == pytest.approx(se_r)
    # a share below the national one is better for a problem, worse for a good thing
    low = R.compare_with_references(_table(0.04, 0.005), refs, instrument="ungdata", year=2025)
    assert low["ref_class"].iloc[0] == "better"
    thr = R.compare_with_references(_table(0.70, 0.01, hib=True, name="thriving"), refs,
                                    instrument="ungdata", year=2025)
    assert thr["ref_class"].iloc[0] == "worse"


def test_hidden_share_hides_the_class_and_old_figures_are_not_used():
    refs = R.load_references()
    hidden = R.compare_with_references(_table(float("nan"), float("nan"), suppressed=True),
                                       refs, instrument="ungdata", year=2025)
    assert hidden["ref_class"].iloc[0] is None and pd.isna(hidden["ref_diff"].iloc[0])
    assert hidden["ref_estimate"].iloc[0] == 0.08  # the public figure itself may be shown
    # the 2011-13 depressive-symptoms figure is too old for 2025; the 2020 friend one for 2021
    old = R.compare_with_references(_table(0.1, 0.01, name="depressive"), refs,
                                    instrument="ungdata", year=2025)
    assert pd.isna(old["ref_estimate"].iloc[0]) and old["ref_class"].iloc[0] is None
    fr = R.compare_with_references(_table(0.9, 0.01, hib=True, name="close_friend"), refs,
                                   instrument="ungdata", year=2021)
    assert fr["ref_year"].iloc[0] == 2020


def test_bad_files_get_named_errors(tmp_path):
    refs = R.load_references()
    p = tmp_path / "refs.csv"
    refs.drop(columns=["source"]).to_csv(p, index=False)
    with pytest.raises(DataError, match="lacks the columns"):
        R.load_references(p)
    bad = refs.copy()
    bad.loc[2, "estimate"] = 22
    bad.to_csv(p, index=False)
    with pytest.raises(DataError, match="row 4.*not a share") as e:
        R.load_references(p)
    assert e.value.column == "estimate"
    with pytest.raises(DataError, match="not found"):
        R.load_references(tmp_path / "none.csv")
