"""Batches: every unit's brief, in parallel, cached, resumable, as one protected publication.

:func:`plan_units` lists the units, :func:`run_batch` runs their briefs on workers
(:mod:`~ssp_research.batch.workers`) with fresh kernels forked from a preloaded template
process (:mod:`~ssp_research.batch.forkserver`).
"""

from __future__ import annotations

from ssp_research.batch.run import (
    BatchSummary,
    Unit,
    cache_key,
    default_out_dir,
    load_manifest,
    plan_units,
    prepare_publication,
    run_batch,
)

__all__ = ["Unit", "plan_units", "run_batch", "prepare_publication", "cache_key",
           "load_manifest", "BatchSummary", "default_out_dir"]
