"""Import an existing VITON-HD-layout root (the official release, HR-VITON's copy, ours).

The folder names tell the flavour (`vton.layout.detect_flavor`): a root with the original
loader's `image-parse` / `openpose-json` / `openpose-img` (and none of ours) is read with
those names, and the kinds that flavour has no folder for are simply absent.

At the native size files are copied byte for byte; at another size every kind is resampled
(photos with Lanczos, label maps and masks by nearest neighbour, keypoints scaled, skeleton
renders redrawn), so the annotations stay exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from vton.config import VitonHDSource
from vton.formats import openpose
from vton.formats.codecs import CODECS
from vton.formats.images import image_size
from vton.layout import KINDS, Layout, detect_flavor, read_pairs
from vton.records import Reject, Sample

NAME = "vitonhd"


def _resize(array: np.ndarray, height: int, width: int, nearest: bool) -> np.ndarray:
    img = Image.fromarray(array)
    method = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
    return np.asarray(img.resize((width, height), method)).copy()


def _scale_doc(doc: dict, factor: float) -> dict:
    """Scale every 2-D keypoint list (x, y, c triples) of an OpenPose document."""
    for person in doc["people"]:
        for key, values in person.items():
            if key.endswith("_2d") and isinstance(values, list):
                arr = np.asarray(values, np.float64).reshape(-1, 3)
                arr[:, :2] *= factor
                person[key] = arr.reshape(-1).tolist()
    return openpose.reformat_numbers(doc)


def load_resampled(layout: Layout, split: str, sid: str, reuse, height, width) -> Sample:
    """Sample `sid` of `layout` at (height, width): the photos and the `reuse` kinds resampled
    by the rules above; the aspect ratio must match within 1%."""
    s = Sample(id=sid, split=split)
    src_h, src_w = image_size(layout.path(split, "image", sid))
    if abs(src_h * width - src_w * height) > max(src_h, src_w) // 100:
        raise ValueError(f"aspect {src_w}x{src_h} differs from the target {width}x{height}")
    factor = width / src_w
    for kind_name in ("image", "cloth", *reuse):
        path = layout.path(split, kind_name, sid)
        codec = CODECS[kind_name]
        if kind_name == "pose_json":
            if path.exists():
                s.pose_doc = _scale_doc(openpose.read_openpose(path), factor)
                s.pose = codec.read(path) * np.array([factor, factor, 1], np.float32)
        elif codec.attribute is not None and (path.exists() or kind_name in ("image", "cloth")):
            setattr(s, codec.attribute, _resize(codec.read(path), height, width, codec.ids))
    return s


def iter_samples(
    cfg: VitonHDSource, height: int, width: int, base: Path | None = None
) -> Iterator[Sample | Reject]:
    """Yield the samples of `cfg.root` (relative paths resolve against `base`)."""
    if not cfg.root:
        raise ValueError("data.vitonhd.root is empty: set it to a VITON-HD-layout folder")
    root = Path(cfg.root)
    if not root.is_absolute() and base is not None:
        root = base / root
    if not root.is_dir():
        raise FileNotFoundError(f"data.vitonhd.root {root} is not a folder")
    layout = Layout(root, flavor=detect_flavor(root))
    unknown = [k for k in cfg.reuse if k not in KINDS or not KINDS[k].annotation]
    if unknown:
        raise ValueError(f"data.vitonhd.reuse: {unknown} are not annotation kinds")
    reuse = tuple(k for k in cfg.reuse if k in layout.kind_names)
    found_any = False
    for split in cfg.splits:
        ids = layout.ids(split)
        pairs_path = layout.pairs_path(split)
        if pairs_path.exists():  # the pairs file orders and selects the samples when present
            listed = [p for p, _ in read_pairs(pairs_path)]
            ids = [i for i in dict.fromkeys(listed) if i in set(ids)] or ids
        if cfg.limit is not None:
            ids = ids[: cfg.limit]
        found_any = found_any or bool(ids)
        for sid in ids:
            origin = str(layout.path(split, "image", sid))
            try:
                yield _one(layout, split, sid, reuse, height, width)
            except (OSError, ValueError) as exc:
                reason = "missing_file" if isinstance(exc, FileNotFoundError) else "unreadable"
                yield Reject(sid, origin, reason, str(exc), NAME)
    if not found_any:
        raise FileNotFoundError(
            f"{root} has no samples in splits {list(cfg.splits)} (expected SPLIT/image/*.jpg)"
        )


def _one(layout: Layout, split: str, sid: str, reuse, height: int, width: int) -> Sample:
    cloth = layout.path(split, "cloth", sid)
    if not cloth.exists():
        raise FileNotFoundError(f"no garment for {sid}: {cloth} is missing")
    if image_size(layout.path(split, "image", sid)) == (height, width):
        sample = Sample(id=sid, split=split)
        sample.files = {"image": layout.path(split, "image", sid), "cloth": cloth}
        for kind_name in reuse:
            path = layout.path(split, kind_name, sid)
            if path.exists():
                sample.files[kind_name] = path
        if "pose_json" in sample.files:
            openpose.read_openpose(sample.files["pose_json"])  # malformed JSON is a reject
        resampled = False
    else:
        sample = load_resampled(layout, split, sid, reuse, height, width)
        resampled = True
    sample.source = NAME
    sample.origin = str(layout.path(split, "image", sid))
    sample.provenance = {"root": str(layout.root), "split": split, "resampled": resampled}
    if layout.flavor != "hr-viton":
        sample.provenance["flavor"] = layout.flavor
    return sample
