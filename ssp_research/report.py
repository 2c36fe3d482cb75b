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

import ast
import logging
import os
import re
import shutil
import tempfile
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, Optional

import nbformat

from ssp_research import paths
from ssp_research.errors import ParameterError, ReportError
from ssp_research.export import atomic_write, export_html, export_pdf, provenance

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
]

DEFAULT_TEMPLATE = paths.notebooks_dir() / "briefs" / "evidence_brief.ipynb"
_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")



class Parameter(NamedTuple):
    """One declared notebook parameter: its type, default value and comment."""

    type: Any
    default: Any
    comment: str


@dataclass(frozen=True)
class BriefResult:
    """Paths of a published brief, its provenance stamp and the wall time it took."""

    html_path: Path
    pdf_path: Path
    notebook_path: Path
    provenance: dict = field(repr=False)
    seconds: float = 0.0


# --- parameters ------------------------------------------------------------------------------

_TYPE_NAMES = {
    "str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict,
    "tuple": tuple, "None": type(None), "Literal": Literal, "Optional": Optional,
    "Any": Any,
}  # fmt: skip


def _load_nb(template) -> nbformat.NotebookNode:
    if isinstance(template, nbformat.NotebookNode):
        return template
    path = Path(template)
    if not path.is_file():
        raise ReportError(
            "notebook template not found", file=path,
            hint="give the path of a .ipynb template, e.g. notebooks/briefs/evidence_brief.ipynb",
        )  # fmt: skip
    return nbformat.read(path, as_version=4)


def _eval_annotation(node: ast.expr, source: str, where: str):
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    try:
        return eval(compile(ast.Expression(node), where, "eval"), {"__builtins__": {}}, _TYPE_NAMES)
    except Exception as err:  # noqa: BLE001 - any failure means an unsupported annotation
        raise ParameterError(
            f"unsupported type annotation {text!r} in the parameters cell ({err})",
            file=where, rule="annotations: str, int, float, bool, list[..], dict[..], "
            "X | None, Literal[..]", hint="use one of the supported annotations",
        ) from None


def template_parameters(template) -> dict[str, Parameter]:
    """The parameters declared in a template's ``parameters`` cell.

    Parameters
    ----------
    template : path or nbformat.NotebookNode
        The notebook template.

    Returns
    -------
    dict
        ``{name: Parameter(type, default, comment)}`` in declaration order: ``type`` is the
        evaluated annotation (``int``, ``str | None``, ``dict[str, int]``, ``Literal[...]``),
        ``default`` the literal value, ``comment`` the trailing ``# comment`` of the line.

    Notes
    -----
    The cell is parsed with :mod:`ast`, never executed. Every statement must be an annotated
    assignment of a literal (``name: type = literal  # comment``) or ``from typing import
    ...``; anything else is a :class:`~ssp_research.errors.ParameterError`, because papermill
    would silently accept it.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> c = nbformat.v4.new_code_cell("unit: str | None = None  # None: the whole city")
    >>> c.metadata["tags"] = ["parameters"]
    >>> nb.cells = [c]
    >>> template_parameters(nb)["unit"].comment
    'None: the whole city'
    """
    nb = _load_nb(template)
    where = str(template) if not isinstance(template, nbformat.NotebookNode) else "<notebook>"
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(
            f"the template has {len(cells)} cells tagged 'parameters', expected exactly one",
            file=where, hint="tag one code cell 'parameters' (View > Cell tags in JupyterLab)",
        )  # fmt: skip
    source = cells[0].source
    lines = source.splitlines()
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ParameterError(f"the parameters cell is not valid Python: {err.msg}",
                             file=where, row=err.lineno) from None
    spec: dict[str, Parameter] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "typing":
            continue  # `from typing import Literal` is allowed (annotations are evaluated)
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                and stmt.value is not None):
            raise ParameterError(
                "the parameters cell may only hold annotated literal assignments",
                file=where, row=stmt.lineno, rule="name: type = literal  # comment",
                hint="move derived values to the next cell",
            )  # fmt: skip
        try:
            default = ast.literal_eval(stmt.value)
        except ValueError:
            raise ParameterError(
                f"parameter {stmt.target.id!r} has a non-literal default",
                file=where, row=stmt.lineno, rule="defaults are literals",
                hint="use a literal (number, string, list, dict, None)",
            ) from None
        tp = _eval_annotation(stmt.annotation, source, where)
        line = lines[stmt.end_lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line[stmt.end_col_offset:] else ""
        name = stmt.target.id
        if not _matches(default, tp):
            raise ParameterError(
                f"default of {name!r} does not match its type {_type_name(tp)}",
                file=where, row=stmt.lineno,
            )  # fmt: skip
        spec[name] = Parameter(tp, default, comment)
    return spec


def _type_name(tp) -> str:
    if isinstance(tp, type) and not typing.get_args(tp):
        return "None" if tp is type(None) else tp.__name__
    return str(tp).replace("typing.", "")


def _matches(value, tp) -> bool:
    if tp is Any:
        return True
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType")):
        return any(_matches(value, a) for a in args)
    if origin in (list, tuple, set):
        if not isinstance(value, origin):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(args) == len(value) and all(map(_matches, value, args))
        return not args or all(_matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and (not args or all(
            _matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items()))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def _listing(spec: dict[str, Parameter]) -> str:
    return "; ".join(f"{n}: {_type_name(p.type)} = {p.default!r}" for n, p in spec.items())


def validate_parameters(template, params: dict | None) -> dict:
    """Check parameters against the template's declared types before any kernel starts.

    Parameters
    ----------
    template : path or nbformat.NotebookNode
        The notebook template.
    params : dict or None
        Overrides of the defaults.

    Returns
    -------
    dict
        Every declared parameter (defaults merged with ``params``), in declaration order;
        ints given for ``float`` parameters become floats.

    Raises
    ------
    ParameterError
        An unknown name or a value of the wrong type; the message lists every valid parameter
        with its type and default (papermill itself only warns about unknown names).

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> c = nbformat.v4.new_code_cell("wave: int = 2025  # survey wave")
    >>> c.metadata["tags"] = ["parameters"]
    >>> nb.cells = [c]
    >>> try:
    ...     validate_parameters(nb, {"wave": "2025"})
    ... except ParameterError as err:
    ...     print(err.message)
    parameter 'wave' must be int, got str '2025'
    """
    spec = template_parameters(template)
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise ParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            rule=f"valid parameters: {_listing(spec)}", hint="check the spelling",
        )  # fmt: skip
    out = {}
    for name, p in spec.items():
        value = params.get(name, p.default)
        if not _matches(value, p.type):
            raise ParameterError(
                f"parameter {name!r} must be {_type_name(p.type)}, got "
                f"{type(value).__name__} {value!r}",
                rule=f"valid parameters: {_listing(spec)}",
                hint="pass a value of the declared type",
            )  # fmt: skip
        if p.type is float and isinstance(value, int):
            value = float(value)
        out[name] = value
    return out


def parse_cli_parameters(template, items) -> dict:
    """Turn ``["name=value", ...]`` from the command line into typed parameters.

    A ``str`` parameter takes the text as it is; any other type parses the text as a Python
    literal (``2025``, ``None``, ``{'min_n': 10}``). The result still goes through
    :func:`validate_parameters`.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> c = nbformat.v4.new_code_cell("wave: int = 2025  # wave\\nunit: str = 'x'  # unit")
    >>> c.metadata["tags"] = ["parameters"]
    >>> nb.cells = [c]
    >>> parse_cli_parameters(nb, ["wave=2023", "unit=Østbyen"])
    {'wave': 2023, 'unit': 'Østbyen'}
    """
    spec = template_parameters(template)
    out = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"cannot read parameter {item!r}", rule="name=value")
        if name in spec and spec[name].type is str:
            out[name] = text
            continue
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text  # validation will say what type was expected
    return out


