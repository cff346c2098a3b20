"""Item pipelines: fetch and check a product's images, then append the product record.

`ShopImagesPipeline` is scrapy's images pipeline with the spec's rules: each image is
stored at `images/AB/<sha256(url)>.jpg` (JPEGs byte for byte, other formats re-encoded at
the dataset's JPEG quality after EXIF orientation and colour conversion), only with an
allowed Content-Type, under the byte and pixel limits, at least the minimum size, and not a
duplicate of an image stored before. Every image a product names ends `stored`,
`duplicate` or `refused` with a reason in its record; nothing is dropped unseen.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from PIL import Image
from scrapy import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines import media
from scrapy.pipelines.images import ImagesPipeline

from scraper.crawl import Crawl, classify_failure
from scraper.dedupe import signature
from vton.fileio import atomic_write_bytes
from vton.formats.images import JPEG_QUALITY, ImageRejected, load_photo
from vton.formats.scraped_items import ImageRecord, ProductRecord, append_product, image_path

# Refusals are expected outcomes that the crawl summary records; scrapy logs this kind of
# media exception at DEBUG without a traceback (its own class for filtered requests).
if TYPE_CHECKING:
    _Quiet = media.FileException
else:
    _Quiet = getattr(media, "_MediaRequestFiltered", media.FileException)


class ImageRefused(_Quiet):
    """An image that is not stored: `reason` a short code, `detail` for a person.

    For `reason == "duplicate"`, `duplicate_of` is the URL of the image it repeats and
    `how` is `same_bytes` or `resized` (with the thumbnail `distance`).
    """

    def __init__(
        self,
        reason: str,
        detail: str,
        duplicate_of: str = "",
        how: str = "",
        distance: float = 0.0,
    ):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.duplicate_of = duplicate_of
        self.how = how
        self.distance = distance


def _content_type(raw: bytes | None) -> str:
    return (raw or b"").decode("latin-1").split(";")[0].strip().lower()


class ShopImagesPipeline(ImagesPipeline):
    """The images pipeline with the site spec's checks and the crawl's duplicate index."""

    def __init__(self, store_uri, *, crawler):
        super().__init__(store_uri, crawler=crawler)
        self.root = Path(store_uri)
        self._meta: dict[str, dict] = {}  # url -> what get_images measured, for the record

    @property
    def crawl(self) -> Crawl:
        return cast(Any, self.crawler.spider).crawl  # the ShopSpider of this crawl

    def get_media_requests(self, item: ProductRecord, info) -> list[Request]:
        limit = self.crawl.spec.images.max_bytes
        return [
            Request(
                image.url,
                callback=NO_CALLBACK,
                headers={"Referer": item.url},
                meta={"download_maxsize": limit},
            )
            for image in item.images
            if image.status == "pending"
        ]

    def file_path(self, request: Request, response=None, info=None, *, item=None) -> str:
        return image_path(request.url)

    def media_failed(self, failure, request: Request, info):
        if isinstance(failure.value, ImageRefused):  # raised by our own checks below
            raise failure.value
        reason, detail = classify_failure(failure.value)
        raise ImageRefused(reason, detail)

    async def media_downloaded(  # type: ignore[override]  # our record, not scrapy's FileInfo
        self, response, request: Request, info, *, item=None
    ) -> dict:
        if response.status != 200:
            raise ImageRefused(
                f"http_{response.status}", f"the server answered HTTP {response.status}"
            )
        if not response.body:
            raise ImageRefused("empty", "the server sent no bytes")
        status = "cached" if "cached" in response.flags else "downloaded"
        self.inc_stats(status)
        checksum = await self.image_downloaded(response, request, info, item=item)
        path = self.file_path(request, response=response, info=info, item=item)
        return {"url": request.url, "path": path, "checksum": checksum, "status": status}

    async def image_downloaded(self, response, request: Request, info, *, item=None) -> str:
        path, _, buf = next(iter(self.get_images(response, request, info, item=item)))
        data = buf.getvalue()
        atomic_write_bytes(self.root / path, data)  # a killed crawl leaves no half file
        return hashlib.sha256(data).hexdigest()

    def get_images(self, response, request: Request, info, *, item=None):
        """Check one downloaded image and yield (path, image, JPEG bytes) to store.

        Raises ImageRefused for a wrong Content-Type, too many bytes or pixels, too small,
        not an image or corrupt, and for a duplicate of an image already stored.
        """
        rules = self.crawl.spec.images
        url, body = request.url, response.body
        kind = _content_type(response.headers.get("Content-Type"))
        if kind not in rules.content_types:
            raise ImageRefused(
                "content_type",
                f"served as {kind or 'no Content-Type'}, not one of {list(rules.content_types)} "
                "(images.content_types in the site spec)",
            )
        if len(body) > rules.max_bytes:
            raise ImageRefused(
                "too_large", f"{len(body)} bytes, above images.max_bytes={rules.max_bytes}"
            )
        try:
            photo = load_photo(body, min_side=1, max_pixels=rules.max_pixels)
        except ImageRejected as exc:
            reason = "too_many_pixels" if exc.reason == "too_large" else exc.reason
            raise ImageRefused(reason, exc.detail.replace("<bytes>", url)) from None
        height, width = photo.rgb.shape[:2]
        if width < rules.min_width or height < rules.min_height:
            raise ImageRefused(
                "too_small",
                f"{width}x{height}, below images.min_width x min_height = "
                f"{rules.min_width}x{rules.min_height}",
            )
        sha = hashlib.sha256(body).hexdigest()
        sig = signature(photo.rgb)
        match = self.crawl.index.find(sha, sig, width, height)
        if match is not None:
            raise ImageRefused(
                "duplicate",
                f"{match.how.replace('_', ' ')} as {match.url}"
                + (f" (thumbnail distance {match.distance})" if match.distance else ""),
                duplicate_of=match.url,
                how=match.how,
                distance=match.distance,
            )
        self.crawl.index.add(url, sha, sig, width, height)
        with Image.open(io.BytesIO(body)) as original:
            keep = original.format == "JPEG" and original.mode == "RGB" and not photo.conversions
        image = Image.fromarray(photo.rgb)
        if keep:
            buf = io.BytesIO(body)
        else:
            buf = io.BytesIO()
            image.save(buf, format="JPEG", quality=JPEG_QUALITY)
        self._meta[url] = {
            "content_type": kind,
            "bytes": len(body),
            "width": width,
            "height": height,
            "sha256": sha,
            "signature": sig,
        }
        yield image_path(url), image, buf

    def _measure_stored(self, path: str) -> dict:
        """The record's measurements taken from the stored file, for an image an earlier
        crawl stored but was killed before it wrote the product (JPEG, as stored)."""
        data = (self.root / path).read_bytes()
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        return {
            "content_type": "image/jpeg",
            "bytes": len(data),
            "width": rgb.shape[1],
            "height": rgb.shape[0],
            "sha256": hashlib.sha256(data).hexdigest(),
            "signature": signature(rgb),
        }

    def item_completed(self, results: list, item: ProductRecord, info) -> ProductRecord:
        pending = [image for image in item.images if image.status == "pending"]
        for image, (ok, value) in zip(pending, results, strict=True):
            if ok:
                self._stored(item, image, value)
            else:
                self._not_stored(item, image, value.value)
        return item

    def _stored(self, item: ProductRecord, image: ImageRecord, info: dict[str, Any]) -> None:
        owner = self.crawl.image_owner.get(image.url)
        if owner is not None and owner[0] != item.key:
            image.status, image.reason = "duplicate", "duplicate"
            image.duplicate_of = image.url
            image.detail = f"the same URL is stored for product {owner[0][1]}"
            self.crawl.duplicate(image.url, image.url, "same_url", item.product_id)
            return
        meta = self._meta.pop(image.url, None)
        if meta is None:  # on disk from a killed crawl ("uptodate"): measure it now
            meta = self._measure_stored(info["path"])
            self.crawl.index.add(
                image.url, meta["sha256"], meta["signature"], meta["width"], meta["height"]
            )
        image.status, image.path = "stored", info["path"]
        for key, value in meta.items():
            setattr(image, key, value)
        self.crawl.image_owner.setdefault(image.url, (item.key, image))

    def _not_stored(self, item: ProductRecord, image: ImageRecord, exc: BaseException) -> None:
        if isinstance(exc, ImageRefused):
            reason, detail = exc.reason, exc.detail
        else:
            reason, detail = classify_failure(exc)
        if reason == "duplicate" and isinstance(exc, ImageRefused):
            image.status, image.reason, image.detail = "duplicate", reason, detail
            image.duplicate_of = exc.duplicate_of
            self.crawl.duplicate(
                image.url, exc.duplicate_of, exc.how, item.product_id, exc.distance
            )
            return
        image.status, image.reason, image.detail = "refused", reason, detail
        self.crawl.refuse(image.url, reason, detail, "image", item.url)


class ProductWriter:
    """Append each finished product to ROOT/items.jsonl (flushed line by line)."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item: ProductRecord) -> ProductRecord:
        crawl: Crawl = self.crawler.spider.crawl
        append_product(crawl.root, item)
        crawl.written(item)
        return item
