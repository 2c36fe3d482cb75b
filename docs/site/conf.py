"""Sphinx configuration of the API reference site (``make docs``).

Sphinx with numpydoc and the PyData theme, because the library's docstrings are numpydoc
already and this is the stack of numpy, pandas and statsmodels, whose users we write for.

Two kinds of source are generated at build time, into git-ignored files of this folder:

- ``api/<stage>.rst``: one page per stage of the library, listing every public name of the
  stage (its ``__init__``'s ``__all__``; for ``survey`` every name of its public modules),
  grouped by the module that defines it, so that a new public function is documented
  without editing this site; autosummary then writes one page per object into
  ``api/generated/``;
- ``studies/*.ipynb``: copies of ``notebooks/studies/``, rendered by myst-nb with their
  committed outputs (nothing is executed during the build; myst-nb needs no pandoc, which
  nbsphinx would).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

import ssp_research  # noqa: E402

project = "SteinSaksPapir research workbench"
author = "SteinSaksPapir"
copyright = "SteinSaksPapir"
version = release = ssp_research.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_nb",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# --- API pages ---------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
numpydoc_show_class_members = False  # the class template lists the methods, one page each
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
add_module_names = False

# no network during the build: intersphinx is configured but has no inventories to fetch
intersphinx_mapping: dict = {}

# --- notebooks ---------------------------------------------------------------------------
nb_execution_mode = "off"  # the committed outputs are the worked examples
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# --- look ----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "SSP research workbench"
html_static_path = ["_static"]
html_css_files = ["ssp.css"]
# the hand-written pages have no section navigation: the whole width for their tables
html_sidebars = {"index": [], "install": [], "r_survey": []}
add_function_parentheses = False
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False


# --- generated sources ---------------------------------------------------------------------
#: The stages documented, in the order of the data's way through the library. ``None``: the
#: public names of the stage package (its ``__all__``); a list: every public name of those
#: modules (the survey stage, whose modules researchers call directly: ``ssp.estimate``).
STAGES: dict[str, tuple[str, list[str] | None]] = {
    "survey": ("Survey statistics", ["design", "estimate", "quantiles", "weights", "models",
                                     "compare", "termtest", "formula"]),
    "analysis": ("Analysis", None),
    "data": ("Reading and cleaning data", None),
    "disclosure": ("Disclosure control", None),
    "brief": ("Evidence briefs", None),
    "render": ("Rendering briefs", None),
    "batch": ("Batches", None),
    "core": ("Errors and core utilities", None),
}


def _defined_names(module) -> set[str]:
    """Names a module defines itself (functions, classes, top-level assignments)."""
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _home(package: str, name: str) -> str:
    """The module that defines the public name ``package.name``."""
    obj = getattr(importlib.import_module(package), name)
    mod = getattr(obj, "__module__", None)
    if isinstance(mod, str) and mod.startswith(package) and (
        name in _defined_names(importlib.import_module(mod))
    ):
        return mod
    for sub in sorted(vars(importlib.import_module(package))):
        full = f"{package}.{sub}"
        if full in sys.modules and name in _defined_names(sys.modules[full]):
            if getattr(sys.modules[full], name, None) is obj:
                return full
    return package


def stage_members(stage: str) -> dict[str, list[str]]:
    """``{module: [public names it defines]}`` of one stage, in ``__all__`` order."""
    package = f"ssp_research.{stage}"
    modules = STAGES[stage][1]
    out: dict[str, list[str]] = {}
    if modules is None:
        for name in importlib.import_module(package).__all__:
            out.setdefault(_home(package, name), []).append(name)
    else:
        for m in modules:
            mod = importlib.import_module(f"{package}.{m}")
            own = _defined_names(mod)
            out[mod.__name__] = [n for n in mod.__all__ if n in own]
    return out


def _kind(obj) -> str:
    return "class" if inspect.isclass(obj) else "function" if callable(obj) else "data"


def _stage_page(stage: str) -> str:
    title = f"{STAGES[stage][0]} (``ssp_research.{stage}``)"
    lines = [title, "=" * len(title), "", f".. automodule:: ssp_research.{stage}", ""]
    for module, names in stage_members(stage).items():
        mod = importlib.import_module(module)
        lines += [f"``{module}``", "-" * (len(module) + 4), ""]
        if module != f"ssp_research.{stage}":
            lines += [f".. automodule:: {module}", ""]
        lines += [f".. currentmodule:: {module}", ""]
        data = [n for n in names if _kind(getattr(mod, n)) == "data"]
        objects = [n for n in names if n not in data]
        if objects:
            lines += [".. autosummary::", "   :toctree: generated", ""]
            lines += [f"   {n}" for n in objects] + [""]
        for n in data:
            lines += [f".. autodata:: {n}", "   :no-value:", ""]
    return "\n".join(lines)


def _write_if_changed(path: Path, text: str | bytes) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    if path.exists() and path.read_bytes() == data:
        return  # unchanged: Sphinx keeps its cached doctree
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def generate_sources() -> None:
    """Write the stage pages and copy the study notebooks (only what changed)."""
    for stage in STAGES:
        _write_if_changed(HERE / "api" / f"{stage}.rst", _stage_page(stage))
    studies = HERE / "studies"
    wanted = {p.name: p for p in sorted((ROOT / "notebooks" / "studies").glob("*.ipynb"))}
    for old in studies.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for name, src in wanted.items():
        _write_if_changed(studies / name, _for_site(src))


#: The data fingerprint a study records (``ssp.read_data``) has a MIME type of its own, which
#: no renderer knows; its text/plain twin ("Data: ... (sha256 ...)") is shown instead.
DATA_INPUT_MIME = "application/vnd.ssp.data-input+json"


def _for_site(notebook: Path) -> str:
    """The notebook as the site shows it: its committed outputs, less the fingerprint MIME."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            out.get("data", {}).pop(DATA_INPUT_MIME, None)
    return json.dumps(nb, ensure_ascii=False, indent=1) + "\n"


generate_sources()


# --- the hand-written pages may not point at names that do not exist ---------------------
def _strict_reference(app, env, node, contnode):
    """Warn (an error under ``-W``) for an unresolved Python reference on a hand-written page.

    The API pages render references to undocumented helpers as plain code, as Sphinx does
    by default; a page such as "Coming from R" must name only functions that exist.
    """
    doc = node.get("refdoc", "")
    if node.get("refdomain") != "py" or doc.startswith("api/") or doc.startswith("studies/"):
        return None
    from sphinx.util import logging

    logging.getLogger(__name__).warning(
        "%s reference target not found: %s", node.get("reftype"), node.get("reftarget"),
        location=node, type="ssp", subtype="missing_reference",
    )
    return None


def setup(app):
    app.connect("missing-reference", _strict_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
