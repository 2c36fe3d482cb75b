"""A single brief's statistics computed ahead (ssp_research.brief_stats) change nothing."""

from __future__ import annotations

import os
import threading
import time
from types import SimpleNamespace

import pandas as pd
import pytest

from ssp_research import brief, brief_gaps, brief_pilot, brief_sections, brief_stats, report
from ssp_research.atomic import claim


@pytest.fixture(scope="module")
def publication_path(trondheim_publication):
    return trondheim_publication


def _sections(b) -> dict:
    return {
        "headlines": str(brief_sections.headlines_html(b)),
        "goals": str(brief_sections.goals_html(b)),
        "pilot": str(brief_pilot.pilot_html(b)), "method": str(brief_sections.method_html(b)),
        "summary": brief_sections.summary(b),
        **{by: brief_gaps.gap_table(b, by) for by in ("gender", "grade", "family_economy")},
    }


@pytest.mark.parametrize("unit_type, unit", [("city", "Trondheim"),
                                             ("school", "Kvernbekken skole")])
def test_a_brief_with_its_statistics_computed_ahead_is_the_same(tmp_path, monkeypatch,
                                                                 publication_path, unit_type,
                                                                 unit):
    params = report.validate_parameters(report.DEFAULT_TEMPLATE, {
        "wave": 2025, "unit_type": unit_type, "unit": unit,
        "publication_path": publication_path})
    path = tmp_path / "stats.pkl"
    assert brief_stats.compute(params, path) is not None and path.is_file()
    args = brief_stats.load_arguments(params)
    monkeypatch.setenv(brief_stats.ENV, str(path))
    ahead = brief.load(**args)
    assert {"trends", "indicators", "full_publication"} <= set(ahead.__dict__)  # restored
    other = brief.load(**{**args, "lang": "en"})  # computed for other arguments: not used
    assert "trends" not in other.__dict__
    monkeypatch.delenv(brief_stats.ENV)
    here = brief.load(**args)
    assert "trends" not in here.__dict__
    got, want = _sections(ahead), _sections(here)
    for name, value in want.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got[name], value)
        else:
            assert got[name] == value, name


def test_not_a_brief_writes_nothing_and_a_failure_is_written_as_such(tmp_path, monkeypatch):
    assert brief_stats.compute({"unit": "x"}, tmp_path / "a.pkl") is None
    assert not list(tmp_path.iterdir())
    params = {"data_path": "no/such.parquet", "unit": "x"}
    assert brief_stats.compute(params, tmp_path / "b.pkl") is None
    assert (tmp_path / "b.pkl").is_file()  # the kernel waiting for it learns it failed
    monkeypatch.setenv(brief_stats.ENV, str(tmp_path / "b.pkl"))
    b = SimpleNamespace(cache={})
    assert not brief_stats.restore(b, brief_stats.load_arguments(params), timeout=5)


def test_the_kernel_waits_only_for_statistics_that_ssp_brief_claimed(tmp_path, monkeypatch,
                                                                     publication_path):
    params = report.validate_parameters(report.DEFAULT_TEMPLATE, {
        "wave": 2025, "publication_path": publication_path})
    args = brief_stats.load_arguments(params)
    path = tmp_path / "stats.pkl"
    monkeypatch.setenv(brief_stats.ENV, str(path))
    # nobody claimed them: the kernel claims them and computes them itself, without waiting
    kernel = brief.load(**args)
    assert "trends" not in kernel.__dict__ and (tmp_path / "stats.pkl.claim").is_file()
    # ... and ssp brief, behind it, leaves them (and the figures) to the kernel
    assert brief_stats.compute(params, path) is None and not path.exists()
    # a second load in this kernel computes them again, at once (nobody else will)
    t0 = time.monotonic()
    assert not brief_stats.restore(SimpleNamespace(cache={}), args, timeout=30)
    assert time.monotonic() - t0 < 5
    # another run, claimed by ssp brief (which is slow): its kernel waits for them
    monkeypatch.setattr(brief_stats, "_claimed_here", set())  # (a new kernel)
    (tmp_path / "stats.pkl.claim").unlink()
    assert claim(tmp_path / "stats.pkl.claim")

    def ssp_brief():
        time.sleep(0.5)
        brief_stats.compute(params, tmp_path / "elsewhere.pkl")
        os.replace(tmp_path / "elsewhere.pkl", path)

    thread = threading.Thread(target=ssp_brief)
    thread.start()
    waited = brief.load(**args)
    thread.join()
    assert "trends" in waited.__dict__  # restored
    pd.testing.assert_frame_equal(waited.indicators, kernel.indicators)


def test_a_stale_variable_never_makes_a_kernel_wait(tmp_path, monkeypatch):
    monkeypatch.setenv(brief_stats.ENV, str(tmp_path / "gone" / "stats.pkl"))
    b = SimpleNamespace(cache={})
    assert not brief_stats.restore(b, {"unit": "x"}, timeout=600)


def test_a_brief_kernel_freezes_what_it_imported(monkeypatch, publication_path):
    """Only in a kernel that runs one brief (ssp brief, ssp batch): not in a notebook session."""
    import gc

    args = brief_stats.load_arguments(report.validate_parameters(
        report.DEFAULT_TEMPLATE, {"wave": 2025, "publication_path": publication_path}))
    gc.unfreeze()
    try:
        brief.load(**args)
        assert gc.get_freeze_count() == 0
        monkeypatch.setenv(brief.KERNEL_ENV, "1")
        brief.load(**args)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_template_that_leaves_load_defaults_out_gets_the_statistics(tmp_path, monkeypatch,
                                                                      publication_path):
    """The pilot evaluation calls load without comparison, pool, standardise."""
    params = {"data_path": "data/synthetic/trondheim.parquet", "unit": "Trondheim",
              "unit_type": "city", "wave": 2025, "lang": "nb", "disclosure": {},
              "publication_path": publication_path}
    path = tmp_path / "stats.pkl"
    assert brief_stats.compute(params, path) is not None
    monkeypatch.setenv(brief_stats.ENV, str(path))
    b = brief.load(params["data_path"], unit_type="city", unit="Trondheim", wave=2025,
                   lang="nb", disclosure_rules={}, publication_path=publication_path)
    assert "trends" in b.__dict__  # restored
