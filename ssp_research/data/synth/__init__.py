"""Synthetic pupil surveys with planted, documented truth (the shipped default data).

:func:`generate` draws a Trondheim-like city (or a country, for benchmarks) from the planted
model of :mod:`~ssp_research.data.synth.simulate`; :func:`write` stores it with its truth file
and messy raw exports (:mod:`~ssp_research.data.synth.export`). The instrument (items, waves,
the public id key) is :mod:`~ssp_research.data.synth.instrument`.
"""

from __future__ import annotations

from ssp_research.data.synth.instrument import SYNTHETIC_KEY, WAVES
from ssp_research.data.synth.simulate import (
    SynthResult,
    default_params,
    generate,
    pseudonymise,
    write,
)

__all__ = ["generate", "write", "SynthResult", "default_params", "pseudonymise",
           "SYNTHETIC_KEY", "WAVES"]
