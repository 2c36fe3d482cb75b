"""Relative paths resolve in the project you work in, or $SSP_DATA_DIR, not in the checkout."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pandas as pd
import pytest

from ssp_research.core import paths
from ssp_research.core.errors import DataError
from ssp_research.data.inputs import read_data

CHECKOUT = paths.PROJECT_DIR


@pytest.fixture
def env(monkeypatch):
    for name in ("SSP_PROJECT_DIR", "SSP_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"wave": [2025] * rows, "school": ["A"] * rows, "ind_lonely": 1.0})


@pytest.fixture
def copy(tmp_path):
    """A researcher's own folder: a copy of the notebooks and its own data/raw."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "data" / "raw").mkdir(parents=True)
    _frame(7).to_parquet(tmp_path / "data" / "raw" / "survey.parquet")
    return tmp_path


def test_a_copy_of_the_notebooks_reads_its_own_data(env, copy):
    env.chdir(copy / "notebooks")  # a kernel runs in the notebook's folder
    assert paths.project_dir() == copy
    assert paths.data_dir() == copy / "data" and paths.raw_dir() == copy / "data" / "raw"
    found = paths.in_project("data/raw/survey.parquet")
    assert found == copy / "data" / "raw" / "survey.parquet"
    assert len(read_data("data/raw/survey.parquet")) == 7
    assert paths.portable(found) == "data/raw/survey.parquet"  # resolves back to the file


def test_real_data_are_never_taken_silently_from_the_checkout(env, tmp_path):
    checkout = tmp_path / "checkout"  # a stand-in for the folder the package came from
    for rel in ("data/raw/old.parquet", "data/synthetic/trondheim.parquet", "output/pub.parquet"):
        (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
        _frame(3).to_parquet(checkout / rel)
    env.setattr(paths, "PROJECT_DIR", checkout)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "data").mkdir(parents=True)
    env.chdir(elsewhere)
    # the checkout's real data are not this project's: not found, and the error says where
    assert paths.in_project("data/raw/old.parquet") == elsewhere / "data" / "raw" / "old.parquet"
    with pytest.raises(DataError, match="data file not found") as err:
        read_data("data/raw/old.parquet")
    assert str(elsewhere / "data" / "raw" / "old.parquet") in str(err.value)
    # the shipped synthetic data and the workbench's outputs are found in the checkout
    assert paths.in_project("data/synthetic/trondheim.parquet") == (
        checkout / "data" / "synthetic" / "trondheim.parquet")
    assert paths.synthetic_dir() == checkout / "data" / "synthetic"
    assert paths.in_project("output/pub.parquet") == checkout / "output" / "pub.parquet"
    # a project's own synthetic data come first
    (elsewhere / "data" / "synthetic").mkdir()
    _frame(5).to_parquet(elsewhere / "data" / "synthetic" / "trondheim.parquet")
    assert paths.synthetic_dir() == elsewhere / "data" / "synthetic"
    assert len(read_data("data/synthetic/trondheim.parquet")) == 5


def test_ssp_data_dir_holds_the_data_paths(env, copy, tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    (store / "raw").mkdir()
    _frame(11).to_parquet(store / "raw" / "survey.parquet")
    env.chdir(copy)
    env.setenv("SSP_DATA_DIR", str(store))
    assert paths.data_dir() == store and paths.raw_dir() == store / "raw"
    found = paths.in_project("data/raw/survey.parquet")
    assert found == store / "raw" / "survey.parquet"  # not the project's own copy (7 rows)
    assert len(read_data("data/raw/survey.parquet")) == 11
    assert paths.portable(found) == "data/raw/survey.parquet"
    # no synthetic data in the store: the shipped ones
    assert paths.in_project("data/synthetic/trondheim.parquet") == (
        CHECKOUT / "data" / "synthetic" / "trondheim.parquet")


def test_ssp_project_dir_overrides_the_working_directory(env, copy, tmp_path_factory):
    env.chdir(tmp_path_factory.mktemp("somewhere"))
    env.setenv("SSP_PROJECT_DIR", str(copy))
    assert paths.project_dir() == copy
    assert len(read_data("data/raw/survey.parquet")) == 7
    env.delenv("SSP_PROJECT_DIR")
    assert paths.pin_project_dir() == paths.project_dir().resolve()
    assert os.environ["SSP_PROJECT_DIR"] == str(paths.project_dir().resolve())


def test_ssp_study_in_a_copy_reads_the_copys_data(env, copy, tmp_path):
    """`ssp study` started in a copy: its kernel (run in the checkout) reads the copy's data."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'data_path: str = "data/synthetic/trondheim.parquet"  # the data file')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import ssp_research.api as ssp\nprint('rows', len(ssp.read_data(data_path)))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, copy / "notebooks" / "mine.ipynb")
    out = tmp_path / "out"
    run_env = {**os.environ, "SSP_OUTPUT_DIR": str(out),
               "PYTHONPATH": os.pathsep.join([str(CHECKOUT), os.environ.get("PYTHONPATH", "")])}
    run_env.pop("SSP_PROJECT_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "ssp_research.cli", "study", "notebooks/mine.ipynb",
         "--data", "data/raw/survey.parquet"],
        cwd=copy, env=run_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    ran = nbformat.read(out / "studies" / "mine__survey.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in ran.cells[-1].outputs)
    assert "rows 7" in text, ran.cells[-1].outputs
