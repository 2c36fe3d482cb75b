"""The workbench's figure theme, alt texts and notebook display (used by
:mod:`ssp_research.brief.plots`).

Colours: the Okabe-Ito palette (safe for the common colour-vision deficiencies). The unit
is blue (``UNIT_COLOR``), its comparison orange (``COMPARISON_COLOR``), suppressed or
missing cells grey (``SUPPRESSED_COLOR``, text only: they are never drawn).

Alt text in notebooks and briefs
--------------------------------
Every figure function of :mod:`ssp_research.brief.plots` attaches an alt text to its Axes
(:func:`set_alt_text`, read with :func:`alt_text`). Use :func:`show` instead of
``plt.show()`` in a notebook: it displays the figure as a PNG whose output metadata carries
the alt text, ``output.metadata["image/png"]["alt"]`` (and the same text as the output's
``text/plain``), then closes the figure. The brief exporter reads that key to write
``<img alt="...">``. Everything here is re-exported by :mod:`ssp_research.brief.plots`.
"""

from __future__ import annotations

import base64
import io
from contextlib import contextmanager
from contextvars import ContextVar

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb, to_rgba
from matplotlib.figure import Figure
from PIL import Image, PngImagePlugin  # noqa: F401 - every figure is saved as PNG

__all__ = [
    "PALETTE",
    "UNIT_COLOR",
    "COMPARISON_COLOR",
    "SUPPRESSED_COLOR",
    "OTHER_COLOR",
    "set_theme",
    "rendering",
    "new_figure",
    "alt_text",
    "set_alt_text",
    "figure_bundle",
    "show",
    "show_rendered",
]

#: Okabe & Ito (2008) colour-blind-safe palette (black last).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
UNIT_COLOR = PALETTE[0]
COMPARISON_COLOR = PALETTE[1]
SUPPRESSED_COLOR = "#999999"
OTHER_COLOR = "#B0B0B0"  # e.g. schools other than the highlighted one
_ALT_ATTR = "_ssp_alt_text"

#: What ``seaborn.set_theme(context="notebook", style="whitegrid", palette=PALETTE, rc=...)``
#: sets (seaborn 0.13), written out so that a brief does not import seaborn (~0.4 s: it pulls
#: in urllib and ssl); ``image.cmap`` ("rocket", a seaborn colormap) is left alone: no figure
#: here uses a colormap. tests/test_plots.py checks it against seaborn.
_RC = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.facecolor": "white",
    "axes.grid": True, "axes.labelcolor": ".15", "axes.labelsize": 12, "axes.linewidth": 1.25,
    "axes.spines.bottom": True, "axes.spines.left": True, "axes.titlesize": 12,
    "figure.facecolor": "white", "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans",
                                                     "Bitstream Vera Sans", "sans-serif"],
    "font.size": 12, "grid.color": ".8", "grid.linestyle": "-", "grid.linewidth": 1,
    "legend.fontsize": 11, "legend.title_fontsize": 12, "lines.linewidth": 1.5,
    "lines.markersize": 6, "lines.solid_capstyle": "round", "patch.edgecolor": "w",
    "patch.force_edgecolor": True, "patch.linewidth": 1, "text.color": ".15",
    "xtick.bottom": False, "xtick.color": ".15", "xtick.direction": "out",
    "xtick.labelsize": 11, "xtick.major.size": 6, "xtick.major.width": 1.25,
    "xtick.minor.size": 4, "xtick.minor.width": 1, "xtick.top": False, "ytick.color": ".15",
    "ytick.direction": "out", "ytick.labelsize": 11, "ytick.left": False,
    "ytick.major.size": 6, "ytick.major.width": 1.25, "ytick.minor.size": 4,
    "ytick.minor.width": 1, "ytick.right": False,
    # the workbench's own settings (seaborn's rc= argument)
    "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100,
    "savefig.dpi": 150, "savefig.bbox": "tight", "font.family": "DejaVu Sans",
}


def set_theme() -> None:
    """Apply the workbench theme (seaborn whitegrid, Okabe-Ito palette, no top/right spines).

    Examples
    --------
    >>> set_theme()
    >>> import matplotlib as mpl
    >>> mpl.colors.to_hex(mpl.rcParams["axes.prop_cycle"].by_key()["color"][0])
    '#0072b2'
    """
    mpl.rcParams.update(_RC)
    mpl.rcParams["axes.prop_cycle"] = cycler(color=[to_rgb(c) for c in PALETTE])


#: rcParams that are not about how a figure looks (left as they are by :func:`rendering`)
_NOT_LOOKS = ("backend", "interactive", "webagg", "toolbar", "savefig.directory", "timezone")
_DETACHED: ContextVar[bool] = ContextVar("ssp_detached_figures", default=False)


