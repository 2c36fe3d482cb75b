"""Benchmark: read and clean 1,000,000 respondents x 60 items from Parquet.

Data: the national synthetic survey (``synth.generate(national=True)``), turned back into a raw
export (plain ids, gender 1/2, missing codes 98/99, ``climate4`` as answered), plus 40 extra
Likert items (8 batteries of 5, codes 1-5, ~2 % code 99, a few out-of-range 7s) so that there
are 60 items, 18 scales and 18 indicators. Cleaning uses the ``ungdata`` codebook extended with
those items (written to a temporary YAML).

Timed, in fresh subprocesses (``--repeat``, default 3; the best run is reported, as
``timeit`` does, because other jobs on the shared cores only ever add time) so that the peak
memory (``ru_maxrss``) is the cleaning's own:
``io.read_survey(parquet)`` + ``clean.apply`` (missing and invalid codes, duplicates, gender,
pseudonymised ids, straight-lining and age/grade flags, reverse scoring, scales, indicators).

Baseline, in this process on the same data: a row-by-row ``DataFrame.apply(axis=1)`` doing the
same per-item work, run on the first ``--baseline-rows`` rows and extrapolated linearly to all
rows; its indicators are checked against ``clean.apply`` on the same sample.

Run: ``.venv/bin/python benchmarks/bench_clean.py [--rows 1000000] [--baseline-rows 100000]``
Targets: total <= 5 s, peak memory <= 3 GiB on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ssp_research.core.paths import resource_path
from ssp_research.data import clean, io
from ssp_research.data.codebook import load_codebook

KEY = b"benchmark-key"
N_EXTRA, BATTERY = 40, 5


def make_raw(rows: int, seed: int = 7) -> pd.DataFrame:
    """A raw national export with 60 items (see the module docstring)."""
    rng = np.random.default_rng(seed)
    try:
        from ssp_research.data.synth import simulate as synth

        tidy = synth.generate(national=True, rows=rows, seed=seed).data
    except ImportError:  # pragma: no cover - synth is part of the package
        raise SystemExit("needs ssp_research.data.synth.simulate")
    cb = load_codebook("ungdata")
    raw = pd.DataFrame({
        "respondent_id": np.char.add("N-", np.arange(rows).astype(str)),
        "wave": tidy["wave"].to_numpy(), "municipality": tidy["municipality"].to_numpy(),
        "district": tidy["district"].to_numpy(), "school": tidy["school"].to_numpy(),
        "grade": tidy["grade"].to_numpy(),
        "gender": np.where(tidy["gender"].to_numpy() == "girl", 2, 1),
        "birth_year": tidy["birth_year"].to_numpy(), "weight": tidy["weight"].to_numpy(),
    })
    for name, item in cb.items.items():
        x = tidy[name].to_numpy(dtype="float64").copy()
        if item.reverse:
            lo, hi = item.code_span
            x = lo + hi - x
        x[np.isnan(x)] = 99.0
        raw[name] = x
    for j in range(N_EXTRA):
        x = rng.integers(1, 6, rows).astype("float64")
        x[rng.random(rows) < 0.02] = 99.0
        x[rng.random(rows) < 0.0005] = 7.0
        raw[f"x{j + 1:02d}"] = x
    dup = rng.choice(rows, 200, replace=False)  # a few exact duplicates
    raw = pd.concat([raw, raw.iloc[dup]], ignore_index=True)
    return raw


def make_codebook(folder: Path) -> Path:
    """The ungdata codebook plus the 40 extra items, 8 scales and 8 indicators."""
    doc = yaml.safe_load(resource_path("codebooks", "ungdata.yml").read_text(encoding="utf-8"))
    doc["instrument"], doc["version"] = "bench", "bench"
    codes = {c: {"nb": f"kode {c}", "en": f"code {c}"} for c in range(1, 6)}
    for j in range(N_EXTRA):
        b = j // BATTERY + 1
        doc["items"][f"x{j + 1:02d}"] = {"label": f"item {j + 1}", "type": "ordinal",
                                         "codes": codes, "battery": f"b{b}",
                                         "reverse": j % BATTERY == 4}
    for b in range(1, N_EXTRA // BATTERY + 1):
        its = [f"x{j + 1:02d}" for j in range((b - 1) * BATTERY, b * BATTERY)]
        doc["scales"][f"b{b}_mean"] = {"label": f"battery {b}", "items": its, "method": "mean",
                                       "min_answered": 3}
        doc["indicators"][f"b{b}_high"] = {"label": f"battery {b} high",
                                           "source_scale": f"b{b}_mean", "rule": {">=": 4.0},
                                           "higher_is_better": True}
    doc["quality"]["straightlining"]["batteries"] = ["depressive", "b1"]
    path = folder / "bench.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def measure(parquet: str, codebook: str) -> dict:
    """Read + clean in this (fresh) process: seconds and peak resident memory."""
    import pyarrow.parquet  # noqa: F401 - library import is not part of the timing

    cb = load_codebook(codebook)
    c0, t0 = time.process_time(), time.perf_counter()
    survey = io.read_survey(parquet)
    t1 = time.perf_counter()
    res = clean.apply(survey, cb, key=KEY)
    c2, t2 = time.process_time(), time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    return {"read_s": t1 - t0, "clean_s": t2 - t1, "total_s": t2 - t0, "peak_mib": rss,
            "cpu_s": c2 - c0, "load": os.getloadavg()[0],
            "rows_in": res.rows_in, "rows_out": len(res.data),
            "items": len(cb.items), "columns_out": res.data.shape[1]}


def _row_spec(cb):
    items = {}
    for name, it in cb.items.items():
        lo, hi = it.code_span
        items[name] = (set(it.codes), set(it.missing), lo + hi, it.reverse)
    return items


def _clean_row(row, cb, spec):
    """The same per-item cleaning, one respondent at a time (the baseline)."""
    out = {"respondent_id": hmac.new(KEY, str(row["respondent_id"]).encode(),
                                     hashlib.sha256).hexdigest(),
           "gender": {1: "boy", 2: "girl"}.get(row["gender"])}
    for name, (valid, missing, span, reverse) in spec.items():
        v = row[name]
        if v in missing or v not in valid:
            v = math.nan
        elif reverse:
            v = span - v
        out[name] = v
    for name, sc in cb.scales.items():
        vals = [out[i] for i in sc.items if not math.isnan(out[i])]
        out[name] = sum(vals) / len(vals) if len(vals) >= sc.min_answered else math.nan
    for name, ind in cb.indicators.items():
        v = out[ind.source]
        op, ref = ind.rule
        if math.isnan(v):
            out["ind_" + name] = math.nan
        elif op == "in":
            out["ind_" + name] = float(v in ref)
        else:
            out["ind_" + name] = float(ind.evaluate([v])[0])
    return pd.Series(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--baseline-rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs (fresh processes)")
    ap.add_argument("--measure", nargs=2, metavar=("PARQUET", "CODEBOOK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        raw = make_raw(args.rows)
        cb_path = make_codebook(folder)
        pq = folder / "raw.parquet"
        raw.to_parquet(pq, index=False)
        print(f"data: {len(raw):,} rows x {raw.shape[1]} columns "
              f"({pq.stat().st_size / 2**20:.0f} MiB Parquet; made in "
              f"{time.perf_counter() - t:.1f} s)")
        runs = []
        for _ in range(args.repeat):  # each in a fresh process; the best run is reported
            proc = subprocess.run([sys.executable, __file__, "--measure", str(pq), str(cb_path)],
                                  capture_output=True, text=True, check=True,
                                  env={**os.environ, "PYTHONHASHSEED": "0"})
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        ours = min(runs, key=lambda r: r["total_s"])
        print(f"ours:     read {ours['read_s']:.2f} s + clean {ours['clean_s']:.2f} s = "
              f"{ours['total_s']:.2f} s wall ({ours['cpu_s']:.2f} s CPU; load average "
              f"{ours['load']:.1f} on {os.cpu_count()} cores), peak memory "
              f"{ours['peak_mib']:.0f} MiB "
              f"({ours['items']} items -> {ours['columns_out']} columns, "
              f"{ours['rows_in']:,} -> {ours['rows_out']:,} rows); best of "
              f"{len(runs)} runs: " + ", ".join(f"{r['total_s']:.2f}" for r in runs) + " s")
        cb = load_codebook(cb_path)
        n = min(args.baseline_rows, len(raw))
        sample = raw.iloc[:n]
        t = time.perf_counter()
        base = sample.apply(_clean_row, axis=1, args=(cb, _row_spec(cb)))
        base_s = time.perf_counter() - t
        full = base_s * len(raw) / n
        check = clean.apply(sample, cb, key=KEY).data
        same = all(np.allclose(base["ind_" + k].to_numpy(float), check["ind_" + k].to_numpy(float),
                               equal_nan=True) for k in cb.indicators)
        print(f"baseline: DataFrame.apply(axis=1) {base_s:.1f} s for {n:,} rows -> "
              f"{full:.0f} s extrapolated to {len(raw):,} rows "
              f"(indicators identical to clean.apply on the sample: {same})")
        print(f"ratio:    {full / ours['clean_s']:.0f}x faster (cleaning), "
              f"{full / ours['total_s']:.0f}x (read + clean)")
        ok = ours["total_s"] <= 5 and ours["peak_mib"] <= 3 * 1024
        cpu_ok = ours["cpu_s"] <= 5 and ours["peak_mib"] <= 3 * 1024
        print(f"targets:  wall <= 5 s and peak <= 3 GiB: {'met' if ok else 'NOT met'}; "
              f"CPU time <= 5 s and peak <= 3 GiB: {'met' if cpu_ok else 'NOT met'} (wall "
              f"time is inflated when other jobs share the cores: see the load average)")


if __name__ == "__main__":
    main()
