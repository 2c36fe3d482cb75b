"""The release ledger and the protected ways out: `ssp estimate`, `ssp glm`, study tables."""

from __future__ import annotations

import fcntl
import json

import numpy as np
import pandas as pd
import pytest

from ssp_research.analysis import indicator_table
from ssp_research.cli import main
from ssp_research.core import paths
from ssp_research.core.errors import DisclosureError
from ssp_research.disclosure import audit
from ssp_research.disclosure.ledger import (
    LEDGER_COLUMNS,
    cell_key_of,
    ledger_path,
    load_ledger,
    open_ledger,
)
from ssp_research.disclosure.release import release_table

DATA = paths.synthetic_dir() / "trondheim.parquet"
A = cell_key_of("lonely", "school", "Elvetun skole", (2025, 2025))
B = cell_key_of("lonely", "school", "Elvetun skole", (2023, 2025), gender="girl")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_parquet(DATA)


# --- the ledger --------------------------------------------------------------------------------


def test_a_cell_keeps_its_first_release(tmp_path):
    with open_ledger("ungdata", "Trondheim", folder=tmp_path) as led:
        first = led.record([{"key": A, "status": "hidden", "reason": "n", "n": 12,
                             "count": 2, "estimate": 0.17}], kind="test", what="one")
    with open_ledger("ungdata", "Trondheim", folder=tmp_path) as led:
        second = led.record([{"key": A, "status": "shown", "n": 12, "count": 2},
                             {"key": B, "status": "shown", "n": 80, "count": 20,
                              "estimate": 0.25}], kind="test", what="two")
    assert (first, second) == ("r0001", "r0002")
    led = load_ledger("ungdata", "Trondheim", folder=tmp_path)
    assert led.status(A) == "hidden" and led.status(B) == "shown"
    assert led.cells[A]["count"] is None and led.cells[A]["estimate"] is None  # never kept
    assert [(r["cells"], r["seen"]) for r in led.releases] == [(1, 1), (1, 2)]
    text = ledger_path("ungdata", "Trondheim", folder=tmp_path).read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(LEDGER_COLUMNS)
    assert text.splitlines()[1] == f"{A},hidden,n,12,,,r0001"


def test_a_failed_release_leaves_the_ledger_as_it_was(tmp_path):
    with open_ledger("ungdata", "Trondheim", folder=tmp_path) as led:
        led.record([{"key": A, "status": "shown", "n": 90, "count": 30}], kind="test")
    path = ledger_path("ungdata", "Trondheim", folder=tmp_path)
    before = path.read_bytes(), path.with_name(
        "ungdata--trondheim.releases.json").read_bytes()
    with pytest.raises(RuntimeError, match="writing the brief failed"):
        with open_ledger("ungdata", "Trondheim", folder=tmp_path) as led:
            led.record([{"key": B, "status": "shown", "n": 80, "count": 20}], kind="test")
            raise RuntimeError("writing the brief failed")
    after = path.read_bytes(), path.with_name("ungdata--trondheim.releases.json").read_bytes()
    assert after == before


def test_one_release_at_a_time(tmp_path):
    path = ledger_path("ungdata", "Trondheim", folder=tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name("ungdata--trondheim.lock"), "a+") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another release holds it
        with pytest.raises(DisclosureError, match="another release of this dataset holds"):
            with open_ledger("ungdata", "Trondheim", folder=tmp_path, timeout=0):
                pass
    with open_ledger("ungdata", "Trondheim", folder=tmp_path, timeout=0) as led:
        assert led.cells == {}  # free again


def test_a_read_only_ledger_records_nothing(tmp_path):
    led = load_ledger("ungdata", "Trondheim", folder=tmp_path)
    with pytest.raises(DisclosureError, match="opened read-only"):
        led.record([{"key": A, "status": "shown"}], kind="test")


@pytest.mark.parametrize(("text", "match"), [
    ("key,status\nx,shown\n", "the ledger's columns"),
    (",".join(LEDGER_COLUMNS) + f"\n{A},maybe,,1,,,r0001\n", "unknown status 'maybe'"),
    (",".join(LEDGER_COLUMNS) + "\nlonely|school,shown,,1,,,r0001\n", "not a ledger cell key"),
])
def test_a_damaged_ledger_is_a_named_error(tmp_path, text, match):
    path = ledger_path("ungdata", "Trondheim", folder=tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DisclosureError, match=match):
        load_ledger("ungdata", "Trondheim", folder=tmp_path)