@contextmanager
def rendering():
    """Draw figures exactly the same way in any process: inside, rcParams are matplotlib's
    own defaults (not a user's ``matplotlibrc`` or earlier changes) plus the theme, and
    :func:`new_figure` makes figures outside pyplot (no backend, safe in a thread).

    A brief's figures are made inside it (:func:`show_rendered`), so that a brief gives the
    same PNG bytes in a notebook session, a fresh kernel or a batch worker, whatever was
    changed before. rcParams are restored on exit.

    Examples
    --------
    >>> before, figures = mpl.rcParams["lines.linewidth"], plt.get_fignums()
    >>> mpl.rcParams["lines.linewidth"] = 3.0  # e.g. a user's matplotlibrc
    >>> with rendering():
    ...     fig = new_figure((2, 1))
    ...     mpl.rcParams["lines.linewidth"], plt.get_fignums() == figures  # not in pyplot
    (1.5, True)
    >>> mpl.rcParams["lines.linewidth"]
    3.0
    >>> mpl.rcParams["lines.linewidth"] = before
    """
    rc = {k: v for k, v in mpl.rcParamsDefault.items() if not k.startswith(_NOT_LOOKS)}
    rc.update(_RC)
    rc["axes.prop_cycle"] = cycler(color=[to_rgb(c) for c in PALETTE])
    token = _DETACHED.set(True)
    try:
        with mpl.rc_context(rc):
            yield
    finally:
        _DETACHED.reset(token)


def new_figure(figsize: tuple[float, float], **kwargs) -> Figure:
    """A new figure: a pyplot figure, or inside :func:`rendering` one that pyplot does not
    know (closed by the garbage collector)."""
    if _DETACHED.get():
        return Figure(figsize=figsize, **kwargs)
    return plt.figure(figsize=figsize, **kwargs)


# --- alt text and display ----------------------------------------------------------------------


def set_alt_text(obj: Axes | Figure, description: str) -> None:
    """Attach an alt text to an Axes (and its figure) or to a Figure."""
    setattr(obj, _ALT_ATTR, str(description))


def alt_text(obj: Axes | Figure) -> str:
    """The alt text of an Axes, or of a Figure (its own, else its Axes' texts joined).

    Returns "" when none was set.
    """
    own = getattr(obj, _ALT_ATTR, None)
    if own:
        return own
    if isinstance(obj, Figure):
        return " ".join(t for t in (getattr(a, _ALT_ATTR, "") for a in obj.axes) if t)
    return ""


def _figure(obj: Axes | Figure) -> Figure:
    return obj if isinstance(obj, Figure) else obj.figure


