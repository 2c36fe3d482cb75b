"""Notebook execution: parameters injected, outputs kept, failures named, kernels stopped."""

from __future__ import annotations

import nbformat
import pytest

from ssp_research.core.errors import ParameterError
from ssp_research.render.execution import execute


def test_execute_injects_parameters_and_keeps_outputs(executed):
    nb, out = executed
    assert out.is_file()
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert ["injected-parameters"] in tags
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream")
    assert "unit=Trondheim wave=2023 share=1.0" in text
    figs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if "image/png" in o.get("data", {})]
    assert len(figs) == 1
    assert figs[0].metadata["image/png"]["alt"] == "A line rising from 1 to 3"


def test_failure_names_cell_and_keeps_notebook(failed):
    err, out_dir = failed
    text = str(err)
    assert "cell 5 of the template" in text
    assert "ValueError: planned failure for Heimdal" in text
    assert "source: if fail:" in text
    assert err.cell_index == 5
    kept = out_dir / "heimdal_2025_nb.failed.ipynb"
    assert err.notebook_path == kept and str(kept) in text
    assert [p.name for p in out_dir.iterdir()] == [kept.name]  # nothing else published
    nb = nbformat.read(kept, as_version=4)
    assert any(o.output_type == "error" for c in nb.cells if c.cell_type == "code"
               for o in c.outputs)


def test_bad_parameters_fail_before_a_kernel_starts(mini_template, tmp_path):
    out = tmp_path / "never.ipynb"
    with pytest.raises(ParameterError):
        execute(mini_template, {"unit": 3}, out)
    assert not out.exists()
