"""Secondary suppression: additive systems of published cells and their LP ranges.

The engine behind :func:`~ssp_research.disclosure.protect` (step 3) and
:func:`~ssp_research.disclosure.attack`; split from ``disclosure`` for size. Most users need
only those two functions.

Cells are grouped into additive systems: same ``variable`` and the same values of every
identifying column that is not a hierarchy dimension (so each wave is its own system). In a
system every cell whose coordinate on a dimension has children (city -> districts, district
-> schools, "all" -> girl/boy, "all" -> each grade) gives a relation
``parent = sum(children) + rest``, where ``rest`` is the part not published (respondents with a
missing gender, a school left out), ``0 <= rest <= n_parent - sum(n_children)``.

1. *Greedy* (a worklist of relations, counts of hidden members kept up to date): in every
   relation with exactly one suppressed cell (and no hidden rest of at least
   ``min_count``), also suppress the shown member that keeps the pair's range at least
   ``min_count`` wide at the least cost: members with ``min_count`` on both sides first, then
   those that also close the most other relations with a single hidden cell (on the synthetic
   publication this cut secondary suppression by 10 %), then parts before totals, then the
   smallest ``n``; repeat to a fixed point (suppression in one relation can expose another).
2. *Verify*: for every suppressed cell, the ``min`` and ``max`` of its count by linear
   programming (HiGHS through ``highspy``) given all shown counts, ``0 <= count <= n`` and all
   relations (:class:`~ssp_research.disclosure.intervals.BoundsLP`). The cell is safe when
   ``floor(max) - ceil(min) >= min(min_count, n)``. Every solution is a feasible point: the
   true counts and the solutions of "push the unproven cells down / up" prove most cells safe
   at once; only the rest get their own LPs. Hiding more only widens ranges, so a cell proven
   safe stays safe and is not checked again.
3. *Repair* (GaussSuppression's interval step,
   :func:`~ssp_research.disclosure.intervals.fix_intervals`): the shown cells near the unsafe
   ones are published again one by one, largest ``n`` first, and the cell whose publication
   first narrows one of them is hidden, then the next; back to 1 until every suppressed cell
   is safe. On the ten indicator tables of the synthetic city this hides 437 secondary cells
   where GaussSuppression hides 439 and the repair used before (the cheapest member of an
   unsafe cell's relations) hid 537 (``benchmarks/bench_suppression_economy.py``).

Tables without ``count`` (means) get step 1 only, using ``n``: no published sum has exactly
one hidden term, so no hidden mean can be recovered exactly by subtraction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ssp_research.core.errors import DisclosureError
from ssp_research.disclosure import intervals
from ssp_research.disclosure.rules import Rules, cell_key, cell_keys

__all__ = ["AdditiveSystem", "cell_key", "lp_ranges", "publication_cube", "suppress_secondary"]

TOTAL = "all"


def _parents(hierarchy: Mapping[str, Mapping[object, object]], dims: Sequence[str],
             ) -> tuple[list[dict[str, str]], list[dict[str, list[str]]]]:
    maps = [{cell_key(k): cell_key(v) for k, v in hierarchy[d].items()} for d in dims]
    parents: list[dict[str, list[str]]] = []
    for m in maps:
        kids: dict[str, list[str]] = {}
        for child, parent in m.items():
            kids.setdefault(parent, []).append(child)
        parents.append(kids)
    return maps, parents


class AdditiveSystem:
    """One additive system: its cells and the relations ``total = sum(parts) + rest``.

    Parameters
    ----------
    rows : ndarray of int
        Positions of the cells in the full table (kept for the caller).
    coords : list of tuple of str
        Each cell's coordinate on the hierarchy dimensions (see :func:`cell_key`).
    n, count : ndarray
        Unweighted respondents and respondents with the attribute (``count`` None for means;
        NaN for counts an attacker does not see).
    parents : list of dict
        Per dimension, ``{parent value: [child values]}``.
    where : str
        Where the system comes from, for error messages.
    check : bool
        Check that ``n`` and ``count`` of totals cover their parts (off for the attacker).

    Notes
    -----
    ``relations`` holds ``(total, [parts], rest_n, rest_count)``; ``rest`` is whatever the
    total has beyond its published parts, an unknown in ``[0, rest_n]``. ``signed`` is the
    same as a sparse matrix (one row per relation: +1 for the total, -1 for each part).
    """

    def __init__(self, rows: np.ndarray, coords: list[tuple[str, ...]], n: np.ndarray,
                 count: np.ndarray | None, parents: list[dict[str, list[str]]], where: str,
                 check: bool = True) -> None:
        self.rows, self.n, self.count = rows, n, count
        pos = {c: i for i, c in enumerate(coords)}
        if len(pos) != len(coords):
            raise DisclosureError("two rows describe the same cell", rule="one row per cell",
                                  file=None, row=where,
                                  hint="drop duplicates or add the column that tells them apart")
        self.relations: list[tuple[int, list[int], float, float]] = []
        for i, coord in enumerate(coords):
            for d, kids_of in enumerate(parents):
                kids = kids_of.get(coord[d])
                if not kids:
                    continue
                members = [pos[k] for k in (coord[:d] + (kid,) + coord[d + 1:] for kid in kids)
                           if k in pos]
                if not members:
                    continue
                rest_n = n[i] - n[members].sum()
                rest_c = (np.nan if count is None else count[i] - np.nansum(count[members]))
                if check and (rest_n < -1e-9 or (count is not None and not np.isnan(rest_c)
                                      and (rest_c < -1e-9 or rest_c > rest_n + 1e-9))):
                    raise DisclosureError(
                        f"margins do not add up: {coord} has n={n[i]:g}"
                        + ("" if count is None else f", count={count[i]:g}")
                        + f" but its parts on dimension {d} sum to more",
                        row=where, rule="total = sum of its parts (n and count)",
                        hint="build totals from the same respondents as their parts")
                self.relations.append((i, members, float(rest_n), float(rest_c)))
        ncell, nrel = len(coords), len(self.relations)
        self.parent_of = np.zeros(ncell, dtype=int)  # relations where it is the total
        self.member_of: list[list[int]] = [[] for _ in coords]
        r_idx, c_idx, sign = [], [], []
        for r, (p, kids, _, _) in enumerate(self.relations):
            self.parent_of[p] += 1
            for m in (p, *kids):
                self.member_of[m].append(r)
            r_idx.extend([r] * (len(kids) + 1))
            c_idx.extend((p, *kids))
            sign.extend([1.0] + [-1.0] * len(kids))
        self.rest_n = np.array([rel[2] for rel in self.relations], dtype=float)
        self.signed = sparse.csr_array((np.array(sign, dtype=float),
                                        (np.array(r_idx, dtype=np.int64),
                                         np.array(c_idx, dtype=np.int64))), shape=(nrel, ncell))
        self.incidence = abs(self.signed).tocsc()
        self.locked = np.zeros(ncell, dtype=bool)  # cells already public: never hidden

    # cost of suppressing a cell: cells adding slack on both sides first, then the lowest
    # in the hierarchy (totals open more relations), then the smallest n
    def _cost(self, j: int, tight: bool) -> tuple:
        return (tight, self.parent_of[j], self.n[j], j)

    def _tight(self, j: int, need: float) -> bool:
        if self.count is None:
            return False
        c = self.count[j]
        return bool(c < need or self.n[j] - c < need)

    def _pair_width(self, s: int, j: int, rel: int) -> float:
        """Width of cell s's count range when s and j are the only unknowns of relation rel."""
        if self.count is None:
            return math.inf
        p, _, rest_n, _ = self.relations[rel]
        sign_s = 1.0 if s == p else -1.0
        sign_j = 1.0 if j == p else -1.0
        # sign_s x_s + sign_j x_j = b  with  0 <= x_j <= n_j
        t = sign_j * (sign_s * self.count[s] + sign_j * self.count[j])
        if sign_s == sign_j:
            lo, hi = t - self.n[j], t
        else:
            lo, hi = -t, self.n[j] - t
        lo, hi = max(lo, 0.0), min(hi, self.n[s])
        return hi - lo + max(rest_n, 0.0)

    def need(self, i: int, rules: Rules) -> float:
        return float(min(rules.min_count, self.n[i]))

    def _hidden_per_relation(self, sup: np.ndarray) -> np.ndarray:
        return np.asarray(self.incidence @ sup.astype(float)).round().astype(int)

    def greedy(self, sup: np.ndarray, rules: Rules) -> list[int]:
        """Close every relation with a single hidden member (worklist to a fixed point)."""
        added: list[int] = []
        if not self.relations:
            return added
        small = self.rest_n < max(rules.min_count, 1)
        hid = self._hidden_per_relation(sup)
        queue = [int(r) for r in np.flatnonzero((hid == 1) & small)]
        while queue:
            grown: set[int] = set()
            for r in queue:
                if hid[r] != 1:
                    continue
                p, kids, _, _ = self.relations[r]
                members = [p, *kids]
                s = next(m for m in members if sup[m])
                need = self.need(s, rules)
                cands = [m for m in members if not sup[m] and not self.locked[m]]
                if not cands:
                    continue

                def closes(j: int, r: int = r) -> int:
                    return sum(1 for q in self.member_of[j] if q != r and hid[q] == 1)

                best = min(cands, key=lambda j: (self._pair_width(s, j, r) < need,
                                                 self._tight(j, need), -closes(j), j == p,
                                                 *self._cost(j, False)[1:]))
                sup[best] = True
                added.append(best)
                for q in self.member_of[best]:
                    hid[q] += 1
                    if hid[q] == 1 and small[q]:
                        grown.add(q)
            queue = sorted(grown)
        return added

    def determined(self, known: np.ndarray) -> np.ndarray:
        """Cells whose counts follow exactly from the ``known`` ones through the relations:
        a relation without rest (``rest_n == 0``) with one unknown member gives it, and so on
        to a fixed point (a pooled window whose waves are known, a total of known parts)."""
        known = np.asarray(known, bool).copy()
        if not self.relations:
            return known
        exact = self.rest_n <= 0
        unknown = self._hidden_per_relation(~known)
        queue = [int(r) for r in np.flatnonzero(exact & (unknown == 1))]
        while queue:
            grown = []
            for r in queue:
                if unknown[r] != 1:
                    continue
                p, kids, _, _ = self.relations[r]
                j = next(m for m in (p, *kids) if not known[m])
                known[j] = True
                for q in self.member_of[j]:
                    unknown[q] -= 1
                    if unknown[q] == 1 and exact[q]:
                        grown.append(q)
            queue = grown
        return known

    def components(self, sup: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray]:
        """Hidden cells, their relations and the connected component of each.

        Returns ``(hidden, rels, cell_label, rel_label)``: two hidden cells are connected when
        they share a relation (``scipy.sparse.csgraph.connected_components`` on the bipartite
        graph of hidden cells and relations).
        """
        hidden = np.flatnonzero(sup)
        sub = self.incidence[:, hidden].tocsr()
        rels = np.flatnonzero(np.diff(sub.indptr) > 0)
        sub = sub[rels]
        nh, nr = len(hidden), len(rels)
        graph = sparse.block_array([[None, sub.T], [sub, None]], format="csr") if nr else \
            sparse.csr_array((nh, nh))
        _, labels = connected_components(graph, directed=False)
        return hidden, rels, labels[:nh], labels[nh:]

    def ranges(self, sup: np.ndarray, cells: Iterable[int]) -> dict[int, tuple[float, float]]:
        """The exact LP range [min, max] of each suppressed cell's count given what is shown.

        Solved per connected component of hidden cells (two hidden cells are connected when
        they share a relation), one :class:`~ssp_research.disclosure.intervals.BoundsLP` per
        component; a cell in no relation can be anything in ``[0, n]``.
        """
        hidden, rels, cell_label, rel_label = self.components(sup)
        label = dict(zip(hidden.tolist(), cell_label.tolist()))
        by_comp: dict[int, list[int]] = {}
        for i in cells:
            by_comp.setdefault(label[int(i)], []).append(int(i))
        out: dict[int, tuple[float, float]] = {}
        for comp, targets in by_comp.items():
            crels = rels[rel_label == comp]
            if not len(crels):
                out.update({i: (0.0, float(self.n[i])) for i in targets})
                continue
            found = intervals.BoundsLP(self, crels).ranges(sup, targets)
            out.update({i: (float(lo), float(hi)) for i, (lo, hi) in zip(targets, found)})
        return out

    def repair(self, sup: np.ndarray, unsafe: list[int], rules: Rules) -> list[int]:
        """Hide one more cell for each unsafe cell whose relations did not change this round:
        the cheapest shown member of its relations (when all are hidden, of the relations of
        its component of hidden cells). Returns the cells hidden ([] when none is left)."""
        added: list[int] = []
        touched: set[int] = set()
        comp_rels = None
        for i in unsafe:
            if touched.intersection(self.member_of[i]):
                continue  # a cell hidden this round may already widen it: check again first
            need = self.need(i, rules)
            cands = {m for r in self.member_of[i] for m in (self.relations[r][0],
                                                            *self.relations[r][1])
                     if not sup[m] and not self.locked[m]}
            if not cands:  # widen through the relations of the other hidden cells it meets
                if comp_rels is None:
                    hidden, rels, cell_label, rel_label = self.components(sup)
                    label = dict(zip(hidden.tolist(), cell_label.tolist()))
                    comp_rels = {lab: rels[rel_label == lab] for lab in np.unique(rel_label)}
                rels = comp_rels.get(label.get(i, -1), ())
                cands = {m for r in rels for m in (self.relations[r][0], *self.relations[r][1])
                         if not sup[m] and not self.locked[m]}
            if not cands:
                continue  # its whole neighbourhood was hidden this round: check again first
            best = min(cands, key=lambda j: self._cost(j, self._tight(j, need)))
            sup[best] = True
            added.append(best)
            touched.update(self.member_of[best])
        return added


