"""Quantiles of a survey design with R's ``svyquantile`` rules and interval types.

R's ``survey`` (4.x) separates the *quantile rule* (how the weighted CDF is inverted:
``qrule="math"`` (default), ``"school"``, ``"shahvaish"``, ``"hf1"`` ... ``"hf9"``) from the
*interval type* (``interval.type="mean"``: Woodruff, the interval of :math:`\\hat F(\\hat q)`
mapped back through the rule; ``"beta"``, ``"xlogit"``, ``"asin"``: other intervals for that
proportion; ``"score"``: Francisco and Fuller's test inversion). This module reproduces each,
step by step, including R's long-double sums, its ``approx()`` interpolation and its
``uniroot()`` (Brent's zeroin, ported from R's ``zeroin.c``), because the score interval
depends on where the root search stops.

The tests compare with R (``tests/reference/survey_parity_reference.R`` and
``survey_design_reference.R``) to a relative 1e-6. R's ``interval.type="quantile"`` exists
only for replicate-weight designs, which this package does not have.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ssp_research.core.errors import ParameterError
from ssp_research.survey.domains import (
    check_design,
    critical_value,
    degf_domains,
    domain_codes,
    mean_parts,
    result_table,
)

__all__ = ["quantile", "QUANTILE_RULES", "INTERVAL_TYPES", "qrule_value"]

#: R's ``svyquantile(qrule=)`` values.
QUANTILE_RULES = ("math", "school", "shahvaish", "hf1", "hf2", "hf3", "hf4", "hf5", "hf6",
                  "hf7", "hf8", "hf9")
#: R's ``svyquantile(interval.type=)`` values for Taylor-linearised designs.
INTERVAL_TYPES = ("mean", "beta", "xlogit", "asin", "score")

_EPS = np.finfo(float).eps


# ---------------------------------------------------------------------------- R's arithmetic
def _cumsum(w: np.ndarray) -> np.ndarray:
    """R's ``cumsum``: accumulated in long double, each value rounded to double."""
    return np.cumsum(w.astype(np.longdouble)).astype(float)


def _r_mean(w: np.ndarray) -> float:
    """R's ``mean`` of doubles: long-double sum / n plus one refinement pass."""
    s = np.sum(w.astype(np.longdouble)) / len(w)
    s = s + np.sum(w.astype(np.longdouble) - s) / len(w)
    return float(s)


def _approx(x: np.ndarray, y: np.ndarray, v: float, constant: bool = False) -> float:
    """R's ``approx(x, y, v, rule=2)`` (linear, or constant with f = 0).

    As R's ``regularize.values(ties=mean)``: points are put in the order of ``x`` and
    repeated ``x`` values are replaced by one with the mean of their ``y``."""
    if np.any(np.diff(x) <= 0):
        o = np.argsort(x, kind="stable")
        x, y = x[o], y[o]
        ux, inv = np.unique(x, return_inverse=True)
        if len(ux) < len(x):
            y = np.bincount(inv, weights=y) / np.bincount(inv)
            x = ux
    n = len(x)
    if v < x[0]:
        return float(y[0])
    if v > x[-1]:
        return float(y[-1])
    i, j = 0, n - 1
    while i < j - 1:
        ij = (i + j) // 2
        if v < x[ij]:
            j = ij
        else:
            i = ij
    if v == x[j]:
        return float(y[j])
    if v == x[i]:
        return float(y[i])
    if constant:
        return float(y[i])
    return float(y[i] + (y[j] - y[i]) * ((v - x[i]) / (x[j] - x[i])))


def _zeroin(f, ax: float, bx: float, tol: float, maxit: int = 1000) -> float:
    """R's ``uniroot(f, c(ax, bx), tol=tol)$root``: Brent's zeroin as in R's zeroin.c.

    NaN where R stops with "f() values at end points not of opposite sign"."""
    fa, fb = f(ax), f(bx)
    if not (fa * fb <= 0):
        return np.nan
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


