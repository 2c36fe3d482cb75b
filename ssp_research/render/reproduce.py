"""Reproduce a published brief from the provenance stamp written inside it.

Every brief embeds its provenance (``<script type="application/json" id="ssp-provenance">``, see
:func:`ssp_research.render.provenance.provenance`): the data file and its sha256, the template and
its sha256, the code version and commit, package versions and every parameter. :func:`rerun` reads
that stamp, refuses when the data or template on this machine are not the ones the brief was made
from (a reproduction from other inputs would be a different brief), warns about differing code or
package versions, and runs the brief again with the same parameters. Figures and tables are
deterministic, so the new HTML equals the old one except for the creation time (:func:`differences`
shows any other difference).
"""

from __future__ import annotations

import difflib
import re
import warnings
from pathlib import Path

from ssp_research.core import paths
from ssp_research.core.errors import ReportError
from ssp_research.render import runner
from ssp_research.render.provenance import file_sha256, provenance, read_stamp

__all__ = ["rerun", "differences", "normalise"]

_VOLATILE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?")


def _template_path(stamp: dict) -> Path:
    name = stamp.get("template") or "evidence_brief.ipynb"
    candidates = [Path(name), paths.notebooks_dir() / "briefs" / name,
                  paths.notebooks_dir() / "studies" / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ReportError(f"the brief's template {name!r} is not in this checkout",
                      file=paths.notebooks_dir() / "briefs",
                      hint="check out the commit named in the brief's provenance "
                           f"({stamp.get('git_commit')})")


def rerun(brief: str | Path, *, out_dir: str | Path | None = None, pdf: bool = True,
          template: str | Path | None = None, data: str | Path | None = None):
    """Run a brief again from its provenance stamp.

    The reproduction carries the original's stamp time, so with the same data, template,
    code and package versions (the lock file's) it has the same bytes as the original.

    Parameters
    ----------
    brief : path
        A published HTML brief.
    out_dir : path, optional
        Where the reproduction goes (default ``<output>/rerun``); never over the original.
    template : path, optional
        The template, when it is not in ``notebooks/`` under the name the stamp gives (its
        sha256 must still match the stamp).
    data : path, optional
        The data file, when it is not where the stamp says: a brief names data outside the
        project by file name only (no local paths leave the machine); its sha256 must still
        match the stamp.

    Returns
    -------
    ssp_research.render.runner.BriefResult

    Raises
    ------
    ReportError
        The data file is missing or differs from the one the brief was made from (sha256),
        or the template differs.
    """
    stamp = read_stamp(brief)
    params = dict(stamp.get("parameters") or {})
    if data is not None:
        params["data_path"] = str(Path(data).resolve())
    data = params.get("data_path") or stamp.get("data_file")
    template = Path(template) if template is not None else _template_path(stamp)
    if data:
        data_path = paths.in_project(data)
        if not data_path.exists():
            raise ReportError("the brief's data file is not on this machine", file=data_path,
                              hint="restore the file the brief names (its sha256 is in the "
                                   "brief's provenance), or give it with --data PATH")
        have = file_sha256(data_path)
        if stamp.get("data_sha256") and have != stamp["data_sha256"]:
            raise ReportError(
                "the data file differs from the one the brief was made from", file=data_path,
                rule=f"sha256 {stamp['data_sha256'][:12]}... expected, {have[:12]}... found",
                hint="restore that version of the data (a rerun on other data is a new "
                     "brief: use `ssp brief`)")
    if stamp.get("template_sha256") and file_sha256(template) != stamp["template_sha256"]:
        raise ReportError("the template differs from the one the brief was made from",
                          file=template, hint="check out the commit named in the provenance "
                                              f"({stamp.get('git_commit')})")
    now = provenance(params, data or "", template)
    for key in ("code_version", "git_commit", "python"):
        if stamp.get(key) != now.get(key):
            warnings.warn(f"{key} differs: brief {stamp.get(key)!r}, here {now.get(key)!r}",
                          stacklevel=2)
    changed = {k: (v, now["packages"].get(k)) for k, v in (stamp.get("packages") or {}).items()
               if now["packages"].get(k) != v}
    if changed:
        warnings.warn(f"package versions differ (brief, here): {changed}", stacklevel=2)
    out_dir = Path(out_dir) if out_dir is not None else paths.output_dir() / "rerun"
    if out_dir.resolve() == Path(brief).resolve().parent:
        raise ReportError("the reproduction would overwrite the original brief", file=brief,
                          hint="choose another --out folder")
    # the original's time in the stamp: same inputs and versions give the same bytes
    return runner.run_brief(params, template=template, out_dir=out_dir, pdf=pdf,
                            created_utc=stamp.get("created_utc"))


def normalise(html_text: str) -> str:
    """The brief's HTML with its timestamps replaced (what must match in a reproduction)."""
    return _VOLATILE.sub("<time>", html_text)


def differences(original: str | Path, reproduced: str | Path, *, context: int = 1) -> list[str]:
    """Lines that differ between two briefs once timestamps are set aside (empty: identical)."""
    a = normalise(Path(original).read_text(encoding="utf-8")).splitlines()
    b = normalise(Path(reproduced).read_text(encoding="utf-8")).splitlines()
    return [line for line in difflib.unified_diff(a, b, "original", "reproduced", n=context,
                                                  lineterm="")]
