"""R-like model formulas and design matrices, built directly with numpy (no patsy).

``"y ~ a + b + C(g) + factor(h) + a:b + a*b - 1"``: numeric columns enter as they are; text,
categorical and boolean columns (or any column wrapped in ``C()``, ``factor()`` or
``as.factor()``) enter as treatment dummies named like R (``stypeH`` for level ``H`` of
``stype``, ``factor(grade)9`` for ``factor(grade)``; the first level, in categorical order
or sorted, is the reference; without an intercept the first factor keeps all its levels). Terms are
ordered as R orders them (main effects, then interactions). Rows with a missing value in any
term are flagged (R's ``na.omit``). Building the matrix of a million rows takes a fraction of
a second, where statsmodels' formula parsing takes seconds.
"""

from __future__ import annotations

import difflib
import re
from itertools import combinations, product

import numpy as np
import pandas as pd

from ssp_research.core.errors import EstimationError, ParameterError

__all__ = [
    "parse_formula",
    "model_matrix",
    "model_response",
    "formula_column",
    "is_categorical",
    "factor_name",
    "factor_prefix",
    "column_hint",
]


def _split_top(text: str, seps: str) -> list[tuple[str, str]]:
    """Split at separators outside parentheses; returns (separator before, piece) pairs."""
    out, depth, start, sign = [], 0, 0, "+"
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and ch in seps:
            out.append((sign, text[start:i].strip()))
            sign, start = ch, i + 1
    out.append((sign, text[start:].strip()))
    return out


def parse_formula(formula: str) -> tuple[str | None, list[tuple[str, ...]], bool]:
    """Parse ``"y ~ a + b:c - 1"`` into (response, terms, intercept).

    Examples
    --------
    >>> parse_formula("y ~ a * b - 1")
    ('y', [('a',), ('b',), ('a', 'b')], False)
    """
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ParameterError(
            f"formula {formula!r} must be a string with one '~'",
            rule="formula 'y ~ x1 + x2' (models) or '~ x1 + x2' (calibration)",
            hint='write e.g. "api00 ~ ell + meals" or "~ api99 + stype"',
        )
    lhs, rhs = (part.strip() for part in formula.split("~"))
    intercept, terms = True, []
    for sign, piece in _split_top(rhs, "+-"):
        if piece == "":
            if sign == "+" and not terms:
                continue
            raise ParameterError(f"empty term in formula {formula!r}", rule="formula syntax")
        if piece in ("0", "1"):
            intercept = piece == "1" and sign == "+"
            continue
        if sign == "-":
            raise ParameterError(
                f"cannot remove term {piece!r} in {formula!r}: only '- 1' is supported",
                rule="formula syntax",
                hint="leave the term out instead",
            )
        factors = [f.strip() for s, f in _split_top(piece, "*")]
        if len(factors) > 1:  # a*b -> a + b + a:b (all interactions)
            for k in range(1, len(factors) + 1):
                for combo in combinations(factors, k):
                    terms.append(tuple(x for f in combo for _, x in _split_top(f, ":")))
        else:
            terms.append(tuple(x for _, x in _split_top(piece, ":")))
    seen, unique = set(), []
    for t in terms:
        if t not in seen:
            seen.add(t)
            unique.append(t)
    unique.sort(key=len)  # as R: main effects, then two-way interactions, ...
    return (lhs or None), unique, intercept


_FACTOR_CALL = re.compile(r"(C|factor|as\.factor)\(\s*(.+?)\s*\)")

#: How many columns an "unknown variable" message lists before "... and N more".
_LIST_COLUMNS = 30


def factor_name(token: str) -> tuple[str, bool]:
    """The column a formula token names and whether it is forced to be a factor.

    ``"C(x)"``, ``"factor(x)"`` and ``"as.factor(x)"`` give ``("x", True)``; ``"x"`` gives
    ``("x", False)``; backticks are allowed around names.

    Examples
    --------
    >>> factor_name("factor(grade)"), factor_name("C(grade)"), factor_name("`my col`")
    (('grade', True), ('grade', True), ('my col', False))
    """
    m = _FACTOR_CALL.fullmatch(token)
    name, forced = (m.group(2), True) if m else (token, False)
    return name.strip("`"), forced


def factor_prefix(token: str) -> str:
    """The prefix of a factor's dummy names, as R's ``model.matrix`` names them:
    ``factor(x)`` and ``as.factor(x)`` keep the call (``factor(x)b``); ``C(x)`` and a plain
    categorical column use the column name (``xb``)."""
    m = _FACTOR_CALL.fullmatch(token)
    if m and m.group(1) != "C":
        return f"{m.group(1)}({m.group(2).strip('`')})"
    return factor_name(token)[0]


def column_hint(name: str, columns) -> str:
    """"did you mean ...?" with close matches, then the columns (the first 30, then
    "... and N more"), for messages about an unknown column.

    Examples
    --------
    >>> column_hint("grde", ["grade", "w"] + [f"q{i}" for i in range(40)])[:40]
    "did you mean 'grade'? columns: grade, w,"
    >>> column_hint("x", [f"q{i}" for i in range(40)])[-19:]
    'q29 ... and 10 more'
    """
    cols = [str(c) for c in columns]
    close = difflib.get_close_matches(str(name), cols, n=3)
    listed = ", ".join(cols[:_LIST_COLUMNS])
    if len(cols) > _LIST_COLUMNS:
        listed += f" ... and {len(cols) - _LIST_COLUMNS} more"
    return (f"did you mean {' or '.join(map(repr, close))}? " if close else "") \
        + f"columns: {listed}"


