"""Weighting: post-stratification, raking and linear calibration, as R's ``survey`` does them.

Each function takes a :class:`ssp_research.survey.design.SurveyDesign` and returns a NEW design with
adjusted weights and one more calibration step attached. The step remembers what R stores in
``design$postStrata`` so that every later variance (means, totals, GLMs) reflects the
weighting exactly as R's ``svyrecvar`` does: before the strata/cluster formula, the weighted
scores are replaced by their residuals from the post-strata (or calibration variables).

Population totals are given as plain dicts: ``{"E": 4421, "H": 755, "M": 1018}`` for one
variable, ``{("E", "No"): 100, ...}`` with ``strata=["stype", "sch.wide"]`` for crossed cells;
calibration totals are named like the columns of the model matrix (``"(Intercept)"``,
``"api99"``, ``"stypeH"``; see :func:`ssp_research.survey.formula.model_matrix`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ssp_research.core.errors import DataError, DesignError, EstimationError, ParameterError
from ssp_research.survey import postcal
from ssp_research.survey.formula import column_hint, model_matrix

__all__ = ["poststratify", "rake", "calibrate", "RakingWarning"]


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


def calibrate(design, formula: str, population: dict, *, bounds=None, maxit: int = 50,
              epsilon: float = 1e-7, force: bool = False):
    """Linear (GREG) calibration to population totals, optionally with bounds on g-weights.

    Parameters
    ----------
    design : SurveyDesign
        The design to adjust.
    formula : str
        ``"~ api99 + stype"``: the calibration variables (model-matrix columns).
    population : dict
        Population totals by column name: ``{"(Intercept)": N, "api99": T, "stypeH": N_H}``
        (a sequence in column order also works).
    bounds : tuple of float, optional
        ``(lower, upper)`` for the g-weights (new / old weight); ``None`` is unbounded.
    maxit, epsilon : int, float
        Newton iterations and tolerance on ``|misfit| / (1 + |total|)`` for bounded
        calibration (R's defaults).
    force : bool, default False
        Return the last iterate instead of raising when bounded calibration fails.

    Returns
    -------
    SurveyDesign
        A new design; its variances use the calibration residuals (R's ``greg_calibration``).

    Raises
    ------
    ParameterError
        Totals missing/unknown/negative-length mismatch, or bounds not containing 1.
    EstimationError
        Singular calibration matrix, or bounded calibration that does not converge.

    Notes
    -----
    Unbounded: :math:`g_i = 1 + x_i^\\top T^{-1}(t_x - \\hat t_x)` with
    :math:`T = \\sum_i w_i x_i x_i^\\top`. Bounded: Newton steps on the same equations with
    :math:`g` clipped to the bounds (R's ``grake`` with ``cal.linear``). For the variance the
    weighted scores become :math:`g_i w_i^{1/2} r_i`, with :math:`r` the residuals of
    :math:`x/(g w^{1/2})` on :math:`X w^{1/2}` (R's ``svyrecvar``).

    Examples
    --------
    >>> from ssp_research.survey.design import SurveyDesign
    >>> df = pd.DataFrame({"x": [1.0, 2, 3, 4], "psu": [1, 2, 3, 4], "w": [2.0, 2, 2, 2]})
    >>> c = calibrate(SurveyDesign(df, ids="psu", weights="w"), "~ x",
    ...               {"(Intercept)": 10, "x": 30})
    >>> [round(float(v), 6) for v in (c.weights.sum(), (c.weights * df.x).sum())]
    [10.0, 30.0]

    In R: ``calibrate(design, ~x, c(10, 30))``.
    """
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
    sample_total = X.T @ w
    drop = (sample_total == 0) & (pop == 0) & np.all(X == 0, axis=0)
    X, pop, sample_total = X[:, ~drop], pop[~drop], sample_total[~drop]
    whalf = np.sqrt(w)
    q, r = np.linalg.qr(X * whalf[:, None])
    if np.min(np.abs(np.diag(r))) <= 1e-10 * np.max(np.abs(np.diag(r))):
        raise EstimationError(
            f"the calibration variables of {formula!r} are collinear in the sample",
            rule="calibration matrix of full rank",
            hint="drop a redundant total (e.g. a level that is the complement of others)",
        )
    if bounds is None or (np.isneginf(bounds[0]) and np.isposinf(bounds[1])):
        tmat = (X * w[:, None]).T @ X
        g = 1.0 + X @ np.linalg.solve(tmat, pop - sample_total)
    else:
        lo, hi = float(bounds[0]), float(bounds[1])
        if not lo < 1 < hi:
            raise ParameterError(
                f"bounds {bounds} must satisfy lower < 1 < upper",
                rule="g-weight bounds around 1", hint="e.g. bounds=(0.5, 2.0)",
            )
        g = _grake_linear(X, w, pop, lo, hi, maxit, epsilon, force)
    negative = int(np.sum((g < 0) & (w > 0)))
    if negative:
        warnings.warn(
            f"linear calibration gave {negative} negative weight(s); estimates stay unbiased "
            "but may look odd: pass bounds=(0, upper) (e.g. (0.3, 3)) to keep weights positive",
            UserWarning, stacklevel=2,
        )
    step = postcal.GregCalibration(q, g * whalf)
    return design._with(weights=w * g, postcal=[*design._postcal, step])


def _grake_linear(X, w, pop, lo, hi, maxit, epsilon, force):
    """R's ``grake`` for ``cal.linear`` with bounds (Newton with step halving)."""
    sample_total = X.T @ w
    scale = None
    scales = pop / sample_total
    if np.min(scales) > 20:  # R rescales very small weights first
        scale = float(np.mean(scales))
        w = w * scale
        sample_total = sample_total * scale
    eta = np.zeros(X.shape[1])

    def fm1(u):
        return np.clip(u + 1, lo, hi) - 1

    def df(u):
        return ((u < hi - 1) & (u > lo - 1)).astype(float)

    it, achieved = 1, None
    while True:
        xeta = X @ eta
        tmat = (X * (w * df(xeta))[:, None]).T @ X
        misfit = pop - sample_total - X.T @ (w * fm1(xeta))
        eta = eta + np.linalg.pinv(tmat, rcond=256 * np.finfo(float).eps) @ misfit
        misfit = pop - sample_total - X.T @ (w * fm1(X @ eta))
        rel = np.abs(misfit) / (1 + np.abs(pop))
        if np.all(rel < epsilon):
            break
        it += 1
        if it > maxit:
            achieved = float(np.max(rel))
            break
    g = 1 + fm1(X @ eta)
    if achieved is not None and not force:
        raise EstimationError(
            f"bounded calibration did not converge (relative misfit {achieved:.3g} after "
            f"{maxit} iterations)",
            rule=f"g-weights within ({lo}, {hi})",
            hint="widen the bounds, raise maxit, or pass force=True to accept the last step",
        )
    return g * scale if scale is not None else g
