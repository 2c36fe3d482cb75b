"""Figures for briefs and studies: one colour-blind-safe seaborn theme, Axes in, Axes out.

Every function takes a (protected) table first, names columns by keyword, accepts ``ax=None``
(a new figure is made) and returns the Axes. Nothing is random (no jitter), so the same
table draws the same figure. Every function sets an **alt text**: a plain-language
description of what the figure shows, in the figure's language, read with :func:`alt_text`.

Alt text in notebooks and briefs
--------------------------------
Use :func:`show` instead of ``plt.show()`` in a notebook: it displays the figure as a PNG
whose output metadata carries the alt text, ``output.metadata["image/png"]["alt"]`` (and the
same text as the output's ``text/plain``), then closes the figure. The brief exporter
(``report``) reads that key to write ``<img alt="...">``. The theme, alt-text and display
helpers live in :mod:`ssp_research.brief.theme`.

Colours: the Okabe-Ito palette (safe for the common colour-vision deficiencies). The unit
is blue (``UNIT_COLOR``), its comparison orange (``COMPARISON_COLOR``); suppressed cells are
never drawn, only marked with their marker (``*``) and "ikke vist" / "not shown".

Examples
--------
>>> import pandas as pd
>>> from ssp_research.brief.theme import alt_text, set_theme
>>> set_theme()
>>> t = pd.DataFrame({"indicator": ["lonely", "close_friend"], "estimate": [0.18, 0.9],
...                   "ci_low": [0.14, 0.87], "ci_high": [0.22, 0.93],
...                   "cmp_estimate": [0.12, 0.89], "cmp_ci_low": [0.11, 0.88],
...                   "cmp_ci_high": [0.13, 0.90]})
>>> ax = indicator_comparison(t, lang="en", unit_name="Midtbyen", comparison_name="Trondheim")
>>> alt_text(ax).split(":")[0]
'Dot chart'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ssp_research.brief.language import TEXTS, _check_lang, format_percent, indicator_label, text
from ssp_research.brief.narrate import _trend_frame, is_significant
from ssp_research.brief.theme import (
    COMPARISON_COLOR,
    OTHER_COLOR,
    PALETTE,
    SUPPRESSED_COLOR,
    UNIT_COLOR,
    new_figure,
    set_alt_text,
)
from ssp_research.core.errors import DataError, ParameterError

__all__ = ["indicator_comparison", "trend", "gap", "school_variation"]

# --- helpers ---------------------------------------------------------------------------------


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:  # a pyplot figure, or a detached one inside theme.rendering()
        ax = new_figure(figsize, layout="constrained").add_subplot()
    return ax


def _need(table: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(
            f"{what} needs the column(s) {missing}",
            column=", ".join(missing),
            rule=f"{what} table contract",
            hint="pass the (protected) table as returned by the estimator or indicator stage",
        )


def _suppressed_mask(table: pd.DataFrame) -> np.ndarray:
    """Rows not drawn: suppressed, or without an estimate."""
    return _privacy_mask(table) | table["estimate"].isna().to_numpy()


def _privacy_mask(table: pd.DataFrame) -> np.ndarray:
    """Rows suppressed by disclosure control (as opposed to simply missing)."""
    if "suppressed" not in table.columns:
        return np.zeros(len(table), dtype=bool)
    return table["suppressed"].fillna(False).astype(bool).to_numpy()


def _schools(n: int, lang: str) -> str:
    if lang == "nb":
        return f"{n} skole" if n == 1 else f"{n} skoler"
    return f"{n} school" if n == 1 else f"{n} schools"


def _hidden_text(privacy: bool, lang: str) -> str:
    return text("not_shown" if privacy else "no_data", lang)


def _percent_axis(ax: Axes, axis: str, lang: str) -> None:
    fmt = FuncFormatter(lambda v, _pos: format_percent(v, lang))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _share_top(highs) -> float:
    """The top of a share axis that fits the data with room above it: 100 % when the data
    reach above 75 %, else the highest upper bound plus a fifth (at least 5 %)."""
    top = float(np.nanmax(np.r_[np.asarray(highs, dtype=float), 0.0]))
    return 1.0 if top > 0.75 else max(0.05, min(1.0, top * 1.2))


def _marker(row) -> str:
    value = row.get("marker") if hasattr(row, "get") else None
    return str(value) if isinstance(value, str) and value else "*"


def _latest(table: pd.DataFrame) -> pd.DataFrame:
    if "wave" in table.columns and len(table):
        return table[table["wave"] == table["wave"].max()]
    return table


def _errorbar(ax, x, y, lo, hi, *, horizontal: bool, **kw):
    x, lo, hi = (np.asarray(v, dtype=float) for v in (x, lo, hi))
    err = np.vstack([x - lo, hi - x])
    if horizontal:
        return ax.errorbar(x, y, xerr=err, linestyle="none", capsize=3, **kw)
    return ax.errorbar(y, x, yerr=err, linestyle="none", capsize=3, **kw)


def _group_label(by: str, level, codebook, lang: str) -> str:
    level_s = str(level)
    if level_s in ("girl", "boy"):
        return text(level_s, lang)
    if by == "grade":
        return f"{level_s}. trinn" if lang == "nb" else f"Grade {level_s}"
    item = (getattr(codebook, "items", None) or {}).get(by)
    codes = getattr(item, "codes", None) or {}
    try:
        code = float(level)
    except (TypeError, ValueError):
        code = None
    if code is not None and code in codes:  # an item's code: "2 For det meste dårlig råd"
        return f"{int(code) if code.is_integer() else code} {codes[code].get(lang, '')}".strip()
    if codebook is not None and hasattr(codebook, "label"):
        return codebook.label(level_s, lang)
    return level_s


# --- figures ---------------------------------------------------------------------------------


def indicator_comparison(
    table: pd.DataFrame,
    *,
    codebook=None,
    lang: str = "nb",
    unit_name: str | None = None,
    comparison_name: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Unit vs comparison per indicator: points with 95 % CI whiskers (dot-and-whisker chart).

    Parameters
    ----------
    table : DataFrame
        Protected indicator table (``indicator, estimate, ci_low, ci_high`` and, when there
        is a comparison, ``cmp_estimate, cmp_ci_low, cmp_ci_high``; ``suppressed``, ``marker``
        optional). Only the latest ``wave`` is drawn.
    codebook : Codebook, optional
        Indicator labels.
    lang : {"nb", "en"}
    unit_name, comparison_name : str, optional
        Legend names.
    ax : Axes, optional

    Returns
    -------
    Axes
        Indicators top to bottom in table order; the unit as blue circles (first errorbar
        container), the comparison as orange diamonds (second), each whisker spanning the
        CI. A suppressed unit value is not drawn: its row shows the marker and "ikke vist" /
        "not shown" at the comparison's position.
    """
    _check_lang(lang)
    _need(table, ["indicator", "estimate", "ci_low", "ci_high"], "indicator_comparison")
    t = _latest(table).reset_index(drop=True)
    unit = unit_name or text("unit", lang).capitalize()
    cmp_ = comparison_name or text("comparison", lang)
    ax = _axes(ax, (7, 0.55 * len(t) + 1.4))
    y = -np.arange(len(t), dtype=float)
    hidden = _suppressed_mask(t)
    has_cmp = "cmp_estimate" in t.columns and t["cmp_estimate"].notna().any()
    off = 0.14 if has_cmp else 0.0
    shown = ~hidden
    _errorbar(ax, t.loc[shown, "estimate"], y[shown] + off, t.loc[shown, "ci_low"],
              t.loc[shown, "ci_high"], horizontal=True, fmt="o", color=UNIT_COLOR,
              label=unit, zorder=3)  # fmt: skip
    if has_cmp:
        c = t["cmp_estimate"].notna().to_numpy()
        lo = t["cmp_ci_low"] if "cmp_ci_low" in t.columns else t["cmp_estimate"]
        hi = t["cmp_ci_high"] if "cmp_ci_high" in t.columns else t["cmp_estimate"]
        _errorbar(ax, t.loc[c, "cmp_estimate"], y[c] - off, lo[c], hi[c], horizontal=True,
                  fmt="D", color=COMPARISON_COLOR, label=cmp_, markersize=5, zorder=2)  # fmt: skip
    xmax = float(np.nanmax(np.r_[t["ci_high"].to_numpy(float), 0.1,
                                 t.get("cmp_ci_high", t["ci_high"]).to_numpy(float)]))  # fmt: skip
    privacy = _privacy_mask(t)
    for i in np.flatnonzero(hidden):
        x_at = t["cmp_estimate"].iloc[i] if has_cmp and pd.notna(t["cmp_estimate"].iloc[i]) else 0
        mark = f"{_marker(t.iloc[i])} " if privacy[i] else ""
        ax.annotate(f"{mark}{_hidden_text(privacy[i], lang)}", (x_at, y[i] + off),
                    xytext=(6, 0), textcoords="offset points", va="center", fontsize=9,
                    color=SUPPRESSED_COLOR,
                    gid="suppressed" if privacy[i] else "no_data")  # fmt: skip
    labels = [indicator_label(str(n), codebook, lang) for n in t["indicator"]]
    ax.set_yticks(y, labels)
    ax.set_ylim(y.min() - 0.6 if len(y) else -0.6, 0.6)
    ax.set_xlim(0, min(1.0, xmax * 1.1 + 0.02))
    _percent_axis(ax, "x", lang)
    ax.set_xlabel(text("share", lang) + " (" + text("ci", lang) + ")")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)

    parts = []
    for i, r in t.iterrows():
        label = labels[i]
        if hidden[i]:
            parts.append(f"{label}: {_hidden_text(privacy[i], lang).lower()}")
            continue
        est = format_percent(r["estimate"], lang)
        if has_cmp and pd.notna(r.get("cmp_estimate")):
            word = (" (sikker forskjell)" if lang == "nb" else " (clear difference)") if (
                is_significant(r)) else ""
            sep = " mot " if lang == "nb" else " vs "
            parts.append(f"{label}: {est}{sep}{format_percent(r['cmp_estimate'], lang)}{word}")
        else:
            parts.append(f"{label}: {est}")
    if lang == "nb":
        head = (f"Punktdiagram: andel for {len(t)} indikatorer i {unit} (blå sirkler)"
                + (f" og {cmp_} (oransje ruter)" if has_cmp else "")
                + ", med 95 % konfidensintervall. ")  # fmt: skip
    else:
        head = (f"Dot chart: share for {len(t)} indicators in {unit} (blue circles)"
                + (f" and {cmp_} (orange diamonds)" if has_cmp else "")
                + ", with 95% confidence intervals. ")  # fmt: skip
    set_alt_text(ax, head + "; ".join(parts) + ".")
    return ax


