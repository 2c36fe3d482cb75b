"""One brief end to end: run_brief, the CLI, and the city's publication in the shared cache."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from ssp_research import cli
from ssp_research.core import paths
from ssp_research.core.errors import ReportError
from ssp_research.render import runner
from ssp_research.render.parameters import template_parameters


def test_brief_stem_slug():
    assert runner.brief_stem({"unit": "Åsvang/Ørnes skole", "wave": 2023, "lang": "en"}) == \
        "asvang-ornes-skole_2023_en"




def test_run_brief_publishes_after_a_clean_audit(mini_template, tmp_path, monkeypatch):
    audited = []
    monkeypatch.setattr(runner, "_audit", lambda ps: audited.extend(ps) or [])
    res = runner.run_brief({"unit": "Østbyen", "lang": "en"}, template=mini_template,
                           out_dir=tmp_path)
    assert res.html_path == tmp_path / "ostbyen_2025_en.html"
    assert res.pdf_path.read_bytes().startswith(b"%PDF-")
    assert res.notebook_path.is_file() and res.seconds > 0
    assert sorted(p.suffix for p in audited) == [".html", ".ipynb", ".pdf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ostbyen_2025_en.html", "ostbyen_2025_en.ipynb", "ostbyen_2025_en.pdf"]
    assert res.provenance["parameters"]["unit"] == "Østbyen"
    assert 'lang="en"' in res.html_path.read_text(encoding="utf-8")


def test_run_brief_refuses_to_publish_on_findings(mini_template, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_audit", lambda ps: ["brief.html: table 1 row 2: n=4 < 20"])
    with pytest.raises(ReportError, match=r"(?s)audit found 1 problem.*n=4 < 20"):
        runner.run_brief({"unit": "Heimdal"}, template=mini_template, out_dir=tmp_path, pdf=False)
    assert list(tmp_path.iterdir()) == []


def _kernel_children() -> list[str]:
    """Command lines of ipykernel processes whose parent is this test process."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and "ipykernel" in cmd:
            found.append(cmd)
    return found


def test_cli_brief_prints_paths(mini_template, tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(runner, "_audit", lambda ps: [])
    code = cli.main(["brief", "--template", str(mini_template), "--out", str(tmp_path),
                     "--unit", "Lerkendal", "--lang", "en", "--wave", "2021", "--no-pdf",
                     "-p", "share=0.75"])
    assert code == 0
    captured = capfd.readouterr()  # file-descriptor level: the kernel's stderr too
    assert captured.out.split() == [str(tmp_path / "lerkendal_2021_en.html")]
    assert "without encryption" not in captured.err and "WARNING" not in captured.err
    assert _kernel_children() == []  # the kernel was shut down, not left to its parent's exit
    code = cli.main(["brief", "--template", str(mini_template), "-p", "bogus=1"])
    err = capfd.readouterr().err
    assert code == 2 and "unknown parameter 'bogus'" in err and "share: float" in err


def test_refresh_templates_writes_the_default_run_in_place(mini_template, tmp_path):
    copy = tmp_path / "mini.ipynb"
    copy.write_bytes(mini_template.read_bytes())
    assert runner.refresh_templates([copy]) == [copy]
    nb = nbformat.read(copy, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "wave = 2025" in injected[0].source
    assert template_parameters(copy) == template_parameters(mini_template)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mini.ipynb"]  # no temp files left




def test_briefs_share_the_city_publication_in_the_cache(tmp_path, monkeypatch):
    """A brief without a publication path builds its city's publication once in the shared
    cache (as ssp batch builds it) and every later brief reuses it."""
    from ssp_research.batch import plan_units, prepare_publication
    from ssp_research.brief import load
    from ssp_research.disclosure import cache, publication

    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))
    first = load(unit_type="school", unit="Kvernbekken skole", wave=2025)
    target = cache.publication_target(tmp_path / "cache")
    assert first.publication_path == str(target) and target.is_file()
    mtime = target.stat().st_mtime_ns
    again = load(unit_type="school", unit="Nordlys skole", wave=2025)
    assert again.publication_path == first.publication_path
    assert target.stat().st_mtime_ns == mtime  # reused, not rebuilt
    # exactly the publication a batch builds for the same data and options
    units = plan_units(paths.synthetic_dir() / "trondheim.parquet", "school")
    batch_pub = prepare_publication(units, tmp_path / "batch")["publication_path"]
    a = publication.read_publication(batch_pub)
    b = publication.read_publication(target)
    key = ["level", "unit", "indicator", "wave", "gender", "grade", "economy_group"]
    assert a.set_index(key)["suppressed"].sort_index().equals(
        b.set_index(key)["suppressed"].sort_index())
    assert set(b["economy_group"]) == {"all", "poor", "middle", "good"}
    own = first.full_publication
    assert "economy_group" not in own.columns  # the brief keeps those rows apart
    assert first.cache["economy_rows"]["economy_group"].isin({"poor", "middle", "good"}).all()


