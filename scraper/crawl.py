"""What one crawl knows and tells: the state from earlier crawls, and its own tally.

The state is read from ROOT/items.jsonl (see `vton.formats.scraped_items`): products and product
pages already recorded are not fetched again, and images already stored are what new ones
are checked against for duplicates. The tally counts pages, products, stored, duplicate
and refused images, every refusal with its reason, and becomes ROOT/crawl.json.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from scraper.dedupe import DuplicateIndex
from scraper.spec import SiteSpec
from vton.formats.scraped_items import ImageRecord, ProductRecord, read_products


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def host_allowed(url: str, domains: tuple[str, ...] | list[str]) -> bool:
    """True when `url`'s host is one of `domains` or a subdomain of one (scrapy's rule)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


def classify_failure(exc: BaseException) -> tuple[str, str]:
    """A short reason code and a detail for a request that got no usable response."""
    from scrapy.exceptions import (
        CannotResolveHostError,
        DownloadCancelledError,
        DownloadConnectionRefusedError,
        DownloadTimeoutError,
        IgnoreRequest,
    )
    from scrapy.spidermiddlewares.httperror import HttpError

    text = str(exc) or type(exc).__name__
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}", f"the server answered HTTP {exc.response.status}"
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in text:
            return "robots", "forbidden by the site's robots.txt"
        if "offsite" in text:
            return "offsite", f"{text}: not in the spec's allowed_domains"
        return "ignored", text
    if isinstance(exc, DownloadCancelledError) or "max size" in text:
        return "too_large", text
    if isinstance(exc, DownloadTimeoutError | TimeoutError):
        return "timeout", text
    if isinstance(exc, DownloadConnectionRefusedError | CannotResolveHostError | ConnectionError):
        return "network", text
    return "error", f"{type(exc).__name__}: {text}"


class Crawl:
    """State from earlier crawls of ROOT plus the tally of this one."""

    def __init__(self, root: Path, spec: SiteSpec):
        self.root = Path(root)
        self.spec = spec
        self.started_at = utc_now()
        self._t0 = time.perf_counter()
        earlier = read_products(self.root)
        self.products_before = len(earlier)
        self.known_products: set[tuple[str, str]] = {p.key for p in earlier}
        self.known_product_urls: set[str] = {p.url for p in earlier}
        # image URL -> (product key, record) for every image stored so far
        self.image_owner: dict[str, tuple[tuple[str, str], ImageRecord]] = {}
        self.index = DuplicateIndex(spec.images.duplicate_distance)
        for product in earlier:
            for image in product.images:
                if image.status == "stored":
                    self.claim_image(product.key, image)
        self.counts: Counter[str] = Counter()
        self.refusals: list[dict] = []
        self.duplicates: list[dict] = []

    def on_site(self, url: str) -> bool:
        return host_allowed(url, self.spec.allowed_domains)

    def claim_image(self, key: tuple[str, str], image: ImageRecord) -> None:
        self.image_owner.setdefault(image.url, (key, image))
        if image.sha256:
            self.index.add(image.url, image.sha256, image.signature, image.width, image.height)

    def refuse(self, url: str, reason: str, detail: str, what: str, referer: str = "") -> None:
        """Record a page or image (`what`) that was not fetched or not kept."""
        self.counts[f"refused_{reason}"] += 1
        self.counts[f"{what}s_refused"] += 1
        self.refusals.append(
            {"url": url, "what": what, "reason": reason, "detail": detail, "referer": referer}
        )

    def duplicate(self, url: str, of: str, how: str, product: str, distance: float = 0.0):
        self.counts["images_duplicate"] += 1
        self.counts[f"duplicate_{how}"] += 1
        self.duplicates.append(
            {"url": url, "duplicate_of": of, "how": how, "distance": distance, "product": product}
        )

    def written(self, product: ProductRecord) -> None:
        self.counts["new_products"] += 1
        for image in product.images:
            if image.status == "stored":
                self.counts["images_stored"] += 1

    def summary(self, stats: dict, finish_reason: str) -> dict:
        """The crawl summary: flat counts first, then every refusal and duplicate."""
        counts = dict(sorted(self.counts.items()))
        refused = {k: v for k, v in counts.items() if k.startswith("refused_")}
        return {
            "site": self.spec.name,
            "started_at": self.started_at,
            "finished_at": utc_now(),
            "seconds": round(time.perf_counter() - self._t0, 3),
            "finish_reason": finish_reason,
            "requests": stats.get("downloader/request_count", 0),
            "fetched": stats.get("downloader/response_count", 0),
            "robotstxt_forbidden": stats.get("robotstxt/forbidden", 0),
            "products_before": self.products_before,
            "products_after": self.products_before + counts.get("new_products", 0),
            "new_products": counts.get("new_products", 0),
            "listing_pages": counts.get("listing_pages", 0),
            "product_pages": counts.get("product_pages", 0),
            "known_product_pages": counts.get("known_product_pages", 0),
            "known_products": counts.get("known_products", 0),
            "images_stored": counts.get("images_stored", 0),
            "images_duplicate": counts.get("images_duplicate", 0),
            "images_refused": counts.get("images_refused", 0),
            "pages_refused": counts.get("pages_refused", 0),
            "refused": sum(refused.values()),
            **refused,
            **{k: v for k, v in counts.items() if k.startswith("duplicate_")},
            "refusals": self.refusals,
            "duplicates": self.duplicates,
        }
