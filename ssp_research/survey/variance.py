"""The variance engine of :class:`ssp_research.survey.design.SurveyDesign` (private).

R's ``svyrecvar`` (survey 4.1.1): ultimate-cluster totals per stratum, the multistage
recursion when fpc is given for every stage, the ``survey.lonely.psu`` options, and the
domain versions used by :mod:`ssp_research.survey.estimate` (all domains in one pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__: list[str] = []

_CENSUS_F = 1e-7  # R: a stratum with (N - n) / N below this contributes no variance


@dataclass(frozen=True)
class _Stage:
    """One sampling stage: cluster and stratum codes plus per-stratum constants."""

    clu: np.ndarray  # (n,) cluster code, unique across strata (interaction with the stratum)
    stra: np.ndarray  # (n,) stratum code
    n_clu: int
    clu_stra: np.ndarray  # (C,) stratum of each cluster
    npsu: np.ndarray  # (H,) sampled clusters per stratum (counted on the full design)
    f: np.ndarray  # (H,) 1 - sampling fraction, 1 without fpc
    mult: np.ndarray  # (H,) product of n/N over earlier stages (multistage recursion)
    parent: np.ndarray  # (H,) cluster code at the previous stage (0 at stage 1)
    n_parent: int


def codes(*arrays: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes 0..k-1 of the combinations of the given 1-d arrays (R's interaction)."""
    if len(arrays) == 1:
        codes, uniq = pd.factorize(pd.Series(arrays[0]), sort=True)
        return codes.astype(np.int64), len(uniq)
    frame = pd.DataFrame({f"c{i}": a for i, a in enumerate(arrays)})
    codes = frame.groupby(list(frame.columns), sort=True, dropna=False).ngroup().to_numpy()
    return codes.astype(np.int64), int(codes.max()) + 1 if len(codes) else 0


def build_stages(n, strata_codes, ids_codes, popsize, sampsize, lonely_psu):
    """Per-stage codes and constants; also the first (stage, row) with a lonely PSU that
    R's ``lonely.psu="fail"`` would stop at (None when there is none or it is allowed)."""
    n_stages = len(ids_codes)
    # stages used by the variance (R: recursion only when fpc is given)
    n_var = n_stages if (popsize and len(popsize) == n_stages) else 1
    stages = []
    fail = None
    mult_row = np.ones(n)
    prev_clu = np.zeros(n, dtype=np.int64)
    for s in range(n_var):
        clu, nc = codes(strata_codes[s], ids_codes[s])
        stra, nh = codes(strata_codes[s])
        clu_stra = np.zeros(nc, dtype=np.int64)
        clu_stra[clu] = stra
        npsu = np.bincount(clu_stra, minlength=nh).astype(float)
        first = np.zeros(nh, dtype=np.int64)
        first[stra[::-1]] = np.arange(n)[::-1]
        if popsize:
            pop = popsize[s][first]
            f = np.where(np.isinf(pop), 1.0, (pop - npsu) / pop)
        else:
            f = np.ones(nh)
        stages.append(
            _Stage(
                clu=clu,
                stra=stra,
                n_clu=nc,
                clu_stra=clu_stra,
                npsu=npsu,
                f=f,
                mult=mult_row[first].copy(),
                parent=prev_clu[first],
                n_parent=int(prev_clu.max()) + 1,
            )
        )
        if popsize:
            mult_row = mult_row * sampsize[s] / popsize[s]
        prev_clu = clu
        lonely = (npsu == 1) & (f >= _CENSUS_F)
        if lonely.any() and lonely_psu == "fail" and fail is None:
            fail = (s, int(first[int(np.flatnonzero(lonely)[0])]))
    aggs = [
        sp.csr_matrix((np.ones(n), (st.clu, np.arange(n))), shape=(st.n_clu, n))
        for st in stages
    ]
    return tuple(stages), aggs, fail