# ---------------------------------------------------------------------------- quantile rules
def _qs(x: np.ndarray, w: np.ndarray, p: float):
    """R's ``survey:::qs`` on sorted x: (qlow, qup, ilow (1-based), wlow, wup)."""
    cw = _cumsum(w)
    total = cw[-1]
    pos = max(int(np.count_nonzero(cw <= p * total)), 1)
    nxt = pos if pos == len(x) else pos + 1
    return x[pos - 1], x[nxt - 1], pos, p - cw[pos - 1] / total, cw[nxt - 1] / total - p


def qrule_value(rule: str, x: np.ndarray, w: np.ndarray, p: float) -> float:
    """The weighted ``p`` quantile of ``x`` by one of R's ``svyquantile`` rules.

    Parameters
    ----------
    rule : str
        One of :data:`QUANTILE_RULES`.
    x, w : numpy.ndarray
        Values and weights (any order; rows with zero weight are left out, as R).
    p : float
        The probability.

    Returns
    -------
    float
        R's ``survey:::qrule_<rule>(x, w, p)``.

    Examples
    --------
    >>> x, w = np.array([1.0, 2, 3, 4]), np.ones(4)
    >>> [qrule_value(r, x, w, 0.5) for r in ("math", "school", "hf7")]
    [2.0, 2.5, 2.5]
    """
    keep = w != 0
    x, w = np.asarray(x, dtype=float)[keep], np.asarray(w, dtype=float)[keep]
    n = len(x)
    if n == 0:
        return np.nan
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    if rule in ("math", "hf1"):
        qlow, qup, _, wlow, _ = _qs(x, w, p)
        return float(qlow if wlow == 0 else qup)
    if rule in ("school", "hf2"):
        qlow, qup, _, wlow, _ = _qs(x, w, p)
        return float((qlow + qup) / 2 if wlow == 0 else qup)
    if rule == "hf3":
        ux, inv = np.unique(x, return_inverse=True)
        wa = np.zeros(len(ux))
        np.add.at(wa, inv, w)
        qlow, qup, ilow, wlow, _ = _qs(ux, wa, p)
        return float(qlow if (wlow == 0 and ilow % 2 == 0) else qup)
    if rule == "hf4":
        qlow, qup, _, wlow, wup = _qs(x, w, p)
        with np.errstate(invalid="ignore", divide="ignore"):
            gamma = wlow / (wup + wlow)  # 0/0 (NaN) at the largest value, as in R
            return float(qlow * (1 - gamma) + qup * gamma)
    cw = _cumsum(w)
    prev = np.concatenate([[0.0], cw[:-1]])
    if rule == "shahvaish":
        s = _cumsum(w / _r_mean(w))
        return _approx((s + 0.5 - w / 2) / (n + 1), x, p, constant=True)
    if rule == "hf5":
        pk = (cw - w / 2) / cw[-1]
    elif rule == "hf6":
        pk = cw / (cw[-1] + w[-1])
    elif rule == "hf7":
        pk = prev / cw[-2] if n > 1 else np.zeros(1)
    elif rule == "hf8":
        pk = (prev * 1 / 3 + cw * 2 / 3) / (cw[-1] + w[-1] / 3)
    elif rule == "hf9":
        pk = (prev * 3 / 8 + cw * 5 / 8) / (cw[-1] + w[-1] / 4)
    else:
        raise ParameterError(
            f"qrule={rule!r} is not known", rule=f"one of {', '.join(QUANTILE_RULES)}",
            hint='use "math" (R\'s default), "school" or "hf7" (R\'s quantile() default)',
        )
    return _approx(pk, x, p)


