"""Response-quality checks used by cleaning: duplicates by id, straight-lining, age/grade.

Each check is a vectorised function over whole columns that returns boolean flags, so it can
also be used on its own on any frame. :func:`ssp_research.data.clean.apply` calls them with the
settings in the codebook's ``quality`` section and logs how many rows each one flags.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"id": ["a", "b", "a"], "q1": [1, 2, 1]})
>>> later, first = duplicate_rows(df)
>>> later.tolist(), first.tolist()
([False, False, True], [True, False, False])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["duplicate_rows", "duplicates_by_id", "describe_rows", "straightlining",
           "age_grade_inconsistent"]


def duplicate_rows(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Exact duplicate rows (equal in every column, missing values equal).

    Parameters
    ----------
    df : DataFrame

    Returns
    -------
    (later, first) : two boolean arrays of length ``len(df)``
        ``later`` marks the second and later copies (to drop), ``first`` the first copy of
        each duplicated row (kept, and flagged ``flag_duplicate`` by cleaning).

    Notes
    -----
    Rows are first grouped by a cheap key, :math:`k_i = \\sum_j w_j x_{ij}` over the numeric
    columns with fixed random weights :math:`w_j \\in [1, 2)` (missing values skipped), or a
    64-bit row hash when there are no numeric columns; only rows that share a key are then
    compared column by column, so the result is exact and costs one pass over the data.
    """
    n = len(df)
    num = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])
           and not pd.api.types.is_bool_dtype(df[c])]
    if num:
        weights = np.random.default_rng(0).uniform(1, 2, len(num))
        rowkey = np.zeros(n)
        for w, c in zip(weights, num):
            v = df[c].to_numpy(dtype="float64", na_value=np.nan)
            np.add(rowkey, w * v, out=rowkey, where=v == v)
        cand = pd.Series(rowkey).duplicated(keep=False).to_numpy()
    else:
        cand = pd.util.hash_pandas_object(df, index=False).duplicated(keep=False).to_numpy()
    later, first = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    if cand.any():
        pos = np.flatnonzero(cand)
        sub = df.iloc[pos]
        is_later = sub.duplicated(keep="first").to_numpy()
        later[pos[is_later]] = True
        first[pos[sub.duplicated(keep=False).to_numpy() & ~is_later]] = True
    return later, first


def describe_rows(idx: np.ndarray, show: int = 5) -> str:
    """``data rows 3, 8, 12 and 4 more`` for 0-based positions ``idx`` (shown 1-based).

    Examples
    --------
    >>> describe_rows(np.array([2, 7])), describe_rows(np.arange(8), 3)
    ('data rows 3, 8', 'data rows 1, 2, 3 and 5 more')
    """
    rows = [str(int(i) + 1) for i in idx[:show]]
    more = f" and {len(idx) - show} more" if len(idx) > show else ""
    return f"data row{'s' if len(idx) > 1 else ''} {', '.join(rows)}{more}"


