"""A single brief's work done in the ``ssp brief`` process while its kernel runs.

:func:`ssp_research.report.run_brief` starts the brief's kernel and then has nothing to do
until it ends, while the machine's other core is idle. :class:`Ahead` uses it: it checks
(or builds) the city's protected publication, computes the brief's statistics
(:mod:`ssp_research.brief_stats`), loads the exporters and draws the figures the kernel has
not reached yet (:mod:`ssp_research.brief_figures`). The kernel takes what is ready and does
the rest itself; the outputs are the same either way.
"""

from __future__ import annotations

import threading
from pathlib import Path

import nbformat

from ssp_research import paths
from ssp_research.errors import DataError
from ssp_research.export import atomic_write, export_html, export_pdf

__all__ = ["Ahead", "city_unit", "prewarm_exporters"]

_UNIT_COLUMNS = {"district": "district", "school": "school"}


def city_unit(params: dict, template: Path):
    """The batch unit of the brief's city (None for a unit not in the data)."""
    from types import SimpleNamespace

    import pyarrow.parquet as pq

    from ssp_research.report import resolve_data_path

    city = params.get("unit")
    if params["unit_type"] != "city":
        path = resolve_data_path(params["data_path"])
        column = _UNIT_COLUMNS[params["unit_type"]]
        try:
            frame = pq.read_table(path, columns=["municipality", column]).to_pandas()
        except Exception as err:  # noqa: BLE001 - a missing column, an unreadable file
            raise DataError(f"cannot read the brief's units: {err}".splitlines()[0], file=path,
                            column=column, rule="tidy data have 'municipality' and the "
                            "unit's column", hint="see docs/synthetic_data.md") from None
        rows = frame[frame[_UNIT_COLUMNS[params["unit_type"]]] == params["unit"]]
        if rows.empty:
            return None  # the notebook reports the unknown unit with the valid ones
        city = str(rows["municipality"].iloc[0])
    return SimpleNamespace(unit_type="city", unit=city, params={
        **params, "unit_type": "city", "unit": city, "template": str(template)})


class Ahead(threading.Thread):
    """Work for the brief done in this process while its kernel starts and runs.

    In order: the city's publication (when ``build``: reused when current, else built,
    without the unit tables); when ``stats``, the brief's statistics
    (:mod:`ssp_research.brief_stats`) unless the kernel got to them first; the exporters
    (:func:`prewarm_exporters`, at once when already loaded); then the figures that the
    kernel has not yet claimed (:mod:`ssp_research.brief_figures`), until ``done`` is set;
    last, the unit tables of the city's publication. The kernel is told through its environment:
    ``SSP_PUBLICATION_READY`` names a file written when the publication is in place ("ok",
    or "failed: ..."; :func:`ssp_research.brief.load` waits for it), ``SSP_BRIEF_STATS`` the
    statistics file and ``SSP_BRIEF_FIGURES`` the figures' folder.
    """

    def __init__(self, params: dict, template: Path, stage: Path, *, build: bool,
                 stats: bool):
        super().__init__(daemon=True)
        self.params, self.template, self.build, self.error = params, template, build, None
        self.ready, self.stats = stage / "publication.ready", (stage / "stats.pkl"
                                                                  if stats else None)
        self.figures = stage / "figures"
        self.done = threading.Event()  # the kernel has finished: render no more figures

    def environment(self) -> dict:
        env = {"SSP_PUBLICATION_READY": str(self.ready)} if self.build else {}
        if self.stats is not None:
            self.figures.mkdir(exist_ok=True)
            env["SSP_BRIEF_STATS"] = str(self.stats)
            env["SSP_BRIEF_FIGURES"] = str(self.figures)
        return env

    def finish(self) -> None:
        """The kernel is done: draw no more figures, and wait for the work in hand."""
        self.done.set()
        self.join()

    def run(self) -> None:
        from threadpoolctl import threadpool_limits

        # One BLAS thread: the kernel has the other core (two BLAS threads here would spin
        # against it: the statistics took 0.4-1.6 s instead of 0.3 s).
        with threadpool_limits(limits=1):
            self._run()

    def _run(self) -> None:
        from ssp_research import publication_cache

        unit = None
        if self.build:
            try:  # one process: forking a pool from this thread is not safe
                unit = city_unit(self.params, self.template)
                if unit is not None:  # (else the kernel reports the unknown unit)
                    publication_cache.prepare_publication(
                        [unit], paths.output_dir() / "cache", jobs=1, unit_tables=False)
            except BaseException as err:  # noqa: BLE001 - re-raised by run_brief
                self.error = err
                atomic_write(self.ready, f"failed: {type(err).__name__}: {err}")
                return
            atomic_write(self.ready, "ok")
        b = None
        if self.stats is not None:
            from ssp_research import brief_figures, brief_stats

            b = brief_stats.compute(self.params, self.stats)
        # The exporters are needed last. In a new process loading them takes about a second:
        # the kernel then draws most figures itself. Else they are loaded already.
        prewarm_exporters()
        if b is not None:
            brief_figures.render_ahead(b, self.figures, brief_stats.figures(b),
                                       stop=self.done.is_set)
        if unit is not None:
            # Last, off the brief's path: the indicator tables of every unit of the city,
            # which later briefs read (written once per inputs; at once when they are).
            try:
                publication_cache.prepare_publication([unit], paths.output_dir() / "cache",
                                                      jobs=1)
            except Exception:  # noqa: BLE001 - a cache: the next brief or batch retries, and reports
                pass


_exporters_ready = False


def prewarm_exporters() -> None:
    """Import and set up the HTML/PDF exporters and the audit, once per process (the first
    use costs ~1 s)."""
    global _exporters_ready
    if _exporters_ready:
        return
    try:  # an empty brief, as HTML and as PDF (weasyprint loads its fonts on first use)
        export_pdf(export_html(nbformat.v4.new_notebook(), "nb", {}))
        import ssp_research.audit  # noqa: F401
    except Exception:  # noqa: BLE001 - only a speed-up; the real call reports any problem
        return
    _exporters_ready = True
