"""Design-based generalised linear models (R's ``svyglm``), fitted directly with numpy.

Each function takes a :class:`ssp_research.survey.design.SurveyDesign` first and reproduces what R's
``survey`` package computes; the tests compare every number with R to a relative 1e-6
(``tests/reference/``). The design matrix comes from :mod:`ssp_research.survey.formula` (no patsy),
so a logistic model on a million rows takes well under a second of CPU.

Variances are Taylor-linearised: each row's influence value (its estimating-function
contribution times the inverse information, already multiplied by the design weight) goes to
``design.vcov``, which applies post-stratification, raking or calibration adjustments and
then the strata/cluster/fpc formula of R's ``svyrecvar``.

The design-based tests (``svyttest``, ``svycontrast``, ``svychisq``) live in
:mod:`ssp_research.survey.compare` and are re-exported here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from ssp_research.core.errors import EstimationError, ParameterError

# the tests are re-exported here (compare imports models only inside svyttest)
from ssp_research.survey.formula import model_matrix, model_response, parse_formula

__all__ = ["svyglm", "t_table", "model_matrix", "FAMILIES"]

#: Families accepted by :func:`svyglm` (quasi families give the same estimates and SEs).
FAMILIES = ("gaussian", "binomial", "quasibinomial", "poisson", "quasipoisson")

_GLM_COLUMNS = ["term", "estimate", "se", "ci_low", "ci_high", "df", "n", "statistic", "p_value"]


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


def t_table(est, se, df, level):
    """t statistics, two-sided p-values and t intervals with ``df`` degrees of freedom."""
    tq = stats.t.ppf(0.5 + level / 2, df) if df > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
    p = 2 * stats.t.sf(np.abs(t), df) if df > 0 else np.full_like(t, np.nan)
    return t, p, est - tq * se, est + tq * se


def svyglm(design, formula: str, *, family: str = "gaussian", level: float = 0.95,
           exponentiate: bool = False) -> pd.DataFrame:
    """Design-based generalised linear model (R's ``svyglm``).

    Parameters
    ----------
    design : SurveyDesign
        The survey design (a subset design fits the model in that domain).
    formula : str
        ``"y ~ x1 + x2 + C(g) + factor(grade)"``; syntax in :mod:`ssp_research.survey.formula`
        (terms named like R: ``factor(grade)9``). An unknown column raises
        :class:`~ssp_research.core.errors.EstimationError` with close matches.
    family : {"gaussian", "quasibinomial", "binomial", "quasipoisson", "poisson"}
        Identity, logit or log link. Quasi and plain families give the same estimates and SEs
        (the sandwich variance does not use a dispersion).
    level : float
        Confidence level of the intervals.
    exponentiate : bool, default False
        Report ``exp(estimate)`` and ``exp`` of the interval limits: odds ratios for a logit
        link, rate ratios for a log link (R's ``exp(cbind(coef(m), confint(m)))``). ``se``,
        ``statistic`` and ``p_value`` stay on the link scale (as broom's
        ``tidy(exponentiate=TRUE)``); ``attrs["exponentiate"]`` is True.

    Returns
    -------
    pandas.DataFrame
        One row per term: ``term`` (R's coefficient name), ``estimate`` (on the link scale),
        ``se`` (linearised), ``ci_low``/``ci_high`` (t interval), ``df`` (residual degrees of
        freedom, degf - p + 1), ``n`` (respondents used), ``statistic`` (t) and ``p_value``
        (two-sided). ``attrs`` holds ``vcov`` (DataFrame), ``family``, ``formula``,
        ``response``, ``degf``, ``df_residual``, ``assign`` (the term of each coefficient),
        ``deviance`` and ``naive_cov`` (the model-based :math:`A^{-1}`), the last two with
        R's rescaled weights (``w / mean(w)`` over the design's rows), as ``deviance(m)``
        and ``m$naive.cov``; :func:`ssp_research.survey.termtest.regtermtest` uses them.

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
    >>> from ssp_research.survey.design import SurveyDesign
    >>> df = pd.DataFrame({"y": [1.0, 2.0, 2.5, 4.0, 5.5, 5.0], "x": [0, 1, 2, 3, 4, 5],
    ...                    "psu": [1, 1, 2, 2, 3, 3], "w": [2.0, 2, 3, 3, 1, 1]})
    >>> d = SurveyDesign(df, ids="psu", weights="w")
    >>> fit = svyglm(d, "y ~ x")
    >>> fit[["term", "estimate", "se", "df", "n"]].round(4)
              term  estimate      se  df  n
    0  (Intercept)    0.9740  0.1380   1  6
    1            x    0.9351  0.0424   1  6

    Odds ratios with their intervals (``exponentiate=True``):

    >>> df = pd.DataFrame({"hi": [0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 1],
    ...                    "x": [0, 1, 2, 3, 4, 5] * 2, "psu": np.repeat(range(6), 2), "w": 1.0})
    >>> fit = svyglm(SurveyDesign(df, ids="psu", weights="w"), "hi ~ x",
    ...              family="quasibinomial", exponentiate=True)
    >>> fit[["term", "estimate", "ci_low", "ci_high"]].round(3)
              term  estimate  ci_low  ci_high
    0  (Intercept)     0.482   0.106    2.197
    1            x     1.561   0.884    2.756

    In R: ``svyglm(y ~ x, svydesign(id = ~psu, weights = ~w, data = df))``; the odds
    ratios are ``exp(cbind(coef(m), confint(m)))`` of the quasibinomial model.
    """
    fam = family.lower() if isinstance(family, str) else family
    _family(fam)
    response, _, _ = parse_formula(formula)
    if response is None:
        raise ParameterError(
            f"formula {formula!r} has no response", rule="'y ~ x1 + x2'",
            hint='put the outcome left of "~"',
        )
    data = design.data
    X, names, ok, assign = model_matrix(data, formula, with_terms=True)
    y, y_ok = model_response(data, response, formula)
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
    vcov = np.asarray(design.vcov(infl, present=use), dtype=float)
    degf = int(design.degf(present=use))
    df_res = degf + 1 - len(names)
    se = np.sqrt(np.diag(vcov))
    t, p, lo, hi = t_table(beta, se, df_res, level)
    # R's svyglm rescales the weights by their mean over all the design's rows
    r_mean = float(np.mean(w_all))
    binary = fam in ("binomial", "quasibinomial") and bool(np.all((yu == 0) | (yu == 1)))
    deviance = _deviance(fam, yu, mu, wu / r_mean, binary)
    naive = Ainv * (r_mean / wmean)
    if exponentiate:
        beta, lo, hi = np.exp(beta), np.exp(lo), np.exp(hi)
    out = pd.DataFrame({
        "term": names, "estimate": beta, "se": se, "ci_low": lo, "ci_high": hi,
        "df": df_res, "n": int(use.sum()), "statistic": t, "p_value": p,
    })[_GLM_COLUMNS]
    out.attrs.update(
        vcov=pd.DataFrame(vcov, index=names, columns=names), family=fam, formula=formula,
        response=response, degf=degf, df_residual=df_res, assign=assign,
        deviance=deviance, naive_cov=pd.DataFrame(naive, index=names, columns=names),
        exponentiate=bool(exponentiate),
    )
    return out
