"""`vton tryon`, `vton serve`, `vton export-model`: use a trained checkpoint."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vton.cli.args import parse_size


def _sampling(args: argparse.Namespace, bar):
    """The diffusion families' options from the flags; `bar` (a tqdm) follows the steps."""
    from vton.families.forward import Sampling

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.reset(total=total)
        bar.n = done
        bar.refresh()

    return Sampling(
        steps=args.steps or 0, guidance=args.guidance, seed=args.seed, progress=progress
    )


def cmd_tryon(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vton.annotate.base import AnnotationRejected
    from vton.config import load_params
    from vton.formats.images import ImageRejected
    from vton.infer import InferencePipeline
    from vton.infer.batch import folder_pairs, read_pairs_file, run_batch, tryon_file
    from vton.infer.output import check_format

    params = load_params(args.params)
    if args.batch and args.pairs is None and (args.person is None or args.garment is None):
        raise ValueError("--batch needs --pairs FILE, or --person DIR and --garment DIR")
    if not args.batch and (args.person is None or args.garment is None):
        raise ValueError("vton tryon needs --person PHOTO and --garment PHOTO (or --batch)")
    pipe = InferencePipeline.from_checkpoint(args.checkpoint, params, args.device)
    # a bar over the sampling steps of a diffusion family (the others run in one pass)
    bar = tqdm(desc="sampling", unit="step", disable=not pipe.models.samples, leave=False)
    sampling = _sampling(args, bar)
    if args.batch:
        if args.pairs is not None:
            pairs = read_pairs_file(args.pairs)
        else:
            pairs = folder_pairs(args.person, args.garment, args.pairing)
        fmt = check_format(args.format, args.quality)
        summary = run_batch(
            pipe,
            pairs,
            args.out,
            fmt=fmt,
            quality=args.quality,
            with_strip=args.strip,
            sampling=sampling,
        )
        bar.close()
        print(json.dumps(summary, indent=2))
        return 0 if summary["rejected"] == 0 else 1
    try:
        result = tryon_file(
            pipe,
            args.person,
            args.garment,
            args.out,
            with_strip=args.strip,
            quality=args.quality,
            sampling=sampling,
        )
    except (ImageRejected, AnnotationRejected) as exc:
        print(f"error: {exc.reason}: {exc.detail}", file=sys.stderr)
        return 1
    timings = {k: round(v * 1000) for k, v in result.timings.items()}
    print(json.dumps({"out": str(args.out), "ms": timings}))
    return 0


def _add_tryon(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tryon",
        help="try a garment on a person photo (or --batch many) with a trained checkpoint",
        description="Annotate the person (pose, parse, DensePose, agnostic) and the garment "
        "(mask), run the checkpoint's family (warp + generator) and write the result "
        "(params: infer, and the annotators' sections). --batch: PERSON and GARMENT are "
        "folders (or give --pairs FILE) and OUT is a folder; models load once.",
    )
    p.add_argument("--person", type=Path, help="person photo (a folder with --batch)")
    p.add_argument("--garment", type=Path, help="garment photo (a folder with --batch)")
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=Path("data/models"),
        help="folder with warp/ and generator/ of any family (default: data/models, what "
        "dvc repro trains)",
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="result image (.png/.jpg/.webp); a folder with --batch",
    )
    p.add_argument("--strip", action="store_true", help="write every intermediate side by side")
    p.add_argument("--batch", action="store_true", help="many pairs, one loaded pipeline")
    p.add_argument("--pairs", type=Path, help="with --batch: lines 'PERSON GARMENT' (paths)")
    p.add_argument(
        "--pairing",
        choices=("by_name", "sorted"),
        default="by_name",
        help="with --batch over folders: same file stem, or i-th with i-th",
    )
    p.add_argument("--format", default="png", help="with --batch: png, jpeg or webp")
    p.add_argument("--quality", type=int, default=90, help="jpeg/webp quality 1..100")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N (default: infer.device)")
    p.add_argument(
        "--steps", type=int, help="diffusion families: DDIM steps (default: the model's)"
    )
    p.add_argument("--guidance", type=float, help="catvton: guidance (default: the model's)")
    p.add_argument("--seed", type=int, default=0, help="diffusion families: the noise's seed")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.set_defaults(func=cmd_tryon)


def cmd_serve(args: argparse.Namespace) -> int:
    import dataclasses

    from vton.config import load_params
    from vton.infer.api import serve

    params = load_params(args.params)
    if args.workers is not None:
        s = dataclasses.replace(params.infer.serve, workers=args.workers)
        params = dataclasses.replace(params, infer=dataclasses.replace(params.infer, serve=s))
    serve(args.checkpoint, params, args.host, args.port)
    return 0


def _add_serve(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve the try-on HTTP API and web page (FastAPI + uvicorn)",
        description="Loads the checkpoint once, then serves /api/v1 (tryon, batch, jobs, "
        "health) and the web page at / (params: infer.serve).",
    )
    p.add_argument("--checkpoint", type=Path, default=Path("data/models"))
    p.add_argument("--host", help="default: infer.serve.host (127.0.0.1)")
    p.add_argument("--port", type=int, help="default: infer.serve.port")
    p.add_argument("--workers", type=int, help="try-ons at once (default: infer.serve.workers)")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.set_defaults(func=cmd_serve)


def cmd_export_model(args: argparse.Namespace) -> int:
    from vton.infer.model_export import export_checkpoint

    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    report = export_checkpoint(
        args.checkpoint, args.out, formats=formats, size=args.size, atol=args.atol
    )
    print(json.dumps(report, indent=2))
    return 0


def _add_export_model(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export-model",
        help="export the warp and generator of any family to ONNX and TorchScript, checked "
        "against PyTorch",
    )
    p.add_argument("--checkpoint", type=Path, default=Path("data/models"))
    p.add_argument("--out", type=Path, required=True, help="folder for warp/generator .onnx, .pt")
    p.add_argument("--format", default="onnx,torchscript", help="comma list: onnx, torchscript")
    p.add_argument(
        "--size",
        type=parse_size,
        help="HxW to export at, divisible by the family's step (default: the training size)",
    )
    p.add_argument("--atol", type=float, default=1e-4, help="largest allowed |difference|")
    p.set_defaults(func=cmd_export_model)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `tryon`, `serve`, `export-model` to `subparsers`, in this order."""
    _add_tryon(subparsers)
    _add_serve(subparsers)
    _add_export_model(subparsers)
