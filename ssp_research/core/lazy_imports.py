"""Put off a slow import of a dependency until it is used.

Every brief run imports nbformat, and nbformat imports jsonschema, which imports
``rfc3987_syntax`` whenever it is installed (jupyterlab's ``jsonschema[format-nongpl]``
brings it). ``rfc3987_syntax`` builds about 35 Lark parsers when imported: 0.7 s of every
``ssp brief`` and ``ssp batch`` on this machine, for two formats ("iri",
"iri-reference") that no notebook schema uses. Upstream: python-jsonschema/jsonschema#1428
(lazy import, closed) and #1521 (a lazily loading fork, not merged).

:func:`defer_rfc3987_syntax` puts a stand-in module in its place whose functions and
attributes load the real module on first use, so validation is unchanged.
"""

from __future__ import annotations

__all__ = ["defer_rfc3987_syntax"]

import importlib
import importlib.util
import sys
import types

_NAME = "rfc3987_syntax"


def defer_rfc3987_syntax() -> None:
    """Install the stand-in, unless the module is loaded already or not installed."""
    if _NAME in sys.modules or importlib.util.find_spec(_NAME) is None:
        return
    stand_in = types.ModuleType(_NAME, "stand-in: loads rfc3987_syntax on first use")

    def real() -> types.ModuleType:
        if sys.modules.get(_NAME) is stand_in:
            del sys.modules[_NAME]
        return importlib.import_module(_NAME)

    def is_valid_syntax(*args, **kwargs):  # what jsonschema imports from it
        return real().is_valid_syntax(*args, **kwargs)

    def attribute(name: str):
        if name.startswith("__"):  # the import system asks for __path__, __spec__, ...
            raise AttributeError(name)
        return getattr(real(), name)

    stand_in.__getattr__ = attribute
    stand_in.is_valid_syntax = is_valid_syntax
    sys.modules[_NAME] = stand_in
