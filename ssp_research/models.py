"""Design-based models: survey GLMs, t-tests, contrasts and the Rao-Scott chi-square.

Each function takes a :class:`ssp_research.design.SurveyDesign` first and reproduces what R's
``survey`` package computes (``svyglm``, ``svyttest``, ``svycontrast``, ``svychisq``); the
tests compare every number with R to a relative 1e-6 (``tests/reference/``).

Variances are Taylor-linearised: each row's influence value (its estimating-function
contribution times the inverse information, already multiplied by the design weight) goes to
``design._vcov``, which applies post-stratification, raking or calibration adjustments and
then the strata/cluster/fpc formula of R's ``svyrecvar``.

Formulas are R-like and parsed here, without patsy, so that a model on a million rows builds
its design matrix in a fraction of a second: ``"y ~ a + b + C(g) + a:b + a*b - 1"``. Numeric
columns enter as they are; text, categorical and boolean columns (or any column wrapped in
``C()``) enter as treatment dummies named like R (``stypeH`` for level ``H`` of ``stype``; the
first level, in categorical order or sorted, is the reference). Rows with a missing value in
any model variable are left out (R's ``na.omit``).
"""

from __future__ import annotations

import difflib
import re
from itertools import combinations, product

import numpy as np
import pandas as pd
from scipy import special, stats

from ssp_research.errors import EstimationError, ParameterError

__all__ = ["svyglm", "svyttest", "svycontrast", "svychisq", "model_matrix", "FAMILIES"]

#: Families accepted by :func:`svyglm` (quasi families give the same estimates and SEs).
FAMILIES = ("gaussian", "binomial", "quasibinomial", "poisson", "quasipoisson")

_GLM_COLUMNS = ["term", "estimate", "se", "ci_low", "ci_high", "df", "n", "statistic", "p_value"]


# --- formulas and design matrices -----------------------------------------------------------


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


def _parse_formula(formula: str) -> tuple[str | None, list[tuple[str, ...]], bool]:
    """Parse ``"y ~ a + b:c - 1"`` into (response, terms, intercept)."""
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


def _factor_name(token: str) -> tuple[str, bool]:
    """``"C(x)"`` -> ("x", True); ``"x"`` -> ("x", False); backticks allowed."""
    m = re.fullmatch(r"C\(\s*(.+?)\s*\)", token)
    name, forced = (m.group(1), True) if m else (token, False)
    return name.strip("`"), forced


def _column(data: pd.DataFrame, name: str, formula: str) -> pd.Series:
    if name not in data.columns:
        close = difflib.get_close_matches(str(name), [str(c) for c in data.columns], n=3)
        raise EstimationError(
            f"unknown variable {name!r} in formula {formula!r}",
            column=name,
            rule="every formula variable must be a column of the design's data",
            hint=(f"did you mean {' or '.join(map(repr, close))}? " if close else "")
            + f"columns: {', '.join(map(str, list(data.columns)[:30]))}",
        )
    return data[name]


def _is_categorical(s: pd.Series) -> bool:
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
    names = [f"{name}{'TRUE' if lv is True else 'FALSE' if lv is False else lv}" for lv in levels]
    return cols, names[first:], codes < 0


