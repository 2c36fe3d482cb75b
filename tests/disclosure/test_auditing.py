"""Tests of ssp_research.disclosure.auditing and `ssp audit`: every rule on hand-made outputs."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pandas as pd
import pytest

from ssp_research.cli import main
from ssp_research.core.errors import DataError
from ssp_research.disclosure import Rules, protect, to_html
from ssp_research.disclosure.auditing import PERSON_ROWS, Finding, audit, format_findings


def _fnr(birth: str, individual: str) -> str:
    """A fødselsnummer with valid check digits (written out independently of the module)."""
    digits = [int(c) for c in birth + individual]
    k1 = (11 - sum(w * d for w, d in zip([3, 7, 6, 1, 8, 9, 4, 5, 2], digits)) % 11) % 11
    digits.append(k1)
    k2 = (11 - sum(w * d for w, d in zip([5, 4, 3, 2, 7, 6, 5, 4, 3, 2], digits)) % 11) % 11
    return birth + individual + f"{k1}{k2}"


def _protected():
    t = pd.DataFrame({"variable": "lonely", "gender": ["all", "girl", "boy"],
                      "estimate": [0.32, 0.0, 0.4], "se": 0.05, "ci_low": 0.2, "ci_high": 0.45,
                      "df": [49, 9, 39], "n": [50, 10, 40], "count": [16, 0, 16]})
    return protect(t, series_by=())


def _rules(findings):
    return sorted(f.rule for f in findings)


@pytest.fixture
def brief(tmp_path):
    table = to_html(_protected(), ["gender", "estimate", "ci_low", "ci_high", "n"])
    meta = '<table class="ssp-meta"><tr><th>rows</th><td>26000</td></tr></table>'
    page = (f"<html><body><h1>Ensomhet 2025</h1><p>32 % av elevene.</p>{table}{meta}"
            "<script>var d = {respondent: 'a@b.no'};</script></body></html>")
    path = tmp_path / "brief.html"
    path.write_text(page, encoding="utf-8")
    return path


# --- HTML -----------------------------------------------------------------------------------


def test_rendered_brief_is_clean(brief):
    assert audit(brief) == []
    assert audit(brief.parent) == []


@pytest.mark.parametrize(("row", "rule"), [
    ('<tr data-ssp-n="12" data-ssp-status="shown"><td class="ssp-value">40 %</td></tr>',
     "primary-n"),
    ('<tr data-ssp-n="10" data-ssp-status="suppressed"><td class="ssp-value">0,0 %</td></tr>',
     "suppressed-value-shown"),
    ('<tr><td class="ssp-value">40 %</td></tr>', "contract"),
    ('<tr data-ssp-n="50" data-ssp-status="maybe"><td>40 %</td></tr>', "contract"),
])
def test_html_contract_rules(tmp_path, row, rule):
    f = tmp_path / "b.html"
    f.write_text(f'<p>x</p>\n<table class="ssp-table">\n<tbody>\n{row}\n</tbody></table>')
    findings = audit(f)
    assert _rules(findings) == [rule]
    assert findings[0].file == str(f)
    assert findings[0].location == "table 1 (line 2), row 1 (line 4)"


def test_html_thresholds_follow_the_rules(tmp_path):
    f = tmp_path / "b.html"
    f.write_text('<table class="ssp-table"><tr data-ssp-n="25" data-ssp-status="shown">'
                 '<td>16 %</td></tr></table><p>n = 25</p>')
    assert audit(f) == []
    assert _rules(audit(f, Rules.from_overrides({"min_n": 30}))) == ["primary-n",
                                                                      "small-number"]


@pytest.mark.parametrize(("html", "rule"), [
    ("<p>Bare 1 av 12 jenter på 9. trinn svarte ja.</p>", "small-number"),
    ("<p>Only one in 12 girls said so.</p>", "small-number"),
    ("<p>Tre elever på Elvetun svarte at de er ensomme.</p>", "small-number"),
    ("<p>Ensomhet (n = 7)</p>", "small-number"),
    ('<img alt="Søyler: 2 av 9 gutter er ensomme" src="data:image/png;base64,AA==">',
     "small-number"),
    ('<span title="n = 4">42 %</span>', "small-number"),
    ('<div data-count="3">42 %</div>', "hidden-number"),
    ('<table class="ssp-table"><tr data-ssp-n="50" data-ssp-status="shown" '
     'data-ssp-count="2"><td>4 %</td></tr></table>', "hidden-number"),
    ('<script type="application/json">{"data": "/home/anne/ssp/raw.sav"}</script>',
     "local-path"),
    ("<p>Kilde: C:\\Users\\anne\\elever.sav</p>", "local-path"),
])
def test_text_and_attributes(tmp_path, html, rule):
    f = tmp_path / "b.html"
    f.write_text(html, encoding="utf-8")
    assert _rules(audit(f)) == [rule]


@pytest.mark.parametrize("html", [
    "<p>Nesten 9 av 10 elever trives på skolen.</p>",
    "<p>Grupper med færre enn 20 elever vises ikke.</p>",
    "<p>Tall for minst 3 elever med og 3 uten.</p>",
    "<p>1 av 5 gutter; one in 4 girls.</p>",
    "<p>Vi spurte 1200 elever på 9. trinn.</p>",
    '<img alt="Andel ensomme per trinn, 2025">',
    "<p>Se data/synthetic/ungdata.parquet</p>",
])
def test_statements_that_are_not_small_groups(tmp_path, html):
    f = tmp_path / "b.html"
    f.write_text(html, encoding="utf-8")
    assert audit(f) == []


def test_ledger_checks_each_named_cell(tmp_path):
    from ssp_research.disclosure.ledger import open_ledger

    with open_ledger("ungdata", "Testby", folder=tmp_path) as led:
        led.record([{"key": "lonely|school|A|2025|all|all|all", "status": "shown", "n": 80},
                    {"key": "lonely|school|B|2025|all|all|all", "status": "hidden",
                     "reason": "n", "n": 9}], kind="test")
    row = ('<tr data-ssp-n="80" data-ssp-status="shown" data-ssp-cell="{}">'
           '<td class="ssp-value">30 %</td></tr>')
    rows = "".join(row.format(f"lonely|school|{u}|2025|all|all|all") for u in "ABC")
    f = tmp_path / "b.html"
    f.write_text('<table class="ssp-table" data-ssp-dataset="ungdata--testby">' + rows
                 + "</table>")
    assert _rules(audit(f)) == []  # without the ledger, the rows look fine
    expected = [("row 2", "ledger-hidden"), ("row 3", "unreleased")]
    for given in (led, tmp_path, str(tmp_path)):  # the ledger, or the folder of ledgers
        findings = audit(f, ledger=given)
        assert [(f.location.split(", ")[1][:5], f.rule) for f in findings] == expected
    other = tmp_path / "other.html"  # a table of another dataset: none of its cells released
    other.write_text(f.read_text().replace("testby", "otherby"))
    assert _rules(audit(other, ledger=tmp_path)) == ["unreleased"] * 3
    anonymous = tmp_path / "anonymous.html"
    anonymous.write_text('<table class="ssp-table">' + rows + "</table>")
    assert _rules(audit(anonymous, ledger=tmp_path)) == ["contract"] * 3
    assert main(["audit", str(f), "--ledger", str(tmp_path)]) == 1


def test_uncontracted_and_person_level_tables(tmp_path):
    frame = pd.DataFrame({"respondent_id": ["a1", "b2"], "lonely": [1, 4]})
    f = tmp_path / "b.html"
    f.write_text(frame.to_html())
    assert _rules(audit(f)) == ["person-level", "uncontracted-table"]
    f.write_text("<table><tr><th>Trinn</th></tr><tr><td>alle trinn</td></tr></table>")
    assert audit(f) == []  # a table of words only


def test_identifiers_in_text(tmp_path):
    good, bad = _fnr("150705", "123"), "15070512399"
    assert good != bad
    f = tmp_path / "b.html"
    f.write_text(f"<p>Kontakt ola@skole.no, elev {good}</p><p>Sak {bad}</p>")
    findings = audit(f)
    assert _rules(findings) == ["identifier", "identifier"]
    assert all(good not in x.detail and "ola@skole.no" not in x.detail for x in findings)


# --- notebooks ------------------------------------------------------------------------------


_MARKDOWN = "| gender | estimate | n |\n|---|---|---|\n| girl | 0.1 | 8 |\n| boy | 0.2 | 60 |\n"


def _notebook(tmp_path, outputs):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("df = load('respondent_id')")  # sources never matter
    cell.outputs = outputs
    nb.cells = [nbformat.v4.new_markdown_cell("# Brief"), cell]
    path = tmp_path / "brief.ipynb"
    nbformat.write(nb, path)
    return path


def test_notebook_outputs(tmp_path):
    frame = pd.DataFrame({"gender": ["girl", "boy"], "estimate": [0.1, 0.2], "n": [8, 60]})
    good = to_html(_protected(), ["gender", "estimate", "n"])
    path = _notebook(tmp_path, [
        nbformat.v4.new_output("display_data", data={"text/html": good, "text/plain": "x"}),
        nbformat.v4.new_output("execute_result", data={"text/html": frame.to_html(),
                                                       "text/plain": repr(frame)},
                               execution_count=1),
        nbformat.v4.new_output("stream", name="stdout", text=repr(frame)),
        nbformat.v4.new_output("display_data", data={"text/markdown": _MARKDOWN}),
    ])
    findings = audit(path)
    assert [(f.location.split(",")[:2], f.rule) for f in findings] == [
        (["cell 2", " output 2"], "uncontracted-table"),
        (["cell 2", " output 3"], "uncontracted-table"),
        (["cell 2", " output 4"], "uncontracted-table")]
    clean = _notebook(tmp_path, [nbformat.v4.new_output(
        "display_data", data={"text/html": good, "text/plain": "<table>"})])
    assert audit(clean) == []


def test_notebook_alt_text_and_metadata(tmp_path):
    path = _notebook(tmp_path, [nbformat.v4.new_output(
        "display_data", data={"image/png": "AA==", "text/plain": "<Figure>"},
        metadata={"image/png": {"alt": "1 av 8 jenter"}})])
    nb = nbformat.read(path, as_version=4)
    nb.metadata["papermill"] = {"input_path": "/home/anne/ssp/notebooks/brief.ipynb"}
    nbformat.write(nb, path)
    assert _rules(audit(path)) == ["local-path", "small-number"]


def test_pdf_text(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name, text in (("bad.pdf", "Bare 1 av 12 jenter svarte ja"),
                       ("good.pdf", "Nesten 9 av 10 elever trives")):
        fig = plt.figure()
        fig.text(0.1, 0.5, text)
        fig.savefig(tmp_path / name)
        plt.close(fig)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    found = [(f.file.rsplit("/", 1)[-1], f.location, f.rule) for f in audit(tmp_path)]
    assert found == [("bad.pdf", "page 1", "small-number"),
                     ("broken.pdf", "file", "unreadable")]


def test_unreadable_notebook_is_a_finding(tmp_path):
    f = tmp_path / "bad.ipynb"
    f.write_text("{not json")
    assert _rules(audit(f)) == ["unreadable"]


# --- data files ------------------------------------------------------------------------------


def test_data_files(tmp_path):
    rng = np.random.default_rng(3)
    raw = pd.DataFrame({f"dep{i}": rng.integers(1, 5, PERSON_ROWS + 1) for i in range(1, 5)})
    raw.to_parquet(tmp_path / "raw.parquet")
    (tmp_path / "ids.csv").write_text("respondent_id;lonely\nab12;1\ncd34;4\n")
    texts = [f"jeg synes skolen er {w} fordi vi har det fint" for w in "abcdefgh"]
    pd.DataFrame({"unit": "A", "comment": texts}).to_csv(tmp_path / "comments.csv", index=False)
    unprotected = pd.DataFrame({"variable": "x", "gender": ["girl", "boy"],
                                "estimate": [0.0, 0.3], "n": [12, 50], "count": [0, 15]})
    unprotected.to_csv(tmp_path / "table.csv", index=False)
    _protected().to_parquet(tmp_path / "protected.parquet")
    (tmp_path / "prov.json").write_text(json.dumps(
        {"sha256": "ab" * 32, "rows": 26000, "rules": Rules().as_dict()}))
    (tmp_path / "people.json").write_text(json.dumps(
        [{"school": "A", "contact": f"rektor{i}@skole.no"} for i in range(3)]))
    (tmp_path / "figure.png").write_bytes(b"\x89PNG")
    economy = pd.DataFrame({"variable": "lonely", "economy_group": ["all", "poor"],
                            "estimate": [0.3, 0.5], "n": [400, 31], "count": [120, 16]})
    economy.to_csv(tmp_path / "economy.csv", index=False)
    internal = _protected().assign(internal_unprotected=True)
    internal.to_csv(tmp_path / "internal.csv", index=False)
    found = {(f.file.rsplit("/", 1)[-1], f.rule) for f in audit(tmp_path)}
    assert found == {("raw.parquet", "person-level"), ("ids.csv", "person-level"),
                     ("comments.csv", "free-text"), ("table.csv", "primary-n"),
                     ("people.json", "identifier"), ("economy.csv", "group-size"),
                     ("internal.csv", "unprotected")}


def test_suppressed_values_left_in_a_data_file(tmp_path):
    p = _protected()
    p.loc[1, "estimate"] = 0.0
    p.to_csv(tmp_path / "t.csv", index=False)
    findings = audit(tmp_path / "t.csv")
    assert [(f.location, f.rule) for f in findings] == [("row 1", "suppressed-value-shown")]


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(DataError, match="nothing to audit"):
        audit(tmp_path / "nope")


# --- report and CLI ----------------------------------------------------------------------------


def test_format_findings():
    f = Finding("b.html", "table 1", "primary-n", "shown with n = 7")
    assert str(f) == "b.html: table 1: [primary-n] shown with n = 7"
    assert format_findings([f]).splitlines() == [str(f), "1 finding(s)"]
    assert format_findings([]) == "audit clean: no findings"


def test_cli_exit_codes(brief, tmp_path, capsys):
    assert main(["audit", str(brief)]) == 0
    assert "audit clean" in capsys.readouterr().out
    bad = tmp_path / "bad.html"
    bad.write_text('<table class="ssp-table"><tr data-ssp-n="7" data-ssp-status="shown">'
                   "<td>1</td></tr></table>")
    assert main(["audit", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "bad.html: table 1 (line 1), row 1 (line 1): [primary-n]" in out
    assert main(["audit", str(bad), "--rule", "min_n=5"]) == 0
    assert main(["audit", str(tmp_path / "missing")]) == 2
    assert "nothing to audit" in capsys.readouterr().err
    assert main(["audit", str(bad), "--rule", "min_nn=5"]) == 2
    assert main(["audit", str(bad), "--rule", "min_n=five"]) == 2
    assert "bad rule override" in capsys.readouterr().err
