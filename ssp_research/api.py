"""The names a researcher imports, in the spirit of ``statsmodels.api``.

>>> import ssp_research.api as ssp
>>> import pandas as pd
>>> df = pd.read_parquet(ssp.paths.synthetic_dir() / "trondheim.parquet")
>>> d = ssp.city_design(df)
>>> ssp.protect(d.proportion("ind_lonely", by=["wave"])).shape[0]
4

Everything here lives in a stage of the library (see ``docs/DESIGN.md``); this module only
gathers the everyday names:

========================  ================================================================
reading and cleaning      :func:`read_survey`, :func:`read_data` (records the file's
                          fingerprint in the notebook), :func:`load_codebook`,
                          :func:`draft_codebook`, :mod:`clean` (``clean.apply``),
                          :func:`list_codebooks`
survey statistics         :class:`SurveyDesign` (``.mean``, ``.proportion``, ``.glm`` ...),
                          :mod:`estimate`, :func:`svyglm`, :func:`svyttest`,
                          :func:`svycontrast`, :func:`svychisq`, :func:`regtermtest`,
                          :func:`poststratify`, :func:`rake`, :func:`calibrate`
analysis                  :func:`city_design`, :func:`indicator_table`, :func:`trend`,
                          :func:`gaps`, :func:`social_gradient`, :func:`school_icc`,
                          :func:`pilot_did`, :func:`pilot_effect`, :func:`fay_herriot`,
                          :func:`scale_score`, :func:`reliability`,
                          :func:`load_framework`
disclosure                :class:`Rules`, :func:`protect`, :func:`build_publication`,
                          :func:`audit`
briefs and figures        :func:`load_brief`, :mod:`plots`, :mod:`narrate`,
                          :func:`set_theme`, :func:`show`, :func:`run_brief`,
                          :func:`run_batch`, :func:`plan_units`
========================  ================================================================
"""

from __future__ import annotations

from ssp_research.analysis import (
    assign_pilot,
    city_design,
    fay_herriot,
    gaps,
    indicator_table,
    load_framework,
    pilot_did,
    pilot_effect,
    plan_pilot,
    power_curve,
    reliability,
    scale_score,
    school_icc,
    social_gradient,
    trend,
    variation_from_data,
    write_assignment,
)
from ssp_research.batch import plan_units, run_batch
from ssp_research.brief import load as load_brief
from ssp_research.brief import narrate, plots, set_theme, show
from ssp_research.core import paths
from ssp_research.core.errors import (
    CodebookError,
    DataError,
    DesignError,
    DisclosureError,
    EstimationError,
    ParameterError,
    ReportError,
    SSPError,
)
from ssp_research.data import clean, draft_codebook, list_codebooks, load_codebook, read_survey
from ssp_research.data.inputs import read_data
from ssp_research.disclosure import Rules, audit, build_publication, protect
from ssp_research.render import run_brief
from ssp_research.survey import (
    SurveyDesign,
    calibrate,
    estimate,
    poststratify,
    rake,
    regtermtest,
    svychisq,
    svycontrast,
    svyglm,
    svyttest,
)

__all__ = [
    # reading and cleaning
    "read_survey", "read_data", "load_codebook", "list_codebooks", "draft_codebook", "clean",
    # survey statistics
    "SurveyDesign", "estimate", "svyglm", "svyttest", "svycontrast", "svychisq",
    "regtermtest", "poststratify", "rake", "calibrate",
    # analysis
    "city_design", "indicator_table", "trend", "gaps", "social_gradient", "school_icc",
    "pilot_did", "pilot_effect", "fay_herriot", "scale_score", "reliability", "load_framework",
    "variation_from_data", "plan_pilot", "power_curve", "assign_pilot", "write_assignment",
    # disclosure
    "Rules", "protect", "build_publication", "audit",
    # briefs and figures
    "load_brief", "plots", "narrate", "set_theme", "show", "run_brief", "run_batch",
    "plan_units",
    # paths and errors
    "paths", "SSPError", "DataError", "CodebookError", "DesignError", "EstimationError",
    "DisclosureError", "ParameterError", "ReportError",
]
