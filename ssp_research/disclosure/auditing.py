"""The output audit: prove on every written file that no small group can be seen.

``audit(path)`` scans a file or a directory (recursively) and returns a list of
:class:`Finding`. ``ssp audit PATH`` prints them and exits 1 on any finding, 0 when clean and
2 on errors. The brief stage runs it on every output and refuses to publish on a finding.

What is checked
---------------
HTML (``.html``, ``.htm``) and the HTML outputs of executed notebooks:

* ``<table class="ssp-table">`` (the contract of :mod:`~ssp_research.disclosure.suppression`): each
  data row needs ``data-ssp-n`` and ``data-ssp-status``; a shown row with ``n < min_n`` (rule
  ``primary-n``) or with ``data-ssp-count`` below ``min_count`` on either side (``primary-count``)
  is a finding; a suppressed row with a digit in a ``ssp-value`` cell is ``suppressed-value-shown``;
  a missing attribute is ``contract``.
* any other table with a number in a data cell (``uncontracted-table``), except
  ``<table class="ssp-meta">`` (provenance, no statistics) which is only searched for
  identifiers; a header naming a respondent id is ``person-level``.
* visible text: Norwegian national identity numbers (11 digits with valid check digits) and
  e-mail addresses (``identifier``). ``<script>`` and ``<style>`` are not read.

Executed notebooks (``.ipynb``): every output; ``text/html`` as above; ``text/markdown`` and
``text/plain`` (when no HTML form exists) that look like a printed table (two or more lines
with three or more numbers, or Markdown table rows with a number) are
``uncontracted-table``; cell sources are ignored (briefs hide code).

Data files (``.csv``, ``.tsv``, ``.parquet``, ``.json``, ``.xlsx``): a column named like a
respondent id (``person-level``); many rows of raw answers: more than ``PERSON_ROWS`` rows with
at least three item-like columns (small whole numbers 0-10) (``person-level``); identity
numbers or e-mail addresses (``identifier``); free text: a text column whose values are mostly
distinct, long and made of words (``free-text``); estimator tables (``n`` with ``estimate`` or
``count``): shown rows below the limits (``primary-n``, ``primary-count``) and suppressed rows
still holding values (``suppressed-value-shown``).

Not checked: secondary suppression (it needs the whole publication and is proved by
:func:`~ssp_research.disclosure.protect` with linear programming), images and PDFs (made from
the audited HTML).

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "b.html").write_text('<table class="ssp-table"><tr data-ssp-n="7" '
...     'data-ssp-status="shown"><td class="ssp-value">14 %</td></tr></table>')
>>> [f.rule for f in audit(d)]
['primary-n']
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from ssp_research.core.errors import DataError
from ssp_research.disclosure.suppression import Rules

__all__ = ["Finding", "audit", "format_findings", "small_numbers", "local_paths",
           "PERSON_ROWS"]

PERSON_ROWS = 100
_ID_NAME = re.compile(
    r"^(respondent(_?id)?|resp_?id|person(_?id)?|pupil_?id|elev_?id|student_?id|"
    r"fnr|f(oe|ø)dselsnummer|personnummer|ssn|national_?id|email|e-?post|name|navn)$", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_ELEVEN = re.compile(r"(?<!\d)(\d{6}\s?\d{5})(?!\d)")
_NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:[.,]\d+)?\s?%?(?![\w])")
_DATA_EXT = {".csv", ".tsv", ".parquet", ".json", ".xlsx"}
_HTML_EXT = {".html", ".htm"}


@dataclass(frozen=True)
class Finding:
    """One audit finding: where it is, which rule, what was seen.

    ``file`` (str path), ``location`` (e.g. ``"table 2, row 5 (line 81)"``), ``rule``
    (``primary-n``, ``primary-count``, ``suppressed-value-shown``, ``contract``,
    ``uncontracted-table``, ``person-level``, ``identifier``, ``free-text``, ``unreadable``),
    ``detail`` (a sentence).
    """

    file: str
    location: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.location}: [{self.rule}] {self.detail}"


def _is_fnr(digits: str) -> bool:
    """Norwegian fødselsnummer: 11 digits, a plausible date and both mod-11 check digits."""
    d = [int(c) for c in digits]
    day, month = d[0] * 10 + d[1], d[2] * 10 + d[3]
    if day > 40:
        day -= 40  # D-number
    if month > 40:
        month -= 40  # synthetic (Skatteetaten test numbers)
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return False
    w1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
    w2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    k1 = 11 - sum(a * b for a, b in zip(w1, d)) % 11
    k1 = 0 if k1 == 11 else k1
    k2 = 11 - sum(a * b for a, b in zip(w2, d)) % 11
    k2 = 0 if k2 == 11 else k2
    return k1 == d[9] and k2 == d[10]


def _identifiers(text: str) -> list[str]:
    found = [m.group(0) for m in _EMAIL.finditer(text)]
    found += [m.group(1) for m in _ELEVEN.finditer(text)
              if _is_fnr(m.group(1).replace(" ", ""))]
    return found


def _mask(value: str) -> str:
    return value[:2] + "…" if len(value) > 2 else "…"


# --- statements of small numbers, local paths -----------------------------------------------

_NB_NUMBERS = {"en": 1, "ett": 1, "ei": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6,
               "sju": 7, "syv": 7, "åtte": 8, "ni": 9}
_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9}
_WORD_NUMBERS = {**_NB_NUMBERS, **_EN_NUMBERS}
_NB_PEOPLE = (r"elev(?:er|ene)?|jente(?:r|ne)?|gutt(?:er|ene)?|ungdom(?:mer|mene)?|barn(?:a)?|"
              r"svar|respondent(?:er)?")
_EN_PEOPLE = r"pupils?|students?|girls?|boys?|children|young people|answers?|respondents?"


def _num(words) -> str:
    return r"\b(\d+|" + "|".join(words) + r")"


#: "3 av 12", "one in 12", "1 of 9 girls": a count out of a small total
_OUT_OF = re.compile(_num(_WORD_NUMBERS) + r" (?:av|of|out of|in|i) (\d+)\b", re.I)
#: "n = 7", "n=12"
_N_IS = re.compile(r"(?<![\w-])n\s*=\s*(\d+)\b", re.I)
#: "3 elever", "7 girls" (number words of the same language as the noun: "talk to pupils"
#: is not two pupils; "en elev" is "a pupil", not a count)
_COUNT_OF = [re.compile(r"(?<![\d.,])" + _num(words) + r" (?:" + people + r")\b", re.I)
             for words, people in (([w for w in _NB_NUMBERS if _NB_NUMBERS[w] > 1], _NB_PEOPLE),
                                   (_EN_NUMBERS, _EN_PEOPLE))]
#: phrases that state a rule or a bound, not a group ("færre enn 3 elever")
_BOUND = re.compile(r"(færre enn|fewer than|less than|under|minst|at least|mer enn|more than|"
                    r"over|opptil|up to|av hver|out of every)\s*$", re.I)
#: "9 av 10", "1 of 5": ratios, not counts
_RATIO_BASES = {2, 3, 4, 5, 10, 100, 1000}
_LOCAL_PATH = re.compile(r"(?<![\w.])(?:/(?:home|Users|root|work|tmp|srv|mnt|var|opt|data)/"
                         r"[^\s\"'<>]+|[A-Za-z]:\\[^\s\"'<>]+)")


def _number(token: str) -> int:
    return _WORD_NUMBERS.get(token.lower(), None) or int(token)


def small_numbers(text: str, rules: Rules) -> list[str]:
    """Statements in ``text`` that give the size of a small group or a count in one.

    ``"1 av 12 jenter"`` / ``"one in 12"`` (a count out of fewer than ``min_n``), ``"n = 7"``,
    ``"3 elever"`` (fewer than ``min_n`` pupils), in Bokmål and English. Ratios (``"9 av 10"``)
    and rule texts (``"færre enn 20 elever"``) are not statements about a group.

    >>> small_numbers("Bare 1 av 12 jenter på 9. trinn svarte ja (n = 7).", Rules())
    ['1 av 12', 'n = 7']
    >>> small_numbers("Nesten 9 av 10 elever trives; færre enn 20 elever: ikke vist.", Rules())
    []
    >>> small_numbers("three pupils said so, one in 12", Rules())
    ['three pupils', 'one in 12']
    """
    found, taken = [], []  # taken: spans of "x av y" phrases, counted or exempt
    for m in _OUT_OF.finditer(text):
        taken.append(m.span())
        part, total = _number(m.group(1)), int(m.group(2))
        if _BOUND.search(text[:m.start()]) or total in _RATIO_BASES or part > total:
            continue
        if total < rules.min_n:
            found.append((m.start(), m.group(0)))
    for m in _N_IS.finditer(text):
        if int(m.group(1)) < rules.min_n and not _BOUND.search(text[:m.start()]):
            found.append((m.start(), m.group(0)))
    for m in (m for pattern in _COUNT_OF for m in pattern.finditer(text)):
        if any(a <= m.start() < b for a, b in taken):
            continue  # "10 elever" in "9 av 10 elever" is the base of a ratio
        if _number(m.group(1)) < rules.min_n and not _BOUND.search(text[:m.start()]):
            found.append((m.start(), m.group(0)))
    return [phrase for _, phrase in sorted(found)]


def local_paths(text: str) -> list[str]:
    """Absolute paths of this machine (``/home/...``, ``C:\\...``) in ``text``.

    >>> local_paths("data: /home/anne/ssp/data/raw/elever.sav; relative data/synthetic")
    ['/home/anne/ssp/data/raw/elever.sav;']
    """
    return [m.group(0) for m in _LOCAL_PATH.finditer(text)]


def _text_findings(text: str, file: str, where: str, rules: Rules) -> list[Finding]:
    out = [Finding(file, where, "identifier",
                   f"an identity number or e-mail address ({_mask(i)})")
           for i in _identifiers(text)]
    out += [Finding(file, where, "small-number",
                    f"a statement of a small group or a count in one: {s!r}")
            for s in small_numbers(text, rules)]
    out += [Finding(file, where, "local-path", f"a path of this machine: {_mask(q)}")
            for q in local_paths(text)]
    return out


# --- HTML ------------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """Collect tables (attributes, rows with attributes and cells) and visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self.stack: list[dict] = []
        self.text: list[tuple[int, str]] = []
        self.attributes: list[tuple[int, str, str]] = []  # (line, name, value)
        self.data_blocks: list[tuple[int, str]] = []
        self._skip = 0
        self._block: list[str] | None = None
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        line = self.getpos()[0]
        for k, v in a.items():  # what a reader sees (alt, title) and what they do not (data-*)
            if k in ("alt", "title", "aria-label", "aria-description", "content") or \
                    k.startswith("data-"):
                self.attributes.append((line, k, v))
        if tag == "script" and a.get("type") == "application/json":
            self._block = []
            self._skip += 1
        elif tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            t = {"classes": a.get("class", "").split(), "line": self.getpos()[0], "rows": [],
                 "dataset": a.get("data-ssp-dataset") or None}
            self.tables.append(t)
            self.stack.append(t)
        elif tag == "tr" and self.stack:
            self.stack[-1]["rows"].append({"attrs": a, "line": self.getpos()[0], "cells": []})
        elif tag in ("td", "th") and self.stack and self.stack[-1]["rows"]:
            self._cell = {"tag": tag, "classes": a.get("class", "").split(), "text": ""}
            self.stack[-1]["rows"][-1]["cells"].append(self._cell)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            if self._block is not None:
                self.data_blocks.append((self.getpos()[0], "".join(self._block)))
                self._block = None
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self.stack:
            self.stack.pop()
        elif tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data):
        if self._block is not None:
            self._block.append(data)
        if self._skip:
            return
        self.text.append((self.getpos()[0], data))
        if self._cell is not None:
            self._cell["text"] += data


