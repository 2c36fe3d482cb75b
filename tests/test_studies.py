"""Structure of the study notebooks (execution and key outputs are checked by nbval in make test).

Each study notebook: a ``parameters`` cell of typed literals with a comment each (parsed by
``ssp_research.render.template_parameters``), no function definitions, executed outputs committed
without errors, and one or two cells tagged ``nbval-check-output``.
"""

from __future__ import annotations

import ast

import nbformat
import pytest

from ssp_research.core.errors import ParameterError
from ssp_research.core.paths import notebooks_dir
from ssp_research.render.parameters import template_parameters, validate_parameters

STUDIES = sorted((notebooks_dir() / "studies").glob("*.ipynb"))


def test_there_are_at_least_two_studies():
    assert {p.stem for p in STUDIES} >= {"loneliness_social_gradient", "school_climate_variation"}


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_study_notebook_structure(path):
    nb = nbformat.read(path, as_version=4)
    params = template_parameters(nb)
    assert params and all(p.comment for p in params.values())
    assert params["lang"].default == "en" and params["codebook_name"].default == "ungdata"
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert not defs, f"{path.name}: function definitions belong in the library"
        assert cell.execution_count is not None, f"{path.name}: commit the executed notebook"
        assert not [o for o in cell.outputs if o.output_type == "error"]
    checked = [c for c in code if "nbval-check-output" in c.metadata.get("tags", [])]
    assert 1 <= len(checked) <= 2 and all(c.outputs for c in checked)
    figures = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert figures and all(o.metadata["image/png"]["alt"] for o in figures)


def test_study_parameters_are_validated():
    path = notebooks_dir() / "studies" / "school_climate_variation.ipynb"
    assert validate_parameters(path, {"wave": 2023})["wave"] == 2023
    with pytest.raises(ParameterError):
        validate_parameters(path, {"wave": "2023"})
