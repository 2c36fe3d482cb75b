"""Fresh kernels without the start-up cost: fork them from a preloaded template process.

A fresh Jupyter kernel costs about 1.6 s here before a brief's first real cell: Python and
ipykernel start (0.5 s), then the brief imports pandas, matplotlib and the library (1 s). A
batch pays that for every brief. The fork server pays it once per worker: a template process
(``python -m ssp_research.batch.forkserver``) imports ipykernel and the template's own import
modules, runs nothing else, and for each brief ``fork()`` s a child that becomes the kernel
(``IPKernelApp`` on the connection file jupyter_client wrote). Each brief still gets its own
new process that no other brief ever ran in, whose modules are in the state a fresh import
leaves them in (the template process never executes notebook code): the same isolation as
a kernel started from scratch, without the start-up. This is the forkserver-with-preload
design of :mod:`multiprocessing`, applied to kernels through jupyter_client's provisioner
interface (:func:`ssp_research.render.kernels.kernel_manager`, with the server as its
launcher).

Protocol: the template process listens on a Unix socket (``python -m ssp_research.batch.forkserver
SOCKET MODULE...``); any number of clients (a batch's workers) connect, each is greeted with
``{"ready": [modules], "pid": N}`` once the modules are loaded (or ``{"error": ...}``), and
each request line ``{"argv", "env", "cwd"}`` is answered with ``{"pid": N}`` of the forked
kernel. The template process stops when its owner closes its stdin. A kernel runs in its own
session (``setsid``), with the given environment and working directory, stdin from
``/dev/null`` and stdout to the template's stderr, and exits if the template process goes
away. The template process ignores SIGCHLD, so exited kernels are reaped at once (no
zombies); the worker watches a kernel through a Linux ``pidfd``. Anything unusual (not Linux,
a kernel spec that is not ``ipykernel_launcher``, the template process failed to preload or
died) falls back to jupyter_client's own start.

"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import subprocess
import sys
import threading

from ssp_research.render.kernels import THREAD_VARS

__all__ = ["ForkServer", "ForkedKernel", "preload_modules", "available"]

#: Modules an ipykernel kernel imports while it starts (the debugger's debugpy is the largest
#: part); imported, not started: no thread, socket or event loop exists before the fork.
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                  "ipykernel.debugger", "IPython.core.history", "IPython.core.debugger")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def available() -> bool:
    """True where kernels can be forked (Linux: ``fork`` and ``pidfd_open``)."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open")


def preload_modules(template) -> list[str]:
    """The modules a template imports in its import-only cells (what a fork server preloads).

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> nb.cells = [nbformat.v4.new_code_cell("import numpy as np\\nfrom ssp_research.brief "
    ...             "import load, sections"), nbformat.v4.new_code_cell("x = 1")]
    >>> preload_modules(nb)
    ['numpy', 'ssp_research.brief.load', 'ssp_research.brief.sections']
    """
    import ast

    import nbformat

    nb = template if isinstance(template, nbformat.NotebookNode) else nbformat.read(
        template, as_version=4)
    modules: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        if not tree.body or not all(isinstance(s, (ast.Import, ast.ImportFrom))
                                    for s in tree.body):
            continue
        for stmt in tree.body:
            if isinstance(stmt, ast.Import):
                modules += [a.name for a in stmt.names]
            elif stmt.module and not stmt.level:
                for a in stmt.names:  # `from pkg import mod`: a submodule, or a name in pkg
                    modules.append(f"{stmt.module}.{a.name}" if a.name != "*" else stmt.module)
    return list(dict.fromkeys(modules))


# --- the template process -----------------------------------------------------------------


def _preload(names: list[str]) -> list[str]:
    done = []
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:  # `from pkg import function`: import pkg only
            parent = name.rpartition(".")[0]
            if not parent:
                raise
            importlib.import_module(parent)
            name = parent
        done.append(name)
    return done


