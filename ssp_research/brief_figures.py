"""A brief's figures, each rendered once: in its kernel, or ahead by ``ssp brief``.

After its imports, a single brief's kernel spends most of its time drawing figures (about
0.7 s of 1.1 s). ``ssp brief`` has the brief's statistics long before the kernel needs them
(:mod:`ssp_research.brief_stats`), and the machine's other core is then idle. So it renders
the brief's figures too, in the template's order, while the kernel runs the cells before
them. Each figure is rendered by whichever process claims it first: an exclusive create of
``<name>.claim`` in a folder private to the run (``SSP_BRIEF_FIGURES``). The other process
skips it (``ssp brief``) or waits for ``<name>.pkl`` (the kernel). ``ssp brief`` takes them
from the last and leaves the kernel the one it needs next (:func:`render_ahead`): nothing is
drawn twice, and the kernel waits only for a figure that ``ssp brief`` is still drawing.

A figure is drawn inside :func:`ssp_research.theme.rendering` (matplotlib's defaults plus
the theme, no pyplot), so either process gives the same PNG; tests check it. The kernel
takes a figure from ``ssp brief`` only when it was drawn for the same brief (unit, wave,
language, comparison, rules, data and publication: :func:`state`); else, and when ``ssp brief``
failed to draw it, the kernel draws it itself, so any error is reported in its cell. Outside
``ssp brief`` (JupyterLab, batches) :func:`show` just draws.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ssp_research.atomic import claim, wait_for_file, write_atomic

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ENV", "show", "bundle", "render", "render_ahead", "state"]

ENV = "SSP_BRIEF_FIGURES"
Bundle = tuple[dict, dict]  # a display bundle: (data, metadata), see theme.figure_bundle
_claimed_here: set[Path] = set()  # figures this kernel claimed: never waited for


def state(b) -> str:
    """What a brief's figures are drawn from, besides its statistics (which follow from it)."""
    return json.dumps([
        b.data_path, b.publication_path, b.unit_type, b.unit, b.wave, b.lang, b.comparison,
        b.comparison_name, b.pool, b.standardise, repr(b.rules), b.codebook.instrument,
        b.codebook.version, b.framework.name, len(b.data)], default=str)


def render(build: Callable[[], Figure | None]) -> Bundle | None:
    """Draw ``build()``'s figure inside :func:`ssp_research.theme.rendering` and return its
    display bundle (None when ``build`` draws nothing)."""
    from ssp_research import theme

    with theme.rendering():
        fig = build()
        return None if fig is None else theme.figure_bundle(fig)


def _wait(path: Path, timeout: float) -> dict | None:
    if not wait_for_file(path, timeout):
        return None
    try:
        return pickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - unreadable: the kernel draws it
        return None


def bundle(b, name: str, build: Callable[[], Figure | None], *,
           timeout: float = 120.0) -> Bundle | None:
    """The display bundle of the brief's figure ``name``: drawn by ``ssp brief`` ahead when
    it claimed it (waiting up to ``timeout`` seconds for it), else drawn here."""
    folder = os.environ.get(ENV)
    if not folder or not os.path.isdir(folder):
        return render(build)
    mark = Path(folder) / f"{name}.claim"
    if mark in _claimed_here or claim(mark):  # (a figure shown twice is drawn twice)
        _claimed_here.add(mark)
        return render(build)
    shared = _wait(Path(folder) / f"{name}.pkl", timeout)
    if shared is None or "bundle" not in shared or shared["state"] != state(b):
        return render(build)
    return shared["bundle"]


def show(b, name: str, build: Callable[[], Figure | None]) -> None:
    """Display the brief's figure ``name`` (see :func:`bundle`) with its alt text."""
    from IPython.display import display

    out = bundle(b, name, build)
    if out is not None:
        data, metadata = out
        display(data, raw=True, metadata=metadata)


def render_ahead(b, folder: Path, figures: Iterable[tuple[str, Callable[[], Figure | None]]],
                 *, stop: Callable[[], bool] = lambda: False) -> int:
    """Render each of ``figures`` (name, build; in the template's order) that the kernel has
    not claimed into ``folder``, until ``stop()``; a failure is written as such (the kernel
    then draws that figure and reports the error). Returns how many were rendered here.

    They are taken from the last: the kernel takes them from the first, so when this process
    is slow the two meet in the middle (from the first, the kernel would wait for every
    figure in turn behind a slow process). Once the kernel is drawing, the figure it will
    need next (no unclaimed figure before it) is left to it: the kernel waits for a figure
    only when it reaches one this process is still drawing.
    """
    figures = list(figures)
    names = [name for name, _ in figures]
    mine: set[str] = set()
    done = 0
    for i in reversed(range(len(figures))):
        name, build = figures[i]
        if stop():
            break
        claimed = {n for n in names if (folder / f"{n}.claim").exists()}
        if name in claimed:
            continue
        if claimed - mine and claimed.issuperset(names[:i]):
            break  # the kernel is drawing, and this is the figure it needs next
        if not claim(folder / f"{name}.claim"):
            continue
        mine.add(name)
        try:
            payload = {"state": state(b), "bundle": render(build)}
            done += 1
        except Exception as err:  # noqa: BLE001 - the kernel draws it and reports it
            payload = {"state": state(b), "error": f"{type(err).__name__}: {err}"}
        data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        write_atomic(folder / f"{name}.pkl", lambda tmp, data=data: tmp.write_bytes(data))
    return done
