"""`vton ingest`, `vton sample`, `vton validate`: build a dataset and check it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vton.cli.args import parse_size


def cmd_ingest(args: argparse.Namespace) -> int:
    from vton.config import load_params
    from vton.sources.ingest import ingest

    params = load_params(args.params)
    summary = ingest(params, args.out, base=args.params.resolve().parent)
    print(json.dumps(summary, indent=2))
    return 0


def _add_ingest(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ingest", help="build a VITON-HD-layout dataset from params.yaml's source"
    )
    p.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    p.add_argument("--out", type=Path, required=True, help="dataset root to write")
    p.set_defaults(func=cmd_ingest)


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


def _add_sample(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sample", help="write a synthetic dataset with exact annotations")
    p.add_argument("out", type=Path, help="dataset root to write")
    p.add_argument("--train", type=int, default=32, help="training samples (default 32)")
    p.add_argument("--test", type=int, default=8, help="test samples (default 8)")
    p.add_argument("--size", type=parse_size, default=(256, 192), help="HEIGHTxWIDTH, 4:3")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sample)


def cmd_validate(args: argparse.Namespace) -> int:
    from vton.fileio import atomic_write_text
    from vton.layout import write_jsonl
    from vton.qa.validate import validate

    required = tuple(k for k in args.require.split(",") if k)
    report = validate(args.dataset, required=required)
    if args.json:
        atomic_write_text(args.json, json.dumps(report.metrics(), indent=2, sort_keys=True) + "\n")
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


def _add_validate(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("validate", help="check a dataset against the VITON-HD layout")
    p.add_argument("dataset", type=Path, help="dataset root (holds train/ and/or test/)")
    p.add_argument(
        "--require", default="image,cloth", help="comma-separated kinds every sample must have"
    )
    p.add_argument("--json", type=Path, help="write the metrics report here")
    p.add_argument("--violations", type=Path, help="write every violation here (JSON lines)")
    p.set_defaults(func=cmd_validate)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `ingest`, `sample`, `validate` to `subparsers`, in this order."""
    _add_ingest(subparsers)
    _add_sample(subparsers)
    _add_validate(subparsers)