def _int(value: str | None) -> float | None:
    try:
        return float(value) if value is not None and value != "" else None
    except ValueError:
        return None


_ROW_ATTRS = ("data-ssp-n", "data-ssp-status", "data-ssp-cell", "data-ssp-dataset")


def _audit_html(text: str, file: str, rules: Rules, where: str = "",
                ledger=None) -> list[Finding]:
    parser = _Tables()
    parser.feed(text)
    parser.close()
    out: list[Finding] = []
    lines: dict[int, list[str]] = {}
    for line, chunk in parser.text:  # visible text, hidden elements included
        lines.setdefault(line, []).append(chunk)
    for line, chunks in lines.items():
        out += _text_findings(" ".join(chunks), file, f"{where}line {line}", rules)
    for line, name, value in parser.attributes:
        if name.startswith("data-") and name not in _ROW_ATTRS and _NUMBER.search(value):
            out.append(Finding(file, f"{where}line {line}", "hidden-number",
                               f"a number in the page source that no reader sees "
                               f"({name}={_mask(value)})"))
        elif not name.startswith("data-"):
            out += _text_findings(value, file, f"{where}line {line} ({name})", rules)
    for line, block in parser.data_blocks:  # e.g. the provenance stamp
        out += [Finding(file, f"{where}line {line} (data block)", "local-path",
                        f"a path of this machine: {_mask(q)}") for q in local_paths(block)]
    for ti, table in enumerate(parser.tables, start=1):
        loc = f"{where}table {ti} (line {table['line']})"
        header = [c["text"].strip() for r in table["rows"] for c in r["cells"] if c["tag"] == "th"]
        if any(_ID_NAME.match(h) for h in header):
            out.append(Finding(file, loc, "person-level", "a table with a respondent-id column"))
        if "ssp-meta" in table["classes"]:
            continue
        data_rows = [r for r in table["rows"] if any(c["tag"] == "td" for c in r["cells"])]
        if "ssp-table" not in table["classes"]:
            numeric = [r for r in data_rows if any(
                c["tag"] == "td" and _NUMBER.search(c["text"]) for c in r["cells"])]
            if numeric:
                out.append(Finding(file, loc, "uncontracted-table",
                                   f"a table with numbers in {len(numeric)} rows but not "
                                   'class="ssp-table" with data-ssp-n/data-ssp-status rows'))
            continue
        for ri, row in enumerate(data_rows, start=1):
            rloc = f"{loc}, row {ri} (line {row['line']})"
            attrs = row["attrs"]
            n = _int(attrs.get("data-ssp-n"))
            status = attrs.get("data-ssp-status")
            if n is None or status not in ("shown", "suppressed"):
                out.append(Finding(file, rloc, "contract",
                                   "data row without data-ssp-n and data-ssp-status"))
                continue
            values = [c["text"] for c in row["cells"] if "ssp-value" in c["classes"]]
            if status == "suppressed":
                if any(re.search(r"\d", v) for v in values):
                    out.append(Finding(file, rloc, "suppressed-value-shown",
                                       "a suppressed row shows a number in a value cell"))
                continue
            if 0 < n < rules.min_n:
                out.append(Finding(file, rloc, "primary-n",
                                   f"shown with n = {n:g} < min_n = {rules.min_n}"))
            cell = attrs.get("data-ssp-cell")
            if ledger is not None and cell:
                led = ledger(table["dataset"])
                if led is None:
                    out.append(Finding(file, rloc, "contract",
                                       "a row naming its cell in a table without "
                                       "data-ssp-dataset (which ledger holds it?)"))
                    continue
                status = led.status(cell)
                if status is None:
                    out.append(Finding(file, rloc, "unreleased",
                                       f"a cell that no release recorded ({cell}) in "
                                       f"{led.path} (built with another --ledger?)"))
                elif status == "hidden":
                    out.append(Finding(file, rloc, "ledger-hidden",
                                       f"shown, but hidden in an earlier release ({cell})"))
    return out