def _child(request: dict, sockets: list) -> None:
    """In the forked child: become the kernel (never returns)."""
    code = 1
    try:
        for sock in sockets:  # only the template process talks to the clients
            sock.close()
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the kernel's own subprocesses
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(2, 1)  # kernel output to the template's stderr (the worker's), not the pipe
        os.close(devnull)
        os.environ.clear()
        os.environ.update(request["env"])
        if request.get("cwd"):
            os.chdir(request["cwd"])
        import random

        random.seed()  # fresh random state, as a newly started kernel has
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        from ipykernel import kernelapp

        # the kernel exits if its parent (this template process) goes away
        argv = [*request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        sys.argv = [sys.executable, "-m", "ipykernel_launcher", *argv]
        kernelapp.IPKernelApp.launch_instance(argv=argv)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - report, and never return into the server loop
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _reply(conn, payload: dict) -> bool:
    try:
        conn.sendall((json.dumps(payload) + "\n").encode())
        return True
    except OSError:
        return False


def serve(path: str, names: list[str]) -> None:
    """Listen on the Unix socket ``path``, preload ``names``, then fork a kernel for every
    request of every client, until stdin (the owner) closes (see module docs)."""
    import socket

    if sys.path and sys.path[0] in ("", os.getcwd()):  # as ipykernel_launcher does
        del sys.path[0]
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # as IPKernelApp sets it
    for var in THREAD_VARS:  # one BLAS thread, as report.execute gives every kernel
        os.environ.setdefault(var, "1")
    # debugpy, imported here outside a kernel's captured output, would print its
    # frozen-modules notice to the terminal (ipykernel's own advice: this variable)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.dup2(2, 1)  # stray prints of imported modules go to stderr
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)  # clients may connect (and wait) while the modules load
    try:
        _preload(KERNEL_MODULES)  # what every kernel imports while it starts
        greeting = {"ready": _preload(names), "pid": os.getpid()}
    except BaseException as err:  # noqa: BLE001 - clients fall back to starting kernels
        greeting = {"error": f"{type(err).__name__}: {err}", "pid": os.getpid()}
    import gc

    gc.collect()
    gc.freeze()  # the preloaded heap is shared copy-on-write; the collector leaves it alone
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # exited kernels are reaped at once
    try:
        _serve_loop(listener, greeting)
    finally:  # also when the owner died without closing: its socket goes with it
        listener.close()
        if os.getpid() == greeting["pid"]:  # (not in a forked kernel)
            for leftover in (path, os.path.dirname(path)):
                try:
                    (os.unlink if leftover == path else os.rmdir)(leftover)
                except OSError:
                    pass


def _serve_loop(listener, greeting: dict) -> None:
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "accept")
    sel.register(sys.stdin, selectors.EVENT_READ, "owner")
    buffers: dict = {}
    while True:
        for key, _ in sel.select():
            if key.data == "owner":
                if not sys.stdin.readline():  # the owner closed: stop serving
                    return
            elif key.data == "accept":
                conn, _ = listener.accept()
                if _reply(conn, greeting) and "ready" in greeting:
                    sel.register(conn, selectors.EVENT_READ, "client")
                    buffers[conn] = b""
                else:
                    conn.close()
            else:
                conn = key.fileobj
                try:
                    chunk = conn.recv(1 << 16)
                except OSError:  # a client that died: as if it had disconnected
                    chunk = b""
                if not chunk:
                    sel.unregister(conn)
                    buffers.pop(conn, None)
                    conn.close()
                    continue
                buffers[conn] += chunk
                while b"\n" in buffers[conn]:
                    line, buffers[conn] = buffers[conn].split(b"\n", 1)
                    pid = os.fork()
                    if pid == 0:
                        _child(json.loads(line), [listener, *buffers])
                    _reply(conn, {"pid": pid})


# --- the worker side -------------------------------------------------------------------------


