"""The VITON-HD layout: where each kind of file lives, the pairs files and the catalog.

```
ROOT/{train,test}/<folder of kind>/<ID><suffix of kind>
ROOT/{split}_pairs.txt           paired: each person with its own garment ("P.jpg C.jpg")
ROOT/{split}_pairs_unpaired.txt  each person with another person's garment
ROOT/catalog.csv                 one row per sample: id, split, source, digests, provenance
ROOT/rejects.jsonl               inputs that were not used, one JSON object per line
```
Folder names and suffixes appear only here (`KINDS`).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vton.formats.images import atomic_write_bytes

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Kind:
    """One kind of file in the layout: `ROOT/split/folder/ID+suffix`."""

    name: str
    folder: str
    suffix: str
    annotation: bool  # False for the inputs (person photo, garment photo)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("image", "image", ".jpg", False),
        Kind("cloth", "cloth", ".jpg", False),
        Kind("cloth_mask", "cloth-mask", ".jpg", True),
        Kind("parse", "image-parse-v3", ".png", True),
        Kind("pose_json", "openpose_json", "_keypoints.json", True),
        Kind("pose_img", "openpose_img", "_rendered.png", True),
        Kind("densepose", "image-densepose", ".jpg", True),
        Kind("agnostic", "agnostic-v3.2", ".jpg", True),
        Kind("parse_agnostic", "image-parse-agnostic-v3.2", ".png", True),
        Kind("agnostic_mask", "agnostic-mask", "_mask.png", True),
    )
}

CATALOG_COLUMNS = ("id", "split", "source", "origin", "kinds", "provenance")


def kind(name: str) -> Kind:
    """The `Kind` called `name`; the error lists the known kinds."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown kind {name!r}; known kinds: {', '.join(KINDS)}") from None


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


@dataclass(frozen=True)
class Layout:
    """A dataset root in the VITON-HD layout."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def folder(self, split: str, kind_name: str) -> Path:
        return self.root / check_split(split) / kind(kind_name).folder

    def path(self, split: str, kind_name: str, sample_id: str) -> Path:
        k = kind(kind_name)
        return self.root / check_split(split) / k.folder / f"{sample_id}{k.suffix}"

    def ids(self, split: str, kind_name: str = "image") -> list[str]:
        """Sample ids present for a kind (sorted), read from file names."""
        k = kind(kind_name)
        folder = self.folder(split, kind_name)
        if not folder.is_dir():
            return []
        return sorted(
            p.name[: -len(k.suffix)]
            for p in folder.iterdir()
            if p.name.endswith(k.suffix) and not p.name.startswith(".")
        )

    def kinds_present(self, split: str) -> list[str]:
        return [name for name in KINDS if self.folder(split, name).is_dir()]

    def splits_present(self) -> list[str]:
        return [s for s in SPLITS if (self.root / s).is_dir()]

    def pairs_path(self, split: str, unpaired: bool = False) -> Path:
        name = f"{check_split(split)}_pairs{'_unpaired' if unpaired else ''}.txt"
        return self.root / name

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.csv"

    @property
    def rejects_path(self) -> Path:
        return self.root / "rejects.jsonl"


# --- pairs files ------------------------------------------------------------------------


def format_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """Pairs of (person id, garment id) as the dataset's lines `P.jpg C.jpg`."""
    image, cloth = KINDS["image"].suffix, KINDS["cloth"].suffix
    return "".join(f"{p}{image} {c}{cloth}\n" for p, c in pairs)


def write_pairs(path: Path, pairs: Iterable[tuple[str, str]]) -> None:
    atomic_write_bytes(path, format_pairs(pairs).encode())


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """Read a pairs file to (person id, garment id); raises ValueError on malformed lines."""
    pairs = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2:
            raise ValueError(f"{path}:{number}: expected 'PERSON.jpg CLOTH.jpg', got {line!r}")
        pairs.append((_strip_suffix(fields[0]), _strip_suffix(fields[1])))
    return pairs


def _strip_suffix(name: str) -> str:
    for suffix in (".jpg", ".jpeg", ".png"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def unpaired(ids: list[str], seed: int) -> list[tuple[str, str]]:
    """Each person with another sample's garment: a seeded derangement (no fixed points)."""
    if len(ids) < 2:
        return [(i, i) for i in ids]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    shift = int(rng.integers(1, len(ids)))
    # Rotating a random order by a non-zero shift never maps an element to itself.
    cloth_of = {ids[order[k]]: ids[order[(k + shift) % len(ids)]] for k in range(len(ids))}
    return [(i, cloth_of[i]) for i in ids]


# --- catalog and rejects ----------------------------------------------------------------


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_catalog(path: Path, rows: list[dict]) -> pd.DataFrame:
    """Write the catalog (one row per sample) as CSV, atomically, and return it.

    Columns: id, split, source, origin, kinds (comma-separated), provenance (JSON), and one
    `sha256_<kind>` column per kind present.
    """
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=list(CATALOG_COLUMNS))
    digest_cols = sorted(c for c in frame.columns if c.startswith("sha256_"))
    frame = frame[[*CATALOG_COLUMNS, *digest_cols]].sort_values(["split", "id"])
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    atomic_write_bytes(path, buf.getvalue().encode())
    return frame


def read_catalog(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_jsonl(path: Path, records: Iterable[dict]) -> None:
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    atomic_write_bytes(path, text.encode())


def read_jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)
