"""How the workbench's brief kernels are started, watched and stopped (jupyter_client).

* :class:`ForkingKernelManager`: jupyter_client's async kernel manager (a dead kernel is
  noticed mid-cell) whose provisioner, :class:`ForkProvisioner`, forks the kernel from a
  :class:`~ssp_research.forkserver.ForkServer` when one is given (batches) and starts it as
  jupyter_client does otherwise; its kill waits for the exit (jupyter_client polls every
  0.1 s after a kill).
* :class:`QuickReadyClient`: jupyter_client's async client without the fixed 0.2 s at the
  end of ``wait_for_ready``, retrying its connection every 10 ms.
* :meth:`ForkingKernelManager.release` closes the ZeroMQ contexts right after a brief (a
  worker running hundreds of briefs otherwise ran out of descriptors).
"""

from __future__ import annotations

import os
import pathlib
import select
import signal
import subprocess
import time
import uuid
from queue import Empty

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

from ssp_research.forkserver import THREAD_VARS, ForkServer, _kernel_argv

__all__ = ["kernel_manager", "ForkingKernelManager", "ForkProvisioner", "QuickReadyClient"]


class _ForkedKernel:
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


class QuickReadyClient(AsyncKernelClient):
    """jupyter_client's async client, without the fixed 0.2 s at the end of
    ``wait_for_ready``: it drains the kernel's start-up messages until none comes for
    0.2 s; they are all there once the kernel_info reply and an IOPub message arrived
    (and a late one would be ignored: clients match messages to their requests)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a forked kernel binds its sockets ~0.1 s after the client connects: retry the
        # connection every 10 ms, not ZeroMQ's default 100 ms
        self.context.setsockopt(zmq.RECONNECT_IVL, 10)

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:  # as jupyter_client: a kernel_info reply, and IOPub connected
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                msg = None
            if msg is not None and msg["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(msg)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        while True:  # drain what is already there
            try:
                await self.iopub_channel.get_msg(timeout=0.01)
            except Empty:
                break

    wait_for_ready = _async_wait_for_ready

class ForkProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, launching through a :class:`ForkServer`."""

    forkserver: ForkServer | None = None

    async def launch_kernel(self, cmd, **kwargs):
        argv = _kernel_argv(cmd)
        server = self.forkserver
        if argv is None or server is None or not server.alive:
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(kwargs.get("env") or os.environ)
        cwd = str(kwargs.get("cwd") or os.getcwd())  # as Popen: papermill chdirs here
        try:
            pid = server.fork(argv, env=env, cwd=cwd)
        except OSError:  # the template process is gone: start the kernel as usual
            return await super().launch_kernel(cmd, **kwargs)
        self.process = _ForkedKernel(pid)
        self.pid = self.pgid = self.process.pid  # its own session (setsid)
        self.cwd = cwd or pathlib.Path.cwd()
        return self.connection_info

    async def kill(self, restart: bool = False) -> None:
        """Kill, and wait for the exit: jupyter_client's manager polls every 0.1 s after a
        kill, so its first poll finds the kernel gone (forked or started)."""
        if isinstance(self.process, _ForkedKernel):
            self.process.kill()
            return
        process = self.process
        await super().kill(restart=restart)
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

class ForkingKernelManager(AsyncKernelManager):
    """An async kernel manager whose kernels come from a :class:`ForkServer`."""

    def __init__(self, *args, forkserver: ForkServer | None = None, env: dict | None = None,
                 **kwargs):
        super().__init__(*args, client_factory=QuickReadyClient, **kwargs)
        self._forkserver = forkserver
        self._env = dict(env or {})
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
            provisioner = ForkProvisioner(kernel_id=self.kernel_id,
                                          kernel_spec=self.kernel_spec, parent=self)
            provisioner.forkserver = self._forkserver
            self.provisioner = provisioner
        # The kernel's own variables (this process's environment is untouched), and one
        # BLAS/OpenMP thread unless set: a brief is a small job, batches parallelise over
        # processes, and OpenBLAS threads spinning against other processes made model fits
        # up to 100x slower.
        env = dict(kw.get("env") or os.environ)
        for var in THREAD_VARS:
            env.setdefault(var, "1")
        kw["env"] = {**env, **self._env}
        return await super()._async_pre_start_kernel(**kw)


def kernel_manager(forkserver: ForkServer | None, *, env: dict | None = None, **kwargs):
    """An async kernel manager (``AsyncKernelManager`` arguments) forking from ``forkserver``.

    With ``forkserver`` None or not alive it starts kernels as jupyter_client does. Either
    way its clients skip jupyter_client's fixed 0.2 s start-up wait (``QuickReadyClient``),
    and its kernels get ``env`` on top of this process's environment (which stays as it is:
    threads of this process never see the kernel's variables), with one BLAS thread unless
    the environment sets the number.
    """
    return ForkingKernelManager(forkserver=forkserver, env=env, **kwargs)
