"""Evidence briefs: validate parameters, execute the notebook template, export, audit, publish.

The brief is a papermill template (``notebooks/briefs/evidence_brief.ipynb``): one cell tagged
``parameters`` holds typed literals with a comment each; the rest is narrative and library
calls. This module runs it **in-process** with papermill (one fresh kernel per brief, shut
down with ``shutdown_kernel="immediate"``, which avoids nbclient's multi-second graceful
shutdown), exports the executed notebook to a self-contained HTML page (no code, no scripts,
images inline, parameters in the header; see :mod:`ssp_research.export`) and a PDF
(weasyprint), runs the disclosure audit over everything it is about to publish, and only then
moves the files into place atomically.

Public API (batch runs build on it)::

    template_parameters(template)            -> {name: Parameter(type, default, comment)}
    validate_parameters(template, params)    -> full, checked parameter dict
    parse_cli_parameters(template, ["k=v"])  -> {name: typed value}
    execute(template, params, out_notebook)  -> executed NotebookNode (ReportError on failure)
    export_html(nb, lang, parameters)        -> str      (from ssp_research.export)
    export_pdf(html)                         -> bytes    (from ssp_research.export)
    provenance(params, data_path, template)  -> dict
    run_brief(params)                        -> BriefResult(html_path, pdf_path, notebook_path,
                                                            provenance, seconds)
    refresh_templates()                      -> re-execute the committed default runs

Notebook contract
-----------------
* Markdown cells tagged ``lang-nb`` or ``lang-en`` are kept only in the brief of that language.
* Cells tagged ``remove-cell`` are dropped, outputs of cells tagged ``remove-output`` are
  dropped; the ``parameters`` and ``injected-parameters`` cells never appear; stderr never does.
* Figures are shown with :func:`ssp_research.plots.show`, which stores the alt text in the
  output metadata (``metadata["image/png"]["alt"]``); the export writes it to ``<img alt>``.

Examples
--------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook()
>>> source = 'wave: int = 2025  # survey wave\\nlang: str = "nb"  # nb or en'
>>> cell = nbformat.v4.new_code_cell(source)
>>> cell.metadata["tags"] = ["parameters"]
>>> nb.cells = [cell]
>>> spec = template_parameters(nb)
>>> spec["wave"]
Parameter(type=<class 'int'>, default=2025, comment='survey wave')
>>> validate_parameters(nb, {"lang": "en"})
{'wave': 2025, 'lang': 'en'}
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ssp_research import brief_ahead, paths
from ssp_research.errors import ParameterError, ReportError, SSPError
from ssp_research.export import atomic_write, export_html, export_pdf, provenance
from ssp_research.parameters import (
    Parameter,
    _load_nb,
    parse_cli_parameters,
    template_parameters,
    validate_parameters,
)

__all__ = [
    "Parameter",
    "BriefResult",
    "DEFAULT_TEMPLATE",
    "template_parameters",
    "validate_parameters",
    "parse_cli_parameters",
    "execute",
    "export_html",
    "export_pdf",
    "provenance",
    "resolve_data_path",
    "brief_stem",
    "run_brief",
    "refresh_templates",
]

DEFAULT_TEMPLATE = paths.notebooks_dir() / "briefs" / "evidence_brief.ipynb"
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


def execute(template, params: dict | None, out_notebook, *, kernel_name: str = "python3",
            cwd=None, progress: bool = False, forkserver=None, kernel_env: dict | None = None,
            **engine_kwargs) -> nbformat.NotebookNode:
    """Execute a template with papermill in this process, in a fresh kernel.

    Parameters
    ----------
    template : path
        The notebook template.
    params : dict or None
        Parameters; validated with :func:`validate_parameters` before the kernel starts.
    out_notebook : path
        Where the executed notebook is written (also when a cell fails).
    kernel_name : str
        Jupyter kernel.
    cwd : path, optional
        Working directory of the kernel (default: the project directory).
    progress : bool
        Show papermill's per-cell progress bar.
    forkserver : ssp_research.forkserver.ForkServer, optional
        Fork the fresh kernel from this preloaded template process instead of starting it
        (batches; see :mod:`ssp_research.forkserver`).
    kernel_env : dict, optional
        Extra environment variables of the fresh kernel (this process's environment is not
        changed).
    **engine_kwargs
        Passed to ``papermill.execute_notebook`` (e.g. ``engine_name`` and the warm kernel of
        :mod:`ssp_research.kernels`); without them a fresh kernel is started.

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook.

    Raises
    ------
    ReportError
        A cell failed: the message names the cell index, its first source line, the exception
        name and value, and where the executed notebook was kept.

    Notes
    -----
    The kernel uses IPC transport in a private temporary directory (no TCP port, and no
    "running over TCP without encryption" warning) and is killed right after the last cell.
    It runs with one BLAS/OpenMP thread (``OPENBLAS_NUM_THREADS=1`` etc., unless set in the
    environment): measured here, a 25,685 x 31 weighted cross-product took 0.008 s with one
    thread and 0.03-1.8 s with OpenBLAS threads competing with other processes.
    """
    import papermill as pm
    from jupyter_core.utils import run_sync
    from papermill.exceptions import PapermillExecutionError

    from ssp_research.kernel_manager import kernel_manager
    from ssp_research.kernels import ENGINE  # (this import registers the papermill engines)

    params = validate_parameters(template, params)
    if kernel_env and "engine_name" in engine_kwargs:
        raise ParameterError("kernel_env is for fresh kernels (no engine_name)",
                             rule="a warm kernel's environment is set when it starts")
    out_notebook = Path(out_notebook)
    out_notebook.parent.mkdir(parents=True, exist_ok=True)
    ipc_dir = tempfile.mkdtemp(prefix="ssp-kernel-")
    if "engine_name" not in engine_kwargs:
        env = {"SSP_BRIEF_KERNEL": "1", **(kernel_env or {})}  # one notebook: brief.KERNEL_ENV
        engine_kwargs["engine_name"] = ENGINE  # writes the notebook once, not twice per cell
        # an async manager (a dead kernel is noticed), forking from the fork server if given
        engine_kwargs["km"] = kernel_manager(forkserver, env=env,
                                             kernel_name=kernel_name, transport="ipc",
                                             ip=os.path.join(ipc_dir, "k"))
        engine_kwargs["shutdown_kernel"] = "immediate"
    quiet = [logging.getLogger(n) for n in ("papermill", "papermill.translators")]
    levels = [q.level for q in quiet]
    for q in quiet:  # papermill's own type guessing warns about annotations it cannot read
        q.setLevel(logging.ERROR)
    try:
        return pm.execute_notebook(
            str(template), str(out_notebook), parameters=params, kernel_name=kernel_name,
            progress_bar=progress, cwd=str(cwd or paths.PROJECT_DIR), log_output=False,
            **engine_kwargs,
        )  # fmt: skip
    except PapermillExecutionError as err:
        first = next((ln for ln in (err.source or "").splitlines() if ln.strip()), "")
        cells = _load_nb(template).cells
        index = next((i for i, c in enumerate(cells) if c.source == err.source), err.cell_index)
        error = ReportError(
            f"cell {index} of the template (In [{err.exec_count}]) failed: "
            f"{err.ename}: {err.evalue}"
            f" | source: {first[:120]}",
            file=out_notebook, rule="every cell of the brief must run",
            hint=f"open the executed notebook {out_notebook} to see the traceback",
        )  # fmt: skip
        error.cell_index, error.ename, error.evalue = index, err.ename, err.evalue
        error.notebook_path = out_notebook
        raise error from None
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)
        km = engine_kwargs.get("km")
        if km is not None and km.has_kernel:  # nbclient leaves a kernel it did not start
            run_sync(km.shutdown_kernel)(now=True)
        if hasattr(km, "release"):
            km.release()  # ZeroMQ contexts and their descriptors, now, not at GC
        shutil.rmtree(ipc_dir, ignore_errors=True)


# --- provenance and helpers --------------------------------------------------------------------


def resolve_data_path(data_path) -> Path:
    """A data path from parameters: absolute as given, relative to the project directory.

    Examples
    --------
    >>> resolve_data_path("data/synthetic/trondheim.parquet").name
    'trondheim.parquet'
    """
    p = Path(data_path)
    return p if p.is_absolute() else paths.PROJECT_DIR / p


def brief_stem(params: dict) -> str:
    """``<unit-slug>_<wave>_<lang>``: the file stem of a brief.

    Examples
    --------
    >>> brief_stem({"unit": "Østbyen skole", "wave": 2025, "lang": "nb"})
    'ostbyen-skole_2025_nb'
    """
    table = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "ae", "Ø": "o", "Å": "a"})
    slug = re.sub(r"[^a-z0-9]+", "-", str(params.get("unit", "unit")).translate(table)
                  .lower()).strip("-") or "unit"
    return f"{slug}_{params.get('wave')}_{params.get('lang')}"


def _latest_wave(data_path) -> int:
    import pyarrow.parquet as pq

    path = resolve_data_path(data_path)
    try:
        waves = pq.read_table(path, columns=["wave"]).column("wave").to_pylist()
    except Exception as err:  # noqa: BLE001 - unreadable data is reported as such
        raise ReportError(f"cannot read the waves of {path}: {err}", file=path,
                          hint="check data_path (a tidy .parquet with a 'wave' column)") from None
    if not waves:
        raise ReportError("the data have no rows", file=path)
    return int(max(waves))


# --- the whole brief -------------------------------------------------------------------------


def _cached_publication(params: dict, template: Path) -> str:
    """The protected publication of the brief's city, built once and cached on disk.

    Uses the batch's builder and cache key
    (:func:`~ssp_research.publication_cache.prepare_publication`: data sha256, instrument, rules,
    pooling, library and package versions), so a single brief hides exactly what a batch
    hides, and a second brief of the same city and data skips the build. The cache is
    ``paths.output_dir() / "cache"``. (:func:`run_brief` does the same, building while the
    kernel starts.)
    """
    from ssp_research import publication_cache

    unit = brief_ahead.city_unit(params, template)
    if unit is None:
        return ""
    extra = publication_cache.prepare_publication([unit], paths.output_dir() / "cache")
    return extra.get("publication_path", "")


def _audit(paths_: list[Path]) -> list:
    """Run the disclosure audit (:func:`ssp_research.audit.audit`) over files to publish."""
    from ssp_research.audit import audit

    findings = []
    for p in paths_:
        findings.extend(audit(p))
    return findings


def _gc_frozen(func):
    """Run ``func`` with the objects that exist when it starts left out of garbage
    collection (``gc.freeze``): a full collection of a busy process (a notebook session,
    a scheduler) scans every object and paused a brief's work for 0.2 s."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gc.freeze()
        try:
            return func(*args, **kwargs)
        finally:
            gc.unfreeze()

    return wrapper


