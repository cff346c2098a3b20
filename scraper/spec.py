"""Site specs: one YAML file per shop in `scraper/sites/`, read into frozen dataclasses.

A spec says where a crawl starts, which hosts it may touch, how to find product pages and
further listing pages, and on a product page where the product id, title, category, extra
fields and the flat-lay and on-model images are. Selectors are CSS with scrapy's
`::text` / `::attr(name)` pseudo-elements. Unknown or missing keys are errors that name
the key (the same typed loader as params.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from vton.config import ParamsError, build
from vton.formats.scraped_items import CATEGORIES

SITES_DIR = Path(__file__).resolve().parent / "sites"


class SpecError(ValueError):
    """A site spec that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Listing:
    """Listing pages: links to product pages, and to more listing pages (pagination)."""

    products: str  # selector of product page links, e.g. "a.product::attr(href)"
    pages: str = ""  # selector of further listing pages, e.g. "a.next::attr(href)"


@dataclass(frozen=True)
class Product:
    """Selectors on a product page."""

    id: str  # the product id (first match), e.g. "[data-sku]::attr(data-sku)"
    flat_lay: str  # the garment image URL (first match)
    on_model: str  # on-model photo URLs (every match, in page order)
    title: str = ""
    category: str = ""  # the site's category label, mapped through SiteSpec.categories
    fields: dict[str, str] = field(default_factory=dict)  # name -> selector (colour, sizes)
    max_on_model: int = 4  # keep at most this many on-model photos per product


@dataclass(frozen=True)
class Images:
    """What an image must be to be stored."""

    content_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")
    max_bytes: int = 10_000_000  # larger downloads are cancelled
    max_pixels: int = 40_000_000
    min_width: int = 192
    min_height: int = 256
    # Mean absolute difference (0-255) of 8x8 RGB thumbnails below which two images of the
    # same aspect are one picture at two sizes; 0 keeps only the same-bytes check.
    duplicate_distance: float = 6.0


@dataclass(frozen=True)
class Politeness:
    """Crawl speed. robots.txt is always obeyed and AutoThrottle always on."""

    download_delay: float = 1.0  # seconds between requests to one host, at least
    concurrency_per_domain: int = 2
    start_delay: float = 2.0  # AutoThrottle's first delay; it adapts from there
    max_delay: float = 30.0
    target_concurrency: float = 1.0  # AutoThrottle's average parallel requests per host
    timeout: float = 30.0


@dataclass(frozen=True)
class SiteSpec:
    name: str  # written into every product record (`site`)
    user_agent: str  # identifies the crawler and says how to reach its operator
    start_urls: tuple[str, ...]  # listing pages the crawl starts from
    allowed_domains: tuple[str, ...]  # hosts (and their subdomains) it may request
    listing: Listing
    product: Product
    # top / bottom / dress -> the site's labels for it (compared case-insensitively)
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    images: Images = field(default_factory=Images)
    politeness: Politeness = field(default_factory=Politeness)
    max_products: int = 0  # stop after this many new products (0: no limit)

    def category_of(self, label: str) -> str | None:
        """The category (`top`, `bottom`, `dress`) the site's `label` maps to, or None."""
        wanted = label.strip().casefold()
        for category, labels in self.categories.items():
            if wanted in (x.casefold() for x in labels):
                return category
        return None


def _check(spec: SiteSpec) -> SiteSpec:
    if not spec.name or not spec.name.replace("-", "").replace("_", "").isalnum():
        raise ParamsError(f"name must be letters, digits, '-' or '_', got {spec.name!r}")
    if not spec.user_agent.strip():
        raise ParamsError("user_agent is empty: say who crawls and how to reach them")
    if not spec.start_urls:
        raise ParamsError("start_urls is empty: give at least one listing page")
    if not spec.allowed_domains:
        raise ParamsError("allowed_domains is empty: list the hosts the crawl may request")
    for url in spec.start_urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ParamsError(f"start_urls: {url!r} is not an http(s) URL")
    for domain in spec.allowed_domains:
        if "/" in domain or ":" in domain:
            raise ParamsError(
                f"allowed_domains: {domain!r} must be a host name only (no scheme, port, path)"
            )
    unknown = sorted(set(spec.categories) - set(CATEGORIES))
    if unknown:
        raise ParamsError(f"categories: {unknown} are not among {list(CATEGORIES)}")
    if spec.product.max_on_model < 1:
        raise ParamsError("product.max_on_model must be at least 1")
    if spec.politeness.concurrency_per_domain < 1:
        raise ParamsError("politeness.concurrency_per_domain must be at least 1")
    if spec.politeness.download_delay < 0 or spec.politeness.start_delay < 0:
        raise ParamsError("politeness delays must be >= 0")
    return spec


def parse_spec(raw: dict | None, where: str = "site spec") -> SiteSpec:
    """Build a `SiteSpec` from a parsed YAML mapping; SpecError names `where` and the key."""
    try:
        return _check(build(SiteSpec, raw))
    except ParamsError as exc:
        raise SpecError(f"{where}: {exc}") from None


def spec_path(site: str | Path) -> Path:
    """The spec file `site` names: a path to a YAML file, or a name in `scraper/sites/`."""
    path = Path(site)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise FileNotFoundError(f"site spec {path} does not exist")
        return path
    candidate = SITES_DIR / f"{site}.yaml"
    if not candidate.is_file():
        known = ", ".join(sorted(p.stem for p in SITES_DIR.glob("*.yaml"))) or "none"
        raise FileNotFoundError(
            f"no site spec {site!r}: give a path to a YAML file or one of the specs in "
            f"{SITES_DIR} ({known})"
        )
    return candidate


def load_spec(site: str | Path) -> SiteSpec:
    """Read and check the spec `site` names (see `spec_path`)."""
    path = spec_path(site)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None
    return parse_spec(raw, str(path))