# --- notebooks -------------------------------------------------------------------------------


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _audit_notebook(path: Path, rules: Rules, ledger=None) -> list[Finding]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return [Finding(str(path), "file", "unreadable", f"not a readable notebook: {err}")]
    out: list[Finding] = [Finding(str(path), "metadata", "local-path",
                                  f"a path of this machine: {_mask(q)}")
                          for q in local_paths(json.dumps(nb.get("metadata", {})))]
    for ci, cell in enumerate(nb.get("cells", []), start=1):
        for oi, output in enumerate(cell.get("outputs", []) or [], start=1):
            where = f"cell {ci}, output {oi}, "
            data = output.get("data", {}) or {}
            alt = json.dumps(output.get("metadata", {}), ensure_ascii=False)
            out += _text_findings(alt, str(path), where + "metadata (alt text)", rules)
            if "text/html" in data:
                out += _audit_html(_text(data["text/html"]), str(path), rules, where, ledger)
                continue
            plain = "\n".join(_text(x) for x in (data.get("text/markdown", ""),
                                                   data.get("text/plain", ""),
                                                   output.get("text", "")) if x)
            out += _text_findings(plain, str(path), where + "text", rules)
            lines = [ln for ln in plain.splitlines() if len(_NUMBER.findall(ln)) >= 3
                     or (ln.strip().startswith("|") and _NUMBER.search(ln))]
            if len(lines) >= 2:
                out.append(Finding(str(path), where + "text", "uncontracted-table",
                                   f"printed table-like output ({len(lines)} lines of numbers); "
                                   "publish tables only through disclosure.to_html"))
            first = plain.splitlines()[0] if plain.strip() else ""
            if any(_ID_NAME.match(tok) for tok in first.split()):
                out.append(Finding(str(path), where + "text", "person-level",
                                   "printed output with a respondent-id column"))
    return out


