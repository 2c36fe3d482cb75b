"""Codebooks: load and validate survey instruments (YAML).

A codebook describes one instrument: items (labels, codes, missing codes, reverse scoring), scales,
indicators with their official cut-offs, wave harmonisation and the roles of the non-item columns.
The format is documented in ``docs/codebook_format.md``. Every problem found on load is a
:class:`~ssp_research.core.errors.CodebookError` naming the file, the YAML line, the key path, the
rule and what to do.

Examples
--------
>>> cb = load_codebook("ungdata")
>>> cb.instrument, cb.indicator_column("lonely"), cb.indicators["lonely"].rule
('ungdata', 'ind_lonely', ('in', (3, 4)))
>>> cb.label("lonely", "en")
'Felt lonely (last week)'
>>> "ungdata" in list_codebooks()
True
"""

from __future__ import annotations

import difflib
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ssp_research.core.errors import CodebookError
from ssp_research.core.paths import resource_path

# libyaml when available (several times faster than the pure-Python parser), same semantics.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = [
    "Item",
    "Scale",
    "Indicator",
    "Codebook",
    "load_codebook",
    "list_codebooks",
    "ITEM_TYPES",
    "RULE_OPERATORS",
]

ITEM_TYPES = ("ordinal", "nominal", "numeric", "binary", "text", "date")
RULE_OPERATORS = ("in", ">=", ">", "<=", "<", "==")
_ROLES = (
    "respondent_id", "wave", "municipality", "district", "school", "class", "grade", "gender",
    "birth_year", "weight", "pilot", "strata", "psu", "fpc",
)
_TOP_KEYS = {
    "instrument": True, "title": False, "version": True, "source": False, "citation": False,
    "strict": False,
    "columns": True, "groups": False, "missing_codes": False, "items": True, "scales": False,
    "indicators": False, "harmonisation": False, "quality": False, "notes": False,
}
_ITEM_KEYS = ("label", "type", "codes", "missing", "reverse", "range", "battery", "required",
              "question", "source")
_SCALE_KEYS = ("label", "items", "method", "min_answered", "source")
_IND_KEYS = ("label", "source_item", "source_scale", "rule", "higher_is_better", "definition",
             "reference", "unit")


def _norm_label(value: Any, fallback: str) -> dict[str, str]:
    """A label as {nb, en}: a plain string is used for both languages."""
    if value is None:
        return {"nb": fallback, "en": fallback}
    if isinstance(value, str):
        return {"nb": value, "en": value}
    out = {str(k): str(v) for k, v in value.items()}
    out.setdefault("nb", out.get("en", fallback))
    out.setdefault("en", out.get("nb", fallback))
    return out


@dataclass(frozen=True)
class Item:
    """One question: its codes (ordered as listed), missing codes and scoring."""

    name: str
    label: dict[str, str]
    type: str = "ordinal"
    codes: dict[float, dict[str, str]] = field(default_factory=dict)
    missing: tuple[float, ...] = ()
    missing_ranges: tuple[tuple[float, float], ...] = ()
    reverse: bool = False
    range: tuple[float, float] | None = None
    battery: str | None = None
    required: bool = True

    @property
    def valid_codes(self) -> np.ndarray:
        """The allowed (non-missing) codes as a float array, in codebook order."""
        return np.array(list(self.codes), dtype="float64")

    @property
    def code_span(self) -> tuple[float, float]:
        """(min, max) of the valid codes, or of ``range`` for numeric items."""
        if self.codes:
            return float(min(self.codes)), float(max(self.codes))
        if self.range is not None:
            return self.range
        raise ValueError(f"item {self.name!r} has neither codes nor range")


@dataclass(frozen=True)
class Scale:
    """A scale score: mean (or prorated sum) of items, NA below ``min_answered``."""

    name: str
    label: dict[str, str]
    items: tuple[str, ...]
    method: str = "mean"
    min_answered: int = 1


