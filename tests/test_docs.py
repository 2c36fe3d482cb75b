"""The API reference site (``make docs``) builds without a warning and shows what it promises.

The site is built once into a temporary folder, exactly as ``make docs`` builds it (Sphinx,
warnings as errors), so a docstring that breaks the reST, a page that points at a function
that does not exist, or a study notebook that can no longer be rendered fails the tests.
"""

from __future__ import annotations

import html
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="the docs extra is missing: pip install -e .[docs]")

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "site"

pytestmark = pytest.mark.docs


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going",
         "-d", str(out / "doctrees"), str(SITE), str(out / "html")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, f"the site does not build cleanly:\n{run.stderr[-4000:]}"
    return out / "html"


def _text(page: Path) -> str:
    """The page's visible text, tags removed and entities decoded, whitespace collapsed."""
    body = page.read_text(encoding="utf-8")
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def _section(page_html: str, title: str) -> str:
    """The HTML of a numpydoc field (Parameters, Returns) or rubric (Examples) section."""
    start = re.search(rf">{title}<", page_html)
    assert start, f"no {title} section"
    rest = page_html[start.end():]
    stop = re.search(r"<dt class=\"field-(odd|even)\">|<p class=\"rubric\">|</dl>\s*</dd>\s*</dl>",
                     rest)
    return rest[: stop.start()] if stop else rest


def test_the_proportion_page_shows_its_parameters_and_an_example(site):
    page = site / "api" / "generated" / "ssp_research.survey.design.SurveyDesign.proportion.html"
    assert page.exists(), "SurveyDesign.proportion has no page"
    raw = page.read_text(encoding="utf-8")
    # the signature lists every parameter by name (no **kwargs)
    signature = re.search(r'<dt class="sig sig-object py".*?</dt>', raw, flags=re.S).group(0)
    sig_text = _text_of(signature)
    for name in ("variables", "by", "method", "level", "deff"):
        assert re.search(rf"\b{name}\b", sig_text), f"{name} missing from the signature"
    assert "kwargs" not in sig_text
    # the numpydoc Parameters section documents method= (with its choices) and level=
    # (numpydoc writes each name in <strong> with its type as a classifier; the theme's
    # CSS draws the colon between them)
    section = _section(raw, "Parameters")
    params = _text_of(section)
    for name in ("method", "level"):
        assert re.search(rf'<strong>{name}</strong><span class="classifier">', section), name
    assert "likelihood" in params and "beta" in params
    # an Examples section with a doctest that calls the method
    examples = _section(raw, "Examples")
    assert "&gt;&gt;&gt;" in examples and ".proportion(" in _text_of(examples)


def _text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", fragment)))


def _inventory(site: Path) -> set[str]:
    from sphinx.util.inventory import InventoryFile

    with open(site / "objects.inv", "rb") as f:
        inv = InventoryFile.load(f, "", os.path.join)
    return {name for kind, items in inv.items() if kind.startswith("py:") for name in items}


@pytest.mark.parametrize("stage", ["survey", "analysis", "data", "disclosure", "brief",
                                   "render", "batch", "core"])
def test_every_public_name_of_a_stage_is_documented(site, stage):
    documented = _inventory(site)
    package = importlib.import_module(f"ssp_research.{stage}")
    missing = [name for name in package.__all__
               if not any(d.startswith(f"ssp_research.{stage}.") and d.endswith(f".{name}")
                          for d in documented)]
    assert not missing, f"ssp_research.{stage} exports names the site does not document: {missing}"


def test_every_method_of_the_design_has_a_page(site):
    from ssp_research.survey.design import SurveyDesign

    public = [n for n, v in vars(SurveyDesign).items()
              if not n.startswith("_") and callable(v)]
    pages = {p.name for p in (site / "api" / "generated").glob("*.html")}
    missing = [n for n in public
               if f"ssp_research.survey.design.SurveyDesign.{n}.html" not in pages]
    assert not missing and len(public) >= 15, missing


#: R survey functions the library has an equivalent of; each must be on the R page.
R_FUNCTIONS = ["svydesign", "survey.lonely.psu", "subset", "update", "degf", "weights",
               "svyrecvar", "svymean", "svytotal", "svyratio", "svyciprop", "svyquantile",
               "qrule", "interval.type", "svyby", "confint", "SE", "coef", "deff",
               "postStratify", "rake", "calibrate", "svyglm", "regTermTest", "svyttest",
               "svycontrast", "svychisq", "svystandardize"]


def test_the_r_page_maps_every_r_function_to_a_linked_equivalent(site):
    raw = (site / "r_survey.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", raw, flags=re.S)
    r_column = " ".join(_text_of(re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S)[0])
                        for r in rows if "<td" in r)
    for fn in R_FUNCTIONS:
        assert re.search(rf"(?<![\w.]){re.escape(fn)}(?![\w])", r_column), f"{fn} not mapped"
    # the equivalents are links into the API pages (the build fails on a dangling one)
    for target in ("SurveyDesign.proportion", "SurveyDesign.quantile", "SurveyDesign.glm",
                   "termtest.regtermtest", "SurveyDesign.chisq", "SurveyDesign.poststratify"):
        assert re.search(rf'href="api/generated/ssp_research\.survey\.[\w.]*{target}\.html',
                         raw), f"no link to {target}"


def test_every_study_notebook_is_a_worked_example_with_its_outputs(site):
    notebooks = sorted((ROOT / "notebooks" / "studies").glob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        page = site / "studies" / f"{nb.stem}.html"
        assert page.exists(), f"{nb.name} is not on the site"
        raw = page.read_text(encoding="utf-8")
        # committed outputs: figures embedded, and the fingerprint of the synthetic data
        assert re.search(r'<img[^>]+src="[^"]*\.png"', raw), f"{nb.name}: no figure"
        assert "Data: data/synthetic/" in _text(page), f"{nb.name}: no data fingerprint"
    index = (site / "studies" / "index.html").read_text(encoding="utf-8")
    for nb in notebooks:
        assert f'href="{nb.stem}.html"' in index, f"the studies page does not list {nb.name}"


def test_the_guides_include_the_docs_markdown(site):
    for md in sorted((ROOT / "docs").glob("*.md")):
        page = site / "guides" / f"{md.stem.lower()}.html"
        assert page.exists(), f"docs/{md.name} is not on the site"
        heading = md.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
        words = re.findall(r"\w+", heading)  # Sphinx typesets the quotes: compare the words
        assert words and words == re.findall(r"\w+", _text(page))[: len(words)], md.name
