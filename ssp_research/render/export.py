"""Export an executed brief notebook to self-contained HTML and to PDF.

The HTML uses the project's nbconvert template ``resources/templates/ssp_brief`` (it extends
nbconvert's ``lab`` cell rendering): no code cells' input, no prompts, no ``parameters`` or
``injected-parameters`` cell, no stderr, **no ``<script src>`` and no URL outside the page**
(nbconvert's own templates load require.js and MathJax from a CDN), images inline as data
URIs with the alt text from the output metadata, ``<html lang>`` set, no parameter names
(the brief's own first cell states its facts in words) and the provenance stamp at the end
(visible with plain labels, and as an
``<script type="application/json" id="ssp-provenance">`` data block, which browsers never
execute). The PDF is rendered from that HTML with weasyprint, offline.

Cell tags understood by the export: ``lang-nb`` / ``lang-en`` (markdown kept only in that
language), ``remove-cell``, ``remove-output``.

Examples
--------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook()
>>> md = nbformat.v4.new_markdown_cell
>>> nb.cells = [md("## Funn"), md("## Findings")]
>>> nb.cells[0].metadata["tags"] = ["lang-nb"]
>>> nb.cells[1].metadata["tags"] = ["lang-en"]
>>> html = export_html(nb, "en", {"unit": "Trondheim", "wave": 2025})
>>> 'lang="en"' in html, "Findings" in html, "Funn" in html, "<script src" in html
(True, True, False, False)
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import nbformat

from ssp_research.core import paths
from ssp_research.core.errors import ReportError
from ssp_research.data.inputs import INPUT_MIME

__all__ = ["export_html", "export_pdf", "layout_pdf", "filter_notebook", "TEXTS"]

_TEMPLATE_DIR = paths.resource_path("templates")
_LANGS = ("nb", "en")

TEXTS = {
    "nb": {"kicker": "Kunnskapsgrunnlag",
           "provenance": "Opphav og versjoner", "title": "Kunnskapsgrunnlag: {unit}, {wave}",
           "pupils_kicker": "Ungdata", "pupils_title": "Dette fortalte dere: {unit}, {wave}",
           "pupils_footer": "Laget av kommunen med SteinSaksPapir-verktøyet.",
           "figure": "Figur", "table": "Tabell"},
    "en": {"kicker": "Evidence brief",
           "provenance": "Provenance and versions", "title": "Evidence brief: {unit}, {wave}",
           "pupils_kicker": "Ungdata", "pupils_title": "What you told us: {unit}, {wave}",
           "pupils_footer": "Made by the municipality with the SteinSaksPapir workbench.",
           "figure": "Figure", "table": "Table"},
}  # fmt: skip

_EXPORTER = None

def filter_notebook(nb, lang: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` with only what a reader of the brief in ``lang`` should see.

    Drops the ``parameters`` / ``injected-parameters`` / ``remove-cell`` cells, markdown
    cells tagged for the other language, outputs of ``remove-output`` cells, stderr streams,
    the records of the data read (:data:`~ssp_research.data.inputs.INPUT_MIME`) and
    papermill's error banner; keeps everything else in order.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> c = nbformat.v4.new_code_cell("x = 1")
    >>> c.metadata["tags"] = ["injected-parameters"]
    >>> nb.cells = [c, nbformat.v4.new_markdown_cell("text")]
    >>> [cell.source for cell in filter_notebook(nb, "nb").cells]
    ['text']
    """
    other = {f"lang-{x}" for x in _LANGS if x != lang}
    drop = {"parameters", "injected-parameters", "remove-cell"} | other
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & drop:
            continue
        if cell.cell_type == "markdown" and "papermill-error-cell-tag" in tags:
            continue
        if cell.cell_type == "code":
            if "remove-output" in tags:
                cell.outputs = []
            else:
                cell.outputs = [o for o in cell.outputs
                                if not (o.output_type == "stream" and o.name == "stderr")
                                and INPUT_MIME not in o.get("data", {})]
        cells.append(cell)
    out.cells = cells
    return out


