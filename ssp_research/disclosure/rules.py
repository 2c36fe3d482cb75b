"""The limits of a publication and the vocabulary every disclosure module shares.

:class:`Rules` holds all limits in one place (primary, series and secondary suppression);
the markers shown for suppressed cells and series breaks, the statistics that are blanked on
a suppressed row (:data:`HIDDEN`), and :func:`cell_key`, the coordinate that makes 8, 8.0 and
"8" the same grade in every table.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ssp_research.core.errors import DisclosureError

__all__ = ["Rules", "MARK_SUPPRESSED", "MARK_BREAK", "HIDDEN", "VALUE_COLUMNS", "TOTAL",
           "cell_key", "cell_keys"]

MARK_SUPPRESSED = "*"
MARK_BREAK = "⚡"
#: The label of a margin ("all genders", "all grades").
TOTAL = "all"
#: The statistics of an estimator table.
VALUE_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "df", "n", "count", "deff")
#: The statistics of a row that are blanked on suppressed rows (and shown as the marker).
#: The difference columns count too: comparison + difference would give the hidden estimate
#: back (an indicator table carries both).
HIDDEN = ("estimate", "se", "ci_low", "ci_high", "count", "deff", "diff", "diff_se",
          "diff_ci_low", "diff_ci_high", "statistic", "p_value")


def cell_key(value: object) -> str:
    """A hashable, type-tolerant coordinate: 8, 8.0 and "8" are the same grade."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def cell_keys(column: pd.Series) -> np.ndarray:
    """:func:`cell_key` of every value, computed once per distinct value."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return np.array([cell_key(u) for u in uniques], dtype=object)[codes]


@dataclass(frozen=True)
class Rules:
    """The suppression limits of one publication (defaults as the public health profiles).

    Parameters
    ----------
    min_n : int
        Suppress a cell answered by fewer than ``min_n`` respondents (unweighted).
    min_count : int
        Suppress a proportion when fewer than ``min_count`` respondents have the attribute or
        fewer than ``min_count`` do not (so 0 % and 100 % in small groups never appear); also
        the narrowest range a suppressed count may be narrowed to by subtraction.
    weak_n : int
        A cell is *weak* when ``n < weak_n`` (default ``2 * min_n``) or it is suppressed.
        FHI's series rule counts "svake" cells with a per-cube limit that is not public; a
        sample twice the minimum is our documented stand-in (the CI half-width of a 50 % share
        at n = 40 is about 15 points).
    series_weak_share, series_suppressed_share : float
        Suppress a whole time series when more than this share of its cells are weak, or are
        suppressed by the primary rule (FHI: ``anon_svakandel`` 0.5, ``anon_hullandel`` 0.2).
    series_min_length : int
        The series rule applies to series of at least this many waves (a single wave is not a
        series; without this a one-wave brief would suppress every weak cell).

    Examples
    --------
    >>> Rules.from_overrides({"min_n": 30}).min_n
    30
    >>> Rules.from_overrides({"min_nn": 30})
    Traceback (most recent call last):
    ...
    ssp_research.core.errors.DisclosureError: unknown disclosure rule 'min_nn' [rule: valid rules: \
min_n, min_count, weak_n, series_weak_share, series_suppressed_share, series_min_length]
      What to do: fix the spelling in the publication's rule overrides
    """

    min_n: int = 20
    min_count: int = 3
    weak_n: int | None = None
    series_weak_share: float = 0.5
    series_suppressed_share: float = 0.2
    series_min_length: int = 3

    def __post_init__(self) -> None:
        if self.weak_n is None and isinstance(self.min_n, (int, np.integer)):
            object.__setattr__(self, "weak_n", 2 * int(self.min_n))
        for name in ("min_n", "min_count", "weak_n", "series_min_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise DisclosureError(f"rule {name}={value!r} must be a whole number >= 0",
                                      rule=name, hint="give a non-negative integer")
        for name in ("series_weak_share", "series_suppressed_share"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise DisclosureError(f"rule {name}={value!r} must be a share in [0, 1]",
                                      rule=name, hint="give a number between 0 and 1")
        if self.min_n < 1 or self.min_count < 1:
            raise DisclosureError("min_n and min_count must be at least 1", rule="min_n",
                                  hint="a limit of 0 would publish single respondents")

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, object] | None = None) -> Rules:
        """The default rules with a publication's ``overrides`` (unknown keys are errors).

        ``weak_n`` follows ``min_n`` (twice it) unless it is overridden too.
        """
        valid = [f.name for f in dataclasses.fields(cls)]
        overrides = dict(overrides or {})
        for key in overrides:
            if key not in valid:
                raise DisclosureError(f"unknown disclosure rule {key!r}",
                                      rule="valid rules: " + ", ".join(valid),
                                      hint="fix the spelling in the publication's rule overrides")
        return cls(**overrides)

    def as_dict(self) -> dict[str, object]:
        """The rules as a plain dict (for provenance)."""
        return dataclasses.asdict(self)

    def describe(self, lang: str = "nb") -> str:
        """The method-section text of these rules in Bokmål (``"nb"``) or English (``"en"``).

        Examples
        --------
        >>> print(Rules().describe("en").splitlines()[0])
        Small groups are protected (suppression, marked *): a number is not shown when fewer \
