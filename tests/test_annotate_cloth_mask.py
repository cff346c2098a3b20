"""Garment masks: the classical `background` backend against VITON-HD's shipped masks and
exact synthetic ones, its rejects, and the `rembg` backend driven by tiny local ONNX models
of rembg's signatures (the first `import rembg` of a machine takes ~40 s: numba compiles
pymatting once; every rembg test shares one module-scoped fixture)."""

from __future__ import annotations

import io
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vton.annotate.base import AnnotationRejected, Item, MissingWeights
from vton.annotate.cloth_mask.background import TUNING, BackgroundClothMask, background_mask
from vton.annotate.cloth_mask.rembg import RembgClothMask, detect_session
from vton.annotate.registry import create_annotator
from vton.config import BackgroundMaskParams, ClothMaskParams, RembgParams
from vton.formats.masks import read_mask
from vton.sources.sample import generate_sample


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def jpeg(rgb: np.ndarray, quality: int = 90) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def item(rgb: np.ndarray, name: str = "x") -> Item:
    return Item(id=name, split="test", rgb=rgb, image_path=Path(f"{name}.jpg"), reference={})


# --- background: golden ---------------------------------------------------------------------


@pytest.mark.golden
def test_background_matches_vitonhd_masks(golden: Path, golden_ids: list[str]) -> None:
    annotator = create_annotator("cloth_mask", ClothMaskParams(backend="background"))
    annotator.load()
    scores = {}
    for sample_id in golden_ids:
        rgb = np.asarray(Image.open(golden / "test" / "cloth" / f"{sample_id}.jpg").convert("RGB"))
        theirs = read_mask(golden / "test" / "cloth-mask" / f"{sample_id}.jpg")
        ours = annotator.annotate(item(rgb, sample_id)).cloth_mask
        assert ours.shape == theirs.shape and ours.dtype == bool
        scores[sample_id] = iou(ours, theirs)
    print("\ncloth-mask IoU vs VITON-HD:", {k: round(v, 4) for k, v in scores.items()})
    assert all(v >= 0.95 for v in scores.values()), scores


# --- background: synthetic ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "width", "indices"), [(256, 192, range(8)), (1024, 768, (0, 5))]
)
def test_background_matches_synthetic_garments(height: int, width: int, indices) -> None:
    scores = []
    for index in indices:
        sample = generate_sample(index, height, width)
        scores.append(iou(background_mask(sample.cloth).mask, sample.cloth_mask))
    print(f"\nsynthetic {height}x{width} IoU:", [round(s, 4) for s in scores])
    assert min(scores) >= 0.98, scores


