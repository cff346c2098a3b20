"""Other tools' formats: `vton export` (a peer codebase's layout), `vton labels` (label
sets), `vton scrape` (a shop's pages), `vton pose-convert` (OpenPose JSON).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_export(args: argparse.Namespace) -> int:
    from vton.export import export

    summary = export(
        args.dataset, args.out, flavor=args.flavor, category=args.category, size=args.size
    )
    print(json.dumps(summary, indent=2))
    return 0


def _add_export(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a dataset in the layout a peer codebase reads (hr-viton, viton-hd, dresscode)",
        description="Write DATASET (our layout) to OUT for a peer codebase's loader: hard links "
        "where the filesystem allows, copies otherwise; OUT is replaced at the end, whole.",
    )
    p.add_argument("dataset", type=Path, help="dataset root in our layout")
    p.add_argument("out", type=Path, help="folder to write (replaced)")
    from vton.export import SIZES
    from vton.layout import DRESSCODE_CATEGORIES, FLAVORS

    p.add_argument("--flavor", choices=FLAVORS, default="hr-viton")
    p.add_argument(
        "--category",
        choices=DRESSCODE_CATEGORIES,
        default="upper_body",
        help="DressCode category folder (dresscode only)",
    )
    p.add_argument(
        "--size",
        choices=SIZES,
        default="peer",
        help="peer: the size the flavour's loader reads (hr-viton, viton-hd: 1024x768); "
        "dataset: the dataset's own size, files linked as they are (export.size in params.yaml)",
    )
    p.set_defaults(func=cmd_export)


def cmd_labels(args: argparse.Namespace) -> int:
    from vton.formats.labels import LABEL_SETS

    names = [args.set] if args.set else list(LABEL_SETS)
    for name in names:
        if name not in LABEL_SETS:
            print(f"unknown label set {name!r}; known: {', '.join(LABEL_SETS)}", file=sys.stderr)
            return 2
        enum, table = LABEL_SETS[name]
        print(f"{name} ({len(enum)} labels) -> VITON-HD ids")
        for label in enum:
            target = table[label]
            shown = (
                f"{target[0].name}/{target[1].name} (split by side)"
                if isinstance(target, tuple)
                else f"{int(target):2d} {target.name}"
            )
            print(f"  {int(label):2d} {label.name:<26} -> {shown}")
    return 0


def _add_labels(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("labels", help="print a label set and its mapping to VITON-HD ids")
    p.add_argument("set", nargs="?", help="a label set name (default all)")
    p.set_defaults(func=cmd_labels)


def cmd_scrape(args: argparse.Namespace) -> int:
    from scraper.run import run_crawl

    summary = run_crawl(args.site, args.out, args.start_url, log_level=args.log_level)
    counts = {k: v for k, v in summary.items() if not isinstance(v, list)}
    print(json.dumps(counts, indent=2, sort_keys=True))
    print(f"details (every refusal and duplicate): {args.out / 'crawl.json'}")
    return 0


def _add_scrape(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "scrape",
        help="crawl a shop (a site spec) into a scraped folder: images + items.jsonl",
        description="Crawl the shop a site spec describes (robots.txt obeyed, throttled, "
        "allowed domains only). A second crawl into the same folder adds only new products. "
        "The folder is the `scraped` source (data.scraped.root).",
    )
    p.add_argument("site", help="spec name in scraper/sites/ (e.g. example-shop) or a YAML path")
    p.add_argument(
        "--out", type=Path, required=True, help="the scraped folder, e.g. data/raw/scraped"
    )
    p.add_argument(
        "--start-url",
        action="append",
        help="start from this listing page instead of the spec's start_urls (repeatable)",
    )
    p.add_argument("--log-level", default="INFO", help="scrapy log level (default INFO)")
    p.set_defaults(func=cmd_scrape)


def cmd_pose_convert(args: argparse.Namespace) -> int:
    from vton.formats import openpose

    body = openpose.read_keypoints(args.input)
    openpose.write_keypoints(args.output, body, coco18=args.to == "coco18")
    print(f"{args.input} -> {args.output} ({args.to})")
    return 0


def _add_pose_convert(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "pose-convert", help="convert OpenPose JSON between BODY_25 and COCO-18"
    )
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--to", choices=("body25", "coco18"), default="body25")
    p.set_defaults(func=cmd_pose_convert)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `export`, `labels`, `scrape`, `pose-convert` to `subparsers`, in this order."""
    _add_export(subparsers)
    _add_labels(subparsers)
    _add_scrape(subparsers)
    _add_pose_convert(subparsers)
