"""DVC stage `export`: data/dataset in the layout a peer codebase reads (params: export), as
one pack.

OUT/<export.flavor>.zip holds the tree `vton export data/dataset DIR` writes (README.md at its
root; `unzip OUT/hr-viton.zip -d DIR` gives it back): one file for DVC to track instead of ten
per sample (docs/scale.md). `vton export` still writes the loose folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stages.common import params_or_exit, stage_args, write_metrics
from vton.export import ExportError, export_pack
from vton.formats.packs import SUFFIX


def main() -> None:
    args = stage_args(
        __doc__,
        ("--dataset", {"type": Path, "required": True}),
        ("--out", {"type": Path, "required": True, "help": "the folder the pack goes in"}),
        ("--metrics", {"type": Path, "required": True}),
    )
    params = params_or_exit(args.params)
    pack = args.out / f"{params.export.flavor}{SUFFIX}"
    try:
        summary = export_pack(
            args.dataset,
            pack,
            flavor=params.export.flavor,
            category=params.export.category,
            size=params.export.size,
        )
    except (ExportError, FileNotFoundError, ValueError) as exc:
        sys.exit(f"error: {exc}")
    write_metrics(args.metrics, summary)
    print(
        f"export: {summary['samples']} samples as {summary['flavor']} in {pack} "
        f"({summary['linked']} linked, {summary['copied']} copied, "
        f"{summary['converted']} converted) at {summary['width']}x{summary['height']}"
    )


if __name__ == "__main__":
    main()
