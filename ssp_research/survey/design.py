"""Survey designs and their Taylor-linearised variance, as R's ``survey`` package does them.

A :class:`SurveyDesign` holds the data, the sampling weights and the sampling structure
(clusters at one or more stages, strata, finite population corrections). Its variance engine,
``SurveyDesign.vcov``, reproduces R's ``svyrecvar`` (``survey`` 4.1.1) exactly: ultimate
cluster totals per stratum, the multistage recursion when fpc is given for every stage, and
the ``survey.lonely.psu`` options. The estimators live in :mod:`ssp_research.survey.estimate`
and are also available as methods (``d.mean("x", by="g")``).

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"school": [1, 1, 2, 2, 3, 3], "w": [2.0, 2, 3, 3, 1, 1],
...                    "y": [1.0, 3, 2, 4, 5, 7]})
>>> d = SurveyDesign(df, ids="school", weights="w")
>>> d.degf()
2
>>> r = d.mean("y")
>>> round(float(r["estimate"].iloc[0]), 6), round(float(r["se"].iloc[0]), 6), int(r["n"].iloc[0])
(3.166667, 0.756148, 6)

In R: ``svymean(~y, svydesign(ids=~school, weights=~w, data=df))`` gives 3.1667 (SE 0.7561).
"""

from __future__ import annotations

import difflib
import warnings

import numpy as np
import pandas as pd

from ssp_research.core.errors import DataError, DesignError, ParameterError
from ssp_research.survey import compare, estimate, models, variance, weights
from ssp_research.survey.variance import codes as _codes

__all__ = ["SurveyDesign", "LONELY_PSU_OPTIONS"]

#: R's ``options(survey.lonely.psu=)`` values.
LONELY_PSU_OPTIONS = ("fail", "remove", "certainty", "adjust", "average")

def _as_list(x) -> list:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return list(x)


def _missing_column(data: pd.DataFrame, name, role: str, error=DesignError):
    close = difflib.get_close_matches(str(name), [str(c) for c in data.columns], n=3)
    hint = f"did you mean {', '.join(close)}?" if close else "check the column name"
    return error(
        f"{role} column {name!r} is not in the data",
        column=name,
        rule=f"{role} must name a column of the data",
        hint=hint,
    )


