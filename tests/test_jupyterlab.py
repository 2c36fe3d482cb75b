"""A real JupyterLab server on loopback: the notebooks are listed and one runs a kernel.

The test starts ``jupyter lab`` (no browser, a random token, a free port on 127.0.0.1, rooted
at ``notebooks/``), lists the brief templates through the REST contents API, opens a session
on the evidence brief, and executes code in its kernel over the kernel websocket: the kernel
imports ``ssp_research`` and runs a brief building block.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from ssp_research.core import paths

JUPYTER = Path(sys.executable).parent / "jupyter-lab"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not JUPYTER.exists():
        pytest.skip("jupyterlab is not installed (pip install -e '.[lab]')")
    port, token = _free_port(), secrets.token_hex(16)
    runtime = tmp_path_factory.mktemp("jupyter-runtime")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_NO_CONFIG": "1"}
    proc = subprocess.Popen(
        [str(JUPYTER), "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={paths.notebooks_dir()}",
         "--ServerApp.port_retries=0",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.news_url=", "--ServerApp.log_level=WARN"]
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited: {proc.stderr.read()[-2000:]}")
            try:
                if requests.get(f"{base}/api/status", headers=headers, timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("jupyter lab did not answer within 60 s")
            time.sleep(0.3)
        yield {"base": base, "headers": headers, "token": token, "port": port}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_server_listens_on_loopback_only(server):
    assert server["base"].startswith("http://127.0.0.1:")
    unauthorised = requests.get(f"{server['base']}/api/contents/briefs", timeout=5)
    assert unauthorised.status_code == 403


def test_notebooks_are_listed(server):
    r = requests.get(f"{server['base']}/api/contents/briefs", headers=server["headers"],
                     timeout=10)
    r.raise_for_status()
    names = {item["name"] for item in r.json()["content"] if item["type"] == "notebook"}
    assert {"evidence_brief.ipynb", "pilot_evaluation.ipynb"} <= names
    nb = requests.get(f"{server['base']}/api/contents/briefs/evidence_brief.ipynb",
                      headers=server["headers"], timeout=10).json()
    assert nb["type"] == "notebook"
    tags = [c["metadata"].get("tags", []) for c in nb["content"]["cells"]]
    assert ["parameters"] in tags


def _execute(ws, code: str, timeout: float = 120) -> tuple[str, dict]:
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }))  # fmt: skip
    out, reply, idle = "", None, False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "stream":
            out += msg["content"]["text"]
        elif kind == "error":
            out += f"{msg['content']['ename']}: {msg['content']['evalue']}"
        elif kind == "execute_reply":
            reply = msg["content"]
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
        # shell (reply) and iopub (idle) are separate channels: either may come first
        if reply is not None and idle:
            return out, reply
    raise TimeoutError(out)


def test_a_notebook_kernel_imports_the_library(server):
    import websocket

    base, headers = server["base"], server["headers"]
    r = requests.post(f"{base}/api/sessions", headers=headers, timeout=60, json={
        "path": "briefs/evidence_brief.ipynb", "type": "notebook", "name": "",
        "kernel": {"name": "python3"}})  # fmt: skip
    r.raise_for_status()
    session = r.json()
    kernel_id = session["kernel"]["id"]
    try:
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{server['port']}/api/kernels/{kernel_id}/channels"
            f"?token={server['token']}", timeout=120)
        try:
            out, reply = _execute(ws, (
                "import sys, ssp_research\n"
                "from ssp_research.brief import load\n"
                "b = load(unit_type='district', unit='Heimdal', lang='en')\n"
                "print(ssp_research.__version__, sys.prefix)\n"
                "print(b.comparison_name, b.wave, len(b.indicator_names))"))
        finally:
            ws.close()
    finally:
        requests.delete(f"{base}/api/sessions/{session['id']}", headers=headers, timeout=30)
    assert reply["status"] == "ok", out
    lines = out.strip().splitlines()
    version, prefix = lines[0].split(" ", 1)
    assert version == "0.1.0"
    assert Path(prefix).resolve() == Path(sys.prefix).resolve()  # the project's venv kernel
    assert lines[1] == "Trondheim 2025 10"


@pytest.mark.parametrize("uid, allowed", [("0", True), ("1000", False)])
def test_make_lab_allows_root_only_as_root(tmp_path, uid, allowed):
    """`make lab` passes --allow-root when `id -u` is 0 (JupyterLab refuses root otherwise)."""
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    fake = tmp_path / "id"
    fake.write_text(f"#!/bin/sh\necho {uid}\n", encoding="utf-8")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    env.pop("LAB_ARGS", None)
    # -n: print the recipe only; -o: take the installed venv as up to date
    done = subprocess.run(["make", "-n", "-o", ".venv/.installed", "lab"], cwd=paths.PROJECT_DIR,
                          env=env, capture_output=True, text=True, check=True)
    line = next(ln for ln in done.stdout.splitlines() if "jupyter lab" in ln)
    assert ("--allow-root" in line.split()) == allowed, line
    assert line.split()[-1] == "notebooks", line
