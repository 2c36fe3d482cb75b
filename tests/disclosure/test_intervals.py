"""The interval repair (GaussSuppression's interval step) and its LP.

* :func:`fix_intervals` hides exactly the cells its specification names: the first
  candidate (in publishing order) after which a narrowed cell is too narrow, then the next
  one after it (brute force over every prefix on random systems);
* :class:`BoundsLP` on one component of hidden cells gives the ranges of the whole system;
* economy: on the ten indicator tables of the shipped synthetic city, ``protect`` hides no
  more secondary cells than Statistics Norway's GaussSuppression did on the same tables, and
  the library's attack narrows none of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ssp_research.core import paths
from ssp_research.disclosure import Rules, attack, protect, publication_cube
from ssp_research.disclosure.intervals import BoundsLP, fix_intervals, neighbourhood
from ssp_research.disclosure.secondary import AdditiveSystem

#: GaussSuppression 1.2.3 (interval protection, LP package Rglpk, the same primary cells), on
#: publication_cube(wave 2025 of data/synthetic/trondheim.parquet, indicator): secondary
#: cells per table, from benchmarks/bench_suppression_economy.py (run 2026-12-04).
GAUSS_SUPPRESSION = {"lonely": 40, "depressive": 57, "bullied": 62, "close_friend": 52,
                     "thriving": 31, "local_env": 32, "inactive": 43, "screen_4h": 31,
                     "poor_economy": 59, "good_health": 32}


def _system(seed: int, schools: int = 6):
    """A random unit x gender system: city -> 2 districts -> schools, all -> girl, boy."""
    rng = np.random.default_rng(seed)
    units = {f"s{k}": f"d{k % 2}" for k in range(schools)}
    leaves = {(s, g): (int(rng.integers(0, 40)), 0) for s in units for g in ("girl", "boy")}
    leaves = {k: (n, int(rng.binomial(n, rng.uniform(0.02, 0.5)))) for k, (n, _) in leaves.items()}
    cells: dict[tuple[str, str], list[int]] = {}
    for (s, g), (n, c) in leaves.items():
        for u in (s, units[s], "city"):
            for gg in (g, "all"):
                cells.setdefault((u, gg), [0, 0])
                cells[(u, gg)][0] += n
                cells[(u, gg)][1] += c
    coords = list(cells)
    n = np.array([cells[k][0] for k in coords], float)
    count = np.array([cells[k][1] for k in coords], float)
    kids = {"city": ["d0", "d1"], "d0": [s for s in units if units[s] == "d0"],
            "d1": [s for s in units if units[s] == "d1"]}
    system = AdditiveSystem(np.arange(len(coords)), coords, n, count,
                            [kids, {"all": ["girl", "boy"]}], where="test")
    return system, n, count


def _narrowed(lp, sup, cells, need):
    return lp.unsafe(sup, cells, need)


def test_fix_intervals_hides_the_first_cell_whose_publication_narrows():
    repaired = sum(_check_repair(seed) for seed in range(40))
    assert repaired >= 10  # systems where the greedy step alone left a cell narrowed


def _check_repair(seed: int) -> bool:
    system, n, count = _system(seed)
    rules = Rules(min_n=10, min_count=3)
    need = np.minimum(rules.min_count, n)
    sup = (n < rules.min_n) | (np.minimum(count, n - count) < rules.min_count)
    sup &= n > 0
    system.greedy(sup, rules)
    lp = BoundsLP(system)
    known = np.flatnonzero(n <= 0)
    visible = sup.copy()
    visible[known] = False
    narrow = _narrowed(lp, visible, np.flatnonzero(sup), need)
    if not narrow:
        return False
    order = [int(i) for i in np.argsort(-n, kind="stable") if n[i] > 0 and not sup[i]]
    extra = fix_intervals(lp, sup, order, need, narrow, known)
    assert extra, "a narrowed cell must get a repair"
    after = sup.copy()
    after[extra] = True
    after[known] = False
    assert not _narrowed(lp, after, narrow, need)
    # the specification, by brute force: walk the candidates in order, hiding each one after
    # which a narrowed cell would be too narrow
    hidden: list[int] = []
    for k, c in enumerate(order):
        s = np.ones(len(n), bool)
        s[[d for d in order[:k + 1] if d not in hidden]] = False
        s |= sup
        s[known] = False
        if _narrowed(lp, s, narrow, need):
            hidden.append(c)
    assert sorted(hidden) == extra, seed
    return True


@pytest.mark.parametrize("seed", range(6))
def test_the_lp_of_one_component_gives_the_ranges_of_the_whole_system(seed):
    system, n, count = _system(seed, schools=8)
    rng = np.random.default_rng(100 + seed)
    sup = rng.random(len(n)) < 0.4
    whole = BoundsLP(system)
    hidden, rels, cell_label, rel_label = system.components(sup)
    for comp in np.unique(rel_label):
        cells = hidden[cell_label == comp]
        local = BoundsLP(system, rels[rel_label == comp])
        assert local.nvar < whole.nvar
        np.testing.assert_allclose(local.ranges(sup, cells), whole.ranges(sup, cells),
                                   atol=1e-7)
        # and the true counts lie inside
        lo_hi = local.ranges(sup, cells)
        assert (lo_hi[:, 0] <= count[cells] + 1e-9).all()
        assert (count[cells] <= lo_hi[:, 1] + 1e-9).all()


def test_the_neighbourhood_holds_every_relation_of_its_hidden_cells():
    system, n, _ = _system(3, schools=8)
    sup = np.zeros(len(n), bool)
    sup[[0, 5]] = True
    order = [int(i) for i in np.argsort(-n, kind="stable") if not sup[i]]
    cand, rels = neighbourhood(system, sup, [0], order, hops=1)
    assert cand and all(not sup[c] for c in cand)
    assert [c for c in order if c in cand] == cand  # publishing order kept
    # with every candidate hidden, each hidden cell of the component has all its
    # relations in the LP (nothing outside can narrow it)
    hid = sup.copy()
    hid[cand] = True
    inside = set(rels.tolist())
    for cell in {int(m) for r in rels for m in (system.relations[r][0],
                                                *system.relations[r][1]) if hid[m]}:
        assert set(system.member_of[cell]) <= inside


def test_economy_no_more_secondary_cells_than_gauss_suppression():
    data = pd.read_parquet(paths.synthetic_dir() / "trondheim.parquet")
    data = data[data["wave"] == 2025].reset_index(drop=True)
    rules = Rules()
    ours = 0
    for indicator in GAUSS_SUPPRESSION:
        cube = publication_cube(data, f"ind_{indicator}")
        out = protect(cube, rules)
        ours += int((out["reason"] == "secondary").sum())
        found = attack(out, cube, rules)
        assert found["safe"].all(), indicator
    assert ours <= sum(GAUSS_SUPPRESSION.values())
