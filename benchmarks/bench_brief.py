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

Both are first timed in this process, after one brief has run in it (the imports of this
process are loaded, as in a notebook session or a scheduler that runs briefs one after
another). Then, "fresh process": each as a whole command in a new Python process, as from a
shell: ``ssp brief`` (publication cached) against ``python -c`` executing the baseline
notebook the same way; both pay the interpreter start and their own imports, and the brief
also loads its statistics, figure and HTML/PDF code in that process.

Usage: ``python benchmarks/bench_brief.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
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
        _report(times, "empty+imports", ("brief (cold cache)", "brief (warm cache)"))
        print("fresh process (whole commands):")
        _report(_fresh_processes(baseline, params, tmp, warm, args.runs),
                "python -c execute(empty+imports)", ("ssp brief",))
    return 0


def _report(times: dict, base_name: str, names) -> None:
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:>32}: median {med[k]:.2f} s  (runs: {', '.join(f'{x:.2f}' for x in v)})")
    for k in names:
        print(f"ratio {k} / ({base_name}): {med[k] / med[base_name]:.2f}x  (goal <= 2x)")


def _fresh_processes(baseline: Path, params: dict, tmp: Path, warm: Path, runs: int) -> dict:
    env = {**os.environ, "SSP_OUTPUT_DIR": str(warm)}
    execute = (f"from ssp_research import report; report.execute({str(baseline)!r}, "
               f"{params!r}, {str(tmp / 'fresh_out.ipynb')!r})")
    commands = {
        "python -c execute(empty+imports)": [sys.executable, "-c", execute],
        "ssp brief": [sys.executable, "-m", "ssp_research.cli", "brief", "--wave",
                      str(params["wave"]), "--out", str(tmp / "fresh")],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            t0 = time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True)
            times[name].append(time.perf_counter() - t0)
    return times


if __name__ == "__main__":
    raise SystemExit(main())
