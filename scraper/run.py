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

from scraper.crawl import Crawl
from scraper.spec import SiteSpec, load_spec, spec_path
from vton.formats.scraped import read_crawl_summary, write_crawl_summary

PAGE_MAX_BYTES = 16_000_000  # a listing or product page larger than this is refused


def settings_for(spec: SiteSpec, root: Path, log_level: str = "INFO") -> dict:
    """Scrapy settings of a polite crawl of `spec` that stores into `root`."""
    polite = spec.politeness
    return {
        "BOT_NAME": "vton-scraper",
        "USER_AGENT": spec.user_agent,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": polite.start_delay,
        "AUTOTHROTTLE_MAX_DELAY": polite.max_delay,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": polite.target_concurrency,
        "DOWNLOAD_DELAY": polite.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": polite.concurrency_per_domain,
        "CONCURRENT_REQUESTS": max(16, polite.concurrency_per_domain),
        "DOWNLOAD_TIMEOUT": polite.timeout,
        "DOWNLOAD_MAXSIZE": PAGE_MAX_BYTES,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,  # no listening ports: a crawl only makes requests
        "REMOTE_CONTROL_ENABLED": False,
        "CLOSESPIDER_ITEMCOUNT": spec.max_products,
        "ITEM_PIPELINES": {
            "scraper.pipelines.ShopImagesPipeline": 100,
            "scraper.pipelines.ProductWriter": 900,
        },
        "IMAGES_STORE": str(root),
        "IMAGES_EXPIRES": 36500,  # a URL's image is stored once; a new image has a new URL
        "MEDIA_ALLOW_REDIRECTS": True,
        "LOG_LEVEL": log_level,
    }


def crawl(site: str | Path, root: Path, start_urls: list[str] | None = None, **kw) -> dict:
    """Crawl in this process (once per process: Twisted's reactor cannot restart).

    Writes ROOT/items.jsonl (new products appended), ROOT/images/ and ROOT/crawl.json;
    returns the summary.
    """
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from scraper.spider import ShopSpider

    spec = load_spec(site)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    state = Crawl(root, spec)
    process = CrawlerProcess(settings_for(spec, root, **kw))
    crawler = process.create_crawler(ShopSpider)
    closed: dict = {}

    def on_closed(spider, reason: str) -> None:
        closed["reason"] = reason
        closed["stats"] = dict(crawler.stats.get_stats())

    crawler.signals.connect(on_closed, signal=signals.spider_closed)
    process.crawl(crawler, crawl=state, start_urls=start_urls)
    process.start()
    summary = state.summary(closed.get("stats", {}), closed.get("reason", "unknown"))
    write_crawl_summary(root, summary)
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
