"""Design-based comparisons: t-tests, linear contrasts and the Rao-Scott chi-square.

As R's ``svyttest``, ``svycontrast`` and ``svychisq``, for a
:class:`ssp_research.survey.design.SurveyDesign`; the tests compare every number with R
(``tests/reference/survey_models_reference.R``). Each returns a tidy table; variances come
from the design's linearisation (``design.vcov``), so they reflect strata, clusters, fpc and
any post-stratification, raking or calibration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ssp_research.core.errors import EstimationError, ParameterError
from ssp_research.survey.formula import (
    factor_name,
    formula_column,
    is_categorical,
    parse_formula,
)
from ssp_research.survey.models import svyglm, t_table

__all__ = ["svyttest", "svycontrast", "svychisq"]


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
    >>> from ssp_research.survey.design import SurveyDesign
    >>> df = pd.DataFrame({"y": [1.0, 2, 3, 5, 6, 8, 2, 4], "g": list("abababab"),
    ...                    "psu": [1, 1, 2, 2, 3, 3, 4, 4], "w": [1.0, 2] * 4})
    >>> t = svyttest(SurveyDesign(df, ids="psu", weights="w"), "y ~ g")
    >>> t[["contrast", "estimate", "se", "df", "n", "statistic"]].round(4)
      contrast  estimate    se  df  n  statistic
    0    b - a      1.75  0.25   2  8        7.0

    In R: ``svyttest(y ~ g, design)``.
    """
    response, terms, intercept = parse_formula(formula)
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
        name, _ = factor_name(terms[0][0])
        s = formula_column(design.data, name, formula)
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
    t, p, lo, hi = t_table(np.array([est]), np.array([se]), degf, level)
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
        s = formula_column(data, v, f"svycontrast({v!r})")
        if is_categorical(s):
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
            col = formula_column(data, b, f"by={b!r}")
            cat = col.astype("category").cat.remove_unused_categories()
            codes.append(cat.cat.codes.to_numpy())
            labels.append([str(x) for x in cat.cat.categories])
            use &= codes[-1] >= 0
        keyed = np.stack(codes, axis=1)
        groups, inverse = np.unique(keyed[use], axis=0, return_inverse=True)
        dom = np.full(len(w), -1)
        dom[use] = inverse.ravel()
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
    >>> from ssp_research.survey.design import SurveyDesign
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
        V = np.asarray(design.vcov(scores, present=use), dtype=float)
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
    t, p, lo, hi = t_table(value, se, df, level)
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
    >>> from ssp_research.survey.design import SurveyDesign
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
        s = formula_column(data, name, f"svychisq({row!r}, {column!r})")
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
    V = np.asarray(design.vcov(wu[:, None] * (ind - p) / W, present=use), dtype=float)
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
