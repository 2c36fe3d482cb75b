"""Published reference figures (national, county ...) and the unit tested against them.

A reference figure is a share published by someone else (NOVA's national Ungdata figures,
Udir's Elevundersøkelsen), stored as data with its source: the format is documented in
``docs/references.md``, and the shipped file ``resources/references/norway.csv`` holds the
national figures that could be sourced. :func:`compare_with_references` tests a protected
indicator table against them with both uncertainties (the unit's design-based standard error,
the reference's sampling error and the rounding of the published figure) and classes each
indicator as better, no clear difference or worse, using the indicator's declared good
direction (``higher_is_better``).

>>> refs = load_references()
>>> sorted(refs.loc[refs["instrument"] == "ungdata", "indicator"])[:3]
['bullied', 'close_friend', 'depressive']
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ssp_research.core import paths
from ssp_research.core.errors import DataError

__all__ = ["REFERENCE_COLUMNS", "load_references", "pick_references",
           "compare_with_references", "DEFAULT_REFERENCES"]

DEFAULT_REFERENCES = paths.resource_path("references", "norway.csv")

#: Columns of a reference file; ``se``, ``n`` and ``rounding`` may be empty, the rest not.
REFERENCE_COLUMNS = ("instrument", "indicator", "year", "population", "level", "grade",
                     "gender", "estimate", "se", "n", "rounding", "source", "url", "note_nb",
                     "note_en")
_REQUIRED = ("instrument", "indicator", "year", "population", "estimate", "source")
_Z = 1.959963984540054  # two-sided 95 %


def load_references(path: str | Path | None = None) -> pd.DataFrame:
    """Read and check a reference-figure file (CSV, format in ``docs/references.md``).

    Parameters
    ----------
    path : str or Path, optional
        The file; default the shipped national figures (``resources/references/norway.csv``).

    Returns
    -------
    DataFrame
        One row per published figure, with the columns of :data:`REFERENCE_COLUMNS`.

    Raises
    ------
    DataError
        A missing column, an empty required cell, or an estimate outside 0-1, naming the file,
        the row (as in a spreadsheet: header = row 1) and the column.
    """
    path = Path(path) if path is not None else DEFAULT_REFERENCES
    try:
        refs = pd.read_csv(path, dtype={"grade": str, "gender": str}, keep_default_na=False,
                           na_values={"se": [""], "n": [""], "rounding": [""]})
    except FileNotFoundError as exc:
        raise DataError(f"reference file not found: {path}", file=path,
                        hint="pass the path of a CSV in the format of docs/references.md") from exc
    missing = [c for c in REFERENCE_COLUMNS if c not in refs.columns]
    if missing:
        raise DataError(f"{path.name}: the reference file lacks the columns {missing}",
                        file=path, column=missing[0], rule="docs/references.md",
                        hint="add the columns (se, n and rounding may be left empty)")
    for col in _REQUIRED:
        empty = refs[col].astype(str).str.strip() == ""
        if empty.any():
            row = int(np.flatnonzero(empty.to_numpy())[0]) + 2
            raise DataError(f"{path.name} row {row}: column {col!r} is empty", file=path,
                            row=row, column=col, rule="required in docs/references.md",
                            hint=f"fill in {col}")
    for col in ("year", "estimate", "se", "n", "rounding"):
        refs[col] = pd.to_numeric(refs[col], errors="coerce")
    bad = ~refs["estimate"].between(0, 1)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise DataError(f"{path.name} row {row}: estimate {refs['estimate'].iloc[row - 2]!s} "
                        "is not a share between 0 and 1", file=path, row=row,
                        column="estimate", rule="shares, e.g. 0.22 for 22 %",
                        hint="write percentages as shares")
    refs["year"] = refs["year"].astype(int)
    for col in ("grade", "gender"):
        refs[col] = refs[col].replace("", "all")
    return refs[list(REFERENCE_COLUMNS)]


def reference_se(row) -> float:
    """The standard error of a published figure: its own SE (or the binomial SE from ``n``)
    combined with the rounding of the published number (uniform on +-``rounding``).

    >>> round(reference_se({"estimate": 0.22, "se": float("nan"), "n": 150000,
    ...                     "rounding": 0.01}), 5)
    0.00587
    """
    se = row["se"]
    if not np.isfinite(se):
        n = row["n"]
        p = row["estimate"]
        se = math.sqrt(p * (1 - p) / n) if np.isfinite(n) and n > 0 else 0.0
    rounding = row["rounding"] if np.isfinite(row["rounding"]) else 0.0
    return math.sqrt(se**2 + rounding**2 / 3)


def pick_references(refs: pd.DataFrame, instrument: str, year: int, *,
                    population: str = "Norge", max_age: int = 3) -> pd.DataFrame:
    """The figure per indicator to compare a wave with: the same instrument and population,
    all grades and genders, published for ``year`` or at most ``max_age`` years before it
    (the newest such figure). Indicators with no fitting figure are absent."""
    r = refs[(refs["instrument"] == instrument) & (refs["population"] == population)
             & (refs["grade"] == "all") & (refs["gender"] == "all")
             & (refs["year"] <= year) & (refs["year"] >= year - max_age)]
    return r.sort_values("year").groupby("indicator", as_index=False).tail(1)


def compare_with_references(table: pd.DataFrame, refs: pd.DataFrame, *, instrument: str,
                            year: int, population: str = "Norge",
                            max_age: int = 3) -> pd.DataFrame:
    """The unit's shares tested against published reference figures.

    Parameters
    ----------
    table : DataFrame
        A protected indicator table of one wave: ``indicator, estimate, se,
        higher_is_better, suppressed``.
    refs : DataFrame
        From :func:`load_references`.
    instrument : str
        The codebook's instrument (``ungdata``, ``elevus`` ...): only its figures are used.
    year : int
        The wave (for pooled waves, the last year of the window).
    population, max_age
        See :func:`pick_references`.

    Returns
    -------
    DataFrame
        ``indicator`` and ``ref_estimate, ref_se, ref_year, ref_population, ref_level,
        ref_source, ref_url, ref_note_nb, ref_note_en, ref_diff, ref_diff_ci_low,
        ref_diff_ci_high, ref_class``, one row per indicator of ``table``. ``ref_class`` is
        ``"better"``, ``"same"`` (no clear difference) or ``"worse"``; ``None`` where no
        figure fits or where the unit's share is hidden (a class would tell something about
        a hidden number, so it is hidden too).

    Notes
    -----
    The difference is tested with a normal approximation, ``(p - r) / sqrt(se_p^2 +
    se_r^2)``, at the 5 % level. The reference and the unit are treated as independent
    (the unit is a small part of the country); ``se_r`` is :func:`reference_se`.

    Examples
    --------
    >>> t = pd.DataFrame({"indicator": ["bullied", "lonely"], "estimate": [0.12, 0.21],
    ...                   "se": [0.01, 0.01], "higher_is_better": [False, False],
    ...                   "suppressed": [False, False]})
    >>> out = compare_with_references(t, load_references(), instrument="ungdata", year=2025)
    >>> list(out["ref_class"])
    ['worse', 'same']
    """
    picked = pick_references(refs, instrument, year, population=population, max_age=max_age)
    by = picked.set_index("indicator")
    rows = []
    for r in table.itertuples():
        out = {"indicator": r.indicator, "ref_class": None}
        if r.indicator in by.index:
            ref = by.loc[r.indicator]
            se_r = reference_se(ref)
            out.update(ref_estimate=float(ref["estimate"]), ref_se=se_r,
                       ref_year=int(ref["year"]), ref_population=ref["population"],
                       ref_level=ref["level"], ref_source=ref["source"], ref_url=ref["url"],
                       ref_note_nb=ref["note_nb"], ref_note_en=ref["note_en"])
            hidden = bool(r.suppressed) or not np.isfinite(r.estimate)
            if not hidden:
                diff = float(r.estimate) - float(ref["estimate"])
                half = _Z * math.sqrt(float(r.se) ** 2 + se_r**2)
                out.update(ref_diff=diff, ref_diff_ci_low=diff - half,
                           ref_diff_ci_high=diff + half)
                if diff - half > 0 or diff + half < 0:
                    higher = diff > 0
                    out["ref_class"] = "better" if higher == bool(r.higher_is_better) else "worse"
                else:
                    out["ref_class"] = "same"
        rows.append(out)
    cols = ["indicator", "ref_estimate", "ref_se", "ref_year", "ref_population", "ref_level",
            "ref_source", "ref_url", "ref_note_nb", "ref_note_en", "ref_diff",
            "ref_diff_ci_low", "ref_diff_ci_high", "ref_class"]
    return pd.DataFrame(rows).reindex(columns=cols)
