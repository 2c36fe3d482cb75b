"""The brief's figures and tables as exhibits: titled, captioned, with their numbers.

A figure of the brief is shown with :func:`ssp_research.brief.theme.show_rendered` and a
title, a caption, a short alt text and its numbers as a protected table folded under it
(:func:`figure_data_html`); the exporter numbers figures and tables in reading order
(:func:`ssp_research.render.export.number_exhibits`). When every value of a chart is hidden,
one sentence replaces the chart (:func:`no_chart_html`).
"""

from __future__ import annotations

import html as _html
from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from ssp_research import disclosure
from ssp_research.brief import language
from ssp_research.brief.content import Brief, Html
from ssp_research.brief.texts import TEXTS

__all__ = ["figure_data_html", "no_chart_html", "span", "share_columns"]


def span(b: Brief, waves) -> tuple[int, int]:
    """The first and last year a figure covers: the first wave's pooled window start (a
    pooled brief's first point already pools earlier surveys) to the last wave."""
    waves = sorted(int(w) for w in pd.Series(waves).dropna().unique())
    if not waves:
        return b.wave, b.wave
    first = int(b.period(waves[0]).split("\u2013")[0])
    return first, waves[-1]


def share_columns(b: Brief, t: pd.DataFrame) -> pd.DataFrame:
    """``t`` with ``share`` and ``ci`` as display text (one decimal; empty when hidden)."""
    shown = ~t["suppressed"].astype(bool).to_numpy()
    return t.assign(
        ci=[language.format_ci(lo, hi, b.lang, 1) if s else ""
            for lo, hi, s in zip(t["ci_low"], t["ci_high"], shown)])


def figure_data_html(b: Brief, rows: pd.DataFrame, columns: Sequence[str],
                     labels: Mapping[str, str], *,
                     formatters: Mapping[str, Callable[[object], str]] | None = None,
                     numeric: Sequence[str] = ()) -> str:
    """A figure's numbers: a protected table (the audit contract) folded under the figure.

    ``rows`` must be protected rows (``suppressed``, ``n``, ``marker``); hidden values show
    the marker, as in the figure. Screen readers and anyone who wants the exact numbers read
    them here, so the figure's alt text stays short. Print hides the fold (the PDF shows the
    figure; the tables of the brief hold its latest numbers).
    """
    fmt = {"estimate": lambda v: language.format_percent(v, b.lang, 1)}
    fmt.update(formatters or {})
    table = disclosure.to_html(rows, list(columns), dict(labels), b.lang, formatters=fmt,
                               dataset=b.dataset, numeric=numeric)
    summary = _html.escape(TEXTS[b.lang]["figdata"])
    return f'<details class="ssp-figdata"><summary>{summary}</summary>{table}</details>'


def no_chart_html(b: Brief, by_label: str) -> Html:
    """The one sentence that replaces a chart whose every value is hidden."""
    text = TEXTS[b.lang]["nochart"].format(by=by_label.lower(), unit=b.unit,
                                           period=b.period())
    return Html(f'<p class="ssp-nochart">{_html.escape(text)}</p>')
