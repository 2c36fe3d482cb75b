"""Interval repair in publishing order: which cells to hide so that no count is narrowed.

The interval step of Statistics Norway's GaussSuppression (Langsrud 2024, "Secondary cell
suppression by Gaussian elimination"; R packages GaussSuppression and SSBtools), written here
for the additive systems of :mod:`~ssp_research.disclosure.secondary`; ideas, not code.

Every cell is offered for publication in one order of preference, the largest ``n`` first.
:class:`BoundsLP` is the LP of one system with every cell a variable: a published cell fixed
at its count, a hidden one free in ``[0, n]`` (HiGHS, one model whose bounds change). For the
hidden cells it finds narrowed (fewer than ``min(min_count, n) + 1`` whole values possible),
:func:`fix_intervals` publishes the candidates again in that order, with the LP checking
those cells after each prefix (found by galloping and bisection: publishing more only
narrows); the cell whose publication first narrows one of them is hidden too, and the search
goes on after it. :func:`suppress` runs the whole loop on one system: close every relation
with a single hidden cell (:meth:`~ssp_research.disclosure.secondary.AdditiveSystem.greedy`),
check every hidden count, repair, until every hidden count is wide enough.

Measured against GaussSuppression 1.2.3 on the ten indicator tables of the synthetic city
(``benchmarks/bench_suppression_economy.py``; the figures are in its docstring). Its
Gaussian elimination step (hide a cell when publishing it would let a hidden one be computed
exactly) was also tried before this step: 1 % fewer cells on those tables, at the price of a
dense basis of the relations' null space (cells x free parameters), which a national table
(15,000 cells per wave) cannot afford; the LP check already covers exact disclosure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from ssp_research.core.errors import DisclosureError

#: How far (in relations) from a narrowed cell's hidden neighbours the repair looks.
HOPS = 2

__all__ = ["quiet_solver", "BoundsLP", "fix_intervals", "neighbourhood", "suppress"]

def quiet_solver():
    """A HiGHS solver that prints nothing.

    ``highspy.Highs()`` installs its Python callbacks while HiGHS's output is still on, which
    prints "Running HiGHS ... Copyright" into every terminal and notebook (ipykernel forwards
    the C library's stdout). The solver's own constructor (the binding ``Highs`` extends)
    prints nothing; output is then switched off. Only the binding's methods are used here
    (``passModel``, ``changeColsCost``, ``run``, ``getSolution``), not the Python callbacks.
    """
    import highspy  # the LP solver, loaded when an LP is solved

    model = highspy.Highs.__new__(highspy.Highs)
    super(highspy.Highs, model).__init__()
    model.setOptionValue("output_flag", False)
    return model


class BoundsLP:
    """The LP of an additive system with every cell a variable (HiGHS, one model reused).

    A published cell is fixed at its count, a hidden one lies in ``[0, n]``; each relation
    ``total = sum(parts) + rest`` holds with ``0 <= rest <= rest_n``. Changing what is hidden
    changes only bounds, so every solve starts from the last basis (warm start).

    Parameters
    ----------
    system : AdditiveSystem
        With true counts.
    rels : array of int, optional
        Only these relations (and their cells): every hidden cell of theirs must have all its
        relations among them (a component of hidden cells, :meth:`AdditiveSystem.components`);
        the other cells count as published.
    """

    ROUNDS, GAIN = 8, 0.2  # random objectives per check at most, and the share each must prove

    def __init__(self, system, rels: np.ndarray | None = None) -> None:
        import highspy

        self.n = np.asarray(system.n, float)
        self.count = np.nan_to_num(np.asarray(system.count, float), nan=0.0)
        rels = np.arange(len(system.relations)) if rels is None else np.asarray(rels, int)
        signed = system.signed[rels]
        cols = (np.arange(len(self.n)) if len(rels) == len(system.relations)
                else np.unique(signed.tocoo().col))
        self.cols = cols.astype(np.int64)
        self.loc = np.full(len(self.n), -1, dtype=np.int64)
        self.loc[self.cols] = np.arange(len(self.cols))
        rest_rows = np.flatnonzero(system.rest_n[rels] > 0)
        rest = sparse.csr_array((-np.ones(len(rest_rows)), (rest_rows, np.arange(len(rest_rows)))),
                                shape=(len(rels), len(rest_rows)))
        a = sparse.hstack([signed[:, self.cols], rest], format="csc")
        self.nvar = a.shape[1]
        self.model = quiet_solver()
        # the objective changes between solves, the basis stays feasible: primal simplex
        self.model.setOptionValue("simplex_strategy", 4)
        self.highspy = highspy
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.nvar, a.shape[0]
        lp.col_cost_ = np.zeros(self.nvar)
        lp.col_lower_ = np.zeros(self.nvar)
        lp.col_upper_ = np.concatenate([self.n[self.cols], system.rest_n[rels][rest_rows]])
        lp.row_lower_ = lp.row_upper_ = np.zeros(a.shape[0])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data.astype(float)
        self.model.passModel(lp)
        self._cells = np.arange(len(self.cols), dtype=np.int32)
        self._all = np.arange(self.nvar, dtype=np.int32)
        self.solves = 0

    def _hide(self, sup: np.ndarray) -> None:
        hid = np.asarray(sup, bool)[self.cols]
        c = self.count[self.cols]
        self.model.changeColsBounds(len(self.cols), self._cells, np.where(hid, 0.0, c),
                                    np.where(hid, self.n[self.cols], c))

    def _cost(self, cells: np.ndarray, weights) -> np.ndarray:
        cost = np.zeros(self.nvar)
        cost[self.loc[cells]] = weights
        return cost

    def _solve(self, cost: np.ndarray) -> np.ndarray:
        """Minimise; the solution's value of every cell (the published ones' counts)."""
        self.model.changeColsCost(self.nvar, self._all, cost)
        self.model.run()
        self.solves += 1
        status = self.model.getModelStatus()
        if status != self.highspy.HighsModelStatus.kOptimal:
            raise DisclosureError(
                "the range of a suppressed cell could not be solved "
                f"({self.model.modelStatusToString(status)})", rule="secondary LP check",
                hint="check that totals and parts are consistent")
        x = self.count.copy()
        x[self.cols] = np.asarray(self.model.getSolution().col_value)[:len(self.cols)]
        return x

    def unsafe(self, sup: np.ndarray, cells: Sequence[int], need: np.ndarray, *,
               first: bool = False, suspect: int | None = None,
               points: Sequence[np.ndarray] = (), found: list | None = None) -> list[int]:
        """The ``cells`` (hidden in ``sup``) whose count keeps fewer than ``need + 1`` values.

        Every solution is a feasible point, and so are the true counts: a cell whose values
        over the points already spread by ``need`` is safe without its own LPs (the points
        come from pushing the open cells down and up, first together, then with random
        weights while a round proves a fifth of them). The rest get their exact minimum and
        maximum. With ``first`` the search stops at the first unsafe cell, trying the
        ``suspect`` cell (the one found last time) first. ``points`` are more feasible
        points (solutions of a system with fewer cells hidden); the solutions found here are
        appended to ``found``.
        """
        cells = np.asarray(cells, dtype=np.int64)
        if not len(cells):
            return []
        self._hide(np.asarray(sup, bool))
        lo = self.count[cells].copy()
        hi = lo.copy()
        wide = np.asarray(need, float)[cells]

        def proven() -> np.ndarray:
            return np.floor(hi + 1e-7) - np.ceil(lo - 1e-7) >= wide

        def spread(x: np.ndarray, new: bool = True) -> None:
            np.minimum(lo, x[cells], out=lo)
            np.maximum(hi, x[cells], out=hi)
            if new and found is not None:
                found.append(x)

        for x in points:
            spread(x, new=False)

        def exact(k: int) -> bool:
            c = int(cells[k])
            # the side with more room first: it may prove the cell alone
            signs = (-1.0, 1.0) if self.n[c] - hi[k] > lo[k] else (1.0, -1.0)
            for sign in signs:
                if proven()[k]:
                    break
                spread(self._solve(self._cost(np.array([c]), sign)))
            return bool(proven()[k])

        if first and suspect is not None and suspect in cells:
            k = int(np.flatnonzero(cells == suspect)[0])
            if not exact(k):
                return [int(suspect)]

        rng = np.random.default_rng(len(cells))
        for round_ in range(self.ROUNDS):
            todo = np.flatnonzero(~proven())
            if not len(todo):
                return []
            cost = self._cost(cells[todo],
                              1.0 if round_ == 0 else rng.standard_normal(len(todo)))
            for sign in (1.0, -1.0):
                spread(self._solve(sign * cost))
            if np.count_nonzero(~proven()) > (1 - self.GAIN) * len(todo):
                break
        bad: list[int] = []
        for k in np.flatnonzero(~proven()):
            if not exact(int(k)):
                bad.append(int(cells[k]))
                if first:
                    break
        return bad

    def ranges(self, sup: np.ndarray, cells: Sequence[int]) -> np.ndarray:
        """The exact ``[min, max]`` of each cell's count (rows), given ``sup``."""
        self._hide(np.asarray(sup, bool))
        out = np.empty((len(cells), 2))
        for k, c in enumerate(cells):
            for side, sign in enumerate((1.0, -1.0)):
                out[k, side] = self._solve(self._cost(np.array([int(c)]), sign))[int(c)]
        return out


