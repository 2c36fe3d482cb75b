"""Tests of the brief executor and exporter (ssp_research.report / ssp_research.export).

A small template is written per session (parameters cell, bilingual markdown, a figure with
alt text, a stderr line, a cell that fails on request) and executed with real kernels: once
successfully, once failing. Everything else (export, PDF, run_brief, CLI) reuses the runs.
"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pytest

from ssp_research import cli, paths, report
from ssp_research.errors import ParameterError, ReportError
from ssp_research.export import atomic_write, export_html, export_pdf, filter_notebook

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
            "import matplotlib.pyplot as plt\nfrom ssp_research import plots\n"
            "print('SECRET-STDERR-LINE', file=sys.stderr)"
        ),
        nbformat.v4.new_code_cell(
            "fig, ax = plt.subplots(figsize=(2, 1.5))\nax.plot([1, 2, 3])\n"
            "plots.show(ax, alt='A line rising from 1 to 3')"
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
    nb = report.execute(mini_template, {"wave": 2023, "lang": "en", "share": 1}, out)
    return nb, out


@pytest.fixture(scope="session")
def failed(mini_template, tmp_path_factory):
    """run_brief on a failing template: one kernel run checks execute() and run_brief()."""
    out_dir = tmp_path_factory.mktemp("fail")
    with pytest.raises(ReportError) as info:
        report.run_brief({"fail": True, "unit": "Heimdal"}, template=mini_template,
                         out_dir=out_dir)
    return info.value, out_dir


# --- parameters ---------------------------------------------------------------------------------


def test_template_parameters_types_defaults_comments(mini_template):
    spec = report.template_parameters(mini_template)
    assert list(spec) == ["unit_type", "unit", "wave", "lang", "share", "overrides", "fail"]
    assert spec["unit"] == report.Parameter(str, "Trondheim", "unit name")
    assert spec["wave"].default == 2025 and spec["wave"].comment == "survey wave; None = latest"
    assert spec["overrides"].default == {}
    t, d, c = spec["fail"]
    assert (t, d, c) == (bool, False, "fail on purpose (tests)")


def test_validate_merges_defaults_and_converts_int_to_float(mini_template):
    out = report.validate_parameters(mini_template, {"share": 1, "wave": None,
                                                     "overrides": {"min_n": 10}})
    assert out["share"] == 1.0 and isinstance(out["share"], float)
    assert out["wave"] is None and out["unit"] == "Trondheim"
    assert out["overrides"] == {"min_n": 10}
    assert list(out) == list(report.template_parameters(mini_template))


def test_unknown_parameter_lists_valid_ones(mini_template):
    with pytest.raises(ParameterError) as info:
        report.validate_parameters(mini_template, {"untt": "Heimdal"})
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
        report.validate_parameters(mini_template, bad)


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
            report.template_parameters(nb)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x: int = 1")]
    with pytest.raises(ParameterError, match="0 cells tagged 'parameters'"):
        report.template_parameters(nb)


def test_parse_cli_parameters(mini_template):
    got = report.parse_cli_parameters(mini_template, ["unit=Østbyen skole", "wave=None",
                                                      "overrides={'min_n': 10}", "share=0.25"])
    assert got == {"unit": "Østbyen skole", "wave": None, "overrides": {"min_n": 10},
                   "share": 0.25}
    with pytest.raises(ParameterError, match="name=value"):
        report.parse_cli_parameters(mini_template, ["wave"])
    with pytest.raises(ParameterError, match="'wave' must be"):
        report.validate_parameters(mini_template,
                                   report.parse_cli_parameters(mini_template, ["wave=abc"]))


# --- execution ----------------------------------------------------------------------------------


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
        report.execute(mini_template, {"unit": 3}, out)
    assert not out.exists()


# --- export -------------------------------------------------------------------------------------


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    return p


@pytest.fixture(scope="session")
def html_en(executed, mini_template):
    nb, _ = executed
    params = report.validate_parameters(mini_template, {"wave": 2023, "lang": "en"})
    stamp = report.provenance(params, "data/none.parquet", mini_template)
    return export_html(nb, "en", params, provenance=stamp)


def test_html_is_self_contained_without_code(html_en):
    p = _parse(html_en)
    html_tag = next(a for t, a in p.tags if t == "html")
    assert html_tag["lang"] == "en"
    scripts = [a for t, a in p.tags if t == "script"]
    assert scripts == [{"type": "application/json", "id": "ssp-provenance"}]
    for tag, attrs in p.tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not re.match(r"(https?:)?//", value), (tag, key, value)
            assert not value or value.startswith(("data:", "#")), (tag, key, value[:40])
    assert "<link" not in html_en
    body = "".join(p.text)
    assert "Main findings" in body and "Hovedfunn" not in body
    assert "import matplotlib" not in html_en and "report.show_figure" not in html_en
    assert "SECRET-STDERR-LINE" not in html_en
    assert "fail on purpose" not in html_en  # parameters cell source is gone
    assert "unit=Trondheim wave=2023 share=1.0" in body


def test_html_header_images_and_provenance(html_en):
    p = _parse(html_en)
    imgs = [a for t, a in p.tags if t == "img"]
    assert len(imgs) == 1
    assert imgs[0]["alt"] == "A line rising from 1 to 3"
    assert imgs[0]["src"].startswith("data:image/png;base64,")
    title = re.search(r"<title>(.*?)</title>", html_en).group(1)
    assert title == "Evidence brief: Trondheim, 2023"
    header = re.search(r'<dl[^>]*id="ssp-parameters".*?</dl>', html_en, re.S).group(0)
    assert "<dt>wave</dt><dd>2023</dd>" in header and "<dt>unit</dt><dd>Trondheim</dd>" in header
    block = re.search(r'<script id="ssp-provenance" type="application/json">(.*?)</script>',
                      html_en, re.S).group(1)
    stamp = json.loads(block)
    assert stamp["parameters"]["wave"] == 2023
    assert stamp["template"] == "mini.ipynb" and len(stamp["template_sha256"]) == 64
    assert stamp["packages"]["papermill"]
    assert 'id="provenance"' in html_en


def test_html_nb_keeps_norwegian_cells(executed):
    html = export_html(executed[0], "nb", {"unit": "Heimdal", "wave": 2025})
    assert 'lang="nb"' in html and "Hovedfunn" in html and "Main findings" not in html
    assert "<title>Kunnskapsgrunnlag: Heimdal, 2025</title>" in html
    with pytest.raises(ReportError, match="unknown language"):
        export_html(executed[0], "de", {})


def test_provenance_json_cannot_break_out_of_its_block(executed):
    html = export_html(executed[0], "en", {"unit": "x"},
                       provenance={"note": "</script><script src='http://evil'>"})
    assert html.count("</script>") == 1 and "http://evil" in html
    assert "<script src" not in html
    block = re.search(r'id="ssp-provenance" type="application/json">(.*?)</script>', html).group(1)
    assert json.loads(block)["note"] == "</script><script src='http://evil'>"


def test_filter_notebook_tags():
    nb = nbformat.v4.new_notebook()
    keep = nbformat.v4.new_code_cell("1")
    keep.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok"),
                    nbformat.v4.new_output("stream", name="stderr", text="warn")]
    drop_out = nbformat.v4.new_code_cell("2")
    drop_out.metadata["tags"] = ["remove-output"]
    drop_out.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hidden")]
    gone = nbformat.v4.new_code_cell("3")
    gone.metadata["tags"] = ["remove-cell"]
    nb.cells = [keep, drop_out, gone]
    out = filter_notebook(nb, "nb")
    assert [c.source for c in out.cells] == ["1", "2"]
    assert [o.text for o in out.cells[0].outputs] == ["ok"]
    assert out.cells[1].outputs == []
    assert len(nb.cells) == 3  # the input is not modified


def test_pdf_is_rendered_offline(html_en):
    pdf = export_pdf(html_en)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 2000
    with pytest.raises(ReportError, match="external resources"):
        export_pdf('<html><body><img src="http://example.invalid/x.png"></body></html>')


def _pdf_images(pdf: bytes) -> list:
    """Decode every image XObject of a PDF (Flate + PNG predictors) with Pillow."""
    import io
    import zlib

    from PIL import Image

    images = []
    for m in re.finditer(rb"<<(/[^\n]*/Subtype /Image[^\n]*)>>\nstream\n", pdf):
        head = m.group(1)
        width, height, length = (int(re.search(rb"/" + k + rb" (\d+)", head).group(1))
                                 for k in (b"Width", b"Height", b"Length"))
        colors = int(re.search(rb"/Colors (\d)", head).group(1)) if b"/Colors" in head else 1
        data = pdf[m.end():m.end() + length]
        ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes(
            [8, 2 if colors == 3 else 0, 0, 0, 0])

        def chunk(kind, body):
            return (len(body).to_bytes(4, "big") + kind + body
                    + zlib.crc32(kind + body).to_bytes(4, "big"))

        png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(
            b"IEND", b"")
        images.append(np.asarray(Image.open(io.BytesIO(png)).convert("RGB" if colors == 3
                                                                       else "L")))
    return images


def test_pdf_embeds_the_figure_pixels_exactly():
    # opaque RGB figures are embedded as they are (no re-encoding); others (alpha) take
    # weasyprint's own path: both must show exactly the figure's pixels
    import base64
    import io

    from PIL import Image

    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (10, 12, 4), dtype=np.uint8)

    def uri(a):
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="png")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()

    pdf = export_pdf(f'<html><body><img src="{uri(rgb)}"><img src="{uri(rgba)}"></body></html>')
    from ssp_research.export import _rgb8_idat

    assert _rgb8_idat(base64.b64decode(uri(rgb).split(",")[1])) in pdf  # as it is
    images = _pdf_images(pdf)
    shapes = sorted(i.shape for i in images)
    assert shapes == [(10, 12), (10, 12, 3), (20, 30, 3)]  # RGBA: colour + alpha mask
    by_shape = {i.shape: i for i in images}
    np.testing.assert_array_equal(by_shape[(20, 30, 3)], rgb)
    np.testing.assert_array_equal(by_shape[(10, 12, 3)], rgba[..., :3])
    np.testing.assert_array_equal(by_shape[(10, 12)], rgba[..., 3])


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a" / "b.bin"
    atomic_write(target, b"abc")
    atomic_write(target, "def")
    assert target.read_text() == "def"
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.bin"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_brief_stem_slug():
    assert report.brief_stem({"unit": "Åsvang/Ørnes skole", "wave": 2023, "lang": "en"}) == \
        "asvang-ornes-skole_2023_en"


# --- run_brief and the CLI ---------------------------------------------------------------------


def test_run_brief_publishes_after_a_clean_audit(mini_template, tmp_path, monkeypatch):
    audited = []
    monkeypatch.setattr(report, "_audit", lambda ps: audited.extend(ps) or [])
    res = report.run_brief({"unit": "Østbyen", "lang": "en"}, template=mini_template,
                           out_dir=tmp_path)
    assert res.html_path == tmp_path / "ostbyen_2025_en.html"
    assert res.pdf_path.read_bytes().startswith(b"%PDF-")
    assert res.notebook_path.is_file() and res.seconds > 0
    assert sorted(p.suffix for p in audited) == [".html", ".ipynb", ".pdf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ostbyen_2025_en.html", "ostbyen_2025_en.ipynb", "ostbyen_2025_en.pdf"]
    assert res.provenance["parameters"]["unit"] == "Østbyen"
    assert 'lang="en"' in res.html_path.read_text(encoding="utf-8")


def test_run_brief_refuses_to_publish_on_findings(mini_template, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "_audit", lambda ps: ["brief.html: table 1 row 2: n=4 < 20"])
    with pytest.raises(ReportError, match=r"(?s)audit found 1 problem.*n=4 < 20"):
        report.run_brief({"unit": "Heimdal"}, template=mini_template, out_dir=tmp_path, pdf=False)
    assert list(tmp_path.iterdir()) == []


def _kernel_children() -> list[str]:
    """Command lines of ipykernel processes whose parent is this test process."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and "ipykernel" in cmd:
            found.append(cmd)
    return found


