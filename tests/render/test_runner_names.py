"""File names and titles of briefs: no brief overwrites another in one folder."""

from __future__ import annotations

from ssp_research.render.runner import brief_stem, brief_title

BASE = {"unit": "Trondheim", "wave": 2025, "lang": "nb", "pool": 1,
        "framework": "trondheim_ssp", "data_path": "data/synthetic/trondheim.parquet"}


def test_framework_pooled_and_pupils_briefs_have_their_own_file_names():
    variants = [BASE, {**BASE, "framework": "lillestrom"}, {**BASE, "framework": "sandefjord"},
                {**BASE, "pool": 3}, {**BASE, "audience": "pupils"}, {**BASE, "lang": "en"}]
    stems = [brief_stem(v, default_framework="trondheim_ssp") for v in variants]
    assert len(set(stems)) == len(stems), stems
    assert stems[0] == "trondheim_2025_nb" and "lillestrom" in stems[1]


def test_titles_name_the_strategy_and_the_pooled_years():
    assert brief_title(BASE, default_framework="trondheim_ssp") is None  # the export's default
    lil = brief_title({**BASE, "framework": "lillestrom"}, default_framework="trondheim_ssp")
    assert lil.startswith("Kunnskapsgrunnlag: Trondheim, 2025") and "Lillestrøm" in lil
    pooled = brief_title({**BASE, "pool": 3, "lang": "en"}, default_framework="trondheim_ssp")
    assert pooled == "Evidence brief: Trondheim, 2021–2025"
