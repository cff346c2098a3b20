"""Garment photos that ingest padded to the dataset's aspect: the padding is never backdrop.

A product photo on a light-grey, coloured or gradient backdrop, with or without a soft
cast shadow, of another aspect than 3:4, goes through the folder source (which pads it
with white, as ingest does) and the `background` cloth mask reads where the padding is
from the catalog's `garment_fit`.
Before, the border held two colours (white padding, grey backdrop) and such photos were
rejected `no_backdrop`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from vton.annotate.base import AnnotationRejected, Item
from vton.annotate.cloth_mask import FIT_ATTRIBUTE, content_box
from vton.annotate.cloth_mask.background import BackgroundClothMask
from vton.config import FolderSource
from vton.formats.masks import read_mask
from vton.sources.folder import iter_samples
from vton.sources.sample import generate_sample

HEIGHT, WIDTH = 512, 384


def backdrops(height: int, width: int) -> dict[str, np.ndarray]:
    """(H, W, 3) float backdrops: plain grey, plain beige and a lighting gradient."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    grey = np.full((height, width, 3), 205.0, np.float32)
    gradient = (238 - 50 * ys / height - 12 * xs / width)[..., None] * np.ones(3, np.float32)
    return {
        "grey": grey,
        "beige": np.broadcast_to(np.array([226, 212, 190], np.float32), grey.shape).copy(),
        "gradient": gradient,
    }


def cast_shadow(alpha: np.ndarray, dark: float = 0.18, soft: float = 0.02) -> np.ndarray:
    """(H, W) float backdrop brightness under the garment's cast shadow: the garment's
    alpha moved down and right by 2 % of the photo's diagonal, blurred by `soft` x the
    diagonal, darkening by up to `dark`."""
    diag = float(np.hypot(*alpha.shape))
    shift = np.float32([[1, 0, 0.02 * diag], [0, 1, 0.02 * diag]])
    moved = cv2.warpAffine(alpha, shift, (alpha.shape[1], alpha.shape[0]))
    return 1 - dark * cv2.GaussianBlur(moved, (0, 0), soft * diag)


def product_photos(
    cloth: np.ndarray, mask: np.ndarray, widen: int, shadows: bool = True
) -> dict[str, np.ndarray]:
    """The garment composited on each backdrop, the canvas widened by `widen` px per side
    (so the photo is not 3:4 and ingest pads it); with `shadows`, also on the grey and the
    gradient backdrop under a soft cast shadow (1 % and 3 % blur)."""
    alpha = cv2.copyMakeBorder(mask.astype(np.float32), 0, 0, widen, widen, cv2.BORDER_CONSTANT)
    garment = cv2.copyMakeBorder(cloth, 0, 0, widen, widen, cv2.BORDER_CONSTANT).astype(np.float32)
    plain = backdrops(*alpha.shape)
    if shadows:
        plain["grey_shadow"] = plain["grey"] * cast_shadow(alpha, soft=0.01)[..., None]
        plain["gradient_shadow"] = plain["gradient"] * cast_shadow(alpha, soft=0.03)[..., None]
    out = {}
    for name, backdrop in plain.items():
        blend = garment * alpha[..., None] + backdrop * (1 - alpha[..., None])
        out[name] = np.clip(blend, 0, 255).astype(np.uint8)
    return out


def ingest(tmp_path: Path, photos: dict[str, np.ndarray], person: np.ndarray) -> dict:
    """Each photo through the folder source as a newcomer's folder: id -> Sample."""
    persons, garments = tmp_path / "persons", tmp_path / "garments"
    persons.mkdir(parents=True)
    garments.mkdir()
    for name, rgb in photos.items():
        Image.fromarray(person).save(persons / f"{name}.jpg", quality=95)
        Image.fromarray(rgb).save(garments / f"{name}.jpg", quality=95)
    cfg = FolderSource(persons=str(persons), garments=str(garments), test_fraction=0.0)
    samples = {s.provenance["garment"]: s for s in iter_samples(cfg, HEIGHT, WIDTH)}
    assert len(samples) == len(photos), samples  # no rejects at ingest
    return {Path(path).stem: sample for path, sample in samples.items()}


def annotate(sample, with_fit: bool = True):
    facts = {FIT_ATTRIBUTE: str(sample.provenance["garment_fit"])} if with_fit else {}
    item = Item(sample.id, sample.split, sample.cloth, Path("g.jpg"), {}, {}, facts)
    return BackgroundClothMask().annotate(item)


