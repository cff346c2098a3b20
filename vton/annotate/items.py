"""What an annotation run reads and where it writes: a dataset in the layout, or a folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vton.annotate.base import EXTRA_INPUTS, INPUT_KIND, KIND_OUTPUTS
from vton.annotate.runner import Executor, WorkItem, run
from vton.layout import KINDS, SPLITS, Layout
from vton.sources.folder import sample_id

Dest = Callable[[str, WorkItem], Path]


def dataset_items(kind: str, dataset: Layout, reference: Layout | None = None) -> list[WorkItem]:
    """One item per sample of every split: the photo `kind` reads, the other dataset kinds
    it reads (`EXTRA_INPUTS`), and the reference annotations the source left in `reference`
    (same layout) for the `reference` backend."""
    input_kind = INPUT_KIND[kind]
    items = []
    for split in SPLITS:
        for sid in dataset.ids(split, input_kind):
            refs = {}
            if reference is not None:
                for name, k in KINDS.items():
                    path = reference.path(split, name, sid)
                    if k.annotation and path.exists():
                        refs[name] = path
            inputs = {k: dataset.path(split, k, sid) for k in EXTRA_INPUTS.get(kind, ())}
            items.append(WorkItem(sid, split, dataset.path(split, input_kind, sid), refs, inputs))
    return items


def dataset_dest(dataset: Layout) -> Dest:
    return lambda kind_name, item: dataset.path(item.split, kind_name, item.id)


def folder_items(folder: Path) -> list[WorkItem]:
    """One item per file of a folder (hidden files aside); ids are the safe file stems."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    items, seen = [], set()
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        sid = sample_id(path.stem)
        while sid in seen:  # photo.jpg and photo.png: keep both
            sid += "_"
        seen.add(sid)
        items.append(WorkItem(sid, None, path))
    return items


def folder_dest(out: Path) -> Dest:
    """Outputs under OUT/<the layout's folder of the kind>/ID<suffix>, without splits."""
    return lambda kind_name, item: (
        Path(out) / KINDS[kind_name].folder / f"{item.id}{KINDS[kind_name].suffix}"
    )


def annotate_dataset(
    kind: str,
    params: Any,
    dataset: Path,
    reference: Path,
    report_dir: Path,
    *,
    execute: Executor | None = None,
    progress: bool = True,
) -> dict:
    """Annotate every sample of the dataset at `dataset` with the `kind` backend `params`
    (a `vton.config.Params`) configures: the DVC stage and the Prefect flow both call this.

    Writes the kind's files into the dataset, `rejects.jsonl` and `log.jsonl` into
    `report_dir`; returns the summary. `execute` runs the uncached items elsewhere (see
    `vton.annotate.runner.run`). Raises AnnotationFailed / MissingWeights like `run`.
    """
    layout = Layout(dataset)
    for split in SPLITS:  # every output folder exists, even when a split has no samples
        for kind_name in KIND_OUTPUTS[kind]:
            layout.folder(split, kind_name).mkdir(parents=True, exist_ok=True)
    return run(
        kind,
        getattr(params, kind),
        dataset_items(kind, layout, Layout(reference)),
        dataset_dest(layout),
        Path(params.annotate.cache_dir),
        workers=params.annotate.workers,
        max_reject_rate=params.annotate.max_reject_rate,
        rejects_path=Path(report_dir) / "rejects.jsonl",
        log_path=Path(report_dir) / "log.jsonl",
        progress=progress,
        execute=execute,
    )
