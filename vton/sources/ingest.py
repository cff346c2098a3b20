"""Turn the configured source into a dataset in the VITON-HD layout.

Writes every sample's files, the pairs files (paired and unpaired per split), the catalog,
`rejects.jsonl` and returns a flat summary for DVC metrics. Fails (after writing) when the
reject rate passes `data.max_reject_rate`. In the pipeline the pairs, catalog and rejects are
the candidates (`index`), which `vton.publish` turns into the dataset's own once the
annotation stages have run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from vton.config import Params
from vton.layout import SPLITS, Layout, split_pairs, write_catalog, write_jsonl, write_pairs
from vton.records import Reject, Sample
from vton.writer import catalog_row, write_sample


class IngestError(RuntimeError):
    """The source produced too many rejects (or nothing at all)."""


def iter_source(params: Params, base: Path | None = None) -> Iterator[Sample | Reject]:
    """The samples and rejects of the source `params.data.source` names."""
    data, h, w = params.data, params.base.height, params.base.width
    if data.source == "sample":
        from vton.sources import sample

        seed = params.base.seed
        yield from sample.generate(data.sample.n_train, h, w, seed=seed, split="train")
        yield from sample.generate(
            data.sample.n_test, h, w, seed=seed, split="test", start=data.sample.n_train
        )
    elif data.source == "vitonhd":
        from vton.sources import vitonhd

        yield from vitonhd.iter_samples(data.vitonhd, h, w, base)
    elif data.source == "folder":
        from vton.sources import folder

        yield from folder.iter_samples(data.folder, h, w, base)
    elif data.source == "scraped":
        from vton.sources import scraped

        yield from scraped.iter_samples(data.scraped, h, w, base)
    elif data.source == "dresscode":
        from vton.sources import dresscode

        yield from dresscode.iter_samples(data.dresscode, h, w, base)
    else:  # the config loader only admits the names above
        raise ValueError(f"unknown data.source {data.source!r}")


def portable(value, base: Path | None):
    """A path string under `base` (the project root) made relative to it, so the catalog of
    one pipeline is the same in every clone; any other value as it is."""
    if base is None or not isinstance(value, str) or not value.startswith("/"):
        return value
    try:
        return str(Path(value).relative_to(base))
    except ValueError:
        return value


def expected_count(params: Params) -> int | None:
    """How many items the source will yield, when known up front (for the progress bar)."""
    if params.data.source == "sample":
        return params.data.sample.n_train + params.data.sample.n_test
    return None


def _reject_row(item: Reject, base: Path | None) -> dict:
    """A reject as a `rejects.jsonl` row, its paths made portable."""
    return {
        "id": item.id,
        "origin": portable(item.origin, base),
        "reason": item.reason,
        "detail": item.detail.replace(f"{base}/", "") if base else item.detail,
        "source": item.source,
    }


def _summary(
    params: Params, rows: list, rejects: list[dict], ids: dict[str, list[str]], seconds: float
) -> dict:
    """The flat metrics of one ingest: counts per split and per reject reason, speed."""
    total = len(rows) + len(rejects)
    summary = {
        "source": params.data.source,
        "samples": len(rows),
        "train": len(ids["train"]),
        "test": len(ids["test"]),
        "rejects": len(rejects),
        "reject_rate": round(len(rejects) / total, 4) if total else 0.0,
        "seconds": round(seconds, 3),
        "samples_per_s": round(len(rows) / seconds, 2) if seconds > 0 else 0.0,
    }
    for reason, count in sorted(Counter(r["reason"] for r in rejects).items()):
        summary[f"rejects_{reason}"] = count
    return summary


def _check_rejects(params: Params, rows: list, rejects: list[dict], where: Path) -> None:
    """IngestError when the source gave no sample or too many rejects (`where`: their list)."""
    if not rows:
        raise IngestError(f"source {params.data.source!r} produced no samples; see {where}")
    total = len(rows) + len(rejects)
    rate = round(len(rejects) / total, 4)
    if rate > params.data.max_reject_rate:
        raise IngestError(
            f"{len(rejects)} of {total} inputs rejected ({rate:.0%}), above "
            f"data.max_reject_rate={params.data.max_reject_rate}; reasons in {where}"
        )


def ingest(
    params: Params,
    out: Path,
    base: Path | None = None,
    progress: bool = True,
    reference: Path | None = None,
    index: Path | None = None,
) -> dict:
    """Build the dataset at `out` from the configured source; returns the summary metrics.

    `base` resolves relative source paths (the project root); `progress` shows a bar.
    With `reference`, the annotations the source carries are written to that layout root
    instead of `out` (the annotation stages then produce `out`'s annotations, reusing these
    with their `reference` backend). With `index`, the pairs files, catalog and rejects go
    to that folder instead of `out` (the candidates `vton.publish.publish` reads).
    """
    layout = Layout(out)
    listing = Layout(index) if index is not None else layout
    annotations = Layout(reference) if reference is not None else None
    if reference is not None:
        Path(reference).mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    listing.root.mkdir(parents=True, exist_ok=True)
    h, w = params.base.height, params.base.width
    start = time.perf_counter()
    rows, rejects = [], []
    ids: dict[str, list[str]] = {s: [] for s in SPLITS}
    items = tqdm(
        iter_source(params, base),
        total=expected_count(params),
        desc=f"ingest {params.data.source}",
        unit="sample",
        disable=not progress,
    )
    for item in items:
        if isinstance(item, Reject):
            rejects.append(_reject_row(item, base))
            continue
        written = write_sample(layout, item, h, w, annotations=annotations)
        item.origin = portable(item.origin, base)
        item.provenance = {k: portable(v, base) for k, v in item.provenance.items()}
        rows.append(catalog_row(item, written))
        ids[item.split].append(item.id)
    for split in SPLITS:
        for kind_name in ("image", "cloth"):  # present even when empty: they are DVC outputs
            layout.folder(split, kind_name).mkdir(parents=True, exist_ok=True)
        paired, unpaired = split_pairs(ids[split], params.base.seed, split)
        write_pairs(listing.pairs_path(split), paired)
        write_pairs(listing.pairs_path(split, unpaired=True), unpaired)
    write_catalog(listing.catalog_path, rows)
    write_jsonl(listing.rejects_path, rejects)
    summary = _summary(params, rows, rejects, ids, time.perf_counter() - start)
    _check_rejects(params, rows, rejects, listing.rejects_path)
    return summary
