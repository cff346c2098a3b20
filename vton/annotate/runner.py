"""The annotation runner: one implementation of caching, parallelism, progress and rejects.

For every input the runner computes a key from (input digest, annotator fingerprint). A
result already in the cache is published without running the model; the rest are
annotated in worker processes that each build and `load()` the annotator once. Each result
(outputs or a reject) is first written complete into its own cache entry, which is renamed
into place, then its files are published to the destination atomically. So a run that is
killed resumes where it stopped, never leaves a partial file, and re-running after adding
images annotates only the new ones.

The Prefect flow (`flows/annotate.py`) runs the same `run` with another executor: it hands
the items to annotate to `annotate_batch` on Prefect task-runner workers (local processes or
a Dask cluster), so its cache, outputs, rejects and summary are those of the DVC stage.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from vton.annotate.base import AnnotationRejected, Annotator, Item, MissingWeights
from vton.annotate.registry import create_annotator
from vton.fileio import copy_atomic
from vton.formats.images import ImageRejected, load_photo
from vton.layout import KINDS, write_jsonl
from vton.writer import write_kinds

Executor = Callable[[list["WorkItem"]], Iterable["Outcome"]]
"""Annotates the items missing from the cache into it; yields one Outcome per item."""

SPAWN_MIN_PER_WORKER = 4
"""Worker processes are started only when there are at least this many images per worker."""


class AnnotationFailed(RuntimeError):
    """Too many rejects (above max_reject_rate), or nothing to annotate."""


@dataclass(frozen=True)
class WorkItem:
    """One input of a run (picklable: the image is read by the worker).

    reference: the source's annotation files for this input (kind -> path); inputs: other
    dataset files the annotator reads (kind -> path); attributes: catalog facts it reads
    (name -> value, e.g. the garment category). All are part of the cache key.
    """

    id: str
    split: str | None
    image: Path
    reference: dict[str, Path] = field(default_factory=dict)
    inputs: dict[str, Path] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """What happened to one WorkItem: its cache entry, or a reject reason."""

    id: str
    split: str | None
    entry: Path | None
    cached: bool
    reason: str = ""
    detail: str = ""
    provenance: dict = field(default_factory=dict)

    @property
    def rejected(self) -> bool:
        return bool(self.reason)


# --- cache ------------------------------------------------------------------------------


def input_digest(item: WorkItem) -> str:
    """sha256 over the bytes of the image and every reference and input file of an item,
    and its attributes."""
    h = hashlib.sha256()
    for name, value in sorted(item.attributes.items()):  # none: the digest of old entries
        h.update(f"attribute:{name}={value}\n".encode())
    named = [("image", item.image), *sorted(item.reference.items())]
    named += [(f"input:{k}", p) for k, p in sorted(item.inputs.items())]
    for name, path in named:
        h.update(name.encode())
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        except FileNotFoundError:
            h.update(b"<missing>")
    return h.hexdigest()


def entry_dir(cache_dir: Path, fingerprint: str, digest: str) -> Path:
    """Where the cached result of (fingerprint, input digest) lives."""
    return Path(cache_dir) / fingerprint / digest[:2] / digest


def _entry_file(entry: Path, kind_name: str) -> Path:
    return entry / f"{kind_name}{KINDS[kind_name].suffix}"


def _read_meta(entry: Path) -> dict | None:
    try:
        return json.loads((entry / "meta.json").read_text())
    except (OSError, ValueError):
        return None


def process_item(
    annotator: Annotator, item: WorkItem, cache_dir: Path, fingerprint: str | None = None
) -> Outcome:
    """Annotate one item into its cache entry (or find it there); never raises for bad input.

    The annotator must be loaded. Returns an Outcome naming the entry to publish.
    """
    fingerprint = fingerprint or annotator.fingerprint()
    entry = entry_dir(cache_dir, fingerprint, input_digest(item))
    meta = _read_meta(entry)
    if meta is not None:
        return Outcome(
            item.id,
            item.split,
            entry,
            True,
            meta.get("reason", ""),
            meta.get("detail", ""),
            meta.get("provenance", {}),
        )
    meta = {"id": item.id, "annotator": fingerprint}
    share = getattr(annotator, "share_analyses", None)
    if share is not None:  # MediaPipe's person analysis, computed once for three stages
        share(cache_dir)
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        photo = load_photo(item.image, min_side=1)
        height, width = photo.rgb.shape[:2]
        result = annotator.annotate(
            Item(
                item.id,
                item.split or "",
                photo.rgb,
                item.image,
                dict(item.reference),
                dict(item.inputs),
                dict(item.attributes),
            )
        )
        written = write_kinds(
            result, lambda k: _entry_file(tmp, k), height, width, only=annotator.outputs
        )
        missing = set(annotator.outputs) - set(written)
        if missing:
            raise AnnotationRejected("no_output", f"annotator wrote no {sorted(missing)}")
        meta["provenance"] = result.provenance
        meta["outputs"] = sorted(written)
    except ImageRejected as exc:
        meta.update(reason=exc.reason, detail=exc.detail)
    except AnnotationRejected as exc:
        meta.update(reason=exc.reason, detail=exc.detail)
    except (OSError, ValueError) as exc:
        meta.update(reason="error", detail=f"{type(exc).__name__}: {exc}")
    (tmp / "meta.json").write_text(json.dumps(meta, sort_keys=True, default=str))
    try:
        tmp.rename(entry)  # atomic: an entry is complete or absent
    except OSError:  # another worker finished the same input first; keep its entry
        shutil.rmtree(tmp, ignore_errors=True)
    return Outcome(
        item.id,
        item.split,
        entry,
        False,
        meta.get("reason", ""),
        meta.get("detail", ""),
        meta.get("provenance", {}),
    )


def publish(
    outcome: Outcome, outputs: Sequence[str], dest: Callable[[str, WorkItem], Path], item: WorkItem
) -> list[Path]:
    """Copy an outcome's cached files to their destinations (atomically); returns them."""
    if outcome.rejected or outcome.entry is None:
        return []
    paths = []
    for kind_name in outputs:
        target = dest(kind_name, item)
        source = _entry_file(outcome.entry, kind_name)
        paths.append(target)
        with contextlib.suppress(OSError):
            if os.path.samefile(source, target):  # published by an earlier run already
                continue
        try:  # a hard link costs nothing; fall back to a copy across filesystems
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.unlink(missing_ok=True)
            os.link(source, tmp)
            tmp.replace(target)
        except OSError:
            copy_atomic(source, target)
    return paths


