"""The `background` cloth-mask backend: classical segmentation of a product photo on a
plain backdrop, without weights.

The input is the garment photo (`cloth/ID.jpg`): one garment, laid flat or on an
invisible mannequin, in front of a plain backdrop, as VITON-HD's are.

1. Backdrop: a smooth colour model fitted to the image's border band (`border`, a fraction
   of the shorter side): per channel a quadratic in x, y (so a gentle gradient or vignette
   is part of the backdrop), fitted by least squares and refitted on the inliers, so a
   garment that runs into the border does not pull it. The inliers' spread is the noise.
   A border that is not a plain backdrop (too few inliers, too much spread) is rejected
   `no_backdrop`: a busy photo is not guessed at.
2. Garment evidence: the colour distance D from the backdrop model, on the image blurred by
   ~1 px (JPEG ringing and noise average out, a real offset does not). A pixel is garment
   where D exceeds the largest of
   - the tolerance: `tolerance`, or automatically max(3, 4.5 x the backdrop noise) levels;
   - half the contrast within ~2 px: so the outline sits where an anti-aliased edge is
     half garment, half backdrop (not on the faint halo outside it);
   - 6 % of the contrast within ~10 px: the JPEG ringing and retouching glow beside a
     strong edge stay backdrop, while a white garment on a white backdrop (contrast of a
     few levels, nothing strong nearby) is still found.
3. Shape: a closing with radius `smooth` x the image diagonal (at least 2 px), then
   holes are filled (a white print or the inner back of the collar enclosed by the
   garment is garment, as in VITON-HD's masks; a neck opening that is open to the backdrop
   stays backdrop), and the largest component is kept.
4. Shadows: a cast shadow is a darker copy of the backdrop colour with a soft edge. Mask
   pixels of that kind (same chromaticity, 45-100 % of the backdrop's brightness, gradient
   under 0.1 x their distance from the backdrop per pixel of a 1024x768 image, the same
   per fraction of the diagonal at any size) are grouped into connected parts; a part
   that touches the outside of the mask, is at most a quarter of the mask (a larger one
   may be a pale garment) and is as smooth as the backdrop (fabric has texture: a ribbed
   white collar stays) is peeled off, together with the steeper rim (a few px) where it
   meets the garment. A larger part (up to 60 % of the mask: a wide, very soft shadow) is
   peeled too when it fades into the backdrop: along its outer edge its distance from the
   backdrop is at most 1.5 x the tolerance, where a garment's outline sits at half its
   contrast (measured: shadows 1.05-1.25 x, blurred by 1-3 % of the diagonal).

The mask must cover 2-95 % of the image and may run into at most a third of the image
border, otherwise the photo is rejected (`empty_mask`, `mask_fills_image`, `no_backdrop`).

Agreement with VITON-HD's shipped masks on the five golden garments (IoU, printed by
tests/test_annotate_cloth_mask.py): 0.995, 0.991, 0.996, 0.994, 0.994; synthetic garments
(`vton.sources.sample`) 0.996-1.0 at 256x192 and 1024x768; ~0.11 s a 1024x768 image on
one CPU core. Known limits:
- a white garment part with no contrast at all against the backdrop is cut along what is
  visible (a whitened copy of golden 00008 loses its white collar: IoU 0.947);
- only soft shadows are peeled (blur of about 1 % of the image diagonal or more; the
  golden garments under an 18 % shadow blurred 1-3 %, on grey or a gradient, padded by
  ingest: IoU 0.988-0.995, tests/test_cloth_mask_padding.py); a sharper shadow, or one
  that merges into a pale grey garment without a visible edge, stays in the mask; a
  garment paler than about 1.5 x the tolerance (5 levels) with a blurred outline could
  be taken for a shadow;
- hangers and textured backdrops have no model here: a hanger is part of the garment
  mask, a textured backdrop is `no_backdrop` (use `rembg`);
- of two separate pieces only the larger is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vton.annotate.base import AnnotationRejected, Item, make_fingerprint, outputs_of
from vton.annotate.cloth_mask import MAX_AREA, MIN_AREA, content_box
from vton.annotate.parse.regions import fill_holes
from vton.checks import check_rgb
from vton.records import Sample


@dataclass(frozen=True)
class Tuning:
    """Fixed numbers of the `background` method (measured on the golden garments and on
    whitened, shaded and shadowed variants of them). Radii are fractions of the image
    diagonal; levels are 0..255 colour distances."""

    min_side: int = 16  # smaller images are rejected
    min_inliers: float = 0.6  # share of the border band that must fit the backdrop model
    max_noise: float = 10.0  # per-channel robust sd of the border around the model (levels)
    tolerance_floor: float = 3.0  # automatic tolerance: max(floor, noise_factor x noise)
    noise_factor: float = 4.5
    blur: float = 0.0008  # Gaussian sigma of the blur before measuring distances
    edge_radius: float = 0.0015  # window of the half-contrast rule
    edge_share: float = 0.5
    halo_radius: float = 0.008  # window of the halo rule
    halo_share: float = 0.06
    shadow_softness: float = 128.0  # shadow: gradient (levels per image diagonal) < this x
    # its distance D (0.1 levels/px at 1024x768: the same shadow at any resolution)
    shadow_min_gain: float = 0.45  # shadow: at least this share of the backdrop brightness
    shadow_chroma: float = 4.0  # shadow: colour off the scaled backdrop colour (levels)
    shadow_max_part: float = 0.25  # a larger "shadow" part (share of the mask) stays ...
    shadow_fade: float = 1.5  # ... unless it fades out: distance on its outer edge <= this
    shadow_max_faded: float = 0.6  # x the tolerance; such a part may be this share of the mask
    gradient_blur: float = 0.0012  # Gaussian sigma before the gradient of the shadow test
    shadow_rim: float = 0.003  # peeled shadows grow this far over shadow-coloured pixels
    texture_blur: float = 0.0016  # texture: |luma - luma blurred by this much|
    shadow_texture: float = 2.0  # a shadow's median texture: at most this x the backdrop's
    shadow_texture_floor: float = 0.3  # ... or this many levels
    min_area: float = MIN_AREA  # mask area as a share of the image
    max_area: float = MAX_AREA
    max_border_touch: float = 0.34  # share of the border band the mask may cover


TUNING = Tuning()


@dataclass
class Backdrop:
    """The backdrop colour model fitted to the border band.

    coef: (6, 3) float64, per channel coefficients of 1, x, y, x^2, xy, y^2 with x, y in
    [-1, 1] across the image; noise: robust per-channel sd of the inliers (levels);
    inliers: share of the border band the model explains; colour: the median border colour.
    """

    coef: np.ndarray
    noise: float
    inliers: float
    colour: tuple[int, int, int]

    def render(self, height: int, width: int) -> np.ndarray:
        """The backdrop model as an (H, W, 3) float32 image."""
        x = _basis(np.zeros(width), np.arange(width), height, width)[:, 1][None, :, None]
        y = _basis(np.arange(height), np.zeros(height), height, width)[:, 2][:, None, None]
        c = self.coef.astype(np.float32)
        return c[0] + c[1] * x + c[3] * x * x + y * (c[2] + c[4] * x + c[5] * y)


@dataclass
class ClothMaskResult:
    """mask: (H, W) bool garment; the rest describes how it was found (provenance)."""

    mask: np.ndarray
    backdrop: Backdrop
    tolerance: float
    shadow: float  # share of the first mask peeled off as shadow
    touches_border: float  # share of the border band under the mask

    def provenance(self) -> dict:
        return {
            "backdrop_rgb": list(self.backdrop.colour),
            "backdrop_noise": round(self.backdrop.noise, 2),
            "tolerance": round(self.tolerance, 2),
            "area": round(float(self.mask.mean()), 4),
            "shadow_removed": round(self.shadow, 4),
            "touches_border": round(self.touches_border, 4),
        }


def _band(height: int, width: int, width_px: int) -> np.ndarray:
    band = np.zeros((height, width), bool)
    band[:width_px] = band[-width_px:] = True
    band[:, :width_px] = band[:, -width_px:] = True
    return band


def _basis(ys: np.ndarray, xs: np.ndarray, height: int, width: int) -> np.ndarray:
    """(..., 6) float32 quadratic basis 1, x, y, x^2, xy, y^2 at pixel coordinates."""
    x = (xs.astype(np.float32) / max(width - 1, 1)) * 2 - 1
    y = (ys.astype(np.float32) / max(height - 1, 1)) * 2 - 1
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)


def fit_backdrop(rgb: np.ndarray, border: float) -> Backdrop:
    """Fit the backdrop model to the border band of `rgb` ((H, W, 3) uint8).

    Starts from the band's median colour, then alternates: inliers are the pixels within
    max(4 x noise, 3) levels of the model, the model is refitted on them (4 rounds).
    """
    height, width = rgb.shape[:2]
    width_px = max(2, round(border * min(height, width)))
    ys, xs = np.nonzero(_band(height, width, width_px))
    basis = _basis(ys, xs, height, width).astype(np.float64)
    values = rgb[ys, xs].astype(np.float64)
    coef = np.zeros((6, 3))
    coef[0] = np.median(values, axis=0)
    inlier = np.ones(len(values), bool)
    noise = 0.0
    for _ in range(4):
        residual = values - basis @ coef
        spread = 1.4826 * np.median(np.abs(residual[inlier]), axis=0)
        noise = float(np.sqrt(np.mean(spread**2)))
        inlier = _norm(residual) <= max(4.0 * noise, 3.0)
        if inlier.sum() < 12:
            break
        b, v = basis[inlier], values[inlier]
        try:  # the normal equations: 6 unknowns, far cheaper than an SVD of the band
            coef = np.linalg.solve(b.T @ b, b.T @ v)
        except np.linalg.LinAlgError:  # a band too degenerate for them (a tiny image)
            coef = np.linalg.lstsq(b, v, rcond=None)[0]
    colour = np.median(values[inlier] if inlier.any() else values, axis=0)
    red, green, blue = (int(v) for v in np.round(colour))
    return Backdrop(coef=coef, noise=noise, inliers=float(inlier.mean()), colour=(red, green, blue))


def _norm(v: np.ndarray) -> np.ndarray:
    """The Euclidean norm over the last axis (as np.linalg.norm, without its temporaries)."""
    return np.sqrt(np.einsum("...c,...c->...", v, v))


def _disk(radius: int) -> np.ndarray:
    import cv2

    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _shape(evidence: np.ndarray, radius: int) -> np.ndarray:
    """Close, fill enclosed holes and keep the largest component of a bool map."""
    import cv2
    from scipy import ndimage

    closed = cv2.morphologyEx(evidence.astype(np.uint8), cv2.MORPH_CLOSE, _disk(radius)) > 0
    filled = fill_holes(closed)  # a flood fill: as scipy's binary_fill_holes, 10x faster
    labels, count = ndimage.label(filled)
    if count > 1:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        filled = labels == int(np.argmax(sizes))
    return filled


def _medians(values: np.ndarray, labels: np.ndarray, ids: list[int]) -> np.ndarray:
    """The median of `values` over each label in the sorted list `ids`."""
    chosen = np.zeros(int(labels.max()) + 1, bool)
    chosen[ids] = True
    where = chosen[labels]
    lab, val = labels[where], values[where]
    order = np.lexsort((val, lab))
    lab, val = lab[order], val[order]
    starts = np.searchsorted(lab, ids)
    ends = np.searchsorted(lab, ids, side="right")
    return val[(starts + ends - 1) // 2]


def _pixels(fraction: float, diag: float) -> int:
    """A size given as a fraction of the image diagonal `diag`, in whole pixels (at least 1)."""
    return max(1, round(fraction * diag))


def _check_photo(rgb: np.ndarray, tuning: Tuning) -> str:
    """The photo's size as WxH; ValueError unless (H, W, 3) uint8, `too_small` when tiny."""
    check_rgb(rgb, "background_mask")
    height, width = rgb.shape[:2]
    size = f"{width}x{height}"
    if min(height, width) < tuning.min_side:
        raise AnnotationRejected(
            "too_small", f"the cloth image is {size}; at least {tuning.min_side} px a side"
        )
    return size


