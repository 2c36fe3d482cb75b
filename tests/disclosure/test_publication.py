"""Tests of the protected publication (one disclosure-controlled table for a batch of briefs)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from ssp_research import disclosure
from ssp_research.analysis.indicators import indicator_table
from ssp_research.core import paths
from ssp_research.core.errors import DataError, DisclosureError, ParameterError
from ssp_research.data.codebook import load_codebook
from ssp_research.disclosure.publication import (
    CMP_COLUMNS,
    DIFF_COLUMNS,
    PUBLICATION_COLUMNS,
    _unprotected,
    build_publication,
    read_publication,
    select,
    write_publication,
)

DATA = paths.synthetic_dir() / "trondheim.parquet"
RULES = disclosure.Rules()


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_parquet(DATA)


@pytest.fixture(scope="module")
def pub() -> pd.DataFrame:
    return build_publication(DATA, "ungdata")


@pytest.fixture(scope="module")
def raw() -> tuple[pd.DataFrame, dict]:
    table, parent, *_ = _unprotected(
        DATA, "ungdata", indicators=None, waves=None, levels=("city", "district", "school"),
        breakdowns=["gender", "grade"], pool=1, standardise=None,
        standardise_by=("grade", "gender"), top_name=None, progress=False)
    return table, parent


def test_shape_columns_and_hierarchy(pub, data):
    assert list(pub.columns) == PUBLICATION_COLUMNS
    schools, districts = data["school"].nunique(), data["district"].nunique()
    units = 1 + districts + schools
    assert len(pub) == units * 10 * 4 * 6  # units x indicators x waves x (1 + 2 + 3)
    top = pub[pub["level"] == "city"]
    assert set(top["unit"]) == {"Trondheim"} and set(top["parent"]) == {""}
    sch = pub[pub["level"] == "school"].drop_duplicates("unit").set_index("unit")["parent"]
    truth = data.drop_duplicates("school").set_index("school")["district"]
    assert sch.sort_index().to_dict() == truth.sort_index().to_dict()
    low = pub[pub["level"] != "city"]
    assert set(low["comparison"]) == {"Trondheim"}
    assert set(pub["gender"]) == {"all", "girl", "boy"}
    assert set(pub["grade"]) == {"all", "8", "9", "10"}
    # each unit x indicator x wave: one total, 2 gender rows, 3 grade rows, never crossed
    crossed = pub[(pub["gender"] != "all") & (pub["grade"] != "all")]
    assert crossed.empty
    # a real mix of protection outcomes on the shipped data
    counts = pub["reason"].value_counts()
    for reason in ("n", "count", "series", "secondary"):
        assert counts.get(reason, 0) > 0, reason


def test_school_rows_equal_indicator_table(pub, data):
    school = "Nidelva skole" if "Nidelva skole" in set(data["school"]) else sorted(
        data["school"].unique())[0]
    mine = select(pub, "school", school)
    mine = mine[(mine["gender"] == "all") & (mine["grade"] == "all")].reset_index(drop=True)
    ref = indicator_table(data, "ungdata", unit=("school", school), compare="city")
    ref = ref.sort_values(["indicator", "wave"]).reset_index(drop=True)
    mine = mine.sort_values(["indicator", "wave"]).reset_index(drop=True)
    assert len(mine) == len(ref) == 40
    assert (mine["n"].to_numpy() == ref["n"].to_numpy()).all()
    shown = ~mine["suppressed"].to_numpy()
    assert shown.sum() >= 10
    for col in ("estimate", "se", "ci_low", "ci_high", "count", "cmp_estimate", "diff",
                "diff_se", "p_value"):
        np.testing.assert_allclose(mine.loc[shown, col], ref.loc[shown, col], rtol=1e-12,
                                   err_msg=col)
    assert mine.loc[~shown, ["estimate", "count", *CMP_COLUMNS, *DIFF_COLUMNS]].isna().all().all()


def test_breakdown_rows_by_hand(pub, data):
    """Girls and grade 9 of one school, one wave: weighted share, n and count by hand."""
    row = pub[(pub["level"] == "school") & (pub["indicator"] == "lonely")
              & (pub["wave"] == 2025) & ~pub["suppressed"]]
    for gender, grade in (("girl", "all"), ("all", "9")):
        r = row[(row["gender"] == gender) & (row["grade"] == grade)].iloc[0]
        d = data[(data["school"] == r["unit"]) & (data["wave"] == 2025)]
        d = d[d["gender"] == gender] if gender != "all" else d[d["grade"] == int(grade)]
        d = d[d["ind_lonely"].notna()]
        assert r["n"] == len(d)
        assert r["count"] == d["ind_lonely"].sum()
        expect = (d["weight"] * d["ind_lonely"]).sum() / d["weight"].sum()
        assert r["estimate"] == pytest.approx(expect, rel=1e-12)
        city = pub[(pub["level"] == "city") & (pub["indicator"] == "lonely")
                   & (pub["wave"] == 2025) & (pub["gender"] == gender) & (pub["grade"] == grade)]
        assert r["cmp_estimate"] == pytest.approx(city["estimate"].item(), rel=1e-12)
        assert r["diff"] == pytest.approx(r["estimate"] - r["cmp_estimate"], abs=1e-12)


def test_no_small_cell_shown(pub):
    shown = pub[~pub["suppressed"]]
    assert (shown["n"] >= RULES.min_n).all()
    prop = shown[shown["count"].notna()]
    assert len(prop) == len(shown)  # all shipped indicators are shares
    assert (prop["count"] >= RULES.min_count).all()
    assert ((prop["n"] - prop["count"]) >= RULES.min_count).all()
    hidden = pub[pub["suppressed"]]
    assert hidden[["estimate", "se", "ci_low", "ci_high", "count"]].isna().all().all()
    assert (hidden["marker"].str.startswith("*")).all()


def test_comparison_blank_where_either_cell_is_suppressed(pub):
    key = ["indicator", "wave", "gender", "grade"]
    cells = pub[[*key, "unit", "suppressed"]].rename(
        columns={"unit": "comparison", "suppressed": "cmp_sup"})
    low = pub[pub["level"] != "city"].merge(cells, on=[*key, "comparison"], how="left")
    assert low["cmp_sup"].notna().all()
    hide = low["suppressed"] | low["cmp_sup"].astype(bool)
    assert low.loc[hide, CMP_COLUMNS + DIFF_COLUMNS].isna().all().all()
    assert low.loc[~hide, ["cmp_estimate", "diff", "p_value"]].notna().all().all()
    assert pub.loc[pub["level"] == "city", CMP_COLUMNS + DIFF_COLUMNS].isna().all().all()


def test_subtraction_attack_finds_no_narrow_range(pub, raw):
    """D's LP replay over every additive system (indicator x wave) of the publication."""
    table, parent = raw
    hierarchy = {"unit": {u: p for u, p in parent.items() if p},
                 "gender": {"girl": "all", "boy": "all"},
                 "grade": {"8": "all", "9": "all", "10": "all"}}
    cols = ["indicator", "wave", "level", "unit", "parent", "gender", "grade", "estimate", "se",
            "ci_low", "ci_high", "df", "n", "count", "series_break"]
    for name in table["indicator"].unique():
        mask = (table["indicator"] == name).to_numpy()
        original = table.loc[mask, cols].rename(columns={"indicator": "variable"})
        protected = pub.loc[mask, cols + ["suppressed", "reason"]].rename(
            columns={"indicator": "variable"})
        assert (protected["unit"].to_numpy() == original["unit"].to_numpy()).all()
        res = disclosure.attack(protected, original, RULES, hierarchy=hierarchy)
        assert len(res) == protected["suppressed"].sum() > 0
        assert res["safe"].all(), res[~res["safe"]].head()
        # sound: the truth lies in every range
        assert ((res["lo"] <= res["count"] + 1e-6) & (res["count"] <= res["hi"] + 1e-6)).all()


