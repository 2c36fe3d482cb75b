"""Strategy frameworks: a municipality's goals, each mapped to the indicators that speak to it.

A framework is a small YAML file (built-in ones in ``ssp_research/resources/frameworks/``):
the strategy's title and source, and its goals (innsatsområder / målområder), each with its own
wording in Bokmål and English, the survey indicators that measure it, and, where no survey
indicator measures a goal (cross-sector collaboration, say), an ``unmeasured`` text that says
what data *would* measure it. A brief shows such a goal as unmeasured; it never fills the goal
with an unrelated number.

Framework YAML::

    name: trondheim_ssp                 # file stem
    municipality: Trondheim
    title: {nb: "...", en: "..."}
    period: "2024-2027"
    goal_term: {nb: innsatsområde, en: focus area}   # what the strategy calls its goals
    source: {url: "...", document: "...", wording: "what is verbatim, what paraphrased"}
    strength_first: true                # narrate writes strengths first ("9 av 10 ...")
    goals:
      - id: "1"
        title: {nb: "...", en: "..."}
        description: {nb: "...", en: "..."}          # optional
        indicators: [close_friend, lonely]          # codebook indicator (or scale) names
        unmeasured: {nb: "...", en: "..."}           # required when indicators is empty
        wording: verbatim                           # verbatim | issue | paraphrased

Examples
--------
>>> fw = load_framework("lillestrom")
>>> [g.id for g in fw.goals]
['A', 'B', 'C']
>>> fw.goal("C").measured
False
>>> fw.goal("B").title_in("en")
'Quality of relationships'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from ssp_research.core.errors import CodebookError
from ssp_research.core.paths import resource_path

__all__ = ["Goal", "Framework", "load_framework", "list_frameworks", "LANGS"]

LANGS = ("nb", "en")
_TOP_KEYS = {
    "name",
    "municipality",
    "title",
    "period",
    "goal_term",
    "source",
    "strength_first",
    "goals",
}
_REQUIRED_TOP = ("name", "municipality", "title", "goals")
_GOAL_KEYS = {"id", "title", "description", "indicators", "unmeasured", "wording"}
_SOURCE_KEYS = {"url", "document", "wording"}
_WORDINGS = ("verbatim", "issue", "paraphrased")


@dataclass(frozen=True)
class Goal:
    """One goal of a strategy (innsatsområde / målområde).

    Attributes
    ----------
    id : str
        The strategy's own numbering ("1", "A", ...).
    title, description : dict
        ``{"nb": ..., "en": ...}``; ``description`` may be empty.
    indicators : tuple of str
        Codebook indicator (or scale) names that speak to the goal; empty when none does.
    unmeasured : dict or None
        ``{"nb": ..., "en": ...}``: what the survey does not measure and which data would.
    wording : str
        ``verbatim`` (title quoted from the source), ``issue`` (as quoted in the project
        issue, not checked against the source) or ``paraphrased``.
    """

    id: str
    title: dict
    description: dict = field(default_factory=dict)
    indicators: tuple = ()
    unmeasured: dict | None = None
    wording: str = "paraphrased"

    @property
    def measured(self) -> bool:
        """True when at least one survey indicator speaks to the goal."""
        return bool(self.indicators)

    def title_in(self, lang: str = "nb") -> str:
        """The goal's title in ``lang`` ("nb" or "en")."""
        return self.title[_lang(lang)]

    def unmeasured_in(self, lang: str = "nb") -> str | None:
        """What data would measure the goal (or its unmeasured part), in ``lang``; or None."""
        return None if self.unmeasured is None else self.unmeasured[_lang(lang)]