# --- worker processes ---------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(kind: str, section: Any, cache_dir: Path) -> None:
    # Each worker builds and loads its own annotator once; models never cross processes.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    annotator = create_annotator(kind, section)
    annotator.load()
    _WORKER.update(annotator=annotator, cache_dir=cache_dir, fingerprint=annotator.fingerprint())


def _work(item: WorkItem) -> Outcome:
    return process_item(_WORKER["annotator"], item, _WORKER["cache_dir"], _WORKER["fingerprint"])


_LOADED: dict[tuple[str, str], Annotator] = {}


def annotate_batch(
    kind: str, section: Any, items: Sequence[WorkItem], cache_dir: Path
) -> list[Outcome]:
    """Annotate `items` into the cache in this process (a task on a remote worker).

    The annotator is built and loaded once per process and per fingerprint, then kept: a
    worker that runs many batches loads its model once.
    """
    annotator = create_annotator(kind, section)
    fingerprint = annotator.fingerprint()
    key = (kind, fingerprint)
    if key not in _LOADED:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        annotator.load()
        _LOADED[key] = annotator
    return [process_item(_LOADED[key], item, Path(cache_dir), fingerprint) for item in items]


# --- a whole run ----------------------------------------------------------------------------


def run(
    kind: str,
    section: Any,
    items: Iterable[WorkItem],
    dest: Callable[[str, WorkItem], Path],
    cache_dir: Path,
    *,
    workers: int = 2,
    max_reject_rate: float = 1.0,
    rejects_path: Path | None = None,
    log_path: Path | None = None,
    progress: bool = True,
    execute: Executor | None = None,
) -> dict:
    """Annotate `items` with the `kind` backend that `section` configures.

    dest(kind_name, item) gives the output path of each layout kind. Writes `rejects_path`
    (JSON lines), `log_path` (one JSON line per item: written or rejected, from cache or
    not, and the annotator's notes such as how many people it saw) and returns a flat
    summary for DVC metrics. An item whose `inputs` files are absent (an earlier stage
    rejected that sample) is `skipped`: logged, neither annotated nor a reject of this stage,
    and left out of its reject rate. Raises AnnotationFailed (after writing everything) when
    the reject rate passes `max_reject_rate` or every item was skipped; MissingWeights when
    the backend has no weights configured. `execute(todo)` annotates the items not in the
    cache into it and yields their Outcomes (default: worker processes of this machine,
    `workers` of them).
    """
    items = list(items)
    absent = {item.id: gone for item in items if (gone := _absent_inputs(item))}
    annotator = create_annotator(kind, section)  # fails fast on a missing weights path
    fingerprint = annotator.fingerprint()
    start = time.perf_counter()
    outcomes, todo = _from_cache(items, absent, cache_dir, fingerprint)
    bar = tqdm(
        total=len(items),
        desc=f"{kind} ({annotator.name})",
        unit="img",
        disable=not progress,
        initial=len(outcomes) + len(absent),
    )
    model_start = time.perf_counter()
    if todo:
        if execute is None:
            produced = _annotate(kind, section, annotator, todo, cache_dir, fingerprint, workers)
        else:
            produced = execute(todo)
        for outcome in produced:
            outcomes[outcome.id] = outcome
            bar.update()
    model_seconds = time.perf_counter() - model_start
    bar.close()
    rejects, log = _publish_all(items, absent, outcomes, annotator.outputs, dest, fingerprint)
    if rejects_path is not None:
        write_jsonl(rejects_path, rejects)
    if log_path is not None:
        write_jsonl(log_path, log)
    counts = {"samples": len(items), "annotated": len(todo), "skipped": len(absent)}
    timing = (time.perf_counter() - start, model_seconds)
    summary = _summary(kind, annotator, fingerprint, counts, rejects, log, timing)
    _check_outcome(kind, summary, absent, rejects, max_reject_rate, rejects_path)
    return summary


