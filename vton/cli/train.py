"""`vton train`, `vton evaluate`: train a family's warp and generator, score them."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

# vton.families.kinds.FAMILIES, spelled out: importing it loads torch before argparse runs
FAMILIES = ("gmm_tom", "unet_sa", "hrviton", "ldm", "catvton", "tryondiffusion")


def cmd_train(args: argparse.Namespace) -> int:
    from vton.config import load_params
    from vton.train import train_generator, train_warp
    from vton.train.diffusion_setup import train_sr, train_vae

    params = load_params(args.params)
    if args.family:
        params = dataclasses.replace(
            params, train=dataclasses.replace(params.train, family=args.family)
        )
    where = {"checkpoints": args.checkpoints, "live_dir": args.live, "samples_dir": args.samples}
    if args.model == "warp":
        summary = train_warp(params, args.dataset, args.out, **where)
    elif args.model == "vae":
        summary = train_vae(params, args.dataset, args.out, **where)
    elif args.model == "sr":
        summary = train_sr(params, args.dataset, args.out, **where)
    else:
        if args.warp is None:
            raise ValueError("vton train generator needs --warp DIR, the trained warp directory")
        summary = train_generator(
            params,
            args.dataset,
            args.warp,
            args.out,
            vae_dir=args.vae,
            warped_dir=args.warped,
            sr_dir=args.sr,
            **where,
        )
    print(json.dumps(summary, indent=2))
    return 0


def _add_train(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a family's warp, VAE, SR model or generator on a dataset (params: train, "
        "train_warp, train_vae, train_sr, train_generator)",
        description="Train one model of the family train.family names (CUDA when present). "
        "For DDP run it under torchrun: torchrun --nproc-per-node 2 -m vton.cli train warp ...",
    )
    p.add_argument("model", choices=("warp", "vae", "sr", "generator"))
    p.add_argument("--dataset", type=Path, required=True, help="VITON-HD-layout root")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--warp", type=Path, help="trained warp directory (for generator)")
    p.add_argument("--vae", type=Path, help="the VAE directory (ldm's generator)")
    p.add_argument("--warped", type=Path, help="the warp_cloth packs (ldm's generator)")
    p.add_argument("--sr", type=Path, help="the SR model (tryondiffusion's generator)")
    p.add_argument("--family", choices=tuple(FAMILIES), help="instead of train.family")
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
        args.warp,
        args.generator,
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
        description="SSIM, PSNR, L1 (paired) and unpaired scores of a trained family, the "
        "pasted-garment and agnostic-only baselines; LPIPS and FID/KID with local weights "
        "(params: evaluate).",
    )
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--warp", type=Path, required=True, help="trained warp directory")
    p.add_argument("--generator", type=Path, required=True, help="trained generator directory")
    p.add_argument(
        "--out", type=Path, required=True, help="folder for metrics.json, scores.csv, grids"
    )
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.set_defaults(func=cmd_evaluate)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `train`, `evaluate` to `subparsers`, in this order."""
    _add_train(subparsers)
    _add_evaluate(subparsers)