def _plain_backdrop(rgb: np.ndarray, border: float, size: str, tuning: Tuning) -> Backdrop:
    """Step 1: the backdrop model of the border band; `no_backdrop` when it is not plain."""
    backdrop = fit_backdrop(rgb, border)
    if backdrop.inliers < tuning.min_inliers or backdrop.noise > tuning.max_noise:
        raise AnnotationRejected(
            "no_backdrop",
            f"the image border ({border:.0%} band of a {size} image) is not a plain backdrop: "
            f"around the best smooth colour fit it spreads {backdrop.noise:.1f} levels (at "
            f"most {tuning.max_noise:.0f}) and {backdrop.inliers:.0%} of it fits (at least "
            f"{tuning.min_inliers:.0%}); the background backend needs a product photo on a "
            "plain backdrop, use cloth_mask.backend rembg for other photos",
        )
    return backdrop


@dataclass
class _Measure:
    """Step 2's measurements. image: (H, W, 3) float32 photo as measured (blurred ~1 px);
    model: (H, W, 3) float32 backdrop model; distance: (H, W) float32 colour distance
    between them; threshold: the tolerance used (levels); evidence: (H, W) bool garment."""

    image: np.ndarray
    model: np.ndarray
    distance: np.ndarray
    threshold: float
    evidence: np.ndarray


