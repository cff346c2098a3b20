"""Write samples into a VITON-HD layout (every file atomically) and build catalog rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from pathlib import Path

import numpy as np

from vton.fileio import copy_atomic, file_digest
from vton.formats import densepose, labels, masks, openpose
from vton.formats.images import write_jpeg
from vton.layout import KINDS, Layout
from vton.records import Sample


def _check_image(name: str, array: np.ndarray, height: int, width: int, channels: int | None):
    shape = (height, width) if channels is None else (height, width, channels)
    if array.shape != shape:
        raise ValueError(f"sample {name}: expected shape {shape}, got {array.shape}")


def write_sample(
    layout: Layout, sample: Sample, height: int, width: int, *, annotations: Layout | None = None
) -> dict[str, Path]:
    """Write every kind a sample carries into `layout`; returns kind -> written path.

    With `annotations`, the annotation kinds (everything but the person and garment photos)
    go there instead, e.g. the source's own reference annotations beside the dataset.
    """

    def path_of(kind_name: str) -> Path:
        target = layout if annotations is None or not KINDS[kind_name].annotation else annotations
        return target.path(sample.split, kind_name, sample.id)

    return write_kinds(sample, path_of, height, width)


def write_kinds(
    sample: Sample,
    path_of: Callable[[str], Path],
    height: int,
    width: int,
    only: Collection[str] | None = None,
) -> dict[str, Path]:
    """Write the kinds a sample carries (restricted to `only`) to `path_of(kind)`.

    Arrays are checked against (height, width) before anything is written; files in
    `sample.files` are copied verbatim instead of re-encoded. Returns kind -> path.
    """
    sid = sample.id
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
        if array is not None and (only is None or name in only):
            _check_image(f"{sid} {name}", array, height, width, channels)
    written: dict[str, Path] = {}

    def wanted(kind_name: str) -> bool:
        return (only is None or kind_name in only) and kind_name not in sample.files

    def target(kind_name: str) -> Path:
        path = path_of(kind_name)
        written[kind_name] = path
        return path

    for kind_name, src in sample.files.items():
        if only is None or kind_name in only:
            copy_atomic(Path(src), target(kind_name))
    if sample.person is not None and wanted("image"):
        write_jpeg(target("image"), sample.person)
    if sample.cloth is not None and wanted("cloth"):
        write_jpeg(target("cloth"), sample.cloth)
    if sample.cloth_mask is not None and wanted("cloth_mask"):
        masks.write_mask(target("cloth_mask"), sample.cloth_mask)
    if sample.parse is not None and wanted("parse"):
        labels.write_parse(target("parse"), sample.parse)
    if sample.pose is not None or sample.pose_doc is not None:
        if wanted("pose_json"):
            if sample.pose_doc is not None:
                openpose.write_openpose(target("pose_json"), sample.pose_doc)
            elif sample.pose is not None:
                openpose.write_keypoints(target("pose_json"), sample.pose)
        if wanted("pose_img"):
            body = sample.pose
            if body is None and sample.pose_doc is not None:
                body = np.asarray(
                    sample.pose_doc["people"][0]["pose_keypoints_2d"], np.float32
                ).reshape(25, 3)
            if body is not None:  # one of the two is set (the branch above)
                openpose.write_rendered(target("pose_img"), body, height, width)
    if sample.densepose is not None and wanted("densepose"):
        densepose.write_densepose(target("densepose"), sample.densepose)
    if sample.agnostic is not None and wanted("agnostic"):
        write_jpeg(target("agnostic"), sample.agnostic)
    if sample.parse_agnostic is not None and wanted("parse_agnostic"):
        labels.write_parse(target("parse_agnostic"), sample.parse_agnostic)
    if sample.agnostic_mask is not None and wanted("agnostic_mask"):
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
