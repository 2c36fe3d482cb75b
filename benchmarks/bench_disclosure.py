"""Disclosure control on the shipped synthetic publication: cost, safety and time.

For each indicator of ``data/synthetic/trondheim.parquet``, the whole publication (city, 4
districts, 25 schools x gender x grade x 4 waves, with margins) is protected and attacked:

* cells hidden by primary + series rules alone, by ``protect`` (with secondary), and by the
  common-practice baseline measured in the same run (hide the whole breakdown, all parts of
  a total, whenever one part or the total is hidden, to a fixed point; not proven safe);
  the ratio ours / baseline is printed;
* the LP attack (:func:`~ssp_research.disclosure.attack`) on every suppressed count: how many
  were attacked and how many fell (a range narrower than ``min(min_count, n)``);
* seconds for ``protect`` and for the attack.

With ``--national [ROWS]`` the same for the national publication instead
(``synth.generate(national=True, rows=ROWS)``, default 1,000,000: country > municipality >
school x gender x grade x 4 waves, about 59,000 cells per indicator), built as
``publication.build_publication`` builds it (no naive baseline there).

Run: ``.venv/bin/python benchmarks/bench_disclosure.py [indicator ...]`` or
``.venv/bin/python benchmarks/bench_disclosure.py --national [ROWS] [indicator ...]``
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from ssp_research.core import paths
from ssp_research.disclosure import Rules, attack, protect, publication_cube


def _naive(cube: pd.DataFrame, primary: pd.Series) -> int:
    """Common practice: hide a whole breakdown (all parts of a total) when any part or the
    total is hidden, to a fixed point; totals with all parts shown stay shown."""
    hidden = primary.to_numpy(bool).copy()
    keys = cube[["variable", "wave", "unit", "gender", "grade"]].astype(str)
    pos = {tuple(k): i for i, k in enumerate(keys.itertuples(index=False))}
    kids: dict[str, list[str]] = {}
    for unit, parent in zip(cube["unit"], cube["parent"]):
        if parent and unit not in kids.get(parent, []):
            kids.setdefault(parent, []).append(unit)
    relations = []
    for (var, wave, unit, gender, grade), i in pos.items():
        if gender == "all":
            relations.append((i, [pos[(var, wave, unit, g, grade)] for g in ("girl", "boy")]))
        if grade == "all":
            relations.append((i, [pos[(var, wave, unit, gender, g)] for g in ("8", "9", "10")]))
        if unit in kids:
            relations.append((i, [pos[(var, wave, k, gender, grade)] for k in kids[unit]]))
    changed = True
    while changed:
        changed = False
        for parent, parts in relations:
            if (hidden[parent] or hidden[parts].any()) and not hidden[parts].all():
                hidden[parts] = True
                changed = True
    return int(hidden.sum())


def national(rows: int, indicators: list[str]) -> int:
    """Protect and attack each indicator of the national publication; 1 if any cell fell."""
    import os

    from ssp_research.data import synth
    from ssp_research.disclosure.publication import _unprotected
    from ssp_research.disclosure.rules import TOTAL

    rules = Rules()
    data = synth.generate(national=True, rows=rows).data
    table, parent, names, *_ = _unprotected(
        data, "ungdata", indicators=indicators or None, waves=None,
        levels=("country", "municipality", "school"), breakdowns=["gender", "grade"], pool=1,
        standardise=None, standardise_by=("grade", "gender"), top_name=None, progress=False)
    hierarchy = {"unit": {u: p for u, p in parent.items() if p},
                 **{b: {v: TOTAL for v in table[b].unique() if v != TOTAL}
                    for b in ("gender", "grade")}}
    fell = 0
    for ind, part in table.groupby("indicator", sort=False):
        cube = part[["indicator", "wave", "level", "unit", "parent", "gender", "grade",
                     "estimate", "se", "ci_low", "ci_high", "df", "n", "count"]]
        cube = cube.rename(columns={"indicator": "variable"})
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        prot = protect(cube, rules, hierarchy=hierarchy)
        t_protect = time.perf_counter() - t0
        t0 = time.perf_counter()
        ranges = attack(prot, cube, rules, hierarchy=hierarchy)
        t_attack = time.perf_counter() - t0
        fell += int((~ranges["safe"]).sum())
        print({"indicator": ind, "cells": len(cube), "suppressed": int(prot["suppressed"].sum()),
               "secondary": int((prot["reason"] == "secondary").sum()),
               "fell": int((~ranges["safe"]).sum()), "protect_s": round(t_protect, 2),
               "attack_s": round(t_attack, 2), "load": round(load, 1)}, flush=True)
    return 1 if fell else 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--national":
        rows = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1_000_000
        return national(rows, [a for a in argv[1:] if not a.isdigit()])
    data = pd.read_parquet(paths.synthetic_dir() / "trondheim.parquet")
    indicators = argv or [c for c in data.columns if c.startswith("ind_")]
    rules = Rules()
    rows = []
    for ind in indicators:
        cube = publication_cube(data, ind)
        t0 = time.perf_counter()
        prot = protect(cube, rules)
        t_protect = time.perf_counter() - t0
        base = protect(cube, rules, hierarchy={})
        t0 = time.perf_counter()
        ranges = attack(prot, cube, rules)
        t_attack = time.perf_counter() - t0
        naive = _naive(cube, base["suppressed"])
        ours = int(prot["suppressed"].sum())
        rows.append({"indicator": ind, "cells": len(cube),
                     "primary+series": int(base["suppressed"].sum()), "protect": ours,
                     "naive": naive, "ours/naive": round(ours / naive, 3),
                     "attacked": len(ranges), "fell": int((~ranges["safe"]).sum()),
                     "protect_s": round(t_protect, 2), "attack_s": round(t_attack, 2)})
        print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    print()
    print(frame.to_string(index=False))
    total = frame[["cells", "primary+series", "protect", "naive", "attacked", "fell"]].sum()
    print(f"\ntotal: {total['cells']} cells; hidden by primary+series {total['primary+series']}, "
          f"with secondary {total['protect']} "
          f"(+{total['protect'] - total['primary+series']}), naive baseline {total['naive']} "
          f"(ratio ours/naive {total['protect'] / total['naive']:.3f}); "
          f"{total['attacked']} suppressed counts attacked, {total['fell']} fell")
    print(f"median seconds: protect {np.median(frame['protect_s']):.2f}, "
          f"attack {np.median(frame['attack_s']):.2f}")
    return 1 if total["fell"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
