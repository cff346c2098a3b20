"""DVC stage `evaluate`: the trained family and two baselines on the test pairs."""

from __future__ import annotations

import sys
from pathlib import Path

from stages.common import params_or_exit, stage_args, write_metrics
from vton.evaluate import beats_baselines, evaluate
from vton.train import train_size


def main() -> None:
    args = stage_args(
        __doc__,
        ("--dataset", {"type": Path, "required": True}),
        ("--warp", {"type": Path, "required": True, "help": "the trained warp directory"}),
        ("--generator", {"type": Path, "required": True, "help": "the trained generator"}),
        ("--metrics", {"type": Path, "required": True}),
        ("--scores", {"type": Path, "required": True, "help": "per-sample scores (CSV)"}),
        ("--grid", {"type": Path, "required": True, "help": "paired grid image (PNG)"}),
        ("--unpaired-grid", {"type": Path, "required": True}),
        ("--results", {"type": Path, "required": True, "help": "result images folder"}),
    )
    params = params_or_exit(args.params)
    try:
        result = evaluate(
            params,
            args.dataset,
            args.warp,
            args.generator,
            size=train_size(params, args.dataset),
            results_dir=args.results,
            scores_path=args.scores,
            grid_path=args.grid,
            unpaired_grid_path=args.unpaired_grid,
        )
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        sys.exit(f"error: evaluate failed: {exc}")
    beats = beats_baselines(result)
    write_metrics(args.metrics, result | {k: int(v) for k, v in beats.items()})
    print(
        f"evaluate: SSIM {result['ssim']:.4f} L1 {result['l1']:.4f} | paste SSIM "
        f"{result['baseline_paste_ssim']:.4f} L1 {result['baseline_paste_l1']:.4f} | agnostic "
        f"SSIM {result['baseline_agnostic_ssim']:.4f} L1 {result['baseline_agnostic_l1']:.4f}"
    )
    if not all(beats.values()):
        print(f"note: the model does not beat every baseline: {beats}", file=sys.stderr)


if __name__ == "__main__":
    main()