def figure_bundle(obj: Axes | Figure, *, alt: str | None = None) -> tuple[dict, dict]:
    """The notebook display bundle of a figure: ``(data, metadata)``.

    ``data`` has ``image/png`` (base64 text) and ``text/plain`` (the alt text); ``metadata``
    is ``{"image/png": {"alt": ..., "width": ..., "height": ...}}`` (width/height in CSS px).

    Examples
    --------
    >>> fig, ax = plt.subplots(figsize=(2, 1))
    >>> set_alt_text(ax, "An empty test figure.")
    >>> data, meta = figure_bundle(ax)
    >>> meta["image/png"]["alt"], data["text/plain"]
    ('An empty test figure.', 'An empty test figure.')
    >>> plt.close(fig)
    """
    fig = _figure(obj)
    description = alt if alt is not None else alt_text(obj) or alt_text(fig)
    png = _tight_png(fig)
    width, height = (int(v) for v in np.frombuffer(png[16:24], dtype=">u4"))
    data = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": description}
    meta = {"image/png": {"alt": description, "width": width * 2 // 3, "height": height * 2 // 3}}
    return data, meta


def _content_box(rgba: np.ndarray, face: np.ndarray) -> tuple[int, int, int, int] | None:
    """Rows and columns ``(top, bottom, left, right)`` (end-exclusive) of the pixels that are
    not the background; None when nothing is drawn or a drawn pixel touches the canvas edge
    (something may have been clipped there)."""
    height, width = rgba.shape[:2]
    pixels = np.ascontiguousarray(rgba).view(np.uint32)[..., 0]
    drawn = pixels != np.ascontiguousarray(face).view(np.uint32)[0]
    rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    if (not len(rows) or rows[0] == 0 or rows[-1] == height - 1 or cols[0] == 0
            or cols[-1] == width - 1):
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _tight_png(fig: Figure, *, dpi: int = 150, pad: float = 0.1) -> bytes:
    """The figure as PNG, cropped to what is drawn, plus ``pad`` inches of background.

    ``savefig(bbox_inches="tight")`` draws the figure twice (once to measure, once to
    render; with constrained layout, the layout is solved twice too). Here it is drawn once
    at ``dpi`` and the rendered pixels are cropped to the drawn ones (not the background
    colour), padded with the background. When a drawn pixel touches the canvas edge,
    something may lie beyond it: the artists' tight box is measured, and when it reaches
    outside the canvas, ``savefig`` renders that box once more (two draws in all, as
    ``savefig`` alone). The result is RGB when fully opaque (smaller, and the PDF embeds it
    as it is). Deterministic (no ``Software`` or time metadata).
    """
    old_dpi, old_canvas = fig.dpi, fig.canvas
    canvas = FigureCanvasAgg(fig)
    face = np.round(np.asarray(to_rgba(fig.get_facecolor())) * 255).astype(np.uint8)
    pad_px = int(round(pad * dpi))
    try:
        fig.dpi = dpi
        canvas.draw()
        rgba = np.asarray(canvas.buffer_rgba())
        height, width = rgba.shape[:2]
        box_px = _content_box(rgba, face)
        if box_px is None:  # measure the artists: is anything beyond the canvas?
            box = fig.get_tightbbox(canvas.get_renderer())  # inches
            if (box.x0 >= 0 and box.y0 >= 0 and box.x1 * dpi <= width
                    and box.y1 * dpi <= height):
                top = round(height - box.y1 * dpi)
                box_px = (top, top + int(box.height * dpi), round(box.x0 * dpi),
                          round(box.x0 * dpi) + int(box.width * dpi))
        if box_px is not None:
            top, bottom, left, right = box_px
            out = np.empty((bottom - top + 2 * pad_px, right - left + 2 * pad_px, 4),
                           dtype=np.uint8)
            out[...] = face
            sy = slice(max(top, 0), min(bottom, height))
            sx = slice(max(left, 0), min(right, width))
            out[sy.start - top + pad_px:sy.stop - top + pad_px,
                sx.start - left + pad_px:sx.stop - left + pad_px] = rgba[sy, sx]
    finally:
        fig.set_dpi(old_dpi)
        fig.set_canvas(old_canvas)
    if box_px is None:
        # Drawn beyond the canvas: savefig renders the measured box (no second measuring
        # draw; the layout engine is off for it, as savefig itself does after its measuring
        # draw).
        buf = io.BytesIO()
        engine = fig.get_layout_engine()
        fig.set_layout_engine(None)
        try:
            fig.savefig(buf, format="png", dpi=dpi, bbox_inches=box.padded(pad),
                        metadata={"Software": None})
        finally:
            if engine is not None:
                fig.set_layout_engine(engine)
        out = np.asarray(Image.open(buf).convert("RGBA"))
    if (out[..., 3] == 255).all():  # opaque: RGB (smaller; the PDF embeds it as it is)
        out = out[..., :3]
    buf = io.BytesIO()
    # zlib level 1: 30 % faster than the default 6 for these flat-colour figures, ~10 % larger
    Image.fromarray(np.ascontiguousarray(out)).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def show(obj: Axes | Figure, *, alt: str | None = None, title: str | None = None,
         caption: str | None = None, data_html: str | None = None) -> None:
    """Display a figure in a notebook with its alt text in the output metadata, then close it.

    The output's ``metadata["image/png"]["alt"]`` holds the alt text (see module docs).
    ``title`` and ``caption`` go to ``metadata["ssp"]``: the brief exporter writes the figure
    as ``<figure>`` with a numbered ``<figcaption>`` ("Figur 2. Title. Caption").
    ``data_html`` (a protected table, :func:`ssp_research.disclosure.to_html`) is shown
    right after the figure, folded ("Tallene i figuren"): the figure's numbers for
    screen readers and anyone who wants them, so the alt text can stay short.
    """
    from IPython.display import HTML, display

    data, meta = figure_bundle(obj, alt=alt)
    if title or caption:
        meta["ssp"] = {"title": title or "", "caption": caption or ""}
    display(data, raw=True, metadata=meta)
    plt.close(_figure(obj))
    if data_html:
        display(HTML(data_html))


def show_rendered(build, *, alt: str | None = None, title: str | None = None,
                  caption: str | None = None, data_html: str | None = None) -> None:
    """Draw ``build()``'s figure inside :func:`rendering` and :func:`show` it with ``alt``,
    ``title``, ``caption`` and ``data_html`` (see :func:`show`); nothing when ``build``
    returns None (a section with nothing to draw).

    Examples
    --------
    >>> show_rendered(lambda: None)  # nothing to draw, nothing shown
    """
    with rendering():
        fig = build()
        if fig is not None:
            show(fig, alt=alt, title=title, caption=caption, data_html=data_html)
