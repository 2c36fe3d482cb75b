"""Build the protected publication of a whole batch: seconds, rows and the cost of protection.

For the shipped Trondheim data (city, 4 districts, 25 schools x 10 indicators x 4 waves x
gender x grade x family economy, crossed, with margins) and, with ``--national``, the
national synthetic data (``synth.generate(national=True, rows=1_000_000)``, levels country >
municipality > school), builds the publication as ``ssp batch`` does
(:func:`~ssp_research.disclosure.publication.build_publication`) and prints:

* seconds and rows; cells suppressed by reason (``n``, ``count``, ``series``, ``secondary``):
  the secondary share is the price of making the whole batch safe against subtraction
  across briefs;
* with ``--singletons``: the same built twice in this run, without and with the protection
  against a pupil alone in a hidden cell (who knows their own answer): the extra cells hidden
  and the time ratio (the cost of ``singletons=True``, the default);
* with ``--pooled``: the pooled publication (``pool=3``) released after the single-year one,
  through one ledger, against the pooled publication alone: what the joint protection costs;
* with ``--read``: seconds to read one school's rows back with ``read_publication`` (filtered)
  against reading the whole file, measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_publication.py [--national] [--indicators a,b]
[--singletons] [--pooled] [--read] [--jobs N]`` (``--jobs``: processes for the protection).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from ssp_research.analysis.indicators import with_economy_group
from ssp_research.core import paths
from ssp_research.disclosure.ledger import open_ledger
from ssp_research.disclosure.publication import (
    build_publication,
    read_publication,
    select,
    write_publication,
)
from ssp_research.disclosure.release import ledger_rows


def _national(rows: int) -> pd.DataFrame:
    from ssp_research.data import synth

    return synth.generate(national=True, rows=rows).data


def _build(data, levels, names, jobs, **kw) -> tuple[pd.DataFrame, float]:
    breakdowns = ["gender", "grade"] + (["economy_group"] if "economy_group" in data else [])
    t0 = time.perf_counter()
    pub = build_publication(data, "ungdata", indicators=names, levels=levels,
                            breakdowns=breakdowns, jobs=jobs, **kw)
    return pub, time.perf_counter() - t0


def _reasons(pub: pd.DataFrame) -> str:
    why = pub.loc[pub["suppressed"], "reason"].value_counts()
    total = int(pub["suppressed"].sum())
    return (f"{total:,} of {len(pub):,} hidden ({total / len(pub):.1%}: "
            + ", ".join(f"{k} {int(v):,}" for k, v in why.items()) + ")")


def run(data, levels, names, label: str, args) -> None:
    pub, seconds = _build(data, levels, names, args.jobs)
    units = pub[["level", "unit"]].drop_duplicates()
    print(f"{label}: {len(units)} units, {pub['indicator'].nunique()} indicators, "
          f"{len(pub):,} rows, {seconds:.2f} s")
    print(f"  {_reasons(pub)}")
    if args.singletons:
        off, t_off = _build(data, levels, names, args.jobs, singletons=False)
        extra = int(pub["suppressed"].sum()) - int(off["suppressed"].sum())
        print(f"  singletons off: {_reasons(off)}, {t_off:.2f} s")
        print(f"  singletons cost: +{extra:,} cells hidden "
              f"({extra / max(int(off['suppressed'].sum()), 1):+.1%}), time x{seconds / t_off:.2f}")
    if args.pooled:
        alone, t_alone = _build(data, levels, names, args.jobs, pool=3)
        with tempfile.TemporaryDirectory() as tmp:
            with open_ledger("ungdata", label, folder=tmp) as led:
                led.record(ledger_rows(pub), kind="publication", what="single-year")
            with open_ledger("ungdata", label, folder=tmp) as led:
                joint, t_joint = _build(data, levels, names, args.jobs, pool=3, ledger=led)
        print(f"  pooled alone: {_reasons(alone)}, {t_alone:.2f} s")
        print(f"  pooled after the single-year release (one ledger): {_reasons(joint)}, "
              f"{t_joint:.2f} s (x{t_joint / t_alone:.2f} the time alone)")
    if args.read:
        school = pub.loc[pub["level"] == "school", "unit"].iloc[len(units) // 3]
        with tempfile.TemporaryDirectory() as tmp:
            path = write_publication(pub, Path(tmp) / "pub.parquet")
            t3 = time.perf_counter()
            whole = select(read_publication(path), "school", school)
            t4 = time.perf_counter()
            part = read_publication(path, level="school", unit=school)
            t5 = time.perf_counter()
        assert len(whole) == len(part)
        print(f"  read one school: filtered {t5 - t4:.3f} s, whole file + select "
              f"{t4 - t3:.3f} s (ratio {(t4 - t3) / (t5 - t4):.1f}x)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--national", action="store_true", help="also the national data")
    parser.add_argument("--rows", type=int, default=1_000_000, help="national rows")
    parser.add_argument("--indicators", default=None, help="comma-separated names")
    parser.add_argument("--read", action="store_true", help="time filtered reads")
    parser.add_argument("--singletons", action="store_true",
                        help="the cost of protecting against pupils alone in hidden cells")
    parser.add_argument("--pooled", action="store_true",
                        help="a pooled publication after the single-year one, one ledger")
    parser.add_argument("--jobs", type=int, default=1, help="processes for protect")
    args = parser.parse_args(argv)
    names = args.indicators.split(",") if args.indicators else None
    city = with_economy_group(pd.read_parquet(paths.synthetic_dir() / "trondheim.parquet"))
    run(city, ("city", "district", "school"), names, "Trondheim", args)
    if args.national:
        t = time.perf_counter()
        data = _national(args.rows)
        print(f"(national synthetic data: {len(data):,} rows in {time.perf_counter() - t:.1f} s)")
        run(data, ("country", "municipality", "school"), names, "Norge", args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
