"""Shared pytest fixtures: R survey data loaded offline and its reference values."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REFERENCE_DIR = Path(__file__).parent / "reference"
sys.path.insert(0, str(REFERENCE_DIR))
sys.path.insert(0, str(Path(__file__).parent))  # tests/support.py

from rdata_loader import load_survey_data, survey_data_dir  # noqa: E402


@pytest.fixture(scope="session")
def survey_data():
    """A loader ``survey_data("apiclus1")`` for the data shipped with R's survey package."""
    if survey_data_dir() is None:
        pytest.skip("R survey package data not installed (tests/install_system_deps.sh)")
    return lambda name: load_survey_data(name).copy()


@pytest.fixture(scope="session")
def survey_ref():
    """Reference values from tests/reference/survey_design_reference.R (R survey 4.1.1)."""
    return json.loads((REFERENCE_DIR / "survey_design_reference.json").read_text())


@pytest.fixture(scope="session")
def refdata():
    """The data tests/reference/trend_reference.R wrote and R analysed (effects tests)."""
    from support import effects_refdata

    return effects_refdata()


@pytest.fixture(scope="session")
def city():
    """(data, truth) of the shipped synthetic city."""
    from support import load_city

    return load_city()


@pytest.fixture(scope="session")
def trondheim_publication(tmp_path_factory) -> str:
    """The protected publication of the shipped city (2025 brief defaults), built once in a
    cache of its own, as ``ssp brief`` builds it."""
    from ssp_research import report

    out = tmp_path_factory.mktemp("publication")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSP_OUTPUT_DIR", str(out))
        params = report.validate_parameters(report.DEFAULT_TEMPLATE, {"wave": 2025})
        return report._cached_publication(params, report.DEFAULT_TEMPLATE)
