"""HTML and PDF export: self-contained, no code, alt texts, provenance, offline PDF."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import nbformat
import numpy as np
import pytest

from ssp_research.core.errors import ReportError
from ssp_research.render.export import export_html, export_pdf, filter_notebook
from ssp_research.render.parameters import validate_parameters
from ssp_research.render.provenance import provenance


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
    params = validate_parameters(mini_template, {"wave": 2023, "lang": "en"})
    stamp = provenance(params, "data/none.parquet", mini_template)
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
    header = re.search(r'<header class="ssp-header">.*?</header>', html_en, re.S).group(0)
    assert "<dt>wave</dt>" not in header and "<dt>unit</dt>" not in header  # no code words
    assert "ssp-parameters" not in html_en
    footer = re.search(r'<footer.*?</footer>', html_en, re.S).group(0)
    assert "<dt>Data file checksum (SHA-256)</dt>" in footer and "data_sha256</dt>" not in footer
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
    from ssp_research.render.export import _rgb8_idat

    assert _rgb8_idat(base64.b64decode(uri(rgb).split(",")[1])) in pdf  # as it is
    images = _pdf_images(pdf)
    shapes = sorted(i.shape for i in images)
    assert shapes == [(10, 12), (10, 12, 3), (20, 30, 3)]  # RGBA: colour + alpha mask
    by_shape = {i.shape: i for i in images}
    np.testing.assert_array_equal(by_shape[(20, 30, 3)], rgb)
    np.testing.assert_array_equal(by_shape[(10, 12, 3)], rgba[..., :3])
    np.testing.assert_array_equal(by_shape[(10, 12)], rgba[..., 3])




def test_a_print_sent_in_pieces_is_one_line_in_the_html():
    """A kernel flushes stdout on a timer: one print can arrive as several stream outputs."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('Andel:', 12)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=t)
                    for t in ("Andel:", " 12", "\n")]
    nb.cells = [cell]
    html = export_html(nb, "nb", {})
    assert "Andel: 12" in html and html.count("Andel:") == 1