def test_protect_is_one_publication(raw, pub):
    """Protecting each unit's table alone shows cells the joint publication hides (the reason
    for one system)."""
    table, parent = raw
    lonely = table[table["indicator"] == "lonely"]
    cols = ["indicator", "wave", "unit", "gender", "grade", "estimate", "se", "ci_low",
            "ci_high", "df", "n", "count"]
    alone = pd.concat([disclosure.protect(part[cols].rename(columns={"indicator": "variable"}),
                                          RULES) for _, part in lonely.groupby("unit")])
    alone = alone.reindex(lonely.index)
    whole = pub[pub["indicator"] == "lonely"]
    key = ["unit", "wave", "gender", "grade"]
    joint = whole.set_index(key)["suppressed"]
    own = alone.set_index(key)["suppressed"].reindex(joint.index)
    assert (joint & ~own).sum() > 0


def test_deterministic_bytes_and_sidecar(tmp_path):
    a = build_publication(DATA, "ungdata", indicators=["lonely", "bullied"])
    b = build_publication(DATA, "ungdata", indicators=["lonely", "bullied"])
    pa, pb = tmp_path / "a" / "pub.parquet", tmp_path / "b" / "pub.parquet"
    write_publication(a, pa)
    write_publication(b, pb)
    assert pa.read_bytes() == pb.read_bytes()
    side = json.loads((tmp_path / "a" / "pub.json").read_text(encoding="utf-8"))
    assert side["data_sha256"] == hashlib.sha256(DATA.read_bytes()).hexdigest()
    assert side["codebook_version"] == load_codebook("ungdata").version
    assert side["rules"]["min_n"] == 20 and side["rows"] == len(a)
    assert side["indicators"] == ["lonely", "bullied"]
    assert not list(tmp_path.glob("*/*.tmp"))


