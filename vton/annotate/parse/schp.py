"""The `schp_onnx` parse backend: Self-Correction Human Parsing (SCHP) exported to ONNX.

SCHP (Li et al., "Self-Correction for Human Parsing") ships LIP (20 labels, 473x473 input)
and ATR (18 labels, 512x512) ResNet-101 models; OOTDiffusion and IDM-VTON distribute them
as `parsing_lip.onnx` / `parsing_atr.onnx`, run by onnxruntime. This backend reproduces
SCHP's own inference (`simple_extractor.py` with `SimpleFolderDataset` and
`utils/transforms.py`):

- The person box is the whole image, `[0, 0, w - 1, h - 1]`: centre `((w-1)/2, (h-1)/2)`,
  size widened to the model's aspect ratio (`input_w / input_h`).
- An isotropic affine (no rotation) maps that box onto the input: scale
  `(input_w - 1) / box_w` about the centres, `cv2.warpAffine` with bilinear sampling and
  a black border.
- The image goes in as BGR scaled to [0, 1], normalised with mean (0.406, 0.456, 0.485) and
  std (0.225, 0.224, 0.229) per B, G, R channel (ImageNet's RGB statistics reversed):
  (1, 3, input_h, input_w) float32.
- The model returns `[[parsing, fusion], [edge]]`, exported flat; the fused parsing logits
  (the last output with one channel per label) are used, at input size or at 1/4 of it.
- SCHP upsamples those logits to the input size (bilinear, align_corners=True), warps each
  channel back with the inverse affine and takes the argmax. Here the two steps are one
  bilinear warp through the composed affine (the same geometry; the logits are resampled
  once instead of twice).

Then `finish_parse` maps LIP or ATR ids to VITON-HD ids (LIP's 10 is jumpsuits, not neck)
and synthesises the neck, which neither set has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vton.annotate.base import ANNOTATION_KINDS, Item, MissingWeights, make_fingerprint
from vton.annotate.parse.neck import check_rgb, finish_parse
from vton.fileio import tree_digest
from vton.formats.labels import LABEL_SETS
from vton.records import Sample

SCHP_MEAN_BGR = (0.406, 0.456, 0.485)
SCHP_STD_BGR = (0.225, 0.224, 0.229)


def person_box_transform(height: int, width: int, input_size: tuple[int, int]) -> np.ndarray:
    """(2, 3) float64 affine taking image pixels to model-input pixels, as SCHP crops.

    input_size: the model input (height, width).
    """
    in_h, in_w = input_size
    box_w, box_h = width - 1.0, height - 1.0
    centre_x, centre_y = box_w / 2, box_h / 2
    aspect = in_w / in_h
    if box_w > aspect * box_h:
        box_h = box_w / aspect
    elif box_w < aspect * box_h:
        box_w = box_h * aspect
    scale = (in_w - 1) / box_w  # SCHP scales both axes by the width ratio
    return np.array(
        [
            [scale, 0.0, (in_w - 1) / 2 - scale * centre_x],
            [0.0, scale, (in_h - 1) / 2 - scale * centre_y],
        ]
    )


def schp_preprocess(rgb: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 RGB -> ((1, 3, in_h, in_w) float32 normalised BGR, (2, 3) affine)."""
    check_rgb(rgb, "schp input")
    in_h, in_w = input_size
    matrix = person_box_transform(rgb.shape[0], rgb.shape[1], input_size)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    crop = cv2.warpAffine(
        bgr,
        matrix,
        (in_w, in_h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
    mean, std = np.asarray(SCHP_MEAN_BGR, np.float32), np.asarray(SCHP_STD_BGR, np.float32)
    x = (crop.astype(np.float32) / 255.0 - mean) / std
    return x.transpose(2, 0, 1)[None].astype(np.float32), matrix


def logits_to_image(
    logits: np.ndarray, matrix: np.ndarray, input_size: tuple[int, int], image_hw: tuple[int, int]
) -> np.ndarray:
    """(C, h, w) logits in the model-input frame -> (H, W, C) float32 in the image frame.

    `h, w` is the input size or a fraction of it (SCHP's 1/4); it is stretched to the input
    with align_corners=True geometry, then the crop `matrix` is undone, in one warp.
    Pixels that fall outside the crop get 0 in every channel.
    """
    channels, h, w = logits.shape
    in_h, in_w = input_size
    if h < 2 or w < 2:
        raise ValueError(f"parsing logits of {h}x{w} are too small to resample")
    to_logits = np.diag([(w - 1) / (in_w - 1), (h - 1) / (in_h - 1)])
    composed = to_logits @ matrix  # image pixel -> logit pixel
    hwc = np.ascontiguousarray(logits.transpose(1, 2, 0), dtype=np.float32)
    out = cv2.warpAffine(
        hwc,
        composed,
        (image_hw[1], image_hw[0]),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0.0,),
    )
    return out.reshape(image_hw[0], image_hw[1], channels)


def pick_parsing_output(outputs: list[np.ndarray], names: list[str], classes: int) -> np.ndarray:
    """The fused parsing logits, (C, h, w): the last output with `classes` channels.

    SCHP's outputs are parsing, fusion (both C channels) and edge (2 channels), in that
    order; an export with one output passes that one.
    """
    for out in reversed(outputs):
        if out.ndim == 4 and out.shape[0] == 1 and out.shape[1] == classes:
            return out[0]
        if out.ndim == 3 and out.shape[0] == classes:
            return out
    shapes = ", ".join(f"{n} {tuple(o.shape)}" for n, o in zip(names, outputs, strict=True))
    raise ValueError(
        f"no output of the SCHP model has {classes} label channels (outputs: {shapes}); "
        "check parse.schp_onnx.label_set (lip has 20 labels, atr 18)"
    )


class SchpOnnxParser:
    """SCHP LIP/ATR human parsing with onnxruntime; `annotate` fills `Sample.parse`.

    `landmarks` (default on) lets MediaPipe place the chin for the neck; off, the chin is
    estimated from the labels (see `vton.annotate.parse.neck`).
    """

    name = "schp_onnx"

    def __init__(self, kind: str, section: Any, *, landmarks: bool = True):
        self.kind = kind
        self.outputs = ANNOTATION_KINDS[kind].outputs
        self.params = section.schp_onnx
        self.landmarks = landmarks
        model = self.params.model
        if not model:
            raise MissingWeights(
                "the schp_onnx parse backend needs a model: set parse.schp_onnx.model in "
                "params.yaml to an SCHP export such as parsing_lip.onnx (LIP) or "
                "parsing_atr.onnx (ATR, with parse.schp_onnx.label_set: atr and "
                "input_size: [512, 512])"
            )
        self.path = Path(model).expanduser()
        if not self.path.is_file():
            raise MissingWeights(
                f"parse.schp_onnx.model = {model!r}: the file {self.path} does not exist"
            )
        if self.params.label_set not in ("lip", "atr"):
            raise ValueError(
                f"parse.schp_onnx.label_set must be lip or atr, got {self.params.label_set!r}"
            )
        size = tuple(self.params.input_size)
        if len(size) != 2 or not all(isinstance(v, int) and v > 1 for v in size):
            raise ValueError(
                f"parse.schp_onnx.input_size must be [height, width] in pixels, got {size!r}"
            )
        self.input_size: tuple[int, int] = (int(size[0]), int(size[1]))
        self.classes = len(LABEL_SETS[self.params.label_set][0])
        self._digest: str | None = None
        self._session: Any = None  # an onnxruntime session, loaded lazily
        self._input_name = ""
        self._half = False
        self._mp: Any = None  # MediaPipeModels, loaded lazily

    def fingerprint(self) -> str:
        if self._digest is None:
            self._digest = tree_digest(self.path)
        return make_fingerprint(
            self.kind,
            self.name,
            self.params,
            weights=self._digest,
            landmarks=self.landmarks,
            code=__name__,
        )

    @property
    def providers(self) -> list[str]:
        """The onnxruntime providers in use (after `load`)."""
        return [] if self._session is None else list(self._session.get_providers())

    def load(self) -> None:
        """Open the ONNX session (CUDA when onnxruntime has it, else CPU) and check its input."""
        if self.landmarks and self._mp is None:
            from vton.annotate.mediapipe_models import MediaPipeModels

            self._mp = MediaPipeModels()
        if self._session is not None:
            return
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise MissingWeights(
                f"parse.schp_onnx.model = {str(self.path)!r} is not a loadable ONNX model: {exc}"
            ) from exc
        inputs = session.get_inputs()
        if len(inputs) != 1:
            names = ", ".join(i.name for i in inputs)
            raise ValueError(
                f"{self.path.name}: SCHP takes one image input, this model has {names}"
            )
        shape = list(inputs[0].shape)
        fixed = [v for v in shape[-2:] if isinstance(v, int)]
        if len(shape) != 4 or (len(fixed) == 2 and tuple(fixed) != self.input_size):
            raise ValueError(
                f"{self.path.name}: its input {inputs[0].name} is {shape}, but "
                f"parse.schp_onnx.input_size is {list(self.input_size)}; set input_size to the "
                "model's (height, width)"
            )
        self._input_name = inputs[0].name
        self._half = inputs[0].type == "tensor(float16)"
        self._output_names = [o.name for o in session.get_outputs()]
        self._session = session

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (H, W) int64 LIP or ATR ids."""
        self.load()
        x, matrix = schp_preprocess(rgb, self.input_size)
        if self._half:
            x = x.astype(np.float16)
        outputs = self._session.run(None, {self._input_name: x})
        logits = pick_parsing_output(outputs, self._output_names, self.classes)
        image_hw = (rgb.shape[0], rgb.shape[1])
        image = logits_to_image(logits.astype(np.float32), matrix, self.input_size, image_hw)
        return image.argmax(axis=2)

    def annotate(self, item: Item) -> Sample:
        check_rgb(item.rgb, item.id)
        source = self.predict(item.rgb)
        parse, notes = finish_parse(source, self.params.label_set, item.rgb, self._mp)
        notes.update(backend=self.name, model=self.path.name, providers=self.providers)
        return Sample(id=item.id, split=item.split, parse=parse, provenance=notes)

    def close(self) -> None:
        """Release the MediaPipe graphs (the session is freed with the instance)."""
        if self._mp is not None:
            self._mp.close()
            self._mp = None
