"""Benchmark: the full indicator table on the shipped city and on 1,000,000 respondents.

The full table is every indicator of the ``ungdata`` codebook, every wave, for the city (vs
nothing), the districts (each vs the city) and every school (each vs its district), with the
overlap-aware difference tests. Targets (issue 4): <= 2 s on the shipped synthetic city and
<= 20 s on 1,000,000 respondents (``synth.generate(national=True)``: municipalities and
regions vs the whole country, schools vs their municipality). Data generation is not timed.

Run: ``.venv/bin/python benchmarks/bench_indicators.py [--rows 1000000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from ssp_research.analysis.indicators import indicator_table
from ssp_research.core import paths
from ssp_research.data import synth
from ssp_research.data.codebook import load_codebook


def full_table(data: pd.DataFrame, codebook, national: bool = False) -> pd.DataFrame:
    """City, districts vs city, schools vs district: all indicators, all waves.

    National data: municipalities and regions vs the whole country, schools vs their
    municipality (regions are not nested in municipalities there).
    """
    if national:
        calls = [dict(unit=None, compare="all"), dict(unit="district", compare="all"),
                 dict(unit="school", compare="city")]
    else:
        calls = [dict(unit=None, compare=None), dict(unit="district", compare="city"),
                 dict(unit="school", compare="district")]
    return pd.concat([indicator_table(data, codebook, **kw) for kw in calls],
                     ignore_index=True)


def _time(data: pd.DataFrame, codebook, repeat: int,
          national: bool = False) -> tuple[float, pd.DataFrame]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = full_table(data, codebook, national)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the national run")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    ap.add_argument("--skip-national", action="store_true")
    args = ap.parse_args(argv)
    cb = load_codebook("ungdata")

    pq = paths.synthetic_dir() / "trondheim.parquet"
    city = pd.read_parquet(pq) if pq.exists() else synth.generate().data
    secs, tab = _time(city, cb, args.repeat)
    print(f"city: {len(city):,} respondents, {city['school'].nunique()} schools -> "
          f"{len(tab):,} rows in {secs:.3f} s (target <= 2 s: {'ok' if secs <= 2 else 'MISSED'})")

    if not args.skip_national:
        t0 = time.perf_counter()
        nat = synth.generate(rows=args.rows, national=True).data
        gen = time.perf_counter() - t0
        secs, tab = _time(nat, cb, max(1, args.repeat - 1), national=True)
        print(f"national: {len(nat):,} respondents, {nat['municipality'].nunique()} "
              f"municipalities, {nat['school'].nunique()} schools (generated in {gen:.1f} s) -> "
              f"{len(tab):,} rows in {secs:.3f} s "
              f"(target <= 20 s: {'ok' if secs <= 20 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
