"""A single brief's statistics, computed ahead while its kernel starts.

``ssp brief`` starts the brief's kernel and then waits: for about a second and a half the
kernel starts and imports, and the machine's other core is idle. Meanwhile,
:func:`compute` loads the same brief in the ``ssp brief`` process and computes what every
brief shows from the data (the indicator table, the trend tests, the unit's rows of the
protected publication, the pilot evaluation) and pickles them into the run's staging
folder; the kernel learns the file's name from ``SSP_BRIEF_STATS``. Whoever starts first
claims the work: :func:`restore`, called by :func:`ssp_research.brief.load` in the kernel,
waits for the file when :func:`compute` claimed it, and takes the statistics when they were
computed for the same arguments; else the kernel computes them itself as always. The file
is private to one run (its staging folder), so it can never be stale. ``ssp brief`` then
renders the template's figures (:func:`figures`) that the kernel has not yet claimed
(:mod:`ssp_research.brief_figures`). Batches do not use it: their workers keep both cores
busy.

Examples
--------
>>> load_arguments({"data_path": "d.parquet", "unit": "X", "disclosure": {"min_n": 12},
...                 "template": "t.ipynb"})["disclosure_rules"]
{'min_n': 12}
>>> load_arguments({"unit": "X"}) is None  # not a brief's parameters
True
"""

from __future__ import annotations

import json
import os
import pickle
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["ENV", "load_arguments", "figures", "compute", "restore"]

ENV = "SSP_BRIEF_STATS"
#: The brief's cached properties that are computed ahead (``Brief.<name>``).
PROPERTIES = ("unit_mask", "indicator_names", "city", "district", "full_publication",
              "publication", "indicators", "latest", "trends")
_computing = threading.local()  # compute's own load must not wait for compute
_claimed_here: set[str] = set()  # statistics this kernel claimed: never waited for
_ARGUMENTS = ("data_path", "instrument", "framework", "unit_type", "unit", "wave",
              "comparison", "lang", "pool", "standardise", "publication_path")


def load_arguments(params: dict) -> dict | None:
    """The :func:`ssp_research.brief.load` arguments of a brief's parameters (None when the
    template is not such a brief)."""
    if not all(name in params for name in ("data_path", "unit")):
        return None
    args = {name: params[name] for name in _ARGUMENTS if name in params}
    args["disclosure_rules"] = params.get("disclosure") or {}
    return args


def _key(args: dict) -> str:
    """The arguments of a :func:`ssp_research.brief.load` call with its defaults filled in
    (a template may leave some out, e.g. the pilot evaluation's ``comparison``)."""
    import inspect

    from ssp_research import brief

    full = {name: p.default for name, p in inspect.signature(brief.load).parameters.items()}
    full.update(args)
    full["disclosure_rules"] = full.get("disclosure_rules") or {}
    return json.dumps(full, sort_keys=True, default=str)


def figures(b) -> list[tuple[str, Callable]]:
    """The figures of the brief template, in its order: (name, build) for
    :func:`ssp_research.brief_figures.render_ahead`."""
    from ssp_research import brief_gaps, brief_pilot, brief_sections

    return [("trends-2", lambda: brief_sections.trends_figure(b, ncols=2)),
            *((f"gaps-{by}", lambda by=by: brief_gaps.gaps_figure(b, by))
              for by in ("gender", "grade", "family_economy")),
            ("pilot-lonely", lambda: brief_pilot.pilot_figure(b, "lonely"))]


def compute(params: dict, path: Path):
    """Load the brief of ``params``, compute its statistics and pickle them to ``path``.

    Returns the brief (with its statistics), or None when the parameters are not a brief's,
    anything fails, or the kernel got there first. The work is claimed first
    (``<path>.claim``, once the modules are imported): the kernel waits for the statistics
    only when this process claimed them (and then always gets ``path``, or that it failed),
    and computes them itself when it got there first (it is then ahead of this process, and
    draws the figures too).
    """
    args = load_arguments(params)
    if args is None:
        return None
    from ssp_research.atomic import claim, write_atomic

    try:
        from ssp_research import brief, brief_pilot
    except Exception:  # noqa: BLE001 - the kernel reports any problem
        return None
    if not claim(f"{path}.claim"):
        return None
    payload: dict = {"key": _key(args), "failed": True}
    b = None
    try:
        _computing.active = True
        try:
            b = brief.load(**args)
        finally:
            _computing.active = False
        for name in PROPERTIES:
            getattr(b, name)
        brief_pilot.pilot_table(b)  # the pilot evaluation (in b.cache)
        payload = {"key": _key(args), "cache": dict(b.cache), "properties": {
            n: b.__dict__[n] for n in PROPERTIES if n in b.__dict__}}
    except Exception:  # noqa: BLE001 - only a head start; the kernel reports any problem
        b = None
    finally:
        try:
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - e.g. an unpicklable cache entry
            data = pickle.dumps({"key": payload["key"], "failed": True})
        write_atomic(path, lambda tmp: tmp.write_bytes(data))
    return b


def restore(b, args: dict, *, timeout: float = 600.0) -> bool:
    """Give ``b`` the statistics :func:`compute` wrote for the same arguments, if any.

    Waits for them (up to ``timeout`` seconds) when :func:`compute` claimed them; when it
    has not, claims them, so that the kernel computes them itself at once.
    """
    from ssp_research.atomic import claim, wait_for_file

    path = os.environ.get(ENV)
    if not path or getattr(_computing, "active", False):  # (compute's own load)
        return False
    if path in _claimed_here or claim(f"{path}.claim"):
        _claimed_here.add(path)  # (a second load here computes them again, at once)
        return False  # ssp brief is not computing them (or its run is over)
    if not wait_for_file(path, timeout):
        return False
    try:
        payload = pickle.loads(Path(path).read_bytes())
    except Exception:  # noqa: BLE001 - unreadable: compute as usual
        return False
    if payload.get("failed") or payload.get("key") != _key(args):
        return False
    b.__dict__.update(payload["properties"])
    b.cache.update(payload["cache"])
    return True
