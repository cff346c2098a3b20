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
    from vton.fileio import atomic_write_text
    from vton.qa.fidelity import fidelity

    scores = fidelity(args.ref, args.ours)
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
    p.add_argument("ours", type=Path, help="dataset root to compare (e.g. regenerated)")
    p.add_argument("--json", type=Path, help="also write the scores here (for DVC metrics)")
    p.set_defaults(func=cmd_fidelity)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `report`, `fidelity` to `subparsers`, in this order."""
    _add_report(subparsers)
    _add_fidelity(subparsers)
