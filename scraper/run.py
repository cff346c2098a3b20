"""Run one crawl: `python -m scraper.run SITE --out ROOT [--start-url URL ...]`.

SITE is a spec name in `scraper/sites/` or a path to a spec file. Twisted's reactor runs
once per process, so callers in Python use `run_crawl`, which starts this module in a
child process and returns the crawl summary (ROOT/crawl.json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from scraper import settings
from scraper.spec import SiteSpec, load_spec, spec_path
from vton.formats.scraped_items import read_crawl_summary


def settings_for(spec: SiteSpec, root: Path, log_level: str | None = None) -> dict:
    """Scrapy settings of a polite crawl of `spec` that stores into `root`: the project's
    (`scraper.settings`) with the spec's, logging at `log_level` (default: the project's).

    The spider adds its item pipelines and the spec's settings again itself, which is how
    `scrapy crawl shop` gets them."""
    return {
        **settings.defaults(),
        **settings.for_site(spec, root),
        "LOG_LEVEL": log_level or settings.LOG_LEVEL,
    }


def crawl(
    site: str | Path,
    root: Path,
    start_urls: list[str] | None = None,
    log_level: str | None = None,
) -> dict:
    """Crawl in this process (once per process: Twisted's reactor cannot restart).

    Writes ROOT/items.jsonl (new products appended), ROOT/images/ and ROOT/crawl.json;
    returns the summary. The same crawl as `scrapy crawl shop -a site=SITE -a out=ROOT`.
    """
    from scrapy.crawler import CrawlerProcess

    from scraper.spider import ShopSpider

    spec = load_spec(site)  # a bad spec fails here, before scrapy starts
    process = CrawlerProcess(settings_for(spec, Path(root), log_level))
    crawler = process.create_crawler(ShopSpider)
    process.crawl(crawler, site=site, out=root, start_urls=start_urls)
    process.start()
    summary = getattr(crawler.spider, "summary", None)
    if summary is None:
        raise RuntimeError(f"the crawl of {spec.name} did not start; its log above says why")
    return summary


def run_crawl(
    site: str | Path,
    root: str | Path,
    start_urls: list[str] | None = None,
    log_level: str = "INFO",
    timeout: float | None = None,
) -> dict:
    """Crawl in a child process and return its summary (ROOT/crawl.json).

    The crawl logs to this process's stderr as it goes. Raises RuntimeError when the child
    fails (a bad spec, no listing page reachable: its log says which).
    """
    cmd = [sys.executable, "-m", "scraper.run", str(spec_path(site)), "--out", str(root)]
    for url in start_urls or []:
        cmd += ["--start-url", url]
    cmd += ["--log-level", log_level]
    here = str(Path(__file__).resolve().parents[1])  # the child imports this very scraper
    path = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    proc = subprocess.run(
        cmd, env={**os.environ, "PYTHONPATH": path}, stdout=subprocess.DEVNULL, timeout=timeout
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"the crawl of {site} failed (exit {proc.returncode}); its log above says why"
        )
    return read_crawl_summary(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", help="spec name in scraper/sites/ or path to a spec file")
    parser.add_argument("--out", type=Path, required=True, help="output folder (ROOT)")
    parser.add_argument(
        "--start-url",
        action="append",
        dest="start_urls",
        help="start here instead of the spec's start_urls (repeatable)",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    try:
        summary = crawl(args.site, args.out, args.start_urls, log_level=args.log_level)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    counts = {k: v for k, v in summary.items() if not isinstance(v, list)}
    print(json.dumps(counts, indent=2, sort_keys=True))
    if summary["listing_pages"] == 0:
        print(
            f"error: no listing page of {summary['site']} could be fetched; the reasons are "
            f"in {args.out / 'crawl.json'} (refusals)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