# --- PDFs ------------------------------------------------------------------------------------


def _audit_pdf(path: Path, rules: Rules) -> list[Finding]:
    """The text of every page: identifiers, statements of small groups, local paths (its
    tables are those of the audited HTML it is made from)."""
    from pypdf import PdfReader

    try:
        pages = [page.extract_text() or "" for page in PdfReader(path).pages]
    except Exception as err:  # noqa: BLE001 - any unreadable PDF is itself a finding
        return [Finding(str(path), "file", "unreadable", f"not a readable PDF: {err}")]
    out: list[Finding] = []
    for i, text in enumerate(pages, start=1):
        out += _text_findings(" ".join(text.split()), str(path), f"page {i}", rules)
    return out


# --- data files -------------------------------------------------------------------------------


def _read_data(path: Path) -> Iterator[tuple[str, pd.DataFrame]]:
    ext = path.suffix.lower()
    if ext == ".parquet":
        yield "", pd.read_parquet(path)
    elif ext in (".csv", ".tsv"):
        yield "", pd.read_csv(path, sep=None, engine="python", encoding_errors="replace")
    elif ext == ".xlsx":
        for name, frame in pd.read_excel(path, sheet_name=None).items():
            yield f"sheet {name}, ", frame
    elif ext == ".json":
        obj = json.loads(path.read_text(encoding="utf-8"))
        yield from _json_frames(obj, "")


