"""DVC stage `validate`: conformance report of data/dataset (fails on violations), and its
manifest: every file's size and digest, what the later stages depend on (formats/manifest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from stages.common import params_or_exit, stage_args, write_metrics
from vton.formats import manifest
from vton.layout import write_jsonl
from vton.qa.validate import validate


def main() -> None:
    args = stage_args(
        __doc__,
        ("--dataset", {"type": Path, "required": True}),
        ("--metrics", {"type": Path, "required": True}),
        ("--violations", {"type": Path, "required": True}),
        ("--manifest", {"type": Path, "required": True}),
    )
    params = params_or_exit(args.params)
    report = validate(args.dataset, required=params.validate.required)
    write_metrics(args.metrics, report.metrics())
    write_jsonl(args.violations, report.records())
    manifest.write(args.manifest, manifest.build([args.dataset]))
    for violation in report.violations[:50]:
        print(violation, file=sys.stderr)
    if report.violations and params.validate.fail_on_violation:
        sys.exit(f"error: {len(report.violations)} violations (list in {args.violations})")
    print(f"validate: {sum(report.samples.values())} samples, {len(report.violations)} violations")


if __name__ == "__main__":
    main()
