"""Packs: the files below a folder stored as one zip file, so DVC tracks one file, not many.

A no-op `dvc status` or `dvc repro` looks at every file DVC tracks (about 45 µs each,
docs/scale.md); an output with a file per sample is stored as a pack instead when nobody
needs its files loose in the workspace: the source's reference annotations, the warped
garments, the export. A pack is a plain zip (`unzip` opens it): one member per file under its
path below the folder (POSIX), stored uncompressed (the members are PNG, JPEG and small
JSON), in sorted order, with a fixed time stamp and mode, so the same files make the same
pack byte for byte and DVC's hash of it changes only when some file's bytes do.

- `write(folder, out)` packs a folder; `write_members(out, members)` packs (name, bytes or
  path) pairs without a folder. Both write atomically.
- `Reader(pack)` reads members by name; it opens the zip lazily and again in a forked
  process (a DataLoader worker), so one reader can be shared with the workers.
- `extract(pack, dest)` and `view(packs, cache)`: the files back as a folder, the view kept
  in a cache folder named by the packs' digest (made once, atomically, reused by every
  stage that reads them).
- `write_layout(folder, out)` packs a VITON-HD layout root split by split (`out/train.zip`,
  `out/test.zip`: how ingest stores `data/reference`); `layout_view(root, cache)` is the
  layout root to read: `root` itself when it is a plain folder, else its packs' view.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from vton.fileio import atomic_path, update_digest
from vton.layout import SPLITS

SUFFIX = ".zip"
_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can record: no wall clock in the bytes
_MODE = 0o644 << 16  # a regular file, rw-r--r--
_VIEW_DONE = ".complete"  # written last into a view: a view without it is half-made


def _folder_files(folder: Path) -> list[tuple[str, Path]]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in filenames:
            path = Path(dirpath) / name
            found.append((path.relative_to(folder).as_posix(), path))
    return sorted(found)


def write_members(out: str | Path, members: Iterable[tuple[str, bytes | Path]]) -> int:
    """Pack `members` ((name, bytes or a file's path), in any order; names are POSIX paths)
    into the zip `out`, atomically; returns the number of members. Duplicate names raise
    ValueError."""
    named = sorted(members, key=lambda m: m[0])
    names = [name for name, _ in named]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"{out}: member {duplicate!r} given twice")
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for name, data in named:
            info = zipfile.ZipInfo(name, date_time=_TIME)
            info.external_attr = _MODE
            info.compress_type = zipfile.ZIP_STORED
            if isinstance(data, Path):  # streamed; its size decides zip64 as writestr's does
                info.file_size = data.stat().st_size
                with open(data, "rb") as src, zf.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            else:
                zf.writestr(info, data)
    return len(named)


def write(folder: str | Path, out: str | Path) -> int:
    """Pack every file below `folder` into the zip `out` (atomically); returns the count."""
    return write_members(out, _folder_files(Path(folder)))


def names(pack: str | Path) -> list[str]:
    """The member names of a pack, sorted."""
    with zipfile.ZipFile(pack) as zf:
        return sorted(zf.namelist())


class Reader:
    """Members of one pack by name. The zip is opened on first use and re-opened in a child
    process (a file handle shared across fork would interleave reads)."""

    def __init__(self, pack: str | Path):
        self.pack = Path(pack)
        if not self.pack.is_file():
            raise FileNotFoundError(f"{self.pack}: no such pack")
        self._zip: zipfile.ZipFile | None = None
        self._pid = -1

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None or self._pid != os.getpid():
            self._zip = zipfile.ZipFile(self.pack)
            self._pid = os.getpid()
        return self._zip

    def names(self) -> list[str]:
        return sorted(self._open().namelist())

    def __contains__(self, name: str) -> bool:
        try:
            self._open().getinfo(name)
        except KeyError:
            return False
        return True

    def read(self, name: str) -> bytes:
        """A member's bytes; KeyError naming the pack when it has no such member."""
        try:
            return self._open().read(name)
        except KeyError:
            raise KeyError(f"{self.pack} has no member {name!r}") from None

    def __getstate__(self) -> dict:  # picklable for spawned workers: reopened there
        return {"pack": self.pack}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["pack"])  # type: ignore[misc]

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


def extract(pack: str | Path, dest: str | Path) -> int:
    """Every member of `pack` as a file below `dest` (created); returns the count. Member
    names that would leave `dest` (absolute, `..`) raise ValueError."""
    dest = Path(dest)
    count = 0
    with zipfile.ZipFile(pack) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            parts = Path(info.filename).parts
            if Path(info.filename).is_absolute() or ".." in parts:
                raise ValueError(f"{pack}: member {info.filename!r} leaves the folder")
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            count += 1
    return count


def digest(packs: Iterable[str | Path]) -> str:
    """sha256 over the packs' file names and bytes, in the order given."""
    h = hashlib.sha256()
    for pack in packs:
        h.update(Path(pack).name.encode() + b"\0")
        update_digest(h, pack)
    return h.hexdigest()


def view(packs: dict[str, Path], cache: str | Path) -> Path:
    """A folder holding every pack's files, pack `packs[sub]` extracted below `sub/`: kept
    in `cache` under the packs' digest, so a view is made once per content and shared by
    every reader (a half-made one is made again). Editing a view changes nothing upstream:
    the packs are the truth."""
    order = sorted(packs)
    key = digest(packs[sub] for sub in order)
    cache = Path(cache)
    folder = cache / key[:32]
    if (folder / _VIEW_DONE).is_file():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key[:32]}.", dir=cache))
    try:
        for sub in order:
            extract(packs[sub], tmp / sub)
        (tmp / _VIEW_DONE).write_text(key + "\n")
        shutil.rmtree(folder, ignore_errors=True)  # a half-made view
        try:
            os.replace(tmp, folder)
        except OSError:  # another process made it first
            if not (folder / _VIEW_DONE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def write_layout(folder: str | Path, out: str | Path) -> list[Path]:
    """Pack each split of the layout root `folder` that has files into `out/<split>.zip`
    (members `<kind folder>/<file>`); returns the packs written. A split without files gets
    none, and a pack of `out` for a split `folder` no longer has is removed."""
    folder, out = Path(folder), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for split in SPLITS:
        files = _folder_files(folder / split) if (folder / split).is_dir() else []
        pack = out / f"{split}{SUFFIX}"
        if files:
            write_members(pack, files)
            written.append(pack)
        else:
            pack.unlink(missing_ok=True)
    return written


def layout_view(root: str | Path, cache: str | Path) -> Path:
    """The layout root to read for `root`: `root` itself when it holds no split packs (a
    VITON-HD copy, a golden folder), else the `view` of its `<split>.zip` packs in `cache`."""
    root = Path(root)
    found = {s: root / f"{s}{SUFFIX}" for s in SPLITS if (root / f"{s}{SUFFIX}").is_file()}
    return view(found, cache) if found else root
