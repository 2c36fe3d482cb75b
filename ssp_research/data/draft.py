"""Draft a codebook (YAML) from an export's metadata: ``ssp codebook draft FILE``.

SPSS files carry variable labels, value labels, user-defined missing values (codes and
ranges), display formats (dates, times) and multiple-response sets; this module turns them
into a codebook skeleton in the format of ``docs/codebook_format.md`` that
:func:`ssp_research.data.codebook.load_codebook` accepts. CSV, Excel and Parquet exports give
a draft from the data alone (names, types, ranges). A researcher then checks the items, adds
English labels, reverse scoring, batteries, scales and indicators.

How each kind of variable is drafted:

=================================  ==========================================================
SPSS variable                      item in the draft
=================================  ==========================================================
numeric with value labels          ``ordinal`` with the labelled codes (codes seen in the data
                                   but not labelled are added, labelled by their number)
numeric, no labels                 ``numeric`` with the observed ``range``
user-missing codes / ranges        ``missing: [98, 99]`` / ``missing: [[-999, 0]]``
string (with or without labels)    ``text`` (codebook codes are numbers: string value labels
                                   and string missing values are listed under ``notes``)
date, datetime (DATE, ADATE ...)   ``date`` (cleaned to datetime64)
time of day (TIME, DTIME)          ``text`` (HH:MM:SS)
multiple dichotomy set             ``binary`` items, ``battery: <set name>``
multiple category set              its items keep their type, ``battery: <set name>``
role columns (Kjønn, År, Skole)    ``columns:`` by :mod:`ssp_research.data.roles`; value
                                   labels of gender/grade/school become ``groups:``
=================================  ==========================================================
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ssp_research.data import roles as _roles

__all__ = ["draft_codebook"]

_DATE_FORMATS = re.compile(r"^(DATE|ADATE|EDATE|JDATE|SDATE|DATETIME|YMDHMS|DATETIME\d)",
                           re.IGNORECASE)
_TIME_FORMATS = re.compile(r"^(TIME|DTIME|MTIME)", re.IGNORECASE)
_STR_GROUP_ROLES = ("municipality", "district", "school", "class")


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _key(f: float) -> int | float:
    return int(f) if f.is_integer() else f


def _missing_spec(spec: list) -> tuple[list, list[str]]:
    """User-missing values as codebook ``missing`` entries (codes, then [lo, hi] ranges) and
    the string missing values (which a codebook cannot hold)."""
    codes: set[float] = set()
    ranges: list[list] = []
    text: list[str] = []
    for m in spec:
        if isinstance(m, (tuple, list)) and len(m) == 2:
            lo, hi = _num(m[0]), _num(m[1])
            if lo is None or hi is None:
                text.append(f"{m[0]}-{m[1]}")
            elif lo.is_integer() and hi.is_integer() and 0 <= hi - lo <= 20:
                codes.update(float(v) for v in range(int(lo), int(hi) + 1))
            else:
                ranges.append([_key(lo), _key(hi)])
        elif _num(m) is not None:
            codes.add(float(m))
        else:
            text.append(str(m))
    return [_key(c) for c in sorted(codes)] + ranges, text


def _kind(s: pd.Series, fmt: str) -> str:
    """``date``, ``time``, ``numeric`` or ``text`` from the SPSS format and the values."""
    if _DATE_FORMATS.match(fmt) or pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    if _TIME_FORMATS.match(fmt):
        return "time"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    values = s.dropna()
    if len(values) and values.map(lambda v: isinstance(v, (_dt.date, _dt.datetime))).all():
        return "date"
    return "text"


def _numeric(x: pd.Series) -> dict[str, Any]:
    """A numeric item with the observed range of its (non-missing) values."""
    out: dict[str, Any] = {"type": "numeric"}
    if len(x):
        out["range"] = [float(x.min()), float(x.max())]
    return out


def _role_group(role: str, labels: dict) -> dict | None:
    """A ``groups:`` entry for a role column's numeric value labels (gender, grade, school)."""
    nums = {k: _num(k) for k in labels}
    if not labels or any(v is None for v in nums.values()):
        return None
    if role == "gender":
        return _roles.gender_group(labels)
    if role == "grade":
        grades = {_key(nums[k]): _roles.grade_of_label(v) for k, v in labels.items()}
        if all(g is not None for g in grades.values()) and any(
                g != c for c, g in grades.items()):
            return {"codes": grades}
        return None
    if role in _STR_GROUP_ROLES:
        return {"codes": {_key(nums[k]): str(v) for k, v in sorted(labels.items(),
                                                                    key=lambda kv: nums[kv[0]])}}
    return None


