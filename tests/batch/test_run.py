"""Batch reruns: planning, parallel execution, failure isolation, cache, resume, executors.

The briefs here come from a tiny template notebook (a few cells, no figures) so that each
test runs real papermill kernels and real HTML/PDF export in a few seconds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from ssp_research.batch import run as batch
from ssp_research.batch import workers as batch_workers
from ssp_research.core import fingerprint, paths
from ssp_research.core.errors import ParameterError, ReportError

SYNTH = paths.PROJECT_DIR / "data" / "synthetic" / "trondheim.parquet"


def _template(path: Path, body: str = "") -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(textwrap.dedent("""\
        data_path: str = "data/synthetic/trondheim.parquet"  # tidy survey data
        unit_type: str = "city"  # city, district or school
        unit: str = "Trondheim"  # unit name
        wave: int = 2025  # survey wave
        lang: str = "nb"  # nb or en
        delay: float = 0.0  # seconds to sleep (for the interruption test)
        """))
    params.metadata["tags"] = ["parameters"]
    code = nbformat.v4.new_code_cell(textwrap.dedent("""\
        import os, time
        time.sleep(delay)
        if unit == "Broken":
            raise ValueError("planted failure for " + unit)
        if unit == "Killed":
            os.kill(os.getpid(), 9)
        """) + body + '\nprint("Brief for", unit_type, unit, wave)\n')
    nb.cells = [nbformat.v4.new_markdown_cell("# Test brief"), params, code]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _units(names, **extra) -> list[batch.Unit]:
    base = {"data_path": str(SYNTH), "wave": 2025, "lang": "nb", **extra}
    return [batch.Unit("school", n, {**base, "unit_type": "school", "unit": n}) for n in names]


@pytest.fixture
def template(tmp_path):
    return _template(tmp_path / "tiny.ipynb")


@pytest.fixture(autouse=True)
def fixed_library_fingerprint(monkeypatch):
    """The library's own source is part of the cache key; hold it still while a test runs
    (other edits to the working tree must not turn cached units into rebuilt ones here)."""
    monkeypatch.setattr(fingerprint, "library_fingerprint", lambda: "library-under-test")


def test_library_source_is_part_of_the_cache_key(template, monkeypatch):
    params = {"data_path": str(SYNTH), "unit": "A"}
    key = batch.cache_key(params, template=template)
    monkeypatch.setattr(fingerprint, "library_fingerprint", lambda: "library-changed")
    assert batch.cache_key(params, template=template) != key


def test_plan_units_lists_every_unit_plus_the_city():
    units = batch.plan_units(SYNTH, "district", base_params={"lang": "en"})
    data = pd.read_parquet(SYNTH, columns=["wave", "district"])
    latest = data["wave"].max()
    districts = sorted(data.loc[data["wave"] == latest, "district"].unique())
    assert [u.unit for u in units] == ["Trondheim", *districts]
    assert units[0].unit_type == "city"
    assert all(u.params["wave"] == latest and u.params["lang"] == "en" for u in units)
    schools = batch.plan_units(SYNTH, "school")
    n_schools = pd.read_parquet(SYNTH, columns=["wave", "school"]).query(
        "wave == @latest")["school"].nunique()
    assert len(schools) == 1 + n_schools


def test_plan_units_rejects_unknown_level_and_missing_file(tmp_path):
    with pytest.raises(ParameterError, match="--by must be one of"):
        batch.plan_units(SYNTH, "county")
    with pytest.raises(ReportError, match="cannot read the batch data"):
        batch.plan_units(tmp_path / "nope.parquet", "school")


def test_batch_runs_in_parallel_isolates_failures_and_caches(tmp_path, template):
    out = tmp_path / "run"
    units = _units(["Alfa skole", "Broken", "Beta skole", "Killed"])
    summary = batch.run_batch(units, out, template=template, jobs=2, progress=False)
    assert (summary.ok, summary.failed, summary.cached) == (2, 2, 0)
    manifest = json.loads((out / "manifest.json").read_text())
    rec = manifest["units"]
    broken = rec["school:Broken"]
    assert broken["status"] == "failed" and "planted failure" in broken["error"]
    assert broken["cell"] == 2  # the failing cell of the template
    assert Path(broken["failed_notebook"]).exists()
    assert rec["school:Killed"]["status"] == "failed"
    assert "Dead" in rec["school:Killed"]["error"] or "died" in rec["school:Killed"]["error"]
    for name in ("Alfa skole", "Beta skole"):
        r = rec[f"school:{name}"]
        assert r["status"] == "ok" and len(r["params_hash"]) == 64
        assert r["kernel"] == "forked"  # fresh kernels come from the workers' fork servers
        html = Path(r["outputs"]["html"]).read_text(encoding="utf-8")
        assert f"Brief for school {name} 2025" in html
        assert Path(r["outputs"]["pdf"]).read_bytes()[:4] == b"%PDF"
    # nothing half-written: no staging left, only complete outputs published
    assert not (out / ".staging").exists()
    published = sorted(p.name for p in (out / "briefs").iterdir())
    assert published == sorted(
        f"{s}_2025_nb.{ext}" for s in ("alfa-skole", "beta-skole") for ext in ("html", "pdf"))
    notebooks = sorted(p.name for p in (out / "notebooks").iterdir())
    assert notebooks == ["alfa-skole_2025_nb.ipynb", "beta-skole_2025_nb.ipynb"]

    # An unchanged rerun is all cached (except the failed units, which run again) ...
    t0 = time.perf_counter()
    ok_only = [u for u in units if u.unit in ("Alfa skole", "Beta skole")]
    again = batch.run_batch(ok_only, out, template=template, jobs=2, progress=False)
    assert (again.ok, again.failed, again.cached) == (0, 0, 2)
    assert time.perf_counter() - t0 < 2.0
    # ... --retry-failed reruns only the failed ones ...
    retry = batch.run_batch(units, out, template=template, jobs=2, progress=False,
                            retry_failed=True)
    assert retry.failed == 2 and retry.ok == 0
    ran = {k for k, r in retry.records.items() if r.get("pid")}
    assert {"school:Broken", "school:Killed"} <= ran
    # ... a change of the template invalidates the cache, --force too.
    _template(template, body="x = 1")
    changed = batch.run_batch(ok_only, out, template=template, jobs=2, progress=False)
    assert changed.ok == 2 and changed.cached == 0
    forced = batch.run_batch(ok_only[:1], out, template=template, jobs=1, progress=False,
                             force=True)
    assert forced.ok == 1


def test_cache_key_covers_data_params_template_and_dependencies(tmp_path, template):
    data = tmp_path / "d.parquet"
    pd.DataFrame({"wave": [2025], "school": ["A"]}).to_parquet(data)
    dep = tmp_path / "codebook.yml"
    dep.write_text("a: 1")
    params = {"data_path": str(data), "unit": "A"}
    key = batch.cache_key(params, template=template, dependencies=[dep])
    assert key == batch.cache_key(dict(params), template=template, dependencies=[dep])
    assert key != batch.cache_key({**params, "unit": "B"}, template=template, dependencies=[dep])
    dep.write_text("a: 2")
    key_dep = batch.cache_key(params, template=template, dependencies=[dep])
    assert key_dep != key
    pd.DataFrame({"wave": [2023], "school": ["A"]}).to_parquet(data)
    assert batch.cache_key(params, template=template, dependencies=[dep]) != key_dep


def test_interrupted_batch_resumes_without_redoing_finished_units(tmp_path, template):
    out = tmp_path / "run"
    script = tmp_path / "run_batch.py"
    script.write_text(textwrap.dedent(f"""
        from ssp_research import batch
        from ssp_research.core import fingerprint
        fingerprint.library_fingerprint = lambda: "library-under-test"
        units = [batch.Unit("school", n, {{"data_path": {str(SYNTH)!r}, "wave": 2025,
                 "lang": "nb", "unit_type": "school", "unit": n, "delay": d}})
                 for n, d in [("Fast skole", 0.0), ("Slow skole", 60.0)]]
        batch.run_batch(units, {str(out)!r}, template={str(template)!r}, jobs=2,
                        progress=False)
        """))
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    manifest = out / "manifest.json"
    deadline = time.time() + 60
    while time.time() < deadline:
        if manifest.exists() and "Fast skole" in manifest.read_text():
            break
        time.sleep(0.2)
    else:  # pragma: no cover
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the fast unit never finished")
    os.killpg(proc.pid, signal.SIGKILL)  # the whole batch dies, kernels included
    proc.wait()
    record = json.loads(manifest.read_text())["units"]["school:Fast skole"]
    assert record["status"] == "staged"  # finished, not yet published
    assert not (out / "briefs").exists()  # nothing was published by the dead batch
    units = _units(["Fast skole"], delay=0.0)
    resumed = batch.run_batch(units, out, template=template, jobs=1, progress=False)
    assert resumed.ok == 1
    assert resumed.records["school:Fast skole"].get("pid") == record["pid"]  # not rerun
    assert (out / "briefs" / "fast-skole_2025_nb.html").exists()


def test_audit_findings_block_publication(tmp_path):
    template = _template(tmp_path / "leaky.ipynb", body=(
        "import pandas as pd; from IPython.display import display; "
        "display(pd.DataFrame({'respondent_id': ['a%d' % i for i in range(30)], "
        "'lonely': [1.0] * 30}))"))
    out = tmp_path / "run"
    summary = batch.run_batch(_units(["Alfa skole"]), out, template=template, jobs=1,
                              progress=False)
    assert summary.failed == 1
    assert "audit" in summary.records["school:Alfa skole"]["error"]
    assert not (out / "briefs").exists() or not any((out / "briefs").iterdir())


def test_every_brief_gets_a_fresh_kernel_on_a_long_lived_worker(tmp_path):
    # one write: print's pieces can reach the notebook as two stream outputs under load
    template = _template(tmp_path / "fresh.ipynb", body=(
        "leak = globals().get('planted', None)\nplanted = unit\n"
        "print(f'leak: {leak} kernel: {os.getpid()}')"))
    out = tmp_path / "run"
    units = _units(["A skole", "B skole", "C skole"])
    summary = batch.run_batch(units, out, template=template, jobs=1, progress=False)
    assert summary.ok == 3
    assert len({r["pid"] for r in summary.records.values()}) == 1  # one worker
    assert {r["kernel"] for r in summary.records.values()} <= {"forked", "started"}
    kernels = set()
    for r in summary.records.values():
        html = Path(r["outputs"]["html"]).read_text(encoding="utf-8")
        assert re.findall(r"leak: [^ <\n]*", html) == ["leak: None"]
        kernels.update(re.findall(r"kernel: (\d+)", html))
    assert len(kernels) == 3  # a new kernel process for every brief
    with pytest.raises(ParameterError, match="mode"):
        batch.run_batch(units, out, template=template, mode="warm")


def test_dask_executor_on_a_local_cluster(tmp_path, template):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        summary = batch.run_batch(_units(["Alfa skole", "Broken"]), tmp_path / "run",
                                  template=template, executor="dask://" +
                                  address.split("://", 1)[1], progress=False)
    assert (summary.ok, summary.failed) == (1, 1)
    assert summary.records["school:Broken"]["status"] == "failed"
    with pytest.raises(ParameterError, match="dask://HOST:PORT"):
        batch_workers.make_executor("spark://x")
