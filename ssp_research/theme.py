"""The workbench's figure theme, alt texts and notebook display (used by :mod:`ssp_research.plots`).

Colours: the Okabe-Ito palette (safe for the common colour-vision deficiencies). The unit
is blue (``UNIT_COLOR``), its comparison orange (``COMPARISON_COLOR``), suppressed or
missing cells grey (``SUPPRESSED_COLOR``, text only: they are never drawn).

Alt text in notebooks and briefs
--------------------------------
Every figure function of :mod:`ssp_research.plots` attaches an alt text to its Axes
(:func:`set_alt_text`, read with :func:`alt_text`). Use :func:`show` instead of
``plt.show()`` in a notebook: it displays the figure as a PNG whose output metadata carries
the alt text, ``output.metadata["image/png"]["alt"]`` (and the same text as the output's
``text/plain``), then closes the figure. The brief exporter reads that key to write
``<img alt="...">``. Everything here is re-exported by :mod:`ssp_research.plots`.
"""

from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "PALETTE",
    "UNIT_COLOR",
    "COMPARISON_COLOR",
    "SUPPRESSED_COLOR",
    "OTHER_COLOR",
    "set_theme",
    "alt_text",
    "set_alt_text",
    "figure_bundle",
    "show",
]

#: Okabe & Ito (2008) colour-blind-safe palette (black last).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
UNIT_COLOR = PALETTE[0]
COMPARISON_COLOR = PALETTE[1]
SUPPRESSED_COLOR = "#999999"
OTHER_COLOR = "#B0B0B0"  # e.g. schools other than the highlighted one
_ALT_ATTR = "_ssp_alt_text"


def set_theme() -> None:
    """Apply the workbench theme (seaborn whitegrid, Okabe-Ito palette, no top/right spines).

    Examples
    --------
    >>> set_theme()
    >>> import matplotlib as mpl
    >>> mpl.colors.to_hex(mpl.rcParams["axes.prop_cycle"].by_key()["color"][0])
    '#0072b2'
    """
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette=PALETTE,
        rc={
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "font.family": "DejaVu Sans",
        },
    )


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
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    png = buf.getvalue()
    width, height = (int(v) for v in np.frombuffer(png[16:24], dtype=">u4"))
    data = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": description}
    meta = {"image/png": {"alt": description, "width": width * 2 // 3, "height": height * 2 // 3}}
    return data, meta


def show(obj: Axes | Figure, *, alt: str | None = None) -> None:
    """Display a figure in a notebook with its alt text in the output metadata, then close it.

    The output's ``metadata["image/png"]["alt"]`` holds the alt text (see module docs).
    """
    from IPython.display import display

    data, meta = figure_bundle(obj, alt=alt)
    display(data, raw=True, metadata=meta)
    plt.close(_figure(obj))
