"""The notebook check: no numbers from real data, and no local paths, in a committed notebook.

The committed notebooks keep their outputs (nbval compares them), made from the shipped
synthetic data. A notebook that reads its data with :func:`ssp_research.data.inputs.read_data`
(or the brief's ``load``) records the sha256 of every file it read (outputs of MIME type
:data:`~ssp_research.data.inputs.INPUT_MIME`; the study and brief runners also gather them
into ``metadata["ssp"]["inputs"]``). :func:`check_notebook` refuses a notebook when

* its outputs were made from a file that is not one of the shipped synthetic data files
  (``data-input``), named with its path and fingerprint;
* it has outputs but none of them records the data they came from (``data-unknown``):
  numbers of unknown origin are treated as real (the metadata alone does not count: it
  may be left from an earlier run);
* it holds an absolute path of this machine anywhere: parameters, outputs, metadata
  (``local-path``).

A notebook without outputs passes: narrative, parameters and code are what a template is.
The check runs as a ``pre-commit`` hook on every staged ``.ipynb`` (``.pre-commit-config.yaml``,
installed by ``make``) and in ``make test`` over every tracked notebook (``ssp notebook check``),
so that a commit made around the hook fails CI.

Examples
--------
>>> import json, tempfile, pathlib
>>> nb = {"cells": [{"cell_type": "code", "source": "print(25220)", "metadata": {},
...       "outputs": [{"output_type": "stream", "name": "stdout", "text": "25220"}]}],
...       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.ipynb"
>>> _ = p.write_text(json.dumps(nb))
>>> [f.rule for f in check_notebook(p)]
['data-unknown']
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssp_research.core import paths
from ssp_research.data.inputs import notebook_inputs, synthetic_fingerprints
from ssp_research.disclosure.auditing import local_paths

__all__ = ["NotebookProblem", "check_notebook", "check_notebooks", "setup_git",
           "tracked_notebooks", "format_problems", "main"]


@dataclass(frozen=True)
class NotebookProblem:
    """Why one notebook may not be committed, and what to do."""

    file: str
    rule: str
    detail: str
    hint: str

    def __str__(self) -> str:
        return f"{self.file}: {self.detail} [rule: {self.rule}]\n  What to do: {self.hint}"


def _fix(file: str) -> str:
    rerun = (f"`.venv/bin/ssp brief --refresh --template {file}`" if "briefs/" in file
             else f"`.venv/bin/ssp study {file} --update`")
    return (f"clear its outputs (JupyterLab: Edit > Clear Outputs of All Cells, then save; or "
            f"`.venv/bin/jupyter nbconvert --clear-output --inplace {file}`), or rerun it on the "
            f"shipped synthetic data ({rerun}); then `git add` it "
            f"again. Runs on real data belong in output/studies/ (git-ignored): "
            f"`.venv/bin/ssp study {file} --data PATH`")


def _has_outputs(nb: dict) -> bool:
    return any(cell.get("outputs") for cell in nb.get("cells", [])
               if cell.get("cell_type") == "code")


def _strings(obj: Any, where: str) -> Iterable[tuple[str, str]]:
    """Every string in a notebook's JSON with where it is (``cells/3/outputs/0`` ...)."""
    if isinstance(obj, str):
        yield where, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("image/png", "image/jpeg"):  # base64, not text
                continue
            yield from _strings(v, f"{where}/{k}" if where else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _strings(v, f"{where}/{i}")


def check_notebook(path: str | Path, synthetic: set[str] | None = None) -> list[NotebookProblem]:
    """Why the notebook at ``path`` may not be committed (empty: it may).

    Parameters
    ----------
    path : path
        An ``.ipynb`` file.
    synthetic : set of str, optional
        sha256 of the shipped synthetic data files (default :func:`synthetic_fingerprints`).
    """
    path = Path(path)
    file = paths.portable(path) if path.is_absolute() else path.as_posix()
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return [NotebookProblem(file, "readable", f"not a readable notebook: {err}",
                                "repair the file or restore it from git")]
    problems = []
    if _has_outputs(nb):
        inputs = notebook_inputs(nb)
        if not notebook_inputs(nb, metadata=False):
            problems.append(NotebookProblem(
                file, "data-unknown",
                "it has outputs but no record of the data they were made from",
                "read data with `ssp.read_data(data_path)` (it records the file's fingerprint), "
                "then " + _fix(file)))
        shipped = synthetic_fingerprints() if synthetic is None else synthetic
        for rec in inputs:
            if rec["sha256"] not in shipped:
                problems.append(NotebookProblem(
                    file, "data-input",
                    f"its outputs were made from {rec.get('path', '?')} (sha256 "
                    f"{rec['sha256'][:12]}…), which is not the shipped synthetic data",
                    _fix(file)))
    seen = set()
    for where, text in _strings(nb, ""):
        for hit in local_paths(text):
            if hit not in seen:
                seen.add(hit)
                problems.append(NotebookProblem(
                    file, "local-path", f"an absolute local path {hit!r} in {where}",
                    "give paths relative to the project folder (data/raw/...), or run it "
                    f"with `.venv/bin/ssp study {file}`, which records them so"))
    return problems


def check_notebooks(files: Sequence[str | Path]) -> list[NotebookProblem]:
    """:func:`check_notebook` over several notebooks (the synthetic fingerprints read once)."""
    shipped = synthetic_fingerprints()
    return [p for f in files for p in check_notebook(f, shipped)]


def tracked_notebooks(repo: str | Path = ".") -> list[Path]:
    """Every ``.ipynb`` git tracks in the working copy at ``repo`` (committed or staged)."""
    repo = Path(repo)
    out = subprocess.run(["git", "ls-files", "-z", "--", "*.ipynb"], cwd=repo,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"git ls-files failed in {repo}: {out.stderr.strip()}")
    return [repo / f for f in out.stdout.split("\0") if f]


def format_problems(problems: Sequence[NotebookProblem]) -> str:
    """The problems as a user reads them, or a line saying there are none."""
    if not problems:
        return "notebook check: no outputs from real data, no local paths"
    names = sorted({p.file for p in problems})
    head = (f"notebook check: {len(names)} notebook(s) may not be committed as they are "
            f"({', '.join(names)})")
    return "\n".join([head, *map(str, problems)])


def setup_git(repo: str | Path = ".") -> list[str]:
    """Set up a working copy for notebooks: the ``pre-commit`` hook (this check on every
    staged notebook) and nbdime's diff and merge drivers (``git diff`` shows cells, not JSON;
    ``.gitattributes`` routes ``*.ipynb`` to them). Idempotent; returns what it did, in words.

    The drivers are this environment's own executables, so ``git`` finds them without the
    environment being activated (the paths go to ``.git/config``, which is never committed).
    Outside a git working copy nothing is done and the one line says so.
    """
    repo = Path(repo).resolve()
    inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=repo,
                            capture_output=True, text=True)
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return [f"{repo} is not a git working copy: no notebook hook or diff drivers set up"]
    bindir = Path(sys.executable).parent
    done = []
    hook = subprocess.run(["git", "rev-parse", "--git-path", "hooks/pre-commit"], cwd=repo,
                          capture_output=True, text=True, check=True).stdout.strip()
    hook_path = repo / hook
    if not (hook_path.is_file() and "pre-commit" in hook_path.read_text(errors="replace")):
        run = subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo,
                             capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"pre-commit install failed in {repo}: "
                               f"{(run.stderr or run.stdout).strip()}")
        done.append("pre-commit hook installed (the notebook check runs on every commit)")
    settings = {
        "diff.jupyternotebook.command": f"{bindir / 'git-nbdiffdriver'} diff",
        "merge.jupyternotebook.driver": f"{bindir / 'git-nbmergedriver'} merge %O %A %B %L %P",
        "merge.jupyternotebook.name": "jupyter notebook merge driver (nbdime)",
    }
    for key, value in settings.items():
        now = subprocess.run(["git", "config", "--local", "--get", key], cwd=repo,
                             capture_output=True, text=True).stdout.strip()
        if now != value:
            subprocess.run(["git", "config", "--local", key, value], cwd=repo, check=True)
            done.append(f"git config {key}")
    return done


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ssp_research.render.notebook_check [FILE ...]``: the pre-commit hook (the
    staged notebooks), or every tracked notebook when no file is given; exit 1 on problems."""
    argv = list(sys.argv[1:] if argv is None else argv)
    files = [Path(a) for a in argv] if argv else tracked_notebooks()
    problems = check_notebooks(files)
    print(format_problems(problems), file=sys.stderr if problems else sys.stdout)
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