@dataclass(frozen=True)
class Framework:
    """A municipality's strategy framework: title, source and goals.

    Use :func:`load_framework` to read one. ``indicators`` lists every indicator named by
    any goal, in first-seen order.
    """

    name: str
    municipality: str
    title: dict
    goals: tuple
    period: str = ""
    goal_term: dict = field(default_factory=lambda: {"nb": "mål", "en": "goal"})
    source: dict = field(default_factory=dict)
    strength_first: bool = False
    file: str | None = None

    @property
    def indicators(self) -> list[str]:
        """Every indicator named by a goal, unique, in first-seen order."""
        seen: dict[str, None] = {}
        for goal in self.goals:
            for name in goal.indicators:
                seen.setdefault(name, None)
        return list(seen)

    def goal(self, goal_id: str) -> Goal:
        """The goal with this id (``KeyError`` naming the known ids when absent)."""
        for goal in self.goals:
            if goal.id == str(goal_id):
                return goal
        known = ", ".join(g.id for g in self.goals)
        raise KeyError(f"framework {self.name!r} has no goal {goal_id!r} (goals: {known})")

    def goals_for(self, indicator: str) -> list[Goal]:
        """The goals an indicator speaks to."""
        return [g for g in self.goals if indicator in g.indicators]

    def validate_against(self, codebook) -> Framework:
        """Check that every indicator of every goal exists in ``codebook``.

        Parameters
        ----------
        codebook : Codebook, mapping or iterable of str
            A loaded codebook (anything with ``indicators`` and optionally ``scales``, as
            attributes or keys), a codebook name/path (loaded with
            ``ssp_research.data.codebook.load_codebook``), or the allowed names themselves.

        Returns
        -------
        Framework
            ``self``, so that calls chain.

        Raises
        ------
        CodebookError
            For the first goal naming an indicator that is neither an indicator nor a scale
            of the codebook.

        Examples
        --------
        >>> fw = load_framework("lillestrom")
        >>> ok = {"thriving", "school_climate", "good_health", "depressive", "close_friend",
        ...       "lonely", "bullied"}
        >>> fw.validate_against(ok).name
        'lillestrom'
        """
        known = _known_names(codebook)
        for goal in self.goals:
            for name in goal.indicators:
                if name not in known:
                    raise CodebookError(
                        f"goal {goal.id} of framework {self.name!r} names indicator {name!r}, "
                        "which the codebook does not define",
                        file=self.file,
                        column=name,
                        rule="framework indicators must be codebook indicators or scales",
                        hint="use a name from the codebook's 'indicators' (or 'scales'), e.g. "
                        + ", ".join(sorted(known)[:6])
                        + " - or move the goal's data need to 'unmeasured'",
                    )
        return self

    def to_frame(self, lang: str = "nb") -> pd.DataFrame:
        """One row per goal x indicator (one row with ``indicator`` missing for an unmeasured goal).

        Returns
        -------
        DataFrame
            Columns ``goal_id, goal, indicator, measured, unmeasured``.

        Examples
        --------
        >>> load_framework("sandefjord").to_frame("en").groupby("goal_id").size().to_dict()
        {'1': 6, '2': 1, '3': 1}
        """
        rows = []
        for goal in self.goals:
            names = goal.indicators or (None,)
            for name in names:
                rows.append(
                    {
                        "goal_id": goal.id,
                        "goal": goal.title_in(lang),
                        "indicator": name,
                        "measured": goal.measured,
                        "unmeasured": goal.unmeasured_in(lang),
                    }
                )
        columns = ["goal_id", "goal", "indicator", "measured", "unmeasured"]
        return pd.DataFrame(rows, columns=columns)


def list_frameworks() -> list[str]:
    """Names of the built-in frameworks (file stems in ``resources/frameworks``).

    Examples
    --------
    >>> list_frameworks()
    ['lillestrom', 'sandefjord', 'trondheim_ssp']
    """
    return sorted(p.stem for p in resource_path("frameworks").glob("*.yml"))