def suppress_secondary(table: pd.DataFrame, reason: pd.Series, rules: Rules,
                       hierarchy: Mapping[str, Mapping[object, object]],
                       id_cols: Sequence[str]) -> pd.Series:
    """Secondary suppression of a table whose primary/series ``reason`` is given.

    Returns ``reason`` with ``"secondary"`` where more cells must be hidden (see the module
    docstring for the algorithm). Called by :func:`~ssp_research.disclosure.protect`.
    """
    dims = [d for d in hierarchy if d in table.columns]
    if not dims:
        return reason
    _, parents = _parents(hierarchy, dims)
    keys = [c for c in id_cols if c not in dims]
    coords_all = list(zip(*[cell_keys(table[d]) for d in dims]))
    n_all = pd.to_numeric(table["n"], errors="coerce").fillna(0).to_numpy(float)
    has_count = "count" in table.columns and table["count"].notna().any()
    c_all = (pd.to_numeric(table["count"], errors="coerce").to_numpy(float)
             if has_count else None)
    if c_all is not None:
        c_all = np.where(np.isnan(c_all) & (n_all == 0), 0.0, c_all)
    sup_all = reason.notna().to_numpy().copy()
    groups = [cell_keys(table[c]) for c in keys] if keys else [np.zeros(len(table), dtype=int)]
    out = reason.copy()
    for gkey, idx in pd.Series(range(len(table))).groupby(groups, dropna=False):
        rows = idx.to_numpy()
        count = None if c_all is None else c_all[rows]
        if count is not None and np.isnan(count[~sup_all[rows]]).any():
            raise DisclosureError("a shown proportion has no count", rule="count column",
                                  row=str(gkey), hint="give the unweighted count of every cell")
        system = AdditiveSystem(rows, [coords_all[r] for r in rows], n_all[rows], count, parents,
                                where=str(gkey))
        sup = sup_all[rows].copy()
        if count is None:  # means: no counts to narrow; no published sum with one hidden term
            system.greedy(sup, rules)
        else:
            sup = intervals.suppress(system, sup, rules, where=str(gkey))
        new = sup & ~sup_all[rows]
        out.iloc[rows[new]] = "secondary"
    return out