def test_read_publication_filters(pub, tmp_path):
    path = write_publication(pub, tmp_path / "pub.parquet", row_group_size=500)
    school = pub.loc[pub["level"] == "school", "unit"].iloc[0]
    got = read_publication(path, level="school", unit=school)
    want = select(pub, "school", school)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert got.attrs["publication"]["rows"] == len(pub)
    assert set(read_publication(path, level="district")["unit"]) == set(
        pub.loc[pub["level"] == "district", "unit"])
    assert len(read_publication(path)) == len(pub)
    assert read_publication(path, unit="Nowhere").empty
    two = sorted(pub.loc[pub["level"] == "school", "unit"].unique())[:2]
    both = read_publication(path, level="school", unit=two, columns=["unit", "n", "suppressed"])
    assert list(both.columns) == ["unit", "n", "suppressed"]
    assert sorted(both["unit"].unique()) == two
    assert len(both) == (pub["unit"].isin(two)).sum()
    with pytest.raises(DataError, match="no protected publication"):
        read_publication(tmp_path / "missing.parquet")
    with pytest.raises(ParameterError, match="no school 'Nowhere'"):
        select(pub, "school", "Nowhere")
    with pytest.raises(DisclosureError, match="unprotected"):
        write_publication(pub.drop(columns="suppressed"), tmp_path / "x.parquet")


def test_national_levels(data):
    """Country > municipality > school: schools compared with their municipality."""
    nat = data.assign(municipality=data["district"])
    pub = build_publication(nat, "ungdata", indicators=["lonely"], waves=[2025],
                            levels=("country", "municipality", "school"))
    top = pub[pub["level"] == "country"]
    assert set(top["unit"]) == {"Norge"}
    tot = top[(top["gender"] == "all") & (top["grade"] == "all")]
    assert tot["n"].item() == nat.loc[nat["wave"] == 2025, "ind_lonely"].notna().sum()
    sch = pub[pub["level"] == "school"]
    assert (sch["comparison"] == sch["parent"]).all()
    mun = pub[pub["level"] == "municipality"]
    assert (mun["comparison"] == "Norge").all() and (mun["parent"] == "Norge").all()
    assert (pub.loc[~pub["suppressed"], "n"] >= 20).all()


def test_pool_and_standardise(data):
    one = build_publication(data, "ungdata", indicators=["lonely"], breakdowns=("gender",),
                            levels=("city", "district"))
    three = build_publication(data, "ungdata", indicators=["lonely"], breakdowns=("gender",),
                              levels=("city", "district"), pool=3)
    assert "pooled_from" in three.columns and "pooled_from" not in one.columns
    key = ["unit", "gender"]
    n1 = one.pivot_table(index=key, columns="wave", values="n")
    n3 = three.pivot_table(index=key, columns="wave", values="n")
    pd.testing.assert_series_equal(n3[2023], n1[[2019, 2021, 2023]].sum(axis=1),
                                   check_names=False)
    # standardised to the city's 2025 grade x gender mix: the city's total is then the sum of
    # its cells' shares times the standard shares; girls are standardised by grade alone
    d25 = data[data["wave"] == 2025]
    std = build_publication(d25, "ungdata", indicators=["lonely"], breakdowns=("gender",),
                            levels=("city", "district"), standardise="city")
    ok = d25[d25["ind_lonely"].notna()]

    def share(frame, by):
        w = frame["weight"] * frame["ind_lonely"]
        return w.groupby([frame[c] for c in by]).sum() / frame.groupby(by)["weight"].sum()

    s_cell = d25.groupby(["grade", "gender"])["weight"].sum() / d25["weight"].sum()
    expect_all = (share(ok, ["grade", "gender"]) * s_cell).sum()
    s_grade = d25.groupby("grade")["weight"].sum() / d25["weight"].sum()
    girls = ok[ok["gender"] == "girl"]
    expect_girls = (share(girls, ["grade"]) * s_grade).sum()
    city = std[std["level"] == "city"].set_index("gender")["estimate"]
    assert city["all"] == pytest.approx(expect_all, rel=1e-12)
    assert city["girl"] == pytest.approx(expect_girls, rel=1e-12)
    crude = one[(one["level"] == "city") & (one["wave"] == 2025)].set_index("gender")
    assert abs(city["girl"] - crude.loc["girl", "estimate"]) > 1e-6  # it did standardise