def test_cli_brief_prints_paths(mini_template, tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(report, "_audit", lambda ps: [])
    code = cli.main(["brief", "--template", str(mini_template), "--out", str(tmp_path),
                     "--unit", "Lerkendal", "--lang", "en", "--wave", "2021", "--no-pdf",
                     "-p", "share=0.75"])
    assert code == 0
    captured = capfd.readouterr()  # file-descriptor level: the kernel's stderr too
    assert captured.out.split() == [str(tmp_path / "lerkendal_2021_en.html")]
    assert "without encryption" not in captured.err and "WARNING" not in captured.err
    assert _kernel_children() == []  # the kernel was shut down, not left to its parent's exit
    code = cli.main(["brief", "--template", str(mini_template), "-p", "bogus=1"])
    err = capfd.readouterr().err
    assert code == 2 and "unknown parameter 'bogus'" in err and "share: float" in err


def test_refresh_templates_writes_the_default_run_in_place(mini_template, tmp_path):
    copy = tmp_path / "mini.ipynb"
    copy.write_bytes(mini_template.read_bytes())
    assert report.refresh_templates([copy]) == [copy]
    nb = nbformat.read(copy, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "wave = 2025" in injected[0].source
    assert report.template_parameters(copy) == report.template_parameters(mini_template)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini.ipynb"]  # no temp files left


def test_single_brief_reuses_the_batch_publication(tmp_path, monkeypatch):
    import time

    from ssp_research import brief, publication

    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))
    params = report.validate_parameters(report.DEFAULT_TEMPLATE, {
        "unit_type": "school", "unit": "Kvernbekken skole", "wave": 2025})
    first = report._cached_publication(params, report.DEFAULT_TEMPLATE)
    assert first.startswith(str(tmp_path / "cache")) and Path(first).is_file()
    mtime = Path(first).stat().st_mtime_ns
    t0 = time.perf_counter()
    again = report._cached_publication({**params, "unit": "Nordlys skole"},
                                       report.DEFAULT_TEMPLATE)
    assert again == first and Path(first).stat().st_mtime_ns == mtime
    assert time.perf_counter() - t0 < 2.0  # reused, not rebuilt
    cached = publication.read_publication(first, level="school", unit="Kvernbekken skole")
    assert set(cached["economy_group"]) == {"all", "poor", "middle", "good"}
    cached = cached[cached["economy_group"] == "all"]  # the brief keeps those rows apart
    here = brief.load(unit_type="school", unit="Kvernbekken skole").full_publication
    here = here[(here["level"] == "school") & (here["unit"] == "Kvernbekken skole")]
    key = ["indicator", "wave", "gender", "grade"]
    a = cached.set_index(key)["suppressed"]
    b = here.set_index(key)["suppressed"].reindex(a.index)
    assert a.astype(bool).tolist() == b.astype(bool).tolist() and a.any()


