"""A single brief's statistics, computed ahead while its kernel starts.

``ssp brief`` starts the brief's kernel and then waits: for about a second and a half the
kernel starts and imports, and the machine's other core is idle. Meanwhile,
:func:`compute` loads the same brief in the ``ssp brief`` process and computes what every
brief shows from the data (the indicator table, the trend tests, the unit's rows of the
protected publication, the pilot evaluation) and pickles them into the run's staging
folder; the kernel learns the file's name from ``SSP_BRIEF_STATS``. :func:`restore`, called
by :func:`ssp_research.brief.load` in the kernel, takes them when the file is there and was
computed for the same arguments, else the kernel computes them itself as always. The file
is private to one run (its staging folder), so it can never be stale; the figures are
drawn in the kernel as always. Batches do not use it: their workers keep both cores busy.

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
from pathlib import Path

__all__ = ["ENV", "load_arguments", "compute", "restore"]

ENV = "SSP_BRIEF_STATS"
#: The brief's cached properties that are computed ahead (``Brief.<name>``).
PROPERTIES = ("unit_mask", "indicator_names", "city", "district", "full_publication",
              "publication", "indicators", "latest", "trends")
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
    return json.dumps(args, sort_keys=True, default=str)


def compute(params: dict, path: Path) -> bool:
    """Load the brief of ``params``, compute its statistics and pickle them to ``path``.

    Returns False, and writes nothing, when the parameters are not a brief's or anything
    fails: the kernel then computes (and reports) everything itself.
    """
    args = load_arguments(params)
    if args is None:
        return False
    try:
        from ssp_research import brief, brief_pilot
        from ssp_research.atomic import write_atomic

        b = brief.load(**args)
        for name in PROPERTIES:
            getattr(b, name)
        brief_pilot.pilot_table(b)  # the pilot evaluation (in b.cache)
        payload = {"key": _key(args), "cache": dict(b.cache),
                   "properties": {n: b.__dict__[n] for n in PROPERTIES if n in b.__dict__}}
        data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        write_atomic(path, lambda tmp: tmp.write_bytes(data))
        return True
    except Exception:  # noqa: BLE001 - only a head start; the kernel reports any problem
        return False


def restore(b, args: dict) -> bool:
    """Give ``b`` the statistics :func:`compute` wrote for the same arguments, if any."""
    path = os.environ.get(ENV)
    if not path or not os.path.isfile(path):
        return False
    try:
        payload = pickle.loads(Path(path).read_bytes())
    except Exception:  # noqa: BLE001 - unreadable: compute as usual
        return False
    if payload.get("key") != _key(args):
        return False
    b.__dict__.update(payload["properties"])
    b.cache.update(payload["cache"])
    return True