def _json_frames(obj, where: str) -> Iterator[tuple[str, pd.DataFrame]]:
    if isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
        yield where, pd.DataFrame.from_records(obj)
    elif isinstance(obj, dict):
        if obj and all(isinstance(v, list) for v in obj.values()) and len(
                {len(v) for v in obj.values()}) == 1:
            yield where, pd.DataFrame(obj)
            return
        keys = pd.DataFrame({k: [None] for k in obj if not isinstance(obj[k], (dict, list))})
        if not keys.empty:
            yield where, keys.assign(**{k: [obj[k]] for k in keys.columns})
        for k, v in obj.items():
            if isinstance(v, (dict, list)):
                yield from _json_frames(v, f"{where}key {k}, ")


#: Breakdowns whose groups' sizes are answers (see publication.SECRET_SIZES).
SECRET_SIZES = ("economy_group",)


def _audit_frame(frame: pd.DataFrame, file: str, where: str, rules: Rules) -> list[Finding]:
    out: list[Finding] = []
    cols = [str(c) for c in frame.columns]
    if "internal_unprotected" in cols:
        out.append(Finding(file, where or "table", "unprotected",
                           "a table written without disclosure control (--unprotected): "
                           "internal work only, never published"))
    for b in SECRET_SIZES:  # a group's size is an answer: it never leaves, nor its count
        if b in cols and ("n" in cols or "count" in cols):
            grp = frame[b].astype(str) != "all"
            sizes = frame.loc[grp, [c for c in ("n", "count", "cmp_n") if c in cols]]
            if sizes.notna().any().any():
                out.append(Finding(file, f"{where}column {b}", "group-size",
                                   f"sizes of {b} groups ({int(sizes.notna().any(axis=1).sum())}"
                                   " rows): the size of a group like the hard-up pupils is an "
                                   "answer and gives hidden shares back"))
    for c in cols:
        if _ID_NAME.match(c):
            out.append(Finding(file, f"{where}column {c}", "person-level",
                               "a respondent-id or personal column"))
    item_like = 0
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s):
            continue
        if pd.api.types.is_numeric_dtype(s):
            v = s.dropna().to_numpy(float)
            if len(v) and np.all(v == np.round(v)) and v.min() >= 0 and v.max() <= 10:
                item_like += 1
            continue
        text = s.dropna().astype(str)
        if text.empty:
            continue
        for ri, value in text.items():
            idents = _identifiers(value)
            if idents:
                out.append(Finding(file, f"{where}row {ri}, column {c}", "identifier",
                                   f"an identity number or e-mail address ({_mask(idents[0])})"))
                break
        if (len(text) >= 5 and text.nunique() / len(text) > 0.5
                and text.str.len().mean() > 20 and text.str.contains(" ").mean() > 0.5):
            out.append(Finding(file, f"{where}column {c}", "free-text",
                               "a column of mostly distinct sentences (free-text answers)"))
    if len(frame) > PERSON_ROWS and item_like >= 3 and "n" not in cols:
        out.append(Finding(file, where or "table", "person-level",
                           f"{len(frame)} rows with {item_like} answer-like columns "
                           "(raw answers)"))
    if "n" in cols and ("estimate" in cols or "count" in cols):
        n = pd.to_numeric(frame["n"], errors="coerce")
        if "suppressed" in cols:
            shown = ~frame["suppressed"].fillna(True).astype(bool)
        else:
            shown = pd.to_numeric(frame.get("estimate", frame.get("count")),
                                  errors="coerce").notna()
        for ri in frame.index[shown & (n < rules.min_n)]:
            out.append(Finding(file, f"{where}row {ri}", "primary-n",
                               f"shown with n = {n[ri]:g} < min_n = {rules.min_n}"))
        if "count" in cols:
            c = pd.to_numeric(frame["count"], errors="coerce")
            small = shown & (n >= rules.min_n) & ((c < rules.min_count)
                                                  | (n - c < rules.min_count))
            for ri in frame.index[small]:
                out.append(Finding(file, f"{where}row {ri}", "primary-count",
                                   f"shown with count = {c[ri]:g} of n = {n[ri]:g}"))
        if "suppressed" in cols:
            hidden = frame["suppressed"].fillna(False).astype(bool)
            vals = [v for v in ("estimate", "se", "ci_low", "ci_high", "count") if v in cols]
            leak = hidden & frame[vals].apply(pd.to_numeric, errors="coerce").notna().any(axis=1)
            for ri in frame.index[leak]:
                out.append(Finding(file, f"{where}row {ri}", "suppressed-value-shown",
                                   "a suppressed row still holds values"))
    return out