def duplicates_by_id(df: pd.DataFrame, idcol: str | None
                     ) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str, int, str]]]:
    """Duplicates decided by respondent id: which rows to drop, which to flag, and why.

    Parameters
    ----------
    df : DataFrame
        The export (row ``i`` is data row ``i + 1`` in the messages).
    idcol : str or None
        The respondent id column, None when the export has none.

    Returns
    -------
    (drop, flag, entries)
        ``drop``: exact copies of an earlier row with the same (non-missing) id. ``flag``:
        the kept first copies, rows that share an id but differ, and identical rows without
        an id (two pupils may answer alike: kept). ``entries``: cleaning-log rows
        ``(rule, column, rows, detail)`` for ``duplicate_removed``, ``duplicate_id_kept``
        and ``duplicate_answers_kept`` (rules with no rows are left out).

    Examples
    --------
    >>> df = pd.DataFrame({"q1": [1, 2, 1], "q2": [3, 3, 3]})
    >>> drop, flag, entries = duplicates_by_id(df, None)
    >>> drop.tolist(), flag.tolist(), entries[0][:3]
    ([False, False, False], [True, False, True], ('duplicate_answers_kept', '*', 2))
    """
    out: list[tuple[str, str, int, str]] = []

    def add(rule: str, column: str, n: Any, detail: str) -> None:
        if int(n):
            out.append((rule, column, int(n), detail))

    later, first = duplicate_rows(df)
    n = len(df)
    if idcol is None:
        flag = later | first
        if flag.any():
            add("duplicate_answers_kept", "*", flag.sum(),
                    f"{int(later.sum())} row(s) repeat the answers of an earlier row "
                    f"({describe_rows(np.flatnonzero(later))}); with no respondent id column they "
                    "cannot be told from different pupils who answered alike, so all are kept "
                    "and flagged flag_duplicate; map an id column (columns: respondent_id) "
                    "to drop true copies")
        return np.zeros(n, dtype=bool), flag, out
    ids = df[idcol]
    has_id = ids.notna().to_numpy()
    drop = later & has_id
    add("duplicate_removed", "*", drop.sum(),
            f"exact copy of an earlier row with the same {idcol} (first kept; "
            f"{describe_rows(np.flatnonzero(drop))})")
    no_id = later & ~has_id
    if no_id.any():
        add("duplicate_answers_kept", "*", no_id.sum(),
                f"repeat an earlier row but have no {idcol}: kept and flagged "
                f"({describe_rows(np.flatnonzero(no_id))})")
    flag = first | no_id
    rest = ids.where(~drop)
    clash = (rest.duplicated(keep=False) & rest.notna()).to_numpy()
    if clash.any():
        add("duplicate_id_kept", idcol, clash.sum(),
                f"{int(rest[clash].nunique())} {idcol} value(s) on rows with different answers "
                f"({describe_rows(np.flatnonzero(clash))}): kept and flagged flag_duplicate; check "
                "which answer is the respondent's")
        flag |= clash
    return drop, flag, out


def straightlining(items: Sequence[np.ndarray] | pd.DataFrame, *, min_items: int) -> np.ndarray:
    """Respondents who gave the same answer to every item of a battery.

    Parameters
    ----------
    items : sequence of float arrays, or DataFrame
        The battery's items (codes as answered, NaN = missing), one array per item.
    min_items : int
        At least this many items must be answered (a respondent with fewer is not flagged).

    Returns
    -------
    ndarray of bool
        True where at least ``min_items`` items are answered and all answered items are equal.

    Examples
    --------
    >>> import numpy as np
    >>> q = [np.array([1, 2, 3, np.nan]), np.array([1, 2, 4, np.nan])]
    >>> straightlining(q, min_items=2).tolist()
    [True, True, False, False]
    """
    cols = [items[c].to_numpy("float64") for c in items] if isinstance(items, pd.DataFrame) \
        else [np.asarray(x, dtype="float64") for x in items]
    n = len(cols[0])
    answered, lo, hi = np.zeros(n, np.int64), np.full(n, np.inf), np.full(n, -np.inf)
    for x in cols:
        answered += ~np.isnan(x)
        np.fmin(lo, x, out=lo)
        np.fmax(hi, x, out=hi)
    return (answered >= min_items) & (hi == lo)


def age_grade_inconsistent(wave, birth_year, grade, *, grade_age_offset: float = 13,
                           tolerance: float = 1) -> np.ndarray:
    """Respondents whose age at the survey does not fit their grade.

    Parameters
    ----------
    wave, birth_year, grade : array-like
        Survey year, year of birth and grade (8-10).
    grade_age_offset : float
        The usual age (survey year minus birth year) in grade 8.
    tolerance : float
        Allowed difference in years.

    Returns
    -------
    ndarray of bool
        True where :math:`|(\\text{wave} - \\text{birth\\_year}) - (\\text{offset} +
        \\text{grade} - 8)| > \\text{tolerance}`; False where any input is missing.

    Examples
    --------
    >>> age_grade_inconsistent([2025, 2025, 2025], [2011, 2004, 2010], [8, 10, 10]).tolist()
    [False, True, False]
    """
    age = np.asarray(wave, dtype="float64") - np.asarray(birth_year, dtype="float64")
    expected = float(grade_age_offset) + np.asarray(grade, dtype="float64") - 8
    with np.errstate(invalid="ignore"):
        return np.abs(age - expected) > float(tolerance)