def _measure(
    rgb: np.ndarray, backdrop: Backdrop, tolerance: float, diag: float, tuning: Tuning
) -> _Measure:
    """Step 2: the garment evidence, the colour distance from the backdrop above the
    tolerance, half the contrast nearby and 6 % of the contrast further out."""
    import cv2

    height, width = rgb.shape[:2]
    model = backdrop.render(height, width)
    image: np.ndarray = rgb.astype(np.float32)
    if tuning.blur * diag >= 0.3:
        image = cv2.GaussianBlur(image, (0, 0), tuning.blur * diag)
    distance = _norm(image - model)

    threshold = float(tolerance) or max(
        tuning.tolerance_floor, tuning.noise_factor * backdrop.noise
    )
    local = np.maximum(
        tuning.edge_share * cv2.dilate(distance, _disk(_pixels(tuning.edge_radius, diag))),
        tuning.halo_share * cv2.dilate(distance, _disk(_pixels(tuning.halo_radius, diag))),
    )
    evidence = distance > np.maximum(local, threshold)
    return _Measure(image, model, distance, threshold, evidence)


@dataclass
class _ShadowParts:
    """Shadow candidates of a mask. colour: (H, W) bool pixels of shadow colour (darker
    backdrop colour) inside the mask; labels: (H, W) int connected parts of the soft-edged
    ones (1..count); candidates: the parts that touch the outside and are small enough."""

    colour: np.ndarray
    labels: np.ndarray
    count: int
    candidates: list