def model_matrix(data: pd.DataFrame, formula: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Build the design matrix of an R-like formula's right-hand side.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    formula : str
        ``"y ~ a + C(b) + a:b"`` or ``"~ a + b"``; the response (if any) is ignored here.

    Returns
    -------
    X : numpy.ndarray
        (n, p) float matrix; rows with a missing value hold 0.
    names : list of str
        Column names as R's ``model.matrix`` gives them (``(Intercept)``, ``ell``, ``stypeH``,
        ``ell:stypeH``).
    ok : numpy.ndarray
        Boolean mask of rows without a missing value in any term.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, 2.0, None], "g": ["a", "b", "b"]})
    >>> X, names, ok = model_matrix(df, "~ x + g")
    >>> names, ok.tolist()
    (['(Intercept)', 'x', 'gb'], [True, True, False])
    """
    _, terms, intercept = _parse_formula(formula)
    n = len(data)
    ok = np.ones(n, dtype=bool)
    blocks: list[np.ndarray] = [np.ones(n)] if intercept else []
    names = ["(Intercept)"] if intercept else []
    cache: dict[str, tuple[list[np.ndarray], list[str]]] = {}
    full_coding = not intercept  # as R: without intercept the first factor keeps all levels
    for term in terms:
        parts = []
        for token in term:
            if token not in cache:
                name, forced = _factor_name(token)
                s = _column(data, name, formula)
                if forced or _is_categorical(s):
                    full = full_coding and len(term) == 1
                    cols, labels, miss = _factor_columns(s, name, full)
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
    X = np.column_stack(blocks) if blocks else np.empty((n, 0))
    X[~ok] = 0.0
    return X, names, ok


def _response(data: pd.DataFrame, name: str, formula: str) -> tuple[np.ndarray, np.ndarray]:
    s = _column(data, name, formula)
    if _is_categorical(s):
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


# --- GLM --------------------------------------------------------------------------------------


def _family(family: str):
    """(mean(eta), dmu/deta(eta, mu), variance(mu), start mu(y), valid y) of a family."""
    fam = family.lower() if isinstance(family, str) else family
    eps = np.finfo(float).eps
    if fam == "gaussian":
        return (lambda e: e, lambda e, m: np.ones_like(e), lambda m: np.ones_like(m),
                lambda y: y, lambda y: np.ones(len(y), bool))
    if fam in ("binomial", "quasibinomial"):
        return (special.expit, lambda e, m: np.maximum(m * (1 - m), eps),
                lambda m: m * (1 - m), lambda y: (y + 0.5) / 2.0,
                lambda y: (y >= 0) & (y <= 1))
    if fam in ("poisson", "quasipoisson"):
        return (lambda e: np.maximum(np.exp(e), eps), lambda e, m: m, lambda m: m,
                lambda y: y + 0.1, lambda y: y >= 0)
    raise ParameterError(
        f"unknown family {family!r}",
        rule=f"family in {FAMILIES}",
        hint="use 'gaussian' for means, 'quasibinomial' for 0/1 outcomes, "
        "'quasipoisson' for counts",
    )


def _link(family: str, mu: np.ndarray) -> np.ndarray:
    if family in ("binomial", "quasibinomial"):
        return np.log(mu / (1 - mu))
    if family in ("poisson", "quasipoisson"):
        return np.log(mu)
    return mu


def _deviance(family: str, y: np.ndarray, mu: np.ndarray, w: np.ndarray,
              binary: bool = False) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        if family in ("binomial", "quasibinomial") and binary:
            t = -np.log(np.where(y > 0.5, mu, 1 - mu))
        elif family in ("binomial", "quasibinomial"):
            t = np.where(y > 0, y * np.log(y / mu), 0.0) + np.where(
                y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
        elif family in ("poisson", "quasipoisson"):
            t = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
        else:
            t = (y - mu) ** 2 / 2
    return float(2 * (w @ t))


def _irls(X, y, w, family, names, formula, maxit=50, tol=1e-9):
    """Weighted IRLS; returns (beta, A^{-1}, mu, dmu/deta) with A = X'WX (last iteration).

    Stops when no coefficient moves by more than ``tol`` of its naive standard error
    (:math:`|\\Delta\\beta_j| \\sqrt{A_{jj}} < tol`: scale-free and far below any reported
    digit), or when the deviance no longer changes (R's rule, relative 1e-15). Columns are
    scaled for the solve (conditioning); a rank-deficient matrix raises
    :class:`EstimationError` at the first iteration.
    """
    inv, dmu, var, start, _ = _family(family)
    mu = start(y)
    eta = _link(family, mu)
    dev_old = np.inf
    beta = None
    binary = family in ("binomial", "quasibinomial") and bool(np.all((y == 0) | (y == 1)))
    for it in range(maxit):
        d = dmu(eta, mu)
        wt = w * d * d / var(mu)
        z = eta + (y - mu) / d
        Xw = X * wt[:, None]
        A = Xw.T @ X
        s = 1 / np.sqrt(np.clip(np.diag(A), 1e-300, None))
        As = A * np.outer(s, s)
        if it == 0:
            _check_rank(As, np.diag(A), names, formula)
        beta_new = s * np.linalg.solve(As, s * (Xw.T @ z))
        eta = X @ beta_new
        mu = inv(eta)
        if family == "gaussian":
            beta = beta_new
            break
        small = beta is not None and np.max(np.abs(beta_new - beta) / s) < tol
        beta = beta_new
        if small:
            break
        if it >= 10:  # fallback when rounding noise keeps beta from settling
            dev = _deviance(family, y, mu, w, binary)
            if abs(dev - dev_old) <= 1e-15 * (abs(dev) + 0.1):
                break
            dev_old = dev
    else:
        raise EstimationError(
            f"the {family} model did not converge in {maxit} iterations",
            rule="IRLS convergence", hint="check for separation or extreme values",
        )
    return beta, s[:, None] * np.linalg.inv(As) * s[None, :], mu, dmu(eta, mu)


def _check_rank(As: np.ndarray, diag: np.ndarray, names: list[str], formula: str) -> None:
    rank = np.linalg.matrix_rank(As, tol=1e-9)
    if rank < len(names):
        empty = [nm for nm, v in zip(names, diag) if v == 0]
        raise EstimationError(
            f"the model {formula!r} has {len(names)} terms but only rank {rank}",
            rule="the design matrix must have full column rank in the respondents used",
            hint=(f"terms without respondents: {', '.join(empty)}; " if empty else "")
            + "drop collinear terms or merge empty categories",
        )


def _t_table(est, se, df, level):
    tq = stats.t.ppf(0.5 + level / 2, df) if df > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
    p = 2 * stats.t.sf(np.abs(t), df) if df > 0 else np.full_like(t, np.nan)
    return t, p, est - tq * se, est + tq * se


def svyglm(design, formula: str, *, family: str = "gaussian", level: float = 0.95):
    """Design-based generalised linear model (R's ``svyglm``).

    Parameters
    ----------
    design : SurveyDesign
        The survey design (a subset design fits the model in that domain).
    formula : str
        ``"y ~ x1 + x2 + C(g)"``; see the module notes for the syntax.
    family : {"gaussian", "quasibinomial", "binomial", "quasipoisson", "poisson"}
        Identity, logit or log link. Quasi and plain families give the same estimates and SEs
        (the sandwich variance does not use a dispersion).
    level : float
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per term: ``term`` (R's coefficient name), ``estimate`` (on the link scale),
        ``se`` (linearised), ``ci_low``/``ci_high`` (t interval), ``df`` (residual degrees of
        freedom, degf - p + 1), ``n`` (respondents used), ``statistic`` (t) and ``p_value``
        (two-sided). ``attrs`` holds ``vcov`` (DataFrame), ``family``, ``formula``,
        ``response`` and ``degf``.

    Notes
    -----
    The coefficients solve the weighted score equations
    :math:`\\sum_i w_i x_i (y_i - \\mu_i)\\, \\mu'(\\eta_i)/V(\\mu_i) = 0` (IRLS). With
    :math:`A = \\sum_i w_i x_i x_i^\\top \\mu'(\\eta_i)^2 / V(\\mu_i)`, the influence value of row
    *i* is :math:`A^{-1} w_i x_i (y_i - \\mu_i) \\mu'(\\eta_i) / V(\\mu_i)` and
    :math:`\\widehat{V}(\\hat\\beta)` is the design variance of its total (sandwich
    :math:`A^{-1} V A^{-1}`). Intervals use :math:`t_{d}` with d = degf - p + 1.

    Examples
    --------
    >>> from ssp_research.design import SurveyDesign
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 2.5, 4.0, 5.5, 5.0], "x": [0, 1, 2, 3, 4, 5],
    ...                    "psu": [1, 1, 2, 2, 3, 3], "w": [2.0, 2, 3, 3, 1, 1]})
    >>> d = SurveyDesign(df, ids="psu", weights="w")
    >>> fit = svyglm(d, "y ~ x")
    >>> fit[["term", "estimate", "se", "df", "n"]].round(4)
              term  estimate      se  df  n
    0  (Intercept)    0.9740  0.1380   1  6
    1            x    0.9351  0.0424   1  6

    In R: ``svyglm(y ~ x, svydesign(id = ~psu, weights = ~w, data = df))``.
    """
    fam = family.lower() if isinstance(family, str) else family
    _family(fam)
    response, _, _ = _parse_formula(formula)
    if response is None:
        raise ParameterError(
            f"formula {formula!r} has no response", rule="'y ~ x1 + x2'",
            hint='put the outcome left of "~"',
        )
    data = design.data
    X, names, ok = model_matrix(data, formula)
    y, y_ok = _response(data, response, formula)
    w_all = np.asarray(design.weights, dtype=float)
    use = ok & y_ok & (w_all > 0)
    if not use.any():
        raise EstimationError(
            f"no respondent with a weight and complete values for {formula!r}",
            rule="at least one usable row", hint="check missing values and the domain",
        )
    valid = _family(fam)[4](y[use])
    if not valid.all():
        raise EstimationError(
            f"response {response!r} has values outside the range of family {fam!r}",
            column=response,
            rule="binomial: 0 <= y <= 1; poisson: y >= 0",
            hint="recode the response or choose another family",
        )
    every = bool(use.all())
    Xu, yu, wu = (X, y, w_all) if every else (X[use], y[use], w_all[use])
    wmean = wu.mean()
    # centre the columns (weighted) when there is an intercept: with e.g. wave = 2019..2025
    # the raw normal equations lose ~4 digits; the centred ones do not. Transform back after.
    trans = np.eye(len(names))
    if names and names[0] == "(Intercept)" and len(names) > 1:
        means = (wu @ Xu[:, 1:]) / wu.sum()
        trans[0, 1:] = -means
        Xc = np.asfortranarray(Xu)
        Xc = Xc.copy(order="F") if Xc is Xu else Xc
        Xc[:, 1:] -= means
    else:
        Xc = np.asfortranarray(Xu)
    beta_c, Ainv_c, mu, d = _irls(Xc, yu, wu / wmean, fam, names, formula)
    del Xc
    beta = trans @ beta_c
    Ainv = trans @ Ainv_c @ trans.T
    var_mu = _family(fam)[2](mu)
    scores = (Xu * (wu * (yu - mu) * d / var_mu)[:, None]) @ (Ainv / wmean)
    if every:
        infl = scores
    else:
        infl = np.zeros((len(y), len(names)))
        infl[use] = scores
    vcov = np.asarray(design._vcov(infl, present=use), dtype=float)
    degf = int(design.degf(present=use))
    df_res = degf + 1 - len(names)
    se = np.sqrt(np.diag(vcov))
    t, p, lo, hi = _t_table(beta, se, df_res, level)
    out = pd.DataFrame({
        "term": names, "estimate": beta, "se": se, "ci_low": lo, "ci_high": hi,
        "df": df_res, "n": int(use.sum()), "statistic": t, "p_value": p,
    })[_GLM_COLUMNS]
    out.attrs.update(
        vcov=pd.DataFrame(vcov, index=names, columns=names), family=fam, formula=formula,
        response=response, degf=degf,
    )
    return out


# --- t-test, contrasts, chi-square ----------------------------------------------------------


def svyttest(design, formula: str, *, level: float = 0.95) -> pd.DataFrame:
    """Design-based t-test: a difference in means between two groups, or one mean vs 0.

    Parameters
    ----------
    design : SurveyDesign
        The survey design.
    formula : str
        ``"y ~ group"`` (``group`` has exactly two levels; the difference is second level
        minus first) or ``"y ~ 1"`` (one-sample test of the mean against 0).
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row: ``variable`` (y), ``contrast`` (e.g. ``"Yes - No"`` or ``"mean"``),
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df``, ``n``, ``statistic`` (t),
        ``p_value`` (two-sided).

    Notes
    -----
    As R's ``svyttest``: the two-group test is the slope of ``svyglm(y ~ group)``, with
    df = degf - 1 (the GLM's residual df); the one-sample test uses the linearised mean and
    df = degf - 1.

    Examples
    --------
    >>> from ssp_research.design import SurveyDesign
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 5, 6, 8, 2, 4], "g": list("abababab"),
    ...                    "psu": [1, 1, 2, 2, 3, 3, 4, 4], "w": [1.0, 2] * 4})
    >>> t = svyttest(SurveyDesign(df, ids="psu", weights="w"), "y ~ g")
    >>> t[["contrast", "estimate", "se", "df", "n", "statistic"]].round(4)
      contrast  estimate    se  df  n  statistic
    0    b - a      1.75  0.25   2  8        7.0

    In R: ``svyttest(y ~ g, design)``.
    """
    response, terms, intercept = _parse_formula(formula)
    if response is None or len(terms) > 1 or not intercept:
        raise ParameterError(
            f"svyttest needs 'y ~ group' or 'y ~ 1', not {formula!r}",
            rule="one response, one two-level group", hint='e.g. "api00 ~ sch.wide"',
        )
    if not terms:
        fit = svyglm(design, formula, level=level)
        degf = fit.attrs["degf"] - 1
        est, se = float(fit["estimate"].iloc[0]), float(fit["se"].iloc[0])
        label = "mean"
    else:
        name, _ = _factor_name(terms[0][0])
        s = _column(design.data, name, formula)
        levels = pd.unique(s.dropna())
        if len(levels) != 2:
            raise EstimationError(
                f"group {name!r} has {len(levels)} levels, svyttest needs two",
                column=name, rule="binary group",
                hint="subset the design to two groups, or use svycontrast for more",
            )
        fit = svyglm(design, f"{response} ~ C({name})", level=level)
        degf = int(fit["df"].iloc[1])
        est, se = float(fit["estimate"].iloc[1]), float(fit["se"].iloc[1])
        cat = s.astype("category").cat.remove_unused_categories().cat.categories
        label = f"{cat[1]} - {cat[0]}"
    t, p, lo, hi = _t_table(np.array([est]), np.array([se]), degf, level)
    return pd.DataFrame({
        "variable": [response], "contrast": [label], "estimate": [est], "se": [se],
        "ci_low": lo, "ci_high": hi, "df": [degf], "n": [int(fit["n"].iloc[0])],
        "statistic": t, "p_value": p,
    })


def _means_with_scores(design, variables, by, statistic):
    """Estimates, their weighted influence scores (n, k), names and the rows used."""
    data = design.data
    w = np.asarray(design.weights, dtype=float)
    ys = []
    for v in variables:
        s = _column(data, v, f"svycontrast({v!r})")
        if _is_categorical(s):
            raise EstimationError(
                f"variable {v!r} is not numeric", column=v, rule="numeric variables",
                hint="make a 0/1 indicator column for a proportion",
            )
        ys.append(s.to_numpy(dtype=float, na_value=np.nan))
    Y = np.column_stack(ys)
    use = (w > 0) & ~np.isnan(Y).any(axis=1)
    if by:
        bys = [by] if isinstance(by, str) else list(by)
        codes, labels = [], []
        for b in bys:
            col = _column(data, b, f"by={b!r}")
            cat = col.astype("category").cat.remove_unused_categories()
            codes.append(cat.cat.codes.to_numpy())
            labels.append([str(x) for x in cat.cat.categories])
            use &= codes[-1] >= 0
        groups = sorted({tuple(c) for c in np.stack(codes, axis=1)[use]})
        gid = {g: i for i, g in enumerate(groups)}
        dom = np.full(len(w), -1)
        keyed = np.stack(codes, axis=1)
        for i in np.flatnonzero(use):
            dom[i] = gid[tuple(keyed[i])]
        domains = [":".join(labels[j][c] for j, c in enumerate(g)) for g in groups]
    else:
        dom = np.where(use, 0, -1)
        domains = [None]
    Yu = np.where(use[:, None], Y, 0.0)
    wu = np.where(use, w, 0.0)
    est, cols, names = [], [], []
    for v_i, v in enumerate(variables):
        for d_i, dname in enumerate(domains):
            ind = dom == d_i
            wd = wu * ind
            tot = float(wd @ Yu[:, v_i])
            if statistic == "total":
                est.append(tot)
                cols.append(wd * Yu[:, v_i])
            else:
                m = tot / wd.sum()
                est.append(m)
                cols.append(wd * (Yu[:, v_i] - m) / wd.sum())
            if dname is None:
                names.append(v)
            elif len(variables) == 1:
                names.append(dname)
            else:
                names.append(f"{v}:{dname}")
    return np.array(est), np.column_stack(cols), names, use


def svycontrast(design, variables=None, contrasts=None, *, by=None, statistic: str = "mean",
                level: float = 0.95) -> pd.DataFrame:
    """Linear contrasts of means (or totals) across domains or variables, or of GLM terms.

    Parameters
    ----------
    design : SurveyDesign or pandas.DataFrame
        A design; or a table from :func:`svyglm` (then ``contrasts`` names its terms and its
        ``vcov`` and residual df are used).
    variables : str or list of str
        Numeric variable(s) whose means/totals are contrasted (ignored for a GLM table).
    contrasts : dict
        ``{name: {coefficient: weight}}`` (weights of unnamed coefficients are 0), or
        ``{name: [w1, w2, ...]}`` in coefficient order. Coefficients are the ``by`` levels
        (``"E"``; ``"E:Yes"`` for several ``by`` columns), the variable names without ``by``,
        ``"api00:E"`` for several variables with ``by``, or GLM term names.
    by : str or list of str, optional
        Domain column(s).
    statistic : {"mean", "total"}
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per contrast: ``variable`` (the variables joined by ``", "``), ``contrast``,
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df`` (design degf; the GLM's residual
        df for GLM tables), ``n`` (respondents used), ``statistic`` (t), ``p_value``.
        ``attrs["vcov"]`` holds the covariance of the contrasts.

    Notes
    -----
    For coefficients :math:`\\hat\\theta` with linearised covariance :math:`V` (computed jointly
    from the influence values, so domains that share PSUs are correlated), a contrast matrix
    :math:`L` gives :math:`L\\hat\\theta` with covariance :math:`L V L^\\top` (R's
    ``svycontrast``). R's ``svyby`` ignores the covariance between domains of a linearised
    design; the joint covariance here equals R's ``svycontrast(svyglm(y ~ 0 + g), ...)``.

    Examples
    --------
    >>> from ssp_research.design import SurveyDesign
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 5, 6, 8, 2, 4], "g": list("abababab"),
    ...                    "psu": [1, 1, 2, 2, 3, 3, 4, 4], "w": [1.0, 2] * 4})
    >>> d = SurveyDesign(df, ids="psu", weights="w")
    >>> c = svycontrast(d, "y", {"b - a": {"b": 1, "a": -1}}, by="g")
    >>> c[["contrast", "estimate", "se", "df", "n"]].round(4)
      contrast  estimate    se  df  n
    0    b - a      1.75  0.25   3  8

    In R: ``svycontrast(svyglm(y ~ 0 + g, design), c(gb = 1, ga = -1))``.
    """
    if statistic not in ("mean", "total"):
        raise ParameterError(f"statistic={statistic!r}", rule="'mean' or 'total'")
    if not isinstance(contrasts, dict) or not contrasts:
        raise ParameterError(
            "contrasts must be a non-empty dict {name: {coefficient: weight}}",
            rule="svycontrast contrasts", hint='e.g. {"E - H": {"E": 1, "H": -1}}',
        )
    if isinstance(design, pd.DataFrame):
        if "vcov" not in design.attrs or "term" not in design.columns:
            raise ParameterError(
                "a table passed to svycontrast must come from svyglm (term column, vcov)",
                rule="svycontrast(design, ...) or svycontrast(svyglm(...), ...)",
            )
        est = design["estimate"].to_numpy(dtype=float)
        names = list(design["term"])
        V = design.attrs["vcov"].to_numpy()
        df, n = int(design["df"].iloc[0]), int(design["n"].iloc[0])
        label = design.attrs.get("response", "")
    else:
        if variables is None:
            raise ParameterError("svycontrast needs variables=", rule="variables")
        variables = [variables] if isinstance(variables, str) else list(variables)
        est, scores, names, use = _means_with_scores(design, variables, by, statistic)
        V = np.asarray(design._vcov(scores, present=use), dtype=float)
        df, n = int(design.degf(present=use)), int(use.sum())
        label = ", ".join(variables)
    L = np.zeros((len(contrasts), len(names)))
    for r, (cname, spec) in enumerate(contrasts.items()):
        if isinstance(spec, dict):
            unknown = [k for k in spec if k not in names]
            if unknown:
                raise ParameterError(
                    f"contrast {cname!r} names unknown coefficient(s) {unknown}",
                    rule="coefficients of the contrast", hint=f"known: {names}",
                )
            for k, v in spec.items():
                L[r, names.index(k)] = float(v)
        else:
            vec = np.asarray(spec, dtype=float).ravel()
            if len(vec) != len(names):
                raise ParameterError(
                    f"contrast {cname!r} has {len(vec)} weights for {len(names)} coefficients",
                    rule="one weight per coefficient", hint=f"coefficients: {names}",
                )
            L[r] = vec
    value = L @ est
    cov = L @ V @ L.T
    se = np.sqrt(np.diag(cov))
    t, p, lo, hi = _t_table(value, se, df, level)
    out = pd.DataFrame({
        "variable": label, "contrast": list(contrasts), "estimate": value, "se": se,
        "ci_low": lo, "ci_high": hi, "df": df, "n": n, "statistic": t, "p_value": p,
    })
    out.attrs["vcov"] = pd.DataFrame(cov, index=list(contrasts), columns=list(contrasts))
    return out


def svychisq(design, row: str, column: str, *, statistic: str = "F") -> pd.DataFrame:
    """Rao-Scott corrected test of association in a two-way table (R's ``svychisq``).

    Parameters
    ----------
    design : SurveyDesign
        The survey design.
    row, column : str
        The two categorical variables.
    statistic : {"F", "Chisq"}
        ``"F"``: second-order Rao-Scott F (R's default). ``"Chisq"``: first-order
        (mean generalised design effect) corrected chi-square.

    Returns
    -------
    pandas.DataFrame
        One row: ``variable`` (``"row x column"``), ``test``, ``statistic`` (F, or the
        first-order corrected chi-square :math:`X^2/\\bar\\delta`), ``ndf``, ``ddf`` (NaN for
        "Chisq"), ``p_value``, ``pearson_x2`` (Pearson's :math:`X^2` of the weighted table
        scaled to n, R's reported "X-squared" for "Chisq"), ``mean_deff``
        (:math:`\\bar\\delta`) and ``n`` (respondents with both values).

    Notes
    -----
    With :math:`\\hat p` the estimated cell proportions, :math:`V` their linearised
    covariance, :math:`C` the interaction contrasts of the saturated model and
    :math:`D = \\mathrm{diag}(\\hat p)`: :math:`\\Delta = (C^\\top D^{-1} C / N)^{-1}
    C^\\top D^{-1} V D^{-1} C`. Then :math:`F = X^2 / \\mathrm{tr}\\Delta` on
    :math:`d_0 = (\\mathrm{tr}\\Delta)^2/\\mathrm{tr}\\Delta^2` and :math:`d_0 \\nu`
    degrees of freedom (:math:`\\nu` = design df).

    Examples
    --------
    >>> from ssp_research.design import SurveyDesign
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"a": rng.choice(["x", "y"], 60), "b": rng.choice(["u", "v"], 60),
    ...                    "psu": np.repeat(np.arange(12), 5), "w": 1.0})
    >>> res = svychisq(SurveyDesign(df, ids="psu", weights="w"), "a", "b")
    >>> res[["variable", "test", "n"]]
      variable         test   n
    0    a x b  Rao-Scott F  60

    In R: ``svychisq(~a + b, design)``.
    """
    if statistic not in ("F", "Chisq"):
        raise ParameterError(f"statistic={statistic!r}", rule="'F' or 'Chisq'",
                             hint='use "F" (R\'s default) or "Chisq"')
    data = design.data
    w = np.asarray(design.weights, dtype=float)
    inset = w > 0
    rc = []
    for name in (row, column):
        s = _column(data, name, f"svychisq({row!r}, {column!r})")
        cat = s[inset].astype("category").cat.remove_unused_categories()
        codes = np.full(len(w), -1)
        codes[inset] = cat.cat.codes.to_numpy()
        rc.append((codes, len(cat.cat.categories)))
    (r_code, nr), (c_code, nc) = rc
    if nr < 2 or nc < 2:
        raise EstimationError(
            f"{row} x {column} needs at least two levels each ({nr} x {nc} found)",
            rule="two-way table", hint="check the domain and the variables",
        )
    use = inset & (r_code >= 0) & (c_code >= 0)
    N = int(inset.sum())
    cell = np.where(use, r_code + nr * c_code, -1)  # rows vary fastest, as R's interaction()
    k = nr * nc
    wu = np.where(use, w, 0.0)
    W = wu.sum()
    ind = np.zeros((len(w), k))
    ind[np.flatnonzero(use), cell[use]] = 1.0
    p = (wu @ ind) / W
    V = np.asarray(design._vcov(wu[:, None] * (ind - p) / W, present=use), dtype=float)
    # Pearson X^2 of the weighted table scaled to N
    tab = (p * N).reshape(nc, nr).T
    expct = np.outer(tab.sum(1), tab.sum(0)) / N
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = float(np.nansum((tab - expct) ** 2 / expct))
    rows_i, cols_i = np.tile(np.arange(nr), nc), np.repeat(np.arange(nc), nr)
    X1 = np.column_stack([np.ones(k)] + [(rows_i == i) * 1.0 for i in range(1, nr)]
                         + [(cols_i == j) * 1.0 for j in range(1, nc)])
    inter = np.column_stack([(rows_i == i) * (cols_i == j) * 1.0
                             for j in range(1, nc) for i in range(1, nr)])
    q, _ = np.linalg.qr(X1)
    C = inter - q @ (q.T @ inter)
    idm = np.diag(np.where(p == 0, 0.0, 1.0 / np.where(p == 0, 1.0, p)))
    denom = C.T @ (idm / N) @ C
    numr = C.T @ idm @ V @ idm @ C
    delta = np.linalg.solve(denom, numr)
    tr, tr2 = np.trace(delta), np.trace(delta @ delta)
    nu = int(design.degf())
    if statistic == "F":
        d0 = tr**2 / tr2
        value = x2 / tr
        pval = float(stats.f.sf(value, d0, d0 * nu))
        ndf, ddf, test = d0, d0 * nu, "Rao-Scott F"
    else:
        value = x2 / np.mean(np.diag(delta))
        ndf, ddf, test = float(delta.shape[1]), np.nan, "Rao-Scott chi-square"
        pval = float(stats.chi2.sf(value, ndf))
    return pd.DataFrame({
        "variable": [f"{row} x {column}"], "test": [test], "statistic": [value],
        "ndf": [ndf], "ddf": [ddf], "p_value": [pval], "pearson_x2": [x2],
        "mean_deff": [float(np.mean(np.diag(delta)))], "n": [int(use.sum())],
    })
