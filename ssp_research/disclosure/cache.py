"""The protected publication on disk: built once for its inputs, then reused.

:func:`prepare_publication` keys the publication of a folder (a batch folder, or the cache
that single briefs share) by its inputs: the data file's sha256, the options it is built
with (instrument, rules, levels, breakdowns, pooling, standardisation, top unit), the
library's code and the package versions. It builds it
(:func:`~ssp_research.disclosure.build_publication`) only when they changed. Beside it go the
indicator tables of every city, district and school brief (:func:`write_unit_tables`), which
briefs read instead of computing their own.

The options are given explicitly; this module knows nothing of briefs, templates or
notebooks (the renderer derives the options from a brief's parameters).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ssp_research.core import fingerprint, paths
from ssp_research.core.atomic import atomic_write, write_atomic
from ssp_research.core.errors import DisclosureError, ParameterError

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


def framework_indicators(instrument: str, framework: str) -> list[str]:
    """The indicators of a framework's goals that the instrument has, in framework order."""
    from ssp_research.analysis import frameworks
    from ssp_research.data import codebook

    cb = codebook.load_codebook(instrument)
    names: list[str] = []
    for goal in frameworks.load_framework(framework).goals:
        names += [i for i in goal.indicators if i not in names and i in cb.indicators]
    return names


def write_unit_tables(data: pd.DataFrame, *, instrument: str, framework: str, pool: int,
                      folder: Path) -> list[Path]:
    """The indicator tables of every city, district and school brief, in one pass per level.

    Written beside a city's publication; :attr:`ssp_research.brief.content.Brief.indicators` then
    reads its unit's rows instead of computing them
    (:func:`ssp_research.analysis.indicators.indicator_table` gives every unit of a level at once,
    with the same numbers). Written for the default comparisons (the city brief: its own
    previous survey; districts and schools: the city), without standardisation; any other
    brief computes its own.

    Returns
    -------
    list of Path
        The tables written (atomically).
    """
    from ssp_research.analysis import indicators as _ind
    from ssp_research.data import codebook

    cb = codebook.load_codebook(instrument)
    names = framework_indicators(instrument, framework)
    written = []
    for level, unit in (("city", None), ("district", "district"), ("school", "school")):
        table = _ind.indicator_table(data, cb, indicators=names, unit=unit, compare="city",
                                     pool=pool)
        target = Path(folder) / unit_table_name(level, "city", pool, names)
        write_atomic(target, lambda tmp, t=table: t.to_parquet(tmp, index=False))
        written.append(target)
    return written


def publication_target(out_dir: Path) -> Path:
    """Where :func:`prepare_publication` writes the publication of a folder.

    Examples
    --------
    >>> publication_target(Path("out")).as_posix()
    'out/publication/publication.parquet'
    """
    return paths.publication_file(out_dir)


