"""A brief's figures drawn ahead by ssp brief (ssp_research.brief_figures) change nothing."""

from __future__ import annotations

import pickle
import threading
import time

import matplotlib as mpl
import nbformat
import pytest

from ssp_research import (
    brief,
    brief_ahead,
    brief_figures,
    brief_sections,
    brief_stats,
    paths,
    report,
)
from ssp_research.atomic import claim


@pytest.fixture(scope="module")
def ahead(tmp_path_factory, trondheim_publication):
    """A brief computed as ``ssp brief`` computes it, and its figures drawn there."""
    out = tmp_path_factory.mktemp("figures")
    params = report.validate_parameters(report.DEFAULT_TEMPLATE, {
        "wave": 2025, "publication_path": trondheim_publication})
    b = brief_stats.compute(params, out / "stats.pkl")
    folder = out / "drawn"
    folder.mkdir()
    figures = brief_stats.figures(b)
    assert brief_figures.render_ahead(b, folder, figures) == len(figures)
    return b, folder, figures


def _shared(folder, name) -> dict:
    return pickle.loads((folder / f"{name}.pkl").read_bytes())


def test_every_template_figure_is_drawn_ahead_with_its_alt_text(ahead):
    b, folder, figures = ahead
    for name, _build in figures:
        data, meta = _shared(folder, name)["bundle"]
        assert data["image/png"] and meta["image/png"]["alt"] == data["text/plain"] != ""


def test_a_figure_drawn_ahead_is_the_figure_the_kernel_draws(ahead):
    """Same PNG bytes, also when this process has other rcParams (a user's matplotlibrc)."""
    b, folder, figures = ahead
    with mpl.rc_context({"lines.linewidth": 4.0, "font.size": 20, "axes.grid": False}):
        for name, build in figures:
            assert brief_figures.render(build) == _shared(folder, name)["bundle"], name


def test_the_kernel_takes_drawn_figures_and_draws_the_rest(ahead, tmp_path, monkeypatch):
    b, folder, figures = ahead
    name, build = figures[1]
    calls = []

    def counted():
        calls.append(1)
        return build()

    monkeypatch.setenv(brief_figures.ENV, str(folder))  # every figure claimed and drawn
    assert brief_figures.bundle(b, name, counted) == _shared(folder, name)["bundle"]
    assert not calls
    monkeypatch.setenv(brief_figures.ENV, str(tmp_path))  # nothing claimed: drawn here
    assert brief_figures.bundle(b, name, counted) == _shared(folder, name)["bundle"]
    assert calls and (tmp_path / f"{name}.claim").is_file()
    monkeypatch.delenv(brief_figures.ENV)  # not in ssp brief (JupyterLab, batches)
    brief_figures.bundle(b, name, counted)
    assert len(calls) == 2


def test_a_figure_for_another_brief_or_that_failed_is_drawn_by_the_kernel(ahead, tmp_path,
                                                                         monkeypatch):
    b, folder, figures = ahead
    name, build = figures[0]
    english = brief.load(**{**brief_stats.load_arguments({
        "data_path": b.data_path, "unit": b.unit, "unit_type": b.unit_type, "wave": b.wave,
        "publication_path": b.publication_path}), "lang": "en"})
    assert brief_figures.state(english) != brief_figures.state(b)
    monkeypatch.setenv(brief_figures.ENV, str(folder))
    drawn_here = brief_figures.bundle(english, name, lambda: brief_sections.trends_figure(english))
    assert drawn_here != _shared(folder, name)["bundle"]  # English labels
    monkeypatch.setenv(brief_figures.ENV, str(tmp_path))

    def broken():
        raise RuntimeError("no figure")

    assert brief_figures.render_ahead(b, tmp_path, [(name, broken)]) == 0
    assert "error" in _shared(tmp_path, name)
    assert brief_figures.bundle(b, name, build) == _shared(folder, name)["bundle"]


