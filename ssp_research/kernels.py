"""papermill engines of the workbench: save-once execution, and warm kernels for previews.

``ssp`` (every brief uses it): papermill's own engine writes the whole notebook (with every
figure so far) before and after each cell, 2 x 27 writes per brief, about 0.45 s of a 4.7 s
brief here. :class:`SaveOnceEngine` writes it once, when the run ends (also when a cell
failed, or the kernel died: papermill then calls ``notebook_complete`` all the same).

Warm kernels for fast batch previews: one kernel per worker, reset between briefs.

papermill starts a fresh kernel for every notebook (about 0.5 s of a 1.2 s brief here). In
``mode="warm"`` a batch worker keeps one kernel and one client alive and lends them to papermill
through the ``ssp-warm`` engine; before each brief the kernel's namespace is cleared
(``%reset -f``) and open figures are closed, and the kernel is replaced every ``recycle`` briefs
and after any failure. Modules already imported (and their global state: matplotlib rcParams,
pandas options, random generators) persist between briefs: that is why the default mode is a
fresh kernel, and warm mode is for previews.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from multiprocessing.util import Finalize

from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.utils import merge_kwargs, remove_args

from ssp_research.kernel_manager import kernel_manager

__all__ = ["SaveOnceEngine", "WarmEngine", "warm_engine_kwargs", "discard_warm_kernel",
           "RESET_CODE", "ENGINE", "WARM_ENGINE"]

ENGINE = "ssp"
WARM_ENGINE = "ssp-warm"
RESET_CODE = (
    "%reset -f\n"
    "import matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt\n"
)


class _SaveOnceManager(NotebookExecutionManager):
    """Writes the notebook only in ``notebook_complete`` (the end of every run)."""

    _final = False

    def save(self, **kwargs):
        if self._final:
            super().save(**kwargs)

    def notebook_complete(self, **kwargs):
        self._final = True
        super().notebook_complete(**kwargs)


class SaveOnceEngine(NBClientEngine):
    """papermill's nbclient engine, writing the executed notebook once, at the end.

    papermill then writes it once more (its final write, or the one that adds the error
    banner when a cell failed): 2 writes instead of 2 per cell. Long cells are not
    autosaved on the way.
    """

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True,
                         log_output=False, autosave_cell_every=30, **kwargs):
        nb_man = _SaveOnceManager(nb, output_path=output_path, progress_bar=progress_bar,
                                  log_output=log_output, autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


class WarmEngine(SaveOnceEngine):
    """papermill engine that runs a notebook on a kernel (and client) it is given."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None,
                                 **kwargs):
        km = kwargs.pop("warm_km")
        kc = kwargs.pop("warm_kc")
        safe_kwargs = remove_args(["timeout", "startup_timeout", "input_path"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=nb_man.log if hasattr(nb_man, "log") else None,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        final_kwargs = {k: v for k, v in final_kwargs.items() if v is not None}
        client = PapermillNotebookClient(nb_man, km=km, **final_kwargs)
        client.kc = kc
        run_sync(kc.execute_interactive)(RESET_CODE, timeout=30, store_history=False)
        return client.execute()


papermill_engines.register(ENGINE, SaveOnceEngine)
papermill_engines.register(WARM_ENGINE, WarmEngine)


def _start(state: dict, kernel_name: str = "python3") -> None:
    # Async manager and client, as nbclient's own: with a blocking client a kernel that dies
    # mid-cell is never noticed. IPC transport in a private folder: no TCP port.
    # (One BLAS/OpenMP thread, as every kernel of the kernel manager.)
    ipc_dir = tempfile.mkdtemp(prefix="ssp-warm-")
    km = kernel_manager(None, kernel_name=kernel_name, transport="ipc",
                        ip=os.path.join(ipc_dir, "k"))
    run_sync(km.start_kernel)()
    kc = km.client()
    kc.start_channels()
    run_sync(kc.wait_for_ready)(timeout=60)
    state.update(km=km, kc=kc, runs=0, ipc_dir=ipc_dir)
    if "finalizer" not in state:
        # Worker processes end with os._exit (no atexit): multiprocessing's finalizers run.
        state["finalizer"] = Finalize(None, discard_warm_kernel, args=(state,), exitpriority=10)


def discard_warm_kernel(state: dict) -> None:
    """Shut the worker's warm kernel down (after a failure, or to recycle it)."""
    kc, km = state.pop("kc", None), state.pop("km", None)
    state.pop("runs", None)
    if km is not None:
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
        km.release()  # its client's channels and the ZeroMQ contexts, now
    elif kc is not None:
        kc.stop_channels()
    shutil.rmtree(state.pop("ipc_dir", ""), ignore_errors=True)


def warm_engine_kwargs(state: dict, *, recycle: int = 20) -> dict:
    """papermill keyword arguments that run the next brief on this worker's warm kernel.

    Starts the kernel on first use and replaces it every ``recycle`` briefs or when it died.
    """
    km = state.get("km")
    if km is None or not run_sync(km.is_alive)() or state.get("runs", 0) >= recycle:
        discard_warm_kernel(state)
        _start(state)
    state["runs"] += 1
    return {"engine_name": WARM_ENGINE, "warm_km": state["km"], "warm_kc": state["kc"]}
