"""The `vton` command: thin wrappers over the library (`vton SUBCOMMAND --help`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"size must be HEIGHTxWIDTH like 256x192, got {text!r}"
        ) from None
    return height, width


def cmd_ingest(args: argparse.Namespace) -> int:
    from vton.config import load_params
    from vton.sources.ingest import ingest

    params = load_params(args.params)
    summary = ingest(params, args.out, base=args.params.resolve().parent)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    import dataclasses

    from vton.config import Params, SampleSource, parse_params
    from vton.sources.ingest import ingest

    height, width = args.size
    base = parse_params({"base": {"seed": args.seed, "height": height, "width": width}})
    data = dataclasses.replace(base.data, sample=SampleSource(n_train=args.train, n_test=args.test))
    summary = ingest(Params(base=base.base, data=data), args.out)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from vton.layout import write_jsonl
    from vton.qa.validate import validate

    required = tuple(k for k in args.require.split(",") if k)
    report = validate(args.dataset, required=required)
    if args.json:
        args.json.write_text(json.dumps(report.metrics(), indent=2, sort_keys=True) + "\n")
    if args.violations:
        write_jsonl(args.violations, report.records())
    samples = ", ".join(f"{n} {s}" for s, n in report.samples.items()) or "no"
    if report.ok:
        print(f"{args.dataset}: {samples} samples, {report.checked_files} files, all conform")
        return 0
    print(
        f"{args.dataset}: {len(report.violations)} violations ({samples} samples)", file=sys.stderr
    )
    for violation in report.violations:
        print(f"  {violation}", file=sys.stderr)
    return 1


def cmd_annotate(args: argparse.Namespace) -> int:
    import dataclasses

    from vton.annotate.items import dataset_dest, dataset_items, folder_dest, folder_items
    from vton.annotate.runner import run
    from vton.config import load_params, parse_params
    from vton.layout import Layout

    params = load_params(args.params) if args.params.exists() else parse_params({})
    section = getattr(params, args.kind)
    if args.backend:
        section = dataclasses.replace(section, backend=args.backend)
    if args.dataset:
        layout = Layout(args.dataset)
        reference = Layout(args.reference) if args.reference else None
        items, dest = dataset_items(args.kind, layout, reference), dataset_dest(layout)
        report = args.dataset / f"annotate_{args.kind}"
    else:
        if not (args.input and args.out):
            raise ValueError("give --in DIR and --out DIR (a folder of photos), or --dataset DIR")
        items, dest = folder_items(args.input), folder_dest(args.out)
        report = args.out
    if not items:
        raise FileNotFoundError("no images to annotate")
    summary = run(
        args.kind,
        section,
        items,
        dest,
        args.cache or Path(params.annotate.cache_dir),
        workers=params.annotate.workers if args.workers is None else args.workers,
        max_reject_rate=1.0 if args.max_reject_rate is None else args.max_reject_rate,
        rejects_path=args.rejects or report / "rejects.jsonl",
        log_path=report / "log.jsonl",
    )
    print(json.dumps(summary, indent=2))
    return 0


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


def cmd_fidelity(args: argparse.Namespace) -> int:
    from vton.qa.fidelity import fidelity

    scores = fidelity(args.ref, args.ours)
    text = json.dumps(scores, indent=2, sort_keys=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    return 0


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


def cmd_pose_convert(args: argparse.Namespace) -> int:
    from vton.formats import openpose

    body = openpose.read_keypoints(args.input)
    openpose.write_keypoints(args.output, body, coco18=args.to == "coco18")
    print(f"{args.input} -> {args.output} ({args.to})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vton", description="Reproducible data and training pipeline for virtual try-on."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="build a VITON-HD-layout dataset from params.yaml's source")
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    p.add_argument("--out", type=Path, required=True, help="dataset root to write")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("sample", help="write a synthetic dataset with exact annotations")
    p.add_argument("out", type=Path, help="dataset root to write")
    p.add_argument("--train", type=int, default=32, help="training samples (default 32)")
    p.add_argument("--test", type=int, default=8, help="test samples (default 8)")
    p.add_argument("--size", type=_size, default=(256, 192), help="HEIGHTxWIDTH, 4:3")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("validate", help="check a dataset against the VITON-HD layout")
    p.add_argument("dataset", type=Path, help="dataset root (holds train/ and/or test/)")
    p.add_argument(
        "--require", default="image,cloth", help="comma-separated kinds every sample must have"
    )
    p.add_argument("--json", type=Path, help="write the metrics report here")
    p.add_argument("--violations", type=Path, help="write every violation here (JSON lines)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
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
    p.add_argument("--backend", help="override the kind's backend from params.yaml")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--workers", type=int, help="worker processes (default: annotate.workers)")
    p.add_argument("--cache", type=Path, help="cache folder (default: annotate.cache_dir)")
    p.add_argument("--rejects", type=Path, help="rejects file (default: OUT/rejects.jsonl)")
    p.add_argument(
        "--max-reject-rate", type=float, help="fail above this reject rate (default: never)"
    )
    p.set_defaults(func=cmd_annotate)

    p = sub.add_parser("report", help="write an HTML contact sheet of a dataset (offline)")
    p.add_argument("dataset", type=Path, help="dataset root in the VITON-HD layout")
    p.add_argument("--out", type=Path, required=True, help="folder for index.html and pages")
    p.add_argument("--metrics-dir", type=Path, default=Path("metrics"), help="stage metrics")
    p.add_argument(
        "--annotate-dir", type=Path, default=Path("data/annotate"), help="stage rejects/logs"
    )
    p.add_argument("--per-page", type=int, default=24)
    p.add_argument("--thumb-height", type=int, default=256)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "fidelity",
        help="compare two datasets kind by kind (PCK, parse mIoU, mask IoU, agnostics)",
        description="How far do OURS's annotations differ from REF's? Flat JSON of scores.",
    )
    p.add_argument("ref", type=Path, help="reference dataset root (e.g. the shipped one)")
    p.add_argument("ours", type=Path, help="dataset root to compare (e.g. regenerated)")
    p.add_argument("--json", type=Path, help="also write the scores here (for DVC metrics)")
    p.set_defaults(func=cmd_fidelity)

    p = sub.add_parser("labels", help="print a label set and its mapping to VITON-HD ids")
    p.add_argument("set", nargs="?", help="lip, atr, human_parse_24, fashn or viton (default all)")
    p.set_defaults(func=cmd_labels)

    p = sub.add_parser("pose-convert", help="convert OpenPose JSON between BODY_25 and COCO-18")
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--to", choices=("body25", "coco18"), default="body25")
    p.set_defaults(func=cmd_pose_convert)
    return parser


def main(argv: list[str] | None = None) -> int:
    from vton.config import ParamsError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ParamsError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