def test_unit_tables_of_the_publication_give_each_brief_the_same_numbers(tmp_path,
                                                                          monkeypatch):
    # the publication's unit tables hold every unit's indicator table (one pass per level);
    # a brief reading its rows must show exactly what it would compute alone
    import pandas as pd

    from ssp_research.brief import load
    from ssp_research.disclosure import cache

    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))
    pub = load(wave=2025).publication_path
    tables = sorted(p.name for p in cache.unit_tables_dir(Path(pub)).glob("*.parquet"))
    assert [t.split("-")[0] for t in tables] == ["city", "district", "school"]
    for unit_type, unit, comparison in [("city", "Trondheim", "auto"),
                                        ("district", "Østbyen", "auto"),
                                        ("school", "Kvernbekken skole", "auto"),
                                        ("school", "Kvernbekken skole", "previous_wave")]:
        kw = dict(unit_type=unit_type, unit=unit, comparison=comparison, wave=2025,
                  publication_path=pub)
        b = load(**kw)
        assert b._precomputed("city") is not None  # read, not computed
        alone = load(**kw)
        monkeypatch.setattr(alone, "_precomputed", lambda compare: None)
        pd.testing.assert_frame_equal(b.indicators, alone.indicators)
    other = load(unit_type="school", unit="Kvernbekken skole", comparison="district",
                 publication_path=pub)
    assert other._precomputed("district") is None  # not written for that comparison


def test_a_cold_brief_builds_its_city_publication(tmp_path, monkeypatch):
    from ssp_research.disclosure import cache

    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))
    res = runner.run_brief({"wave": 2025, "unit_type": "district", "unit": "Heimdal"},
                           out_dir=tmp_path / "b")
    assert cache.publication_target(tmp_path / "cache").is_file()
    assert "Heimdal" in res.html_path.read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "heimdal_2025_nb.html", "heimdal_2025_nb.ipynb", "heimdal_2025_nb.pdf"]


def test_data_without_the_unit_column_is_a_named_error(tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.setenv("SSP_OUTPUT_DIR", str(tmp_path))
    data = tmp_path / "no_school.parquet"
    pd.read_parquet(paths.PROJECT_DIR / "data/synthetic/trondheim.parquet").drop(
        columns="school").to_parquet(data)
    with pytest.raises(ReportError, match="DataError: the data have no column 'school'"):
        runner.run_brief({"wave": 2025, "data_path": str(data), "unit_type": "school",
                          "unit": "Kvernbekken skole"}, out_dir=tmp_path / "b")
    # nothing published, no staging left: only the failed notebook, kept for debugging
    assert [p.name for p in (tmp_path / "b").iterdir()] == [
        "kvernbekken-skole_2025_nb.failed.ipynb"]


def test_latest_wave_from_the_footer_or_the_column(tmp_path):
    import pandas as pd

    with_stats = tmp_path / "a.parquet"
    pd.DataFrame({"wave": [2019, 2025, 2023]}).to_parquet(with_stats)
    without = tmp_path / "b.parquet"
    pd.DataFrame({"wave": [2019, 2021]}).to_parquet(without, write_statistics=False)
    assert runner._latest_wave(with_stats) == 2025 and runner._latest_wave(without) == 2021
    empty = tmp_path / "c.parquet"
    pd.DataFrame({"wave": pd.Series([], dtype="int64")}).to_parquet(empty)
    with pytest.raises(ReportError, match="no rows"):
        runner._latest_wave(empty)
    with pytest.raises(ReportError, match="'wave'"):
        runner._latest_wave(pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "d.parquet")
                            or tmp_path / "d.parquet")
