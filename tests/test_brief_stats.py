"""A single brief's statistics computed ahead (ssp_research.brief_stats) change nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from ssp_research import brief, brief_gaps, brief_pilot, brief_stats, report


@pytest.fixture(scope="module")
def publication_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("stats")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSP_OUTPUT_DIR", str(out))
        params = report.validate_parameters(report.DEFAULT_TEMPLATE, {"wave": 2025})
        return report._cached_publication(params, report.DEFAULT_TEMPLATE)


def _sections(b) -> dict:
    return {
        "headlines": str(brief.headlines_html(b)), "goals": str(brief.goals_html(b)),
        "pilot": str(brief_pilot.pilot_html(b)), "method": str(brief.method_html(b)),
        "summary": brief.summary(b),
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
    assert brief_stats.compute(params, path) and path.is_file()
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


def test_not_a_brief_or_a_failure_writes_nothing(tmp_path):
    assert not brief_stats.compute({"unit": "x"}, tmp_path / "a.pkl")
    assert not brief_stats.compute({"data_path": "no/such.parquet", "unit": "x"},
                                   tmp_path / "b.pkl")
    assert not list(tmp_path.iterdir())
