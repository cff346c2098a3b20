"""DVC stage `train_warp`: the family's garment warp (gmm or tocg) on the train pairs.

Run it under `torchrun --nproc-per-node N -m stages.train_warp ...` for DDP; same arguments.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stages.common import params_or_exit, stage_args
from vton.curves import write_curves
from vton.train import train_warp


def main() -> None:
    args = stage_args(
        __doc__,
        ("--dataset", {"type": Path, "required": True}),
        ("--out", {"type": Path, "required": True, "help": "model directory to write"}),
        ("--checkpoints", {"type": Path, "help": "resume state (kept outside DVC outputs)"}),
        ("--live", {"type": Path, "required": True, "help": "DVCLive metrics and plots"}),
        (
            "--curves",
            {"type": Path, "help": "training curves PNG (an image plot that shows offline)"},
        ),
        (
            "--samples",
            {"type": Path, "help": "preview grids every sample_every of its train_warp section"},
        ),
    )
    params = params_or_exit(args.params)
    try:
        summary = train_warp(
            params,
            args.dataset,
            args.out,
            checkpoints=args.checkpoints,
            live_dir=args.live,
            samples_dir=args.samples,
        )
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        sys.exit(f"error: train_warp failed: {exc}")
    if args.curves is not None:
        write_curves(args.live, args.curves, title="train_warp")
    print(
        f"train_warp: step {summary['step']}, "
        f"loss {summary.get('train_loss', float('nan')):.4f}, "
        f"{summary['samples_per_s']} samples/s -> {args.out}"
    )


if __name__ == "__main__":
    main()
