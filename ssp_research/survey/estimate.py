"""Design-based estimators: means, totals, proportions, ratios and quantiles, by domain.

(``quantile`` lives in :mod:`ssp_research.survey.quantiles` with R's rules and interval
types, and is re-exported here.)

Every function takes a :class:`~ssp_research.survey.design.SurveyDesign` first and returns a tidy
DataFrame with the columns ``variable``, the ``by`` columns, then
``estimate, se, ci_low, ci_high, df, n`` (proportions add ``count``; ``deff`` on request).
``n`` is the unweighted number of respondents with a non-missing value in the domain,
``df`` the design degrees of freedom of the domain (R's ``degf()`` of the subset design).
Nothing is rounded or suppressed here.

Domains (``by=``) are computed in one vectorised pass for all domains and variables: rows
outside a domain, or missing the variable, get zero weight and the whole design is kept,
exactly as R's ``svyby(..., na.rm=TRUE)``. Domains are the combinations of ``by`` values that
occur in ``design.data``; one with no respondents gives NaN estimates and ``n = 0``.

Examples
--------
>>> import pandas as pd
>>> from ssp_research.survey.design import SurveyDesign
>>> df = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3, 4, 4], "g": list("abababab"),
...                    "w": [1.0, 2, 1, 2, 1, 2, 1, 2], "y": [0, 1, 1, 1, 0, 0, 1, 0]})
>>> d = SurveyDesign(df, ids="s", weights="w")
>>> proportion(d, "y", by="g")[["variable", "g", "estimate", "n", "count"]]
  variable  g  estimate  n  count
0        y  a       0.5  4      2
1        y  b       0.5  4      2
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ssp_research.core.errors import DataError, ParameterError
from ssp_research.survey.ciprop import prop_ci as _prop_ci
from ssp_research.survey.domains import (
    as_list,
    check_design,
    critical_value,
    deff_mean,
    degf_domains,
    domain_codes,
    domain_means,
    result_table,
    variable_columns,
)
from ssp_research.survey.quantiles import quantile

__all__ = ["mean", "total", "proportion", "ratio", "quantile", "PROPORTION_METHODS"]

#: CI methods of :func:`proportion` (R's ``svyciprop`` plus "wilson").
PROPORTION_METHODS = ("logit", "likelihood", "asin", "beta", "mean", "xlogit", "wilson")



def mean(
    design,
    variables,
    *,
    by=None,
    level: float = 0.95,
    ci_df: str = "normal",
    deff: bool = False,
) -> pd.DataFrame:
    """Weighted means with Taylor-linearised standard errors, overall or by domain.

    Parameters
    ----------
    design : SurveyDesign
    variables : str or list of str
        Numeric (or boolean) columns, or factors: a text or categorical column gives one row
        per level (the share of each level, R's ``svymean(~factor(x))``; levels in
        categorical order or sorted, unused categories kept as R keeps unused levels).
        Missing values are left out (R's ``na.rm=TRUE``), each variable on its own
        non-missing rows (as separate ``svymean`` calls; R's ``svymean(~a + b, na.rm=TRUE)``
        would drop rows missing either).
    by : str or list of str, optional
        Domain columns; all domains are estimated in one pass. Rows with a missing ``by``
        value are in no domain; categorical columns keep their category order.
    level : float, default 0.95
    ci_df : {"normal", "design"}, default "normal"
        "normal" is R's ``confint(svymean(...))``; "design" uses a t quantile with the
        domain's design df.
    deff : bool, default False
        Add R's design effect (``deff=TRUE``: SRS without replacement).

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``category`` (the level, only when a factor was given; missing for
        numeric variables), by columns, ``estimate`` (weighted mean), ``se``, ``ci_low``,
        ``ci_high``, ``df`` (design df of the domain), ``n`` (respondents with a value),
        optionally ``deff``.

    Notes
    -----
    :math:`\\hat\\mu_d = \\sum_i w_i 1_d(i) y_i / \\hat W_d`; its linearised score is
    :math:`w_i 1_d(i) (y_i - \\hat\\mu_d) / \\hat W_d`, whose design variance
    (:meth:`SurveyDesign.vcov`) is the variance of the mean.

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.survey.design import SurveyDesign
    >>> df = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3], "w": [2.0, 2, 3, 3, 1, 1],
    ...                    "y": [1.0, 3, 2, 4, 5, 7]})
    >>> r = mean(SurveyDesign(df, ids="s", weights="w"), "y")
    >>> round(float(r["estimate"].iloc[0]), 6), round(float(r["se"].iloc[0]), 6)
    (3.166667, 0.756148)

    A text column gives one row per level:

    >>> df["g"] = ["b", "a", "b", "b", "a", "a"]
    >>> mean(SurveyDesign(df, ids="s", weights="w"), "g")[["variable", "category", "estimate"]]
      variable category  estimate
    0        g        a  0.333333
    1        g        b  0.666667

    In R: ``svymean(~y, svydesign(ids=~s, weights=~w, data=df))`` and ``svymean(~g, ...)``.
    """
    check_design(design)
    dom, ndom, labels = domain_codes(design, by)
    df_dom = degf_domains(design, dom, ndom, design.weights > 0)
    if ci_df not in ("normal", "design"):
        raise ParameterError(
            f"ci_df={ci_df!r} is not known", rule='"normal" or "design"', hint='use "normal"'
        )
    crit = critical_value(level, np.inf if ci_df == "normal" else df_dom)
    cols = variable_columns(design, variables)
    ys = [y for _, _, y in cols]
    ests, var, ns, big_ws, oks = domain_means(design, ys, dom, ndom)
    rows = []
    for j, (v, cat) in enumerate((v, c) for v, c, _ in cols):
        est, n = ests[:, j], ns[:, j]
        se = np.where(n > 0, np.sqrt(var[:, j]), np.nan)
        row = dict(variable=v, category=cat, estimate=est, se=se, ci_low=est - crit * se,
                   ci_high=est + crit * se, df=df_dom, n=n)
        if deff:
            row["deff"] = deff_mean(design, ys[j], oks[j], dom, ndom, var[:, j], est,
                                     big_ws[:, j], n)
        rows.append(row)
    return result_table(rows, labels)


def total(
    design,
    variables,
    *,
    by=None,
    level: float = 0.95,
    ci_df: str = "normal",
    deff: bool = False,
) -> pd.DataFrame:
    """Weighted totals (population counts for 0/1 variables), overall or by domain.

    Parameters
    ----------
    design, variables, by, level, ci_df, deff
        As in :func:`mean`.

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``category`` (for factors: the level, whose total is the estimated
        number of its population members, R's ``svytotal(~factor)``), by columns,
        ``estimate`` (weighted total), ``se``, ``ci_low``,
        ``ci_high``, ``df``, ``n``, optionally ``deff``.

    Notes
    -----
    :math:`\\hat Y_d = \\sum_i w_i 1_d(i) y_i`; the score is :math:`w_i 1_d(i) y_i`.

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.survey.design import SurveyDesign
    >>> df = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3], "w": [2.0, 2, 3, 3, 1, 1],
    ...                    "y": [1.0, 3, 2, 4, 5, 7]})
    >>> float(total(SurveyDesign(df, ids="s", weights="w"), "y")["estimate"].iloc[0])
    38.0

    In R: ``svytotal(~y, design, na.rm=TRUE)``.
    """
    check_design(design)
    dom, ndom, labels = domain_codes(design, by)
    df_dom = degf_domains(design, dom, ndom, design.weights > 0)
    crit = critical_value(level, np.inf if ci_df == "normal" else df_dom)
    cols = variable_columns(design, variables)
    w = design.weights
    rows, zs, pres, keep = [], [], [], []
    for _, _, y in cols:
        ok = (w > 0) & ~np.isnan(y) & (dom >= 0)
        zs.append(np.where(ok, w * np.where(ok, y, 0.0), 0.0))
        pres.append(ok)
        keep.append(y)
    coefs = np.zeros((ndom, len(zs), len(zs)))
    coefs[:, np.arange(len(zs)), np.arange(len(zs))] = 1.0  # score j = base j (w y)
    var = design._domain_var_lin(zs, coefs, dom, ndom)
    if var is None:
        var = design._domain_var(np.column_stack(zs), dom, ndom, present=np.column_stack(pres))
    for j, (v, cat, _) in enumerate(cols):
        ok = pres[j]
        d = np.where(ok, dom, 0)
        est = np.bincount(d, weights=zs[j], minlength=ndom)
        n = np.bincount(d, weights=ok, minlength=ndom)
        se = np.where(n > 0, np.sqrt(var[:, j]), np.nan)
        est = np.where(n > 0, est, np.nan)
        row = dict(variable=v, category=cat, estimate=est, se=se, ci_low=est - crit * se,
                   ci_high=est + crit * se, df=df_dom, n=n)
        if deff:
            big_w = np.bincount(d, weights=np.where(ok, w, 0.0), minlength=ndom)
            with np.errstate(invalid="ignore", divide="ignore"):
                m = np.bincount(d, weights=zs[j], minlength=ndom) / big_w
            row["deff"] = deff_mean(design, keep[j], ok, dom, ndom, var[:, j], m, big_w, n,
                                     total=True)
        rows.append(row)
    return result_table(rows, labels)


def proportion(
    design,
    variables,
    *,
    by=None,
    method: str = "logit",
    level: float = 0.95,
    deff: bool = False,
) -> pd.DataFrame:
    """Proportions of 0/1 (or boolean) indicators with R's ``svyciprop`` intervals.

    Parameters
    ----------
    design : SurveyDesign
    variables : str or list of str
        Indicator columns with values 0/1 (or True/False), or factors (text or categorical
        columns): one proportion per level, each with its own interval (R:
        ``svyciprop(~I(x == "level"))`` per level). Missing values are left out.
    by : str or list of str, optional
        Domain columns (one vectorised pass for all domains and indicators).
    method : {"logit", "likelihood", "asin", "beta", "mean", "xlogit", "wilson"}
        Interval, as R's ``svyciprop(method=)``; "wilson" is not in survey 4.1.1 and is
        the Wilson score interval with the design-effective sample size (see Notes).
    level : float, default 0.95
    deff : bool, default False

    Returns
    -------
    pandas.DataFrame
        ``variable``, ``category`` (the level, only for factors), by columns, ``estimate``
        (weighted proportion), ``se`` (of the
        proportion, as R's ``SE(svyciprop)``), ``ci_low``, ``ci_high``, ``df`` (design df of
        the domain, used for the t quantiles), ``n``, ``count`` (unweighted respondents with
        the attribute), optionally ``deff``.

    Notes
    -----
    With :math:`\\hat p`, its linearised variance :math:`v`, :math:`t = t_{df, 1-\\alpha/2}`:

    - "mean": :math:`\\hat p \\pm t \\sqrt v`;
    - "logit"/"xlogit": :math:`\\mathrm{expit}(\\mathrm{logit}\\hat p \\pm t\\sqrt v /
      (\\hat p(1-\\hat p)))` (R's "logit" fits ``svyglm(y ~ 1, quasibinomial)``, which has
      the same Wald interval);
    - "asin": :math:`\\sin^2(\\arcsin\\sqrt{\\hat p} \\pm t\\sqrt v / (2\\sqrt{\\hat p(1-\\hat
      p)}))`;
    - "beta" (Korn-Graubard): :math:`n^* = \\hat p(1-\\hat p)/v \\cdot (t_{n-1}/t_{df})^2`,
      limits ``Beta(a/2; n* p, n*(1-p)+1)`` and ``Beta(1-a/2; n* p+1, n*(1-p))``;
    - "likelihood": R's ``confint(svyglm(y ~ 1, quasibinomial), method="likelihood")``:
      the profile :math:`z(\\beta) = \\pm\\sqrt{(D(\\beta) - D(\\hat\\beta))/\\phi}`
      evaluated on R's grid, splined ("fmm") and inverted at
      :math:`\\pm t \\sqrt{\\lambda}`, :math:`\\lambda` = design / model variance of
      :math:`\\hat\\beta` (reproduced step by step; a Python loop over domains);
    - "wilson": the Wilson score interval with :math:`n^* = \\hat p(1-\\hat p)/v` and
      :math:`t` in place of :math:`z`.

    A domain with :math:`\\hat p` = 0 or 1 has :math:`v = 0` and no interval (NaN) except
    with "mean" (R gives NA for "beta" and "asin", an error for "likelihood" and a
    zero-width interval for "logit"). Only "likelihood" loops over domains in Python.

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.survey.design import SurveyDesign
    >>> df = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3, 4, 4], "w": [1.0, 2, 1, 2, 1, 2, 1, 2],
    ...                    "y": [0, 1, 1, 1, 0, 0, 1, 0]})
    >>> r = proportion(SurveyDesign(df, ids="s", weights="w"), "y", method="beta")
    >>> float(r["estimate"].iloc[0]), int(r["df"].iloc[0]), int(r["count"].iloc[0])
    (0.5, 3, 4)
    >>> round(float(r["ci_low"].iloc[0]), 6), round(float(r["ci_high"].iloc[0]), 6)
    (0.038207, 0.961793)

    In R: ``svyciprop(~y, design, method="beta")``.
    """
    check_design(design)
    if method not in PROPORTION_METHODS:
        raise ParameterError(
            f"method={method!r} is not a proportion CI method",
            rule=f"one of {', '.join(PROPORTION_METHODS)}",
            hint='use "logit" (R\'s default) or "beta" (Korn-Graubard) for small domains',
        )
    dom, ndom, labels = domain_codes(design, by)
    w = design.weights
    in_dom = (w > 0) & (dom >= 0)
    df_dom = degf_domains(design, dom, ndom, in_dom)
    if design.calibrated:
        nrow = np.full(ndom, float(len(w)))
    else:
        nrow = np.bincount(np.where(in_dom, dom, 0), weights=in_dom, minlength=ndom)
    cols = variable_columns(design, variables)
    ys = []
    for v, _, y in cols:
        # y (y - 1) is 0 for 0/1 and NaN for missing: more non-zeros than NaNs means bad codes
        if np.count_nonzero(y * (y - 1)) > np.count_nonzero(np.isnan(y)):
            row = int(np.flatnonzero(~np.isnan(y) & (y != 0) & (y != 1))[0])
            raise DataError(
                f"indicator {v!r} has the value {y[row]!r}",
                row=row,
                column=v,
                rule="proportions need 0/1 (or True/False) values",
                hint="make an indicator (e.g. clean.apply with an indicator cut-off) or use mean()",
            )
        ys.append(y)
    ests, var, ns, big_ws, oks = domain_means(design, ys, dom, ndom)
    rows = []
    for j, (v, cat, _) in enumerate(cols):
        p, n, ok, big_w = ests[:, j], ns[:, j], oks[j], big_ws[:, j]
        vj = np.where(n > 0, var[:, j], np.nan)
        lo, hi = _prop_ci(method, p, vj, df_dom, level, nrow,
                          design=design, y=ys[j], ok=ok, dom=dom, ndom=ndom)
        count = np.bincount(np.where(ok, dom, 0), weights=np.where(ok, ys[j], 0.0),
                            minlength=ndom)
        row = dict(variable=v, category=cat, estimate=p, se=np.sqrt(vj), ci_low=lo, ci_high=hi,
                   df=df_dom, n=n, count=count)
        if deff:
            row["deff"] = deff_mean(design, ys[j], ok, dom, ndom, vj, p, big_w, n)
        rows.append(row)
    return result_table(rows, labels)


def ratio(
    design,
    numerator,
    denominator,
    *,
    by=None,
    level: float = 0.95,
    ci_df: str = "normal",
) -> pd.DataFrame:
    """Ratios of totals :math:`\\hat Y / \\hat X`, overall or by domain (R's ``svyratio``).

    Parameters
    ----------
    design : SurveyDesign
    numerator, denominator : str or list of str
        Numeric columns; every numerator is divided by every denominator. Rows missing
        either are left out.
    by, level, ci_df
        As in :func:`mean`.

    Returns
    -------
    pandas.DataFrame
        ``variable`` ("num/den"), by columns, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``df``, ``n``.

    Notes
    -----
    Score: :math:`w_i 1_d(i) (y_i - \\hat R_d x_i) / \\hat X_d`.

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.survey.design import SurveyDesign
    >>> df = pd.DataFrame({"s": [1, 2, 3, 4], "y": [1.0, 2, 3, 4], "x": [2.0, 2, 4, 4],
    ...                    "w": [1.0, 2, 1, 2]})
    >>> r = ratio(SurveyDesign(df, ids="s", weights="w"), "y", "x")
    >>> round(float(r["estimate"].iloc[0]), 6), round(float(r["se"].iloc[0]), 6)
    (0.888889, 0.088453)

    In R: ``svyratio(~y, ~x, design)``.
    """
    check_design(design)
    dom, ndom, labels = domain_codes(design, by)
    df_dom = degf_domains(design, dom, ndom, design.weights > 0)
    crit = critical_value(level, np.inf if ci_df == "normal" else df_dom)
    w = design.weights
    rows = []
    for num in as_list(numerator):
        for den in as_list(denominator):
            y, x = design.column(num), design.column(den)
            ok = (w > 0) & ~np.isnan(y) & ~np.isnan(x) & (dom >= 0)
            d = np.where(ok, dom, 0)
            wk = np.where(ok, w, 0.0)
            yk, xk = np.where(ok, y, 0.0), np.where(ok, x, 0.0)
            ty = np.bincount(d, weights=wk * yk, minlength=ndom)
            tx = np.bincount(d, weights=wk * xk, minlength=ndom)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = ty / tx
                a = np.where(tx != 0, 1.0 / tx, 0.0)
                b = np.where(tx != 0, -r / tx, 0.0)
            # score w (y - R_d x) / X_d is linear in w y and w x
            var = design._domain_var_lin([wk * yk, wk * xk],
                                         np.stack([a, b], axis=1)[:, None, :], dom, ndom)
            if var is None:
                z = np.where(ok, wk * yk * a[d] + wk * xk * b[d], 0.0)
                var = design._domain_var(z[:, None], dom, ndom, present=ok[:, None])
            var = var[:, 0]
            n = np.bincount(d, weights=ok, minlength=ndom)
            se = np.where(n > 0, np.sqrt(var), np.nan)
            rows.append(dict(variable=f"{num}/{den}", estimate=r, se=se,
                             ci_low=r - crit * se, ci_high=r + crit * se, df=df_dom, n=n))
    return result_table(rows, labels)
