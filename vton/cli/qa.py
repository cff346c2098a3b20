"""`vton report`, `vton fidelity`: look at a dataset, compare two."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def cmd_report(args: argparse.Namespace) -> int:
    from vton.qa.report import load_stage_reports, write_report

    metrics, rejects = load_stage_reports(args.metrics_dir, args.annotate_dir, args.dataset)
    index = write_report(
        args.dataset,
        args.out,
        metrics=metrics,
        rejects=rejects,
        per_page=args.per_page,
        thumb_height=args.thumb_height,
    )
    print(f"contact sheet: {index}")
    return 0


def _add_report(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="write an HTML contact sheet of a dataset (offline)")
    p.add_argument("dataset", type=Path, help="dataset root in the VITON-HD layout")
    p.add_argument("--out", type=Path, required=True, help="folder for index.html and pages")
    p.add_argument("--metrics-dir", type=Path, default=Path("metrics"), help="stage metrics")
    p.add_argument(
        "--annotate-dir", type=Path, default=Path("data/annotate"), help="stage rejects/logs"
    )
    p.add_argument("--per-page", type=int, default=24)
    p.add_argument("--thumb-height", type=int, default=256)
    p.set_defaults(func=cmd_report)


def cmd_fidelity(args: argparse.Namespace) -> int:
    from vton.annotate.items import reference_root
    from vton.config import Params, load_params
    from vton.fileio import atomic_write_text
    from vton.qa.fidelity import fidelity

    if args.ours is None and not args.end_to_end:
        raise ValueError("give OURS (a dataset to compare) or --end-to-end (or both)")
    # outside a project (no params.yaml) the defaults: mediapipe pose and parse
    params = load_params(args.params) if args.params.is_file() else Params()
    ref = reference_root(args.ref, params.run.annotate_cache)  # a layout root or ingest's packs
    scores = fidelity(ref, args.ours) if args.ours is not None else {}
    if args.end_to_end:
        from vton.qa.end_to_end import end_to_end, offline

        photos = args.ours or ref
        scores |= end_to_end(ref, photos, offline(params.pose), offline(params.parse)).summary
    text = json.dumps(scores, indent=2, sort_keys=True)
    if args.json:
        atomic_write_text(args.json, text + "\n")  # makes the parent folder
    print(text)
    return 0


def _add_fidelity(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "fidelity",
        help="compare two datasets kind by kind (PCK, parse mIoU, mask IoU, agnostics)",
        description="How far do OURS's annotations differ from REF's? Flat JSON of scores.",
    )
    p.add_argument("ref", type=Path, help="reference dataset root (e.g. the shipped one)")
    p.add_argument("ours", type=Path, nargs="?", help="dataset root to compare (e.g. regenerated)")
    p.add_argument(
        "--end-to-end",
        action="store_true",
        help="also annotate the photos (OURS', else REF's) with params.yaml's pose and parse "
        "backends (reference -> mediapipe), make the agnostics from them, score e2e_* against REF",
    )
    p.add_argument("--json", type=Path, help="also write the scores here (for DVC metrics)")
    p.add_argument(
        "--params",
        type=Path,
        default=Path("params.yaml"),
        help="for --end-to-end and the annotation cache (packed references)",
    )
    p.set_defaults(func=cmd_fidelity)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `report`, `fidelity` to `subparsers`, in this order."""
    _add_report(subparsers)
    _add_fidelity(subparsers)
