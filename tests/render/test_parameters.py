"""Template parameters: declared in the parameters cell, checked before any kernel starts."""

from __future__ import annotations

import nbformat
import pytest

from ssp_research.core.errors import ParameterError
from ssp_research.render.parameters import (
    Parameter,
    parse_cli_parameters,
    template_parameters,
    validate_parameters,
)


def test_template_parameters_types_defaults_comments(mini_template):
    spec = template_parameters(mini_template)
    assert list(spec) == ["unit_type", "unit", "wave", "lang", "share", "overrides", "fail"]
    assert spec["unit"] == Parameter(str, "Trondheim", "unit name")
    assert spec["wave"].default == 2025 and spec["wave"].comment == "survey wave; None = latest"
    assert spec["overrides"].default == {}
    t, d, c = spec["fail"]
    assert (t, d, c) == (bool, False, "fail on purpose (tests)")


def test_validate_merges_defaults_and_converts_int_to_float(mini_template):
    out = validate_parameters(mini_template, {"share": 1, "wave": None,
                                              "overrides": {"min_n": 10}})
    assert out["share"] == 1.0 and isinstance(out["share"], float)
    assert out["wave"] is None and out["unit"] == "Trondheim"
    assert out["overrides"] == {"min_n": 10}
    assert list(out) == list(template_parameters(mini_template))


def test_unknown_parameter_lists_valid_ones(mini_template):
    with pytest.raises(ParameterError) as info:
        validate_parameters(mini_template, {"untt": "Heimdal"})
    text = str(info.value)
    assert "unknown parameter 'untt'" in text
    for name in ("unit_type: str", "unit: str", "wave: int | None", "share: float"):
        assert name in text


@pytest.mark.parametrize("bad", [
    {"wave": "2025"}, {"wave": 2025.0}, {"unit": 7}, {"lang": "de"}, {"fail": 1},
    {"overrides": {"min_n": "10"}}, {"share": True},
])  # fmt: skip
def test_wrong_types_are_errors(mini_template, bad):
    name = next(iter(bad))
    with pytest.raises(ParameterError, match=f"parameter '{name}' must be"):
        validate_parameters(mini_template, bad)


def test_parameters_cell_must_hold_annotated_literals(tmp_path):
    for source, message in [
        ("wave = 2025  # no annotation", "annotated literal assignments"),
        ("wave: int = 2020 + 5  # computed", "non-literal default"),
        ("wave: Wave = 2025  # unknown type", "unsupported type annotation"),
        ("wave: str = 2025  # mismatch", "does not match its type"),
    ]:
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = ["parameters"]
        nb.cells = [cell]
        with pytest.raises(ParameterError, match=message):
            template_parameters(nb)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x: int = 1")]
    with pytest.raises(ParameterError, match="0 cells tagged 'parameters'"):
        template_parameters(nb)


def test_parse_cli_parameters(mini_template):
    got = parse_cli_parameters(mini_template, ["unit=Østbyen skole", "wave=None",
                                                      "overrides={'min_n': 10}", "share=0.25"])
    assert got == {"unit": "Østbyen skole", "wave": None, "overrides": {"min_n": 10},
                   "share": 0.25}
    with pytest.raises(ParameterError, match="name=value"):
        parse_cli_parameters(mini_template, ["wave"])
    with pytest.raises(ParameterError, match="'wave' must be"):
        validate_parameters(mini_template,
                                   parse_cli_parameters(mini_template, ["wave=abc"]))
