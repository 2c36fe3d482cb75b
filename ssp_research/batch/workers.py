"""Where a batch's briefs run: executors, worker processes and their kernels.

:func:`ssp_research.batch.run.run_batch` decides what runs; this module runs it. Workers are
long-lived processes of an executor (:func:`make_executor`: a local process pool, or a Dask
``distributed.Client``) that call :func:`run_unit` for one brief at a time, with a kernel in one of
:data:`MODES`: ``"fresh"`` forks a new kernel per brief from a template process
(:mod:`ssp_research.batch.forkserver`; local workers share the batch's, :class:`SharedForkServer`,
remote ones start their own), ``"spawn"`` starts every kernel from scratch. :func:`execute_all`
submits the units, collects results as they finish and survives workers that die.
"""

from __future__ import annotations

import os
import queue
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ssp_research.core.errors import ParameterError

__all__ = ["MODES", "make_executor", "run_unit", "execute_all", "SharedForkServer",
           "is_local"]

_FORK: dict = {}  # per worker process: the kernel fork server (mode="fresh")
MODES = ("fresh", "spawn")


def _close_fork_server() -> None:
    server = _FORK.pop("server", None)
    if server is not None:
        server.close()


def _fork_server(template: str, socket_path: str | None):
    """This worker's handle on a :class:`~ssp_research.batch.forkserver.ForkServer`.

    The batch's shared template process when ``socket_path`` is given (local workers), else
    one of the worker's own, started on first use (remote workers, e.g. Dask). None where
    kernels cannot be forked or the template process could not preload (the brief then
    starts its kernel from scratch).
    """
    from multiprocessing.util import Finalize

    from ssp_research.batch import forkserver

    if not forkserver.available():
        return None
    server = _FORK.get("server")
    want = socket_path or ("own", tuple(forkserver.preload_modules(template)))
    if server is not None and _FORK.get("want") != want:
        _close_fork_server()
        server = None
    if server is None:
        server = (forkserver.ForkServer.connect(socket_path) if socket_path else
                  forkserver.ForkServer.start(list(want[1])))
        _FORK.update(server=server, want=want)
        if "finalizer" not in _FORK:  # workers end with os._exit: multiprocessing finalizers
            _FORK["finalizer"] = Finalize(None, _close_fork_server, exitpriority=10)
    return server if server.alive else None


def run_unit(params: dict, staging: str, mode: str, template: str,
             fork_socket: str | None = None) -> dict:
    """Execute one brief in a worker; never raises (failures are data for the manifest)."""
    from ssp_research.core.lazy_imports import defer_rfc3987_syntax
    from ssp_research.render import run_brief

    defer_rfc3987_syntax()  # a worker imports nbformat for every brief's notebook
    started = time.time()
    try:
        server = _fork_server(template, fork_socket) if mode == "fresh" else None
        kernel = "forked" if server is not None else "started"
        result = run_brief(params, template=Path(template), out_dir=Path(staging),
                                  launcher=server)
        outputs = {
            kind: str(getattr(result, f"{kind}_path"))
            for kind in ("html", "pdf", "notebook")
            if getattr(result, f"{kind}_path", None)
        }
        return {"status": "ok", "outputs": outputs, "seconds": time.time() - started,
                "pid": os.getpid(), "mode": mode, "kernel": kernel}
    except BaseException as err:  # noqa: BLE001 - a failing unit must never stop the batch
        if isinstance(err, KeyboardInterrupt):
            raise
        return {
            "status": "failed",
            "error": f"{type(err).__name__}: {err}",
            "cell": getattr(err, "cell_index", None),
            "notebook": str(getattr(err, "notebook_path", "") or ""),
            "seconds": time.time() - started,
            "pid": os.getpid(),
            "mode": mode,
        }


