"""The evidence brief's sections: headline findings, indicators by goal, trends, method.

One call per section of the brief template (``notebooks/briefs/evidence_brief.ipynb``), each on a
:class:`ssp_research.brief.content.Brief` from :func:`ssp_research.brief.content.load`; the group
differences are in :mod:`ssp_research.brief.gaps`, the pilot in :mod:`ssp_research.brief.pilot`.
Every ``*_html`` function returns :class:`~ssp_research.brief.content.Html`; tables follow the
disclosure HTML contract, rendered by :func:`ssp_research.disclosure.to_html`.

>>> from ssp_research.brief import load
>>> b = load("data/synthetic/trondheim.parquet", unit_type="district", unit="Heimdal")
>>> summary(b).splitlines()[0]
'Heimdal / Trondheim'
"""

from __future__ import annotations

import html as _html
import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ssp_research import disclosure
from ssp_research.brief import exhibits, findings, language, theme
from ssp_research.brief.content import Brief, Html
from ssp_research.brief.texts import TEXTS
from ssp_research.core import paths

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["header_html", "response", "headlines_html", "goals_html", "show_trends",
           "trend_groups", "trends_figure", "trends_data_html", "method_html", "summary"]



def headlines_html(b: Brief, *, max_sentences: int = findings.MAX_FINDINGS) -> Html:
    """Page 1: at most seven findings, most important first
    (:func:`ssp_research.brief.findings.key_findings`), as a numbered list."""
    return findings.findings_html(b, max_findings=max_sentences)


def _pct(x, lang, decimals=0) -> str:
    return "" if x is None or pd.isna(x) else language.format_percent(x, lang, decimals)


def _goal_rows(b: Brief, names: list[str]) -> pd.DataFrame:
    t = b.latest.set_index("indicator").loc[names].reset_index()
    lang = b.lang
    shown = ~t["suppressed"].to_numpy()
    t["label"] = [b.label(n) for n in t["indicator"]]
    t["ci"] = [language.format_ci(lo, hi, lang, 1) if s else ""
               for lo, hi, s in zip(t["ci_low"], t["ci_high"], shown)]
    t["cmp"] = [_pct(v, lang, 1) for v in t["cmp_estimate"]]
    T = TEXTS[lang]
    t["diff_text"] = [language.format_difference(d, lo, hi, lang) if s else ""
                      for d, lo, hi, s in zip(t["diff"], t["diff_ci_low"], t["diff_ci_high"],
                                              shown)]
    t["arrow"] = [_arrow_text(b, n) if s else "" for n, s in zip(t["indicator"], shown)]
    bench = b.benchmark.set_index("indicator").reindex(t["indicator"])
    t["ref"] = [_pct(v, lang) for v in bench["ref_estimate"]]
    t["barometer"] = [T[f"bar_{c}"] if isinstance(c, str) else
                      ("" if not s else T["bar_none"] if pd.isna(r) else "")
                      for c, r, s in zip(bench["ref_class"], bench["ref_estimate"], shown)]
    return t


def _arrow_text(b: Brief, name: str) -> str:
    """The trend arrow with its sign in words: "↓ bedre" for a falling problem share."""
    arrow = b.arrow(name)
    if arrow not in ("↑", "↓"):
        return arrow
    better = (arrow == "↑") == bool(b.latest.set_index("indicator").loc[name,
                                                                        "higher_is_better"])
    return f"{arrow} {TEXTS[b.lang]['trend_good' if better else 'trend_bad']}"


