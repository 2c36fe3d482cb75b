"""Domains of the estimators in :mod:`ssp_research.survey.estimate`.

Domain codes from ``by`` columns, R's ``degf()`` per domain, critical values, the tidy result
table, and the one-pass domain means whose linearised scores are linear in ``w y`` and ``w``.
Estimators take a :class:`~ssp_research.survey.design.SurveyDesign` first; this module needs
only what every design has (``data``, ``weights``, ``vcov`` ...), so it does not import it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ssp_research.core.errors import ParameterError

__all__ = ["check_design", "domain_codes", "degf_domains", "as_list", "critical_value",
           "result_table", "mean_parts", "domain_means", "deff_mean", "is_factor",
           "variable_columns"]

_COLS = ["estimate", "se", "ci_low", "ci_high", "df", "n"]


def check_design(design) -> None:
    """Refuse anything but a survey design (e.g. a DataFrame passed by mistake)."""
    if not all(hasattr(design, a) for a in ("data", "weights", "vcov", "subset")):
        raise ParameterError(
            "the first argument must be a SurveyDesign",
            rule="estimate.<fn>(design, variables, by=...)",
            hint="build one with SurveyDesign(df, ids=..., strata=..., weights=...)",
        )


def domain_codes(design, by) -> tuple[np.ndarray, int, pd.DataFrame]:
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


def degf_domains(design, dom: np.ndarray, ndom: int, keep: np.ndarray):
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
        elif k == len(dom):  # every row its own PSU
            cnt = np.bincount(dom[ok], minlength=ndom)
        else:
            sk = np.sort(key)
            first = np.concatenate([[True], sk[1:] != sk[:-1]])
            cnt = np.bincount(sk[first] // k, minlength=ndom)
        out = out + (cnt if codes is st.clu else -cnt)
    return out.astype(float)


def as_list(variables) -> list:
    if isinstance(variables, str):
        return [variables]
    return list(variables)


def is_factor(s: pd.Series) -> bool:
    """True for text and categorical columns: estimated one row per level (R's factors).

    Booleans and numbers are not factors (a boolean is a 0/1 indicator).
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        return True
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def factor_levels(s: pd.Series) -> list:
    """The levels of a factor column as R's ``factor()`` orders them: a categorical's own
    categories (unused ones included, as R keeps unused levels), otherwise the sorted values."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories)
    return sorted(pd.unique(s.dropna()), key=lambda v: (str(type(v)), v))


def variable_columns(design, variables) -> list[tuple[str, object, np.ndarray]]:
    """``(variable, category, values)`` per estimated column.

    A numeric (or boolean) column gives one entry with category ``None``; a text or
    categorical column gives one 0/1 indicator per level (NaN where the value is missing),
    as R's ``svymean(~factor(x))`` does.
    """
    out = []
    for v in as_list(variables):
        if v in design.data.columns and is_factor(design.data[v]):
            s = design.data[v]
            miss = s.isna().to_numpy()
            values = s.to_numpy()
            for lv in factor_levels(s):
                ind = (values == lv).astype(float)
                ind[miss] = np.nan
                out.append((v, lv, ind))
        else:
            out.append((v, None, design.column(v)))
    return out


def critical_value(level: float, df) -> np.ndarray:
    if not 0 < level < 1:
        raise ParameterError(
            f"level={level} is not a probability", rule="0 < level < 1", hint="e.g. level=0.95"
        )
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(
            np.isinf(df), stats.norm.ppf(1 - (1 - level) / 2), stats.t.ppf(1 - (1 - level) / 2, df)
        )


def result_table(rows: list[dict], labels: pd.DataFrame, extra: tuple = ()) -> pd.DataFrame:
    """Stack per-variable results (arrays over domains) into the tidy result table."""
    ndom = len(labels)
    keys = [k for k in rows[0] if k not in ("variable", "category")]
    cols = {"variable": np.repeat([r["variable"] for r in rows], ndom).astype(object)}
    if any(r.get("category") is not None for r in rows):
        cats = np.empty(len(rows) * ndom, dtype=object)
        for i, r in enumerate(rows):
            cats[i * ndom:(i + 1) * ndom] = r.get("category")
        cols["category"] = cats
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
    order = ["variable", *(["category"] if "category" in out.columns else []),
             *labels.columns, *[c for c in extra if c in out.columns]]
    order += [c for c in _COLS + ["count", "deff"] if c in out.columns]
    out = out[order + [c for c in out.columns if c not in order]]
    out["variable"] = out["variable"].astype(str)
    out["n"] = out["n"].astype("int64")
    if "count" in out.columns:
        out["count"] = out["count"].astype("int64")
    return out


def mean_parts(design, y, dom, ndom, base=None):
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


def domain_means(design, ys, dom, ndom):
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


def deff_mean(design, y, ok, dom, ndom, var, est, big_w, n, total=False):
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
