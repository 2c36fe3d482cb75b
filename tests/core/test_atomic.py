"""Atomic writes: a reader (or a crash) never sees half a file."""

from __future__ import annotations

import os

from ssp_research.core.atomic import atomic_write


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a" / "b.bin"
    atomic_write(target, b"abc")
    atomic_write(target, "def")
    assert target.read_text() == "def"
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.bin"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
