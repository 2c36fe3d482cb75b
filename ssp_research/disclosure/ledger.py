"""The release ledger: every cell that has left the workbench for a dataset, and how.

A municipality releases many tables from one dataset (one instrument, one population) over
the years: briefs of every batch and wave, pooled windows, districts, schools,
``ssp publication``, CLI and study tables. The protection is a property of all of them at once,
so every release is protected jointly with everything released before, and this ledger is
the memory between releases. It belongs to the dataset, not to one output folder: every
release from the same dataset finds it by default (``paths.ledger_dir()``, set with
``SSP_LEDGER_DIR`` or ``--ledger``).

The file
--------
``<dataset>.ledger.csv``, one row per released cell (UTF-8, comma-separated, a header line):

=================  =========================================================================
``key``            the cell: ``indicator|level|unit|waves|gender|grade|economy_group``, with
                   ``waves`` one wave (``2025``) or a pooled window (``2021-2025``) and
                   ``all`` for a margin
``status``         ``shown`` or ``hidden``
``reason``         why hidden: ``n``, ``count``, ``series``, ``secondary``, ``revision``
``n``              respondents (empty for family-economy groups: their sizes are answers)
``count``          respondents with the attribute (shown cells only)
``estimate``       the published share or mean (shown cells only)
``release``        the release the cell first came in (see the releases file)
=================  =========================================================================

and ``<dataset>.releases.json``: one record per release, also one that adds no cell (id,
time, kind, what was released, ``cells`` and ``hidden``: the cells it added and how many of
them hidden, ``seen``: the cells it showed or hid, the data's sha256, the rules). The ledger
holds no microdata and nothing that was not published: it is safe to keep in a
municipality's own records. A cell's first release decides its status for good: a cell
hidden once stays hidden, a cell shown keeps its value (a later change of the data is a
*revision*, reported by ``ssp release check``).

Concurrency: a release takes the ledger's lock (``<dataset>.lock``), reads it, protects,
writes its outputs and then the ledger (atomically), and releases the lock; two releases at
once never both protect against the same old ledger, and a release that fails leaves the
ledger as it was.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with open_ledger("ungdata", "Trondheim", folder=folder) as led:
...     led.record([{"key": cell_key_of("lonely", "school", "Elvetun skole", (2025, 2025)),
...                  "status": "hidden", "reason": "n", "n": 12}], kind="test")
'r0001'
>>> load_ledger("ungdata", "Trondheim", folder=folder).status("lonely|school|Elvetun skole|"
...                                                            "2025|all|all|all")
'hidden'
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ssp_research.core import paths
from ssp_research.core.atomic import atomic_write
from ssp_research.core.errors import DisclosureError

__all__ = ["Ledger", "open_ledger", "load_ledger", "read_ledger_file", "ledger_path",
           "cell_key_of", "parse_key", "dataset_id", "LEDGER_COLUMNS", "KEY_PARTS"]

#: The parts of a cell key, in order.
KEY_PARTS = ("indicator", "level", "unit", "waves", "gender", "grade", "economy_group")
LEDGER_COLUMNS = ("key", "status", "reason", "n", "count", "estimate", "release")
_SEP = "|"


def dataset_id(instrument: str, population: str) -> str:
    """The file-name stem of a dataset's ledger: instrument and population, as a slug.

    >>> dataset_id("ungdata", "Trondheim")
    'ungdata--trondheim'
    >>> dataset_id("/x/codebooks/my survey.yml", "Østre Toten")
    'my-survey--ostre-toten'
    """
    def slug(text: str) -> str:
        text = text.translate(str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae",
                                             "å": "a", "Å": "a"}))
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"

    return f"{slug(Path(str(instrument)).stem)}--{slug(str(population))}"


def ledger_path(instrument: str, population: str, *, folder: str | Path | None = None) -> Path:
    """Where the ledger of a dataset lives (``<folder>/<dataset>.ledger.csv``)."""
    return Path(folder or paths.ledger_dir()) / f"{dataset_id(instrument, population)}.ledger.csv"


def _waves_label(window: tuple[int, int]) -> str:
    first, last = int(window[0]), int(window[1])
    return str(last) if first == last else f"{first}-{last}"


def cell_key_of(indicator: str, level: str, unit: str, window: tuple[int, int], *,
                gender: str = "all", grade: str = "all", economy_group: str = "all") -> str:
    """The ledger key of one cell (see the module docs).

    >>> cell_key_of("lonely", "district", "Heimdal", (2021, 2025), gender="girl")
    'lonely|district|Heimdal|2021-2025|girl|all|all'
    """
    parts = (indicator, level, unit, _waves_label(window), gender, grade, economy_group)
    text = [str(p) for p in parts]
    if any(_SEP in p for p in text):
        raise DisclosureError(f"a cell coordinate contains {_SEP!r}: {text}",
                              rule="cell keys are |-separated", hint="rename the unit")
    return _SEP.join(text)


def parse_key(key: str) -> dict[str, object]:
    """The coordinates of a key: its parts, and ``window`` as (first, last) wave.

    >>> parse_key("lonely|school|Elvetun skole|2021-2025|all|9|all")["window"]
    (2021, 2025)
    """
    parts = key.split(_SEP)
    if len(parts) != len(KEY_PARTS):
        raise DisclosureError(f"not a ledger cell key: {key!r}",
                              rule="|".join(KEY_PARTS), hint="the ledger file was edited")
    out: dict[str, object] = dict(zip(KEY_PARTS, parts))
    first, _, last = str(out["waves"]).partition("-")
    out["window"] = (int(first), int(last or first))
    return out


@dataclass
class Ledger:
    """The cells released for one dataset (see the module docs).

    Attributes
    ----------
    path : Path
        The ledger file (``.ledger.csv``; the releases file beside it).
    cells : dict
        ``key -> row`` (a dict of :data:`LEDGER_COLUMNS`).
    releases : list of dict
        One record per release, oldest first.
    """

    path: Path
    cells: dict[str, dict] = field(default_factory=dict)
    releases: list[dict] = field(default_factory=list)
    _pending: list[str] = field(default_factory=list, repr=False)
    _writable: bool = field(default=False, repr=False)

    @property
    def releases_path(self) -> Path:
        return self.path.with_name(self.path.name.replace(".ledger.csv", ".releases.json"))

    def status(self, key: str) -> str | None:
        """``"shown"``, ``"hidden"`` or None (never released)."""
        row = self.cells.get(key)
        return None if row is None else row["status"]

    def keys(self, indicator: str | None = None) -> Iterator[str]:
        for key in self.cells:
            if indicator is None or key.split(_SEP, 1)[0] == indicator:
                yield key

    def record(self, rows: Iterable[Mapping], *, kind: str, what: str = "",
               data_sha256: str | None = None, rules: Mapping | None = None) -> str | None:
        """Record a release: its new cells (cells released before keep their first row) and
        a line in the releases file, also when every cell was released before (the file
        lists every table that left, ``cells`` counting the new ones).

        Returns the release id. Written to disk when the ledger is closed
        (:func:`open_ledger`).
        """
        if not self._writable:
            raise DisclosureError("this ledger was opened read-only", file=self.path,
                                  rule="write through open_ledger (it holds the lock)",
                                  hint="use `with open_ledger(...) as ledger:`")
        release = f"r{len(self.releases) + 1:04d}"
        new, seen = [], 0
        for row in rows:
            key = str(row["key"])
            seen += 1
            if key in self.cells:
                continue
            status = str(row["status"])
            if status not in ("shown", "hidden"):
                raise DisclosureError(f"unknown status {status!r} for {key}",
                                      rule="shown or hidden")
            rec = {c: row.get(c) for c in LEDGER_COLUMNS}
            rec["release"] = release
            if status == "hidden":
                rec["count"] = rec["estimate"] = None
            self.cells[key] = rec
            new.append(rec)
        self.releases.append({
            "release": release, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "kind": kind, "what": what, "cells": len(new),
            "hidden": sum(r["status"] == "hidden" for r in new), "seen": seen,
            "data_sha256": data_sha256, "rules": dict(rules or {})})
        self._pending.append(release)
        return release

    def _write(self) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=LEDGER_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for rec in self.cells.values():
            writer.writerow({c: _text(rec.get(c)) for c in LEDGER_COLUMNS})
        # the releases first: a ledger row always names a release on disk
        atomic_write(self.releases_path, json.dumps(self.releases, indent=1,
                                                    ensure_ascii=False) + "\n")
        atomic_write(self.path, buf.getvalue())
        self._pending.clear()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return repr(float(value)) if not value.is_integer() else str(int(value))
    return str(value)


def _read(path: Path) -> Ledger:
    led = Ledger(path)
    if path.is_file():
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh)
                if tuple(reader.fieldnames or ()) != LEDGER_COLUMNS:
                    raise DisclosureError(
                        f"the ledger's columns are {reader.fieldnames}", file=path,
                        rule=f"columns {', '.join(LEDGER_COLUMNS)}",
                        hint="restore the ledger from the municipality's records")
                for i, row in enumerate(reader, start=2):
                    if row["status"] not in ("shown", "hidden"):
                        raise DisclosureError(f"unknown status {row['status']!r}", file=path,
                                              row=i, column="status", rule="shown or hidden",
                                              hint="restore the ledger from the records")
                    parse_key(row["key"])
                    led.cells[row["key"]] = {c: (row[c] if row[c] != "" else None)
                                             for c in LEDGER_COLUMNS}
        except (OSError, csv.Error, UnicodeDecodeError) as err:
            raise DisclosureError(f"the ledger cannot be read: {err}", file=path,
                                  hint="restore it from the municipality's records") from None
    if led.releases_path.is_file():
        led.releases = json.loads(led.releases_path.read_text(encoding="utf-8"))
    return led


def read_ledger_file(path: str | Path) -> Ledger:
    """A ledger file, read-only (empty when it does not exist)."""
    return _read(Path(path))


def load_ledger(instrument: str, population: str, *,
                folder: str | Path | None = None) -> Ledger:
    """The ledger of a dataset, read-only (empty when nothing was released yet)."""
    return _read(ledger_path(instrument, population, folder=folder))


@contextmanager
def open_ledger(instrument: str, population: str, *, folder: str | Path | None = None,
                timeout: float = 600.0) -> Iterator[Ledger]:
    """Hold the dataset's ledger for a release: lock, read, yield, write, unlock.

    Cells recorded with :meth:`Ledger.record` are written when the block ends without an
    error; on an error nothing is written. Another release of the same dataset waits for
    the lock (up to ``timeout`` seconds, then a DisclosureError).
    """
    path = ledger_path(instrument, population, folder=folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name.replace(".ledger.csv", ".lock"))
    with open(lock, "a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DisclosureError(
                        "another release of this dataset holds the ledger", file=lock,
                        rule="one release at a time",
                        hint="wait for it to finish, or remove a stale lock file") from None
                time.sleep(0.05)
        try:
            led = _read(path)
            led._writable = True
            yield led
            if led._pending:
                led._write()
            led._writable = False
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
