"""Stage `warp_cloth`: every paired sample's garment warped by the trained warp, one pack
per split.

The members follow DCI-VTON's interchange layout, beside the dataset's:

  ROOT/<split>.zip                             a pack (`vton.formats.packs`) of the split:
      cloth-warp/<person id>.jpg               the warped garment (white outside)
      cloth-warp-mask/<person id>.png          its mask (255 = garment)
  ROOT/manifest.json                           the warp kind, size and counts

written at the dataset's own size (the warps resize their inputs themselves), for the train
and test pairs. One pack per split, not two files per sample: DVC looks at every file it
tracks on each `dvc status` (docs/scale.md). `unzip ROOT/train.zip -d DIR` gives DCI-VTON's
folders. The ldm family trains on these members (`vton.train.data` loads them through
`WarpedReader` as the `cloth_warp` kinds, augmented with the sample); a family that warps
nothing (catvton) gets empty packs and a manifest that says so.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from vton.fileio import atomic_write_bytes
from vton.formats import masks, packs
from vton.formats.images import read_rgb, write_jpeg, write_png
from vton.train.grid import to_uint8

FOLDERS = {"cloth_warp": ("cloth-warp", ".jpg"), "cloth_warp_mask": ("cloth-warp-mask", ".png")}
SPLITS = ("train", "test")


def pack_path(root: str | Path, split: str) -> Path:
    """The pack holding `split`'s warped garments below the stage's output `root`."""
    return Path(root) / f"{split}{packs.SUFFIX}"


def member_name(kind: str, person_id: str) -> str:
    """The member (a path inside a split's pack) of `kind` for `person_id`."""
    folder, suffix = FOLDERS[kind]
    return f"{folder}/{person_id}{suffix}"


class WarpedReader:
    """The warped garments of one split, read from its pack. Picklable and safe to share
    with DataLoader workers (`packs.Reader` reopens the zip in each process)."""

    def __init__(self, root: str | Path, split: str):
        pack = pack_path(root, split)
        if not pack.is_file():
            raise FileNotFoundError(
                f"{pack} is missing: run stage warp_cloth first (it writes one pack per split "
                f"below {root})"
            )
        self.pack = packs.Reader(pack)

    def read(self, person_id: str) -> dict[str, np.ndarray]:
        """{"cloth_warp": (H, W, 3) uint8 RGB, "cloth_warp_mask": (H, W) uint8 {0, 1}}."""
        members = {kind: member_name(kind, person_id) for kind in FOLDERS}
        for kind, name in members.items():
            if name not in self.pack:
                raise FileNotFoundError(
                    f"{self.pack.pack} has no {name} ({kind} of {person_id}): the pack is from "
                    f"another dataset; run stage warp_cloth again"
                )
        mask = masks.read_mask(self.pack.read(members["cloth_warp_mask"])).astype(np.uint8)
        cloth = read_rgb(self.pack.read(members["cloth_warp"]))
        return {"cloth_warp": cloth, "cloth_warp_mask": mask}


def write_warped(
    warp_dir: str | Path, dataset: str | Path, out: str | Path, *, device: str = "auto"
) -> dict:
    """Warp every paired sample of both splits with the warp in `warp_dir` into one pack per
    split below `out` (each written atomically); the manifest."""
    from vton.families.forward import run_warp
    from vton.families.kinds import WARPS, load_model
    from vton.train.data import TryOnDataset
    from vton.train.runtime import deterministic, resolve_device

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    warp = load_model(warp_dir, WARPS)
    manifest: dict = {"warp": warp.kind, "counts": {}}
    dev = resolve_device(device)
    warp.to(dev)
    with deterministic(dev), torch.no_grad():
        for split in SPLITS:
            # the files of a split go to a hidden folder beside the pack, then into it: a
            # split of VITON-HD is ~1.5 GB of members, more than belongs in memory
            staging = Path(tempfile.mkdtemp(prefix=f".{split}.", dir=out))
            try:
                count = 0
                if warp.kind != "none":
                    data = TryOnDataset(dataset, split)
                    for batch in DataLoader(data, batch_size=8):
                        b = {
                            k: v.to(dev) if isinstance(v, torch.Tensor) else v
                            for k, v in batch.items()
                        }
                        warped = run_warp(warp, b)
                        for i, pid in enumerate(b["id"]):
                            cloth = staging / member_name("cloth_warp", pid)
                            write_jpeg(cloth, to_uint8(warped.cloth[i]))
                            mask = (warped.mask[i, 0] > 0.5).to(torch.uint8).mul(255)
                            write_png(
                                staging / member_name("cloth_warp_mask", pid), mask.cpu().numpy()
                            )
                            count += 1
                    manifest["size"] = list(data[0]["person"].shape[-2:])
                packs.write(staging, pack_path(out, split))
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            manifest["counts"][split] = count
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(out / "manifest.json", text.encode())
    return manifest
