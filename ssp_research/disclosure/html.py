"""Protected tables as HTML: the contract between the brief stage and ``ssp audit``.

Every published table is a ``<table class="ssp-table">`` (with ``data-ssp-dataset``, the
dataset of its release ledger, when its rows are ledger cells); each data ``<tr>`` carries
``data-ssp-n`` (int: the ``n`` the row shows, 0 where it shows none) and ``data-ssp-status``
(``"shown"`` or ``"suppressed"``) and, where the row is a cell of the release ledger,
``data-ssp-cell`` (its key, which the audit looks up); cells holding statistics are ``<td
class="ssp-value">`` and carry no digit on suppressed rows. A file carries only what its
reader sees: no exact counts, no sizes of groups whose size is an answer. :func:`to_html`
renders this;
:func:`table_html_attrs` gives the row attributes to anyone rendering by hand. Tables that
hold no statistics (provenance) use ``<table class="ssp-meta">``. Any other table with numbers
is an audit finding.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ssp_research.core.errors import DisclosureError
from ssp_research.disclosure.rules import HIDDEN, MARK_SUPPRESSED
from ssp_research.disclosure.rules import cell_key as _key

__all__ = ["table_html_attrs", "to_html"]




def table_html_attrs(row: Mapping[str, object]) -> dict[str, str]:
    """The ``<tr>`` attributes of one protected row (the audit contract).

    Examples
    --------
    >>> table_html_attrs({"n": 25, "count": 5.0, "suppressed": False})
    {'data-ssp-n': '25', 'data-ssp-status': 'shown'}
    >>> table_html_attrs({"n": float("nan"), "suppressed": True,
    ...                   "cell": "lonely|school|A|2025|all|all|poor"})["data-ssp-cell"]
    'lonely|school|A|2025|all|all|poor'
    """
    if "suppressed" not in row:
        raise DisclosureError("row is not protected", column="suppressed",
                              rule="only protected tables are rendered",
                              hint="pass the table through disclosure.protect first")
    suppressed = bool(row["suppressed"])
    n = row.get("n")
    attrs = {"data-ssp-n": _key(n if n is not None and not pd.isna(n) else 0),
             "data-ssp-status": "suppressed" if suppressed else "shown"}
    cell = row.get("cell")
    if isinstance(cell, str) and cell:
        attrs["data-ssp-cell"] = cell
    return attrs


def _format(value: object, col: str, lang: str, proportion: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        if col in ("estimate", "ci_low", "ci_high", "se") and proportion:
            text = f"{100 * value:.1f}"
            return text.replace(".", ",") + " %" if lang == "nb" else text + "%"
        if col in ("n", "count", "df") and float(value).is_integer():
            return str(int(value))
        text = f"{value:.2f}"
        return text.replace(".", ",") if lang == "nb" else text
    return str(value)


def to_html(protected: pd.DataFrame, columns: Sequence[str],
            labels: Mapping[str, str] | None = None, lang: str = "nb", *,
            caption: str | None = None,
            formatters: Mapping[str, Callable[[object], str]] | None = None,
            dataset: str | None = None,
            classes: Mapping[str, Callable[[object], str]] | None = None,
            numeric: Sequence[str] = (), row_header: str | None = None,
            lang_marker: str | None = None) -> str:
    """Render a protected table as ``<table class="ssp-table">`` (the audit contract).

    Parameters
    ----------
    protected : DataFrame
        Output of :func:`ssp_research.disclosure.suppression.protect`.
    columns : sequence of str
        Columns to show, in order. Statistic columns (``estimate, se, ci_low, ci_high, count,
        deff``) become ``<td class="ssp-value">`` and show the marker on suppressed rows.
    labels : dict, optional
        Header text per column.
    lang : str
        ``"nb"`` (decimal comma, ``12,3 %``) or ``"en"`` for the default number format.
    formatters : dict, optional
        ``{column: function(value) -> str}`` replacing the default format.
    dataset : str, optional
        The dataset whose release ledger holds the rows' cells (``data-ssp-dataset``, e.g.
        ``ungdata--trondheim``; :func:`~ssp_research.disclosure.ledger.dataset_id`): the
        audit looks each ``data-ssp-cell`` up in that ledger.
    classes : dict, optional
        ``{column: function(value) -> str}``: a CSS class for a (non-statistic) column's
        cell, e.g. the barometer's ``ssp-bar-worse``.

    numeric : sequence of str
        More columns holding numbers (right-aligned, class ``num``; the statistic columns
        and ``n`` always are).
    row_header : str, optional
        The column that names each row (written as ``<th scope="row">``); default the
        first of ``columns``.
    lang_marker : str, optional
        The marker column's header (default "Merknad" / "Note"; shown to screen readers only).

    Returns
    -------
    str
        The HTML: the table inside ``<div class="ssp-table-wrap">`` (it scrolls on its own
        on a narrow screen, so the page does not), headers with ``scope``, a ``<caption>``
        when one is given (with the exporter's number placeholder, see
        :func:`ssp_research.render.export.number_exhibits`). A last column holds the marker
        (``*``, ``⚡``).

    Examples
    --------
    >>> from ssp_research.disclosure import protect
    >>> t = pd.DataFrame({"variable": "x", "gender": ["all", "girl", "boy"],
    ...                   "estimate": [0.32, 0.0, 0.4], "n": [50, 10, 40], "count": [16, 0, 16]})
    >>> lines = to_html(protect(t, series_by=()), ["gender", "estimate", "n"]).splitlines()
    >>> print(lines[1])  # doctest: +NORMALIZE_WHITESPACE
    <tr data-ssp-n="50" data-ssp-status="shown"><th scope="row">all</th><td
    class="ssp-value num">32,0 %</td><td class="ssp-n num">50</td><td class="ssp-marker"></td></tr>
    >>> print(lines[2])  # doctest: +NORMALIZE_WHITESPACE
    <tr data-ssp-n="10" data-ssp-status="suppressed"><th scope="row">girl</th><td
    class="ssp-value num">*</td><td class="ssp-n num">10</td><td class="ssp-marker">*</td></tr>
    """
    if "suppressed" not in protected.columns:
        raise DisclosureError("refusing to render an unprotected table", column="suppressed",
                              rule="only protected tables are rendered",
                              hint="pass the table through disclosure.protect first")
    missing = [c for c in columns if c not in protected.columns]
    if missing:
        raise DisclosureError(f"columns not in the table: {missing}", column=missing[0],
                              rule="columns to show exist", hint="check the column names")
    labels, formatters = dict(labels or {}), dict(formatters or {})
    proportion = "count" in protected.columns
    esc = html.escape
    numeric = set(numeric) | set(HIDDEN) | {"n"}
    row_header = row_header if row_header is not None else columns[0] if columns else None
    marker_head = lang_marker or ("Merknad" if lang == "nb" else "Note")

    def num(c: str) -> str:
        return " num" if c in numeric and c != row_header else ""

    num_class = ' class="num"'
    head = "".join(f'<th scope="col"{num_class if num(c) else ""}>'
                   f"{esc(str(labels.get(c, c)))}</th>" for c in columns)
    head += f'<th scope="col"><span class="ssp-sr">{esc(marker_head)}</span></th>'
    ds = f' data-ssp-dataset="{esc(dataset)}"' if dataset else ""
    region = (f' role="region" aria-label="{esc(caption)}"' if caption else "")
    parts = [f'<div class="ssp-table-wrap" tabindex="0"{region}>'
             f'<table class="ssp-table"{ds}>'
             + (f'<caption><span class="ssp-num" data-kind="table"></span>{esc(caption)}'
                "</caption>" if caption else "")
             + f"<thead><tr>{head}</tr></thead><tbody>"]
    for row in protected.to_dict("records"):
        attrs = " ".join(f'{k}="{esc(v)}"' for k, v in table_html_attrs(row).items())
        cells = []
        for c in columns:
            value = row[c]
            if c in HIDDEN:
                text = (MARK_SUPPRESSED if row["suppressed"] else
                        formatters[c](value) if c in formatters
                        else _format(value, c, lang, proportion))
                cells.append(f'<td class="ssp-value{num(c)}">{esc(text)}</td>')
                continue
            text = formatters[c](value) if c in formatters else _format(value, c, lang,
                                                                         proportion)
            klass = ("ssp-n" if c == "n" else "") + num(c)
            if classes and c in classes and classes[c](value):
                klass = classes[c](value)
            klass = f' class="{esc(klass.strip())}"' if klass.strip() else ""
            if c == row_header:
                cells.append(f'<th scope="row"{klass}>{esc(text)}</th>')
            else:
                cells.append(f"<td{klass}>{esc(text)}</td>")
        cells.append(f'<td class="ssp-marker">{esc(str(row.get("marker", "")))}</td>')
        parts.append(f"<tr {attrs}>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table></div>")
    return "\n".join(parts)
