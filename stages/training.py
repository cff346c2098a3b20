"""What the training stages share: their arguments, the call, the curves and the summary."""

from __future__ import annotations

import sys
from pathlib import Path

from stages.common import params_or_exit, stage_args
from vton.curves import write_curves

TRAINING_ARGS: tuple[tuple[str, dict], ...] = (
    ("--dataset", {"type": Path, "required": True}),
    ("--out", {"type": Path, "required": True, "help": "model directory to write"}),
    ("--checkpoints", {"type": Path, "help": "resume state (kept outside DVC outputs)"}),
    ("--live", {"type": Path, "required": True, "help": "DVCLive metrics and plots"}),
    ("--curves", {"type": Path, "help": "training curves PNG (an image plot that shows offline)"}),
    ("--samples", {"type": Path, "help": "preview grids every sample_every steps"}),
)


def run_training(description: str, name: str, train, *extra: tuple[str, dict]) -> None:
    """The main of a training stage: `train(params, dataset, out, checkpoints=, live_dir=,
    samples_dir=, **the extra flags)`, then the curves image and a one-line summary.

    The extra flags' values are passed by their names (`--warp` as `warp_dir=`)."""
    args = stage_args(description, *TRAINING_ARGS, *extra)
    params = params_or_exit(args.params)
    more = {f"{flag[2:].replace('-', '_')}_dir": getattr(args, flag[2:]) for flag, _ in extra}
    try:
        summary = train(
            params,
            args.dataset,
            out=args.out,
            checkpoints=args.checkpoints,
            live_dir=args.live,
            samples_dir=args.samples,
            **more,
        )
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        sys.exit(f"error: {name} failed: {exc}")
    if args.samples is not None:
        args.samples.mkdir(parents=True, exist_ok=True)  # a stage with nothing to train
    if args.curves is not None:
        write_curves(args.live, args.curves, title=name)
    print(
        f"{name}: step {summary['step']}, loss {summary.get('train_loss', float('nan')):.4f}, "
        f"{summary['samples_per_s']} samples/s -> {args.out}"
    )
