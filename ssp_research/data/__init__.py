"""Data: read survey exports, codebooks, cleaning with a log, quality flags, synthetic data.

Modules: :mod:`~ssp_research.data.io` (read ``.sav``, Norwegian CSV, Excel, Parquet),
:mod:`~ssp_research.data.codebook` (load and validate codebooks),
:mod:`~ssp_research.data.draft` (draft a codebook from SPSS metadata),
:mod:`~ssp_research.data.clean` (apply a codebook; the cleaning log),
:mod:`~ssp_research.data.quality` (duplicates, straight-lining, age/grade) and
:mod:`ssp_research.data.synth` (the synthetic surveys with planted truth).
"""

from __future__ import annotations

from ssp_research.data.clean import CleanResult, write_clean
from ssp_research.data.codebook import Codebook, list_codebooks, load_codebook
from ssp_research.data.draft import draft_codebook
from ssp_research.data.io import SurveyFile, read_survey

__all__ = ["read_survey", "SurveyFile", "load_codebook", "list_codebooks", "Codebook",
           "draft_codebook", "CleanResult", "write_clean"]
