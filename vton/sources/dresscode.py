"""Import a DressCode-layout root (the dataset's release, or our `dresscode` export).

Per category folder, the splits come from its pairs files (`train_pairs.txt`,
`test_pairs_paired.txt`, else the person side of `test_pairs_unpaired.txt`); each person
`images/ID_0.jpg` comes with its own garment `images/ID_1.jpg`. Annotations are converted to
our kinds by the format modules:

- `label_maps/ID_4.png` (DressCode ids) -> `parse` in VITON-HD ids (`DRESSCODE_TO_VITON`:
  belt joins the pants, bag the background, head is the face);
- `keypoints/ID_2.json` (COCO-18 in the 384x512 frame) -> `pose_json` BODY_25 pixels, mid-hip
  from the hips, no feet; `pose_img` is redrawn from them (the COCO-18 `skeletons/` are not
  read);
- `dense/ID_5.png` (part ids) -> `densepose`; `masks/ID_1.png` -> `cloth_mask`.

Photos at the target size are copied byte for byte; at another size every kind is resampled
(photos with Lanczos, label maps and masks by nearest neighbour; keypoints are stored in a
fixed frame, so they are read straight into the target size). `vton_ids.csv`, when present
(our export writes it), gives each DressCode id back its sample id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from vton.config import DressCodeSource
from vton.formats import densepose, labels, masks, openpose
from vton.formats.images import image_size, read_rgb
from vton.layout import (
    DRESSCODE_CATEGORIES,
    DressCodeLayout,
    read_dresscode_pairs,
    read_ids_map,
)
from vton.records import Reject, Sample

NAME = "dresscode"
KINDS_READ = ("cloth_mask", "parse", "pose_json", "densepose")


def _resize(array: np.ndarray, height: int, width: int, nearest: bool) -> np.ndarray:
    if array.shape[:2] == (height, width):
        return array
    img = Image.fromarray(array)
    method = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
    return np.asarray(img.resize((width, height), method)).copy()


def split_ids(layout: DressCodeLayout, category: str, split: str) -> list[str]:
    """The person ids of one category and split, in pairs-file order (first occurrence)."""
    path = layout.pairs_path(split, category=category)
    if not path.exists() and split == "test":
        path = layout.pairs_path(split, unpaired=True, category=category)
    if not path.exists():
        return []
    return list(dict.fromkeys(p for p, _ in read_dresscode_pairs(path)))


def iter_samples(
    cfg: DressCodeSource, height: int, width: int, base: Path | None = None
) -> Iterator[Sample | Reject]:
    """Yield the samples of `cfg.root` (relative paths resolve against `base`)."""
    if not cfg.root:
        raise ValueError("data.dresscode.root is empty: set it to a DressCode-layout folder")
    root = Path(cfg.root)
    if not root.is_absolute() and base is not None:
        root = base / root
    if not root.is_dir():
        raise FileNotFoundError(f"data.dresscode.root {root} is not a folder")
    bad = [c for c in cfg.categories if c not in DRESSCODE_CATEGORIES]
    if bad:
        raise ValueError(f"data.dresscode.categories: {bad} are not in {DRESSCODE_CATEGORIES}")
    unknown = [k for k in cfg.reuse if k not in KINDS_READ]
    if unknown:
        raise ValueError(
            f"data.dresscode.reuse: {unknown} cannot be read from DressCode; it carries "
            f"{', '.join(KINDS_READ)}"
        )
    layout = DressCodeLayout(root)
    missing = [c for c in cfg.categories if not layout.category_root(c).is_dir()]
    if missing and len(missing) == len(cfg.categories):
        raise FileNotFoundError(
            f"{root} has none of the categories {list(cfg.categories)} (expected "
            f"CATEGORY/images/ID_0.jpg; present: {layout.categories_present() or 'none'})"
        )
    names = read_ids_map(layout.ids_map_path)
    seen: dict[str, str] = {}
    found_any = False
    for category in cfg.categories:
        if category in missing:
            continue
        for split in cfg.splits:
            ids = split_ids(layout, category, split)
            if cfg.limit is not None:
                ids = ids[: cfg.limit]
            found_any = found_any or bool(ids)
            for dc in ids:
                sid = names.get(dc, dc)
                origin = str(layout.path(category, "image", dc))
                if sid in seen:
                    yield Reject(
                        sid,
                        origin,
                        "duplicate_id",
                        f"id {sid} is listed again in {category}/{split} (first in "
                        f"{seen[sid]}); ids must be unique across categories and splits",
                        NAME,
                    )
                    continue
                seen[sid] = f"{category}/{split}"
                try:
                    yield _one(layout, category, split, dc, sid, cfg.reuse, height, width)
                except (OSError, ValueError) as exc:
                    reason = "missing_file" if isinstance(exc, FileNotFoundError) else "unreadable"
                    yield Reject(sid, origin, reason, str(exc), NAME)
    if not found_any:
        raise FileNotFoundError(
            f"{root}: no pairs lines for categories {list(cfg.categories)} and splits "
            f"{list(cfg.splits)} (expected CATEGORY/train_pairs.txt, test_pairs_paired.txt)"
        )


def _one(
    layout: DressCodeLayout,
    category: str,
    split: str,
    dc: str,
    sid: str,
    reuse,
    height: int,
    width: int,
) -> Sample:
    image, cloth = layout.path(category, "image", dc), layout.path(category, "cloth", dc)
    for path, what in ((image, "person photo"), (cloth, "garment photo")):
        if not path.exists():
            raise FileNotFoundError(f"no {what} for {dc}: {path} is missing")
    src_h, src_w = image_size(image)
    if abs(src_h * width - src_w * height) > max(src_h, src_w) // 100:
        raise ValueError(f"aspect {src_w}x{src_h} differs from the target {width}x{height}")
    sample = Sample(id=sid, split=split)
    native = (src_h, src_w) == (height, width)
    if native and image_size(cloth) == (height, width):
        sample.files = {"image": image, "cloth": cloth}
    else:
        sample.person = _resize(read_rgb(image), height, width, False)
        sample.cloth = _resize(read_rgb(cloth), height, width, False)

    def present(file_name: str) -> Path | None:
        path = layout.path(category, file_name, dc)
        return path if path.exists() else None

    if "pose_json" in reuse and (found := present("keypoints")):
        sample.pose = openpose.read_dresscode_keypoints(found, height, width)
    if "parse" in reuse and (found := present("label_map")):
        ids = labels.to_viton(labels.read_parse(found), "dresscode")
        sample.parse = _resize(ids, height, width, True)
    if "densepose" in reuse and (found := present("dense")):
        sample.densepose = _resize(densepose.read_part_ids(found), height, width, True)
    if "cloth_mask" in reuse and (found := present("mask")):
        sample.cloth_mask = _resize(masks.read_mask(found), height, width, True)
    sample.source = NAME
    sample.origin = str(image)
    sample.provenance = {
        "root": str(layout.root),
        "category": category,
        "split": split,
        "dresscode_id": dc,
        "resampled": not native,
    }
    return sample
