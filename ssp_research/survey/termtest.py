"""Joint tests of model terms (R's ``regTermTest``) and the distribution of a weighted sum of
chi-squares that the working-likelihood test needs (R's ``pchisqsum``/``pFsum``).

:func:`regtermtest` takes a coefficient table from
:func:`ssp_research.survey.models.svyglm` (its ``attrs`` hold the covariance, the term of each
coefficient, the deviance and the model-based covariance) and tests that all coefficients of
the given terms are zero: the Wald F test (R's default) or the Rao-Scott working likelihood
ratio test (``method="LRT"``, which refits the model without the terms). The tests compare
the numbers with R (``tests/reference/survey_parity_reference.R``) to a relative 1e-6.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ssp_research.core.errors import EstimationError, ParameterError
from ssp_research.survey.formula import parse_formula
from ssp_research.survey.models import svyglm

__all__ = ["regtermtest", "pchisqsum", "pfsum", "TERMTEST_METHODS"]

#: Methods of :func:`regtermtest`, as R's ``regTermTest(method=)``.
TERMTEST_METHODS = ("Wald", "WorkingWald", "LRT")


def _canonical(term: str) -> str:
    """R's canonicalOrder: the factors of an interaction sorted (``b:a`` is ``a:b``)."""
    return ":".join(sorted(part.strip() for part in term.split(":")))


def _test_terms(terms) -> tuple[list[str], bool]:
    """Term labels from ``"~ a + b:c"`` (or a list of labels), and whether ``~ 1`` was named."""
    if isinstance(terms, str):
        text = terms if "~" in terms else f"~ {terms}"
        _, parsed, _ = parse_formula(text)
        rhs = text.split("~", 1)[1]
        explicit_one = any(p.strip() == "1" for p in rhs.split("+"))
        return [":".join(t) for t in parsed], explicit_one
    return [str(t) for t in terms], False


def _saddle(x: float, lam: np.ndarray) -> float:
    """R's ``survey:::saddle``: upper tail of sum(lam_i chi2_1) at x (NaN near the mean)."""
    d = float(np.max(lam))
    lam = lam / d
    x = x / d

    def k0(z):
        return -np.sum(np.log(1 - 2 * z * lam)) / 2

    def k1(z):
        return np.sum(lam / (1 - 2 * z * lam))

    def k2(z):
        return 2 * np.sum(lam**2 / (1 - 2 * z * lam) ** 2)

    if (lam < 0).any():
        lmin = np.max(1 / (2 * lam[lam < 0])) * 0.99999
    elif x > lam.sum():
        lmin = -0.01
    else:
        lmin = -len(lam) / (2 * x)
    lmax = np.min(1 / (2 * lam[lam > 0])) * 0.99999
    z = optimize.brentq(lambda zz: k1(zz) - x, lmin, lmax, xtol=1e-15, rtol=1e-15,
                        maxiter=500)
    w = np.sign(z) * np.sqrt(2 * (z * x - k0(z)))
    v = z * np.sqrt(k2(z))
    if abs(z) < 1e-4:
        return np.nan
    return float(stats.norm.sf(w + np.log(v / w) / w))


def pchisqsum(x: float, lam, *, lower_tail: bool = False) -> float:
    """Tail probability of :math:`\\sum_i \\lambda_i \\chi^2_1` at ``x`` (saddlepoint).

    Parameters
    ----------
    x : float
        The observed statistic.
    lam : array-like
        The weights :math:`\\lambda_i` (one per degree of freedom).
    lower_tail : bool, default False
        Return :math:`P(X \\le x)` instead of :math:`P(X > x)`.

    Returns
    -------
    float
        R's ``pchisqsum(x, rep(1, k), lam, method="saddlepoint")``: the saddlepoint
        approximation, or the Satterthwaite one when the saddlepoint is undefined (x near
        the mean).

    Examples
    --------
    >>> round(pchisqsum(6.0, [1.0, 1.0]), 6)  # the exact chi-square(2) tail is 0.049787
    0.050559

    In R: ``pchisqsum(6, c(1, 1), c(1, 1), method="saddlepoint", lower.tail=FALSE)``.
    """
    a = np.asarray(lam, dtype=float)
    tr = a.mean()
    tr2 = np.mean(a**2) / tr**2
    guess = stats.chi2.sf(x / (tr * tr2), len(a) / tr2)
    s = _saddle(float(x), a)
    p = guess if np.isnan(s) else s
    if lower_tail:
        p = 1 - p if not np.isnan(s) else stats.chi2.cdf(x / (tr * tr2), len(a) / tr2)
    return float(p)