def fix_intervals(lp: BoundsLP, sup: np.ndarray, order: Sequence[int], need: np.ndarray,
                  narrow: Sequence[int], known: Sequence[int] = ()) -> list[int]:
    """The cells to hide so that the ``narrow`` cells keep their width (GaussSuppression's
    interval step).

    The candidates of ``order`` are published in turn (every hidden and ``known`` cell as in
    ``sup``); the first prefix after which one of the ``narrow`` cells is too narrow is found
    (galloping from the last one, then bisection: publishing more only narrows), its last
    cell is hidden, and the search goes on after it. A narrow cell proven wide after some
    prefix stays wide after every shorter one, whatever is hidden later, so it is checked
    only beyond it.

    Parameters
    ----------
    lp : BoundsLP
        The LP of the system (or of the narrow cells' neighbourhood, :func:`neighbourhood`).
    sup : ndarray of bool
        The cells hidden so far.
    order : sequence of int
        The candidates (shown cells), most preferred for publication first.
    need : ndarray
        The width each cell needs (``min(min_count, n)``).
    narrow : sequence of int
        The hidden cells found too narrow with every candidate published.
    known : sequence of int
        Cells whose counts are known whatever is hidden (public before, ``n = 0``).

    Returns
    -------
    list of int
        The cells to hide, sorted; ``[]`` when the known cells alone narrow them.
    """
    pub = [int(c) for c in order if not sup[c]]
    narrow = np.asarray(narrow, dtype=np.int64)
    ok_upto = np.full(len(narrow), -1)
    extra: set[int] = set()
    suspect: list[int] = []
    pool: list[tuple[int, np.ndarray]] = []  # (prefix, solution): feasible for shorter ones

    def fine(i: int) -> bool:
        check = ok_upto < i
        if not check.any():
            return True
        s = np.ones(len(sup), bool)
        s[[c for c in pub[:i] if c not in extra]] = False
        s |= sup
        s[list(known)] = False
        found: list[np.ndarray] = []
        bad = lp.unsafe(s, narrow[check], need, first=True,
                        suspect=suspect[-1] if suspect else None,
                        points=[x for j, x in pool if j >= i], found=found)
        pool.extend((i, x) for x in found)
        if bad:
            suspect.extend(bad)
            return False
        ok_upto[check] = i
        return True

    if not fine(0):
        return []  # the known cells alone narrow them: nothing to hide helps
    start = 0
    while not fine(len(pub)):
        if start >= len(pub):  # fine(start) holds by construction; a guard against a loop
            raise DisclosureError("the interval repair did not converge",
                                  rule="secondary LP check", hint="report this as a bug")
        lo, step = start, 1  # fine(lo); gallop to a prefix that is not
        hi = min(start + step, len(pub))
        while fine(hi):
            lo, step = hi, 2 * step
            hi = min(start + step, len(pub))
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if fine(mid):
                lo = mid
            else:
                hi = mid
        extra.add(pub[hi - 1])
        start = hi
    return sorted(extra)


