"""ssp_research: the SteinSaksPapir research and knowledge-development workbench.

One flat module per stage of the data flow (see ``DESIGN.md``)::

    io -> codebook/clean -> design/weights -> estimate/models/scales -> indicators
       -> disclosure -> plots/narrate -> report (briefs) -> batch
"""

from __future__ import annotations

from ssp_research._lazy_imports import defer_rfc3987_syntax
from ssp_research.errors import (
    CodebookError,
    DataError,
    DesignError,
    DisclosureError,
    EstimationError,
    ParameterError,
    ReportError,
    SSPError,
)

__version__ = "0.1.0"

defer_rfc3987_syntax()  # 0.7 s of every brief run's nbformat import (see _lazy_imports)

__all__ = [
    "__version__",
    "SurveyDesign",
    "SSPError",
    "DataError",
    "CodebookError",
    "DesignError",
    "EstimationError",
    "DisclosureError",
    "ParameterError",
    "ReportError",
]


def __getattr__(name: str):
    # Lazy so that ``import ssp_research`` stays cheap for the CLI and kernels.
    if name == "SurveyDesign":
        from ssp_research.design import SurveyDesign

        return SurveyDesign
    raise AttributeError(f"module 'ssp_research' has no attribute {name!r}")
