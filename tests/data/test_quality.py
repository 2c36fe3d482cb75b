"""Quality checks: exact duplicates, straight-lining, age/grade (hand-made cases)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ssp_research.data.quality import age_grade_inconsistent, duplicate_rows, straightlining


def test_duplicates_are_exact_including_missing_values():
    df = pd.DataFrame({"id": ["a", "b", "a", "c", "b", "a"],
                       "q": [1.0, np.nan, 1.0, 2.0, np.nan, 1.5],
                       "w": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]})
    later, first = duplicate_rows(df)
    # row 2 repeats row 0, row 4 repeats row 1 (NaN == NaN); row 5 differs from row 0 in q
    assert later.tolist() == [False, False, True, False, True, False]
    assert first.tolist() == [True, True, False, False, False, False]


def test_equal_numeric_key_but_different_text_is_not_a_duplicate():
    df = pd.DataFrame({"school": ["Ås", "Bø"], "q": [1, 1]})
    later, first = duplicate_rows(df)
    assert not later.any() and not first.any()


def test_text_only_frame_uses_row_hash():
    df = pd.DataFrame({"a": ["x", "y", "x"], "b": ["æ", "ø", "æ"]})
    assert duplicate_rows(df)[0].tolist() == [False, False, True]


def test_straightlining_needs_min_items_answered():
    df = pd.DataFrame({"d1": [1, 4, 2, np.nan], "d2": [1, 4, 3, 2], "d3": [1, np.nan, 2, 2]})
    assert straightlining(df, min_items=3).tolist() == [True, False, False, False]
    assert straightlining(df, min_items=2).tolist() == [True, True, False, True]


def test_age_grade_with_missing_birth_year():
    got = age_grade_inconsistent([2025, 2025, 2025, 2025], [2011, np.nan, 2009, 2008],
                                 [8, 9, 10, 10], grade_age_offset=13, tolerance=1)
    # ages 14, ?, 16, 17 against expected 13, 14, 15, 15 (+/- 1)
    assert got.tolist() == [False, False, False, True]
