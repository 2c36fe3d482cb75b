"""Structure of the brief templates and of the briefs exported from their committed runs.

The committed notebooks in ``notebooks/briefs/`` hold the default run on the shipped synthetic
data (Trondheim, latest wave, nb). These tests need no kernel: they read the templates, export
the committed runs to HTML and PDF in-process and check what a reader and the audit get.
"""

from __future__ import annotations

import ast
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pypdf
import pytest

from ssp_research.core import paths
from ssp_research.disclosure.auditing import audit
from ssp_research.render import runner as report
from ssp_research.render.export import export_html, export_pdf

BRIEFS = sorted((paths.notebooks_dir() / "briefs").glob("*.ipynb"))
NAMES = [p.stem for p in BRIEFS]


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


@pytest.fixture(scope="module", params=BRIEFS, ids=NAMES)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_both_templates_exist():
    assert {"evidence_brief", "pilot_evaluation"} <= set(NAMES)


def test_parameters_are_typed_literals_with_comments(notebook):
    path, nb = notebook
    spec = report.template_parameters(path)
    assert {"data_path", "unit_type", "unit", "wave", "lang", "disclosure"} <= set(spec)
    for name, p in spec.items():
        assert p.comment, f"{path.name}: parameter {name} has no comment"
    # the pupils' version is read in a school class: its default run is a school's
    unit = "Bekkedalen skole" if path.stem == "pupils_brief" else "Trondheim"
    assert spec["lang"].default == "nb" and spec["unit"].default == unit
    assert spec["data_path"].default == "data/synthetic/trondheim.parquet"


def test_narrative_and_library_calls_only(notebook):
    path, nb = notebook
    for cell in nb.cells:
        if cell.cell_type != "code" or _tags(cell) & {"parameters", "injected-parameters"}:
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Lambda,
                                         ast.For, ast.While)), (path.name, cell.source)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = getattr(node, "module", None) or node.names[0].name
                assert module.startswith("ssp_research"), (path.name, module)


def test_every_heading_exists_in_both_languages(notebook):
    path, nb = notebook
    heads = {"nb": [], "en": []}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            tags = _tags(cell)
            assert tags & {"lang-nb", "lang-en", "remove-cell"}, (path.name, cell.source[:40])
            for lang in heads:
                if f"lang-{lang}" in tags:
                    heads[lang] += re.findall(r"^#+ .*$", cell.source, re.M)
    assert len(heads["nb"]) == len(heads["en"]) >= 2


def test_committed_run_is_the_default_run(notebook):
    path, nb = notebook
    injected = [c for c in nb.cells if "injected-parameters" in _tags(c)]
    assert len(injected) == 1, "commit the executed default run (papermill output)"
    spec = report.template_parameters(path)
    values = {}
    exec(injected[0].source, {}, values)  # noqa: S102 - literal assignments written by papermill
    defaults = {k: p.default for k, p in spec.items()}
    assert {k: v for k, v in values.items() if k != "wave"} == {
        k: v for k, v in defaults.items() if k != "wave"}
    assert values["wave"] == 2025  # the latest wave of the shipped data
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code)
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", cell.source
            text = json.dumps(out)
            assert "/work/" not in text and "/tmp/" not in text and "/home/" not in text
            if "image/png" in out.get("data", {}):
                assert out.metadata["image/png"]["alt"].strip()
    checked = [c for c in code if "nbval-check-output" in _tags(c)]
    assert checked and all(c.outputs for c in checked)


# --- the exported brief ------------------------------------------------------------------------


class _Doc(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.heads: list[tuple[str, str]] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "h2", "h3"):
            self._in, self._buf = tag, ""

    def handle_data(self, data):
        if self._in:
            self._buf += data

    def handle_endtag(self, tag):
        if tag == self._in:
            self.heads.append((tag, self._buf.replace("¶", "").strip()))
            self._in = None


def _parse(html: str) -> _Doc:
    doc = _Doc()
    doc.feed(html)
    return doc


