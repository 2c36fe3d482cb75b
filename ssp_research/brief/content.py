"""The evidence brief's data: one unit, wave and strategy, with its protected tables.

:func:`load` reads the data, codebook, framework and rules of one brief into a
:class:`Brief`, whose tables are computed once, on first use, through the documented stages:
:func:`ssp_research.analysis.indicators.indicator_table` (estimates, comparison, difference with a
design-based test), :func:`ssp_research.analysis.effects.trend` (trend tests) and
:func:`~ssp_research.disclosure.protect` (suppression, **before** anything is formatted), or
read from the batch's protected publication. The template's sections are built from it by
:mod:`ssp_research.brief.sections`, :mod:`ssp_research.brief.gaps` and
:mod:`ssp_research.brief.pilot`.

>>> b = load("data/synthetic/trondheim.parquet", unit_type="district", unit="Heimdal")
>>> b.comparison, b.comparison_name, b.wave
('city', 'Trondheim', 2025)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from ssp_research import disclosure
from ssp_research.analysis import effects, frameworks, indicators, references
from ssp_research.brief import language, narrate
from ssp_research.brief.texts import TEXTS
from ssp_research.core import paths
from ssp_research.core.errors import DataError, ParameterError
from ssp_research.data import codebook as _codebook
from ssp_research.data.inputs import record_input
from ssp_research.disclosure import cache as publication_cache
from ssp_research.disclosure import publication

__all__ = [
    "HIDE",
    "Html",
    "Brief",
    "load",
    "joint_publication",
    "UNIT_TYPES",
    "COMPARISONS",
]

UNIT_TYPES = {"city": None, "district": "district", "school": "school",
              "municipality": "municipality", "country": None}  # the last two: national data
_TOP = ("city", "country", "municipality")  # compared with their own previous survey
_CITY_LEVELS = ("city", "district", "school")  # (the others: national data)
COMPARISONS = ("auto", "city", "district", "previous_wave")
#: The data columns a national brief reads (besides the indicator columns ``ind_*``).
_COLUMNS = ("wave", "municipality", "district", "school", "grade", "gender", "weight", "pilot",
            "family_economy")
_DIFF_COLS = ["diff", "diff_se", "diff_ci_low", "diff_ci_high", "p_value"]
_CORE = ["indicator", "wave", "estimate", "se", "ci_low", "ci_high", "df", "n", "count",
         "series_break"]
#: The statistics of a row that a suppression hides (the brief never shows them).
HIDE = ["estimate", "se", "ci_low", "ci_high", "count"]
_CMP = ["cmp_estimate", "cmp_se", "cmp_ci_low", "cmp_ci_high"]



class Html(str):
    """A string of HTML that Jupyter displays as HTML (``_repr_html_``)."""

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<Html: {len(self)} characters>"


@dataclass
class Brief:
    """Everything one brief needs: data, instrument, framework, rules and the unit.

    Build it with :func:`load`. Tables are computed once, on first use, and are always
    protected (``suppressed``, ``reason``, ``marker`` columns; hidden values are NaN).
    """

    data: pd.DataFrame
    codebook: object
    framework: object
    rules: disclosure.Rules
    unit_type: str
    unit: str
    wave: int
    lang: str
    comparison: str
    comparison_name: str
    pool: int = 1
    standardise: bool = False
    data_path: str = ""
    publication_path: str = ""
    population: pd.DataFrame | None = field(default=None, repr=False)
    references_path: str = ""
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def unit_col(self) -> str | None:
        return UNIT_TYPES[self.unit_type]

    @cached_property
    def unit_mask(self) -> np.ndarray:
        if self.unit_col is None:  # the city, or the whole country
            return np.ones(len(self.data), dtype=bool)
        return (self.data[self.unit_col] == self.unit).to_numpy()

    @cached_property
    def indicator_names(self) -> list[str]:
        names: list[str] = []
        for goal in self.framework.goals:
            names += [i for i in goal.indicators if i not in names and i in
                      self.codebook.indicators]
        return names

    @cached_property
    def design(self):
        return indicators.city_design(self.data)

    def label(self, name: str) -> str:
        return language.indicator_label(name, self.codebook, self.lang)

    @cached_property
    def indicators(self) -> pd.DataFrame:
        """The protected indicator table of the unit, all waves (see ``indicator_table``).

        Suppression is decided on the whole city publication (:attr:`publication`), so the
        brief of every unit hides the same cells and no hidden cell can be recovered from the
        briefs of other units; a comparison cell that is hidden there is hidden here too.
        """
        unit = None if self.unit_col is None else (self.unit_col, self.unit)
        compare = {"city": "city", "district": "district", "previous_wave": "city"}[
            self.comparison]
        table = self._precomputed(compare)
        if table is None:
            # the country is all rows as one unit (unit=None alone: one per municipality)
            whole = {"city": "_no_column"} if self.unit_type == "country" else {}
            table = indicators.indicator_table(
                self.data, self.codebook, indicators=self.indicator_names, unit=unit,
                compare=compare, pool=self.pool, standardise=self._standard, **whole,
            )  # fmt: skip
        idx = pd.MultiIndex.from_frame(table[["indicator", "wave"]])
        pub = self.publication
        if pub is None:  # national levels: the brief's own table is its publication
            own = disclosure.protect(table[_CORE], self.rules).set_index(["indicator", "wave"])
        else:
            level, name = self.publication_key
            own = pub[(pub["level"] == level) & (pub["unit"] == name)].set_index(
                ["indicator", "wave"])
        # a municipality's brief reads only its rows, so its own design has the df of its
        # own strata; the publication's intervals use the country's design (R: svyby on the
        # national design). Estimates, SEs and n agree; intervals and df are taken from the
        # publication, so the brief shows exactly the published figures.
        national = ("ci_low", "ci_high", "df") if (
            pub is not None and self.unit_type == "municipality") else ()
        for col in ("suppressed", "reason", "marker", *national):
            table[col] = own[col].reindex(idx).to_numpy()
        table["suppressed"] = table["suppressed"].astype(bool)
        table.loc[table["suppressed"].to_numpy(), HIDE] = np.nan
        if self.comparison == "previous_wave":
            table = _previous_wave(table)
        elif pub is not None:
            cmp_level, cmp_name = (("city", self.city) if self.comparison == "city" else
                                   ("district", self.district))
            cmp = pub[(pub["level"] == cmp_level) & (pub["unit"] == cmp_name)].set_index(
                ["indicator", "wave"])["suppressed"].reindex(idx).fillna(False).to_numpy()
            table.loc[cmp.astype(bool), _CMP] = np.nan
        hidden = table["suppressed"].to_numpy() | table["estimate"].isna().to_numpy()
        hidden |= table["cmp_estimate"].isna().to_numpy()
        table.loc[hidden, _DIFF_COLS] = np.nan  # diff + comparison would give the value back
        table["cell"] = self.cell_keys(table)  # the ledger cell each row shows
        return table

    def cell_keys(self, table: pd.DataFrame) -> list[str]:
        """The release-ledger key of each row of one of this brief's tables (the unit's cells;
        ``gender``, ``grade`` or ``economy_group`` columns for its groups)."""
        from ssp_research.disclosure.release import cell_keys

        level, name = self.publication_key
        return cell_keys(table.assign(level=level, unit=name))

    def _precomputed(self, compare: str) -> pd.DataFrame | None:
        """The unit's rows of the batch's unit tables
        (:func:`~ssp_research.disclosure.cache.write_unit_tables`), when it wrote them for these
        settings (same numbers as computing them here: one pass over all units)."""
        if (not self.publication_path or self.standardise
                or self.unit_type not in ("city", "district", "school")):
            return None
        path = publication_cache.unit_tables_dir(paths.in_project(self.publication_path)) / (
            publication_cache.unit_table_name(self.unit_type, compare, self.pool,
                                        self.indicator_names))
        if not path.is_file():
            return None
        filters = None if self.unit_col is None else [(self.unit_col, "==", self.unit)]
        table = pd.read_parquet(path, filters=filters)
        return table if len(table) else None

    @property
    def _standard(self) -> pd.DataFrame | None:
        if self.standardise and self.population is not None:
            return self.population.groupby(["grade", "gender"], as_index=False)["pupils"].sum()
        return None

    @property
    def dataset(self) -> str | None:
        """The dataset whose release ledger holds this brief's cells (from the publication;
        None when the brief has no publication)."""
        pub = self.full_publication
        return None if pub is None else pub.attrs.get("publication", {}).get("dataset")

    @property
    def publication_key(self) -> tuple[str, str]:
        """The unit's ``(level, unit)`` in the publication (the city under its own name)."""
        return ("city", self.city) if self.unit_type == "city" else (self.unit_type, self.unit)

    @cached_property
    def city(self) -> str:
        return str(self.data.loc[self.unit_mask, "municipality"].iloc[0])

    @cached_property
    def district(self) -> str | None:
        if self.unit_col not in ("district", "school"):
            return None
        return str(self.data.loc[self.unit_mask, "district"].iloc[0])

    @cached_property
    def full_publication(self) -> pd.DataFrame | None:
        """The protected publication of the whole city (every brief of a batch at once).

        Read from ``publication_path``: :func:`~ssp_research.disclosure.build_publication`
        over city, districts and schools, every indicator and wave, totals and gender, grade
        and family-economy breakdowns, protected together (primary, series and secondary
        suppression), built once by ``ssp batch`` or in the shared cache (:func:`load`).
        Deterministic, so a single brief hides exactly what the batch hides.

        National unit types (``municipality``, ``country``): only with ``publication_path``
        (the batch's national publication of country, municipalities and schools), and only
        the unit's own rows and those of its pilot schools are read (Parquet filters); None
        without it (the brief then protects its own tables alone).

        Family economy (hard up / middle / well off,
        :func:`~ssp_research.analysis.indicators.with_economy_group`) is a third breakdown protected
        in the same call, so its groups and the unit totals form one
        additive system; its rows are kept apart (``cache["economy_rows"]``, see
        :func:`~ssp_research.brief.gaps.gap_table`) and the table returned here has no
        ``economy_group`` column. A publication without them (older batches) shows no
        family-economy gaps.
        """
        if self.unit_type not in _CITY_LEVELS:
            if not self.publication_path:
                return None
            path = paths.in_project(self.publication_path)
            level, name = self.publication_key
            own = publication.read_publication(path, level=level, unit=name)
            if "pilot" not in self.data.columns or self.unit_type == "country":
                return _split_economy(self, own)
            schools = sorted(map(str, self.data.loc[
                self.unit_mask & self.data["pilot"].to_numpy(dtype=bool), "school"].unique()))
            if not schools:
                return _split_economy(self, own)
            pilots = pd.read_parquet(path, engine="pyarrow", filters=[
                ("level", "==", "school"), ("unit", "in", schools)])
            both = pd.concat([own, pilots], ignore_index=True)
            both.attrs = dict(own.attrs)
            return _split_economy(self, both)
        return _split_economy(self, publication.read_publication(
            paths.in_project(self.publication_path)))

    @cached_property
    def publication(self) -> pd.DataFrame | None:
        """The totals (all genders, all grades) of :attr:`full_publication`."""
        pub = self.full_publication
        if pub is None:
            return None
        return pub[(pub["gender"] == "all") & (pub["grade"] == "all")].reset_index(drop=True)

    @cached_property
    def latest(self) -> pd.DataFrame:
        t = self.indicators
        return t[t["wave"] == self.wave].reset_index(drop=True)

    @cached_property
    def trends(self) -> pd.DataFrame:
        """Per indicator: the unit's trend test (``slope``, ``p_value``) over all waves.

        Indicators whose unit series has a suppressed wave get no test (NaN), so a trend
        can never hint at a hidden value; after a series break only the waves from the break
        on are used (at least three are needed).
        """
        rows = []
        waves = self.data["wave"].to_numpy()
        subsets: dict[int, object] = {}  # the unit's design from a first wave on, per wave
        for name in self.indicator_names:
            series = self.indicators[self.indicators["indicator"] == name]
            breaks = series.loc[series["series_break"].astype(bool), "wave"]
            first = int(breaks.max()) if len(breaks) else int(series["wave"].min())
            series = series[series["wave"] >= first]  # a trend never crosses a series break
            slope = p = math.nan
            if not series["suppressed"].any() and series["wave"].nunique() >= 3:
                col = self.codebook.indicator_column(name)
                if first not in subsets:
                    subsets[first] = self.design.subset(self.unit_mask & (waves >= first))
                # the slope row of effects.trend (same model and test), without its other rows
                slope, p = effects.trend_slope(subsets[first], col, adjust=(),
                                                codebook=self.codebook)
            rows.append({"indicator": name, "slope": slope, "p_value": p})
        return pd.DataFrame(rows)

    @property
    def benchmark(self) -> pd.DataFrame:
        """The latest wave against the published national figures (the barometer):
        :func:`ssp_research.analysis.references.compare_with_references`, one row per
        indicator, ``ref_class`` hidden where the unit's share is hidden."""
        if "benchmark" not in self.cache:
            refs = references.load_references(self.references_path or None)
            self.cache["benchmark"] = references.compare_with_references(
                self.latest, refs, instrument=self.codebook.instrument, year=int(self.wave))
        return self.cache["benchmark"]

    def period(self, wave: int | None = None) -> str:
        """The years a wave's figures cover: "2025", or a pooled window's "2021–2025".

        >>> from ssp_research.brief import load
        >>> b = load("data/synthetic/trondheim.parquet", unit_type="district", unit="Heimdal",
        ...          pool=3)
        >>> b.period(), b.period(2019)
        ('2021–2025', '2019')
        """
        wave = self.wave if wave is None else int(wave)
        t = self.indicators
        if "pooled_from" in t.columns:
            first = t.loc[t["wave"] == wave, "pooled_from"]
            if len(first) and int(first.min()) != wave:
                return f"{int(first.min())}\u2013{wave}"
        return str(wave)

    @property
    def previous_wave(self) -> str | None:
        """The years of the survey before :attr:`wave` (see :meth:`period`), None if none."""
        waves = sorted(int(w) for w in self.data["wave"].unique() if int(w) < self.wave)
        return self.period(waves[-1]) if waves else None

    def arrow(self, name: str) -> str:
        row = self.trends.set_index("indicator").loc[name]
        if math.isnan(row["slope"]):
            return ""
        return narrate.trend_arrow({"estimate": 0.0, "slope": row["slope"],
                                    "p_value": row["p_value"]})


