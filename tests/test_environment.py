"""environment.yml and requirements.lock are generated from pyproject.toml and must not drift."""

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
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
FIX = "Run `make env-yml` and commit environment.yml together with pyproject.toml."
LOCK_FIX = "Run `make lock` and commit requirements.lock together with pyproject.toml."
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


def test_make_env_yml_and_lock_use_the_same_extras():
    """`make env-yml` and `make lock` write what these tests expect, from the same extras."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(ln for ln in makefile.splitlines() if "pyproject2conda yaml" in ln)
    assert re.findall(r"-e (\w+)", line) == list(EXTRAS), line
    recipes = [ln for ln in makefile.splitlines() if ln.startswith("\t")]
    line = next(ln for ln in recipes if "uv pip compile" in ln)
    assert re.findall(r"--extra (\w+)", line) == list(EXTRAS), line
    assert "--python-version 3.11" in line and "-o requirements.lock" in line, line
    # the lock's header records the command that wrote it: the same extras and target
    header = LOCK.read_text(encoding="utf-8").splitlines()[:2]
    command = next(ln for ln in header if "uv pip compile" in ln)
    assert re.findall(r"--extra (\w+)", command) == list(EXTRAS), command
    assert "--python-version 3.11" in command and "--python-platform linux" in command, command


def test_install_uses_the_lock_then_the_project_without_deps():
    """The venv is installed from the pinned versions; the project adds no unpinned package."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("$(STAMP): ", 1)[1].split("\n\n", 1)[0]
    assert "requirements.lock" in recipe.splitlines()[0], "rebuild the venv when the lock changes"
    steps = [ln.strip() for ln in recipe.splitlines()[1:]]
    installs = [(i, ln) for i, ln in enumerate(steps) if "pip install" in ln]
    lock = next(i for i, ln in installs if "-r requirements.lock" in ln)
    project = next(i for i, ln in installs if "-e ." in ln)
    assert lock < project and "--no-deps" in steps[project], steps


def _lock_pins() -> dict[str, str]:
    """The lock's ``name==version`` lines, by canonical name; anything else is an error."""
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for number, raw in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert match, f"requirements.lock:{number}: not an exact pin: {raw!r}. {LOCK_FIX}"
        name = canonicalize_name(match[1])
        assert name not in pins, f"requirements.lock:{number}: {name} pinned twice"
        pins[name] = match[2]
    return pins


def _wanted_requirements():
    """pyproject's runtime dependencies and those of the locked extras, as Requirements."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + [d for e in EXTRAS for d in extras[e]]
    return [Requirement(d) for d in wanted]


#: the lock's target (`make lock`): CPython 3.11 on Linux
LOCK_ENV = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
            "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
            "platform_python_implementation": "CPython", "platform_machine": "x86_64"}


def test_lock_pins_every_dependency_within_its_specifier():
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    pins = _lock_pins()
    missing, outside = [], []
    for req in _wanted_requirements():
        if req.marker is not None and not req.marker.evaluate(LOCK_ENV):
            continue
        name = canonicalize_name(req.name)
        if name not in pins:
            missing.append(str(req))
        elif not req.specifier.contains(Version(pins[name]), prereleases=True):
            outside.append(f"{req} (locked {pins[name]})")
    assert not missing, f"not pinned in requirements.lock: {missing}. {LOCK_FIX}"
    assert not outside, f"requirements.lock pins outside pyproject.toml: {outside}. {LOCK_FIX}"
    # the project itself is installed from the working copy (pip install --no-deps -e .)
    assert "ssp-research" not in pins
