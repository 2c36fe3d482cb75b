"""Render: parameters, notebook execution (papermill), HTML/PDF export, provenance.

:func:`run_brief` validates a brief's parameters, executes its notebook in a fresh kernel
(:func:`execute`), exports HTML and PDF, audits them and publishes them atomically;
:func:`rerun` reproduces a brief from the provenance stamp inside it.
"""

from __future__ import annotations

from ssp_research.render.execution import execute
from ssp_research.render.export import export_html, export_pdf
from ssp_research.render.parameters import (
    Parameter,
    parse_cli_parameters,
    template_parameters,
    validate_parameters,
)
from ssp_research.render.provenance import provenance, read_stamp
from ssp_research.render.reproduce import differences, rerun
from ssp_research.render.runner import (
    DEFAULT_TEMPLATE,
    PUPILS_TEMPLATE,
    BriefResult,
    refresh_templates,
    run_brief,
)

__all__ = ["run_brief", "BriefResult", "DEFAULT_TEMPLATE", "PUPILS_TEMPLATE",
           "refresh_templates", "execute",
           "export_html", "export_pdf", "Parameter", "template_parameters",
           "validate_parameters", "parse_cli_parameters", "provenance", "read_stamp", "rerun",
           "differences"]