# --- study tables --------------------------------------------------------------------------------


def test_related_tables_released_one_after_the_other_stay_consistent(tmp_path, data):
    by_school = indicator_table(data, "ungdata", indicators=["lonely"],
                                unit=["school", "gender"], compare=None, waves=[2025])
    first = release_table(by_school, data, ledger_dir=tmp_path, kind="study")
    hidden = first["suppressed"].to_numpy()
    assert hidden.any() and first.loc[hidden, ["estimate", "count"]].isna().all().all()
    assert (first.loc[~hidden, "count"] >= 3).all()
    again = release_table(by_school, data, ledger_dir=tmp_path, kind="study")
    assert again["suppressed"].tolist() == hidden.tolist()  # the same table, the same cells
    # a second, related table: the school totals (the margins of the first)
    totals = indicator_table(data, "ungdata", indicators=["lonely"], unit="school",
                             compare=None, waves=[2025])
    release_table(totals, data, ledger_dir=tmp_path, kind="study")
    led = load_ledger("ungdata", "Trondheim", folder=tmp_path)
    assert [r["kind"] for r in led.releases] == ["study"] * 3
    # every cell hidden in the first stays hidden whatever came after
    assert all(led.status(cell_key_of("lonely", "school", s, (2025, 2025), gender=g))
               == "hidden" for s, g in first.loc[hidden, ["school", "gender"]].to_numpy())


def test_columns_outside_the_release_system_are_refused(tmp_path, data):
    t = indicator_table(data, "ungdata", indicators=["lonely"], unit=["family_economy"],
                        compare=None, waves=[2025])
    with pytest.raises(DisclosureError, match="release economy_group"):
        release_table(t, data, ledger_dir=tmp_path)
    assert not any(tmp_path.iterdir()) or load_ledger(
        "ungdata", "Trondheim", folder=tmp_path).cells == {}


# --- the CLI ---------------------------------------------------------------------------------


def test_ssp_estimate_is_protected_by_default(tmp_path, capsys):
    out = tmp_path / "t.csv"
    ledger = tmp_path / "ledger"
    assert main(["estimate", str(DATA), "--indicator", "lonely", "--by", "school,gender",
                 "--wave", "2025", "--ledger", str(ledger), "-o", str(out)]) == 0
    t = pd.read_csv(out)
    assert t["suppressed"].any() and t.loc[t["suppressed"], "estimate"].isna().all()
    assert audit(out) == []
    assert load_ledger("ungdata", "Trondheim", folder=ledger).releases[0]["kind"] == "estimate"
    capsys.readouterr()
    # comparisons with another unit's group are not cells of the release system
    assert main(["estimate", str(DATA), "--indicator", "lonely", "--by", "school",
                 "--compare", "district", "--ledger", str(ledger)]) == 2
    assert "cannot be released protected" in capsys.readouterr().err
    # the loud opt-out: marked, and the audit rejects the file
    raw = tmp_path / "internal.csv"
    assert main(["estimate", str(DATA), "--indicator", "lonely", "--by", "school,gender",
                 "--wave", "2025", "--unprotected", "-o", str(raw)]) == 0
    assert "NOT protected" in capsys.readouterr().err
    assert {f.rule for f in audit(raw)} >= {"unprotected"}
    assert main(["audit", str(raw)]) == 1


def test_ssp_glm_refuses_a_small_factor_level(tmp_path, capsys, data):
    d = data[data["wave"] == 2025].copy()
    d["club"] = np.where(np.arange(len(d)) < 7, "chess", "none")  # a group of 7 pupils
    src = tmp_path / "d.parquet"
    d.to_parquet(src)
    assert main(["glm", str(src), "ind_lonely ~ C(club)", "--ids", "school",
                 "--weights", "weight", "--family", "quasibinomial"]) == 2
    err = capsys.readouterr().err
    assert "club=chess" in err and "7 respondents" in err
    assert main(["glm", str(src), "ind_lonely ~ C(gender)", "--ids", "school",
                 "--weights", "weight", "--family", "quasibinomial"]) == 0
    out = tmp_path / "internal.json"
    assert main(["glm", str(src), "ind_lonely ~ C(club)", "--ids", "school", "--weights",
                 "weight", "--family", "quasibinomial", "--unprotected", "--format", "json",
                 "-o", str(out)]) == 0
    assert json.loads(out.read_text())[0]["internal_unprotected"] is True
    assert [f.rule for f in audit(out)] == ["unprotected"]


