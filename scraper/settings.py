"""The scrapy project's settings; `scrapy.cfg` at the repository root names this module.

Every crawl starts from them, whether `vton scrape` (`scraper.run.settings_for`) or
`scrapy crawl shop -a site=SITE -a out=ROOT` runs it, and the spider adds its site spec's
(`for_site`): the spec's user agent and politeness, its product limit, the image store in
ROOT. Without a spec (`scrapy shell URL`, `scrapy fetch URL`) requests are as polite as a
spec that keeps the `politeness` defaults. Only the UPPERCASE names are settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scraper.spec import Politeness, SiteSpec

BOT_NAME = "vton-scraper"
SPIDER_MODULES = ["scraper.spider"]
USER_AGENT = "vton-scraper (dataset research crawler)"  # a crawl sends its spec's user_agent
ROBOTSTXT_OBEY = True  # the spider refuses to start without these two
AUTOTHROTTLE_ENABLED = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False  # no listening ports: a crawl only makes requests
REMOTE_CONTROL_ENABLED = False
DOWNLOAD_MAXSIZE = 16_000_000  # a listing or product page larger than this is refused
# ITEM_PIPELINES are the spider's `custom_settings`: they work only with it (they keep its tally).
IMAGES_EXPIRES = 36500  # a URL's image is stored once; a new image has a new URL
MEDIA_ALLOW_REDIRECTS = True
LOG_LEVEL = "INFO"


def politeness(polite: Politeness) -> dict[str, Any]:
    """The scrapy settings that make a crawl as slow as `polite` says."""
    return {
        "AUTOTHROTTLE_START_DELAY": polite.start_delay,
        "AUTOTHROTTLE_MAX_DELAY": polite.max_delay,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": polite.target_concurrency,
        "DOWNLOAD_DELAY": polite.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": polite.concurrency_per_domain,
        "CONCURRENT_REQUESTS": max(16, polite.concurrency_per_domain),
        "DOWNLOAD_TIMEOUT": polite.timeout,
    }


def for_site(spec: SiteSpec, root: str | Path) -> dict[str, Any]:
    """The settings a crawl of `spec` that stores into `root` adds to the project's."""
    return {
        "USER_AGENT": spec.user_agent,
        **politeness(spec.politeness),
        "CLOSESPIDER_ITEMCOUNT": spec.max_products,
        "IMAGES_STORE": str(root),
    }


def defaults() -> dict[str, Any]:
    """The project's settings: this module's UPPERCASE names, as scrapy reads them."""
    return {name: value for name, value in globals().items() if name.isupper()}


# One source for the delays: a spec's defaults (scraper/spec.py) also serve spec-less commands.
globals().update(politeness(Politeness()))
