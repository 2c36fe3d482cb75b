"""Fingerprints of what a cached output depends on: files, the library's own code, packages.

The batch cache (:func:`ssp_research.batch.run.cache_key`) and the cached publication
(:func:`ssp_research.disclosure.cache.prepare_publication`) are keyed by these.

Examples
--------
>>> len(library_fingerprint())
64
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from ssp_research.core import paths

__all__ = ["CACHE_PACKAGES", "sha256_file", "library_fingerprint", "package_versions"]

#: Packages whose versions enter the cache key (a new version may change a brief).
CACHE_PACKAGES = (
    "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "papermill",
    "nbconvert", "nbclient", "weasyprint",
)
_SHA_MEMO: dict = {}  # (path, size, mtime) -> sha256, per process


def sha256_file(path: Path) -> str:
    path = Path(path)
    stat = path.stat()
    memo_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    _cache = _SHA_MEMO
    if memo_key not in _cache:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        _cache[memo_key] = digest.hexdigest()
    return _cache[memo_key]


def library_fingerprint() -> str:
    """sha256 of the library's own source files and resources (code version)."""
    digest = hashlib.sha256()
    for path in sorted(paths.PACKAGE_DIR.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".yml", ".yaml", ".tpl", ".j2", ".css",
                                              ".json", ".html"}:
            digest.update(str(path.relative_to(paths.PACKAGE_DIR)).encode())
            digest.update(sha256_file(path).encode())
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    versions = {}
    for name in CACHE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions
