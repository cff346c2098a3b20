"""Each kind's codec: the array it holds in memory and the format functions that read and
write its files.

`vton.layout.KINDS` says where a kind's files live; `CODECS` says how they are decoded and
encoded, so code that handles several kinds (the sample writer, the VITON-HD import's
resampling, the `reference` backend) looks the format up here instead of choosing a function
by name. The table lives apart from the layout so that modules reading one kind do not depend
on every format module: the code fingerprints of the annotation cache follow imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from vton.formats import densepose, labels, masks, openpose
from vton.formats.images import read_rgb, write_jpeg, write_png


@dataclass(frozen=True)
class Codec:
    """How one kind's files are read and written.

    `read(path)` returns the array `holds` describes; `write(path, array)` writes one file
    atomically. `channels` is 3 for (H, W, 3) colour images, None for (H, W) id maps and masks
    and for the keypoints, whose shape is not the image's. `ids`: label ids or a mask, resampled
    by nearest neighbour, never blended. `attribute` names the `vton.records.Sample` field that
    holds the kind (None for the skeleton rendering, drawn from the keypoints).
    """

    holds: str
    read: Callable[[Path], Any]
    write: Callable[[Path, Any], None]
    attribute: str | None
    channels: int | None = None
    ids: bool = False

    @property
    def image(self) -> bool:
        """Whether the array is an image at the sample's (height, width)."""
        return self.attribute not in (None, "pose")


def _rgb(attribute: str, write: Callable[[Path, Any], None] = write_jpeg) -> Codec:
    return Codec("uint8 (H, W, 3) RGB; a baseline JPEG", read_rgb, write, attribute, channels=3)


def _parse(attribute: str) -> Codec:
    return Codec(
        "uint8 (H, W) VITON-HD label ids (`labels.VitonLabel`); a palette PNG",
        labels.read_parse,
        labels.write_parse,
        attribute,
        ids=True,
    )


CODECS: dict[str, Codec] = {
    "image": _rgb("person"),
    "cloth": _rgb("cloth"),
    "cloth_mask": Codec(
        "bool (H, W) mask; a 0/255 greyscale JPEG",
        masks.read_mask,
        masks.write_mask,
        "cloth_mask",
        ids=True,
    ),
    "parse": _parse("parse"),
    "pose_json": Codec(
        "float32 (25, 3) BODY_25 x, y (pixels), confidence, missing points (0, 0, 0); "
        "OpenPose JSON",
        openpose.read_keypoints,
        openpose.write_keypoints,
        "pose",
    ),
    "pose_img": Codec(
        "uint8 (H, W, 3) RGB skeleton in OpenPose's colours; a PNG",
        read_rgb,
        write_png,
        None,
        channels=3,
    ),
    "densepose": Codec(
        "uint8 (H, W) DensePose part ids 0..24; a JPEG of their colour rendering",
        densepose.read_densepose,
        densepose.write_densepose,
        "densepose",
        ids=True,
    ),
    "agnostic": _rgb("agnostic"),
    "parse_agnostic": _parse("parse_agnostic"),
    "agnostic_mask": Codec(
        "bool (H, W) mask; a 0/255 PNG of three equal channels, as VITON-HD's agnostic masks",
        masks.read_mask,
        partial(masks.write_mask, rgb=True),
        "agnostic_mask",
        ids=True,
    ),
}
"""Kind name (`vton.layout.KINDS`) -> codec, in pipeline order."""
