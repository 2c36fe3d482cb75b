"""Read survey exports (SPSS ``.sav``, Norwegian CSV, Excel, Parquet) and write tidy data.

:func:`read_survey` returns a :class:`SurveyFile`: the raw frame (codes as exported), the
provenance (path, sha256, rows, columns, the reader settings that were used or detected) and
the SPSS metadata (variable labels, value labels, user-defined missing values).

CSV detection (each can be forced by keyword):

* encoding: a UTF-8 byte-order mark -> ``utf-8-sig``; else strict UTF-8 if it decodes;
  else ``cp1252`` (Windows Norwegian: æ ø å as single bytes);
* delimiter: the most frequent of ``;``, ``,``, tab and ``|`` in the header line;
* decimal mark: ``,`` when the delimiter is not ``,`` and the first 64 KiB hold more
  ``1,5``-like than ``1.5``-like numbers (default ``,`` for ``;`` files), else ``.``.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "w.csv").write_bytes("skole;vekt\\nÅsen;1,5\\n".encode("cp1252"))
>>> sf = read_survey(d / "w.csv")
>>> sf.data["skole"][0], float(sf.data["vekt"][0]), sf.provenance["reader"]["encoding"]
('Åsen', 1.5, 'cp1252')
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io as _io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ssp_research.core.errors import DataError

__all__ = ["SurveyFile", "read_survey", "source_label", "file_sha256", "FORMATS"]

FORMATS = {".sav": "spss", ".zsav": "spss", ".por": "spss", ".csv": "csv", ".txt": "csv",
           ".xlsx": "excel",
           ".xlsm": "excel", ".parquet": "parquet", ".pq": "parquet"}
_DELIMS = (";", ",", "\t", "|")


@dataclass
class SurveyFile:
    """A raw survey export as read: ``data``, ``provenance`` and ``meta``.

    ``provenance``: ``path`` (absolute), ``sha256`` (of the file's bytes), ``rows``,
    ``columns`` (number), ``column_names``, ``format`` and ``reader`` (the settings used).
    ``meta``: ``variable_labels`` {column: label}, ``value_labels`` {column: {code: label}},
    ``user_missing`` {column: [codes, or (low, high) ranges]}, ``file_label``; empty dicts
    for formats without metadata.
    """

    data: pd.DataFrame
    provenance: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB chunks).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes(b"a;b\\n")
    >>> file_sha256(p) == hashlib.sha256(b"a;b\\n").hexdigest()
    True
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fail(path: Path | str | None, message: str, rule: str, hint: str,
          err: Exception | None = None):
    raise DataError(message, file=path, rule=rule, hint=hint) from err


def _decode(path: Path, raw: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as err:
            _fail(path, f"cannot decode as {encoding}: {err}", f"encoding {encoding}",
                  "give the right encoding=, or leave it out to detect it", err)
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"undecodable bytes at byte {err.start}: neither UTF-8 nor cp1252", file=path,
            row=line, rule="text encodings UTF-8, UTF-8 with BOM, cp1252",
            hint="re-export as UTF-8 CSV, or pass encoding= if you know it") from err
    if "\x00" in text:
        _fail(path, "the file has NUL bytes: it is binary, not a CSV text export",
              "CSV is text", "export the survey as CSV, .sav, .xlsx or .parquet")
    return text, "cp1252"


def _duplicated_header(path: Path, names: list[str], row: int, where: str = "") -> None:
    """A DataError naming the repeated column names of a header, with their positions."""
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        if name.strip():
            seen.setdefault(name.strip(), []).append(i)
    dup = {n: pos for n, pos in seen.items() if len(pos) > 1}
    if dup:
        first = next(iter(dup))
        which = "; ".join(f"{n!r} in columns {', '.join(map(str, pos))}" for n, pos in dup.items())
        raise DataError(f"duplicated column header{'s' if len(dup) > 1 else ''}{where}: {which}",
                        file=path, row=row, column=first, rule="each column name once",
                        hint=("if this is not the row of the column names, give it: "
                              "header_row=N (ssp: --header-row N); else " if where else "")
                        + "rename or remove the repeated column(s) in the export: which copy "
                          "holds the answers cannot be told from the file")


def _read_csv(path: Path, raw: bytes, *, encoding=None, delimiter=None, decimal=None,
              header_row: int | None = None, **kw):
    text, enc = _decode(path, raw, encoding)
    skip = 0 if header_row is None else int(header_row) - 1
    if skip < 0:
        _fail(path, f"header_row {header_row} is not a line number", "header_row >= 1",
              "give the line of the column names, counting the first line as 1")
    lines = text.split("\n", skip + 1)
    if len(lines) <= skip:
        _fail(path, f"header_row {header_row}: the file has only {len(lines)} line(s)",
              "header_row within the file", "give the line of the column names")
    text = lines[-1] if skip else text
    header = text.split("\n", 1)[0]
    if delimiter is None:
        counts = {d: header.count(d) for d in _DELIMS}
        delimiter = max(counts, key=counts.get)
        if counts[delimiter] == 0:
            _fail(path, "one column only: no ';', ',' or tab in the header line",
                  "a survey export has several columns",
                  "check that this is the survey export; or pass delimiter=")
    if decimal is None:  # Norwegian ';' files use a decimal comma, unless the numbers say not
        sample = text[:65536]
        comma = len(re.findall(r"\d,\d", sample)) if delimiter != "," else 0
        point = len(re.findall(r"\d\.\d", sample))
        decimal = "," if delimiter != "," and (comma > point or (comma == point == 0
                                                                 and delimiter == ";")) else "."
    if kw.get("header", "infer") == "infer" and "names" not in kw:
        names = next(csv.reader(_io.StringIO(header.rstrip("\r")), delimiter=delimiter), [])
        _duplicated_header(path, names, skip + 1)
    try:
        df = pd.read_csv(_io.StringIO(text), sep=delimiter, decimal=decimal, **kw)
    except (pd.errors.ParserError, ValueError) as err:
        _fail(path, f"not a readable CSV: {err}", f"CSV with delimiter {delimiter!r}",
              "check the delimiter and quoting, or re-export the file", err)
    settings = {"encoding": enc, "delimiter": delimiter, "decimal": decimal, **kw}
    if header_row is not None:
        settings["header_row"] = int(header_row)
    return df, settings, {}


def _read_spss(path: Path, *, user_missing: bool = True, encoding=None, **kw):
    import pyreadstat

    por = path.suffix.lower() == ".por"
    try:
        if por:  # SPSS portable files have no user-missing definitions to keep
            df, meta = pyreadstat.read_por(path, **({"encoding": encoding} if encoding else {}),
                                           **kw)
        else:
            df, meta = pyreadstat.read_sav(path, user_missing=user_missing, encoding=encoding,
                                           **kw)
    except Exception as err:  # pyreadstat raises its own ReadstatError / PyreadstatError
        _fail(path, f"not a readable SPSS file: {err}",
              "SPSS portable .por format" if por else "SPSS .sav/.zsav format",
              "re-save it from SPSS, or export as CSV", err)
    missing: dict[str, list] = {}
    for col, ranges in (meta.missing_ranges or {}).items():
        missing[col] = [r["lo"] if r["lo"] == r["hi"] else (r["lo"], r["hi"]) for r in ranges]
    for col, codes in (getattr(meta, "missing_user_values", None) or {}).items():
        missing.setdefault(col, [])
        missing[col] += [c for c in codes if c not in missing[col]]
    info = {
        "variable_labels": {k: v for k, v in meta.column_names_to_labels.items() if v},
        "value_labels": {c: meta.value_labels[lab]
                         for c, lab in meta.variable_to_label.items()},
        "user_missing": missing,
        "file_label": meta.file_label,
        "file_encoding": meta.file_encoding,
        "formats": dict(meta.original_variable_types or {}),
        "multi_response": dict(getattr(meta, "mr_sets", None) or {}),
    }
    settings = {"encoding": meta.file_encoding, **kw}
    if not por:
        settings["user_missing"] = user_missing
    return df, settings, info


_HEADER_SCAN = 30  # rows searched for the header of a sheet


def _is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _header_row(rows: list[list]) -> tuple[int, bool]:
    """(0-based index of the column-name row, found): the first of the top rows whose filled
    cells are all text, all different, and fill most of the widest row.

    A title row (one cell, or one merged cell repeated over the width) and the group rows of
    a merged header ("Bakgrunn" over three columns) fail the "all different" test.
    """
    top = rows[:_HEADER_SCAN]
    width = max((sum(not _is_blank(v) for v in r) for r in top), default=0)
    for i, r in enumerate(top):
        vals = [str(v).strip() for v in r if not _is_blank(v)]
        if (len(vals) >= max(2, 0.6 * width) and all(isinstance(v, str) for v in r
                                                     if not _is_blank(v))
                and len(set(vals)) == len(vals) and i + 1 < len(rows)):
            return i, True
    return 0, False


def _read_excel(path: Path, *, sheet: str | int | None = None, header_row: int | None = None,
                sheet_name: str | int | None = None, **kw):
    import openpyxl

    if kw:
        _fail(path, f"unknown Excel reader setting(s) {sorted(kw)}", "sheet=, header_row=",
              "read an Excel export with sheet= (name or 0-based number) and header_row= "
              "(the row of the column names as Excel numbers it)")
    sheet = sheet_name if sheet is None else sheet
    try:  # not read_only: merged cells are only known in a fully loaded sheet
        wb = openpyxl.load_workbook(path, data_only=True)
    except Exception as err:  # zipfile.BadZipFile, KeyError, ValueError ...
        _fail(path, f"not a readable Excel workbook: {err}", ".xlsx (Office Open XML)",
              "open and re-save it in Excel as .xlsx, or export as CSV", err)
    names = wb.sheetnames
    if sheet is None:  # the first sheet with more than one filled row
        name = next((n for n in names if wb[n].max_row > 1), names[0])
    elif isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(names):
            _fail(path, f"no sheet number {sheet}: the workbook has {len(names)} sheet(s) "
                  f"{names}", "sheet= a name or a 0-based number",
                  f"give one of {names} (or 0..{len(names) - 1})")
        name = names[sheet]
    elif str(sheet) in names:
        name = str(sheet)
    else:
        close = difflib.get_close_matches(str(sheet), names, 1)
        _fail(path, f"no sheet named {str(sheet)!r}; the sheets are {names}",
              "sheet= a sheet of the workbook",
              (f"did you mean {close[0]!r}? " if close else "") + f"give one of {names}")
    ws = wb[name]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    where = f" in sheet {name!r}"
    if not rows:
        _fail(path, f"sheet {name!r} is empty", "a sheet with a header and rows",
              f"choose the sheet with the data: sheet= one of {names}")
    ncol = max(len(r) for r in rows)
    rows = [r + [None] * (ncol - len(r)) for r in rows]
    top = min(len(rows), _HEADER_SCAN if header_row is None else int(header_row))
    for rng in ws.merged_cells.ranges:  # a merged header cell names every column under it
        if rng.min_row > top:
            continue
        v = rows[rng.min_row - 1][rng.min_col - 1]
        for r in range(rng.min_row, min(rng.max_row, top) + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                rows[r - 1][c - 1] = v
    if header_row is None:
        h, found = _header_row(rows)
    else:
        h, found = int(header_row) - 1, True
        if not 0 <= h < len(rows):
            _fail(path, f"header_row {header_row} is outside sheet {name!r} (rows 1-{len(rows)})",
                  "header_row >= 1, the row of the column names as Excel numbers it",
                  "give the row number Excel shows to the left of the column names")
    names_row = [f"Unnamed: {j}" if _is_blank(v) else str(v).strip()
                 for j, v in enumerate(rows[h])]
    _duplicated_header(path, names_row, h + 1, where)
    body = rows[h + 1:]
    filled = [r for r in body if not all(_is_blank(v) for v in r)]
    df = pd.DataFrame.from_records(filled, columns=names_row) if filled else \
        pd.DataFrame(columns=names_row)
    settings: dict[str, Any] = {"sheet": name, "header_row": h + 1,
                                "header_detected": header_row is None and found}
    if h:
        settings["rows_above_header"] = [" | ".join(dict.fromkeys(
            str(v) for v in r if not _is_blank(v))) for r in rows[:h]]
    if len(body) > len(filled):
        settings["empty_rows_skipped"] = len(body) - len(filled)
    return df, settings, {}


def _read_parquet(path: Path, *, columns=None, **kw):
    import pyarrow.parquet as pq

    try:  # split_blocks: one block per column, no consolidation copy (fast, half the memory)
        table = pq.read_table(path, columns=columns, **kw)
        df = table.to_pandas(split_blocks=True, self_destruct=True)
        del table
    except Exception as err:  # pyarrow.ArrowInvalid, OSError ...
        _fail(path, f"not a readable Parquet file: {err}", "Apache Parquet",
              "regenerate the file, or export as CSV", err)
    return df, {"columns": columns, **kw}, {}


def source_label(provenance: dict[str, Any] | None) -> str | None:
    """How messages name a source: its path, and the sheet of an Excel workbook.

    Examples
    --------
    >>> source_label({"path": "/d/elever.xlsx", "reader": {"sheet": "Data"}})
    "/d/elever.xlsx, sheet 'Data'"
    >>> source_label({"path": "w.csv"}), source_label(None)
    ('w.csv', None)
    """
    if not provenance or provenance.get("path") is None:
        return None
    sheet = (provenance.get("reader") or {}).get("sheet")
    return str(provenance["path"]) + (f", sheet {sheet!r}" if sheet is not None else "")


def read_survey(path: str | Path, *, format: str | None = None, sheet: str | int | None = None,
                header_row: int | None = None, **kwargs: Any) -> SurveyFile:
    """Read a survey export and record where it came from.

    Parameters
    ----------
    path : str or Path
        ``.sav``/``.zsav``/``.por`` (SPSS), ``.csv``/``.txt``, ``.xlsx``, ``.parquet``.
    format : {"spss", "csv", "excel", "parquet"}, optional
        Override the format guessed from the suffix.
    sheet : str or int, optional
        Excel: the sheet (name, or 0-based number); default the first sheet with data.
        The sheet read is recorded in ``provenance["reader"]["sheet"]`` and named in messages.
    header_row : int, optional
        Excel and CSV: the row of the column names, counted from 1 as Excel and text editors
        show it. Default for Excel: detected, skipping title rows and the group rows of a
        merged header (the first row whose filled cells are all text, all different, and
        span most of the sheet; merged cells name every column under them); for CSV: 1.
    **kwargs
        Reader settings. CSV: ``encoding``, ``delimiter``, ``decimal`` (detected when left
        out) and any ``pandas.read_csv`` keyword. SPSS: ``user_missing`` (default True: user
        missing codes such as 98/99 are kept as values and listed in ``meta``, so that
        cleaning can count them; not for ``.por``), ``encoding``. Parquet: ``columns``.

    Returns
    -------
    SurveyFile
        ``data`` (codes as exported), ``provenance`` (``path``, ``sha256``, ``rows``,
        ``columns``, ``column_names``, ``format``, ``reader``) and ``meta``.

    Raises
    ------
    DataError
        A missing or empty file, an unknown suffix, an undecodable or unreadable file, a text
        or Excel file with no rows or one column only, a duplicated column name, an unknown
        sheet; the message names the file (and sheet), the row and what to do.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text("id,kjønn\\n1,2\\n", encoding="utf-8-sig")
    >>> sf = read_survey(p)
    >>> sf.provenance["rows"], sf.provenance["columns"], sf.provenance["reader"]["encoding"]
    (1, 2, 'utf-8-sig')
    """
    p = Path(path).expanduser().resolve()
    if not p.is_file():
        _fail(p, "file not found", "an existing file", "check the path (and the working folder)")
    fmt = format or FORMATS.get(p.suffix.lower())
    if fmt not in ("spss", "csv", "excel", "parquet"):
        _fail(p, f"unknown file type {p.suffix!r}", f"one of {sorted(FORMATS)}",
              "export the survey as .sav, .csv, .xlsx or .parquet, or pass format=")
    if p.stat().st_size == 0:
        _fail(p, "the file is empty (0 bytes)", "a non-empty export",
              "export the survey again; the transfer may have failed")
    if (sheet is not None and fmt != "excel") or (header_row is not None
                                                    and fmt not in ("excel", "csv")):
        _fail(p, f"sheet=/header_row= given for a {fmt} file", "sheet: Excel; header_row: "
              "Excel or CSV", "leave them out for this file")
    digest = file_sha256(p)
    if fmt == "csv":
        df, settings, meta = _read_csv(p, p.read_bytes(), header_row=header_row, **kwargs)
    elif fmt == "spss":
        df, settings, meta = _read_spss(p, **kwargs)
    elif fmt == "excel":
        df, settings, meta = _read_excel(p, sheet=sheet, header_row=header_row, **kwargs)
    else:
        df, settings, meta = _read_parquet(p, **kwargs)
    label = source_label({"path": str(p), "reader": settings})
    if df.shape[1] < 2 and fmt in ("csv", "excel"):  # SPSS and Parquet files know their columns
        _fail(label, f"{df.shape[1]} column(s): this does not look like a survey export",
              "a survey export has several columns", "check that this is the right file"
              + (", sheet= and header_row=" if fmt == "excel" else ""))
    if len(df) == 0:
        _fail(label, "no data rows (a header only)", "at least one respondent",
              "export the survey again with its data")
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed:")]
    if unnamed and fmt in ("csv", "excel"):
        df = df.drop(columns=[c for c in unnamed if df[c].isna().all()])
    prov = {"path": str(p), "sha256": digest, "rows": int(len(df)), "columns": int(df.shape[1]),
            "column_names": [str(c) for c in df.columns], "format": fmt, "reader": settings}
    return SurveyFile(df, prov, meta)