# --- release QA -----------------------------------------------------------------------------


def test_release_check_lists_what_changed_against_the_ledger(tmp_path, data, capsys):
    from ssp_research.disclosure.release_check import check_release

    ledger = tmp_path / "ledger"
    assert main(["publication", "--ledger", str(ledger), "--out",
                 str(tmp_path / "pub.parquet")]) == 0
    same = check_release(DATA, ledger_dir=ledger)
    assert not same.blocking and same.released_before == same.cells
    assert not same.findings["kind"].isin(["revised", "new_hidden", "now_hidden"]).any()
    # late answers change one school's 2025 numbers: every published cell of it is revised
    school = "Elvetun skole"
    changed = data.copy()
    rows = changed.index[(changed["school"] == school) & (changed["wave"] == 2025)]
    changed.loc[rows[: len(rows) // 2], "ind_lonely"] = 1.0  # half of them now lonely
    path = tmp_path / "revised.parquet"
    changed.to_parquet(path)
    report = check_release(path, ledger_dir=ledger)
    assert report.blocking
    revised = report.findings[report.findings["kind"] == "revised"]["key"]
    assert len(revised) and all(k.startswith("lonely|") and "|2025|" in k for k in revised)
    assert f"lonely|school|{school}|2025|all|all|all" in set(revised)
    beyond = set(report.findings.loc[report.findings["kind"] == "beyond_ci", "key"])
    assert f"lonely|school|{school}|2025|all|all|all" in beyond
    jumps = set(report.findings.loc[report.findings["kind"] == "jump", "key"])
    assert f"lonely|school|{school}|2025|all|all|all" in jumps
    out = tmp_path / "check.csv"
    assert main(["release", "check", "--data", str(path), "--ledger", str(ledger),
                 "--no-progress", "-o", str(out)]) == 1
    assert "decide before publishing: revised" in capsys.readouterr().out
    assert set(pd.read_csv(out)["kind"]) >= {"revised", "beyond_ci", "jump"}
    # nothing was recorded by the checks
    assert len(load_ledger("ungdata", "Trondheim", folder=ledger).releases) == 1
    assert main(["release", "list", "--ledger", str(ledger)]) == 0
    assert "r0001" in capsys.readouterr().out


def test_related_tables_in_one_call_are_one_system(tmp_path, data):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from intruder import attack

    def table(unit):
        return indicator_table(data, "ungdata", indicators=["lonely"], unit=unit,
                               compare=None, waves=[2025])

    # three tables a researcher writes up together; the margins are built from the data
    t = pd.concat([table("school"), table(["school", "gender"]), table(["district", "gender"])],
                  ignore_index=True)
    out = release_table(t, data, ledger_dir=tmp_path, kind="study")
    led = load_ledger("ungdata", "Trondheim", folder=tmp_path)
    assert led.status(cell_key_of("lonely", "school", "Elvetun skole", (2025, 2025))) in (
        "shown", "hidden")
    assert led.status(cell_key_of("lonely", "district", "Heimdal", (2025, 2025),
                                  gender="girl")) in ("shown", "hidden")
    assert out["suppressed"].any() and out.loc[out["suppressed"], "estimate"].isna().all()
    rows = out.assign(level=np.where(out["school"].notna(), "school", "district"),
                      unit=out["school"].fillna(out["district"]),
                      gender=out["gender"].fillna("all"), grade="all", economy_group="all")
    found = attack(data, [rows], sizes_known=True, singletons=True)
    # (the three released each on its own, with a fresh ledger each: 1 hidden cell, narrowed)
    assert len(found) and not found["narrowed"].any()