# ---------------------------------------------------------------------------- the estimator
def quantile(
    design,
    variables,
    quantiles=(0.5,),
    *,
    by=None,
    level: float = 0.95,
    qrule: str = "math",
    interval_type: str = "mean",
):
    """Quantiles with confidence intervals, overall or by domain (R's ``svyquantile``).

    Parameters
    ----------
    design : SurveyDesign
    variables : str or list of str
        Numeric columns; missing values are left out (R's ``na.rm=TRUE``).
    quantiles : float or sequence of float
        Probabilities in [0, 1].
    by : str or list of str, optional
        Domain columns (R's ``svyby(..., svyquantile)``).
    level : float, default 0.95
    qrule : str, default "math"
        R's quantile rule (:data:`QUANTILE_RULES`): "math" (= "hf1", the smallest x whose
        weighted CDF reaches p), "school" (= "hf2", the midpoint at a jump), "shahvaish",
        and the weighted Hyndman-Fan types "hf3" ... "hf9" ("hf7" is R's ``quantile()``
        default).
    interval_type : {"mean", "beta", "xlogit", "asin", "score"}, default "mean"
        "mean" (Woodruff): the t interval of :math:`\\hat F(\\hat q_p)` mapped back through
        the rule; "beta", "xlogit", "asin": that proportion's Korn-Graubard, logit or arcsine
        interval instead; "score": Francisco and Fuller's inversion of the score test.

    Returns
    -------
    pandas.DataFrame
        ``variable``, by columns, ``quantile`` (the probability), ``estimate``, ``se``
        (R's: CI width / (2 t)), ``ci_low``, ``ci_high``, ``df`` (design df after leaving
        out missing values, as R), ``n``.

    Raises
    ------
    ParameterError
        A probability outside [0, 1], an unknown rule or interval type.

    Notes
    -----
    Woodruff: with :math:`\\hat p = \\hat F(\\hat q)`, the mean of :math:`1[y \\le \\hat q]`,
    and its interval :math:`(p_l, p_u)`, the limits are the rule's quantiles at
    :math:`p_l, p_u` (NaN outside [0, 1]). "beta" uses
    :math:`n^* = \\hat p(1-\\hat p)/v \\cdot (t_{n-1}/t_{df})^2` with ``n`` the rows of R's
    domain design. "score" solves :math:`\\bar U(\\theta)/SE(\\bar U) = \\pm t` for
    :math:`U = 1[y > \\theta] - (1-p)` with R's ``uniroot`` (tolerance
    :math:`1/(100\\sqrt n)`, between :math:`\\min y + IQR/100` and :math:`\\max y - IQR/100`),
    and maps the unweighted share of values at or below each root back through the rule.
    Where the score test does not change sign in that range R stops with an error ("f()
    values at end points not of opposite sign"); here that limit is NaN.

    Where R's domain design keeps rows (a calibrated design keeps every row, with zero
    weight outside the domain; missing values then count as 0 in the score interval's
    range and shares) this is done too. A plain design's zero weights are treated as rows
    outside the domain (R would keep rows whose weight was 0 in the data; give them a
    positive weight or drop them).

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.survey.design import SurveyDesign
    >>> df = pd.DataFrame({"s": range(8), "y": [3.0, 1, 4, 1, 5, 9, 2, 6], "w": 1.0})
    >>> d = SurveyDesign(df, ids="s", weights="w")
    >>> r = quantile(d, "y", [0.5])
    >>> r[["estimate", "ci_low", "ci_high"]].iloc[0].tolist(), round(float(r["se"].iloc[0]), 6)
    ([3.0, 1.0, 9.0], 1.691601)

    In R: ``svyquantile(~y, design, 0.5, na.rm=TRUE)``. Another rule and the score interval:

    >>> df = pd.DataFrame({"s": np.repeat(range(10), 3), "y": np.arange(30.0) % 11,
    ...                    "w": 1.0 + np.arange(30) % 3})
    >>> d = SurveyDesign(df, ids="s", weights="w")
    >>> r = quantile(d, "y", [0.5], qrule="hf7", interval_type="score")
    >>> r[["estimate", "ci_low", "ci_high"]].round(4).iloc[0].tolist()
    [4.8333, 2.7, 6.65]

    In R: ``svyquantile(~y, design, 0.5, qrule="hf7", interval.type="score")``.
    """
    check_design(design)
    qs = np.atleast_1d(np.asarray(quantiles, dtype=float))
    if ((qs < 0) | (qs > 1)).any() or np.isnan(qs).any():
        raise ParameterError(
            f"quantiles {list(qs)} are not all in [0, 1]",
            rule="0 <= quantile <= 1",
            hint="e.g. quantiles=[0.25, 0.5, 0.75]",
        )
    if qrule not in QUANTILE_RULES:
        qrule_value(qrule, np.ones(1), np.ones(1), 0.5)  # raises the named error
    if interval_type not in INTERVAL_TYPES:
        raise ParameterError(
            f"interval_type={interval_type!r} is not known",
            rule=f"one of {', '.join(INTERVAL_TYPES)} (R's interval.type; \"quantile\" is "
            "for replicate-weight designs only)",
            hint='use "mean" (Woodruff, R\'s default), "beta" or "score"',
        )
    dom, ndom, labels = domain_codes(design, by)
    w = design.weights
    a = 1 - level
    rows = []
    for v in ([variables] if isinstance(variables, str) else list(variables)):
        y = design.column(v)
        ok = (w > 0) & ~np.isnan(y) & (dom >= 0)
        df_dom = degf_domains(design, dom, ndom, ok)
        t = critical_value(level, df_dom)
        n = np.bincount(np.where(ok, dom, 0), weights=ok, minlength=ndom)
        rule = _DomainRule(qrule, y, w, ok, dom, ndom)
        # R's rows of each domain design (nrow(), the score interval's range and shares)
        if design.calibrated:
            r_x = np.where(np.isnan(y), 0.0, y)
            r_rows = [np.ones(len(y), dtype=bool)] * ndom
        else:
            r_x = y
            r_rows = [ok & (dom == k) for k in range(ndom)] if ndom > 1 else [ok]
        nrow = np.array([np.count_nonzero(m) for m in r_rows], dtype=float)
        for prob in qs:
            qhat = rule(np.full(ndom, prob))
            if interval_type == "score":
                lo, hi = _score_ci(design, y, ok, dom, ndom, prob, t, rule, r_x, r_rows)
            else:
                ind = np.where(ok, (y <= qhat[np.where(dom >= 0, dom, 0)]).astype(float),
                               np.nan)
                pm, z, okm, _, _ = mean_parts(design, ind, dom, ndom)
                var = design._domain_var(z[:, None], dom, ndom, present=okm[:, None])[:, 0]
                pl, pu = _p_interval(interval_type, pm, var, t, a, nrow, df_dom)
                lo = np.where(np.isnan(pl) | (pl < 0), np.nan, rule(np.nan_to_num(pl)))
                hi = np.where(np.isnan(pu) | (pu > 1), np.nan, rule(np.nan_to_num(pu)))
            with np.errstate(invalid="ignore"):
                se = (hi - lo) / (2 * stats.t.ppf(1 - a / 2, df_dom))
            rows.append(dict(variable=v, quantile=prob, estimate=qhat, se=se, ci_low=lo,
                             ci_high=hi, df=df_dom, n=n.astype(float)))
    return result_table(rows, labels, extra=("quantile",))


