"""Training and evaluation samples from a VITON-HD-layout dataset.

`load_pair` reads one (person, garment) pair with every kind the models need and returns
tensors (contracts below); `TryOnDataset` serves the pairs of a split (paired or unpaired)
with optional augmentation; `StepBatches` is the deterministic batch order of training,
the same for any number of DDP processes.

Sample contract (`dict`):
  person            (3, H, W) float32 in [-1, 1], the person photo
  agnostic          (3, H, W) float32 in [-1, 1], the cloth-agnostic photo
  parse             (H, W) uint8, group ids 0..12 of the full parse (`PARSE_GROUPS`)
  parse_agnostic    (H, W) uint8, group ids 0..12 of the agnostic parse
  parse_agnostic_ids (H, W) uint8, the agnostic parse in VITON-HD's 20 label ids (unet_sa)
  densepose         (H, W) uint8, DensePose part ids 0..24 (0 = background)
  keypoints         (25, 3) float32, BODY_25 x, y (pixels at H x W), confidence (0: missing)
  agnostic_mask     (1, H, W) float32 {0, 1}
  person_cloth_mask (1, H, W) float32 {0, 1}, the person's upper-garment region (GMM target)
  cloth             (3, H, W) float32 in [-1, 1], the garment photo
  cloth_mask        (1, H, W) float32 {0, 1}
  id, cloth_id      str
  seed              int, the sample's augmentation seed (training draws per-sample noise from it)
  cloth_warp        (3, H, W) float32 in [-1, 1], only with a `warped` root (stage warp_cloth):
  cloth_warp_mask   (1, H, W) float32 {0, 1}      the pre-warped garment and its mask
Label maps and keypoints stay compact here (a sample is ~2 MB at 256x192, not ~17 MB);
`vton.models.inputs.person_representation` expands them to one-hot channels and heatmaps
on the device.
Augmentation draws one affine transform and one brightness/contrast change per sample and
applies them to every image, label map, mask and keypoint of it, garment included.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

from vton.config import TrainData
from vton.formats import densepose, labels, masks, openpose
from vton.formats.images import read_rgb
from vton.layout import Layout, read_pairs

if TYPE_CHECKING:
    from vton.families.warp_cloth import WarpedReader

IMAGES = ("person", "agnostic", "cloth")
MASKS = (
    "parse",
    "parse_agnostic",
    "parse_agnostic_ids",
    "densepose",
    "agnostic_mask",
    "cloth_mask",
    "cloth_warp_mask",
)
UPPER_GROUP = [name for name, _ in labels.PARSE_GROUPS].index("upper")


@functools.lru_cache(maxsize=8)
def _transform(height: int, width: int, augment: TrainData | None):
    import albumentations as A
    import cv2

    steps = [A.Resize(height, width, interpolation=cv2.INTER_AREA, mask_interpolation=0)]
    if augment is not None and augment.augment:
        steps += [
            A.Affine(
                scale=(1 - augment.scale, 1 + augment.scale),
                translate_percent=(-augment.shift, augment.shift),
                rotate=(-augment.rotate, augment.rotate),
                border_mode=cv2.BORDER_REPLICATE,
                p=augment.p,
            ),
            A.RandomBrightnessContrast(augment.color, augment.color, p=augment.p),
        ]
    return A.Compose(
        steps,
        additional_targets={"agnostic": "image", "cloth": "image", "cloth_warp": "image"}
        | {name: "mask" for name in MASKS},
        keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
    )


def _to_image(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0)


def load_pair(
    layout: Layout,
    split: str,
    person_id: str,
    cloth_id: str,
    size: tuple[int, int] | None = None,
    augment: TrainData | None = None,
    seed: int = 0,
    warped: WarpedReader | None = None,
) -> dict:
    """Read one pair at `size` (height, width; None: the files' size), see the contract above.

    `warped`: the split's pack of stage warp_cloth; the pair's pre-warped garment is read
    from it.

    Raises FileNotFoundError naming the missing file (run the annotation stages first).
    """
    paths = {
        "person": layout.path(split, "image", person_id),
        "agnostic": layout.path(split, "agnostic", person_id),
        "parse": layout.path(split, "parse", person_id),
        "parse_agnostic": layout.path(split, "parse_agnostic", person_id),
        "densepose": layout.path(split, "densepose", person_id),
        "agnostic_mask": layout.path(split, "agnostic_mask", person_id),
        "pose": layout.path(split, "pose_json", person_id),
        "cloth": layout.path(split, "cloth", cloth_id),
        "cloth_mask": layout.path(split, "cloth_mask", cloth_id),
    }
    for path in paths.values():
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: training needs image, cloth, cloth_mask, parse, pose_json, "
                f"densepose, agnostic, parse_agnostic and agnostic_mask for every sample "
                f"(run `dvc repro validate` or `vton validate --require ...`)"
            )
    arrays = {name: read_rgb(paths[name]) for name in IMAGES}
    if warped is not None:
        arrays |= warped.read(person_id)
    arrays["parse"] = labels.group13(labels.read_parse(paths["parse"]))
    agnostic_ids = labels.read_parse(paths["parse_agnostic"])
    arrays["parse_agnostic"] = labels.group13(agnostic_ids)
    arrays["parse_agnostic_ids"] = agnostic_ids
    arrays["densepose"] = densepose.read_densepose(paths["densepose"])
    arrays["agnostic_mask"] = masks.read_mask(paths["agnostic_mask"]).astype(np.uint8)
    arrays["cloth_mask"] = masks.read_mask(paths["cloth_mask"]).astype(np.uint8)
    body = openpose.read_keypoints(paths["pose"])
    height, width = size or arrays["person"].shape[:2]
    transform = _transform(height, width, augment)
    transform.set_random_seed(seed)
    out = transform(image=arrays.pop("person"), keypoints=body[:, :2], **arrays)
    moved = np.concatenate([np.asarray(out["keypoints"], np.float32), body[:, 2:]], 1)
    inside = (moved[:, 0] >= 0) & (moved[:, 0] < width) & (moved[:, 1] >= 0)
    moved[~(inside & (moved[:, 1] < height)), 2] = 0  # moved out of the frame: missing
    parse = out["parse"]
    extra = {}
    if warped is not None:
        extra["cloth_warp"] = _to_image(out["cloth_warp"])
        extra["cloth_warp_mask"] = torch.from_numpy(out["cloth_warp_mask"][None].astype(np.float32))
    return {
        "person": _to_image(out["image"]),
        "agnostic": _to_image(out["agnostic"]),
        "cloth": _to_image(out["cloth"]),
        "parse": torch.from_numpy(np.ascontiguousarray(parse)),
        "parse_agnostic": torch.from_numpy(np.ascontiguousarray(out["parse_agnostic"])),
        "parse_agnostic_ids": torch.from_numpy(np.ascontiguousarray(out["parse_agnostic_ids"])),
        "densepose": torch.from_numpy(np.ascontiguousarray(out["densepose"])),
        "keypoints": torch.from_numpy(moved),
        "agnostic_mask": torch.from_numpy(out["agnostic_mask"][None].astype(np.float32)),
        "cloth_mask": torch.from_numpy(out["cloth_mask"][None].astype(np.float32)),
        "person_cloth_mask": torch.from_numpy((parse == UPPER_GROUP)[None].astype(np.float32)),
        "id": person_id,
        "cloth_id": cloth_id,
        "seed": seed,  # the augmentation seed: per-sample randomness of training (SPADE noise)
        **extra,
    }


class TryOnDataset(Dataset):
    """The pairs of a split. Index with `i` or with `(i, seed)` (the augmentation seed).

    `size`: (height, width) to load at (None: the dataset's own). `augment`: the train.data
    params (None: no augmentation, as for evaluation). `warped`: the folder stage warp_cloth
    wrote; the split's pack is opened here (FileNotFoundError when it is missing) and read
    by every DataLoader worker.
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        *,
        unpaired: bool = False,
        size: tuple[int, int] | None = None,
        augment: TrainData | None = None,
        warped: Path | None = None,
    ):
        self.layout = Layout(Path(root))
        self.split = split
        pairs_path = self.layout.pairs_path(split, unpaired=unpaired)
        if not pairs_path.is_file():
            raise FileNotFoundError(f"{pairs_path} not found: is {root} a VITON-HD-layout root?")
        self.pairs = read_pairs(pairs_path)
        if not self.pairs:
            raise ValueError(f"{pairs_path} lists no pairs")
        self.size = size
        self.augment = augment
        self.warped: WarpedReader | None = None
        if warped is not None:
            from vton.families.warp_cloth import WarpedReader

            self.warped = WarpedReader(warped, split)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        index, seed = key if isinstance(key, tuple) else (key, key)
        person_id, cloth_id = self.pairs[index]
        return load_pair(
            self.layout, self.split, person_id, cloth_id, self.size, self.augment, seed, self.warped
        )


def dataset_size(root: str | Path, split: str = "train") -> tuple[int, int]:
    """(height, width) of the split's person photos (of its first pair)."""
    from vton.formats.images import image_size

    layout = Layout(Path(root))
    person_id, _ = read_pairs(layout.pairs_path(split))[0]
    return image_size(layout.path(split, "image", person_id))


class StepBatches:
    """Batches of `(index, augmentation seed)` for steps `start..steps-1`, this rank's share.

    The global order is a seeded permutation per epoch, cut into global batches of
    `batch_size`; rank r of `world` takes the r-th contiguous slice of each. The order
    depends only on (seed, step), so resuming at a step or changing the number of
    processes replays exactly the same global batches.
    """

    def __init__(self, n: int, batch_size: int, seed: int, start: int, steps: int, rank=0, world=1):
        if batch_size % world:
            raise ValueError(f"batch_size {batch_size} must divide evenly over {world} processes")
        self.n, self.batch, self.seed = n, batch_size, seed
        self.start, self.steps, self.rank, self.local = start, steps, rank, batch_size // world

    def global_batch(self, step: int) -> list[tuple[int, int]]:
        out = []
        for k in range(step * self.batch, (step + 1) * self.batch):
            epoch, position = divmod(k, self.n)
            order = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            out.append(
                (
                    int(order[position]),
                    int(np.random.SeedSequence([self.seed, k]).generate_state(1)[0]),
                )
            )
        return out

    def __len__(self) -> int:
        return max(0, self.steps - self.start)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.steps):
            batch = self.global_batch(step)
            yield batch[self.rank * self.local : (self.rank + 1) * self.local]
