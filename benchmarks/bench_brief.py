"""Benchmark: one evidence brief against executing an empty notebook plus the imports it needs.

Goal (issue 6): a single brief (execute + HTML + PDF + disclosure audit, as ``ssp brief``
does it) takes at most 2x the time of executing, the same way (papermill in-process, a fresh
kernel, ``shutdown_kernel="immediate"``), a notebook that only has the brief's parameters cell
and the brief's own import cells (exactly what the brief imports, nothing more).

A brief needs the protected publication of its whole city (disclosure control across all
briefs); ``run_brief`` builds it once and caches it (as ``ssp batch`` does). Both are timed:
"cold" with an empty cache (the publication is built), "warm" with it cached.

Runs are interleaved (baseline, brief, baseline, brief, ...) so that load from other
processes hits both alike; medians are reported.

Usage: ``python benchmarks/bench_brief.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from ssp_research import report


def _import_cells(nb) -> list[str]:
    """The template's own import cells (code cells holding only import lines)."""
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.strip()
            and "parameters" not in c.metadata.get("tags", [])
            and all(line.startswith(("import ", "from ")) or not line.strip()
                    for line in c.source.splitlines())]


def _baseline_notebook(template: Path, out: Path) -> Path:
    nb = nbformat.read(template, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    base = nbformat.v4.new_notebook()
    base.metadata = nb.metadata
    base.cells = [params[0]] + [nbformat.v4.new_code_cell(src) for src in _import_cells(nb)]
    nbformat.write(base, out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    template = report.DEFAULT_TEMPLATE
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        baseline = _baseline_notebook(template, tmp / "baseline.ipynb")
        params = report.validate_parameters(template, {})
        params["wave"] = 2025
        times: dict[str, list[float]] = {"empty+imports": [], "brief (cold cache)": [],
                                         "brief (warm cache)": []}
        warm = tmp / "warm"
        os.environ["SSP_OUTPUT_DIR"] = str(warm)
        report.run_brief(params, template=template, out_dir=tmp / "fill")  # fills the cache
        for i in range(args.runs):
            t0 = time.perf_counter()
            report.execute(baseline, params, tmp / "baseline_out.ipynb")
            times["empty+imports"].append(time.perf_counter() - t0)
            os.environ["SSP_OUTPUT_DIR"] = str(tmp / f"cold{i}")  # an empty publication cache
            res = report.run_brief(params, template=template, out_dir=tmp / f"cold{i}")
            times["brief (cold cache)"].append(res.seconds)
            os.environ["SSP_OUTPUT_DIR"] = str(warm)
            res = report.run_brief(params, template=template, out_dir=tmp / f"warm{i}")
            times["brief (warm cache)"].append(res.seconds)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:>20}: median {med[k]:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in v)})")
    base = med["empty+imports"]
    for k in ("brief (cold cache)", "brief (warm cache)"):
        print(f"ratio {k} / (empty + imports): {med[k] / base:.2f}x  (goal <= 2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
