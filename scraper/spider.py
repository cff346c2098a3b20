"""The one spider: walks listing pages, reads product pages as its site spec says.

Every link is checked against the spec's allowed domains before a request is made (the
offsite middleware stays on behind it), product pages already in the state are not
fetched again, and every page that fails is a counted refusal with its reason. The
spider owns the crawl: it reads the spec, adds the spec's settings (`scraper.settings`),
and when it closes writes ROOT/crawl.json, so `scrapy crawl shop` and `vton scrape` run
the same crawl.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import scrapy
from scrapy import signals
from scrapy.http import Response, TextResponse

from scraper.crawl import Crawl, classify_failure, utc_now
from scraper.settings import for_site
from scraper.spec import load_spec
from vton.formats.scraped_items import CRAWL, ImageRecord, ProductRecord, write_crawl_summary

USAGE = "scrapy crawl shop -a site=NAME_OR_SPEC.yaml -a out=ROOT [-a start_urls='URL ...']"
# Settings a crawl of this project never runs without, whatever the command line says.
ALWAYS_ON = ("ROBOTSTXT_OBEY", "AUTOTHROTTLE_ENABLED")


def _texts(response: TextResponse, selector: str) -> list[str]:
    """Every non-empty stripped string `selector` finds ([] for an empty selector)."""
    if not selector:
        return []
    return [t.strip() for t in response.css(selector).getall() if t and t.strip()]


class ShopSpider(scrapy.Spider):
    """Crawl the shop the site spec `site` describes into the folder `out`.

    `site` is a spec name in scraper/sites/ or a path to a spec file; `start_urls` (listing
    pages to start from instead of the spec's) is a list, or from the command line one
    string of URLs separated by spaces. The spider's `crawl` holds the state and the tally,
    and `summary` is the crawl summary once the spider has closed.
    """

    name = "shop"
    custom_settings = {  # noqa: RUF012 (scrapy declares it a plain class attribute)
        "ITEM_PIPELINES": {
            "scraper.pipelines.ShopImagesPipeline": 100,
            "scraper.pipelines.ProductWriter": 900,
        }
    }

    def __init__(
        self,
        site: str | Path | None = None,
        out: str | Path | None = None,
        start_urls: str | list[str] | None = None,
        **kwargs,
    ):
        if not site or not out:
            raise ValueError(
                f"the shop spider needs a site spec and an output folder, got site={site!r} "
                f"out={out!r}: {USAGE}"
            )
        spec = load_spec(site)
        root = Path(out)
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(name=f"shop-{spec.name}", **kwargs)
        self.crawl = Crawl(root, spec)
        self.spec = spec
        self.allowed_domains = list(spec.allowed_domains)
        if isinstance(start_urls, str):
            start_urls = start_urls.split()
        self.start_urls = list(start_urls or spec.start_urls)
        self.summary: dict | None = None
        self._claimed: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Scrapy freezes the settings only after this: the spec's become the spider's
        # (above the project's, below the command line's `-s`).
        crawler.settings.setdict(for_site(spider.spec, spider.crawl.root), priority="spider")
        off = [name for name in ALWAYS_ON if not crawler.settings.getbool(name)]
        if off:
            raise ValueError(
                f"{', '.join(off)} turned off: crawls of this project always obey robots.txt "
                "and throttle (set the pace with the spec's politeness keys instead)"
            )
        crawler.signals.connect(spider.on_scheduled, signal=signals.request_scheduled)
        return spider

    def closed(self, reason: str) -> None:
        """Write the crawl summary, ROOT/crawl.json."""
        stats = dict(self.crawler.stats.get_stats())
        self.summary = self.crawl.summary(stats, reason)
        write_crawl_summary(self.crawl.root, self.summary)
        self.logger.info(
            "%d new products, %d images stored, %d refused; details in %s",
            self.summary["new_products"],
            self.summary["images_stored"],
            self.summary["refused"],
            self.crawl.root / CRAWL,
        )

    def on_scheduled(self, request: scrapy.Request, spider=None) -> None:
        """Record a redirect to another host: scrapy's offsite middleware drops it at this
        point without calling the request's errback."""
        if not self.crawl.on_site(request.url):
            came_from = (request.meta.get("redirect_urls") or [""])[-1]
            self.crawl.refuse(
                request.url,
                "offsite",
                "redirected to a host not in the spec's allowed_domains",
                "page",
                came_from,
            )

    def _request(self, url: str, callback, referer: str = "") -> scrapy.Request | None:
        if not self.crawl.on_site(url):
            self.crawl.refuse(
                url, "offsite", "host not in the spec's allowed_domains", "page", referer
            )
            return None
        return scrapy.Request(url, callback=callback, errback=self.on_error)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            request = self._request(url, self.parse_listing)
            if request is not None:
                yield request

    def on_error(self, failure) -> None:
        reason, detail = classify_failure(failure.value)
        request = failure.request
        referer = (request.headers.get("Referer") or b"").decode("latin-1")
        self.crawl.refuse(request.url, reason, detail, "page", referer)

    def _html(self, response: Response) -> TextResponse | None:
        if isinstance(response, TextResponse):
            return response
        kind = (response.headers.get("Content-Type") or b"").decode("latin-1") or "no type"
        self.crawl.refuse(response.url, "not_html", f"expected a web page, got {kind}", "page")
        return None

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        page = self._html(response)
        if page is None:
            return
        self.crawl.counts["listing_pages"] += 1
        for href in _texts(page, self.spec.listing.products):
            url = page.urljoin(href)
            if url in self.crawl.known_product_urls:
                self.crawl.counts["known_product_pages"] += 1
                continue
            request = self._request(url, self.parse_product, page.url)
            if request is not None:
                yield request
        for href in _texts(page, self.spec.listing.pages):
            request = self._request(page.urljoin(href), self.parse_listing, page.url)
            if request is not None:
                yield request

    def parse_product(self, response: Response) -> Iterator[ProductRecord]:
        page = self._html(response)
        if page is None:
            return
        self.crawl.counts["product_pages"] += 1
        spec = self.spec.product
        ids = _texts(page, spec.id)
        if not ids:
            self.crawl.refuse(
                page.url,
                "no_product_id",
                f"product.id selector {spec.id!r} found nothing; fix it in the site spec",
                "page",
            )
            return
        key = (self.spec.name, ids[0])
        if key in self.crawl.known_products or key in self._claimed:
            self.crawl.counts["known_products"] += 1  # the same product under another URL
            return
        self._claimed.add(key)
        label = (_texts(page, spec.category) or [""])[0]
        images = []
        seen: set[str] = set()
        flat = _texts(page, spec.flat_lay)[:1]
        on_model = _texts(page, spec.on_model)
        for role, hrefs in (("flat_lay", flat), ("on_model", on_model)):
            kept = 0
            for href in hrefs:
                url = page.urljoin(href)
                if url in seen or (role == "on_model" and kept >= spec.max_on_model):
                    continue
                seen.add(url)
                kept += 1
                image = ImageRecord(role=role, url=url)
                if not self.crawl.on_site(url):
                    image.status, image.reason = "refused", "offsite"
                    image.detail = "host not in the spec's allowed_domains"
                    self.crawl.refuse(url, "offsite", image.detail, "image", page.url)
                images.append(image)
        yield ProductRecord(
            site=self.spec.name,
            product_id=ids[0],
            url=page.url,
            fetched_at=utc_now(),
            title=(_texts(page, spec.title) or [""])[0],
            category=self.spec.category_of(label) if label else None,
            category_label=label,
            fields={name: _texts(page, sel) for name, sel in spec.fields.items()},
            images=images,
        )
