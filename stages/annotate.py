"""DVC stages `pose`, `parse`, `densepose`, `cloth_mask`, `agnostic`: one annotation kind over
the dataset.

Reads the `annotate` params (runner) and the params section of its kind (backend), writes
that kind's files into data/dataset, `rejects.jsonl` and `log.jsonl` (one line per image)
into its report folder, and its summary metrics. `--catalog` (ingest's) gives the agnostic
stage each sample's garment category (`agnostic.category: auto`) and the cloth_mask stage
where ingest padded each garment photo (`garment_fit`). `--manifest` writes the manifest of
the kind's files (vton/formats/manifest.py): what `validate` and the later annotation stages
depend on instead of the folders.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stages.common import params_or_exit, stage_args, write_metrics
from vton.annotate.base import ANNOTATION_KINDS, MissingWeights
from vton.annotate.items import annotate_dataset
from vton.annotate.runner import AnnotationFailed
from vton.formats import manifest


def main() -> None:
    args = stage_args(
        __doc__,
        ("kind", {"choices": sorted(ANNOTATION_KINDS)}),
        ("--dataset", {"type": Path, "required": True}),
        ("--reference", {"type": Path, "required": True}),
        ("--metrics", {"type": Path, "required": True}),
        ("--report-dir", {"type": Path, "required": True}),
        (
            "--catalog",
            {
                "type": Path,
                "help": "ingest's catalog: each sample's category, its garment's padding",
            },
        ),
        ("--manifest", {"type": Path, "help": "write the manifest of the kind's files here"}),
    )
    params = params_or_exit(args.params)
    try:
        summary = annotate_dataset(
            args.kind, params, args.dataset, args.reference, args.report_dir, catalog=args.catalog
        )
    except (AnnotationFailed, MissingWeights, FileNotFoundError, ValueError) as exc:
        sys.exit(f"error: {exc}")
    write_metrics(args.metrics, summary)
    if args.manifest is not None:
        outputs = ANNOTATION_KINDS[args.kind].outputs
        manifest.write(args.manifest, manifest.of_kinds(args.dataset, outputs))
    print(
        f"{args.kind}: {summary['written']} written ({summary['cached']} from cache), "
        f"{summary['rejects']} rejects"
    )


if __name__ == "__main__":
    main()
