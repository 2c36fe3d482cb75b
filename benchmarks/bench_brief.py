"""Benchmark: one ``ssp brief`` from a fresh process, cold and with the publication cached.

Goals (issue 12): a single brief from a fresh process takes at most 8 s when the city's
protected publication must be built first (cold: an empty cache) and at most 6 s when it is
cached. Both are whole commands, as a user types them: ``ssp brief`` (execute the template in
a fresh kernel, HTML, PDF, disclosure audit, publish).

Baseline, in the same run: ``python -c`` executing, the same way (papermill in-process, a
fresh kernel), a notebook holding only the brief's parameters cell and its import cells: the
fixed cost of any brief. Runs are interleaved (baseline, cold, cached, baseline, ...) so that
load from other processes hits all three alike; medians are reported with their ratio to the
baseline.

Usage: ``python benchmarks/bench_brief.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from ssp_research import render

SSP = Path(sys.executable).parent / "ssp"


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


def _timed(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ssp-bench-brief-") as tmp:
        tmp = Path(tmp)
        baseline = _baseline_notebook(render.DEFAULT_TEMPLATE, tmp / "baseline.ipynb")
        base_cmd = [sys.executable, "-c",
                    "from ssp_research.core.lazy_imports import defer_rfc3987_syntax\n"
                    "defer_rfc3987_syntax()\n"
                    "from ssp_research.render import execute\n"
                    f"execute({str(baseline)!r}, {{}}, {str(tmp / 'baseline_out.ipynb')!r})"]
        cached_env = {**os.environ, "SSP_OUTPUT_DIR": str(tmp / "cached")}
        subprocess.run([str(SSP), "brief", "--out", str(tmp / "fill")], env=cached_env,
                       check=True, capture_output=True)  # fills the cache
        times: dict[str, list[float]] = {"baseline": [], "cold": [], "cached": []}
        for i in range(args.runs):
            times["baseline"].append(_timed(base_cmd, os.environ.copy()))
            cold = tmp / f"cold{i}"
            times["cold"].append(_timed([str(SSP), "brief", "--out", str(cold / "b")],
                                        {**os.environ, "SSP_OUTPUT_DIR": str(cold)}))
            shutil.rmtree(cold, ignore_errors=True)
            times["cached"].append(_timed([str(SSP), "brief", "--out", str(tmp / f"w{i}")],
                                          cached_env))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"ssp brief (Trondheim, latest wave, nb, HTML + PDF + audit), median of "
              f"{args.runs} runs, whole commands in fresh processes:")
        print(f"  baseline (parameters + import cells, fresh kernel): {med['baseline']:.2f} s "
              f"({min(times['baseline']):.2f}-{max(times['baseline']):.2f})")
        for key, goal in (("cold", 8.0), ("cached", 6.0)):
            ok = "met" if med[key] <= goal else "NOT met"
            print(f"  {key:6s}: {med[key]:.2f} s ({min(times[key]):.2f}-{max(times[key]):.2f}) "
                  f"= {med[key] / med['baseline']:.2f}x the baseline; goal <= {goal:.0f} s: {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