def test_errors(data):
    small = data[data["wave"] == 2025]
    with pytest.raises(ParameterError, match="unknown levels"):
        build_publication(small, "ungdata", levels=("city", "county"))
    with pytest.raises(DataError, match="needs one municipality"):
        build_publication(small.assign(municipality=small["district"]), "ungdata")
    broken = small.copy()
    broken.loc[broken.index[0], "district"] = "Elsewhere"
    with pytest.raises(DataError, match="lies in more than one district"):
        build_publication(broken, "ungdata", indicators=["lonely"])
    same = small.assign(district=small["school"])
    with pytest.raises(DisclosureError, match="used on two levels"):
        build_publication(same, "ungdata", indicators=["lonely"])
    with pytest.raises(DataError, match="breakdown column 'sex'"):
        build_publication(small, "ungdata", breakdowns=("sex",))
    with pytest.raises(DisclosureError, match="unknown disclosure rule"):
        build_publication(small, "ungdata", rules={"min_nn": 5})


def test_cli_publication_is_the_batch_publication(tmp_path, capsys):
    """ssp publication writes a view of the very table a batch builds (same cells, same
    suppression), recorded in the dataset's ledger."""
    from ssp_research import cli
    from ssp_research.batch import plan_units, prepare_publication
    from ssp_research.disclosure.ledger import load_ledger

    ledger = tmp_path / "ledger"
    out = tmp_path / "pub.parquet"
    code = cli.main(["publication", "--indicator", "lonely", "--rule", "min_n=30",
                     "--ledger", str(ledger), "--out", str(out)])
    assert code == 0 and capsys.readouterr().out.strip() == str(out)
    pub = read_publication(out)
    assert pub.attrs["publication"]["rules"]["min_n"] == 30
    assert (pub.loc[~pub["suppressed"], "n"].dropna() >= 30).all()
    econ = pub["economy_group"] != "all"
    assert pub.loc[econ, ["n", "count"]].isna().all().all()  # group sizes never leave
    assert set(pub["indicator"]) == {"lonely"}
    assert set(pub["level"]) == {"city", "district", "school"}
    assert set(pub["economy_group"]) == {"all", "poor", "middle", "good"}
    units = plan_units(DATA, "school", base_params={"disclosure": {"min_n": 30}})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSP_LEDGER_DIR", str(ledger))
        batch = read_publication(prepare_publication(units, tmp_path / "batch")[
            "publication_path"])
    batch = batch[batch["indicator"] == "lonely"].reset_index(drop=True)
    assert batch["suppressed"].tolist() == pub["suppressed"].tolist()
    led = load_ledger("ungdata", "Trondheim", folder=ledger)
    # the batch found its cells in the ledger: a second release, of no new cell
    assert [(r["kind"], r["cells"] > 0) for r in led.releases] == [("publication", True),
                                                                   ("publication", False)]


def test_protection_in_two_processes_equals_one(pub):
    """Indicators are independent systems: protecting them in parallel changes nothing."""
    two = build_publication(DATA, "ungdata", jobs=2)
    assert two["suppressed"].tolist() == pub["suppressed"].tolist()
    assert two["reason"].fillna("").tolist() == pub["reason"].fillna("").tolist()


def test_missing_breakdown_values_are_the_unpublished_rest(data):
    d = data[data["wave"] == 2025].copy()
    d.loc[d.index[::10], "gender"] = None  # every tenth pupil without a gender
    pub = build_publication(d, "ungdata", indicators=["lonely"], levels=("city", "district"))
    assert set(pub["gender"]) == {"all", "girl", "boy"}
    city = pub[(pub["level"] == "city") & (pub["grade"] == "all")].set_index("gender")["n"]
    answered = d["ind_lonely"].notna()
    assert city["all"] == answered.sum()
    assert city["girl"] + city["boy"] == (answered & d["gender"].notna()).sum() < city["all"]
    assert (pub.loc[~pub["suppressed"], "n"] >= 20).all()
