"""Files written so that a reader sees the old content or the new, never half of it; links;
file digests.

Every writer in vton goes through here: a temporary file in the destination folder (same
filesystem, so the final `os.replace` is atomic), removed again when anything fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_BLOCK = 1 << 20
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: files get the mode a plain open() would give them


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on failure it is
    removed. For writers that want a file name (torch.save, safetensors, PIL)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp's 0600 would make outputs private
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write bytes to `path` through a temp file in the same folder and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, doc: Any, *, indent: int | None = 2) -> None:
    """Write `doc` as JSON with sorted keys and a final newline, atomically."""
    text = json.dumps(doc, indent=indent, sort_keys=True, default=str)
    atomic_write_text(path, text + "\n")


def copy_atomic(src: str | Path, dst: str | Path) -> None:
    """Copy a file's bytes to `dst` atomically."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def link_or_copy(src: str | Path, dst: str | Path) -> bool:
    """Put `src`'s bytes at `dst` atomically: a hard link where the filesystem allows one,
    a copy otherwise (another device, no link support). Returns True when it linked."""
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.parent / f".{dst.name}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(src, tmp)
            linked = True
        except OSError:  # EXDEV, EPERM, EMLINK, ENOTSUP: the filesystem will not link here
            shutil.copyfile(src, tmp)
            linked = False
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return linked


def update_digest(h: Any, path: str | Path) -> None:
    """Feed a file's bytes into the hash object `h`, a block at a time."""
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            h.update(block)


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    update_digest(h, path)
    return h.hexdigest()


def tree_digest(path: str | Path) -> str:
    """sha256 of a file (its name and bytes), or of every file below a directory (relative
    names and bytes, in sorted order)."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        h.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
        update_digest(h, file)
    return h.hexdigest()