def test_unit_tables_of_the_publication_give_each_brief_the_same_numbers(tmp_path,
                                                                          monkeypatch):
    # the batch computes every unit's indicator table in one pass per level; a brief reading
    # its rows must show exactly what it would compute alone
    import pandas as pd

    from ssp_research import brief, publication_cache

    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))
    params = report.validate_parameters(report.DEFAULT_TEMPLATE, {"wave": 2025})
    pub = report._cached_publication(params, report.DEFAULT_TEMPLATE)
    tables = sorted(p.name for p in publication_cache.unit_tables_dir(Path(pub)).glob("*.parquet"))
    assert [t.split("-")[0] for t in tables] == ["city", "district", "school"]
    for unit_type, unit, comparison in [("city", "Trondheim", "auto"),
                                        ("district", "Østbyen", "auto"),
                                        ("school", "Kvernbekken skole", "auto"),
                                        ("school", "Kvernbekken skole", "previous_wave")]:
        kw = dict(unit_type=unit_type, unit=unit, comparison=comparison, wave=2025,
                  publication_path=pub)
        b = brief.load(**kw)
        compare = "city"
        assert b._precomputed(compare) is not None  # read, not computed
        alone = brief.load(**kw)
        monkeypatch.setattr(alone, "_precomputed", lambda compare: None)
        pd.testing.assert_frame_equal(b.indicators, alone.indicators)
    other = brief.load(unit_type="school", unit="Kvernbekken skole", comparison="district",
                       publication_path=pub)
    assert other._precomputed("district") is None  # not written for that comparison


