"""Helpers shared by several test files (``conftest.py`` puts ``tests/`` on ``sys.path``).

- the R ``survey`` package's ``api`` data read offline with ``rdata``, the reference values of
  ``tests/reference/survey_models_reference.R`` and the two api designs most tests use;
- the shipped synthetic city with its planted truth, the R reference data of the effects tests,
  and a small simulated city with chosen school effects, trend and pilot effect.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ssp_research.survey.design import SurveyDesign

REF_DIR = Path(__file__).parent / "reference"
API_RDA = Path("/usr/lib/R/site-library/survey/data/api.rda")
REL = 1e-6


@lru_cache(maxsize=1)
def models_reference() -> dict:
    """R survey 4.1.1 values for weights, models and comparisons."""
    return json.loads((REF_DIR / "survey_models_reference.json").read_text())


@lru_cache(maxsize=1)
def api_frames() -> dict:
    """survey's api data frames (as ``rdata`` converts them), plus ``yes`` = sch.wide Yes."""
    rdata = pytest.importorskip("rdata")
    if not API_RDA.exists():
        pytest.skip("R survey package data (api.rda) not installed")
    frames = rdata.conversion.convert(rdata.parser.parse_file(API_RDA))
    for name in ("apistrat", "apiclus1"):
        frames[name]["yes"] = (frames[name]["sch.wide"] == "Yes").astype(float)
    return frames


def dstrat() -> SurveyDesign:
    """R: svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)."""
    return SurveyDesign(api_frames()["apistrat"], strata="stype", weights="pw", fpc="fpc")


def dclus1() -> SurveyDesign:
    """R: svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1)."""
    return SurveyDesign(api_frames()["apiclus1"], ids="dnum", weights="pw", fpc="fpc")


def assert_rel(actual, expected, rel=REL) -> None:
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(expected, float), rtol=rel)


def load_city() -> tuple[pd.DataFrame, dict]:
    """The shipped synthetic city and its truth (generated if not written yet)."""
    from ssp_research.core import paths
    from ssp_research.data.synth import simulate as synth

    pq, tj = paths.synthetic_dir() / "trondheim.parquet", paths.synthetic_dir() / "truth.json"
    if pq.exists() and tj.exists():
        return pd.read_parquet(pq), json.loads(tj.read_text())
    res = synth.generate()
    return res.data, res.truth


def effects_refdata() -> pd.DataFrame:
    """The data ``tests/reference/trend_reference.R`` wrote and R analysed."""
    return pd.read_csv(REF_DIR / "effects_reference_data.csv")


def simulate_city(rng, *, n_schools=30, per=60, waves=(2019, 2021, 2023, 2025), school_sd=0.0,
                  slope=0.0, pilot=0.0, base=-1.4) -> pd.DataFrame:
    """A small simulated city: logistic model with school effects, trend and pilot effect."""
    u = rng.normal(0, school_sd, n_schools) if school_sd else np.zeros(n_schools)
    pilot_s = np.arange(n_schools) < n_schools // 3
    rows = []
    for k, w in enumerate(waves):
        s = np.repeat(np.arange(n_schools), per)
        eta = base + slope * k + u[s] + pilot * (pilot_s[s] & (w >= 2023))
        rows.append(pd.DataFrame({
            "wave": w, "school": [f"S{i:02d}" for i in s], "pilot": pilot_s[s],
            "district": [f"D{i % 3}" for i in s], "weight": 1.0,
            "ind_y": rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float),
        }))
    return pd.concat(rows, ignore_index=True)