def vcov(design, scores, present: np.ndarray | None = None) -> np.ndarray:
    """Taylor-linearised covariance of weighted scores (R's ``svyrecvar``).

    Parameters
    ----------
    scores : array-like, shape (n,) or (n, k)
        Per-row linearised values already multiplied by the weights (rows outside the
        domain or missing are 0).
    present : numpy.ndarray of bool, optional
        Rows R would keep in its design (only matters for ``lonely_psu="average"``, which
        counts the strata present); default ``weights != 0``.

    Returns
    -------
    numpy.ndarray, shape (k, k)
        The covariance matrix. Each object in ``design._postcal`` first replaces the scores
        by ``obj.adjust(scores)`` (residuals from post-strata/calibration, as R does).
    """
    x = np.asarray(scores, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    for obj in design._postcal:
        x = obj.adjust(x)
    if present is None:
        present = design.weights != 0
    if design._postcal:
        present = np.ones(len(x), dtype=bool)  # R keeps all rows of calibrated designs
    k = x.shape[1]
    v = np.zeros((k, k))
    for st, agg in zip(design._stages, design._agg):
        tot = np.asarray(agg @ x)  # (C, k)
        nh = len(st.npsu)
        ssum = np.zeros((nh, k))
        np.add.at(ssum, st.clu_stra, tot)
        centred = tot - (ssum / st.npsu[:, None])[st.clu_stra]
        scale, usable, factor = _stratum_scale(design, st, present)
        lonely_adj = (st.npsu == 1) & (design.lonely_psu == "adjust")
        centred = np.where(lonely_adj[st.clu_stra][:, None], tot, centred)
        wt = np.where(usable, scale * st.mult * factor, 0.0)[st.clu_stra]
        if np.isnan(factor).any():
            wt = np.where(np.isnan(factor[st.clu_stra]), np.nan, wt)
        z = centred * np.sqrt(np.abs(wt))[:, None]
        v += z.T @ z
    return v


def _stratum_scale(design, st: _Stage, present: np.ndarray):
    """Per-stratum scale f n/(n-1), which strata count, and the "average" factor."""
    n = st.npsu
    scale = np.where(n > 1, st.f * n / np.maximum(n - 1, 1), st.f)
    census = st.f < _CENSUS_F
    lonely = n == 1
    usable = ~census
    factor = np.ones(len(n))
    if design.lonely_psu == "average" and lonely.any():
        pres_h = np.bincount(st.stra[present], minlength=len(n)) > 0
        usable = usable & ~lonely
        g = st.parent
        nstrat = np.bincount(g, weights=pres_h, minlength=st.n_parent)
        nok = np.bincount(g, weights=pres_h & ~(lonely & ~census), minlength=st.n_parent)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = (nstrat / nok)[g]
        factor = np.where(nok[g] == 0, np.where(pres_h, np.nan, 1.0), factor)
    return scale, usable, factor


def domain_var(
    design, z: np.ndarray, dom: np.ndarray, ndom: int, present: np.ndarray | None = None
) -> np.ndarray:
    """Variances of many domain estimators in one vectorised pass.

    Parameters
    ----------
    z : numpy.ndarray, shape (n, m)
        Weighted linearised scores of m estimators; row i contributes only to domain
        ``dom[i]`` (0 where the row is not in the domain or missing).
    dom : numpy.ndarray of int, shape (n,)
        Domain code 0..ndom-1 of each row, -1 for rows in no domain.
    ndom : int
        Number of domains.
    present : numpy.ndarray of bool, shape (n, m), optional
        Rows R keeps per estimator (for ``lonely_psu="average"``).

    Returns
    -------
    numpy.ndarray, shape (ndom, m)
        The variance of each (domain, estimator): the diagonal of :meth:`vcov` applied
        to the columns ``z[:, j] * (dom == d)``, without building them.
    """
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    n, m = z.shape
    out = np.zeros((ndom, m))
    if ndom == 0:
        return out
    if design._postcal:
        return _domain_var_dense(design, z, dom, ndom)
    ok = dom >= 0
    dom_ok = dom[ok]
    for st in design._stages:
        nh = len(st.npsu)
        key = st.clu[ok].astype(np.int64) * ndom + dom_ok
        if st.n_clu * ndom <= 4_000_000:
            inv = key
            ukey = None
            nkey = st.n_clu * ndom
        else:
            ukey, inv = np.unique(key, return_inverse=True)
            nkey = len(ukey)
        kclu = (np.arange(nkey) // ndom) if ukey is None else ukey // ndom
        kdom = (np.arange(nkey) % ndom) if ukey is None else ukey % ndom
        hd = st.clu_stra[kclu] * ndom + kdom  # (stratum, domain) of each key
        nhd = nh * ndom
        has = np.bincount(inv, minlength=nkey) > 0  # keys with at least one row
        cnt_hd = np.bincount(hd, weights=has, minlength=nhd)
        if present is not None:
            pres = present
        else:
            pres = None
        npsu_hd = np.repeat(st.npsu, ndom)
        for j in range(m):
            tot = np.bincount(inv, weights=z[ok, j], minlength=nkey)
            a = np.bincount(hd, weights=tot, minlength=nhd)
            mean = a / npsu_hd
            q = np.bincount(hd, weights=np.where(has, (tot - mean[hd]) ** 2, 0.0),
                            minlength=nhd)
            # clusters with no row in this domain have total 0: (0 - mean)^2 each
            dev = q + (npsu_hd - cnt_hd) * mean**2
            lonely_hd = np.repeat(st.npsu == 1, ndom)
            if design.lonely_psu == "adjust":
                q0 = np.bincount(hd, weights=tot**2, minlength=nhd)
                dev = np.where(lonely_hd, q0, dev)
            pj = design.weights != 0 if pres is None else pres[:, j]
            scale_hd, usable_hd, factor_hd = _domain_scale(design, st, dom, ndom, pj)
            contrib = np.where(usable_hd, dev * scale_hd * factor_hd, 0.0)
            contrib = np.where(np.isnan(factor_hd), np.nan, contrib)  # R: 0 * n / 0
            mult_hd = np.repeat(st.mult, ndom)
            out[:, j] += (contrib * mult_hd).reshape(nh, ndom).sum(axis=0)
    return out


def _domain_scale(design, st: _Stage, dom, ndom, present):
    n = st.npsu
    scale = np.where(n > 1, st.f * n / np.maximum(n - 1, 1), st.f)
    census = st.f < _CENSUS_F
    lonely = n == 1
    nh = len(n)
    usable = np.repeat(~census, ndom)
    factor = np.ones(nh * ndom)
    if design.lonely_psu == "average" and lonely.any():
        ok = present & (dom >= 0)
        pres_hd = (
            np.bincount(st.stra[ok] * ndom + dom[ok], minlength=nh * ndom) > 0
        )
        lon_hd = np.repeat(lonely & ~census, ndom)
        usable = usable & ~np.repeat(lonely, ndom)
        gd = np.repeat(st.parent, ndom) * ndom + np.tile(np.arange(ndom), nh)
        ng = st.n_parent * ndom
        nstrat = np.bincount(gd, weights=pres_hd, minlength=ng)
        nok = np.bincount(gd, weights=pres_hd & ~lon_hd, minlength=ng)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = (nstrat / nok)[gd]
        factor = np.where(nok[gd] == 0, np.where(pres_hd, np.nan, 1.0), factor)
    return np.repeat(scale, ndom), usable, factor


def domain_var_lin(design, bases, coefs, dom, ndom):
    """Domain variances of scores that are linear in a few base columns (fast path).

    Parameters
    ----------
    bases : list of K numpy.ndarray of shape (n,), or an (n, K) array
        Row-level base columns (e.g. ``w * y`` and ``w``), 0 outside the estimator.
    coefs : numpy.ndarray, shape (ndom, m, K)
        Scores of estimator j in domain d are ``sum_k coefs[d, j, k] * bases[:, k]``.
    dom : numpy.ndarray of int, shape (n,)
        Domain code (-1: none).
    ndom : int

    Returns
    -------
    numpy.ndarray, shape (ndom, m), or None
        The variances (as :meth:`_domain_var`), or None when the fast path does not
        apply (calibration, lonely_psu="average" with lonely strata, too many cells);
        the caller then uses :meth:`_domain_var`.

    Notes
    -----
    Each base column is summed once into (cluster x domain) cells per stage; the scores'
    cluster totals are then ``T @ coefs`` per domain, so the cost does not grow with
    the number of domains beyond the cell count.
    """
    if design._postcal:
        return None
    if design.lonely_psu == "average" and any((st.npsu == 1).any() for st in design._stages):
        return None
    n = len(dom)
    if any(st.n_clu * ndom > 5_000_000 and st.n_clu < n for st in design._stages):
        return None
    if isinstance(bases, np.ndarray):
        bases = [bases[:, k] for k in range(bases.shape[1])]
    m = coefs.shape[1]
    out = np.zeros((ndom, m))
    for st in design._stages:
        nh = len(st.npsu)
        if st.n_clu == n:  # every row its own cluster (ids=None): work on rows directly
            out += _rows_as_clusters(design, st, bases, coefs, dom, ndom)
            continue
        ncell = st.n_clu * ndom
        key = st.clu * ndom + dom
        key[dom < 0] = ncell  # rows in no domain go to a spare cell
        tot = [
            np.bincount(key, weights=col, minlength=ncell + 1)[:ncell].reshape(st.n_clu, ndom)
            for col in bases
        ]
        agg = sp.csr_matrix(
            (np.ones(st.n_clu), (st.clu_stra, np.arange(st.n_clu))), shape=(nh, st.n_clu)
        )
        lonely = st.npsu == 1
        adj = lonely[st.clu_stra] if (design.lonely_psu == "adjust" and lonely.any()) else None
        scale = np.where(st.npsu > 1, st.f * st.npsu / np.maximum(st.npsu - 1, 1), st.f)
        wt = np.where(st.f < _CENSUS_F, 0.0, scale * st.mult)
        for j in range(m):
            z = np.zeros((st.n_clu, ndom))
            for k in np.flatnonzero(np.any(coefs[:, j, :] != 0, axis=0)):
                z += tot[k] * coefs[:, j, k]
            ssum = np.asarray(agg @ z)
            centred = z - (ssum / st.npsu[:, None])[st.clu_stra]
            if adj is not None:
                centred[adj] = z[adj]
            out[:, j] += wt @ np.asarray(agg @ (centred * centred))
    return out


def _rows_as_clusters(design, st, bases, coefs, dom, ndom):
    """:func:`domain_var_lin` for a stage whose clusters are the rows (no cell matrix)."""
    m = coefs.shape[1]
    nh = len(st.npsu)
    ok = dom >= 0
    d = dom[ok]
    hd = st.stra[ok] * ndom + d
    nhd = nh * ndom
    cnt = np.bincount(hd, minlength=nhd)
    npsu_hd = np.repeat(st.npsu, ndom)
    lonely_hd = np.repeat(st.npsu == 1, ndom)
    scale = np.where(st.npsu > 1, st.f * st.npsu / np.maximum(st.npsu - 1, 1), st.f)
    wt = np.repeat(np.where(st.f < _CENSUS_F, 0.0, scale * st.mult), ndom)
    out = np.zeros((ndom, m))
    all_ok = bool(ok.all())
    cols = {}
    for j in range(m):
        z = np.zeros(len(d))
        for k in np.flatnonzero(np.any(coefs[:, j, :] != 0, axis=0)):
            if k not in cols:
                cols[k] = bases[k] if all_ok else bases[k][ok]
            z += cols[k] * coefs[d, j, k]
        mean = np.bincount(hd, weights=z, minlength=nhd) / npsu_hd
        dev = np.bincount(hd, weights=(z - mean[hd]) ** 2, minlength=nhd)
        dev += (npsu_hd - cnt) * mean**2  # rows of other domains: cluster total 0
        if design.lonely_psu == "adjust":
            dev = np.where(lonely_hd, np.bincount(hd, weights=z * z, minlength=nhd), dev)
        out[:, j] = (wt * dev).reshape(nh, ndom).sum(axis=0)
    return out


def _domain_var_dense(design, z, dom, ndom, chunk: int = 64):
    """Fallback of :meth:`_domain_var` for calibrated designs (scores are adjusted)."""
    n, m = z.shape
    out = np.zeros((ndom, m))
    cols = [(d, j) for j in range(m) for d in range(ndom)]
    for start in range(0, len(cols), chunk):
        part = cols[start : start + chunk]
        x = np.zeros((n, len(part)))
        for c, (d, j) in enumerate(part):
            x[:, c] = np.where(dom == d, z[:, j], 0.0)
        v = np.diag(vcov(design, x))
        for c, (d, j) in enumerate(part):
            out[d, j] = v[c]
    return out