def neighbourhood(system, sup: np.ndarray, narrow: Sequence[int], order: Sequence[int],
                  hops: int = HOPS) -> tuple[list[int], np.ndarray]:
    """Where to look for cells that widen the ``narrow`` cells, and the LP that checks them.

    The candidates are the cells of ``order`` (shown) within ``hops`` relations of the
    narrow cells' components of hidden cells (two hidden cells are connected when they share
    a relation); the others stay published during the search, so the search is local on a
    national table (on the synthetic city's tables, 1 hop hid 443 cells, 2 hops 437, 3 or
    more the same 437).

    Parameters
    ----------
    system : AdditiveSystem
        The cells and their relations.
    sup : ndarray of bool
        The cells hidden so far.
    narrow : sequence of int
        The hidden cells to widen.
    order : sequence of int
        Every candidate, most preferred for publication first.
    hops : int
        How many relations away from the hidden cells to look.

    Returns
    -------
    (list of int, ndarray of int)
        The candidates (in ``order``), and the relations of the narrow cells' component with
        every candidate hidden: all the LP needs (:class:`BoundsLP` ``rels``).
    """
    allowed = np.zeros(len(sup), bool)
    allowed[list(order)] = True
    cand = np.zeros(len(sup), bool)
    for _ in range(hops + 1):
        hidden, rels, cell_label, rel_label = system.components(sup | cand)
        label = dict(zip(hidden.tolist(), cell_label.tolist()))
        mine = rels[np.isin(rel_label, [label[int(i)] for i in narrow if int(i) in label])]
        if _ == hops:
            break
        members = system.incidence[mine].tocoo().col if len(mine) else np.zeros(0, int)
        grown = cand.copy()
        grown[members] = True
        grown &= allowed & ~sup
        if (grown == cand).all():
            break
        cand = grown
    return [int(c) for c in order if cand[c]], mine


