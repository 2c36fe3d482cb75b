"""Design-based estimators: means, totals, proportions, ratios and quantiles, by domain.

Every function takes a :class:`~ssp_research.design.SurveyDesign` first and returns a tidy
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
>>> from ssp_research.design import SurveyDesign
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
from scipy import stats

from ssp_research.design import SurveyDesign
from ssp_research.errors import DataError, ParameterError

__all__ = ["mean", "total", "proportion", "ratio", "quantile", "PROPORTION_METHODS"]

#: CI methods of :func:`proportion` (R's ``svyciprop`` plus "wilson").
PROPORTION_METHODS = ("logit", "likelihood", "asin", "beta", "mean", "xlogit", "wilson")

_COLS = ["estimate", "se", "ci_low", "ci_high", "df", "n"]


# ---------------------------------------------------------------------------- helpers
def _check_design(design) -> None:
    if not isinstance(design, SurveyDesign):
        raise ParameterError(
            "the first argument must be a SurveyDesign",
            rule="estimate.<fn>(design, variables, by=...)",
            hint="build one with SurveyDesign(df, ids=..., strata=..., weights=...)",
        )


def _domains(design: SurveyDesign, by) -> tuple[np.ndarray, int, pd.DataFrame]:
    """Domain code per row (-1: missing ``by`` value), number of domains, their labels.

    Domains are the observed combinations of the ``by`` values, sorted as
    ``groupby(by, sort=True)`` would sort them.
    """
    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    n = len(design.data)
    if not by:
        return np.zeros(n, dtype=np.int64), 1, pd.DataFrame(index=range(1))
    codes = np.zeros(n, dtype=np.int64)
    missing = np.zeros(n, dtype=bool)
    uniques, sizes = [], []
    for b in by:
        if b not in design.data.columns:
            design.column(b, numeric=False)  # raises DataError with close matches
        c, u = pd.factorize(design.data[b], sort=True)
        missing |= c < 0
        codes = codes * max(len(u), 1) + np.maximum(c, 0)
        uniques.append(u)
        sizes.append(max(len(u), 1))
    total = int(np.prod(sizes, dtype=np.float64))
    if total <= 50_000_000:
        used = np.bincount(codes[~missing], minlength=total) > 0
        cells = np.flatnonzero(used)
        lookup = np.cumsum(used) - 1
        dom = np.where(missing, -1, lookup[codes])
    else:
        cells, inv = np.unique(codes[~missing], return_inverse=True)
        dom = np.full(n, -1, dtype=np.int64)
        dom[~missing] = inv
    labels = {}
    rest = cells.copy()
    for b, u, k in zip(reversed(by), reversed(uniques), reversed(sizes)):
        labels[b] = np.asarray(u)[rest % k] if len(u) else np.array([], dtype=object)
        rest = rest // k
    frame = pd.DataFrame({b: labels[b] for b in by})
    for b in by:
        if isinstance(design.data[b].dtype, pd.CategoricalDtype):
            frame[b] = frame[b].astype(design.data[b].dtype)
    return dom.astype(np.int64), len(cells), frame


def _degf_domains(design: SurveyDesign, dom: np.ndarray, ndom: int, keep: np.ndarray):
    """R's degf() of each domain design: PSUs minus strata among the kept rows."""
    st = design._stages[0]
    ok = keep & (dom >= 0)
    nh = int(st.stra.max()) + 1
    out = np.zeros(ndom)
    for codes, k in ((st.clu, st.n_clu), (st.stra, nh)):
        key = dom[ok] * k + codes[ok]
        if ndom * k <= 20_000_000:
            has = np.bincount(key, minlength=ndom * k) > 0
            cnt = has.reshape(ndom, k).sum(axis=1)
        else:
            cnt = np.bincount(np.unique(key) // k, minlength=ndom)
        out = out + (cnt if codes is st.clu else -cnt)
    return out.astype(float)


def _variables(variables) -> list:
    if isinstance(variables, str):
        return [variables]
    return list(variables)


def _crit(level: float, df) -> np.ndarray:
    if not 0 < level < 1:
        raise ParameterError(
            f"level={level} is not a probability", rule="0 < level < 1", hint="e.g. level=0.95"
        )
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(
            np.isinf(df), stats.norm.ppf(1 - (1 - level) / 2), stats.t.ppf(1 - (1 - level) / 2, df)
        )


def _table(rows: list[dict], labels: pd.DataFrame, extra: tuple = ()) -> pd.DataFrame:
    """Stack per-variable results (arrays over domains) into the tidy result table."""
    ndom = len(labels)
    keys = [k for k in rows[0] if k != "variable"]
    cols = {"variable": np.repeat([r["variable"] for r in rows], ndom).astype(object)}
    for c in labels.columns:
        vals = labels[c].to_numpy()
        cols[c] = np.tile(vals, len(rows)) if ndom else vals
    for k in keys:
        cols[k] = np.concatenate(
            [np.broadcast_to(np.asarray(r[k], dtype=float), (ndom,)) for r in rows]
        )
    out = pd.DataFrame(cols)
    for c in labels.columns:
        if isinstance(labels[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(labels[c].dtype)
    order = ["variable", *labels.columns, *[c for c in extra if c in out.columns]]
    order += [c for c in _COLS + ["count", "deff"] if c in out.columns]
    out = out[order + [c for c in out.columns if c not in order]]
    out["variable"] = out["variable"].astype(str)
    out["n"] = out["n"].astype("int64")
    if "count" in out.columns:
        out["count"] = out["count"].astype("int64")
    return out


def _mean_parts(design, y, dom, ndom, base=None):
    """Domain means of one variable and their weighted linearised scores."""
    w = design.weights
    base = _base(design, dom, ndom) if base is None else base
    nan = np.isnan(y)
    if nan.any():
        ok = base[0] & ~nan
        d = np.where(ok, dom, 0)
        wk = np.where(ok, w, 0.0)
        big_w = np.bincount(d, weights=wk, minlength=ndom)
        n = np.bincount(d, weights=ok, minlength=ndom)
        yk = np.where(ok, y, 0.0)
    else:
        ok, d, wk, big_w, n = base
        yk = y
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.bincount(d, weights=wk * yk, minlength=ndom) / big_w
        inv_w = 1.0 / big_w
        z = wk * (yk - est[d]) * inv_w[d]
    return est, z, ok, n, big_w


def _base(design, dom, ndom):
    """Rows with weight in a domain, their domain, weights, domain weight sums and counts."""
    w = design.weights
    ok = (w > 0) & (dom >= 0)
    d = np.where(ok, dom, 0)
    wk = np.where(ok, w, 0.0)
    return (ok, d, wk, np.bincount(d, weights=wk, minlength=ndom),
            np.bincount(d, minlength=ndom, weights=ok))


def _domain_means(design, ys, dom, ndom):
    """Means of several variables in all domains with their variances, in one pass.

    Returns ``est, var, n, big_w, oks``: arrays of shape (ndom, m) and the row masks.
    The scores ``w (y - mean_d) / W_d`` are linear in ``w y`` and ``w``, so the variance
    is computed from (cluster x domain) sums of those columns (:meth:`_domain_var_lin`).
    """
    w = design.weights
    ok0, d0, w0, big_w0, n0 = _base(design, dom, ndom)
    m = len(ys)
    est, n, big_w = np.zeros((ndom, m)), np.zeros((ndom, m)), np.zeros((ndom, m))
    cols, wi, yi, oks = [w0], [], [], []
    for j, y in enumerate(ys):
        nan = np.isnan(y)
        if nan.any():
            ok = ok0 & ~nan
            wk = np.where(ok, w, 0.0)
            d = np.where(ok, dom, 0)
            cols.append(wk)
            wi.append(len(cols) - 1)
            n[:, j] = np.bincount(d, weights=ok, minlength=ndom)
            big_w[:, j] = np.bincount(d, weights=wk, minlength=ndom)
            wy = wk * np.where(ok, y, 0.0)
        else:
            ok, d = ok0, d0
            wi.append(0)
            n[:, j], big_w[:, j] = n0, big_w0
            wy = w0 * y
        cols.append(wy)
        yi.append(len(cols) - 1)
        oks.append(ok)
        est[:, j] = np.bincount(d, weights=wy, minlength=ndom)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = est / big_w
        a = np.where(big_w > 0, 1.0 / big_w, 0.0)
        b = np.where(big_w > 0, -est / big_w, 0.0)
    bases = cols
    coefs = np.zeros((ndom, m, len(bases)))
    for j in range(m):
        coefs[:, j, yi[j]] += a[:, j]
        coefs[:, j, wi[j]] += b[:, j]
    var = design._domain_var_lin(bases, coefs, dom, ndom)
    if var is None:
        dd = np.where(dom >= 0, dom, 0)
        z = np.column_stack(
            [bases[yi[j]] * a[dd, j] + bases[wi[j]] * b[dd, j] for j in range(m)]
        )
        var = design._domain_var(z, dom, ndom, present=np.column_stack(oks))
    return est, var, n, big_w, oks


def _deff_mean(design, y, ok, dom, ndom, var, est, big_w, n, total=False):
    """R's deff: design variance over the SRS-without-replacement variance."""
    w = design.weights
    d = np.where(ok, dom, 0)
    dev2 = np.where(ok, (np.nan_to_num(y) - est[d]) ** 2, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        svar = np.bincount(d, weights=w * dev2, minlength=ndom) / big_w * n / (n - 1)
        vsrs = svar * (big_w - n) / (big_w * n)
        if total:
            vsrs = vsrs * big_w**2
        return var / vsrs


# ---------------------------------------------------------------------------- estimators
def mean(
    design: SurveyDesign,
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
        Numeric columns; missing values are left out (R's ``na.rm=TRUE``), each variable on
        its own non-missing rows (as separate ``svymean`` calls; R's
        ``svymean(~a + b, na.rm=TRUE)`` would drop rows missing either).
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
        ``variable``, by columns, ``estimate`` (weighted mean), ``se``, ``ci_low``,
        ``ci_high``, ``df`` (design df of the domain), ``n`` (respondents with a value),
        optionally ``deff``.

    Notes
    -----
    :math:`\\hat\\mu_d = \\sum_i w_i 1_d(i) y_i / \\hat W_d`; its linearised score is
    :math:`w_i 1_d(i) (y_i - \\hat\\mu_d) / \\hat W_d`, whose design variance
    (:meth:`SurveyDesign._vcov`) is the variance of the mean.

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.design import SurveyDesign
    >>> df = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3], "w": [2.0, 2, 3, 3, 1, 1],
    ...                    "y": [1.0, 3, 2, 4, 5, 7]})
    >>> r = mean(SurveyDesign(df, ids="s", weights="w"), "y")
    >>> round(float(r["estimate"].iloc[0]), 6), round(float(r["se"].iloc[0]), 6)
    (3.166667, 0.756148)

    In R: ``svymean(~y, svydesign(ids=~s, weights=~w, data=df))``.
    """
    _check_design(design)
    dom, ndom, labels = _domains(design, by)
    df_dom = _degf_domains(design, dom, ndom, design.weights > 0)
    if ci_df not in ("normal", "design"):
        raise ParameterError(
            f"ci_df={ci_df!r} is not known", rule='"normal" or "design"', hint='use "normal"'
        )
    crit = _crit(level, np.inf if ci_df == "normal" else df_dom)
    vars_ = _variables(variables)
    ys = [design.column(v) for v in vars_]
    ests, var, ns, big_ws, oks = _domain_means(design, ys, dom, ndom)
    rows = []
    for j, v in enumerate(vars_):
        est, n = ests[:, j], ns[:, j]
        se = np.where(n > 0, np.sqrt(var[:, j]), np.nan)
        row = dict(variable=v, estimate=est, se=se, ci_low=est - crit * se,
                   ci_high=est + crit * se, df=df_dom, n=n)
        if deff:
            row["deff"] = _deff_mean(design, ys[j], oks[j], dom, ndom, var[:, j], est,
                                     big_ws[:, j], n)
        rows.append(row)
    return _table(rows, labels)


def total(
    design: SurveyDesign,
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
        ``variable``, by columns, ``estimate`` (weighted total), ``se``, ``ci_low``,
        ``ci_high``, ``df``, ``n``, optionally ``deff``.

    Notes
    -----
    :math:`\\hat Y_d = \\sum_i w_i 1_d(i) y_i`; the score is :math:`w_i 1_d(i) y_i`.

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.design import SurveyDesign
    >>> df = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3], "w": [2.0, 2, 3, 3, 1, 1],
    ...                    "y": [1.0, 3, 2, 4, 5, 7]})
    >>> float(total(SurveyDesign(df, ids="s", weights="w"), "y")["estimate"].iloc[0])
    38.0

    In R: ``svytotal(~y, design, na.rm=TRUE)``.
    """
    _check_design(design)
    dom, ndom, labels = _domains(design, by)
    df_dom = _degf_domains(design, dom, ndom, design.weights > 0)
    crit = _crit(level, np.inf if ci_df == "normal" else df_dom)
    vars_ = _variables(variables)
    w = design.weights
    rows, zs, pres, keep = [], [], [], []
    for v in vars_:
        y = design.column(v)
        ok = (w > 0) & ~np.isnan(y) & (dom >= 0)
        zs.append(np.where(ok, w * np.where(ok, y, 0.0), 0.0))
        pres.append(ok)
        keep.append(y)
    var = design._domain_var(np.column_stack(zs), dom, ndom, present=np.column_stack(pres))
    for j, v in enumerate(vars_):
        ok = pres[j]
        d = np.where(ok, dom, 0)
        est = np.bincount(d, weights=zs[j], minlength=ndom)
        n = np.bincount(d, weights=ok, minlength=ndom)
        se = np.where(n > 0, np.sqrt(var[:, j]), np.nan)
        est = np.where(n > 0, est, np.nan)
        row = dict(variable=v, estimate=est, se=se, ci_low=est - crit * se,
                   ci_high=est + crit * se, df=df_dom, n=n)
        if deff:
            big_w = np.bincount(d, weights=np.where(ok, w, 0.0), minlength=ndom)
            with np.errstate(invalid="ignore", divide="ignore"):
                m = np.bincount(d, weights=zs[j], minlength=ndom) / big_w
            row["deff"] = _deff_mean(design, keep[j], ok, dom, ndom, var[:, j], m, big_w, n,
                                     total=True)
        rows.append(row)
    return _table(rows, labels)


def proportion(
    design: SurveyDesign,
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
        Indicator columns with values 0/1 (or True/False); missing values are left out.
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
        ``variable``, by columns, ``estimate`` (weighted proportion), ``se`` (of the
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

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.design import SurveyDesign
    >>> df = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3, 4, 4], "w": [1.0, 2, 1, 2, 1, 2, 1, 2],
    ...                    "y": [0, 1, 1, 1, 0, 0, 1, 0]})
    >>> r = proportion(SurveyDesign(df, ids="s", weights="w"), "y", method="beta")
    >>> float(r["estimate"].iloc[0]), int(r["df"].iloc[0]), int(r["count"].iloc[0])
    (0.5, 3, 4)
    >>> round(float(r["ci_low"].iloc[0]), 6), round(float(r["ci_high"].iloc[0]), 6)
    (0.038207, 0.961793)

    In R: ``svyciprop(~y, design, method="beta")``.
    """
    _check_design(design)
    if method not in PROPORTION_METHODS:
        raise ParameterError(
            f"method={method!r} is not a proportion CI method",
            rule=f"one of {', '.join(PROPORTION_METHODS)}",
            hint='use "logit" (R\'s default) or "beta" (Korn-Graubard) for small domains',
        )
    dom, ndom, labels = _domains(design, by)
    w = design.weights
    in_dom = (w > 0) & (dom >= 0)
    df_dom = _degf_domains(design, dom, ndom, in_dom)
    if design.calibrated:
        nrow = np.full(ndom, float(len(w)))
    else:
        nrow = np.bincount(np.where(in_dom, dom, 0), weights=in_dom, minlength=ndom)
    vars_ = _variables(variables)
    ys = []
    for v in vars_:
        y = design.column(v)
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
    ests, var, ns, big_ws, oks = _domain_means(design, ys, dom, ndom)
    rows = []
    for j, v in enumerate(vars_):
        p, n, ok, big_w = ests[:, j], ns[:, j], oks[j], big_ws[:, j]
        vj = np.where(n > 0, var[:, j], np.nan)
        lo, hi = _prop_ci(method, p, vj, df_dom, level, nrow,
                          design=design, y=ys[j], ok=ok, dom=dom, ndom=ndom)
        count = np.bincount(np.where(ok, dom, 0), weights=np.where(ok, ys[j], 0.0),
                            minlength=ndom)
        row = dict(variable=v, estimate=p, se=np.sqrt(vj), ci_low=lo, ci_high=hi,
                   df=df_dom, n=n, count=count)
        if deff:
            row["deff"] = _deff_mean(design, ys[j], ok, dom, ndom, vj, p, big_w, n)
        rows.append(row)
    return _table(rows, labels)


def _prop_ci(method, p, v, df, level, nrow, **ctx):
    """Confidence limits of proportions, vectorised over domains (R's svyciprop)."""
    a = 1 - level
    t = _crit(level, df)
    se = np.sqrt(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "mean":
            return p - t * se, p + t * se
        if method in ("logit", "xlogit"):
            eta = np.log(p / (1 - p))
            h = t * se / (p * (1 - p))
            return _expit(eta - h), _expit(eta + h)
        if method == "asin":
            eta = np.arcsin(np.sqrt(p))
            h = t * se / (2 * np.sqrt(p * (1 - p)))
            return np.sin(eta - h) ** 2, np.sin(eta + h) ** 2
        if method == "beta":
            neff = p * (1 - p) / v
            neff = neff * (stats.t.ppf(a / 2, nrow - 1) / stats.t.ppf(a / 2, df)) ** 2
            lo = stats.beta.ppf(a / 2, neff * p, neff * (1 - p) + 1)
            hi = stats.beta.ppf(1 - a / 2, neff * p + 1, neff * (1 - p))
            lo = np.where(p == 0, 0.0, lo)
            hi = np.where(p == 1, 1.0, hi)
            return lo, hi
        if method == "wilson":
            neff = p * (1 - p) / v
            t2 = t**2
            centre = (p + t2 / (2 * neff)) / (1 + t2 / neff)
            half = t / (1 + t2 / neff) * np.sqrt(p * (1 - p) / neff + t2 / (4 * neff**2))
            return centre - half, centre + half
    return _likelihood_ci(p, v, df, level, **ctx)


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _likelihood_ci(p, v, df, level, *, design, y, ok, dom, ndom):
    """R's ``confint(svyglm(y ~ 1, quasibinomial), method="likelihood")``, per domain.

    Follows survey 4.1.1 step by step so that the limits agree with R: glm's IRLS for the
    intercept (R's working weights are those of the last iteration), the design variance of
    its estimating function, the rescaled profile (``MASSprofile_glm``) on R's grid, R's
    "fmm" spline through it and linear inverse interpolation (``confint_profile``).
    """
    lo = np.full(ndom, np.nan)
    hi = np.full(ndom, np.nan)
    w = design.weights
    in_dom = (w > 0) & (dom >= 0)
    for d in np.flatnonzero(np.isfinite(v) & (v > 0) & (p > 0) & (p < 1)):
        rows = np.ones(len(w), dtype=bool) if design.calibrated else in_dom & (dom == d)
        m = ok & (dom == d)
        pw_all = w[rows] / w[rows].mean()
        pw = np.zeros(len(w))
        pw[rows] = pw_all
        yy, ww = y[m], pw[m]
        beta, mu_prev, dev_hat = _irls_intercept(yy, ww)
        mu = _expit(beta)
        work_w = ww * mu_prev * (1 - mu_prev)
        a_inv = 1.0 / work_w.sum()
        score = np.zeros(len(w))
        score[m] = (yy - mu) / (mu * (1 - mu)) * work_w * a_inv
        var_beta = float(design._vcov(score, present=in_dom & (dom == d))[0, 0])
        lam = var_beta / a_inv
        # dispersion: svyvar of the Pearson residuals over the model rows
        # residuals.svyglm: (y - mu) sqrt(prior weight / rescaled design weight) / sqrt(V(mu))
        pwts = w[m] / (w.sum() / len(w) if design.calibrated else w[m].mean())
        r = (yy - mu) * np.sqrt(ww / pwts) / np.sqrt(mu * (1 - mu))
        wd = w[m]
        nobs = int((wd != 0).sum())
        rbar = np.sum(wd * r) / wd.sum()
        disp = np.sum(wd * (r - rbar) ** 2 * nobs / (nobs - 1)) / wd.sum()
        alpha = stats.norm.cdf(stats.t.ppf((1 - level) / 2, df[d]) * np.sqrt(lam)) / 2
        zmax = stats.t.isf(alpha / 2, len(yy) - 1)  # sqrt(qf(alpha, 1, n - 1, upper)), stable
        step_size = zmax / 5 * np.sqrt(var_beta)
        s1, s0 = np.sum(ww * yy), np.sum(ww * (1 - yy))

        def zval(b, s1=s1, s0=s0, dev_hat=dev_hat, disp=disp):
            mu_b = _expit(b)
            dev = -2 * (s1 * np.log(mu_b) + s0 * np.log(1 - mu_b))
            return max((dev - dev_hat) / disp, 0.0)

        bs, zs = [beta], [0.0]
        for sgn in (-1, 1):
            z, step = 0.0, 0
            while True:
                step += 1
                if not (step < 10 and abs(z) < zmax):
                    break
                b = beta + sgn * step * step_size
                z = sgn * np.sqrt(zval(b))
                bs.append(b)
                zs.append(z)
        order = np.argsort(zs, kind="stable")
        bx, zy = np.asarray(bs)[order], np.asarray(zs)[order]
        sx, sy = _r_spline_fmm(bx, zy, 3 * len(bx))
        cut = np.array([-1.0, 1.0]) * abs(stats.norm.ppf(2 * alpha))
        ci = _r_approx(sy, sx, cut)
        lo[d], hi[d] = _expit(ci[0]), _expit(ci[1])
    return lo, hi


def _irls_intercept(y, pw, eps=1e-8, maxit=25):
    """R's glm.fit for y ~ 1, binomial(logit): final beta, the mu of the last iteration's
    working weights, and the deviance."""

    def deviance(mu):
        return float(-2 * np.sum(pw * (y * np.log(mu) + (1 - y) * np.log(1 - mu))))

    mu = (pw * y + 0.5) / (pw + 1)
    eta = np.log(mu / (1 - mu))
    dev_old = deviance(mu)
    beta = float(eta[0])
    for _ in range(maxit):
        mu_eta = np.maximum(mu * (1 - mu), np.finfo(float).eps)
        z = eta + (y - mu) / mu_eta
        wt = pw * mu_eta**2 / (mu * (1 - mu))
        mu_prev = mu
        beta = float(np.sum(wt * z) / np.sum(wt))
        eta = np.full(len(y), beta)
        mu = _expit(eta)
        dev = deviance(mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < eps:
            break
        dev_old = dev
    return beta, mu_prev, dev


def _r_seq(a, b, n):
    """R's seq.int(a, b, length.out = n)."""
    out = np.empty(n)
    out[0], out[-1] = a, b
    by = (b - a) / (n - 1)
    i = np.arange(1, n - 1)
    out[1:-1] = np.where(i < n // 2, a + i * by, b - (n - 1 - i) * by)
    return out


def _r_spline_fmm(x, y, n):
    """R's ``spline(x, y, n, method="fmm")`` (Forsythe, Malcolm and Moler end conditions)."""
    x, y = _r_regularize(x, y)
    m = len(x)
    b, c, d = np.zeros(m), np.zeros(m), np.zeros(m)
    if m < 3:
        b[:] = (y[1] - y[0]) / (x[1] - x[0])
    else:
        nm1 = m - 1
        d[0] = x[1] - x[0]
        c[1] = (y[1] - y[0]) / d[0]
        for i in range(1, nm1):
            d[i] = x[i + 1] - x[i]
            b[i] = 2.0 * (d[i - 1] + d[i])
            c[i + 1] = (y[i + 1] - y[i]) / d[i]
            c[i] = c[i + 1] - c[i]
        b[0], b[nm1] = -d[0], -d[m - 2]
        c[0] = c[nm1] = 0.0
        if m > 3:
            c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
            c[nm1] = c[m - 2] / (x[nm1] - x[m - 3]) - c[m - 3] / (x[m - 2] - x[m - 4])
            c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
            c[nm1] = -c[nm1] * d[m - 2] * d[m - 2] / (x[nm1] - x[m - 4])
        for i in range(1, m):
            t = d[i - 1] / b[i - 1]
            b[i] = b[i] - t * d[i - 1]
            c[i] = c[i] - t * c[i - 1]
        c[nm1] = c[nm1] / b[nm1]
        for i in range(m - 2, -1, -1):
            c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
        b[nm1] = (y[nm1] - y[m - 2]) / d[m - 2] + d[m - 2] * (c[m - 2] + 2.0 * c[nm1])
        for i in range(nm1):
            b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
            d[i] = (c[i + 1] - c[i]) / d[i]
            c[i] = 3.0 * c[i]
        c[nm1] = 3.0 * c[nm1]
        d[nm1] = d[m - 2]
    xout = _r_seq(x[0], x[-1], n)
    idx = np.clip(np.searchsorted(x, xout, side="right") - 1, 0, m - 1)
    dx = xout - x[idx]
    return xout, y[idx] + dx * (b[idx] + dx * (c[idx] + dx * d[idx]))


def _r_regularize(x, y):
    """R's regularize.values(x, y, mean): sort by x, average y over tied x."""
    order = np.argsort(x, kind="stable")
    x, y = np.asarray(x)[order], np.asarray(y)[order]
    ux, inv = np.unique(x, return_inverse=True)
    if len(ux) == len(x):
        return x, y
    return ux, np.bincount(inv, weights=y) / np.bincount(inv)


def _r_approx(x, y, xout):
    """R's ``approx(x, y, xout)$y`` (linear, NA outside the range)."""
    x, y = _r_regularize(x, y)
    out = np.full(len(xout), np.nan)
    for k, v in enumerate(xout):
        if np.isnan(v) or v < x[0] or v > x[-1]:
            continue
        i, j = 0, len(x) - 1
        while i < j - 1:
            ij = (i + j) // 2
            if v < x[ij]:
                j = ij
            else:
                i = ij
        if v == x[j]:
            out[k] = y[j]
        elif v == x[i]:
            out[k] = y[i]
        else:
            out[k] = y[i] + (y[j] - y[i]) * ((v - x[i]) / (x[j] - x[i]))
    return out


def ratio(
    design: SurveyDesign,
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
    >>> from ssp_research.design import SurveyDesign
    >>> df = pd.DataFrame({"s": [1, 2, 3, 4], "y": [1.0, 2, 3, 4], "x": [2.0, 2, 4, 4],
    ...                    "w": [1.0, 2, 1, 2]})
    >>> r = ratio(SurveyDesign(df, ids="s", weights="w"), "y", "x")
    >>> round(float(r["estimate"].iloc[0]), 6), round(float(r["se"].iloc[0]), 6)
    (0.888889, 0.088453)

    In R: ``svyratio(~y, ~x, design)``.
    """
    _check_design(design)
    dom, ndom, labels = _domains(design, by)
    df_dom = _degf_domains(design, dom, ndom, design.weights > 0)
    crit = _crit(level, np.inf if ci_df == "normal" else df_dom)
    w = design.weights
    rows = []
    for num in _variables(numerator):
        for den in _variables(denominator):
            y, x = design.column(num), design.column(den)
            ok = (w > 0) & ~np.isnan(y) & ~np.isnan(x) & (dom >= 0)
            d = np.where(ok, dom, 0)
            wk = np.where(ok, w, 0.0)
            yk, xk = np.where(ok, y, 0.0), np.where(ok, x, 0.0)
            ty = np.bincount(d, weights=wk * yk, minlength=ndom)
            tx = np.bincount(d, weights=wk * xk, minlength=ndom)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = ty / tx
                z = np.where(ok, wk * (yk - r[d] * xk) / tx[d], 0.0)
            var = design._domain_var(z[:, None], dom, ndom, present=ok[:, None])[:, 0]
            n = np.bincount(d, weights=ok, minlength=ndom)
            se = np.where(n > 0, np.sqrt(var), np.nan)
            rows.append(dict(variable=f"{num}/{den}", estimate=r, se=se,
                             ci_low=r - crit * se, ci_high=r + crit * se, df=df_dom, n=n))
    return _table(rows, labels)


def quantile(
    design: SurveyDesign,
    variables,
    quantiles=(0.5,),
    *,
    by=None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Quantiles with Woodruff confidence intervals (R's ``svyquantile`` defaults).

    Parameters
    ----------
    design : SurveyDesign
    variables : str or list of str
    quantiles : float or sequence of float
        Probabilities in [0, 1].
    by : str or list of str, optional
    level : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        ``variable``, by columns, ``quantile`` (the probability), ``estimate``, ``se``
        (R's: CI width / (2 t)), ``ci_low``, ``ci_high``, ``df`` (design df after leaving
        out missing values, as R), ``n``.

    Notes
    -----
    ``qrule="math"``: the smallest :math:`x` whose weighted CDF reaches :math:`p`.
    ``interval.type="mean"`` (Woodruff): the CI of :math:`\\hat F(\\hat q_p)` from
    :func:`mean` of :math:`1[y \\le \\hat q_p]` with a t quantile on the design df is mapped
    back through the quantile rule; the SE is the CI width over :math:`2t`.

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.design import SurveyDesign
    >>> df = pd.DataFrame({"s": range(8), "y": [3.0, 1, 4, 1, 5, 9, 2, 6], "w": 1.0})
    >>> r = quantile(SurveyDesign(df, ids="s", weights="w"), "y", [0.5])
    >>> r[["estimate", "ci_low", "ci_high"]].iloc[0].tolist(), round(float(r["se"].iloc[0]), 6)
    ([3.0, 1.0, 9.0], 1.691601)

    In R: ``svyquantile(~y, design, 0.5, na.rm=TRUE)``.
    """
    _check_design(design)
    qs = np.atleast_1d(np.asarray(quantiles, dtype=float))
    if ((qs < 0) | (qs > 1)).any() or np.isnan(qs).any():
        raise ParameterError(
            f"quantiles {list(qs)} are not all in [0, 1]",
            rule="0 <= quantile <= 1",
            hint="e.g. quantiles=[0.25, 0.5, 0.75]",
        )
    dom, ndom, labels = _domains(design, by)
    w = design.weights
    a = 1 - level
    rows = []
    for v in _variables(variables):
        y = design.column(v)
        ok = (w > 0) & ~np.isnan(y) & (dom >= 0)
        df_dom = _degf_domains(design, dom, ndom, ok)
        t = _crit(level, df_dom)
        order = np.lexsort((y[ok], dom[ok]))
        idx = np.flatnonzero(ok)[order]
        ys, ds, ws = y[idx], dom[idx], w[idx]
        # R accumulates cumsum()/sum() in long double and rounds to double: do the same
        cwl = np.cumsum(ws.astype(np.longdouble))
        n = np.bincount(ds, minlength=ndom)
        start = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
        before = np.where(start > 0, cwl[np.maximum(start - 1, 0)], 0.0)
        cw = (cwl - before[ds]).astype(float)
        last = np.minimum(start + n - 1, max(len(ws) - 1, 0))
        big_w = np.where(n > 0, (cwl[last] - before).astype(float) if len(ws) else 0.0, 0.0)

        def rule(pp, ys=ys, ds=ds, cw=cw, n=n, start=start, big_w=big_w):
            pp = np.broadcast_to(pp, (ndom,))
            with np.errstate(invalid="ignore"):
                below = cw <= pp[ds] * big_w[ds]
            cnt = np.bincount(ds, weights=below, minlength=ndom).astype(int)
            pos = np.maximum(cnt, 1) - 1  # R's last(): 1 when none
            gi = np.minimum(start + pos, len(ys) - 1)
            nxt = np.minimum(start + np.minimum(pos + 1, n - 1), len(ys) - 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                wlow = pp - cw[gi] / big_w
            out = np.where(wlow == 0, ys[gi] if len(ys) else np.nan,
                           ys[nxt] if len(ys) else np.nan)
            return np.where(n > 0, out, np.nan)

        for prob in qs:
            qhat = rule(np.full(ndom, prob))
            ind = np.where(ok, (y <= qhat[np.where(dom >= 0, dom, 0)]).astype(float), np.nan)
            pm, z, okm, _, _ = _mean_parts(design, ind, dom, ndom)
            se_p = np.sqrt(design._domain_var(z[:, None], dom, ndom, present=okm[:, None])[:, 0])
            pl, pu = pm - t * se_p, pm + t * se_p
            lo = np.where(np.isnan(pl) | (pl < 0), np.nan, rule(np.nan_to_num(pl)))
            hi = np.where(np.isnan(pu) | (pu > 1), np.nan, rule(np.nan_to_num(pu)))
            se = (hi - lo) / (2 * stats.t.ppf(1 - a / 2, df_dom))
            rows.append(dict(variable=v, quantile=prob, estimate=qhat, se=se, ci_low=lo,
                             ci_high=hi, df=df_dom, n=n.astype(float)))
    return _table(rows, labels, extra=("quantile",))
