"""Release QA: what a new release would change against everything released before.

As the producers of the public health profiles compare each new cube with the last before
it goes out, :func:`check_release` builds the publication a batch would release now (the
same call as :func:`~ssp_research.disclosure.cache.prepare_publication`, protected jointly
with the dataset's ledger) *without recording it*, and lists what needs a look:

``revised``
    A cell shown before whose number changes (the data changed since). Two published
    values of one cell give away the answers that changed: decide before publishing
    (keep the old numbers, or publish the new data as a new dataset).
``beyond_ci``
    (among the revised) the new estimate is outside the interval published before.
``now_hidden``
    A cell shown before that the rules now hide (its data changed): it stays public in the
    old release, so hiding it protects nothing.
``inconsistent``
    A cell hidden before that would now be shown (never expected: the ledger forbids it).
``new_hidden``
    The cells this release adds, hidden, by reason (``n``, ``count``, ``series``,
    ``secondary``).
``jump``
    A shown cell of the latest wave whose estimate is outside the previous wave's interval,
    and the previous estimate outside its own (a change to check before it is reported).
``series_break``
    Cells of the latest wave after a break in the question's series (codebook).
``given``
    Cells this release hides that the releases before already narrow below the rule (they
    were never released, so not theirs to protect; nothing this release shows adds to it).
``insider_only``
    Cells that only a pupil alone in a hidden cell, who knows their own answer, could
    narrow, with every cell that would widen them hidden already.

``ssp release check`` prints the summary and writes the list (``--output``); it exits 1
when something must be decided before publishing (``revised``, ``now_hidden``,
``inconsistent``), else 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ssp_research.disclosure.release import TOP_LEVELS, cell_keys

__all__ = ["ReleaseCheck", "check_release", "compare", "BLOCKING"]

#: Findings that must be decided before the release is published.
BLOCKING = ("revised", "now_hidden", "inconsistent")
_COLUMNS = ["kind", "key", "detail"]


@dataclass
class ReleaseCheck:
    """The findings of :func:`check_release`: one row per cell (``kind``, ``key``,
    ``detail``), and the release's size."""

    findings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_COLUMNS))
    cells: int = 0
    hidden: int = 0
    released_before: int = 0

    @property
    def blocking(self) -> bool:
        return bool(self.findings["kind"].isin(BLOCKING).any())

    def summary(self) -> str:
        counts = self.findings["kind"].value_counts()
        lines = [f"{self.cells} cells ({self.hidden} hidden); {self.released_before} in the "
                 "ledger before"]
        for kind in ("revised", "beyond_ci", "now_hidden", "inconsistent", "new_hidden",
                     "jump", "series_break", "given", "insider_only"):
            if kind not in counts:
                continue
            line = f"  {kind}: {int(counts[kind])}"
            if kind == "new_hidden":
                why = self.findings.loc[self.findings["kind"] == kind, "detail"]
                line += " (" + ", ".join(f"{r} {c}" for r, c in why.value_counts().items()) + ")"
            lines.append(line)
        if len(lines) == 1:
            lines.append("  nothing changed against the ledger")
        lines.append("decide before publishing: " + ", ".join(
            k for k in BLOCKING if k in counts) if self.blocking else "nothing blocks it")
        return "\n".join(lines)


def _changed(old, new) -> bool:
    """A number recorded before (None: not recorded, e.g. a comparison cell's count) that
    the new release changes."""
    old, new = pd.to_numeric(pd.Series([old, new], dtype=object), errors="coerce")
    if np.isnan(old):
        return False
    return bool(np.isnan(new) or abs(old - new) > 1e-9 * max(1.0, abs(old)))


