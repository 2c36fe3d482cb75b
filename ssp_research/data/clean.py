"""Clean a raw survey export with its codebook: one vectorised pass, every change logged.

:func:`apply` turns a raw frame (codes as exported) into tidy data (see
``docs/codebook_format.md``) and a cleaning log, in this order:

1. role columns absent under the codebook's name found under a Norwegian name (``År`` for
   ``wave``, :mod:`ssp_research.data.roles`); wave harmonisation: renamed items
   (``renames``) are moved to their current name;
2. duplicates only by respondent id: an exact copy of an earlier row with the same id is
   dropped (first copy kept, ``flag_duplicate``); rows sharing an id with other answers, and
   identical rows without an id, are kept and flagged, and the log names their rows;
3. role columns, named by their role in the tidy data (``aar`` -> ``wave``):
   ``wave``/``grade``/``birth_year`` as integers (``8. trinn`` -> 8), group recodes (gender
   1/2 or Gutt/Jente -> ``"boy"``/``"girl"``), ids pseudonymised with HMAC-SHA256 (key from
   ``$SSP_PSEUDONYM_KEY``);
4. items: wave recodes (``recodes``), missing codes -> NaN, codes outside the codebook -> NaN
   (or a :class:`~ssp_research.core.errors.DataError` when the codebook is ``strict``);
5. quality flags on the answers as given: ``flag_straightlining`` (all items of a battery
   answered identically), ``flag_age_grade`` (age at the survey not grade + offset);
6. reverse scoring, scale scores (minimum-answered rule), indicators ``ind_<name>``.

The log is a table with columns ``rule, column, rows, detail`` (``rows`` = rows affected).

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"respondent_id": ["a", "b", "c"], "wave": [2025] * 3,
...     "school": ["Ås"] * 3, "grade": [8, 9, 10], "gender": [1, 2, 2],
...     "lonely": [1, 4, 98]})
>>> res = apply(raw, "ungdata", key=b"demo", require_items=False)
>>> res.data[["gender", "lonely", "ind_lonely"]].to_dict("list")
{'gender': ['boy', 'girl', 'girl'], 'lonely': [1.0, 4.0, nan], 'ind_lonely': [0.0, 1.0, nan]}
>>> res.log.query("rule == 'missing_code'")[["column", "rows", "detail"]].values.tolist()
[['lonely', 1, "code 98: Vet ikke / don't know"]]
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ssp_research.core.atomic import atomic_write, write_atomic
from ssp_research.core.errors import DataError, plain
from ssp_research.core.paths import PSEUDONYM_KEY_ENV, pseudonym_key
from ssp_research.data import roles as _roles
from ssp_research.data.codebook import Codebook, load_codebook
from ssp_research.data.io import source_label
from ssp_research.data.quality import (
    age_grade_inconsistent,
    describe_rows,
    duplicates_by_id,
    straightlining,
)

__all__ = ["CleanResult", "apply", "write_clean", "pseudonymise_ids", "LOG_COLUMNS"]

LOG_COLUMNS = ["rule", "column", "rows", "detail"]
_INT_ROLES = ("wave", "grade", "birth_year")
_STR_ROLES = ("municipality", "district", "school", "class", "strata", "psu")
_REQUIRED_ROLES = ("respondent_id", "wave", "school", "grade", "gender")
_FLAGS = ("flag_straightlining", "flag_age_grade", "flag_duplicate")


@dataclass
class CleanResult:
    """Tidy data plus the cleaning log (and what produced them)."""

    data: pd.DataFrame
    log: pd.DataFrame
    codebook: Codebook
    source: dict[str, Any] = field(default_factory=dict)
    rows_in: int = 0
    pseudonymised: bool = True

    def count(self, rule: str, column: str | None = None) -> int:
        """Rows affected by ``rule`` (on ``column``), summed over the log."""
        sel = self.log["rule"] == rule
        if column is not None:
            sel &= self.log["column"] == column
        return int(self.log.loc[sel, "rows"].sum())

    def labelled(self, lang: str = "nb") -> pd.DataFrame:
        """The data with items and groups as (ordered) Categoricals of their labels.

        Ordinal items become ordered Categoricals in code order; a reverse-scored item's
        categories follow its stored (reversed) values. Group columns (gender) get their
        labels. Scales, indicators and flags are unchanged.

        Examples
        --------
        >>> raw = pd.DataFrame({"respondent_id": ["a", "b"], "wave": [2025, 2025],
        ...     "school": ["Ås", "Ås"], "grade": [8, 9], "gender": [1, 2], "lonely": [1, 3]})
        >>> lab = apply(raw, "ungdata", key=b"k", require_items=False).labelled("en")
        >>> lab["lonely"].tolist(), lab["gender"].tolist(), lab["lonely"].cat.ordered
        (['Not bothered at all', 'Quite bothered'], ['Boy', 'Girl'], True)
        """
        cb, out = self.codebook, self.data.copy()
        for name, item in cb.items.items():
            if name not in out or not item.codes:
                continue
            lo, hi = item.code_span
            codes = sorted(item.codes)
            stored = [lo + hi - c for c in codes] if item.reverse else codes
            order = np.argsort(stored)
            values = np.asarray(stored, dtype="float64")[order]
            labels = [item.codes[codes[i]].get(lang, str(codes[i])) for i in order]
            if len(set(labels)) < len(labels):
                labels = [f"{lab} ({codes[i]})" for lab, i in zip(labels, order)]
            x = out[name].to_numpy(dtype="float64")
            pos = np.searchsorted(values, x)
            pos = np.where(np.isnan(x) | (pos >= len(values)), -1, pos)
            ok = pos >= 0
            ok[ok] = values[pos[ok]] == x[ok]
            out[name] = pd.Categorical.from_codes(np.where(ok, pos, -1), categories=labels,
                                                  ordered=item.type == "ordinal")
        for role, spec in cb.groups.items():
            col = role if role in out else cb.columns.get(role)
            labels = spec.get("labels") or {}
            if col in out and labels:
                cats = list(dict.fromkeys(str(v) for v in spec["codes"].values()))
                names = [_lab(labels.get(c), c, lang) for c in cats]
                codes = pd.Categorical(out[col], categories=cats).codes
                out[col] = pd.Categorical.from_codes(codes, categories=names)
        return out


def _lab(label: Any, fallback: str, lang: str) -> str:
    if isinstance(label, dict):
        return str(label.get(lang) or label.get("nb") or fallback)
    return str(label) if label is not None else fallback


def pseudonymise_ids(ids: Any, key: bytes) -> np.ndarray:
    """Keyed hash of respondent ids: ``HMAC-SHA256(key, str(id))`` as 64 hex characters.

    Notes
    -----
    Without the key the ids cannot be recomputed from the hashes, and the same id always
    gives the same pseudonym, so waves and files can be linked. Missing ids stay missing.

    Examples
    --------
    >>> import hashlib, hmac
    >>> h = pseudonymise_ids(["T2025-000001", None], b"k")
    >>> h[0][:12], h[0] == hmac.new(b"k", b"T2025-000001", hashlib.sha256).hexdigest(), h[1]
    ('af256d939408', True, None)
    """
    if not key:
        raise DataError("empty pseudonymisation key", rule="keyed hash of ids",
                        hint=f"set {PSEUDONYM_KEY_ENV} to a long random secret")
    s = pd.Series(ids, dtype="object")
    miss = s.isna().to_numpy()
    # RFC 2104 with the two padded-key states computed once (same result as hmac.digest,
    # about twice as fast for short ids: two SHA-256 blocks per id instead of four)
    k = hashlib.sha256(key).digest() if len(key) > 64 else key
    k = k.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in k)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in k)).copy
    out = np.empty(len(s), dtype=object)
    res = []
    add = res.append
    for v in s[~miss].astype("str").tolist():
        h = inner()
        h.update(v.encode("utf-8"))
        o = outer()
        o.update(h.digest())
        add(o.hexdigest())
    out[~miss] = res
    out[miss] = None
    return out


class _Log:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, str]] = []

    def add(self, rule: str, column: str, n: int, detail: str = "") -> None:
        if n:
            self.rows.append((rule, column, int(n), detail))

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=LOG_COLUMNS)
        return df.astype({"rows": "int64"})


def _to_float(s: pd.Series, name: str, log: _Log, keep=None, out=None) -> np.ndarray:
    """The column as float64 (rows ``keep``), written into ``out`` when given."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        a = s.to_numpy(dtype="float64", na_value=np.nan)
    else:
        t = s.astype("str").str.strip().str.replace(",", ".", regex=False)
        a = pd.to_numeric(t.where(s.notna()), errors="coerce").to_numpy(dtype="float64")
        bad = s.notna().to_numpy() & np.isnan(a) & (t != "").to_numpy()
        if keep is not None:
            bad[np.setdiff1d(np.arange(len(bad)), keep)] = False
        if bad.any():
            log.add("non_numeric", name, bad.sum(), _examples(s, bad) + " -> NaN")
    if out is None:
        return a[keep] if keep is not None else a.copy()
    if keep is None:
        out[:] = a
    else:
        np.take(a, keep, out=out, mode="clip")
    return out