def test_a_cold_brief_builds_its_publication_while_the_kernel_starts(tmp_path, monkeypatch):
    from ssp_research import publication_cache

    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))
    res = report.run_brief({"wave": 2025, "unit_type": "district", "unit": "Heimdal"},
                           out_dir=tmp_path / "b")
    pub = publication_cache.publication_target(tmp_path / "cache")
    assert pub.is_file() and res.provenance["parameters"]["publication_path"] == str(pub)
    assert "Heimdal" in res.html_path.read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "heimdal_2025_nb.html", "heimdal_2025_nb.ipynb", "heimdal_2025_nb.pdf"]


def test_a_publication_that_cannot_be_built_is_the_error_reported(tmp_path, monkeypatch):
    from ssp_research import publication_cache
    from ssp_research.errors import DataError

    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))

    def fails(*args, build=True, **kwargs):
        if not build:
            return {}  # not current: run_brief builds it while the kernel starts
        raise DataError("planted build failure", rule="the publication can be built")

    monkeypatch.setattr(publication_cache, "prepare_publication", fails)
    with pytest.raises(DataError, match="planted build failure"):
        report.run_brief({"wave": 2025}, out_dir=tmp_path / "b")
    left = [p.name for p in (tmp_path / "b").iterdir()]
    assert not [n for n in left if n.endswith((".html", ".pdf"))] and not [
        n for n in left if n.startswith(".")]  # nothing published, no staging left


