"""Parameters of notebook templates: declared in a ``parameters`` cell, checked before a run.

The ``parameters`` cell of a template holds annotated literals with a comment each::

    unit: str = "Trondheim"  # the unit's name
    wave: int | None = None  # survey wave; None = the latest in the data

:func:`template_parameters` reads them with :mod:`ast` (the cell is never executed);
:func:`validate_parameters` checks a run's parameters against them before any kernel starts
(papermill itself only warns about unknown names and does not check types);
:func:`parse_cli_parameters` turns ``name=value`` strings into typed values. All three are
re-exported by :mod:`ssp_research.render.runner`.

Examples
--------
>>> import nbformat
>>> nb = nbformat.v4.new_notebook()
>>> source = 'wave: int = 2025  # survey wave\\nlang: str = "nb"  # nb or en'
>>> cell = nbformat.v4.new_code_cell(source)
>>> cell.metadata["tags"] = ["parameters"]
>>> nb.cells = [cell]
>>> template_parameters(nb)["wave"]
Parameter(type=<class 'int'>, default=2025, comment='survey wave')
>>> validate_parameters(nb, {"lang": "en"})
{'wave': 2025, 'lang': 'en'}
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path
from typing import Any, Literal, NamedTuple, Optional

import nbformat

from ssp_research.core.errors import ParameterError, ReportError

__all__ = ["Parameter", "load_notebook", "template_parameters", "validate_parameters",
           "parse_cli_parameters"]


class Parameter(NamedTuple):
    """One declared notebook parameter: its type, default value and comment."""

    type: Any
    default: Any
    comment: str



_TYPE_NAMES = {
    "str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict,
    "tuple": tuple, "None": type(None), "Literal": Literal, "Optional": Optional,
    "Any": Any,
}  # fmt: skip


def load_notebook(template) -> nbformat.NotebookNode:
    """A notebook from a path (read as nbformat 4), or the notebook itself."""
    if isinstance(template, nbformat.NotebookNode):
        return template
    path = Path(template)
    if not path.is_file():
        raise ReportError(
            "notebook template not found", file=path,
            hint="give the path of a .ipynb template, e.g. notebooks/briefs/evidence_brief.ipynb",
        )  # fmt: skip
    return nbformat.read(path, as_version=4)


def _eval_annotation(node: ast.expr, source: str, where: str):
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    try:
        return eval(compile(ast.Expression(node), where, "eval"), {"__builtins__": {}}, _TYPE_NAMES)
    except Exception as err:  # noqa: BLE001 - any failure means an unsupported annotation
        raise ParameterError(
            f"unsupported type annotation {text!r} in the parameters cell ({err})",
            file=where, rule="annotations: str, int, float, bool, list[..], dict[..], "
            "X | None, Literal[..]", hint="use one of the supported annotations",
        ) from None


def template_parameters(template) -> dict[str, Parameter]:
    """The parameters declared in a template's ``parameters`` cell.

    Parameters
    ----------
    template : path or nbformat.NotebookNode
        The notebook template.

    Returns
    -------
    dict
        ``{name: Parameter(type, default, comment)}`` in declaration order: ``type`` is the
        evaluated annotation (``int``, ``str | None``, ``dict[str, int]``, ``Literal[...]``),
        ``default`` the literal value, ``comment`` the trailing ``# comment`` of the line.

    Notes
    -----
    The cell is parsed with :mod:`ast`, never executed. Every statement must be an annotated
    assignment of a literal (``name: type = literal  # comment``) or ``from typing import
    ...``; anything else is a :class:`~ssp_research.core.errors.ParameterError`, because papermill
    would silently accept it.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> c = nbformat.v4.new_code_cell("unit: str | None = None  # None: the whole city")
    >>> c.metadata["tags"] = ["parameters"]
    >>> nb.cells = [c]
    >>> template_parameters(nb)["unit"].comment
    'None: the whole city'
    """
    nb = load_notebook(template)
    where = str(template) if not isinstance(template, nbformat.NotebookNode) else "<notebook>"
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(
            f"the template has {len(cells)} cells tagged 'parameters', expected exactly one",
            file=where, hint="tag one code cell 'parameters' (View > Cell tags in JupyterLab)",
        )  # fmt: skip
    source = cells[0].source
    lines = source.splitlines()
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ParameterError(f"the parameters cell is not valid Python: {err.msg}",
                             file=where, row=err.lineno) from None
    spec: dict[str, Parameter] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "typing":
            continue  # `from typing import Literal` is allowed (annotations are evaluated)
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                and stmt.value is not None):
            raise ParameterError(
                "the parameters cell may only hold annotated literal assignments",
                file=where, row=stmt.lineno, rule="name: type = literal  # comment",
                hint="move derived values to the next cell",
            )  # fmt: skip
        try:
            default = ast.literal_eval(stmt.value)
        except ValueError:
            raise ParameterError(
                f"parameter {stmt.target.id!r} has a non-literal default",
                file=where, row=stmt.lineno, rule="defaults are literals",
                hint="use a literal (number, string, list, dict, None)",
            ) from None
        tp = _eval_annotation(stmt.annotation, source, where)
        line = lines[stmt.end_lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line[stmt.end_col_offset:] else ""
        name = stmt.target.id
        if not _matches(default, tp):
            raise ParameterError(
                f"default of {name!r} does not match its type {_type_name(tp)}",
                file=where, row=stmt.lineno,
            )  # fmt: skip
        spec[name] = Parameter(tp, default, comment)
    return spec


def _type_name(tp) -> str:
    if isinstance(tp, type) and not typing.get_args(tp):
        return "None" if tp is type(None) else tp.__name__
    return str(tp).replace("typing.", "")


def _matches(value, tp) -> bool:
    if tp is Any:
        return True
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType")):
        return any(_matches(value, a) for a in args)
    if origin in (list, tuple, set):
        if not isinstance(value, origin):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(args) == len(value) and all(map(_matches, value, args))
        return not args or all(_matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and (not args or all(
            _matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items()))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def _listing(spec: dict[str, Parameter]) -> str:
    return "; ".join(f"{n}: {_type_name(p.type)} = {p.default!r}" for n, p in spec.items())


def validate_parameters(template, params: dict | None) -> dict:
    """Check parameters against the template's declared types before any kernel starts.

    Parameters
    ----------
    template : path or nbformat.NotebookNode
        The notebook template.
    params : dict or None
        Overrides of the defaults.

    Returns
    -------
    dict
        Every declared parameter (defaults merged with ``params``), in declaration order;
        ints given for ``float`` parameters become floats.

    Raises
    ------
    ParameterError
        An unknown name or a value of the wrong type; the message lists every valid parameter
        with its type and default (papermill itself only warns about unknown names).

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> c = nbformat.v4.new_code_cell("wave: int = 2025  # survey wave")
    >>> c.metadata["tags"] = ["parameters"]
    >>> nb.cells = [c]
    >>> try:
    ...     validate_parameters(nb, {"wave": "2025"})
    ... except ParameterError as err:
    ...     print(err.message)
    parameter 'wave' must be int, got str '2025'
    """
    spec = template_parameters(template)
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise ParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}",
            rule=f"valid parameters: {_listing(spec)}", hint="check the spelling",
        )  # fmt: skip
    out = {}
    for name, p in spec.items():
        value = params.get(name, p.default)
        if not _matches(value, p.type):
            raise ParameterError(
                f"parameter {name!r} must be {_type_name(p.type)}, got "
                f"{type(value).__name__} {value!r}",
                rule=f"valid parameters: {_listing(spec)}",
                hint="pass a value of the declared type",
            )  # fmt: skip
        if p.type is float and isinstance(value, int):
            value = float(value)
        out[name] = value
    return out


def parse_cli_parameters(template, items) -> dict:
    """Turn ``["name=value", ...]`` from the command line into typed parameters.

    A ``str`` parameter takes the text as it is; any other type parses the text as a Python
    literal (``2025``, ``None``, ``{'min_n': 10}``). The result still goes through
    :func:`validate_parameters`.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> c = nbformat.v4.new_code_cell("wave: int = 2025  # wave\\nunit: str = 'x'  # unit")
    >>> c.metadata["tags"] = ["parameters"]
    >>> nb.cells = [c]
    >>> parse_cli_parameters(nb, ["wave=2023", "unit=Østbyen"])
    {'wave': 2023, 'unit': 'Østbyen'}
    """
    spec = template_parameters(template)
    out = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"cannot read parameter {item!r}", rule="name=value")
        if name in spec and spec[name].type is str:
            out[name] = text
            continue
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text  # validation will say what type was expected
    return out