def pfsum(x: float, lam, ddf: float, *, lower_tail: bool = False) -> float:
    """Tail probability of :math:`\\sum_i \\lambda_i \\chi^2_1 / (\\chi^2_{ddf}/ddf)` at ``x``.

    Parameters
    ----------
    x : float
        The observed statistic.
    lam : array-like
        The weights :math:`\\lambda_i`.
    ddf : float
        Denominator degrees of freedom (``inf``: :func:`pchisqsum`).
    lower_tail : bool, default False

    Returns
    -------
    float
        R's ``pFsum(x, rep(1, k), lam, ddf, method="saddlepoint")``: the saddlepoint
        approximation of :math:`P(\\sum \\lambda_i \\chi^2_1 - x \\chi^2_{ddf}/ddf > 0)`,
        or the Satterthwaite F when the saddlepoint is undefined.

    Examples
    --------
    >>> round(pfsum(8.0, [1.0, 1.0], 20), 6)
    0.035275

    In R: ``pFsum(8, c(1, 1), c(1, 1), ddf=20, lower.tail=FALSE)``.
    """
    a = np.asarray(lam, dtype=float)
    if np.isinf(ddf):
        return pchisqsum(x, a, lower_tail=lower_tail)
    tr = a.mean()
    tr2 = np.mean(a**2) / tr**2
    ndf = len(a) / tr2
    if lower_tail:
        rval = stats.f.cdf(x / ndf / (tr * tr2), ndf, ddf)
    else:
        rval = stats.f.sf(x / ndf / (tr * tr2), ndf, ddf)
    # R repeats -x/ddf ddf times (rep(a, df)); ddf is an integer design df here
    lam_all = np.concatenate([a, np.full(int(round(ddf)), -x / ddf)])
    s = _saddle(0.0, lam_all) if int(round(ddf)) == ddf else np.nan
    if not np.isnan(s):
        rval = 1 - s if lower_tail else s
    return float(rval)


