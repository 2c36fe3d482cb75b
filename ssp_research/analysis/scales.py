"""Scale scores and reliability: Cronbach's alpha, standardised alpha, McDonald's omega.

The reliability statistics follow R's ``psych::alpha`` exactly: the item covariance matrix uses
pairwise-complete observations (``cov(x, use = "pairwise")``), so a respondent with one missing
item still contributes to every pair of items she answered. Omega total comes from a one-factor
minimum-residual (``fm = "minres"``) factor analysis of the pairwise correlation matrix, as
``psych::fa(x, nfactors = 1, fm = "minres")``.

All statistics are unweighted (as in psych): reliability is a property of the instrument in the
responding sample, not a population estimate.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> f = rng.normal(size=500)
>>> df = pd.DataFrame({f"q{i}": np.clip(np.round(3 + f + rng.normal(size=500)), 1, 5)
...                    for i in range(1, 5)})
>>> round(cronbach_alpha(df, ["q1", "q2", "q3", "q4"]), 3)
0.744
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from ssp_research.core.errors import DataError, ParameterError

__all__ = [
    "scale_score",
    "cronbach_alpha",
    "omega_total",
    "reliability",
    "item_stats",
    "reliability_table",
]


def _items_frame(
    data: pd.DataFrame,
    items: Sequence[str],
    reverse: Sequence[str] | None,
    item_range: tuple[float, float] | None,
) -> pd.DataFrame:
    """Select the items as float columns, reverse the keyed ones (min + max - x)."""
    items = list(items)
    missing = [c for c in items if c not in data.columns]
    if missing:
        raise DataError(
            f"scale items not in the data: {missing}",
            column=missing[0],
            rule="every scale item is a column",
            hint="check the item names against the codebook's scale definition",
        )
    if len(items) < 2:
        raise ParameterError(
            "a scale needs at least 2 items",
            rule="len(items) >= 2",
            hint="give two or more item columns",
        )
    x = data[items].apply(pd.to_numeric, errors="coerce").astype("float64")
    reverse = list(reverse or [])
    bad = [c for c in reverse if c not in items]
    if bad:
        raise ParameterError(
            f"reverse-keyed items are not among the scale items: {bad}",
            column=bad[0],
            rule="reverse is a subset of items",
            hint="list only items of this scale in reverse=",
        )
    if reverse:
        if item_range is None:  # psych: min and max over all items
            lo, hi = np.nanmin(x.to_numpy()), np.nanmax(x.to_numpy())
        else:
            lo, hi = item_range
        x[reverse] = lo + hi - x[reverse]
    return x


def scale_score(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    method: str = "mean",
    min_answered: int | None = None,
    reverse: Sequence[str] | None = None,
    item_range: tuple[float, float] | None = None,
) -> pd.Series:
    """Per-respondent scale score: the mean (or sum) of the answered items.

    Parameters
    ----------
    data : DataFrame
        One row per respondent, items as numeric codes (NaN = missing).
    items : list of str
        The item columns.
    method : {"mean", "sum"}
        ``"sum"`` is the prorated sum (mean x number of items), so that respondents with a
        missing item are on the same scale.
    min_answered : int, optional
        Fewer answered items give NaN (default: at least one).
    reverse : list of str, optional
        Items to reverse (``lo + hi - x``) before scoring; in tidy data they are already reversed.
    item_range : (lo, hi), optional
        The items' code range for reversing (default: min and max over all items).

    Returns
    -------
    Series
        Float scores indexed like ``data``.

    Notes
    -----
    score = mean of the answered items if their number >= ``min_answered``, else NaN.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, np.nan], "b": [3, np.nan, np.nan]})
    >>> scale_score(df, ["a", "b"], min_answered=1).tolist()
    [2.0, 2.0, nan]
    """
    if method not in ("mean", "sum"):
        raise ParameterError(
            f"unknown scale method {method!r}",
            rule="method in {'mean', 'sum'}",
            hint="use method='mean' or 'sum'",
        )
    x = _items_frame(data, items, reverse, item_range)
    answered = x.notna().sum(axis=1)
    score = x.mean(axis=1, skipna=True)
    if method == "sum":
        score = score * len(x.columns)
    need = 1 if min_answered is None else int(min_answered)
    return score.where(answered >= need).rename(None)


def _alpha_from_cov(c: np.ndarray) -> float:
    k = c.shape[0]
    return (1.0 - np.trace(c) / c.sum()) * k / (k - 1)


def _cov2cor(c: np.ndarray) -> np.ndarray:
    s = np.sqrt(np.diag(c))
    return c / np.outer(s, s)


def _pairwise_cov(x: pd.DataFrame) -> np.ndarray:
    c = x.cov(min_periods=2).to_numpy()
    if not np.isfinite(c).all():
        raise DataError(
            "some pair of items has fewer than 2 joint answers or no variance",
            rule="pairwise covariance defined",
            hint="drop items nobody answered or that have a single value",
        )
    return c


def cronbach_alpha(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    reverse: Sequence[str] | None = None,
    standardised: bool = False,
) -> float:
    """Cronbach's alpha from the pairwise covariance matrix, as ``psych::alpha``.

    Parameters
    ----------
    data : DataFrame
    items : list of str
    reverse : list of str, optional
        Reverse-keyed items (only the sign of their covariances matters for alpha).
    standardised : bool
        Standardised alpha (from the correlation matrix) instead of raw alpha.

    Returns
    -------
    float

    Notes
    -----
    raw alpha = k / (k - 1) * (1 - tr(C) / sum(C)), C the pairwise item covariance matrix;
    standardised alpha is the same on the correlation matrix R = cov2cor(C).
    In R: ``psych::alpha(x)$total$raw_alpha`` / ``$std.alpha``.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> round(cronbach_alpha(df, ["a", "b", "c"]), 6)
    0.953757
    """
    c = _pairwise_cov(_items_frame(data, items, reverse, None))
    return float(_alpha_from_cov(_cov2cor(c) if standardised else c))


def _minres_loadings(r: np.ndarray) -> np.ndarray:
    """One-factor minimum-residual loadings (psych's ``fit.residuals`` objective)."""
    k = r.shape[0]

    def loadings(psi: np.ndarray) -> np.ndarray:
        s = r.copy()
        np.fill_diagonal(s, 1.0 - psi)
        val, vec = np.linalg.eigh(s)
        return vec[:, -1] * np.sqrt(max(val[-1], np.finfo(float).eps))

    def objective(psi: np.ndarray) -> float:
        lam = loadings(psi)
        res = (r - np.outer(lam, lam)) ** 2
        np.fill_diagonal(res, 0.0)
        return float(res.sum())

    start = 1.0 - (1.0 - 1.0 / np.diag(np.linalg.inv(r)))  # 1 - squared multiple correlation
    fit = optimize.minimize(
        objective,
        np.clip(start, 0.005, 1.0),
        method="L-BFGS-B",
        bounds=[(0.005, 1.0)] * k,
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000},
    )
    lam = loadings(fit.x)
    return lam if lam.sum() >= 0 else -lam


