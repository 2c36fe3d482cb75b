"""Benchmark: one evidence brief against executing an empty notebook plus the imports it needs.

Goal (issue 6): a single brief (execute + HTML + PDF + disclosure audit, as ``ssp brief``
does it) takes at most 2x the time of executing, the same way (papermill in-process, a fresh
kernel, ``shutdown_kernel="immediate"``), a notebook that only has the brief's parameters cell
and one cell importing what the brief imports.

Runs are interleaved (baseline, brief, baseline, brief, ...) so that load from other
processes hits both alike; medians are reported.

Usage: ``python benchmarks/bench_brief.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from ssp_research import report

IMPORTS = """\
import matplotlib.pyplot
import pandas
import pyarrow.parquet
import scipy.stats
import seaborn
import statsmodels.api
import ssp_research.audit
import ssp_research.brief
import ssp_research.brief_pilot
import ssp_research.effects
import ssp_research.plots
"""


def _baseline_notebook(template: Path, out: Path) -> Path:
    nb = nbformat.read(template, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    base = nbformat.v4.new_notebook()
    base.metadata = nb.metadata
    base.cells = [params[0], nbformat.v4.new_code_cell(IMPORTS)]
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
        times: dict[str, list[float]] = {"empty+imports": [], "brief execute": [],
                                         "brief total": []}
        for i in range(args.runs):
            t0 = time.perf_counter()
            report.execute(baseline, params, tmp / "baseline_out.ipynb")
            times["empty+imports"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            report.execute(template, params, tmp / "brief_out.ipynb")
            times["brief execute"].append(time.perf_counter() - t0)
            res = report.run_brief(params, template=template, out_dir=tmp / f"out{i}")
            times["brief total"].append(res.seconds)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:>15}: median {med[k]:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in v)})")
    ratio_exec = med["brief execute"] / med["empty+imports"]
    ratio_total = med["brief total"] / med["empty+imports"]
    print(f"ratio brief execute / (empty + imports): {ratio_exec:.2f}x")
    print(f"ratio brief total (execute+HTML+PDF+audit) / (empty + imports): {ratio_total:.2f}x"
          f"  (goal <= 2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
