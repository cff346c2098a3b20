"""Prefect flow: the annotation stages, with the per-sample work mapped over a task runner.

The same library call as the DVC stages (`vton.annotate.items.annotate_dataset`), with one
difference: the images missing from the content-addressed cache are annotated by Prefect
tasks (`vton.annotate.runner.annotate_batch`, a batch of images each) on local worker
processes, or on a Dask cluster when `run.dask_address` (or VTON_DASK_ADDRESS) names
one. The cache, outputs, rejects, logs and metrics are the stage's, byte for byte, so a
killed flow resumes where it stopped and `dvc repro` afterwards finds nothing to redo.

    python -m flows.annotate                          # every kind, params.yaml's backends
    python -m flows.annotate --kinds pose,parse --dask-address tcp://scheduler:8786
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.futures import as_completed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from vton.annotate.base import ANNOTATION_KINDS, MissingWeights
from vton.annotate.items import annotate_dataset
from vton.annotate.runner import AnnotationFailed, WorkItem, annotate_batch
from vton.config import Params, ParamsError, load_params
from vton.formats import manifest

KINDS = ("pose", "parse", "densepose", "cloth_mask", "agnostic")
"""In dependency order: `agnostic` reads the parse and keypoints written before it."""

# The task is the library function itself, so a Dask worker needs only `vton` installed.
annotate_batch_task = task(name="annotate-batch", task_run_name="{kind}")(annotate_batch)


def task_runner(params: Params, dask_address: str | None = None) -> TaskRunner:
    """Local worker processes, or Dask: an address, or "local" for a LocalCluster."""
    address = dask_address or os.environ.get("VTON_DASK_ADDRESS") or params.run.dask_address
    workers = params.run.annotate_workers
    if not address:
        if workers <= 0:
            return ThreadPoolTaskRunner(max_workers=1)
        return ProcessPoolTaskRunner(max_workers=workers)
    from prefect_dask import DaskTaskRunner

    if address == "local":
        n = max(1, workers)
        return DaskTaskRunner(cluster_kwargs={"n_workers": n, "threads_per_worker": 1})
    return DaskTaskRunner(address=address)


def _executor(kind: str, section, cache_dir: Path, batch: int):
    def execute(todo: list[WorkItem]):
        batches = [todo[i : i + batch] for i in range(0, len(todo), max(1, batch))]
        futures = [annotate_batch_task.submit(kind, section, b, cache_dir) for b in batches]
        for future in as_completed(futures):
            yield from future.result()

    return execute


@flow(name="vton-annotate", log_prints=True)
def annotate_flow(
    params_path: str = "params.yaml",
    dataset: str = "data/dataset",
    reference: str = "data/reference",
    catalog: str = "data/ingest/catalog.csv",
    report_root: str = "data/annotate",
    metrics_dir: str = "metrics",
    kinds: list[str] = list(KINDS),  # noqa: B006  (Prefect needs a JSON default)
) -> dict[str, dict]:
    """Annotate the dataset kind by kind; returns each kind's summary (also in metrics/).

    Relative paths resolve against the folder of `params_path` (the project root), as they
    do for `dvc repro`.
    """
    logger = get_run_logger()
    root = Path(params_path).resolve().parent
    params = load_params(params_path)
    cache_dir = root / params.run.annotate_cache
    params = dataclasses.replace(
        params, run=dataclasses.replace(params.run, annotate_cache=str(cache_dir))
    )
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown kinds {unknown}; choose from {list(KINDS)}")
    summaries = {}
    for kind in (k for k in KINDS if k in kinds):
        execute = _executor(kind, getattr(params, kind), cache_dir, params.run.flow_batch)
        summary = annotate_dataset(
            kind,
            params,
            root / dataset,
            root / reference,
            root / report_root / kind,
            catalog=root / catalog,
            execute=execute,
        )
        metrics = root / metrics_dir / f"{kind}.json"
        metrics.parent.mkdir(parents=True, exist_ok=True)
        tmp = metrics.with_name(f".{metrics.name}.tmp")
        tmp.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        tmp.replace(metrics)
        # as the stage writes it (`--manifest`): what validate and agnostic depend on
        outputs = ANNOTATION_KINDS[kind].outputs
        manifest.write(
            root / report_root / kind / "manifest.tsv", manifest.of_kinds(root / dataset, outputs)
        )
        logger.info(
            "%s: %d written (%d from cache), %d rejects",
            kind,
            summary["written"],
            summary["cached"],
            summary["rejects"],
        )
        summaries[kind] = summary
    return summaries


def run_flow(params_path: str = "params.yaml", dask_address: str | None = None, **kwargs):
    """Run `annotate_flow` on the task runner params (or `dask_address`) choose."""
    runner = task_runner(load_params(params_path), dask_address)
    # Prefect types task_runner with PrefectFuture invariantly; any TaskRunner works here.
    flow = annotate_flow.with_options(task_runner=runner)  # type: ignore[arg-type]
    return flow(params_path=params_path, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--dataset", default="data/dataset")
    parser.add_argument("--reference", default="data/reference")
    parser.add_argument("--catalog", default="data/ingest/catalog.csv", help="ingest's catalog")
    parser.add_argument("--report-root", default="data/annotate")
    parser.add_argument("--metrics-dir", default="metrics")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated, in order")
    parser.add_argument("--dask-address", help='scheduler address, or "local" (LocalCluster)')
    args = parser.parse_args(argv)
    try:
        summaries = run_flow(
            args.params,
            args.dask_address,
            dataset=args.dataset,
            reference=args.reference,
            catalog=args.catalog,
            report_root=args.report_root,
            metrics_dir=args.metrics_dir,
            kinds=[k for k in args.kinds.split(",") if k],
        )
    except (AnnotationFailed, MissingWeights, ParamsError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summaries, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
