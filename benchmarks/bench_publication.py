"""Build the protected publication of a whole batch: seconds, rows and the cost of protection.

For the shipped Trondheim data (city, 4 districts, ~25 schools x 10 indicators x 4 waves x
(total + 2 genders + 3 grades)) and, with ``--national``, the national synthetic data
(``synth.generate(national=True, rows=1_000_000)``, levels country > municipality > school),
prints:

* seconds for the estimates (``indicator_table`` per level and breakdown) and for
  ``disclosure.protect`` over the whole table, and the rows built;
* cells suppressed by the primary rules alone (``n``, ``count``), by primary + series, and by
  all steps (with secondary suppression): the ratio all / primary is the price of making the
  whole batch safe against subtraction across briefs;
* with ``--read``: seconds to read one school's rows back with ``read_publication`` (filtered)
  against reading the whole file, measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_publication.py [--national] [--indicators a,b]
[--read] [--jobs N]`` (``--jobs``: processes for the protection, one indicator each).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from ssp_research.core import paths
from ssp_research.disclosure import Rules
from ssp_research.disclosure.publication import (
    _protect,
    _unprotected,
    read_publication,
    select,
    write_publication,
)


def _national(rows: int) -> pd.DataFrame:
    from ssp_research.data import synth

    return synth.generate(national=True, rows=rows).data


def run(data, levels, names, label: str, read: bool, jobs: int = 1) -> None:
    rules = Rules()
    t0 = time.perf_counter()
    table, parent, names, _, _ = _unprotected(
        data, "ungdata", indicators=names, waves=None, levels=levels,
        breakdowns=["gender", "grade"], pool=1, standardise=None,
        standardise_by=("grade", "gender"), top_name=None, progress=False)
    t1 = time.perf_counter()
    prot = _protect(table, rules, parent, ["gender", "grade"], jobs=jobs)
    t2 = time.perf_counter()
    reason = prot["reason"]
    primary = int(reason.isin(["n", "count"]).sum())
    series = primary + int((reason == "series").sum())
    total = int(prot["suppressed"].sum())
    units = table[["level", "unit"]].drop_duplicates()
    print(f"{label}: {len(units)} units, {len(names)} indicators, {len(table):,} rows")
    print(f"  estimates {t1 - t0:7.2f} s   protect {t2 - t1:7.2f} s   total {t2 - t0:7.2f} s")
    print(f"  suppressed: primary {primary:,} ({primary / len(table):.1%})   "
          f"+series {series:,} ({series / len(table):.1%})   "
          f"all steps {total:,} ({total / len(table):.1%})   "
          f"all / primary = {total / max(primary, 1):.2f}")
    if read:
        pub = table.assign(suppressed=prot["suppressed"].to_numpy(),
                           reason=prot["reason"].to_numpy())
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
    parser.add_argument("--jobs", type=int, default=1, help="processes for protect")
    args = parser.parse_args(argv)
    names = args.indicators.split(",") if args.indicators else None
    run(paths.synthetic_dir() / "trondheim.parquet", ("city", "district", "school"), names,
        "Trondheim", args.read, args.jobs)
    if args.national:
        t = time.perf_counter()
        data = _national(args.rows)
        print(f"(national synthetic data: {len(data):,} rows in {time.perf_counter() - t:.1f} s)")
        run(data, ("country", "municipality", "school"), names, "National", args.read, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