than 20 pupils answered, or when fewer than 3 had or did not have the attribute (so 0 % and \
100 % never appear for small groups).
        """
        weak = f"{self.series_weak_share:.0%}"
        hole = f"{self.series_suppressed_share:.0%}"
        if lang == "nb":
            weak, hole = weak.replace("%", " %"), hole.replace("%", " %")
            return (
                f"Små grupper er skjermet (prikking, merket {MARK_SUPPRESSED}): et tall vises "
                f"ikke når færre enn {self.min_n} elever svarte, eller når færre enn "
                f"{self.min_count} hadde eller ikke hadde kjennetegnet (så 0 % og 100 % "
                "vises aldri for små grupper).\n"
                f"En hel tidsserie skjules når mer enn {weak} av tallene bygger på færre enn "
                f"{self.weak_n} svar, eller mer enn {hole} av dem er prikket (serier med minst "
                f"{self.series_min_length} undersøkelsesår).\n"
                "Flere tall skjules der et prikket tall ellers kunne regnes ut eller anslås "
                "nært fra andre publiserte tall (totalen minus guttene gir jentene; by, bydeler "
                "og skoler; alle trinn og hvert trinn), i hele publiseringen samlet; at ingen "
                f"prikket andel kan avgrenses til et spenn på færre enn {self.min_count} elever "
                "er kontrollert med lineær programmering.\n"
                f"{MARK_BREAK} markerer brudd i tidsserien (ikke sammenlignbart med tidligere år)."
            )
        if lang == "en":
            return (
                f"Small groups are protected (suppression, marked {MARK_SUPPRESSED}): a number "
                f"is not shown when fewer than {self.min_n} pupils answered, or when fewer than "
                f"{self.min_count} had or did not have the attribute (so 0 % and 100 % never "
                "appear for small groups).\n"
                f"A whole time series is hidden when more than {weak} of its numbers rest on "
                f"fewer than {self.weak_n} answers, or more than {hole} of them are suppressed "
                f"(series of at least {self.series_min_length} waves).\n"
                "Further numbers are hidden where a suppressed number could otherwise be "
                "computed or closely bounded from other published numbers (the total minus the "
                "boys gives the girls; city, districts and schools; all grades and each grade), "
                "across the whole publication; linear programming checks that no suppressed "
                f"count can be narrowed to a range of fewer than {self.min_count} pupils.\n"
                f"{MARK_BREAK} marks a break in the time series (not comparable with earlier "
                "waves)."
            )
        raise DisclosureError(f"unknown language {lang!r}", rule="lang in {'nb', 'en'}",
                              hint="use 'nb' (Bokmål) or 'en' (English)")