def test_an_unexpected_build_failure_is_reported_by_name(tmp_path, monkeypatch):
    from ssp_research import publication_cache

    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))

    def fails(*args, build=True, **kwargs):
        raise KeyError("weight")  # e.g. a library error on odd data

    monkeypatch.setattr(publication_cache, "prepare_publication", fails)
    with pytest.raises(ReportError, match="publication could not be built: KeyError"):
        report.run_brief({"wave": 2025}, out_dir=tmp_path / "b")
    assert not [p for p in (tmp_path / "b").iterdir() if p.suffix in (".html", ".pdf")]


def test_data_without_the_unit_column_is_a_named_error(tmp_path, monkeypatch):
    import pandas as pd

    from ssp_research.errors import DataError

    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))
    data = tmp_path / "no_school.parquet"
    pd.read_parquet(paths.PROJECT_DIR / "data/synthetic/trondheim.parquet").drop(
        columns="school").to_parquet(data)
    with pytest.raises(DataError, match="units") as info:
        report.run_brief({"wave": 2025, "data_path": str(data), "unit_type": "school",
                          "unit": "Kvernbekken skole"}, out_dir=tmp_path / "b")
    assert info.value.column == "school" and str(data) in str(info.value)
    assert not [p for p in (tmp_path / "b").iterdir() if p.suffix in (".html", ".pdf")]


def test_a_print_sent_in_pieces_is_one_line_in_the_html():
    """A kernel flushes stdout on a timer: one print can arrive as several stream outputs."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('Andel:', 12)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=t)
                    for t in ("Andel:", " 12", "\n")]
    nb.cells = [cell]
    html = export_html(nb, "nb", {})
    assert "Andel: 12" in html and html.count("Andel:") == 1