def regtermtest(
    fit: pd.DataFrame,
    terms,
    *,
    design=None,
    method: str = "Wald",
    null=None,
    df: float | None = None,
) -> pd.DataFrame:
    """Joint test that all coefficients of some model terms are zero (R's ``regTermTest``).

    Parameters
    ----------
    fit : pandas.DataFrame
        A coefficient table from :func:`~ssp_research.survey.models.svyglm` (or
        ``SurveyDesign.glm``), with its ``attrs``.
    terms : str or list of str
        The terms to test, as a formula (``"~ factor(grade)"``, ``"~ a + a:b"``) or a list of
        term labels as in the model formula; ``"~ 1 + x"`` adds the intercept. An interaction
        may name its factors in any order.
    design : SurveyDesign, optional
        The design the model was fitted on; needed only for ``method="LRT"`` (it refits the
        model without the terms).
    method : {"Wald", "WorkingWald", "LRT"}, default "Wald"
        "Wald": :math:`F = \\hat\\beta^\\top V^{-1} \\hat\\beta / k` on (k, ddf) degrees of
        freedom. "WorkingWald": the Wald statistic with the model-based covariance, referred
        to the distribution of a weighted sum of chi-squares. "LRT": the Rao-Scott working
        likelihood ratio (the difference in deviance), referred to the same distribution.
    null : array-like, optional
        Null values of the tested coefficients (default 0).
    df : float, optional
        Denominator degrees of freedom; default the model's residual df (R's
        ``model$df.residual``: design df - coefficients + 1). ``numpy.inf`` gives chi-square
        tests.

    Returns
    -------
    pandas.DataFrame
        One row: ``terms`` (the tested terms, joined by " + "), ``method``, ``statistic``
        (F for "Wald" with finite df, else the chi-square: Wald or the deviance difference),
        ``df`` (number of coefficients tested), ``ddf``, ``p_value``. For "LRT" and
        "WorkingWald" ``attrs["lambda"]`` holds the weights of the chi-squares (the
        eigenvalues of :math:`V_0^{-1} V`, R's ``$lambda``) and ``statistic`` is R's
        ``$chisq``.

    Raises
    ------
    ParameterError
        An unknown method, a term not in the model, a table that is not from ``svyglm``, or
        ``method="LRT"`` without the design.

    Notes
    -----
    With :math:`\\hat\\beta` the k tested coefficients, :math:`V` their design-based
    covariance and :math:`V_0` the model-based one: Wald
    :math:`F = \\hat\\beta^\\top V^{-1}\\hat\\beta / k \\sim F_{k, ddf}`. The working tests use
    :math:`\\lambda = \\mathrm{eig}(V_0^{-1} V)` and the statistic
    :math:`X = \\hat\\beta^\\top V_0^{-1} \\hat\\beta` (WorkingWald) or
    :math:`X = D_0 - D` (LRT, the deviances with R's rescaled weights), with
    :math:`P(\\sum_i \\lambda_i \\chi^2_1 / (\\chi^2_{ddf}/ddf) > X)` by the saddlepoint
    approximation (:func:`pfsum`).

    Examples
    --------
    >>> from ssp_research.survey.design import SurveyDesign
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame({"psu": np.repeat(np.arange(20), 5), "w": 1.0,
    ...                    "g": rng.choice(["a", "b", "c"], 100), "x": rng.normal(size=100)})
    >>> df["y"] = df["x"] + (df["g"] == "c") + rng.normal(size=100)
    >>> d = SurveyDesign(df, ids="psu", weights="w")
    >>> fit = d.glm("y ~ x + factor(g)")
    >>> r = regtermtest(fit, "~ factor(g)")
    >>> r[["terms", "df", "ddf"]]
           terms  df   ddf
    0  factor(g)   2  16.0
    >>> bool(r["p_value"].iloc[0] < 0.01)
    True

    In R: ``regTermTest(svyglm(y ~ x + factor(g), design), ~factor(g))``.
    """
    if method not in TERMTEST_METHODS:
        raise ParameterError(
            f"method={method!r} is not known", rule=f"one of {', '.join(TERMTEST_METHODS)}",
            hint='use "Wald" (R\'s default) or "LRT" (working likelihood ratio)',
        )
    need = ("vcov", "assign", "df_residual", "formula", "family")
    if not isinstance(fit, pd.DataFrame) or not all(k in fit.attrs for k in need):
        raise ParameterError(
            "fit must be a coefficient table from svyglm (with its attrs)",
            rule="regtermtest(design.glm(formula), terms)",
            hint="pass the table svyglm returned, not a copy without attrs",
        )
    labels, intercept = _test_terms(terms)
    assign = [_canonical(a) for a in fit.attrs["assign"]]
    known = [a for a in dict.fromkeys(fit.attrs["assign"]) if a != "(Intercept)"]
    index = []
    for lab in labels:
        hit = [i for i, a in enumerate(assign) if a == _canonical(lab) and a != "(Intercept)"]
        if not hit:
            raise ParameterError(
                f"term {lab!r} is not in the model {fit.attrs['formula']!r}",
                rule="test terms must be terms of the model formula",
                hint=f"the model's terms: {', '.join(known)}",
            )
        index.extend(hit)
    if intercept:
        if "(Intercept)" not in assign:
            raise ParameterError("the model has no intercept", rule="~ 1 needs an intercept",
                                 hint="leave 1 out of the test terms")
        index = [assign.index("(Intercept)")] + [i for i in index if assign[i] != "(Intercept)"]
    index = sorted(set(index))
    beta = fit["estimate"].to_numpy(dtype=float)
    if fit.attrs.get("exponentiate"):
        beta = np.log(beta)
    beta = beta[index]
    if null is not None:
        beta = beta - np.asarray(null, dtype=float)
    V = fit.attrs["vcov"].to_numpy(dtype=float)[np.ix_(index, index)]
    ddf = float(fit.attrs["df_residual"] if df is None else df)
    k = len(index)
    label = " + ".join(labels if not intercept else ["1", *labels])
    if method == "Wald":
        chisq = float(beta @ np.linalg.solve(V, beta))
        if np.isfinite(ddf):
            stat, p = chisq / k, float(stats.f.sf(chisq / k, k, ddf))
        else:
            stat, p = chisq, float(stats.chi2.sf(chisq, k))
        return pd.DataFrame({"terms": [label], "method": [method], "statistic": [stat],
                             "df": [k], "ddf": [ddf], "p_value": [p]})
    V0 = fit.attrs["naive_cov"].to_numpy(dtype=float)[np.ix_(index, index)]
    if method == "LRT":
        if design is None:
            raise ParameterError(
                'method="LRT" refits the model without the terms and needs its design',
                rule="regtermtest(fit, terms, design=design, method='LRT')",
                hint="pass the design the model was fitted on",
            )
        chisq = _deviance_difference(fit, design, index)
    else:
        chisq = float(beta @ np.linalg.solve(V0, beta))
    lam = np.sort(np.linalg.eigvals(np.linalg.solve(V0, V)).real)[::-1]
    p = pfsum(chisq, lam, ddf)
    out = pd.DataFrame({"terms": [label], "method": [method], "statistic": [chisq],
                        "df": [k], "ddf": [ddf], "p_value": [p]})
    out.attrs["lambda"] = lam
    return out


def _deviance_difference(fit: pd.DataFrame, design, index: list[int]) -> float:
    """Deviance of the model without the tested terms minus the full model's (R's LRT)."""
    formula = fit.attrs["formula"]
    response, terms, intercept = parse_formula(formula)
    drop = {fit.attrs["assign"][i] for i in index}
    keep = [":".join(t) for t in terms if ":".join(t) not in drop]
    has_one = intercept and "(Intercept)" not in drop
    rhs = " + ".join(keep) if keep else ("1" if has_one else "0")
    reduced = f"{response} ~ {rhs}" + ("" if has_one or not keep else " - 1")
    n_full = int(fit["n"].iloc[0])
    small = svyglm(design, reduced, family=fit.attrs["family"])
    if int(small["n"].iloc[0]) != n_full:
        raise EstimationError(
            "the model without the tested terms uses other respondents than the full model",
            rule="the LRT compares models fitted to the same rows",
            hint="drop respondents missing the tested terms from the design first (subset)",
        )
    return float(small.attrs["deviance"] - fit.attrs["deviance"])