def lp_ranges(protected: pd.DataFrame, original: pd.DataFrame, rules: Rules, *,
              hierarchy: Mapping[str, Mapping[object, object]],
              id_cols: Sequence[str]) -> pd.DataFrame:
    """The exact LP range of every suppressed count (the body of ``disclosure.attack``)."""
    dims = [d for d in hierarchy if d in original.columns]
    _, parents = _parents(hierarchy, dims)
    keys = [c for c in id_cols if c not in dims]
    sup_all = protected["suppressed"].to_numpy(bool)
    shown_count = pd.to_numeric(protected["count"], errors="coerce").to_numpy(float)
    n_all = pd.to_numeric(original["n"], errors="coerce").fillna(0).to_numpy(float)
    coords_all = list(zip(*[cell_keys(original[d]) for d in dims]))
    found: list[tuple[int, float, float]] = []
    groups = [cell_keys(original[c]) for c in keys] or [np.zeros(len(original), dtype=int)]
    for _, idx in pd.Series(range(len(original))).groupby(groups):
        rows = idx.to_numpy()
        sup = sup_all[rows]
        if not sup.any():
            continue
        # the attacker sees shown counts only; hidden ones enter the LP as unknowns
        count = np.where(sup, np.nan, shown_count[rows])
        system = AdditiveSystem(rows, [coords_all[r] for r in rows], n_all[rows], count, parents,
                                where="attack", check=False)
        ranges = system.ranges(sup, [int(i) for i in np.flatnonzero(sup)])
        found.extend((int(rows[i]), lo, hi) for i, (lo, hi) in sorted(ranges.items()))
    cols = [*id_cols, "n", "count", "reason", "lo", "hi", "width", "safe"]
    if not found:
        return pd.DataFrame(columns=cols)
    at = np.array([f[0] for f in found])
    lo = np.array([f[1] for f in found], dtype=float)
    hi = np.array([f[2] for f in found], dtype=float)
    width = np.floor(hi + 1e-7) - np.ceil(lo - 1e-7)
    out = original.iloc[at][list(id_cols)].reset_index(drop=True)
    out["n"] = n_all[at]
    out["count"] = original["count"].to_numpy()[at]
    out["reason"] = protected["reason"].to_numpy()[at]
    out["lo"], out["hi"] = lo.round(6), hi.round(6)
    out["width"] = width.astype(int)
    out["safe"] = width >= np.minimum(rules.min_count, n_all[at])
    return out


