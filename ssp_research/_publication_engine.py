"""The machinery of :mod:`ssp_research.publication` (private; split from it for size).

Unit label columns and the level hierarchy (``_unit_frame``), the estimates of every level and
breakdown from ``indicators.indicator_table`` (``_estimates``), the publication order
(``_sort``) and the protection of the whole table, one indicator at a time (``_protect``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ssp_research import disclosure
from ssp_research import indicators as _ind
from ssp_research.errors import DataError, DisclosureError, ParameterError
from ssp_research.secondary import cell_key

__all__: list[str] = []

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
        t = _ind.indicator_table(
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


def _protect_one(core: pd.DataFrame, rules: disclosure.Rules,
                 hierarchy: dict[str, dict[str, str]], wave: str) -> pd.DataFrame:
    if core["count"].isna().all():  # a mean: no counts to protect
        core = core.drop(columns="count")
    prot = disclosure.protect(core, rules, hierarchy=hierarchy, series_by=(wave,))
    return prot[[c for c in (*_SHOWN, "suppressed", "reason", "marker") if c in prot]]


def _protect(table: pd.DataFrame, rules: disclosure.Rules, parent: dict[str, str],
             breakdowns: Sequence[str], wave: str = "wave", *, jobs: int = 1,
             progress: bool = False) -> pd.DataFrame:
    """protect() over the whole table, one indicator at a time (optionally in parallel).

    Every additive system (indicator x wave) and every series (a cell over the waves) lies
    within one indicator, so protecting indicator by indicator gives exactly the result of
    one call over the whole table.
    """
    hierarchy: dict[str, dict[str, str]] = {"unit": {u: p for u, p in parent.items() if p}}
    for b in breakdowns:
        hierarchy[b] = {v: TOTAL for v in table[b].unique() if v != TOTAL}
    core_cols = ["indicator", wave, "level", "unit", "parent", *breakdowns,
                 "estimate", "se", "ci_low", "ci_high", "df", "n", "count", "series_break"]
    core = table[core_cols].rename(columns={"indicator": "variable"})
    parts = [part for _, part in core.groupby("variable", sort=False)]
    bar = tqdm(total=len(parts), desc="publication protect", disable=not progress, leave=False)
    if jobs > 1 and len(parts) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_protect_one, part, rules, hierarchy, wave) for part in parts]
            out = []
            for fut in futures:
                out.append(fut.result())
                bar.update()
    else:
        out = []
        for part in parts:
            out.append(_protect_one(part, rules, hierarchy, wave))
            bar.update()
    bar.close()
    return pd.concat(out).reindex(table.index)