def formula_column(data: pd.DataFrame, name: str, formula: str) -> pd.Series:
    """The column ``name``; an unknown name raises EstimationError with close matches."""
    if name not in data.columns:
        call = re.fullmatch(r"([A-Za-z_.][\w.]*)\(.*\)", str(name))
        extra = (f"; the function {call.group(1)}() is not supported in formulas: use "
                 "factor(x) or C(x) for a factor, or add a derived column "
                 "(design.assign(...))") if call else ""
        raise EstimationError(
            f"unknown variable {name!r} in formula {formula!r}",
            column=name,
            rule="every formula variable must be a column of the design's data" + extra,
            hint=column_hint(name, data.columns),
        )
    return data[name]


def is_categorical(s: pd.Series) -> bool:
    """True for text, categorical and boolean columns (they enter as dummies)."""
    return not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def _factor_columns(
    s: pd.Series, name: str, full: bool = False
) -> tuple[list[np.ndarray], list[str], np.ndarray]:
    """Treatment dummies (first level dropped unless ``full``), names and the missing mask."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat = s.cat.remove_unused_categories()
    else:
        cat = s.astype("category")
    codes = cat.cat.codes.to_numpy()
    levels = list(cat.cat.categories)
    first = 0 if full else 1
    cols = [(codes == j).astype(float) for j in range(first, len(levels))]
    names = [f"{name}{_r_label(lv)}" for lv in levels]
    return cols, names[first:], codes < 0


def _r_label(level) -> str:
    """A level as R's ``as.character`` writes it (TRUE/FALSE, 8 for 8.0)."""
    if isinstance(level, (bool, np.bool_)):
        return "TRUE" if level else "FALSE"
    if isinstance(level, (float, np.floating)) and float(level).is_integer():
        return str(int(level))
    return str(level)


def model_matrix(data: pd.DataFrame, formula: str, *, with_terms: bool = False):
    """Build the design matrix of an R-like formula's right-hand side.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    formula : str
        ``"y ~ a + C(b) + a:b"`` or ``"~ a + b"``; the response (if any) is ignored here.
    with_terms : bool, default False
        Also return the term label of every column (R's ``attr(, "assign")`` by name:
        ``"(Intercept)"``, ``"a"``, ``"C(b)"``, ``"a:C(b)"``), as a fourth value.

    Returns
    -------
    X : numpy.ndarray
        (n, p) float matrix; rows with a missing value hold 0.
    names : list of str
        Column names as R's ``model.matrix`` gives them (``(Intercept)``, ``ell``, ``stypeH``,
        ``ell:stypeH``).
    ok : numpy.ndarray
        Boolean mask of rows without a missing value in any term.
    terms : list of str
        Only with ``with_terms=True``: the term of each column.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, 2.0, None], "g": ["a", "b", "b"]})
    >>> X, names, ok = model_matrix(df, "~ x + g")
    >>> names, ok.tolist()
    (['(Intercept)', 'x', 'gb'], [True, True, False])
    """
    _, terms, intercept = parse_formula(formula)
    n = len(data)
    ok = np.ones(n, dtype=bool)
    blocks: list[np.ndarray] = [np.ones(n)] if intercept else []
    names = ["(Intercept)"] if intercept else []
    assign = list(names)
    cache: dict[str, tuple[list[np.ndarray], list[str]]] = {}
    full_coding = not intercept  # as R: without intercept the first factor keeps all levels
    for term in terms:
        parts = []
        for token in term:
            if token not in cache:
                name, forced = factor_name(token)
                s = formula_column(data, name, formula)
                if forced or is_categorical(s):
                    full = full_coding and len(term) == 1
                    cols, labels, miss = _factor_columns(s, factor_prefix(token), full)
                    full_coding = False
                else:
                    values = s.to_numpy(dtype=float, na_value=np.nan)
                    miss = np.isnan(values)
                    cols, labels = [values], [name]
                ok &= ~miss
                cache[token] = (cols, labels)
            parts.append(cache[token])
        for combo in product(*[range(len(p[0])) for p in parts]):
            col = parts[0][0][combo[0]]
            for p, j in zip(parts[1:], combo[1:]):
                col = col * p[0][j]
            blocks.append(col)
            names.append(":".join(p[1][j] for p, j in zip(parts, combo)))
            assign.append(":".join(term))
    X = np.column_stack(blocks) if blocks else np.empty((n, 0))
    X[~ok] = 0.0
    return (X, names, ok, assign) if with_terms else (X, names, ok)


def model_response(data: pd.DataFrame, name: str, formula: str) -> tuple[np.ndarray, np.ndarray]:
    """The response as float (a two-level factor as 0/1 for its second level) and its mask."""
    s = formula_column(data, name, formula)
    if is_categorical(s):
        cat = s.astype("category")
        if len(cat.cat.categories) != 2:
            raise EstimationError(
                f"response {name!r} is not numeric and does not have two levels",
                column=name,
                rule="numeric response, or a two-level response (second level = 1)",
                hint="recode the response to 0/1 or to a number",
            )
        y = np.array((cat.cat.codes == 1).to_numpy(), dtype=float)
        y[cat.cat.codes.to_numpy() < 0] = np.nan
    else:
        y = s.to_numpy(dtype=float, na_value=np.nan)
    return y, ~np.isnan(y)
