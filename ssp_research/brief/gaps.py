"""The evidence brief's differences between groups: gender, grade and family economy.

Every number is a cell of the brief's protected publication (see :func:`gap_table`); the figure is
:func:`ssp_research.brief.plots.gap`. Part of the brief (:mod:`ssp_research.brief.content`), called
from the template as ``gaps.show_gaps(b, "gender")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ssp_research import disclosure
from ssp_research.brief import exhibits, language, theme
from ssp_research.brief.content import HIDE, Brief
from ssp_research.brief.texts import TEXTS
from ssp_research.core.errors import DisclosureError, ParameterError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["gap_table", "show_gaps", "gaps_figure"]

_ECONOMY_ORDER = ("poor", "middle", "good")
_GAP_STATS = ["estimate", "se", "ci_low", "ci_high", "df", "n", "count"]
_STATUS = ["suppressed", "reason", "marker"]


def gap_table(b: Brief, by: str) -> pd.DataFrame:
    """Protected shares of every indicator in the unit and wave by ``by`` (and "all").

    Parameters
    ----------
    b : Brief
    by : {"gender", "grade", "family_economy"}
        Family economy is grouped as hard up (1-2), middle (3) and well off (4-5).

    Returns
    -------
    DataFrame
        ``indicator``, the group column (``gender``, ``grade`` or ``economy_group``; "all"
        for the unit's total), ``estimate, se, ci_low, ci_high, df, n, count, suppressed,
        reason, marker``.

    Notes
    -----
    Every row **is** a cell of the protected publication (:attr:`Brief.full_publication`):
    estimate, ``n`` and status come from the same cell, so a pooled (``pool > 1``) or
    standardised brief shows the pooled/standardised cell whose suppression was decided,
    never a single-wave value under a pooled status. A row whose ``n`` differs from its
    publication cell's ``n`` is refused (DisclosureError).

    Family economy is a breakdown of the same protection (:func:`with_economy_group`), so
    its groups never reveal a total or a gender/grade cell hidden elsewhere. The size of a
    family-economy group is itself a survey answer (the hard-up group's size is the
    ``poor_economy`` count), so ``n`` and ``count`` are NaN on every family-economy group
    row, and a unit's groups are shown only when its ``poor_economy`` total is shown in the
    publication for that wave; without a publication that holds family-economy rows (national
    briefs without ``publication_path``, older batches) every group is hidden.
    """
    if by not in ("gender", "grade", "family_economy"):
        raise ParameterError(f"unknown gap {by!r}", rule="gender, grade or family_economy")
    col = "economy_group" if by == "family_economy" else by
    names = [n for n in b.indicator_names if not (col == "economy_group" and
                                                   n == "poor_economy")]
    pub = b.full_publication
    if pub is None:
        if col == "economy_group":  # no joint protection: nothing of the groups is shown
            return _hidden_economy(names)
        return _own_gap_table(b, col, names)
    level, name = b.publication_key
    mine = pub[(pub["level"] == level) & (pub["unit"] == name) & (pub["wave"] == b.wave)]
    total = mine[(mine["gender"] == "all") & (mine["grade"] == "all")]
    if col == "economy_group":
        econ = b.cache.get("economy_rows")
        if econ is None:
            return _hidden_economy(names, total)
        groups = econ[(econ["level"] == level) & (econ["unit"] == name)
                      & (econ["wave"] == b.wave)]
    else:
        other = "grade" if col == "gender" else "gender"
        groups = mine[(mine[other] == "all") & (mine[col] != "all")]
    rows = pd.concat([total.assign(**{col: "all"}), groups], ignore_index=True)
    rows = rows[rows["indicator"].isin(names)]
    window = ["pooled_from"] if "pooled_from" in rows.columns else []
    table = rows[["indicator", col, *window, *_GAP_STATS, *_STATUS]].copy()
    table[col] = table[col].astype(str)
    order = {n: i for i, n in enumerate(names)}
    table = table.sort_values(["indicator", col], key=lambda s: s.map(order) if
                              s.name == "indicator" else s.ne("all"), kind="stable")
    table = table.reset_index(drop=True)
    _check_cells(table, rows.reset_index(drop=True).set_index(["indicator", col]), col)
    table["suppressed"] = table["suppressed"].astype(bool)
    if col == "economy_group":
        grp = (table[col] != "all").to_numpy()
        poor = total[total["indicator"] == "poor_economy"]
        if poor.empty or bool(poor["suppressed"].iloc[0]):  # the groups' sizes are not public
            hide = grp & ~table["suppressed"].to_numpy()
            table.loc[hide, "suppressed"] = True
            table.loc[hide, "reason"] = "secondary"
            table.loc[hide, "marker"] = disclosure.MARK_SUPPRESSED
        table.loc[grp, ["n", "count"]] = np.nan  # a group's size is a survey answer
    table.loc[table["suppressed"].to_numpy(), HIDE] = np.nan
    table["cell"] = b.cell_keys(table.assign(wave=b.wave))
    return table.drop(columns=window)


def _check_cells(table: pd.DataFrame, cells: pd.DataFrame, col: str) -> None:
    """Refuse a gap row whose n is not the n of the publication cell whose status it uses.

    (Family-economy rows carry no n in the publication: a group's size is an answer.)
    """
    if col == "economy_group":
        return
    idx = pd.MultiIndex.from_frame(table[["indicator", col]])
    pub_n = cells["n"].reindex(idx).to_numpy(dtype=float)
    own_n = table["n"].to_numpy(dtype=float)
    bad = ~np.isclose(own_n, pub_n) | np.isnan(pub_n)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DisclosureError(
            f"gap row {table['indicator'].iloc[i]!r} / {table[col].iloc[i]!r} has n="
            f"{own_n[i]:g} but its publication cell has n={pub_n[i]:g}", row=i, column="n",
            rule="a shown value and its suppression status come from the same cell",
            hint="take the row from the protected publication (same pooling and waves)")


def _hidden_economy(names: list[str], total: pd.DataFrame | None = None) -> pd.DataFrame:
    """Family-economy groups, all hidden (no joint protection); totals from the publication."""
    rows = [{"indicator": n, "economy_group": g, "suppressed": True, "reason": "secondary",
             "marker": disclosure.MARK_SUPPRESSED} for n in names for g in _ECONOMY_ORDER]
    groups = pd.DataFrame(rows).reindex(columns=["indicator", "economy_group", *_GAP_STATS,
                                                 *_STATUS])
    if total is None or total.empty:
        return groups
    tot = total[total["indicator"].isin(names)].assign(economy_group="all")
    tot = tot[["indicator", "economy_group", *_GAP_STATS, *_STATUS]]
    out = pd.concat([tot, groups], ignore_index=True)
    out["suppressed"] = out["suppressed"].astype(bool)
    out.loc[out["suppressed"].to_numpy(), HIDE] = np.nan
    return out


def _own_gap_table(b: Brief, col: str, names: list[str]) -> pd.DataFrame:
    """National brief without a publication: the unit's gender/grade table, protected alone."""
    sub = b.design.subset(b.unit_mask & (b.data["wave"] == b.wave).to_numpy())
    cols = [b.codebook.indicator_column(n) for n in names]
    by_rows = sub.proportion(cols, by=[col])
    by_rows[col] = by_rows[col].astype(str)
    total = sub.proportion(cols).assign(**{col: "all"})
    table = pd.concat([total, by_rows], ignore_index=True)
    table = table.rename(columns={"variable": "indicator"})
    table["indicator"] = table["indicator"].str.removeprefix("ind_")
    table = table[["indicator", col, *_GAP_STATS]]
    return disclosure.protect(table, b.rules, series_by=())


def _group_label(b: Brief, by: str, value: str) -> str:
    return TEXTS[b.lang].get(value, value)


def show_gaps(b: Brief, by: str) -> None:
    """Show the figure of the gaps by ``by`` (the groups of :func:`gap_table`): titled and
    captioned, with its numbers folded under it; one sentence instead when every group's
    value is hidden."""
    from IPython.display import display

    T = TEXTS[b.lang]
    rows = _group_rows(b, by)
    by_label = language.text(by, b.lang).lower()
    if rows["suppressed"].astype(bool).all():
        display(exhibits.no_chart_html(b, by_label))
        return
    fmt = dict(by=by_label, unit=b.unit, period=b.period())
    data = exhibits.share_columns(b, rows).assign(
        group=[_display_label(b, by, v) for v in rows[_column(by)]])
    labels = {"indicator": T["indicator"], "group": T["group"], "estimate": T["estimate"],
              "ci": T["ci"]}
    theme.show_rendered(lambda: gaps_figure(b, by, rows=rows),
                        title=T["fig_gaps"].format(**fmt), caption=T["fig_gaps_cap"],
                        alt=T["fig_gaps_alt"].format(**fmt),
                        data_html=exhibits.figure_data_html(b, data, list(labels), labels,
                                                            numeric=["ci"]))


def _column(by: str) -> str:
    return "economy_group" if by == "family_economy" else by


def _display_label(b: Brief, by: str, value) -> str:
    """A group as readers name it: "9. trinn", "Jenter"; codes (1.0, "2") through the
    codebook's value labels, never as "1.0"."""
    if by == "grade":
        return f"{int(value)}. trinn" if b.lang == "nb" else f"Grade {int(value)}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    key = str(value)
    if by == "family_economy":
        return _group_label(b, by, key)
    codes = {str(k): v for k, v in
             ((b.codebook.groups.get(by) or {}).get("codes") or {}).items()}
    key = str(codes.get(key, key))  # a raw code: its name ("girl")
    label = b.codebook.label(key, b.lang)
    if label != key:
        return label
    try:
        return language.text(key, b.lang)
    except ParameterError:  # a value with no label anywhere is shown as it is
        return key


def _group_rows(b: Brief, by: str) -> pd.DataFrame:
    """The groups of :func:`gap_table` (not "all"), in display order, indicators labelled."""
    t = gap_table(b, by)
    col = _column(by)
    g = t[t[col] != "all"].copy()
    if col == "economy_group":
        order = {"poor": 0, "middle": 1, "good": 2}
        g = g.sort_values(col, key=lambda s: s.map(order), kind="stable")
    elif col == "grade":
        g[col] = g[col].astype(int)
    g["indicator"] = [b.label(n) for n in g["indicator"]]
    return g


def gaps_figure(b: Brief, by: str, *, rows: pd.DataFrame | None = None) -> Figure:
    """The figure of :func:`show_gaps` (drawn inside
    :func:`~ssp_research.brief.theme.rendering`); ``rows``: :func:`_group_rows` when
    already computed."""
    from ssp_research.brief import plots

    g = (_group_rows(b, by) if rows is None else rows).copy()
    col = _column(by)
    if col == "economy_group":
        g[col] = [_group_label(b, by, v) for v in g[col]]
    return plots.gap(g, by=col, codebook=b.codebook, lang=b.lang).figure
