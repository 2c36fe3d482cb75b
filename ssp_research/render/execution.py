"""Execute a notebook with papermill, in this process, in a fresh kernel.

:func:`execute` validates the parameters against the notebook's ``parameters`` cell before
any kernel starts (:mod:`ssp_research.render.parameters`), runs every cell with papermill in
a fresh kernel (:func:`ssp_research.render.kernels.kernel_manager`), writes the executed
notebook once, and turns a failing cell into a :class:`~ssp_research.core.errors.ReportError`
that names the cell, its first line and the exception.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import nbformat

from ssp_research.core import paths
from ssp_research.core.errors import ReportError
from ssp_research.data.inputs import gather_inputs
from ssp_research.render.kernels import kernel_manager
from ssp_research.render.parameters import load_notebook, validate_parameters

__all__ = ["execute"]


def _portable(nb, params: dict) -> None:
    """Replace this machine's absolute paths papermill recorded (template, output, path
    parameters in the metadata and the injected cell) by :func:`portable_path`: a published
    notebook carries no local paths (the audit's ``local-path`` rule)."""
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = paths.portable(meta[key])
    moved = {k: (v, paths.portable(v)) for k, v in params.items()
             if isinstance(v, str) and os.path.isabs(v)}
    if not moved:
        return
    for k, (_, new) in moved.items():
        meta.get("parameters", {})[k] = new
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            for old, new in moved.values():
                cell.source = cell.source.replace(old, new)


def execute(template, params: dict | None, out_notebook, *, kernel_name: str = "python3",
            cwd=None, progress: bool = False, launcher=None) -> nbformat.NotebookNode:
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
    launcher : object, optional
        Starts the fresh kernel instead of jupyter_client (see
        :func:`ssp_research.render.kernels.kernel_manager`): a batch forks it from a
        preloaded template process (:class:`ssp_research.batch.forkserver.ForkServer`).

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
    "running over TCP without encryption" warning) and is killed right after the last cell
    (``shutdown_kernel="immediate"``: nbclient's graceful shutdown waited seconds). The
    executed notebook is written once, at the end (papermill's
    ``request_save_on_cell_execute=False``), not before and after every cell. The kernel runs
    with one BLAS/OpenMP thread (``OPENBLAS_NUM_THREADS=1`` etc., unless set in the
    environment): measured here, a 25,685 x 31 weighted cross-product took 0.008 s with one
    thread and 0.03-1.8 s with OpenBLAS threads competing with other processes.
    """
    import papermill as pm
    from jupyter_core.utils import run_sync
    from papermill.exceptions import PapermillExecutionError


    params = validate_parameters(template, params)
    out_notebook = Path(out_notebook)
    out_notebook.parent.mkdir(parents=True, exist_ok=True)
    ipc_dir = tempfile.mkdtemp(prefix="ssp-kernel-")
    km = kernel_manager(launcher, kernel_name=kernel_name, transport="ipc",
                        ip=os.path.join(ipc_dir, "k"))
    quiet = [logging.getLogger(n) for n in ("papermill", "papermill.translators")]
    levels = [q.level for q in quiet]
    for q in quiet:  # papermill's own type guessing warns about annotations it cannot read
        q.setLevel(logging.ERROR)
    try:
        nb = pm.execute_notebook(
            str(template), str(out_notebook), parameters=params, kernel_name=kernel_name,
            progress_bar=progress, cwd=str(cwd or paths.PROJECT_DIR), log_output=False,
            request_save_on_cell_execute=False, km=km, shutdown_kernel="immediate",
        )  # fmt: skip
        _portable(nb, params)
        gather_inputs(nb)  # the data it read, for the notebook check
        nbformat.write(nb, out_notebook)  # once more (4 ms), without this machine's paths
        return nb
    except PapermillExecutionError as err:
        first = next((ln for ln in (err.source or "").splitlines() if ln.strip()), "")
        cells = load_notebook(template).cells
        index = next((i for i, c in enumerate(cells) if c.source == err.source), err.cell_index)
        error = ReportError(
            f"cell {index} of the template (In [{err.exec_count}]) failed: "
            f"{err.ename}: {err.evalue}"
            f" | source: {first[:120]}",
            file=out_notebook, rule="every cell of the notebook must run",
            hint=f"open the executed notebook {out_notebook} to see the traceback",
        )  # fmt: skip
        error.cell_index, error.ename, error.evalue = index, err.ename, err.evalue
        error.notebook_path = out_notebook
        raise error from None
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)
        if km.has_kernel:  # nbclient leaves a kernel it did not start
            run_sync(km.shutdown_kernel)(now=True)
        km.release()  # ZeroMQ contexts and their descriptors, now, not at GC
        shutil.rmtree(ipc_dir, ignore_errors=True)