def _examples(s: pd.Series, bad: np.ndarray, show: int = 3) -> str:
    """``2 value(s) not numbers: 'x' (data row 6), 'n/a' (data rows 7, 9)`` for the log;
    the rows are the export's (``s`` keeps the export's row numbers in its index)."""
    pos = np.flatnonzero(bad)
    vals = s.iloc[pos]
    rows = np.asarray(s.index[pos])
    parts = []
    for v, _n in vals.value_counts().head(show).items():
        parts.append(f"{plain(v)} ({describe_rows(rows[(vals == v).to_numpy()], 3)})")
    kinds = vals.nunique()
    more = f"; {kinds - show} other value(s)" if kinds > show else ""
    return f"{int(bad.sum())} value(s) not numbers: " + ", ".join(parts) + more


def _bad_codes(x: np.ndarray, item) -> np.ndarray:
    ok = np.isnan(x)
    if item.codes:
        ok |= np.isin(x, item.valid_codes)
    elif item.range is not None:
        ok |= (x >= item.range[0]) & (x <= item.range[1])
    else:
        return np.zeros(len(x), dtype=bool)
    return ~ok


def _describe(values: np.ndarray) -> str:
    u, n = np.unique(values, return_counts=True)
    top = sorted(zip(n.tolist(), u.tolist()), reverse=True)[:6]
    return "values " + ", ".join(f"{v:g} (x{c})" for c, v in top)


