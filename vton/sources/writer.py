"""Write samples into a VITON-HD layout (every file atomically) and build catalog rows."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from vton.formats import densepose, labels, masks, openpose
from vton.formats.images import write_jpeg
from vton.layout import Layout, file_digest
from vton.sources.base import Sample


def _copy_atomic(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dst.parent, prefix=f".{dst.name}.", delete=False) as tmp:
        tmp_path = Path(tmp.name)
    try:
        shutil.copyfile(src, tmp_path)
        tmp_path.replace(dst)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _check_image(name: str, array: np.ndarray, height: int, width: int, channels: int | None):
    shape = (height, width) if channels is None else (height, width, channels)
    if array.shape != shape:
        raise ValueError(f"sample {name}: expected shape {shape}, got {array.shape}")


def write_sample(layout: Layout, sample: Sample, height: int, width: int) -> dict[str, Path]:
    """Write every kind a sample carries; returns kind -> written path.

    Arrays are checked against (height, width) before anything is written.
    """
    split, sid = sample.split, sample.id
    arrays = {
        "image": (sample.person, 3),
        "cloth": (sample.cloth, 3),
        "cloth_mask": (sample.cloth_mask, None),
        "parse": (sample.parse, None),
        "densepose": (sample.densepose, None),
        "agnostic": (sample.agnostic, 3),
        "parse_agnostic": (sample.parse_agnostic, None),
        "agnostic_mask": (sample.agnostic_mask, None),
    }
    for name, (array, channels) in arrays.items():
        if array is not None:
            _check_image(f"{sid} {name}", array, height, width, channels)
    written: dict[str, Path] = {}

    def target(kind_name: str) -> Path:
        path = layout.path(split, kind_name, sid)
        written[kind_name] = path
        return path

    for kind_name, src in sample.files.items():
        _copy_atomic(Path(src), target(kind_name))
    if sample.person is not None and "image" not in sample.files:
        write_jpeg(target("image"), sample.person)
    if sample.cloth is not None and "cloth" not in sample.files:
        write_jpeg(target("cloth"), sample.cloth)
    if sample.cloth_mask is not None and "cloth_mask" not in sample.files:
        masks.write_mask(target("cloth_mask"), sample.cloth_mask)
    if sample.parse is not None and "parse" not in sample.files:
        labels.write_parse(target("parse"), sample.parse)
    if sample.pose is not None or sample.pose_doc is not None:
        if "pose_json" not in sample.files:
            if sample.pose_doc is not None:
                openpose.write_openpose(target("pose_json"), sample.pose_doc)
            else:
                openpose.write_keypoints(target("pose_json"), sample.pose)
        if "pose_img" not in sample.files:
            body = sample.pose
            if body is None:
                body = np.asarray(
                    sample.pose_doc["people"][0]["pose_keypoints_2d"], np.float32
                ).reshape(25, 3)
            openpose.write_rendered(target("pose_img"), body, height, width)
    if sample.densepose is not None and "densepose" not in sample.files:
        densepose.write_densepose(target("densepose"), sample.densepose)
    if sample.agnostic is not None and "agnostic" not in sample.files:
        write_jpeg(target("agnostic"), sample.agnostic)
    if sample.parse_agnostic is not None and "parse_agnostic" not in sample.files:
        labels.write_parse(target("parse_agnostic"), sample.parse_agnostic)
    if sample.agnostic_mask is not None and "agnostic_mask" not in sample.files:
        masks.write_mask(target("agnostic_mask"), sample.agnostic_mask, rgb=True)
    return written


def catalog_row(sample: Sample, written: dict[str, Path]) -> dict:
    """The catalog row of a written sample: ids, source, provenance and file digests."""
    row = {
        "id": sample.id,
        "split": sample.split,
        "source": sample.source,
        "origin": sample.origin,
        "kinds": ",".join(sorted(written)),
        "provenance": json.dumps(sample.provenance, sort_keys=True, default=str),
    }
    for kind_name, path in written.items():
        row[f"sha256_{kind_name}"] = file_digest(path)
    return row
