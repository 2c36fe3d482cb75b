"""The brief as its readers meet it: on screen, on a phone and on paper.

Four briefs are built as a scheduler builds them (``run_brief``, in a fresh output folder):
the city (in Bokmål and English), a district and a small school pooled over three surveys.
Each is checked

- in Debian's chromium with axe-core (the accessibility rules browsers' audits use): no
  violation at all;
- at a 400 px phone width: nothing wider than the screen, no text under 12 px;
- at a 1000 px desktop width: every table fits (none scrolls inside its box);
- on paper, from WeasyPrint's page layout (the boxes as printed): nothing beyond the right
  margin, no heading at the foot of a page (some text follows it on its page), no figure
  split from its caption, and no page under a third full except the last.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ssp_research.render import runner
from ssp_research.render.export import layout_pdf

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

BRIEFS = {
    "city": {"wave": 2025},
    "city_en": {"wave": 2025, "lang": "en"},
    "district": {"wave": 2025, "unit_type": "district", "unit": "Heimdal"},
    "school_pooled": {"wave": 2025, "unit_type": "school", "unit": "Kvernbekken skole",
                      "pool": 3},
}


@pytest.fixture(scope="module")
def briefs(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("layout")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSP_OUTPUT_DIR", str(out / "outputs"))
        return {name: runner.run_brief(params, out_dir=out / "briefs", pdf=False).html_path
                for name, params in BRIEFS.items()}


# ---- paper -----------------------------------------------------------------------------------
def _text(element) -> str:
    return " ".join("".join(element.itertext()).split()).replace("¶", "")


def _pages(html: str) -> list[dict]:
    """Per printed page: how full it is (0-1), its headings, the bottoms of its text lines
    and the figures (``<figure>`` elements) it holds a part of."""
    pages = []
    for page in layout_pdf(html).pages:
        box = page._page_box
        top, height = box.content_box_y(), box.height
        right = box.content_box_x() + box.width
        seen = {"lines": [], "headings": [], "figures": set(), "overflow": []}

        def walk(b, figure=None, heading=False):
            tag = getattr(b, "element_tag", None)
            kind = type(b).__name__
            if tag == "figure" and kind == "BlockBox":
                figure = b.element
            if tag in ("h2", "h3", "h4") and kind == "BlockBox":
                heading = True
                seen["headings"].append(
                    (_text(b.element), (b.position_y + b.margin_height() - top) / height))
            if kind in ("LineBox", "BlockReplacedBox", "InlineReplacedBox"):
                seen["lines"].append(((b.position_y + b.margin_height() - top) / height,
                                      heading))
                hidden = b.element is not None and "ssp-sr" in (b.element.get("class") or "")
                if b.position_x + b.margin_width() > right + 1 and not hidden:
                    seen["overflow"].append(_text(b.element)[:40])
                if figure is not None:
                    seen["figures"].add(id(figure))
            for child in getattr(b, "children", ()):
                walk(child, figure, heading)

        walk(box.children[0])  # the root box, without the page's margin boxes
        pages.append({
            "fill": max((y for y, _ in seen["lines"]), default=0.0),
            "headings": seen["headings"],
            "text_bottoms": [y for y, in_heading in seen["lines"] if not in_heading],
            "figures": seen["figures"],
            "overflow": seen["overflow"],
        })
    return pages


@pytest.fixture(scope="module")
def printed(briefs) -> dict[str, list[dict]]:
    return {name: _pages(path.read_text(encoding="utf-8")) for name, path in briefs.items()}


@pytest.mark.parametrize("name", sorted(BRIEFS))
def test_no_heading_at_the_foot_of_a_page(printed, name):
    for number, page in enumerate(printed[name], start=1):
        for heading, bottom in page["headings"]:
            assert any(y > bottom + 0.01 for y in page["text_bottoms"]), (
                f"{name}: '{heading}' ends page {number} with nothing under it")


@pytest.mark.parametrize("name", sorted(BRIEFS))
def test_nothing_wider_than_the_paper(printed, name):
    # (text for screen readers only is clipped to 1 px and may sit outside)
    cut = [(number, text) for number, page in enumerate(printed[name], start=1)
           for text in page["overflow"]]
    assert cut == [], f"{name}: cut off at the right edge {cut[:5]}"


@pytest.mark.parametrize("name", sorted(BRIEFS))
def test_no_page_under_a_third_full_except_the_last(printed, name):
    fills = [round(p["fill"], 2) for p in printed[name]]
    assert len(fills) >= 3
    assert all(f >= 1 / 3 for f in fills[:-1]), f"{name}: page fills {fills}"


@pytest.mark.parametrize("name", sorted(BRIEFS))
def test_a_figure_stays_with_its_caption(printed, briefs, name):
    figures = briefs[name].read_text(encoding="utf-8").count("<figure ")
    where: dict[int, list[int]] = {}
    for number, page in enumerate(printed[name], start=1):
        for figure in page["figures"]:
            where.setdefault(figure, []).append(number)
    assert len(where) == figures >= 3, f"{name}: {len(where)} of {figures} figures printed"
    split = [pages for pages in where.values() if len(pages) > 1]
    assert split == [], f"{name}: figures split over pages {split}"


# ---- screen and phone ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _in_browser(browser, path: Path, width: int, look):
    """``look(page)`` on the brief at ``path`` in a viewport ``width`` px wide."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(path.as_uri(), wait_until="load")
        return look(page)
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("name", sorted(BRIEFS))
def test_axe_finds_no_accessibility_violation(browser, briefs, name):
    from axe_playwright_python.sync_playwright import Axe

    result = _in_browser(browser, briefs[name], 1000, Axe().run)
    violations = [(v["impact"], v["id"], v["help"], v["nodes"][0]["html"][:120])
                  for v in result.response["violations"]]
    assert result.response["passes"], "axe ran no rules"
    assert violations == [], f"{name}: {violations}"


@pytest.mark.browser
@pytest.mark.parametrize("name", sorted(BRIEFS))
def test_tables_fit_a_desktop_screen(browser, briefs, name):
    wide = _in_browser(browser, briefs[name], 1000, lambda page: page.evaluate(
        """() => [...document.querySelectorAll('.ssp-table-wrap')]
            .filter(w => w.scrollWidth > w.clientWidth + 1)
            .map(w => w.querySelector('caption').textContent)"""))
    assert wide == [], f"{name}: tables that scroll at 1000 px: {wide}"


PHONE_CHECK = """() => {
  const small = [...document.querySelectorAll('body *')].filter(e =>
      e.getClientRects().length &&
      [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) &&
      parseFloat(getComputedStyle(e).fontSize) < 12);
  return {scroll: document.documentElement.scrollWidth,
          client: document.documentElement.clientWidth,
          small: small.slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' +
                                       e.textContent.slice(0, 30))};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("name", sorted(BRIEFS))
def test_nothing_cut_off_on_a_phone(browser, briefs, name):
    seen = _in_browser(browser, briefs[name], 400, lambda page: page.evaluate(PHONE_CHECK))
    assert seen["client"] == 400
    assert seen["scroll"] <= seen["client"], f"{name}: the page scrolls sideways {seen}"
    assert seen["small"] == [], f"{name}: text under 12 px {seen['small']}"
