"""environment.yml is generated from pyproject.toml (pyproject2conda) and must not drift."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENV_YML = ROOT / "environment.yml"
PYPROJECT = ROOT / "pyproject.toml"
FIX = "Run `make env-yml` and commit environment.yml together with pyproject.toml."
#: The extras in the conda environment: the tests' and the docs' (`make test` builds the site).
EXTRAS = ("dev", "docs")


def _pyproject2conda() -> str:
    exe = Path(sys.executable).with_name("pyproject2conda")
    if exe.exists():
        return str(exe)
    found = shutil.which("pyproject2conda")
    if not found:
        pytest.fail("pyproject2conda is missing; install the dev extra: pip install -e .[dev]")
    return found


def _body(text: str) -> list[str]:
    """The YAML without the generated comment header (which names the output path)."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_environment_yml_matches_pyproject(tmp_path):
    out = tmp_path / "environment.yml"
    subprocess.run(
        [_pyproject2conda(), "yaml", "--pyproject", str(PYPROJECT),
         *(arg for extra in EXTRAS for arg in ("-e", extra)), "-p", "3.11", "-o", str(out)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )
    expected = _body(out.read_text(encoding="utf-8"))
    actual = _body(ENV_YML.read_text(encoding="utf-8"))
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    assert actual == expected, (
        f"environment.yml has drifted from pyproject.toml: missing {missing}, extra {extra}. {FIX}"
    )


def _names(deps: list[str]) -> set[str]:
    return {re.split(r"[<>=!~ ]", d, maxsplit=1)[0].lower() for d in deps}


#: not on conda-forge: installed by pip inside the conda environment
PIP_ONLY = {"axe-playwright-python"}


def test_environment_yml_structure():
    env = yaml.safe_load(ENV_YML.read_text(encoding="utf-8"))
    assert env["channels"] == ["conda-forge"]
    deps = env["dependencies"]
    # conda-forge has everything but the packages marked `pip = true` in pyproject.toml
    pip = [d["pip"] for d in deps if isinstance(d, dict)]
    assert len(pip) <= 1 and _names(pip[0] if pip else []) <= PIP_ONLY, pip
    deps = [d for d in deps if isinstance(d, str)]
    assert "python=3.11" in deps
    names = _names(deps) | _names(pip[0] if pip else [])
    # conda-forge's lean matplotlib (no Qt); plain "matplotlib" would pull a GUI toolkit.
    assert "matplotlib-base" in names and "matplotlib" not in names
    # PyPI "playwright" is "playwright-python" on conda-forge
    assert "playwright-python" in names and "playwright" not in names
    # every runtime dependency of pyproject.toml is in the conda environment
    import tomllib

    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = _names(project["dependencies"] + [d for e in EXTRAS for d in extras[e]])
    renamed = {"matplotlib": "matplotlib-base", "playwright": "playwright-python"}
    wanted = {renamed.get(n, n) for n in wanted}
    assert wanted <= names, f"missing from environment.yml: {sorted(wanted - names)}. {FIX}"


def test_make_env_yml_and_install_use_the_same_extras():
    """`make env-yml` writes the environment this test expects; the venv has the same extras."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(ln for ln in makefile.splitlines() if "pyproject2conda yaml" in ln)
    assert re.findall(r"-e (\w+)", line) == list(EXTRAS), line
    assert f'-e ".[{",".join(EXTRAS)}]"' in makefile, "the install step must install the extras"
