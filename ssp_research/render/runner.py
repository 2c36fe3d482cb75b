"""One evidence brief: validate, execute, export, audit, publish.

The brief is a papermill template (``notebooks/briefs/evidence_brief.ipynb``): one cell tagged
``parameters`` holds typed literals with a comment each; the rest is narrative and library
calls. :func:`run_brief` validates the parameters, executes the template in a fresh kernel
(:func:`ssp_research.render.execution.execute`), exports the executed notebook to a
self-contained HTML page and a PDF (:mod:`ssp_research.render.export`), runs the disclosure
audit over everything it is about to publish, and only then moves the files into place.

Notebook contract
-----------------
* Markdown cells tagged ``lang-nb`` or ``lang-en`` are kept only in the brief of that language.
* Cells tagged ``remove-cell`` are dropped, outputs of cells tagged ``remove-output`` are
  dropped; the ``parameters`` and ``injected-parameters`` cells never appear; stderr never does.
* Figures are shown with :func:`ssp_research.brief.theme.show`, which stores the alt text in
  the output metadata (``metadata["image/png"]["alt"]``); the export writes it to ``<img alt>``.

Examples
--------
>>> brief_stem({"unit": "Heimdal", "wave": 2025, "lang": "en"})
'heimdal_2025_en'
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ssp_research.core import paths
from ssp_research.core.atomic import atomic_write
from ssp_research.core.errors import ReportError
from ssp_research.render.execution import execute
from ssp_research.render.export import export_html, export_pdf
from ssp_research.render.parameters import template_parameters, validate_parameters
from ssp_research.render.provenance import provenance

__all__ = [
    "BriefResult",
    "DEFAULT_TEMPLATE",
    "PUPILS_TEMPLATE",
    "brief_stem",
    "publication_options",
    "run_brief",
    "refresh_templates",
]

DEFAULT_TEMPLATE = paths.notebooks_dir() / "briefs" / "evidence_brief.ipynb"
#: The pupils' version ("Dette fortalte dere"), ``ssp brief --audience pupils``.
PUPILS_TEMPLATE = paths.notebooks_dir() / "briefs" / "pupils_brief.ipynb"
_CITY_LEVELS = ("city", "district", "school")



@dataclass(frozen=True)
class BriefResult:
    """Paths of a published brief, its provenance stamp and the wall time it took."""

    html_path: Path
    pdf_path: Path
    notebook_path: Path
    provenance: dict = field(repr=False)
    seconds: float = 0.0


# --- execution -------------------------------------------------------------------------------


# --- provenance and helpers --------------------------------------------------------------------


def brief_stem(params: dict, *, default_framework: str | None = None) -> str:
    """``<unit-slug>_<wave>_<lang>``: the file stem of a brief (``_pupils`` appended for the
    pupils' version, ``_pool3`` for a pooled brief and ``_<framework>`` for a strategy other
    than the template's default, so that none of them overwrites another in one folder).

    Examples
    --------
    >>> brief_stem({"unit": "Østbyen skole", "wave": 2025, "lang": "nb"})
    'ostbyen-skole_2025_nb'
    >>> brief_stem({"unit": "Østbyen skole", "wave": 2025, "lang": "nb", "audience": "pupils"})
    'ostbyen-skole_2025_nb_pupils'
    >>> brief_stem({"unit": "Lade", "wave": 2025, "lang": "nb", "pool": 3,
    ...             "framework": "lillestrom"}, default_framework="trondheim_ssp")
    'lade_2025_nb_pool3_lillestrom'
    """
    table = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "ae", "Ø": "o", "Å": "a"})
    slug = re.sub(r"[^a-z0-9]+", "-", str(params.get("unit", "unit")).translate(table)
                  .lower()).strip("-") or "unit"
    audience = "_pupils" if params.get("audience") == "pupils" else ""
    pool = f"_pool{int(params['pool'])}" if int(params.get("pool") or 1) > 1 else ""
    framework = str(params.get("framework") or "")
    other = ""
    if framework and default_framework and framework != default_framework:
        other = "_" + (re.sub(r"[^a-z0-9]+", "-", Path(framework).stem.translate(table).lower())
                       .strip("-") or "framework")
    return f"{slug}_{params.get('wave')}_{params.get('lang')}{pool}{other}{audience}"


def _pooled_waves(data_path, wave: int, pool: int) -> list[int]:
    """The waves of a pooled window: the ``pool`` latest waves up to ``wave`` in the data."""
    import pyarrow.parquet as pq

    waves = sorted(set(pq.read_table(paths.in_project(data_path), columns=["wave"])
                       .column("wave").to_pylist()))
    return [w for w in waves if w <= wave][-pool:]


def brief_title(params: dict, *, default_framework: str | None = None) -> str | None:
    """The brief's title when it differs from the plain "<kind>: <unit>, <wave>": a pooled
    brief names its years ("2021–2025"), a strategy other than the template's default names
    the strategy. None otherwise (the export's default title)."""
    from ssp_research.analysis.frameworks import load_framework
    from ssp_research.render.export import TEXTS as EXPORT_TEXTS

    lang = params.get("lang", "nb")
    pool = int(params.get("pool") or 1)
    framework = str(params.get("framework") or "")
    other = bool(framework and default_framework and framework != default_framework)
    if pool <= 1 and not other:
        return None
    key = "pupils_title" if params.get("audience") == "pupils" else "title"
    years = str(params.get("wave"))
    if pool > 1 and params.get("data_path") and params.get("wave") is not None:
        waves = _pooled_waves(params["data_path"], int(params["wave"]), pool)
        years = f"{waves[0]}–{waves[-1]}" if len(waves) > 1 else str(waves[0])
    title = EXPORT_TEXTS[lang][key].format(unit=params.get("unit", ""), wave=years)
    if other:
        fw = load_framework(framework)
        title += " – " + (fw.title.get(lang) or next(iter(fw.title.values())))
    return title


def _latest_wave(data_path) -> int:
    """The latest wave of a tidy Parquet file: from its column statistics (the footer, no data
    read) when every row group has them, else from the column itself."""
    import pyarrow.parquet as pq

    path = paths.in_project(data_path)
    try:
        meta = pq.ParquetFile(path)
        col = meta.schema_arrow.get_field_index("wave")
        if col < 0:
            raise KeyError("no column 'wave'")
        stats = [meta.metadata.row_group(g).column(col).statistics
                 for g in range(meta.metadata.num_row_groups)]
        if stats and all(st is not None and st.has_min_max for st in stats):
            return int(max(st.max for st in stats))
        waves = meta.read(columns=["wave"]).column("wave").drop_null().to_pylist()
    except Exception as err:  # noqa: BLE001 - unreadable data is reported as such
        raise ReportError(f"cannot read the waves of {path}: {err}", file=path,
                          hint="check data_path (a tidy .parquet with a 'wave' column)") from None
    if not waves:
        raise ReportError("the data have no rows", file=path)
    return int(max(waves))


def publication_options(params: dict, template=None) -> dict:
    """The options of the protected publication that a brief with ``params`` reads: the
    keyword arguments of :func:`ssp_research.disclosure.cache.prepare_publication` (besides
    the data and the folder), from the brief's parameters and the template's defaults."""
    spec = template_parameters(template or DEFAULT_TEMPLATE)

    def get(name, default):
        return params.get(name, spec[name].default if name in spec else default)

    top_type = "city" if params.get("unit_type", "city") in _CITY_LEVELS else "country"
    return {"instrument": get("instrument", "ungdata"), "rules": get("disclosure", {}) or None,
            "pool": int(get("pool", 1) or 1), "standardise": bool(get("standardise", False)),
            "framework": get("framework", "trondheim_ssp") if top_type == "city" else None,
            "top_type": top_type}


# --- the whole brief -------------------------------------------------------------------------


def _audit(paths_: list[Path]) -> list:
    """Run the disclosure audit (:func:`~ssp_research.disclosure.audit`) over files to publish,
    each table's cells looked up in its dataset's release ledger."""
    from ssp_research.disclosure.auditing import audit

    findings = []
    for p in paths_:
        findings.extend(audit(p, ledger=paths.ledger_dir()))
    return findings


def run_brief(params: dict | None = None, *, template=DEFAULT_TEMPLATE, out_dir=None,
              pdf: bool = True, progress: bool = False, launcher=None,
              created_utc: str | None = None) -> BriefResult:
    """Execute, export, audit and publish one evidence brief.

    Parameters
    ----------
    params : dict, optional
        Overrides of the template's defaults (see :func:`template_parameters`). A ``wave`` of
        None means the latest wave in the data.
    template : path
        The notebook template (default ``notebooks/briefs/evidence_brief.ipynb``).
    out_dir : path, optional
        Default ``paths.output_dir() / "briefs"``.
    pdf : bool
        Also write the PDF.
    progress : bool
        Per-cell progress bar.
    launcher : object, optional
        Starts the kernel (see :func:`execute`; batches fork it).
    created_utc : str, optional
        The time in the provenance stamp (ISO 8601); default ``SOURCE_DATE_EPOCH`` or now.
        ``ssp rerun`` gives the original's, so a reproduction is byte-identical.

    Returns
    -------
    BriefResult
        ``html_path``, ``pdf_path``, ``notebook_path`` (``<unit-slug>_<wave>_<lang>.*``),
        ``provenance`` and ``seconds`` (wall time).

    Raises
    ------
    ParameterError
        Bad parameters (before any kernel starts).
    ReportError
        A failing cell (the executed notebook is kept as ``<stem>.failed.ipynb``), or
        disclosure findings (nothing is published; the findings are listed).

    Notes
    -----
    The brief reads its city's protected publication (``publication_path``; when empty, the
    brief reuses or builds it in the shared cache: :func:`ssp_research.brief.content.load`).
    """
    t0 = time.perf_counter()
    template = Path(template)
    params = validate_parameters(template, params)
    if "wave" in params and params["wave"] is None and "data_path" in params:
        params["wave"] = _latest_wave(params["data_path"])
    out_dir = Path(out_dir) if out_dir is not None else paths.output_dir() / "briefs"
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = template_parameters(template)
    default_framework = spec["framework"].default if "framework" in spec else None
    stem = brief_stem(params, default_framework=default_framework)
    stage = Path(tempfile.mkdtemp(prefix=f".{stem}.", dir=out_dir))
    try:
        nb_path = stage / f"{stem}.ipynb"
        try:
            nb = execute(template, params, nb_path, progress=progress, launcher=launcher)
        except ReportError as err:
            failed = out_dir / f"{stem}.failed.ipynb"
            if nb_path.exists():
                os.replace(nb_path, failed)
            error = ReportError(err.message, file=failed, rule=err.rule,
                                hint=f"open {failed} to see the traceback")
            error.cell_index = getattr(err, "cell_index", None)
            error.notebook_path = failed
            raise error from None
        stamp = provenance(params, params.get("data_path", ""), template,
                           created_utc=created_utc)
        html = export_html(nb, params.get("lang", "nb"), params, provenance=stamp,
                           audience=params.get("audience", "adults"),
                           title=brief_title(params, default_framework=default_framework))
        outputs = {"html": stage / f"{stem}.html", "ipynb": nb_path}
        atomic_write(outputs["html"], html)
        if pdf:
            outputs["pdf"] = stage / f"{stem}.pdf"
            atomic_write(outputs["pdf"], export_pdf(html))
        findings = _audit(list(outputs.values()))
        if findings:
            listed = "\n  ".join(map(str, findings[:20]))
            raise ReportError(
                f"the disclosure audit found {len(findings)} problem(s); nothing was "
                f"published:\n  {listed}", rule="every output passes the disclosure audit",
                hint="protect the tables with ssp_research.disclosure.suppression.protect",
            )  # fmt: skip
        final = {k: out_dir / p.name for k, p in outputs.items()}
        for k, p in outputs.items():
            os.replace(p, final[k])
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return BriefResult(final["html"], final.get("pdf"), final["ipynb"], stamp,
                       time.perf_counter() - t0)


@contextlib.contextmanager
def first_release():
    """Run as a first release: a fresh, temporary output folder and no ledger folder set, so
    that a committed run never depends on this machine's history (its earlier releases)."""
    saved = {k: os.environ.get(k) for k in ("SSP_OUTPUT_DIR", "SSP_LEDGER_DIR")}
    with tempfile.TemporaryDirectory() as output:
        os.environ["SSP_OUTPUT_DIR"] = output
        os.environ.pop("SSP_LEDGER_DIR", None)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def rewrite_in_place(template: Path, params: dict, *, progress: bool = False):
    """Execute ``template`` with ``params`` as a first release and write the run over the
    template; a failing cell raises :class:`ReportError` and leaves the file unchanged."""
    template = Path(template)
    with tempfile.TemporaryDirectory(dir=template.parent) as tmp, first_release():
        out = Path(tmp) / template.name
        nb = execute(template, params, out, progress=progress)
        nb.metadata["papermill"]["output_path"] = paths.portable(template)
        strip_timings(nb)
        nbformat.write(nb, out)  # in place: not the temporary folder it ran in
        os.replace(out, template)
    return nb


def strip_timings(nb) -> None:
    """Drop what changes with every run and says nothing of the analysis: papermill's and
    Jupyter's timings (cell ``execution`` and ``papermill`` metadata, the run's start, end and
    duration) and the new id papermill gives its parameters cell, so that a committed rerun
    differs from the last one only where the cells do."""
    for key in ("start_time", "end_time", "duration", "exception"):
        nb.metadata.get("papermill", {}).pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"  # papermill draws a new one on every run


def refresh_templates(templates=None, *, progress: bool = False) -> list[Path]:
    """Re-execute brief templates with their defaults and write the runs back in place.

    The committed templates in ``notebooks/briefs/`` hold their default run on the shipped
    synthetic data (``pytest --nbval-lax`` checks the cells tagged ``nbval-check-output``);
    run this after the data, the library or a template changed (``ssp brief --refresh``).
    ``wave=None`` is resolved to the latest wave first. They run as a first release (a fresh,
    temporary output folder and ledger), so they never depend on this machine's history. A
    failing template raises :class:`~ssp_research.core.errors.ReportError` and leaves the
    committed file unchanged.

    Returns
    -------
    list of Path
        The templates rewritten.
    """
    templates = [Path(t) for t in (templates or sorted(
        (paths.notebooks_dir() / "briefs").glob("*.ipynb")))]
    done = []
    for template in templates:
        params = validate_parameters(template, {})
        if params.get("wave", 0) is None and "data_path" in params:
            params["wave"] = _latest_wave(params["data_path"])
        rewrite_in_place(template, params, progress=progress)
        done.append(template)
    return done
