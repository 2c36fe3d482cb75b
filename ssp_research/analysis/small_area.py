"""Small-area estimates for schools: the area-level Fay-Herriot EBLUP and its MSE.

A small school's direct (design-based) estimate is unbiased but noisy. The Fay-Herriot model
borrows strength from the other schools: each direct estimate ``y_d`` with sampling variance
``D_d`` is modelled as ``y_d = x_d' b + u_d + e_d``, ``u_d ~ N(0, sigma2_u)``,
``e_d ~ N(0, D_d)`` (``D_d`` treated as known), and the EBLUP is the weighted mean
``gamma_d y_d + (1 - gamma_d) x_d' b`` with ``gamma_d = sigma2_u / (sigma2_u + D_d)``.
:func:`fay_herriot` fits the model (REML, ML or the Fay-Herriot moment method), gives each
school its EBLUP with the second-order MSE estimate of R's ``sae::mseFH`` (Prasad-Rao for REML,
Datta-Lahiri for ML and FH) and says where the model-based estimate beats the direct one.
A model-based estimate is a number like any other for disclosure control: it is protected
(suppressed, rounded) by the same rules as the direct estimate of the same school.

References: Rao, J.N.K. and Molina, I. (2015), *Small Area Estimation*, 2nd ed., ch. 6;
Molina, I. and Marhuenda, Y. (2015), sae: An R package for small area estimation,
*The R Journal* 7(1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ssp_research.core.errors import DataError, EstimationError, ParameterError

__all__ = ["fay_herriot"]

_METHODS = ("REML", "ML", "FH")
MIN_AREAS = 5

_COLS = ["estimate", "se", "se_model", "variance_source", "synthetic", "gamma", "eblup", "mse",
         "rmse", "ci_low", "ci_high", "clipped", "sigma2_u", "method", "model_based", "use",
         "reason"]


# --- fitting ----------------------------------------------------------------------------------


def _gls(a: float, y: np.ndarray, d: np.ndarray, x: np.ndarray):
    """GLS pieces at sigma2_u = a: ``vi, beta, Q = (X'V^-1X)^-1, P y, P``."""
    vi = 1.0 / (a + d)
    xtvi = (x * vi[:, None]).T
    q = np.linalg.inv(xtvi @ x)
    beta = q @ (xtvi @ y)
    p = np.diag(vi) - xtvi.T @ q @ xtvi
    return vi, beta, q, p @ y, p


def _score(a: float, y, d, x, method: str) -> tuple[float, float]:
    """Score (or estimating function) for sigma2_u and its expected information."""
    vi, beta, _q, py, p = _gls(a, y, d, x)
    if method == "REML":
        return -0.5 * np.trace(p) + 0.5 * py @ py, 0.5 * np.sum(p * p)
    if method == "ML":
        return -0.5 * vi.sum() + 0.5 * py @ py, 0.5 * np.sum(vi**2)
    res = y - x @ beta
    return float(np.sum(res**2 * vi) - (len(y) - x.shape[1])), float(vi.sum())


def _loglik(a: float, y, d, x, method: str) -> float:
    vi, beta, q, _py, _p = _gls(a, y, d, x)
    res = y - x @ beta
    ll = -0.5 * float(np.sum(np.log(2 * np.pi * (a + d)) + res**2 * vi))
    if method == "REML":
        ll -= 0.5 * float(np.linalg.slogdet(np.linalg.inv(q))[1])
    return ll


def _sigma2_u(y, d, x, method: str) -> tuple[float, int, bool]:
    """sigma2_u by Fisher scoring kept in [0, inf) (from the median of D, as sae does).

    Returns ``(sigma2_u, iterations, boundary)``. The FH moment equation is monotone in
    sigma2_u, so it is solved by bracketing; REML/ML fall back to a bounded maximisation of
    the (restricted) likelihood if scoring does not settle.
    """
    scale = float(np.median(d))
    if method == "FH":
        def h(a):
            return _score(a, y, d, x, "FH")[0]
        if h(0.0) <= 0:
            return 0.0, 0, True
        hi = max(scale, 1e-12)
        while h(hi) > 0:
            hi *= 4
        a = optimize.brentq(h, 0.0, hi, xtol=1e-15 * max(scale, 1e-300), rtol=1e-14)
        return float(a), 0, False
    a = scale
    tol = 1e-12 * max(scale, 1e-300)
    for k in range(1, 501):
        s, f = _score(a, y, d, x, method)
        new = max(a + s / f, 0.0)
        if new == 0.0 and a == 0.0:
            return 0.0, k, True
        if abs(new - a) <= tol:
            return new, k, new == 0.0
        a = new
    hi = max(4 * float(np.var(y)), scale)
    r = optimize.minimize_scalar(lambda t: -_loglik(t, y, d, x, method), bounds=(0.0, hi),
                                 method="bounded", options={"xatol": tol})
    a = float(r.x) if _loglik(float(r.x), y, d, x, method) > _loglik(0.0, y, d, x, method) else 0.0
    return a, 500, a == 0.0


def _mse(a: float, d: np.ndarray, x: np.ndarray, method: str):
    """Second-order MSE estimates of ``sae::mseFH``: ``(mse, g1, g2, g3, bias_term)``."""
    m = len(d)
    vi = 1.0 / (a + d)
    b = d * vi
    q = np.linalg.inv((x * vi[:, None]).T @ x)
    g1 = d * (1 - b)
    g2 = b**2 * np.einsum("ij,jk,ik->i", x, q, x)
    if method == "FH":
        s1, s2 = vi.sum(), np.sum(vi**2)
        var_a = 2 * m / s1**2
        bias = 2 * (m * s2 - s1**2) / s1**3
    else:
        s2 = np.sum(vi**2)
        var_a = 2 / s2
        bias = 0.0
        if method == "ML":
            bias = -np.trace(q @ ((x * (vi**2)[:, None]).T @ x)) / s2
    g3 = b**2 * var_a * vi
    corr = -bias * b**2
    return g1 + g2 + 2 * g3 + corr, g1, g2, g3, corr


# --- input ------------------------------------------------------------------------------------


def _covariate_matrix(direct: pd.DataFrame, area: str, covariates) -> tuple[np.ndarray, list]:
    """Intercept plus covariates (numbers as they are, categories as 0/1 columns)."""
    if covariates is None or (isinstance(covariates, Sequence) and not isinstance(
            covariates, str) and len(covariates) == 0):
        return np.ones((len(direct), 1)), ["(intercept)"]
    if isinstance(covariates, str):
        covariates = [covariates]
    if isinstance(covariates, pd.DataFrame):
        cov = covariates
        if area in cov.columns:
            if cov[area].duplicated().any():
                raise DataError("the covariates have more than one row for an area",
                                column=area, rule="one row per area",
                                hint="aggregate the covariates to one row per area")
            cov = cov.set_index(area)
        cov = cov.reindex(direct[area].to_numpy())
        names = list(cov.columns)
    else:
        names = list(covariates)
        for c in names:
            if c not in direct.columns:
                raise DataError(f"covariate {c!r} is not a column of the direct estimates",
                                column=c, rule="known column",
                                hint="name columns of `direct` or pass a DataFrame of covariates")
        cov = direct[names]
    if cov.isna().to_numpy().any():
        bad = cov.index[cov.isna().any(axis=1)][:5].tolist()
        raise DataError(f"covariates are missing for areas {bad}", column=area,
                        rule="covariates known for every area",
                        hint="give every area its covariates (they are area-level totals or "
                             "means known without sampling error)")
    num = pd.get_dummies(cov, drop_first=True, dtype=float)
    x = np.column_stack([np.ones(len(num)), num.to_numpy("float64")])
    return x, ["(intercept)", *num.columns]


def _binomial_variance(p, n, deff):
    p = np.clip(p, 0.5 / n, 1 - 0.5 / n)
    return deff * p * (1 - p) / n


# --- the estimator ----------------------------------------------------------------------------


def fay_herriot(
    direct: pd.DataFrame,
    *,
    estimate: str = "estimate",
    se: str = "se",
    area: str = "unit",
    covariates: pd.DataFrame | Sequence[str] | None = None,
    method: str = "REML",
    level: float = 0.95,
    n: str | None = "n",
    proportion: bool | None = None,
    variance: str = "direct",
) -> pd.DataFrame:
    """Fay-Herriot EBLUP of an area-level indicator (e.g. one share per school), with its MSE.

    Parameters
    ----------
    direct : DataFrame
        One row per area with the direct (design-based) estimate and its standard error, e.g.
        ``city_design(df).proportion("ind_lonely", by=["school"])`` (then ``area="school"``).
    estimate, se, area : str
        Column names of the direct estimate, its standard error and the area.
    covariates : list of str or DataFrame, optional
        Area-level auxiliary variables known without sampling error: names of columns of
        ``direct``, or a DataFrame with one row per area (keyed by the ``area`` column or by
        its index). Text columns become 0/1 columns. An intercept is always included.
        Default: none (the synthetic estimate is the precision-weighted mean of all areas).
    method : {"REML", "ML", "FH"}
        Estimator of the model variance ``sigma2_u`` (as ``sae::eblupFH``).
    level : float
        Level of the normal intervals ``eblup -/+ z sqrt(mse)``.
    n : str or None
        Column with the area sample sizes, used to replace unusable sampling variances (see
        Notes) and required for ``variance="smoothed"``; ignored when absent.
    proportion : bool, optional
        The indicator is a share in [0, 1] (estimates and intervals are clipped to [0, 1]).
        Default: detected (every direct estimate in [0, 1]).
    variance : {"direct", "smoothed"}
        ``"direct"``: use each area's design variance ``se**2`` (replacing only unusable ones);
        ``"smoothed"``: replace every area's variance by the smoothed one of the Notes
        (proportions only), which removes the dependence between a small school's estimate
        and its estimated variance.

    Returns
    -------
    DataFrame
        One row per area, in the order of ``direct``: ``<area>``, ``estimate``, ``se`` (the
        direct ones), ``n`` (if given), ``se_model`` (the square root of the sampling variance
        the model used), ``variance_source`` ("design", "smoothed: ..."), ``synthetic``
        (``x_d' b``), ``gamma`` (weight of the direct estimate), ``eblup``, ``mse``, ``rmse``,
        ``ci_low``, ``ci_high``, ``clipped``, ``sigma2_u``, ``method``, ``model_based``
        (always True: the EBLUP is a model-based estimate and must be named so), ``use`` and
        ``reason``. ``attrs`` holds ``beta``, ``beta_names``, ``sigma2_u``, ``boundary``,
        ``loglike``, ``iterations``, ``level`` and the MSE components ``g1, g2, g3``.

    Raises
    ------
    EstimationError
        Fewer than 5 areas with a direct estimate, too many covariates for the areas, or an
        unusable sampling variance that cannot be replaced.
    DataError, ParameterError
        Unknown columns, missing covariates, bad arguments.

    Notes
    -----
    *Fitting and MSE* follow ``sae::eblupFH`` and ``sae::mseFH`` (Rao & Molina 2015, sec.
    6.2): Fisher scoring for ``sigma2_u`` from the median sampling variance, truncated at 0
    (iterated to a relative change of 1e-12, where sae stops at 1e-4), GLS ``b``, and
    ``mse = g1 + g2 + 2 g3`` for REML (Prasad-Rao; REML's bias is of lower order), plus
    ``- bias(sigma2_u) B_d^2`` with ``B_d = D_d / (sigma2_u + D_d)`` for ML and FH
    (Datta-Lahiri), where ``g1 = gamma_d D_d``, ``g2 = B_d^2 x_d' (X'V^-1X)^-1 x_d`` and
    ``g3 = B_d^2 Var(sigma2_u) / (sigma2_u + D_d)``. The values agree with sae 1.3 to 1e-6
    (tests/reference/small_area_reference.R).

    *sigma2_u at 0* (the direct estimates vary no more than their sampling variances): every
    ``gamma_d`` is 0 and each EBLUP is the synthetic estimate. Then ``g1 = 0`` and the MSE is
    ``g2 + 2 g3`` (+ the ML/FH bias term), i.e. only the uncertainty of ``b`` and of
    ``sigma2_u``. It is usually far below the direct variances (with few areas ``2 g3`` can
    still exceed a precise area's, which then keeps its direct estimate) and it understates
    the error if the schools really differ but the data could not show it (an estimate of 0
    is not a proof of no differences). Each ``reason`` says so, and ``attrs["boundary"]`` is
    True.

    *Unusable sampling variances* (se 0 or missing with an estimate present, e.g. a small school
    where no pupil, or every pupil, said yes: the design variance p(1-p)/n is 0, which is
    wrong, and such an area would get ``gamma = 1`` and an MSE of 0): for a proportion the
    variance is replaced by the binomial variance at the synthetic estimate times the median
    design effect of the other areas, ``deff * p~(1-p~) / n_d`` with ``p~ = x_d' b`` from a
    fit on the areas with usable variances (``p~`` kept in ``[0.5/n_d, 1 - 0.5/n_d]``), and the
    model is refitted with all areas; for other indicators a generalised variance function
    ``log D = a + c log n`` fitted on the other areas gives it. Either needs the sample size
    column ``n``. ``variance_source`` tells which areas were changed. ``variance="smoothed"``
    applies the binomial replacement to every area.

    *Intervals* are ``eblup -/+ z sqrt(mse)`` (normal). For proportions the EBLUP (a linear
    predictor may fall outside [0, 1]) and both bounds are clipped to [0, 1], with
    ``clipped = True``; the MSE is not changed.

    *use* is True where the model-based MSE is smaller than the sampling variance the model
    used for the direct estimate (``mse < se_model**2``; for areas whose design variance was
    unusable this is the replacement variance), else False with the reason. An area without
    a direct estimate (missing ``estimate``) gets the synthetic estimate, ``gamma = 0``,
    ``mse = sigma2_u + x_d'(X'V^-1X)^-1 x_d`` and ``use = True`` (there is nothing to beat).

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> m = 30
    >>> size = rng.integers(20, 300, m)
    >>> truth = 1 / (1 + np.exp(-(-1.4 + rng.normal(0, 0.4, m))))
    >>> p = rng.binomial(size, truth) / size
    >>> direct = pd.DataFrame({"school": np.arange(m), "estimate": p, "n": size,
    ...                        "se": np.sqrt(p * (1 - p) / size)})
    >>> r = fay_herriot(direct, area="school")
    >>> bool(((r["eblup"] - truth) ** 2).mean() < ((p - truth) ** 2).mean())
    True
    >>> bool((r["mse"] < r["se"] ** 2).all()), bool(r["model_based"].all())
    (True, True)
    """
    if not isinstance(direct, pd.DataFrame):
        raise ParameterError("`direct` must be a DataFrame of direct estimates, one row per area",
                             rule="DataFrame", hint="e.g. design.proportion(..., by=['school'])")
    method = str(method).upper()
    if method not in _METHODS:
        raise ParameterError(f"unknown method {method!r}", rule=f"one of {_METHODS}",
                             hint="use 'REML' (default), 'ML' or 'FH'")
    if variance not in ("direct", "smoothed"):
        raise ParameterError(f"unknown variance {variance!r}", rule="'direct' or 'smoothed'",
                             hint="use 'direct' (design variances) or 'smoothed'")
    if not 0 < level < 1:
        raise ParameterError(f"level {level!r} is not in (0, 1)", rule="0 < level < 1",
                             hint="e.g. level=0.95")
    for col in (estimate, se, area):
        if col not in direct.columns:
            raise DataError(f"column {col!r} is not in the direct estimates", column=col,
                            rule="known column",
                            hint=f"name the columns with estimate=, se=, area=; have "
                                 f"{list(direct.columns)[:12]}")
    if direct[area].duplicated().any():
        raise DataError("more than one direct estimate for an area", column=area,
                        rule="one row per area",
                        hint="estimate one indicator for one wave (or pooled waves) per area")
    y_all = pd.to_numeric(direct[estimate], errors="coerce").to_numpy("float64")
    se_all = pd.to_numeric(direct[se], errors="coerce").to_numpy("float64")
    n_all = (pd.to_numeric(direct[n], errors="coerce").to_numpy("float64")
             if n is not None and n in direct.columns else None)
    x_all, names = _covariate_matrix(direct, area, covariates)
    has_y = np.isfinite(y_all)
    m, p = int(has_y.sum()), x_all.shape[1]
    if m < MIN_AREAS:
        raise EstimationError(
            f"a Fay-Herriot model needs at least {MIN_AREAS} areas with a direct estimate, "
            f"found {m}: sigma2_u cannot be estimated from so few", column=area,
            rule=f"areas >= {MIN_AREAS}",
            hint="report the direct estimates (or pool waves or areas) instead of small-area "
                 "estimates",
        )
    if m - p < 3:
        raise EstimationError(
            f"{p - 1} covariates are too many for {m} areas", column=area,
            rule="areas - covariates - 1 >= 3", hint="use fewer covariates",
        )
    if np.linalg.matrix_rank(x_all[has_y]) < p:
        raise EstimationError("the covariates are collinear (or constant) over the areas",
                              column=area, rule="full-rank covariates",
                              hint="drop constant or duplicated covariates")
    if proportion is None:
        proportion = bool(np.all((y_all[has_y] >= 0) & (y_all[has_y] <= 1)))
    if np.any(se_all[has_y] < 0):
        raise DataError("a standard error is negative", column=se, rule="se >= 0",
                        hint="check the direct estimates")

    d_all = se_all**2
    usable = has_y & np.isfinite(d_all) & (d_all > 0)
    source = np.where(usable, "design", "").astype(object)
    replace = (has_y & ~usable) if variance == "direct" else has_y.copy()
    if variance == "smoothed" and not proportion:
        raise EstimationError("variance='smoothed' is for proportions", column=estimate,
                              rule="estimates in [0, 1]",
                              hint="use variance='direct' for other indicators")
    if replace.any():
        if n_all is None or not np.all(np.isfinite(n_all[replace]) & (n_all[replace] > 0)):
            known = (np.isfinite(n_all) & (n_all > 0)) if n_all is not None else False
            bad = direct[area].to_numpy()[replace & ~known]
            raise EstimationError(
                f"areas {list(bad[:5])} have a standard error of 0 or none, and their variance "
                "cannot be smoothed without the sample size", column=se,
                rule="sampling variance > 0, or a sample size to smooth it",
                hint="give the column of area sample sizes with n= (or drop these areas)",
            )
        fit_ok = usable
        if fit_ok.sum() < MIN_AREAS or fit_ok.sum() - p < 3:
            raise EstimationError(
                f"only {int(fit_ok.sum())} areas have a usable sampling variance: too few to "
                "smooth the others", column=se, rule=f"usable areas >= {MIN_AREAS}",
                hint="check the standard errors or report the direct estimates")
        yf, df_, xf = y_all[fit_ok], d_all[fit_ok], x_all[fit_ok]
        if proportion:
            a0, _k, _b = _sigma2_u(yf, df_, xf, method)
            beta0 = _gls(a0, yf, df_, xf)[1]
            inner = fit_ok & (y_all > 0) & (y_all < 1) & np.isfinite(n_all if n_all is not None
                                                                    else y_all)
            deff = (float(np.median(d_all[inner] / (y_all[inner] * (1 - y_all[inner])
                                                   / n_all[inner]))) if inner.any() else 1.0)
            syn0 = x_all[replace] @ beta0
            d_all = d_all.copy()
            d_all[replace] = _binomial_variance(syn0, n_all[replace], deff)
            source[replace] = f"smoothed: binomial at the synthetic estimate, deff {deff:.3g}"
        else:
            ok_n = fit_ok & np.isfinite(n_all) & (n_all > 0)
            coef = np.polyfit(np.log(n_all[ok_n]), np.log(d_all[ok_n]), 1)
            d_all = d_all.copy()
            d_all[replace] = np.exp(np.polyval(coef, np.log(n_all[replace])))
            source[replace] = f"smoothed: log D = {coef[1]:.3g} + {coef[0]:.3g} log n"

    y, d, x = y_all[has_y], d_all[has_y], x_all[has_y]
    a, iters, boundary = _sigma2_u(y, d, x, method)
    vi, beta, q, _py, _p = _gls(a, y, d, x)
    mse_in, g1, g2, g3, _corr = _mse(a, d, x, method)

    syn = x_all @ beta
    gamma = np.zeros(len(y_all))
    gamma[has_y] = a * vi
    eblup = syn.copy()
    eblup[has_y] = syn[has_y] + gamma[has_y] * (y - syn[has_y])
    mse = np.empty(len(y_all))
    mse[has_y] = mse_in
    mse[~has_y] = a + np.einsum("ij,jk,ik->i", x_all[~has_y], q, x_all[~has_y])
    z = stats.norm.ppf(0.5 + level / 2)
    rmse = np.sqrt(mse)
    lo, hi = eblup - z * rmse, eblup + z * rmse
    clipped = np.zeros(len(y_all), bool)
    if proportion:
        clipped = (eblup < 0) | (eblup > 1) | (lo < 0) | (hi > 1)
        eblup, lo, hi = np.clip(eblup, 0, 1), np.clip(lo, 0, 1), np.clip(hi, 0, 1)

    use = np.ones(len(y_all), bool)
    use[has_y] = mse[has_y] < d_all[has_y]
    reason = np.empty(len(y_all), dtype=object)
    for i in range(len(y_all)):
        if not has_y[i]:
            r = "no direct estimate: the synthetic (regression) estimate"
        elif use[i]:
            r = "model-based MSE below the direct variance"
        else:
            r = "the direct estimate is as precise (MSE >= direct variance): use the direct one"
        if has_y[i] and source[i] != "design":
            r += "; direct se was 0 or missing, compared with the smoothed variance" if (
                variance == "direct") else "; compared with the smoothed variance"
        if boundary:
            r += ("; sigma2_u estimated at 0: all areas shrink to the synthetic estimate and "
                  "the MSE (g2 + 2 g3) reflects only the uncertainty of the regression")
        reason[i] = r

    out = pd.DataFrame({area: direct[area].to_numpy(), "estimate": y_all, "se": se_all})
    if n_all is not None:
        out["n"] = n_all
    out = out.assign(
        se_model=np.sqrt(d_all), variance_source=np.where(has_y, source, "none"), synthetic=syn,
        gamma=gamma, eblup=eblup, mse=mse, rmse=rmse, ci_low=lo, ci_high=hi, clipped=clipped,
        sigma2_u=a, method=method, model_based=True, use=use, reason=reason,
    )
    out.index = direct.index
    out.attrs.update(beta=beta, beta_names=names, sigma2_u=a, boundary=boundary,
                     loglike=_loglik(a, y, d, x, "ML"), iterations=iters, level=level,
                     proportion=proportion, g1=g1, g2=g2, g3=g3)
    return out
