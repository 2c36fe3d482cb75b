"""The house stays as ``docs/DESIGN.md`` draws it: one subpackage per stage, data flowing down.

Every import in the library is read from the source (deferred imports inside functions
included, ``if TYPE_CHECKING:`` blocks too) and checked against three rules:

1. a module imports only from its own stage and the stages above it in :data:`STAGES`;
2. no import cycle between modules (an import of a package counts as an import of its
   ``__init__``, and an ``__init__`` as importing every module it re-exports from);
3. no private name (``_x``) is imported from another stage.

And ``import ssp_research`` has no side effects: it loads none of the stages and leaves
``sys.modules`` of third-party packages as it found them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ssp_research"
#: The stages from the top of the data flow down; the entry points come last.
STAGES = ("core", "data", "survey", "analysis", "disclosure", "brief", "render", "batch",
          "cli", "api")


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "ssp_research"


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of every import in ``module``."""
    path = MODULES[module]
    is_pkg = path.name == "__init__.py"
    here = module.split(".") if is_pkg else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = here[: len(here) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            if not base.startswith("ssp_research"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:
                    out.append((sub, None, node.lineno))
                else:
                    out.append((base, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ssp_research"):
                    out.append((alias.name, None, node.lineno))
    return out


def test_every_stage_is_a_subpackage_and_only_entry_points_are_loose():
    loose = sorted(m for m, p in MODULES.items() if m.count(".") == 1
                   and p.name != "__init__.py")
    assert loose == ["ssp_research.api", "ssp_research.cli"]
    for stage in STAGES[:-2]:
        assert (PACKAGE / stage / "__init__.py").is_file(), stage


def test_imports_flow_down_the_stages():
    bad = []
    for module in MODULES:
        mine = _stage(module)
        if mine == "ssp_research":  # the package's own __init__ imports only core
            allowed = {"core"}
        else:
            allowed = set(STAGES[: STAGES.index(mine) + 1])
        for target, _name, line in _imports(module):
            theirs = _stage(target)
            if theirs == "ssp_research" and target == "ssp_research":
                continue  # `from ssp_research import __version__`
            if theirs not in allowed:
                bad.append(f"{module}:{line} imports {target} ({mine} -> {theirs})")
    assert not bad, "imports against the data flow:\n" + "\n".join(bad)


def test_no_import_cycles():
    graph = defaultdict(set)
    for module in MODULES:
        for target, _name, _line in _imports(module):
            if target != module:
                graph[module].add(target)
    # Tarjan's strongly connected components
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10_000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in MODULES:
        if v not in index:
            visit(v)
    assert not comps, "import cycles: " + "; ".join(" <-> ".join(c) for c in comps)


def test_no_private_names_across_stages():
    bad = []
    for module in MODULES:
        for target, name, line in _imports(module):
            private = name is not None and name.startswith("_") and not name.startswith("__")
            if private and _stage(target) != _stage(module):
                bad.append(f"{module}:{line} takes {name} from {target}")
    assert not bad, "\n".join(bad)


def test_every_module_declares_all():
    missing = [m for m, p in MODULES.items() if "__all__" not in p.read_text(encoding="utf-8")
              ]
    assert not missing, f"modules without __all__: {missing}"


def test_importing_the_package_has_no_side_effects():
    code = ("import sys; before = set(sys.modules); import ssp_research; "
            "new = sorted(m for m in set(sys.modules) - before); print(' '.join(new)); "
            "print(type(sys.modules.get('rfc3987_syntax')).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    loaded = out[0].split()
    assert all(m == "ssp_research" or m.startswith("ssp_research.core") for m in loaded), loaded
    assert out[1] == "NoneType"  # no stand-in module was installed


@pytest.mark.parametrize("stage", STAGES[:-2])
def test_each_stage_imports_on_its_own(stage):
    """A stage's package imports in a fresh interpreter (no hidden order dependence)."""
    subprocess.run([sys.executable, "-c", f"import ssp_research.{stage}"], check=True)