class SurveyDesign:
    """A complex survey design: clusters, strata, weights and finite population corrections.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent. Kept whole: domains (``subset``, ``by=``) give rows outside
        the domain zero weight instead of dropping them, as R does.
    ids : str, list of str or None
        Cluster identifiers, one column per stage (``["dnum", "snum"]`` is two-stage).
        ``None`` means no clusters (R's ``ids=~1``): each respondent is its own PSU.
        Later-stage ids are nested in earlier ones automatically (R does the same).
    strata : str, list of str or None
        Stratum column(s), one per stage at most; later stages are stratified by the cluster
        of the previous stage (crossed with the given stratum), as in R.
    weights : str or None
        Sampling-weight column. When neither ``weights`` nor ``probs`` is given, weights are
        derived from ``fpc`` (product over stages of population / sample clusters), or are 1.
    fpc : str, list of str or None
        Finite population correction per stage: either population sizes (all values >= 1)
        or sampling fractions (all values <= 1). Given for one stage, only the first stage
        contributes variance (with-replacement approximation for later stages); given for
        every stage, the variance is the full multistage sum (R's ``svyrecvar``).
    probs : str, list of str or None
        Sampling probabilities per stage instead of weights (weight = 1 / product).
    nest : bool, default False
        Cluster ids are reused across strata: make them unique within strata.
    lonely_psu : {"fail", "remove", "certainty", "adjust", "average"}, default "fail"
        Strata with a single PSU, as R's ``options(survey.lonely.psu=)``: "fail" raises
        :class:`~ssp_research.core.errors.DesignError`; "remove" and "certainty" let the stratum
        contribute no variance; "adjust" centres its PSU total at zero (the grand mean of
        the scores) instead of the stratum mean; "average" drops it and scales the variance
        up by (strata / strata with more than one PSU).

    Attributes
    ----------
    data : pandas.DataFrame
        The full frame.
    weights : numpy.ndarray
        Float sampling weights, 0 for rows outside a ``subset`` domain.

    Raises
    ------
    DesignError
        Missing or negative weights, missing ids or strata, a PSU in two strata without
        ``nest=True``, an fpc that mixes sizes and fractions or implies more than 100 %
        sampling, a lonely PSU under ``lonely_psu="fail"``, a single PSU overall.

    Notes
    -----
    For scores :math:`z_i` (already weighted) the variance at one stage is

    .. math:: V = \\sum_h f_h \\frac{n_h}{n_h - 1} \\sum_{c \\in h} (z_c - \\bar z_h)
              (z_c - \\bar z_h)^T,

    with :math:`z_c` the cluster totals, :math:`n_h` the number of sampled clusters in the
    stratum and :math:`f_h = (N_h - n_h)/N_h` (1 without fpc). With fpc at every stage the
    variance of stage :math:`s` within each sampled unit of stage :math:`s-1` is added,
    multiplied by the product of the earlier sampling fractions :math:`n/N`.

    Degrees of freedom (:meth:`degf`) are R's ``degf()``: PSUs minus strata, counted over the
    rows with non-zero weight (so a domain has the df of R's ``subset()`` design).

    For estimators built on it: :meth:`vcov` is R's ``svyrecvar`` of weighted scores (after
    every calibration step's adjustment); :meth:`subset` zeroes weights outside a domain;
    :meth:`assign` adds columns; :meth:`first_stage` gives the first-stage codes.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"st": ["a", "a", "b", "b", "b"], "pw": [10.0, 10, 5, 5, 5],
    ...                    "N": [20.0, 20, 15, 15, 15], "y": [1.0, 2, 3, 4, 5]})
    >>> d = SurveyDesign(df, ids=None, strata="st", weights="pw", fpc="N")
    >>> d.degf()
    3
    >>> r = d.total("y")
    >>> float(r["estimate"].iloc[0]), round(float(r["se"].iloc[0]), 6)
    (90.0, 12.247449)

    In R: ``svytotal(~y, svydesign(ids=~1, strata=~st, weights=~pw, fpc=~N, data=df))``.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        ids=None,
        strata=None,
        weights: str | None = None,
        fpc=None,
        *,
        probs=None,
        nest: bool = False,
        lonely_psu: str = "fail",
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DesignError(
                "data must be a pandas DataFrame",
                rule="SurveyDesign(data, ...)",
                hint="pass the tidy frame from clean.apply or pandas.read_*",
            )
        if len(data) == 0:
            raise DesignError("the data have no rows", hint="check the filter or the export")
        if lonely_psu not in LONELY_PSU_OPTIONS:
            raise ParameterError(
                f"lonely_psu={lonely_psu!r} is not known",
                rule=f"one of {', '.join(LONELY_PSU_OPTIONS)}",
                hint='use "fail" (default), "remove", "certainty", "adjust" or "average"',
            )
        self.data = data
        self.ids = _as_list(ids)
        self.strata = _as_list(strata)
        self.fpc = _as_list(fpc)
        self.nest = bool(nest)
        self.lonely_psu = lonely_psu
        self._postcal: list = []
        n = len(data)
        for role, cols in (("ids", self.ids), ("strata", self.strata), ("fpc", self.fpc)):
            for c in cols:
                if c not in data.columns:
                    raise _missing_column(data, c, role)
                if data[c].isna().any():
                    row = int(np.flatnonzero(data[c].isna().to_numpy())[0])
                    raise DesignError(
                        f"missing values in {role} column {c!r}",
                        row=row,
                        column=c,
                        rule=f"{role} may not be missing",
                        hint="drop or impute these rows before building the design",
                    )
        n_stages = max(len(self.ids), 1)
        if len(self.strata) > n_stages:
            raise DesignError(
                "more strata columns than sampling stages",
                rule="one strata column per stage at most",
                hint="give one ids column per stage",
            )
        if self.fpc and len(self.fpc) != n_stages:
            if not (len(self.fpc) == 1 and n_stages >= 1):
                raise DesignError(
                    f"{len(self.fpc)} fpc columns for {n_stages} stages",
                    rule="fpc for the first stage or for every stage",
                    hint="give one fpc column per ids column, or only the first",
                )

        # cluster ids per stage (R: later stages are the interaction with earlier ones)
        raw_ids = [data[c].to_numpy() for c in self.ids] or [np.arange(n)]
        if len(np.unique(_codes(raw_ids[0])[0])) == 1 and not (nest and self.strata):
            raise DesignError(
                "the design has only one primary sampling unit",
                column=self.ids[0] if self.ids else None,
                rule="at least two PSUs",
                hint="check the ids column, or use ids=None for unclustered data",
            )
        raw_strata = [data[c].to_numpy() for c in self.strata] or [np.ones(n, dtype=np.int64)]
        ids_codes = []
        for s in range(n_stages):
            code, _ = _codes(*raw_ids[: s + 1])
            if self.nest and self.strata:
                code, _ = _codes(*raw_strata[: min(s + 1, len(raw_strata))], code)
            ids_codes.append(code)
        if not self.nest and self.strata:
            psu, ns = _codes(ids_codes[0])
            st, _ = _codes(raw_strata[0])
            pairs = np.unique(psu * (st.max() + 1) + st)
            per_psu = np.bincount(pairs // (st.max() + 1), minlength=ns)
            if (per_psu > 1).any():
                bad = int(np.flatnonzero(per_psu > 1)[0])
                row = int(np.flatnonzero(psu == bad)[0])
                raise DesignError(
                    "a PSU appears in more than one stratum",
                    row=row,
                    column=self.ids[0] if self.ids else None,
                    rule="clusters nested in strata at the top level",
                    hint="use nest=True if cluster ids are reused across strata",
                )
        strata_codes = [_codes(raw_strata[0])[0]]
        for s in range(1, n_stages):
            strata_codes.append(
                _codes(raw_strata[min(s, len(raw_strata) - 1)], ids_codes[s - 1])[0]
            )

        # sample sizes per stratum and fpc (R's as.fpc)
        sampsize, popsize = [], []
        for s in range(n_stages):
            clu, nc = _codes(strata_codes[s], ids_codes[s])
            stra = strata_codes[s]
            clu_stra = np.zeros(nc, dtype=np.int64)
            clu_stra[clu] = stra
            npsu = np.bincount(clu_stra, minlength=int(stra.max()) + 1).astype(float)
            sampsize.append(npsu[stra])
        fpc_cols = [data[c].to_numpy(dtype=float) for c in self.fpc]
        if fpc_cols:
            allv = np.concatenate(fpc_cols)
            is_pop = bool((allv > 1).any())
            if is_pop != bool((allv >= 1).all()):
                raise DesignError(
                    "fpc mixes population sizes (> 1) and sampling fractions (< 1)",
                    column=", ".join(self.fpc),
                    rule="all fpc >= 1 (sizes) or all fpc <= 1 (fractions)",
                    hint="give either population counts or sampling fractions",
                )
            for s, v in enumerate(fpc_cols):
                pop = v if is_pop else sampsize[s] / v
                if (pop < sampsize[s] - 1e-9 * sampsize[s]).any():
                    row = int(np.flatnonzero(pop < sampsize[s])[0])
                    raise DesignError(
                        "fpc implies more than 100 % sampling in a stratum",
                        row=row,
                        column=self.fpc[s],
                        rule="population size >= sampled clusters in each stratum",
                        hint="fpc is the number of PSUs in the population stratum, not people",
                    )
                popsize.append(pop)

        # weights
        if weights is not None and probs is not None:
            raise DesignError(
                "both weights and probs were given",
                rule="one of weights= or probs=",
                hint="drop one of them",
            )
        if weights is not None:
            if weights not in data.columns:
                raise _missing_column(data, weights, "weights")
            w = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            col = weights
        elif probs is not None:
            pcols = _as_list(probs)
            for c in pcols:
                if c not in data.columns:
                    raise _missing_column(data, c, "probs")
            p = np.prod([data[c].to_numpy(dtype=float, na_value=np.nan) for c in pcols], axis=0)
            with np.errstate(divide="ignore"):
                w = 1.0 / p
            col = ", ".join(pcols)
        elif popsize:
            w = np.prod([popsize[s] / sampsize[s] for s in range(len(popsize))], axis=0)
            col = None
        else:
            warnings.warn(
                "No weights or probabilities supplied, assuming equal probability",
                stacklevel=2,
            )
            w = np.ones(n)
            col = None
        if np.isnan(w).any():
            row = int(np.flatnonzero(np.isnan(w))[0])
            raise DesignError(
                "missing sampling weights",
                row=row,
                column=col,
                rule="weights must be present for every respondent",
                hint="drop respondents without a weight, or set their weight to 0",
            )
        if (w < 0).any() or np.isinf(w).any():
            row = int(np.flatnonzero((w < 0) | np.isinf(w))[0])
            raise DesignError(
                f"invalid sampling weight {w[row]!r}",
                row=row,
                column=col,
                rule="weights must be finite and >= 0",
                hint="check the weight column (probs must be > 0)",
            )
        self.weights = np.asarray(w, dtype=float)

        self._stages, self._agg, fail = variance.build_stages(
            n, strata_codes, ids_codes, popsize, sampsize, lonely_psu
        )
        if fail is not None:
            s, row = fail
            label = data[self.strata[min(s, len(self.strata) - 1)]].iloc[row] if (
                self.strata
            ) else None
            where = f"stratum {label!r}" if s == 0 and label is not None else "a stratum"
            raise DesignError(
                f"{where} has only one PSU at stage {s + 1}",
                row=row,
                rule='lonely_psu="fail" (R: options(survey.lonely.psu="fail"))',
                hint='choose lonely_psu="adjust", "average", "certainty" or "remove", '
                "or merge the stratum with a neighbour",
            )

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        st = self._stages[0]
        return (
            f"SurveyDesign({len(self.data)} rows, {st.n_clu} PSUs, {len(st.npsu)} strata, "
            f"{len(self.ids) or 1} stage(s), df={self.degf()}, lonely_psu={self.lonely_psu!r}"
            + (f", {len(self._postcal)} calibration step(s)" if self._postcal else "")
            + ")"
        )

    @property
    def calibrated(self) -> bool:
        """True when post-stratification, raking or calibration steps are attached."""
        return bool(self._postcal)

    def degf(self, present: np.ndarray | None = None) -> int:
        """Design degrees of freedom: PSUs minus strata over rows with non-zero weight.

        Parameters
        ----------
        present : numpy.ndarray of bool, optional
            Count only these rows (default: ``weights != 0``).

        Returns
        -------
        int
            R's ``degf(design)``.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"psu": [1, 1, 2, 3, 4, 4], "st": [1, 1, 1, 2, 2, 2],
        ...                    "w": [1.0] * 6})
        >>> d = SurveyDesign(df, ids="psu", strata="st", weights="w")
        >>> d.degf(), d.subset(df["st"] == 1).degf()
        (2, 1)
        """
        st = self._stages[0]
        keep = self.weights != 0 if present is None else np.asarray(present, dtype=bool)
        if not keep.any():
            return 0
        return int(len(np.unique(st.clu[keep])) - len(np.unique(st.stra[keep])))

    def column(self, name, *, numeric: bool = True) -> np.ndarray:
        """The values of one column (float with NaN for missing when ``numeric``).

        Raises :class:`~ssp_research.core.errors.DataError` naming close matches when the column
        does not exist, or when a numeric column holds text.
        """
        if name not in self.data.columns:
            raise _missing_column(self.data, name, "variable", error=DataError)
        s = self.data[name]
        if not numeric:
            return s.to_numpy()
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        if s.dtype == bool:
            return s.to_numpy(dtype=float)
        try:
            return pd.to_numeric(s, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"column {name!r} is not numeric",
                column=name,
                rule="estimators need numeric (or 0/1) values",
                hint="recode it with the codebook, or make an indicator column",
            ) from exc

    # ------------------------------------------------------------------ copies
    def _with(self, weights: np.ndarray | None = None, postcal: list | None = None):
        """A shallow copy with new weights and/or calibration steps (shares the structure)."""
        new = object.__new__(SurveyDesign)
        new.__dict__.update(self.__dict__)
        if weights is not None:
            w = np.asarray(weights, dtype=float)
            if w.shape != self.weights.shape:
                raise DesignError(
                    "new weights have the wrong length",
                    rule=f"{len(self.weights)} weights",
                    hint="pass one weight per row of the design",
                )
            new.weights = w
        if postcal is not None:
            new._postcal = list(postcal)
        else:
            new._postcal = list(self._postcal)
        return new

    def assign(self, **columns) -> SurveyDesign:
        """A copy whose data has extra (or replaced) columns: same rows, weights and structure.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"s": [1, 1, 2, 2], "w": [1.0] * 4, "y": [1.0, 2, 3, 4]})
        >>> d = SurveyDesign(df, ids="s", weights="w").assign(y2=lambda f: 2 * f["y"])
        >>> float(d.mean("y2")["estimate"].iloc[0])
        5.0
        """
        new = self._with()
        new.data = self.data.assign(**columns)
        return new

    def first_stage(self) -> tuple[np.ndarray, np.ndarray]:
        """Integer codes of the first-stage strata and PSUs, one per row (PSUs unique across
        strata): what a fast, with-replacement variance over domains needs."""
        st = self._stages[0]
        return st.stra, st.clu

    def subset(self, mask) -> SurveyDesign:
        """A domain: rows outside ``mask`` get weight 0; PSUs, strata and fpc are kept.

        Parameters
        ----------
        mask : array-like of bool or pandas.Series
            True for respondents in the domain (missing counts as False).

        Returns
        -------
        SurveyDesign
            R's ``subset(design, mask)``: the variance uses the whole design.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3], "g": list("ababab"),
        ...                    "w": [1.0] * 6, "y": [1.0, 2, 3, 4, 5, 6]})
        >>> sub = SurveyDesign(df, ids="s", weights="w").subset(df["g"] == "a")
        >>> sub.weights.tolist(), int(sub.mean("y")["n"].iloc[0])
        ([1.0, 0.0, 1.0, 0.0, 1.0, 0.0], 3)
        """
        m = pd.Series(mask).fillna(False).to_numpy(dtype=bool) if not isinstance(
            mask, np.ndarray
        ) else mask.astype(bool)
        if m.shape != self.weights.shape:
            raise DesignError(
                "subset mask has the wrong length",
                rule=f"one value per row ({len(self.weights)})",
                hint="build the mask from design.data",
            )
        return self._with(weights=np.where(m, self.weights, 0.0))

    # ------------------------------------------------------------------ variance
    def vcov(self, scores, present: np.ndarray | None = None) -> np.ndarray:
        """Taylor-linearised covariance of weighted scores (R's ``svyrecvar``).

        Parameters
        ----------
        scores : array-like, shape (n,) or (n, k)
            Per-row linearised values already multiplied by the weights (rows outside the
            domain or missing are 0): the rows' contributions to the estimator's total
            estimating function.
        present : numpy.ndarray of bool, optional
            Rows R would keep in its design (only matters for ``lonely_psu="average"``,
            which counts the strata present); default ``weights != 0``.

        Returns
        -------
        numpy.ndarray, shape (k, k)
            The covariance matrix. Each object in ``self._postcal`` first replaces the
            scores by ``obj.adjust(scores)`` (residuals from post-strata, raking or
            calibration, as R does with ``postStrata``), in order.
        """
        return variance.vcov(self, scores, present)

    def _domain_var(self, z, dom, ndom, present=None) -> np.ndarray:
        """Variances of many domain estimators in one pass (see ``variance.domain_var``):
        row i of the (n, m) scores ``z`` counts only in domain ``dom[i]``; returns (ndom, m)."""
        return variance.domain_var(self, z, dom, ndom, present)

    def _domain_var_lin(self, bases, coefs, dom, ndom):
        """Fast domain variances of scores linear in a few base columns, or None when it
        does not apply (see ``variance.domain_var_lin``)."""
        return variance.domain_var_lin(self, bases, coefs, dom, ndom)

    # ------------------------------------------------------------------ estimators
    def mean(self, variables: str | list[str], by: str | list[str] | None = None, *,
             level: float = 0.95, ci_df: str = "normal", deff: bool = False) -> pd.DataFrame:
        """Design-based means (R's ``svymean``); see :func:`ssp_research.survey.estimate.mean`."""
        return estimate.mean(self, variables, by=by, level=level, ci_df=ci_df, deff=deff)

    def total(self, variables: str | list[str], by: str | list[str] | None = None, *,
              level: float = 0.95, ci_df: str = "normal", deff: bool = False) -> pd.DataFrame:
        """Design-based totals (R's ``svytotal``); see
        :func:`ssp_research.survey.estimate.total`."""
        return estimate.total(self, variables, by=by, level=level, ci_df=ci_df, deff=deff)

    def proportion(self, variables: str | list[str], by: str | list[str] | None = None, *,
                   method: str = "logit", level: float = 0.95,
                   deff: bool = False) -> pd.DataFrame:
        """Proportions with R's ``svyciprop`` intervals; see
        :func:`ssp_research.survey.estimate.proportion`."""
        return estimate.proportion(self, variables, by=by, method=method, level=level,
                                   deff=deff)

    def ratio(self, numerator: str | list[str], denominator: str | list[str],
              by: str | list[str] | None = None, *, level: float = 0.95,
              ci_df: str = "normal") -> pd.DataFrame:
        """Ratios of totals (R's ``svyratio``); see :func:`ssp_research.survey.estimate.ratio`."""
        return estimate.ratio(self, numerator, denominator, by=by, level=level, ci_df=ci_df)

    def quantile(self, variables: str | list[str], quantiles=(0.5,),
                 by: str | list[str] | None = None, *, level: float = 0.95,
                 qrule: str = "math", interval_type: str = "mean") -> pd.DataFrame:
        """Quantiles with R's ``svyquantile`` rules and intervals; see
        :func:`ssp_research.survey.quantiles.quantile`."""
        return estimate.quantile(self, variables, quantiles, by=by, level=level, qrule=qrule,
                                 interval_type=interval_type)

    # ------------------------------------------------------------------ weighting
    def poststratify(self, strata: str | list[str], population, *,
                     partial: bool = False) -> SurveyDesign:
        """Post-stratify (R's ``postStratify``); see
        :func:`ssp_research.survey.weights.poststratify`."""
        return weights.poststratify(self, strata, population, partial=partial)

    def rake(self, margins: dict, *, maxit: int = 10, epsilon: float = 1.0,
             progress: bool = False) -> SurveyDesign:
        """Rake to margins (R's ``rake``); see :func:`ssp_research.survey.weights.rake`."""
        return weights.rake(self, margins, maxit=maxit, epsilon=epsilon, progress=progress)

    def calibrate(self, formula: str, population: dict, *, calfun: str = "linear",
                  bounds=None, bounds_const: bool = False, maxit: int = 50,
                  epsilon=1e-7, force: bool = False) -> SurveyDesign:
        """Linear, raking or logit calibration with bounds (R's ``calibrate``); see
        :func:`ssp_research.survey.weights.calibrate`."""
        return weights.calibrate(self, formula, population, calfun=calfun, bounds=bounds,
                                 bounds_const=bounds_const, maxit=maxit, epsilon=epsilon,
                                 force=force)

    # ------------------------------------------------------------------ models and tests
    def glm(self, formula: str, family: str = "gaussian", *,
            level: float = 0.95, exponentiate: bool = False) -> pd.DataFrame:
        """Design-based GLM (R's ``svyglm``); see :func:`ssp_research.survey.models.svyglm`."""
        return models.svyglm(self, formula, family=family, level=level,
                             exponentiate=exponentiate)

    def ttest(self, formula: str, *, level: float = 0.95) -> pd.DataFrame:
        """Design-based t-test (R's ``svyttest``); see
        :func:`ssp_research.survey.compare.svyttest`."""
        return compare.svyttest(self, formula, level=level)

    def contrast(self, variables=None, contrasts=None, *, by=None, statistic: str = "mean",
                 level: float = 0.95) -> pd.DataFrame:
        """Linear and nonlinear contrasts (R's ``svycontrast``); see
        :func:`ssp_research.survey.compare.svycontrast`."""
        return compare.svycontrast(self, variables, contrasts, by=by, statistic=statistic,
                                   level=level)

    def chisq(self, row: str, column: str, *, statistic: str = "F") -> pd.DataFrame:
        """Rao-Scott tests of association (R's ``svychisq``); see
        :func:`ssp_research.survey.compare.svychisq`."""
        return compare.svychisq(self, row, column, statistic=statistic)
