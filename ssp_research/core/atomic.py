"""Atomic writes: a reader (or a crash) never sees half a file.

Every output of the workbench (clean data, logs, synthetic data, tables, briefs, manifests) is
written to a temporary file in the target's folder and then moved over the target with
``os.replace``, which is atomic on one file system. The file gets the permissions the umask
allows (``mkstemp`` would leave it readable by its owner only).

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
>>> atomic_write(p, "hei").read_text()
'hei'
>>> write_atomic(p, lambda tmp: tmp.write_text("hallo")).read_text()
'hallo'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomic", "atomic_write"]


def write_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then move it into place.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to ``path`` atomically."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return write_atomic(path, lambda tmp: tmp.write_bytes(payload))