def goals_html(b: Brief) -> Html:
    """The indicators of each strategy goal: unit vs comparison, difference, trend arrow.

    Goals that no survey indicator measures say so, with what data would measure them.
    """
    T = TEXTS[b.lang]
    parts = []
    ref_years = b.benchmark["ref_year"].dropna()
    labels = {"label": T["indicator"], "estimate": T["estimate"], "ci": T["ci"],
              "cmp": f"{T['cmp']}: {b.comparison_name}", "diff_text": T["diff"],
              "arrow": T["trend"],
              "ref": T["ref"].format(year=int(ref_years.max())) if len(ref_years) else "",
              "barometer": T["barometer"], "n": T["n"]}
    bar_class = {T[f"bar_{c}"]: f"ssp-bar ssp-bar-{c}" for c in ("better", "same", "worse")}
    classes = {"barometer": lambda v: bar_class.get(v, "")}
    fmt = {"estimate": lambda v: _pct(v, b.lang, 1),
           "n": lambda v: language.format_number(v, b.lang)}  # 1 234 (nb) / 1,234 (en)
    for goal in b.framework.goals:
        title = goal.title_in(b.lang)
        parts.append(f'<section class="ssp-goal" id="goal-{_html.escape(goal.id)}">'
                     f"<h3>{_html.escape(goal.id)}. {_html.escape(title)}</h3>")
        names = [i for i in goal.indicators if i in b.indicator_names]
        if names:
            rows = _goal_rows(b, names)
            caption = T["tab_goal"].format(goal=title, unit=b.unit, period=b.period())
            parts.append(disclosure.to_html(rows, list(labels), labels, b.lang,
                                            caption=caption, formatters=fmt,
                                            dataset=b.dataset, classes=classes,
                                            numeric=["ci", "cmp", "diff_text", "ref"]))
        if goal.unmeasured:
            text = goal.unmeasured.get(b.lang) or next(iter(goal.unmeasured.values()))
            lead = "" if names else T["no_goal_ind"] + " "
            parts.append(f'<p class="ssp-unmeasured"><strong>'
                         f'{_html.escape(language.text("unmeasured", b.lang))}:</strong> '
                         f"{_html.escape(lead + text)}</p>")
        parts.append("</section>")
    notes = [T["fn_arrow"]]
    used = b.benchmark.dropna(subset=["ref_estimate"])
    if len(used):
        sources = "; ".join(dict.fromkeys(used["ref_source"]))
        notes.append(T["fn_barometer"].format(sources=sources))
        notes += list(dict.fromkeys(used[f"ref_note_{b.lang}"].dropna()))
    if b.latest["suppressed"].any():
        notes.append(T["fn_suppressed"] + " " + b.rules.describe(b.lang).splitlines()[0])
    if b.latest["series_break"].astype(bool).any():
        notes.append(T["fn_break"])
    parts.append('<p class="ssp-footnotes">' + "<br>".join(map(_html.escape, notes)) + "</p>")
    return Html("\n".join(parts))


def trend_groups(b: Brief) -> list[tuple[str | None, list[str]]]:
    """The indicators of the trend figures: one figure per strategy goal, each indicator once.

    Returns ``(goal title or None, indicator names)`` in the framework's order; indicators in
    no goal come last under ``None``. Small figures keep the printed brief's pages full.
    """
    seen: set[str] = set()
    groups = []
    for goal in b.framework.goals:
        names = [i for i in goal.indicators if i in b.indicator_names and i not in seen]
        if names:
            groups.append((goal.title_in(b.lang), names))
            seen.update(names)
    rest = [i for i in b.indicator_names if i not in seen]
    if rest:
        groups.append((None, rest))
    return groups


def show_trends(b: Brief, *, ncols: int = 2) -> None:
    """Small multiples per strategy goal: each indicator over the waves, unit and comparison
    with CI bands; titled and captioned, with the numbers folded under each figure."""
    T = TEXTS[b.lang]
    first, last = exhibits.span(b, b.indicators["wave"])
    own = b.comparison == "previous_wave"
    for goal, names in trend_groups(b):
        fmt = dict(first=first, last=last, unit=b.unit, cmp=b.comparison_name, k=len(names))
        caption = T["fig_trends_cap_own" if own else "fig_trends_cap"].format(**fmt)
        if b.pool > 1:
            caption += T["fig_pooled_cap"].format(k=b.pool)
        title = T["fig_trends_own" if own else "fig_trends"].format(**fmt)
        if goal is not None:
            title = f"{goal} – {title[0].lower()}{title[1:]}"
        theme.show_rendered(lambda names=names: trends_figure(b, names=names, ncols=ncols),
                            title=title, caption=caption,
                            alt=T["fig_trends_alt"].format(**fmt),
                            data_html=trends_data_html(b, names))


def trends_data_html(b: Brief, names: list[str] | None = None) -> str:
    """The numbers of a trend figure: indicator, year, share, CI and comparison."""
    T = TEXTS[b.lang]
    t = b.indicators
    if names is not None:
        t = t[t["indicator"].isin(names)]
    t = exhibits.share_columns(b, t)
    t = t.assign(label=[b.label(n) for n in t["indicator"]],
                 year=[b.period(w) for w in t["wave"]],
                 cmp=[_pct(v, b.lang, 1) for v in t["cmp_estimate"]])
    labels = {"label": T["indicator"], "year": T["year"], "estimate": T["estimate"],
              "ci": T["ci"]}
    if b.comparison != "previous_wave":
        labels["cmp"] = b.comparison_name
    return exhibits.figure_data_html(b, t, list(labels), labels, numeric=["ci", "cmp"])


