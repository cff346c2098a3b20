"""DVC stage `warp_cloth`: every paired garment warped by the trained warp, on disk.

DCI-VTON's `cloth-warp/` and `cloth-warp-mask/` layout (`vton.families.warp_cloth`), which the
ldm family trains on, as one pack per split (OUT/train.zip, OUT/test.zip) beside
OUT/manifest.json; empty packs for a family that warps nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stages.common import params_or_exit, stage_args
from vton.families.warp_cloth import write_warped


def main() -> None:
    args = stage_args(
        __doc__,
        ("--dataset", {"type": Path, "required": True}),
        ("--warp", {"type": Path, "required": True, "help": "the trained warp directory"}),
        ("--out", {"type": Path, "required": True, "help": "the folder for the packs"}),
    )
    params = params_or_exit(args.params)
    try:
        manifest = write_warped(args.warp, args.dataset, args.out, device=params.train.device)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        sys.exit(f"error: warp_cloth failed: {exc}")
    print(f"warp_cloth: {manifest['warp']} warp, {manifest['counts']} garments -> {args.out}")


if __name__ == "__main__":
    main()
