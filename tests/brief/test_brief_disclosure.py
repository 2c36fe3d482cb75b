"""Regression tests of the disclosure leaks a reviewer found in published briefs.

1. Pooled briefs (``pool > 1``): gender/grade gaps showed single-wave cells under the pooled
   cell's status (shown cells failing the primary rule).
2. Family economy was protected apart from the main publication, so its "all" rows showed
   totals the publication hides.
3. The size of a family-economy group is itself an answer (the hard-up group's size is the
   ``poor_economy`` count).
4. The pilot figure's "other schools" (city minus every pilot school) was shown in waves with
   a hidden school.
5. The HTML header showed internal absolute paths.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import nbformat
import numpy as np
import pandas as pd
import pytest

from ssp_research.brief import content, gaps, pilot, sections
from ssp_research.core.errors import DisclosureError
from ssp_research.disclosure import publication
from ssp_research.render import export

SMALL_SCHOOL = "Kvernbekken skole"


@pytest.fixture(scope="module")
def city():
    return content.load()


@pytest.fixture(scope="module")
def pooled_path(tmp_path_factory):
    """The pool=3 publication of the city, written once as a batch does (as a first release,
    in a ledger of its own: the other tests' single-year releases stay as they are)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSP_OUTPUT_DIR", str(tmp_path_factory.mktemp("pooled-output")))
        b = content.load(unit_type="school", unit=SMALL_SCHOOL, pool=3)
        b.full_publication
    path = tmp_path_factory.mktemp("pooled") / "publication.parquet"
    publication.write_publication(content.joint_publication(b), path)
    return str(path)


def _units(b):
    d = b.data
    return [("district", u) for u in sorted(d["district"].unique())] + [
        ("school", u) for u in sorted(d["school"].unique())]


def test_pooled_gaps_show_only_cells_that_pass_the_primary_rule(pooled_path):
    pub = publication.read_publication(pooled_path)
    pub = pub[(pub["wave"] == 2025) & (pub["economy_group"] == "all")].set_index(
        ["unit", "indicator", "gender", "grade"])
    checked = 0
    for unit_type, unit in _units(content.load()):
        b = content.load(unit_type=unit_type, unit=unit, pool=3, publication_path=pooled_path)
        for by in ("gender", "grade"):
            g = gaps.gap_table(b, by)
            shown = g[~g["suppressed"]]
            assert (shown["n"] >= 20).all() and (shown["count"] >= 3).all(), (unit, by)
            assert (shown["n"] - shown["count"] >= 3).all(), (unit, by)
            # every row is its publication cell: same n, same estimate
            for r in g.itertuples():
                key = (unit, r.indicator, getattr(r, by) if by == "gender" else "all",
                       getattr(r, by) if by == "grade" else "all")
                cell = pub.loc[key]
                assert r.n == cell["n"] and r.suppressed == cell["suppressed"]
                assert np.isnan(r.estimate) if r.suppressed else r.estimate == cell["estimate"]
                checked += 1
    assert checked > 1000


def test_gap_rows_with_another_n_than_their_cell_are_refused():
    table = pd.DataFrame({"indicator": ["lonely", "lonely"], "gender": ["all", "girl"],
                          "n": [60, 19]})
    cells = pd.DataFrame({"indicator": ["lonely", "lonely"], "gender": ["all", "girl"],
                          "n": [60, 41]}).set_index(["indicator", "gender"])
    with pytest.raises(DisclosureError, match="n=19 but its publication cell has n=41"):
        gaps._check_cells(table, cells, "gender")
    gaps._check_cells(table.assign(n=[60, 41]), cells, "gender")  # same cells: fine


@pytest.fixture(scope="module")
def city_path(city, tmp_path_factory):
    path = tmp_path_factory.mktemp("city") / "publication.parquet"
    publication.write_publication(content.joint_publication(city), path)
    return str(path)


def test_economy_is_protected_with_the_publication(city, city_path):
    joint = publication.read_publication(city_path)
    assert set(joint["economy_group"]) == {"all", "poor", "middle", "good"}
    hidden_totals = 0
    for unit_type, unit in [("city", "Trondheim"), *_units(city)]:
        b = content.load(unit_type=unit_type, unit=unit, publication_path=city_path)
        econ = gaps.gap_table(b, "family_economy")
        gender = gaps.gap_table(b, "gender")
        a = econ[econ["economy_group"] == "all"].set_index("indicator")
        t = gender[gender["gender"] == "all"].set_index("indicator").loc[a.index]
        # the "all" row is the publication's total: same status, same value
        assert a["suppressed"].tolist() == t["suppressed"].tolist(), unit
        np.testing.assert_array_equal(a["estimate"].to_numpy(), t["estimate"].to_numpy())
        hidden_totals += int(a["suppressed"].sum())
        # a hidden total never has all of its groups shown
        groups = econ[econ["economy_group"] != "all"]
        for name in a.index[a["suppressed"]]:
            assert groups.loc[groups["indicator"] == name, "suppressed"].any(), (unit, name)
    assert hidden_totals > 0


def test_economy_group_sizes_are_never_published(city, city_path):
    pub = city.publication
    poor = pub[(pub["indicator"] == "poor_economy") & (pub["wave"] == 2025)].set_index("unit")
    n_hidden_poor = 0
    for unit_type, unit in [("city", "Trondheim"), *_units(city)]:
        b = content.load(unit_type=unit_type, unit=unit, publication_path=city_path)
        econ = gaps.gap_table(b, "family_economy")
        groups = econ[econ["economy_group"] != "all"]
        assert groups[["n", "count"]].isna().all().all(), unit
        if poor.loc[unit if unit_type != "city" else "Trondheim", "suppressed"]:
            n_hidden_poor += 1
            assert groups["suppressed"].all() and groups["estimate"].isna().all(), unit
    assert n_hidden_poor > 0  # the rule was exercised
    assert "gruppenes størrelse vises ikke" in sections.method_html(city)


def test_pilot_trend_hidden_when_any_unit_is_hidden(city, monkeypatch):
    from ssp_research.brief import plots

    seen = {}
    def trend(t, **_kw):  # the table the figure would draw
        seen["t"] = t
        return SimpleNamespace(figure=None)

    monkeypatch.setattr(plots, "trend", trend)
    pub = city.publication
    for indicator in ("bullied", "poor_economy"):
        seen.clear()
        pilot.pilot_figure(city, indicator)
        t = seen["t"]
        hidden = set(pub.loc[(pub["indicator"] == indicator) & pub["suppressed"], "wave"])
        assert hidden, indicator
        in_hidden = t["wave"].isin(hidden)
        assert t.loc[in_hidden, "estimate"].isna().all(), indicator
        assert t.loc[in_hidden, "suppressed"].all()
    # a wave in which a non-pilot school is hidden while every pilot school is shown
    schools = pub[pub["level"] == "school"]
    pilots = set(city.data.loc[city.data["pilot"], "school"])
    hidden_pilot = schools[schools["unit"].isin(pilots) & schools["suppressed"]]
    hidden_other = schools[~schools["unit"].isin(pilots) & schools["suppressed"]]
    only_other = set(map(tuple, hidden_other[["indicator", "wave"]].to_numpy())) - set(
        map(tuple, hidden_pilot[["indicator", "wave"]].to_numpy()))
    assert only_other  # the case the old rule let through
    indicator, wave = sorted(only_other)[0]
    assert wave in pilot._hidden_waves(city, indicator)


def test_html_header_shows_file_names_not_internal_paths():
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("Hei"))
    params = {"data_path": "/srv/ssp/secret/data/trondheim.parquet", "unit": "Lade",
              "publication_path": "/srv/ssp/secret/out/publication.parquet", "wave": 2025}
    stamp = {"data_file": params["data_path"], "template": "/srv/ssp/secret/t.ipynb",
             "parameters": params}
    html = export.export_html(nb, "nb", params, provenance=stamp)
    visible = re.sub(r"<script[^>]*application/json[^>]*>.*?</script>", "", html, flags=re.S)
    assert "/srv/ssp" not in visible
    assert "trondheim.parquet" in visible  # the provenance names the data file
    assert "publication.parquet" not in visible  # parameters are not shown by name
    data = re.search(r"<script[^>]*application/json[^>]*>(.*?)</script>", html, re.S)
    prov = json.loads(data.group(1))
    assert prov["parameters"]["data_path"] == params["data_path"]  # ssp rerun needs it
