"""Weighting: post-stratification, raking and calibration, as R's ``survey`` does them.

Each function takes a :class:`ssp_research.survey.design.SurveyDesign` and returns a NEW design with
adjusted weights and one more calibration step attached. The step remembers what R stores in
``design$postStrata`` so that every later variance (means, totals, GLMs) reflects the
weighting exactly as R's ``svyrecvar`` does: before the strata/cluster formula, the weighted
scores are replaced by their residuals from the post-strata (or calibration variables).

Calibration (:func:`calibrate`) has R's three calibration functions (``calfun="linear"``,
``"raking"``, ``"logit"``) with R's g-weight bounds and convergence rule.

Population totals are given as plain dicts: ``{"E": 4421, "H": 755, "M": 1018}`` for one
variable, ``{("E", "No"): 100, ...}`` with ``strata=["stype", "sch.wide"]`` for crossed cells;
calibration totals are named like the columns of the model matrix (``"(Intercept)"``,
``"api99"``, ``"stypeH"``; see :func:`ssp_research.survey.formula.model_matrix`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ssp_research.core.errors import DataError, DesignError, EstimationError, ParameterError
from ssp_research.survey import postcal
from ssp_research.survey.formula import column_hint, model_matrix

__all__ = ["poststratify", "rake", "calibrate", "RakingWarning", "CalibrationWarning", "CALFUNS"]


class RakingWarning(UserWarning):
    """Raking stopped at ``maxit`` before the margins agreed to ``epsilon``."""


# --- helpers ----------------------------------------------------------------------------------


def _columns(design, names: list[str], what: str) -> pd.DataFrame:
    data = design.data
    for name in names:
        if name not in data.columns:
            raise EstimationError(
                f"unknown {what} variable {name!r}",
                column=name,
                rule="the variable must be a column of the design's data",
                hint=column_hint(name, data.columns),
            )
    sub = data[names]
    inset = design.weights != 0
    bad = sub[inset].isna().any(axis=1)
    if bad.any():
        row = sub[inset].index[np.flatnonzero(bad.to_numpy())[0]]
        col = sub.columns[sub.loc[row].isna().to_numpy()][0]
        raise DataError(
            f"{int(bad.sum())} respondent(s) have no value of {what} variable {col!r}",
            row=row,
            column=col,
            rule=f"{what} variables must be complete for respondents with a weight",
            hint="impute or recode the missing values (e.g. an 'unknown' category), "
            "or subset the design first",
        )
    return sub


def _population(population, strata: list[str]) -> dict[tuple, float]:
    """Population totals as {cell tuple: N}; accepts a dict or a DataFrame with ``Freq``."""
    if isinstance(population, pd.DataFrame):
        freq = "Freq" if "Freq" in population.columns else population.columns[-1]
        pop = {
            tuple(r[s] for s in strata): r[freq] for _, r in population.iterrows()
        }
    elif isinstance(population, (dict, pd.Series)):
        pop = {(k if isinstance(k, tuple) else (k,)): v for k, v in dict(population).items()}
    else:
        raise ParameterError(
            "population must be a dict {level: N} or a DataFrame with a Freq column",
            rule="population totals", hint='e.g. {"E": 4421, "H": 755, "M": 1018}',
        )
    out = {}
    for key, value in pop.items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = np.nan
        if not np.isfinite(v) or v < 0:
            raise ParameterError(
                f"population total {value!r} for {key} is not a non-negative number",
                rule="population totals >= 0", hint="give counts from the population register",
            )
        if len(key) != len(strata):
            raise ParameterError(
                f"population cell {key} does not have one level per variable {strata}",
                rule="tuple keys for crossed post-strata",
            )
        out[tuple(_key(k) for k in key)] = v
    return out


def _dense_unique(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` for small non-negative integer keys, in O(n)."""
    top = int(key.max()) + 1 if len(key) else 0
    if top > 50_000_000:
        ukey, inverse = np.unique(key, return_inverse=True)
        return ukey, inverse.ravel()
    ukey = np.flatnonzero(np.bincount(key, minlength=top))
    lookup = np.zeros(top, dtype=np.int64)
    lookup[ukey] = np.arange(len(ukey))
    return ukey, lookup[key]


