"""The vectorised engine of :mod:`ssp_research.analysis.indicators` (private).

Ratio (and directly standardised) domain estimates of many 0/1 or numeric variables for a
partition of rows into groups, with Taylor-linearised variances from PSU totals within strata
and the covariance of each group with a partner group (a school with its city), computed with
sparse group matrices in one pass. Design: weights, stratum codes, PSU codes (None: each row
its own PSU), with replacement; a stratum with one PSU is centred at zero (R's
``survey.lonely.psu = "adjust"``, which is exact for domain-mean scores).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from ssp_research.core.errors import DataError, EstimationError

__all__: list[str] = []


# --- the design as arrays ---------------------------------------------------------------------


class _Spec:
    """Weights, stratum codes, PSU codes (None: every row its own PSU) and PSUs per stratum."""

    def __init__(self, data: pd.DataFrame, w: np.ndarray, strata: np.ndarray,
                 psu: np.ndarray | None) -> None:
        self.data, self.w, self.strata, self.psu = data, w, strata, psu
        if psu is None:
            self.n_h = np.bincount(strata).astype(float)
        else:
            pairs = np.unique(np.stack([strata, psu]), axis=1)
            self.n_h = np.bincount(pairs[0], minlength=strata.max() + 1).astype(float)
        self.degf = float(self.n_h.sum() - (self.n_h > 0).sum())


def _codes(values: pd.Series | np.ndarray) -> np.ndarray:
    return pd.factorize(pd.Series(np.asarray(values)), sort=True)[0].astype(np.int64)


def _spec_from(obj: Any, weights: str, wave: str, school: str) -> _Spec:
    if isinstance(obj, pd.DataFrame):
        df = obj
        for col in (wave, school):
            if col not in df.columns:
                raise DataError(
                    f"the data has no {col!r} column", column=col,
                    rule="city design: strata = wave x school",
                    hint="pass a SurveyDesign, or name the columns with wave=/school=",
                )
        if weights in df.columns:
            w = pd.to_numeric(df[weights], errors="coerce").to_numpy("float64")
        else:
            w = np.ones(len(df))
        if np.isnan(w).any() or (w < 0).any():
            raise DataError(
                "weights are missing or negative", column=weights, rule="weights >= 0",
                hint="fix the weights or drop respondents without a weight",
            )
        strata = _codes(df[wave].astype(str) + "|" + df[school].astype(str))
        return _Spec(df, w, strata, None)
    # a SurveyDesign from ssp_research.survey.design: first-stage strata and PSUs (with replacement)
    if getattr(obj, "calibrated", False):
        raise EstimationError(
            "indicator tables do not take calibrated (post-stratified/raked) designs",
            rule="uncalibrated design",
            hint="pass the data with calibrated weights in the weight column, or use "
            "SurveyDesign.mean(..., by=...) for calibrated variance",
        )
    data = obj.data
    w = np.asarray(obj.weights, dtype="float64")
    stra, clu = obj.first_stage()
    strata = np.asarray(stra, dtype=np.int64)
    psu = np.asarray(clu, dtype=np.int64)
    if len(np.unique(psu)) == len(psu):
        psu = None
    return _Spec(data, w, strata, psu)


# --- the vectorised engine --------------------------------------------------------------------


def _gmat(codes: np.ndarray, ngroups: int) -> sparse.csr_matrix:
    keep = np.nonzero(codes >= 0)[0]
    return sparse.csr_matrix(
        (np.ones(len(keep)), (codes[keep], keep)), shape=(ngroups, len(codes))
    )


class _Level:
    """Ratio (or standardised) estimates of K variables for a partition of rows into groups,
    with the PSU totals of their linearised scores."""

    def __init__(self, spec: _Spec, rows: np.ndarray, group: np.ndarray, ngroups: int,
                 cell: np.ndarray, shares: np.ndarray, y: np.ndarray, valid: np.ndarray):
        ncell = len(shares)
        w = spec.w[rows][:, None] * valid
        yz = np.where(valid > 0, y, 0.0)
        sg = np.where(group >= 0, group * ncell + cell, -1)
        m = _gmat(sg, ngroups * ncell)
        wsum = np.asarray(m @ w)
        wy = np.asarray(m @ (w * yz))
        with np.errstate(invalid="ignore", divide="ignore"):
            p = wy / wsum
        k = y.shape[1]
        p3 = p.reshape(ngroups, ncell, k)
        active = shares > 0
        empty = (wsum.reshape(ngroups, ncell, k)[:, active, :] <= 0).any(axis=1)
        self.estimate = np.where(empty, np.nan, np.nansum(p3 * shares[None, :, None], axis=1))
        self.n = np.asarray(_gmat(group, ngroups) @ valid)
        self.count = np.asarray(_gmat(group, ngroups) @ (yz * valid))
        self.empty_cell = empty & (self.n > 0)
        # row scores z = s_c w (y - p_gc) / W_gc
        safe_p = np.nan_to_num(p)
        safe_w = np.where(wsum > 0, wsum, 1.0)
        inside = sg >= 0
        sgi = np.where(inside, sg, 0)
        z = (shares[cell][:, None] * w * (yz - safe_p[sgi]) / safe_w[sgi]) * inside[:, None]
        # PSU x group cells
        strata = spec.strata[rows]
        psu = rows if spec.psu is None else spec.psu[rows]
        key = np.where(inside, psu.astype(np.int64) * ngroups + group, -1)
        ukey, inv = np.unique(key[inside], return_inverse=True)
        mc = sparse.csr_matrix(
            (np.ones(inside.sum()), (inv, np.nonzero(inside)[0])), shape=(len(ukey), len(rows))
        )
        t = np.asarray(mc @ z)
        first = np.zeros(len(ukey), dtype=np.int64)
        first[inv] = np.nonzero(inside)[0]
        self.cell_key = ukey  # psu * ngroups + group, sorted
        self.cell_group = ukey % ngroups
        self.cell_stratum = strata[first]
        self.t = t
        self.ngroups = ngroups
        # stratum x group sums of t and t^2
        hg = self.cell_stratum * ngroups + self.cell_group
        self.hg_key, hinv = np.unique(hg, return_inverse=True)
        mh = _gmat(hinv, len(self.hg_key))
        self.s1 = np.asarray(mh @ t)
        s2 = np.asarray(mh @ (t * t))
        nh = spec.n_h[self.hg_key // ngroups][:, None]
        f = np.where(nh > 1, nh / np.maximum(nh - 1, 1), 1.0)
        centred = np.where(nh > 1, self.s1**2 / nh, 0.0)
        var = f * (s2 - centred)
        self.var = np.asarray(_gmat(self.hg_key % ngroups, ngroups) @ var)


def _lookup(keys: np.ndarray, values: np.ndarray, want: np.ndarray) -> np.ndarray:
    """values[keys == want] (rows of zeros where ``want`` is not among the sorted ``keys``)."""
    pos = np.searchsorted(keys, want)
    pos = np.clip(pos, 0, max(len(keys) - 1, 0))
    hit = (len(keys) > 0) & (keys[pos] == want) if len(keys) else np.zeros(len(want), bool)
    out = np.zeros((len(want), values.shape[1]))
    out[hit] = values[pos[hit]]
    return out


def _cross_cov(spec: _Spec, a: _Level, b: _Level, partner: np.ndarray) -> np.ndarray:
    """Cov(estimate of group g in ``a``, estimate of group partner[g] in ``b``)."""
    psu = a.cell_key // a.ngroups
    pg = partner[a.cell_group]
    ok = pg >= 0
    tb = _lookup(b.cell_key, b.t, np.where(ok, psu * b.ngroups + pg, -1))
    prod = a.t * tb * ok[:, None]
    hg = a.cell_stratum * a.ngroups + a.cell_group
    cross = np.asarray(_gmat(np.searchsorted(a.hg_key, hg), len(a.hg_key)) @ prod)
    h = a.hg_key // a.ngroups
    g = a.hg_key % a.ngroups
    pgh = partner[g]
    s1b = _lookup(b.hg_key, b.s1, np.where(pgh >= 0, h * b.ngroups + pgh, -1))
    nh = spec.n_h[h][:, None]
    f = np.where(nh > 1, nh / np.maximum(nh - 1, 1), 1.0)
    centred = np.where(nh > 1, a.s1 * s1b / nh, 0.0)
    cov = f * (cross - centred)
    return np.asarray(_gmat(g, a.ngroups) @ cov)
