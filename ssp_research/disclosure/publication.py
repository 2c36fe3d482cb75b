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

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ssp_research.core.atomic import atomic_write, write_atomic
from ssp_research.core.errors import DataError, DisclosureError, ParameterError
from ssp_research.disclosure.ledger import dataset_id
from ssp_research.disclosure.release import (
    LEDGER_DIMS,
    LEVEL_COLUMNS,
    MISSING,
    SECRET_SIZES,
    SHOWN,
    TOTAL,
    cell_keys,
    ledger_dims,
    protect_cells,
    read_data,
    unit_frame,
)
from ssp_research.disclosure.rules import Rules

__all__ = [
    "build_publication",
    "write_publication",
    "read_publication",
    "select",
    "LEVEL_COLUMNS",
    "PUBLICATION_COLUMNS",
]

_CMP_LEVELS = ("city", "municipality")  # lower levels are compared with the nearest of these
CMP_COLUMNS = ["cmp_estimate", "cmp_se", "cmp_ci_low", "cmp_ci_high", "cmp_n"]
DIFF_COLUMNS = ["diff", "diff_se", "diff_ci_low", "diff_ci_high", "p_value"]
PUBLICATION_COLUMNS = [
    "level", "unit", "parent", "indicator", "wave", "gender", "grade",
    "estimate", "se", "ci_low", "ci_high", "df", "n", "count",
    "comparison", *CMP_COLUMNS, *DIFF_COLUMNS,
    "series_break", "higher_is_better", "suppressed", "reason", "marker",
]  # fmt: skip


# --- units and their hierarchy ------------------------------------------------------------------


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
        keep = t["unit"] != MISSING
        for c in breakdowns:
            if c == b:
                t[c] = t.pop(by[0])
                keep &= t[c] != MISSING
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


def _unprotected(data: Any, codebook: Any, *, indicators: Any, waves: Any,
                 levels: Sequence[str], breakdowns: list[str], pool: int, standardise: Any,
                 standardise_by: Sequence[str], top_name: str | None, progress: bool,
                 extra_dims: Sequence[str] = ()):
    """The publication before protection: (table, parent of unit, names, sha256, codebook,
    frame with label columns, label columns, {indicator: data column})."""
    df, digest = read_data(data)
    clash = [b for b in breakdowns if b in ("level", "unit", "parent", "indicator", "wave")]
    if clash:
        raise ParameterError(f"breakdown {clash[0]!r} clashes with a publication column",
                             rule="breakdowns are plain data columns")
    if codebook is not None:  # parsed once, not once per level and breakdown
        from ssp_research.data.codebook import load_codebook

        codebook = load_codebook(codebook)
    frame, label_cols, parent = unit_frame(df, levels, top_name, [*breakdowns, *extra_dims])
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
    extra = [] if ledger is None else [d for d in ledger_dims(ledger) if d not in breakdowns]
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
    prot = protect_cells(table.assign(**{d: TOTAL for d in extra}), frame, label_cols, levels,
                    rules, parent, [*breakdowns, *extra], names, columns, ledger=ledger,
                    singletons=singletons, jobs=jobs, progress=progress)
    sup = prot["suppressed"].to_numpy(bool)
    for col in SHOWN:
        table[col] = prot[col].to_numpy() if col in prot else table[col]
        table.loc[sup, col] = np.nan
    note = table["reason"].replace("", None)
    table["reason"] = prot["reason"].where(sup, note).astype(object)
    table["suppressed"] = sup
    table["marker"] = prot["marker"].to_numpy()
    protection = prot["protection"].to_numpy(object)
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
    top = out.loc[out["level"] == levels[0], "unit"]
    # for ssp release check (not written): cells that what was public before narrows
    out.attrs["protection"] = {k: [str(c) for c in cell_keys(table[protection == k])]
                               for k in ("given", "insider_only")}
    out.attrs["publication"] = _provenance(rules, digest, codebook, levels, breakdowns, names,
                                           pool, standardise, top.iloc[0] if len(top) else None)
    return out


def _provenance(rules, digest, codebook, levels, breakdowns, names, pool, standardise,
                top=None) -> dict:
    version = instrument = None
    if codebook is not None:
        from ssp_research.data.codebook import load_codebook

        cb = load_codebook(codebook)
        version, instrument = cb.version, cb.instrument
    return {
        "rules": rules.as_dict(), "data_sha256": digest, "codebook": instrument,
        "dataset": None if instrument is None or top is None else dataset_id(instrument, top),
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
