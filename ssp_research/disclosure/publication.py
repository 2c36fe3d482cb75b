"""The protected publication: one disclosure-controlled table for a whole batch of briefs.

Briefs are published per city, district and school, each with breakdowns by gender and grade.
For disclosure control the whole batch is **one publication**: a school's girls could be
recovered as the district's girls minus the other schools' girls, the city's grade 8 as the
whole city minus grades 9 and 10, and so on across briefs. :func:`build_publication` therefore
computes every published cell of the batch at once (every unit of every level, every indicator
and wave, the unit's total and its gender and grade breakdowns with ``"all"`` margins, and each
unit's comparison with its city) and protects the whole long table with one call of
:func:`~ssp_research.disclosure.protect` (primary, series and secondary suppression with the
hierarchy unit -> parent, gender -> "all", grade -> "all"). A brief then reads only its own rows
with :func:`read_publication` (or :func:`select`) and never protects anything itself.

Estimates come from the vectorised :func:`ssp_research.analysis.indicators.indicator_table` (city
design: strata = wave x school, pupils as units), one call per level and breakdown; the comparison
of a district or school with its city (or, in national data, of a school with its municipality) has
the covariance of the overlapping samples. Comparison and difference columns are blanked wherever
the unit's own cell **or** the comparison cell is suppressed: ``diff`` plus the comparison would
otherwise give the hidden value back.

Levels and data columns
-----------------------
``city`` -> ``municipality`` (the single municipality of the data), ``country`` -> all rows
(named ``"Norge"`` unless ``top_name`` is given), ``municipality`` -> ``municipality``,
``district`` and ``region`` -> ``district``, ``school`` -> ``school``. The first level is the
top; every unit of a level must lie inside one unit of the level before it (checked), and
unit names must be unique across levels.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> d = pd.DataFrame({"wave": 2025, "municipality": "T", "weight": 1.0,
...                   "school": rng.choice(["A1", "A2", "B1"], 600),
...                   "gender": rng.choice(["girl", "boy"], 600),
...                   "grade": rng.choice([8, 9, 10], 600),
...                   "ind_x": rng.binomial(1, 0.3, 600).astype(float)})
>>> d["district"] = d["school"].str[0]
>>> pub = build_publication(d, None, indicators=["x"])
>>> len(pub), int(pub["suppressed"].sum())
(36, 0)
>>> select(pub, "school", "A1")[["gender", "grade", "n", "cmp_n"]].head(3)
  gender grade    n  cmp_n
0    all   all  197  600.0
1    all     8   76  207.0
2    all     9   66  207.0
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ssp_research.core.atomic import atomic_write, write_atomic
from ssp_research.core.errors import DataError, DisclosureError, ParameterError
from ssp_research.disclosure.rules import Rules, cell_key
from ssp_research.disclosure.system import window_label

__all__ = [
    "build_publication",
    "write_publication",
    "read_publication",
    "select",
    "LEVEL_COLUMNS",
    "PUBLICATION_COLUMNS",
]

LEVEL_COLUMNS: dict[str, str | None] = {
    "city": "municipality", "country": None, "municipality": "municipality",
    "district": "district", "region": "district", "school": "school",
}  # fmt: skip
_CMP_LEVELS = ("city", "municipality")  # lower levels are compared with the nearest of these
TOTAL = "all"
_TOP = "_ssp_top"
_MISSING = "\x00missing"  # label of rows without a unit / breakdown value (never published)
_SHOWN = ["estimate", "se", "ci_low", "ci_high", "count"]


# --- units and their hierarchy ------------------------------------------------------------------


def _read(data: Any) -> tuple[pd.DataFrame, str]:
    """(frame, sha256): of the file when a path is given, else of the frame's content."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        try:
            frame = pd.read_parquet(path)
        except Exception as err:  # noqa: BLE001 - reported with the path
            raise DataError(f"cannot read the publication's data: {err}", file=path,
                            hint="give a tidy .parquet (see docs/synthetic_data.md)") from None
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return frame, digest
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"data must be a DataFrame or a path, got {type(data).__name__}",
                             rule="data is tidy survey data")
    hashed = pd.util.hash_pandas_object(data, index=False).to_numpy()
    cols = "\x1f".join(map(str, data.columns)).encode("utf-8")
    return data, hashlib.sha256(cols + hashed.tobytes()).hexdigest()


def _labels(values: pd.Series) -> pd.Series:
    """Text labels (8, 8.0 and "8" -> "8"); missing values get a never-published label."""
    codes, uniq = pd.factorize(values)  # label each distinct value once (fast on 1e6 rows)
    text = np.array([cell_key(v) or _MISSING for v in uniq] + [_MISSING], dtype=object)
    return pd.Series(text[codes], index=values.index, dtype=object).astype(str)


