"""Stage `warp_cloth`: every paired sample's garment warped by the trained warp, on disk.

The layout is DCI-VTON's interchange one, beside the dataset's:

  ROOT/<split>/cloth-warp/<person id>.jpg        the warped garment (white outside)
  ROOT/<split>/cloth-warp-mask/<person id>.png   its mask (255 = garment)
  ROOT/manifest.json                             the warp kind, size and counts

written at the dataset's own size (the warps resize their inputs themselves), for the train
and test pairs. The ldm family trains on these files (`vton.train.data` loads them as the
`cloth_warp` kinds, augmented with the sample); a family that warps nothing (catvton)
gets an empty layout and a manifest that says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from vton.fileio import atomic_write_bytes
from vton.formats.images import write_jpeg, write_png
from vton.train.grid import to_uint8

FOLDERS = {"cloth_warp": ("cloth-warp", ".jpg"), "cloth_warp_mask": ("cloth-warp-mask", ".png")}
SPLITS = ("train", "test")


def warped_path(root: Path, split: str, kind: str, person_id: str) -> Path:
    folder, suffix = FOLDERS[kind]
    return root / split / folder / f"{person_id}{suffix}"


def write_warped(
    warp_dir: str | Path, dataset: str | Path, out: str | Path, *, device: str = "auto"
) -> dict:
    """Warp every paired sample of both splits with the warp in `warp_dir`; the manifest."""
    from vton.families.forward import run_warp
    from vton.families.kinds import WARPS, load_model
    from vton.train.data import TryOnDataset
    from vton.train.runtime import deterministic, resolve_device

    out = Path(out)
    warp = load_model(warp_dir, WARPS)
    manifest: dict = {"warp": warp.kind, "counts": {}}
    dev = resolve_device(device)
    warp.to(dev)
    with deterministic(dev), torch.no_grad():
        for split in SPLITS:
            (out / split).mkdir(parents=True, exist_ok=True)
            if warp.kind == "none":
                manifest["counts"][split] = 0
                continue
            data = TryOnDataset(dataset, split)
            count = 0
            for batch in DataLoader(data, batch_size=8):
                b = {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
                warped = run_warp(warp, b)
                for i, pid in enumerate(b["id"]):
                    cloth = warped_path(out, split, "cloth_warp", pid)
                    write_jpeg(cloth, to_uint8(warped.cloth[i]))
                    mask = (warped.mask[i, 0] > 0.5).to(torch.uint8).mul(255).cpu().numpy()
                    write_png(warped_path(out, split, "cloth_warp_mask", pid), mask)
                    count += 1
            manifest["counts"][split] = count
            manifest["size"] = list(data[0]["person"].shape[-2:])
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(out / "manifest.json", text.encode())
    return manifest
