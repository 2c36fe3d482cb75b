"""How the workbench's kernels are started, watched and stopped (jupyter_client).

:func:`kernel_manager` gives jupyter_client's async kernel manager (a dead kernel is noticed
mid-cell) with three additions:

* its kernels run with one BLAS/OpenMP thread unless the environment sets the number (a
  notebook is a small job; batches parallelise over processes, and OpenBLAS threads spinning
  against other processes made model fits up to 100x slower);
* a *launcher* may start the kernel instead of jupyter_client (a batch forks it from a
  preloaded template process: :class:`ssp_research.batch.forkserver.ForkServer`); any object
  with ``launch(argv, *, env, cwd)`` returning a ``Popen``-like handle, or None to let
  jupyter_client start it;
* :meth:`KernelManager.release` closes the ZeroMQ contexts right after a notebook (a worker
  running hundreds of briefs otherwise ran out of descriptors).

Examples
--------
>>> kernel_argv(["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "k.json"])
['-f', 'k.json']
>>> kernel_argv(["R", "--slave", "-e", "IRkernel::main()"]) is None
True
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import uuid

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

__all__ = ["kernel_manager", "KernelManager", "LauncherProvisioner", "kernel_argv",
           "THREAD_VARS"]

#: The thread-count variables of BLAS and OpenMP (each kernel gets 1 unless set).
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def kernel_argv(cmd: list[str]) -> list[str] | None:
    """The IPKernelApp arguments of an ``ipykernel_launcher`` command, else None."""
    for i in range(len(cmd) - 1):
        if cmd[i] == "-m" and cmd[i + 1] == "ipykernel_launcher":
            return list(cmd[i + 2:])
    return None


class LauncherProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, launching through a launcher when one is given."""

    launcher = None

    async def launch_kernel(self, cmd, **kwargs):
        argv = kernel_argv(cmd)
        process = None
        if argv is not None and self.launcher is not None:
            env = dict(kwargs.get("env") or os.environ)
            cwd = str(kwargs.get("cwd") or os.getcwd())  # as Popen: papermill chdirs here
            process = self.launcher.launch(argv, env=env, cwd=cwd)
        if process is None:  # no launcher, or it cannot: start the kernel as usual
            return await super().launch_kernel(cmd, **kwargs)
        self.process = process
        self.pid = self.pgid = process.pid  # its own session (setsid)
        self.cwd = kwargs.get("cwd") or pathlib.Path.cwd()
        return self.connection_info

    async def kill(self, restart: bool = False) -> None:
        """Kill, and wait for the exit: jupyter_client's manager polls every 0.1 s after a
        kill, so its first poll finds the kernel gone (launched or started)."""
        process = self.process
        if process is not None and not isinstance(process, subprocess.Popen):
            process.kill()  # a launched kernel's handle waits for the exit itself
            return
        await super().kill(restart=restart)
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


class KernelManager(AsyncKernelManager):
    """An async kernel manager with a launcher, one BLAS thread and :meth:`release`."""

    def __init__(self, *args, launcher=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._launcher = launcher
        self._clients: list = []

    def client(self, **kwargs):
        client = super().client(**kwargs)
        self._clients.append(client)
        return client

    def release(self) -> None:
        """Close the clients' and this manager's ZeroMQ contexts now (after the kernel is
        shut down). Each keeps ~12 descriptors open until garbage collection otherwise,
        and a worker running hundreds of briefs ran out of them."""
        for client in self._clients:
            client.stop_channels()
            if client._created_context and not client.context.closed:
                client.context.destroy(linger=0)
        self._clients.clear()
        if self._created_context and not self.context.closed:
            self.context.destroy(linger=0)

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            provisioner = LauncherProvisioner(kernel_id=self.kernel_id,
                                              kernel_spec=self.kernel_spec, parent=self)
            provisioner.launcher = self._launcher
            self.provisioner = provisioner
        env = dict(kw.get("env") or os.environ)
        for var in THREAD_VARS:
            env.setdefault(var, "1")
        kw["env"] = env
        return await super()._async_pre_start_kernel(**kw)


def kernel_manager(launcher=None, **kwargs) -> KernelManager:
    """A :class:`KernelManager` (``AsyncKernelManager`` keyword arguments) whose kernels
    ``launcher`` starts when it can (see the module docs); jupyter_client starts them
    otherwise."""
    return KernelManager(launcher=launcher, **kwargs)
