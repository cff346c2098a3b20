"""Write samples into a VITON-HD layout (every file atomically) and build catalog rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from pathlib import Path

import numpy as np

from vton.fileio import copy_atomic, file_digest
from vton.formats import openpose
from vton.formats.codecs import CODECS
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
    `sample.files` are copied verbatim instead of re-encoded. Each kind is encoded by its codec
    (`vton.formats.codecs`); the keypoints keep their whole OpenPose document when the sample
    has one, and the skeleton is drawn from them. Returns kind -> path.
    """
    images = {
        name: (getattr(sample, codec.attribute), codec)
        for name, codec in CODECS.items()
        if codec.image and codec.attribute is not None and (only is None or name in only)
    }
    for name, (array, codec) in images.items():
        if array is not None:
            _check_image(f"{sample.id} {name}", array, height, width, codec.channels)
    written: dict[str, Path] = {}

    def target(kind_name: str) -> Path:
        path = path_of(kind_name)
        written[kind_name] = path
        return path

    for kind_name, src in sample.files.items():
        if only is None or kind_name in only:
            copy_atomic(Path(src), target(kind_name))
    pose_kinds = {k for k in ("pose_json", "pose_img") if only is None or k in only}
    for name in CODECS:  # in pipeline order, as before the table
        if name == "pose_json":
            _write_pose(sample, pose_kinds - set(sample.files), target, height, width)
        elif name in images and images[name][0] is not None and name not in sample.files:
            array, codec = images[name]
            codec.write(target(name), array)
    return written


def _write_pose(
    sample: Sample, wanted: set[str], target: Callable[[str], Path], height: int, width: int
) -> None:
    """The keypoints (the sample's OpenPose document when it has one) and their skeleton."""
    body = sample.pose
    if body is None and sample.pose_doc is not None:
        people = sample.pose_doc["people"][0]["pose_keypoints_2d"]
        body = np.asarray(people, np.float32).reshape(25, 3)
    if body is None:
        return
    if "pose_json" in wanted:
        if sample.pose_doc is not None:
            openpose.write_openpose(target("pose_json"), sample.pose_doc)
        else:
            CODECS["pose_json"].write(target("pose_json"), body)
    if "pose_img" in wanted:
        openpose.write_rendered(target("pose_img"), body, height, width)


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
