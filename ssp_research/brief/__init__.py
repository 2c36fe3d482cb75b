"""The evidence brief's content: its data, sections, findings, language, figures and theme.

:func:`load` gives the :class:`Brief` of one unit and wave (its protected tables); the
template's sections come from :mod:`~ssp_research.brief.sections` (findings, goals, trends,
method), :mod:`~ssp_research.brief.gaps` (group differences) and
:mod:`~ssp_research.brief.pilot` (the pilot). Sentences: :mod:`~ssp_research.brief.narrate`;
number formats and short texts: :mod:`~ssp_research.brief.language` and
:mod:`~ssp_research.brief.texts`; figures: :mod:`~ssp_research.brief.plots` in the theme of
:mod:`~ssp_research.brief.theme`. This is the only stage that rounds numbers.
"""

from __future__ import annotations

from ssp_research.brief.content import Brief, Html, load
from ssp_research.brief.theme import set_theme, show

__all__ = ["load", "Brief", "Html", "set_theme", "show"]
