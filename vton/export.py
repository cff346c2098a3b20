"""Drop-in exports of a dataset for the peer codebases' loaders (`vton export`, stage `export`).

Flavours (`vton.layout.FLAVORS`):

- `hr-viton`: our layout as it is (HR-VITON, StableVITON, IDM-VTON and CatVTON read it):
  every kind and the pairs files, byte for byte.
- `viton-hd`: the original VITON-HD loader's folder names (`image-parse`, `openpose-json`,
  `openpose-img`) and only the six kinds it reads (`VITON_HD_FOLDERS`); same file formats.

In both, `test_pairs.txt` is the unpaired list, as in the VITON-HD release: these loaders
take the paired garment from the person's own file name and the unpaired one from the second
column of `test_pairs.txt` (ours lists the paired garment there). `train_pairs.txt` stays
paired; `test_pairs_unpaired.txt` is there too.
- `dresscode`: one DressCode category folder (`DressCodeLayout`): photos byte for byte as
  `images/ID_0.jpg` / `ID_1.jpg`; keypoints, label maps, DensePose ids, garment masks and
  skeletons converted by the format modules; DressCode's pairs files per category and at the
  root. Ids lose their "_" (`dresscode_id`); `vton_ids.csv` maps them back.

What a `dresscode` export cannot carry: the agnostic kinds (DressCode's loaders build their
own masks from the label map), the parse labels DressCode has no id for (glove, coat, socks,
neck; see `VITON_TO_DRESSCODE`), BODY_25's mid-hip and feet (COCO-18 has none) and the face
and hand keypoints of an OpenPose document (DressCode stores the body only), our unpaired
train list (DressCode has none), and
DensePose UV (`_5_uv.npz`: our DensePose kind holds part ids only, so none is written and
the loaders' `dense_uv` output is unavailable).

Sizes (`export.size`): HR-VITON's test loader (`CPDatasetTest.get_agnostic`) draws its arm
masks on a fixed 768x1024 canvas and pastes them onto the full-size photo, so a `hr-viton`
export at any other size fails item by item; the original VITON-HD loader is fixed at
1024x768 as well. With `size: peer` (the default) these two flavours are written at 1024x768
(`PEER_SIZE`), every kind resampled as the `vitonhd` source does (photos with Lanczos, label
ids, masks and DensePose by nearest neighbour, keypoints scaled, skeletons redrawn); a
dataset of another aspect ratio is refused. `size: dataset` keeps the dataset's own size,
files linked as they are: StableVITON, IDM-VTON and CatVTON resize on load. DressCode's
loaders resize on load too, so `dresscode` keeps the dataset's size either way. Every export
writes a `README.md` at its root saying which flavour and size it holds and why.

Only the published samples are exported (`Layout.published_ids`): those the catalog marks
excluded are left out, files and all; the pairs files list the published ones already.

Files already in the flavour's format are hard-linked where the filesystem allows and copied
otherwise. The export is built in a hidden sibling folder and moved into place at the end:
OUT is either the previous export or the complete new one, never half of one.

`export_pack` (stage `export`) writes the same tree as one pack (`vton.formats.packs`,
README.md at its root), so DVC tracks one file instead of ten per sample (docs/scale.md);
`unzip PACK -d OUT` gives what `export` writes to OUT.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from vton.fileio import atomic_write_text, link_or_copy
from vton.formats import densepose, labels, masks, openpose, packs
from vton.formats.images import image_size, write_jpeg
from vton.layout import (
    DRESSCODE_CATEGORIES,
    DRESSCODE_OF_KIND,
    FLAVORS,
    SPLITS,
    DressCodeLayout,
    Layout,
    dresscode_id,
    read_pairs,
    write_dresscode_pairs,
    write_ids_map,
)
from vton.sources.vitonhd import load_resampled
from vton.writer import write_kinds

SIZES = ("peer", "dataset")
PEER_SIZE = {"hr-viton": (1024, 768), "viton-hd": (1024, 768)}
"""(height, width) of the flavours whose loaders read one size only (see above)."""


class ExportError(RuntimeError):
    """The dataset cannot be written in the asked flavour; the message says why."""


def export(
    dataset: Path,
    out: Path,
    flavor: str = "hr-viton",
    category: str = "upper_body",
    progress: bool = True,
    size: str = "peer",
) -> dict:
    """Write the dataset at `dataset` (our layout) to `out` in `flavor`; returns flat metrics.

    `category` names the DressCode category folder (`dresscode` only); `size` is `peer` (the
    size the flavour's loader reads, `PEER_SIZE`) or `dataset` (its own). Replaces `out`.
    """
    dataset, out = Path(dataset), Path(out)
    if flavor not in FLAVORS:
        raise ValueError(f"flavor must be one of {', '.join(FLAVORS)}, got {flavor!r}")
    if category not in DRESSCODE_CATEGORIES:
        raise ValueError(f"category must be one of {DRESSCODE_CATEGORIES}, got {category!r}")
    if size not in SIZES:
        raise ValueError(f"export.size must be one of {', '.join(SIZES)}, got {size!r}")
    source = Layout(dataset)
    if not source.splits_present():
        raise FileNotFoundError(
            f"{dataset} holds no train/ or test/ folder: give the root of a dataset in our "
            "layout (what `vton ingest` writes)"
        )
    if out.resolve() == dataset.resolve() or dataset.resolve() in out.resolve().parents:
        raise ValueError(f"export folder {out} must lie outside the dataset {dataset}")
    start = time.perf_counter()
    counts: Counter[str] = Counter()
    with _staging(out) as tmp:
        if flavor == "dresscode":
            left_out = _export_dresscode(source, DressCodeLayout(tmp), category, counts, progress)
        else:
            target_size = PEER_SIZE.get(flavor) if size == "peer" else None
            target = Layout(tmp, flavor=flavor)
            left_out = _export_viton(source, target, target_size, counts, progress)
        atomic_write_text(tmp / "README.md", export_readme(flavor, category, size, counts))
    seconds = time.perf_counter() - start
    summary: dict = {"flavor": flavor}
    if flavor == "dresscode":
        summary["category"] = category
    summary.update(
        {
            "samples": counts["samples"],
            "train": counts["train"],
            "test": counts["test"],
            "excluded": len(source.excluded()),
            "files": counts["linked"] + counts["copied"] + counts["converted"],
            "linked": counts["linked"],
            "copied": counts["copied"],
            "converted": counts["converted"],
            "resampled": counts["resampled"],
            "height": counts["height"],
            "width": counts["width"],
            "kinds_left_out": ",".join(sorted(left_out)),
            "seconds": round(seconds, 3),
        }
    )
    return summary


def export_pack(
    dataset: Path,
    pack: Path,
    flavor: str = "hr-viton",
    category: str = "upper_body",
    progress: bool = True,
    size: str = "peer",
) -> dict:
    """`export` into one pack at `pack` (replaced atomically) instead of a folder; the same
    flat metrics. The folder is built in a hidden folder beside `pack` (the same filesystem,
    so the dataset's files are linked, not copied) and removed once packed; `seconds`
    counts the packing too."""
    start = time.perf_counter()
    pack = Path(pack)
    pack.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{pack.name}.", dir=pack.parent))
    try:
        summary = export(dataset, staging / "tree", flavor, category, progress, size)
        packs.write(staging / "tree", pack)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary["seconds"] = round(time.perf_counter() - start, 3)
    return summary


@contextmanager
def _staging(out: Path):
    """A fresh hidden folder beside `out` that replaces `out` when the block succeeds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in (
        *out.parent.glob(f".{out.name}.export-*"),
        *out.parent.glob(f".{out.name}.old-*"),
    ):
        if not _alive(stale.name.rsplit("-", 1)[-1]):  # left by an export that was killed
            shutil.rmtree(stale, ignore_errors=True)
    tmp = out.parent / f".{out.name}.export-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _alive(pid: str) -> bool:
    """Whether `pid` (text) names a running process."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


def _put(src: Path, dst: Path, counts: Counter) -> None:
    counts["linked" if link_or_copy(src, dst) else "copied"] += 1


def _export_viton(
    source: Layout,
    target: Layout,
    size: tuple[int, int] | None,
    counts: Counter,
    progress: bool,
) -> set[str]:
    """Every file of the kinds `target`'s flavour has, by link or copy, or resampled where
    the sample is not at `size` (None: any size); returns the kinds left out."""
    left_out: set[str] = set()
    for split in source.splits_present():
        present = source.kinds_present(split)
        kinds = [k for k in present if k in target.kind_names]
        left_out |= set(present) - set(kinds)
        ids = source.published_ids(split)
        for kind_name in kinds:  # folders exist even when empty, as in the source
            target.folder(split, kind_name).mkdir(parents=True, exist_ok=True)
        for sid in tqdm(ids, desc=f"export {target.flavor} {split}", disable=not progress):
            _export_sample(source, target, split, sid, kinds, size, counts)
            counts["samples"] += 1
            counts[split] += 1
        for unpaired in (False, True):
            pairs = source.pairs_path(split, unpaired)
            if split == "test" and not unpaired and source.pairs_path(split, True).exists():
                # The loaders take the paired garment from the person's own id and the
                # unpaired one from the second column of test_pairs.txt: as in the VITON-HD
                # release, that file holds the unpaired list.
                pairs = source.pairs_path(split, True)
            if pairs.exists():
                _put(pairs, target.pairs_path(split, unpaired), counts)
    return left_out


def _export_sample(
    source: Layout,
    target: Layout,
    split: str,
    sid: str,
    kinds: list[str],
    size: tuple[int, int] | None,
    counts: Counter,
) -> None:
    """One sample's files: linked when it is at `size` already, else resampled to it."""
    own = image_size(source.path(split, "image", sid))
    height, width = size or own
    counts["height"], counts["width"] = height, width
    if (height, width) == own:
        for kind_name in kinds:
            path = source.path(split, kind_name, sid)
            if path.exists():
                _put(path, target.path(split, kind_name, sid), counts)
        return
    reuse = [k for k in kinds if k not in ("image", "cloth", "pose_img")]
    try:
        sample = load_resampled(source, split, sid, reuse, height, width)
    except ValueError as exc:
        raise ExportError(
            f"{split}/{sid}: {exc}; {target.flavor}'s loader reads {height}x{width} (height x "
            "width) only: "
            "give the dataset a 3:4 size (base.height, base.width) or set export.size: dataset"
        ) from exc
    written = write_kinds(sample, lambda k: target.path(split, k, sid), height, width, kinds)
    counts["converted"] += len(written)
    counts["resampled"] += 1


def _export_dresscode(
    source: Layout, target: DressCodeLayout, category: str, counts: Counter, progress: bool
) -> set[str]:
    """One DressCode category folder from every split; returns the kinds left out."""
    names: dict[str, str] = {}  # DressCode id -> our id
    left_out: set[str] = set()
    work = [
        (split, sid) for split in source.splits_present() for sid in source.published_ids(split)
    ]
    for split, sid in work:
        dc = dresscode_id(sid)
        if dc in names:
            raise ExportError(
                f"samples {names[dc]!r} and {split}/{sid!r} both become DressCode id {dc!r} "
                "(DressCode keeps every split in one images/ folder and its ids hold no '_'); "
                "rename one of them in the dataset"
            )
        names[dc] = sid
    for split in source.splits_present():
        left_out |= {k for k in source.kinds_present(split) if k not in DRESSCODE_OF_KIND}
    for split, sid in tqdm(work, desc=f"export dresscode {category}", disable=not progress):
        _dresscode_sample(source, target, category, split, sid, counts)
        counts["samples"] += 1
        counts[split] += 1
    for split in SPLITS:
        if split not in source.splits_present():
            continue
        for unpaired in (False, True) if split == "test" else (False,):
            path = source.pairs_path(split, unpaired)
            if not path.exists():
                continue
            pairs = [(dresscode_id(p), dresscode_id(c)) for p, c in read_pairs(path)]
            for folder in (category, None):  # the category's file and the root's (all)
                write_dresscode_pairs(target.pairs_path(split, unpaired, folder), pairs)
                counts["converted"] += 1
    write_ids_map(target.ids_map_path, names)
    return left_out


def _dresscode_sample(
    source: Layout,
    target: DressCodeLayout,
    category: str,
    split: str,
    sid: str,
    counts: Counter,
) -> None:
    dc = dresscode_id(sid)

    def src(kind_name: str) -> Path | None:
        path = source.path(split, kind_name, sid)
        return path if path.exists() else None

    def dst(file_name: str) -> Path:
        path = target.path(category, file_name, dc)
        path.parent.mkdir(parents=True, exist_ok=True)
        counts["converted"] += 1
        return path

    image = source.path(split, "image", sid)
    height, width = image_size(image)
    counts["height"], counts["width"] = height, width
    _put(image, target.path(category, "image", dc), counts)
    if cloth := src("cloth"):
        _put(cloth, target.path(category, "cloth", dc), counts)
    body = None
    if pose := src("pose_json"):
        body = openpose.read_keypoints(pose)
        openpose.write_dresscode_keypoints(dst("keypoints"), body, height, width)
        write_jpeg(dst("skeleton"), openpose.render_coco18(body, height, width))
    if parse := src("parse"):
        ids = labels.from_viton(labels.read_parse(parse), "dresscode", _midline(body))
        labels.write_label_map(dst("label_map"), ids, "dresscode")
    if dense := src("densepose"):
        densepose.write_part_ids(dst("dense"), densepose.read_densepose(dense))
    if mask := src("cloth_mask"):
        masks.write_mask(dst("mask"), masks.read_mask(mask))


def _midline(body) -> float | None:
    """The body's vertical midline (neck, else mid-hip x) for sided labels; None: unknown."""
    if body is None:
        return None
    for point in (openpose.Body25.NECK, openpose.Body25.MID_HIP):
        if body[point, 2] > 0:
            return float(body[point, 0])
    return None


LOADERS = {
    "hr-viton": "HR-VITON (`cp_dataset.py`, `cp_dataset_test.py`), StableVITON, IDM-VTON, CatVTON",
    "viton-hd": "the original VITON-HD loader (`datasets.py`)",
    "dresscode": "the DressCode loaders (`data/dataset.py` of the DressCode release)",
}
WHY_SIZE = {
    ("hr-viton", "peer"): "HR-VITON's test loader draws its arm masks on a fixed 768x1024 "
    "canvas and pastes them onto the photo, so it reads 1024x768 (height x width) only; "
    "StableVITON, IDM-VTON and CatVTON read it too and resize on load",
    ("viton-hd", "peer"): "the original VITON-HD loader is fixed at 1024x768 (height x width)",
    ("hr-viton", "dataset"): "`export.size: dataset` keeps the dataset's own size: StableVITON, "
    "IDM-VTON and CatVTON resize on load; HR-VITON's test loader needs 1024x768 "
    "(`export.size: peer`)",
    ("viton-hd", "dataset"): "`export.size: dataset` keeps the dataset's own size; the original "
    "VITON-HD loader needs 1024x768 (`export.size: peer`)",
}


def export_readme(flavor: str, category: str, size: str, counts: Counter) -> str:
    """The README.md an export carries: flavour, size and why, folders, pairs, how to load."""
    height, width = counts["height"], counts["width"]
    why = WHY_SIZE.get(
        (flavor, size), "DressCode's loaders resize on load, so the dataset's own size is kept"
    )
    if flavor == "dresscode":
        folders = (
            f"- `{category}/images/` (ID_0.jpg person, ID_1.jpg garment), `keypoints/`, "
            "`label_maps/`, `dense/`, `masks/`, `skeletons/`\n"
            f"- `{category}/train_pairs.txt`, `{category}/test_pairs_paired.txt`, "
            f"`{category}/test_pairs_unpaired.txt` and the same at the root; `vton_ids.csv` "
            "maps DressCode ids back to ours\n"
        )
        load = "Point the loader's `dataroot` at this folder and its category at "
        load += f"`{category}`."
    else:
        layout = Layout(Path("."), flavor=flavor)
        names = ", ".join(f"`{layout.kind_of(k).folder}/`" for k in layout.kind_names)
        folders = (
            f"- `train/` and `test/`, each with {names}\n"
            "- `train_pairs.txt` (paired), `test_pairs.txt` (unpaired: the loaders take the "
            "paired garment from the person's own file name, as in the VITON-HD release) and "
            "`test_pairs_unpaired.txt`\n"
        )
        load = "Point the loader's `dataroot` (StableVITON: `data_root_dir`) at this folder, "
        load += "with `datamode` test or train and `data_list` test_pairs.txt."
    return (
        f"# A vton export for {flavor}\n\n"
        f"Written by `vton export` (stage `export`) for {LOADERS[flavor]}.\n\n"
        f"- Samples: {counts['samples']} ({counts['train']} train, {counts['test']} test), "
        f"{counts['resampled']} of them resampled\n"
        f"- Size: {height}x{width} (height x width), `export.size: {size}`: {why}.\n\n"
        "Sizes by flavour: `hr-viton` and `viton-hd` are written at 1024x768 with "
        "`export.size: peer` (their loaders read that size only) and at the dataset's own size "
        "with `export.size: dataset`; `dresscode` keeps the dataset's size (its loaders "
        "resize).\n\n"
        f"## Folders\n\n{folders}\n## Loading it\n\n{load}\n\n"
        "The docs of vton (docs/export.md) describe each flavour and what its loader reads.\n"
    )
