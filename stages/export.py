"""DVC stage `export`: data/dataset in the layout a peer codebase reads (params: export)."""

from __future__ import annotations

import sys
from pathlib import Path

from stages.common import params_or_exit, stage_args, write_metrics
from vton.export import ExportError, export


def main() -> None:
    args = stage_args(
        __doc__,
        ("--dataset", {"type": Path, "required": True}),
        ("--out", {"type": Path, "required": True}),
        ("--metrics", {"type": Path, "required": True}),
    )
    params = params_or_exit(args.params)
    try:
        summary = export(
            args.dataset,
            args.out,
            flavor=params.export.flavor,
            category=params.export.category,
            size=params.export.size,
        )
    except (ExportError, FileNotFoundError, ValueError) as exc:
        sys.exit(f"error: {exc}")
    write_metrics(args.metrics, summary)
    print(
        f"export: {summary['samples']} samples as {summary['flavor']} in {args.out} "
        f"({summary['linked']} linked, {summary['copied']} copied, "
        f"{summary['converted']} converted) at {summary['width']}x{summary['height']}"
    )


if __name__ == "__main__":
    main()
