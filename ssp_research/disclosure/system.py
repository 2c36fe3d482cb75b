"""The release system of a dataset: every releasable cell as a sum of the finest cells.

Everything a municipality can release from one dataset (city, districts, schools; totals,
gender, grade and family-economy groups; single waves and pooled windows; ad-hoc tables) is
a sum over the same *finest cells*: wave x school x gender x grade x family-economy group,
each breakdown with a "missing" level. A district is the sum of its schools, a pooled window
the sum of its waves, "all" the sum of its groups and of the respondents without one. So
suppression is decided on one system per indicator, with every cell released before (the
ledger) in it:

* :func:`finest_cells` counts the finest cells of an indicator (``n`` respondents, ``count``
  with the attribute);
* :func:`membership` gives each released cell its finest cells (a sparse 0/1 matrix);
* :class:`IntruderLP` is what an intruder with every public file would solve: unknown finest
  counts ``x`` and sizes ``m`` (``0 <= x <= m``), each released ``n`` fixing the sum of its
  ``m`` (except for groups whose sizes are never released), each shown count the sum of its
  ``x``; for a hidden cell, the smallest and largest count it allows;
* :func:`suppress_joint` adds secondary suppressions until no hidden cell can be narrowed
  below the rule, choosing candidates along the cells' additive relations
  (:class:`~ssp_research.disclosure.secondary.AdditiveSystem`, with pooled windows as one
  more dimension; the repair is GaussSuppression's interval step on those relations,
  :func:`~ssp_research.disclosure.intervals.fix_intervals`) and never hiding a cell that is
  already public.

The relations alone (``parent = sum(children) + rest``) miss what overlapping windows give
away together (``{2021-2025} - {2019-2023} = 2025 - 2019``); the LP over finest cells does not,
so it is the test of safety and the relations only guide the choice of cells.

Singletons: with ``singletons=True`` the pupil alone in a hidden cell (``n == 1``), who knows
their own answer, is part of the intruder: every such count is known when the other hidden
cells are checked.

Examples
--------
>>> import pandas as pd
>>> d = pd.DataFrame({"wave": [2025] * 6, "school": list("AABBBB"),
...                   "gender": ["girl", "boy", "girl", "girl", "boy", "boy"],
...                   "x": [1.0, 0, 1, 1, 0, 1]})
>>> f = finest_cells(d, "x", ["wave", "school", "gender"])
>>> f.keys["school"].tolist(), f.n.tolist(), f.count.tolist()
(['A', 'A', 'B', 'B'], [1.0, 1.0, 2.0, 2.0], [0.0, 1.0, 1.0, 2.0])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ssp_research.core.errors import DisclosureError
from ssp_research.disclosure.intervals import BoundsLP, fix_intervals, neighbourhood
from ssp_research.disclosure.rules import Rules

__all__ = ["Finest", "finest_cells", "membership", "IntruderLP", "suppress_joint",
           "window_parents", "window_label"]


@dataclass
class Finest:
    """The finest cells of one indicator.

    Attributes
    ----------
    keys : DataFrame
        One row per non-empty finest cell, one column per attribute (text labels).
    n, count : ndarray
        Respondents who answered, and those with the attribute (``count`` None for means).
    """

    keys: pd.DataFrame
    n: np.ndarray
    count: np.ndarray | None


def finest_cells(frame: pd.DataFrame, column: str, attributes: Sequence[str]) -> Finest:
    """The non-empty finest cells of ``column`` over ``attributes`` (respondents who answered).

    A 0/1 column gets ``count`` (the respondents with the attribute); any other numeric
    column (a scale mean) gets ``count=None``.
    """
    values = pd.to_numeric(frame[column], errors="coerce")
    keep = values.notna().to_numpy()
    sub = frame.loc[keep, list(attributes)].astype(str)
    v = values[keep]
    binary = bool(v.isin([0.0, 1.0]).all())
    g = sub.assign(_v=v.to_numpy()).groupby(list(attributes), sort=True)["_v"]
    agg = g.agg(["size", "sum"]).reset_index()
    return Finest(agg[list(attributes)].reset_index(drop=True),
                  agg["size"].to_numpy(float),
                  agg["sum"].to_numpy(float) if binary else None)


def membership(finest: Finest, cells: pd.DataFrame, *, unit_attribute: Mapping[str, str | None],
               waves: Sequence[int], breakdowns: Sequence[str], total: str = "all",
               ) -> sparse.csr_array:
    """The finest cells of each cell: a sparse 0/1 matrix, one row per row of ``cells``.

    Parameters
    ----------
    cells : DataFrame
        ``level``, ``unit``, ``first`` and ``last`` (the waves covered: one wave when equal),
        and one column per breakdown (``total`` for a margin).
    unit_attribute : dict
        ``level -> the attribute of the finest cells that names its units`` (None for the
        top level: every finest cell).
    waves : sequence of int
        The dataset's waves (a window covers those between ``first`` and ``last``).
    """
    keys = finest.keys
    nf = len(keys)
    wave_of = keys["wave"].astype(int).to_numpy()
    cache: dict[tuple, np.ndarray] = {}

    def mask(kind: str, *what) -> np.ndarray:
        k = (kind, *what)
        if k not in cache:
            if kind == "unit":
                attr = unit_attribute.get(what[0])
                if what[0] not in unit_attribute:
                    raise DisclosureError(f"unknown level {what[0]!r}", column="level",
                                          rule=f"levels: {', '.join(unit_attribute)}")
                cache[k] = (np.ones(nf, bool) if attr is None else
                            (keys[attr] == str(what[1])).to_numpy())
            elif kind == "window":
                cache[k] = (wave_of >= what[0]) & (wave_of <= what[1])
            else:
                cache[k] = (keys[what[0]] == str(what[1])).to_numpy()
        return cache[k]

    indptr, indices = [0], []
    for row in cells[["level", "unit", "first", "last", *breakdowns]].itertuples(index=False):
        m = mask("unit", row[0], row[1]) & mask("window", int(row[2]), int(row[3]))
        for b, value in zip(breakdowns, row[4:]):
            if str(value) != total:
                m = m & mask("by", b, value)
        hit = np.flatnonzero(m)
        indices.append(hit)
        indptr.append(indptr[-1] + len(hit))
    idx = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
    return sparse.csr_array((np.ones(len(idx)), idx, np.array(indptr)), shape=(len(cells), nf))


#: Random objectives per check at most, and the share of the open cells each must prove.
ROUNDS, GAIN = 8, 0.2


def _solver():
    import highspy  # the LP solver, loaded when an LP is solved

    from ssp_research.disclosure.intervals import quiet_solver

    return quiet_solver(), highspy  # no "Running HiGHS ... Copyright" banner


class IntruderLP:
    """The intruder's LP over the finest cells (see the module docs).

    The intruder knows every finest cell's size (a stronger intruder than one who knows the
    released ``n`` only: pupils per school, grade and gender are public, and what the
    stronger one cannot narrow, no weaker one can) and every known count; the unknowns are
    the finest counts ``0 <= x_f <= n_f``. The LP falls apart into independent parts (the
    waves, unless pooled windows join them); each part is solved on its own.

    Parameters
    ----------
    members : sparse matrix
        Cells x finest cells (:func:`membership`).
    sizes : ndarray
        The finest cells' sizes (respondents who answered).
    """

    def __init__(self, members: sparse.csr_array, sizes: np.ndarray):
        from scipy.sparse.csgraph import connected_components

        self.members = sparse.csr_array(members)
        self.sizes = np.asarray(sizes, float)
        nc, nf = self.members.shape
        graph = sparse.block_array([[None, self.members], [self.members.T, None]],
                                   format="csr")
        _, labels = connected_components(graph, directed=False)
        self.cell_part, self.finest_part = labels[:nc], labels[nc:]

    def _model(self, rows: sparse.csr_array, values: np.ndarray, upper: np.ndarray):
        model, highspy = _solver()
        nvar = len(upper)
        a = sparse.csc_array(rows)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = nvar, a.shape[0]
        lp.col_cost_ = np.zeros(nvar)
        lp.col_lower_, lp.col_upper_ = np.zeros(nvar), upper
        lp.row_lower_ = lp.row_upper_ = np.asarray(values, float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data.astype(float)
        model.passModel(lp)
        index = np.arange(nvar, dtype=np.int32)
        optimal = highspy.HighsModelStatus.kOptimal

        def solve(cost: np.ndarray) -> np.ndarray:
            model.changeColsCost(nvar, index, np.asarray(cost, dtype=float))
            model.run()
            if model.getModelStatus() != optimal:
                raise DisclosureError(
                    "the intruder's LP could not be solved "
                    f"({model.modelStatusToString(model.getModelStatus())})",
                    rule="released cells are sums of the same finest cells",
                    hint="check that every released table comes from the same data")
            return np.asarray(model.getSolution().col_value)

        solve.duals = lambda: np.asarray(model.getSolution().row_dual)  # of the last solve
        return solve

    def binding(self, known: np.ndarray, values: np.ndarray, target: int) -> np.ndarray:
        """The known cells that bound ``target``'s count: those with a nonzero dual value at
        its minimum or its maximum (the combination of known counts that narrows it; hiding
        one of them widens it, unless another combination takes its place)."""
        known = np.asarray(known, dtype=np.int64)
        part = self.cell_part[target]
        cols = np.flatnonzero(self.finest_part == part)
        kin = np.flatnonzero(self.cell_part[known] == part)
        sub = self.members[:, cols]
        solve = self._model(sub[known[kin]], np.asarray(values, float)[kin], self.sizes[cols])
        cost = sub[[target]].toarray().ravel()
        out = np.zeros(len(kin), bool)
        for sign in (1.0, -1.0):
            solve(sign * cost)
            out |= np.abs(solve.duals()) > 1e-9
        return known[kin[out]]

    def ranges(self, known: np.ndarray, values: np.ndarray, targets: np.ndarray,
               need: np.ndarray, truth: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
        """The count range ``[lo, hi]`` of each target cell, given the ``known`` counts.

        A target whose range is wide enough (``floor(hi) - ceil(lo) >= need``) may get an
        inner bound (values reached by feasible points: the true finest counts ``truth`` and
        the solutions of a few objectives over all targets); the others get their exact
        minimum and maximum.
        """
        targets = np.asarray(targets, dtype=np.int64)
        known = np.asarray(known, dtype=np.int64)
        values = np.asarray(values, float)
        need = np.asarray(need, float)
        lo = np.full(len(targets), np.inf)
        hi = np.full(len(targets), -np.inf)
        for part in np.unique(self.cell_part[targets]):
            cols = np.flatnonzero(self.finest_part == part)
            mine = np.flatnonzero(self.cell_part[targets] == part)
            kin = self.cell_part[known] == part
            sub = self.members[:, cols]
            solve = self._model(sub[known[kin]], values[kin], self.sizes[cols])
            pick = sub[targets[mine]].tocsr()
            plo, phi = self._spread(solve, pick, need[mine],
                                    None if truth is None else truth[cols], len(mine))
            lo[mine], hi[mine] = plo, phi
        return lo, hi

    @staticmethod
    def _spread(solve, pick: sparse.csr_array, need: np.ndarray, truth, seed: int):
        lo = np.full(pick.shape[0], np.inf)
        hi = np.full(pick.shape[0], -np.inf)

        def spread(point: np.ndarray) -> None:
            v = pick @ point
            np.minimum(lo, v, out=lo)
            np.maximum(hi, v, out=hi)

        def proven() -> np.ndarray:
            return np.floor(hi + 1e-7) - np.ceil(lo - 1e-7) >= need

        if truth is not None:
            spread(truth)
        rng = np.random.default_rng(seed)
        stalled = 0
        for round_ in range(ROUNDS):
            todo = np.flatnonzero(~proven())
            if not len(todo):
                break
            before = len(todo)
            weights = np.ones(len(todo)) if round_ == 0 else rng.standard_normal(len(todo))
            cost = weights @ pick[todo]
            for sign in (1.0, -1.0):
                spread(solve(sign * cost))
            # random objectives pay while each proves many cells at once (two LPs against
            # two per cell); stop when they no longer do
            stalled = stalled + 1 if np.count_nonzero(~proven()) > (1 - GAIN) * before else 0
            if stalled >= 2:
                break
        for k in np.flatnonzero(~proven()):
            cost = pick[[k]].toarray().ravel()
            for sign in (1.0, -1.0):  # exact: min and max
                spread(solve(sign * cost))
                if proven()[k]:
                    break
        return lo, hi


def suppress_joint(system, reason: pd.Series, rules: Rules, lp: IntruderLP, *,
                   n: np.ndarray, count: np.ndarray, locked: np.ndarray,
                   truth: np.ndarray | None = None,
                   singletons: bool = True) -> pd.Series:
    """Secondary suppression of one indicator's cells against :class:`IntruderLP`.

    Parameters
    ----------
    system : AdditiveSystem
        The cells' additive relations (they guide the choice of cells to hide).
    reason : Series
        Primary and series reasons (None: shown so far), one per cell of ``system``.
    lp : IntruderLP
        The intruder's LP over the same cells.
    n, count : ndarray
        The cells' true ``n`` and counts.
    locked : ndarray of bool
        Cells already public (released shown before): the intruder knows them, whatever
        this release shows, so they are never hidden to protect another cell (this release
        still hides those its own rules hide).
    singletons : bool
        A pupil alone in a hidden cell knows its count (see the module docs).

    Returns
    -------
    Series
        ``reason`` with ``"secondary"`` where more cells are hidden. Attributes: ``given``,
        the cells that the cells already public narrow on their own (those they give exactly
        and no rule of this release hides are shown: hiding them would protect nothing, and
        a release that hid them would only invite hiding more); ``insider_only``, the
        cells that only a pupil alone in a hidden cell could narrow, with every cell that
        would widen them hidden already (a cell of a few pupils that one of them knows).

    Raises
    ------
    DisclosureError
        A hidden cell stays narrowed below the rule however much is hidden, and the cells
        already public do not narrow it on their own: the release cannot be made safe.
    """
    sup = reason.notna().to_numpy().copy()
    need = np.minimum(rules.min_count, n).astype(float)
    public = np.asarray(locked, bool).copy()
    # Cells that what is already public gives exactly (a pooled window whose waves were all
    # shown) are public too: hiding them protects nothing, and they are not this release's
    # to protect. The relations find them cheaply; the LP finds the rest when a cell cannot
    # be repaired. (ssp release check reports them.)
    given = system.determined(public) & ~public if public.any() else np.zeros(len(n), bool)
    system.locked = public | given  # never worth hiding: the intruder knows them
    single = sup & (n == 1) & ~system.locked if singletons else np.zeros(len(n), bool)
    safe = given.copy()
    accepted = np.zeros(len(n), bool)  # narrowed only by a pupil's own answer, unrepairable
    insider = np.zeros(len(n), bool)  # found unsafe by a singleton's knowledge
    rounds = 0

    def width(lo, hi):
        return np.floor(hi + 1e-7) - np.ceil(lo - 1e-7)

    while True:
        rounds += 1
        insider[:] = False
        open_ = sup & ~system.locked  # hidden and not known anyway
        system.greedy(open_, rules)
        sup |= open_
        visible = np.flatnonzero(~sup | system.locked)
        # the outside intruder: every shown or public count
        todo = np.flatnonzero(sup & ~system.locked & ~safe)
        lo, hi = lp.ranges(visible, count[visible], todo, need[todo], truth)
        safe[todo] = True
        unsafe = todo[width(lo, hi) < need[todo]]
        if single.any() and not len(unsafe):
            # each pupil alone in a hidden cell knows that cell's count: checked one pupil at
            # a time, on the hidden cells of the same relation component
            hidden, _, labels, _ = system.components(sup & ~system.locked)
            label_of = dict(zip(hidden.tolist(), labels.tolist()))
            for sgl in np.flatnonzero(single):
                mates = np.array([h for h in hidden if label_of[h] == label_of.get(sgl)
                                  and h != sgl and not accepted[h]], dtype=np.int64)
                if not len(mates):
                    continue
                known = np.concatenate([visible, [sgl]])
                # in a cell that holds the pupil, what they learn is about the others: the
                # rule's width for its n - 1 other pupils
                holds = (lp.members[mates] @ lp.members[[sgl]].T).toarray().ravel() > 0
                need1 = np.minimum(rules.min_count, n[mates] - holds).astype(float)
                lo1, hi1 = lp.ranges(known, count[known], mates, need1, truth)
                bad1 = mates[width(lo1, hi1) < need1]
                if len(bad1):
                    unsafe = np.union1d(unsafe, bad1)
                    insider[bad1] = True
        if not len(unsafe):
            break
        if system.locked.any():
            # narrowed by what was public before this release? Then it is not this release's
            # to protect (hiding more would protect nothing); one that the public cells give
            # exactly, and that no rule hides, is shown: its value is public already
            pub = np.flatnonzero(system.locked)
            lo0, hi0 = lp.ranges(pub, count[pub], unsafe, need[unsafe], truth)
            already = width(lo0, hi0) < need[unsafe]
            old = unsafe[already]
            given[old] = system.locked[old] = safe[old] = True
            exact = old[(hi0 - lo0)[already] < 1e-6]
            sup[exact[reason.iloc[exact].isna().to_numpy()]] = False
            unsafe = unsafe[~already]
            if not len(unsafe):
                continue
        safe[unsafe] = False
        open_ = sup & ~system.locked
        # GaussSuppression's interval step on the relations (publishing order, largest n
        # first); cells the relations alone do not find narrowed (window overlaps, a
        # pupil's own answer) get the older repairs
        known = np.flatnonzero(system.locked | (n <= 0))
        order = [int(i) for i in np.argsort(-n, kind="stable")
                 if n[i] > 0 and not system.locked[i]]
        narrow = [int(i) for i in unsafe]
        cand, local = neighbourhood(system, open_, narrow, order)
        added = fix_intervals(BoundsLP(system, local), open_, cand, need, narrow, known)
        open_[added] = True
        if not added:
            added = system.repair(open_, [int(i) for i in unsafe], rules)
        if not added:  # every related cell is hidden or public: widen through overlaps
            added = _hide_overlapping(lp.members, open_, system.locked, unsafe, n)
        if not added:  # or through the known cells that bound it in the intruder's LP
            added = _hide_binding(lp, open_, system.locked, unsafe, n, count)
        sup |= open_
        if added:
            continue
        if len(unsafe):  # only a pupil's own answer narrows them, and nothing widens them
            only = insider[unsafe]
            accepted[unsafe[only]] = True
            safe[unsafe[only]] = True
            unsafe = unsafe[~only]
        if len(unsafe):
            i = int(unsafe[0])
            at = {int(c): k for k, c in enumerate(todo)}
            span = f"{lo[at[i]]:.1f}..{hi[at[i]]:.1f}" if i in at else "too few values"
            raise DisclosureError(
                f"a hidden cell stays narrowed to {span} whatever else is hidden "
                f"({getattr(system, 'names', {}).get(i, f'cell {i}')})",
                rule=f"no hidden count narrowed below {rules.min_count} values",
                hint="cells released before narrow it; do not release this table, or "
                     "release it with fewer breakdowns")
        if rounds > 500:  # pragma: no cover - a guard against a loop that never ends
            raise DisclosureError("secondary suppression did not converge",
                                  rule="secondary LP check", hint="report this as a bug")
    out = reason.copy()
    new = sup & ~reason.notna().to_numpy()
    out.iloc[np.flatnonzero(new)] = "secondary"
    out.attrs["given"] = given
    out.attrs["insider_only"] = accepted
    return out


def _hide_overlapping(members: sparse.csr_array, sup: np.ndarray, locked: np.ndarray,
                      unsafe: np.ndarray, n: np.ndarray) -> list[int]:
    """Hide, for each unsafe cell, the smallest shown cell that shares finest cells with it."""
    added: list[int] = []
    overlap = (members @ members[unsafe].T).tocsc()
    for k in range(len(unsafe)):
        col = overlap[:, [k]].toarray().ravel()
        cand = np.flatnonzero((col > 0) & ~sup & ~locked)
        if len(cand):
            j = int(cand[np.argmin(n[cand])])
            sup[j] = True
            added.append(j)
    return added


def _hide_binding(lp: IntruderLP, sup: np.ndarray, locked: np.ndarray, unsafe: np.ndarray,
                  n: np.ndarray, count: np.ndarray) -> list[int]:
    """Hide, for each unsafe cell, the smallest shown cell among the known cells that bound
    it in the intruder's LP (:meth:`IntruderLP.binding`)."""
    added: list[int] = []
    known = np.flatnonzero(~sup | locked)
    for i in unsafe:
        bound = lp.binding(known, count[known], int(i))
        cand = bound[~sup[bound] & ~locked[bound]]
        if len(cand):
            j = int(cand[np.argmin(n[cand])])
            if not sup[j]:
                sup[j] = True
                added.append(j)
    return added


def window_parents(windows: Sequence[tuple[int, int]], waves: Sequence[int]
                   ) -> dict[str, list[str]]:
    """``{window label: [its single waves' labels]}`` for the windows of more than one wave.

    >>> window_parents([(2019, 2023), (2025, 2025)], [2019, 2021, 2023, 2025])
    {'2019-2023': ['2019', '2021', '2023']}
    """
    out: dict[str, list[str]] = {}
    for first, last in windows:
        if first != last:
            out[f"{first}-{last}"] = [str(w) for w in waves if first <= w <= last]
    return out


def window_label(first: int, last: int) -> str:
    """``"2025"`` for one wave, ``"2021-2025"`` for a window (as in ledger keys)."""
    return str(int(last)) if int(first) == int(last) else f"{int(first)}-{int(last)}"

