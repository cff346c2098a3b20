"""What an annotation run reads and where it writes: a dataset in the layout, or a folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vton.annotate.base import ANNOTATION_KINDS
from vton.annotate.runner import Executor, WorkItem, run
from vton.formats import packs
from vton.layout import KINDS, SPLITS, Layout, read_catalog, sample_id

Dest = Callable[[str, WorkItem], Path]
REFERENCE_VIEWS = "reference-views"  # below the annotation cache: views of packed references


def reference_root(reference: str | Path, cache_dir: str | Path) -> Path:
    """The reference layout root to read: `reference` itself (a VITON-HD copy, the golden
    samples), or when it holds split packs (ingest's `data/reference`) their view, kept in
    the annotation cache `cache_dir` and made once per content (`vton.formats.packs`)."""
    return packs.layout_view(reference, Path(cache_dir) / REFERENCE_VIEWS)


def catalog_attributes(catalog: Path, names: tuple[str, ...]) -> dict[tuple[str, str], dict]:
    """(split, id) -> the provenance entries `names` of each catalog row that has them
    (values as strings): e.g. the garment category a DressCode or scraped sample carries."""
    catalog = Path(catalog)
    if not catalog.is_file():
        raise FileNotFoundError(
            f"catalog {catalog} not found: the {', '.join(names)} of each sample is read from "
            "the catalog ingest writes (in the pipeline, the agnostic stage's --catalog in "
            "dvc.yaml); run ingest first or give that file"
        )
    found = {}
    for row in read_catalog(catalog).to_dict("records"):
        try:
            provenance = json.loads(row["provenance"] or "{}")
        except ValueError as exc:
            raise ValueError(
                f"{catalog}: the provenance of {row['split']}/{row['id']} is not JSON ({exc}); "
                "re-run ingest to rewrite the catalog"
            ) from None
        known = {k: str(provenance[k]) for k in names if provenance.get(k) is not None}
        if known:
            found[(row["split"], row["id"])] = known
    return found


def dataset_items(
    kind: str, dataset: Layout, reference: Layout | None = None, catalog: Path | None = None
) -> list[WorkItem]:
    """One item per sample of every split: the photo `kind` reads, the other dataset kinds
    it reads (`AnnotationKind.inputs`), the reference annotations the source left in `reference`
    (same layout) for the `reference` backend, and the facts of `AnnotationKind.attributes` that the
    `catalog` file (ingest's) lists for the sample."""
    input_kind = ANNOTATION_KINDS[kind].photo
    names = ANNOTATION_KINDS[kind].attributes
    listed = catalog_attributes(catalog, names) if catalog is not None and names else {}
    items = []
    for split in SPLITS:
        for sid in dataset.ids(split, input_kind):
            refs = {}
            if reference is not None:
                for name, k in KINDS.items():
                    path = reference.path(split, name, sid)
                    if k.annotation and path.exists():
                        refs[name] = path
            inputs = {k: dataset.path(split, k, sid) for k in ANNOTATION_KINDS[kind].inputs}
            attributes = dict(listed.get((split, sid), {}))
            image = dataset.path(split, input_kind, sid)
            items.append(WorkItem(sid, split, image, refs, inputs, attributes))
    return items


def dataset_dest(dataset: Layout) -> Dest:
    def dest(kind_name: str, item: WorkItem) -> Path:
        if item.split is None:
            raise ValueError(f"item {item.id} has no split: only dataset items go to a dataset")
        return dataset.path(item.split, kind_name, item.id)

    return dest


def folder_items(
    folder: Path, kind: str | None = None, inputs: Path | None = None
) -> list[WorkItem]:
    """One item per file of a folder (hidden files aside); ids are the safe file stems.

    With `kind` and `inputs`, an item's `AnnotationKind.inputs` files are those
    `folder_dest(inputs)` names: where `vton annotate pose|parse --in FOLDER --out INPUTS`
    wrote them. A photo without them is skipped by the run; a FileNotFoundError when no photo
    has them.
    """
    folder = Path(folder)
    extra = ANNOTATION_KINDS[kind].inputs if inputs is not None and kind is not None else ()
    dest = folder_dest(inputs) if extra and inputs is not None else None
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    items, seen = [], set()
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        sid = sample_id(path.stem)
        while sid in seen:  # photo.jpg and photo.png: keep both
            sid += "_"
        seen.add(sid)
        item = WorkItem(sid, None, path)
        if dest is not None:
            item = WorkItem(sid, None, path, inputs={k: dest(k, item) for k in extra})
        items.append(item)
    if extra and items and not any(all(p.exists() for p in i.inputs.values()) for i in items):
        makers = sorted(
            k for k, a in ANNOTATION_KINDS.items() if any(name in a.outputs for name in extra)
        )
        where = ", ".join(f"{inputs}/{KINDS[name].folder}" for name in extra)
        runs = " and ".join(f"`vton annotate {k} --in {folder} --out {inputs}`" for k in makers)
        raise FileNotFoundError(
            f"{kind} reads each photo's {', '.join(extra)} from {where}, and no photo of "
            f"{folder} has them there: run {runs} first"
        )
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
    catalog: Path | None = None,
    execute: Executor | None = None,
    progress: bool = True,
) -> dict:
    """Annotate every sample of the dataset at `dataset` with the `kind` backend `params`
    (a `vton.config.Params`) configures: the DVC stage and the Prefect flow both call this.
    `catalog` (ingest's catalog file) gives each sample's facts the kind reads
    (`AnnotationKind.attributes`: the agnostic category); without it there are none.

    Writes the kind's files into the dataset, `rejects.jsonl` and `log.jsonl` into
    `report_dir`; returns the summary. `execute` runs the uncached items elsewhere (see
    `vton.annotate.runner.run`). Raises AnnotationFailed / MissingWeights like `run`.
    """
    layout = Layout(dataset)
    cache_dir = Path(params.run.annotate_cache)
    for split in SPLITS:  # every output folder exists, even when a split has no samples
        for kind_name in ANNOTATION_KINDS[kind].outputs:
            layout.folder(split, kind_name).mkdir(parents=True, exist_ok=True)
    return run(
        kind,
        getattr(params, kind),
        dataset_items(kind, layout, Layout(reference_root(reference, cache_dir)), catalog),
        dataset_dest(layout),
        cache_dir,
        workers=params.run.annotate_workers,
        max_reject_rate=params.annotate.max_reject_rate,
        rejects_path=Path(report_dir) / "rejects.jsonl",
        log_path=Path(report_dir) / "log.jsonl",
        progress=progress,
        execute=execute,
    )
