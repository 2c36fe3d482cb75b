"""`ssp rerun`: a brief is reproduced from the provenance stamp inside it."""

from __future__ import annotations

import shutil
import textwrap

import nbformat
import pandas as pd
import pytest

from ssp_research import cli
from ssp_research.core.errors import ReportError
from ssp_research.render import reproduce as rerun
from ssp_research.render import runner as report


@pytest.fixture
def made(tmp_path):
    """A tiny brief on a private copy of some data: (template, data, html)."""
    data = tmp_path / "data.parquet"
    pd.DataFrame({"wave": [2023, 2025, 2025], "lonely": [0.0, 1.0, 0.0]}).to_parquet(data)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(textwrap.dedent("""\
        data_path: str = "data.parquet"  # tidy data
        unit: str = "Trondheim"  # unit
        wave: int = 2025  # wave
        lang: str = "nb"  # language
        """))
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "import pandas as pd\nd = pd.read_parquet(data_path)\n"
        "print('rows in wave', int((d['wave'] == wave).sum()), unit)")
    nb.cells = [params, body]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    template = tmp_path / "tiny_brief.ipynb"
    nbformat.write(nb, template)
    result = report.run_brief({"data_path": str(data), "unit": "Lerkendal"}, template=template,
                              out_dir=tmp_path / "published", pdf=False)
    return template, data, result.html_path


def test_rerun_reproduces_the_brief_except_timestamps(made, tmp_path):
    template, data, html = made
    stamp = rerun.read_stamp(html)
    assert stamp["parameters"]["unit"] == "Lerkendal" and len(stamp["data_sha256"]) == 64
    # data outside the project: named by file name only, found again with --data
    assert stamp["data_file"] == stamp["parameters"]["data_path"] == data.name
    assert str(tmp_path) not in html.read_text(encoding="utf-8")
    with pytest.raises(ReportError, match="give it with --data"):
        rerun.rerun(html, out_dir=tmp_path / "again", pdf=False, template=template)
    again = rerun.rerun(html, out_dir=tmp_path / "again", pdf=False, template=template,
                        data=data)
    assert "rows in wave 2 Lerkendal" in again.html_path.read_text(encoding="utf-8")
    assert rerun.differences(html, again.html_path) == []


def test_rerun_refuses_changed_data_and_unstamped_files(made, tmp_path):
    template, data, html = made
    pd.DataFrame({"wave": [2025], "lonely": [1.0]}).to_parquet(data)
    with pytest.raises(ReportError, match="differs from the one the brief was made from"):
        rerun.rerun(html, out_dir=tmp_path / "again", template=template, data=data)
    plain = tmp_path / "plain.html"
    plain.write_text("<html><body>no stamp</body></html>", encoding="utf-8")
    with pytest.raises(ReportError, match="no provenance stamp"):
        rerun.read_stamp(plain)
    assert cli.main(["rerun", str(plain)]) == 2


def test_differences_reports_a_changed_number(made, tmp_path):
    _template, _data, html = made
    copy = tmp_path / "copy.html"
    shutil.copy(html, copy)
    copy.write_text(copy.read_text(encoding="utf-8").replace("rows in wave 2",
                                                             "rows in wave 3"),
                    encoding="utf-8")
    diff = rerun.differences(html, copy)
    assert any("rows in wave 3" in line for line in diff)


def test_rerun_of_the_evidence_brief_is_byte_identical(tmp_path, monkeypatch):
    """The shipped brief on the shipped data: the reproduction has the same bytes (HTML
    and PDF), as it would on another machine with the lock file's versions."""
    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path / "outputs"))
    first = report.run_brief({"wave": 2025, "unit_type": "district", "unit": "Heimdal"},
                             out_dir=tmp_path / "published")
    again = rerun.rerun(first.html_path, out_dir=tmp_path / "again")
    assert again.html_path.name == first.html_path.name
    assert again.html_path.read_bytes() == first.html_path.read_bytes()
    assert again.pdf_path.read_bytes() == first.pdf_path.read_bytes()