def omega_total(
    data: pd.DataFrame, items: Sequence[str], *, reverse: Sequence[str] | None = None
) -> float:
    """McDonald's omega total from a one-factor minres model.

    Parameters
    ----------
    data : DataFrame
    items : list of str
    reverse : list of str, optional

    Returns
    -------
    float

    Notes
    -----
    omega_total = (sum_j lambda_j)^2 / sum(R), with lambda the loadings of a one-factor
    minimum-residual factor analysis of the pairwise correlation matrix R. For one factor this
    is psych's ``omega.tot``. In R: ``L <- fa(x, 1, fm = "minres")$loadings;
    sum(L)^2 / sum(cor(x, use = "pairwise"))``.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3], "b": [2, 2, 3, 5, 5, 3],
    ...                    "c": [1, 3, 3, 4, 4, 2]})
    >>> 0.9 < omega_total(df, ["a", "b", "c"]) < 1.0
    True
    """
    r = _cov2cor(_pairwise_cov(_items_frame(data, items, reverse, None)))
    lam = _minres_loadings(r)
    return float(lam.sum() ** 2 / r.sum())


def item_stats(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    reverse: Sequence[str] | None = None,
    item_range: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Per-item statistics as ``psych::alpha``'s ``item.stats`` and ``alpha.drop``.

    Parameters
    ----------
    data : DataFrame
    items : list of str
    reverse : list of str, optional
    item_range : (lo, hi), optional

    Returns
    -------
    DataFrame
        One row per item: ``item``; ``n`` (answers); ``mean``, ``sd`` (after reversing);
        ``raw_r`` (item-total correlation), ``std_r`` (same from the correlation matrix),
        ``r_drop`` (item-rest correlation), ``alpha_if_dropped``, ``std_alpha_if_dropped``,
        ``loading`` (one-factor minres loading).

    Notes
    -----
    raw_r_j is the (pairwise) correlation of item j with the mean score. With C the pairwise
    covariance matrix, c_j its column sums and V = sum(C):
    r_drop_j = (c_j - C_jj) / sqrt(C_jj (V - 2 c_j + C_jj)); std_r_j = r_j / sqrt(sum(R)) with
    r_j the column sums of the correlation matrix R.
    In R: ``psych::alpha(x)$item.stats``.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> item_stats(df, ["a", "b", "c"])["r_drop"].round(4).tolist()
    [0.9701, 0.9029, 0.8702]
    """
    x = _items_frame(data, items, reverse, item_range)
    c = _pairwise_cov(x)
    r = _cov2cor(c)
    k = c.shape[0]
    v, col = c.sum(), c.sum(axis=0)
    d = np.diag(c)
    rv, rcol = r.sum(), r.sum(axis=0)
    total = x.mean(axis=1, skipna=True)
    keep = [np.arange(k) != j for j in range(k)]
    if k > 2:
        a_drop = [_alpha_from_cov(c[np.ix_(m, m)]) for m in keep]
        s_drop = [_alpha_from_cov(r[np.ix_(m, m)]) for m in keep]
    else:
        a_drop = s_drop = [np.nan] * k
    return pd.DataFrame(
        {
            "item": list(x.columns),
            "n": x.notna().sum().to_numpy(),
            "mean": x.mean().to_numpy(),
            "sd": x.std().to_numpy(),
            "raw_r": [x[j].corr(total) for j in x.columns],
            "std_r": rcol / np.sqrt(rv),
            "r_drop": (col - d) / np.sqrt(d * (v - 2 * col + d)),
            "alpha_if_dropped": a_drop,
            "std_alpha_if_dropped": s_drop,
            "loading": _minres_loadings(r),
        }
    )


def reliability(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    reverse: Sequence[str] | None = None,
    item_range: tuple[float, float] | None = None,
    scale: str | None = None,
) -> pd.DataFrame:
    """Reliability summary of one scale: alpha, standardised alpha, omega, score mean and sd.

    Parameters
    ----------
    data : DataFrame
    items : list of str
    reverse : list of str, optional
        Reverse-keyed items (already reversed in tidy data; give them only for raw data).
    item_range : (lo, hi), optional
    scale : str, optional
        Name put in the ``scale`` column (default: the items joined by "+").

    Returns
    -------
    DataFrame
        One row: ``scale``, ``n_items``, ``n`` (respondents with >= 1 answered item),
        ``raw_alpha``, ``std_alpha``, ``average_r`` (mean inter-item correlation),
        ``omega_total``, ``mean`` and ``sd`` of the mean score.

    Notes
    -----
    See :func:`cronbach_alpha` and :func:`omega_total`. average_r = (sum(R) - k) / (k(k - 1)).
    In R: ``psych::alpha(x)$total``.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> reliability(df, ["a", "b", "c"], scale="abc")[["scale", "raw_alpha"]].round(4)
      scale  raw_alpha
    0   abc     0.9538
    """
    x = _items_frame(data, items, reverse, item_range)
    c = _pairwise_cov(x)
    r = _cov2cor(c)
    k = c.shape[0]
    score = x.mean(axis=1, skipna=True)
    lam = _minres_loadings(r)
    return pd.DataFrame(
        {
            "scale": [scale or "+".join(x.columns)],
            "n_items": [k],
            "n": [int(score.notna().sum())],
            "raw_alpha": [_alpha_from_cov(c)],
            "std_alpha": [_alpha_from_cov(r)],
            "average_r": [(r.sum() - k) / (k * (k - 1))],
            "omega_total": [lam.sum() ** 2 / r.sum()],
            "mean": [score.mean()],
            "sd": [score.std()],
        }
    )


def reliability_table(data: pd.DataFrame, codebook: Any) -> pd.DataFrame:
    """:func:`reliability` of every scale a codebook defines (one row each).

    Parameters
    ----------
    data : DataFrame
        Tidy data (reverse-keyed items are already reversed by ``clean.apply``).
    codebook : str, Codebook or path

    Returns
    -------
    DataFrame
        The columns of :func:`reliability`, one row per scale, in codebook order.

    Examples
    --------
    >>> from ssp_research.data.synth.simulate import generate
    >>> t = reliability_table(generate(rows=2000, seed=3).data, "ungdata")
    >>> t["scale"].tolist()
    ['depressive_mean', 'school_climate']
    """
    from ssp_research.data.codebook import load_codebook

    cb = load_codebook(codebook)
    rows = [reliability(data, list(sc.items), scale=name) for name, sc in cb.scales.items()]
    return pd.concat(rows, ignore_index=True)
