"""DVC stage `ingest`: the configured source -> data/dataset in the VITON-HD layout."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from stages.common import params_or_exit, stage_args, write_metrics
from vton.sources.ingest import IngestError, ingest


def main() -> None:
    args = stage_args(
        __doc__,
        ("--out", {"type": Path, "required": True}),
        ("--metrics", {"type": Path, "required": True}),
    )
    params = params_or_exit(args.params)
    shutil.rmtree(args.out, ignore_errors=True)  # a rebuild never mixes in stale samples
    try:
        summary = ingest(params, args.out, base=args.params.resolve().parent)
    except (IngestError, FileNotFoundError, ValueError) as exc:
        sys.exit(f"error: ingest failed: {exc}")
    write_metrics(args.metrics, summary)
    print(f"ingest: {summary['samples']} samples, {summary['rejects']} rejects -> {args.out}")


if __name__ == "__main__":
    main()
