"""Tests of ssp_research.disclosure.suppression: each rule on hand-made tables, the subtraction
attack, the HTML contract, and property tests on random hierarchies (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssp_research.core.errors import DisclosureError
from ssp_research.disclosure import (
    MARK_BREAK,
    Rules,
    attack,
    protect,
    protect_like,
    publication_cube,
    table_html_attrs,
    to_html,
)


def _gender_table(girls: tuple[int, int], boys: tuple[int, int], rest: tuple[int, int] = (0, 0)):
    """total / girl / boy rows from (n, count) of each part (rest: unknown gender)."""
    n = [girls[0] + boys[0] + rest[0], girls[0], boys[0]]
    c = [girls[1] + boys[1] + rest[1], girls[1], boys[1]]
    return pd.DataFrame({"variable": "lonely", "gender": ["all", "girl", "boy"],
                         "estimate": np.array(c) / np.array(n), "se": 0.05, "ci_low": 0.0,
                         "ci_high": 1.0, "df": np.array(n) - 1, "n": n, "count": c})


def _cube(leaves: dict[tuple[str, str, str], tuple[int, int]], tree: dict[str, str],
          wave: int = 2025) -> pd.DataFrame:
    """Build every margin (units up the tree x gender x grade) from leaf (n, count)."""
    def ancestors(u):
        out = [u]
        while tree.get(out[-1]):
            out.append(tree[out[-1]])
        return out
    cells: dict[tuple[str, str, str], list[int]] = {}
    for (school, gender, grade), (n, c) in leaves.items():
        for u in ancestors(school):
            for g in (gender, "all"):
                for gr in (grade, "all"):
                    acc = cells.setdefault((u, g, gr), [0, 0])
                    acc[0] += n
                    acc[1] += c
    rows = [{"variable": "x", "wave": wave, "unit": u, "parent": tree.get(u, ""), "gender": g,
             "grade": gr, "n": n, "count": c} for (u, g, gr), (n, c) in cells.items()]
    t = pd.DataFrame(rows)
    t["estimate"] = np.where(t["n"] > 0, t["count"] / t["n"].where(t["n"] > 0, 1), np.nan)
    return t


# --- rules -----------------------------------------------------------------------------------


def test_rules_defaults_and_overrides():
    r = Rules()
    assert (r.min_n, r.min_count, r.weak_n) == (20, 3, 40)
    assert (r.series_weak_share, r.series_suppressed_share) == (0.5, 0.2)
    r2 = Rules.from_overrides({"min_n": 30, "min_count": 5})
    assert (r2.min_n, r2.min_count, r2.weak_n) == (30, 5, 60)  # weak_n follows min_n
    assert Rules.from_overrides({"min_n": 30, "weak_n": 45}).weak_n == 45
    assert Rules.from_overrides(None) == Rules()
    assert Rules(min_n=25).weak_n == 50 and Rules().as_dict()["weak_n"] == 40


def test_rules_unknown_key_lists_valid_ones():
    with pytest.raises(DisclosureError) as err:
        Rules.from_overrides({"minimum_n": 10})
    text = str(err.value)
    assert "minimum_n" in text
    for name in ("min_n", "min_count", "weak_n", "series_weak_share", "series_suppressed_share"):
        assert name in text


@pytest.mark.parametrize("bad", [{"min_n": 0}, {"min_count": -1}, {"min_n": 2.5},
                                 {"series_weak_share": 1.5}, {"series_suppressed_share": "x"}])
def test_rules_reject_bad_values(bad):
    with pytest.raises(DisclosureError):
        Rules.from_overrides(bad)


def test_rules_describe_both_languages_carry_the_numbers():
    r = Rules.from_overrides({"min_n": 25, "min_count": 4})
    nb, en = r.describe("nb"), r.describe("en")
    assert "færre enn 25 elever" in nb and "færre enn 4" in nb and "50 %" in nb
    assert "fewer than 25 pupils" in en and "fewer than 4" in en and "50%" in en
    assert "*" in nb and MARK_BREAK in en
    with pytest.raises(DisclosureError):
        r.describe("de")


# --- primary ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "count", "reason"), [
    (19, 10, "n"), (20, 10, None), (50, 2, "count"), (50, 3, None), (50, 48, "count"),
    (50, 47, None), (50, 0, "count"), (50, 50, "count"), (0, 0, "n"),
])
def test_primary_thresholds(n, count, reason):
    t = pd.DataFrame({"variable": "x", "estimate": [count / n if n else np.nan], "n": [n],
                      "count": [count]})
    p = protect(t, series_by=())
    assert p["reason"].iloc[0] == reason
    assert bool(p["suppressed"].iloc[0]) is (reason is not None)


def test_suppressed_values_are_blanked_n_kept():
    p = protect(_gender_table((10, 0), (40, 16)), series_by=())
    girl = p.iloc[1]
    for col in ("estimate", "se", "ci_low", "ci_high", "count"):
        assert math.isnan(girl[col])
    assert girl["n"] == 10 and girl["df"] == 9 and girl["marker"] == "*"
    assert p.iloc[0]["count"] == 16 and p.iloc[0]["estimate"] == pytest.approx(0.32)
    assert list(p.columns[-3:]) == ["suppressed", "reason", "marker"]
    assert list(p.index) == [0, 1, 2]


def test_mean_table_uses_n_only():
    t = pd.DataFrame({"variable": "depressive_mean", "gender": ["all", "girl", "boy"],
                      "estimate": [2.1, 2.4, 2.0], "n": [60, 12, 48]})
    p = protect(t, series_by=())
    assert p["reason"].tolist() == [None, "n", "secondary"]


# --- the subtraction attack ------------------------------------------------------------------


def test_classic_subtraction_attack_is_blocked():
    t = _gender_table((10, 0), (40, 16))
    naive = protect(t, series_by=(), hierarchy={})  # primary only
    assert naive["reason"].tolist() == [None, "n", None]
    # the leak: total minus boys gives the girls exactly (0 of 10 lonely)
    assert naive.iloc[0]["count"] - naive.iloc[2]["count"] == 0
    safe = protect(t, series_by=())
    assert safe["reason"].tolist() == [None, "n", "secondary"]
    ranges = attack(safe, t, series_by=())
    girl = ranges[ranges["gender"] == "girl"].iloc[0]
    assert (girl["lo"], girl["hi"]) == (0.0, 10.0)
    assert ranges["safe"].all()


def test_zero_sum_pair_is_not_enough():
    # girls 0 of 10 and boys 0 of 30: hiding both still tells "0 + 0 = 0"
    t = _gender_table((10, 0), (30, 0), rest=(0, 0))
    t.loc[0, ["n", "count"]] = [40, 0]
    p = protect(t, series_by=())
    assert p["suppressed"].all()  # the total (count 0) is primary too
    assert attack(p, t, series_by=())["safe"].all()


def test_lp_repair_breaks_a_cycle_with_four_cells():
    # 3 schools x gender: greedy alone hides s1/s2 boys, but s1 girls + s2 girls = 1 is
    # published through the city girls minus s3 girls; LP repair must hide s3 girls too
    leaves = {("s1", "girl", "8"): (30, 0), ("s1", "boy", "8"): (40, 12),
              ("s2", "girl", "8"): (25, 1), ("s2", "boy", "8"): (50, 3),
              ("s3", "girl", "8"): (40, 5), ("s3", "boy", "8"): (45, 9)}
    t = _cube(leaves, {"s1": "city", "s2": "city", "s3": "city"})
    t = t[t["grade"] == "all"].drop(columns="grade").reset_index(drop=True)
    p = protect(t, series_by=())
    hidden = set(map(tuple, p.loc[p["suppressed"], ["unit", "gender"]].to_numpy()))
    assert hidden == {("s1", "girl"), ("s1", "boy"), ("s2", "girl"), ("s2", "boy"),
                      ("s3", "girl"), ("s3", "boy")}
    a = attack(p, t, series_by=())
    assert a["safe"].all()
    assert a.set_index(["unit", "gender"]).loc[("s2", "girl"), "hi"] == pytest.approx(4.0)


def test_regression_repair_when_a_neighbourhood_is_hidden_in_the_same_round():
    # found by a random search: districts with one school each; a repair round hid every
    # neighbour of a later unsafe cell, which once raised instead of re-checking
    leaves = {("d0s0", "girl", "8"): (41, 39), ("d0s0", "girl", "9"): (8, 8),
              ("d0s0", "girl", "10"): (25, 24), ("d0s0", "boy", "8"): (47, 9),
              ("d0s0", "boy", "9"): (5, 5), ("d0s0", "boy", "10"): (18, 4),
              ("d1s0", "girl", "8"): (25, 5), ("d1s0", "girl", "9"): (32, 16),
              ("d1s0", "girl", "10"): (16, 1), ("d1s0", "boy", "8"): (12, 0),
              ("d1s0", "boy", "9"): (45, 22), ("d1s0", "boy", "10"): (0, 0)}
    t = _cube(leaves, {"d0s0": "d0", "d1s0": "d1", "d0": "city", "d1": "city"})
    rules = Rules(min_n=10, min_count=5)
    p = protect(t, rules)
    assert attack(p, t, rules)["safe"].all()
    shown = p[~p["suppressed"]]
    assert (shown[["count"]].min(axis=1) >= 5).all()


def test_rest_of_unknown_gender_is_treated_as_hidden():
    # 2 pupils with unknown gender: the total is not exactly girls + boys
    t = _gender_table((10, 0), (40, 16), rest=(2, 1))
    p = protect(t, series_by=())
    assert p["reason"].tolist() == [None, "n", "secondary"]
    assert attack(p, t, series_by=())["safe"].all()


def test_margins_that_do_not_add_up_are_an_error():
    t = _gender_table((10, 0), (40, 16))
    t.loc[0, "n"] = 45  # total smaller than its parts
    with pytest.raises(DisclosureError, match="margins do not add up"):
        protect(t, series_by=())


def test_explicit_hierarchy_equals_the_inferred_one():
    t = _gender_table((10, 0), (40, 16))
    a = protect(t, series_by=())
    b = protect(t, series_by=(), hierarchy={"gender": {"girl": "all", "boy": "all"}})
    pd.testing.assert_frame_equal(a, b)


# --- series ----------------------------------------------------------------------------------


def _series(ns, counts, breaks=None):
    t = pd.DataFrame({"variable": "x", "wave": [2019, 2021, 2023, 2025][: len(ns)],
                      "estimate": 0.2, "n": ns, "count": counts})
    if breaks is not None:
        t["series_break"] = breaks
    return t


def test_series_suppressed_when_too_many_holes():
    p = protect(_series([50, 50, 12, 50], [10, 10, 5, 10]))
    assert p["reason"].tolist() == ["series", "series", "n", "series"]


def test_series_suppressed_when_too_many_weak_cells():
    p = protect(_series([30, 30, 35, 100], [10, 10, 10, 30]))  # 3 of 4 have n < 40
    assert p["suppressed"].all() and set(p["reason"]) == {"series"}
    p = protect(_series([30, 30, 100, 100], [10, 10, 30, 30]))  # 2 of 4: not over 50 %
    assert not p["suppressed"].any()


def test_short_series_is_not_a_series():
    p = protect(_series([50, 12], [10, 5]))
    assert p["reason"].tolist() == [None, "n"]
    p = protect(_series([50, 50, 12, 50], [10, 10, 5, 10]), Rules(series_min_length=5))
    assert p["reason"].tolist() == [None, None, "n", None]


def test_series_break_marker():
    p = protect(_series([50, 50, 12], [10, 10, 5], breaks=[False, True, True]),
                Rules(series_min_length=9))
    assert p["marker"].tolist() == ["", MARK_BREAK, "*" + MARK_BREAK]


# --- input errors ----------------------------------------------------------------------------


def test_input_errors():
    t = _gender_table((10, 0), (40, 16))
    with pytest.raises(DisclosureError, match="already protected"):
        protect(protect(t, series_by=()))
    with pytest.raises(DisclosureError, match="no 'n' column"):
        protect(t.drop(columns="n"))
    with pytest.raises(DisclosureError, match="same cell"):
        protect(pd.concat([t, t.iloc[[1]]], ignore_index=True), series_by=())
    with pytest.raises(DisclosureError, match="count > n") as err:
        protect(t.assign(count=[16, 11, 16]), series_by=())
    assert err.value.row == 1


# --- publication cube ------------------------------------------------------------------------


def test_publication_cube_counts_and_margins():
    d = pd.DataFrame({"municipality": "T", "district": ["A", "A", "A", "B", "B"],
                      "school": ["a1", "a1", "a2", "b1", "b1"],
                      "gender": ["girl", "boy", "girl", "girl", None],
                      "grade": [8, 8, 9, 9, 9], "wave": 2025,
                      "x": [1.0, 0.0, 1.0, np.nan, 1.0]})
    cube = publication_cube(d, "x")
    assert list(cube.columns[:7]) == ["variable", "wave", "level", "unit", "parent", "gender",
                                      "grade"]
    city = cube.query("unit == 'T' and gender == 'all' and grade == 'all'").iloc[0]
    assert (city["n"], city["count"], city["level"], city["parent"]) == (4, 3, "city", "")
    b1 = cube.query("unit == 'b1' and gender == 'all' and grade == '9'").iloc[0]
    assert (b1["n"], b1["count"], b1["parent"]) == (1, 1, "B")
    # the pupil without gender is in the margin only
    assert cube.query("unit == 'b1' and gender == 'girl' and grade == 'all'")["n"].item() == 0
    assert not (cube["gender"] == "").any()
    p = protect(cube)
    assert p["suppressed"].all()  # every cell here is tiny


def test_protect_like_carries_the_publication_across_briefs():
    leaves = {(s, g, "8"): nc for s, g, nc in [("a", "girl", (12, 1)), ("a", "boy", (30, 9)),
                                                ("b", "girl", (40, 10)), ("b", "boy", (35, 8))]}
    pub = _cube(leaves, {"a": "city", "b": "city"})
    protected = protect(pub)
    # the brief of school b alone looks harmless, but b's girls + a's girls = city girls
    brief = pub[(pub["unit"] == "b") & (pub["grade"] == "all")].copy()
    alone = protect(brief)
    assert not alone["suppressed"].any()
    p = protect_like(brief, protected, on=["variable", "wave", "unit", "gender", "grade"])
    assert p.set_index("gender").loc["girl", "reason"] == "secondary"
    assert math.isnan(p.set_index("gender").loc["girl", "estimate"])
    with pytest.raises(DisclosureError, match="not in the protected publication"):
        protect_like(brief.assign(unit="c"), protected, on=["unit", "gender", "grade"])
    with pytest.raises(DisclosureError, match="not protected"):
        protect_like(brief, pub, on=["unit"])


# --- HTML --------------------------------------------------------------------------------------


def test_html_contract_and_refusal():
    t = _gender_table((10, 0), (40, 16))
    t["gender"] = ["all", "<girl>", "boy"]
    t["series_break"] = [False, False, True]
    p = protect(t, series_by=(), hierarchy={"gender": {"<girl>": "all", "boy": "all"}})
    html = to_html(p, ["gender", "estimate", "ci_low", "n"], labels={"gender": "Kjønn"},
                   lang="en", caption="Loneliness")
    assert html.startswith('<div class="ssp-table-wrap" tabindex="0" role="region" '
                           'aria-label="Loneliness"><table class="ssp-table"><caption>'
                           '<span class="ssp-num" data-kind="table"></span>Loneliness</caption>')
    assert html.endswith("</table></div>")
    # headers with scope, the row's name as a row header, numbers right-aligned
    assert '<th scope="col">Kjønn</th>' in html and '<th scope="row">&lt;girl&gt;</th>' in html
    assert '<th scope="col" class="num">n</th>' in html
    assert '<th scope="col"><span class="ssp-sr">Note</span></th>' in html
    assert 'data-ssp-n="50" data-ssp-status="shown">' in html
    assert "data-ssp-count" not in html and ">16<" not in html  # no exact count in the source
    assert 'data-ssp-n="10" data-ssp-status="suppressed">' in html
    assert "32.0%" in html
    for line in html.splitlines():
        if 'data-ssp-status="suppressed"' in line:
            assert line.count('<td class="ssp-value num">*</td>') == 2
    assert f'<td class="ssp-marker">*{MARK_BREAK}</td>' in html
    assert "data-ssp-count" not in table_html_attrs(p.iloc[0].to_dict())
    keyed = table_html_attrs({**p.iloc[0].to_dict(), "cell": "lonely|city|T|2025|all|all|all"})
    assert keyed["data-ssp-cell"] == "lonely|city|T|2025|all|all|all"
    custom = to_html(p, ["estimate"], formatters={"estimate": lambda v: f"{v:.3f}"})
    assert "0.320" in custom
    with pytest.raises(DisclosureError, match="unprotected"):
        to_html(t, ["gender"])
    with pytest.raises(DisclosureError, match="not in the table"):
        to_html(p, ["nope"])
    with pytest.raises(DisclosureError, match="not protected"):
        table_html_attrs({"n": 3})


# --- property tests ----------------------------------------------------------------------------


@st.composite
def _publications(draw):
    n_districts = draw(st.integers(1, 3))
    tree, schools = {}, []
    for d in range(n_districts):
        tree[f"d{d}"] = "city"
        for s in range(draw(st.integers(1, 3))):
            tree[f"d{d}s{s}"] = f"d{d}"
            schools.append(f"d{d}s{s}")
    grades = ["8", "9", "10"][: draw(st.integers(1, 3))]
    leaves = {}
    for s in schools:
        for g in ("girl", "boy"):
            for gr in grades:
                n = draw(st.integers(0, 45))
                p = draw(st.sampled_from([0.0, 0.05, 0.2, 0.5, 0.95, 1.0]))
                leaves[(s, g, gr)] = (n, int(round(n * p)))
    return _cube(leaves, tree)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(_publications(), st.sampled_from([Rules(), Rules(min_n=10, min_count=5)]))
def test_property_no_suppressed_count_can_be_narrowed(table, rules):
    p = protect(table, rules)
    shown = p[~p["suppressed"]]
    assert (shown["n"] >= rules.min_n).all()
    assert ((shown["count"] >= rules.min_count)
            & (shown["n"] - shown["count"] >= rules.min_count)).all()
    assert p.loc[p["suppressed"], "estimate"].isna().all()
    a = attack(p, table, rules)
    if len(a):
        assert a["safe"].all(), a[~a["safe"]]
        assert ((a["lo"] <= a["count"] + 1e-6) & (a["count"] <= a["hi"] + 1e-6)).all()


def test_suppressed_rows_lose_their_differences_too():
    """comparison + difference would give a hidden estimate back (found in review)."""
    t = pd.DataFrame({
        "variable": "bullied", "school": ["A", "B"], "estimate": [0.0208, 0.10],
        "n": [96, 120], "count": [2, 12], "cmp_estimate": [0.08, 0.08],
        "diff": [-0.0592, 0.02], "diff_se": [0.01, 0.02], "diff_ci_low": [-0.08, -0.02],
        "diff_ci_high": [-0.04, 0.06], "p_value": [0.001, 0.3]})
    p = protect(t, series_by=(), hierarchy={})
    hidden = p.loc[0]
    assert hidden["suppressed"] and hidden["reason"] == "count"
    for col in ("estimate", "diff", "diff_se", "diff_ci_low", "diff_ci_high", "p_value"):
        assert np.isnan(hidden[col]), col
    assert p.loc[1, "diff"] == pytest.approx(0.02)


# --- the LP engine (sparse components, reusable HiGHS models) ----------------------------------


def _random_cube(seed: int, districts: int = 2, schools: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tree = {f"d{d}": "city" for d in range(districts)}
    leaves = {}
    for d in range(districts):
        for s in range(schools):
            tree[f"d{d}s{s}"] = f"d{d}"
            for g in ("girl", "boy"):
                for gr in ("8", "9", "10"):
                    n = int(rng.integers(0, 40))
                    leaves[(f"d{d}s{s}", g, gr)] = (n, int(rng.binomial(n, 0.3)))
    return _cube(leaves, tree)


def _reference_ranges(table: pd.DataFrame, hidden: np.ndarray) -> dict[int, tuple[float, float]]:
    """min/max of each hidden count by scipy's linprog on a dense model built independently."""
    from scipy.optimize import linprog

    cell = {(u, g, gr): i for i, (u, g, gr) in
            enumerate(zip(table["unit"], table["gender"], table["grade"]))}
    kids = {}
    for u, p in zip(table["unit"], table["parent"]):
        if p:
            kids.setdefault(p, set()).add(u)
    parts = {"gender": ["girl", "boy"], "grade": ["8", "9", "10"]}
    relations = []
    for (u, g, gr), i in cell.items():
        if u in kids:
            relations.append((i, [cell[(k, g, gr)] for k in sorted(kids[u])]))
        if g == "all":
            relations.append((i, [cell[(u, x, gr)] for x in parts["gender"]]))
        if gr == "all":
            relations.append((i, [cell[(u, g, x)] for x in parts["grade"]]))
    n, c = table["n"].to_numpy(float), table["count"].to_numpy(float)
    var = {h: k for k, h in enumerate(np.flatnonzero(hidden))}
    nv = len(var) + len(relations)  # one rest per relation
    a, b = np.zeros((len(relations), nv)), np.zeros(len(relations))
    bounds = [(0, n[h]) for h in var] + [None] * len(relations)
    for r, (t, ms) in enumerate(relations):
        for m, sign in ((t, 1.0), *((m, -1.0) for m in ms)):
            if m in var:
                a[r, var[m]] += sign
            else:
                b[r] -= sign * c[m]
        a[r, len(var) + r] = -1.0
        bounds[len(var) + r] = (0, n[t] - n[ms].sum())
    out = {}
    for h, k in var.items():
        obj = np.zeros(nv)
        obj[k] = 1.0
        lo = linprog(obj, A_eq=a, b_eq=b, bounds=bounds, method="highs").fun
        hi = -linprog(-obj, A_eq=a, b_eq=b, bounds=bounds, method="highs").fun
        out[h] = (lo, hi)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_attack_ranges_equal_an_independent_dense_linprog(seed):
    t = _random_cube(seed)
    hidden = np.random.default_rng(seed).random(len(t)) < 0.3
    published = t.assign(suppressed=hidden, reason=np.where(hidden, "n", None),
                         count=t["count"].where(~hidden))
    got = attack(published, t)
    ref = _reference_ranges(t, hidden)
    assert len(got) == hidden.sum() == len(ref)
    positions = np.flatnonzero(hidden)
    for (_, row), h in zip(got.iterrows(), positions):
        assert (row["unit"], row["gender"], row["grade"]) == tuple(t.loc[h, ["unit", "gender",
                                                                             "grade"]])
        assert row["lo"] == pytest.approx(ref[h][0], abs=1e-6)
        assert row["hi"] == pytest.approx(ref[h][1], abs=1e-6)