def _unit_frame(df: pd.DataFrame, levels: Sequence[str], top_name: str | None,
                breakdowns: Sequence[str]) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """Data with text label columns per level and breakdown; (frame, columns, parent of unit)."""
    unknown = [lv for lv in levels if lv not in LEVEL_COLUMNS]
    if unknown or not levels:
        raise ParameterError(f"unknown levels {unknown}", rule="levels from "
                             + ", ".join(LEVEL_COLUMNS), hint="e.g. ('city', 'district', "
                             "'school') or ('country', 'municipality', 'school')")
    if len(set(levels)) != len(levels) or LEVEL_COLUMNS[levels[0]] is None and len(
            [lv for lv in levels if LEVEL_COLUMNS[lv] is None]) > 1:
        raise ParameterError(f"levels repeat: {list(levels)}", rule="each level once")
    for lv in levels[1:]:
        if LEVEL_COLUMNS[lv] is None:
            raise ParameterError(f"level {lv!r} can only be the top level", rule="levels order")
    cols = {}
    for lv in levels:
        col = LEVEL_COLUMNS[lv]
        if col is not None and col not in df.columns:
            raise DataError(f"the data have no column {col!r} for level {lv!r}", column=col,
                            rule="level columns (see publication.LEVEL_COLUMNS)",
                            hint="use levels that fit the data, e.g. ('country', "
                            "'municipality', 'school') for national data")
    for b in breakdowns:
        if b not in df.columns:
            raise DataError(f"the data have no breakdown column {b!r}", column=b,
                            rule="breakdowns name data columns", hint="e.g. ('gender', 'grade')")
    top_col = LEVEL_COLUMNS[levels[0]]
    if top_col is not None:
        names = df[top_col].dropna().astype(str).unique()
        if len(names) != 1:
            raise DataError(f"the top level {levels[0]!r} needs one {top_col}, the data have "
                            f"{len(names)}", column=top_col, rule="one top unit",
                            hint="for national data use levels=('country', 'municipality', "
                            "'school')")
        top = top_name or str(names[0])
    else:
        top = top_name or "Norge"
    cols[_TOP] = pd.Series(top, index=df.index, dtype=object).astype(str)
    label_cols = [_TOP]
    for lv in levels[1:]:
        name = f"_ssp_{lv}"
        cols[name] = _labels(df[LEVEL_COLUMNS[lv]])
        label_cols.append(name)
    for b in breakdowns:
        cols[f"_ssp_by_{b}"] = _labels(df[b])
    cols["_ssp_one"] = pd.Series("1", index=df.index, dtype=object).astype(str)
    frame = df.assign(**cols)
    parent: dict[str, str] = {top: ""}
    level_of: dict[str, str] = {top: levels[0]}
    for i in range(1, len(levels)):
        child, up = label_cols[i], label_cols[i - 1]
        pairs = frame.loc[frame[child] != _MISSING, [child, up]].drop_duplicates()
        split = pairs[pairs[child].duplicated(keep=False)]
        if len(split):
            unit = split[child].iloc[0]
            raise DataError(f"{levels[i]} {unit!r} lies in more than one {levels[i - 1]}: "
                            f"{sorted(split.loc[split[child] == unit, up])}",
                            column=LEVEL_COLUMNS[levels[i]], rule="levels are nested",
                            hint="fix the unit columns or choose nested levels")
        for unit, above in zip(pairs[child], pairs[up]):
            if unit in level_of:
                raise DisclosureError(f"the unit name {unit!r} is used on two levels "
                                      f"({level_of[unit]} and {levels[i]})",
                                      column=LEVEL_COLUMNS[levels[i]],
                                      rule="unit names unique across levels",
                                      hint="prefix the names with their level")
            level_of[unit] = levels[i]
            parent[unit] = above
    return frame, label_cols, parent


def _compare_index(levels: Sequence[str], i: int) -> int | None:
    """Index of the level a unit of level ``i`` is compared with (None for the top)."""
    if i == 0:
        return None
    near = [j for j in range(i) if levels[j] in _CMP_LEVELS]
    return near[-1] if near else 0


# --- the estimates ------------------------------------------------------------------------------


