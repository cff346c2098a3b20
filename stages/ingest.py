"""DVC stage `ingest`: the configured source -> photos in data/dataset, the candidate pairs,
catalog and rejects in data/ingest (stage `publish` makes the dataset's own), the source's own
annotations in data/reference (for the annotation stages' `reference` backend and `fidelity`),
and the manifest of the photos and the reference (what the annotation stages depend on).

The reference is stored as one pack per split (`data/reference/train.zip`, `test.zip`, see
`vton.formats.packs`): DVC then tracks two files instead of several per sample, and the
stages that read it do so through a view kept in the annotation cache."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from stages.common import params_or_exit, stage_args, write_metrics
from vton.formats import manifest, packs
from vton.layout import KINDS
from vton.sources.ingest import IngestError, ingest


def main() -> None:
    args = stage_args(
        __doc__,
        ("--out", {"type": Path, "required": True}),
        ("--reference", {"type": Path, "required": True}),
        ("--index", {"type": Path, "help": "pairs, catalog, rejects (default: --out)"}),
        ("--metrics", {"type": Path, "required": True}),
        ("--manifest", {"type": Path, "required": True}),
    )
    params = params_or_exit(args.params)
    args.reference.mkdir(parents=True, exist_ok=True)  # a DVC output even when empty
    # the source's annotations are written loose beside it, then packed split by split
    with tempfile.TemporaryDirectory(prefix=".reference-", dir=args.reference.parent) as loose:
        try:
            summary = ingest(
                params,
                args.out,
                base=args.params.resolve().parent,
                reference=Path(loose),
                index=args.index,
            )
        except (IngestError, FileNotFoundError, ValueError) as exc:
            sys.exit(f"error: ingest failed: {exc}")
        packs.write_layout(loose, args.reference)
    write_metrics(args.metrics, summary)
    photos = tuple(k.name for k in KINDS.values() if not k.annotation)
    entries = manifest.of_kinds(args.out, photos) + manifest.build([args.reference])
    manifest.write(args.manifest, entries)
    print(f"ingest: {summary['samples']} samples, {summary['rejects']} rejects -> {args.out}")


if __name__ == "__main__":
    main()