def _p_interval(kind, p, var, t, a, nrow, df):
    """The interval of the proportion :math:`\\hat F(\\hat q)` (R's woodruffCI methods)."""
    se = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "mean":
            return p - t * se, p + t * se
        if kind == "xlogit":
            eta, s = np.log(p / (1 - p)), se / (p * (1 - p))
            return 1 / (1 + np.exp(-(eta - t * s))), 1 / (1 + np.exp(-(eta + t * s)))
        if kind == "asin":
            eta, s = np.arcsin(np.sqrt(p)), se / (2 * np.sqrt(p * (1 - p)))
            return np.sin(eta - t * s) ** 2, np.sin(eta + t * s) ** 2
        # beta (Korn-Graubard, with R's nrow(design) - 1 in the effective-size ratio)
        neff = p * (1 - p) / var * (stats.t.ppf(a / 2, nrow - 1) / stats.t.ppf(a / 2, df)) ** 2
        return (stats.beta.ppf(a / 2, neff * p, neff * (1 - p) + 1),
                stats.beta.ppf(1 - a / 2, neff * p + 1, neff * (1 - p)))


class _DomainRule:
    """The quantile rule in every domain at once: vectorised for "math", else per domain."""

    def __init__(self, qrule, y, w, ok, dom, ndom):
        self.qrule, self.ndom = qrule, ndom
        order = np.lexsort((y[ok], dom[ok]))
        idx = np.flatnonzero(ok)[order]
        self.ys, self.ds, self.ws = y[idx], dom[idx], w[idx]
        self.n = np.bincount(self.ds, minlength=ndom)
        self.start = np.concatenate([[0], np.cumsum(self.n)[:-1]]).astype(np.int64)
        # R accumulates cumsum()/sum() in long double and rounds to double: do the same
        cwl = np.cumsum(np.concatenate([self.ws, [0.0]]).astype(np.longdouble))
        before = np.where(self.start > 0, cwl[np.maximum(self.start - 1, 0)], 0.0)
        self.cw = (cwl[: len(self.ws)] - before[self.ds]).astype(float)
        last = np.maximum(self.start + self.n - 1, 0)
        self.big_w = np.where(self.n > 0, (cwl[last] - before).astype(float), 0.0)

    def __call__(self, pp: np.ndarray) -> np.ndarray:
        ndom, ys, ds, n, start = self.ndom, self.ys, self.ds, self.n, self.start
        if not len(ys):
            return np.full(ndom, np.nan)
        pp = np.broadcast_to(pp, (ndom,))
        if self.qrule not in ("math", "hf1"):
            out = np.full(ndom, np.nan)
            for k in np.flatnonzero(n > 0):
                s = slice(start[k], start[k] + n[k])
                out[k] = qrule_value(self.qrule, ys[s], self.ws[s], float(pp[k]))
            return out
        cw, big_w = self.cw, self.big_w
        with np.errstate(invalid="ignore"):
            below = cw <= pp[ds] * big_w[ds]
        cnt = np.bincount(ds, weights=below, minlength=ndom).astype(int)
        pos = np.maximum(cnt, 1) - 1  # R's last(): 1 when none
        gi = np.minimum(start + pos, len(ys) - 1)
        nxt = np.minimum(start + np.minimum(pos + 1, n - 1), len(ys) - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            wlow = pp - cw[gi] / big_w
        out = np.where(wlow == 0, ys[gi], ys[nxt])
        return np.where(n > 0, out, np.nan)


def _score_ci(design, y, ok, dom, ndom, prob, t, rule, r_x, r_rows):
    """Francisco-Fuller score intervals per domain (R's ``survey:::ffullerCI``)."""
    lo, hi = np.full(ndom, np.nan), np.full(ndom, np.nan)
    for k in range(ndom):
        in_k = ok & (dom == k)
        if not in_k.any():
            continue
        dk = np.where(dom == k, 0, -1)
        xr = r_x[r_rows[k]]

        def score(theta, limit, dk=dk):
            u = np.where(ok, (y > theta).astype(float) - (1 - prob), np.nan)
            m, z, okm, _, _ = mean_parts(design, u, dk, 1)
            se = np.sqrt(design._domain_var(z[:, None], dk, 1, present=okm[:, None])[0, 0])
            with np.errstate(divide="ignore", invalid="ignore"):
                return float(m[0] / se - limit)

        q75, q25 = np.percentile(xr, [75, 25])
        iqr = q75 - q25
        lower_t, upper_t = xr.min() + iqr / 100, xr.max() - iqr / 100
        tol = 1 / (100 * np.sqrt(len(xr)))
        tk = float(t[k]) if np.ndim(t) else float(t)
        q_low = _zeroin(lambda th: score(th, tk), lower_t, upper_t, tol)
        q_up = _zeroin(lambda th: score(th, -tk), lower_t, upper_t, tol)
        for q_at, out in ((q_low, lo), (q_up, hi)):
            if np.isnan(q_at):
                continue
            p_at = np.mean(xr <= q_at)
            pp = np.full(ndom, np.nan)
            pp[k] = p_at
            out[k] = rule(np.nan_to_num(pp))[k]
    return lo, hi
