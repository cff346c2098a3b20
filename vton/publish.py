"""Publish the dataset: ingest's candidate samples less those an annotation stage rejected.

Ingest writes the candidates (pairs files, catalog, its own rejects) to an index folder in
the layout's names; each annotation stage leaves `rejects.jsonl` and `log.jsonl` in its
report folder. `publish` writes the dataset's own listing from them:

- `{split}_pairs.txt`: the index's pairs whose person and garment are both published;
  `{split}_pairs_unpaired.txt`: the derangement drawn again over the published ids with
  ingest's seed rule (`vton.layout.split_pairs`). With no exclusion both equal the index's.
- `catalog.csv`: every candidate, `status` published or excluded (`STATUS_COLUMNS`); an
  excluded sample names the first stage, in the order the reports are given, that rejected
  it and its reason.
- `rejects.jsonl`: ingest's rejects and every annotation stage's, each with its `stage` and
  `status: rejected`. A stage that skipped a sample (its input files absent) is listed only
  when no stage rejected that sample (`status: skipped`): otherwise the skip is the echo of
  the upstream reject.

The files of an excluded sample stay where the stages wrote them (DVC owns those folders);
readers take the published samples from `Layout.published_ids`. A later run in which every
stage accepts the sample (a clean garment photo replaced the busy one) publishes it again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vton.layout import (
    EXCLUDED,
    PUBLISHED,
    SPLITS,
    Layout,
    read_catalog,
    read_jsonl,
    read_pairs,
    split_pairs,
    write_catalog,
    write_jsonl,
    write_pairs,
)

Key = tuple[str, str]  # (split, sample id)


class PublishError(RuntimeError):
    """The stage reports disagree with the candidates, or nothing is left to publish."""


@dataclass(frozen=True)
class StageReport:
    """What one annotation stage left in its report folder.

    rejects / skipped: its records with `status` rejected / skipped; seen: (split, id) of
    every item its log lists, None when the folder holds no `log.jsonl`.
    """

    stage: str
    folder: Path
    rejects: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    seen: set[Key] | None = None


def read_report(folder: Path, stage: str | None = None) -> StageReport:
    """The report of the stage whose folder is `folder` (its name is the stage's unless
    `stage` is given); a FileNotFoundError names the folder when it has no `rejects.jsonl`."""
    folder = Path(folder)
    rejects_file, log_file = folder / "rejects.jsonl", folder / "log.jsonl"
    if not rejects_file.is_file():
        raise FileNotFoundError(
            f"{rejects_file} not found: give the report folder of an annotation stage "
            "(its --report-dir), after the stage has run"
        )
    rejects = [{**r, "status": "rejected"} for r in read_jsonl(rejects_file)]
    skipped, seen = [], None
    if log_file.is_file():
        log = list(read_jsonl(log_file))
        skipped = [r for r in log if r.get("status") == "skipped"]
        seen = {(str(r.get("split")), str(r["id"])) for r in log}
    return StageReport(stage or folder.name, folder, rejects, skipped, seen)


def exclusions(candidates: Sequence[Key], reports: Sequence[StageReport]) -> dict[Key, dict]:
    """(split, id) -> the record that excludes the sample: the first reject in `reports`
    order, else the first skip. Raises PublishError when a report names a sample that is not
    a candidate, or its log lacks a candidate (the report is older than the dataset)."""
    known = set(candidates)
    for report in reports:
        for record in (*report.rejects, *report.skipped):
            key = (str(record.get("split")), str(record.get("id")))
            if key not in known:
                raise PublishError(
                    f"{report.stage} {record['status']} {key[0]}/{key[1]}, which is no "
                    f"candidate of ingest ({report.folder}); rerun {report.stage} on the "
                    "current dataset (dvc repro)"
                )
        if report.seen is not None and (unseen := sorted(known - report.seen)):
            raise PublishError(
                f"{report.stage}'s log ({report.folder / 'log.jsonl'}) lists none of "
                f"{len(unseen)} candidates, e.g. {unseen[0][0]}/{unseen[0][1]}; rerun "
                f"{report.stage} on the current dataset (dvc repro)"
            )
    found: dict[Key, dict] = {}
    for status in ("rejects", "skipped"):
        for report in reports:
            for record in getattr(report, status):
                key = (str(record["split"]), str(record["id"]))
                found.setdefault(key, {**record, "stage": report.stage})
    return found


def _listed(record: dict, stage: str) -> dict:
    """A stage's record as the dataset's rejects list it (nothing that varies run to run,
    such as whether it came from the cache)."""
    keep = ("id", "split", "status", "reason", "detail", "image", "annotator")
    return {"stage": stage, **{k: record[k] for k in keep if k in record}}


def publish(index: Path, dataset: Path, reports: Sequence[Path], seed: int) -> dict:
    """Write the pairs files, catalog and rejects of `dataset` from ingest's `index` and
    the stages' report folders `reports` (in pipeline order); returns flat metrics.

    `seed` is `base.seed`, ingest's. Raises PublishError (after writing) when every
    candidate is excluded.
    """
    source, target = Layout(index), Layout(dataset)
    if not source.catalog_path.is_file():
        raise FileNotFoundError(
            f"{source.catalog_path} not found: give the folder ingest writes its candidates "
            "to (its --index), after ingest has run"
        )
    stages = [read_report(folder) for folder in reports]
    catalog = read_catalog(source.catalog_path).to_dict("records")
    candidates = [(row["split"], row["id"]) for row in catalog]
    excluded = exclusions(candidates, stages)

    for row in catalog:
        gone = excluded.get((row["split"], row["id"]), {})
        row["status"] = EXCLUDED if gone else PUBLISHED
        row["excluded_by"] = gone.get("stage", "")
        row["excluded_reason"] = gone.get("reason", "")
    target.root.mkdir(parents=True, exist_ok=True)
    published: dict[str, list[str]] = {}
    for split in SPLITS:
        ids = sorted(sid for s, sid in candidates if s == split and (s, sid) not in excluded)
        published[split] = ids
        paired, unpaired = split_pairs(ids, seed, split)
        if source.pairs_path(split).is_file():  # the index's pairing, less the excluded
            keep = set(ids)
            paired = [
                (p, c) for p, c in read_pairs(source.pairs_path(split)) if p in keep and c in keep
            ]
        write_pairs(target.pairs_path(split), paired)
        write_pairs(target.pairs_path(split, unpaired=True), unpaired)
    write_catalog(target.catalog_path, catalog)
    records = []
    if source.rejects_path.is_file():
        records += [
            {"stage": "ingest", "status": "rejected", **r} for r in read_jsonl(source.rejects_path)
        ]
    for report in stages:
        records += [_listed(r, report.stage) for r in report.rejects]
    # A skip is listed when it is the only cause: else it echoes an upstream reject.
    records += [_listed(r, r["stage"]) for r in excluded.values() if r["status"] == "skipped"]
    write_jsonl(target.rejects_path, records)

    by_stage = Counter(record["stage"] for record in excluded.values())
    by_reason = Counter(f"{r['stage']}_{r['reason']}" for r in excluded.values())
    summary: dict = {
        "candidates": len(candidates),
        "published": sum(len(ids) for ids in published.values()),
        **{f"published_{split}": len(published[split]) for split in SPLITS},
        "excluded": len(excluded),
        **{f"excluded_{report.stage}": by_stage[report.stage] for report in stages},
        **{f"excluded_{key}": n for key, n in sorted(by_reason.items())},
        "ingest_rejects": sum(1 for r in records if r["stage"] == "ingest"),
    }
    if candidates and not summary["published"]:
        raise PublishError(
            f"every one of {len(candidates)} samples was excluded ({dict(by_stage)}); see "
            f"{target.rejects_path} and each stage's rejects.jsonl"
        )
    return summary
