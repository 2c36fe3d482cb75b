"""Tests of ssp_research.brief.plots: what was drawn (points, whiskers, bands, labels, alt text)."""

from __future__ import annotations

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402

from ssp_research.brief import plots, theme  # noqa: E402
from ssp_research.core.errors import DataError, ParameterError  # noqa: E402

NAN = float("nan")


@pytest.fixture(autouse=True)
def _close_figures():
    theme.set_theme()
    yield
    plt.close("all")


def comparison_table():
    return pd.DataFrame(
        {
            "indicator": ["lonely", "close_friend", "bullied", "thriving"],
            "wave": 2025,
            "estimate": [0.18, 0.90, NAN, 0.80],
            "ci_low": [0.14, 0.87, NAN, 0.76],
            "ci_high": [0.22, 0.93, NAN, 0.84],
            "cmp_estimate": [0.12, 0.89, 0.07, 0.85],
            "cmp_ci_low": [0.11, 0.88, 0.06, 0.84],
            "cmp_ci_high": [0.13, 0.90, 0.08, 0.86],
            "diff": [0.06, 0.01, NAN, -0.05],
            "diff_ci_low": [0.02, -0.02, NAN, -0.09],
            "diff_ci_high": [0.10, 0.04, NAN, -0.01],
            "p_value": [0.004, 0.5, NAN, 0.01],
            "suppressed": [False, False, True, False],
            "reason": ["", "", "primary", ""],
            "marker": ["", "", "*", ""],
        }
    )


def _points_and_whiskers(container):
    """(x, y) of the markers and the [x0, x1] of each whisker of an errorbar container."""
    line, _caps, (bars,) = container.lines
    x, y = line.get_data()
    segs = [(s[0][0], s[1][0]) for s in bars.get_segments()]
    return np.asarray(x), np.asarray(y), segs


def test_theme_is_okabe_ito():
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [matplotlib.colors.to_hex(c) for c in colors[:3]] == ["#0072b2", "#e69f00", "#009e73"]
    assert theme.UNIT_COLOR == "#0072B2" and theme.COMPARISON_COLOR == "#E69F00"


def test_indicator_comparison_points_whiskers_and_suppressed_marker():
    t = comparison_table()
    ax = plots.indicator_comparison(t, lang="en", unit_name="Midtbyen",
                                    comparison_name="Trondheim")  # fmt: skip
    assert isinstance(ax, matplotlib.axes.Axes)
    unit, cmp_ = ax.containers
    x, y, segs = _points_and_whiskers(unit)
    # the suppressed 'bullied' value is not drawn: 3 unit points, 4 comparison points
    assert np.allclose(x, [0.18, 0.90, 0.80])
    assert np.allclose(segs, [(0.14, 0.22), (0.87, 0.93), (0.76, 0.84)])
    cx, cy, csegs = _points_and_whiskers(cmp_)
    assert np.allclose(cx, [0.12, 0.89, 0.07, 0.85])
    assert np.allclose(csegs, [(0.11, 0.13), (0.88, 0.90), (0.06, 0.08), (0.84, 0.86)])
    # unit drawn just above the comparison of the same indicator row, rows top to bottom
    assert np.all(y > cy[[0, 1, 3]]) and np.all(np.diff(cy) < 0)
    assert matplotlib.colors.to_hex(unit.lines[0].get_color()) == "#0072b2"
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Loneliness", "Has a close friend", "Bullied", "Thrives at school"]  # fmt: skip
    notes = [c for c in ax.texts if c.get_gid() == "suppressed"]
    assert len(notes) == 1 and notes[0].get_text() == "* Not shown (privacy)"
    assert notes[0].xy[0] == pytest.approx(0.07)  # at the comparison's value
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Midtbyen", "Trondheim"]
    assert ax.get_xticklabels()[1].get_text().endswith("%")
    alt = theme.alt_text(ax)
    assert alt.startswith("Dot chart: share for 4 indicators in Midtbyen (blue circles) and "
                          "Trondheim (orange diamonds)")  # fmt: skip
    assert "Loneliness: 18% vs 12% (clear difference)" in alt
    assert "Has a close friend: 90% vs 89%;" in alt  # not significant: no claim
    assert "Bullied: not shown (privacy)" in alt and "7%" not in alt


