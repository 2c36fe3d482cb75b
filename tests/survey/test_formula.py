"""Tests of ssp_research.survey.formula: R-like formulas and design matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ssp_research.core.errors import EstimationError, ParameterError
from ssp_research.survey import formula

# --- model matrix ------------------------------------------------------------------------------


def test_model_matrix_terms_names_and_missing():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan], "g": ["b", "a", "c", "a"],
                       "k": [1, 2, 1, 2]})
    X, names, ok = formula.model_matrix(df, "y ~ x * g + C(k)")
    assert names == ["(Intercept)", "x", "gb", "gc", "k2", "x:gb", "x:gc"]
    assert ok.tolist() == [True, True, True, False]
    np.testing.assert_array_equal(X[:3, names.index("x:gb")], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(X[3], np.zeros(7))
    X, names, _ = formula.model_matrix(df, "~ g + x - 1")
    assert names == ["ga", "gb", "gc", "x"]


def test_model_matrix_categorical_order_is_kept():
    df = pd.DataFrame({"g": pd.Categorical(["lo", "hi", "mid"], ["lo", "mid", "hi"])})
    _, names, _ = formula.model_matrix(df, "~ g")
    assert names == ["(Intercept)", "gmid", "ghi"]




def test_parse_formula_orders_terms_like_r_and_rejects_bad_syntax():
    assert formula.parse_formula("y ~ a:b + c + 1") == ("y", [("c",), ("a", "b")], True)
    assert formula.parse_formula("~ 0 + g") == (None, [("g",)], False)
    with pytest.raises(ParameterError, match="only '- 1'"):
        formula.parse_formula("y ~ a - b")
    with pytest.raises(ParameterError, match="empty term"):
        formula.parse_formula("y ~ a + + b")


def test_unknown_column_suggests_close_names():
    df = pd.DataFrame({"wave": [1.0], "gender": ["girl"]})
    with pytest.raises(EstimationError, match="unknown variable 'wav'") as err:
        formula.model_matrix(df, "~ wav")
    assert "did you mean 'wave'" in err.value.hint


def test_two_level_response_is_second_level_indicator():
    df = pd.DataFrame({"r": pd.Categorical(["no", "yes", None, "yes"], ["no", "yes"])})
    y, ok = formula.model_response(df, "r", "r ~ 1")
    np.testing.assert_array_equal(y[ok], [0.0, 1.0, 1.0])
    assert ok.tolist() == [True, True, False, True]
    with pytest.raises(EstimationError, match="two levels"):
        formula.model_response(pd.DataFrame({"r": list("abc")}), "r", "r ~ 1")


def test_boolean_and_nullable_integer_columns():
    df = pd.DataFrame({"pilot": [True, False, True],
                       "n": pd.array([1, None, 3], dtype="Int32")})
    X, names, ok = formula.model_matrix(df, "~ pilot + n")
    assert names == ["(Intercept)", "pilotTRUE", "n"]
    np.testing.assert_array_equal(X[:, 1], [1.0, 0.0, 1.0])
    assert ok.tolist() == [True, False, True]