def publication_cube(data: pd.DataFrame, indicator: str, *,
                     geo: Sequence[str] = ("municipality", "district", "school"),
                     levels: Sequence[str] = ("city", "district", "school"),
                     by: Sequence[str] = ("gender", "grade"), wave: str = "wave",
                     total: str = TOTAL) -> pd.DataFrame:
    """Unweighted counts of a 0/1 indicator for every unit x by-margin x wave.

    The shape of a whole publication (a batch of briefs), for :func:`protect` and tests.

    Parameters
    ----------
    data : DataFrame
        Tidy respondent data with the ``geo``, ``by`` and ``wave`` columns.
    indicator : str
        A column with values 0/1/NaN.
    geo, levels : sequence of str
        Unit columns from the top down, and the level name of each.
    by : sequence of str
        Breakdowns; each also gets the margin ``total``.

    Returns
    -------
    DataFrame
        ``variable, wave, level, unit, parent, <by...>`` (by values as str, margins
        ``"all"``), ``estimate`` (count / n), ``se`` (binomial), ``ci_low, ci_high`` (normal,
        95 %), ``df`` (n - 1), ``n`` (non-missing answers), ``count`` (answers == 1).

    Examples
    --------
    >>> d = pd.DataFrame({"municipality": "T", "district": ["D"] * 4, "school": ["S"] * 4,
    ...                   "gender": ["girl", "boy", "boy", "girl"], "grade": 8, "wave": 2025,
    ...                   "x": [1.0, 0.0, 1.0, None]})
    >>> cube = publication_cube(d, "x")
    >>> len(cube), cube.query("level == 'city' and gender == 'all' and grade == 'all'")["n"].item()
    (18, 3)
    """
    x = pd.to_numeric(data[indicator], errors="coerce")
    base = data[[*geo, *by, wave]].copy()
    for col in by:
        base[col] = base[col].map(cell_key)
    base["_n"] = x.notna().astype(int)
    base["_c"] = (x == 1).astype(int)
    parts = []
    for li, (col, level) in enumerate(zip(geo, levels)):
        for mask in range(2 ** len(by)):
            keep = [b for k, b in enumerate(by) if not mask >> k & 1]
            keys = [wave, col] + ([geo[li - 1]] if li else []) + keep
            g = base.groupby(keys, dropna=False)[["_n", "_c"]].sum().reset_index()
            g["level"] = level
            g["unit"] = g[col].astype(str)
            g["parent"] = g[geo[li - 1]].astype(str) if li else ""
            for b in by:
                if b not in keep:
                    g[b] = total
            g = g[(g[keep] != "").all(axis=1)] if keep else g
            parts.append(g[[wave, "level", "unit", "parent", *by, "_n", "_c"]])
    out = pd.concat(parts, ignore_index=True)
    units = out.drop_duplicates(["level", "unit"])
    if units["unit"].duplicated().any():
        raise DisclosureError("a unit name is used on two levels", column="unit",
                              rule="unit names unique across levels",
                              hint="prefix school names with their district")
    n, c = out.pop("_n").to_numpy(float), out.pop("_c").to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, c / n, np.nan)
        se = np.sqrt(p * (1 - p) / n)
    out.insert(0, "variable", indicator)
    out["estimate"], out["se"] = p, se
    out["ci_low"], out["ci_high"] = p - 1.959964 * se, p + 1.959964 * se
    out["df"] = np.maximum(n - 1, 0)
    out["n"], out["count"] = n.astype(int), c.astype(int)
    for b in by:
        out[b] = out[b].astype(str)
    return out
