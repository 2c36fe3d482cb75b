"""The HTML brief in a real browser: Debian's chromium (headless, via Playwright), network blocked.

The brief exported from the committed default run is loaded from a ``file://`` URL. Every
request the page makes is recorded and every non-file request is aborted; the test checks
that there are none, that every section and figure renders (through the DOM: headings,
tables, images decoded with a size, alt text) and takes a screenshot.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from ssp_research.core import paths
from ssp_research.render import runner as report
from ssp_research.render.export import export_html

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
    "--disable-default-apps", "--disable-extensions",
]  # fmt: skip


@pytest.fixture(scope="module")
def brief_file(tmp_path_factory) -> Path:
    template = paths.notebooks_dir() / "briefs" / "evidence_brief.ipynb"
    nb = nbformat.read(template, as_version=4)
    params = report.validate_parameters(template, {"wave": 2025})
    html = export_html(nb, "nb", params,
                       provenance=report.provenance(params, params["data_path"], template))
    path = tmp_path_factory.mktemp("brief") / "trondheim_2025_nb.html"
    path.write_text(html, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def page_result(brief_file, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make system-deps)")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("profile")
    requests: list[str] = []
    blocked: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True,
            args=[a for a in FLAGS if a != "--headless"], offline=True,
        )  # fmt: skip
        try:
            page = context.new_page()

            def route(r):
                url = r.request.url
                requests.append(url)
                if url.startswith(("file://", "data:")):
                    r.continue_()
                else:
                    blocked.append(url)
                    r.abort()

            page.route("**/*", route)
            page.on("request", lambda req: requests.append(req.url))
            page.goto(brief_file.as_uri(), wait_until="load")
            dom = page.evaluate("""() => ({
                lang: document.documentElement.lang,
                title: document.title,
                h2: [...document.querySelectorAll('h2')].map(h => h.textContent.replace('¶', '').trim()),
                goals: document.querySelectorAll('section.ssp-goal').length,
                tables: document.querySelectorAll('table.ssp-table').length,
                rows: document.querySelectorAll('tr[data-ssp-status]').length,
                imgs: [...document.images].map(i => ({alt: i.alt, w: i.naturalWidth,
                        h: i.naturalHeight, complete: i.complete,
                        shown: i.getBoundingClientRect().width})),
                scripts: [...document.scripts].map(s => s.src || s.type),
                headlines: document.querySelectorAll('ol.ssp-headlines li').length,
                provenance: JSON.parse(document.getElementById('ssp-provenance').textContent),
                height: document.body.scrollHeight,
            })""")  # noqa: E501
            shot = profile.parent / "brief.png"
            page.screenshot(path=str(shot), full_page=True)
            # the probe: a page that does ask the network must show up as blocked
            probe = brief_file.parent / "probe.html"
            probe.write_text('<html><body><img src="http://example.invalid/x.png"></body></html>')
            main_requests, requests[:] = list(requests), []
            page.goto(probe.as_uri(), wait_until="load")
            probe_blocked, blocked[:] = list(blocked), []
            requests[:] = main_requests
        finally:
            context.close()
    return {"dom": dom, "requests": requests, "blocked": blocked, "shot": shot,
            "probe_blocked": probe_blocked}


def test_no_external_requests(page_result, brief_file):
    assert page_result["probe_blocked"] == ["http://example.invalid/x.png"]  # the guard works
    assert page_result["blocked"] == []
    external = [u for u in page_result["requests"] if not u.startswith(("file://", "data:"))]
    assert external == []
    assert brief_file.as_uri() in page_result["requests"]


def test_every_section_renders(page_result):
    dom = page_result["dom"]
    assert dom["lang"] == "nb"
    assert dom["title"] == "Kunnskapsgrunnlag: Trondheim, 2025"
    assert dom["h2"] == ["Hovedfunn", "Indikatorer etter innsatsområde", "Utvikling over tid",
                         "Forskjeller mellom grupper", "Pilotprogrammet", "Metode og data",
                         "Opphav og versjoner"]
    assert dom["goals"] == 5 and dom["tables"] >= 3 and dom["rows"] >= 10
    assert 3 <= dom["headlines"] <= 7
    assert dom["scripts"] == ["application/json"]
    assert dom["provenance"]["parameters"]["unit"] == "Trondheim"
    assert len(dom["provenance"]["data_sha256"]) == 64


def test_every_figure_is_decoded_with_alt_text(page_result):
    imgs = page_result["dom"]["imgs"]
    assert len(imgs) >= 5
    for img in imgs:
        assert img["complete"] and img["w"] > 100 and img["h"] > 100, img
        assert img["shown"] > 100
        assert len(img["alt"]) > 20


def test_screenshot_is_a_rendered_page(page_result):
    shot = page_result["shot"]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 50_000
    import struct

    width, height = struct.unpack(">II", data[16:24])
    assert width >= 700 and height >= page_result["dom"]["height"] * 0.9 > 2000
