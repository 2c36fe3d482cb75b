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


@pytest.fixture(scope="session", autouse=True)
def _own_output_folder(tmp_path_factory):
    """Every test session writes its briefs, caches and release ledgers to a folder of its
    own: a ledger is history (a cell hidden once stays hidden), so tests must not share one
    with each other's sessions or with a developer's ``output/``."""
    import os

    folder = tmp_path_factory.mktemp("output")
    before = {k: os.environ.get(k) for k in ("SSP_OUTPUT_DIR", "SSP_LEDGER_DIR")}
    os.environ["SSP_OUTPUT_DIR"] = str(folder)
    os.environ.pop("SSP_LEDGER_DIR", None)
    yield folder
    for k, v in before.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


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
    """The protected publication of the shipped city (the brief template's defaults), built
    once in a folder of its own, as ``ssp batch`` and a single brief build it."""
    from ssp_research.core import paths
    from ssp_research.disclosure import cache
    from ssp_research.render import runner

    out = tmp_path_factory.mktemp("publication")
    options = runner.publication_options({}, runner.DEFAULT_TEMPLATE)
    return str(cache.prepare_publication(paths.synthetic_dir() / "trondheim.parquet", out,
                                         top_name="Trondheim", **options))

# The generator of tests/reference/wild_bootstrap_reference.json needs the PyPI package
# wildboottest, which is not a project dependency (run it in a throwaway environment).
collect_ignore = ["reference/wild_bootstrap_reference.py"]
