"""Fresh kernels forked from a preloaded template process (ssp_research.batch.forkserver).

A forked kernel must behave like one started from scratch: its own process, nothing left
from another brief, fresh random state, the same outputs; a kernel that dies is noticed;
a template process that cannot preload falls back to starting kernels normally.
"""

from __future__ import annotations

import os
import re
import textwrap

import nbformat
import pytest

from ssp_research.batch import forkserver
from ssp_research.core.errors import ReportError
from ssp_research.render.execution import execute

pytestmark = pytest.mark.skipif(not forkserver.available(), reason="needs Linux pidfds")


def _notebook(path, body: str):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('tag: str = "a"  # a label')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("import json\nimport os\nimport random"),
                nbformat.v4.new_code_cell(textwrap.dedent(body))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = _notebook(tmp_path_factory.mktemp("fs") / "t.ipynb", "x = 1")
    srv = forkserver.ForkServer.start(forkserver.preload_modules(path))
    yield srv
    srv.close()


def _stdout(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_forked_kernels_are_fresh_processes(tmp_path, server):
    assert server.alive and server.modules == ["json", "os", "random"]
    path = _notebook(tmp_path / "state.ipynb", """\
        print(json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "tag": tag,
                          "seen": globals().get("seen"), "r": random.random(),
                          "cwd": os.getcwd()}))
        seen = tag
        """)
    runs = []
    for tag in ("a", "b"):
        nb = execute(path, {"tag": tag}, tmp_path / f"{tag}.ipynb", launcher=server,
                     cwd=tmp_path)
        runs.append(__import__("json").loads(_stdout(nb)))
    a, b = runs
    assert a["pid"] != b["pid"] and os.getpid() not in (a["pid"], b["pid"])
    assert a["ppid"] == b["ppid"] == server.pid  # forked by the template process
    assert (a["tag"], b["tag"]) == ("a", "b") and a["seen"] is None and b["seen"] is None
    assert a["r"] != b["r"]  # random state reseeded in every kernel
    assert a["cwd"] == b["cwd"] == str(tmp_path)
    for run in runs:  # shut down: the kernel processes are gone
        with pytest.raises(ProcessLookupError):
            os.kill(run["pid"], 0)


def test_forked_and_started_kernels_give_the_same_notebook(tmp_path, server):
    path = _notebook(tmp_path / "same.ipynb", """\
        import matplotlib.pyplot as plt
        import numpy as np
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.plot(np.arange(5) ** 2)
        plt.show()
        print(sorted(k for k in os.environ if k.endswith("NUM_THREADS")), tag)
        """)
    forked = execute(path, {"tag": "z"}, tmp_path / "f.ipynb", launcher=server)
    started = execute(path, {"tag": "z"}, tmp_path / "s.ipynb")

    def outputs(nb):
        return [[{k: v for k, v in o.items() if k != "execution_count"}
                 for o in c.get("outputs", [])] for c in nb.cells]

    assert outputs(forked) == outputs(started)
    assert "image/png" in str(outputs(forked))


def test_a_forked_kernel_that_dies_is_reported(tmp_path, server):
    path = _notebook(tmp_path / "dies.ipynb", "os.kill(os.getpid(), 9)")
    with pytest.raises(Exception) as err:  # nbclient's DeadKernelError, or our ReportError
        execute(path, {}, tmp_path / "d.ipynb", launcher=server)
    assert re.search(r"(?i)dead|died", f"{type(err.value).__name__} {err.value}")
    assert server.alive  # the template process goes on


def test_a_server_that_cannot_preload_falls_back_to_starting_kernels(tmp_path):
    srv = forkserver.ForkServer.start(["no_such_module_xyz"])
    assert not srv.alive and srv.modules is None and "no_such_module_xyz" in srv.error
    path = _notebook(tmp_path / "fb.ipynb", "print(os.getppid())")
    nb = execute(path, {}, tmp_path / "fb_out.ipynb", launcher=srv)
    assert int(_stdout(nb)) != srv.pid  # it ran, in a kernel jupyter_client started
    srv._proc.stdin.close()  # the owner goes away without close(): the socket goes too
    srv._proc.wait(timeout=10)
    assert not os.path.exists(os.path.dirname(srv.path))


def test_failed_cell_in_a_forked_kernel_names_the_cell(tmp_path, server):
    path = _notebook(tmp_path / "fails.ipynb", "raise ValueError('planted')")
    with pytest.raises(ReportError, match="cell 2 .*ValueError: planted"):
        execute(path, {}, tmp_path / "x.ipynb", launcher=server)
    assert (tmp_path / "x.ipynb").exists()


def test_workers_share_one_template_process_and_close_stops_it(tmp_path):
    owner = forkserver.ForkServer.start(["json"])
    other = forkserver.ForkServer.connect(owner.path)  # e.g. another worker process
    assert owner.alive and other.alive and owner.pid == other.pid
    path = _notebook(tmp_path / "pid.ipynb", "print(os.getppid())")
    for i, handle in enumerate((owner, other)):
        nb = execute(path, {}, tmp_path / f"p{i}.ipynb", launcher=handle)
        assert int(_stdout(nb)) == owner.pid
    other.close()
    assert owner.alive  # a client leaving does not stop it
    owner.close()
    with pytest.raises(ProcessLookupError):
        os.kill(owner.pid, 0)
    assert not os.path.exists(owner.path)


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "started"])
def test_kernels_leave_no_open_descriptors_behind(tmp_path, server, fork):
    # a worker runs hundreds of briefs: each must release its ZeroMQ contexts and pidfd
    # (found by the national batch: descriptors grew by 12 per brief until select() failed)
    path = _notebook(tmp_path / "fd.ipynb", "print(tag)")

    def open_fds():
        return len(os.listdir("/proc/self/fd"))

    counts = []
    for i in range(4):
        execute(path, {"tag": str(i)}, tmp_path / "fd_out.ipynb",
                launcher=server if fork else None)
        counts.append(open_fds())
    assert counts[-1] <= counts[1], counts


def test_kernels_get_one_blas_thread_and_this_process_keeps_its_environment(tmp_path,
                                                                             server):
    path = _notebook(tmp_path / "env.ipynb", "print(os.environ.get('OPENBLAS_NUM_THREADS'))")
    before = dict(os.environ)
    for fork in (server, None):  # forked, and started by jupyter_client
        nb = execute(path, {}, tmp_path / "e.ipynb", launcher=fork)
        assert _stdout(nb).strip() == os.environ.get("OPENBLAS_NUM_THREADS", "1")
    assert dict(os.environ) == before  # the kernel's variables are its own
