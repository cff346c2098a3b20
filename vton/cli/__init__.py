"""The `vton` command: thin wrappers over the library (`vton SUBCOMMAND --help`).

One module per subcommand group, each with `register(subparsers)` that adds its subcommands
with their arguments beside their handlers; `build_parser` adds them in the order of
`vton --help`.
"""

from __future__ import annotations

import argparse
import sys

from vton.cli import annotate, datasets, dvc_plots, infer, interop, qa, train

GROUPS = (datasets, annotate, qa, interop, train, infer, dvc_plots)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vton", description="Reproducible data and training pipeline for virtual try-on."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from vton.config import ParamsError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ParamsError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
