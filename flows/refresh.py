"""Prefect flow: the scheduled dataset refresh.

scrape the sites of `refresh.sites` -> `dvc add` the scraped folder -> `dvc repro` ->
`git commit` (the new dataset version: dvc.lock, .dvc files, metrics) -> `dvc push`, then a
report of what changed: new products, new samples, rejects, and the metrics diff against
the previous version. Only the network-facing tasks (scrape, push) are retried. A refresh
that finds no new product changes nothing and says so; one that fails before the commit
(the shop is down, a stage fails) puts the work tree back to the previous version.

    python -m flows.refresh run [--project DIR]      # once, now
    python -m flows.refresh serve [--project DIR]    # on refresh.cron, against a Prefect
                                                     # server (`prefect server start`)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from vton import versioning
from vton.config import load_params

DATASET = "data/dataset"  # where dvc.yaml's publish stage writes the catalog (new-sample count)


def _crawl(site: str, raw: str, start_urls: list[str] | None) -> dict:
    from scraper.run import run_crawl

    return run_crawl(site, raw, start_urls)


scrape = task(name="scrape", task_run_name="scrape {site}")(_crawl)
push = task(name="dvc push")(versioning.push)


@task(name="dvc add")
def record(root: Path, raw: str) -> bool:
    return versioning.track(root, raw)


@task(name="dvc repro")
def reproduce(root: Path, targets: list[str]) -> str:
    return versioning.repro(root, targets)


@task(name="git commit")
def commit(root: Path, message: str) -> str | None:
    return versioning.commit(root, message)


def _rejects(diff: dict) -> dict[str, int]:
    """Reject counts per stage from the metrics diff, as {stage: new count}."""
    out = {}
    for path, metrics in diff.items():
        if "rejects" in metrics:
            out[Path(path).stem] = metrics["rejects"].get("new")
    return out


def _check_clean(root: Path) -> None:
    """Refuse a work tree with uncommitted changes: a failed refresh resets it."""
    dirty = versioning.sh(root, "git", "status", "--porcelain", "--untracked-files=no").stdout
    if dirty.strip():
        raise RuntimeError(
            f"{root} has uncommitted changes to tracked files; commit or stash them first, "
            f"a failed refresh resets the work tree to the last version:\n{dirty}"
        )


def _restore(root: Path, previous: str | None, raw: str, targets: list[str]) -> None:
    """After a failed refresh, put back what it may have touched at version `previous`: the
    raw data and the reproduced stages (all of the pipeline's data when it reproduces the
    whole pipeline)."""
    logger = get_run_logger()
    logger.error("refresh failed: restoring the previous version %s", previous)
    raw_dvc = f"{raw}.dvc"
    recorded = [raw_dvc] if (root / raw_dvc).exists() else []
    touched = [*recorded, *targets] if targets else []
    try:
        versioning.restore(root, previous, *touched)
    except versioning.VersioningError as exc:
        logger.error("could not restore %s: %s", previous, exc)


@flow(name="vton-refresh", log_prints=True)
def refresh(
    project: str = ".",
    sites: list[str] | None = None,
    start_urls: dict[str, list[str]] | None = None,
) -> dict:
    """Refresh the dataset of the DVC project at `project`; returns the report.

    `sites` defaults to params.yaml's `refresh.sites`; `start_urls` (site -> URLs) overrides
    a spec's start URLs (a mirror, a test shop).
    """
    logger = get_run_logger()
    root = Path(project).resolve()
    cfg = load_params(root / "params.yaml").refresh
    sites = list(sites or cfg.sites)
    if not sites:
        raise ValueError("no site to scrape: set refresh.sites in params.yaml")
    _check_clean(root)
    previous = versioning.head(root)
    before = versioning.catalog_ids(root / DATASET)
    retry: dict[str, Any] = {"retries": cfg.retries, "retry_delay_seconds": cfg.retry_delay_s}
    try:
        crawls = {}
        for site in sites:
            urls = (start_urls or {}).get(site)
            crawls[site] = scrape.with_options(**retry)(site, str(root / cfg.raw), urls)
        new_products = sum(c["new_products"] for c in crawls.values())
        report = {
            "previous": previous,
            "version": previous,
            "new_products": new_products,
            "crawls": {s: _counts(c) for s, c in crawls.items()},
        }
        if new_products == 0:
            raw_dvc = f"{cfg.raw}.dvc"  # undo the crawl's own log files, nothing else
            if (root / raw_dvc).exists():
                versioning.restore(root, previous, raw_dvc)
            report.update(changed=False, new_samples=[], metrics_diff={}, pushed=False)
            logger.info("nothing new on %s: the dataset stays at %s", sites, previous)
            return report
        record(root, cfg.raw)
        reproduce(root, list(cfg.targets))
        diff = versioning.metrics_diff(root, previous)
        new_samples = sorted(versioning.catalog_ids(root / DATASET) - before)
        version = commit(
            root, f"refresh: {new_products} new products, {len(new_samples)} new samples"
        )
    except BaseException:
        _restore(root, previous, cfg.raw, list(cfg.targets))
        raise
    report.update(
        changed=True,
        version=version,
        new_samples=new_samples,
        metrics_diff=diff,
        rejects=_rejects(diff),
    )
    pushed = versioning.has_remote(root)
    if pushed:  # after the commit: a failed push keeps the version; the next refresh pushes it
        push.with_options(**retry)(root, cfg.remote or None)
    else:
        logger.warning("no DVC remote configured: the version is local only (dvc remote add)")
    report["pushed"] = pushed
    create_markdown_artifact(_markdown(report), key="vton-refresh", description="what changed")
    logger.info(
        "refresh: %d new products, %d new samples, version %s",
        new_products,
        len(new_samples),
        version,
    )
    return report


def _counts(crawl: dict) -> dict:
    return {k: v for k, v in crawl.items() if isinstance(v, int | float | str)}


def _markdown(report: dict) -> str:
    lines = [
        f"# Refresh: {report['new_products']} new products, "
        f"{len(report['new_samples'])} new samples",
        f"version `{report['version']}` (previous `{report['previous']}`), "
        f"pushed: {report['pushed']}",
        "",
        "| metric | old | new | diff |",
        "|---|---|---|---|",
    ]
    for path, metrics in sorted(report["metrics_diff"].items()):
        for name, d in sorted(metrics.items()):
            lines.append(f"| {path}:{name} | {d.get('old')} | {d.get('new')} | {d.get('diff')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "serve"])
    parser.add_argument("--project", default=".", help="the DVC project root")
    parser.add_argument("--site", action="append", dest="sites", help="instead of refresh.sites")
    args = parser.parse_args(argv)
    root = Path(args.project).resolve()
    if args.command == "serve":
        cfg = load_params(root / "params.yaml").refresh
        refresh.serve(
            name="vton-refresh",
            cron=cfg.cron,
            parameters={"project": str(root), "sites": args.sites},
        )
        return 0
    report = refresh(project=str(root), sites=args.sites)
    print(json.dumps(report, indent=2, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