def _int_col(s: pd.Series, name: str, role: str, log: _Log) -> pd.Series:
    """An integer role column; grades written ``8. trinn`` read as 8, other text logged."""
    x = pd.to_numeric(s, errors="coerce")
    bad = (s.notna() & x.isna()).to_numpy()
    if bad.any() and role == "grade":
        text = s[bad].astype("str")
        parsed = pd.to_numeric(text.map(_roles.grade_of_label), errors="coerce")
        x[bad] = parsed.to_numpy()
        done = parsed.notna().to_numpy()
        if done.any():
            ex = ", ".join(f"{v!r} -> {_roles.grade_of_label(v)}"
                           for v in text[done].unique()[:3])
            log.add("grade_from_label", name, done.sum(), ex)
        bad = (s.notna() & x.isna()).to_numpy()
    if bad.any():
        log.add("non_numeric", name, bad.sum(), _examples(s, bad) + " -> NA")
    x = x.astype("float64")
    frac = x.notna() & (x != x.round())
    if frac.any():
        log.add("not_whole_number", name, frac.sum(), _examples(s, frac.to_numpy())
                .replace("not numbers", "not whole numbers") + " -> NA")
        x = x.where(~frac)
    return x.astype("int64") if x.notna().all() else x.astype("Int64")


def _group(s: pd.Series, spec: dict, name: str, log: _Log, strict: bool, file) -> pd.Series:
    codes = {float(k): str(v) for k, v in spec["codes"].items()}
    lookup = {v.lower(): v for v in codes.values()}
    if name == "gender" or set(codes.values()) & {"boy", "girl"}:  # Gutt/Jente, Mann/Kvinne
        lookup.update({k: v for k, v in _roles.GENDER_LABELS.items() if v in codes.values()})
    for value, lab in (spec.get("labels") or {}).items():
        for text in (lab.values() if isinstance(lab, dict) else [lab]):
            lookup[str(text).lower()] = str(value)
    num = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    res = np.full(len(s), None, dtype=object)
    for code, value in codes.items():
        res[num == code] = value
    given = s.notna().to_numpy()
    need = given & (res == None)  # noqa: E711 - elementwise on an object array
    if need.any():  # labels or tidy values given as text (e.g. "Jente", "girl")
        res[need] = s[need].astype("str").str.strip().str.lower().map(lookup).to_numpy()
    out = pd.Series(res, dtype="str", index=s.index)
    bad = given & out.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        if strict:
            raise DataError(f"value {plain(s.iloc[first])} is not a code of {name} "
                            f"({int(bad.sum())} such rows)", file=file,
                            row=int(s.index[first]) + 1, column=name,
                            rule=f"codes {spec['codes']}",
                            hint="fix the export, or add the code to groups in the codebook")
        log.add("invalid_code", name, bad.sum(),
                _examples(s, bad).replace("not numbers", "not codes") + " -> NA")
    return out


