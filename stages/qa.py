"""DVC stage `qa`: the HTML contact sheet of data/dataset with every stage's counts, its rejects and
the samples publishing excluded."""

from __future__ import annotations

from pathlib import Path

from stages.common import params_or_exit, stage_args
from vton.qa.report import load_stage_reports, write_report


def main() -> None:
    args = stage_args(
        __doc__,
        ("--dataset", {"type": Path, "required": True}),
        ("--metrics-dir", {"type": Path, "required": True}),
        ("--annotate-dir", {"type": Path, "required": True}),
        ("--out", {"type": Path, "required": True}),
    )
    params = params_or_exit(args.params)
    metrics, rejects = load_stage_reports(args.metrics_dir, args.annotate_dir, args.dataset)
    index = write_report(
        args.dataset,
        args.out,
        metrics=metrics,
        rejects=rejects,
        per_page=params.qa.per_page,
        thumb_height=params.qa.thumb_height,
    )
    print(f"qa: contact sheet at {index}")


if __name__ == "__main__":
    main()
