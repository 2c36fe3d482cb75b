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
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

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
    calibrated : bool
        True when post-stratification, raking or calibration steps are attached.

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
        ids: str | Sequence[str] | None = None,
        strata: str | Sequence[str] | None = None,
        weights: str | None = None,
        fpc: str | Sequence[str] | None = None,
        *,
        probs: str | Sequence[str] | None = None,
        nest: bool = False,
        lonely_psu: Literal["fail", "remove", "certainty", "adjust", "average"] = "fail",
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
        """True when post-stratification, raking or calibration steps are attached.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"s": [1, 2, 3, 4], "g": list("abab"), "w": [1.0] * 4})
        >>> d = SurveyDesign(df, ids="s", weights="w")
        >>> d.calibrated, d.poststratify("g", {"a": 10, "b": 20}).calibrated
        (False, True)
        """
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

    def column(self, name: str, *, numeric: bool = True) -> np.ndarray:
        """The values of one column of the data, as the estimators read them.

        Parameters
        ----------
        name : str
            A column of :attr:`data`.
        numeric : bool, default True
            Convert to float (booleans to 0/1, missing to NaN); ``False`` returns the values
            as they are.

        Returns
        -------
        numpy.ndarray
            One value per row of the design.

        Raises
        ------
        DataError
            The column does not exist (the error names close matches), or a numeric column
            holds text.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"s": [1, 2, 3], "w": [1.0] * 3, "ok": [True, False, None]})
        >>> SurveyDesign(df, ids="s", weights="w").column("ok").tolist()
        [1.0, 0.0, nan]
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

    def assign(self, **columns: Any) -> SurveyDesign:
        """A copy whose data has extra (or replaced) columns: same rows, weights and structure.

        R's ``update(design, name = expr)``.

        Parameters
        ----------
        **columns : array-like, scalar or callable
            New columns by name, as :meth:`pandas.DataFrame.assign`: a value per row, a
            scalar, or a function of the data frame.

        Returns
        -------
        SurveyDesign
            The same design (weights, calibration steps, domains) with the new columns.

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
        """Integer codes of the first-stage strata and PSUs, one per row.

        What a fast, with-replacement variance over domains needs (the analysis stage's
        domain engine uses it).

        Returns
        -------
        strata : numpy.ndarray of int
            The stratum of each row, coded 0, 1, ...
        psus : numpy.ndarray of int
            The PSU of each row, coded 0, 1, ... and unique across strata.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"st": ["a", "a", "b", "b"], "psu": [1, 2, 1, 2], "w": 1.0})
        >>> strata, psus = SurveyDesign(df, ids="psu", strata="st", weights="w",
        ...                             nest=True).first_stage()
        >>> strata.tolist(), psus.tolist()
        ([0, 0, 1, 1], [0, 1, 2, 3])
        """
        st = self._stages[0]
        return st.stra, st.clu

    def subset(self, mask: np.ndarray | pd.Series | Sequence[bool]) -> SurveyDesign:
        """A domain: rows outside ``mask`` get weight 0; PSUs, strata and fpc are kept.

        Parameters
        ----------
        mask : numpy.ndarray, pandas.Series or sequence of bool
            True for respondents in the domain, one value per row of :attr:`data` (missing
            counts as False).

        Returns
        -------
        SurveyDesign
            R's ``subset(design, mask)``: the variance uses the whole design.

        Raises
        ------
        DesignError
            The mask does not have one value per row.

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
    def vcov(self, scores: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
        """Taylor-linearised covariance of weighted scores (R's ``svyrecvar``).

        Parameters
        ----------
        scores : numpy.ndarray, shape (n,) or (n, k)
            Per-row linearised values already multiplied by the weights (rows outside the
            domain or missing are 0): the rows' contributions to the estimator's total
            estimating function.
        present : numpy.ndarray of bool, optional
            Rows R would keep in its design (only matters for ``lonely_psu="average"``,
            which counts the strata present); default ``weights != 0``.

        Returns
        -------
        numpy.ndarray, shape (k, k)
            The covariance matrix. Each calibration step attached to the design (by
            :meth:`poststratify`, :meth:`rake`, :meth:`calibrate`) first replaces the scores
            by their residuals, in order, as R does with ``design$postStrata``.

        Examples
        --------
        The variance of a weighted mean is the variance of its linearised scores
        :math:`w_i (y_i - \\hat\\mu) / \\sum_j w_j`:

        >>> import pandas as pd
        >>> df = pd.DataFrame({"school": [1, 1, 2, 2, 3, 3], "w": [2.0, 2, 3, 3, 1, 1],
        ...                    "y": [1.0, 3, 2, 4, 5, 7]})
        >>> d = SurveyDesign(df, ids="school", weights="w")
        >>> mu = (d.weights * df["y"]).sum() / d.weights.sum()
        >>> v = d.vcov(d.weights * (df["y"].to_numpy() - mu) / d.weights.sum())
        >>> v.shape, round(float(np.sqrt(v[0, 0])), 6)
        ((1, 1), 0.756148)

        That is the standard error of ``d.mean("y")`` (R: ``SE(svymean(~y, design))``).
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
    def mean(self, variables: str | Sequence[str], by: str | Sequence[str] | None = None, *,
             level: float = 0.95, ci_df: Literal["normal", "design"] = "normal",
             deff: bool = False) -> pd.DataFrame:
        """Design-based means, overall or by domain (R's ``svymean`` and ``svyby``).

        Parameters
        ----------
        variables : str or sequence of str
            Numeric (or boolean) columns, or factors: a text or categorical column gives one
            row per level (the share of each level, R's ``svymean(~factor(x))``). Missing
            values are left out, each variable on its own non-missing rows.
        by : str or sequence of str, optional
            Domain columns; all domains are estimated in one pass, each with the whole
            design. Rows with a missing ``by`` value are in no domain.
        level : float, default 0.95
            Confidence level of ``ci_low`` and ``ci_high``.
        ci_df : {"normal", "design"}, default "normal"
            "normal" is R's ``confint(svymean(...))``; "design" uses a t quantile with the
            domain's design degrees of freedom.
        deff : bool, default False
            Add R's design effect (``deff=TRUE``: against simple random sampling without
            replacement) as a column ``deff``.

        Returns
        -------
        pandas.DataFrame
            ``variable``, ``category`` (only for factors), the ``by`` columns, ``estimate``,
            ``se``, ``ci_low``, ``ci_high``, ``df`` (design df of the domain), ``n``
            (respondents with a value), optionally ``deff``.

        See Also
        --------
        ssp_research.survey.estimate.mean : The same with the design as first argument; its
            Notes give the formula.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3, 4, 4], "g": list("abababab"),
        ...                    "w": [1.0, 2, 1, 2, 1, 2, 1, 2], "x": [1.0, 2, 3, 5, 6, 8, 2, 4]})
        >>> d = SurveyDesign(df, ids="s", weights="w")
        >>> d.mean("x", by="g")[["variable", "g", "estimate", "se", "df", "n"]].round(4)
          variable  g  estimate      se   df  n
        0        x  a      3.00  1.0801  3.0  4
        1        x  b      4.75  1.2500  3.0  4

        In R: ``svyby(~x, ~g, svydesign(ids=~s, weights=~w, data=df), svymean)``.
        """
        return estimate.mean(self, variables, by=by, level=level, ci_df=ci_df, deff=deff)

    def total(self, variables: str | Sequence[str], by: str | Sequence[str] | None = None, *,
              level: float = 0.95, ci_df: Literal["normal", "design"] = "normal",
              deff: bool = False) -> pd.DataFrame:
        """Design-based totals, overall or by domain (R's ``svytotal``).

        For a 0/1 variable the total is the estimated number of population members with the
        attribute; for a factor, the estimated number in each level.

        Parameters
        ----------
        variables : str or sequence of str
            Numeric (or boolean) columns, or factors (one row per level). Missing values
            are left out.
        by : str or sequence of str, optional
            Domain columns (one vectorised pass).
        level : float, default 0.95
            Confidence level.
        ci_df : {"normal", "design"}, default "normal"
            Normal quantile (R's ``confint``) or t with the domain's design df.
        deff : bool, default False
            Add R's design effect as a column ``deff``.

        Returns
        -------
        pandas.DataFrame
            ``variable``, ``category`` (only for factors), the ``by`` columns, ``estimate``
            (weighted total), ``se``, ``ci_low``, ``ci_high``, ``df``, ``n``, optionally
            ``deff``.

        See Also
        --------
        ssp_research.survey.estimate.total : The same with the design as first argument.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3], "w": [2.0, 2, 3, 3, 1, 1],
        ...                    "y": [1.0, 3, 2, 4, 5, 7]})
        >>> float(SurveyDesign(df, ids="s", weights="w").total("y")["estimate"].iloc[0])
        38.0

        In R: ``svytotal(~y, svydesign(ids=~s, weights=~w, data=df))``.
        """
        return estimate.total(self, variables, by=by, level=level, ci_df=ci_df, deff=deff)

    def proportion(
        self,
        variables: str | Sequence[str],
        by: str | Sequence[str] | None = None,
        *,
        method: Literal["logit", "likelihood", "asin", "beta", "mean", "xlogit",
                        "wilson"] = "logit",
        level: float = 0.95,
        deff: bool = False,
    ) -> pd.DataFrame:
        """Proportions with R's ``svyciprop`` confidence intervals, overall or by domain.

        Parameters
        ----------
        variables : str or sequence of str
            Indicator columns with values 0/1 (or True/False), or factors (text or
            categorical columns): one proportion per level, each with its own interval.
            Missing values are left out.
        by : str or sequence of str, optional
            Domain columns (one vectorised pass for all domains and indicators).
        method : {"logit", "likelihood", "asin", "beta", "mean", "xlogit", "wilson"}
            The interval, as R's ``svyciprop(method=)``: "logit" (R's default), "likelihood"
            (profile likelihood of the quasibinomial model), "asin" (arcsine), "beta"
            (Korn-Graubard, for small domains), "mean" (Wald), "xlogit"; "wilson" is not in
            R's survey: the Wilson score interval with the design-effective sample size.
        level : float, default 0.95
            Confidence level; the intervals use t quantiles with the domain's design df,
            as R.
        deff : bool, default False
            Add R's design effect as a column ``deff``.

        Returns
        -------
        pandas.DataFrame
            ``variable``, ``category`` (only for factors), the ``by`` columns, ``estimate``
            (weighted proportion), ``se`` (R's ``SE(svyciprop(...))``), ``ci_low``,
            ``ci_high``, ``df``, ``n``, ``count`` (respondents with the attribute),
            optionally ``deff``. A domain whose proportion is 0 or 1 has no interval (NaN)
            except with "mean", as in R.

        Raises
        ------
        ParameterError
            An unknown ``method``.
        DataError
            An indicator with values other than 0 and 1.

        See Also
        --------
        ssp_research.survey.estimate.proportion : The same with the design as first
            argument; its Notes give every interval's formula.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3, 4, 4], "g": list("abababab"),
        ...                    "w": [1.0, 2, 1, 2, 1, 2, 1, 2], "y": [0, 1, 1, 1, 0, 0, 1, 0]})
        >>> d = SurveyDesign(df, ids="s", weights="w")
        >>> r = d.proportion("y", method="beta", level=0.95)
        >>> r[["estimate", "ci_low", "ci_high", "df", "n", "count"]].round(6)
           estimate    ci_low   ci_high   df  n  count
        0       0.5  0.038207  0.961793  3.0  8      4

        In R: ``svyciprop(~y, svydesign(ids=~s, weights=~w, data=df), method="beta")``.
        By domain, with R's default logit interval:

        >>> d.proportion("y", by="g")[["g", "estimate", "ci_low", "ci_high", "n"]].round(4)
           g  estimate  ci_low  ci_high  n
        0  a       0.5  0.0247   0.9753  4
        1  b       0.5  0.0247   0.9753  4
        """
        return estimate.proportion(self, variables, by=by, method=method, level=level,
                                   deff=deff)

    def ratio(self, numerator: str | Sequence[str], denominator: str | Sequence[str],
              by: str | Sequence[str] | None = None, *, level: float = 0.95,
              ci_df: Literal["normal", "design"] = "normal") -> pd.DataFrame:
        """Ratios of totals :math:`\\hat Y / \\hat X`, overall or by domain (R's ``svyratio``).

        Parameters
        ----------
        numerator, denominator : str or sequence of str
            Numeric columns; every numerator is divided by every denominator. Rows missing
            either are left out.
        by : str or sequence of str, optional
            Domain columns.
        level : float, default 0.95
            Confidence level.
        ci_df : {"normal", "design"}, default "normal"
            Normal quantile (R's ``confint``) or t with the domain's design df.

        Returns
        -------
        pandas.DataFrame
            ``variable`` ("numerator/denominator"), the ``by`` columns, ``estimate``,
            ``se``, ``ci_low``, ``ci_high``, ``df``, ``n``.

        See Also
        --------
        ssp_research.survey.estimate.ratio : The same with the design as first argument.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"s": [1, 2, 3, 4], "y": [1.0, 2, 3, 4], "x": [2.0, 2, 4, 4],
        ...                    "w": [1.0, 2, 1, 2]})
        >>> r = SurveyDesign(df, ids="s", weights="w").ratio("y", "x")
        >>> r[["variable", "estimate", "se"]].round(6)
          variable  estimate        se
        0      y/x  0.888889  0.088453

        In R: ``svyratio(~y, ~x, svydesign(ids=~s, weights=~w, data=df))``.
        """
        return estimate.ratio(self, numerator, denominator, by=by, level=level, ci_df=ci_df)

    def quantile(
        self,
        variables: str | Sequence[str],
        quantiles: float | Sequence[float] = (0.5,),
        by: str | Sequence[str] | None = None,
        *,
        level: float = 0.95,
        qrule: Literal["math", "school", "shahvaish", "hf1", "hf2", "hf3", "hf4", "hf5",
                       "hf6", "hf7", "hf8", "hf9"] = "math",
        interval_type: Literal["mean", "beta", "xlogit", "asin", "score"] = "mean",
    ) -> pd.DataFrame:
        """Quantiles with R's ``svyquantile`` rules and confidence intervals.

        Parameters
        ----------
        variables : str or sequence of str
            Numeric columns; missing values are left out.
        quantiles : float or sequence of float, default (0.5,)
            Probabilities in [0, 1].
        by : str or sequence of str, optional
            Domain columns (R's ``svyby(..., svyquantile)``).
        level : float, default 0.95
            Confidence level.
        qrule : {"math", "school", "shahvaish", "hf1", ..., "hf9"}, default "math"
            R's quantile rule (``qrule=``): "math" (= "hf1", the smallest value whose
            weighted CDF reaches p), "school" (= "hf2"), "shahvaish", and the weighted
            Hyndman-Fan types "hf3" ... "hf9" ("hf7" is R's ``quantile()`` default).
        interval_type : {"mean", "beta", "xlogit", "asin", "score"}, default "mean"
            R's ``interval.type=``: "mean" (Woodruff: the interval of the CDF at the
            estimate, mapped back through the rule); "beta", "xlogit", "asin": that
            proportion's Korn-Graubard, logit or arcsine interval; "score": Francisco and
            Fuller's inversion of the score test.

        Returns
        -------
        pandas.DataFrame
            ``variable``, the ``by`` columns, ``quantile`` (the probability), ``estimate``,
            ``se`` (R's: interval width / 2t), ``ci_low``, ``ci_high``, ``df``, ``n``.

        Raises
        ------
        ParameterError
            A probability outside [0, 1], an unknown rule or interval type.

        See Also
        --------
        ssp_research.survey.quantiles.quantile : The same with the design as first
            argument; its Notes give each rule and interval.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"s": range(8), "y": [3.0, 1, 4, 1, 5, 9, 2, 6], "w": 1.0})
        >>> d = SurveyDesign(df, ids="s", weights="w")
        >>> r = d.quantile("y", [0.5])
        >>> r[["quantile", "estimate", "ci_low", "ci_high"]]
           quantile  estimate  ci_low  ci_high
        0       0.5       3.0     1.0      9.0

        In R: ``svyquantile(~y, design, 0.5)``. Another rule and the score interval:

        >>> df = pd.DataFrame({"s": np.repeat(range(10), 3), "y": np.arange(30.0) % 11,
        ...                    "w": 1.0 + np.arange(30) % 3})
        >>> d = SurveyDesign(df, ids="s", weights="w")
        >>> r = d.quantile("y", 0.5, qrule="hf7", interval_type="score")
        >>> r[["estimate", "ci_low", "ci_high"]].round(4).iloc[0].tolist()
        [4.8333, 2.7, 6.65]

        In R: ``svyquantile(~y, design, 0.5, qrule="hf7", interval.type="score")``.
        """
        return estimate.quantile(self, variables, quantiles, by=by, level=level, qrule=qrule,
                                 interval_type=interval_type)

    # ------------------------------------------------------------------ weighting
    def poststratify(self, strata: str | Sequence[str],
                     population: Mapping[Hashable, float] | pd.DataFrame, *,
                     partial: bool = False) -> SurveyDesign:
        """Post-stratify: scale the weights so each cell sums to its population count.

        R's ``postStratify(design, ~strata, population, partial=)``.

        Parameters
        ----------
        strata : str or sequence of str
            Post-stratification variable(s); several are crossed.
        population : mapping or pandas.DataFrame
            ``{level: N}`` (tuples of levels for several variables), or a frame with the
            variables and a ``Freq`` column (R's format).
        partial : bool, default False
            Ignore population cells without respondents (R's ``partial=TRUE``).

        Returns
        -------
        SurveyDesign
            A new design; every later variance uses the post-stratified residuals, as R.

        Raises
        ------
        DesignError
            A sampled cell without a population total, or a population cell without
            respondents (unless ``partial``).

        See Also
        --------
        ssp_research.survey.weights.poststratify : The same with the design as first
            argument; all its errors and the variance formula.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"g": ["a", "a", "b", "b", "b"], "psu": [1, 2, 3, 4, 5],
        ...                    "w": [1.0, 1, 2, 2, 2], "y": [1.0, 3, 2, 4, 6]})
        >>> d = SurveyDesign(df, ids="psu", weights="w")
        >>> d.poststratify("g", {"a": 10, "b": 30}).weights.tolist()
        [5.0, 5.0, 10.0, 10.0, 10.0]

        In R: ``postStratify(design, ~g, data.frame(g = c("a", "b"), Freq = c(10, 30)))``.
        """
        return weights.poststratify(self, strata, population, partial=partial)

    def rake(self, margins: Mapping[str | tuple[str, ...], Mapping[Hashable, float]], *,
             maxit: int = 10, epsilon: float = 1.0, progress: bool = False) -> SurveyDesign:
        """Rake (iterative proportional fitting) the weights to population margins.

        R's ``rake(design, sample.margins, population.margins, control=)``.

        Parameters
        ----------
        margins : mapping
            ``{variable: {level: N}}``; a key may be a tuple of variables for a crossed
            margin (then the levels are tuples too).
        maxit : int, default 10
            Maximum number of sweeps over all margins (R's ``control$maxit``).
        epsilon : float, default 1
            Convergence: stop when no cell of the cross-table of all margin variables
            changes by more than ``epsilon`` (weighted count) in a sweep; below 1 it is a
            fraction of the total weight (R's ``control$epsilon``).
        progress : bool, default False
            Show a progress bar over the sweeps (R's ``control$verbose``).

        Returns
        -------
        SurveyDesign
            A new design whose variances reflect the raking as R's.

        Warns
        -----
        RakingWarning
            When the margins did not converge within ``maxit`` sweeps (R warns too).

        See Also
        --------
        ssp_research.survey.weights.rake : The same with the design as first argument.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"a": list("xxyyxy"), "b": list("uvuvvu"), "psu": range(6),
        ...                    "w": [1.0, 2, 1, 2, 1, 2]})
        >>> r = SurveyDesign(df, ids="psu", weights="w").rake(
        ...     {"a": {"x": 40, "y": 60}, "b": {"u": 50, "v": 50}}, maxit=50, epsilon=1e-9)
        >>> r.data.assign(w=r.weights).groupby("a")["w"].sum().round(6).tolist()
        [40.0, 60.0]

        In R: ``rake(design, list(~a, ~b), list(pop_a, pop_b))``.
        """
        return weights.rake(self, margins, maxit=maxit, epsilon=epsilon, progress=progress)

    def calibrate(self, formula: str, population: Mapping[str, float] | Sequence[float], *,
                  calfun: Literal["linear", "raking", "logit"] = "linear",
                  bounds: tuple[float, float] | None = None, bounds_const: bool = False,
                  maxit: int = 50, epsilon: float | Sequence[float] = 1e-7,
                  force: bool = False) -> SurveyDesign:
        """Calibrate the weights to population totals: linear (GREG), raking or logit.

        R's ``calibrate(design, formula, population, calfun=, bounds=, bounds.const=)``.

        Parameters
        ----------
        formula : str
            The calibration model, R-style: ``"~ stype + api99"``.
        population : mapping or sequence
            Population totals by model-matrix column name (``{"(Intercept)": N,
            "stypeH": N_H, "api99": T}``), or a sequence in column order as R.
        calfun : {"linear", "raking", "logit"}, default "linear"
            R's calibration function of the g-weights.
        bounds : tuple of float, optional
            ``(lower, upper)`` bounds on the g-weights (new / old weight); ``None`` is
            unbounded. Logit calibration needs finite bounds.
        bounds_const : bool, default False
            The bounds are on the calibrated weights themselves (R's ``bounds.const``).
        maxit : int, default 50
            Newton iterations (R's ``maxit``).
        epsilon : float or sequence of float, default 1e-7
            Every total within ``epsilon * (1 + |total|)``; one value or one per total.
        force : bool, default False
            Keep the last step (with a warning) when the iterations do not converge.

        Returns
        -------
        SurveyDesign
            A new design whose variances use the calibration residuals, as R's.

        Raises
        ------
        ParameterError
            Unknown ``calfun``, totals that do not fit the model matrix, bounds not around 1.
        EstimationError
            Collinear calibration variables, or no convergence without ``force``.

        See Also
        --------
        ssp_research.survey.weights.calibrate : The same with the design as first argument
            (its Notes give the equations).

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"x": [1.0, 2, 3, 4], "psu": [1, 2, 3, 4], "w": [2.0] * 4})
        >>> c = SurveyDesign(df, ids="psu", weights="w").calibrate(
        ...     "~ x", {"(Intercept)": 10, "x": 30}, calfun="raking")
        >>> round(float(c.weights.sum()), 4)
        10.0

        In R: ``calibrate(design, ~x, c(10, 30), calfun = "raking")``.
        """
        return weights.calibrate(self, formula, population, calfun=calfun, bounds=bounds,
                                 bounds_const=bounds_const, maxit=maxit, epsilon=epsilon,
                                 force=force)

    # ------------------------------------------------------------------ models and tests
    def glm(self, formula: str,
            family: Literal["gaussian", "binomial", "quasibinomial", "poisson",
                            "quasipoisson"] = "gaussian", *,
            level: float = 0.95, exponentiate: bool = False) -> pd.DataFrame:
        """Design-based generalised linear model (R's ``svyglm``).

        Parameters
        ----------
        formula : str
            ``"y ~ x1 + x2 + C(g) + factor(grade)"``, with interactions (``a:b``, ``a*b``)
            and ``- 1``; syntax in :mod:`ssp_research.survey.formula` (terms named as R
            names them: ``factor(grade)9``, ``stypeH``).
        family : {"gaussian", "binomial", "quasibinomial", "poisson", "quasipoisson"}
            Identity, logit or log link. Quasi and plain families give the same estimates
            and standard errors (the sandwich variance uses no dispersion).
        level : float, default 0.95
            Confidence level of the t intervals (residual df: design df - coefficients + 1).
        exponentiate : bool, default False
            Report ``exp`` of the estimates and interval limits: odds ratios for a logit
            link, rate ratios for a log link (R's ``exp(cbind(coef(m), confint(m)))``);
            ``se``, ``statistic`` and ``p_value`` stay on the link scale.

        Returns
        -------
        pandas.DataFrame
            One row per coefficient: ``term``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
            ``df`` (residual df), ``n``, ``statistic`` (t) and ``p_value``. ``attrs`` holds
            ``vcov``, ``family``, ``formula``, ``degf``, ``df_residual``, ``assign``,
            ``deviance`` and ``naive_cov`` (what
            :func:`~ssp_research.survey.termtest.regtermtest` needs).

        Raises
        ------
        EstimationError
            An unknown column in the formula (with close matches), or a model that cannot
            be fitted.
        ParameterError
            An unknown family or a formula without a response.

        See Also
        --------
        ssp_research.survey.models.svyglm : The same with the design as first argument; its
            Notes give the estimating equations and the sandwich variance.
        ssp_research.survey.termtest.regtermtest : Joint tests of model terms.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"y": [1.0, 2.0, 2.5, 4.0, 5.5, 5.0], "x": [0, 1, 2, 3, 4, 5],
        ...                    "psu": [1, 1, 2, 2, 3, 3], "w": [2.0, 2, 3, 3, 1, 1]})
        >>> fit = SurveyDesign(df, ids="psu", weights="w").glm("y ~ x", level=0.95)
        >>> fit[["term", "estimate", "se", "df", "n"]].round(4)
                  term  estimate      se  df  n
        0  (Intercept)    0.9740  0.1380   1  6
        1            x    0.9351  0.0424   1  6

        In R: ``svyglm(y ~ x, svydesign(id = ~psu, weights = ~w, data = df))``.
        """
        return models.svyglm(self, formula, family=family, level=level,
                             exponentiate=exponentiate)

    def ttest(self, formula: str, *, level: float = 0.95) -> pd.DataFrame:
        """Design-based t-test of a difference in means, or of one mean against 0.

        R's ``svyttest(formula, design)``.

        Parameters
        ----------
        formula : str
            ``"y ~ group"`` (``group`` has exactly two levels; the difference is the second
            level minus the first) or ``"y ~ 1"`` (the mean against 0).
        level : float, default 0.95
            Confidence level.

        Returns
        -------
        pandas.DataFrame
            One row: ``variable``, ``contrast`` (e.g. ``"b - a"`` or ``"mean"``),
            ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df`` (design df - 1), ``n``,
            ``statistic`` (t), ``p_value`` (two-sided).

        Raises
        ------
        ParameterError
            A formula that is not ``y ~ group`` or ``y ~ 1``.

        See Also
        --------
        ssp_research.survey.compare.svyttest : The same with the design as first argument.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"y": [1.0, 2, 3, 5, 6, 8, 2, 4], "g": list("abababab"),
        ...                    "psu": [1, 1, 2, 2, 3, 3, 4, 4], "w": [1.0, 2] * 4})
        >>> t = SurveyDesign(df, ids="psu", weights="w").ttest("y ~ g", level=0.95)
        >>> t[["contrast", "estimate", "se", "df", "n", "statistic"]].round(4)
          contrast  estimate    se  df  n  statistic
        0    b - a      1.75  0.25   2  8        7.0

        In R: ``svyttest(y ~ g, design)``.
        """
        return compare.svyttest(self, formula, level=level)

    def contrast(
        self,
        variables: str | Sequence[str],
        contrasts: Mapping[str, Mapping[str, float] | Sequence[float]],
        *,
        by: str | Sequence[str] | None = None,
        statistic: Literal["mean", "total"] = "mean",
        level: float = 0.95,
    ) -> pd.DataFrame:
        """Linear contrasts of means or totals across domains or variables (R's ``svycontrast``).

        Parameters
        ----------
        variables : str or sequence of str
            Numeric variable(s) whose means (or totals) are contrasted.
        contrasts : mapping
            ``{name: {coefficient: weight}}`` (unnamed coefficients weigh 0), or
            ``{name: [w1, w2, ...]}`` in coefficient order. The coefficients are the ``by``
            levels (``"E"``; ``"E:Yes"`` for several ``by`` columns), the variable names
            without ``by``, or ``"api00:E"`` for several variables with ``by``.
        by : str or sequence of str, optional
            Domain column(s).
        statistic : {"mean", "total"}, default "mean"
            Contrast means or totals.
        level : float, default 0.95
            Confidence level.

        Returns
        -------
        pandas.DataFrame
            One row per contrast: ``variable``, ``contrast``, ``estimate``, ``se``,
            ``ci_low``, ``ci_high``, ``df`` (design df), ``n``, ``statistic`` (t),
            ``p_value``; ``attrs["vcov"]`` is the covariance of the contrasts.

        Raises
        ------
        ParameterError
            Empty contrasts, an unknown coefficient, or a weight list of the wrong length.

        See Also
        --------
        ssp_research.survey.compare.svycontrast : The same with the design (or a
            :meth:`glm` table, to contrast model terms) as first argument.

        Notes
        -----
        The domains' covariance is computed jointly (domains that share PSUs are
        correlated): R's ``svycontrast(svyglm(y ~ 0 + g, design), ...)``. R's nonlinear
        contrasts are not available.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"y": [1.0, 2, 3, 5, 6, 8, 2, 4], "g": list("abababab"),
        ...                    "psu": [1, 1, 2, 2, 3, 3, 4, 4], "w": [1.0, 2] * 4})
        >>> d = SurveyDesign(df, ids="psu", weights="w")
        >>> c = d.contrast("y", {"b - a": {"b": 1, "a": -1}}, by="g")
        >>> c[["contrast", "estimate", "se", "df", "n"]].round(4)
          contrast  estimate    se  df  n
        0    b - a      1.75  0.25   3  8

        In R: ``svycontrast(svyglm(y ~ 0 + g, design), c(gb = 1, ga = -1))``.
        """
        return compare.svycontrast(self, variables, contrasts, by=by, statistic=statistic,
                                   level=level)

    def chisq(self, row: str, column: str, *,
              statistic: Literal["F", "Chisq"] = "F") -> pd.DataFrame:
        """Rao-Scott test of association in a two-way table (R's ``svychisq``).

        Parameters
        ----------
        row, column : str
            The two categorical variables.
        statistic : {"F", "Chisq"}, default "F"
            "F": the second-order Rao-Scott F (R's default); "Chisq": the first-order
            (mean generalised design effect) corrected chi-square.

        Returns
        -------
        pandas.DataFrame
            One row: ``variable`` (``"row x column"``), ``test``, ``statistic``, ``ndf``,
            ``ddf`` (NaN for "Chisq"), ``p_value``, ``pearson_x2``, ``mean_deff``, ``n``.

        Raises
        ------
        EstimationError
            A variable with fewer than two levels.

        See Also
        --------
        ssp_research.survey.compare.svychisq : The same with the design as first argument;
            its Notes give the statistic.

        Examples
        --------
        >>> import pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> df = pd.DataFrame({"a": rng.choice(["x", "y"], 60), "b": rng.choice(["u", "v"], 60),
        ...                    "psu": np.repeat(np.arange(12), 5), "w": 1.0})
        >>> res = SurveyDesign(df, ids="psu", weights="w").chisq("a", "b", statistic="F")
        >>> res[["variable", "test", "ndf", "n"]]
          variable         test  ndf   n
        0    a x b  Rao-Scott F  1.0  60

        In R: ``svychisq(~a + b, design, statistic = "F")``.
        """
        return compare.svychisq(self, row, column, statistic=statistic)
