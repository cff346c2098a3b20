"""`vton annotate`: one annotator over a folder of photos or a dataset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _annotate_backend(kind: str, configured: str, chosen: str | None, photos: bool) -> str:
    """The backend `vton annotate` runs: --backend (checked against the registry), else the
    params' one; on plain photos (--in) an offline backend where params name `reference`,
    which reads a source's own annotations and so has nothing to read there."""
    from vton.annotate.registry import BACKENDS, OFFLINE

    names = list(BACKENDS[kind])
    if chosen is not None and chosen not in names:
        raise ValueError(
            f"--backend {chosen!r} is not a {kind} backend; choose one of {', '.join(names)}"
        )
    backend = chosen or configured
    if not photos or backend != "reference":
        return backend
    others = ", ".join(n for n in names if n != "reference")
    if chosen is not None:
        raise ValueError(
            "--backend reference reads the annotations a source carries (--dataset DIR "
            f"--reference DIR); a folder of photos has none: choose one of {others}"
        )
    print(
        f"{kind}: {kind}.backend is 'reference' (a source's own annotations, which plain "
        f"photos do not have); running the offline '{OFFLINE[kind]}' backend instead "
        f"(choose another with --backend: {others})",
        file=sys.stderr,
    )
    return OFFLINE[kind]


def cmd_annotate(args: argparse.Namespace) -> int:
    import dataclasses

    from vton.annotate.items import (
        dataset_dest,
        dataset_items,
        folder_dest,
        folder_items,
        reference_root,
    )
    from vton.annotate.runner import AnnotationFailed, run
    from vton.config import load_params, parse_params
    from vton.layout import Layout

    params = load_params(args.params) if args.params.exists() else parse_params({})
    section = getattr(params, args.kind)
    backend = _annotate_backend(args.kind, section.backend, args.backend, not args.dataset)
    section = dataclasses.replace(section, backend=backend)
    if args.dataset:
        layout = Layout(args.dataset)
        cache = args.cache or Path(params.run.annotate_cache)
        reference = Layout(reference_root(args.reference, cache)) if args.reference else None
        catalog = args.catalog or (layout.catalog_path if layout.catalog_path.exists() else None)
        items = dataset_items(args.kind, layout, reference, catalog)
        dest, report = dataset_dest(layout), args.dataset / f"annotate_{args.kind}"
    else:
        if not (args.input and args.out):
            raise ValueError("give --in DIR and --out DIR (a folder of photos), or --dataset DIR")
        if args.reference or args.catalog:
            raise ValueError("--reference and --catalog go with --dataset, not --in")
        items, dest = folder_items(args.input, args.kind, args.out), folder_dest(args.out)
        report = args.out
    if not items:
        raise FileNotFoundError("no images to annotate")
    rejects = args.rejects or report / "rejects.jsonl"
    limit = args.max_reject_rate
    if limit is None:
        limit = params.annotate.max_reject_rate
    try:
        summary = run(
            args.kind,
            section,
            items,
            dest,
            args.cache or Path(params.run.annotate_cache),
            workers=params.run.annotate_workers if args.workers is None else args.workers,
            max_reject_rate=limit,
            rejects_path=rejects,
            log_path=report / "log.jsonl",
        )
    except AnnotationFailed as exc:  # the rejects and the log are written by then
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    if summary["written"] == 0:
        reasons = ", ".join(
            f"{k[len('rejects_') :]} {v}" for k, v in summary.items() if k.startswith("rejects_")
        )
        print(
            f"error: none of the {summary['samples']} images was annotated "
            f"({reasons or 'all skipped'}); reasons in {rejects}",
            file=sys.stderr,
        )
        return 1
    return 0


def _add_annotate(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "annotate",
        help="annotate a folder of photos (or a dataset) with one kind",
        description="Run one annotator over every image of a folder (outputs in the "
        "VITON-HD folder names under --out, rejects in OUT/rejects.jsonl) or over a dataset.",
    )
    p.add_argument("kind", choices=("pose", "parse", "densepose", "cloth_mask", "agnostic"))
    p.add_argument("--in", dest="input", type=Path, help="folder of photos")
    p.add_argument("--out", type=Path, help="output folder (with --in)")
    p.add_argument("--dataset", type=Path, help="annotate a VITON-HD-layout root in place")
    p.add_argument("--reference", type=Path, help="reference annotations (with --dataset)")
    p.add_argument(
        "--backend",
        help="the kind's backend (default: params.yaml's; with --in, an offline one where "
        "that is reference: pose/parse/densepose mediapipe, cloth_mask background)",
    )
    p.add_argument(
        "--catalog",
        type=Path,
        help="with --dataset: the catalog giving each sample's garment category "
        "(agnostic.category: auto; default: DATASET/catalog.csv when present)",
    )
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--workers", type=int, help="worker processes (default: run.annotate_workers)")
    p.add_argument("--cache", type=Path, help="cache folder (default: run.annotate_cache)")
    p.add_argument("--rejects", type=Path, help="rejects file (default: OUT/rejects.jsonl)")
    p.add_argument(
        "--max-reject-rate",
        type=float,
        help="exit 1 above this reject rate, after writing the rejects (default: "
        "annotate.max_reject_rate); exit 1 as well when no image is annotated",
    )
    p.set_defaults(func=cmd_annotate)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `annotate` to `subparsers`, in this order."""
    _add_annotate(subparsers)