def make_executor(spec: str | object | None = None, *, jobs: int | None = None):
    """An executor from a spec: None (process pool), ``"dask://HOST:PORT"``, or an object.

    Any object with ``submit(fn, *args)`` returning futures with ``add_done_callback`` and
    ``result()`` works; a Dask ``distributed.Client`` is such an object.
    """
    if spec is None or spec == "local":
        return ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1)
    if isinstance(spec, str):
        if spec.startswith("dask://"):
            try:
                from distributed import Client
            except ImportError as err:  # pragma: no cover - dask is a declared extra
                raise ParameterError("the Dask executor needs `distributed`",
                                     hint='pip install -e ".[dask]"') from err
            return Client(spec.replace("dask://", "tcp://", 1), timeout=10)
        raise ParameterError(f"unknown executor {spec!r}",
                             rule="--executor is 'local' or dask://HOST:PORT",
                             hint="e.g. --executor dask://127.0.0.1:8786")
    if not hasattr(spec, "submit"):
        raise ParameterError(f"executor {spec!r} has no submit() method",
                             hint="pass a concurrent.futures executor or a distributed.Client")
    return spec


def is_local(executor) -> bool:
    return executor is None or executor == "local" or isinstance(executor, ProcessPoolExecutor)


class SharedForkServer:
    """The batch's kernel template process, started when first needed."""

    def __init__(self, template: Path):
        self.template, self.server = template, None

    def start(self) -> str | None:
        from ssp_research.batch import forkserver

        if self.server is None and forkserver.available():
            self.server = forkserver.ForkServer.start(
                forkserver.preload_modules(self.template))
        return self.server.path if self.server else None

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


def execute_all(todo, staging_of, executor, jobs, mode, progress, cached, total, template,
                on_result, fork_socket=None):
    """Submit every unit (``todo``: unit, params, cache key) to the executor, each staging
    its outputs in ``staging_of(unit)``; give each result to ``on_result`` as it finishes;
    survive crashed workers."""
    from tqdm.auto import tqdm

    own_pool = executor is None or isinstance(executor, str)  # we create it, we close it
    pool = make_executor(executor, jobs=jobs)
    done: queue.Queue = queue.Queue()
    attempts: dict[str, int] = {}
    pending: dict[str, tuple] = {}  # key -> (unit, params, cache key, future)

    def submit(unit, params, key):
        unit_staging = staging_of(unit)
        unit_staging.mkdir(parents=True, exist_ok=True)
        attempts[unit.key] = attempts.get(unit.key, 0) + 1
        future = pool.submit(run_unit, params, str(unit_staging), mode, str(template),
                             fork_socket)
        pending[unit.key] = (unit, params, key, future)
        future.add_done_callback(lambda f, k=unit.key: done.put((k, f)))

    bar = tqdm(total=total, initial=cached, disable=not progress, unit="brief",
               desc="briefs", dynamic_ncols=True)
    counts = {"ok": 0, "failed": 0, "cached": cached}
    bar.set_postfix(counts)
    try:
        for unit, params, key in todo:
            submit(unit, params, key)
        while pending:
            unit_key, future = done.get()
            if unit_key not in pending or pending[unit_key][3] is not future:
                continue  # a stale future of a pool that was rebuilt
            unit, params, key, _ = pending.pop(unit_key)
            try:
                res = future.result()
            except BrokenProcessPool as err:
                # A worker process died (killed, out of memory): rebuild the pool and give
                # every unit that was in flight one more try.
                if isinstance(pool, ProcessPoolExecutor) and own_pool and attempts[unit_key] < 2:
                    _shutdown(pool)
                    pool = make_executor(executor, jobs=jobs)
                    in_flight = [(unit, params, key)] + [v[:3] for v in pending.values()]
                    pending.clear()
                    for retry in in_flight:
                        submit(*retry)
                    continue
                res = {"status": "failed", "error": f"worker process died: {err!r}",
                       "seconds": 0.0}
            except Exception as err:  # noqa: BLE001 - e.g. a Dask worker lost
                res = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                       "seconds": 0.0}
            on_result(unit, params, key, res)
            counts[res["status"]] += 1
            bar.set_postfix(counts)
            bar.update(1)
    finally:
        bar.close()
        if own_pool:
            _shutdown(pool)


def _shutdown(pool) -> None:
    if isinstance(pool, ProcessPoolExecutor):
        pool.shutdown(wait=True, cancel_futures=True)
    elif hasattr(pool, "close"):
        pool.close()