def trend(
    trend_table: pd.DataFrame,
    *,
    x: str = "wave",
    series: str | None = None,
    series_labels: dict | None = None,
    indicator: str | None = None,
    codebook=None,
    lang: str = "nb",
    percent: bool = True,
    quantity: str = "observed",
    ylabel: str | None = None,
    colors: dict | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Lines over waves with 95 % CI bands, one per series (unit, comparison), breaks marked.

    Parameters
    ----------
    trend_table : DataFrame
        Rows per wave (and series): ``wave, estimate, ci_low, ci_high``; optional
        ``indicator`` (filtered with ``indicator=``), ``series_break`` (bool, True on the first
        wave of a new series), ``suppressed``.
    x : str
        The wave column.
    series : str, optional
        Column naming the series (e.g. ``"unit"``); the first series seen is drawn blue, the
        second orange, and so on. None: one series.
    series_labels : dict, optional
        Display names of the series values.
    indicator : str, optional
        Which indicator to draw when the table has several.
    percent : bool
        Estimates are proportions (y axis in %); False for means.
    quantity : str
        For the long output of ``effects.trend`` (a ``quantity`` column): which per-wave rows
        to draw, "observed" (design-based prevalence) or "prevalence" (model-predicted).
        Concatenate the unit's and the comparison's outputs with a series column.
    ylabel : str, optional
        The y-axis label (default: the indicator's label, else "Andel"/"Share").
    colors : dict, optional
        ``{series value: colour}``, so that the unit is blue and its comparison orange in
        every brief (default: the palette in order of appearance).

    Returns
    -------
    Axes
        One line (with circle markers, gaps at suppressed waves) and one CI band
        (``PolyCollection``) per series; a dashed vertical line (gid ``series_break``) halfway
        before each break wave.
    """
    _check_lang(lang)
    t = _trend_frame(trend_table, quantity)
    _need(t, [x, "estimate", "ci_low", "ci_high"], "trend")
    if "indicator" in t.columns:
        names = list(dict.fromkeys(t["indicator"].astype(str)))
        if indicator is None and len(names) > 1:
            raise ParameterError(
                f"the trend table has {len(names)} indicators",
                rule="one indicator per trend figure",
                hint=f"pass indicator=, one of {names}",
            )
        indicator = indicator or (names[0] if names else None)
        t = t[t["indicator"].astype(str) == indicator]
    if len(t) == 0:
        raise DataError("no rows to draw", rule="trend table", hint="check indicator=")
    ax = _axes(ax, (7, 3.6))
    t = t.sort_values(x).copy()
    hidden = _suppressed_mask(t)
    t["_privacy"] = _privacy_mask(t)
    t.loc[hidden, ["estimate", "ci_low", "ci_high"]] = np.nan
    groups = [(None, t)] if series is None else list(t.groupby(series, sort=False))
    labels = series_labels or {}
    descr = []
    for i, (key, g) in enumerate(groups):
        color = (colors or {}).get(key, PALETTE[i % len(PALETTE)])
        name = labels.get(key, str(key)) if key is not None else None
        ax.plot(g[x], g["estimate"], marker="o", color=color, label=name)
        ax.fill_between(g[x].to_numpy(float), g["ci_low"].to_numpy(float),
                        g["ci_high"].to_numpy(float), color=color, alpha=0.2,
                        linewidth=0)  # fmt: skip
        fmt = (lambda v: format_percent(v, lang)) if percent else (lambda v: f"{v:.2f}")
        pts = ", ".join(
            f"{int(w)}: {fmt(e) if pd.notna(e) else _hidden_text(p, lang).lower()}"
            for w, e, p in zip(g[x], g["estimate"], g["_privacy"])
        )
        descr.append(f"{name}: {pts}" if name else pts)
    breaks = []
    if "series_break" in t.columns:
        waves = np.sort(t[x].unique())
        for w in np.sort(t.loc[t["series_break"].fillna(False).astype(bool), x].unique()):
            before = waves[waves < w]
            pos = (before.max() + w) / 2 if len(before) else w
            ax.axvline(pos, color="0.3", linestyle="--", linewidth=1, gid="series_break",
                       label=text("series_break", lang) if not breaks else None)  # fmt: skip
            breaks.append(int(w))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xticks(np.sort(t[x].unique()))
    if percent:
        _percent_axis(ax, "y", lang)
        ax.set_ylim(0, _share_top(t["ci_high"]))
    ax.set_xlabel(text("wave", lang))
    label = indicator_label(indicator, codebook, lang) if indicator else (ylabel or "")
    ax.set_ylabel(ylabel or label or text("share", lang))
    if series is not None or breaks:
        ax.legend(frameon=False)
    if lang == "nb":
        head = f"Linjediagram over tid{' for ' + label if label else ''}, med 95 % konfidensbånd. "
        tail = f" Brudd i tidsserien fra {', '.join(map(str, breaks))}." if breaks else ""
    else:
        head = f"Line chart over time{' of ' + label if label else ''}, with 95% confidence bands. "
        tail = f" Series break from {', '.join(map(str, breaks))}." if breaks else ""
    set_alt_text(ax, head + "; ".join(descr) + "." + tail)
    return ax


def gap(
    table: pd.DataFrame,
    *,
    by: str,
    codebook=None,
    lang: str = "nb",
    percent: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Differences between groups (gender, grade, family economy): points with CI whiskers.

    Parameters
    ----------
    table : DataFrame
        Protected by-domain table: ``by`` column, ``estimate, ci_low, ci_high``, optional
        ``indicator`` (one row of dots per indicator) and ``suppressed``/``marker``; or the
        output of ``effects.gaps`` (its ``prevalence`` rows are drawn, ``group`` as ``by``;
        concatenate several indicators' outputs for several rows).
    by : str
        The group column; each level gets its own colour (one errorbar container per level,
        in order of appearance). With one indicator the groups are the rows (tick labels,
        indicator as title); with several, one row per indicator with the groups dodged
        vertically and named in a legend. Levels are
        labelled "Jenter"/"Girls", "8. trinn"/"Grade 8", or, when ``by`` is a codebook item
        (``family_economy``), by the code and its label.

    Returns
    -------
    Axes
    """
    _check_lang(lang)
    t = table
    if "quantity" in t.columns:  # effects.gaps output: draw the per-group prevalences
        t = t[t["quantity"] == "prevalence"]
        if by not in t.columns and "group" in t.columns:
            t = t.drop(columns=["by"], errors="ignore").rename(columns={"group": by})
        if "indicator" not in t.columns and "variable" in t.columns:
            t = t.assign(indicator=t["variable"].astype(str).str.removeprefix("ind_"))
    _need(t, [by, "estimate", "ci_low", "ci_high"], "gap")
    t = _latest(t).reset_index(drop=True)
    if "indicator" not in t.columns:
        t = t.assign(indicator="")
    names = list(dict.fromkeys(t["indicator"].astype(str)))
    levels = list(dict.fromkeys(t[by]))
    single = len(names) == 1  # one indicator: the groups are the rows, no legend needed
    ax = _axes(ax, (7, 0.35 * len(names) * max(len(levels), 2) + 1.4))
    hidden = _suppressed_mask(t)
    privacy = _privacy_mask(t)
    step = 0.7 / max(len(levels), 1)
    row_y = {n: -float(i) for i, n in enumerate(names)}
    descr = []
    for j, level in enumerate(levels):
        label = _group_label(by, level, codebook, lang)
        sel = (t[by] == level).to_numpy()
        if single:
            y = np.full(len(t), -float(j))
        else:
            y = np.array([row_y[str(n)] for n in t["indicator"]]) + 0.35 - step * (j + 0.5)
        ok = sel & ~hidden
        _errorbar(ax, t.loc[ok, "estimate"], y[ok], t.loc[ok, "ci_low"], t.loc[ok, "ci_high"],
                  horizontal=True, fmt="o", color=PALETTE[j % len(PALETTE)],
                  label=label)  # fmt: skip
        for i in np.flatnonzero(sel & hidden):
            mark = f"{_marker(t.iloc[i])} " if privacy[i] else ""
            ax.annotate(f"{mark}{label}: {_hidden_text(privacy[i], lang)}", (0, y[i]),
                        xytext=(4, 0), textcoords="offset points", va="center", fontsize=8,
                        color=SUPPRESSED_COLOR,
                        gid="suppressed" if privacy[i] else "no_data")  # fmt: skip
        fmt = (lambda v: format_percent(v, lang)) if percent else (lambda v: f"{v:.2f}")
        vals = [fmt(e) if not h else _hidden_text(p, lang).lower()
                for e, h, p in zip(t.loc[sel, "estimate"], hidden[sel], privacy[sel])]  # fmt: skip
        descr.append(f"{label}: {', '.join(vals)}")
    ticks = [indicator_label(n, codebook, lang) if n else "" for n in names]
    if single:
        ax.set_yticks(-np.arange(len(levels), dtype=float),
                      [_group_label(by, lv, codebook, lang) for lv in levels])  # fmt: skip
        ax.set_ylim(-len(levels) + 0.5, 0.5)
        if ticks[0]:
            ax.set_title(ticks[0], loc="left", fontsize="medium")
    else:
        ax.set_yticks(list(row_y.values()), ticks)
        ax.set_ylim(-len(names) + 0.5, 0.5)
        # one row of groups when their labels are short; long ones ("Verken god eller
        # dårlig") stacked, so that the legend never reaches beyond the figure
        labels = [_group_label(by, lv, codebook, lang) for lv in levels]
        ncol = min(len(levels), 3) if sum(map(len, labels)) <= 32 else 1
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=ncol,
                  frameon=False)  # fmt: skip
    if percent:
        _percent_axis(ax, "x", lang)
        ax.set_xlim(0, _share_top(t.loc[~hidden, "ci_high"]))
    ax.grid(axis="y", visible=False)
    by_label = text(by, lang) if by in TEXTS else by
    what = ", ".join(ticks) if any(ticks) else ""
    what = what + " " if what else ""
    if lang == "nb":
        head = f"Punktdiagram: {what}etter {by_label.lower()}, med 95 % konfidensintervall. "
    else:
        head = f"Dot chart: {what}by {by_label.lower()}, with 95% confidence intervals. "
    set_alt_text(ax, head + "; ".join(descr) + ".")
    return ax


def school_variation(
    table: pd.DataFrame,
    *,
    school: str = "school",
    comparison: float | None = None,
    highlight: str | None = None,
    lang: str = "nb",
    percent: bool = True,
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Caterpillar plot: school estimates with 95 % CIs, sorted, against a reference line.

    Parameters
    ----------
    table : DataFrame
        One row per school: ``school`` column, ``estimate, ci_low, ci_high``,
        optional ``suppressed``/``marker``.
    comparison : float, optional
        The municipality's estimate, drawn as a dashed vertical line (gid ``comparison``).
    highlight : str, optional
        A school drawn in the unit colour (blue), the others light grey; without it all
        schools are blue.
    label : str, optional
        Axis label (what the estimate is).

    Returns
    -------
    Axes
        Shown schools sorted by estimate (lowest at the bottom): CIs as one ``LineCollection``
        (gid ``ci``), estimates as one scatter (gid ``estimate``); suppressed schools are not
        drawn and are counted in one note (gid ``suppressed``).
    """
    _check_lang(lang)
    _need(table, [school, "estimate", "ci_low", "ci_high"], "school_variation")
    t = _latest(table).reset_index(drop=True)
    hidden = _suppressed_mask(t)
    s = t[~hidden].sort_values(["estimate", school], kind="stable").reset_index(drop=True)
    ax = _axes(ax, (7, 0.28 * len(s) + 1.6))
    y = np.arange(len(s), dtype=float)
    other = UNIT_COLOR if highlight is None else OTHER_COLOR
    colors = [UNIT_COLOR if name == highlight else other for name in s[school]]
    ax.hlines(y, s["ci_low"], s["ci_high"], colors=colors, linewidth=1.4, gid="ci")
    ax.scatter(s["estimate"], y, c=colors, s=18, zorder=3, gid="estimate")
    ax.set_yticks(y, s[school].astype(str))
    ax.tick_params(axis="y", labelsize=8)
    fmt = (lambda v: format_percent(v, lang)) if percent else (lambda v: f"{v:.2f}")
    if comparison is not None:
        ax.axvline(comparison, color=COMPARISON_COLOR, linestyle="--", gid="comparison")
    n_hidden = int(_privacy_mask(t).sum())
    n_empty = int(hidden.sum()) - n_hidden
    notes = []
    if n_hidden:
        notes.append(f"* {_schools(n_hidden, lang)} ikke vist (personvern)" if lang == "nb"
                     else f"* {_schools(n_hidden, lang)} not shown (privacy)")  # fmt: skip
    if n_empty:
        notes.append(f"{_schools(n_empty, lang)} uten tall" if lang == "nb"
                     else f"{_schools(n_empty, lang)} without a figure")  # fmt: skip
    if notes:
        note = "; ".join(notes)
        ax.annotate(note, (0, 1), xycoords="axes fraction", xytext=(0, 4),
                    textcoords="offset points", va="bottom", fontsize=8,
                    color=SUPPRESSED_COLOR, gid="suppressed")  # fmt: skip
    if percent:
        _percent_axis(ax, "x", lang)
    ax.set_xlabel(label or text("share", lang))
    ax.grid(axis="y", visible=False)
    if len(s):
        lo, hi = fmt(s["estimate"].min()), fmt(s["estimate"].max())
    else:
        lo = hi = "–"
    if lang == "nb":
        alt = (f"Rangert punktdiagram (larvediagram) for {len(s)} skoler med 95 % "
               f"konfidensintervall; skoleandelene går fra {lo} til {hi}.")
        if comparison is not None:
            alt += f" Stiplet linje: kommunen, {fmt(comparison)}."
        if n_hidden:
            alt += f" {_schools(n_hidden, lang)} er ikke vist av personvernhensyn."
        if n_empty:
            alt += f" {_schools(n_empty, lang)} har ikke tall."
    else:
        alt = (f"Ranked dot chart (caterpillar plot) of {len(s)} schools with 95% confidence "
               f"intervals; school values range from {lo} to {hi}.")
        if comparison is not None:
            alt += f" Dashed line: the municipality, {fmt(comparison)}."
        if n_hidden:
            alt += (f" {_schools(n_hidden, lang)} {'is' if n_hidden == 1 else 'are'} not shown"
                    " to protect privacy.")
        if n_empty:
            alt += (f" {_schools(n_empty, lang)} {'has' if n_empty == 1 else 'have'}"
                    " no figure.")
    set_alt_text(ax, alt)
    return ax
