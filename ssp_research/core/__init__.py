"""Core: named errors, paths, atomic writes, fingerprints (imports no other stage).

Modules: :mod:`~ssp_research.core.errors`, :mod:`~ssp_research.core.paths`,
:mod:`~ssp_research.core.atomic`, :mod:`~ssp_research.core.fingerprint`,
:mod:`~ssp_research.core.lazy_imports`.
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

__all__ = ["SSPError", "DataError", "CodebookError", "DesignError", "EstimationError",
           "DisclosureError", "ParameterError", "ReportError"]