def test_indicator_comparison_norwegian_labels_and_latest_wave():
    t = pd.concat([comparison_table().assign(wave=2023, estimate=0.5), comparison_table()])
    ax = plots.indicator_comparison(t, lang="nb", unit_name="Midtbyen")
    x, _, _ = _points_and_whiskers(ax.containers[0])
    assert np.allclose(x, [0.18, 0.90, 0.80])  # 2025 rows only
    assert ax.get_yticklabels()[0].get_text() == "Ensomhet"
    assert "\u00a0%" in ax.get_xticklabels()[1].get_text()
    assert "Ensomhet: 18 % mot 12 % (sikker forskjell)" in theme.alt_text(ax).replace("\xa0", " ")


def test_indicator_comparison_without_comparison_and_missing_columns():
    t = comparison_table().drop(columns=["cmp_estimate", "cmp_ci_low", "cmp_ci_high"])
    ax = plots.indicator_comparison(t, lang="en", unit_name="Trondheim")
    assert len(ax.containers) == 1
    assert "orange" not in theme.alt_text(ax)
    with pytest.raises(DataError, match=r"needs the column\(s\) \['ci_low'\]"):
        plots.indicator_comparison(t.drop(columns="ci_low"))


def test_drawing_twice_is_identical():
    def draw():
        fig, ax = plt.subplots()
        plots.indicator_comparison(comparison_table(), lang="en", ax=ax)
        return theme.figure_bundle(ax)[0]["image/png"]

    assert draw() == draw()


def trend_table():
    return pd.DataFrame(
        {
            "indicator": "lonely",
            "wave": [2019, 2021, 2023, 2025] * 2,
            "unit": ["Midtbyen"] * 4 + ["Trondheim"] * 4,
            "estimate": [0.10, 0.12, NAN, 0.15, 0.11, 0.115, 0.12, 0.125],
            "ci_low": [0.08, 0.10, NAN, 0.13, 0.105, 0.11, 0.115, 0.12],
            "ci_high": [0.12, 0.14, NAN, 0.17, 0.115, 0.12, 0.125, 0.13],
            "suppressed": [False, False, True, False] * 2,
            "series_break": [False, True, False, False] * 2,
        }
    )


def test_trend_lines_bands_and_series_break():
    ax = plots.trend(trend_table(), series="unit", lang="en")
    lines = [ln for ln in ax.lines if ln.get_gid() != "series_break"]
    assert len(lines) == 2
    x, y = lines[0].get_data()
    assert list(x) == [2019, 2021, 2023, 2025]
    assert np.allclose(y, [0.10, 0.12, NAN, 0.15], equal_nan=True)  # gap at the suppressed wave
    assert [matplotlib.colors.to_hex(ln.get_color()) for ln in lines] == ["#0072b2", "#e69f00"]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    verts = np.concatenate([p.vertices for p in bands[1].get_paths()])
    assert verts[:, 1].min() == pytest.approx(0.105) and verts[:, 1].max() == pytest.approx(0.13)
    brk = [ln for ln in ax.lines if ln.get_gid() == "series_break"]
    assert len(brk) == 1 and brk[0].get_xdata()[0] == pytest.approx(2020)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Midtbyen", "Trondheim", "Series break"]  # fmt: skip
    assert [int(v) for v in ax.get_xticks()] == [2019, 2021, 2023, 2025]
    alt = theme.alt_text(ax)
    assert alt.startswith("Line chart over time of Loneliness, with 95% confidence bands.")
    assert "Midtbyen: 2019: 10%, 2021: 12%, 2023: not shown (privacy), 2025: 15%" in alt
    assert alt.endswith("Series break from 2021.")


def test_trend_needs_one_indicator():
    t = pd.concat([trend_table(), trend_table().assign(indicator="bullied")])
    with pytest.raises(ParameterError, match="pass indicator="):
        plots.trend(t, series="unit")
    ax = plots.trend(t, series="unit", indicator="bullied", lang="nb")
    assert ax.get_ylabel() == "Utsatt for mobbing"
    with pytest.raises(DataError, match="no rows"):
        plots.trend(t, indicator="nothing")


def test_trend_of_a_mean_without_series():
    t = pd.DataFrame({"wave": [2021, 2023], "estimate": [3.1, 3.3], "ci_low": [3.0, 3.2],
                      "ci_high": [3.2, 3.4]})  # fmt: skip
    ax = plots.trend(t, percent=False, lang="en", ylabel="Log-odds ratio per step")
    assert ax.get_legend() is None
    assert ax.get_ylabel() == "Log-odds ratio per step"
    assert theme.alt_text(ax).endswith("2021: 3.10, 2023: 3.30.")