def _from_cache(
    items: list[WorkItem], absent: dict[str, list[str]], cache_dir: Path, fingerprint: str
) -> tuple[dict[str, Outcome], list[WorkItem]]:
    """The Outcomes the cache holds already, and the items still to annotate."""
    outcomes: dict[str, Outcome] = {}
    todo: list[WorkItem] = []
    for item in items:
        if item.id in absent:
            continue
        meta = _read_meta(entry_dir(cache_dir, fingerprint, input_digest(item)))
        if meta is None:
            todo.append(item)
        else:
            outcomes[item.id] = Outcome(
                item.id,
                item.split,
                entry_dir(cache_dir, fingerprint, input_digest(item)),
                True,
                meta.get("reason", ""),
                meta.get("detail", ""),
                meta.get("provenance", {}),
            )
    return outcomes, todo


def _publish_all(
    items: list[WorkItem],
    absent: dict[str, list[str]],
    outcomes: dict[str, Outcome],
    outputs: Any,
    dest: Callable[[str, WorkItem], Path],
    fingerprint: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Copy each written result to its outputs; the rejects and the per-item log records."""
    by_id = {item.id: item for item in items}
    rejects: list[dict[str, Any]] = []
    log: list[dict[str, Any]] = []
    for item in items:
        record: dict[str, Any] = {"id": item.id, "split": item.split, "image": str(item.image)}
        if item.id in absent:
            log.append(
                {
                    **record,
                    "status": "skipped",
                    "reason": "missing_input",
                    "detail": f"no {', '.join(absent[item.id])} file: an earlier stage "
                    "rejected this sample (or has not run)",
                }
            )
            continue
        # Whether a result came from the cache stays out of the records: it is the state of
        # this machine's cache, not of the dataset, and the report folder is a DVC output.
        outcome = outcomes[item.id]
        if outcome.rejected:
            record.update(status="rejected", reason=outcome.reason, detail=outcome.detail)
            rejects.append({**record, "annotator": fingerprint})
        else:
            publish(outcome, outputs, dest, by_id[item.id])
            record.update(status="written", provenance=outcome.provenance)
        log.append(record)
    return rejects, log


def _summary(
    kind: str,
    annotator: Annotator,
    fingerprint: str,
    counts: dict[str, int],
    rejects: list[dict[str, Any]],
    log: list[dict[str, Any]],
    timing: tuple[float, float],
) -> dict[str, Any]:
    """The run's flat summary for DVC metrics."""
    seconds, model_seconds = timing
    annotated, skipped = counts["annotated"], counts["skipped"]
    counted = counts["samples"] - skipped  # the reject rate's denominator
    summary: dict[str, Any] = {
        "kind": kind,
        "backend": annotator.name,
        "annotator": fingerprint,
        "samples": counts["samples"],
        "annotated": annotated,
        "cached": counted - annotated,
        "written": counted - len(rejects),
        "skipped": skipped,
        "rejects": len(rejects),
        "reject_rate": round(len(rejects) / counted, 4) if counted else 0.0,
        "seconds": round(seconds, 3),
        "images_per_s": round(annotated / model_seconds, 3) if annotated and model_seconds else 0.0,
    }
    several = sum(1 for r in log if r.get("provenance", {}).get("people", 1) > 1)
    if several:
        summary["several_people"] = several  # the most prominent person was kept
    for reason, count in sorted(Counter(r["reason"] for r in rejects).items()):
        summary[f"rejects_{reason}"] = count
    if getattr(annotator, "approximation", False):
        summary["approximation"] = True
    return summary


def _check_outcome(
    kind: str,
    summary: dict[str, Any],
    absent: dict[str, list[str]],
    rejects: list[dict[str, Any]],
    max_reject_rate: float,
    rejects_path: Path | None,
) -> None:
    """AnnotationFailed when every item was skipped or the reject rate passes its limit."""
    counted = summary["samples"] - summary["skipped"]
    if summary["samples"] and not counted:
        raise AnnotationFailed(
            f"{kind}: all {summary['skipped']} samples lack the files it reads "
            f"({', '.join(sorted({k for gone in absent.values() for k in gone}))}); "
            "run the stages that make them first (dvc repro)"
        )
    if summary["reject_rate"] > max_reject_rate:
        where = f"; reasons in {rejects_path}" if rejects_path else ""
        raise AnnotationFailed(
            f"{kind}: {len(rejects)} of {counted} images rejected "
            f"({summary['reject_rate']:.0%}), above max_reject_rate={max_reject_rate}{where}"
        )


def _absent_inputs(item: WorkItem) -> list[str]:
    """The kinds of `item.inputs` whose files do not exist."""
    return sorted(k for k, path in item.inputs.items() if not Path(path).exists())


def _annotate(kind, section, annotator, todo, cache_dir, fingerprint, workers):
    """Yield Outcomes for `todo`, in worker processes when that pays off."""
    # Starting a worker (spawn, imports, model load) costs about a second: a handful of new
    # images (an incremental refresh) is quicker in this process.
    if workers <= 0 or len(todo) < SPAWN_MIN_PER_WORKER * workers:
        annotator.load()
        for item in todo:
            yield process_item(annotator, item, cache_dir, fingerprint)
        return
    # spawn: workers start clean (no inherited model or thread state; CUDA-safe).
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(min(workers, len(todo)), _init_worker, (kind, section, cache_dir)) as pool:
        yield from pool.imap_unordered(_work, todo, chunksize=1)


__all__ = [
    "AnnotationFailed",
    "MissingWeights",
    "Outcome",
    "WorkItem",
    "annotate_batch",
    "entry_dir",
    "input_digest",
    "process_item",
    "publish",
    "run",
]