def prepare_publication(data_path: str | Path, out_dir: Path, *, top_name: str,
                        top_type: str = "city", instrument: str = "ungdata",
                        rules: dict | None = None, pool: int = 1, standardise: bool = False,
                        framework: str | None = None, ledger_dir: str | Path | None = None,
                        singletons: bool = True, jobs: int | None = None,
                        progress: bool = True) -> Path:
    """The disclosure-protected publication of a whole city (or country), built once and
    recorded in the dataset's release ledger.

    Secondary suppression must see every cell that is published, in this release and in every
    earlier one (a district's cells and its schools', girls and boys and all, single waves and
    pooled windows), so the tables of all units, at every level of the hierarchy (city,
    districts, schools; or country, municipalities, schools), are computed and protected
    together with everything in the ledger
    (:func:`~ssp_research.disclosure.build_publication`), written to
    ``<out_dir>/publication/publication.parquet`` and then recorded in the ledger, under the
    ledger's lock; every brief reads its own rows from there (parameter
    ``publication_path``). The file is rebuilt only when its inputs changed or the ledger
    does not hold its cells.

    Parameters
    ----------
    data_path : path
        Tidy survey data (Parquet).
    out_dir : path
        The folder that holds ``publication/`` (a batch folder, or the briefs' cache).
    top_name, top_type : str
        The top unit: a city (``"city"``: levels city, district, school; family-economy
        groups are a breakdown too) or a country (``"country"``: country, municipality,
        school; no family-economy groups: with ~2,000 schools the joint system grows too
        large to prove in minutes, and a brief without them shows none).
    instrument : str
        Codebook name or path.
    rules : dict, optional
        Overrides of :class:`ssp_research.disclosure.Rules`.
    pool : int
        Rolling window of waves.
    standardise : bool
        Direct standardisation by grade x gender to the city's pupils.
    framework : str, optional
        For a city: also write the unit tables (:func:`write_unit_tables`) of this
        framework's indicators.
    ledger_dir : path, optional
        Where the dataset's ledger is (default ``paths.ledger_dir()``).
    singletons : bool
        Also protect against a pupil alone in a hidden cell.
    jobs : int, optional
        Processes that protect the tables (default: one per core).
    progress : bool
        Progress bar while the tables are protected.

    Returns
    -------
    Path
        The publication file.
    """
    from ssp_research.data.codebook import load_codebook
    from ssp_research.disclosure.ledger import load_ledger, open_ledger
    from ssp_research.disclosure.release import TOP_LEVELS

    if top_type not in TOP_LEVELS:
        raise ParameterError(f"unknown top level {top_type!r}",
                             rule=f"one of {', '.join(TOP_LEVELS)}")
    data = Path(data_path)
    levels = TOP_LEVELS[top_type]
    options = {
        "instrument": instrument,
        "rules": rules or None,
        "levels": levels,
        "pool": int(pool or 1),
        "standardise": "city" if standardise else None,
        "top_name": top_name,
        "breakdowns": "gender, grade" + (", economy_group" if top_type == "city" else ""),
        "singletons": bool(singletons),
    }
    key = hashlib.sha256(json.dumps({
        "data": fingerprint.sha256_file(data), "options": options,
        "library": fingerprint.library_fingerprint(), "packages": fingerprint.package_versions(),
    }, sort_keys=True, default=str).encode()).hexdigest()
    target = publication_target(out_dir)
    stamp = target.with_name("inputs.sha256")
    dataset = load_codebook(instrument).instrument
    if _current(target, stamp, key, load_ledger(dataset, top_name, folder=ledger_dir)):
        if top_type == "city" and framework:
            _unit_tables(data, options, framework, target)
        return target
    import pandas as pd

    from ssp_research.analysis.indicators import with_economy_group
    from ssp_research.disclosure.publication import build_publication, write_publication
    from ssp_research.disclosure.release import ledger_rows

    frame = pd.read_parquet(data)
    if top_type == "city":
        frame = with_economy_group(frame)
    breakdowns = ("gender", "grade") + (("economy_group",) if "economy_group" in frame else ())
    with open_ledger(dataset, top_name, folder=ledger_dir) as led:
        if _current(target, stamp, key, led):  # another release built it meanwhile
            return target
        shutil.rmtree(unit_tables_dir(target), ignore_errors=True)  # of older inputs
        table = build_publication(
            frame, options["instrument"], rules=options["rules"], levels=levels,
            breakdowns=breakdowns, pool=options["pool"], standardise=options["standardise"],
            top_name=top_name, ledger=led, singletons=singletons,
            jobs=jobs or os.cpu_count() or 1, progress=progress)
        _refuse_revisions(table, led)
        write_publication(table, target)
        meta = table.attrs.get("publication", {})
        led.record(ledger_rows(table), kind="publication",
                   what=f"{top_type} {top_name}, pool {options['pool']}"
                        + (", standardised" if standardise else ""),
                   data_sha256=meta.get("data_sha256"), rules=meta.get("rules"))
        atomic_write(stamp, key)
    if top_type == "city" and framework:
        _unit_tables(data, options, framework, target, frame)
    return target


def _refuse_revisions(table, ledger) -> None:
    """A cell published before keeps its number: refuse a release that changes any (the
    data changed since), or shows one it hid, or hides one it showed (see
    :mod:`~ssp_research.disclosure.release_check`)."""
    from ssp_research.disclosure.release_check import BLOCKING, compare

    found = compare(table, ledger).findings
    bad = found[found["kind"].isin(BLOCKING)]
    if len(bad):
        kinds = ", ".join(f"{k} {n}" for k, n in bad["kind"].value_counts().items())
        raise DisclosureError(
            f"{len(bad)} cells published before would change ({kinds}; e.g. "
            f"{bad['key'].iloc[0]}: {bad['detail'].iloc[0]}): the data changed since they "
            "were released, and two published values of one cell give away the answers "
            "that changed", file=ledger.path, rule="a published cell keeps its number",
            hint="run `ssp release check` to see every change; release the new data as a "
                 "new dataset with its own ledger (--ledger) only after deciding that the "
                 "old and new numbers may stand side by side")


def _current(target: Path, stamp: Path, key: str, ledger) -> bool:
    """The publication on disk is for these inputs, and the ledger holds its cells as they
    are in it (a ledger that was reset, or lost, makes it a new release)."""
    if not (target.exists() and stamp.exists() and stamp.read_text().strip() == key):
        return False
    import pandas as pd

    from ssp_research.disclosure.release import cell_keys

    pub = pd.read_parquet(target, columns=[c for c in ("indicator", "level", "unit", "wave",
                                                       "pooled_from", "gender", "grade",
                                                       "economy_group", "suppressed")
                                           if c in _columns(target)])
    status = ["hidden" if s else "shown" for s in pub["suppressed"]]
    return all(ledger.status(k) == s for k, s in zip(cell_keys(pub), status))


def _columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return pq.read_schema(path).names


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