def _exporter():
    global _EXPORTER
    if _EXPORTER is None:
        from nbconvert import HTMLExporter
        from nbconvert.preprocessors import CoalesceStreamsPreprocessor

        _EXPORTER = HTMLExporter(
            template_name="ssp_brief", extra_template_basedirs=[str(_TEMPLATE_DIR)],
            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        )  # fmt: skip
        # A kernel may send one print as several stream outputs (it flushes on a timer):
        # one block of text each, not a line broken across blocks.
        _EXPORTER.register_preprocessor(CoalesceStreamsPreprocessor(enabled=True),
                                        enabled=True)
    return _EXPORTER


def _show(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "–"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "–"
    return "–" if value is None or value == "" else str(value)


_PATH_KEYS = ("_path", "_file", "_dir")


def _visible(key: str, value) -> str:
    """A header value: path-valued entries by file name only (no internal folders).

    >>> _visible("data_path", "/srv/ssp/data/trondheim.parquet"), _visible("unit", "Lade")
    ('trondheim.parquet', 'Lade')
    >>> _visible("template", "/opt/x/brief.ipynb")
    'brief.ipynb'
    """
    if isinstance(value, (str, os.PathLike)) and str(value) and (
            key.endswith(_PATH_KEYS) or os.path.isabs(str(value))):
        return Path(value).name or "–"
    return _show(value)


_PROVENANCE_LABELS = {
    "nb": {"data_file": "Datafil", "data_sha256": "Datafilens sjekksum (SHA-256)",
           "template": "Notatbokmal", "template_sha256": "Malens sjekksum (SHA-256)",
           "code_version": "Versjon av verktøyet", "git_commit": "Kodeversjon (git)",
           "python": "Python", "created_utc": "Laget (UTC)", "packages": "Pakker"},
    "en": {"data_file": "Data file", "data_sha256": "Data file checksum (SHA-256)",
           "template": "Notebook template", "template_sha256": "Template checksum (SHA-256)",
           "code_version": "Workbench version", "git_commit": "Code version (git)",
           "python": "Python", "created_utc": "Made (UTC)", "packages": "Packages"},
}  # fmt: skip


def _provenance_rows(stamp: dict, lang: str = "en") -> list[tuple[str, str]]:
    labels = _PROVENANCE_LABELS[lang]
    rows = []
    for key in ("data_file", "data_sha256", "template", "template_sha256", "code_version",
                "git_commit", "python", "created_utc"):
        if key in stamp:
            rows.append((labels[key], _visible(key, stamp[key])))
    if stamp.get("packages"):
        rows.append((labels["packages"],
                     ", ".join(f"{k} {v}" for k, v in stamp["packages"].items())))
    return rows


def export_html(nb, lang: str, parameters: dict, *, provenance: dict | None = None,
                title: str | None = None, audience: str = "adults") -> str:
    """Render an executed brief notebook as one self-contained HTML page.

    Parameters
    ----------
    nb : nbformat.NotebookNode or path
        The executed notebook.
    lang : {"nb", "en"}
        Language of the page (``<html lang>``, header texts, which ``lang-*`` cells are kept).
    parameters : dict
        The run's parameters: ``unit`` and ``wave`` make the default title; none is shown
        by name (they are in the provenance JSON, which ``ssp rerun`` reads).
    provenance : dict, optional
        The stamp from :func:`ssp_research.render.provenance.provenance`, shown at the end
        and embedded as JSON (``<script type="application/json" id="ssp-provenance">``).
    title : str, optional
        Page title; default "Kunnskapsgrunnlag: <unit>, <wave>" / "Evidence brief: ...".
    audience : {"adults", "pupils"}
        ``pupils``: "Dette fortalte dere" / "What you told us", large text, and the
        provenance only as the JSON data block (``ssp rerun`` reads it).

    Returns
    -------
    str
        The HTML document (UTF-8 text).
    """
    if lang not in _LANGS:
        raise ReportError(f"unknown language {lang!r}", rule="lang is 'nb' or 'en'")
    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.read(Path(nb), as_version=4)
    if audience not in ("adults", "pupils"):
        raise ReportError(f"unknown audience {audience!r}", rule="adults or pupils")
    texts = dict(TEXTS[lang])
    if audience == "pupils":
        texts["kicker"], texts["title"] = texts["pupils_kicker"], texts["pupils_title"]
    title = title or texts["title"].format(unit=parameters.get("unit", ""),
                                           wave=parameters.get("wave", ""))
    stamp = provenance or {}
    resources = {"ssp": {
        "lang": lang, "title": title, "text": texts, "audience": audience,
        "css": (_TEMPLATE_DIR / "ssp_brief" / "brief.css").read_text(encoding="utf-8"),
        "provenance": stamp, "provenance_rows": _provenance_rows(stamp, lang),
        # a JSON data block: no "<" or ">" at all, so nothing can end the element early
        "provenance_json": json.dumps(stamp, ensure_ascii=False, default=str)
        .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"),
    }}  # fmt: skip
    body, _ = _exporter().from_notebook_node(filter_notebook(nb, lang), resources=resources)
    return number_exhibits(body, lang)


_NUM = re.compile(r'<span class="ssp-num" data-kind="(figure|table)"></span>')


def number_exhibits(html: str, lang: str) -> str:
    """Number the page's figures and tables in reading order: each caption's placeholder
    ``<span class="ssp-num" data-kind="figure|table"></span>`` becomes "Figur 1. " /
    "Tabell 2. " (en: "Figure", "Table"), and the figure or table gets ``id="figur-1"``
    / ``id="tabell-2"`` (en: ``figure-1``, ``table-2``) so that a text can link to it.

    >>> number_exhibits('<figcaption><span class="ssp-num" data-kind="figure"></span>'
    ...                 'Trend</figcaption>', "nb")
    '<figcaption><span class="ssp-num" id="figur-1">Figur 1. </span>Trend</figcaption>'
    """
    counts = {"figure": 0, "table": 0}

    def number(m: re.Match) -> str:
        kind = m.group(1)
        counts[kind] += 1
        word = TEXTS[lang][kind]
        return (f'<span class="ssp-num" id="{word.lower()}-{counts[kind]}">'
                f"{word} {counts[kind]}. </span>")

    return _NUM.sub(number, html)


def _rgb8_idat(png: bytes) -> bytes | None:
    """The image data (IDAT chunks joined) of an 8-bit RGB, non-interlaced PNG, else None.

    That zlib stream of PNG-filtered rows is what a PDF image with ``/FlateDecode`` and PNG
    predictors holds, so it can be embedded as it is.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (3, 2), "teal").save(buf, format="png")
    >>> import zlib; raw = zlib.decompress(_rgb8_idat(buf.getvalue()))
    >>> len(raw)  # 2 rows of (1 filter byte + 3 pixels x 3 bytes)
    20
    >>> buf = io.BytesIO(); Image.new("RGBA", (3, 2)).save(buf, format="png")
    >>> _rgb8_idat(buf.getvalue()) is None
    True
    """
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        return None
    depth, colour, _, _, interlace = png[24:29]
    if (depth, colour, interlace) != (8, 2, 0):
        return None
    chunks, pos = [], 8
    while pos + 8 <= len(png):
        length = int.from_bytes(png[pos:pos + 4], "big")
        kind = png[pos + 4:pos + 8]
        if kind in (b"tRNS", b"PLTE"):  # transparency: weasyprint's own path
            return None
        if kind == b"IDAT":
            chunks.append(png[pos + 8:pos + 8 + length])
        pos += 12 + length
    return b"".join(chunks) or None


_PASSTHROUGH = False


def _embed_png_as_is() -> None:
    """Make weasyprint embed 8-bit RGB PNGs without decoding and re-encoding them.

    weasyprint decodes every PNG and encodes it again to take its IDAT data (about 40 ms per
    figure here, a third of a brief's PDF time); the pass-through of PNGs that need no change
    was left open upstream (Kozea/WeasyPrint#1481). Our figures are opaque 8-bit RGB
    (:func:`ssp_research.brief.theme.figure_bundle`), so their IDAT data go in as they are, with
    the same stream dictionary weasyprint writes; anything else takes weasyprint's own path.
    ``tests/test_report.py`` checks that the embedded pixels equal the figure's.
    """
    global _PASSTHROUGH
    if _PASSTHROUGH:
        return
    import pydyf
    from weasyprint.images import RasterImage

    original = RasterImage.get_x_object

    def get_x_object(self, interpolate, dpi_ratio):
        idat = None
        if dpi_ratio == 1 and self.format == "PNG" and self.mode == "RGB":
            idat = _rgb8_idat(self.image_data.data)
        if idat is None:
            return original(self, interpolate, dpi_ratio)
        return pydyf.Stream([idat], pydyf.Dictionary({
            "Type": "/XObject", "Subtype": "/Image", "Width": self.width,
            "Height": self.height, "ColorSpace": "/DeviceRGB", "BitsPerComponent": 8,
            "Interpolate": "true" if interpolate else "false", "Filter": "/FlateDecode",
            "DecodeParms": pydyf.Dictionary({"Predictor": 15, "Columns": self.width,
                                             "Colors": 3}),
        }))  # fmt: skip

    RasterImage.get_x_object = get_x_object
    _PASSTHROUGH = True


def export_pdf(html: str) -> bytes:
    """Render brief HTML to PDF with weasyprint, offline.

    Only ``data:`` URLs are loaded; any other URL in the page is an error, so a PDF can never
    depend on the network.

    Returns
    -------
    bytes
        The PDF document.

    Examples
    --------
    >>> export_pdf("<html><body><p>hei</p></body></html>")[:5]
    b'%PDF-'
    """
    return layout_pdf(html).write_pdf()


def layout_pdf(html: str):
    """The brief laid out on paper: weasyprint's pages, offline (see :func:`export_pdf`).

    Returns
    -------
    weasyprint.document.Document
        Its ``pages`` hold the boxes as printed (positions in CSS px), for layout checks;
        ``write_pdf()`` gives the file.

    Examples
    --------
    >>> len(layout_pdf("<html><body><p>hei</p></body></html>").pages)
    1
    """
    import base64
    import logging
    import re

    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    # The figures' data URLs (0.5 MB of base64) leave the page before weasyprint's pure-Python
    # HTML parser reads it; the fetcher hands their bytes back by a short name.
    images: dict[str, bytes] = {}

    def stash(match: re.Match) -> str:
        name = f"ssp-image:{len(images)}"
        images[name] = base64.b64decode(match[2])
        return match[1] + name

    html = re.sub(r'(<img\b[^>]*?\bsrc=")data:image/png;base64,([A-Za-z0-9+/=]+)(?=")',
                  stash, html)

    class _OfflineFetcher(URLFetcher):
        def __init__(self):
            super().__init__(allowed_protocols={"data"})
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if url in images:
                return URLFetcherResponse(url, images[url], {"Content-Type": "image/png"})
            if not url.startswith("data:"):
                self.refused.append(url)
            return super().fetch(url, headers)

    _embed_png_as_is()
    fetcher = _OfflineFetcher()
    log = logging.getLogger("weasyprint")
    level = log.level
    log.setLevel(logging.ERROR)  # unsupported-CSS chatter
    try:
        document = HTML(string=html, url_fetcher=fetcher).render()
    finally:
        log.setLevel(level)
    if fetcher.refused:
        raise ReportError(f"the page refers to external resources: {fetcher.refused[:5]}",
                          rule="briefs are self-contained", hint="inline images as data: URLs")
    return document