def test_the_kernel_waits_for_a_figure_being_drawn_ahead(ahead, tmp_path, monkeypatch):
    b, folder, figures = ahead
    name, build = figures[0]
    assert claim(tmp_path / f"{name}.claim")  # ssp brief is drawing it

    def finish():
        time.sleep(0.3)
        (tmp_path / f"{name}.pkl").write_bytes((folder / f"{name}.pkl").read_bytes())

    thread = threading.Thread(target=finish)
    thread.start()
    monkeypatch.setenv(brief_figures.ENV, str(tmp_path))
    got = brief_figures.bundle(b, name, lambda: pytest.fail("drawn twice"))
    thread.join()
    assert got == _shared(folder, name)["bundle"]


def test_drawing_ahead_goes_from_the_last_figure_and_stops_when_told(ahead, tmp_path):
    b, _folder, figures = ahead
    order = []
    named = [(n, lambda n=n: order.append(n)) for n, _ in figures]
    brief_figures.render_ahead(b, tmp_path, named, stop=lambda: len(order) >= 2)
    assert order == [figures[-1][0], figures[-2][0]]


def test_drawing_ahead_leaves_the_kernel_the_figure_it_needs_next(ahead, tmp_path):
    b, _folder, figures = ahead
    order = []
    named = [(n, lambda n=n: order.append(n)) for n, _ in figures]
    for name, _ in figures[:2]:  # the kernel has drawn the first figure, and draws the second
        assert claim(tmp_path / f"{name}.claim")
    assert claim(tmp_path / f"{figures[-2][0]}.claim")  # and took the last but one
    brief_figures.render_ahead(b, tmp_path, named)
    # the last only: the third is the one the kernel needs next, left to it
    assert order == [figures[-1][0]] and len(figures) == 5
    assert not (tmp_path / f"{figures[2][0]}.claim").exists()


def _images(notebook) -> list[str]:
    nb = nbformat.read(notebook, as_version=4)
    return [o["data"]["image/png"] for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if "image/png" in o.get("data", {})]


def test_the_kernel_draws_the_figures_as_ssp_brief_draws_them(tmp_path, monkeypatch):
    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))
    params = {"wave": 2025, "unit_type": "school", "unit": "Kvernbekken skole"}
    brief_ahead.prewarm_exporters()  # (else the kernel is ahead, and draws every figure)
    with_ahead = report.run_brief(params, out_dir=tmp_path / "a", pdf=False, precompute=True)
    in_kernel = report.run_brief(params, out_dir=tmp_path / "k", pdf=False, precompute=False)
    nbs = [nbformat.read(r.notebook_path, as_version=4) for r in (with_ahead, in_kernel)]
    outputs = [[c.get("outputs") for c in nb.cells if c.cell_type == "code"] for nb in nbs]
    assert outputs[0] == outputs[1]  # every output of every cell
    # and what the kernel drew is, byte for byte, what ssp brief draws
    full = report.validate_parameters(report.DEFAULT_TEMPLATE, {
        **params, "publication_path": str(paths.publication_file(tmp_path / "cache"))})
    b = brief_stats.compute(full, tmp_path / "stats.pkl")
    here = [brief_figures.render(build) for _name, build in brief_stats.figures(b)]
    assert _images(in_kernel.notebook_path) == [d["image/png"] for d, _m in filter(None, here)]
    assert len(here) == 5


def test_a_figure_the_kernel_drew_is_drawn_again_if_shown_again(ahead, tmp_path,
                                                                monkeypatch):
    b, folder, figures = ahead
    name, build = figures[2]
    calls = []
    monkeypatch.setenv(brief_figures.ENV, str(tmp_path))
    for _ in range(2):  # claimed by this kernel the first time: never waited for
        brief_figures.bundle(b, name, lambda: calls.append(1) or build(), timeout=30)
    assert len(calls) == 2
