"""The provenance stamp of a brief: what it was made from, written into it, read back.

:func:`provenance` records the data file and its sha256, the template and its sha256, the
code version and git commit, the Python and package versions, every parameter and the time.
The HTML export shows it at the end of the brief and embeds it as a JSON data block
(``<script type="application/json" id="ssp-provenance">``); :func:`read_stamp` reads it back
(``ssp rerun``).
"""

from __future__ import annotations

import html as _html
import json
import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from importlib import metadata as _md
from pathlib import Path

from ssp_research import __version__
from ssp_research.core import paths
from ssp_research.core.errors import ReportError
from ssp_research.core.fingerprint import sha256_file

__all__ = ["provenance", "read_stamp", "file_sha256", "PACKAGES"]

PACKAGES = (
    "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "pyarrow",
    "papermill", "nbclient", "nbconvert", "ipykernel", "weasyprint",
)  # fmt: skip
_STAMP = re.compile(r'<script\b[^>]*\bid="ssp-provenance"[^>]*>(.*?)</script>', re.S)


def file_sha256(path: Path) -> str | None:
    """The sha256 of a file, None when there is no such file."""
    path = Path(path)
    return sha256_file(path) if path.is_file() else None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.PROJECT_DIR,
                             capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",
                                "--", "ssp_research", "notebooks"], cwd=paths.PROJECT_DIR,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def provenance(params: dict, data_path, template, *, created_utc: str | None = None) -> dict:
    """The provenance stamp of a brief.

    ``created_utc`` is the given time (``ssp rerun`` passes the original's, so that a
    reproduction is byte-identical), else ``SOURCE_DATE_EPOCH`` when set (the reproducible
    builds convention), else now.

    Returns
    -------
    dict
        ``data_file`` (relative to the project, or the file name alone for data elsewhere:
        no local paths leave; the sha256 identifies the file), ``data_sha256``, ``template``
        (file name),
        ``template_sha256``, ``code_version`` (package version), ``git_commit`` (``-dirty``
        when the library or notebooks have uncommitted changes; None outside git),
        ``python``, ``packages`` ({name: version}), ``parameters``, ``created_utc`` (ISO 8601).

    Examples
    --------
    >>> stamp = provenance({"wave": 2025}, "no/such/file.parquet", "no/such/template.ipynb")
    >>> stamp["data_sha256"] is None, stamp["parameters"]
    (True, {'wave': 2025})
    """
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = _md.version(name)
        except _md.PackageNotFoundError:
            packages[name] = None
    return {
        "data_file": paths.portable(data_path),
        "data_sha256": file_sha256(paths.in_project(data_path)),
        "template": Path(template).name,
        "template_sha256": file_sha256(Path(template)),
        "code_version": __version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "packages": packages,
        "parameters": {k: paths.portable(v) if isinstance(v, str) and Path(v).is_absolute()
                       else v for k, v in params.items()},
        "created_utc": created_utc or _now(),
    }


def _now() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = (datetime.fromtimestamp(int(epoch), timezone.utc) if epoch.isdigit()
            else datetime.now(timezone.utc))
    return when.isoformat(timespec="seconds")


def read_stamp(brief: str | Path) -> dict:
    """The provenance stamp embedded in a brief's HTML.

    Raises
    ------
    ReportError
        The file is not a brief made by the workbench (no stamp), or the stamp is damaged.
    """
    path = Path(brief)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ReportError(f"cannot read the brief: {err}", file=path,
                          hint="give the path of a brief's .html file") from err
    match = _STAMP.search(text)
    if not match:
        raise ReportError("the file carries no provenance stamp", file=path,
                          rule='a brief embeds <script id="ssp-provenance">',
                          hint="rerun works on HTML briefs written by `ssp brief`/`ssp batch`")
    try:
        return json.loads(_html.unescape(match.group(1)))
    except json.JSONDecodeError as err:
        raise ReportError(f"the provenance stamp is not valid JSON: {err}", file=path,
                          hint="the brief was edited after it was written") from err
