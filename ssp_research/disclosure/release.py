"""A release: cells of a dataset protected jointly with everything released before.

Every release (a batch's publication, ``ssp publication``, a pooled batch, a CLI table, a
researcher's study tables) goes through here: its cells get their units and keys
(:func:`unit_frame`, :func:`cell_keys`), join the dataset's release system with every cell
of the ledger (:mod:`~ssp_research.disclosure.system`), are protected together
(:func:`protect_cells`), and are recorded (:func:`ledger_rows`). :func:`release_table` does
all of it for an ad-hoc table of estimates, under the ledger's lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ssp_research.core.errors import DataError, DisclosureError, ParameterError
from ssp_research.disclosure.rules import MARK_BREAK, MARK_SUPPRESSED, Rules, cell_key
from ssp_research.disclosure.system import window_label

__all__ = ["LEVEL_COLUMNS", "LEDGER_DIMS", "SECRET_SIZES", "TOTAL", "MISSING", "read_data",
           "labels", "unit_frame", "windows", "cell_keys", "ledger_rows", "ledger_dims",
           "ledger_cells", "protect_indicator", "protect_cells", "release_table",
           "check_model_cells", "TOP_LEVELS"]

LEVEL_COLUMNS: dict[str, str | None] = {
    "city": "municipality", "country": None, "municipality": "municipality",
    "district": "district", "region": "district", "school": "school",
}  # fmt: skip
TOTAL = "all"
TOP_LABEL = "_ssp_top"
MISSING = "\x00missing"  # label of rows without a unit / breakdown value (never published)
#: The statistics a suppression blanks in a publication.
SHOWN = ["estimate", "se", "ci_low", "ci_high", "count"]
#: The levels of a publication under each kind of top unit.
TOP_LEVELS = {"city": ("city", "district", "school"),
              "country": ("country", "municipality", "school")}


def read_data(data: Any) -> tuple[pd.DataFrame, str]:
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


def labels(values: pd.Series) -> pd.Series:
    """Text labels (8, 8.0 and "8" -> "8"); missing values get a never-published label."""
    codes, uniq = pd.factorize(values)  # label each distinct value once (fast on 1e6 rows)
    text = np.array([cell_key(v) or MISSING for v in uniq] + [MISSING], dtype=object)
    return pd.Series(text[codes], index=values.index, dtype=object).astype(str)


def unit_frame(df: pd.DataFrame, levels: Sequence[str], top_name: str | None,
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
                            rule="level columns (see release.LEVEL_COLUMNS)",
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
    cols[TOP_LABEL] = pd.Series(top, index=df.index, dtype=object).astype(str)
    label_cols = [TOP_LABEL]
    for lv in levels[1:]:
        name = f"_ssp_{lv}"
        cols[name] = labels(df[LEVEL_COLUMNS[lv]])
        label_cols.append(name)
    for b in breakdowns:
        cols[f"_ssp_by_{b}"] = labels(df[b])
    cols["_ssp_one"] = pd.Series("1", index=df.index, dtype=object).astype(str)
    frame = df.assign(**cols)
    parent: dict[str, str] = {top: ""}
    level_of: dict[str, str] = {top: levels[0]}
    for i in range(1, len(levels)):
        child, up = label_cols[i], label_cols[i - 1]
        pairs = frame.loc[frame[child] != MISSING, [child, up]].drop_duplicates()
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


#: The breakdowns a ledger key has (see :mod:`~ssp_research.disclosure.ledger`).
LEDGER_DIMS = ("gender", "grade", "economy_group")
#: Breakdowns whose groups' sizes are never released (a group's size is itself an answer:
#: the hard-up group's size is the ``poor_economy`` count). Their cells carry no ``n`` in any
#: file, and the intruder of the protection does not know it.
SECRET_SIZES = ("economy_group",)


def windows(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
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
    first, last = windows(table)
    parts = [table["indicator"].astype(str).to_numpy(), table["level"].astype(str).to_numpy(),
             table["unit"].astype(str).to_numpy()]
    by = [table[b].astype(str).to_numpy() if b in table.columns else
          np.full(len(table), TOTAL, dtype=object) for b in ("gender", "grade", "economy_group")]
    return [f"{i}|{lv}|{u}|{window_label(f, la)}|{g}|{r}|{e}"
            for i, lv, u, f, la, g, r, e in zip(*parts, first, last, *by)]


def ledger_rows(table: pd.DataFrame) -> list[dict]:
    """The ledger rows of a protected publication: key, status, reason, n, count, estimate.

    Family-economy groups get no ``n`` and no count (their sizes are never released: a
    count and a share give the size); hidden cells no count or estimate.
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
                     "count": None if hidden or sec or pd.isna(rec["count"]) else rec["count"],
                     "estimate": None if hidden else rec["estimate"]})
    return rows