def test_gap_by_gender_dodges_groups_and_marks_suppressed():
    t = pd.DataFrame(
        {
            "indicator": ["lonely", "lonely", "depressive", "depressive"],
            "gender": ["girl", "boy", "girl", "boy"],
            "estimate": [0.20, 0.10, 0.25, NAN],
            "ci_low": [0.17, 0.08, 0.21, NAN],
            "ci_high": [0.23, 0.12, 0.29, NAN],
            "suppressed": [False, False, False, True],
        }
    )
    ax = plots.gap(t, by="gender", lang="nb")
    girls, boys = ax.containers
    gx, gy, gsegs = _points_and_whiskers(girls)
    bx, by_, bsegs = _points_and_whiskers(boys)
    assert np.allclose(gx, [0.20, 0.25]) and np.allclose(bx, [0.10])
    assert np.allclose(gsegs, [(0.17, 0.23), (0.21, 0.29)]) and np.allclose(bsegs, [(0.08, 0.12)])
    assert gy[0] > by_[0] > gy[1]  # girls above boys within 'lonely', 'lonely' above 'depressive'
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Jenter", "Gutter"]
    notes = [c.get_text() for c in ax.texts if c.get_gid() == "suppressed"]
    assert notes == ["* Gutter: Ikke vist (personvern)"]
    alt = theme.alt_text(ax).replace("\xa0", " ")
    assert "etter kjønn" in alt and "Jenter: 20 %, 25 %; Gutter: 10 %, ikke vist" in alt


def test_gap_by_grade_labels():
    t = pd.DataFrame({"grade": [8, 9, 10], "estimate": [0.1, 0.12, 0.15],
                      "ci_low": [0.08, 0.1, 0.12], "ci_high": [0.12, 0.14, 0.18]})  # fmt: skip
    ax = plots.gap(t, by="grade", lang="en")
    # one indicator: groups are the rows, top to bottom, no legend
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Grade 8", "Grade 9", "Grade 10"]
    assert ax.get_legend() is None and len(ax.containers) == 3
    ys = [_points_and_whiskers(c)[1][0] for c in ax.containers]
    assert ys == [0.0, -1.0, -2.0]


def school_table():
    est = np.array([0.70, 0.85, 0.60, NAN, 0.75])
    return pd.DataFrame(
        {
            "school": ["A", "B", "C", "D", "E"],
            "estimate": est,
            "ci_low": est - 0.05,
            "ci_high": est + 0.04,
            "suppressed": [False, False, False, True, False],
        }
    )


def test_school_variation_caterpillar():
    ax = plots.school_variation(school_table(), comparison=0.72, highlight="E", lang="en")
    (ci,) = [c for c in ax.collections if c.get_gid() == "ci"]
    assert isinstance(ci, LineCollection)
    segs = ci.get_segments()
    assert np.allclose([s[0][0] for s in segs], [0.55, 0.65, 0.70, 0.80])  # sorted by estimate
    assert np.allclose([s[1][0] for s in segs], [0.64, 0.74, 0.79, 0.89])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["C", "A", "E", "B"]
    (pts,) = [c for c in ax.collections if c.get_gid() == "estimate"]
    assert np.allclose(pts.get_offsets()[:, 0], [0.60, 0.70, 0.75, 0.85])
    colors = [matplotlib.colors.to_hex(c) for c in pts.get_facecolors()]
    assert colors[2] == "#0072b2" and colors[0] == "#b0b0b0"  # E highlighted
    (ref,) = [ln for ln in ax.lines if ln.get_gid() == "comparison"]
    assert ref.get_xdata()[0] == pytest.approx(0.72)
    (note,) = [t for t in ax.texts if t.get_gid() == "suppressed"]
    assert note.get_text() == "* 1 school not shown (privacy)"
    alt = theme.alt_text(ax)
    assert "of 4 schools" in alt and "range from 60% to 85%" in alt and "72%" in alt
    assert "1 school is not shown" in alt


