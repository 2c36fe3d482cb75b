"""Draft a codebook (YAML) from an SPSS export's metadata: ``ssp codebook draft FILE.sav``.

SPSS files carry variable labels, value labels and user-defined missing values; this module
turns them into a codebook skeleton in the format of ``docs/codebook_format.md`` that
:func:`ssp_research.data.codebook.load_codebook` accepts. A researcher then checks the items, adds
English labels, reverse scoring, batteries, scales and indicators.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

__all__ = ["draft_codebook"]

_ROLE_GUESSES = {
    "respondent_id": ("respondent_id", "id", "resp_id", "respid", "elevid", "lopenr"),
    "wave": ("wave", "year", "år", "aar", "undersokelsesar"),
    "municipality": ("municipality", "kommune", "kommunenavn"),
    "district": ("district", "bydel"),
    "school": ("school", "skole", "skolenavn"),
    "grade": ("grade", "trinn", "klassetrinn"),
    "gender": ("gender", "kjonn", "kjønn", "sex"),
    "birth_year": ("birth_year", "fodselsar", "fødselsår"),
    "weight": ("weight", "vekt"),
    "pilot": ("pilot",),
}


def _missing_codes(spec: list) -> list:
    """User-missing values and small integer ranges as a sorted list of codes."""
    out: set[float] = set()
    for m in spec:
        if isinstance(m, (tuple, list)) and len(m) == 2:
            lo, hi = float(m[0]), float(m[1])
            if lo.is_integer() and hi.is_integer() and 0 <= hi - lo <= 20:
                out.update(float(v) for v in range(int(lo), int(hi) + 1))
        elif isinstance(m, (int, float)):
            out.add(float(m))
    return [int(m) if m.is_integer() else m for m in sorted(out)]


def draft_codebook(survey: Any, *, instrument: str | None = None) -> str:
    """Draft a codebook (YAML text) from an SPSS file's labels and user-missing values.

    Parameters
    ----------
    survey : SurveyFile or path
        A file read by :func:`ssp_research.data.io.read_survey` (or a path to one).
    instrument : str, optional
        Instrument name; default the file stem.

    Returns
    -------
    str
        YAML that :func:`load_codebook` accepts: role columns guessed from common (Norwegian)
        names, one item per other variable (labelled -> ordinal with its codes, user-missing
        -> ``missing``, unlabelled numeric -> numeric with the observed range, strings ->
        text). The most common set of user-missing codes becomes ``missing_codes`` (items
        with another set list their own). Review it: scales, indicators and English labels
        are left for you to add.

    Examples
    --------
    >>> import pandas as pd
    >>> from ssp_research.data.io import SurveyFile
    >>> sf = SurveyFile(pd.DataFrame({"kjonn": [1, 2], "q1": [1, 99]}), {"path": "x.sav"},
    ...     {"variable_labels": {"q1": "Trives du?"}, "value_labels": {"q1": {1: "Ja", 2: "Nei"}},
    ...      "user_missing": {"q1": [99]}})
    >>> print(draft_codebook(sf).split("items:")[1].rstrip())
    <BLANKLINE>
      q1:
        label: {nb: 'Trives du?', en: 'Trives du?'}
        type: ordinal
        codes:
          1: {nb: Ja, en: Ja}
          2: {nb: Nei, en: Nei}
    >>> print(draft_codebook(sf).split("missing_codes:")[1].split("items:")[0].strip())
    {99: missing}
    """
    if not hasattr(survey, "data"):
        from ssp_research.data.io import read_survey

        survey = read_survey(survey)
    df, meta = survey.data, survey.meta or {}
    vlab, vals, umiss = (meta.get(k) or {} for k in
                         ("variable_labels", "value_labels", "user_missing"))
    lower = {str(c).lower(): c for c in df.columns}
    columns = {}
    for role, guesses in _ROLE_GUESSES.items():
        for g in guesses:
            if g in lower and lower[g] not in columns.values():
                columns[role] = str(lower[g])
                break
    missing = {str(c): _missing_codes(umiss.get(c, [])) for c in df.columns}
    sets = [tuple(m) for c, m in missing.items() if m and c not in columns.values()]
    default = list(max(set(sets), key=sets.count)) if sets else []
    labels: dict[Any, str] = {}
    for c in df.columns:
        for code, text in (vals.get(c) or {}).items():
            if float(code) in default:
                labels.setdefault(int(code) if float(code).is_integer() else code, str(text))
    items: dict[str, Any] = {}
    for col in df.columns:
        if col in columns.values():
            continue
        name = str(col)
        label = str(vlab.get(col) or name)
        miss = missing[name]
        entry: dict[str, Any] = {"label": {"nb": label, "en": label}}
        if vals.get(col):
            codes = {(int(k) if float(k).is_integer() else float(k)): {"nb": str(v), "en": str(v)}
                     for k, v in sorted(vals[col].items()) if float(k) not in miss}
            entry.update(type="ordinal", codes=codes)
        elif pd.api.types.is_numeric_dtype(df[col]):
            x = df[col][~df[col].isin(miss)].dropna()
            entry["type"] = "numeric"
            if len(x):
                entry["range"] = [float(x.min()), float(x.max())]
        else:
            entry["type"] = "text"
        if miss != default:
            entry["missing"] = miss
        items[name] = entry
    doc = {"instrument": instrument or Path(str(survey.provenance.get("path", "draft"))).stem,
           "title": {"nb": "UTKAST", "en": "DRAFT"}, "version": "draft",
           "source": f"drafted from {survey.provenance.get('path')}", "strict": False,
           "columns": columns,
           "missing_codes": {m: labels.get(m, "missing") for m in default}, "items": items}
    head = ("# Drafted by `ssp codebook draft` from SPSS metadata: check every item, translate\n"
            "# the English labels, set reverse/battery, and add scales and indicators.\n")
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=None,
                          width=100)
    return head + body
