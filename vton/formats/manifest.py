"""The manifest of a stage's files: one line per file, `PATH<TAB>SIZE<TAB>SHA256`.

`ingest` writes one for the files it makes (the photos, the source's reference annotations),
each annotation stage one for its kinds, `validate` one for the dataset it checked ("the
dataset as validated"). The stages that read those files depend on the small manifest
instead of on the folders, so a `dvc status` or no-op `dvc repro` looks at each file about
once (as the output of the stage that made it) rather than once per reading stage
(docs/scale.md). Paths are POSIX, the folder as the stage was given it joined with the
file's path below it, sorted; the digests make the manifest change exactly when some file's
bytes (or the set of files) change, and not when a stage re-makes a file with the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vton.fileio import atomic_write_text, file_digest
from vton.layout import SPLITS, Layout

HEADER = "# path\tsize\tsha256\n"


@dataclass(frozen=True)
class Entry:
    path: str  # POSIX: the folder as given, then the path below it
    size: int
    sha256: str


def _files(root: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    with os.scandir(root) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            name = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                yield from _files(Path(entry.path), f"{name}/")
            else:
                yield name, Path(entry.path)


def build(roots: list[Path]) -> list[Entry]:
    """An entry for every file below each of `roots` (each file read once), its path the
    root as given joined with the file's path below it; sorted by path. A root that does not
    exist contributes nothing (a source without annotations writes no reference)."""
    entries = [
        Entry(f"{root.as_posix()}/{rel}", path.stat().st_size, file_digest(path))
        for root in roots
        if root.is_dir()
        for rel, path in _files(root)
    ]
    return sorted(entries, key=lambda e: e.path)


def of_kinds(dataset: Path, kinds: tuple[str, ...]) -> list[Entry]:
    """The entries of the `kinds` folders of both splits of the dataset at `dataset` (what
    one stage writes: `ANNOTATION_KINDS[kind].outputs`, or the photos)."""
    layout = Layout(dataset)
    return build([layout.folder(split, name) for split in SPLITS for name in kinds])


def write(path: Path, entries: list[Entry]) -> None:
    lines = (f"{e.path}\t{e.size}\t{e.sha256}\n" for e in entries)
    atomic_write_text(path, HEADER + "".join(lines))


def read(path: Path) -> list[Entry]:
    """The entries of a manifest; a malformed line raises ValueError naming it."""
    entries = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[1].isdigit() or len(fields[2]) != 64:
            raise ValueError(
                f"{path}:{number}: expected PATH<TAB>SIZE<TAB>SHA256, got {line!r}; "
                "re-run the validate stage to rewrite the manifest"
            )
        entries.append(Entry(fields[0], int(fields[1]), fields[2]))
    return entries
