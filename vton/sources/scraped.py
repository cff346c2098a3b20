"""The scraper's output folder (`vton scrape SITE --out ROOT`) as person/garment pairs.

Each product of ROOT/items.jsonl gives one sample per usable on-model photo (the person),
all with the product's flat-lay image (the cloth): ids `SITE-PRODUCT_00`, `_01`, ... in
the VITON-HD style. Everything else is a counted reject with a reason:

- `category`: the product's category is not in `data.scraped.categories` (or unmapped);
- `crawl_<reason>`: the image was not stored by the crawl (`crawl_http_404`,
  `crawl_content_type`, `crawl_too_large`, `crawl_duplicate`, ...), or the page had none
  (`crawl_no_flat_lay`, `crawl_no_on_model`);
- `not_an_image`, `corrupt`, `too_small`, ...: the stored file failed `load_photo`;
- with `person_check`, MediaPipe Pose (the model bundled with mediapipe) classifies the
  photos: `person_in_flat_lay` (the flat-lay shows someone: the spec's flat_lay selector
  probably picks an on-model photo), `flat_lay_as_person` (no person on an on-model photo
  shot on a plain backdrop: a product shot where the person should be), `no_person` (no
  person on another photo: a detail crop, a swatch), `partial_person` (shoulders or hips
  not seen: a portrait or a close-up, no torso to dress) and `multiple_people`.

Provenance in the catalog: site, product id and page URL, both image URLs and stored
paths, title, category, the spec's extra fields, fetch time, and the photo conversions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vton.annotate.mediapipe_models import MpLandmark
from vton.config import PoseParams, ScrapedSource
from vton.formats.images import ImageRejected, Photo, fit_to, load_photo
from vton.formats.scraped_items import ITEMS, ImageRecord, ProductRecord, read_products
from vton.layout import sample_id
from vton.records import Reject, Sample
from vton.sources.folder import split_of

NAME = "scraped"

PLAIN_BORDER_STD = 10.0
"""Largest per-channel standard deviation (0-255) of the border pixels of a photo still
called a plain backdrop. Measured on the synthetic generator: its flat-lays are at most
7.2, its people (figure reaching the border, floors, gradients) 26 and more."""


def plain_backdrop(rgb: np.ndarray, border: float = 0.02) -> bool:
    """True when the outer `border` (fraction of the short side) of (H, W, 3) uint8 `rgb`
    is one flat colour, as in a product shot."""
    b = max(2, round(border * min(rgb.shape[:2])))
    sides = (rgb[:b], rgb[-b:], rgb[:, :b], rgb[:, -b:])
    ring = np.concatenate([side.reshape(-1, 3) for side in sides]).astype(np.float32)
    return bool(ring.std(axis=0).max() <= PLAIN_BORDER_STD)


TORSO = (
    MpLandmark.LEFT_SHOULDER,
    MpLandmark.RIGHT_SHOULDER,
    MpLandmark.LEFT_HIP,
    MpLandmark.RIGHT_HIP,
)
TORSO_VISIBILITY = 0.3
"""A torso point seen less surely than this is missing: a photo kept here has its shoulders
and hips in view (the pose stage, whose default cut-off is lower, then finds them too)."""


def torso_visible(landmarks: np.ndarray, height: int, width: int) -> bool:
    """True when both shoulders and both hips of (33, 4) MediaPipe landmarks (x, y in
    pixels, z, visibility) are inside the (height, width) photo and seen surely enough."""
    pts = landmarks[list(TORSO)]
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < width) & (pts[:, 1] >= 0) & (pts[:, 1] < height)
    return bool((inside & (pts[:, 3] >= TORSO_VISIBILITY)).all())


class PersonCheck:
    """MediaPipe Pose over whole photos: one person with a torso? (loaded once)."""

    def __init__(self) -> None:
        from vton.annotate.pose import MediaPipePose

        self._pose = MediaPipePose("pose", PoseParams())

    def classify(self, rgb: np.ndarray, what: str) -> tuple[str, int]:
        """("", people seen) for a photo of one person with shoulders and hips in view,
        else (`no_person`, `multiple_people` or `partial_person`, people seen)."""
        from vton.annotate.base import AnnotationRejected

        try:
            landmarks, people, _ = self._pose.find_person(rgb, what)
        except AnnotationRejected as exc:
            return exc.reason, (0 if exc.reason == "no_person" else 2)
        if not torso_visible(landmarks, *rgb.shape[:2]):
            return "partial_person", people
        return "", people

    def close(self) -> None:
        self._pose.close()


def _root(cfg: ScrapedSource, base: Path | None) -> Path:
    if not cfg.root:
        raise ValueError(
            "data.scraped.root is empty: set it to the folder `vton scrape SITE --out` wrote"
        )
    root = Path(cfg.root)
    if not root.is_absolute() and base is not None:
        root = base / root
    if not (root / ITEMS).is_file():
        raise FileNotFoundError(
            f"data.scraped.root {root} has no {ITEMS}: run `vton scrape SITE --out {root}` first"
        )
    return root


def _crawl_reject(sid: str, image: ImageRecord, role: str) -> Reject:
    how = image.detail or image.reason
    return Reject(
        sid,
        image.url,
        f"crawl_{image.reason or image.status}",
        f"the {role} image was not stored by the crawl: {how}",
        NAME,
    )


def _load(root: Path, image: ImageRecord, cfg: ScrapedSource) -> Photo:
    if image.path is None:
        raise ValueError(
            f"{root / ITEMS}: image {image.url} is `stored` without a path; the record is "
            "damaged: delete the product's line and crawl it again"
        )
    return load_photo(
        root / image.path, min_side=cfg.min_side, max_pixels=cfg.max_pixels, convert=cfg.convert
    )


def _provenance(product: ProductRecord, flat: ImageRecord, person: ImageRecord) -> dict:
    return {
        "site": product.site,
        "product_id": product.product_id,
        "product_url": product.url,
        "title": product.title,
        "category": product.category,
        "category_label": product.category_label,
        "fields": product.fields,
        "fetched_at": product.fetched_at,
        "person_url": person.url,
        "person_path": person.path,
        "cloth_url": flat.url,
        "cloth_path": flat.path,
    }


def _garment(
    product: ProductRecord, key: str, root: Path, cfg: ScrapedSource, check: PersonCheck | None
) -> tuple[ImageRecord, Photo] | Reject:
    """The product's flat-lay record and photo, or the reject that ends the product."""
    if product.category not in cfg.categories:
        shown = product.category or f"{product.category_label!r} (mapped to none by the spec)"
        return Reject(
            key,
            product.url,
            "category",
            f"category {shown} is not in data.scraped.categories {list(cfg.categories)}; "
            "map the site's label in the spec's categories, or widen the param",
            NAME,
        )
    flats, persons = product.images_of("flat_lay"), product.images_of("on_model")
    if not flats or not persons:
        missing = "flat_lay" if not flats else "on_model"
        return Reject(
            key,
            product.url,
            f"crawl_no_{missing}",
            f"the product page had no {missing} image; check the spec's product.{missing}",
            NAME,
        )
    flat = flats[0]
    if flat.status != "stored":
        return _crawl_reject(key, flat, "flat-lay")
    try:
        cloth = _load(root, flat, cfg)
    except ImageRejected as exc:
        return Reject(key, flat.url, exc.reason, f"flat-lay image: {exc.detail}", NAME)
    if check is not None:
        why, _ = check.classify(cloth.rgb, f"flat-lay {flat.url}")
        if why != "no_person":
            return Reject(
                key,
                flat.url,
                "person_in_flat_lay",
                f"MediaPipe Pose finds a person on the flat-lay image {flat.url}; the spec's "
                "product.flat_lay selector probably picks an on-model photo",
                NAME,
            )
    return flat, cloth


