"""The LP solver (HiGHS) prints nothing into terminals and notebooks.

``highspy.Highs()`` prints "Running HiGHS ... Copyright" from C, once per process, so the
checks read the file descriptors (capfd) and run the protection paths in a fresh process too
(in this process an earlier test may already have constructed a solver).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd

from ssp_research.analysis import indicator_table
from ssp_research.core import paths
from ssp_research.disclosure.release import release_table

DATA = paths.synthetic_dir() / "trondheim.parquet"

#: both LP paths: the secondary suppression of one table and the release system's intruder LP
SCRIPT = textwrap.dedent(f"""
    import sys
    import numpy as np
    import pandas as pd
    from ssp_research.analysis import indicator_table
    from ssp_research.disclosure import protect
    from ssp_research.disclosure.release import release_table

    n, c = [72, 32, 40], [12, 2, 10]
    table = pd.DataFrame({{"variable": "lonely", "gender": ["all", "girl", "boy"],
                          "estimate": np.array(c) / np.array(n), "se": 0.05, "ci_low": 0.0,
                          "ci_high": 1.0, "df": np.array(n) - 1, "n": n, "count": c}})
    out = protect(table, series_by=())
    print("secondary:", out["reason"].tolist(), flush=True)
    data = pd.read_parquet({str(DATA)!r})
    by_school = indicator_table(data, "ungdata", indicators=["lonely"],
                                unit=["school", "gender"], compare=None, waves=[2025])
    released = release_table(by_school, data, ledger_dir=sys.argv[1], kind="study")
    print("release hidden:", int(released["suppressed"].sum()), flush=True)
""")


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, check=True, cwd=paths.PROJECT_DIR)


def test_a_bare_highs_solver_prints_the_banner():
    """The control: this highspy prints its banner from C, and the check below would see it."""
    done = _run("import highspy; highspy.Highs(); print('made')")
    assert "Running HiGHS" in done.stdout + done.stderr and "made" in done.stdout


def test_the_protection_paths_print_no_banner_in_a_fresh_process(tmp_path):
    done = _run(SCRIPT, str(tmp_path))
    assert "secondary: [None, 'count', 'secondary']" in done.stdout  # the LP ran
    hidden = int(done.stdout.split("release hidden:")[1].split()[0])
    assert hidden > 0
    assert "HiGHS" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_a_release_prints_nothing(tmp_path, capfd):
    data = pd.read_parquet(DATA)
    by_school = indicator_table(data, "ungdata", indicators=["lonely"],
                                unit=["school", "gender"], compare=None, waves=[2025])
    capfd.readouterr()
    released = release_table(by_school, data, ledger_dir=tmp_path, kind="study")
    captured = capfd.readouterr()
    assert released["suppressed"].any()  # the intruder's LP ran
    assert "HiGHS" not in captured.out + captured.err
