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
import hashlib
import io as _io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ssp_research.core.errors import DataError

__all__ = ["SurveyFile", "read_survey", "file_sha256", "FORMATS"]

FORMATS = {".sav": "spss", ".zsav": "spss", ".csv": "csv", ".txt": "csv", ".xlsx": "excel",
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


def _fail(path: Path, message: str, rule: str, hint: str, err: Exception | None = None):
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


def _read_csv(path: Path, raw: bytes, *, encoding=None, delimiter=None, decimal=None, **kw):
    text, enc = _decode(path, raw, encoding)
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
    try:
        df = pd.read_csv(_io.StringIO(text), sep=delimiter, decimal=decimal, **kw)
    except (pd.errors.ParserError, ValueError) as err:
        _fail(path, f"not a readable CSV: {err}", f"CSV with delimiter {delimiter!r}",
              "check the delimiter and quoting, or re-export the file", err)
    return df, {"encoding": enc, "delimiter": delimiter, "decimal": decimal, **kw}, {}


def _read_spss(path: Path, *, user_missing: bool = True, encoding=None, **kw):
    import pyreadstat

    try:
        df, meta = pyreadstat.read_sav(path, user_missing=user_missing, encoding=encoding, **kw)
    except Exception as err:  # pyreadstat raises its own ReadstatError / PyreadstatError
        _fail(path, f"not a readable SPSS file: {err}", "SPSS .sav format",
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
    }
    return df, {"user_missing": user_missing, "encoding": meta.file_encoding, **kw}, info


def _read_excel(path: Path, *, sheet_name=0, **kw):
    try:
        df = pd.read_excel(path, sheet_name=sheet_name, engine="openpyxl", **kw)
    except Exception as err:  # zipfile.BadZipFile, KeyError, ValueError ...
        _fail(path, f"not a readable Excel workbook: {err}", ".xlsx (Office Open XML)",
              "open and re-save it in Excel as .xlsx, or export as CSV", err)
    return df, {"sheet_name": sheet_name, **kw}, {}


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


def read_survey(path: str | Path, *, format: str | None = None, **kwargs: Any) -> SurveyFile:
    """Read a survey export and record where it came from.

    Parameters
    ----------
    path : str or Path
        ``.sav``/``.zsav`` (SPSS), ``.csv``/``.txt``, ``.xlsx``, ``.parquet``.
    format : {"spss", "csv", "excel", "parquet"}, optional
        Override the format guessed from the suffix.
    **kwargs
        Reader settings. CSV: ``encoding``, ``delimiter``, ``decimal`` (detected when left
        out) and any ``pandas.read_csv`` keyword. SPSS: ``user_missing`` (default True: user
        missing codes such as 98/99 are kept as values and listed in ``meta``, so that
        cleaning can count them), ``encoding``. Excel: ``sheet_name``. Parquet: ``columns``.

    Returns
    -------
    SurveyFile
        ``data`` (codes as exported), ``provenance`` (``path``, ``sha256``, ``rows``,
        ``columns``, ``column_names``, ``format``, ``reader``) and ``meta``.

    Raises
    ------
    DataError
        A missing or empty file, an unknown suffix, an undecodable or unreadable file, a file
        with no rows or one column only; the message names the file and what to do.

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
    digest = file_sha256(p)
    if fmt == "csv":
        df, settings, meta = _read_csv(p, p.read_bytes(), **kwargs)
    elif fmt == "spss":
        df, settings, meta = _read_spss(p, **kwargs)
    elif fmt == "excel":
        df, settings, meta = _read_excel(p, **kwargs)
    else:
        df, settings, meta = _read_parquet(p, **kwargs)
    if df.shape[1] < 2:
        _fail(p, f"{df.shape[1]} column(s): this does not look like a survey export",
              "a survey export has several columns", "check that this is the right file")
    if len(df) == 0:
        _fail(p, "no data rows (a header only)", "at least one respondent",
              "export the survey again with its data")
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed:")]
    if unnamed and fmt in ("csv", "excel"):
        df = df.drop(columns=[c for c in unnamed if df[c].isna().all()])
    prov = {"path": str(p), "sha256": digest, "rows": int(len(df)), "columns": int(df.shape[1]),
            "column_names": [str(c) for c in df.columns], "format": fmt, "reader": settings}
    return SurveyFile(df, prov, meta)
