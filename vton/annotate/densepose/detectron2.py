"""The `detectron2` DensePose backend: DensePose R50-FPN through detectron2's DensePose
project, which the user installs (`INSTALL_STEPS`); the highest-scoring person's fine
segmentation is pasted into a full-size part map."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from vton.annotate.base import (
    AnnotationRejected,
    Item,
    MissingWeights,
    make_fingerprint,
    outputs_of,
)
from vton.checks import check_rgb
from vton.fileio import tree_digest
from vton.formats.densepose import N_PARTS
from vton.records import Sample

_CONFIG_KEY = "densepose.detectron2.config"
_WEIGHTS_KEY = "densepose.detectron2.weights"
_CONFIG_HINT = "detectron2/projects/DensePose/configs/densepose_rcnn_R_50_FPN_s1x.yaml"
_WEIGHTS_URL = (
    "https://dl.fbaipublicfiles.com/densepose/densepose_rcnn_R_50_FPN_s1x/165712039/"
    "model_final_162be9.pkl"
)

INSTALL_STEPS = f"""\
detectron2 and its DensePose project are not on PyPI; install them from source into this
environment (torch first; building needs a C++ compiler, and CUDA for GPU inference):
  git clone https://github.com/facebookresearch/detectron2
  pip install -e detectron2
  pip install -e detectron2/projects/DensePose
(or, without keeping a clone: pip install 'git+https://github.com/facebookresearch/detectron2.git'
 then pip install 'git+https://github.com/facebookresearch/detectron2@main#subdirectory=projects/DensePose',
 and fetch the two config files below from that repository).
Then download the DensePose R50-FPN config and weights and set them in params.yaml:
  {_CONFIG_KEY}: {_CONFIG_HINT}
      (Base-DensePose-RCNN-FPN.yaml, which it includes, must sit beside it)
  {_WEIGHTS_KEY}: model_final_162be9.pkl, from
      {_WEIGHTS_URL}
Or set densepose.backend to mediapipe for an offline approximation."""


class Detectron2NotInstalled(MissingWeights):
    """detectron2 or its DensePose project cannot be imported; the message says how to fix."""


def paste_box_labels(labels: np.ndarray, box_xywh: tuple[int, int, int, int], shape) -> np.ndarray:
    """Place a box-sized (h, w) label map at its integer box in an (H, W) uint8 part map.

    box_xywh: x, y, w, h in pixels (as DensePose's converters round them); the parts of the
    box outside the image are cut off. labels larger than the box are cropped, smaller ones
    resized to it (nearest), so the map always covers exactly the box.
    """
    import cv2

    H, W = shape
    x, y, w, h = (int(v) for v in box_xywh)
    w, h = max(w, 1), max(h, 1)
    labels = np.asarray(labels).astype(np.uint8)
    if labels.shape != (h, w):
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
    if int(labels.max(initial=0)) > N_PARTS:
        raise ValueError(f"DensePose labels must be 0..{N_PARTS}, got max {labels.max()}")
    out = np.zeros((H, W), np.uint8)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = labels[y0 - y : y1 - y, x0 - x : x1 - x]
    return out


class Detectron2DensePose:
    """DensePose R50-FPN through detectron2's DensePose project (installed by the user).

    `densepose.detectron2.config` is the model's yaml inside a detectron2 clone and
    `densepose.detectron2.weights` its .pkl. The highest-scoring person is kept; its fine
    segmentation (the I channel), resampled to its box, is pasted into a full-size map.
    """

    name = "detectron2"

    def __init__(self, kind: str = "densepose", section: Any = None):
        self.kind = kind
        self.outputs = outputs_of(self, kind, "densepose")
        params = getattr(section, "detectron2", None)
        config = str(getattr(params, "config", "") or "")
        weights = str(getattr(params, "weights", "") or "")
        empty = [
            key for key, value in ((_CONFIG_KEY, config), (_WEIGHTS_KEY, weights)) if not value
        ]
        if empty:
            raise MissingWeights(
                f"densepose.backend is detectron2 but {' and '.join(empty)} "
                f"{'is' if len(empty) == 1 else 'are'} empty in params.yaml; set "
                f"{_CONFIG_KEY} to the DensePose R50-FPN config ({_CONFIG_HINT}) and "
                f"{_WEIGHTS_KEY} to its weights ({_WEIGHTS_URL}), or set densepose.backend "
                "to mediapipe"
            )
        for key, value in ((_CONFIG_KEY, config), (_WEIGHTS_KEY, weights)):
            if not Path(value).is_file():
                raise MissingWeights(
                    f"{key} = {value!r} is not a file; download it (config: {_CONFIG_HINT} "
                    f"in a detectron2 clone, weights: {_WEIGHTS_URL}) and fix params.yaml"
                )
        self.config = Path(config)
        self.weights = Path(weights)
        self._predictor: Any = None  # detectron2's DefaultPredictor, once loaded
        self._converter: Any = None
        self._digest: str | None = None

    def fingerprint(self) -> str:
        if self._digest is None:
            self._digest = tree_digest(self.weights)
        return make_fingerprint(
            self.kind,
            self.name,
            {"config": tree_digest(self.config), "weights": self._digest},
            code=__name__,
        )

    def load(self) -> None:
        if self._predictor is not None:
            return
        try:
            import torch
            from densepose import add_densepose_config
            from densepose.converters import ToChartResultConverter
            from detectron2.config import get_cfg
            from detectron2.engine import DefaultPredictor
        except ImportError as exc:
            raise Detectron2NotInstalled(
                f"the detectron2 DensePose backend cannot import {exc.name or exc}.\n"
                + INSTALL_STEPS
            ) from exc
        # Registers the chart converters (densepose/__init__ does too in newer versions).
        with contextlib.suppress(ImportError):
            import densepose.converters.builtin  # noqa: F401
        cfg = get_cfg()
        add_densepose_config(cfg)
        cfg.merge_from_file(str(self.config))
        cfg.MODEL.WEIGHTS = str(self.weights)
        cfg.MODEL.DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
        cfg.freeze()
        self._predictor = DefaultPredictor(cfg)
        self._converter = ToChartResultConverter

    def annotate(self, item: Item) -> Sample:
        """DensePose part ids of the highest-scoring person in `item.rgb`.

        Raises AnnotationRejected `no_person` when DensePose detects nobody.
        """
        import torch

        rgb = check_rgb(item.rgb, item.id)
        self.load()
        with torch.no_grad():
            # DefaultPredictor takes BGR (cfg.INPUT.FORMAT) and returns image-sized boxes.
            instances = self._predictor(np.ascontiguousarray(rgb[:, :, ::-1]))["instances"]
        if len(instances) == 0 or not instances.has("pred_densepose"):
            raise AnnotationRejected(
                "no_person",
                f"DensePose detected nobody in {item.id} ({rgb.shape[1]}x{rgb.shape[0]})",
            )
        best = int(instances.scores.argmax())
        person = instances[best : best + 1].to("cpu")
        result = self._converter.convert(person.pred_densepose, person.pred_boxes)
        x0, y0, x1, y1 = person.pred_boxes.tensor[0].tolist()
        # The converter resamples to the integer box (x, y, w, h truncated), as here.
        box = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
        labels = result.labels.cpu().numpy()
        parts = paste_box_labels(labels, box, rgb.shape[:2])
        provenance = {
            "backend": self.name,
            "people": len(instances),
            "score": round(float(instances.scores[best]), 3),
            "box_xywh": list(box),
        }
        return Sample(id=item.id, split=item.split, densepose=parts, provenance=provenance)