def _shadow_parts(
    m: _Measure, mask: np.ndarray, luma: np.ndarray, backdrop: Backdrop, diag: float, tuning: Tuning
) -> _ShadowParts:
    """Backdrop-coloured, darker, soft-edged parts of `mask` reachable from outside it, at
    most `shadow_max_part` of the mask each."""
    import cv2
    from scipy import ndimage

    image, model = m.image, m.model
    scale = np.maximum(np.einsum("...c,...c->...", model, model), 1.0)
    gain = np.einsum("...c,...c->...", image, model) / scale
    chroma = _norm(image - gain[..., None] * model)
    smooth_luma = cv2.GaussianBlur(luma, (0, 0), max(0.8, tuning.gradient_blur * diag))
    gradient = (
        np.hypot(
            cv2.Sobel(smooth_luma, cv2.CV_32F, 1, 0, ksize=3),
            cv2.Sobel(smooth_luma, cv2.CV_32F, 0, 1, ksize=3),
        )
        / 8.0
    )
    shadow_colour = (
        mask
        & (gain < 1.0)
        & (gain > tuning.shadow_min_gain)
        & (chroma < max(tuning.shadow_chroma, tuning.noise_factor * backdrop.noise))
    )
    shadowish = shadow_colour & (
        gradient * diag < tuning.shadow_softness * np.maximum(m.distance, m.threshold)
    )
    outside = cv2.dilate((~mask).astype(np.uint8), _disk(1)) > 0
    labels, count = ndimage.label(shadowish)
    if not count:
        return _ShadowParts(shadow_colour, labels, count, [])
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    touching = [int(i) for i in np.unique(labels[shadowish & outside]) if i]
    first_area = int(mask.sum())
    keep = [i for i in touching if sizes[i] <= tuning.shadow_max_part * first_area]
    large = [
        i for i in touching if i not in keep and sizes[i] <= tuning.shadow_max_faded * first_area
    ]
    if large:  # a wide soft shadow: kept when it fades into the backdrop at its outer edge
        edge = np.where(outside, labels, 0)
        fade = _medians(m.distance, edge, large)
        keep += [
            i for i, d in zip(large, fade, strict=True) if d <= tuning.shadow_fade * m.threshold
        ]
    return _ShadowParts(shadow_colour, labels, count, sorted(keep))


