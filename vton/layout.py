"""The VITON-HD layout: where each kind of file lives, the pairs files and the catalog.

```
ROOT/{train,test}/<folder of kind>/<ID><suffix of kind>
ROOT/{split}_pairs.txt           paired: each person with its own garment ("P.jpg C.jpg")
ROOT/{split}_pairs_unpaired.txt  each person with another person's garment
ROOT/catalog.csv                 one row per sample: id, split, source, digests, provenance,
                                 and once published its status (`STATUS_COLUMNS`)
ROOT/rejects.jsonl               inputs that were not used, one JSON object per line
```
A published dataset (`vton.publish`) keeps every candidate sample in the catalog; those an
annotation stage rejected are `excluded` there (stage and reason), absent from the pairs files,
and listed in `rejects.jsonl`. Their files may remain in the kind folders: readers take the
published samples from `Layout.published_ids`.
Folder names and suffixes appear only here: `KINDS` (ours, which is HR-VITON's), the original
VITON-HD loader's names (`VITON_HD_FOLDERS`, `Layout(root, flavor="viton-hd")`) and the
DressCode layout (`DRESSCODE_FILES`, `DressCodeLayout`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from vton.fileio import atomic_write_bytes

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
STATUS_COLUMNS = ("status", "excluded_by", "excluded_reason")
"""Catalog columns of a published dataset: `status` is PUBLISHED or EXCLUDED; an excluded
sample names the stage that rejected it first (pipeline order) and that stage's reason."""
PUBLISHED, EXCLUDED = "published", "excluded"

FLAVORS = ("hr-viton", "viton-hd", "dresscode")
"""Layouts the peer codebases read: ours (HR-VITON's names), the original VITON-HD loader's,
and DressCode's (see `vton.export`)."""

VITON_HD_FOLDERS: dict[str, str] = {
    "image": "image",
    "cloth": "cloth",
    "cloth_mask": "cloth-mask",
    "parse": "image-parse",
    "pose_json": "openpose-json",
    "pose_img": "openpose-img",
}
"""The kinds the original VITON-HD loader (shadow2496/VITON-HD `datasets.py`) reads, under its
folder names; it builds the agnostic inputs itself, so the other kinds have no folder there.
Suffixes and file formats are the same as ours."""


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


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def sample_id(stem: str) -> str:
    """A file stem made safe for every loader: letters, digits, '-' and '_' only."""
    return _UNSAFE.sub("-", stem).strip("-") or "unnamed"


@dataclass(frozen=True)
class Layout:
    """A dataset root in the VITON-HD layout.

    `flavor` picks the folder names: "hr-viton" (ours: `image-parse-v3`, `openpose_json`, ...)
    or "viton-hd" (the original loader's `image-parse`, `openpose-json`, `openpose-img`, and
    only the kinds in `VITON_HD_FOLDERS`).
    """

    root: Path
    flavor: str = "hr-viton"

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        if self.flavor not in ("hr-viton", "viton-hd"):
            raise ValueError(
                f"a Layout's flavor is 'hr-viton' or 'viton-hd', got {self.flavor!r} "
                "(DressCode roots are read with DressCodeLayout)"
            )

    @property
    def kind_names(self) -> tuple[str, ...]:
        """The kinds this flavour has a folder for, in `KINDS` order."""
        if self.flavor == "viton-hd":
            return tuple(VITON_HD_FOLDERS)
        return tuple(KINDS)

    def kind_of(self, kind_name: str) -> Kind:
        """The `Kind` called `kind_name` with this flavour's folder name."""
        k = kind(kind_name)
        if self.flavor == "viton-hd":
            if kind_name not in VITON_HD_FOLDERS:
                raise KeyError(
                    f"kind {kind_name!r} has no folder in the viton-hd layout, which holds "
                    f"{', '.join(VITON_HD_FOLDERS)}; use the hr-viton layout for it"
                )
            return replace(k, folder=VITON_HD_FOLDERS[kind_name])
        return k

    def folder(self, split: str, kind_name: str) -> Path:
        return self.root / check_split(split) / self.kind_of(kind_name).folder

    def path(self, split: str, kind_name: str, sample_id: str) -> Path:
        k = self.kind_of(kind_name)
        return self.root / check_split(split) / k.folder / f"{sample_id}{k.suffix}"

    def ids(self, split: str, kind_name: str = "image") -> list[str]:
        """Sample ids present for a kind (sorted), read from file names."""
        k = self.kind_of(kind_name)
        folder = self.folder(split, kind_name)
        if not folder.is_dir():
            return []
        return sorted(
            p.name[: -len(k.suffix)]
            for p in folder.iterdir()
            if p.name.endswith(k.suffix) and not p.name.startswith(".")
        )

    def kinds_present(self, split: str) -> list[str]:
        return [name for name in self.kind_names if self.folder(split, name).is_dir()]

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

    def excluded(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(split, id) -> (stage, reason) of every sample the catalog marks excluded; {}
        without a catalog or before publishing (no `status` column)."""
        if not self.catalog_path.exists():
            return {}
        frame = read_catalog(self.catalog_path)
        if "status" not in frame.columns:
            return {}
        gone = frame[frame["status"] == EXCLUDED]
        return {(r.split, r.id): (r.excluded_by, r.excluded_reason) for r in gone.itertuples()}

    def published_ids(self, split: str) -> list[str]:
        """Sample ids with a person photo that the catalog does not mark excluded (sorted)."""
        gone = {sid for s, sid in self.excluded() if s == split}
        return [sid for sid in self.ids(split) if sid not in gone]


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


def split_pairs(
    ids: Iterable[str], seed: int, split: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The paired and unpaired lists of a split's sample ids (sorted first); the derangement
    is seeded with `seed` plus the split's index in `SPLITS`, so ingest and publish agree."""
    ids = sorted(ids)
    return [(i, i) for i in ids], unpaired(ids, seed + SPLITS.index(check_split(split)))


# --- catalog and rejects ----------------------------------------------------------------


def write_catalog(path: Path, rows: list[dict]) -> pd.DataFrame:
    """Write the catalog (one row per sample) as CSV, atomically, and return it.

    Columns: id, split, source, origin, kinds (comma-separated), provenance (JSON), the
    `STATUS_COLUMNS` when the rows have them, and one `sha256_<kind>` column per kind present.
    """
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=list(CATALOG_COLUMNS))
    digest_cols = sorted(c for c in frame.columns if c.startswith("sha256_"))
    status_cols = [c for c in STATUS_COLUMNS if c in frame.columns]
    frame = frame[[*CATALOG_COLUMNS, *status_cols, *digest_cols]].sort_values(["split", "id"])
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