def trends_figure(b: Brief, names: list[str] | None = None, *, ncols: int = 2) -> Figure:
    """A figure of :func:`show_trends`: the indicators ``names`` (default all), drawn
    inside :func:`~ssp_research.brief.theme.show_rendered`."""
    from ssp_research.brief import plots

    t = b.indicators
    rows = [t.assign(series=b.unit)[["indicator", "wave", "estimate", "ci_low", "ci_high",
                                     "series_break", "suppressed", "series"]]]
    if b.comparison != "previous_wave":
        rows.append(pd.DataFrame({
            "indicator": t["indicator"], "wave": t["wave"], "estimate": t["cmp_estimate"],
            "ci_low": t["cmp_ci_low"], "ci_high": t["cmp_ci_high"],
            "series_break": t["series_break"], "suppressed": t["cmp_estimate"].isna(),
            "series": b.comparison_name}))  # fmt: skip
    long = pd.concat(rows, ignore_index=True)
    names = list(b.indicator_names if names is None else names)
    ncols = min(ncols, len(names))
    nrows = math.ceil(len(names) / ncols)
    height = 1.5 * nrows + 0.3
    # one wave axis for all panels: the years are written under the bottom panels only
    fig = theme.new_figure((7.0, height))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    alts, handles, legend_labels = [], [], []
    for i, (ax, name) in enumerate(zip(axes.flat, names)):
        plots.trend(long, series="series", indicator=name, codebook=b.codebook, lang=b.lang,
                    colors={b.unit: theme.UNIT_COLOR,
                            b.comparison_name: theme.COMPARISON_COLOR}, ax=ax)
        ax.set_title(b.label(name), fontsize=9)
        ax.set_ylabel("")  # the title names the indicator
        if i < len(names) - ncols:
            ax.set_xlabel("")
        else:  # a bottom panel (also above an empty cell of the grid)
            ax.xaxis.set_tick_params(labelbottom=True)
        if i == 0:
            handles, legend_labels = ax.get_legend_handles_labels()
        if ax.get_legend() is not None:
            ax.get_legend().remove()  # one legend above the panels, never over the data
        alts.append(theme.alt_text(ax))
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    # fixed spacing instead of tight_layout (which costs an extra full draw)
    if handles:  # above the first row's titles
        fig.legend(handles, legend_labels, loc="upper center", ncol=len(handles),
                   frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.subplots_adjust(left=0.09, right=0.98, top=1 - 0.62 / height, bottom=0.42 / height,
                        hspace=0.75, wspace=0.3)
    theme.set_alt_text(fig, " ".join(alts))
    return fig


def method_html(b: Brief) -> Html:
    """Design, CI method, pooling, standardisation, disclosure rules, codebook, data."""
    T = TEXTS[b.lang]
    cb, fw = b.codebook, b.framework
    n = int(b.latest["n"].max()) if len(b.latest) else 0
    items = [
        T["design"], T["ci_method"],
        T["pool"].format(pool=b.pool) if b.pool > 1 else T["no_pool"],
        T["std"] if b.standardise else T["no_std"],
    ]  # fmt: skip
    if b.comparison == "previous_wave":
        items.append(T["prev_note"])
    if "family_economy" in b.data.columns:
        items.append(T["economy_rule"])
    items.append(T["codebook"].format(title=cb.title.get(b.lang, cb.instrument),
                                      version=cb.version,
                                      source=cb.citation.get(b.lang) or cb.source))
    items.append(T["framework"].format(title=fw.title.get(b.lang), period=fw.period,
                                       url=fw.source.get("url", "")))
    items.append(T["data"].format(file=Path(b.data_path).name, unit=b.unit, wave=b.period(),
                                  n=language.format_number(n, b.lang)))
    lis = "".join(f"<li>{_html.escape(str(i))}</li>" for i in items)
    rules = "".join(f"<li>{_html.escape(line)}</li>"
                    for line in b.rules.describe(b.lang).splitlines() if line.strip())
    return Html(f'<ul class="ssp-method">{lis}</ul><h3>{_html.escape(T["rules"])}</h3>'
                f'<ul class="ssp-rules">{rules}</ul>')


def response(b: Brief) -> dict:
    """The brief's answers and response rate over its wave (or pooled window).

    ``respondents``: pupils of the unit who answered; ``pupils``: the unit's pupils in
    ``population.csv`` next to the data (the grades and waves surveyed; None without that
    file or without the unit in it); ``rate``: their ratio (None when unknown).

    >>> from ssp_research.brief import load
    >>> r = response(load("data/synthetic/trondheim.parquet"))
    >>> r["respondents"] <= r["pupils"], 0.5 < r["rate"] < 1
    (True, True)
    """
    waves = b.data["wave"].to_numpy()
    first = int(b.period().split("\u2013")[0])
    window = (waves >= first) & (waves <= b.wave)
    respondents = int((b.unit_mask & window).sum())
    pupils = None
    pop_path = paths.in_project(b.data_path).parent / "population.csv"
    if pop_path.is_file() and b.unit_type in ("city", "district", "school"):
        pop = pd.read_csv(pop_path)
        pop = pop[(pop["wave"] >= first) & (pop["wave"] <= b.wave)]
        if b.unit_col is not None:
            pop = pop[pop[b.unit_col] == b.unit]
        pupils = int(pop["pupils"].sum()) or None
    rate = respondents / pupils if pupils else None
    return {"respondents": respondents, "pupils": pupils, "rate": rate}


def header_html(b: Brief) -> Html:
    """The brief's plain header: unit, survey, years, answers, response rate, strategy and
    what the unit is compared with, in words (no parameter names).

    >>> from ssp_research.brief import load
    >>> print(header_html(load("data/synthetic/trondheim.parquet", lang="en")))
    ... # doctest: +ELLIPSIS
    <dl class="ssp-facts" id="ssp-facts"><div><dt>Unit</dt><dd>Trondheim (municipality)</dd>...
    """
    T = TEXTS[b.lang]
    lang = b.lang
    if b.unit_type == "school":
        kind = T["h_school"].format(district=b.district, city=b.city)
    elif b.unit_type == "district":
        kind = T["h_district"].format(city=b.city)
    else:
        kind = T["h_city"] if b.unit_type == "city" else ""
    period = b.period()
    k = len([w for w in b.data["wave"].unique() if int(period.split("\u2013")[0]) <= int(w)
             <= b.wave])
    years = T["h_years_pooled"].format(period=period, k=k) if k > 1 else period
    r = response(b)
    facts = [
        (T["h_unit"], f"{b.unit} ({kind})" if kind else b.unit),
        (T["h_survey"], b.codebook.title.get(lang, b.codebook.instrument)),
        (T["h_years"], years),
        (T["h_answers"], T["h_answers_n"].format(n=language.format_number(r["respondents"],
                                                                           lang))),
    ]
    if r["rate"] is not None:
        facts.append((T["h_rate"], T["h_rate_n"].format(
            rate=language.format_percent(r["rate"], lang),
            n=language.format_number(r["respondents"], lang),
            pupils=language.format_number(r["pupils"], lang))))
    facts.append((T["h_strategy"], b.framework.title.get(lang)))
    compare = [b.comparison_name if b.comparison != "previous_wave"
               else f"{b.unit} {b.previous_wave}" if b.previous_wave else ""]
    bench = b.benchmark.dropna(subset=["ref_year"])
    if len(bench):
        compare.append(T["h_national"].format(year=int(bench["ref_year"].max())))
    compare = [c for c in compare if c]
    if compare:
        facts.append((T["h_compare"], language._join(compare, lang)))
    items = "".join(f"<div><dt>{_html.escape(k)}</dt><dd>{_html.escape(str(v))}</dd></div>"
                    for k, v in facts)
    return Html(f'<dl class="ssp-facts" id="ssp-facts">{items}</dl>')


def summary(b: Brief) -> str:
    """Key numbers of the latest wave as plain lines (for regression checks of notebooks).

    One line per indicator, ``name: 12.3 % (n=456)``, or ``name: not shown``; at most two
    numbers per line, so the text is not a table.
    """
    lines = [f"{b.unit} / {b.comparison_name}"]
    for r in b.latest.itertuples():
        if r.suppressed:
            lines.append(f"{r.indicator}: not shown")
        else:
            lines.append(f"{r.indicator}: {100 * r.estimate:.1f} % (n={int(r.n)})")
    return "\n".join(lines)
