"""Notebooks in git: the notebook check, the study runner, the commit hook and readable diffs.

The end-to-end test does what a researcher does (issue 19): run a study notebook on a copy
of the data that is not the shipped file, put the run in place of the notebook, stage it and
commit in a scratch repository set up as ``make`` sets up this one (``ssp notebook setup-git``):
the commit is refused with the notebook, the data file and what to do; the same notebook
rerun on the synthetic data commits; ``git diff`` shows cells as text; and the ``make test``
check (``ssp notebook check``) fails on a notebook committed around the hook.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from ssp_research.core import paths
from ssp_research.core.errors import ParameterError
from ssp_research.data.inputs import INPUT_MIME, input_record, notebook_inputs
from ssp_research.render.execution import execute
from ssp_research.render.export import filter_notebook
from ssp_research.render.notebook_check import (
    check_notebook,
    check_notebooks,
    setup_git,
    tracked_notebooks,
)
from ssp_research.render.study import run_study, study_output

STUDY = paths.notebooks_dir() / "studies" / "loneliness_social_gradient.ipynb"
SYNTHETIC = paths.PROJECT_DIR / "data" / "synthetic" / "trondheim.parquet"
VENV_BIN = Path(sys.executable).parent


def _notebook(tmp_path: Path, outputs: list, metadata: dict | None = None,
              source: str = "x = 1") -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    nb.cells = [cell]
    nb.metadata.update(metadata or {})
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    return path


def _record(path) -> dict:
    rec = input_record(path)
    return {"output_type": "display_data", "metadata": {},
            "data": {INPUT_MIME: rec, "text/plain": f"Data: {rec['path']}"}}


def _stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


@pytest.fixture(scope="module")
def foreign_data(tmp_path_factory) -> Path:
    """A copy of the synthetic data that is not the shipped file (some rows dropped)."""
    folder = tmp_path_factory.mktemp("raw")
    data = pd.read_parquet(SYNTHETIC)
    path = folder / "elever_2025.parquet"
    data.iloc[7:].to_parquet(path, index=False)
    return path


def test_outputs_from_the_synthetic_data_pass(tmp_path):
    assert check_notebook(_notebook(tmp_path, [_record(SYNTHETIC), _stream("26000")])) == []


def test_outputs_from_other_data_are_refused_with_the_file_and_what_to_do(tmp_path,
                                                                          foreign_data):
    problems = check_notebook(_notebook(tmp_path, [_record(foreign_data), _stream("25993")]))
    assert [p.rule for p in problems] == ["data-input"]
    text = str(problems[0])
    assert "elever_2025.parquet" in text and "not the shipped synthetic data" in text
    assert "--clear-output" in text and "--update" in text and "output/studies/" in text
    assert str(foreign_data.parent) not in text  # the record holds no local path


def test_outputs_without_a_record_count_as_real(tmp_path, foreign_data):
    assert [p.rule for p in check_notebook(_notebook(tmp_path, [_stream("25220")]))] == [
        "data-unknown"]
    # a synthetic record left in the metadata by an earlier run does not vouch for outputs
    meta = {"ssp": {"inputs": [input_record(SYNTHETIC)]}}
    assert [p.rule for p in check_notebook(_notebook(tmp_path, [_stream("25220")], meta))] == [
        "data-unknown"]
    # ... but a real file recorded there is still a real file
    meta = {"ssp": {"inputs": [input_record(foreign_data)]}}
    rules = [p.rule for p in check_notebook(_notebook(tmp_path, [_record(SYNTHETIC)], meta))]
    assert rules == ["data-input"]


def test_a_notebook_without_outputs_passes_and_local_paths_never_do(tmp_path):
    assert check_notebook(_notebook(tmp_path, [])) == []
    path = _notebook(tmp_path, [], source='data_path = "/home/anne/ssp/data/raw/elever.sav"')
    problems = check_notebook(path)
    assert [p.rule for p in problems] == ["local-path"]
    assert "/home/anne/ssp/data/raw/elever.sav" in str(problems[0])


def test_an_unreadable_notebook_is_named(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{not json", encoding="utf-8")
    assert [p.rule for p in check_notebook(path)] == ["readable"]


def test_every_tracked_notebook_passes_the_check():
    """The ``make test`` check on this repository: committed runs are synthetic."""
    files = tracked_notebooks(paths.PROJECT_DIR)
    assert len(files) >= 4
    assert check_notebooks(files) == []
    for f in files:  # and each records the shipped data it read
        nb = json.loads(f.read_text(encoding="utf-8"))
        assert [r["path"] for r in notebook_inputs(nb, metadata=False)] == [
            "data/synthetic/trondheim.parquet"], f


def test_the_brief_export_drops_the_data_record():
    nb = nbformat.read(paths.notebooks_dir() / "briefs" / "evidence_brief.ipynb", 4)
    assert notebook_inputs(nb, metadata=False)
    assert notebook_inputs(filter_notebook(nb, "nb"), metadata=False) == []


def test_update_is_refused_on_other_data_before_any_kernel_starts(foreign_data):
    with pytest.raises(ParameterError, match="not the shipped synthetic data") as err:
        run_study(STUDY, data=foreign_data, update=True)
    assert "/studies/loneliness_social_gradient__elever_2025.ipynb" in err.value.hint
    with pytest.raises(ParameterError, match="overwrite the study notebook"):
        run_study(STUDY, out=STUDY)


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.org",
           "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-cache")}
    out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env)
    if check and out.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {out.stdout}\n{out.stderr}")
    return out


def test_scratch_repository_refuses_real_outputs_and_shows_cells_in_diffs(tmp_path,
                                                                          foreign_data):
    repo = tmp_path / "repo"
    (repo / "notebooks" / "studies").mkdir(parents=True)
    for name in (".pre-commit-config.yaml", ".gitattributes"):
        shutil.copy(paths.PROJECT_DIR / name, repo / name)
    (repo / ".venv").symlink_to(VENV_BIN.parent)  # the hook's `.venv/bin/python`
    (repo / ".gitignore").write_text(".venv\n", encoding="utf-8")
    notebook = repo / "notebooks" / "studies" / STUDY.name
    shutil.copy(STUDY, notebook)
    _git(repo, "init", "-q")
    done = setup_git(repo)
    assert any("pre-commit" in line for line in done)
    assert setup_git(repo) == []  # idempotent
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "the study as shipped")

    # a run on other data goes to output/studies/ and records that data
    run = run_study(STUDY, data=foreign_data, progress=False)
    assert run == study_output(STUDY, foreign_data) and run.parent.name == "studies"
    nb = json.loads(run.read_text(encoding="utf-8"))
    assert [r["path"] for r in nb["metadata"]["ssp"]["inputs"]] == ["elever_2025.parquet"]
    assert str(foreign_data.parent) not in run.read_text(encoding="utf-8")

    # the researcher puts it over the notebook and commits: refused, with what to do
    shutil.copy(run, notebook)
    _git(repo, "add", "-A")
    refused = _git(repo, "commit", "-m", "results", check=False)
    said = refused.stdout + refused.stderr
    assert refused.returncode != 0, said
    assert STUDY.name in said and "elever_2025.parquet" in said
    assert "not the shipped synthetic data" in said and "--clear-output" in said
    assert _git(repo, "rev-list", "--count", "HEAD").stdout.strip() == "1"

    # rerun on the synthetic data over the notebook: commits cleanly
    execute(STUDY, {}, notebook)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "rerun on the synthetic data")

    # git diff of a changed study notebook shows the cell's source and outputs as text
    nb = nbformat.read(notebook, 4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "respondents" in c.source)
    cell.source = cell.source.replace("respondents", "pupils")
    stream = next(o for o in cell.outputs if o.output_type == "stream")
    stream.text = stream.text.replace("respondents", "pupils")
    nbformat.write(nb, notebook)
    diff = _git(repo, "diff").stdout
    assert "## modified /cells/" in diff and "/source" in diff and "/outputs/" in diff
    assert 'pupils, waves' in diff and '"cell_type"' not in diff

    # committed around the hook: the make-test check fails on it
    shutil.copy(run, notebook)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-verify", "-m", "around the hook")
    check = subprocess.run([str(VENV_BIN / "ssp"), "notebook", "check"], cwd=repo,
                           capture_output=True, text=True)
    assert check.returncode == 1
    assert "elever_2025.parquet" in check.stderr and STUDY.name in check.stderr
