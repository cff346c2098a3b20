"""What the models see: the person representation, assembled the same way everywhere.

Channels of `person_representation` (all `(B, C, H, W)` float at one resolution):
  agnostic        3   the cloth-agnostic person photo, in [-1, 1]
  parse_agnostic 13   one-hot of the 13 parse groups of the agnostic parse (`PARSE_GROUPS`)
  pose           25   BODY_25 keypoint heatmaps, Gaussians in [0, 1] (0 for missing points)
  densepose      25   one-hot of the 24 DensePose parts plus background
built from a batch holding `agnostic` (B, 3, H, W), `parse_agnostic` (B, H, W) group ids,
`keypoints` (B, 25, 3) x, y in pixels and confidence, and `densepose` (B, H, W) part ids
(the sample contract of `vton.train.data`). The agnostic parse (not the full parse) is used
so that nothing tells the models the shape of the garment the person wore: at try-on time
it is someone else's garment.
"""

from __future__ import annotations

import torch

from vton.formats.densepose import N_PARTS
from vton.formats.labels import PARSE_GROUPS

N_KEYPOINTS = 25
PERSON_PARTS: tuple[tuple[str, int], ...] = (
    ("agnostic", 3),
    ("parse_agnostic", len(PARSE_GROUPS)),
    ("pose", N_KEYPOINTS),
    ("densepose", N_PARTS + 1),
)
PERSON_CHANNELS = sum(c for _, c in PERSON_PARTS)
REQUIRED = ("agnostic", "parse_agnostic", "keypoints", "densepose")


def one_hot(ids: torch.Tensor, classes: int) -> torch.Tensor:
    """(B, H, W) integer ids -> (B, classes, H, W) float one-hot; an id >= classes is an error."""
    if ids.ndim != 3 or ids.is_floating_point():
        raise ValueError(f"ids must be (B, H, W) integers, got {ids.dtype} {tuple(ids.shape)}")
    ids = ids.long()
    if ids.numel() and int(ids.max()) >= classes:
        raise ValueError(f"ids hold {int(ids.max())}, above the {classes} classes expected")
    return torch.nn.functional.one_hot(ids, classes).permute(0, 3, 1, 2).float()


def keypoint_heatmaps(keypoints: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, K, 3) x, y (pixels), confidence -> (B, K, H, W) Gaussians of sigma max(1, H/64).

    Points with confidence 0 or outside the image give an all-zero channel.
    """
    if keypoints.ndim != 3 or keypoints.shape[-1] != 3:
        raise ValueError(f"keypoints must be (B, K, 3), got {tuple(keypoints.shape)}")
    sigma = max(1.0, height / 64)
    k = keypoints.float()
    x, y = k[..., 0:1], k[..., 1:2]  # (B, K, 1)
    valid = (k[..., 2:] > 0) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    ys = torch.arange(height, device=k.device, dtype=torch.float32)
    xs = torch.arange(width, device=k.device, dtype=torch.float32)
    # A 2-D Gaussian is the outer product of two 1-D ones: (B, K, H, 1) * (B, K, 1, W).
    gy = torch.exp(-((ys - y) ** 2) / (2 * sigma**2)) * valid
    gx = torch.exp(-((xs - x) ** 2) / (2 * sigma**2))
    return gy[..., :, None] * gx[..., None, :]


def person_representation(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The person channels of a batch (see the module docstring) -> (B, 66, H, W) float."""
    missing = [k for k in REQUIRED if k not in batch]
    if missing:
        raise KeyError(f"the person representation needs {missing}; the batch has {sorted(batch)}")
    agnostic = batch["agnostic"]
    if agnostic.ndim != 4 or agnostic.shape[1] != 3:
        raise ValueError(f"agnostic must be (B, 3, H, W), got {tuple(agnostic.shape)}")
    height, width = agnostic.shape[-2:]
    for name in ("parse_agnostic", "densepose"):
        if tuple(batch[name].shape) != (agnostic.shape[0], height, width):
            raise ValueError(
                f"{name} must be (B, H, W) = {(agnostic.shape[0], height, width)} ids, got "
                f"{tuple(batch[name].shape)}"
            )
    return torch.cat(
        [
            agnostic.float(),
            one_hot(batch["parse_agnostic"], len(PARSE_GROUPS)),
            keypoint_heatmaps(batch["keypoints"], height, width),
            one_hot(batch["densepose"], N_PARTS + 1),
        ],
        1,
    )
