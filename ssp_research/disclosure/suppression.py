"""Disclosure control: primary, series and secondary suppression of published tables.

A brief is about children, so no published number may reveal what a small group answered, neither
directly (a 0 % among 6 girls) nor by subtraction (the total minus the boys gives the girls).
:func:`protect` applies three steps, after the public health profiles (FHI/Hdir ``khfunctions``:
``pvern``, ``serieprikket``, ``naboprikket``); :mod:`ssp_research.disclosure.auditing` checks every
written output afterwards.

Contracts (other stages depend on these)
----------------------------------------
**Rules** (:class:`Rules`, one place for all limits): ``min_n=20, min_count=3, weak_n=2*min_n,
series_weak_share=0.5, series_suppressed_share=0.2, series_min_length=3``. Overrides per
publication with ``Rules.from_overrides({...})``; ``Rules.describe(lang)`` is the text of the
brief's method section.

**Input table**: any estimator table (``variable``, by columns, ``estimate, se, ci_low,
ci_high, df, n`` and, for proportions, ``count``). A whole publication (a batch of briefs) is
one long table: unit columns ``level`` (city/district/school), ``unit``, ``parent`` (the unit
above, empty for the top) and margins as rows whose by value is ``"all"`` (gender "all",
grade "all"). :func:`publication_cube` builds such a table of unweighted counts from tidy data.

**Output** (:func:`protect`): the same rows in the same order plus ``suppressed`` (bool),
``reason`` (``"n"``, ``"count"``, ``"series"``, ``"secondary"`` or None) and ``marker``
(``"*"`` for suppressed, ``"⚡"`` appended for rows with ``series_break`` True). Suppressed rows
have ``estimate, se, ci_low, ci_high, count`` (and ``deff``) set to NaN; ``n`` and ``df`` are
kept: the protection is computed assuming every ``n`` is known to an attacker (pupil numbers
per school, grade and gender are public in Udir's GSI), so showing ``n`` gives nothing away
that the safety check did not already grant.

**One publication, many briefs**: secondary suppression is only safe when every cell that
is published anywhere in the batch is protected together. Protect the whole publication once
(all units, margins and waves), then give each brief its own table through
:func:`protect_like`, which adds the publication's suppressions (and refuses cells that are not
in it). Protecting each brief alone (``protect`` per unit) cannot see the subtraction across
briefs (school A's girls = the district's girls minus the other schools' girls).

**HTML**: the brief stage renders protected tables through :func:`to_html` and
:func:`table_html_attrs` (:mod:`ssp_research.disclosure.html`, the contract ``ssp audit``
checks).

Secondary suppression
---------------------
Works on the whole publication (each variable x wave is one additive system of totals and
their parts), hides further cells greedily where a sum has a single hidden term, then proves
with linear programming that no suppressed count can be narrowed to fewer than
``min(min_count, n) + 1`` whole values, adding cells until that holds. The algorithm is documented
in :mod:`ssp_research.disclosure.secondary`; :func:`attack` replays the attacker's LP on any output.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"variable": "lonely", "gender": ["all", "girl", "boy"],
...                   "estimate": [0.32, 0.0, 0.4], "n": [50, 10, 40],
...                   "count": [16, 0, 16]})
>>> p = protect(t, series_by=())
>>> p["reason"].tolist(), p["marker"].tolist()
([None, 'n', 'secondary'], ['', '*', '*'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ssp_research.core.errors import DisclosureError
from ssp_research.disclosure.rules import (
    HIDDEN,
    MARK_BREAK,
    MARK_SUPPRESSED,
    TOTAL,
    VALUE_COLUMNS,
    Rules,
    cell_keys,
)
from ssp_research.disclosure.rules import cell_key as _key
from ssp_research.disclosure.secondary import lp_ranges, suppress_secondary

__all__ = ["protect", "protect_like", "attack", "primary_reasons", "series_reasons"]

_META = ("level", "parent", "series_break", "suppressed", "reason", "marker", "label")


# --- helpers -----------------------------------------------------------------------------------


def _id_columns(table: pd.DataFrame, value_cols: Sequence[str]) -> list[str]:
    return [c for c in table.columns if c not in value_cols and c not in _META]


def _auto_hierarchy(table: pd.DataFrame, id_cols: Sequence[str],
                    series_by: Sequence[str], total: str) -> dict[str, dict[str, str]]:
    hierarchy: dict[str, dict[str, str]] = {}
    if "unit" in table.columns and "parent" in table.columns:
        pairs = {_key(u): _key(p) for u, p in zip(table["unit"], table["parent"]) if _key(p)}
        if pairs:
            hierarchy["unit"] = pairs
    for col in id_cols:
        if col in hierarchy or col in series_by or col == "variable":
            continue
        values = {_key(v) for v in table[col]}
        if total in values and len(values) > 1:
            hierarchy[col] = {v: total for v in values if v != total}
    return hierarchy


# --- primary and series ------------------------------------------------------------------------


def primary_reasons(table: pd.DataFrame, rules: Rules) -> pd.Series:
    """Primary suppression: ``"n"`` when ``n < min_n``; ``"count"`` when fewer than
    ``min_count`` respondents have, or do not have, the attribute; else None."""
    n = pd.to_numeric(table["n"], errors="coerce").fillna(0).to_numpy(float)
    reason = np.full(len(table), None, dtype=object)
    if "count" in table.columns:
        count = pd.to_numeric(table["count"], errors="coerce").to_numpy(float)
        bad = np.isnan(count) | (count < rules.min_count) | (n - count < rules.min_count)
        reason[bad] = "count"
    reason[n < rules.min_n] = "n"
    return pd.Series(reason, index=table.index, dtype=object)


def series_reasons(table: pd.DataFrame, reason: pd.Series, rules: Rules,
                   id_cols: Sequence[str], series_by: Sequence[str]) -> pd.Series:
    """The series rule: ``"series"`` on every shown cell of a series (the cells that differ
    only in ``series_by``) of at least ``series_min_length`` waves with more than
    ``series_weak_share`` weak or more than ``series_suppressed_share`` suppressed cells."""
    series_by = [c for c in series_by if c in table.columns]
    keys = [c for c in id_cols if c not in series_by]
    if not series_by:
        return reason
    n = pd.to_numeric(table["n"], errors="coerce").fillna(0)
    frame = pd.DataFrame({
        "weak": (n < rules.weak_n) | reason.notna(),
        "hole": reason.notna(),
    }, index=table.index)
    groups = [cell_keys(table[c]) for c in keys] if keys else [np.zeros(len(table), dtype=int)]
    by = frame.groupby(groups, dropna=False, sort=False)
    size = by["weak"].transform("size").to_numpy()
    weak = by["weak"].transform("mean").to_numpy()
    hole = by["hole"].transform("mean").to_numpy()
    hit = ((size >= rules.series_min_length)
           & ((weak > rules.series_weak_share) | (hole > rules.series_suppressed_share))
           & reason.isna().to_numpy())
    out = reason.copy()
    out[hit] = "series"
    return out


# --- protect ------------------------------------------------------------------------------


def protect(table: pd.DataFrame, rules: Rules | None = None, *,
            hierarchy: Mapping[str, Mapping[object, object]] | None = None,
            series_by: Sequence[str] = ("wave",), value_cols: Sequence[str] = VALUE_COLUMNS,
            total: str = TOTAL) -> pd.DataFrame:
    """Suppress every cell that could reveal a small group: primary, series, secondary.

    Parameters
    ----------
    table : DataFrame
        An estimator table (columns as in the module contract), or the long table of a whole
        publication. Every column that is not a value column (``value_cols``) nor a meta
        column (``level, parent, series_break, label``) identifies the cell.
    rules : Rules, optional
        The limits; ``Rules()`` by default.
    hierarchy : dict, optional
        Additive dimensions: ``{column: {child: parent}}``, for example
        ``{"gender": {"girl": "all", "boy": "all"}, "unit": {"Midtbyen": "Trondheim"}}``.
        By default taken from the data: ``unit`` with its ``parent`` column, and every other
        identifying column that has a ``total`` value (its other values are its children).
        ``{}`` switches secondary suppression off (only for tables published alone).
    series_by : sequence of str
        Columns that make a time series (``("wave",)``); ``()`` switches the series rule off.
    value_cols : sequence of str
        Columns holding statistics (not identifying a cell).
    total : str
        The margin value meaning "all" in by columns.

    Returns
    -------
    DataFrame
        The same rows (same index and order) plus ``suppressed`` (bool), ``reason`` (``"n"``:
        ``n < min_n``; ``"count"``: ``count < min_count`` or ``n - count < min_count``;
        ``"series"``; ``"secondary"``; None when shown) and ``marker`` (``"*"`` when suppressed,
        with ``"⚡"`` appended where ``series_break`` is True). ``estimate, se, ci_low,
        ci_high, count, deff`` and any difference columns (``diff, diff_se, diff_ci_low,
        diff_ci_high, statistic, p_value``) are NaN on suppressed rows; ``n`` and ``df``
        are kept.

    Notes
    -----
    Primary: ``n < min_n`` or ``min(count, n - count) < min_count``. Series: a series (all
    waves of one cell) of at least ``series_min_length`` waves is hidden when the share of weak
    cells (``n < weak_n`` or primary-suppressed) exceeds ``series_weak_share`` or the share of
    primary-suppressed cells exceeds ``series_suppressed_share``. Secondary: see the module
    docstring; every suppressed count ``x`` ends with an LP range ``[lo, hi]`` given all shown
    counts and relations such that ``floor(hi) - ceil(lo) >= min(min_count, n)``.

    Examples
    --------
    The classic subtraction attack: 50 pupils, 10 girls of whom 0 lonely. Suppressing only the
    girls leaves ``16 - 16 = 0`` recoverable, so the boys go too; the total stays:

    >>> import pandas as pd
    >>> t = pd.DataFrame({"variable": "lonely", "gender": ["all", "girl", "boy"],
    ...                   "estimate": [0.32, 0.0, 0.4], "n": [50, 10, 40], "count": [16, 0, 16]})
    >>> p = protect(t, series_by=())
    >>> p[["gender", "estimate", "n", "count", "reason"]]
      gender  estimate   n  count     reason
    0    all      0.32  50   16.0       None
    1   girl       NaN  10    NaN          n
    2    boy       NaN  40    NaN  secondary
    """
    rules = rules or Rules()
    if "suppressed" in table.columns:
        raise DisclosureError("the table is already protected", rule="protect once",
                              hint="protect the estimator table, not its protected copy")
    if "n" not in table.columns:
        raise DisclosureError("the table has no 'n' column", column="n",
                              rule="estimator tables carry n (unweighted respondents)",
                              hint="pass an estimator table from ssp_research.survey.estimate")
    id_cols = _id_columns(table, value_cols)
    if table.duplicated(subset=id_cols).any() if id_cols else len(table) > 1:
        first = table.index[table.duplicated(subset=id_cols)][0] if id_cols else table.index[1]
        raise DisclosureError("two rows describe the same cell", row=first,
                              rule="one row per cell (identifying columns: "
                              + ", ".join(id_cols) + ")",
                              hint="add the column that tells the rows apart")
    n = pd.to_numeric(table["n"], errors="coerce")
    bad = n < 0
    if "count" in table.columns:
        c = pd.to_numeric(table["count"], errors="coerce")
        bad |= (c < 0) | (c > n)
    if bad.any():
        raise DisclosureError("a cell has n < 0, count < 0 or count > n", column="count",
                              row=table.index[bad.to_numpy()][0],
                              rule="0 <= count <= n (unweighted respondents)",
                              hint="count and n must be unweighted numbers of respondents")
    reason = primary_reasons(table, rules)
    reason = series_reasons(table, reason, rules, id_cols, series_by)
    if hierarchy is None:
        hierarchy = _auto_hierarchy(table, id_cols, series_by, total)
    reason = suppress_secondary(table, reason, rules, hierarchy, id_cols)
    out = table.copy()
    suppressed = reason.notna()
    for col in HIDDEN:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
            out.loc[suppressed, col] = np.nan
    out["suppressed"] = suppressed.astype(bool)
    out["reason"] = reason.astype(object)
    marker = np.where(suppressed, MARK_SUPPRESSED, "").astype(object)
    if "series_break" in out.columns:
        brk = out["series_break"].fillna(False).astype(bool).to_numpy()
        marker = np.where(brk, marker + MARK_BREAK, marker)
    out["marker"] = pd.Series(marker, index=out.index, dtype=object)
    return out


def protect_like(table: pd.DataFrame, publication: pd.DataFrame, rules: Rules | None = None,
                 *, on: Sequence[str], series_by: Sequence[str] = ("wave",)) -> pd.DataFrame:
    """Protect one brief's table consistently with its protected publication.

    A batch of briefs is one publication: protect the whole publication once (e.g.
    ``protect(publication_cube(...))``), then protect each brief's own table with this. A
    row is suppressed when its own primary/series rules say so, or when its cell is
    suppressed in ``publication`` (then it takes that ``reason``, usually ``"secondary"``).

    Parameters
    ----------
    table : DataFrame
        The brief's estimator table (weighted estimates are fine).
    publication : DataFrame
        Output of :func:`protect` on the whole publication.
    on : sequence of str
        Columns identifying a cell in both (e.g. ``["variable", "wave", "unit", "gender"]``);
        compared as text, so 8 and "8" match.

    Returns
    -------
    DataFrame
        As :func:`protect`. A row with no cell in ``publication`` raises DisclosureError: a
        number outside the protected publication could undo its secondary suppression.

    Examples
    --------
    >>> pub = pd.DataFrame({"variable": "x", "gender": ["all", "girl", "boy"],
    ...                     "n": [50, 10, 40], "count": [16, 0, 16]})
    >>> brief = pub[pub["gender"] != "girl"].assign(estimate=[0.31, 0.41])
    >>> protect_like(brief, protect(pub, series_by=()), on=["variable", "gender"],
    ...              series_by=())["reason"].tolist()
    [None, 'secondary']
    """
    if "suppressed" not in publication.columns:
        raise DisclosureError("the publication is not protected", column="suppressed",
                              rule="protect the publication first",
                              hint="pass the output of protect() on the whole publication")
    out = protect(table, rules, hierarchy={}, series_by=series_by)

    def keys(frame: pd.DataFrame) -> pd.Series:
        return pd.Series(list(zip(*[frame[c].map(_key) for c in on])), index=frame.index)

    pub = dict(zip(keys(publication), publication["reason"]))
    missing = [k for k in keys(table) if k not in pub]
    if missing:
        raise DisclosureError(f"{len(missing)} cells are not in the protected publication, "
                              f"e.g. {dict(zip(on, missing[0]))}", rule="one publication",
                              hint="protect every published cell together (all units, "
                              "margins and waves of the batch)")
    theirs = keys(table).map(pub)
    add = out["reason"].isna() & theirs.notna()
    out.loc[add, "reason"] = theirs[add]
    out.loc[add, "suppressed"] = True
    for col in HIDDEN:
        if col in out.columns:
            out.loc[add, col] = np.nan
    out.loc[add, "marker"] = MARK_SUPPRESSED + out.loc[add, "marker"].astype(str)
    return out


def attack(protected: pd.DataFrame, original: pd.DataFrame, rules: Rules | None = None, *,
           hierarchy: Mapping[str, Mapping[object, object]] | None = None,
           series_by: Sequence[str] = ("wave",), total: str = TOTAL) -> pd.DataFrame:
    """The attacker's LP range of every suppressed count, from everything published.

    Parameters
    ----------
    protected : DataFrame
        The output of :func:`protect` (what is published).
    original : DataFrame
        The same table before protection (supplies the true counts, for the report only).

    Returns
    -------
    DataFrame
        One row per suppressed cell: its identifying columns, ``n``, ``count`` (true),
        ``reason``, ``lo``, ``hi`` (LP range given shown counts, 0 <= count <= n and all
        relations), ``width`` (``floor(hi) - ceil(lo)``) and ``safe``
        (``width >= min(min_count, n)``).

    Examples
    --------
    >>> t = pd.DataFrame({"variable": "x", "gender": ["all", "girl", "boy"],
    ...                   "estimate": [0.32, 0.0, 0.4], "n": [50, 10, 40], "count": [16, 0, 16]})
    >>> attack(protect(t, series_by=()), t)[["gender", "lo", "hi", "safe"]]
      gender   lo    hi  safe
    0   girl  0.0  10.0  True
    1    boy  6.0  16.0  True
    """
    rules = rules or Rules()
    id_cols = _id_columns(original, VALUE_COLUMNS)
    if hierarchy is None:
        hierarchy = _auto_hierarchy(original, id_cols, series_by, total)
    return lp_ranges(protected, original, rules, hierarchy=hierarchy, id_cols=id_cols)