def _previous_wave(table: pd.DataFrame) -> pd.DataFrame:
    """Replace the comparison by the unit's own previous wave (independent samples)."""
    from scipy.stats import norm

    t = table.sort_values(["indicator", "wave"]).copy()
    prev = t.groupby("indicator")[["estimate", "se", "ci_low", "ci_high", "n"]].shift(1)
    t["cmp_estimate"], t["cmp_se"] = prev["estimate"], prev["se"]
    t["cmp_ci_low"], t["cmp_ci_high"], t["cmp_n"] = prev["ci_low"], prev["ci_high"], prev["n"]
    t["diff"] = t["estimate"] - t["cmp_estimate"]
    t["diff_se"] = np.sqrt(t["se"] ** 2 + t["cmp_se"] ** 2)
    z = norm.ppf(0.975)
    t["diff_ci_low"], t["diff_ci_high"] = t["diff"] - z * t["diff_se"], t["diff"] + z * t[
        "diff_se"]
    t["p_value"] = 2 * norm.sf(np.abs(t["diff"] / t["diff_se"]))
    broken = t["series_break"].astype(bool).to_numpy()
    t.loc[broken, ["cmp_estimate", "cmp_se", "cmp_ci_low", "cmp_ci_high"] + _DIFF_COLS] = np.nan
    return t.loc[table.index]


