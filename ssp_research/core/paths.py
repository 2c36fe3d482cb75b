"""Paths and secrets come from one place.

Every location the workbench reads or writes is derived here, from the project root or from
environment variables, so that notebooks, the CLI and tests agree.

Environment variables
---------------------
SSP_DATA_DIR
    Overrides ``<project>/data``.
SSP_OUTPUT_DIR
    Overrides ``<project>/output`` (where briefs and batch runs are written).
SSP_LEDGER_DIR
    Overrides ``<output>/ledger`` (the release ledgers of the datasets: see
    :mod:`ssp_research.disclosure.ledger`).
SSP_PSEUDONYM_KEY
    The secret key for pseudonymising respondent ids (never stored in the repository).

Examples
--------
>>> resource_path("codebooks").name
'codebooks'
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PACKAGE_DIR",
    "PROJECT_DIR",
    "RESOURCES_DIR",
    "data_dir",
    "synthetic_dir",
    "raw_dir",
    "processed_dir",
    "output_dir",
    "ledger_dir",
    "portable",
    "in_project",
    "notebooks_dir",
    "resource_path",
    "pseudonym_key",
]

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = PACKAGE_DIR.parent
RESOURCES_DIR = PACKAGE_DIR / "resources"

PSEUDONYM_KEY_ENV = "SSP_PSEUDONYM_KEY"


def portable(path: str | os.PathLike) -> str:
    """A path as it may leave this machine: relative to the project when inside it (or
    relative already), else the file name alone.

    >>> portable(PROJECT_DIR / "notebooks" / "briefs" / "evidence_brief.ipynb")
    'notebooks/briefs/evidence_brief.ipynb'
    >>> portable("/home/anne/tmp/x.ipynb"), portable("data/synthetic/trondheim.parquet")
    ('x.ipynb', 'data/synthetic/trondheim.parquet')
    """
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return p.resolve().relative_to(PROJECT_DIR.resolve()).as_posix()
    except ValueError:
        return p.name


def in_project(path: str | os.PathLike) -> Path:
    """A path as parameters give it: absolute as given (``~`` expanded), else relative to the
    project folder.

    >>> in_project("data/synthetic/trondheim.parquet") == PROJECT_DIR / "data" / "synthetic" / (
    ...     "trondheim.parquet")
    True
    """
    p = Path(path).expanduser()
    return p if p.is_absolute() else PROJECT_DIR / p


def data_dir() -> Path:
    """The data folder: ``$SSP_DATA_DIR`` or ``<project>/data``."""
    return Path(os.environ.get("SSP_DATA_DIR", PROJECT_DIR / "data"))


def synthetic_dir() -> Path:
    """Shipped synthetic datasets (committed, reproducible with ``ssp synth``)."""
    return data_dir() / "synthetic"


def raw_dir() -> Path:
    """Real raw exports: git-ignored, never written to by the workbench."""
    return data_dir() / "raw"


def processed_dir() -> Path:
    """Cleaned real data: git-ignored."""
    return data_dir() / "processed"


def output_dir() -> Path:
    """Where briefs and batch runs go: ``$SSP_OUTPUT_DIR`` or ``<project>/output``."""
    return Path(os.environ.get("SSP_OUTPUT_DIR", PROJECT_DIR / "output"))


def ledger_dir() -> Path:
    """Where the release ledgers live: ``$SSP_LEDGER_DIR`` or ``<output>/ledger``."""
    return Path(os.environ.get("SSP_LEDGER_DIR", output_dir() / "ledger"))


def publication_file(out_dir: Path) -> Path:
    """Where a batch folder (or a single brief's cache) keeps its protected publication.

    >>> publication_file(Path("out")).as_posix()
    'out/publication/publication.parquet'
    """
    return Path(out_dir) / "publication" / "publication.parquet"


def notebooks_dir() -> Path:
    """The notebook templates (``briefs/``) and study notebooks (``studies/``)."""
    return PROJECT_DIR / "notebooks"


def resource_path(*parts: str) -> Path:
    """A path inside the package's built-in resources (codebooks, frameworks, templates)."""
    return RESOURCES_DIR.joinpath(*parts)


def pseudonym_key() -> bytes | None:
    """The pseudonymisation key from ``$SSP_PSEUDONYM_KEY``, or None when it is not set."""
    key = os.environ.get(PSEUDONYM_KEY_ENV)
    return key.encode("utf-8") if key else None