def test_alt_text_on_figure_and_notebook_bundle():
    fig, (a1, a2) = plt.subplots(1, 2)
    plots.school_variation(school_table(), ax=a1, lang="nb")
    plots.gap(school_table().assign(gender="girl"), by="gender", ax=a2, lang="nb")
    assert theme.alt_text(fig) == theme.alt_text(a1) + " " + theme.alt_text(a2)
    data, meta = theme.figure_bundle(fig)
    png = base64.b64decode(data["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert meta["image/png"]["alt"] == theme.alt_text(fig) == data["text/plain"]
    assert meta["image/png"]["width"] > 0
    theme.set_alt_text(fig, "Own text.")
    assert theme.figure_bundle(fig)[1]["image/png"]["alt"] == "Own text."


def test_show_displays_with_alt_metadata_and_closes(monkeypatch):
    import IPython.display

    seen = {}

    def fake_display(data, raw=False, metadata=None):
        seen.update(data=data, raw=raw, metadata=metadata)

    monkeypatch.setattr(IPython.display, "display", fake_display)
    ax = plots.school_variation(school_table(), lang="en")
    num = ax.figure.number
    theme.show(ax)
    assert seen["raw"] is True
    assert seen["metadata"]["image/png"]["alt"].startswith("Ranked dot chart")
    assert not plt.fignum_exists(num)


def test_trend_accepts_effects_trend_output():
    from ssp_research.analysis.effects import trend

    rng = np.random.default_rng(5)
    n = 2000
    df = pd.DataFrame({"wave": rng.choice([2021, 2023, 2025], n), "weight": 1.0,
                       "school": rng.choice(list("ABCD"), n)})  # fmt: skip
    df["ind_lonely"] = rng.binomial(1, 0.15, n).astype(float)
    tr = trend(df, "ind_lonely", adjust=())
    ax = plots.trend(tr, lang="en")
    obs = tr[tr.quantity == "observed"].sort_values("wave")
    x, y = ax.lines[0].get_data()
    assert list(x) == [2021, 2023, 2025] and np.allclose(y, obs["estimate"])
    assert ax.get_ylabel() == "Loneliness"
    ax2 = plots.trend(tr, lang="en", quantity="prevalence")
    pred = tr[tr.quantity == "prevalence"].sort_values("wave")
    assert np.allclose(ax2.lines[0].get_data()[1], pred["estimate"])


def test_gap_accepts_effects_gaps_output():
    from ssp_research.analysis.effects import gaps

    rng = np.random.default_rng(7)
    n = 3000
    df = pd.DataFrame({"wave": 2025, "weight": 1.0, "school": rng.choice(list("ABCD"), n),
                       "gender": rng.choice(["boy", "girl"], n)})  # fmt: skip
    df["ind_lonely"] = rng.binomial(1, np.where(df.gender == "girl", 0.3, 0.15)).astype(float)
    g = gaps(df, "ind_lonely", by="gender")
    ax = plots.gap(g, by="gender", lang="en")
    prev = g[g.quantity == "prevalence"].set_index("group")
    boys, girls = ax.containers  # groups in table order (sorted: boy first)
    assert np.allclose(_points_and_whiskers(boys)[0], [prev.loc["boy", "estimate"]])
    x, _, segs = _points_and_whiskers(girls)
    assert np.allclose(segs, [(prev.loc["girl", "ci_low"], prev.loc["girl", "ci_high"])])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Boys", "Girls"]
    assert ax.get_title(loc="left") == "Loneliness"


def test_gap_labels_item_codes_from_codebook():
    from ssp_research.data.codebook import load_codebook

    t = pd.DataFrame({"family_economy": [1.0, 3.0, 5.0], "estimate": [0.3, 0.2, 0.1],
                      "ci_low": [0.2, 0.15, 0.08], "ci_high": [0.4, 0.25, 0.12]})  # fmt: skip
    ax = plots.gap(t, by="family_economy", codebook=load_codebook("ungdata"), lang="nb")
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "1 Hele tiden dårlig råd", "3 Verken god eller dårlig råd", "5 Hele tiden god råd"]
    assert "etter familiens økonomi" in theme.alt_text(ax)


def test_missing_estimate_is_marked_no_data_not_privacy():
    t = comparison_table()
    t.loc[2, "suppressed"] = False  # bullied: NaN without suppression (e.g. no answers)
    ax = plots.indicator_comparison(t, lang="en", unit_name="U", comparison_name="C")
    assert [c.get_text() for c in ax.texts if c.get_gid() == "no_data"] == ["No figure"]
    assert not [c for c in ax.texts if c.get_gid() == "suppressed"]
    assert "Bullied: no figure" in theme.alt_text(ax)
    s = school_table()
    s.loc[3, "suppressed"] = False
    ax2 = plots.school_variation(s, lang="en")
    (note,) = [c for c in ax2.texts if c.get_gid() == "suppressed"]
    assert note.get_text() == "1 school without a figure"
    alt = theme.alt_text(ax2)
    assert "privacy" not in alt and "1 school has no figure" in alt


def test_theme_is_seaborns_whitegrid_without_importing_seaborn():
    import seaborn as sns

    from ssp_research.brief import theme

    keys = [k for k in matplotlib.rcParams if k != "image.cmap"]
    try:
        matplotlib.rcdefaults()
        sns.set_theme(context="notebook", style="whitegrid", palette=theme.PALETTE, rc={
            "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100,
            "savefig.dpi": 150, "savefig.bbox": "tight", "font.family": "DejaVu Sans"})
        expected = {k: matplotlib.rcParams[k] for k in keys}
        matplotlib.rcdefaults()
        theme.set_theme()
        got = {k: matplotlib.rcParams[k] for k in keys}
    finally:
        theme.set_theme()
    assert {k: (got[k], v) for k, v in expected.items() if got[k] != v} == {}


def _png_pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)