EXPECTED_H2 = {
    ("evidence_brief", "nb"): ["Hovedfunn", "Indikatorer etter innsatsområde",
                               "Utvikling over tid", "Forskjeller mellom grupper",
                               "Pilotprogrammet", "Metode og data", "Opphav og versjoner"],
    ("evidence_brief", "en"): ["Key findings", "Indicators by strategy goal",
                               "Trends over time", "Differences between groups",
                               "The pilot programme", "Method and data",
                               "Provenance and versions"],
    ("pilot_evaluation", "nb"): ["Resultat", "Utvikling i pilotskoler og andre skoler",
                                 "Modellen", "Metode og data", "Opphav og versjoner"],
}  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """HTML of each committed run in nb (and the evidence brief also in en), plus its PDF."""
    out = {}
    for path in BRIEFS:
        nb = nbformat.read(path, as_version=4)
        params = report.validate_parameters(path, {"wave": 2025})
        stamp = report.provenance(params, params["data_path"], path)
        for lang in ("nb", "en"):
            out[path.stem, lang] = export_html(nb, lang, {**params, "lang": lang},
                                               provenance=stamp)
    return out


@pytest.mark.parametrize("key", list(EXPECTED_H2), ids=["-".join(k) for k in EXPECTED_H2])
def test_html_sections_language_and_alt_text(exported, key):
    html = exported[key]
    doc = _parse(html)
    lang = key[1]
    assert dict(doc.tags)["html"]["lang"] == lang
    assert [t for h, t in doc.heads if h == "h2"] == EXPECTED_H2[key]
    imgs = [a for t, a in doc.tags if t == "img"]
    assert imgs and all(a.get("alt", "").strip() for a in imgs)
    assert all(a["src"].startswith("data:image/png;base64,") for a in imgs)
    assert not [a for t, a in doc.tags if t == "script" and a.get("type") != "application/json"]
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    for tag, attrs in doc.tags:
        if tag == "table":
            assert attrs.get("class") == "ssp-table", attrs
        if tag == "tr" and "data-ssp-status" in attrs:
            assert attrs["data-ssp-status"] in ("shown", "suppressed")
            assert int(attrs["data-ssp-n"]) >= 0


def test_evidence_brief_goals_and_numbers(exported):
    html = exported["evidence_brief", "nb"]
    doc = _parse(html)
    goals = [t for h, t in doc.heads if h == "h3" and t[:2] in ("1.", "2.", "3.", "4.", "5.")]
    assert len(goals) == 5 and goals[3] == "4. Psykisk helse"
    rows = [a for t, a in doc.tags if t == "tr" and "data-ssp-n" in a]
    assert len(rows) >= 10
    assert "Ikke målt i undersøkelsen" in html  # goals 2 and 5 have no survey indicator
    assert "\u00a0%" in html and "%" in exported["evidence_brief", "en"]
    # Norwegian number format: decimal comma in the differences, no "0.5"-style decimals
    table = re.search(r'<table class="ssp-table"[^>]*>.*?</table>', html, re.S).group(0)
    assert re.search(r"\d,\d", table) and not re.search(r"\d\.\d", table)
    assert re.search(r'class="ssp-n num">\d\u00a0\d{3}<', table)  # 6 481 answers in Bokmål
    headlines = re.search(r'<ol class="ssp-headlines">(.*?)</ol>', html, re.S).group(1)
    assert 3 <= headlines.count("<li") <= 7


