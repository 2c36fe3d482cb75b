"""Norwegian column names and value labels, mapped to the roles the library expects.

Exports from Norwegian survey tools name their background columns in Norwegian (``Kjønn``,
``År``, ``Skole``, ``Trinn``, ``Klasse``, ``Bydel`` ...) and label their values in Norwegian
(``Gutt``/``Jente``, ``8. trinn``). The rest of the library knows these columns by their
*role* (``gender``, ``wave``, ``school``, ``grade``, ``class``, ``district`` ...), the names of
the tidy data (``docs/codebook_format.md``). This module holds that mapping, documented in
``docs/norwegian_columns.md`` (a test keeps the two in step), and is used by

* :func:`ssp_research.data.draft.draft_codebook`, which writes the role of each recognised
  column into the draft's ``columns:`` and the gender labels into ``groups:``;
* :func:`ssp_research.data.clean.apply`, which finds a role column under a Norwegian name
  when the codebook's own name is absent (logged as ``role_column_found``), reads grades
  written as ``8. trinn`` and genders written as ``Gutt``/``Jente``;
* :func:`ssp_research.analysis.indicators.city_design`, whose error for a missing role
  column suggests the Norwegian column it found.

Names are compared after :func:`normalise_name`: lower case, ``æ ø å`` folded to
``ae o a``, everything but letters and digits removed (``Kjønn`` -> ``kjonn``,
``Fødselsår`` -> ``fodselsar``, ``Elev-ID`` -> ``elevid``).

Examples
--------
>>> role_of_column("Kjønn"), role_of_column("År"), role_of_column("Skolenavn")
('gender', 'wave', 'school')
>>> find_role_columns(["Elevnr", "År", "Skole", "Trinn", "Kjønn", "q1"])
{'respondent_id': 'Elevnr', 'wave': 'År', 'school': 'Skole', 'grade': 'Trinn', 'gender': 'Kjønn'}
>>> gender_of_label("Jente"), grade_of_label("10. trinn")
('girl', 10)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ROLE_NAMES", "GENDER_LABELS", "normalise_name", "role_of_column",
           "find_role_columns", "gender_of_label", "grade_of_label", "gender_group"]

#: role -> column names that play it (normalised, see :func:`normalise_name`), in order of
#: preference: the English role name first, then the Norwegian names seen in exports.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "respondent_id": ("respondentid", "id", "respid", "elevid", "elevnr", "elevnummer",
                      "lopenr", "lopenummer", "responseid"),
    "wave": ("wave", "year", "ar", "aar", "undersokelsesar", "skolear", "skoleaar", "runde"),
    "municipality": ("municipality", "kommune", "kommunenavn", "kommunenr"),
    "district": ("district", "bydel", "bydelsnavn"),
    "school": ("school", "skole", "skolenavn", "skolenr"),
    "grade": ("grade", "trinn", "klassetrinn", "arstrinn", "aarstrinn"),
    "class": ("class", "klasse", "klassenavn", "basisgruppe"),
    "gender": ("gender", "kjonn", "sex", "kjoenn"),
    "birth_year": ("birthyear", "fodselsar", "fodselsaar", "fodt", "fodear"),
    "weight": ("weight", "vekt", "vekting", "vektfaktor"),
    "pilot": ("pilot", "pilotskole"),
}

#: Norwegian (and English) gender labels -> the tidy values of the ``gender`` role.
GENDER_LABELS: dict[str, str] = {
    "gutt": "boy", "gutter": "boy", "mann": "boy", "male": "boy", "boy": "boy", "g": "boy",
    "jente": "girl", "jenter": "girl", "kvinne": "girl", "female": "girl", "girl": "girl",
    "j": "girl",
}

_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u"})
_GRADE = re.compile(r"^\s*(\d{1,2})\s*\.?\s*(?:trinn|klasse|kl\.?|grade|årstrinn)?\s*$",
                    re.IGNORECASE)


def normalise_name(name: Any) -> str:
    """A column name as compared with :data:`ROLE_NAMES`.

    Examples
    --------
    >>> normalise_name(" Kjønn "), normalise_name("Fødselsår"), normalise_name("Elev-ID")
    ('kjonn', 'fodselsar', 'elevid')
    """
    text = unicodedata.normalize("NFC", str(name)).lower().translate(_FOLD)
    return re.sub(r"[^0-9a-z]", "", text)


_BY_NAME = {n: role for role, names in ROLE_NAMES.items() for n in names}


def role_of_column(name: Any) -> str | None:
    """The role a column plays by its name, or None.

    Examples
    --------
    >>> role_of_column("Bydel"), role_of_column("Klasse"), role_of_column("trives")
    ('district', 'class', None)
    """
    return _BY_NAME.get(normalise_name(name))


def find_role_columns(columns: Iterable[Any], roles: Iterable[str] | None = None
                      ) -> dict[str, str]:
    """``{role: column}`` for the columns recognised by name (first match per role).

    Parameters
    ----------
    columns : iterable
        Column names of an export.
    roles : iterable of str, optional
        Look only for these roles (default: all of :data:`ROLE_NAMES`).

    Returns
    -------
    dict
        In the order of :data:`ROLE_NAMES`; a role's preferred name wins over later ones.
    """
    cols = [str(c) for c in columns]
    norm: dict[str, str] = {}
    for c in cols:
        norm.setdefault(normalise_name(c), c)
    out: dict[str, str] = {}
    wanted = set(ROLE_NAMES if roles is None else roles)
    for role, names in ROLE_NAMES.items():
        if role not in wanted:
            continue
        for n in names:
            if n in norm and norm[n] not in out.values():
                out[role] = norm[n]
                break
    return out


def gender_of_label(label: Any) -> str | None:
    """``"boy"``/``"girl"`` for a Norwegian or English gender label, else None.

    Examples
    --------
    >>> gender_of_label("Gutt"), gender_of_label(" JENTE "), gender_of_label("Annet")
    ('boy', 'girl', None)
    """
    return GENDER_LABELS.get(str(label).strip().lower())


def grade_of_label(label: Any) -> int | None:
    """The grade (8, 9, 10 ...) of a label such as ``8. trinn``, ``9.trinn``, ``10``.

    Examples
    --------
    >>> grade_of_label("8. trinn"), grade_of_label("9.trinn"), grade_of_label("10"), \
grade_of_label("VG1")
    (8, 9, 10, None)
    """
    m = _GRADE.match(str(label))
    return int(m.group(1)) if m else None


def gender_group(value_labels: Mapping[Any, Any]) -> dict[str, Any] | None:
    """A codebook ``groups: gender`` entry from SPSS value labels such as {1: Gutt, 2: Jente}.

    Returns None when a label is not a known gender label (the draft then keeps the labels
    as they are and says so).

    Examples
    --------
    >>> gender_group({1: "Gutt", 2: "Jente"})
    {'codes': {1: 'boy', 2: 'girl'}, 'labels': {'boy': {'nb': 'Gutt', 'en': 'Boy'}, \
'girl': {'nb': 'Jente', 'en': 'Girl'}}}
    """
    codes: dict[Any, str] = {}
    labels: dict[str, dict[str, str]] = {}
    for code, text in value_labels.items():
        tidy = gender_of_label(text)
        try:
            num = float(code)
        except (TypeError, ValueError):
            return None
        if tidy is None:
            return None
        codes[int(num) if num.is_integer() else num] = tidy
        labels.setdefault(tidy, {"nb": str(text), "en": tidy.capitalize()})
    return {"codes": codes, "labels": labels} if codes else None
