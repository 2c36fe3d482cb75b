"""Load the data sets shipped with R's ``survey`` package, offline, with the ``rdata`` package.

The ``.rda`` files come with the Debian package ``r-cran-survey`` (installed by
``tests/install_system_deps.sh``); R itself is not needed to read them. The same derived
columns as ``survey_design_reference.R`` are added here so that Python and R see the same data.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["survey_data_dir", "load_survey_data"]

_CANDIDATES = [
    os.environ.get("SSP_R_SURVEY_DATA", ""),
    "/usr/lib/R/site-library/survey/data",
    "/usr/local/lib/R/site-library/survey/data",
    "/usr/lib/R/library/survey/data",
]


def survey_data_dir() -> Path | None:
    """The folder with survey's .rda files, or None when the package is not installed."""
    for c in _CANDIDATES:
        if c and (Path(c) / "api.rda").exists():
            return Path(c)
    return None


def _to_plain(df: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.astype(str).where(s.notna(), None).astype("str")
        elif pd.api.types.is_integer_dtype(s.dtype):
            out[c] = s.astype("float64")
        else:
            out[c] = s
    return pd.DataFrame(out).reset_index(drop=True)


@functools.cache
def load_survey_data(name: str) -> pd.DataFrame:
    """One data frame from survey's data (apiclus1, apiclus2, apistrat, yrbs, fpc, mu284,
    hospital), with the derived columns of the R reference script."""
    import rdata

    folder = survey_data_dir()
    if folder is None:
        raise FileNotFoundError(
            "R survey package data not found; run tests/install_system_deps.sh"
        )
    file = {"apiclus1": "api", "apiclus2": "api", "apistrat": "api", "apipop": "api",
            "apisrs": "api"}.get(name, name)
    df = _to_plain(rdata.read_rda(str(folder / f"{file}.rda"))[name])
    if name in ("apiclus1", "apiclus2", "apistrat"):
        yes = (df["sch.wide"] == "Yes").astype(float).to_numpy().copy()
        rown = np.arange(1, len(df) + 1)
        yes[(df["stype"] == "H").to_numpy() & (rown % 5 == 0)] = np.nan
        df["yes"] = yes
        df["high"] = (df["api00"] > 800).astype(float)
    if name == "apistrat":
        df["frac"] = df.groupby("stype")["stype"].transform("size") / df["fpc"]
    if name == "apiclus2":
        df["fpc2p1"] = df["fpc2"] + 1
    if name == "yrbs":
        df["q8"] = np.where(df["qn8"].isna(), np.nan, (df["qn8"] == 1).astype(float))
    return df.copy()
