"""The protected publication of a batch on disk: built once for its inputs, then reused.

:func:`prepare_publication` keys the publication of a batch folder (or of a single brief's
cache) by its inputs (data sha256, instrument, rules, pooling, standardisation, the library's
code and package versions) and builds it (:func:`ssp_research.publication.build_publication`)
only when they changed. Beside it go the indicator tables of every city, district and school
brief (:func:`write_unit_tables`), which briefs read instead of computing their own.

Checking that a publication is current is cheap and imports nothing heavy: a single brief
does it while its kernel starts (:func:`ssp_research.report.run_brief`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ssp_research import paths
from ssp_research.atomic import atomic_write, write_atomic

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["prepare_publication", "publication_target", "write_unit_tables",
           "unit_tables_dir", "unit_table_name"]



def unit_tables_dir(publication_path: Path) -> Path:
    """Where :func:`write_unit_tables` puts its tables: beside the publication."""
    return Path(publication_path).parent / "unit_tables"


def unit_table_name(level: str, compare: str, pool: int, names: list[str]) -> str:
    """The file name of one level's unit table (for these indicators, comparison, pooling)."""
    which = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
    return f"{level}-{compare}-pool{pool}-{which}.parquet"


def write_unit_tables(data: pd.DataFrame, *, instrument: str, framework: str, pool: int,
                      folder: Path) -> list[Path]:
    """The indicator tables of every city, district and school brief, in one pass per level.

    A batch writes them beside its publication (``ssp batch``, and a single brief's cached
    publication); :attr:`ssp_research.brief.Brief.indicators` then reads its unit's rows
    instead of computing them (:func:`ssp_research.indicators.indicator_table` gives every
    unit of a level at once, with the same numbers). Written for the default comparisons
    (the city brief: its own previous survey; districts and schools: the city), without
    standardisation; any other brief computes its own.

    Returns
    -------
    list of Path
        The tables written (atomically).
    """
    from ssp_research import codebook, frameworks
    from ssp_research import indicators as _ind

    cb = codebook.load_codebook(instrument)
    names: list[str] = []
    for goal in frameworks.load_framework(framework).goals:
        names += [i for i in goal.indicators if i not in names and i in cb.indicators]
    written = []
    for level, unit in (("city", None), ("district", "district"), ("school", "school")):
        table = _ind.indicator_table(data, cb, indicators=names, unit=unit, compare="city",
                                     pool=pool)
        target = Path(folder) / unit_table_name(level, "city", pool, names)
        write_atomic(target, lambda tmp, t=table: t.to_parquet(tmp, index=False))
        written.append(target)
    return written


def publication_target(out_dir: Path) -> Path:
    """Where :func:`prepare_publication` writes the publication of a batch folder.

    Examples
    --------
    >>> publication_target(Path("out")).as_posix()
    'out/publication/publication.parquet'
    """
    return paths.publication_file(out_dir)


def prepare_publication(units: list, out_dir: Path, *, jobs: int | None = None,
                        build: bool = True, unit_tables: bool = True) -> dict:
    """Build the disclosure-protected publication of the whole batch once, before any brief.

    Secondary suppression must see every table the batch publishes (a district's cells and
    its schools', girls and boys and all), so the tables of all units, at every level of the
    hierarchy (city, districts, schools; or country, municipalities, schools), are computed
    and protected together (:func:`ssp_research.publication.build_publication`), written to
    ``<out>/publication/publication.parquet``, and every brief reads its own rows from there
    (parameter ``publication_path``) instead of protecting alone. The publication is rebuilt
    only when its inputs changed (data, instrument, rules, pooling, library, packages).

    ``units`` are :class:`ssp_research.batch.Unit` (``unit_type``, ``unit``, ``params``); the
    first is the city (or country); ``jobs`` processes protect the tables (default: one per
    core). Returns the extra parameters for every unit ({} when the template takes none, or
    with ``build=False`` when the cached publication is not current). With
    ``unit_tables=False`` the unit tables (:func:`write_unit_tables`) are left for a later
    call (a single brief writes them after its own work).
    """
    from ssp_research import fingerprint, report

    if not units:
        return {}
    first = units[0].params
    template = Path(first.get("template", report.DEFAULT_TEMPLATE))
    if "publication_path" not in report.template_parameters(template):
        return {}
    data = report.resolve_data_path(first["data_path"])
    top = units[0]
    levels = (("city", "district", "school") if top.unit_type == "city"
              else ("country", "municipality", "school"))
    options = {
        "instrument": first.get("instrument", "ungdata"),
        "rules": first.get("disclosure") or None,
        "levels": levels,
        "pool": int(first.get("pool", 1) or 1),
        "standardise": "city" if first.get("standardise") else None,
        "top_name": top.unit,
        "breakdowns": "gender, grade" + (", economy_group" if top.unit_type == "city" else ""),
    }
    key = hashlib.sha256(json.dumps({
        "data": fingerprint.sha256_file(data), "options": options,
        "library": fingerprint.library_fingerprint(), "packages": fingerprint.package_versions(),
    }, sort_keys=True, default=str).encode()).hexdigest()
    target = publication_target(out_dir)
    stamp = target.with_name("inputs.sha256")
    framework = first.get("framework") or report.template_parameters(template).get(
        "framework", report.Parameter(str, "trondheim_ssp", "")).default
    if target.exists() and stamp.exists() and stamp.read_text().strip() == key:
        if top.unit_type == "city":
            if unit_tables:
                _unit_tables(data, options, framework, target)
        return {"publication_path": str(target)}
    if not build:
        return {}
    import pandas as pd

    from ssp_research import brief
    from ssp_research.publication import build_publication, write_publication

    shutil.rmtree(unit_tables_dir(target), ignore_errors=True)  # of older inputs

    # Family-economy groups are protected in the same call as everything else (their gaps
    # are published too); brief_gaps.gap_table reads them from here. Nationally they are left
    # out: with ~2,000 schools the joint system grows too large to prove in minutes, and a
    # brief whose publication has no economy rows shows no economy groups (safe).
    frame = pd.read_parquet(data)
    if top.unit_type == "city":
        frame = brief.with_economy_group(frame)
    breakdowns = ("gender", "grade") + (("economy_group",) if "economy_group" in frame else ())
    table = build_publication(
        frame, options["instrument"], rules=options["rules"], levels=levels,
        breakdowns=breakdowns, pool=options["pool"], standardise=options["standardise"],
        top_name=top.unit, jobs=jobs or os.cpu_count() or 1, progress=True)
    write_publication(table, target)
    if top.unit_type == "city":
        if unit_tables:
            _unit_tables(data, options, framework, target, frame)
    atomic_write(stamp, key)
    return {"publication_path": str(target)}


def _unit_tables(data: Path, options: dict, framework: str, publication_path: Path,
                 frame=None) -> None:
    """Every city, district and school brief's indicator table, in one pass per level
    (:func:`write_unit_tables`), unless written for these inputs."""
    folder = unit_tables_dir(publication_path)
    marker = folder / f"{hashlib.sha256(str(framework).encode()).hexdigest()[:12]}.done"
    if marker.exists():
        return
    if frame is None:
        import pandas as pd

        frame = pd.read_parquet(data)
    write_unit_tables(frame, instrument=options["instrument"], framework=framework,
                      pool=options["pool"], folder=folder)
    atomic_write(marker, str(framework))