def _smooth_parts(
    luma: np.ndarray, parts: _ShadowParts, mask: np.ndarray, diag: float, tuning: Tuning
) -> list:
    """The candidates as smooth as the backdrop: fabric (a ribbed white collar) has
    texture, a shadow is as smooth as the backdrop it darkens."""
    import cv2

    plain = np.abs(luma - cv2.GaussianBlur(luma, (0, 0), _pixels(tuning.texture_blur, diag)))
    backdrop_texture = float(np.median(plain[~mask])) if (~mask).any() else 0.0
    limit = max(tuning.shadow_texture * backdrop_texture, tuning.shadow_texture_floor)
    keep = parts.candidates
    return [i for i, t in zip(keep, _medians(plain, parts.labels, keep), strict=True) if t <= limit]


def _peel_shadows(
    m: _Measure, mask: np.ndarray, backdrop: Backdrop, radius: int, diag: float, tuning: Tuning
) -> tuple[np.ndarray, float]:
    """Step 4: `mask` without its cast shadows, and the share of it peeled off."""
    import cv2

    first_area = int(mask.sum())
    if not first_area:
        return mask, 0.0
    luma = m.image.mean(-1)
    parts = _shadow_parts(m, mask, luma, backdrop, diag, tuning)
    keep = _smooth_parts(luma, parts, mask, diag, tuning) if parts.candidates else []
    if not keep:
        return mask, 0.0
    chosen = np.zeros(parts.count + 1, bool)
    chosen[keep] = True
    peeled = chosen[parts.labels]
    # The shadow's rim against the garment fails the softness test (the garment's edge is
    # steep there): grow the peeled parts over it.
    coloured = parts.colour & ~peeled
    for _ in range(_pixels(tuning.shadow_rim, diag)):
        grown = cv2.dilate(peeled.astype(np.uint8), _disk(1)) > 0
        peeled |= grown & coloured
    return _shape(m.evidence & ~peeled, radius), float(peeled.sum()) / first_area


def _check_mask(
    mask: np.ndarray, backdrop: Backdrop, border: float, size: str, tuning: Tuning
) -> float:
    """The share of the border band under `mask`; `empty_mask`, `mask_fills_image` or
    `no_backdrop` when the mask is too small, too large or runs into the border."""
    height, width = mask.shape
    area = float(mask.mean())
    band = _band(height, width, max(2, round(border * min(height, width))))
    touches = float(mask[band].mean())
    if area < tuning.min_area:
        raise AnnotationRejected(
            "empty_mask",
            f"nothing stands out from the backdrop (RGB {backdrop.colour}) in this {size} "
            f"image: the garment covers {area:.2%} (at least {tuning.min_area:.1%}); "
            "a blank image, or a garment the colour of the backdrop",
        )
    if area > tuning.max_area:
        raise AnnotationRejected(
            "mask_fills_image",
            f"the garment mask covers {area:.0%} of this {size} image (at most "
            f"{tuning.max_area:.0%}): no backdrop left around it",
        )
    if touches > tuning.max_border_touch:
        raise AnnotationRejected(
            "no_backdrop",
            f"the 'garment' runs into {touches:.0%} of the image border (at most "
            f"{tuning.max_border_touch:.0%}): the photo is not one garment on a plain "
            "backdrop",
        )
    return touches


