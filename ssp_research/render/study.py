"""The study runner: execute a study notebook with papermill, outside the tracked files.

A study notebook in ``notebooks/studies/`` is a template: narrative, a ``parameters`` cell and
the run on the shipped synthetic data that nbval checks. :func:`run_study` executes it in a
fresh kernel (:func:`ssp_research.render.execution.execute`) and writes the executed copy to
``<output>/studies/<notebook>__<data>.ipynb`` (``output/`` is git-ignored; ``SSP_OUTPUT_DIR``
moves it), never over the template, unless asked with ``update=True`` - which is allowed only
on the shipped synthetic data, so that what git tracks stays synthetic. The executed copy
records the data it read (``metadata["ssp"]["inputs"]``) and paths relative to the project.

Examples
--------
>>> study_output("notebooks/studies/loneliness_social_gradient.ipynb",
...              "data/raw/ungdata_2025.parquet").name
'loneliness_social_gradient__ungdata_2025.ipynb'
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from ssp_research.core import paths
from ssp_research.core.errors import ParameterError
from ssp_research.data.inputs import input_record, synthetic_fingerprints
from ssp_research.render.execution import execute
from ssp_research.render.parameters import validate_parameters
from ssp_research.render.runner import rewrite_in_place

__all__ = ["DATA_PARAMETER", "study_output", "run_study"]

#: The parameter of a study notebook that names its data file.
DATA_PARAMETER = "data_path"


def study_output(notebook: str | Path, data_path: str | Path) -> Path:
    """Where the executed copy of ``notebook`` on ``data_path`` goes (git-ignored)."""
    return (paths.output_dir() / "studies"
            / f"{Path(notebook).stem}__{Path(data_path).stem}.ipynb")


def _data_parameter(path: str | Path) -> str:
    """A data path as a parameter: relative to the project when inside it, else absolute."""
    p = Path(path).expanduser()
    if not p.is_absolute():
        return p.as_posix()
    try:
        return p.resolve().relative_to(paths.PROJECT_DIR.resolve()).as_posix()
    except ValueError:
        return str(p.resolve())


def run_study(notebook: str | Path, params: dict | None = None, *, data: str | Path | None = None,
              out: str | Path | None = None, update: bool = False,
              progress: bool = False) -> Path:
    """Execute a study notebook and write the executed copy; returns its path.

    Parameters
    ----------
    notebook : path
        The study notebook (a papermill template with a ``parameters`` cell).
    params : dict, optional
        Parameters (validated against the template before any kernel starts).
    data : path, optional
        The data file (sets the ``data_path`` parameter): relative to the project folder
        (``data/raw/...``) or absolute.
    out : path, optional
        Where to write the executed copy (default :func:`study_output`). Not the template.
    update : bool
        Write the run over the template itself, as a first release (the committed run):
        refused unless every data file is part of the shipped synthetic data.

    Raises
    ------
    ParameterError
        Unknown parameters, a template without a ``data_path`` parameter when ``data`` is
        given, ``update`` on other data, or ``out`` pointing at the template.
    ReportError
        A cell failed; the partial run is kept as ``<output>.failed.ipynb`` for its
        traceback.
    """
    notebook = Path(notebook)
    params = dict(params or {})
    if data is not None:
        params[DATA_PARAMETER] = _data_parameter(data)
    params = validate_parameters(notebook, params)
    if DATA_PARAMETER not in params:
        raise ParameterError(f"the study has no {DATA_PARAMETER!r} parameter", file=notebook,
                             hint=f"declare `{DATA_PARAMETER}: str = "
                                  f"\"data/synthetic/trondheim.parquet\"` in its parameters "
                                  f"cell and read it with ssp.read_data({DATA_PARAMETER})")
    data_file = paths.in_project(params[DATA_PARAMETER])
    if not data_file.is_file():
        raise ParameterError("data file not found", file=params[DATA_PARAMETER],
                             rule=DATA_PARAMETER,
                             hint="give a path relative to the project folder or absolute")
    if update:
        if out is not None:
            raise ParameterError("update and out exclude each other",
                                 hint="update writes the run over the notebook itself")
        if input_record(data_file)["sha256"] not in synthetic_fingerprints():
            raise ParameterError(
                f"update writes the committed notebook, and {paths.portable(data_file)} is "
                "not the shipped synthetic data", file=notebook, rule="synthetic data only",
                hint=f"run it without update: the executed copy goes to "
                     f"{study_output(notebook, data_file)} (git-ignored)")
        rewrite_in_place(notebook, params, progress=progress)
        return notebook
    target = Path(out) if out is not None else study_output(notebook, data_file)
    if target.resolve() == notebook.resolve():
        raise ParameterError("the output would overwrite the study notebook", file=target,
                             hint="leave out the output path (output/studies/), or use update "
                                  "on the synthetic data")
    target.parent.mkdir(parents=True, exist_ok=True)
    # run into <name>.failed.ipynb: a failing cell leaves it there (the error names it);
    # a run that ends is renamed into place in one step
    running = target.with_name(target.stem + ".failed.ipynb")
    nb = execute(notebook, params, running, progress=progress)
    nb.metadata["papermill"]["output_path"] = paths.portable(target)
    nbformat.write(nb, running)
    os.replace(running, target)
    return target