# --- execution -------------------------------------------------------------------------------


def execute(template, params: dict | None, out_notebook, *, kernel_name: str = "python3",
            cwd=None, progress: bool = False, **engine_kwargs) -> nbformat.NotebookNode:
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
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync
    from papermill.exceptions import PapermillExecutionError

    params = validate_parameters(template, params)
    out_notebook = Path(out_notebook)
    out_notebook.parent.mkdir(parents=True, exist_ok=True)
    ipc_dir = tempfile.mkdtemp(prefix="ssp-kernel-")
    if "engine_name" not in engine_kwargs:
        engine_kwargs["km"] = AsyncKernelManager(  # async: a dead kernel is noticed
            kernel_name=kernel_name, transport="ipc", ip=os.path.join(ipc_dir, "k"))
        engine_kwargs["shutdown_kernel"] = "immediate"
    # One BLAS thread per kernel: a brief is a small job, batches parallelise over processes,
    # and OpenBLAS threads spinning against other processes made model fits up to 100x slower.
    saved_env = {k: os.environ.get(k) for k in _THREAD_VARS}
    for k in _THREAD_VARS:
        os.environ.setdefault(k, "1")
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
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        for q, level in zip(quiet, levels):
            q.setLevel(level)
        km = engine_kwargs.get("km")
        if km is not None and km.has_kernel:  # nbclient leaves a kernel it did not start
            run_sync(km.shutdown_kernel)(now=True)
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


def _audit(paths_: list[Path]) -> list:
    """Run the disclosure audit (:func:`ssp_research.audit.audit`) over files to publish."""
    from ssp_research.audit import audit

    findings = []
    for p in paths_:
        findings.extend(audit(p))
    return findings


def run_brief(params: dict | None = None, *, template=DEFAULT_TEMPLATE, out_dir=None,
              pdf: bool = True, progress: bool = False, **engine_kwargs) -> BriefResult:
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
    """
    t0 = time.perf_counter()
    template = Path(template)
    params = validate_parameters(template, params)
    if "wave" in params and params["wave"] is None and "data_path" in params:
        params["wave"] = _latest_wave(params["data_path"])
    out_dir = Path(out_dir) if out_dir is not None else paths.output_dir() / "briefs"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = brief_stem(params)
    stage = Path(tempfile.mkdtemp(prefix=f".{stem}.", dir=out_dir))
    try:
        nb_path = stage / f"{stem}.ipynb"
        try:
            nb = execute(template, params, nb_path, progress=progress, **engine_kwargs)
        except ReportError as err:
            failed = out_dir / f"{stem}.failed.ipynb"
            if nb_path.exists():
                os.replace(nb_path, failed)
            error = ReportError(err.message, file=failed, rule=err.rule,
                                hint=f"open {failed} to see the traceback")
            error.cell_index = getattr(err, "cell_index", None)
            error.notebook_path = failed
            raise error from None
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
        shutil.rmtree(stage, ignore_errors=True)
    return BriefResult(final["html"], final.get("pdf"), final["ipynb"], stamp,
                       time.perf_counter() - t0)
