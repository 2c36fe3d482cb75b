"""Analysis for the strategy's questions: indicators, trends, gaps, schools, scales, goals.

Modules: :mod:`~ssp_research.analysis.indicators` (unit vs comparison tables, pooling,
standardisation), :mod:`~ssp_research.analysis.effects` (trends, gaps, the social gradient),
:mod:`~ssp_research.analysis.schools` (school ICCs, the pilot's two-way fixed-effects
model), :mod:`~ssp_research.analysis.pilots` (pilot effects in percentage points with
randomisation inference, staggered starts), :mod:`~ssp_research.analysis.pilot_plan`
(planning a pilot: power, minimum detectable effect, a seeded assignment),
:mod:`~ssp_research.analysis.small_area`
(Fay-Herriot small-area estimates),
:mod:`~ssp_research.analysis.scales` (scale scores, alpha, omega) and
:mod:`~ssp_research.analysis.frameworks` (a strategy's goals and their indicators).
"""

from __future__ import annotations

from ssp_research.analysis.effects import gaps, social_gradient, trend
from ssp_research.analysis.frameworks import Framework, list_frameworks, load_framework
from ssp_research.analysis.indicators import city_design, indicator_table
from ssp_research.analysis.pilot_plan import (
    PilotPlan,
    assign_pilot,
    plan_pilot,
    power_curve,
    variation_from_data,
    write_assignment,
)
from ssp_research.analysis.pilots import PilotEffect, pilot_effect
from ssp_research.analysis.scales import cronbach_alpha, omega_total, reliability, scale_score
from ssp_research.analysis.schools import pilot_did, school_icc
from ssp_research.analysis.small_area import fay_herriot

__all__ = ["city_design", "indicator_table", "trend", "gaps", "social_gradient", "school_icc",
           "pilot_did", "scale_score", "cronbach_alpha", "omega_total", "reliability",
           "load_framework", "list_frameworks", "Framework", "pilot_effect", "PilotEffect",
           "fay_herriot", "plan_pilot", "power_curve", "assign_pilot", "write_assignment",
           "variation_from_data", "PilotPlan"]
