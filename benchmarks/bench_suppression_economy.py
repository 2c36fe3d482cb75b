"""Economy of secondary suppression: ours against Statistics Norway's GaussSuppression.

One table per indicator, from ``data/synthetic/trondheim.parquet`` for one wave: the unweighted
count with the attribute and the respondents ``n`` by school x gender x grade, with every
margin of the cross-classification and the district and city margins of the schools
(school -> district -> city; 30 units x 3 genders x 4 grades = 360 cells), as
:func:`~ssp_research.disclosure.publication_cube` builds it.

* **ours**: :func:`~ssp_research.disclosure.protect` with the default rules (primary
  ``n < 20`` or fewer than 3 with / without the attribute; one wave, so no series rule;
  secondary with the LP proof that every hidden count keeps a range of ``min(3, n)``).
* **GaussSuppression** (``GaussSuppressionFromData``, R script
  ``benchmarks/bench_suppression_economy.R`` through ``Rscript`` on CSV files in a temporary
  folder): the same table with a dimension ``b`` (with / without the attribute, total = n),
  the same primary cells (ours, passed as a primary function, for the count and its
  complement), interval suppression on (``rlim`` = ``min(3, n)`` on each primary cell, the
  first LP package of highs / Rsymphony / Rglpk / lpSolve installed), ``protectZeros`` on
  (our rule hides zero counts), no singleton method (the attacker is outside, as ours).
  ``n`` is public in our rule; GaussSuppression refuses ``forced`` cells with interval
  suppression, so n cells are put first among its candidates and any n it still hides is
  reported (``n_hidden``) and treated as public by the attackers.

Printed per table: cells, primary, secondary (ours / GS), the suppressed count mass (sum of the
hidden counts), the ratios ours / GS, the wall time of each (protect in Python; the
``GaussSuppressionFromData`` call inside R, its start-up excluded) as a ratio, and the leaks
found by the project's attackers on each output: :func:`~ssp_research.disclosure.attack`
(the library's LP) and the independent intruder of ``tests/disclosure/intruder.py`` (an LP
over the finest cells, every finest cell's size known, each pupil alone in a hidden cell an
intruder too). A leak is a hidden count narrowed to fewer than ``min(3, n) + 1`` whole values;
``leak primary`` counts the primary cells (what the rule protects), ``leak all`` every hidden
cell (our protection also keeps the secondary cells that wide; GaussSuppression's interval
requirement is on primary cells only).

Skips with a message (exit 0) when ``Rscript`` or the R package GaussSuppression is missing.

Run: ``.venv/bin/python benchmarks/bench_suppression_economy.py [--wave 2025] [indicator ...]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ssp_research.core import paths
from ssp_research.disclosure import Rules, attack, protect, publication_cube

HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "bench_suppression_economy.R"
sys.path.insert(0, str(HERE.parent / "tests" / "disclosure"))
from intruder import attack as intruder_attack  # noqa: E402

TOTAL = "all"
GS_TOTAL = "Total"


def _missing_r() -> str | None:
    """Why the GaussSuppression side cannot run, or None."""
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    check = "if (!requireNamespace('GaussSuppression', quietly = TRUE)) q(status = 3)"
    probe = subprocess.run(["Rscript", "-e", check], capture_output=True, text=True)
    if probe.returncode:
        return ("the R package GaussSuppression is not installed (Rscript -e 'install.packages("
                'c("SSBtools", "GaussSuppression"), repos = "https://cloud.r-project.org")\')')
    return None


def _geo(cube: pd.DataFrame) -> pd.Series:
    """GaussSuppression's code of each cell's unit (the city is its grand total)."""
    return cube["unit"].where(cube["level"] != "city", GS_TOTAL)


def _gs_total(values: pd.Series) -> pd.Series:
    return values.astype(str).replace(TOTAL, GS_TOTAL)


def gauss_suppression(cube: pd.DataFrame, primary: np.ndarray, rules: Rules,
                      tmp: Path, lp: str | None = None) -> tuple[pd.DataFrame, float, str]:
    """Run the R side on ``cube``; returns (GS cells, seconds inside R, LP package)."""
    school = cube[(cube["level"] == "school") & (cube["gender"] != TOTAL)
                  & (cube["grade"] != TOTAL)]
    inner = pd.concat([
        pd.DataFrame({"school": school["unit"], "district": school["parent"],
                      "gender": school["gender"], "grade": school["grade"], "b": b,
                      "freq": freq})
        for b, freq in (("1", school["count"]), ("0", school["n"] - school["count"]))])
    cells = pd.DataFrame({"geo": _geo(cube), "gender": _gs_total(cube["gender"]),
                          "grade": _gs_total(cube["grade"]), "primary": primary,
                          "need": np.minimum(rules.min_count, cube["n"])})
    inner.to_csv(tmp / "inner.csv", index=False)
    cells.to_csv(tmp / "cells.csv", index=False)
    run = subprocess.run(["Rscript", str(R_SCRIPT), str(tmp / "inner.csv"),
                          str(tmp / "cells.csv"), str(tmp / "out.csv"), *([lp] if lp else [])],
                         capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError("GaussSuppression failed:\n" + run.stderr[-3000:])
    line = next(s for s in run.stdout.splitlines() if s.startswith("seconds"))
    fields = line.split()
    out = pd.read_csv(tmp / "out.csv", dtype={"geo": str, "gender": str, "grade": str,
                                              "b": str})
    return out, float(fields[1]), f"{fields[3]}, GaussSuppression {fields[5]}"


def _as_protected(cube: pd.DataFrame, suppressed: np.ndarray, reason: np.ndarray,
                  ) -> pd.DataFrame:
    """``cube`` published with these cells hidden (the shape :func:`protect` returns)."""
    out = cube.copy()
    for col in ("estimate", "se", "ci_low", "ci_high", "count"):
        out[col] = out[col].astype(float)
        out.loc[suppressed, col] = np.nan
    out["suppressed"] = suppressed
    out["reason"] = pd.Series(np.where(suppressed, reason, None), index=out.index, dtype=object)
    out["marker"] = np.where(suppressed, "*", "")
    return out


def _leaks(data: pd.DataFrame, cube: pd.DataFrame, published: pd.DataFrame,
           rules: Rules) -> dict[str, int]:
    lib = attack(published, cube, rules)
    release = published.rename(columns={"variable": "indicator"})
    found = intruder_attack(data, [release], min_count=rules.min_count, min_n=rules.min_n,
                            sizes_known=True, singletons=True)
    primary = found["primary"].to_numpy(bool)
    lib_primary = lib["reason"].isin(["n", "count"]).to_numpy()
    return {"lib_all": int((~lib["safe"]).sum()),
            "lib_primary": int((~lib["safe"] & lib_primary).sum()),
            "intruder_all": int(found["narrowed"].sum()),
            "intruder_primary": int((found["narrowed"] & primary).sum())}


def bench(data: pd.DataFrame, indicator: str, rules: Rules, tmp: Path,
          lp: str | None = None) -> dict:
    cube = publication_cube(data, indicator)
    t0 = time.perf_counter()
    ours = protect(cube, rules)
    t_ours = time.perf_counter() - t0
    primary = ours["reason"].isin(["n", "count"]).to_numpy()
    gs, t_gs, lp = gauss_suppression(cube, primary, rules, tmp, lp)

    # GS's cells back onto ours: each published cell's count (b = 1), complement, n
    keys = pd.DataFrame({"geo": _geo(cube), "gender": _gs_total(cube["gender"]),
                         "grade": _gs_total(cube["grade"])})
    by_b = {b: keys.merge(part, on=["geo", "gender", "grade"], how="left", validate="1:1")
            for b, part in gs.groupby("b")}
    if by_b["1"]["freq"].isna().any() or (by_b["1"]["freq"].to_numpy() != cube["count"]).any():
        raise RuntimeError("GaussSuppression's cells do not match the published counts")
    if (by_b[GS_TOTAL]["freq"].to_numpy() != cube["n"]).any():
        raise RuntimeError("GaussSuppression's n do not match the published n")
    gs_sup = by_b["1"]["suppressed"].to_numpy(bool)
    gs_prim = by_b["1"]["primary"].to_numpy(bool)
    if (gs_prim != primary).any():
        raise RuntimeError("GaussSuppression's primary cells differ from ours")
    mismatch = int((gs_sup != by_b["0"]["suppressed"].to_numpy(bool)).sum())
    gs_pub = _as_protected(cube, gs_sup, np.where(gs_prim, "count", "secondary"))

    count = cube["count"].to_numpy(float)
    our_sup = ours["suppressed"].to_numpy(bool)
    leaks_ours = _leaks(data, cube, ours, rules)
    leaks_gs = _leaks(data, cube, gs_pub, rules)
    row = {
        "indicator": indicator.removeprefix("ind_"), "cells": len(cube),
        "primary": int(primary.sum()),
        "sec_ours": int((our_sup & ~primary).sum()), "sec_gs": int((gs_sup & ~primary).sum()),
        "mass_ours": int(count[our_sup].sum()), "mass_gs": int(count[gs_sup].sum()),
        "n_hidden_gs": int(by_b[GS_TOTAL]["suppressed"].sum()),
        "sec_gs_interval": int((by_b["1"]["suppressed_integer"].to_numpy() == 3).sum()),
        "b0_mismatch_gs": mismatch,
        "t_ours": t_ours, "t_gs": t_gs,
        "leak_ours": f"{leaks_ours['lib_primary']}/{leaks_ours['intruder_primary']}"
                     f" ({leaks_ours['lib_all']}/{leaks_ours['intruder_all']})",
        "leak_gs": f"{leaks_gs['lib_primary']}/{leaks_gs['intruder_primary']}"
                   f" ({leaks_gs['lib_all']}/{leaks_gs['intruder_all']})",
        "_leaks": (leaks_ours, leaks_gs), "_lp": lp,
    }
    row["sec_ratio"] = row["sec_ours"] / row["sec_gs"] if row["sec_gs"] else np.nan
    row["mass_ratio"] = row["mass_ours"] / row["mass_gs"] if row["mass_gs"] else np.nan
    row["time_ratio"] = t_ours / t_gs if t_gs > 0 else np.nan
    return row


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("indicators", nargs="*", help="indicator columns (default: all ind_*)")
    parser.add_argument("--wave", type=int, default=None, help="the wave (default: the latest)")
    parser.add_argument("--lp", default=None,
                        help="GaussSuppression's LP package (default: the first installed of "
                        "highs, Rsymphony, Rglpk, lpSolve)")
    args = parser.parse_args(argv)
    why = _missing_r()
    if why:
        print(f"skipped: {why}")
        return 0
    data = pd.read_parquet(paths.synthetic_dir() / "trondheim.parquet")
    wave = args.wave or int(data["wave"].max())
    data = data[data["wave"] == wave].reset_index(drop=True)
    indicators = [i if i.startswith("ind_") else f"ind_{i}" for i in args.indicators] or [
        c for c in data.columns if c.startswith("ind_")]
    rules = Rules()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ssp-economy-") as tmp:
        for ind in indicators:
            rows.append(bench(data, ind, rules, Path(tmp), args.lp))
            print(f"{rows[-1]['indicator']}: done", file=sys.stderr, flush=True)
    print(f"wave {wave}; LP package {rows[0]['_lp']}")
    frame = pd.DataFrame(rows)
    cols = ["indicator", "cells", "primary", "sec_ours", "sec_gs", "sec_gs_interval",
            "sec_ratio", "mass_ours",
            "mass_gs", "mass_ratio", "time_ratio", "n_hidden_gs", "leak_ours", "leak_gs"]
    print(frame[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    tot = frame[["cells", "primary", "sec_ours", "sec_gs", "sec_gs_interval", "mass_ours",
                 "mass_gs", "n_hidden_gs", "b0_mismatch_gs"]].sum().astype(int)
    t_ours, t_gs = frame["t_ours"].sum(), frame["t_gs"].sum()
    leak = {side: {k: sum(r["_leaks"][i][k] for r in rows) for k in rows[0]["_leaks"][0]}
            for i, side in enumerate(("ours", "gs"))}
    print(f"\ntotal: {tot['cells']} cells, {tot['primary']} primary; secondary ours "
          f"{tot['sec_ours']} vs GS {tot['sec_gs']} ({tot['sec_gs_interval']} of them from its "
          f"interval step; ratio {tot['sec_ours'] / tot['sec_gs']:.2f}); "
          f"hidden count mass ours {tot['mass_ours']} vs GS {tot['mass_gs']} "
          f"(ratio {tot['mass_ours'] / tot['mass_gs']:.2f}); wall time ours/GS "
          f"{t_ours / t_gs:.3g}")
    print(f"GS hid {tot['n_hidden_gs']} n cells; count and complement hidden differently in "
          f"{tot['b0_mismatch_gs']} GS cells")
    for side in ("ours", "gs"):
        lk = leak[side]
        print(f"leaks {side}: primary cells narrowed {lk['lib_primary']} (library attack), "
              f"{lk['intruder_primary']} (intruder); any hidden cell narrowed "
              f"{lk['lib_all']} / {lk['intruder_all']}")
    print("leak columns: primary narrowed library/intruder (any hidden narrowed library/intruder)")
    return 1 if leak["ours"]["lib_all"] or leak["ours"]["intruder_all"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
