"""The adversarial test: attack every suppressed count of a whole publication by LP.

The publication is what a batch of briefs publishes for the shipped synthetic city
(``data/synthetic/trondheim.parquet``): the city, its 4 districts and 25 schools, each by
gender (girl, boy, all) x grade (8, 9, 10, all) x wave, as unweighted counts of an indicator.
After :func:`protect`, the attacker knows every shown count, every ``n`` and that totals add up
(``0 <= count <= n``). For each suppressed count :func:`attack` solves ``min`` and ``max`` by
linear programming (the integer relaxation). "Narrower than min_count" means
``floor(max) - ceil(min) < min(min_count, n)``: fewer than ``min_count + 1`` whole values remain
possible (a cell with ``n < min_count`` can only ask for all of ``0..n``). No cell may fall.

``make test`` runs two indicators (a common one and a rare one, which suppresses most); the
full set of ten is marked slow. ``benchmarks/bench_disclosure.py`` prints the same report.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ssp_research.core import paths
from ssp_research.disclosure import Rules, attack, protect, publication_cube

DATA = paths.synthetic_dir() / "trondheim.parquet"
QUICK = ["ind_lonely", "ind_poor_economy"]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    if not DATA.exists():
        pytest.fail(f"the shipped synthetic data is missing: {DATA} (run `make synth`)")
    return pd.read_parquet(DATA)


def _attack_indicator(data: pd.DataFrame, indicator: str, rules: Rules) -> dict:
    cube = publication_cube(data, indicator)
    protected = protect(cube, rules)
    primary_only = protect(cube, rules, hierarchy={})
    ranges = attack(protected, cube, rules)
    fell = ranges[~ranges["safe"]]
    assert fell.empty, f"{indicator}: {len(fell)} suppressed counts recovered:\n{fell}"
    # the attacker's range always contains the truth (the LP model is the real one)
    assert ((ranges["lo"] <= ranges["count"] + 1e-6)
            & (ranges["count"] <= ranges["hi"] + 1e-6)).all()
    # every shown cell passes the primary rule
    shown = protected[~protected["suppressed"]]
    assert (shown["n"] >= rules.min_n).all()
    assert (shown[["count"]].min(axis=1) >= rules.min_count).all()
    assert ((shown["n"] - shown["count"]) >= rules.min_count).all()
    reasons = protected["reason"].value_counts()
    return {"indicator": indicator, "cells": len(cube), "attacked": len(ranges),
            "fell": len(fell), "primary_and_series": int(primary_only["suppressed"].sum()),
            "with_secondary": int(protected["suppressed"].sum()),
            "secondary": int(reasons.get("secondary", 0)),
            "narrowest": int(ranges["width"].min())}


def _report(rows: list[dict]) -> None:
    frame = pd.DataFrame(rows)
    print("\nadversarial LP attack on the synthetic publication")
    print(frame.to_string(index=False))
    print(f"total: {frame['attacked'].sum()} suppressed counts attacked, "
          f"{frame['fell'].sum()} fell; suppression {frame['primary_and_series'].sum()} cells "
          f"(primary + series) -> {frame['with_secondary'].sum()} (+ secondary)")


def test_publication_shape(data):
    cube = publication_cube(data, "ind_lonely")
    levels = cube.drop_duplicates(["level", "unit"])["level"].value_counts()
    assert levels["city"] == 1 and levels["district"] == 4 and levels["school"] >= 20
    assert set(cube["gender"]) == {"girl", "boy", "all"}
    assert set(cube["grade"]) == {"8", "9", "10", "all"}
    assert cube["wave"].nunique() == 4


def test_no_suppressed_count_falls_quick(data):
    rows = [_attack_indicator(data, ind, Rules()) for ind in QUICK]
    _report(rows)
    assert sum(r["attacked"] for r in rows) > 500  # the attack really ran on many cells


@pytest.mark.slow
def test_no_suppressed_count_falls_all_indicators(data):
    indicators = [c for c in data.columns if c.startswith("ind_")]
    rows = [_attack_indicator(data, ind, Rules()) for ind in indicators]
    _report(rows)


@pytest.mark.slow
def test_no_suppressed_count_falls_with_stricter_rules(data):
    rules = Rules.from_overrides({"min_n": 30, "min_count": 5})
    _report([_attack_indicator(data, ind, rules) for ind in QUICK])
