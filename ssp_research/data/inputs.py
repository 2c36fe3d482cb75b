"""What a notebook read: a fingerprint of each data file, kept with the notebook's outputs.

A notebook that reads its data with :func:`read_data` (or the brief's ``load``) leaves one
small output per file: the file's path relative to the project and the sha256 of its bytes,
as a display output of MIME type :data:`INPUT_MIME` with a one-line text for the reader
(``Data: data/synthetic/trondheim.parquet (sha256 3f2a9c1e…)``). The executed notebook thus
records what its numbers were made from, in JupyterLab as under papermill, and the notebook
check (:mod:`ssp_research.render.notebook_check`) compares those fingerprints with the shipped
synthetic data (:func:`synthetic_fingerprints`) before a notebook may be committed.

Examples
--------
>>> rec = input_record("data/synthetic/trondheim.parquet")
>>> rec["path"], rec["sha256"] in synthetic_fingerprints()
('data/synthetic/trondheim.parquet', True)
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from ssp_research.core import paths
from ssp_research.core.errors import DataError
from ssp_research.data.io import file_sha256, read_survey

__all__ = ["INPUT_MIME", "SHIPPED_DIR", "input_record", "record_input", "read_data",
           "notebook_inputs", "gather_inputs", "synthetic_fingerprints"]

#: MIME type of the output that records one data file a notebook read.
INPUT_MIME = "application/vnd.ssp.data-input+json"
#: The shipped synthetic data, as committed (not moved by ``SSP_DATA_DIR``).
SHIPPED_DIR = paths.PROJECT_DIR / "data" / "synthetic"


def input_record(path: str | os.PathLike) -> dict[str, Any]:
    """``{"path": <relative to the project, or the file name>, "sha256": ..., "bytes": ...}``
    of one data file: what a notebook records about its input (no local path, no data)."""
    p = paths.in_project(path)
    return {"path": paths.portable(p), "sha256": file_sha256(p), "bytes": p.stat().st_size}


def _kernel_display():
    """IPython's ``display`` when running in a kernel (JupyterLab, papermill), else None."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook stack
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return None
    from IPython.display import display

    return display


def record_input(path: str | os.PathLike) -> dict[str, Any]:
    """Record that the running notebook read ``path``; returns the record.

    In a kernel the record becomes a display output (MIME :data:`INPUT_MIME`, plus a line
    of text); outside a kernel (scripts, tests) nothing is shown.
    """
    record = input_record(path)
    display = _kernel_display()
    if display is not None:
        text = f"Data: {record['path']} (sha256 {record['sha256'][:12]}…)"
        display({INPUT_MIME: record, "text/plain": text}, raw=True)
    return record


def read_data(path: str | os.PathLike, **kwargs: Any) -> pd.DataFrame:
    """Read a tidy data file for a notebook and record its fingerprint (:func:`record_input`).

    Parameters
    ----------
    path : str or Path
        Relative to the project (``data/synthetic/trondheim.parquet``) or absolute.
        ``.parquet`` is read with pandas (``columns=``, ``filters=`` pass through); any other
        survey export with :func:`~ssp_research.data.io.read_survey`.

    Raises
    ------
    DataError
        A missing or unreadable file, with its path and what to do.
    """
    p = paths.in_project(path)
    if not p.is_file():
        raise DataError("data file not found", file=p,
                        hint="give data_path relative to the project folder "
                             "(data/synthetic/trondheim.parquet) or as an absolute path")
    if p.suffix.lower() == ".parquet":
        try:
            frame = pd.read_parquet(p, **kwargs)
        except Exception as err:  # noqa: BLE001 - reported with the file's name
            raise DataError(f"cannot read the data file: {err}", file=p,
                            hint="give a tidy .parquet file (see docs/synthetic_data.md)"
                            ) from err
    else:
        frame = read_survey(p, **kwargs).data
    record_input(p)
    return frame


def notebook_inputs(nb: dict, *, metadata: bool = True) -> list[dict[str, Any]]:
    """The data files a notebook recorded reading, each fingerprint once, in order: from its
    outputs (the records :func:`record_input` left) and, with ``metadata``, from
    ``metadata["ssp"]["inputs"]``."""
    found: dict[str, dict] = {}
    records = [(out.get("data") or {}).get(INPUT_MIME)
               for cell in nb.get("cells", []) for out in cell.get("outputs", []) or []]
    if metadata:
        records += nb.get("metadata", {}).get("ssp", {}).get("inputs", [])
    for rec in records:
        if isinstance(rec, dict) and rec.get("sha256"):
            found.setdefault(rec["sha256"], rec)
    return list(found.values())


def gather_inputs(nb) -> list[dict[str, Any]]:
    """Keep the data files a notebook's outputs record in ``nb.metadata["ssp"]["inputs"]``
    (the runners call this after executing, replacing what an earlier run left); returns
    the records."""
    inputs = [{k: rec[k] for k in ("path", "sha256", "bytes") if k in rec}
              for rec in notebook_inputs(nb, metadata=False)]
    nb.metadata.setdefault("ssp", {})["inputs"] = inputs
    return inputs


def synthetic_fingerprints() -> set[str]:
    """sha256 of every file of the shipped synthetic data (``data/synthetic/``, recursively)."""
    return {file_sha256(f) for f in sorted(SHIPPED_DIR.rglob("*")) if f.is_file()}