def background_mask(
    rgb: np.ndarray,
    border: float = 0.02,
    tolerance: float = 0.0,
    smooth: float = 0.004,
    tuning: Tuning = TUNING,
) -> ClothMaskResult:
    """The garment mask of a product photo on a plain backdrop (the module docstring).

    rgb: (H, W, 3) uint8. `border`, `tolerance` and `smooth` are
    `cloth_mask.background.*` (0 tolerance: automatic). Raises AnnotationRejected
    `too_small`, `no_backdrop`, `empty_mask` or `mask_fills_image`.
    """
    size = _check_photo(rgb, tuning)
    height, width = rgb.shape[:2]
    diag = float(np.hypot(height, width))
    backdrop = _plain_backdrop(rgb, border, size, tuning)
    m = _measure(rgb, backdrop, tolerance, diag, tuning)
    # Step 3. The half-contrast rule can cut a 1-2 px pale stripe out of a small image; the
    # closing always bridges that.
    radius = max(_pixels(smooth, diag), _pixels(tuning.edge_radius, diag) + 1)
    mask, shadow = _peel_shadows(m, _shape(m.evidence, radius), backdrop, radius, diag, tuning)
    touches = _check_mask(mask, backdrop, border, size, tuning)
    return ClothMaskResult(
        mask=mask, backdrop=backdrop, tolerance=m.threshold, shadow=shadow, touches_border=touches
    )


class BackgroundClothMask:
    """Garment masks of product photos on a plain backdrop, without a model (module
    docstring). Params: `cloth_mask.background` (border, tolerance, smooth)."""

    name = "background"

    def __init__(self, kind: str = "cloth_mask", section: Any = None, tuning: Tuning = TUNING):
        self.kind = kind
        self.outputs = outputs_of(self, kind, "cloth_mask")
        params = getattr(section, "background", None)
        self.border = float(getattr(params, "border", 0.02))
        self.tolerance = float(getattr(params, "tolerance", 0.0))
        self.smooth = float(getattr(params, "smooth", 0.004))
        if not 0 < self.border < 0.5:
            raise ValueError(
                f"cloth_mask.background.border = {self.border}: a fraction of the shorter "
                "side in (0, 0.5), e.g. 0.02"
            )
        if self.tolerance < 0 or self.smooth < 0:
            raise ValueError(
                "cloth_mask.background.tolerance and .smooth must be >= 0, got "
                f"{self.tolerance} and {self.smooth}"
            )
        self.tuning = tuning

    def fingerprint(self) -> str:
        return make_fingerprint(
            self.kind,
            self.name,
            {"border": self.border, "tolerance": self.tolerance, "smooth": self.smooth},
            tuning=self.tuning,
            code=__name__,
        )

    def load(self) -> None:
        """Nothing to load (OpenCV and SciPy are imported on first use)."""

    def annotate(self, item: Item) -> Sample:
        """The garment mask of `item.rgb`, the garment photo. Raises AnnotationRejected.

        Where ingest padded the photo to the dataset's aspect (`garment_fit` in the
        catalog), only the photo is segmented: its own border is the backdrop, and the
        padding (another colour than a grey or coloured backdrop) is never garment."""
        check_rgb(item.rgb, item.id)
        height, width = item.rgb.shape[:2]
        top, bottom, left, right = content_box(item.attributes, height, width)
        result = background_mask(
            item.rgb[top:bottom, left:right],
            self.border,
            self.tolerance,
            self.smooth,
            tuning=self.tuning,
        )
        mask = result.mask
        provenance = result.provenance()
        if (top, bottom, left, right) != (0, height, 0, width):
            mask = np.zeros((height, width), dtype=bool)
            mask[top:bottom, left:right] = result.mask
            provenance |= {
                "photo_box": [top, bottom, left, right],
                "area": round(float(mask.mean()), 4),
            }
        return Sample(id=item.id, split=item.split, cloth_mask=mask, provenance=provenance)