# --- the other flavours: VITON-HD detection, the DressCode layout ---------------------------


def detect_flavor(root: Path) -> str:
    """The flavour of a VITON-HD-layout root, from its folder names.

    "viton-hd" when `root/{train,test}` holds the original loader's `image-parse`,
    `openpose-json` or `openpose-img` and none of ours; "hr-viton" otherwise.
    """
    distinct = [n for n, f in VITON_HD_FOLDERS.items() if KINDS[n].folder != f]
    found: set[str] = set()
    for split in SPLITS:
        if (Path(root) / split).is_dir():
            found |= {p.name for p in (Path(root) / split).iterdir() if p.is_dir()}
    theirs = found & {VITON_HD_FOLDERS[n] for n in distinct}
    ours = found & {KINDS[n].folder for n in distinct}
    return "viton-hd" if theirs and not ours else "hr-viton"


DRESSCODE_CATEGORIES = ("upper_body", "lower_body", "dresses")


@dataclass(frozen=True)
class DressCodeFile:
    """One kind of file in a DressCode category folder: `ROOT/category/folder/ID+suffix`."""

    name: str
    folder: str
    suffix: str


DRESSCODE_FILES: dict[str, DressCodeFile] = {
    f.name: f
    for f in (
        DressCodeFile("image", "images", "_0.jpg"),  # the person
        DressCodeFile("cloth", "images", "_1.jpg"),  # the in-shop garment
        DressCodeFile("keypoints", "keypoints", "_2.json"),  # COCO-18 (vton.formats.openpose)
        DressCodeFile("label_map", "label_maps", "_4.png"),  # DressCodeLabel ids, greyscale
        DressCodeFile("skeleton", "skeletons", "_5.jpg"),  # the rendered COCO-18 skeleton
        DressCodeFile("dense", "dense", "_5.png"),  # DensePose part ids, greyscale
        DressCodeFile("dense_uv", "dense", "_5_uv.npz"),  # DensePose UV (we have none)
        DressCodeFile("mask", "masks", "_1.png"),  # the garment mask (LaDI-VTON reads it)
    )
}
"""What the published DressCode loaders (aimagelab/dress-code `data/dataset.py`, LaDI-VTON's
`dresscode.py`) open, per category folder."""

DRESSCODE_OF_KIND: dict[str, str] = {
    "image": "image",
    "cloth": "cloth",
    "pose_json": "keypoints",
    "parse": "label_map",
    "pose_img": "skeleton",
    "densepose": "dense",
    "cloth_mask": "mask",
}
"""Our kind -> the DressCode file that carries it (converted by the format modules). The
agnostic kinds have none: the DressCode loaders build their masks from the label map."""