def _drawn(pixels: np.ndarray) -> np.ndarray:
    """The pixels inside the box of everything not white."""
    ink = (pixels < 255).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def test_figure_bundle_draws_once_and_matches_savefig_tight(monkeypatch):
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, ax = plt.subplots(figsize=(3, 2), layout="constrained")  # all inside the canvas
    ax.plot([0, 1, 2], [1, 3, 2])
    ax.set_title("A title")
    ref = io.BytesIO()
    fig.savefig(ref, format="png", dpi=150, bbox_inches="tight")
    draws = []
    orig = FigureCanvasAgg.draw
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda self: draws.append(1) or orig(self))
    data, meta = theme.figure_bundle(ax)
    assert len(draws) == 1  # savefig(bbox_inches="tight") would draw twice
    png = base64.b64decode(data["image/png"])
    assert png[25] == 2  # PNG colour type 2: RGB (opaque figure, no alpha channel)
    got, want = _png_pixels(png), _png_pixels(ref.getvalue())
    # cropped to what is drawn, with a 0.1 inch margin (15 px at 150 dpi) all round
    assert (got[:15] == 255).all() and (got[-15:] == 255).all()
    assert (got[:, :15] == 255).all() and (got[:, -15:] == 255).all()
    assert not (got[15] == 255).all() or not (got[:, 15] == 255).all()
    ink, ref_ink = _drawn(got), _drawn(want)  # the same picture as savefig's tight crop
    assert abs(ink.shape[0] - ref_ink.shape[0]) <= 2 and abs(ink.shape[1] - ref_ink.shape[1]) <= 2
    h, w = min(ink.shape[0], ref_ink.shape[0]) - 2, min(ink.shape[1], ref_ink.shape[1]) - 2
    best = min(np.abs(ink[dy:dy + h, dx:dx + w] - ref_ink[:h, :w]).mean()
               for dy in range(3) for dx in range(3))  # aligned to the nearest pixel
    assert best < 3  # (sub-pixel shifts)
    assert meta["image/png"]["width"] == got.shape[1] * 2 // 3
    plt.close(fig)


def test_figure_bundle_falls_back_to_savefig_when_an_artist_leaves_the_canvas(monkeypatch):
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.text(1.5, 0.5, "far outside on the right", transform=ax.transAxes)
    draws = []
    orig = FigureCanvasAgg.draw
    monkeypatch.setattr(FigureCanvasAgg, "draw", lambda self: draws.append(1) or orig(self))
    png = base64.b64decode(theme.figure_bundle(ax)[0]["image/png"])
    assert len(draws) == 2  # measure + render, as savefig alone (not 3)
    assert png[25] == 2  # RGB here too (the PDF embeds opaque RGB figures as they are)
    monkeypatch.undo()
    assert _png_pixels(png).shape[1] > 3 * 150  # wider than the 3-inch canvas: not clipped
    ref = io.BytesIO()
    fig.savefig(ref, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    assert _png_pixels(png).shape == _png_pixels(ref.getvalue()).shape
    plt.close(fig)
