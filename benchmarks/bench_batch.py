"""Batch reruns: `ssp batch` against the naive way, measured in the same run.

Usage::

    .venv/bin/python benchmarks/bench_batch.py                 # Trondheim, ~30 units
    .venv/bin/python benchmarks/bench_batch.py --naive-sample 6  # extrapolate the naive way
    .venv/bin/python benchmarks/bench_batch.py --national      # + 1M rows, ~350 municipalities

What it measures (all on this machine, in this run):

1. **naive**: the papermill CLI once per unit, sequentially, then ``jupyter nbconvert --to html
   --no-input`` (what a notebook user scripts by hand); with ``--naive-sample K`` only K units
   are run and the time is extrapolated to all units (said so in the output).
2. **ssp batch**: the same units with :func:`ssp_research.batch.run.run_batch` (fresh kernel per
   brief, one worker per core, HTML + PDF + audit + the protected publication), from an empty
   cache. Goal: >= 3x faster than naive.
3. **floor**: a notebook with only the brief's imports, executed in a fresh kernel started from
   scratch, in-process (papermill API, immediate shutdown), measured alone (best of 3) and, as
   the batch meets it, by the same number of workers at once (wall x workers / notebooks;
   two kernels on two cores run ~15 % slower than one alone). Per-brief time of the batch
   (wall x workers / units, the publication and start-up included) against the latter.
   Goal: <= 1.5x. ``ssp batch`` forks its fresh kernels from a preloaded template process
   (:mod:`ssp_research.batch.forkserver`), so a brief does not pay the floor's start-up again.
4. **cached**: the unchanged rerun of all units. Goal: <= 2 s.
5. ``--national``: every municipality's brief of a 1,000,000-respondent national dataset, wall
   time and peak memory (sum of RSS over this process tree, sampled), including the build
   of the protected national publication. Goal: <= 15 minutes. Fresh kernels by default, as
   ``ssp batch`` (``--national-mode spawn`` starts every kernel from scratch).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil

from ssp_research import batch, disclosure, render
from ssp_research.core import paths

VENV_BIN = Path(sys.executable).parent
TEMPLATE = render.DEFAULT_TEMPLATE
SYNTH = paths.PROJECT_DIR / "data" / "synthetic" / "trondheim.parquet"


class PeakRSS:
    """Sample the summed RSS of this process and all its children every 0.2 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def city_units(data: Path) -> list[batch.Unit]:
    """The city, its districts and its schools (about 30 units)."""
    districts = batch.plan_units(data, "district")
    schools = batch.plan_units(data, "school")
    return districts + schools[1:]


def run_naive(units: list[batch.Unit], work: Path) -> float:
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for i, unit in enumerate(units):
        out = work / f"unit{i}.ipynb"
        args = [str(VENV_BIN / "papermill"), str(TEMPLATE), str(out), "--cwd",
                str(paths.PROJECT_DIR), "--no-progress-bar"]
        for name, value in unit.params.items():
            args += ["-p", name, str(value)]
        subprocess.run(args, check=True, capture_output=True)
        subprocess.run([str(VENV_BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input",
                        str(out)], check=True, capture_output=True)
    return time.perf_counter() - t0


def floor_notebook(path: Path) -> Path:
    """A notebook with the brief's imports only (the fixed cost of any brief)."""
    brief = nbformat.read(TEMPLATE, as_version=4)
    imports = [c.source for c in brief.cells if c.cell_type == "code"
               and all(line.startswith(("import ", "from ")) or not line.strip()
                       for line in c.source.splitlines())]
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('unit: str = "x"  # unit')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(src) for src in imports]
    nb.metadata["kernelspec"] = brief.metadata.get("kernelspec", {"name": "python3"})
    nbformat.write(nb, path)
    return path


def run_floor(path: Path, repeat: int = 3) -> float:
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        render.execute(path, {"unit": str(i)}, path.with_name(f"floor_out{i}.ipynb"))
        times.append(time.perf_counter() - t0)
    return min(times)


def _floor_once(path: str, i: int) -> float:
    t0 = time.perf_counter()
    render.execute(path, {"unit": str(i)}, Path(path).with_name(f"floor_par{i}.ipynb"))
    return time.perf_counter() - t0