class ForkedKernel:
    """A ``Popen``-like handle on a kernel forked by the server (not our child: a pidfd)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._fd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # already gone
            self._fd, self.returncode = None, 1

    def _exited(self, timeout: float | None) -> bool:
        if self.returncode is not None:
            return True
        poller = select.poll()  # not select(): no limit on the descriptor's number
        poller.register(self._fd, select.POLLIN)
        if poller.poll(None if timeout is None else int(timeout * 1000)):
            self.returncode = 1 if self.returncode is None else self.returncode
            os.close(self._fd)
            self._fd = None
            return True
        return False

    def poll(self) -> int | None:
        """The exit status when the kernel has exited (1, or -9 when killed), else None."""
        return self.returncode if self._exited(0) else None

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._exited(timeout):
            raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
            self._fd = None

    def kill(self) -> None:
        """SIGKILL to the kernel's session, then wait for the kernel's exit (jupyter_client
        polls every 0.1 s after a kill: this way its first poll sees it gone)."""
        if self.returncode is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)  # its own session: its subprocesses too
            except (ProcessLookupError, PermissionError):
                self.send_signal(signal.SIGKILL)
            if self._exited(5):
                self.returncode = -signal.SIGKILL


class ForkServer:
    """A handle on a kernel template process (see the module docs).

    :meth:`start` launches one (its owner stops it with :meth:`close`); :meth:`connect`
    joins one another process started (a batch's workers share the batch's). Neither
    blocks: the first :attr:`alive` or :meth:`fork` waits until the modules are loaded.

    Attributes
    ----------
    path : str
        The template process's Unix socket.
    modules : list of str
        Modules preloaded (after :attr:`alive`); ``error`` says why when it could not.
    """

    def __init__(self, path: str, proc: subprocess.Popen | None = None):
        self.path = path
        self._proc = proc
        self._sock = None
        self._reader = None
        self.modules: list[str] | None = None
        self.error: str | None = None
        self.pid: int | None = None
        self._lock = threading.Lock()

    @classmethod
    def start(cls, modules: list[str], env: dict | None = None) -> ForkServer:
        """Launch a template process preloading ``modules`` (``env``: default this one; the
        process itself sets one BLAS thread and matplotlib's inline backend, as a kernel)."""
        import tempfile

        folder = tempfile.mkdtemp(prefix="ssp-forkserver-")
        path = os.path.join(folder, "socket")
        proc = subprocess.Popen(
            [sys.executable, "-m", "ssp_research.batch.forkserver", path, *modules],
            stdin=subprocess.PIPE, env=env, start_new_session=True,
        )  # fmt: skip
        return cls(path, proc)

    @classmethod
    def connect(cls, path: str) -> ForkServer:
        """A handle on the template process listening on ``path`` (started elsewhere)."""
        return cls(path)

    def _connect(self) -> bool:
        import socket
        import time

        if self.modules is not None or self.error is not None:
            return self.modules is not None
        deadline = time.monotonic() + 10  # the owner may not have bound the socket yet
        while True:
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(self.path)
                break
            except OSError as err:
                sock.close()
                exited = self._proc is not None and self._proc.poll() is not None
                if exited or time.monotonic() > deadline:
                    self.error = f"cannot connect to {self.path}: {err}"
                    return False
                time.sleep(0.02)
        self._sock, self._reader = sock, sock.makefile("rb")
        greeting = json.loads(self._reader.readline() or b'{"error": "no greeting"}')
        self.pid = greeting.get("pid")
        if "ready" in greeting:
            self.modules = greeting["ready"]
            return True
        self.error = greeting.get("error", "unknown")
        return False

    @property
    def alive(self) -> bool:
        """Connected to a template process that preloaded its modules and still runs."""
        with self._lock:
            if not self._connect():
                return False
        return self._proc is None or self._proc.poll() is None

    def fork(self, argv: list[str], *, env: dict, cwd: str | None) -> int:
        """Fork a kernel with IPKernelApp arguments ``argv``; its pid."""
        with self._lock:
            if not self._connect():
                raise OSError(f"no kernel fork server: {self.error}")
            self._sock.sendall((json.dumps({"argv": argv, "env": env, "cwd": cwd})
                                + "\n").encode())
            line = self._reader.readline()
        if not line:
            raise OSError("the kernel fork server closed the connection")
        return int(json.loads(line)["pid"])

    def launch(self, argv: list[str], *, env: dict, cwd: str | None) -> ForkedKernel | None:
        """The launcher protocol of :func:`ssp_research.render.kernels.kernel_manager`: a
        forked kernel's handle, or None (not alive, or gone) so that it is started as usual."""
        if not self.alive:
            return None
        try:
            return ForkedKernel(self.fork(argv, env=env, cwd=cwd))
        except OSError:  # the template process is gone
            return None

    def close(self) -> None:
        """Disconnect; the owner also stops the template process (its kernels, in their own
        sessions, live on until shut down, and exit when it is gone)."""
        import shutil

        with self._lock:
            if self._sock is not None:
                self._reader.close()
                self._sock.close()
                self._sock = self._reader = None
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()  # it holds no state (and may still be loading its modules)
        proc.wait()
        proc.stdin.close()
        shutil.rmtree(os.path.dirname(self.path), ignore_errors=True)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