def load(data_path: str = "data/synthetic/trondheim.parquet", *, instrument: str = "ungdata",
         framework: str = "trondheim_ssp", unit_type: str = "city", unit: str = "Trondheim",
         wave: int | None = None, comparison: str = "auto", lang: str = "nb", pool: int = 1,
         standardise: bool = False, disclosure_rules: dict | None = None,
         publication_path: str = "", references_path: str = "") -> Brief:
    """Load the data, codebook, framework and rules of one brief and check the unit.

    Parameters
    ----------
    data_path : str
        Tidy data (``.parquet``), relative to the project directory or absolute.
    instrument, framework : str
        Built-in codebook and strategy framework names (or paths).
    unit_type : {"city", "district", "school", "municipality", "country"}
        The last two are for national data (``ssp batch --by municipality``).
    unit : str
        The unit's name (the municipality for ``city``; any name for ``country``).
    wave : int, optional
        Default: the latest wave in the data.
    comparison : {"auto", "city", "district", "previous_wave"}
        ``auto``: the city for districts and schools, the previous survey for the city (and
        for a municipality or the country).
    lang : {"nb", "en"}
    pool : int
        Waves pooled in a rolling window (small schools).
    standardise : bool
        Direct standardisation by grade x gender to the city's pupils (``population.csv``
        next to the data).
    disclosure_rules : dict, optional
        Overrides of :class:`ssp_research.disclosure.suppression.Rules`.
    references_path : str
        Published reference figures to test the unit against (CSV, ``docs/references.md``);
        "" for the shipped national figures.
    publication_path : str
        The batch's protected publication (``ssp batch`` passes it). "" for a city, district
        or school: the city's publication in ``<output>/cache/publication/`` (see
        :func:`ssp_research.disclosure.cache.prepare_publication`), built there when it is
        not current for the data, options, library and packages; for national unit types:
        the brief protects its own tables alone.

    Returns
    -------
    Brief
    """
    path = paths.in_project(data_path)
    if unit_type not in UNIT_TYPES:
        raise ParameterError(f"unknown unit_type {unit_type!r}",
                             rule=f"one of {', '.join(UNIT_TYPES)}")
    if comparison not in COMPARISONS:
        raise ParameterError(f"unknown comparison {comparison!r}",
                             rule=f"one of {', '.join(COMPARISONS)}")
    if lang not in ("nb", "en"):
        raise ParameterError(f"unknown language {lang!r}", rule="nb or en")
    cb = _codebook.load_codebook(instrument)
    # National data: a municipality reads only its rows (pushed down to Parquet), and both
    # national levels only the columns a brief uses (structure, weights, indicators)
    filters = [("municipality", "==", unit)] if unit_type == "municipality" else None
    try:
        columns = None
        if unit_type in ("municipality", "country"):
            import pyarrow.parquet as pq

            wanted = {*_COLUMNS, *("ind_" + n for n in cb.indicators)}
            columns = [c for c in pq.read_schema(path).names if c in wanted]
        data = pd.read_parquet(path, filters=filters, columns=columns)
        if filters and data.empty:  # unknown unit: read the column for the message
            data = pd.read_parquet(path, columns=["municipality", "wave"])
    except Exception as err:  # noqa: BLE001 - unreadable data is reported with its path
        raise DataError(f"cannot read the brief's data: {err}", file=path,
                        hint="give data_path of a tidy .parquet (see docs/synthetic_data.md)"
                        ) from None
    record_input(path)  # the notebook keeps the data's fingerprint (the notebook check)
    col = UNIT_TYPES[unit_type] or "municipality"
    if col not in data.columns:
        raise DataError(f"the data have no column {col!r}", file=path, column=col)
    known = sorted(map(str, data[col].dropna().unique()))
    if unit_type != "country" and unit not in known:
        raise ParameterError(f"unknown {unit_type} {unit!r}", column=col,
                             rule=f"units in the data: {', '.join(known)}")
    waves = sorted(int(w) for w in data["wave"].unique())
    wave = waves[-1] if wave is None else wave
    if wave not in waves:
        raise ParameterError(f"no data for wave {wave}", column="wave",
                             rule=f"waves in the data: {', '.join(map(str, waves))}")
    if comparison == "auto":
        comparison = "previous_wave" if unit_type in _TOP else "city"
    if comparison == "city" and unit_type in _TOP:
        raise ParameterError(f"the {unit_type} cannot be compared with itself",
                             rule=f"comparison for a {unit_type}: previous_wave")
    if comparison == "district" and unit_type != "school":
        raise ParameterError("comparison 'district' is for schools", rule="schools only")
    mask = (data[col] == unit) if unit_type != "country" else np.ones(len(data), dtype=bool)
    city = str(data.loc[mask, "municipality"].iloc[0])
    if comparison == "city":
        cmp_name = city
    elif comparison == "district":
        cmp_name = str(data.loc[mask, "district"].iloc[0])
    else:
        prev = [w for w in waves if w < wave]
        cmp_name = TEXTS[lang]["prev"].format(unit=unit, wave=prev[-1] if prev else "–")
    pop_path = path.parent / "population.csv"
    population = None
    if standardise:
        if not pop_path.is_file():
            raise DataError("standardisation needs population.csv next to the data",
                            file=pop_path)
        population = pd.read_csv(pop_path)
        population = population[population["wave"] == wave]
    if publication_path == "" and unit_type in _CITY_LEVELS:
        # the city's publication, as ssp batch builds it: reused from the cache every single
        # brief (and notebook session) of this output folder shares, or built there once
        publication_path = str(publication_cache.prepare_publication(
            path, paths.output_dir() / "cache", top_name=city, instrument=instrument,
            rules=disclosure_rules or None, pool=pool, standardise=standardise,
            framework=framework, jobs=1, progress=False))
    b = Brief(
        data=data, codebook=cb,
        framework=frameworks.load_framework(framework),
        rules=disclosure.Rules.from_overrides(disclosure_rules or {}), unit_type=unit_type,
        unit=unit, wave=wave, lang=lang, comparison=comparison, comparison_name=cmp_name,
        pool=pool, standardise=standardise, data_path=str(data_path), population=population,
        publication_path=publication_path, references_path=str(references_path or ""),
    )  # fmt: skip
    return b


def _split_economy(b: Brief, pub: pd.DataFrame | None) -> pd.DataFrame | None:
    """Keep a publication's family-economy rows apart; the rest without ``economy_group``."""
    if pub is None or "economy_group" not in pub.columns:
        b.cache["economy_rows"] = None
        return pub
    econ = (pub["economy_group"].astype(str) != "all").to_numpy()
    b.cache["economy_rows"] = pub[econ].reset_index(drop=True)
    out = pub[~econ].drop(columns="economy_group").reset_index(drop=True)
    out.attrs = dict(pub.attrs)
    return out


def joint_publication(b: Brief) -> pd.DataFrame | None:
    """The brief's whole protected publication as ``ssp batch`` writes it (one table).

    :attr:`Brief.full_publication` with its family-economy rows back (``economy_group``:
    "all" on the totals and the gender and grade rows); without such rows, the publication
    unchanged. Write it with :func:`ssp_research.disclosure.publication.write_publication`.
    """
    pub = b.full_publication
    econ = b.cache.get("economy_rows")
    if pub is None or econ is None:
        return pub
    out = pd.concat([pub.assign(economy_group="all"), econ[[*pub.columns, "economy_group"]]],
                    ignore_index=True)
    out.attrs = dict(pub.attrs)
    return out
