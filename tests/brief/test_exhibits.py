"""The brief's figures and tables as a reader meets them (issue: the brief a leader acts on).

Each figure is shown with a title naming the unit and its years, a caption, a short alt text
and its numbers as a protected table folded under it; a chart whose every value is hidden is
one sentence; a pooled brief names its pooled years in every caption; the unit is blue and
its comparison orange in every brief; the share axis fits the data.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from ssp_research.brief import content, gaps, pilot, sections, theme
from ssp_research.disclosure.auditing import audit

SMALL_SCHOOL = "Kvernbekken skole"


@pytest.fixture(scope="module")
def pub_path(tmp_path_factory):
    from ssp_research.disclosure import publication

    path = tmp_path_factory.mktemp("publication") / "publication.parquet"
    publication.write_publication(content.joint_publication(content.load()), path)
    return str(path)


@pytest.fixture(scope="module")
def school(pub_path):
    return content.load(unit_type="school", unit=SMALL_SCHOOL, publication_path=pub_path)


@pytest.fixture(scope="module")
def pooled(pub_path):
    return content.load(unit_type="school", unit=SMALL_SCHOOL, pool=3,
                        publication_path=pub_path)


def _outputs(show, *args):
    InteractiveShell.instance()  # display() publishes to a shell, as in a notebook kernel
    with capture_output() as cap:
        show(*args)
    return cap.outputs


def _figure(outputs):
    figs = [o for o in outputs if "image/png" in o.data]
    assert len(figs) == 1
    return figs[0]


def test_trend_figures_one_per_goal_with_title_caption_short_alt_and_numbers(school, tmp_path):
    outputs = _outputs(sections.show_trends, school)
    figs = [i for i, o in enumerate(outputs) if "image/png" in o.data]
    groups = sections.trend_groups(school)
    assert len(figs) == len(groups) >= 2  # small figures: the printed pages stay full
    names = [n for _, g in groups for n in g]
    assert sorted(names) == sorted(school.indicator_names)  # each indicator once
    meta = outputs[figs[0]].metadata
    assert meta["ssp"]["title"] == ("Bygge inkluderende fellesskap og motvirke utenforskap – "
                                    "utvikling 2019–2025: Kvernbekken skole og Trondheim")
    assert "Kvernbekken skole er blå, Trondheim er oransje" in meta["ssp"]["caption"]
    alt = meta["image/png"]["alt"]
    assert len(alt) < 200 and "tabellen under figuren" in alt
    assert f"{len(groups[0][1])} indikatorer" in alt
    # the numbers: under each figure, one protected row per indicator and wave
    tables = [outputs[i + 1].data["text/html"] for i in figs]
    assert all(t.startswith('<details class="ssp-figdata"><summary>Tallene i figuren</summary>')
               for t in tables)
    t = school.indicators
    assert sum(tb.count("<tr data-ssp-n=") for tb in tables) == len(t)
    row = t[~t["suppressed"] & t["indicator"].isin(groups[0][1])].iloc[0]
    share = f"{100 * row['estimate']:.1f}".replace(".", ",") + "\u00a0%"
    assert share in tables[0]
    (tmp_path / "fig.html").write_text(f"<html><body>{''.join(tables)}</body></html>",
                                       encoding="utf-8")
    assert audit(tmp_path) == []


def test_a_chart_with_every_value_hidden_is_one_sentence(pooled):
    rows = gaps.gap_table(pooled, "grade")
    assert rows.loc[rows["grade"] != "all", "suppressed"].all()  # the planted small school
    outputs = _outputs(gaps.show_gaps, pooled, "grade")
    assert [sorted(o.data) for o in outputs] == [["text/html", "text/plain"]]
    html = outputs[0].data["text/html"]
    assert html == ('<p class="ssp-nochart">Tall etter trinn vises ikke for Kvernbekken skole '
                    "i 2021–2025: gruppene er så små at tallene kunne avsløre enkeltelever.</p>")


def test_a_chart_with_shown_values_is_drawn():
    district = content.load(unit_type="district", unit="Heimdal", pool=3)
    rows = gaps.gap_table(district, "gender")
    assert not rows.loc[rows["gender"] != "all", "suppressed"].all()
    outputs = _outputs(gaps.show_gaps, district, "gender")
    assert _figure(outputs).metadata["ssp"]["title"] == (
        "Forskjeller etter kjønn: Heimdal, 2021–2025")
    assert outputs[-1].data["text/html"].count("<tr data-ssp-n=") == len(rows) - (
        rows["gender"] == "all").sum()


def test_pooled_years_in_every_caption(pooled):
    trends = [o.metadata["ssp"] for o in _outputs(sections.show_trends, pooled)
              if "image/png" in o.data]
    assert trends and all("opptil 3 undersøkelser" in m["caption"] for m in trends)
    captions = re.findall(r"<caption>(.*?)</caption>", sections.goals_html(pooled))
    assert captions and all("Kvernbekken skole, 2021–2025" in c for c in captions)


def test_unit_blue_and_comparison_orange_in_every_brief(school, pooled):
    for b in (school, pooled):
        with theme.rendering():
            fig = sections.trends_figure(b)
            lines = {ln.get_label(): ln.get_color() for ax in fig.axes for ln in ax.lines
                     if not ln.get_label().startswith("_")}
        assert lines[b.unit] == theme.UNIT_COLOR and lines["Trondheim"] == theme.COMPARISON_COLOR
        # one legend above the panels, none over the data
        assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in fig.axes)


def test_share_axes_fit_the_data(school):
    with theme.rendering():
        fig = sections.trends_figure(school)
        tops = {ax.get_title(): ax.get_ylim()[1] for ax in fig.axes if ax.get_visible()}
    high = school.indicators.groupby("indicator")["ci_high"].max()
    for name, top in tops.items():
        ind = next(i for i in school.indicator_names if school.label(i) == name)
        hi = high[ind]
        if np.isnan(hi):
            continue
        # room above the highest bound (no line on the top edge), and never far above it
        assert top > hi and (top == 1.0 if hi > 0.75 else top <= max(0.05, hi * 1.2) + 1e-9)


def test_pilot_trend_is_titled_with_its_years(pub_path):
    city = content.load(publication_path=pub_path)
    fig = _figure(_outputs(pilot.show_pilot_trend, city))
    assert fig.metadata["ssp"]["title"] == (
        "Ensomhet 2019–2025: pilotskolene og de andre skolene i Trondheim")


@pytest.mark.parametrize(("value", "lang", "label"), [
    (1.0, "nb", "Gutt"), (2, "en", "Girl"), ("2", "nb", "Jente"), ("girl", "en", "Girl"),
    (3.0, "nb", "3")])
def test_group_labels_are_words_never_float_codes(school, value, lang, label):
    from types import SimpleNamespace

    b = SimpleNamespace(lang=lang, codebook=school.codebook)
    assert gaps._display_label(b, "gender", value) == label
    assert gaps._display_label(b, "grade", 9.0) == ("9. trinn" if lang == "nb" else "Grade 9")
