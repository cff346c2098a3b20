"""DVC stage `publish`: ingest's candidates (data/ingest) less the samples an annotation stage
rejected -> the pairs files, catalog and rejects of data/dataset, with counts per stage and
reason as metrics. Runs after every annotation stage; the run goes on without the excluded."""

from __future__ import annotations

import sys
from pathlib import Path

from stages.common import params_or_exit, stage_args, write_metrics
from vton.publish import PublishError, publish


def main() -> None:
    args = stage_args(
        __doc__,
        ("--index", {"type": Path, "required": True}),
        ("--dataset", {"type": Path, "required": True}),
        ("--reports", {"type": Path, "nargs": "+", "required": True}),
        ("--metrics", {"type": Path, "required": True}),
    )
    params = params_or_exit(args.params)
    try:
        summary = publish(args.index, args.dataset, args.reports, seed=params.base.seed)
    except (PublishError, FileNotFoundError, ValueError) as exc:
        sys.exit(f"error: publish failed: {exc}")
    write_metrics(args.metrics, summary)
    print(
        f"publish: {summary['published']} of {summary['candidates']} samples published, "
        f"{summary['excluded']} excluded -> {args.dataset}"
    )


if __name__ == "__main__":
    main()
