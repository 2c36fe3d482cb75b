"""Fixtures of the render tests: a small template, executed once per session.

The template has a parameters cell, bilingual markdown, a figure with alt text, a stderr line
and a cell that fails on request; it is executed with real kernels once successfully
(``executed``) and once failing (``failed``), and the other tests reuse the runs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from ssp_research.core.errors import ReportError
from ssp_research.render.execution import execute
from ssp_research.render.runner import run_brief

PARAMS_SOURCE = '''\
from typing import Literal
unit_type: str = "city"  # city, district or school
unit: str = "Trondheim"  # unit name
wave: int | None = 2025  # survey wave; None = latest
lang: Literal["nb", "en"] = "nb"  # language of the brief
share: float = 0.5  # a share
overrides: dict[str, int] = {}  # disclosure overrides
fail: bool = False  # fail on purpose (tests)'''


def _md(text, tag):
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["tags"] = [tag]
    return cell


@pytest.fixture(scope="session")
def mini_template(tmp_path_factory) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS_SOURCE)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        _md("## Hovedfunn", "lang-nb"),
        _md("## Main findings", "lang-en"),
        nbformat.v4.new_code_cell(
            "import sys\nimport matplotlib\nmatplotlib.use('agg')\n"
            "import matplotlib.pyplot as plt\nfrom ssp_research.brief import theme\n"
            "print('SECRET-STDERR-LINE', file=sys.stderr)"
        ),
        nbformat.v4.new_code_cell(
            "fig, ax = plt.subplots(figsize=(2, 1.5))\nax.plot([1, 2, 3])\n"
            "theme.show(ax, alt='A line rising from 1 to 3')"
        ),
        nbformat.v4.new_code_cell(
            "if fail:\n    raise ValueError('planned failure for ' + unit)\n"
            "print(f'unit={unit} wave={wave} share={share}')"
        ),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path_factory.mktemp("tpl") / "mini.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="session")
def executed(mini_template, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "mini_out.ipynb"
    nb = execute(mini_template, {"wave": 2023, "lang": "en", "share": 1}, out)
    return nb, out


@pytest.fixture(scope="session")
def failed(mini_template, tmp_path_factory):
    """run_brief on a failing template: one kernel run checks execute() and run_brief()."""
    out_dir = tmp_path_factory.mktemp("fail")
    with pytest.raises(ReportError) as info:
        run_brief({"fail": True, "unit": "Heimdal"}, template=mini_template,
                         out_dir=out_dir)
    return info.value, out_dir