def _cut(names: list[str], k: int) -> str:
    return ", ".join(names[:k]) + (f" ... ({len(names)} in all)" if len(names) > k else "")


def _find_role_columns(df: pd.DataFrame, cb: Codebook, log: _Log) -> pd.DataFrame:
    """A role column absent under the codebook's name, found under a Norwegian (or English)
    name of :mod:`ssp_research.data.roles` (``År`` for ``wave``): renamed and logged."""
    absent = [r for r, c in cb.columns.items() if c not in df.columns]
    if not absent:
        return df
    taken = set(cb.columns.values()) | set(cb.items) | {r["from"] for r in cb.renames}
    free = [c for c in df.columns if c not in taken]
    found = _roles.find_role_columns(free, absent)
    if not found:
        return df
    for role, col in found.items():
        log.add("role_column_found", cb.columns[role], len(df),
                f"{col!r} read as the {role} column {cb.columns[role]!r} (a Norwegian name of "
                f"the role, see docs/norwegian_columns.md)")
    return df.rename(columns={col: cb.columns[role] for role, col in found.items()})


def _tidy_names(df: pd.DataFrame, cb: Codebook, log: _Log) -> dict[str, str]:
    """The tidy data's name of each role column: its role (``aar`` -> ``wave``), unless an
    export column that is not a role already has that name (then the export's name stays)."""
    out = {}
    role_cols = set(cb.columns.values())
    for role, col in cb.columns.items():
        if col not in df.columns:
            continue
        if role != col and role in df.columns and role not in role_cols:
            out[col] = col
            log.add("role_name_taken", col, len(df),
                    f"kept as {col!r}: the export has another column named {role!r}")
        else:
            out[col] = role
            if role != col:
                log.add("role_renamed", role, len(df), f"{col} -> {role} (the tidy name of the "
                        "role)")
    return out


