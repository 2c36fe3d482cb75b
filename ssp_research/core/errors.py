"""Named exceptions of the workbench.

Every error says *where* (file, row, column), *which rule* was broken and *what to do*,
so that a researcher or a scheduler can fix the input without reading the code.

Examples
--------
>>> err = DataError("value 7 is not an allowed code", file="wave2023.csv", row=12,
...                 column="lonely", rule="codes 1-4",
...                 hint="fix the export or add the code to the codebook")
>>> print(err)
value 7 is not an allowed code [file: wave2023.csv, row: 12, column: lonely, rule: codes 1-4]
  What to do: fix the export or add the code to the codebook
"""

from __future__ import annotations

__all__ = [
    "plain",
    "SSPError",
    "DataError",
    "CodebookError",
    "DesignError",
    "EstimationError",
    "DisclosureError",
    "ParameterError",
    "ReportError",
]


def plain(value: object) -> str:
    """A value as a message shows it: ``3``, ``2.5``, ``'Jente'`` (not ``np.float64(3.0)``).

    Examples
    --------
    >>> import numpy as np
    >>> plain(np.float64(3.0)), plain(np.int64(7)), plain(2.5), plain("x"), plain(None)
    ('3', '7', '2.5', "'x'", 'missing')
    """
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()  # numpy scalar -> Python (numpy itself is not imported here)
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "missing"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return repr(value)
    return str(value)


class SSPError(Exception):
    """Base class of all workbench errors: a message plus where, which rule and what to do."""

    def __init__(
        self,
        message: str,
        *,
        file: object | None = None,
        row: object | None = None,
        column: object | None = None,
        rule: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.rule = rule
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = [
            f"{name}: {value}"
            for name, value in (
                ("file", self.file),
                ("row", self.row),
                ("column", self.column),
                ("rule", self.rule),
            )
            if value is not None
        ]
        text = self.message
        if where:
            text += " [" + ", ".join(where) + "]"
        if self.hint:
            text += f"\n  What to do: {self.hint}"
        return text


class DataError(SSPError):
    """A data file or frame that cannot be used as it is (unreadable, empty, bad values)."""


class CodebookError(SSPError):
    """A codebook (YAML) that is invalid, or that does not fit the data."""


class DesignError(SSPError):
    """A survey design that cannot be built (weights, strata, PSUs, lonely PSUs)."""


class EstimationError(SSPError):
    """An estimate that cannot be computed as asked (unknown variable, bad method)."""


class DisclosureError(SSPError):
    """An output that would reveal a small group, or a failed disclosure audit."""


class ParameterError(SSPError):
    """Notebook or command parameters that are unknown or of the wrong type."""


class ReportError(SSPError):
    """A brief that failed to execute, export or publish."""
