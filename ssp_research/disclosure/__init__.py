"""Disclosure control: nothing that leaves the workbench reveals a small group of children.

Modules: :mod:`~ssp_research.disclosure.rules` (the limits and markers),
:mod:`~ssp_research.disclosure.suppression` (primary, series and secondary suppression; the
attack), :mod:`~ssp_research.disclosure.secondary` (additive systems and their LP ranges),
:mod:`~ssp_research.disclosure.intervals` (which cells to hide so that none is narrowed:
GaussSuppression's interval step), :mod:`~ssp_research.disclosure.publication` (one protected
table for a whole batch), :mod:`~ssp_research.disclosure.cache` (that table on disk, built once
per inputs), :mod:`~ssp_research.disclosure.html` (the HTML contract of protected tables) and
:mod:`~ssp_research.disclosure.auditing` (the audit of every output).
"""

from __future__ import annotations

from ssp_research.disclosure.auditing import Finding, audit, format_findings
from ssp_research.disclosure.html import table_html_attrs, to_html
from ssp_research.disclosure.publication import (
    build_publication,
    read_publication,
    write_publication,
)
from ssp_research.disclosure.rules import MARK_BREAK, MARK_SUPPRESSED, Rules
from ssp_research.disclosure.secondary import publication_cube
from ssp_research.disclosure.suppression import attack, protect, protect_like

__all__ = ["Rules", "protect", "protect_like", "attack", "publication_cube",
           "build_publication", "read_publication", "write_publication", "to_html",
           "table_html_attrs", "audit", "Finding", "format_findings", "MARK_SUPPRESSED",
           "MARK_BREAK"]