class _Prose(HTMLParser):
    """The running text a reader reads: paragraphs and list items outside tables, the
    header and the provenance footer."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.paras: list[str] = []
        self.visible: list[str] = []
        self._cur: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)
        if tag in ("p", "li") and not {"table", "footer", "figcaption"} & set(self.stack):
            self._cur = []

    def handle_endtag(self, tag):
        if tag in ("p", "li") and self._cur is not None:
            self.paras.append("".join(self._cur).strip())
            self._cur = None
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        if {"style", "script"} & set(self.stack):
            return
        self.visible.append(data)
        if self._cur is not None:
            self._cur.append(data)


def test_a_reader_sees_plain_facts_not_code_words(exported):
    """The header states unit, survey, years, answers and response rate in words; no
    parameter name appears anywhere a reader looks (the JSON block keeps them for reruns)."""
    html = exported["evidence_brief", "nb"]
    facts = re.search(r'<dl class="ssp-facts" id="ssp-facts">(.*?)</dl>', html, re.S).group(1)
    for label in ("Enhet", "Undersøkelse", "År", "Svar", "Svarprosent", "Strategi"):
        assert f"<dt>{label}</dt>" in facts
    assert re.search(r"<dd>\d{2} % av elevene svarte \(6 648 av \d \d{3}\)</dd>",
                     facts)
    prose = _Prose()
    prose.feed(html)
    visible = " ".join(prose.visible)
    for word in ("data_path", "unit_type", "publication_path", "standardise", "instrument ",
                 "data_sha256", "trondheim.parquet;", "Trondheim 2025"):
        assert word not in visible, word


@pytest.mark.parametrize("lang, fig, tab", [("nb", "Figur", "Tabell"), ("en", "Figure", "Table")])
def test_figures_and_tables_are_numbered_titled_and_captioned(exported, lang, fig, tab):
    html = exported["evidence_brief", lang]
    figures = re.findall(r"<figure [^>]*>(.*?)</figure>", html, re.S)
    # a trend figure per measured goal (3), then the group differences and the pilot
    assert len(figures) == 7 and len(figures) == html.count("<img ")
    numbers = []
    for i, f in enumerate(figures, start=1):
        cap = re.search(r"<figcaption>(.*?)</figcaption>", f, re.S).group(1)
        assert cap.startswith(f'<span class="ssp-num" id="{fig.lower()}-{i}">{fig} {i}. </span>'
                              "<strong>")
        assert re.search(r"\b20\d\d\b", cap)  # the years it covers
        alt = re.search(r'alt="([^"]*)"', f).group(1)
        assert 40 < len(alt) < 200  # short: the numbers are in the table under the figure
        numbers.append(i)
    # every figure's numbers are folded under it, as a protected table
    assert html.count('<details class="ssp-figdata">') == len(figures)
    captions = re.findall(r"<caption>(.*?)</caption>", html, re.S)
    assert len(captions) >= 3
    for i, cap in enumerate(captions, start=1):
        assert cap.startswith(f'<span class="ssp-num" id="{tab.lower()}-{i}">{tab} {i}. </span>')
    # headers with scope, row names as row headers, numbers right-aligned (class num)
    for table in re.findall(r'<table class="ssp-table".*?</table>', html, re.S):
        assert "<th>" not in table and '<th scope="col"' in table
        for row in re.findall(r"<tr data-ssp-n=.*?</tr>", table, re.S):
            assert row.split(">", 1)[1].startswith('<th scope="row"'), row
            assert all("num" in c for c in re.findall(r'<td class="(ssp-value[^"]*)"', row))
    assert ".ssp-table-wrap" in html and 'class="ssp-table-wrap"' in html


def test_body_text_is_easy_to_read(exported):
    """Klarspråk: the running text of the Bokmål brief has LIX <= 40 (LIX: words per
    sentence + % words over six letters; Norwegian public information is typically 40-50)."""
    from ssp_research.brief.language import lix

    prose = _Prose()
    prose.feed(exported["evidence_brief", "nb"])
    body = " ".join(p for p in prose.paras if p)
    assert len(body) > 2000
    assert lix(body) <= 40, round(lix(body), 1)


def test_exported_briefs_pass_the_disclosure_audit(exported, tmp_path):
    for (name, lang), html in exported.items():
        (tmp_path / f"{name}_{lang}.html").write_text(html, encoding="utf-8")
    for path in BRIEFS:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    findings = audit(tmp_path)
    assert findings == [], findings


def _outline_titles(outline) -> list[str]:
    titles = []
    for item in outline:
        if isinstance(item, list):
            titles += _outline_titles(item)
        else:
            titles.append(item.title)
    return titles


def test_pdf_structure(exported):
    # Read with a real PDF parser: WeasyPrint may pack the catalog into compressed
    # object streams, so byte patterns are not a reliable reading of the file.
    pdf = export_pdf(exported["evidence_brief", "en"])
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert reader.trailer["/Root"]["/Lang"] == "en"
    titles = _outline_titles(reader.outline)
    for head in EXPECTED_H2["evidence_brief", "en"]:
        assert head in titles, (head, titles)
    figures = len(re.findall(r"<img ", exported["evidence_brief", "en"]))
    images = sum(len(page.images) for page in reader.pages)
    assert images >= figures >= 5
    assert len(reader.pages) >= 3


def test_templates_are_in_the_package_paths():
    assert report.DEFAULT_TEMPLATE == Path(paths.notebooks_dir()) / "briefs" / \
        "evidence_brief.ipynb"