def load_framework(name_or_path: str | Path) -> Framework:
    """Load and validate a strategy framework.

    Parameters
    ----------
    name_or_path : str or Path
        A built-in name (see :func:`list_frameworks`) or a path to a YAML file.

    Returns
    -------
    Framework

    Raises
    ------
    CodebookError
        Unknown framework, unreadable YAML, unknown or missing keys, a goal without both
        indicators and an ``unmeasured`` text, duplicate goal ids.

    Examples
    --------
    >>> fw = load_framework("trondheim_ssp")
    >>> fw.municipality, len(fw.goals), fw.strength_first
    ('Trondheim', 5, True)
    >>> [g.id for g in fw.goals if not g.measured]
    ['2', '5']
    """
    path = _resolve(name_or_path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"),
                        Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:
        raise CodebookError(
            f"framework file is not valid YAML: {err}",
            file=path,
            rule="YAML syntax",
            hint="fix the indentation/quoting at the line named above",
        ) from err
    return _parse(raw, path)


# --- internals ---------------------------------------------------------------------------------


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    return lang


def _resolve(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if text.endswith((".yml", ".yaml")) or "/" in text or "\\" in text:
        path = Path(text)
        if not path.is_file():
            raise CodebookError(
                "framework file not found",
                file=path,
                hint="check the path, or use a built-in name: " + ", ".join(list_frameworks()),
            )
        return path
    path = resource_path("frameworks", f"{text}.yml")
    if not path.is_file():
        raise CodebookError(
            f"unknown framework {text!r}",
            rule="built-in frameworks: " + ", ".join(list_frameworks()),
            hint="use one of the built-in names or pass the path of your own YAML file",
        )
    return path


def _err(path: Path, message: str, key: str, hint: str) -> CodebookError:
    return CodebookError(message, file=path, column=key, rule="framework format", hint=hint)


def _text(value, path: Path, key: str, required: bool = True) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping) or set(value) != set(LANGS):
        raise _err(
            path,
            f"{key} must give the text in both languages",
            key,
            'write {nb: "...", en: "..."}',
        )
    for lang in LANGS:
        if not isinstance(value[lang], str) or not value[lang].strip():
            raise _err(path, f"{key}.{lang} is empty", key, "write the text in both languages")
    return {lang: value[lang] for lang in LANGS}


def _parse(raw, path: Path) -> Framework:
    if not isinstance(raw, Mapping):
        raise _err(path, "a framework must be a YAML mapping", "<top>", "see frameworks.py")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise _err(
            path,
            f"unknown key(s) {sorted(unknown)}",
            ", ".join(sorted(unknown)),
            "allowed keys: " + ", ".join(sorted(_TOP_KEYS)),
        )
    for key in _REQUIRED_TOP:
        if key not in raw:
            raise _err(path, f"missing key {key!r}", key, f"add '{key}:' to the file")
    source = raw.get("source") or {}
    if not isinstance(source, Mapping) or set(source) - _SOURCE_KEYS:
        raise _err(path, "bad 'source'", "source", "allowed keys: " + ", ".join(_SOURCE_KEYS))
    goals_raw = raw["goals"]
    if not isinstance(goals_raw, list) or not goals_raw:
        raise _err(path, "'goals' must be a non-empty list", "goals", "list the strategy's goals")
    goals = [_parse_goal(g, i, path) for i, g in enumerate(goals_raw)]
    ids = [g.id for g in goals]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise _err(path, f"duplicate goal id(s) {dupes}", "goals.id", "give each goal its own id")
    return Framework(
        name=str(raw["name"]),
        municipality=str(raw["municipality"]),
        title=_text(raw["title"], path, "title"),
        goals=tuple(goals),
        period=str(raw.get("period") or ""),
        goal_term=_text(raw.get("goal_term"), path, "goal_term", required=False)
        or {"nb": "mål", "en": "goal"},
        source=dict(source),
        strength_first=bool(raw.get("strength_first", False)),
        file=str(path),
    )


def _parse_goal(raw, index: int, path: Path) -> Goal:
    where = f"goals[{index}]"
    if not isinstance(raw, Mapping):
        raise _err(path, f"{where} must be a mapping", where, "see frameworks.py")
    unknown = set(raw) - _GOAL_KEYS
    if unknown:
        raise _err(
            path,
            f"unknown key(s) {sorted(unknown)} in {where}",
            where,
            "allowed keys: " + ", ".join(sorted(_GOAL_KEYS)),
        )
    if "id" not in raw or "title" not in raw:
        raise _err(path, f"{where} needs 'id' and 'title'", where, "add them")
    gid = str(raw["id"])
    indicators = raw.get("indicators") or []
    if not isinstance(indicators, list) or not all(isinstance(x, str) for x in indicators):
        raise _err(
            path, f"goal {gid}: 'indicators' must be a list of names", where, "e.g. [lonely]"
        )
    unmeasured = _text(raw.get("unmeasured"), path, f"goal {gid}.unmeasured", required=False)
    if not indicators and not unmeasured:
        raise _err(
            path,
            f"goal {gid} has no indicators and no 'unmeasured' text",
            f"{where}.unmeasured",
            "say what data would measure the goal (never map it to an unrelated indicator)",
        )
    wording = raw.get("wording", "paraphrased")
    if wording not in _WORDINGS:
        raise _err(path, f"goal {gid}: bad wording {wording!r}", where, f"one of {_WORDINGS}")
    return Goal(
        id=gid,
        title=_text(raw["title"], path, f"goal {gid}.title"),
        description=_text(raw.get("description"), path, f"goal {gid}.description", False),
        indicators=tuple(dict.fromkeys(indicators)),
        unmeasured=unmeasured or None,
        wording=wording,
    )


def _names(obj) -> set[str]:
    if obj is None:
        return set()
    if isinstance(obj, Mapping):
        return {str(k) for k in obj}
    if isinstance(obj, str):
        return {obj}
    return {str(x) for x in obj}


def _known_names(codebook) -> set[str]:
    if isinstance(codebook, (str, Path)):
        from ssp_research.data.codebook import load_codebook  # lazy: owned by another stage

        codebook = load_codebook(codebook)
    if isinstance(codebook, Mapping) and "indicators" in codebook:
        return _names(codebook.get("indicators")) | _names(codebook.get("scales"))
    if hasattr(codebook, "indicators"):
        return _names(codebook.indicators) | _names(getattr(codebook, "scales", None))
    if isinstance(codebook, Iterable):
        return _names(codebook)
    raise TypeError(f"cannot read indicator names from {type(codebook).__name__}")
