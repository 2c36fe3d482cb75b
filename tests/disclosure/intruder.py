"""An intruder with every public file: an LP over the finest cells, independent of the library.

The intruder knows everything that was ever released for a dataset (every brief's tables,
pooled windows, district and school tables, ``ssp publication``, CLI and study tables): for
each released cell its coordinates, its ``n`` where it was released, and its count where it
was shown. It also knows how the cells nest: a cell is the sum of *finest* cells (wave x
school x gender x grade x family-economy group, each with a "missing" level), whose counts
``x`` and sizes ``m`` are unknown, ``0 <= x <= m``. Each released ``n`` fixes the sum of its
finest ``m``; each shown count the sum of its finest ``x``. For every hidden cell the LP finds
the smallest and largest count consistent with all of it; the cell is *narrowed* when fewer
than ``min(min_count, n) + 1`` whole values remain (``floor(max) - ceil(min) <
min(min_count, n)``).

This code shares nothing with ``ssp_research.disclosure`` (its own cell model over the finest
cells, its own LP); a test that the library's protection survives it is an
independent check (the LP is solved with HiGHS, as any intruder would). With
``singletons=True`` each pupil alone in a hidden cell (``n == 1``) is an intruder too, one at a
time: they also know that cell's count (their own answer), and in a cell that holds them what
they learn is about the other ``n - 1`` pupils (the rule's width for those).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

MISSING = "<missing>"
DIMS = ("gender", "grade", "economy_group")
ECONOMY = {1: "poor", 2: "poor", 3: "middle", 4: "good", 5: "good"}


def _key(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


@dataclass
class Finest:
    """The finest cells of one indicator: coordinates, true counts and sizes."""

    frame: pd.DataFrame  # wave, school, district, municipality, gender, grade, economy_group
    x: np.ndarray        # true counts (only for the report: the LP never sees them)
    m: np.ndarray        # true sizes (ditto)


def finest_cells(data: pd.DataFrame, indicator: str) -> Finest:
    """The non-empty finest cells of ``indicator`` (respondents who answered it)."""
    col = indicator if indicator.startswith("ind_") else f"ind_{indicator}"
    d = data[data[col].notna()].copy()
    d["economy_group"] = d["family_economy"].map(
        lambda v: ECONOMY.get(int(v)) if pd.notna(v) else None) if (
        "family_economy" in d) else None
    keys = ["wave", "municipality", "district", "school", *DIMS]
    for k in keys:
        d[k] = d[k].map(_key)
    g = d.groupby(keys, sort=True)[col].agg(["sum", "size"]).reset_index()
    return Finest(g[keys], g["sum"].to_numpy(float), g["size"].to_numpy(float))


def _waves(row, waves: list[int]) -> list[str]:
    """The waves a cell covers: its wave, or the window from ``pooled_from`` to its wave."""
    first = row.get("pooled_from")
    if first is None or (isinstance(first, float) and math.isnan(first)):
        return [_key(row["wave"])]
    return [_key(w) for w in waves if int(first) <= w <= int(row["wave"])]


def _members(finest: Finest, row, level_column: dict[str, str | None],
             waves: list[int]) -> np.ndarray:
    f = finest.frame
    mask = f["wave"].isin(_waves(row, waves)).to_numpy().copy()
    col = level_column[row["level"]]
    if col is not None:
        mask &= (f[col] == _key(row["unit"])).to_numpy()
    for dim in DIMS:
        value = _key(row.get(dim, "all"))
        if value not in ("all", MISSING):
            mask &= (f[dim] == value).to_numpy()
    return np.flatnonzero(mask)


class _Model:
    """``min c x`` s.t. ``lo <= A x <= hi``, ``x >= 0``: one HiGHS model, objectives swapped."""

    def __init__(self, a: sparse.csc_array, lo: np.ndarray, hi: np.ndarray, nvar: int):
        import highspy

        self.h = highspy.Highs.__new__(highspy.Highs)
        super(highspy.Highs, self.h).__init__()  # (no banner)
        self.h.setOptionValue("output_flag", False)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = nvar, a.shape[0]
        lp.col_cost_ = np.zeros(nvar)
        lp.col_lower_, lp.col_upper_ = np.zeros(nvar), np.full(nvar, highspy.kHighsInf)
        inf = highspy.kHighsInf
        lp.row_lower_ = np.where(np.isinf(lo), -inf, lo)
        lp.row_upper_ = np.where(np.isinf(hi), inf, hi)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data.astype(float)
        self.h.passModel(lp)
        self.nvar, self.index, self.ok = nvar, np.arange(nvar, dtype=np.int32), highspy
        self.optimal = highspy.HighsModelStatus.kOptimal

    def solve(self, cost: np.ndarray) -> np.ndarray:
        """The solution of ``min cost . x`` (a feasible point)."""
        self.h.changeColsCost(self.nvar, self.index, np.asarray(cost, dtype=float))
        self.h.run()
        if self.h.getModelStatus() != self.optimal:
            raise RuntimeError("intruder LP not solved: "
                               + self.h.modelStatusToString(self.h.getModelStatus()))
        return np.asarray(self.h.getSolution().col_value)


def attack(data: pd.DataFrame, releases: list[pd.DataFrame], *, min_count: int = 3,
           min_n: int = 20,
           level_column: dict[str, str | None] | None = None, singletons: bool = False,
           hidden_n: tuple[str, ...] = ("economy_group",),
           sizes_known: bool = False) -> pd.DataFrame:
    """Attack every hidden cell of everything released, per indicator.

    Parameters
    ----------
    data : DataFrame
        The microdata (for the finest cells' structure and the true values in the report).
    releases : list of DataFrame
        Every released table: ``indicator``, ``wave`` (and ``pooled_from`` for windows),
        ``level``, ``unit``, the breakdown columns (``"all"`` for a margin), ``n`` and
        ``count`` as published (NaN where not shown), ``suppressed``.
    hidden_n : tuple of str
        Breakdowns whose groups' sizes are never released (a group size that is itself a
        survey answer): the intruder does not get their ``n``, even when a file holds it.
    singletons : bool
        The pupil alone in a hidden cell knows its count.
    sizes_known : bool
        The intruder also knows every finest cell's size (pupils per school, grade and
        gender are public): a stronger intruder.

    Returns
    -------
    DataFrame
        One row per hidden cell (deduplicated over releases): ``indicator``, ``key``,
        ``n``, ``count`` (true), ``lo``, ``hi``, ``width``, ``need``, ``narrowed``, ``by``
        (the intruder: ``outside`` or the key of the insider's cell) and ``primary`` (the
        rule hides the cell on its own: ``n < min_n``, or fewer than ``min_count`` with or
        without the attribute: the cells that suppression exists to protect).
    """
    level_column = level_column or {"city": None, "country": None,
                                    "municipality": "municipality", "district": "district",
                                    "school": "school"}
    table = pd.concat(releases, ignore_index=True)
    waves = sorted(int(w) for w in data["wave"].unique())
    for dim in DIMS:
        if dim not in table:
            table[dim] = "all"
    table["key"] = [
        "|".join([str(r["indicator"]), "+".join(_waves(r, waves)), str(r["level"]),
                  str(r["unit"]),
                  *(_key(r.get(d, "all")) for d in DIMS)])
        for r in table.to_dict("records")]
    out = []
    for indicator, cells in table.groupby("indicator", sort=False):
        finest = finest_cells(data, indicator)
        nf = len(finest.m)
        # one row per distinct released cell: shown anywhere beats hidden (it is public)
        cells = cells.assign(_shown=~cells["suppressed"].astype(bool))
        first = cells.sort_values("_shown", ascending=False).drop_duplicates("key")
        rows_n, cols_n, b_n = [], [], []
        rows_c, cols_c, b_c = [], [], []
        hidden = []
        for r in first.to_dict("records"):
            members = _members(finest, r, level_column, waves)
            secret_size = any(_key(r.get(d, "all")) != "all" for d in hidden_n)
            if not secret_size and pd.notna(r["n"]):
                rows_n.extend([len(b_n)] * len(members))
                cols_n.extend(members)
                b_n.append(float(r["n"]))
            if r["_shown"] and pd.notna(r.get("count")):
                rows_c.extend([len(b_c)] * len(members))
                cols_c.extend(members)
                b_c.append(float(r["count"]))
            elif not r["_shown"]:
                hidden.append((r, members))
        # each intruder: the outside one, then (singletons) each pupil alone in a hidden cell,
        # who also knows that cell's count and learns about the other pupils of the cells
        # that hold them (the rule's width for n - 1 others there)
        insiders = [None]
        if singletons:
            insiders += [k for k, (_, mm) in enumerate(hidden)
                         if len(mm) and finest.m[mm].sum() == 1]
        worst: dict[int, dict] = {}
        for ins in insiders:
            rc, cc, bc = list(rows_c), list(cols_c), list(b_c)
            if ins is not None:
                mm = hidden[ins][1]
                rc.extend([len(bc)] * len(mm))
                cc.extend(mm)
                bc.append(float(finest.x[mm].sum()))
            lp = _lp(nf, rows_n, cols_n, b_n, rc, cc, bc, finest.m if sizes_known else None)
            targets = [k for k in range(len(hidden)) if k != ins]
            held = (set(hidden[ins][1].tolist()) if ins is not None else set())
            for k, lo, hi, need in _ranges(lp, hidden, targets, finest, nf, min_count, held):
                width = math.floor(hi + 1e-7) - math.ceil(lo - 1e-7)
                rec = {"indicator": indicator, "key": hidden[k][0]["key"],
                       "n": float(finest.m[hidden[k][1]].sum()),
                       "count": float(finest.x[hidden[k][1]].sum()), "lo": lo, "hi": hi,
                       "width": width, "need": need, "narrowed": width < need,
                       "by": "outside" if ins is None else hidden[ins][0]["key"]}
                rec["primary"] = bool(rec["n"] < min_n or rec["count"] < min_count
                                      or rec["n"] - rec["count"] < min_count)
                if k not in worst or (rec["narrowed"] and not worst[k]["narrowed"]):
                    worst[k] = rec
        out.extend(worst[k] for k in sorted(worst))
    return pd.DataFrame(out, columns=["indicator", "key", "n", "count", "lo", "hi", "width",
                                      "need", "narrowed", "by", "primary"])


def _lp(nf, rows_n, cols_n, b_n, rows_c, cols_c, b_c, sizes):
    """The intruder's model: x (0..nf-1) and m (nf..2nf-1), x <= m; released n fix sums of m
    (or every m is known: ``sizes``), known counts fix sums of x."""
    a_n = sparse.csr_array((np.ones(len(cols_n)), (rows_n, np.array(cols_n, dtype=int) + nf)),
                           shape=(len(b_n), 2 * nf))
    a_c = sparse.csr_array((np.ones(len(cols_c)), (rows_c, np.array(cols_c, dtype=int))),
                           shape=(len(b_c), 2 * nf))
    a_ub = sparse.hstack([sparse.eye_array(nf), -sparse.eye_array(nf)])
    if sizes is not None:
        a_m = sparse.hstack([sparse.csr_array((nf, nf)), sparse.eye_array(nf)])
        return _Model(sparse.vstack([a_c, a_ub, a_m]).tocsc(),
                      np.concatenate([b_c, np.full(nf, -np.inf), sizes]),
                      np.concatenate([b_c, np.zeros(nf), sizes]), 2 * nf)
    return _Model(sparse.vstack([a_n, a_c, a_ub]).tocsc(),
                  np.concatenate([b_n, b_c, np.full(nf, -np.inf)]),
                  np.concatenate([b_n, b_c, np.zeros(nf)]), 2 * nf)


def _ranges(lp, hidden, targets, finest, nf, min_count, held):
    """(k, lo, hi, need) of each target: feasible points first (a cell whose values over them
    already spread by ``need`` cannot be narrowed), exact LPs for the rest."""
    if not targets:
        return []
    rows, cols = [], []
    for i, k in enumerate(targets):
        mm = hidden[k][1]
        rows.extend([i] * len(mm))
        cols.extend(mm)
    s_mat = sparse.csr_array((np.ones(len(cols)), (rows, cols)), shape=(len(targets), 2 * nf))
    sizes = np.array([finest.m[hidden[k][1]].sum() for k in targets])
    holds = np.array([bool(held & set(hidden[k][1].tolist())) for k in targets])
    need = np.minimum(min_count, sizes - holds)
    lo_in, hi_in = np.full(len(targets), np.inf), np.full(len(targets), -np.inf)
    rng = np.random.default_rng(0)

    def spread(x):
        v = s_mat @ x
        np.minimum(lo_in, v, out=lo_in)
        np.maximum(hi_in, v, out=hi_in)

    def proven():
        return np.floor(hi_in + 1e-7) - np.ceil(lo_in - 1e-7) >= need

    for round_ in range(6):
        todo = np.flatnonzero(~proven())
        if not len(todo):
            break
        weights = np.ones(len(todo)) if round_ == 0 else rng.standard_normal(len(todo))
        for sign in (1.0, -1.0):
            spread(lp.solve(sign * (weights @ s_mat[todo])))
    for i in np.flatnonzero(~proven()):
        cost = s_mat[[i]].toarray().ravel()
        spread(lp.solve(cost))
        spread(lp.solve(-cost))
    return [(k, lo_in[i], hi_in[i], float(need[i])) for i, k in enumerate(targets)]