@dataclass(frozen=True)
class Indicator:
    """A dichotomised indicator: a rule on an item or a scale (the official cut-off).

    ``rule`` is ``(operator, value)`` with operator one of :data:`RULE_OPERATORS`; for ``in``
    the value is a tuple of codes.
    """

    name: str
    label: dict[str, str]
    rule: tuple[str, Any]
    higher_is_better: bool
    source_item: str | None = None
    source_scale: str | None = None
    definition: str = ""
    reference: str = ""

    @property
    def source(self) -> str:
        """The item or scale column the rule is applied to."""
        return self.source_item or self.source_scale  # type: ignore[return-value]

    def evaluate(self, values: Any) -> np.ndarray:
        """The indicator (float 1.0/0.0, NaN where ``values`` is missing).

        Examples
        --------
        >>> ind = Indicator("x", {"nb": "x", "en": "x"}, (">=", 3.0), False, source_scale="s")
        >>> ind.evaluate([1.0, 3.0, float("nan"), 3.5]).tolist()
        [0.0, 1.0, nan, 1.0]
        """
        x = np.asarray(values, dtype="float64")
        op, ref = self.rule
        if op == "in":
            hit = np.isin(x, np.asarray(ref, dtype="float64"))
        else:
            hit = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal,
                   "<": np.less, "==": np.equal}[op](x, float(ref))
        out = hit.astype("float64")
        out[np.isnan(x)] = np.nan
        return out


@dataclass(frozen=True)
class Codebook:
    """A validated codebook. Build it with :func:`load_codebook`."""

    instrument: str
    version: str
    title: dict[str, str]
    source: str
    strict: bool
    columns: dict[str, str]
    groups: dict[str, dict]
    missing_codes: dict[float, str]
    items: dict[str, Item]
    scales: dict[str, Scale]
    indicators: dict[str, Indicator]
    renames: tuple[dict, ...] = ()
    recodes: tuple[dict, ...] = ()
    breaks: tuple[dict, ...] = ()
    quality: dict = field(default_factory=dict)
    path: str | None = None
    citation: dict[str, str] = field(default_factory=dict)

    def indicator_column(self, name: str) -> str:
        """The tidy-data column of indicator ``name``: ``"ind_" + name``."""
        if name not in self.indicators:
            raise CodebookError(
                f"unknown indicator {name!r}", file=self.path, rule="indicators",
                hint=f"use one of {sorted(self.indicators)}")
        return "ind_" + name

    @property
    def series_breaks(self) -> list[tuple[str, int, dict[str, str]]]:
        """Series breaks as ``(indicator or item, first wave of the new series, note)``."""
        return [(b["indicator"], int(b["wave"]), _norm_label(b.get("note"), ""))
                for b in self.breaks]

    def label(self, name: str, lang: str = "nb") -> str:
        """The label of an item, scale, indicator (name or ``ind_`` column) or group value."""
        key = name[4:] if name.startswith("ind_") and name[4:] in self.indicators else name
        for table in (self.indicators if key != name else {}, self.items, self.scales,
                      self.indicators):
            if key in table:
                return table[key].label.get(lang, key)
        for group in self.groups.values():
            if name in group.get("labels", {}):
                return _norm_label(group["labels"][name], name).get(lang, name)
        if name in self.title:
            return self.title[name]
        return name

    def column(self, role: str) -> str | None:
        """The data column that plays ``role`` (e.g. ``"grade"``), or None."""
        return self.columns.get(role)