def suppress(system, sup: np.ndarray, rules, *, where: str = "") -> np.ndarray:
    """Secondary suppression of one additive system with counts (see the module docs).

    Parameters
    ----------
    system : AdditiveSystem
        With true counts; its ``locked`` cells (public already) and cells with ``n = 0``
        (their count is 0, whatever is shown) are never hidden to protect another cell.
    sup : ndarray of bool
        The primary and series cells.
    rules : Rules
        ``min_count`` gives the width each hidden count needs, ``min(min_count, n)``.
    where : str
        The system, for error messages.

    Returns
    -------
    ndarray of bool
        Every cell to hide.

    Raises
    ------
    DisclosureError
        A hidden count stays narrowed however much else is hidden (totals that do not add
        up from their parts).
    """
    n = np.asarray(system.n, float)
    need = np.minimum(rules.min_count, n).astype(float)
    sup = np.asarray(sup, bool).copy()
    known = np.flatnonzero((n <= 0) | system.locked)
    order = [int(i) for i in np.argsort(-n, kind="stable") if n[i] > 0 and not system.locked[i]]
    lp = BoundsLP(system)
    safe = np.zeros(len(n), bool)  # ranges only widen as more is hidden
    safe[known] = True
    while True:
        system.greedy(sup, rules)
        visible = sup.copy()
        visible[known] = False
        todo = np.flatnonzero(sup & ~safe)
        narrow = lp.unsafe(visible, todo, need)
        safe[todo] = True
        if not narrow:
            return sup
        safe[narrow] = False
        cand, rels = neighbourhood(system, sup, narrow, order)
        extra = fix_intervals(BoundsLP(system, rels), sup, cand, need, narrow, known)
        if not extra:
            lo, hi = lp.ranges(visible, narrow[:1])[0]
            raise DisclosureError(
                f"a suppressed cell stays narrowed to {lo:g}..{hi:g} however much else is "
                "hidden", row=where or None,
                rule=f"no hidden count narrowed below min({rules.min_count}, n) values",
                hint="check that the table's totals add up from its parts")
        sup[extra] = True
