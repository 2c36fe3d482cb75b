"""Batch reruns: every unit's brief, in parallel, cached, resumable and reproducible.

``ssp batch --by school`` plans one brief per unit of the data (every school, or district, or
municipality) plus the whole city (or country), and runs them on an executor:

* **Workers** (:mod:`ssp_research.batch.workers`) are long-lived processes (default: one per
  core) that execute briefs in-process with papermill (:func:`~ssp_research.render.run_brief`).
  Each brief gets a fresh kernel by default (``mode="fresh"``): a new kernel process, forked
  from a template process that has preloaded ipykernel and the template's imports and runs
  nothing else (:mod:`ssp_research.batch.forkserver`), so the 1.6 s of kernel start and imports is
  paid once per batch, not per brief; ``mode="spawn"`` starts every kernel from scratch as
  jupyter_client does (the same isolation, slower).
* **Failure isolation**: a failing unit (a cell error, a dead kernel, even a crashed worker
  process) is recorded and the others go on.
* **Manifest**: ``<out>/manifest.json`` records per unit the status (``ok``, ``failed``,
  ``cached``), the parameters, their hash, the cache key, outputs, the failing cell and error,
  and timings. It is rewritten atomically after every unit, so an interrupted batch resumes:
  units already done with the same cache key are skipped. ``retry_failed=True`` reruns only
  the failed ones.
* **Cache**: a unit is skipped when its cache key is unchanged. The key hashes everything a
  brief depends on: the data file (sha256), the parameters, the template, the codebook and
  framework files, the library's own source and the versions of the packages it uses.
  ``force=True`` overrides.
* **Layout**: ``<out>/briefs/`` holds what is published (HTML and PDF), ``<out>/notebooks/``
  the executed notebooks, ``<out>/failed/`` those of failed units, ``<out>/publication/`` the
  protected tables (internal: the briefs read from it), ``<out>/manifest.json`` the record.
* **One publication**: before any brief runs, the disclosure-protected publication tables for
  all units are computed once (secondary suppression sees every table of the batch); briefs
  are staged, the disclosure audit runs over every staged output, and only then are the briefs
  published (moved into place). A brief that fails the audit is not published.
* **Executors**: anything with ``submit(fn, *args) -> future`` whose futures support
  ``add_done_callback`` and ``result()``: :class:`concurrent.futures.ProcessPoolExecutor`
  (the default) or a Dask ``distributed.Client`` (``executor="dask://HOST:PORT"``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ssp_research.batch import workers
from ssp_research.core import fingerprint, paths
from ssp_research.core.atomic import atomic_write
from ssp_research.core.errors import ParameterError, ReportError

__all__ = [
    "Unit",
    "plan_units",
    "cache_key",
    "prepare_publication",
    "run_batch",
    "load_manifest",
    "BatchSummary",
    "default_out_dir",
]

LEVELS = ("school", "district", "municipality")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Unit:
    """One brief to produce: a unit of a level, with the brief parameters."""

    unit_type: str
    unit: str
    params: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        """Stable identifier of the unit in the manifest (``school:Nidelva skole``)."""
        return f"{self.unit_type}:{self.unit}"


@dataclass
class BatchSummary:
    """What a batch did: counts, the manifest path and per-unit records."""

    ok: int
    failed: int
    cached: int
    seconds: float
    manifest_path: Path
    records: dict

    @property
    def total(self) -> int:
        return self.ok + self.failed + self.cached


# --- planning ---------------------------------------------------------------------------------


def plan_units(
    data_path: str | Path,
    by: str,
    *,
    wave: int | None = None,
    base_params: Mapping | None = None,
    top: str | None = None,
) -> list[Unit]:
    """List the units of ``data_path`` at level ``by``, plus the top unit (city or country).

    Parameters
    ----------
    data_path
        Tidy survey data (Parquet) with the grouping columns of ``docs/synthetic_data.md``.
    by
        ``"school"``, ``"district"`` or ``"municipality"``.
    wave
        Brief wave (default: the latest wave in the data).
    base_params
        Brief parameters shared by all units (framework, language, ...).
    top
        Name of the top unit; default: the single municipality in the data, or ``"Norge"``
        when the data hold several municipalities.

    Returns
    -------
    list of Unit
        The top unit first, then the units sorted by name (a deterministic order).
    """
    import pyarrow.parquet as pq

    if by not in LEVELS:
        raise ParameterError(
            f"unknown level {by!r}", rule=f"--by must be one of {', '.join(LEVELS)}",
            hint="use --by school, --by district or --by municipality",
        )
    data_path = Path(data_path)
    try:
        schema_names = pq.read_schema(data_path).names
    except (OSError, ValueError) as err:
        raise ReportError(f"cannot read the batch data: {err}", file=data_path,
                          hint="give a tidy Parquet file (see `ssp clean`)") from err
    columns = [c for c in ("wave", "municipality", by) if c in schema_names]
    if by not in schema_names:
        raise ReportError(f"the data have no column {by!r}", file=data_path, column=by,
                          hint=f"choose --by among the columns present: {schema_names[:12]}")
    table = pq.read_table(data_path, columns=sorted(set(columns))).to_pandas()
    if wave is None:
        wave = int(table["wave"].max())
    names = sorted(str(u) for u in table.loc[table["wave"] == wave, by].dropna().unique())
    if not names:
        raise ReportError(f"no respondents in wave {wave}", file=data_path, column="wave",
                          hint="choose a wave present in the data")
    municipalities = table["municipality"].dropna().unique() if "municipality" in table else []
    if top is None:
        top = str(municipalities[0]) if len(municipalities) == 1 else "Norge"
    top_type = "city" if len(municipalities) <= 1 else "country"
    base = dict(base_params or {})
    base.update({"data_path": str(data_path), "wave": int(wave)})
    units = [Unit(top_type, top, {**base, "unit_type": top_type, "unit": top})]
    units += [Unit(by, name, {**base, "unit_type": by, "unit": name}) for name in names]
    return units


# --- the batch's publication -------------------------------------------------------------


def prepare_publication(units: list[Unit], out_dir: Path, *, template=None,
                        progress: bool = True) -> dict:
    """Build (or reuse) the protected publication of the whole batch before any brief runs.

    The tables of every unit the batch publishes, at every level (city, districts, schools;
    or country, municipalities, schools), are protected together
    (:func:`ssp_research.disclosure.cache.prepare_publication`, options from the first
    unit's parameters: :func:`ssp_research.render.runner.publication_options`), so secondary
    suppression sees them all. Returns the parameter to add to every unit
    (``publication_path``), or {} when the template takes no publication.
    """
    from ssp_research.disclosure import cache
    from ssp_research.render import runner
    from ssp_research.render.parameters import template_parameters

    template = Path(template or runner.DEFAULT_TEMPLATE)
    if not units or "publication_path" not in template_parameters(template):
        return {}
    top = units[0]
    target = cache.prepare_publication(
        paths.in_project(top.params["data_path"]), Path(out_dir), top_name=top.unit,
        progress=progress, **runner.publication_options(top.params, template))
    return {"publication_path": str(target)}


# --- cache ------------------------------------------------------------------------------------


def params_hash(params: Mapping) -> str:
    """sha256 of the parameters as canonical JSON."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def cache_key(params: Mapping, *, template: Path, dependencies: Iterable[Path] = ()) -> str:
    """The key that decides whether a brief must be rebuilt.

    It hashes the parameters, the data file named by ``params["data_path"]``, the template,
    every extra dependency file (codebook, framework), the library's source fingerprint and
    the versions of :data:`ssp_research.core.fingerprint.CACHE_PACKAGES`.
    """
    parts = {
        "params": params_hash(params),
        "template": fingerprint.sha256_file(Path(template)),
        "library": fingerprint.library_fingerprint(),
        "packages": fingerprint.package_versions(),
        "deps": sorted(fingerprint.sha256_file(Path(p)) for p in dependencies),
    }
    data = params.get("data_path")
    if data:
        parts["data"] = fingerprint.sha256_file(Path(data))
    for name in ("publication_path",):
        if params.get(name):
            parts[name] = fingerprint.sha256_file(Path(params[name]))
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


# --- manifest ---------------------------------------------------------------------------------


def _write_json_atomic(path: Path, payload: object) -> None:
    atomic_write(path, json.dumps(payload, indent=2, ensure_ascii=False, default=str))


def load_manifest(out_dir: str | Path) -> dict:
    """The manifest of a batch directory (``{"units": {...}}``), or an empty one."""
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        return {"units": {}}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ReportError(f"the batch manifest is not valid JSON: {err}", file=path,
                          hint="delete it (the next batch rebuilds every brief) or restore it")


# --- the batch --------------------------------------------------------------------------------


def _slug(text: str) -> str:
    import re
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "unit"


def run_batch(
    units: list[Unit],
    out_dir: str | Path,
    *,
    template: str | Path | None = None,
    dependencies: Iterable[Path] = (),
    executor: object | str | None = None,
    jobs: int | None = None,
    mode: str = "fresh",
    force: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    prepare: Callable[[list[Unit], Path], dict] | None = None,
    audit: Callable[[Path], list] | None = None,
) -> BatchSummary:
    """Run the brief of every unit; see the module docstring for the guarantees.

    Parameters
    ----------
    units
        From :func:`plan_units`.
    out_dir
        Batch directory: ``manifest.json``, ``briefs/`` (published), ``failed/`` (executed
        notebooks of failed units, for debugging) and ``publication/``.
    template
        The brief notebook (default: ``notebooks/briefs/evidence_brief.ipynb``).
    dependencies
        Extra files the cache key covers (codebook, framework).
    executor, jobs
        See :func:`ssp_research.batch.workers.make_executor`; ``jobs`` defaults to the
        number of cores.
    mode
        ``"fresh"`` (a new kernel per brief, forked from a preloaded template process) or
        ``"spawn"`` (a new kernel per brief, started from scratch).
    force, retry_failed
        Ignore the cache / run only the units that failed last time.
    prepare
        Called once with (units, out_dir) before any brief runs; returns parameters to add to
        every unit (:func:`prepare_publication`: the protected publication).
    audit
        Called with the staging directory after all briefs ran; returns findings (objects with
        a ``file`` attribute). Briefs with findings are not published.
    """
    if mode not in workers.MODES:
        raise ParameterError(f"unknown mode {mode!r}", rule=f"mode is one of {workers.MODES}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    template = Path(template or paths.notebooks_dir() / "briefs" / "evidence_brief.ipynb")
    manifest = load_manifest(out_dir)
    records: dict = manifest.setdefault("units", {})
    manifest_path = out_dir / MANIFEST
    staging, published, failed_dir = out_dir / ".staging", out_dir / "briefs", out_dir / "failed"
    started = time.time()

    # Local workers share one kernel template process (mode "fresh"): it loads its modules
    # while the publication is prepared, when some unit is likely to run.
    fork = (workers.SharedForkServer(template) if mode == "fresh" and workers.is_local(executor)
            else None)
    if fork and (force or retry_failed or any(
            records.get(u.key, {}).get("status") not in ("ok", "cached") for u in units)):
        fork.start()
    try:
        extra = prepare(units, out_dir) if prepare else {}
        todo: list[tuple[Unit, dict, str]] = []
        batch_keys: list[str] = []  # units whose briefs this batch publishes
        for unit in units:
            params = {**unit.params, **extra}
            key = cache_key(params, template=template, dependencies=dependencies)
            old = records.get(unit.key, {})
            have_outputs = bool(old.get("outputs")) and all(
                Path(p).exists() for p in old["outputs"].values())
            same = not force and old.get("cache_key") == key and have_outputs
            if retry_failed and old and old.get("status") != "failed":
                continue
            if same and old.get("status") in ("ok", "cached"):
                records[unit.key] = {**old, "status": "cached", "seconds": 0.0}
                continue
            if same and old.get("status") == "staged":  # done by an interrupted run of this batch
                batch_keys.append(unit.key)
                continue
            todo.append((unit, params, key))
            batch_keys.append(unit.key)
        cached = sum(records[u.key]["status"] == "cached" for u in units if u.key in records)

        def on_result(unit: Unit, params: dict, key: str, res: dict) -> None:
            record = {"unit_type": unit.unit_type, "unit": unit.unit, "params": params,
                      "params_hash": params_hash(params), "cache_key": key, **res}
            if record["status"] == "ok":
                record["status"] = "staged"
            else:
                record["outputs"] = {}
                notebook = res.get("notebook")
                if notebook and Path(notebook).exists():
                    failed_dir.mkdir(parents=True, exist_ok=True)
                    target = failed_dir / f"{_slug(unit.key)}.ipynb"
                    os.replace(notebook, target)
                    record["failed_notebook"] = str(target)
            records[unit.key] = record
            _write_json_atomic(manifest_path, manifest)  # resumable after every unit

        if todo:
            workers.execute_all(todo, lambda unit: staging / _slug(unit.key), executor, jobs,
                                mode, progress, cached, len(units), template,
                                on_result, fork.start() if fork else None)

        # One publication: audit every staged output of the batch before publishing any.
        staged = [k for k in batch_keys if records.get(k, {}).get("status") == "staged"]
        findings_by_file: dict[str, list] = {}
        if audit and staged:
            for finding in audit(staging, ledger=paths.ledger_dir()):
                findings_by_file.setdefault(str(Path(finding.file).resolve()), []).append(finding)
        for k in staged:
            record = records[k]
            bad = [f for p in record["outputs"].values()
                   for f in findings_by_file.get(str(Path(p).resolve()), [])]
            if bad:
                record.update(status="failed", outputs={}, error="disclosure audit: " + "; ".join(
                    f"{Path(f.file).name}: {getattr(f, 'rule', '')} {getattr(f, 'detail', '')}"
                    for f in bad[:5]))
            else:
                record.update(status="ok", outputs=_publish(record["outputs"], published))
        shutil.rmtree(staging, ignore_errors=True)

        manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        _write_json_atomic(manifest_path, manifest)
        statuses = [records[u.key]["status"] for u in units if u.key in records]
        return BatchSummary(
            ok=statuses.count("ok"), failed=statuses.count("failed"),
            cached=statuses.count("cached"), seconds=time.time() - started,
            manifest_path=manifest_path, records=records,
        )
    finally:
        if fork:
            fork.close()


def _publish(outputs: dict, published: Path) -> dict:
    """Move staged outputs into place (atomic renames on one file system).

    The HTML and PDF go to the published folder (``briefs/``); the executed notebook, which
    holds working output the HTML leaves out, goes to ``notebooks/`` beside it (for the
    analysts and ``ssp rerun``, not for publication).
    """
    moved = {}
    for kind, src in outputs.items():
        src = Path(src)
        folder = published if kind in ("html", "pdf") else published.parent / "notebooks"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / src.name
        os.replace(src, target)
        moved[kind] = str(target)
    return moved


def summary_records(summary: BatchSummary) -> list[dict]:
    """Per-unit rows of a batch (unit, status, seconds, error) for printing."""
    return [
        {k: rec.get(k) for k in ("unit_type", "unit", "status", "seconds", "error")}
        for rec in summary.records.values()
    ]



def default_out_dir() -> Path:
    """``<output>/batch``: where ``ssp batch`` writes unless told otherwise."""
    return paths.output_dir() / "batch"