def expected(mask: np.ndarray, widen: int, fit: list[float]) -> np.ndarray:
    """The true mask carried through the same widening and fit."""
    scale, off_x, off_y = fit
    wide = cv2.copyMakeBorder(mask.astype(np.uint8), 0, 0, widen, widen, cv2.BORDER_CONSTANT)
    h, w = round(wide.shape[0] * scale), round(wide.shape[1] * scale)
    small = cv2.resize(wide * 255, (w, h), interpolation=cv2.INTER_AREA) >= 128
    out = np.zeros((HEIGHT, WIDTH), bool)
    out[int(off_y) : int(off_y) + h, int(off_x) : int(off_x) + w] = small
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def check(tmp_path: Path, cloth: np.ndarray, truth: np.ndarray, person: np.ndarray) -> dict:
    widen = cloth.shape[1] // 4  # 3:4 -> 3:3, padded top and bottom by ingest
    samples = ingest(tmp_path, product_photos(cloth, truth.astype(np.float32), widen), person)
    scores = {}
    for name, sample in samples.items():
        fit = sample.provenance["garment_fit"]
        assert fit[2] > 0, fit  # padded top and bottom
        result = annotate(sample)
        top, bottom, _, _ = result.provenance["photo_box"]
        assert not result.cloth_mask[:top].any() and not result.cloth_mask[bottom:].any()
        scores[name] = iou(result.cloth_mask, expected(truth, widen, fit))
    return scores


def test_padded_synthetic_garments_on_grey_coloured_and_gradient_backdrops(tmp_path):
    sample = generate_sample(5, 1024, 768)  # a navy top, its exact mask
    scores = check(tmp_path, sample.cloth, sample.cloth_mask, sample.person)
    print("\npadded synthetic garment IoU:", {k: round(v, 4) for k, v in scores.items()})
    assert all(v >= 0.95 for v in scores.values()), scores


@pytest.mark.golden
def test_padded_golden_garments_keep_their_masks(golden: Path, golden_ids: list[str], tmp_path):
    person = np.asarray(Image.open(golden / "test" / "image" / f"{golden_ids[0]}.jpg"))
    scores = {}
    for sample_id in golden_ids:
        cloth = np.asarray(
            Image.open(golden / "test" / "cloth" / f"{sample_id}.jpg").convert("RGB")
        )
        truth = read_mask(golden / "test" / "cloth-mask" / f"{sample_id}.jpg")
        for name, v in check(tmp_path / sample_id, cloth, truth, person).items():
            scores[f"{sample_id}/{name}"] = v
    print("\npadded golden garment IoU:", {k: round(v, 4) for k, v in scores.items()})
    assert all(v >= 0.95 for v in scores.values()), scores


def test_the_padding_was_what_rejected_them(tmp_path):
    """The same grey-backdrop photo without the catalog's fit: the white padding bands and
    the grey backdrop are two colours on one border."""
    sample = generate_sample(5, 1024, 768)
    photos = product_photos(sample.cloth, sample.cloth_mask.astype(np.float32), 192, False)
    padded = ingest(tmp_path, {"grey": photos["grey"]}, sample.person)["grey"]
    with pytest.raises(AnnotationRejected) as rejected:
        annotate(padded, with_fit=False)
    assert rejected.value.reason == "no_backdrop"
    assert annotate(padded).cloth_mask.any()


def test_a_padded_photo_without_a_separable_garment_is_still_rejected(tmp_path):
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (768, 1024, 3), dtype=np.uint8), (0, 0), 3)
    person = generate_sample(1, 512, 384).person
    padded = ingest(tmp_path, {"busy": texture}, person)["busy"]
    with pytest.raises(AnnotationRejected) as rejected:
        annotate(padded)
    assert rejected.value.reason in ("no_backdrop", "mask_fills_image", "empty_mask")


def test_content_box_of_a_fit():
    assert content_box({}, 512, 384) == (0, 512, 0, 384)
    assert content_box({FIT_ATTRIBUTE: "[0.5, 0, 64]"}, 512, 384) == (66, 512 - 67, 0, 384)
    assert content_box({FIT_ATTRIBUTE: "[1.0, 10, 0]"}, 512, 384) == (0, 512, 12, 384 - 13)
    with pytest.raises(ValueError, match="garment_fit"):
        content_box({FIT_ATTRIBUTE: "nonsense"}, 512, 384)
    with pytest.raises(ValueError, match="no photo"):
        content_box({FIT_ATTRIBUTE: "[1.0, 300, 0]"}, 512, 384)