def _key(value) -> str:
    """A level as text; integral floats as integers (8.0 and 8 are the same level)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    return str(value)


def _cells(design, strata: list[str], population, partial: bool, what: str):
    """Row cell codes and the population total of each cell (R's ``postStratify`` checks)."""
    sub = _columns(design, strata, what)
    pop = _population(population, strata)
    codes, uniques = [], []
    for s in strata:  # code 0 = missing (only possible in rows with zero weight)
        c, u = pd.factorize(sub[s], use_na_sentinel=True)
        codes.append(c + 1)
        uniques.append(["<NA>"] + [_key(v) for v in u])
    key = np.zeros(len(sub), dtype=np.int64)
    for c, u in zip(codes, uniques):  # one integer per combination of levels
        key = key * len(u) + c
    ukey, inverse = _dense_unique(key)
    keys = []
    for k in ukey:  # decode the few distinct keys back to levels
        row = []
        for u in reversed(uniques):
            k, c = divmod(int(k), len(u))
            row.append(u[c])
        keys.append(tuple(row[::-1]))
    wsum = np.bincount(inverse, weights=np.asarray(design.weights, dtype=float),
                       minlength=len(keys))
    sample = dict(zip(keys, wsum))
    missing = [k for k, tot in sample.items() if tot > 0 and pop.get(k, 0) == 0]
    if missing:
        raise DesignError(
            f"post-stratum {missing[0]} of {strata} is in the sample but has no population "
            "total",
            column=", ".join(strata),
            rule="every sampled cell needs a population total > 0",
            hint=f"add it to the population totals (known cells: {sorted(pop)[:10]})",
        )
    absent = [k for k, v in pop.items() if v > 0 and sample.get(k, 0.0) == 0]
    if absent and not partial:
        raise DesignError(
            f"population cell(s) {absent[:5]} of {strata} have no respondents",
            column=", ".join(strata),
            rule="each population cell needs respondents",
            hint="merge small cells, or pass partial=True to ignore them (R: partial=TRUE)",
        )
    if absent:
        warnings.warn(f"population cells absent from the sample ignored: {absent}", UserWarning,
                      stacklevel=3)
    cells = inverse
    target = np.array([pop.get(k, 0.0) for k in keys])
    total = wsum
    return cells, target, total


def _poststratify_weights(w, cells, target, total):
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(total > 0, target / total, 1.0)
    return w * factor[cells]


# --- public functions -------------------------------------------------------------------------


def poststratify(design, strata, population, *, partial: bool = False):
    """Post-stratify: scale the weights so each cell sums to its population count.

    Parameters
    ----------
    design : SurveyDesign
        The design to adjust.
    strata : str or list of str
        Post-stratification variable(s); several are crossed.
    population : dict or pandas.DataFrame
        ``{level: N}`` (tuples of levels for several variables), or a frame with the
        variables and a ``Freq`` column (R's format).
    partial : bool, default False
        Ignore population cells without respondents (R's ``partial=TRUE``).

    Returns
    -------
    SurveyDesign
        A new design; its variances use the post-stratified residuals.

    Raises
    ------
    EstimationError
        Unknown variable.
    DataError
        Missing values of a post-stratification variable.
    DesignError
        A sampled cell without population total, or a population cell without respondents.
    ParameterError
        Negative or non-numeric totals.

    Notes
    -----
    :math:`w_i^* = w_i N_c / \\hat N_c` with :math:`\\hat N_c = \\sum_{i \\in c} w_i`. For the
    variance, weighted scores :math:`x_i` are replaced by
    :math:`x_i - w_i^* \\sum_{j \\in c} x_j (w_j / w_j^*) / \\hat N_c` (R's ``svyrecvar``).

    Examples
    --------
    >>> from ssp_research.survey.design import SurveyDesign
    >>> df = pd.DataFrame({"g": ["a", "a", "b", "b", "b"], "psu": [1, 2, 3, 4, 5],
    ...                    "w": [1.0, 1, 2, 2, 2], "y": [1.0, 3, 2, 4, 6]})
    >>> ps = poststratify(SurveyDesign(df, ids="psu", weights="w"), "g", {"a": 10, "b": 30})
    >>> ps.weights.tolist()
    [5.0, 5.0, 10.0, 10.0, 10.0]

    In R: ``postStratify(design, ~g, data.frame(g = c("a", "b"), Freq = c(10, 30)))``.
    """
    strata = [strata] if isinstance(strata, str) else list(strata)
    cells, target, total = _cells(design, strata, population, partial, "post-stratification")
    old = np.asarray(design.weights, dtype=float)
    new = _poststratify_weights(old, cells, target, total)
    step = postcal.PostStrata(cells, new, old)
    return design._with(weights=new, postcal=[*design._postcal, step])


def rake(design, margins: dict, *, maxit: int = 10, epsilon: float = 1.0,
         progress: bool = False):
    """Rake (iterative proportional fitting) the weights to population margins.

    Parameters
    ----------
    design : SurveyDesign
        The design to adjust.
    margins : dict
        ``{variable: {level: N}}``; a key may be a tuple of variables for a crossed margin
        (then the levels are tuples too).
    maxit : int, default 10
        Maximum number of sweeps over all margins (R's ``control$maxit``).
    epsilon : float, default 1
        Convergence: stop when no cell of the cross-table of all margin variables changes
        by more than ``epsilon`` (in weighted counts) in a sweep; below 1 it is a fraction
        of the total weight (R's ``control$epsilon``).
    progress : bool, default False
        Show a tqdm bar over the sweeps.

    Returns
    -------
    SurveyDesign
        A new design whose variances reflect the raking as R's (ten residualisation sweeps).

    Warns
    -----
    RakingWarning
        When the margins did not converge within ``maxit`` sweeps (R warns too).

    Notes
    -----
    Each sweep post-stratifies to each margin in turn
    (:math:`w \\leftarrow w N_c/\\hat N_c`). For the variance R replaces the weighted scores
    ten times per margin by :math:`x_i - w_i \\overline{(x/w)}_{c(i)}` (unweighted mean in the
    cell), with the weights of the last sweep.

    Examples
    --------
    >>> from ssp_research.survey.design import SurveyDesign
    >>> df = pd.DataFrame({"a": list("xxyyxy"), "b": list("uvuvvu"), "psu": range(6),
    ...                    "w": [1.0, 2, 1, 2, 1, 2]})
    >>> r = rake(SurveyDesign(df, ids="psu", weights="w"),
    ...          {"a": {"x": 40, "y": 60}, "b": {"u": 50, "v": 50}}, maxit=50, epsilon=1e-9)
    >>> r.data.assign(w=r.weights).groupby("a")["w"].sum().round(6).tolist()
    [40.0, 60.0]

    In R: ``rake(design, list(~a, ~b), list(pop_a, pop_b))``.
    """
    if not isinstance(margins, dict) or not margins:
        raise ParameterError(
            "margins must be a non-empty dict {variable: {level: N}}",
            rule="rake(design, {'stype': {...}, 'sch.wide': {...}})",
        )
    if maxit < 1 or not np.isfinite(epsilon) or epsilon <= 0:
        raise ParameterError(
            f"maxit={maxit}, epsilon={epsilon} are not valid", rule="maxit >= 1, epsilon > 0",
        )
    specs = []
    allvars: list[str] = []
    for var, pop in margins.items():
        strata = list(var) if isinstance(var, tuple) else [var]
        cells, target, _ = _cells(design, strata, pop, False, "raking")
        specs.append((cells, target))
        allvars += [v for v in strata if v not in allvars]
    w0 = np.asarray(design.weights, dtype=float)
    eps = epsilon * w0.sum() if epsilon < 1 else epsilon
    # the cross-table of all margin variables, as R's svytable(~ all vars)
    cross = np.zeros(len(w0), dtype=np.int64)
    for cells, target in specs:
        cross = cross * len(target) + cells
    cross = _dense_unique(cross)[1]
    old_table = np.bincount(cross, weights=w0)
    w, steps, converged = w0, [], False
    for _sweep in tqdm(range(maxit), disable=not progress, desc="raking"):
        steps = []
        for cells, target in specs:
            total = np.bincount(cells, weights=w, minlength=len(target))
            w = _poststratify_weights(w, cells, target, total)
            steps.append((cells, w.copy()))
        new_table = np.bincount(cross, weights=w, minlength=len(old_table))
        if np.max(np.abs(old_table - new_table)) < eps:
            converged = True
            break
        old_table = new_table
    if not converged:
        warnings.warn(
            f"raking did not converge after {maxit} sweeps (epsilon {epsilon}); raise maxit",
            RakingWarning, stacklevel=2,
        )
    return design._with(weights=w, postcal=[*design._postcal, postcal.Raking(steps)])


CALFUNS = ("linear", "raking", "logit")


def calibrate(design, formula: str, population: Mapping[str, float] | Sequence[float], *,
              calfun: Literal["linear", "raking", "logit"] = "linear",
              bounds: tuple[float, float] | None = None, bounds_const: bool = False,
              maxit: int = 50, epsilon: float | Sequence[float] = 1e-7,
              force: bool = False):
    """Calibrate the weights to population totals: linear (GREG), raking or logit, with bounds.

    Parameters
    ----------
    design : SurveyDesign
        The design to adjust.
    formula : str
        ``"~ api99 + stype"``: the calibration variables (model-matrix columns).
    population : dict
        Population totals by column name: ``{"(Intercept)": N, "api99": T, "stypeH": N_H}``
        (a sequence in column order also works).
    calfun : {"linear", "raking", "logit"}, default "linear"
        The calibration function :math:`F` of the g-weights :math:`g_i = F(x_i^\\top\\eta)`
        (R's ``calfun``): linear :math:`1 + u`, raking :math:`e^u`, logit the bounded
        logistic of Deville and Särndal.
    bounds : tuple of float, optional
        ``(lower, upper)`` bounds on the g-weights (new / old weight), R's ``bounds``;
        ``None`` is ``(-inf, inf)``. Linear calibration with bounds is R's truncated linear
        calibration; logit calibration needs finite bounds.
    bounds_const : bool, default False
        The bounds are on the calibrated weights themselves, not on the g-weights (R's
        ``bounds.const=TRUE``: each row's g-bounds are ``bounds / weight``).
    maxit : int, default 50
        Newton iterations (R's ``maxit``).
    epsilon : float or sequence of float, default 1e-7
        Convergence: every total within ``epsilon * (1 + |total|)`` (one value, or one per
        total as in R).
    force : bool, default False
        Return the last iterate (with a :class:`CalibrationWarning`) instead of raising
        when the iterations do not converge (R's ``force=TRUE``).

    Returns
    -------
    SurveyDesign
        A new design; its variances use the calibration residuals (R's ``greg_calibration``),
        whatever the calibration function.

    Raises
    ------
    ParameterError
        Unknown ``calfun``; totals missing/unknown/non-finite or of the wrong length; bounds
        not around 1 (they could never be met: R fails to converge); logit calibration with
        infinite bounds; bad ``maxit``/``epsilon``.
    EstimationError
        Collinear calibration variables, or iterations that do not converge within
        ``maxit`` (R: "Calibration failed") unless ``force=True``.

    Warns
    -----
    CalibrationWarning
        Non-convergence with ``force=True`` (R: "Failed to converge"); finite bounds when
        the weights are first rescaled because every total exceeds 20 times its estimate
        (R: "Bounds were set but will be interpreted after rescaling").
    UserWarning
        Negative calibrated weights (not in R).

    Notes
    -----
    Unbounded linear (R's ``regcalibrate``):
    :math:`g_i = 1 + x_i^\\top T^{-1}(t_x - \\hat t_x)` with :math:`T = \\sum_i w_i x_i
    x_i^\\top`. Otherwise R's ``grake``: from :math:`\\eta = 0`, Newton steps
    :math:`\\eta \\leftarrow \\eta + T_F^{+}(t_x - \\sum_i w_i F(x_i^\\top\\eta) x_i)` with
    :math:`T_F = \\sum_i w_i F'(x_i^\\top\\eta) x_i x_i^\\top` (Moore-Penrose inverse with
    tolerance :math:`256\\,\\epsilon_{mach}`), the step halved while some :math:`g` or
    :math:`F'` is not finite, until :math:`|t_x - \\hat t_x(g)| < \\epsilon(1 + |t_x|)`
    for every total. Bounds enter as R's: linear :math:`F(u) = \\min(\\max(1 + u, L), U)`,
    raking :math:`F(u) = \\min(\\max(e^u, L), U)` (for both, :math:`F' = 0` unless
    :math:`L - 1 < u < U - 1`, R's rule even for raking), logit
    :math:`F(u) = \\frac{L(U-1) + U(1-L)e^{Au}}{U - 1 + (1-L)e^{Au}}` with
    :math:`A = \\frac{U-L}{(U-1)(1-L)}`. For the variance the weighted scores become
    :math:`g_i w_i^{1/2} r_i`, with :math:`r` the residuals of :math:`x/(g w^{1/2})` on
    :math:`X w^{1/2}` (R's ``svyrecvar``).

    Examples
    --------
    >>> from ssp_research.survey.design import SurveyDesign
    >>> df = pd.DataFrame({"x": [1.0, 2, 3, 4], "psu": [1, 2, 3, 4], "w": [2.0, 2, 2, 2]})
    >>> d = SurveyDesign(df, ids="psu", weights="w")
    >>> c = calibrate(d, "~ x", {"(Intercept)": 10, "x": 30})
    >>> [round(float(v), 6) for v in (c.weights.sum(), (c.weights * df.x).sum())]
    [10.0, 30.0]
    >>> r = calibrate(d, "~ x", {"(Intercept)": 10, "x": 30}, calfun="raking")
    >>> [round(float(v), 4) for v in (r.weights.sum(), (r.weights * df.x).sum())]
    [10.0, 30.0]

    In R: ``calibrate(design, ~x, c(10, 30))``,
    ``calibrate(design, ~x, c(10, 30), calfun = "raking")``.
    """
    if calfun not in CALFUNS:
        raise ParameterError(
            f"calfun={calfun!r} is not a calibration function",
            rule=f"calfun one of {CALFUNS} (R's names)", hint='e.g. calfun="raking"',
        )
    if not (isinstance(maxit, (int, np.integer)) and maxit >= 1):
        raise ParameterError(f"maxit={maxit!r} is not a positive integer", rule="maxit >= 1")
    X, names, ok = model_matrix(design.data, formula)
    w = np.asarray(design.weights, dtype=float)
    bad = (~ok) & (w != 0)
    if bad.any():
        row = design.data.index[np.flatnonzero(bad)[0]]
        raise DataError(
            f"{int(bad.sum())} respondent(s) have a missing calibration variable in {formula!r}",
            row=row, rule="calibration variables must be complete",
            hint="impute or recode the missing values, or subset the design first",
        )
    pop = _calibration_totals(population, names)
    eps = np.asarray(epsilon, dtype=float).ravel()
    if len(eps) not in (1, len(names)) or not np.all(np.isfinite(eps) & (eps > 0)):
        raise ParameterError(
            f"epsilon={epsilon!r} must be one positive number or one per total ({len(names)})",
            rule="epsilon > 0, scalar or of the length of population",
        )
    lo, hi = _bounds(bounds, calfun, bounds_const, w)
    # R takes regcalibrate for unbounded linear calibration (checked before bounds.const)
    unbounded = bounds is None or (np.isneginf(float(bounds[0])) and np.isposinf(float(bounds[1])))
    sample_total = X.T @ w
    drop = (sample_total == 0) & (pop == 0) & np.all(X == 0, axis=0)
    X, pop, sample_total = X[:, ~drop], pop[~drop], sample_total[~drop]
    if len(eps) > 1:
        eps = eps[~drop]
    whalf = np.sqrt(w)
    q, r = np.linalg.qr(X * whalf[:, None])
    if np.min(np.abs(np.diag(r))) <= 1e-10 * np.max(np.abs(np.diag(r))):
        raise EstimationError(
            f"the calibration variables of {formula!r} are collinear in the sample",
            rule="calibration matrix of full rank",
            hint="drop a redundant total (e.g. a level that is the complement of others)",
        )
    if calfun == "linear" and unbounded:
        tmat = (X * w[:, None]).T @ X
        g = 1.0 + X @ np.linalg.solve(tmat, pop - sample_total)
    else:
        g, achieved, iters = _grake(X, w, pop, calfun, lo, hi, maxit, eps)
        if achieved is not None:
            msg = (f"{calfun} calibration did not converge: relative misfit {achieved:.3g} "
                   f"after {iters} iterations (epsilon {epsilon})")
            if not force:
                raise EstimationError(
                    msg, rule="every total within epsilon * (1 + |total|) (R: Calibration "
                    "failed)",
                    hint="widen the bounds, raise maxit, or pass force=True to accept the "
                    "last step",
                )
            warnings.warn(msg + "; force=True keeps the last step", CalibrationWarning,
                          stacklevel=2)
    negative = int(np.sum((g < 0) & (w > 0)))
    if negative:
        warnings.warn(
            f"linear calibration gave {negative} negative weight(s); estimates stay unbiased "
            "but may look odd: pass bounds=(0, upper) (e.g. (0.3, 3)) to keep weights positive",
            UserWarning, stacklevel=2,
        )
    step = postcal.GregCalibration(q, g * whalf)
    return design._with(weights=w * g, postcal=[*design._postcal, step])


class CalibrationWarning(UserWarning):
    """Calibration kept a step that did not converge, or reinterpreted the bounds."""


def _calibration_totals(population, names: list[str]) -> np.ndarray:
    """Population totals in model-matrix column order (by name, or a sequence in order)."""
    if isinstance(population, pd.Series):
        population = population.to_dict()
    if isinstance(population, dict):
        unknown = [k for k in population if k not in names]
        lacking = [nm for nm in names if nm not in population]
        if unknown or lacking:
            raise ParameterError(
                f"population totals do not match the calibration columns {names}",
                rule="one total per model-matrix column, by name",
                hint=(f"unknown: {unknown}; " if unknown else "")
                + (f"missing: {lacking}" if lacking else ""),
            )
        pop = np.array([float(population[nm]) for nm in names])
    else:
        pop = np.asarray(population, dtype=float).ravel()
        if len(pop) != len(names):
            raise ParameterError(
                f"{len(pop)} population totals for {len(names)} columns {names}",
                rule="one total per model-matrix column",
            )
    if not np.all(np.isfinite(pop)):
        raise ParameterError("population totals must be finite numbers", rule="totals")
    return pop


def _bounds(bounds, calfun, bounds_const, w):
    """Lower and upper g-bounds (scalars, or per row with ``bounds_const``), checked."""
    if bounds is None:
        lo, hi = -np.inf, np.inf
    else:
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise ParameterError(
                f"bounds={bounds!r} is not a pair of numbers", rule="bounds=(lower, upper)",
                hint="e.g. bounds=(0.5, 2.0)",
            ) from None
        if np.isnan(lo) or np.isnan(hi) or not lo < hi:
            raise ParameterError(f"bounds {bounds} must satisfy lower < upper",
                                 rule="bounds=(lower, upper)")
    if calfun == "logit" and not (np.isfinite(lo) and np.isfinite(hi)):
        raise ParameterError(
            "logit calibration requires finite bounds",
            rule="calfun='logit' with bounds=(lower, upper) finite (R: the same error)",
            hint="e.g. bounds=(0.5, 2.0), or calfun='raking'",
        )
    if bounds_const:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.where(w > 0, lo / np.where(w > 0, w, 1.0), lo),
                    np.where(w > 0, hi / np.where(w > 0, w, 1.0), hi))
    if bounds is not None and not lo < 1 < hi:
        raise ParameterError(
            f"bounds {bounds} must satisfy lower < 1 < upper",
            rule="g-weight bounds around 1 (otherwise R's iterations cannot move and fail)",
            hint="e.g. bounds=(0.5, 2.0), or bounds_const=True for bounds on the weights",
        )
    return lo, hi