@dataclass(frozen=True)
class DressCodeLayout:
    """A DressCode-layout root.

    ```
    ROOT/{train_pairs,test_pairs_paired,test_pairs_unpaired}.txt   every category's lines
    ROOT/CATEGORY/{train_pairs,test_pairs_paired,test_pairs_unpaired}.txt
    ROOT/CATEGORY/images/ID_0.jpg ID_1.jpg  keypoints/ID_2.json  label_maps/ID_4.png
    ROOT/CATEGORY/skeletons/ID_5.jpg  dense/ID_5.png ID_5_uv.npz  masks/ID_1.png
    ROOT/vton_ids.csv    our sample id of each DressCode id (written by our export only)
    ```
    Splits live only in the pairs files: every image of a category shares one folder. A pairs
    line is "ID_0.jpg ID_1.jpg" (person, garment); DressCode has no unpaired train list.
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def category_root(self, category: str) -> Path:
        if category not in DRESSCODE_CATEGORIES:
            raise ValueError(
                f"DressCode category must be one of {DRESSCODE_CATEGORIES}, got {category!r}"
            )
        return self.root / category

    def path(self, category: str, file_name: str, dresscode_id: str) -> Path:
        f = _dresscode_file(file_name)
        return self.category_root(category) / f.folder / f"{dresscode_id}{f.suffix}"

    def ids(self, category: str, file_name: str = "image") -> list[str]:
        """DressCode ids present for a file kind (sorted), read from file names."""
        f = _dresscode_file(file_name)
        folder = self.category_root(category) / f.folder
        if not folder.is_dir():
            return []
        return sorted(
            p.name[: -len(f.suffix)]
            for p in folder.iterdir()
            if p.name.endswith(f.suffix) and not p.name.startswith(".")
        )

    def categories_present(self) -> list[str]:
        return [c for c in DRESSCODE_CATEGORIES if (self.root / c).is_dir()]

    def pairs_path(self, split: str, unpaired: bool = False, category: str | None = None) -> Path:
        """A pairs file of one category, or the root's file of all (`category=None`)."""
        if check_split(split) == "train":
            if unpaired:
                raise ValueError("DressCode has no unpaired train pairs file")
            name = "train_pairs.txt"
        else:
            name = f"test_pairs_{'unpaired' if unpaired else 'paired'}.txt"
        return (self.root if category is None else self.category_root(category)) / name

    @property
    def ids_map_path(self) -> Path:
        return self.root / "vton_ids.csv"


def _dresscode_file(name: str) -> DressCodeFile:
    try:
        return DRESSCODE_FILES[name]
    except KeyError:
        raise KeyError(
            f"unknown DressCode file kind {name!r}; known: {', '.join(DRESSCODE_FILES)}"
        ) from None


def dresscode_id(sample_id: str) -> str:
    """The DressCode file id of one of our sample ids.

    DressCode's loaders find the skeleton with `name.replace("_0", "_5")` and LaDI-VTON keys
    its captions by `name.split("_")[0]`, so an id must not hold "_": each becomes "-"
    (our "000123_00" is written as "000123-00_0.jpg"). `vton_ids.csv` maps them back.
    """
    return sample_id.replace("_", "-")


def format_dresscode_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """(person id, garment id) DressCode ids as lines "P_0.jpg G_1.jpg"."""
    image, cloth = DRESSCODE_FILES["image"].suffix, DRESSCODE_FILES["cloth"].suffix
    return "".join(f"{p}{image} {c}{cloth}\n" for p, c in pairs)


def write_dresscode_pairs(path: Path, pairs: Iterable[tuple[str, str]]) -> None:
    atomic_write_bytes(path, format_dresscode_pairs(pairs).encode())


def read_dresscode_pairs(path: Path) -> list[tuple[str, str]]:
    """Read a DressCode pairs file to (person id, garment id); ValueError on other lines."""
    image, cloth = DRESSCODE_FILES["image"].suffix, DRESSCODE_FILES["cloth"].suffix
    pairs = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2 or not fields[0].endswith(image) or not fields[1].endswith(cloth):
            raise ValueError(
                f"{path}:{number}: expected 'ID{image} ID{cloth}' (person, garment), got {line!r}"
            )
        pairs.append((fields[0][: -len(image)], fields[1][: -len(cloth)]))
    return pairs


def write_ids_map(path: Path, names: dict[str, str]) -> None:
    """Write DressCode id -> our sample id as CSV (`dresscode_id,id`), atomically."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["dresscode_id", "id"])
    writer.writerows(sorted(names.items()))
    atomic_write_bytes(path, buf.getvalue().encode())


def read_ids_map(path: Path) -> dict[str, str]:
    """DressCode id -> our sample id from `vton_ids.csv`; {} when the file is absent."""
    if not Path(path).exists():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows or rows[0] != ["dresscode_id", "id"]:
        raise ValueError(f"{path}: expected the header 'dresscode_id,id', got {rows[:1]}")
    names = {}
    for number, row in enumerate(rows[1:], 2):
        if len(row) != 2 or not all(row):
            raise ValueError(f"{path}:{number}: expected 'DRESSCODE_ID,ID', got {row}")
        names[row[0]] = row[1]
    return names