def _white_garment(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A white garment (backdrop - 5 levels, faint fabric texture) on a white backdrop."""
    sample = generate_sample(seed, 512, 384)
    rng = np.random.default_rng(seed)
    texture = rng.normal(0, 1.0, sample.cloth.shape[:2])
    rgb = np.full(sample.cloth.shape, 246.0)
    rgb[sample.cloth_mask] = 241.0
    rgb += texture[..., None] + rng.normal(0, 0.8, rgb.shape)
    return jpeg(np.clip(rgb, 0, 255).astype(np.uint8)), sample.cloth_mask


def test_white_garment_on_white_backdrop() -> None:
    rgb, truth = _white_garment()
    result = background_mask(rgb)
    score = iou(result.mask, truth)
    print(f"\nwhite-on-white IoU: {score:.4f}, tolerance {result.tolerance:.2f}")
    assert score >= 0.95


def test_gradient_backdrop_and_soft_shadow() -> None:
    import cv2

    sample = generate_sample(5, 512, 384)  # a navy top
    truth = sample.cloth_mask
    height, width = truth.shape
    ys, xs = np.mgrid[0:height, 0:width]
    light = 1 - 0.1 * (ys / height) ** 1.3 - 0.04 * xs / width  # a gentle lighting gradient
    cast = cv2.GaussianBlur(np.roll(truth, (8, 6), (0, 1)).astype(np.float32), (0, 0), 12)
    shade = 1 - 0.15 * cast * ~truth  # a soft shadow on the backdrop, below right
    rgb = jpeg(np.clip(sample.cloth * (light * shade)[..., None], 0, 255).astype(np.uint8))
    result = background_mask(rgb)
    score = iou(result.mask, truth)
    no_peel = replace(TUNING, shadow_max_part=0.0, shadow_max_faded=0.0)
    unpeeled = iou(background_mask(rgb, tuning=no_peel).mask, truth)
    print(f"\ngradient + shadow IoU: {score:.4f} ({unpeeled:.4f} without shadow peeling)")
    assert result.shadow > 0.05
    assert score >= 0.95 and score > unpeeled + 0.02


def test_enclosed_print_is_filled_but_open_neckline_is_not() -> None:
    rgb = np.full((200, 160, 3), 245, np.uint8)
    rgb[40:180, 30:130] = (40, 60, 120)  # the garment
    rgb[90:120, 60:100] = 245  # a backdrop-coloured print inside it: garment
    rgb[40:70, 65:95] = 245  # a neck opening cut in from the top edge: backdrop
    mask = background_mask(rgb).mask
    assert mask[100, 80] and mask[150, 80]
    assert not mask[50, 80] and not mask[20, 80]


# --- background: rejects --------------------------------------------------------------------


def test_busy_photos_are_rejected() -> None:
    from skimage.data import astronaut

    noise = np.random.default_rng(0).integers(0, 256, (256, 192, 3), dtype=np.uint8)
    for rgb in (astronaut(), noise):
        with pytest.raises(AnnotationRejected) as info:
            BackgroundClothMask("cloth_mask", ClothMaskParams()).annotate(item(rgb))
        assert info.value.reason == "no_backdrop"
        assert "plain backdrop" in info.value.detail


@pytest.mark.parametrize(
    ("rgb", "reason"),
    [
        (np.full((256, 192, 3), 240, np.uint8), "empty_mask"),
        (np.full((10, 8, 3), 200, np.uint8), "too_small"),
    ],
)
def test_blank_and_tiny_images_are_rejected(rgb: np.ndarray, reason: str) -> None:
    with pytest.raises(AnnotationRejected) as info:
        background_mask(rgb)
    assert info.value.reason == reason


def test_garment_filling_the_frame_is_rejected() -> None:
    rgb = np.full((256, 192, 3), 245, np.uint8)
    rgb[:, 40:] = (30, 90, 50)  # runs off three sides
    with pytest.raises(AnnotationRejected) as info:
        background_mask(rgb)
    assert info.value.reason in ("no_backdrop", "mask_fills_image")


def test_background_annotator_contract() -> None:
    params = ClothMaskParams(backend="background")
    annotator = create_annotator("cloth_mask", params)
    assert isinstance(annotator, BackgroundClothMask)
    assert annotator.outputs == ("cloth_mask",)
    other = BackgroundClothMask(
        "cloth_mask", ClothMaskParams(background=BackgroundMaskParams(tolerance=12.0))
    )
    assert annotator.fingerprint() != other.fingerprint()
    assert annotator.fingerprint() == create_annotator("cloth_mask", params).fingerprint()
    sample = generate_sample(1, 256, 192)
    out = annotator.annotate(item(sample.cloth))
    assert out.cloth_mask.shape == (256, 192) and out.cloth_mask.dtype == bool
    assert out.provenance["area"] > 0.1
    with pytest.raises(ValueError, match="uint8"):
        annotator.annotate(item(sample.cloth.astype(np.float32)))


# --- rembg ----------------------------------------------------------------------------------


def test_rembg_model_key_is_named_when_missing(tmp_path: Path) -> None:
    with pytest.raises(MissingWeights, match=r"cloth_mask\.rembg\.model"):
        RembgClothMask("cloth_mask", ClothMaskParams(backend="rembg"))
    absent = tmp_path / "nowhere" / "u2net.onnx"
    with pytest.raises(MissingWeights, match=str(absent)):
        RembgClothMask("cloth_mask", ClothMaskParams(rembg=RembgParams(model=str(absent))))


def _export(module, path: Path, size: int, outputs: int) -> Path:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            (torch.rand(1, 3, size, size),),
            str(path),
            input_names=["input"],
            output_names=[f"out{i}" for i in range(outputs)],
            opset_version=17,
            dynamo=False,
            dynamic_axes={"input": {0: "batch"}},
        )
    return path


@pytest.fixture(scope="module")
def rembg_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny models with rembg's signatures whose output ignores the image:

    - `u2net` (1x3x320x320 -> 7 x Nx1x320x320 in [0, 1]): 1 inside the centre box
      (rows and columns 80..240), 0 elsewhere;
    - `dis` (1024 input, one Nx1x1024x1024 output): the same box, scaled;
    - `cloth` (768 input, Nx4x768x768 logits): upper-body class in the box's top half,
      full-body class in its bottom half, background elsewhere.
    Importing rembg here (once) pays its one-time numba compile in one place.
    """
    pytest.importorskip("rembg")
    import torch
    from torch import nn

    class Fixed(nn.Module):
        def __init__(self, planes: torch.Tensor, copies: int):
            super().__init__()
            self.register_buffer("planes", planes)
            self.copies = copies

        def forward(self, x):
            out = self.planes + 0 * x[:, :1].mean()
            return (out,) * self.copies if self.copies > 1 else out

    def box(size: int) -> torch.Tensor:
        plane = torch.zeros(1, 1, size, size)
        lo, hi = size // 4, size * 3 // 4
        plane[..., lo:hi, lo:hi] = 1.0
        return plane

    root = tmp_path_factory.mktemp("rembg_models")
    cloth = torch.zeros(1, 4, 768, 768)
    cloth[:, 0] = 5.0
    cloth[:, 0, 192:576, 192:576] = 0.0
    cloth[:, 1, 192:384, 192:576] = 5.0  # upper
    cloth[:, 3, 384:576, 192:576] = 5.0  # full
    return {
        "u2net": _export(Fixed(box(320), 7), root / "tiny_u2net.onnx", 320, 7),
        "dis": _export(Fixed(box(1024), 1), root / "tiny_isnet.onnx", 1024, 1),
        "cloth": _export(Fixed(cloth, 1), root / "tiny_cloth.onnx", 768, 1),
    }


def test_rembg_sessions_are_detected(rembg_models: dict[str, Path]) -> None:
    assert detect_session(rembg_models["u2net"]) == "u2net_custom"
    assert detect_session(rembg_models["dis"]) == "dis_custom"
    assert detect_session(rembg_models["cloth"]) == "u2net_cloth_seg"


@pytest.mark.parametrize("model", ["u2net", "dis", "cloth"])
@pytest.mark.parametrize("post_process", [True, False])
def test_rembg_backend_end_to_end(
    rembg_models: dict[str, Path], model: str, post_process: bool
) -> None:
    params = ClothMaskParams(
        backend="rembg",
        rembg=RembgParams(model=str(rembg_models[model]), post_process=post_process),
    )
    annotator = create_annotator("cloth_mask", params)
    annotator.load()
    sample = generate_sample(0, 256, 192)
    out = annotator.annotate(item(sample.cloth))
    mask = out.cloth_mask
    assert mask.shape == (256, 192) and mask.dtype == bool
    # the box is the middle half of each side
    assert mask[80:176, 56:136].all()
    assert not mask[:56].any() and not mask[-56:].any()
    assert not mask[:, :40].any() and not mask[:, -40:].any()
    assert out.provenance["session"] == detect_session(rembg_models[model])


def test_rembg_fingerprint_follows_the_weights(
    rembg_models: dict[str, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(rembg_models["u2net"].read_bytes())
    a = RembgClothMask("cloth_mask", ClothMaskParams(rembg=RembgParams(model=str(copy))))
    first = a.fingerprint()
    copy.write_bytes(rembg_models["dis"].read_bytes())
    b = RembgClothMask("cloth_mask", ClothMaskParams(rembg=RembgParams(model=str(copy))))
    c = RembgClothMask(
        "cloth_mask",
        ClothMaskParams(rembg=RembgParams(model=str(copy), post_process=False)),
    )
    assert len({first, b.fingerprint(), c.fingerprint()}) == 3
