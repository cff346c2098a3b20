"""The one spider: walks listing pages, reads product pages as its site spec says.

Every link is checked against the spec's allowed domains before a request is made (the
offsite middleware stays on behind it), product pages already in the state are not
fetched again, and every page that fails is a counted refusal with its reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import scrapy
from scrapy import signals
from scrapy.http import Response, TextResponse

from scraper.crawl import Crawl, classify_failure, utc_now
from vton.formats.scraped import ImageRecord, ProductRecord


def _texts(response: TextResponse, selector: str) -> list[str]:
    """Every non-empty stripped string `selector` finds ([] for an empty selector)."""
    if not selector:
        return []
    return [t.strip() for t in response.css(selector).getall() if t and t.strip()]


class ShopSpider(scrapy.Spider):
    """Crawl one shop as `spec` describes; `crawl` holds the state and the tally."""

    name = "shop"

    def __init__(self, crawl: Crawl, start_urls: list[str] | None = None, **kwargs):
        super().__init__(name=f"shop-{crawl.spec.name}", **kwargs)
        self.crawl = crawl
        self.spec = crawl.spec
        self.allowed_domains = list(self.spec.allowed_domains)
        self.start_urls = list(start_urls or self.spec.start_urls)
        self._claimed: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_scheduled, signal=signals.request_scheduled)
        return spider

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
        kind = response.headers.get("Content-Type", b"").decode("latin-1") or "no type"
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
