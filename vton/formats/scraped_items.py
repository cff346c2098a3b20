"""The scraper's output folder: product records, downloaded images, the crawl summary.

```
ROOT/items.jsonl                   one product per line, appended as a crawl finds them
ROOT/images/AB/<sha256(url)>.jpg   each image under the digest of its URL (AB: first 2 hex)
ROOT/crawl.json                    the summary of the latest crawl
```

`items.jsonl` is also the crawl state: a product (site, product id) or product page URL
already there is not fetched again, and its stored images are what new ones are compared
with for duplicates. A product line records every image its page named, stored or not,
with the reason when not, so nothing a crawl saw is lost.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from vton.fileio import atomic_write_bytes

ITEMS = "items.jsonl"
IMAGES = "images"
CRAWL = "crawl.json"

ROLES = ("flat_lay", "on_model")
"""flat_lay: the garment alone (the dataset's `cloth`); on_model: a person wearing it."""
CATEGORIES = ("top", "bottom", "dress")
STATUSES = ("pending", "stored", "duplicate", "refused")


@dataclass
class ImageRecord:
    """One image a product page names, and what the crawl did with it.

    status: `pending` (not yet fetched), `stored` (at `path`, relative to ROOT),
    `duplicate` (same bytes or the same picture at another size as `duplicate_of`, a URL;
    not stored again) or `refused` (`reason` a short code such as `http_404`,
    `content_type`, `too_large`, `robots`, `offsite`; `detail` for a person to read).
    signature: base64 of an 8x8 RGB thumbnail, what near duplicates are compared by.
    """

    role: str
    url: str
    status: str = "pending"
    path: str | None = None
    reason: str = ""
    detail: str = ""
    duplicate_of: str | None = None
    content_type: str = ""
    bytes: int = 0
    width: int = 0
    height: int = 0
    sha256: str = ""
    signature: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"image role must be one of {ROLES}, got {self.role!r}")
        if self.status not in STATUSES:
            raise ValueError(f"image status must be one of {STATUSES}, got {self.status!r}")


@dataclass
class ProductRecord:
    """One product page: ids, URLs, metadata, its images and when it was fetched.

    category: `top`, `bottom` or `dress` as the site spec maps `category_label` (the site's
    own words), None when the spec maps that label to nothing. fields: the spec's extra
    fields (colour, sizes, ...), each the list of strings its selector found.
    fetched_at: ISO 8601 UTC.
    """

    site: str
    product_id: str
    url: str
    fetched_at: str
    title: str = ""
    category: str | None = None
    category_label: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)
    images: list[ImageRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.category is not None and self.category not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES} or null, got {self.category!r}")

    @property
    def key(self) -> tuple[str, str]:
        return self.site, self.product_id

    def images_of(self, role: str) -> list[ImageRecord]:
        return [image for image in self.images if image.role == role]


def image_path(url: str) -> str:
    """Where the image at `url` is stored, relative to ROOT."""
    digest = hashlib.sha256(url.encode()).hexdigest()
    return f"{IMAGES}/{digest[:2]}/{digest}.jpg"


def to_json(record: ProductRecord) -> str:
    return json.dumps(dataclasses.asdict(record), sort_keys=True, ensure_ascii=False)


def _record(cls: type, raw: object, where: str):
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a JSON object, got {raw!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; known: {sorted(names)}")
    try:
        return cls(**raw)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from None


def from_json(line: str, where: str = "product") -> ProductRecord:
    """Parse one `items.jsonl` line; ValueError names `where` and the problem."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a JSON object, got {raw!r}")
    images = raw.get("images", [])
    if not isinstance(images, list):
        raise ValueError(f"{where}: images must be a list, got {images!r}")
    raw = {
        **raw,
        "images": [_record(ImageRecord, im, f"{where} image {k}") for k, im in enumerate(images)],
    }
    return _record(ProductRecord, raw, where)


def read_products(root: str | Path) -> list[ProductRecord]:
    """Every product of ROOT/items.jsonl in file order ([] when there is none yet)."""
    path = Path(root) / ITEMS
    if not path.exists():
        return []
    products = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                products.append(from_json(line, f"{path}:{number}"))
    return products


def append_product(root: str | Path, record: ProductRecord) -> None:
    """Append one product line and flush it to disk, so a killed crawl keeps what it got."""
    path = Path(root) / ITEMS
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(to_json(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def write_crawl_summary(root: str | Path, summary: dict) -> None:
    data = json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    atomic_write_bytes(Path(root) / CRAWL, data.encode())


def read_crawl_summary(root: str | Path) -> dict:
    return json.loads((Path(root) / CRAWL).read_text())
