"""Language of the briefs: number formats and short texts, in Bokmål (nb) and English (en).

Numbers follow the language: Bokmål ``12,3 %`` and ``1 234`` (no-break spaces, decimal comma),
English ``12.3%`` and ``1,234``. Rounding is half up (12.25 -> 12.3), as readers expect.
:mod:`ssp_research.brief.narrate` re-exports the formatters; import them from either.

Examples
--------
>>> format_percent(0.1234, "nb", decimals=1)
'12,3\\xa0%'
>>> format_percent(0.1234, "en", decimals=1)
'12.3%'
>>> format_number(1234, "nb"), format_number(1234, "en")
('1\\xa0234', '1,234')
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from ssp_research.core.errors import ParameterError

__all__ = [
    "NBSP",
    "lix",
    "LANGS",
    "TEXTS",
    "format_number",
    "format_difference",
    "MINUS",
    "format_percent",
    "format_points",
    "format_ci",
    "text",
    "indicator_label",
]

MINUS = "\u2212"  # the minus sign of typeset numbers
NBSP = "\u00a0"
LANGS = ("nb", "en")

#: Short texts used in briefs and figures, by key, in Bokmål and English.
TEXTS: dict[str, dict[str, str]] = {
    "headline_findings": {"nb": "Hovedfunn", "en": "Key findings"},
    "goals": {"nb": "Mål i strategien", "en": "Goals of the strategy"},
    "indicators": {"nb": "Indikatorer", "en": "Indicators"},
    "trends": {"nb": "Utvikling over tid", "en": "Trends over time"},
    "gaps": {"nb": "Forskjeller mellom grupper", "en": "Differences between groups"},
    "school_variation": {"nb": "Variasjon mellom skoler", "en": "Variation between schools"},
    "unmeasured": {"nb": "Ikke målt i undersøkelsen", "en": "Not measured by the survey"},
    "would_measure": {"nb": "Dette kan måles med", "en": "What would measure it"},
    "not_shown": {"nb": "Ikke vist (personvern)", "en": "Not shown (privacy)"},
    "no_data": {"nb": "Ingen tall", "en": "No figure"},
    "about_data": {"nb": "Om tallene", "en": "About the figures"},
    "method": {"nb": "Metode", "en": "Method"},
    "series_break": {"nb": "Brudd i tidsserien", "en": "Series break"},
    "significant": {"nb": "sikker forskjell", "en": "clear difference"},
    "not_significant": {"nb": "ingen sikker forskjell", "en": "no clear difference"},
    "share": {"nb": "Andel", "en": "Share"},
    "ci": {"nb": "95 % konfidensintervall", "en": "95% confidence interval"},
    "n": {"nb": "Antall svar", "en": "Number of answers"},
    "comparison": {"nb": "Sammenligning", "en": "Comparison"},
    "wave": {"nb": "År", "en": "Year"},
    "grade": {"nb": "Trinn", "en": "Grade"},
    "gender": {"nb": "Kjønn", "en": "Gender"},
    "girl": {"nb": "Jenter", "en": "Girls"},
    "boy": {"nb": "Gutter", "en": "Boys"},
    "family_economy": {"nb": "Familiens økonomi", "en": "Family economy"},
    "economy_group": {"nb": "Familiens økonomi", "en": "Family economy"},
    "school": {"nb": "Skole", "en": "School"},
    "unit": {"nb": "enheten", "en": "the unit"},
    "comparison_unit": {"nb": "sammenligningsgrunnlaget", "en": "the comparison"},
}

# Verb phrases per indicator: "rel" after "Andelen som" / "The share who" and after
# "9 av 10 elever" / "9 in 10 pupils". A risk is never written as its complement (a strength).
_PHRASES: dict[str, dict[str, dict[str, str]]] = {
    "lonely": {
        "nb": {"rel": "føler seg ensomme"},
        "en": {"rel": "feel lonely"},
    },
    "depressive": {
        "nb": {
            "rel": "har mange depressive symptomer",
        },
        "en": {
            "rel": "have many depressive symptoms",
        },
    },
    "bullied": {
        "nb": {"rel": "blir mobbet"},
        "en": {"rel": "are bullied"},
    },
    "close_friend": {
        "nb": {"rel": "har en venn de kan stole på"},
        "en": {"rel": "have a friend they can trust"},
    },
    "thriving": {"nb": {"rel": "trives på skolen"}, "en": {"rel": "thrive at school"}},
    "local_env": {
        "nb": {"rel": "er fornøyd med lokalmiljøet"},
        "en": {"rel": "are satisfied with their local environment"},
    },
    "inactive": {
        "nb": {"rel": "er fysisk inaktive"},
        "en": {"rel": "are physically inactive"},
    },
    "screen_4h": {
        "nb": {"rel": "bruker over fire timer på skjerm daglig"},
        "en": {"rel": "spend over four hours a day on screens"},
    },
    "poor_economy": {
        "nb": {"rel": "sier familien har dårlig råd"},
        "en": {"rel": "say their family is badly off"},
    },
    "good_health": {
        "nb": {"rel": "vurderer helsen sin som god"},
        "en": {"rel": "rate their health as good"},
    },
}
# Nouns for lists in running text ("For ensomhet og mobbing er det ingen sikker forskjell").
_NOUNS: dict[str, dict[str, str]] = {
    "lonely": {"nb": "ensomhet", "en": "loneliness"},
    "depressive": {"nb": "depressive symptomer", "en": "depressive symptoms"},
    "bullied": {"nb": "mobbing", "en": "bullying"},
    "close_friend": {"nb": "fortrolig venn", "en": "having a close friend"},
    "thriving": {"nb": "skoletrivsel", "en": "thriving at school"},
    "local_env": {"nb": "tilfredshet med lokalmiljøet", "en": "satisfaction with the local area"},
    "inactive": {"nb": "fysisk inaktivitet", "en": "physical inactivity"},
    "screen_4h": {"nb": "skjermtid over fire timer", "en": "screen time over four hours"},
    "poor_economy": {"nb": "dårlig råd i familien", "en": "families being badly off"},
    "good_health": {"nb": "god egenvurdert helse", "en": "good self-rated health"},
    "school_climate": {"nb": "skolemiljø", "en": "school climate"},
}
# Labels of the standard indicators, used when no codebook is given (as in the ungdata codebook).
_LABELS: dict[str, dict[str, str]] = {
    "lonely": {"nb": "Ensomhet", "en": "Loneliness"},
    "depressive": {"nb": "Høyt nivå av depressive symptomer", "en": "High depressive symptoms"},
    "bullied": {"nb": "Utsatt for mobbing", "en": "Bullied"},
    "close_friend": {"nb": "Har fortrolig venn", "en": "Has a close friend"},
    "thriving": {"nb": "Trives på skolen", "en": "Thrives at school"},
    "local_env": {"nb": "Fornøyd med lokalmiljøet", "en": "Satisfied with the local area"},
    "inactive": {"nb": "Fysisk inaktive", "en": "Physically inactive"},
    "screen_4h": {"nb": "Skjermtid over 4 timer", "en": "Screen time over 4 hours"},
    "poor_economy": {"nb": "Dårlig råd i familien", "en": "Family badly off"},
    "good_health": {"nb": "God egenvurdert helse", "en": "Good self-rated health"},
    "school_climate": {"nb": "Skolemiljø", "en": "School climate"},
}
_STRENGTH_MIN = 0.70  # a higher-is-better share from which it is written as a strength


# --- numbers ------------------------------------------------------------------------------------


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ParameterError(
            f"unknown language {lang!r}", rule="lang is 'nb' or 'en'", hint="use lang='nb'"
        )
    return lang


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or bool(pd.isna(x))


def _round(x: float, decimals: int) -> Decimal:
    """Round half up (as readers expect: 12.25 -> 12.3), via the shortest repr of ``x``."""
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def format_number(x, lang: str = "nb", decimals: int = 0) -> str:
    """Format a number with the language's separators.

    Parameters
    ----------
    x : float or int
        The number (NaN/None gives an en dash "–").
    lang : {"nb", "en"}
    decimals : int
        Digits after the decimal mark.

    Returns
    -------
    str
        nb: thousands separated by a no-break space, decimal comma ("1 234,5");
        en: thousands by a comma, decimal point ("1,234.5").

    Examples
    --------
    >>> format_number(1234567, "en"), format_number(2.25, "nb", decimals=1)
    ('1,234,567', '2,3')
    >>> format_number(1234, "nb") == "1" + NBSP + "234"
    True

    Negative numbers get a true minus sign (U+2212), and a number that rounds to zero gets
    none:

    >>> format_number(-1.25, "nb", 1) == MINUS + "1,3", format_number(-0.04, "en", 1)
    (True, '0.0')
    """
    _check_lang(lang)
    if _missing(x):
        return "–"
    rounded = _round(x, decimals)
    text = f"{abs(rounded):,.{decimals}f}"
    if lang == "nb":
        text = text.replace(",", NBSP).replace(".", ",")
    return MINUS + text if rounded < 0 else text


def format_difference(diff, low, high, lang: str = "nb", decimals: int = 1) -> str:
    """A difference in percentage points with its 95 % interval, ``"1,9 (0,9 til 2,8)"``.

    One decimal by default; when the interval excludes 0 (a clear difference) but a bound
    would show as 0 at that precision, more decimals are used (up to three), so a clear
    difference never shows a bound of "0,0".

    Examples
    --------
    >>> format_difference(0.0161, 0.0004, 0.0318, "en")
    '1.61 (0.04 to 3.18)'
    >>> format_difference(-0.004, -0.018, 0.009, "nb") == MINUS + "0,4 (" + MINUS + "1,8 til 0,9)"
    True
    """
    if _missing(diff) or _missing(low) or _missing(high):
        return ""
    sure = low > 0 or high < 0
    d = decimals
    while sure and d < 3 and min(abs(low), abs(high)) * 100 < 0.5 * 10 ** -d:
        d += 1
    to = "til" if lang == "nb" else "to"
    num = [format_number(100 * float(v), lang, d) for v in (diff, low, high)]
    return f"{num[0]} ({num[1]} {to} {num[2]})"


def format_percent(x, lang: str = "nb", decimals: int = 0) -> str:
    """Format a proportion (0-1) as a percentage.

    Examples
    --------
    >>> format_percent(0.875, "en"), format_percent(0.875, "nb")
    ('88%', '88\\xa0%')
    >>> format_percent(float("nan"), "en")
    '–'
    """
    _check_lang(lang)
    if _missing(x):
        return "–"
    number = format_number(100 * float(x), lang, decimals)
    return f"{number}{NBSP}%" if lang == "nb" else f"{number}%"


def format_points(x, lang: str = "nb", decimals: int = 0) -> str:
    """Format a difference of proportions (0-1 scale) in percentage points.

    Examples
    --------
    >>> format_points(0.052, "en"), format_points(-0.052, "nb", decimals=1)
    ('5 percentage points', '\u22125,2 prosentpoeng')
    """
    _check_lang(lang)
    unit = "prosentpoeng" if lang == "nb" else "percentage points"
    return f"{format_number(100 * float(x), lang, decimals)} {unit}"


def format_ci(low, high, lang: str = "nb", decimals: int = 0, percent: bool = True) -> str:
    """Format a confidence interval as a range ("10–14 %" / "10–14%").

    Examples
    --------
    >>> format_ci(0.101, 0.143, "nb", decimals=1) == "10,1–14,3" + NBSP + "%"
    True
    >>> format_ci(0.101, 0.143, "en"), format_ci(2.5, 3.25, "en", 1, percent=False)
    ('10–14%', '2.5–3.3')
    """
    _check_lang(lang)
    if _missing(low) or _missing(high):
        return "–"
    if not percent:
        return f"{format_number(low, lang, decimals)}–{format_number(high, lang, decimals)}"
    lo = format_number(100 * float(low), lang, decimals)
    hi = format_number(100 * float(high), lang, decimals)
    return f"{lo}–{hi}{NBSP}%" if lang == "nb" else f"{lo}–{hi}%"


def text(key: str, lang: str = "nb") -> str:
    """A short text (section label, legend word) from :data:`TEXTS`.

    Examples
    --------
    >>> text("headline_findings", "nb"), text("headline_findings", "en")
    ('Hovedfunn', 'Key findings')
    """
    _check_lang(lang)
    if key not in TEXTS:
        raise ParameterError(
            f"unknown text key {key!r}", rule="keys of narrate.TEXTS",
            hint="one of " + ", ".join(sorted(TEXTS)),
        )  # fmt: skip
    return TEXTS[key][lang]


# --- words for indicators ----------------------------------------------------------------------


def indicator_label(name: str, codebook=None, lang: str = "nb") -> str:
    """The label of an indicator: ``codebook.indicators[name].label``, else the built-in label
    of a standard indicator, else the name."""
    _check_lang(lang)
    indicators = getattr(codebook, "indicators", None)
    if indicators is None and isinstance(codebook, Mapping):
        indicators = codebook.get("indicators")
    if indicators and name in indicators:
        entry = indicators[name]
        label = getattr(entry, "label", None)
        if label is None and isinstance(entry, Mapping):
            label = entry.get("label")
        if isinstance(label, Mapping) and label.get(lang):
            return str(label[lang])
        if isinstance(label, str):
            return label
    if name in _LABELS:
        return _LABELS[name][lang]
    return name


def lix(text: str) -> float:
    """The readability index LIX (Björnsson): words per sentence plus the percentage of words
    longer than six letters. Under 40 is easy to read for most adults; 40-50 is ordinary
    public information; over 50 is hard.

    Numbers and symbols are not words; a sentence ends at ".", "!", "?" or ":" followed by
    a space or the end (a decimal comma or point inside a number does not end one).

    >>> lix("Dette er en kort setning. Den er lett å lese.")  # 10 words, 2 sentences, 1 long
    15.0
    """
    words = re.findall(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", text)
    if not words:
        return 0.0
    sentences = max(1, len(re.findall(r"[.!?:](?=\s|$)", text.strip())))
    long = sum(len(w) > 6 for w in words)
    return len(words) / sentences + 100 * long / len(words)


def _noun(name: str, codebook, lang: str) -> str:
    if name in _NOUNS:
        return _NOUNS[name][lang]
    return _lower_first(indicator_label(name, codebook, lang))


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if len(s) > 1 and not s[1].isupper() else s


def _join(items: list[str], lang: str) -> str:
    word = " og " if lang == "nb" else " and "
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + word + items[-1]


def _subject(name: str, codebook, lang: str) -> tuple[str, str]:
    """("Andelen som føler seg ensomme", ",") - the subject and the comma before the verb."""
    phrase = _PHRASES.get(name, {}).get(lang)
    if phrase:
        if lang == "nb":
            return f"Andelen som {phrase['rel']}", ","
        return f"The share who {phrase['rel']}", ""
    label = indicator_label(name, codebook, lang)
    return (f"Andelen for «{label}»", "") if lang == "nb" else (f"The share for '{label}'", "")


def _fraction(share: float, lang: str) -> str:
    """0.87 -> "nesten 9 av 10" / "almost 9 in 10" (share of pupils, rounded to tenths).

    "nesten alle" / "almost all" only from 97 %; 95-97 % is "drøyt 9 av 10".
    """
    if share >= 0.97:
        return "nesten alle" if lang == "nb" else "almost all"
    k = min(int(_round(10 * share, 0)), 9)
    gap = share - k / 10
    if abs(gap) < 0.015:
        qual = ""
    elif gap < 0:
        qual = "nesten " if lang == "nb" else "almost "
    else:
        qual = "drøyt " if lang == "nb" else "just over "
    return f"{qual}{k} av 10" if lang == "nb" else f"{qual}{k} in 10"