def draft_codebook(survey: Any, *, instrument: str | None = None,
                   sheet: str | int | None = None, header_row: int | None = None) -> str:
    """Draft a codebook (YAML text) from an export's labels, missing values and types.

    Parameters
    ----------
    survey : SurveyFile or path
        A file read by :func:`ssp_research.data.io.read_survey` (or a path to one).
    instrument : str, optional
        Instrument name; default the file stem.
    sheet, header_row : optional
        Passed to :func:`~ssp_research.data.io.read_survey` when ``survey`` is a path
        (Excel sheet; the row of the column names).

    Returns
    -------
    str
        YAML that :func:`load_codebook` accepts: role columns recognised by their (Norwegian)
        names (:mod:`ssp_research.data.roles`), with ``groups`` from their value labels
        (Kjønn 1 = Gutt -> boy); one item per other variable as in the module's table. The
        most common set of user-missing codes becomes ``missing_codes`` (items with another
        set list their own). ``notes`` lists what the draft could not express (string value
        labels, string missing values, multiple-response sets). Review it: scales,
        indicators and English labels are left for you to add.

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.data.io import SurveyFile
    >>> sf = SurveyFile(pd.DataFrame({"Kjønn": [1, 2], "q1": [1, 99]}), {"path": "x.sav"},
    ...     {"variable_labels": {"q1": "Trives du?"}, "value_labels": {"q1": {1: "Ja", 2: "Nei"},
    ...      "Kjønn": {1: "Gutt", 2: "Jente"}}, "user_missing": {"q1": [99]}})
    >>> text = draft_codebook(sf)
    >>> print(text.split("items:")[1].rstrip())
    <BLANKLINE>
      q1:
        label: {nb: 'Trives du?', en: 'Trives du?'}
        type: ordinal
        codes:
          1: {nb: Ja, en: Ja}
          2: {nb: Nei, en: Nei}
    >>> print(text.split("columns:")[1].split("missing_codes:")[0].strip())
    {gender: Kjønn}
    groups:
      gender:
        codes: {1: boy, 2: girl}
        labels:
          boy: {nb: Gutt, en: Boy}
          girl: {nb: Jente, en: Girl}
    """
    if not hasattr(survey, "data"):
        from ssp_research.data.io import read_survey

        survey = read_survey(survey, sheet=sheet, header_row=header_row)
    df, meta = survey.data, survey.meta or {}
    vlab, vals, umiss, fmts, mrsets = (meta.get(k) or {} for k in (
        "variable_labels", "value_labels", "user_missing", "formats", "multi_response"))
    columns = _roles.find_role_columns(df.columns)
    role_cols = set(columns.values())
    notes: list[str] = []
    groups: dict[str, Any] = {}
    for role, col in columns.items():
        group = _role_group(role, vals.get(col) or {})
        if group:
            groups[role] = group
        elif vals.get(col):
            notes.append(f"{col}: the value labels of this {role} column "
                         f"{ {str(k): str(v) for k, v in vals[col].items()} } were not made "
                         f"a group (codes are numbers; gender labels are Gutt/Jente ...)")
    missing: dict[str, list] = {}
    for c in df.columns:
        missing[str(c)], text_missing = _missing_spec(umiss.get(c, []))
        if text_missing:
            notes.append(f"{c}: string user-missing value(s) {text_missing} are kept as text")
    sets = [tuple(m) for c, m in missing.items()
            if m and c not in role_cols and all(not isinstance(x, list) for x in m)]
    default = list(max(set(sets), key=sets.count)) if sets else []
    default_labels: dict[Any, str] = {}
    for c in df.columns:
        for code, text in (vals.get(c) or {}).items():
            f = _num(code)
            if f is not None and _key(f) in default:
                default_labels.setdefault(_key(f), str(text))
    battery_of: dict[str, tuple[str, dict]] = {}
    for set_name, spec in mrsets.items():
        kind = "dichotomy" if spec.get("is_dichotomy") else "category"
        members = list(spec.get("variable_list") or [])
        notes.append(f"multiple-response set {set_name!r} ({kind}"
                     + (f", counted value {spec.get('counted_value')}" if kind == "dichotomy"
                        else "") + f"): {', '.join(members)}; its numeric items have battery: "
                     f"{set_name}" + (f"; label: {spec['label']}" if spec.get("label") else ""))
        for m in members:
            battery_of[m] = (str(set_name), spec)
    items: dict[str, Any] = {}
    for col in df.columns:
        if col in role_cols:
            continue
        name, s = str(col), df[col]
        label = str(vlab.get(col) or name)
        miss = missing[name]
        miss_codes = {float(m) for m in miss if not isinstance(m, list)}
        ranges = [m for m in miss if isinstance(m, list)]

        def is_missing(f: float, miss_codes=miss_codes, ranges=ranges) -> bool:
            return f in miss_codes or any(lo <= f <= hi for lo, hi in ranges)

        entry: dict[str, Any] = {"label": {"nb": label, "en": label}}
        kind = _kind(s, str(fmts.get(col, "")))
        labels = vals.get(col) or {}
        in_set = battery_of.get(name)
        if kind == "numeric" and in_set and in_set[1].get("is_dichotomy") and _num(
                in_set[1].get("counted_value")) is not None:
            counted = _num(in_set[1]["counted_value"])
            seen = {float(v) for v in s.dropna().unique() if not is_missing(float(v))}
            codes = {_key(counted): {"nb": "Valgt", "en": "Selected"}}
            for other in sorted(seen - {counted}):
                codes[_key(other)] = {"nb": "Ikke valgt", "en": "Not selected"}
            entry.update(type="binary", codes=dict(sorted(codes.items())))
        elif kind == "numeric" and labels and all(_num(k) is not None for k in labels):
            codes = {_key(float(k)): {"nb": str(v), "en": str(v)}
                     for k, v in sorted(labels.items(), key=lambda kv: float(kv[0]))
                     if not is_missing(float(k))}
            seen = s.dropna()
            seen = seen[~seen.map(lambda v: is_missing(float(v)))]
            extra = sorted({float(v) for v in seen.unique()} - {float(k) for k in codes})
            if codes and all(float(v).is_integer() for v in extra):
                for v in extra:
                    codes[_key(v)] = {"nb": str(_key(v)), "en": str(_key(v))}
                if extra:
                    notes.append(f"{name}: codes {[_key(v) for v in extra]} are in the data "
                                 f"without a value label; drafted with their number as label")
                entry.update(type="ordinal", codes=dict(sorted(codes.items())))
            else:
                entry.update(_numeric(seen))
                shown = {_key(float(k)): str(v) for k, v in labels.items()}
                notes.append(f"{name}: value labels {shown} kept out: " + (
                    "they label missing codes only" if not codes else
                    "the values are not (only) labelled codes"))
        elif kind == "numeric":
            x = s[~s.isna()]
            entry.update(_numeric(x[~x.map(lambda v: is_missing(float(v)))]))
            fmt = str(fmts.get(col, ""))
            if re.match(r"^(QYR|MOYR|WKYR|MONTH|WKDAY)", fmt, re.IGNORECASE):
                notes.append(f"{name}: SPSS format {fmt} is read as a number (seconds since "
                             "1582-10-14 for QYR/MOYR/WKYR)")
        elif kind == "date":
            entry["type"] = "date"
        else:
            entry["type"] = "text"
            if kind == "time":
                notes.append(f"{name}: a time of day, kept as text (HH:MM:SS)")
            if labels:
                notes.append(f"{name}: string variable with value labels "
                             f"{ {str(k): str(v) for k, v in labels.items()} }: kept as text "
                             "(codebook codes are numbers)")
        if in_set and entry["type"] in ("numeric", "ordinal", "binary", "nominal"):
            entry["battery"] = in_set[0]
        if entry["type"] in ("numeric", "ordinal", "binary") and miss != default:
            entry["missing"] = miss
        items[name] = entry
    stem = Path(str(survey.provenance.get("path", "draft"))).stem
    doc: dict[str, Any] = {
        "instrument": instrument or stem, "title": {"nb": "UTKAST", "en": "DRAFT"},
        "version": "draft", "source": f"drafted from {survey.provenance.get('path')}",
        "strict": False, "columns": columns}
    if groups:
        doc["groups"] = groups
    doc["missing_codes"] = {m: default_labels.get(m, "missing") for m in default}
    doc["items"] = items
    head = ("# Drafted by `ssp codebook draft`: check every item, translate the English\n"
            "# labels, set reverse/battery, and add scales and indicators.\n")
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=None,
                          width=100)
    if notes:  # one note a line
        body += yaml.safe_dump({"notes": notes}, allow_unicode=True, default_flow_style=False,
                               width=100)
    return head + body