def _audit_data(path: Path, rules: Rules) -> list[Finding]:
    out: list[Finding] = []
    try:
        for where, frame in _read_data(path):
            out += _audit_frame(frame, str(path), where, rules)
    except Exception as err:  # any unreadable file is itself a finding
        out.append(Finding(str(path), "file", "unreadable", f"could not be read: {err}"))
    return out


# --- entry -------------------------------------------------------------------------------------


def _ledgers(ledger):
    """``dataset -> Ledger`` (None when the table names none): one given ledger for every
    table, or the ledgers of a folder by the dataset each table names."""
    if ledger is None:
        return None
    if not isinstance(ledger, (str, Path)):
        return lambda dataset: ledger
    from ssp_research.disclosure.ledger import read_ledger_file

    folder, cache = Path(ledger), {}

    def find(dataset):
        if dataset is None:
            return None
        if dataset not in cache:
            cache[dataset] = read_ledger_file(folder / f"{dataset}.ledger.csv")
        return cache[dataset]

    return find


def audit(path: str | Path, rules: Rules | None = None, *, ledger=None) -> list[Finding]:
    """Audit a file or a directory (recursively) for anything that reveals a small group.

    Parameters
    ----------
    path : str or Path
        A brief (HTML), executed notebook, data file or a directory of them.
    rules : Rules, optional
        The limits the outputs must meet (``Rules()`` by default; pass the publication's).
    ledger : Ledger or path, optional
        A release ledger, or the folder of the ledgers (each table names its dataset with
        ``data-ssp-dataset``): every table row that names its cell (``data-ssp-cell``) must
        be a cell the ledger recorded (``unreleased``), shown there if shown here
        (``ledger-hidden``).

    Returns
    -------
    list of Finding
        Empty when clean. Sorted by file, in the order found within a file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = f.write_text("respondent_id;lonely\\nab12;1\\n")
    >>> [(x.location, x.rule) for x in audit(f)]
    [('column respondent_id', 'person-level')]
    """
    rules = rules or Rules()
    ledger = _ledgers(ledger)
    root = Path(path)
    if not root.exists():
        raise DataError(f"nothing to audit at {root}", file=root, rule="path exists",
                        hint="give the folder of the written briefs or one file")
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    out: list[Finding] = []
    for f in files:
        ext = f.suffix.lower()
        if ext in _HTML_EXT:
            out += _audit_html(f.read_text(encoding="utf-8", errors="replace"), str(f), rules,
                               ledger=ledger)
        elif ext == ".ipynb":
            out += _audit_notebook(f, rules, ledger)
        elif ext == ".pdf":
            out += _audit_pdf(f, rules)
        elif ext in _DATA_EXT:
            out += _audit_data(f, rules)
    return out


def format_findings(findings: list[Finding]) -> str:
    """One line per finding (``file: location: [rule] detail``) and a count."""
    lines = [str(f) for f in findings]
    lines.append(f"{len(findings)} finding(s)" if findings else "audit clean: no findings")
    return "\n".join(lines)