def ledger_dims(ledger) -> list[str]:
    """The breakdowns that cells released before use (not "all" somewhere)."""
    used: set[str] = set()
    for key in ledger.cells:
        parts = key.split("|")
        used.update(d for d, v in zip(LEDGER_DIMS, parts[4:]) if v != TOTAL)
    return [d for d in LEDGER_DIMS if d in used]


def ledger_cells(ledger, indicator: str, have: set[str], levels: Sequence[str],
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


def _with_single_waves(cells: pd.DataFrame, waves: Sequence[int]) -> pd.DataFrame:
    """``cells`` and, marked ``_single``, the single waves of its pooled windows that it
    does not hold (each window's unit and breakdowns at each of its waves)."""
    cells = cells.assign(_single=False)
    pooled = cells[cells["first"] != cells["last"]]
    if pooled.empty:
        return cells
    have = set(cells["key"])
    rows = []
    for rec in pooled.to_dict("records"):
        parts = str(rec["key"]).split("|")
        for w in (w for w in waves if int(rec["first"]) <= w <= int(rec["last"])):
            parts[3] = str(w)
            key = "|".join(parts)
            if key in have:
                continue
            have.add(key)
            rows.append({**rec, "key": key, "first": w, "last": w, "n": np.nan,
                         "_status": None, "_reason": None, "_own": False, "_single": True})
    if not rows:
        return cells
    return pd.concat([cells, pd.DataFrame(rows)], ignore_index=True)


def protect_indicator(cells: pd.DataFrame, finest, unit_attribute: dict, waves: list[int],
                       breakdowns: list[str], parent: dict[str, str], rules: Rules,
                       singletons: bool) -> tuple[np.ndarray, np.ndarray]:
    """Primary, series and joint secondary suppression of one indicator's cells.

    ``cells`` holds this publication's rows (``_own``) and the cells released before that
    it does not have; ``_status`` is a cell's status in the ledger (shown, hidden, or None
    when new). Returns (reason, n, note) for every row (note: ``"given"``,
    ``"insider_only"`` or None, see :func:`~ssp_research.disclosure.system.suppress_joint`).
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

    given_rows = len(cells)  # the rows returned (single waves added below come after them)
    cells = _with_single_waves(cells, waves)
    members = membership(finest, cells, unit_attribute=unit_attribute, waves=waves,
                         breakdowns=breakdowns)
    n = members @ finest.n
    if cells["_single"].any():
        # a pooled window's single waves are not released, but windows give them by
        # subtraction ({2023, 2025} - {2023}): the ones a rule would hide are cells to protect
        count0 = None if finest.count is None else members @ finest.count
        probe = cells.assign(n=n, count=count0 if count0 is not None else np.nan)
        sensitive = primary_reasons(probe, rules).notna().to_numpy()
        keep = ~cells["_single"].to_numpy(bool) | sensitive
        cells = cells[keep].reset_index(drop=True)
        members, n = members[np.flatnonzero(keep)], n[keep]
    own = cells["_own"].to_numpy(bool)
    given = pd.to_numeric(cells["n"], errors="coerce").to_numpy(float)
    off = own & ~np.isnan(given) & ~np.isclose(given, n)
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
    # a cell shown before stays shown: the series rule hides weak series from now on, and
    # hiding what is public protects nothing (a primary reason there means the data changed:
    # refused as a revision)
    reason[locked & (reason == "series").to_numpy()] = None
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
        return out.to_numpy(object)[:given_rows], n[:given_rows], np.full(given_rows, None)
    system.names = dict(enumerate(cells["key"]))
    lp = IntruderLP(members, finest.n)
    out = suppress_joint(system, reason, rules, lp, n=n, count=count, locked=locked,
                         truth=finest.count, singletons=singletons)
    note = np.full(len(cells), None, dtype=object)
    note[out.attrs["given"]] = "given"
    note[out.attrs["insider_only"]] = "insider_only"
    return out.to_numpy(object)[:given_rows], n[:given_rows], note[:given_rows]


def protect_cells(table: pd.DataFrame, frame: pd.DataFrame, label_cols: list[str],
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
    first, last = windows(table)
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
            extra = ledger_cells(ledger, name, set(cells["key"]), levels, breakdowns, units)
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
            futures = [pool.submit(protect_indicator, cells, finest, *args)
                       for _, cells, finest in tasks]
            results = []
            for fut in futures:
                results.append(fut.result())
                bar.update()
    else:
        results = []
        for _, cells, finest in tasks:
            results.append(protect_indicator(cells, finest, *args))
            bar.update()
    bar.close()
    note = pd.Series(None, index=table.index, dtype=object)
    for (index, cells, _), (why, _n, how) in zip(tasks, results):
        mine = cells["_own"].to_numpy(bool)
        reason.loc[index] = why[mine]
        note.loc[index] = how[mine]
    suppressed = reason.notna()
    out = table[[c for c in SHOWN if c in table.columns]].copy()
    out.loc[suppressed, [c for c in SHOWN if c in out.columns]] = np.nan
    out["suppressed"] = suppressed.to_numpy()
    out["reason"] = reason
    marker = np.where(suppressed, MARK_SUPPRESSED, "").astype(object)
    if "series_break" in table.columns:
        brk = table["series_break"].fillna(False).astype(bool).to_numpy()
        marker = np.where(brk, marker + MARK_BREAK, marker)
    out["marker"] = marker
    out["protection"] = note  # "given" (narrowed by what was public before), "insider_only"
    return out



_STATS = {"estimate", "se", "ci_low", "ci_high", "df", "n", "count", "deff", "cmp_estimate",
          "cmp_se", "cmp_ci_low", "cmp_ci_high", "cmp_n", "diff", "diff_se", "diff_ci_low",
          "diff_ci_high", "p_value", "series_break", "higher_is_better", "reason", "comparison",
          "pooled_from", "wave", "indicator", "variable", "level", "unit", "parent"}
_UNIT_COLUMNS = ("school", "district", "municipality")
_CMP = ["cmp_estimate", "cmp_se", "cmp_ci_low", "cmp_ci_high", "cmp_n"]
_DIFF = ["diff", "diff_se", "diff_ci_low", "diff_ci_high", "p_value"]


def release_table(table: pd.DataFrame, data: Any, *, instrument: str = "ungdata",
                  top_name: str | None = None, rules: Rules | dict | None = None,
                  ledger_dir: str | Path | None = None, kind: str = "table", what: str = "",
                  singletons: bool = True) -> pd.DataFrame:
    """Protect an ad-hoc table of estimates jointly with everything released, and record it.

    The way out for CLI tables (``ssp estimate``) and a researcher's study tables: each row
    becomes a cell of the dataset's release system (its unit from the ``school``, ``district``
    or ``municipality`` column, its breakdowns from ``gender``, ``grade`` and
    ``economy_group``, its waves from ``wave`` and ``pooled_from``), the cells join every
    cell of the dataset's ledger, and primary, series and secondary suppression are decided
    for all of them together (:func:`protect_cells`); the table's cells are then recorded in
    the ledger. Several related tables: concatenate them and release them in one call.

    Parameters
    ----------
    table : DataFrame
        Estimates from :func:`ssp_research.analysis.indicator_table` (or any table with
        ``indicator`` or ``variable``, ``n`` and ``count``, and the columns above), computed
        on ``data``.
    data : DataFrame or path
        The whole dataset the table was computed on (not a subset: the cells are sums of
        the dataset's finest cells).
    instrument : str
        The codebook (it names the dataset with the top unit).
    top_name : str, optional
        The city (default: the data's one municipality) or ``"Norge"`` for national data.
    rules : Rules or dict, optional
        The disclosure rules (or overrides).
    ledger_dir : path, optional
        Where the dataset's ledger is (default ``paths.ledger_dir()``).
    kind, what : str
        How the release is described in the ledger (``"table"``, ``"study"``, ...).

    Returns
    -------
    DataFrame
        The table with ``suppressed``, ``reason`` and ``marker``; hidden rows have no
        statistics, and comparison and difference columns are blank where the comparison
        cell is hidden.

    Raises
    ------
    DisclosureError
        A column the release system does not know (e.g. ``family_economy``: release
        ``economy_group``), a row that is not a sum of the dataset's cells, or a table that
        cannot be made safe with what was released before.

    Examples
    --------
    >>> import tempfile
    >>> from ssp_research.analysis import indicator_table
    >>> from ssp_research.core import paths
    >>> d = pd.read_parquet(paths.synthetic_dir() / "trondheim.parquet")
    >>> t = indicator_table(d, "ungdata", indicators=["lonely"], unit=["school", "gender"],
    ...                     compare=None, waves=[2025])
    >>> out = release_table(t, d, ledger_dir=tempfile.mkdtemp())
    >>> bool(out["suppressed"].any()), bool(out.loc[out["suppressed"], "estimate"].isna().all())
    (True, True)
    """
    from ssp_research.analysis.indicators import resolve_indicators, with_economy_group
    from ssp_research.data.codebook import load_codebook
    from ssp_research.disclosure.ledger import open_ledger

    if not isinstance(rules, Rules):
        rules = Rules.from_overrides(rules)
    df, digest = read_data(data)
    df = with_economy_group(df)
    municipalities = df["municipality"].dropna().astype(str).unique()
    national = len(municipalities) > 1
    levels = ("country", "municipality", "school") if national else ("city", "district", "school")
    top = top_name or ("Norge" if national else str(municipalities[0]))
    cells = _table_cells(table, levels, top)
    dims = [d for d in LEDGER_DIMS if d in df.columns]
    frame, label_cols, parent = unit_frame(df, levels, top, dims)
    cb = load_codebook(instrument)
    names = sorted(set(cells["indicator"]))
    _, columns, *_ = resolve_indicators(frame, cb, names)
    with open_ledger(cb.instrument, top, folder=ledger_dir) as led:
        _refuse_revised(cells, led)
        prot = protect_cells(cells, frame, label_cols, levels, rules, parent, dims, names,
                             dict(zip(names, columns)), ledger=led, singletons=singletons)
        cells = cells.assign(suppressed=prot["suppressed"].to_numpy(),
                             reason=prot["reason"].to_numpy(),
                             marker=prot["marker"].to_numpy())
        cells.loc[cells["suppressed"], ["estimate", "count"]] = np.nan
        status = dict(zip(cell_keys(cells), cells["suppressed"]))
        top_keys = cell_keys(cells.assign(level=levels[0], unit=top,
                                          **{d: TOTAL for d in LEDGER_DIMS}))
        cells["_cmp_hidden"] = [status.get(k, True) for k in top_keys]
        led.record(ledger_rows(cells[cells["_own"]]), kind=kind, what=what,
                   data_sha256=digest, rules=rules.as_dict())
    own = cells[cells["_own"] & (cells["_row"] >= 0)].set_index("_row")  # the table's rows
    out = table.copy()
    hidden = own["suppressed"].reindex(out.index).fillna(False).to_numpy(bool)
    from ssp_research.disclosure.rules import HIDDEN

    for col in HIDDEN:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
            out.loc[hidden, col] = np.nan
    if "cmp_n" in out.columns:
        cmp_hidden = own["_cmp_hidden"].reindex(out.index).fillna(True).to_numpy(bool)
        blank = [c for c in (*_CMP, *_DIFF) if c in out.columns]
        out.loc[cmp_hidden | hidden, blank] = np.nan
    secret = np.zeros(len(out), bool)
    for b in SECRET_SIZES:
        if b in out.columns:
            secret |= (out[b].astype(str) != TOTAL).to_numpy()
    if secret.any():
        out.loc[secret, [c for c in ("n", "count", "cmp_n") if c in out.columns]] = np.nan
    out["suppressed"] = hidden
    note = out["reason"] if "reason" in out.columns else pd.Series(None, index=out.index)
    out["reason"] = np.where(hidden, own["reason"].reindex(out.index).to_numpy(object),
                             note.replace("", None).to_numpy(object))
    out["marker"] = own["marker"].reindex(out.index).to_numpy(object)
    return out


def _refuse_revised(cells: pd.DataFrame, ledger) -> None:
    """A table's cell shown before must show the same count (the data changed otherwise)."""
    for key, count in zip(cell_keys(cells), pd.to_numeric(cells["count"], errors="coerce")):
        old = ledger.cells.get(key)
        if old is None or old["status"] != "shown" or old["count"] is None or np.isnan(count):
            continue
        if abs(float(old["count"]) - float(count)) > 1e-9:
            raise DisclosureError(
                f"cell {key} was published with count {old['count']}, this table has "
                f"{count:g}: the data changed since it was released", file=ledger.path,
                rule="a published cell keeps its number",
                hint="compute the table on the data that was released (ssp release check "
                     "lists the changes)")


def _table_cells(table: pd.DataFrame, levels: Sequence[str], top: str) -> pd.DataFrame:
    """The cells of an ad-hoc table (``_row``: its row) and of its comparison (the top unit,
    when the table compares with it), in the columns :func:`protect_cells` reads."""
    if "n" not in table.columns:
        raise DisclosureError("the table has no 'n' column", column="n",
                              rule="released tables carry n (unweighted respondents)",
                              hint="release an estimator or indicator table")
    unknown = [c for c in table.columns if c not in _STATS and c not in _UNIT_COLUMNS
               and c not in LEDGER_DIMS]
    if unknown:
        hint = ("release economy_group (hard up, middle, well off) instead of the 1-5 rating"
                if "family_economy" in unknown else
                "release tables by school, district or the city, and by gender, grade or "
                "economy_group; anything else is not a cell of the release system")
        raise DisclosureError(f"the table has columns the release system does not know: "
                              f"{unknown}", column=unknown[0],
                              rule=f"dimensions: unit, wave, {', '.join(LEDGER_DIMS)}",
                              hint=hint)
    if "indicator" in table.columns:
        indicator = table["indicator"].astype(str)
    elif "variable" in table.columns:
        indicator = table["variable"].astype(str).str.removeprefix("ind_")
    else:
        raise DisclosureError("the table names no indicator", column="indicator",
                              rule="an indicator or variable column",
                              hint="release an indicator table")
    # each row's unit: its finest unit column with a value (related tables concatenated:
    # a school table's rows and a district table's rows), else the top unit
    level_of = {"school": "school", "district": "district",
                "municipality": levels[1] if levels[0] == "country" else levels[0]}
    level = np.full(len(table), levels[0], dtype=object)
    unit = np.full(len(table), top, dtype=object)
    for col in reversed([c for c in _UNIT_COLUMNS if c in table.columns]):
        has = table[col].notna().to_numpy()
        level[has] = level_of[col]
        unit[has] = table.loc[has, col].astype(str).to_numpy()
    if "wave" not in table.columns:
        raise DisclosureError("the table has no 'wave' column", column="wave",
                              rule="each cell is of one wave or a pooled window",
                              hint="estimate by wave (indicator_table does)")
    cells = pd.DataFrame({
        "_row": table.index, "indicator": indicator.to_numpy(),
        "level": level, "unit": unit,
        "wave": table["wave"].astype(int).to_numpy(),
        # a breakdown column without a value on a row: that row is its margin
        **{d: (table[d].map(cell_key).replace("", TOTAL).to_numpy()
               if d in table.columns else TOTAL) for d in LEDGER_DIMS},
        "n": table["n"].to_numpy(), "_own": True,
        "count": table["count"].to_numpy() if "count" in table.columns else np.nan,
        "estimate": table["estimate"].to_numpy() if "estimate" in table.columns else np.nan,
    })
    cells.loc[cells["level"] == levels[0], "unit"] = top
    if "pooled_from" in table.columns:
        cells["pooled_from"] = table["pooled_from"].to_numpy()
    cells["series_break"] = (table["series_break"].fillna(False).to_numpy(bool)
                             if "series_break" in table.columns else False)
    if "cmp_n" in table.columns:  # the comparison: the top unit's total of the same waves
        cmp = cells.drop_duplicates(["indicator", "wave", *(
            ["pooled_from"] if "pooled_from" in cells else [])])
        shown = table.loc[cmp["_row"].to_numpy()]  # the comparison as the table shows it
        cmp = cmp.assign(level=levels[0], unit=top, **{d: TOTAL for d in LEDGER_DIMS},
                         _own=True, _row=-1, n=shown["cmp_n"].to_numpy(), count=np.nan,
                         estimate=(shown["cmp_estimate"].to_numpy() if "cmp_estimate" in
                                   shown else np.nan))
        cells = pd.concat([cells, cmp], ignore_index=True)
    key = cell_keys(cells)
    cells = cells.assign(_key=key).drop_duplicates("_key").drop(columns="_key")
    return cells.reset_index(drop=True)


def check_model_cells(design, formula: str, rules: Rules | dict | None = None) -> None:
    """Refuse a model table whose factor levels describe a small group.

    A model's coefficient for a factor level (or a combination of levels in an interaction)
    is a comparison of the respondents in it: with few of them, or few with (or without) a
    0/1 outcome, the table says what that small group answered. Every level and combination
    of the formula's factors (``C(x)``, text, categorical and boolean columns) among the
    rows the model uses must have at least ``min_n`` respondents and, for a 0/1 response,
    at least ``min_count`` with and without the outcome.

    Raises
    ------
    DisclosureError
        Naming the term, the level and its count, and what to do (merge levels, drop the
        term, or keep the table internal).

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.survey import SurveyDesign
    >>> d = pd.DataFrame({"s": [1, 2] * 30, "y": [0.0, 1.0] * 30,
    ...                   "g": ["a"] * 55 + ["b"] * 5})
    >>> d["w"] = 1.0
    >>> check_model_cells(SurveyDesign(d, ids="s", weights="w"), "y ~ g")
    Traceback (most recent call last):
    ...
    ssp_research.core.errors.DisclosureError: the model's term 'g' has a level with 5 \
respondents: g=b [column: g, rule: each factor level of a released model has at least 20 \
respondents (and 3 with and without a 0/1 outcome)]
      What to do: merge the level with another, drop the term, or keep the table internal \
(--unprotected)
    """
    from ssp_research.survey.formula import (
        factor_name,
        formula_column,
        is_categorical,
        parse_formula,
    )

    if not isinstance(rules, Rules):
        rules = Rules.from_overrides(rules)
    response, terms, _ = parse_formula(formula)
    data = design.data
    used = np.asarray(design.weights) != 0
    y = None
    if response is not None:
        y = pd.to_numeric(formula_column(data, response, formula), errors="coerce")
        used &= y.notna().to_numpy()
    names = sorted({factor_name(v)[0] for t in terms for v in t})
    for name in names:
        used &= formula_column(data, name, formula).notna().to_numpy()
    binary = y is not None and bool(y[used].isin([0.0, 1.0]).all())
    for term in terms:
        factors = []
        for v in term:
            name, forced = factor_name(v)
            if forced or is_categorical(formula_column(data, name, formula)):
                factors.append(name)
        if not factors:
            continue
        frame = data.loc[used, factors].astype(str)
        sizes = frame.value_counts()
        rule = (f"each factor level of a released model has at least {rules.min_n} "
                f"respondents (and {rules.min_count} with and without a 0/1 outcome)")
        hint = "merge the level with another, drop the term, or keep the table internal " \
               "(--unprotected)"
        small = sizes[sizes < rules.min_n]
        if len(small):
            level = ", ".join(f"{f}={v}" for f, v in zip(factors, np.atleast_1d(small.index[0])))
            raise DisclosureError(f"the model's term {':'.join(factors)!r} has a level with "
                                  f"{int(small.iloc[0])} respondents: {level}",
                                  column=factors[0], rule=rule, hint=hint)
        if binary:
            ones = frame.assign(_y=y[used].to_numpy()).groupby(factors)["_y"].agg(["sum",
                                                                                   "size"])
            low = ones[(ones["sum"] < rules.min_count)
                       | (ones["size"] - ones["sum"] < rules.min_count)]
            if len(low):
                level = ", ".join(f"{f}={v}" for f, v in
                                  zip(factors, np.atleast_1d(low.index[0])))
                raise DisclosureError(f"the model's term {':'.join(factors)!r} has a level "
                                      f"where fewer than {rules.min_count} have or lack the "
                                      f"outcome: {level}", column=factors[0], rule=rule,
                                      hint=hint)

