"""Model inputs from in-memory annotations, built by the code training reads samples with.

Training reads each pair from the dataset files (`vton.train.data.load_pair`): JPEG photos,
agnostic and DensePose renderings, palette-PNG parses grouped into 13 classes, OpenPose
JSON keypoints, all resized by one albumentations transform. To give the models exactly
those inputs, `model_batch` writes the annotations of one pair into a private temporary
dataset in the VITON-HD layout (the same writer the annotation stages use) and reads it
back with `load_pair`; nothing is re-implemented, so inference cannot drift from training.
The temporary folder lives for the call only (a few ms at 512x384).

`to_images` turns the models' output tensors back into uint8 pictures at the working size.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from vton.records import Sample

PAIR_ID = "pair"
SPLIT = "test"

_ARRAYS = {
    "person": (3, np.uint8),
    "cloth": (3, np.uint8),
    "cloth_mask": (None, bool),
    "parse": (None, np.uint8),
    "densepose": (None, np.uint8),
    "agnostic": (3, np.uint8),
    "parse_agnostic": (None, np.uint8),
    "agnostic_mask": (None, bool),
}


def check_arrays(arrays: dict) -> tuple[int, int]:
    """Check the annotation arrays of one pair (see `model_batch`); returns (H, W)."""
    missing = sorted({*_ARRAYS, "pose"} - set(arrays))
    if missing:
        raise KeyError(f"model inputs need {missing}; got {sorted(arrays)}")
    height, width = arrays["person"].shape[:2]
    for name, (channels, dtype) in _ARRAYS.items():
        a = np.asarray(arrays[name])
        shape = (height, width) if channels is None else (height, width, channels)
        if a.shape != shape or a.dtype != np.dtype(dtype):
            raise ValueError(
                f"{name} must be {shape} {np.dtype(dtype)} like the person photo, "
                f"got {a.shape} {a.dtype}"
            )
    pose = np.asarray(arrays["pose"])
    if pose.shape != (25, 3):
        raise ValueError(f"pose must be (25, 3) BODY_25 x, y, confidence, got {pose.shape}")
    return height, width


def model_batch(arrays: dict, size: tuple[int, int], device: torch.device) -> dict:
    """One pair's annotations -> the models' batch (batch axis 1) at `size` on `device`.

    arrays: person, cloth (H, W, 3) uint8 RGB; cloth_mask, agnostic_mask (H, W) bool;
    parse, parse_agnostic (H, W) uint8 VITON-HD ids; densepose (H, W) uint8 part ids;
    agnostic (H, W, 3) uint8; pose (25, 3) float BODY_25 pixels + confidence.
    Returns `vton.train.data`'s sample contract with a leading batch axis of 1 (tensors
    only), e.g. agnostic (1, 3, h, w) in [-1, 1] with (h, w) = size.
    """
    from vton.layout import Layout
    from vton.train.data import load_pair
    from vton.writer import write_sample

    height, width = check_arrays(arrays)
    sample = Sample(
        id=PAIR_ID,
        split=SPLIT,
        pose=np.asarray(arrays["pose"], np.float32),
        **{name: arrays[name] for name in _ARRAYS},
    )
    with tempfile.TemporaryDirectory(prefix="vton-infer-") as tmp:
        layout = Layout(Path(tmp))
        write_sample(layout, sample, height, width)
        pair = load_pair(layout, SPLIT, PAIR_ID, PAIR_ID, size=(size[0], size[1]))
    return {k: v[None].to(device) for k, v in pair.items() if isinstance(v, torch.Tensor)}


def _image(x: torch.Tensor) -> np.ndarray:
    """(1, 3, h, w) in [-1, 1] -> (h, w, 3) uint8."""
    x = x[0].detach().float().clamp(-1, 1).add(1).mul(127.5).round()
    return x.to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def _grey(x: torch.Tensor) -> np.ndarray:
    """(1, 1, h, w) in [0, 1] -> (h, w, 3) uint8 grey."""
    g = x[0, 0].detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()
    return np.repeat(g[..., None], 3, axis=2)


def _resize(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    if rgb.shape[:2] == (height, width):
        return rgb
    up = rgb.shape[0] < height
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_CUBIC if up else cv2.INTER_AREA)


def paste_back(photo: np.ndarray, result: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Blend `result` into `photo` inside `mask` ((H, W) bool), outside keep the photo.

    The mask is grown by about 1 % of the image width and feathered, so the seam falls
    outside the region the model rendered and the old garment cannot peek through.
    """
    grow = max(1, round(photo.shape[1] / 96))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    dilated = cv2.dilate(mask.astype(np.uint8), kernel).astype(np.float32)
    blurred = cv2.GaussianBlur(dilated, (0, 0), grow / 2)
    soft = np.maximum(blurred, mask.astype(np.float32))[..., None]
    blended = result.astype(np.float32) * soft + photo.astype(np.float32) * (1 - soft)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def to_images(arrays: dict, out, size: tuple[int, int], paste: bool) -> dict[str, np.ndarray]:
    """Every intermediate of one try-on as (H, W, 3) uint8 RGB at `size` (the working size).

    `arrays`: the annotations (`model_batch`); `out`: `vton.models.TryOnOutput`.
    """
    from vton.formats import densepose, labels
    from vton.formats.openpose import render_skeleton

    height, width = size
    result = _resize(_image(out.result), height, width)
    if paste:
        result = paste_back(arrays["person"], result, arrays["agnostic_mask"])
    mask_rgb = np.repeat(arrays["cloth_mask"].astype(np.uint8)[..., None] * 255, 3, axis=2)
    return {
        "person": arrays["person"],
        "garment": arrays["cloth"],
        "cloth_mask": mask_rgb,
        "pose": render_skeleton(np.asarray(arrays["pose"], np.float32), height, width),
        "parse": labels.colorize(arrays["parse"]),
        "densepose": densepose.colorize(arrays["densepose"]),
        "agnostic": arrays["agnostic"],
        "warped_cloth": _resize(_image(out.warped_cloth), height, width),
        "warped_mask": _resize(_grey(out.warped_mask), height, width),
        "rendered": _resize(_image(out.rendered), height, width),
        "composition_mask": _resize(_grey(out.mask), height, width),
        "result": result,
    }
