"""`vton train`, `vton evaluate`: train the GMM and the TOM, score them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def cmd_train(args: argparse.Namespace) -> int:
    from vton.config import load_params
    from vton.train import train_gmm, train_tom

    params = load_params(args.params)
    where = {"checkpoints": args.checkpoints, "live_dir": args.live, "samples_dir": args.samples}
    if args.model == "gmm":
        summary = train_gmm(params, args.dataset, args.out, **where)
    else:
        if args.gmm is None:
            raise ValueError("vton train tom needs --gmm DIR, the trained GMM directory")
        summary = train_tom(params, args.dataset, args.gmm, args.out, **where)
    print(json.dumps(summary, indent=2))
    return 0


def _add_train(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train the GMM or the TOM on a dataset (params: train.*)",
        description="Train one model (CUDA when present). For DDP run it under torchrun: "
        "torchrun --nproc-per-node 2 -m vton.cli train gmm ...",
    )
    p.add_argument("model", choices=("gmm", "tom"))
    p.add_argument("--dataset", type=Path, required=True, help="VITON-HD-layout root")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--gmm", type=Path, help="trained GMM directory (for tom)")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--checkpoints", type=Path, help="resume state folder (default: none)")
    p.add_argument("--live", type=Path, help="DVCLive metrics and plots folder")
    p.add_argument("--samples", type=Path, help="preview grids folder")
    p.set_defaults(func=cmd_train)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from vton.config import load_params
    from vton.evaluate import beats_baselines, evaluate
    from vton.fileio import atomic_write_text
    from vton.train import train_size

    params = load_params(args.params)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    result = evaluate(
        params,
        args.dataset,
        args.gmm,
        args.tom,
        size=train_size(params, args.dataset),
        results_dir=out / "results",
        scores_path=out / "scores.csv",
        grid_path=out / "grid.png",
        unpaired_grid_path=out / "grid_unpaired.png",
    )
    result |= {k: int(v) for k, v in beats_baselines(result).items()}
    atomic_write_text(out / "metrics.json", json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


def _add_evaluate(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score trained models and two baselines on the test pairs",
        description="SSIM, PSNR, L1 (paired) and unpaired scores of GMM+TOM, the pasted-garment "
        "and agnostic-only baselines; LPIPS and FID/KID with local weights (params: evaluate).",
    )
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--gmm", type=Path, required=True)
    p.add_argument("--tom", type=Path, required=True)
    p.add_argument(
        "--out", type=Path, required=True, help="folder for metrics.json, scores.csv, grids"
    )
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.set_defaults(func=cmd_evaluate)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `train`, `evaluate` to `subparsers`, in this order."""
    _add_train(subparsers)
    _add_evaluate(subparsers)