def _person(
    sid: str, image: ImageRecord, root: Path, cfg: ScrapedSource, check: PersonCheck | None
) -> tuple[Photo, int] | Reject:
    """One on-model photo and the people seen on it (1 unchecked), or its reject."""
    if image.status != "stored":
        return _crawl_reject(sid, image, "on-model")
    try:
        person = _load(root, image, cfg)
    except ImageRejected as exc:
        return Reject(sid, image.url, exc.reason, f"on-model photo: {exc.detail}", NAME)
    if check is None:
        return person, 1
    why, people = check.classify(person.rgb, f"on-model photo {image.url}")
    if why == "no_person":
        plain = plain_backdrop(person.rgb)
        return Reject(
            sid,
            image.url,
            "flat_lay_as_person" if plain else "no_person",
            "MediaPipe Pose finds no person on this on-model photo"
            + (" (a product shot on a plain backdrop)" if plain else "")
            + "; if most photos of the site do this, fix the spec's product.on_model",
            NAME,
        )
    if why:
        detail = {
            "multiple_people": "several people on the on-model photo; crop it to one",
            "partial_person": "MediaPipe Pose does not see both shoulders and both "
            f"hips (visibility >= {TORSO_VISIBILITY}): a portrait or close-up, with "
            "no torso to dress",
        }[why]
        return Reject(sid, image.url, why, detail, NAME)
    return person, people


def _product_samples(
    product: ProductRecord,
    root: Path,
    cfg: ScrapedSource,
    height: int,
    width: int,
    check: PersonCheck | None,
) -> Iterator[Sample | Reject]:
    key = sample_id(f"{product.site}-{product.product_id}")
    split = split_of(key, cfg.test_fraction)
    garment = _garment(product, key, root, cfg, check)
    if isinstance(garment, Reject):
        yield garment
        return
    flat, cloth = garment
    cloth_rgb, cloth_fit = fit_to(cloth.rgb, height, width)
    for k, image in enumerate(product.images_of("on_model")):
        sid = f"{key}_{k:02d}"
        seen = _person(sid, image, root, cfg, check)
        if isinstance(seen, Reject):
            yield seen
            continue
        person, people = seen
        person_rgb, person_fit = fit_to(person.rgb, height, width)
        yield Sample(
            id=sid,
            split=split,
            person=person_rgb,
            cloth=cloth_rgb,
            source=NAME,
            origin=image.url,
            provenance={
                **_provenance(product, flat, image),
                "people": people,
                "person_mode": person.source_mode,
                "garment_mode": cloth.source_mode,
                "conversions": person.conversions + cloth.conversions,
                "person_fit": [round(v, 6) for v in person_fit],
                "garment_fit": [round(v, 6) for v in cloth_fit],
            },
        )


def iter_samples(
    cfg: ScrapedSource, height: int, width: int, base: Path | None = None
) -> Iterator[Sample | Reject]:
    """Yield a sample per usable on-model photo and a reject for everything else."""
    root = _root(cfg, base)
    products = read_products(root)
    check = PersonCheck() if cfg.person_check else None
    seen: set[str] = set()
    try:
        for product in products:
            key = sample_id(f"{product.site}-{product.product_id}")
            if key in seen:
                yield Reject(
                    key,
                    product.url,
                    "duplicate_id",
                    f"product {product.product_id} of {product.site} maps to id {key!r} "
                    "which another product already uses",
                    NAME,
                )
                continue
            seen.add(key)
            yield from _product_samples(product, root, cfg, height, width, check)
    finally:
        if check is not None:
            check.close()