def _estimates(frame: pd.DataFrame, codebook: Any, levels: Sequence[str], label_cols: list[str],
               parent: dict[str, str], breakdowns: Sequence[str], *, names: Any, waves: Any,
               pool: int, standardise: Any, standardise_by: Sequence[str],
               progress: bool) -> pd.DataFrame:
    from ssp_research.analysis.indicators import indicator_table  # (the estimation stage)

    jobs = [(i, b) for i in range(len(levels)) for b in (None, *breakdowns)]
    parts = []
    for i, b in tqdm(jobs, desc="publication estimates", disable=not progress, leave=False):
        by = [] if b is None else [f"_ssp_by_{b}"]
        j = _compare_index(levels, i)
        std_by = [c for c in standardise_by if c != b]
        std = standardise if std_by else None
        if std is not None and len(std_by) == 1:
            # indicator_table matches a one-column standard to no cell (MultiIndex vs Index):
            # give it a constant second column
            std = _standard_table(frame, std, standardise_by).assign(_ssp_one="1")
            std_by = [std_by[0], "_ssp_one"]
        t = indicator_table(
            frame, codebook, indicators=names, unit=[label_cols[i], *by],
            compare=None if j is None else [label_cols[j], *by], waves=waves, pool=pool,
            standardise=std, standardise_by=std_by or ("grade", "gender"),
        )  # fmt: skip
        t = t.rename(columns={label_cols[i]: "unit"})
        keep = t["unit"] != _MISSING
        for c in breakdowns:
            if c == b:
                t[c] = t.pop(by[0])
                keep &= t[c] != _MISSING
            else:
                t[c] = TOTAL
        t = t[keep]
        t["level"] = levels[i]
        t["parent"] = t["unit"].map(parent)
        if j is None:
            t["comparison"] = ""
        else:
            up = {u: u for u in parent}  # walk up from the unit to level j
            for _ in range(i - j):
                up = {u: parent.get(v, "") for u, v in up.items()}
            t["comparison"] = t["unit"].map(up)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def _standard_table(frame: pd.DataFrame, standardise: Any,
                    by: Sequence[str]) -> pd.DataFrame:
    """The standard population as a table (``"city"``: the weighted mix of all the data)."""
    if isinstance(standardise, str):
        if standardise != "city":
            raise ParameterError(f"unknown standard population {standardise!r}",
                                 rule="standardise = 'city' or a table",
                                 hint="pass a DataFrame or 'city'")
        return (frame.assign(pupils=frame["weight"] if "weight" in frame else 1.0)
                .groupby(list(by), as_index=False)["pupils"].sum())
    return pd.DataFrame(standardise)


def _sort(table: pd.DataFrame, levels: Sequence[str], names: list[str],
          breakdowns: Sequence[str]) -> pd.DataFrame:
    keys = [pd.Categorical(table["level"], list(levels)).codes, table["unit"].to_numpy(),
            pd.Categorical(table["indicator"], names).codes, table["wave"].to_numpy()]
    for b in breakdowns:  # "all" first, then the labels in natural order (8 < 9 < 10)
        vals = table[b].astype(str)
        uniq = sorted(set(vals) - {TOTAL}, key=lambda v: (not v.isdigit(), int(v) if
                                                           v.isdigit() else 0, v))
        keys.append(pd.Categorical(vals, [TOTAL, *uniq]).codes)
    frame = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)})
    order = np.lexsort([frame[c].to_numpy() for c in reversed(frame.columns)])
    return table.iloc[order].reset_index(drop=True)


# --- protection ---------------------------------------------------------------------------------


#: The breakdowns a ledger key has (see :mod:`~ssp_research.disclosure.ledger`).
LEDGER_DIMS = ("gender", "grade", "economy_group")
#: Breakdowns whose groups' sizes are never released (a group's size is itself an answer:
#: the hard-up group's size is the ``poor_economy`` count). Their cells carry no ``n`` in any
#: file, and the intruder of the protection does not know it.
SECRET_SIZES = ("economy_group",)