def run_floor_parallel(path: Path, jobs: int, per_worker: int = 6) -> float:
    """The floor as the batch meets it: ``jobs`` workers executing floor notebooks at once
    (fresh kernels started from scratch); per notebook = wall x workers / notebooks."""
    from concurrent.futures import ProcessPoolExecutor

    n = jobs * per_worker
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(_floor_once, [str(path)] * jobs, range(jobs)))  # workers started
        t0 = time.perf_counter()
        list(pool.map(_floor_once, [str(path)] * n, range(n)))
        return (time.perf_counter() - t0) * jobs / n


def run_batch(units, out: Path, jobs: int, **kw):
    return batch.run_batch(units, out, template=TEMPLATE, jobs=jobs,
                           prepare=batch.prepare_publication, audit=disclosure.audit,
                           progress=True, **kw)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--naive-sample", type=int, default=None,
                        help="run the naive way on this many units and extrapolate")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--national", action="store_true",
                        help="also the national run (1,000,000 respondents)")
    parser.add_argument("--national-rows", type=int, default=1_000_000)
    parser.add_argument("--national-mode", choices=["fresh", "spawn"], default="fresh",
                        help="kernel mode of the national run (default: fresh, as ssp batch)")
    parser.add_argument("--national-only", action="store_true",
                        help="skip the Trondheim part")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ssp-bench-batch-"))
    if args.national_only:
        try:
            national(work, args)
            return 0
        finally:
            shutil.rmtree(work, ignore_errors=True)
    try:
        units = city_units(SYNTH)
        n = len(units)
        print(f"Trondheim synthetic data: {n} units (city, districts, schools), "
              f"{args.jobs} workers, {os.cpu_count()} cores")

        floor_nb = floor_notebook(work / "floor.ipynb")
        floor_alone = run_floor(floor_nb)
        floor = run_floor_parallel(floor_nb, args.jobs)
        print(f"floor (fresh kernel started from scratch + the brief's imports): "
              f"{floor_alone:.2f} s alone (best of 3); {floor:.2f} s per notebook with "
              f"{args.jobs} workers at once, as in the batch (wall x workers / notebooks)")

        with PeakRSS() as mem:
            summary = run_batch(units, work / "batch", args.jobs, force=True)
        per_brief = summary.seconds * args.jobs / n
        print(f"ssp batch: {summary.seconds:.1f} s for {n} briefs ({summary.ok} ok, "
              f"{summary.failed} failed); per brief per worker {per_brief:.2f} s = "
              f"{per_brief / floor:.2f}x the floor with {args.jobs} workers (goal <= 1.5x; "
              f"{per_brief / floor_alone:.2f}x the floor alone); peak RSS "
              f"{mem.peak / 2**30:.2f} GiB")

        t0 = time.perf_counter()
        cached = run_batch(units, work / "batch", args.jobs)
        cached_s = time.perf_counter() - t0
        print(f"unchanged rerun: {cached_s:.2f} s, {cached.cached} of {n} cached "
              f"(goal <= 2 s)")

        sample = units if not args.naive_sample else units[: args.naive_sample]
        naive = run_naive(sample, work / "naive") * n / len(sample)
        how = "measured" if len(sample) == n else f"extrapolated from {len(sample)} units"
        print(f"naive (papermill CLI + nbconvert CLI per unit, sequential): {naive:.1f} s "
              f"({how})")
        print(f"ratio naive / ssp batch: {naive / summary.seconds:.2f}x (goal >= 3x)")

        if args.national:
            national(work, args)
        return 0 if summary.failed == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def national(work: Path, args) -> None:
    from ssp_research.data import synth

    t0 = time.perf_counter()
    result = synth.generate(national=True, rows=args.national_rows)
    data = work / "national.parquet"
    result.data.to_parquet(data, index=False)
    del result
    print(f"national data: {args.national_rows:,} rows written in "
          f"{time.perf_counter() - t0:.1f} s")
    units = batch.plan_units(data, "municipality")
    load0 = os.getloadavg()[0]
    with PeakRSS() as mem:
        summary = run_batch(units, work / "national_batch", args.jobs, force=True,
                            mode=args.national_mode)
    print(f"national ({args.national_mode} kernels): {len(units)} briefs (country + "
          f"municipalities) in {summary.seconds / 60:.1f} min ({summary.ok} ok, "
          f"{summary.failed} failed), peak RSS {mem.peak / 2**30:.2f} GiB (goal <= 15 min); "
          f"load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    for rec in summary.records.values():
        if rec.get("status") == "failed":
            print(f"  failed: {rec.get('unit')}: {str(rec.get('error'))[:200]}")


if __name__ == "__main__":
    sys.exit(main())