def _date_col(s: pd.Series, name: str, log: _Log) -> pd.Series:
    """A date item as datetime64; values that are not dates -> NaT, logged with their rows."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    out = pd.to_datetime(s, errors="coerce", format="mixed")
    bad = (s.notna() & out.isna()).to_numpy()
    if bad.any():
        log.add("not_a_date", name, bad.sum(),
                _examples(s, bad).replace("not numbers", "not dates") + " -> NaT")
    return out


def _harmonise_names(df: pd.DataFrame, cb: Codebook, log: _Log) -> pd.DataFrame:
    wave = cb.columns.get("wave")
    for r in cb.renames:
        old, new, until = str(r["from"]), str(r["to"]), r.get("until_wave")
        if old not in df:
            continue
        src = df[old]
        if until is not None and wave in df:
            src = src.where(pd.to_numeric(df[wave], errors="coerce") <= int(until))
        if new in df:
            moved = df[new].isna() & src.notna()
            df[new] = df[new].where(~moved, src)
        else:
            moved = src.notna()
            df[new] = src
        df = df.drop(columns=[old])
        log.add("rename", new, int(moved.sum()), f"{old} -> {new} (until wave {until})")
    return df


def apply(
    raw: Any,
    codebook: str | Path | Codebook,
    *,
    source: Any = None,
    key: bytes | None = None,
    pseudonymise: bool = True,
    strict: bool | None = None,
    require_items: bool = True,
    wave: int | None = None,
) -> CleanResult:
    """Clean a raw export with a codebook.

    Parameters
    ----------
    raw : DataFrame or SurveyFile
        Codes as exported (from :func:`ssp_research.data.io.read_survey`).
    codebook : str, Path or Codebook
        Built-in name (``"ungdata"``), YAML path, or a loaded codebook.
    source : dict or str, optional
        Provenance (default: the SurveyFile's); its ``path`` is named in errors.
    key : bytes, optional
        Pseudonymisation key; default ``$SSP_PSEUDONYM_KEY``.
    pseudonymise : bool
        False keeps ids in the clear in memory; :func:`write_clean` then refuses to write.
    strict : bool, optional
        Override the codebook's ``strict`` (codes outside the codebook raise).
    require_items : bool
        A codebook item absent from the data is an error (default); False skips it.
    wave : int, optional
        The survey year of a one-wave export without a wave column (logged as
        ``wave_assigned``); ignored when the column exists.

    Returns
    -------
    CleanResult
        ``data``: role columns, other columns passed through, items (float64, NaN missing,
        reversed items stored reversed), scales (float64), indicators ``ind_<name>``
        (0.0/1.0/NaN), flags ``flag_straightlining``, ``flag_age_grade``,
        ``flag_duplicate`` (bool). Role columns are named by their role. ``log``:
        ``rule, column, rows, detail``; the detail of a row-level rule names data rows
        (1-based, the export's first respondent is row 1) and a few example values.

    Raises
    ------
    DataError
        Empty data, no codebook columns at all (not this survey), missing required columns,
        codes outside the codebook in strict mode, ids present but no key.

    Notes
    -----
    Scale score with items :math:`x_1..x_k` and :math:`a` answered: mean
    :math:`\\bar x = \\sum x_j / a` if :math:`a \\ge` ``min_answered`` else NaN; ``sum`` is
    prorated, :math:`k \\bar x`. Reverse scoring: :math:`x' = \\min + \\max - x` over the
    item's codes. Straight-lining: at least ``min_items`` of a battery answered, all equal.
    Age/grade: :math:`|(\\text{wave} - \\text{birth\\_year}) - (\\text{offset} + \\text{grade}
    - 8)| > \\text{tolerance}` with ``grade_age_offset`` the usual age in grade 8.

    Examples
    --------
    >>> raw = pd.DataFrame({"respondent_id": ["a", "b", "b"], "wave": [2025] * 3,
    ...     "school": ["Ås"] * 3, "grade": [8, 9, 9], "gender": [1, 2, 2],
    ...     "bullied": [4, 7, 7]})
    >>> res = apply(raw, "ungdata", key=b"k", require_items=False)
    >>> res.data[["bullied", "ind_bullied", "flag_duplicate"]].values.tolist()
    [[4.0, 1.0, False], [nan, nan, True]]
    >>> res.count("invalid_code", "bullied"), res.count("duplicate_removed")
    (1, 1)
    """
    cb = load_codebook(codebook)
    if hasattr(raw, "data") and hasattr(raw, "provenance"):
        source = source if source is not None else raw.provenance
        raw = raw.data
    source = {"path": str(source)} if isinstance(source, (str, Path)) else dict(source or {})
    file = source_label(source)
    strict = cb.strict if strict is None else strict
    if not isinstance(raw, pd.DataFrame) or raw.empty:
        raise DataError("no data: the frame has no rows", file=file, rule="at least one row",
                        hint="check the export; read it with ssp_research.data.io.read_survey")
    log = _Log()
    df = raw.reset_index(drop=True)  # CoW: no data copied
    df = _find_role_columns(df, cb, log)
    wcol = cb.columns.get("wave")
    if wave is not None and wcol and wcol not in df:
        df[wcol] = int(wave)
        log.add("wave_assigned", wcol, len(df), f"no wave column in the export: set to {wave}")
    df = _harmonise_names(df, cb, log)
    known = set(cb.items) | set(cb.columns.values())
    if not known & set(df.columns):
        cols = [str(c) for c in df.columns]
        header = sum(c.startswith("Unnamed:") for c in cols) >= max(1, len(cols) // 3)
        raise DataError(
            f"none of the {cb.instrument} codebook's columns are in the data", file=file,
            rule=f"a {cb.instrument} export",
            hint=("the column names were not found on the header row: give the row of the "
                  "column names (--header-row N, read_survey(header_row=N)) or the sheet "
                  "(--sheet NAME); " if header else "")
            + f"check the file, or choose another codebook; data columns: {_cut(cols, 8)}; "
              f"codebook columns: {_cut(sorted(known), 8)}")
    need = [cb.columns[r] for r in _REQUIRED_ROLES if r in cb.columns]
    need += [n for n, it in cb.items.items() if it.required and require_items]
    missing = [c for c in need if c not in df.columns]
    if missing:
        have = [str(c) for c in df.columns if c not in known]
        close = {m: difflib.get_close_matches(str(m), have, 1, 0.6) for m in missing}
        means = "; ".join(f"did you mean {c[0]!r} for {m!r}?" for m, c in close.items() if c)
        raise DataError(f"missing required column(s) {missing}", file=file, column=missing[0],
                        rule=f"columns required by codebook {cb.instrument} {cb.version}",
                        hint=(means + " " if means else "")
                        + "rename the column in the export, add a harmonisation rename, or "
                          "mark the item required: false")
    rows_in = len(df)
    idcol = cb.columns.get("respondent_id")
    later, first_copy, entries = duplicates_by_id(df, idcol if idcol in df else None)
    for entry in entries:
        log.add(*entry)
    keep = np.flatnonzero(~later) if later.any() else None
    first_copy = first_copy if keep is None else first_copy[keep]
    n = rows_in if keep is None else len(keep)

    def take(col: str) -> pd.Series:  # the export's row numbers stay in the index
        return df[col] if keep is None else df[col].iloc[keep]

    out: dict[str, Any] = {}
    hashed = False
    role_of = {col: role for role, col in cb.columns.items()}
    tidy = _tidy_names(df, cb, log)
    derived = set(cb.scales) | {"ind_" + k for k in cb.indicators} | set(_FLAGS)
    for col in df.columns:  # role and other columns keep their order in the export
        if col in cb.items:
            continue
        if col in derived and col not in role_of:  # e.g. cleaning already clean data
            log.add("recomputed", col, n, "column in the input replaced by a fresh computation")
            continue
        s = take(col)
        if col not in role_of:
            out[tidy.get(col, col)] = s.reset_index(drop=True)
            log.add("passed_through", col, n, "column not in the codebook, kept unchanged")
            continue
        role = role_of[col]
        if role == "respondent_id":
            if pseudonymise:
                k = key if key is not None else pseudonym_key()
                if not k:
                    raise DataError(
                        f"respondent ids in {col!r} would be kept in the clear", file=file,
                        column=col, rule="ids are pseudonymised with a keyed hash",
                        hint=f"set the environment variable {PSEUDONYM_KEY_ENV} to the "
                             "project's secret key (never commit it), then run again")
                s = pd.Series(pseudonymise_ids(s, k), dtype="str")
                hashed = True
                log.add("pseudonymised", col, int(s.notna().sum()), "HMAC-SHA256, key from env")
        elif role in cb.groups:
            s = _group(s, cb.groups[role], col, log, strict, file)
            if role in _INT_ROLES:
                s = _int_col(s, col, role, log)
        elif role in _INT_ROLES:
            s = _int_col(s, col, role, log)
        elif role in _STR_ROLES:
            s = s.astype("str")
        elif role == "pilot" and s.notna().all():
            s = s.astype("str").str.lower().isin(["1", "1.0", "true", "ja", "yes"])
        elif role == "weight":
            s = pd.Series(_to_float(df[col], col, log, keep))
        out[tidy[col]] = s.reset_index(drop=True)
    for name, item in cb.items.items():
        if name in df and item.type == "text":
            out[name] = take(name).astype("str").reset_index(drop=True)
        elif name in df and item.type == "date":
            out[name] = _date_col(take(name), name, log).reset_index(drop=True)
    # the wave column's text values are logged once, by _int_col above
    wave = _to_float(df[wcol], wcol, _Log(), keep) if wcol in df else None
    # one float block for items, scales and indicators: columns are filled in place
    nums = [i for i, it in cb.items.items() if i in df and it.type not in ("text", "date")]
    scales = [k for k, sc in cb.scales.items() if all(i in nums for i in sc.items)]
    inds = [k for k, ind in cb.indicators.items() if ind.source in nums + scales]
    names = nums + scales + ["ind_" + k for k in inds]
    block = np.empty((len(names), n))
    at = {c: block[j] for j, c in enumerate(names)}
    for name in nums:
        _clean_item(df[name], cb, cb.items[name], at[name], keep, wave, strict, file, log)
    flag_sl = np.zeros(n, dtype=bool)
    sl = cb.quality.get("straightlining") or {}
    for battery in sl.get("batteries", []):
        cols = [at[i] for i in nums if cb.items[i].battery == battery]
        if not cols:
            continue
        hit = straightlining(cols, min_items=int(sl.get("min_items", len(cols))))
        log.add("straightlining", battery, hit.sum(), f"all {len(cols)} items answered alike")
        flag_sl |= hit
    flag_ag = np.zeros(n, dtype=bool)
    ag = cb.quality.get("age_grade") or {}
    by, gr = ag.get("column", cb.columns.get("birth_year")), tidy.get(cb.columns.get("grade"))
    if ag and by in df and gr in out and wave is not None:
        flag_ag = age_grade_inconsistent(
            wave, _to_float(df[by], by, log, keep), out[gr].to_numpy("float64"),
            grade_age_offset=ag.get("grade_age_offset", 13), tolerance=ag.get("tolerance", 1))
        log.add("age_grade", by, flag_ag.sum(), "age at survey not grade + offset +/- tolerance")
    for name in nums:
        item = cb.items[name]
        if item.reverse:
            lo, hi = item.code_span
            x = at[name]
            np.subtract(lo + hi, x, out=x)
            log.add("reversed", name, n - np.isnan(x).sum(), f"x -> {lo + hi:g} - x")
    for name in scales:
        sc = cb.scales[name]
        total, k = np.zeros(n), np.zeros(n, np.int64)
        for i in sc.items:
            ok = ~np.isnan(at[i])
            np.add(total, at[i], out=total, where=ok)
            k += ok
        score = at[name]
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(total, k, out=score)
        if sc.method == "sum":
            score *= len(sc.items)
        few = k < sc.min_answered
        score[few] = np.nan
        log.add("scale_too_few_answered", name, (few & (k > 0)).sum(),
                f"fewer than {sc.min_answered} of {len(sc.items)} items answered -> NaN")
    for name in inds:
        at["ind_" + name][:] = cb.indicators[name].evaluate(at[cb.indicators[name].source])
    front = pd.DataFrame(out, copy=False)
    flags = pd.DataFrame({"flag_straightlining": flag_sl, "flag_age_grade": flag_ag,
                          "flag_duplicate": first_copy})
    data = pd.concat([front, pd.DataFrame(block.T, columns=names, copy=False), flags], axis=1)
    return CleanResult(data, log.frame(), cb, source, rows_in, pseudonymised=hashed or
                       tidy.get(idcol, idcol) not in data)


def _clean_item(s, cb, item, x, keep, wave, strict, file, log) -> None:
    """Recodes, missing codes and invalid codes of one item, in place in ``x``."""
    name = item.name
    _to_float(s, name, log, keep, out=x)
    for r in cb.recodes:
        if r["item"] != name:
            continue
        sel = np.ones(len(x), bool) if wave is None or not r.get("waves") else np.isin(
            wave, r["waves"])
        hits = [(sel & (x == float(old)), old, new) for old, new in r["map"].items()]
        for hit, old, new in hits:  # masks taken first: {3: 4, 4: 5} does not chain
            x[hit] = float(new)
            log.add("recode", name, hit.sum(), f"{old} -> {new} in waves {r.get('waves')}")
    for m in item.missing:
        hit = x == m
        n_hit = int(hit.sum())
        if n_hit:
            x[hit] = np.nan
            log.add("missing_code", name, n_hit,
                    f"code {m:g}: {cb.missing_codes.get(m, 'missing code')}")
    for lo, hi in item.missing_ranges:
        hit = (x >= lo) & (x <= hi)
        if hit.any():
            x[hit] = np.nan
            log.add("missing_code", name, hit.sum(), f"codes {lo:g} to {hi:g}: missing range")
    bad = _bad_codes(x, item)
    if bad.any():
        if strict:
            i = int(np.flatnonzero(bad)[0])
            row = int(keep[i] if keep is not None else i) + 1  # row of the export
            raise DataError(
                f"value {x[i]:g} is not an allowed code of {name} (data row {row}; "
                f"{int(bad.sum())} such rows)", file=file, row=row, column=name,
                rule=f"strict codebook {cb.instrument}: codes {list(item.codes) or item.range}",
                hint="fix the export, add the code to the codebook, or set strict: false "
                     "to set such codes to NA and log them")
        log.add("invalid_code", name, bad.sum(), _describe(x[bad]) + " -> NaN")
        x[bad] = np.nan


def write_clean(result: CleanResult, out_path: str | Path) -> tuple[Path, Path]:
    """Write tidy data (Parquet) and its log (``<out>.log.json``) atomically.

    Parameters
    ----------
    result : CleanResult
    out_path : str or Path
        The ``.parquet`` file; the log goes beside it with suffix ``.log.json``.

    Returns
    -------
    (Path, Path)
        The data file and the log file.

    Raises
    ------
    DataError
        Respondent ids in the clear (``apply(..., pseudonymise=False)``): nothing is written.

    Notes
    -----
    Each file is written to a temporary name in the target folder and moved into place with
    ``os.replace``, so a reader never sees half a file. The log JSON holds ``codebook``
    (instrument, version, path), ``source`` (the provenance of the export), ``rows_in``,
    ``rows_out``, ``data`` (the file name) and ``log`` (the log table as records).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> raw = pd.DataFrame({"respondent_id": ["a"], "wave": [2025], "school": ["Ås"],
    ...     "grade": [8], "gender": [1], "lonely": [99]})
    >>> res = apply(raw, "ungdata", key=b"k", require_items=False)
    >>> data, log = write_clean(res, pathlib.Path(tempfile.mkdtemp()) / "clean.parquet")
    >>> data.name, log.name, json.loads(log.read_text())["log"][0]["rule"]
    ('clean.parquet', 'clean.log.json', 'pseudonymised')
    """
    out = Path(out_path)
    cb = result.codebook  # a ssp_research.data.clean.CleanResult
    idcol = next((c for c in ("respondent_id", cb.columns.get("respondent_id"))
                  if c is not None and c in result.data), None)
    if not result.pseudonymised and idcol in result.data:
        raise DataError(f"refusing to write respondent ids in the clear (column {idcol!r})",
                        file=out, column=idcol, rule="only pseudonymised ids are written",
                        hint=f"clean with pseudonymise=True and {PSEUDONYM_KEY_ENV} set, or "
                             "drop the id column")
    out.parent.mkdir(parents=True, exist_ok=True)
    log_path = out.with_suffix(".log.json")
    doc = {"codebook": {"instrument": cb.instrument, "version": cb.version, "path": cb.path},
           "source": result.source, "rows_in": result.rows_in, "rows_out": len(result.data),
           "data": out.name, "log": result.log.to_dict("records")}
    text = json.dumps(doc, indent=1, ensure_ascii=False, default=str)
    write_atomic(out, lambda p: result.data.to_parquet(p, index=False))
    atomic_write(log_path, text)
    return out, log_path