def _windows(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) wave of every row: its wave, or its pooled window."""
    last = table["wave"].to_numpy(dtype=np.int64)
    if "pooled_from" in table.columns:
        first = pd.to_numeric(table["pooled_from"], errors="coerce").fillna(
            table["wave"]).to_numpy(dtype=np.int64)
    else:
        first = last.copy()
    return first, last


def cell_keys(table: pd.DataFrame, breakdowns: Sequence[str] = ("gender", "grade",
                                                                 "economy_group")) -> list[str]:
    """The ledger key of every row of a publication (see :mod:`~ssp_research.disclosure.ledger`)."""
    first, last = _windows(table)
    parts = [table["indicator"].astype(str).to_numpy(), table["level"].astype(str).to_numpy(),
             table["unit"].astype(str).to_numpy()]
    by = [table[b].astype(str).to_numpy() if b in table.columns else
          np.full(len(table), TOTAL, dtype=object) for b in ("gender", "grade", "economy_group")]
    return [f"{i}|{lv}|{u}|{window_label(f, la)}|{g}|{r}|{e}"
            for i, lv, u, f, la, g, r, e in zip(*parts, first, last, *by)]


def ledger_rows(table: pd.DataFrame) -> list[dict]:
    """The ledger rows of a protected publication: key, status, reason, n, count, estimate.

    Family-economy groups get no ``n`` (their sizes are never released); hidden cells no
    count or estimate.
    """
    keys = cell_keys(table)
    secret = np.zeros(len(table), bool)
    for b in SECRET_SIZES:
        if b in table.columns:
            secret |= (table[b].astype(str) != TOTAL).to_numpy()
    rows = []
    for k, rec, sec in zip(keys, table[["suppressed", "reason", "n", "count", "estimate"]]
                           .to_dict("records"), secret):
        hidden = bool(rec["suppressed"])
        rows.append({"key": k, "status": "hidden" if hidden else "shown",
                     "reason": rec["reason"] if hidden else None,
                     "n": None if sec else rec["n"],
                     "count": None if hidden or pd.isna(rec["count"]) else rec["count"],
                     "estimate": None if hidden else rec["estimate"]})
    return rows


def _ledger_dims(ledger) -> list[str]:
    """The breakdowns that cells released before use (not "all" somewhere)."""
    used: set[str] = set()
    for key in ledger.cells:
        parts = key.split("|")
        used.update(d for d, v in zip(LEDGER_DIMS, parts[4:]) if v != TOTAL)
    return [d for d in LEDGER_DIMS if d in used]


def _ledger_cells(ledger, indicator: str, have: set[str], levels: Sequence[str],
                  breakdowns: Sequence[str], units: set[str]) -> pd.DataFrame:
    """Cells of ``indicator`` released before but not in this publication (of known units)."""
    from ssp_research.disclosure.ledger import parse_key

    rows = []
    for key in ledger.keys(indicator):
        if key in have:
            continue
        c = parse_key(key)
        if c["level"] not in levels or c["unit"] not in units:
            continue  # a unit the data no longer hold: it adds nothing to these cells
        first, last = c["window"]
        rows.append({"key": key, "level": c["level"], "unit": c["unit"], "first": first,
                     "last": last, **{b: c[b] for b in breakdowns},
                     "_status": ledger.status(key), "_reason": ledger.cells[key]["reason"]})
    return pd.DataFrame(rows, columns=["key", "level", "unit", "first", "last", *breakdowns,
                                       "_status", "_reason"])


def _protect_indicator(cells: pd.DataFrame, finest, unit_attribute: dict, waves: list[int],
                       breakdowns: list[str], parent: dict[str, str], rules: Rules,
                       singletons: bool) -> tuple[np.ndarray, np.ndarray]:
    """Primary, series and joint secondary suppression of one indicator's cells.

    ``cells`` holds this publication's rows (``_own``) and the cells released before that
    it does not have; ``_status`` is a cell's status in the ledger (shown, hidden, or None
    when new). Returns (reason, n) for every row.
    """
    from ssp_research.disclosure.secondary import AdditiveSystem
    from ssp_research.disclosure.suppression import primary_reasons, series_reasons
    from ssp_research.disclosure.system import (
        IntruderLP,
        membership,
        suppress_joint,
        window_label,
        window_parents,
    )

    members = membership(finest, cells, unit_attribute=unit_attribute, waves=waves,
                         breakdowns=breakdowns)
    n = members @ finest.n
    own = cells["_own"].to_numpy(bool)
    given = pd.to_numeric(cells["n"], errors="coerce").to_numpy(float)
    off = own & ~np.isclose(given, n)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise DisclosureError(
            f"cell {cells['key'].iloc[i]!r} has n={given[i]:g} but its finest cells sum to "
            f"{n[i]:g}", rule="every released cell is a sum of the dataset's finest cells",
            hint="report this as a bug (the estimates and the cell model disagree)")
    count = None if finest.count is None else members @ finest.count
    status = cells["_status"].to_numpy(object)
    table = cells.assign(n=n, count=count if count is not None else np.nan)
    reason = primary_reasons(table, rules)
    if count is None:
        reason = reason.where(reason != "count")  # a mean has no count rule
    ids = ["level", "unit", *breakdowns]  # a series: one cell over the waves (window ends)
    series = series_reasons(table[own].assign(wave=table.loc[own, "last"]),
                            reason[own], rules, ids, ("wave",))
    reason.loc[own] = series.to_numpy()
    hidden_before = status == "hidden"
    locked = status == "shown"
    before = (cells["_reason"] if "_reason" in cells else pd.Series(None, index=cells.index))
    reason[hidden_before] = before[hidden_before].fillna("secondary").to_numpy()
    coords = [(u, window_label(f, la), *(str(v) for v in vals))
              for u, f, la, *vals in cells[["unit", "first", "last", *breakdowns]]
              .itertuples(index=False)]
    kids: dict[str, list[str]] = {}
    for u, p in parent.items():
        if p:
            kids.setdefault(p, []).append(u)
    windows = sorted({(int(f), int(la)) for f, la in zip(cells["first"], cells["last"])})
    dims = [kids, window_parents(windows, waves)]
    for b in breakdowns:
        dims.append({TOTAL: sorted({str(v) for v in cells[b]} - {TOTAL})})
    system = AdditiveSystem(np.arange(len(cells)), coords, n, count, dims,
                            where=str(cells["key"].iloc[0]).split("|", 1)[0])
    if count is None:  # means: no counts to narrow; no published sum with one hidden term
        system.locked = locked
        sup = reason.notna().to_numpy().copy()
        system.greedy(sup, rules)
        out = reason.copy()
        out.iloc[np.flatnonzero(sup & reason.isna().to_numpy())] = "secondary"
        return out.to_numpy(object), n
    system.names = dict(enumerate(cells["key"]))
    lp = IntruderLP(members, finest.n)
    out = suppress_joint(system, reason, rules, lp, n=n, count=count, locked=locked,
                         truth=finest.count, singletons=singletons)
    return out.to_numpy(object), n


def _protect(table: pd.DataFrame, frame: pd.DataFrame, label_cols: list[str],
             levels: Sequence[str], rules: Rules, parent: dict[str, str],
             breakdowns: Sequence[str], names: list[str], columns: dict[str, str], *,
             ledger=None,
             singletons: bool = True, jobs: int = 1, progress: bool = False) -> pd.DataFrame:
    """Protect the whole publication jointly with everything released before (``ledger``).

    One system per indicator: every level, breakdown, wave and pooled window of this
    publication and every cell of the ledger, as sums of the same finest cells
    (:mod:`~ssp_research.disclosure.system`). Indicators are independent (optionally in
    parallel processes).
    """
    from ssp_research.disclosure.system import finest_cells

    breakdowns = list(breakdowns)
    waves = sorted(int(w) for w in frame["wave"].dropna().unique())
    unit_attribute = {levels[0]: None, **{lv: label_cols[i] for i, lv in enumerate(levels)
                                          if i > 0}}
    attributes = ["wave", *label_cols[1:], *[f"_ssp_by_{b}" for b in breakdowns]]
    rename = {f"_ssp_by_{b}": b for b in breakdowns}
    first, last = _windows(table)
    base = table.assign(first=first, last=last, key=cell_keys(table))
    units = set(parent)
    tasks = []
    for name in names:
        own = base[base["indicator"] == name]
        cells = own[["key", "level", "unit", "first", "last", *breakdowns, "n"]].assign(
            _status=None, _own=True)
        if ledger is not None:  # cells released before keep their status
            cells["_status"] = [ledger.status(k) for k in cells["key"]]
            cells["_reason"] = [(ledger.cells.get(k) or {}).get("reason") for k in cells["key"]]
            extra = _ledger_cells(ledger, name, set(cells["key"]), levels, breakdowns, units)
            if len(extra):
                cells = pd.concat([cells, extra.assign(n=np.nan, _own=False)],
                                  ignore_index=True)
        finest = finest_cells(frame, columns[name], attributes)
        finest.keys = finest.keys.rename(columns=rename)
        tasks.append((own.index.to_numpy(), cells.reset_index(drop=True), finest))
    reason = pd.Series(None, index=table.index, dtype=object)
    bar = tqdm(total=len(tasks), desc="publication protect", disable=not progress, leave=False)
    args = (unit_attribute, waves, breakdowns, parent, rules, singletons)
    if jobs > 1 and len(tasks) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_protect_indicator, cells, finest, *args)
                       for _, cells, finest in tasks]
            results = []
            for fut in futures:
                results.append(fut.result())
                bar.update()
    else:
        results = []
        for _, cells, finest in tasks:
            results.append(_protect_indicator(cells, finest, *args))
            bar.update()
    bar.close()
    for (index, cells, _), (why, _n) in zip(tasks, results):
        mine = cells["_own"].to_numpy(bool)
        reason.loc[index] = why[mine]
    suppressed = reason.notna()
    out = table[[c for c in _SHOWN if c in table.columns]].copy()
    out.loc[suppressed, [c for c in _SHOWN if c in out.columns]] = np.nan
    out["suppressed"] = suppressed.to_numpy()
    out["reason"] = reason
    marker = np.where(suppressed, "*", "").astype(object)
    if "series_break" in table.columns:
        brk = table["series_break"].fillna(False).astype(bool).to_numpy()
        marker = np.where(brk, marker + "⚡", marker)
    out["marker"] = marker
    return out


CMP_COLUMNS = ["cmp_estimate", "cmp_se", "cmp_ci_low", "cmp_ci_high", "cmp_n"]
DIFF_COLUMNS = ["diff", "diff_se", "diff_ci_low", "diff_ci_high", "p_value"]
PUBLICATION_COLUMNS = [
    "level", "unit", "parent", "indicator", "wave", "gender", "grade",
    "estimate", "se", "ci_low", "ci_high", "df", "n", "count",
    "comparison", *CMP_COLUMNS, *DIFF_COLUMNS,
    "series_break", "higher_is_better", "suppressed", "reason", "marker",
]  # fmt: skip



def _unprotected(data: Any, codebook: Any, *, indicators: Any, waves: Any,
                 levels: Sequence[str], breakdowns: list[str], pool: int, standardise: Any,
                 standardise_by: Sequence[str], top_name: str | None, progress: bool,
                 extra_dims: Sequence[str] = ()):
    """The publication before protection: (table, parent of unit, names, sha256, codebook,
    frame with label columns, label columns, {indicator: data column})."""
    df, digest = _read(data)
    clash = [b for b in breakdowns if b in ("level", "unit", "parent", "indicator", "wave")]
    if clash:
        raise ParameterError(f"breakdown {clash[0]!r} clashes with a publication column",
                             rule="breakdowns are plain data columns")
    if codebook is not None:  # parsed once, not once per level and breakdown
        from ssp_research.data.codebook import load_codebook

        codebook = load_codebook(codebook)
    frame, label_cols, parent = _unit_frame(df, levels, top_name, [*breakdowns, *extra_dims])
    from ssp_research.analysis.indicators import resolve_indicators

    names, columns = resolve_indicators(frame, codebook, indicators)[:2]
    table = _estimates(frame, codebook, levels, label_cols, parent, breakdowns, names=names,
                       waves=waves, pool=pool, standardise=standardise,
                       standardise_by=standardise_by, progress=progress)
    return (_sort(table, levels, names, breakdowns), parent, names, digest, codebook, frame,
            label_cols, dict(zip(names, columns)))


def build_publication(
    data: Any,
    codebook: Any = None,
    *,
    indicators: Sequence[str] | None = None,
    waves: Sequence[int] | None = None,
    rules: Rules | dict | None = None,
    levels: Sequence[str] = ("city", "district", "school"),
    breakdowns: Sequence[str] = ("gender", "grade"),
    pool: int = 1,
    standardise: pd.DataFrame | str | None = None,
    standardise_by: Sequence[str] = ("grade", "gender"),
    top_name: str | None = None,
    ledger=None,
    singletons: bool = True,
    jobs: int = 1,
    progress: bool = False,
) -> pd.DataFrame:
    """Every published cell of a batch of briefs, protected together as one publication.

    Parameters
    ----------
    data : DataFrame, str or Path
        Tidy survey data (``wave, school, weight``, the level and breakdown columns and the
        ``ind_<name>`` indicator columns), or the path of such a .parquet.
    codebook : str, Codebook or path, optional
        The instrument (indicators, ``higher_is_better``, series breaks); see
        :func:`ssp_research.analysis.indicators.indicator_table`.
    indicators : list of str, optional
        Indicator names (default: all of the codebook).
    waves : list of int, optional
        Waves to publish (default: all).
    rules : Rules or dict, optional
        Disclosure rules, or overrides of the defaults (``{"min_n": 30}``).
    levels : sequence of str
        Unit levels from the top down (see the module notes), e.g. ``("city", "district",
        "school")`` or ``("country", "municipality", "school")``.
    breakdowns : sequence of str
        Columns broken down within each unit (one at a time, with the margin ``"all"``).
    pool, standardise, standardise_by
        As in ``indicator_table``. With standardisation a breakdown row is standardised by the
        remaining ``standardise_by`` columns (girls by grade; grade 8 by gender).
    top_name : str, optional
        Name of the top unit (default: the municipality for ``city``, ``"Norge"`` for
        ``country``).
    ledger : Ledger, optional
        Everything released before from the same dataset
        (:func:`ssp_research.disclosure.ledger.open_ledger`): its cells are part of the system,
        those hidden before stay hidden and those shown are never hidden. Record the result
        in it with :func:`ledger_rows`.
    singletons : bool
        Also protect against a pupil alone in a hidden cell (who knows their own answer).
    jobs : int
        Processes for the protection (indicators are independent; the result is the same).
    progress : bool
        Show tqdm progress bars.

    Returns
    -------
    DataFrame
        One row per level x unit x indicator x wave x breakdown cell, sorted in that order
        (margins first). Columns: ``level``, ``unit``, ``parent`` (the unit above; "" for the
        top), ``indicator``, ``wave``, one column per breakdown (``gender``, ``grade``: text,
        ``"all"`` for the margin), ``estimate, se, ci_low, ci_high, df, n, count`` (as
        ``indicator_table``; ``count`` NaN for means), ``comparison`` (the unit compared with:
        the city for districts and schools; "" for the top), ``cmp_estimate, cmp_se,
        cmp_ci_low, cmp_ci_high, cmp_n`` (the comparison's same breakdown cell), ``diff,
        diff_se, diff_ci_low, diff_ci_high, p_value`` (unit - comparison), ``series_break``,
        ``higher_is_better``, ``suppressed``, ``reason`` (``"n"``, ``"count"``, ``"series"``,
        ``"secondary"``; on shown rows the estimate table's note such as "comparison has no
        respondents", else None) and ``marker``; ``pooled_from`` after ``wave`` when
        ``pool > 1``. Suppressed cells have NaN statistics; comparison and difference columns
        are NaN where the unit's cell or the comparison cell is suppressed. ``attrs
        ["publication"]`` holds the rules, the data's sha256 and the codebook version.

    Notes
    -----
    One call of ``disclosure.protect`` sees the whole table, with the hierarchy ``unit ->
    parent``, each breakdown value -> ``"all"``, so each indicator x wave is one additive
    system (city = its districts + rest, district = its schools + rest, all = girls + boys +
    rest, all = grade 8 + 9 + 10 + rest; rest = respondents without a value) and the series
    rule runs over the waves of each cell. Proportions are protected on their unweighted
    counts; means (no count) get primary, series and the one-hidden-term rule.

    Examples
    --------
    >>> rng = np.random.default_rng(5)
    >>> d = pd.DataFrame({"wave": 2025, "municipality": "T", "weight": 1.0,
    ...                   "school": rng.choice(["A1", "A2", "B1"], 300),
    ...                   "gender": rng.choice(["girl", "boy"], 300), "grade": 9,
    ...                   "ind_x": rng.binomial(1, 0.04, 300).astype(float)})
    >>> d["district"] = d["school"].str[0]
    >>> pub = build_publication(d, None, indicators=["x"], breakdowns=("gender",))
    >>> pub.loc[pub["unit"].isin(["A", "A1"]), ["unit", "gender", "n", "count", "diff",
    ...                                          "reason"]]
       unit gender    n  count      diff     reason
    3     A    all  197    7.0  0.002200        NaN
    4     A    boy   84    NaN       NaN      count
    5     A   girl  113    NaN       NaN  secondary
    9    A1    all  103    NaN       NaN  secondary
    10   A1    boy   42    NaN       NaN      count
    11   A1   girl   61    3.0  0.006497        NaN

    District A's girls are hidden although 113 answered: with them shown, A - A1 would give
    school A2's 52 girls (count suppressed); A1's total goes because A1 minus its girls would
    give its boys.
    """
    if not isinstance(rules, Rules):
        rules = Rules.from_overrides(rules)
    breakdowns = list(breakdowns)
    extra = [] if ledger is None else [d for d in _ledger_dims(ledger) if d not in breakdowns]
    if ledger is not None:
        odd = [b for b in breakdowns if b not in LEDGER_DIMS]
        if odd:
            raise ParameterError(f"breakdown {odd[0]!r} cannot be recorded in a ledger",
                                 rule=f"breakdowns of a release: {', '.join(LEDGER_DIMS)}",
                                 hint="publish other breakdowns as a study table")
    table, parent, names, digest, codebook, frame, label_cols, columns = _unprotected(
        data, codebook, indicators=indicators, waves=waves, levels=levels,
        breakdowns=breakdowns, pool=pool, standardise=standardise,
        standardise_by=standardise_by, top_name=top_name, progress=progress,
        extra_dims=extra,
    )  # fmt: skip
    prot = _protect(table.assign(**{d: TOTAL for d in extra}), frame, label_cols, levels,
                    rules, parent, [*breakdowns, *extra], names, columns, ledger=ledger,
                    singletons=singletons, jobs=jobs, progress=progress)
    sup = prot["suppressed"].to_numpy(bool)
    for col in _SHOWN:
        table[col] = prot[col].to_numpy() if col in prot else table[col]
        table.loc[sup, col] = np.nan
    note = table["reason"].replace("", None)
    table["reason"] = prot["reason"].where(sup, note).astype(object)
    table["suppressed"] = sup
    table["marker"] = prot["marker"].to_numpy()
    # the comparison cell's own suppression
    key = ["indicator", "wave", *breakdowns]
    cell = table[[*key, "unit", "suppressed"]].rename(
        columns={"unit": "comparison", "suppressed": "_cmp_sup"})
    cmp_sup = table[[*key, "comparison"]].merge(cell, on=[*key, "comparison"], how="left",
                                                validate="many_to_one")["_cmp_sup"]
    hide = sup | cmp_sup.fillna(False).to_numpy(bool) | table["estimate"].isna().to_numpy()
    table.loc[hide, CMP_COLUMNS + DIFF_COLUMNS] = np.nan
    secret = np.zeros(len(table), bool)
    for b in SECRET_SIZES:  # a group whose size is an answer: its size never leaves
        if b in table.columns:
            secret |= (table[b].astype(str) != TOTAL).to_numpy()
    if secret.any():
        table.loc[secret, ["n", "count", "cmp_n"]] = np.nan
    extra = ["pooled_from"] if pool > 1 else []
    cols = [c for c in PUBLICATION_COLUMNS if c not in ("gender", "grade")]
    cols = cols[:5] + extra + breakdowns + cols[5:]
    out = table[cols].reset_index(drop=True)
    for c in ("level", "unit", "parent", "comparison", *breakdowns):
        out[c] = out[c].astype(str)
    out.attrs["publication"] = _provenance(rules, digest, codebook, levels, breakdowns, names,
                                           pool, standardise)
    return out


def _provenance(rules, digest, codebook, levels, breakdowns, names, pool, standardise) -> dict:
    version = instrument = None
    if codebook is not None:
        from ssp_research.data.codebook import load_codebook

        cb = load_codebook(codebook)
        version, instrument = cb.version, cb.instrument
    return {
        "rules": rules.as_dict(), "data_sha256": digest, "codebook": instrument,
        "codebook_version": version, "levels": list(levels), "breakdowns": list(breakdowns),
        "indicators": list(names), "pool": int(pool),
        "standardise": None if standardise is None else
        (standardise if isinstance(standardise, str) else "table"),
    }  # fmt: skip


# --- files ----------------------------------------------------------------------------------------


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def write_publication(table: pd.DataFrame, path: str | Path, *,
                      row_group_size: int = 20_000) -> str:
    """Write a protected publication as Parquet plus a JSON sidecar, atomically.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`build_publication` (must carry ``suppressed``).
    path : str or Path
        The ``.parquet`` file; the sidecar is the same name with ``.json`` (the rules, the
        data's sha256, the codebook and its version, levels, breakdowns, indicators, rows).
    row_group_size : int
        Rows per Parquet row group; the table is sorted by level and unit, so a brief's
        filtered read skips the other groups.

    Returns
    -------
    str
        The path of the Parquet file.

    Notes
    -----
    Same table -> identical bytes (no timestamps; the pandas index is not stored).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> t = pd.DataFrame({"level": ["city"], "unit": ["T"], "n": [30], "suppressed": [False]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_publication(t, pathlib.Path(tmp) / "pub.parquet")
    ...     sorted(x.name for x in pathlib.Path(tmp).iterdir())
    ['pub.json', 'pub.parquet']
    """
    if "suppressed" not in table.columns:
        raise DisclosureError("refusing to write an unprotected publication",
                              column="suppressed", rule="only protected tables are written",
                              hint="build it with build_publication")
    path = Path(path)
    meta = dict(table.attrs.get("publication", {}))
    meta["rows"] = len(table)
    plain = table.copy()
    plain.attrs = {}
    write_atomic(path, lambda tmp: plain.to_parquet(tmp, index=False, engine="pyarrow",
                                               row_group_size=row_group_size))
    text = json.dumps(meta, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n"
    atomic_write(_sidecar(path), text)
    return str(path)


def read_publication(path: str | Path, *, level: str | None = None,
                     unit: str | Sequence[str] | None = None,
                     columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a protected publication, or only the rows of one level and/or unit(s).

    Parameters
    ----------
    path : str or Path
        Written by :func:`write_publication`.
    level : str, optional
        Keep only the rows of this level.
    unit : str or list of str, optional
        Keep only the rows of this unit (or of these units). Both filters are pushed down to
        Parquet, so a brief reads its rows without loading the whole publication.
    columns : list of str, optional
        Read only these columns.

    Returns
    -------
    DataFrame
        The rows in publication order, with ``attrs["publication"]`` from the sidecar.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> t = pd.DataFrame({"level": ["city", "school"], "unit": ["T", "S"], "n": [30, 25],
    ...                   "suppressed": False})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_publication(t, pathlib.Path(tmp) / "pub.parquet")
    ...     read_publication(p, level="school")["unit"].tolist()
    ['S']
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("no protected publication at this path", file=path,
                        hint="build it first (publication.build_publication, or the batch's "
                        "prepare step)")
    filters = [] if level is None else [("level", "==", str(level))]
    if isinstance(unit, str):
        filters.append(("unit", "==", unit))
    elif unit is not None:
        filters.append(("unit", "in", [str(u) for u in unit]))
    cols = None if columns is None else list(columns)
    out = pd.read_parquet(path, engine="pyarrow", filters=filters or None, columns=cols)
    side = _sidecar(path)
    if side.is_file():
        out.attrs["publication"] = json.loads(side.read_text(encoding="utf-8"))
    return out.reset_index(drop=True)


def select(table: pd.DataFrame, level: str, unit: str) -> pd.DataFrame:
    """The rows of one unit (for its brief), in publication order.

    Parameters
    ----------
    table : DataFrame
        A protected publication.
    level, unit : str
        The unit, e.g. ``("school", "Nidelva skole")``.

    Returns
    -------
    DataFrame
        Its rows with a fresh index; a unit not in the publication is a ParameterError.

    Examples
    --------
    >>> t = pd.DataFrame({"level": ["city", "school"], "unit": ["T", "S"], "n": [30, 25]})
    >>> select(t, "school", "S")["n"].tolist()
    [25]
    """
    hit = (table["level"] == level) & (table["unit"] == str(unit))
    if not hit.any():
        known = sorted(table.loc[table["level"] == level, "unit"].unique())[:10]
        raise ParameterError(f"no {level} {unit!r} in the publication", column="unit",
                             rule="the unit is part of the publication",
                             hint=f"units of level {level!r}: {known}")
    return table[hit].reset_index(drop=True)
