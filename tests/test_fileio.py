"""vton.fileio: atomic writes keep the old file on failure, leave no temp files, and give
the file the mode a plain open() would (not mkstemp's private 0600)."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from vton import fileio


def test_a_failed_write_keeps_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "out.json"
    fileio.write_json(path, {"a": 1})
    with pytest.raises(ZeroDivisionError), fileio.atomic_path(path) as tmp:
        tmp.write_text("half")
        1 / 0  # noqa: B018 - the writer fails midway
    assert json.loads(path.read_text()) == {"a": 1}
    assert fileio.file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_written_files_get_the_mode_a_plain_open_gives(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    fileio.atomic_write_text(tmp_path / "atomic.txt", "x")
    fileio.copy_atomic(plain, tmp_path / "copied.txt")
    expected = stat.S_IMODE(plain.stat().st_mode)
    for name in ("atomic.txt", "copied.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name
    assert expected == 0o666 & ~fileio._UMASK and os.umask(fileio._UMASK) == fileio._UMASK