def test_components_are_cells_linked_by_shared_relations():
    from ssp_research.disclosure.secondary import AdditiveSystem

    # unit A (girl, boy, all) and unit B (girl, boy, all): two separate gender relations
    coords = [("A", "girl"), ("A", "boy"), ("A", "all"), ("B", "girl"), ("B", "boy"),
              ("B", "all")]
    n = np.array([10.0, 30, 40, 25, 25, 50])
    system = AdditiveSystem(np.arange(6), coords, n, np.array([1.0, 9, 10, 5, 5, 10]),
                            [{}, {"all": ["girl", "boy"]}], where="test")
    sup = np.array([True, True, False, True, False, False])
    hidden, rels, cell_label, rel_label = system.components(sup)
    assert hidden.tolist() == [0, 1, 3] and rels.tolist() == [0, 1]
    assert cell_label[0] == cell_label[1] != cell_label[2]
    assert rel_label.tolist() == [cell_label[0], cell_label[2]]
    # A's girls + boys = 10 (0..10 each within n); B's girls = 10 - 5 exactly
    ranges = system.ranges(sup, [0, 1, 3])
    assert ranges[0] == pytest.approx((0.0, 10.0))
    assert ranges[1] == pytest.approx((0.0, 10.0))
    assert ranges[3] == pytest.approx((5.0, 5.0))


def test_larger_random_publication_is_safe_and_keeps_primary():
    t = pd.concat([_random_cube(7, districts=3, schools=4).assign(wave=w) for w in (2024, 2025)],
                  ignore_index=True)
    p = protect(t, series_by=())
    base = protect(t, series_by=(), hierarchy={})
    assert (p["suppressed"] >= base["suppressed"]).all()
    assert (p["reason"] == "secondary").sum() > 0
    a = attack(p, t)
    assert len(a) == p["suppressed"].sum()
    assert a["safe"].all(), a[~a["safe"]]


def test_the_lp_solver_prints_nothing(capfd):
    """HiGHS's banner ("Running HiGHS ... Copyright") must not reach terminals or notebooks:
    the library prints no banners of its own (checked at the file-descriptor level)."""
    capfd.readouterr()
    out = protect(_gender_table(girls=(30, 2), boys=(40, 10)), series_by=())
    assert out["reason"].tolist() == [None, "count", "secondary"]  # the LP ran
    captured = capfd.readouterr()
    assert "HiGHS" not in captured.out + captured.err