def compare(table: pd.DataFrame, ledger) -> ReleaseCheck:
    """The findings for a protected publication ``table`` against ``ledger`` (see the module
    docs); ``table.attrs["protection"]`` (from
    :func:`~ssp_research.disclosure.publication.build_publication`) gives ``given`` and
    ``insider_only``."""
    keys = cell_keys(table)
    rows: list[tuple[str, str, str]] = []
    before = 0
    latest = int(table["wave"].max()) if len(table) else None
    for key, rec in zip(keys, table.to_dict("records")):
        old = ledger.cells.get(key)
        hidden = bool(rec["suppressed"])
        if old is None:
            if hidden:
                rows.append(("new_hidden", key, str(rec.get("reason") or "secondary")))
            continue
        before += 1
        if old["status"] == "hidden":
            if not hidden:
                rows.append(("inconsistent", key, "hidden before, shown now"))
            continue
        if hidden:
            rows.append(("now_hidden", key, f"shown before ({old['estimate']}), hidden now "
                                             f"({rec.get('reason')})"))
            continue
        if _changed(old["estimate"], rec["estimate"]) or _changed(old["count"],
                                                                  rec.get("count")):
            rows.append(("revised", key, f"{old['estimate']} -> {rec['estimate']}"))
            lo, hi = rec.get("ci_low"), rec.get("ci_high")
            was = float(old["estimate"]) if old["estimate"] is not None else np.nan
            if pd.notna(lo) and pd.notna(hi) and not (lo <= was <= hi):
                rows.append(("beyond_ci", key, f"{was:.4g} outside [{lo:.4g}, {hi:.4g}]"))
    rows += _jumps(table, keys, latest)
    if "series_break" in table.columns and latest is not None:
        brk = (table["wave"] == latest) & table["series_break"].fillna(False).astype(bool)
        rows += [("series_break", k, "a break in the question's series")
                 for k, b in zip(keys, brk) if b]
    for kind in ("given", "insider_only"):
        rows += [(kind, k, "") for k in table.attrs.get("protection", {}).get(kind, [])]
    findings = pd.DataFrame(rows, columns=_COLUMNS)
    return ReleaseCheck(findings, len(table), int(table["suppressed"].sum()), before)


def _jumps(table: pd.DataFrame, keys: list[str], latest: int | None) -> list[tuple]:
    """Shown cells of the latest wave outside the previous wave's interval (and back)."""
    if latest is None or "ci_low" not in table.columns:
        return []
    t = table.assign(_key=keys)
    if "pooled_from" in t.columns:
        t = t[t["pooled_from"].isna() | (t["pooled_from"] == t["wave"])]
    waves = sorted(int(w) for w in t["wave"].unique())
    if len(waves) < 2:
        return []
    prev = waves[-2]
    ident = ["indicator", "level", "unit", *[c for c in ("gender", "grade", "economy_group")
                                             if c in t.columns]]
    stats = ["estimate", "ci_low", "ci_high", "suppressed", "_key"]
    now = t[t["wave"] == latest][ident + stats]
    then = t[t["wave"] == prev][ident + stats]
    both = now.merge(then, on=ident, suffixes=("", "_prev"))
    shown = ~both["suppressed"].astype(bool) & ~both["suppressed_prev"].astype(bool)
    out_now = (both["estimate"] < both["ci_low_prev"]) | (both["estimate"] > both["ci_high_prev"])
    out_then = (both["estimate_prev"] < both["ci_low"]) | (both["estimate_prev"] > both["ci_high"])
    jump = both[shown & out_now & out_then]
    return [("jump", r["_key"], f"{prev}: {r['estimate_prev']:.3f} -> {latest}: "
                                f"{r['estimate']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
            for r in jump.to_dict("records")]


def check_release(data_path: str | Path, *, instrument: str = "ungdata",
                  top_name: str | None = None, rules: dict | None = None, pool: int = 1,
                  ledger_dir: str | Path | None = None, singletons: bool = True,
                  jobs: int = 1, progress: bool = False) -> ReleaseCheck:
    """What releasing the publication of ``data_path`` now would change (see the module
    docs). Nothing is written and the ledger is only read.

    ``top_name`` defaults to the data's one municipality (or ``"Norge"`` for national data,
    then with the country's levels); the other arguments are those of
    :func:`~ssp_research.disclosure.cache.prepare_publication`.
    """
    import pyarrow.parquet as pq

    from ssp_research.analysis.indicators import with_economy_group
    from ssp_research.data.codebook import load_codebook
    from ssp_research.disclosure.ledger import load_ledger
    from ssp_research.disclosure.publication import build_publication

    municipalities = [m for m in pq.read_table(data_path, columns=["municipality"]).column(
        "municipality").unique().to_pylist() if m is not None]
    national = len(municipalities) > 1
    top = top_name or ("Norge" if national else str(municipalities[0]))
    frame = pd.read_parquet(data_path)
    if not national:
        frame = with_economy_group(frame)
    breakdowns = ("gender", "grade") + (("economy_group",) if "economy_group" in frame else ())
    ledger = load_ledger(load_codebook(instrument).instrument, top, folder=ledger_dir)
    table = build_publication(frame, instrument, rules=rules or None,
                              levels=TOP_LEVELS["country" if national else "city"],
                              breakdowns=breakdowns, pool=int(pool or 1), top_name=top,
                              ledger=ledger, singletons=singletons, jobs=jobs,
                              progress=progress)
    return compare(table, ledger)