class _Checker:
    """Raises CodebookErrors that name the file, the YAML line and the key path."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self._text = text

    @functools.cached_property
    def root(self):
        """The YAML node tree, composed only when an error needs a line number."""
        try:
            return yaml.compose(self._text, Loader=_YAML_LOADER)
        except yaml.YAMLError:  # pragma: no cover - load fails first
            return None

    def _line(self, keypath: tuple) -> int | None:
        node, line = self.root, None
        for key in keypath:
            if not isinstance(node, yaml.MappingNode):
                break
            for k, v in node.value:
                if str(k.value) == str(key):
                    node, line = v, k.start_mark.line + 1
                    break
            else:
                break
        return line

    def fail(self, keypath: tuple, message: str, rule: str, hint: str) -> None:
        where = ".".join(str(k) for k in keypath) or "(top level)"
        raise CodebookError(f"{message} (at {where})", file=self.path, row=self._line(keypath),
                            column=where, rule=rule, hint=hint)

    def mapping(self, value: Any, keypath: tuple) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(keypath, f"expected a mapping, got {type(value).__name__}",
                      "codebook format", "see docs/codebook_format.md for the structure")
        return value

    def keys(self, mapping: dict, allowed, keypath: tuple, required=()) -> None:
        for key in mapping:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), [str(a) for a in allowed], 1)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed: {sorted(allowed)}"
                self.fail(keypath + (key,), f"unknown key {key!r}", "allowed keys", hint)
        for key in required:
            if key not in mapping:
                self.fail(keypath, f"missing required key {key!r}", "required keys",
                          f"add {key!r} (see docs/codebook_format.md)")

    def names(self, mapping: dict, keypath: tuple) -> dict:
        for key in mapping:
            if not isinstance(key, str):
                self.fail(keypath + (key,), f"name {key!r} is read as a {type(key).__name__}",
                          "names are strings", f"quote it: '{key}' (YAML reads yes/no/on/off "
                          "as booleans and digits as numbers)")
        return mapping

    def name_in(self, name: Any, known, keypath: tuple, what: str) -> None:
        if name not in known:
            close = difflib.get_close_matches(str(name), [str(k) for k in known], 1)
            hint = f"did you mean {close[0]!r}?" if close else f"define {what} {name!r} first"
            self.fail(keypath, f"undefined {what} {name!r}", f"{what}s must be defined", hint)


def _code(value: Any, chk: _Checker, keypath: tuple) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        chk.fail(keypath, f"code {value!r} is not a number", "codes are numbers",
                 "write codes as numbers, e.g. 1: {nb: ..., en: ...}")
    if math.isnan(out):
        chk.fail(keypath, "code is NaN", "codes are numbers", "remove the NaN code")
    return int(out) if out.is_integer() else out


def _parse_item(name: str, raw: Any, default_missing: tuple, chk: _Checker) -> Item:
    kp = ("items", name)
    raw = chk.mapping(raw, kp)
    chk.keys(raw, _ITEM_KEYS, kp, required=("label",))
    typ = raw.get("type", "ordinal")
    if typ not in ITEM_TYPES:
        chk.fail(kp + ("type",), f"unknown item type {typ!r}", f"type in {ITEM_TYPES}",
                 "use ordinal, nominal, numeric, binary, text or date")
    codes_raw = chk.mapping(raw.get("codes"), kp + ("codes",))
    codes = {_code(k, chk, kp + ("codes",)): _norm_label(v, str(k)) for k, v in codes_raw.items()}
    if typ in ("ordinal", "nominal", "binary") and not codes:
        chk.fail(kp, f"{typ} item without codes", "categorical items list their codes",
                 "add codes: {1: {nb: ..., en: ...}, ...} or use type: numeric")
    rng = raw.get("range")
    if rng is not None:
        if not (isinstance(rng, list) and len(rng) == 2) or float(rng[0]) > float(rng[1]):
            chk.fail(kp + ("range",), f"bad range {rng!r}", "range: [low, high]",
                     "write the valid range as [low, high] with low <= high")
        rng = (float(rng[0]), float(rng[1]))
    missing = raw.get("missing")
    if missing is None:
        missing = default_missing
    elif not isinstance(missing, list):
        chk.fail(kp + ("missing",), "missing must be a list of codes", "missing: [98, 99]",
                 "write the item's missing codes as a list")
    ranges = []
    for m in missing:
        if isinstance(m, list):
            if len(m) != 2 or _code(m[0], chk, kp + ("missing",)) > _code(m[1], chk, kp + (
                    "missing",)):
                chk.fail(kp + ("missing",), f"bad missing range {m!r}",
                         "a missing range is [low, high] with low <= high",
                         "write e.g. missing: [98, 99, [-999, 0]]")
            ranges.append((float(m[0]), float(m[1])))
    missing = tuple(_code(m, chk, kp + ("missing",)) for m in missing if not isinstance(m, list))
    clash = set(missing) & set(codes)
    clash |= {c for c in codes for lo, hi in ranges if lo <= c <= hi}
    if clash:
        chk.fail(kp + ("missing",), f"codes {sorted(clash)} are both valid and missing",
                 "missing codes differ from valid codes", "remove them from codes or missing")
    reverse = bool(raw.get("reverse", False))
    if reverse and typ not in ("ordinal", "numeric"):
        chk.fail(kp + ("reverse",), f"a {typ} item cannot be reverse-scored",
                 "reverse: only ordinal/numeric", "remove reverse: true")
    if reverse and not codes and rng is None:
        chk.fail(kp + ("reverse",), "reverse scoring needs codes or a range",
                 "reverse needs min and max", "add codes or range")
    return Item(name=name, label=_norm_label(raw["label"], name), type=typ, codes=codes,
                missing=missing, missing_ranges=tuple(ranges), reverse=reverse, range=rng,
                battery=raw.get("battery"),
                required=bool(raw.get("required", True)))


def _parse_rule(rule: Any, chk: _Checker, kp: tuple) -> tuple[str, Any]:
    if not isinstance(rule, dict) or len(rule) != 1:
        chk.fail(kp, f"bad rule {rule!r}", "one operator: value", "write e.g. {in: [3, 4]} or "
                 "{'>=': 3.0}")
    (op, value), = rule.items()
    if op not in RULE_OPERATORS:
        close = [str(op)[::-1]] if str(op)[::-1] in RULE_OPERATORS else \
            difflib.get_close_matches(str(op), RULE_OPERATORS, 1)
        chk.fail(kp + (op,), f"unknown rule operator {op!r}", f"operators {RULE_OPERATORS}",
                 f"did you mean {close[0]!r}?" if close else "use in, >=, >, <=, < or ==")
    if op == "in":
        if not isinstance(value, list) or not value:
            chk.fail(kp + (op,), "'in' needs a non-empty list of codes", "in: [codes]",
                     "write e.g. {in: [3, 4]}")
        return op, tuple(_code(v, chk, kp + (op,)) for v in value)
    return op, _code(value, chk, kp + (op,))


def _parse(data: Any, path: str, text: str) -> Codebook:
    chk = _Checker(path, text)
    data = chk.mapping(data, ())
    chk.keys(data, _TOP_KEYS, (), required=[k for k, req in _TOP_KEYS.items() if req])
    columns = chk.mapping(data["columns"], ("columns",))
    chk.keys(columns, _ROLES, ("columns",))
    for role, col in columns.items():
        if not isinstance(col, str) or not col:
            chk.fail(("columns", role), f"column of role {role!r} must be a name", "names",
                     "write role: column_name")
    groups = chk.mapping(data.get("groups"), ("groups",))
    for role, spec in groups.items():
        chk.name_in(role, columns, ("groups", role), "column role")
        spec = chk.mapping(spec, ("groups", role))
        chk.keys(spec, ("codes", "labels"), ("groups", role), required=("codes",))
    mc = data.get("missing_codes") or {}
    if isinstance(mc, list):
        mc = {m: str(m) for m in mc}
    mc = chk.mapping(mc, ("missing_codes",))
    missing_codes = {_code(k, chk, ("missing_codes",)): str(v) for k, v in mc.items()}
    items_raw = chk.names(chk.mapping(data["items"], ("items",)), ("items",))
    if not items_raw:
        chk.fail(("items",), "no items", "at least one item", "list the instrument's items")
    items = {str(n): _parse_item(str(n), v, tuple(missing_codes), chk)
             for n, v in items_raw.items()}
    clash = set(items) & set(columns.values())
    if clash:
        chk.fail(("items", sorted(clash)[0]), "an item has the name of a role column",
                 "items and role columns differ", "rename the item")
    scales = {}
    for name, raw in chk.names(chk.mapping(data.get("scales"), ("scales",)), ("scales",)).items():
        kp = ("scales", name)
        raw = chk.mapping(raw, kp)
        chk.keys(raw, _SCALE_KEYS, kp, required=("items",))
        its = raw["items"]
        if not isinstance(its, list) or not its:
            chk.fail(kp + ("items",), "a scale needs a list of items", "items: [...]",
                     "list the scale's items")
        for it in its:
            chk.name_in(it, items, kp + ("items",), "item")
        method = raw.get("method", "mean")
        if method not in ("mean", "sum"):
            chk.fail(kp + ("method",), f"unknown method {method!r}", "mean or sum",
                     "use method: mean or method: sum")
        k = raw.get("min_answered", len(its))
        if not isinstance(k, int) or not 1 <= k <= len(its):
            chk.fail(kp + ("min_answered",), f"min_answered {k!r} out of 1..{len(its)}",
                     "1 <= min_answered <= number of items", "fix min_answered")
        if name in items:
            chk.fail(kp, f"scale {name!r} has the name of an item", "unique names",
                     "rename the scale")
        scales[str(name)] = Scale(str(name), _norm_label(raw.get("label"), name), tuple(its),
                                  method, k)
    indicators = {}
    for name, raw in chk.names(chk.mapping(data.get("indicators"), ("indicators",)),
                               ("indicators",)).items():
        kp = ("indicators", name)
        raw = chk.mapping(raw, kp)
        chk.keys(raw, _IND_KEYS, kp, required=("label", "rule", "higher_is_better"))
        si, ss = raw.get("source_item"), raw.get("source_scale")
        if (si is None) == (ss is None):
            chk.fail(kp, "give exactly one of source_item and source_scale", "one source",
                     "write source_item: <item> or source_scale: <scale>")
        if si is not None:
            chk.name_in(si, items, kp + ("source_item",), "item")
        else:
            chk.name_in(ss, scales, kp + ("source_scale",), "scale")
        rule = _parse_rule(raw["rule"], chk, kp + ("rule",))
        if si is not None and rule[0] == "in" and items[si].codes:
            bad = [c for c in rule[1] if c not in items[si].codes]
            if bad:
                chk.fail(kp + ("rule",), f"codes {bad} are not codes of item {si!r}",
                         "rule codes are item codes", f"use codes of {si}: {list(items[si].codes)}")
        if not isinstance(raw["higher_is_better"], bool):
            chk.fail(kp + ("higher_is_better",), "higher_is_better must be true or false",
                     "boolean", "write true or false")
        indicators[str(name)] = Indicator(
            str(name), _norm_label(raw["label"], name), rule, raw["higher_is_better"],
            si, ss, str(raw.get("definition", "")).strip(), str(raw.get("reference", "")).strip())
    harm = chk.mapping(data.get("harmonisation"), ("harmonisation",))
    chk.keys(harm, ("renames", "recodes", "series_breaks"), ("harmonisation",))
    renames = tuple(harm.get("renames") or ())
    for i, r in enumerate(renames):
        kp = ("harmonisation", "renames")
        chk.keys(chk.mapping(r, kp), ("from", "to", "until_wave"), kp, required=("from", "to"))
        chk.name_in(r["to"], items, kp, "item")
    recodes = tuple(harm.get("recodes") or ())
    for r in recodes:
        kp = ("harmonisation", "recodes")
        chk.keys(chk.mapping(r, kp), ("item", "waves", "map"), kp, required=("item", "map"))
        chk.name_in(r["item"], items, kp, "item")
        chk.mapping(r["map"], kp)
    breaks = tuple(harm.get("series_breaks") or ())
    for b in breaks:
        kp = ("harmonisation", "series_breaks")
        chk.keys(chk.mapping(b, kp), ("indicator", "wave", "note"), kp,
                 required=("indicator", "wave"))
        chk.name_in(b["indicator"], {**indicators, **items, **scales}, kp, "indicator")
    quality = chk.mapping(data.get("quality"), ("quality",))
    chk.keys(quality, ("straightlining", "age_grade"), ("quality",))
    sl = chk.mapping(quality.get("straightlining"), ("quality", "straightlining"))
    batteries = {it.battery for it in items.values() if it.battery}
    for b in sl.get("batteries", []):
        chk.name_in(b, batteries, ("quality", "straightlining", "batteries"), "battery")
    ag = chk.mapping(quality.get("age_grade"), ("quality", "age_grade"))
    chk.keys(ag, ("column", "grade_age_offset", "tolerance"), ("quality", "age_grade"))
    return Codebook(
        instrument=str(data["instrument"]), version=str(data["version"]),
        title=_norm_label(data.get("title"), str(data["instrument"])),
        source=str(data.get("source", "")).strip(), strict=bool(data.get("strict", False)),
        columns={str(k): str(v) for k, v in columns.items()}, groups=groups,
        missing_codes=missing_codes, items=items, scales=scales, indicators=indicators,
        renames=renames, recodes=recodes, breaks=breaks, quality=quality, path=path,
        citation=_norm_label(data.get("citation"), "") if data.get("citation") else {})


def list_codebooks() -> list[str]:
    """Names of the built-in codebooks (``ssp_research/resources/codebooks/*.yml``).

    Examples
    --------
    >>> [n for n in list_codebooks() if n in ("elevus", "trondheim", "ungdata")]
    ['elevus', 'trondheim', 'ungdata']
    """
    return sorted(p.stem for p in resource_path("codebooks").glob("*.yml"))


def load_codebook(name_or_path: str | Path | Codebook) -> Codebook:
    """Load and validate a codebook by built-in name or from a YAML file.

    Parameters
    ----------
    name_or_path : str, Path or Codebook
        A built-in name (see :func:`list_codebooks`) or a path to a ``.yml`` file. A
        :class:`Codebook` is returned unchanged.

    Returns
    -------
    Codebook
        With ``items``, ``scales``, ``indicators`` (dicts of dataclasses), ``columns`` (role
        -> column), ``series_breaks``, ``version``, ``instrument``.

    Raises
    ------
    CodebookError
        Unknown name, unreadable YAML, unknown keys (with a "did you mean"), undefined items,
        bad rules; the message names the file, YAML line and key path.

    Examples
    --------
    >>> cb = load_codebook("ungdata")
    >>> cb.scales["depressive_mean"].min_answered, cb.series_breaks
    (4, [])
    """
    if isinstance(name_or_path, Codebook):
        return name_or_path
    p = Path(name_or_path)
    if p.suffix not in (".yml", ".yaml") and not p.exists():
        p = resource_path("codebooks", f"{name_or_path}.yml")
        if not p.exists():
            close = difflib.get_close_matches(str(name_or_path), list_codebooks(), 1)
            raise CodebookError(
                f"no built-in codebook named {str(name_or_path)!r}", file=p,
                rule="built-in codebook or .yml path",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + f"built-in codebooks: {list_codebooks()}; or give a path to a .yml file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CodebookError(f"cannot read codebook: {err}", file=p, rule="readable UTF-8 YAML",
                            hint="check the path and save the file as UTF-8") from err
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise CodebookError(f"invalid YAML: {getattr(err, 'problem', err)}", file=p,
                            row=None if mark is None else mark.line + 1, rule="YAML syntax",
                            hint="fix the indentation or quoting at that line") from err
    return _parse(data, str(p), text)