def _calfun(calfun: str, lo, hi):
    """R's ``cal.linear``, ``cal.raking``, ``cal.logit``: (Fm1, dF), bounds as R applies them."""
    def inside(u):
        return (u < hi - 1) & (u > lo - 1)

    if calfun == "linear":
        return (lambda u: np.minimum(np.maximum(u + 1, lo), hi) - 1,
                lambda u: inside(u).astype(float))
    if calfun == "raking":
        return (lambda u: np.minimum(np.maximum(np.exp(u), lo), hi) - 1,
                lambda u: np.where(inside(u), np.exp(u), 0.0))
    a = (hi - lo) / ((hi - 1) * (1 - lo))

    def fm1(u):
        e = np.exp(a * u)
        return (lo * (hi - 1) + hi * (1 - lo) * e) / (hi - 1 + (1 - lo) * e) - 1

    def df(u):
        e = np.exp(a * u)
        den = hi - 1 + (1 - lo) * e
        return (hi * (1 - lo) * e * a / den
                - (lo * (hi - 1) + hi * (1 - lo) * e) * ((1 - lo) * e * a) / den**2)

    return fm1, df


def _grake(X, w, pop, calfun, lo, hi, maxit, epsilon):
    """R's ``grake`` (survey 4.1.1) step by step; returns (g, misfit if failed, iterations)."""
    fm1, dfun = _calfun(calfun, lo, hi)
    sample_total = X.T @ w
    scale = None
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = pop / sample_total
    if np.min(scales) > 20:  # R rescales very small weights first
        scale = float(np.mean(scales))
        w = w * scale
        sample_total = sample_total * scale
        if np.any(np.isfinite(lo)) or np.any(np.isfinite(hi)):
            warnings.warn(
                f"bounds were set but are interpreted after rescaling the weights by "
                f"{scale:.3g} (every total is over 20 times its estimate; R does the same)",
                CalibrationWarning, stacklevel=3,
            )
    eta = np.zeros(X.shape[1])
    it, achieved = 1, None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        xeta = X @ eta
        g, deriv = 1 + fm1(xeta), dfun(xeta)
        while True:
            tmat = (X * (w * deriv)[:, None]).T @ X
            misfit = pop - sample_total - X.T @ (w * fm1(xeta))
            deta = np.linalg.pinv(tmat, rcond=256 * np.finfo(float).eps) @ misfit
            eta = eta + deta
            xeta = X @ eta
            g, deriv = 1 + fm1(xeta), dfun(xeta)
            while it < maxit and not (np.all(np.isfinite(g)) and np.all(np.isfinite(deriv))):
                it += 1  # step halving, as R (it counts towards maxit)
                deta = deta / 2
                eta = eta - deta
                xeta = X @ eta
                g, deriv = 1 + fm1(xeta), dfun(xeta)
            misfit = pop - sample_total - X.T @ (w * fm1(xeta))
            rel = np.abs(misfit) / (1 + np.abs(pop))
            if np.all(rel < epsilon):
                break
            it += 1
            if it > maxit:
                achieved = float(np.max(rel))
                break
    if scale is not None:
        g = g * scale
    return g, achieved, it
