"""Paths and secrets come from one place.

Every location the workbench reads or writes is derived here, from the project root or from
environment variables, so that notebooks, the CLI and tests agree.

Relative paths (``data/raw/ungdata_2025.parquet``, as notebook parameters and command options
give them) are resolved in the project you work in (:func:`in_project`), not in the folder
this package was installed from: a copy of the notebooks in another folder reads its own
``data/``, or ``$SSP_DATA_DIR``. Only the shipped synthetic data and what the workbench
itself writes (``output/``) are also looked up in the workbench's folder.

Environment variables
---------------------
SSP_PROJECT_DIR
    The project relative paths are resolved in (default: the nearest of the working directory
    and its parents that holds a ``data/`` folder, else the workbench's folder). The ``ssp``
    command sets it for the kernels and workers it starts, so they resolve as it does.
SSP_DATA_DIR
    Overrides ``<project>/data``: ``data/...`` paths are read from here.
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
    "project_dir",
    "pin_project_dir",
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


PROJECT_ENV = "SSP_PROJECT_DIR"
DATA_ENV = "SSP_DATA_DIR"


def project_dir() -> Path:
    """The project relative paths are resolved in.

    ``$SSP_PROJECT_DIR``, else the nearest of the working directory and its parents that
    holds a ``data/`` folder (a copy of the notebooks with its own data), else the workbench's
    folder (:data:`PROJECT_DIR`).

    >>> import os
    >>> project_dir() == PROJECT_DIR if Path.cwd().resolve() == PROJECT_DIR.resolve() else True
    True
    """
    env = os.environ.get(PROJECT_ENV)
    if env:
        return Path(env).expanduser()
    cwd = Path.cwd()
    return next((d for d in (cwd, *cwd.parents) if (d / "data").is_dir()), PROJECT_DIR)


def _data_override(p: Path) -> Path | None:
    """``data/<rest>`` as ``$SSP_DATA_DIR/<rest>`` when the variable is set."""
    env = os.environ.get(DATA_ENV)
    if env and p.parts and p.parts[0] == "data":
        return Path(env).expanduser().joinpath(*p.parts[1:])
    return None


def _shared(p: Path) -> bool:
    """A relative path that may also be found in the workbench's folder: anything but data
    (outputs, templates), or the shipped synthetic data."""
    return not p.parts or p.parts[0] != "data" or p.parts[:2] == ("data", "synthetic")


def portable(path: str | os.PathLike) -> str:
    """A path as it may leave this machine: relative to the project when inside it (or
    relative already), else the file name alone.

    Inside ``$SSP_DATA_DIR`` it is ``data/<relative>``, which :func:`in_project` resolves
    back to the same file; inside the current project (:func:`project_dir`) or the
    workbench's folder, relative to it.

    >>> portable(PROJECT_DIR / "notebooks" / "briefs" / "evidence_brief.ipynb")
    'notebooks/briefs/evidence_brief.ipynb'
    >>> portable("/home/anne/tmp/x.ipynb"), portable("data/synthetic/trondheim.parquet")
    ('x.ipynb', 'data/synthetic/trondheim.parquet')
    """
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    p = p.resolve()
    env = os.environ.get(DATA_ENV)
    bases = [(Path(env).expanduser(), "data")] if env else []
    bases += [(project_dir(), ""), (PROJECT_DIR, "")]
    for base, prefix in bases:
        try:
            rel = p.relative_to(base.resolve())
        except ValueError:
            continue
        return (Path(prefix) / rel).as_posix() if prefix else rel.as_posix()
    return p.name


def in_project(path: str | os.PathLike) -> Path:
    """A path as parameters give it: absolute as given (``~`` expanded), else relative to the
    project (:func:`project_dir`).

    ``data/...`` is read from ``$SSP_DATA_DIR`` when it is set. A relative path that is not
    in the project is looked up in the workbench's folder only when it is not data, or is the
    shipped synthetic data (``data/synthetic/...``): real data are never taken silently from
    the folder the package was installed from. A path found nowhere is returned in the
    project (or ``$SSP_DATA_DIR``), so that the error names where it was expected.

    >>> in_project("data/synthetic/trondheim.parquet") == PROJECT_DIR / "data" / "synthetic" / (
    ...     "trondheim.parquet")
    True
    """
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    first = _data_override(p) or project_dir() / p
    if first.exists() or not _shared(p):
        return first
    shipped = PROJECT_DIR / p
    return shipped if shipped.exists() else first


def data_dir() -> Path:
    """The data folder: ``$SSP_DATA_DIR`` or ``<project>/data`` (:func:`project_dir`)."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else project_dir() / "data"


def synthetic_dir() -> Path:
    """The synthetic datasets: ``<data>/synthetic`` when that folder exists (a project's own
    run of ``ssp synth``), else the shipped ones (committed, reproducible with ``ssp synth``).
    ``ssp synth`` writes to ``<data>/synthetic``."""
    own = data_dir() / "synthetic"
    return own if own.is_dir() else PROJECT_DIR / "data" / "synthetic"


def raw_dir() -> Path:
    """Real raw exports (``<data>/raw``): git-ignored, never written to by the workbench."""
    return data_dir() / "raw"


def processed_dir() -> Path:
    """Cleaned real data (``<data>/processed``): git-ignored."""
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


def pin_project_dir() -> Path:
    """Set ``$SSP_PROJECT_DIR`` to :func:`project_dir` unless it is set; returns it.

    The ``ssp`` command calls this first, so that the kernels and workers it starts (which run
    in the workbench's folder) resolve relative paths in the project it was started in.
    """
    project = project_dir().resolve()
    os.environ.setdefault(PROJECT_ENV, str(project))
    return Path(os.environ[PROJECT_ENV])


def pseudonym_key() -> bytes | None:
    """The pseudonymisation key from ``$SSP_PSEUDONYM_KEY``, or None when it is not set."""
    key = os.environ.get(PSEUDONYM_KEY_ENV)
    return key.encode("utf-8") if key else None