@_gc_frozen
def run_brief(params: dict | None = None, *, template=DEFAULT_TEMPLATE, out_dir=None,
              pdf: bool = True, progress: bool = False, precompute: bool | None = None,
              **engine_kwargs) -> BriefResult:
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
    precompute : bool, optional
        Compute the brief's statistics in this process while the kernel starts
        (:mod:`ssp_research.brief_stats`); default: for a single brief (no engine arguments),
        not in batches, whose workers keep every core busy.
    **engine_kwargs
        Passed to :func:`execute` (batch runs use them for warm kernels).

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
    When the template declares ``publication_path`` and it is empty, the protected
    publication of the unit's city is reused, or built when its inputs changed, in the cache
    of ``paths.output_dir()``, exactly as ``ssp batch`` builds it: in this process, while the
    kernel starts and imports (the brief waits for it in :func:`ssp_research.brief.load`).
    """
    t0 = time.perf_counter()
    precompute = not engine_kwargs if precompute is None else precompute
    template = Path(template)
    params = validate_parameters(template, params)
    if "wave" in params and params["wave"] is None and "data_path" in params:
        params["wave"] = _latest_wave(params["data_path"])
    # the city's publication: checked (built when not current) while the kernel starts
    build = params.get("publication_path") == "" and params.get("unit_type") in _CITY_LEVELS
    if build:
        params["publication_path"] = str(paths.publication_file(paths.output_dir() / "cache"))
    out_dir = Path(out_dir) if out_dir is not None else paths.output_dir() / "briefs"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = brief_stem(params)
    stage = Path(tempfile.mkdtemp(prefix=f".{stem}.", dir=out_dir))
    ahead = None
    try:
        nb_path = stage / f"{stem}.ipynb"
        # While the kernel starts and runs, this process is idle: build the city's
        # publication if needed, compute the brief's statistics and draw its figures (one
        # brief: the other core is free), and load the exporters. The kernel's start comes
        # first: what starts it is imported before that work competes with it.
        import papermill  # noqa: F401

        from ssp_research import kernel_manager, kernels  # noqa: F401

        ahead = brief_ahead.Ahead(params, template, stage, build=build, stats=precompute)
        ahead.start()
        try:
            nb = execute(template, params, nb_path, progress=progress,
                         kernel_env=ahead.environment(), **engine_kwargs)
        except ReportError as err:
            ahead.finish()
            if ahead.error is not None:  # the publication could not be built: the cause
                if isinstance(ahead.error, SSPError) or not isinstance(ahead.error, Exception):
                    raise ahead.error from None
                raise ReportError(
                    "the city's protected publication could not be built: "
                    f"{type(ahead.error).__name__}: {ahead.error}",
                    file=params.get("data_path"), rule="a brief reads its city's publication",
                    hint="check the data (docs/synthetic_data.md), or run ssp publication "
                    "on it to see where it fails") from ahead.error
            failed = out_dir / f"{stem}.failed.ipynb"
            if nb_path.exists():
                os.replace(nb_path, failed)
            error = ReportError(err.message, file=failed, rule=err.rule,
                                hint=f"open {failed} to see the traceback")
            error.cell_index = getattr(err, "cell_index", None)
            error.notebook_path = failed
            raise error from None
        ahead.finish()  # the exporters are loaded; figures not shown are not drawn
        stamp = provenance(params, params.get("data_path", ""), template)
        html = export_html(nb, params.get("lang", "nb"), params, provenance=stamp)
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
                hint="protect the tables with ssp_research.disclosure.protect",
            )  # fmt: skip
        final = {k: out_dir / p.name for k, p in outputs.items()}
        for k, p in outputs.items():
            os.replace(p, final[k])
    finally:
        if ahead is not None:
            ahead.finish()  # never writing into a removed folder
        shutil.rmtree(stage, ignore_errors=True)
    return BriefResult(final["html"], final.get("pdf"), final["ipynb"], stamp,
                       time.perf_counter() - t0)


def refresh_templates(templates=None, *, progress: bool = False) -> list[Path]:
    """Re-execute brief templates with their defaults and write the runs back in place.

    The committed templates in ``notebooks/briefs/`` hold their default run on the shipped
    synthetic data (``pytest --nbval-lax`` checks the cells tagged ``nbval-check-output``);
    run this after the data, the library or a template changed (``ssp brief --refresh``).
    ``wave=None`` is resolved to the latest wave first. A failing template raises
    :class:`~ssp_research.errors.ReportError` and leaves the committed file unchanged.

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
        with tempfile.TemporaryDirectory(dir=template.parent) as tmp:
            out = Path(tmp) / template.name
            execute(template, params, out, progress=progress)
            os.replace(out, template)
        done.append(template)
    return done

