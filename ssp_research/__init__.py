"""ssp_research: the SteinSaksPapir research and knowledge-development workbench.

One subpackage per stage of the data flow (``docs/DESIGN.md``), each importing only from the
stages above it::

    core -> data -> survey -> analysis -> disclosure -> brief -> render -> batch

A researcher imports the everyday names from :mod:`ssp_research.api`
(``import ssp_research.api as ssp``); ``ssp`` on the command line is :mod:`ssp_research.cli`.
Importing this package loads nothing but the error classes.
"""

from __future__ import annotations

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

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "SSPError",
    "DataError",
    "CodebookError",
    "DesignError",
    "EstimationError",
    "DisclosureError",
    "ParameterError",
    "ReportError",
]
