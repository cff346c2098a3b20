"""The `rembg` cloth-mask backend: rembg's own mask from a local model file
(`cloth_mask.rembg.model`); never a download.

The session kind is read from the model's input/output signature: u2net, u2netp and other
320x320 single-mask models (rembg's `u2net_custom`), IS-Net/DIS and BEN 1024x1024 models
(`dis_custom`), and `u2net_cloth_seg` (768x768, four classes: the mask is the union of its
upper, lower and full-body classes). One session per worker, CUDA when onnxruntime has it,
else CPU. The mask must cover 2-95 % of the image, as the `background` backend's.
"""

from __future__ import annotations

import re
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
from vton.annotate.cloth_mask import MAX_AREA, MIN_AREA
from vton.checks import check_rgb
from vton.fileio import tree_digest
from vton.records import Sample

_MODEL_KEY = "cloth_mask.rembg.model"
_MODELS_URL = "https://github.com/danielgatis/rembg/releases"

SESSIONS = ("u2net_custom", "dis_custom", "u2net_cloth_seg")
"""The rembg session kinds this backend can drive from a local model file."""

_SIZE_SESSION = {320: "u2net_custom", 1024: "dis_custom", 768: "u2net_cloth_seg"}


def _dims(value_info: Any) -> list[int | None]:
    return [
        d.dim_value if d.HasField("dim_value") else None
        for d in value_info.type.tensor_type.shape.dim
    ]


def detect_session(path: str | Path) -> str:
    """The rembg session kind for an .onnx file, from its signature or else its name.

    A fixed input of 320 (u2net, u2netp, silueta) -> `u2net_custom`; 1024 (IS-Net, BEN)
    -> `dis_custom`; a 4-channel output (768 input) -> `u2net_cloth_seg`. With dynamic
    sizes the file name decides (`cloth`, `isnet`/`dis`/`ben`, else u2net). Raises
    MissingWeights for a model none of these sessions can feed.
    """
    import onnx

    path = Path(path)
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as exc:  # onnx raises its own DecodeError and friends
        raise MissingWeights(
            f"{_MODEL_KEY} = {str(path)!r} is not a readable ONNX model ({exc}); point it at "
            f"one of rembg's .onnx files ({_MODELS_URL})"
        ) from exc
    initializers = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if not inputs or not graph.output:
        raise MissingWeights(f"{_MODEL_KEY} = {str(path)!r}: the ONNX graph has no input/output")
    in_dims = _dims(inputs[0])
    out_dims = _dims(graph.output[0])
    channels = out_dims[1] if len(out_dims) == 4 else None
    side = in_dims[2] if len(in_dims) == 4 and in_dims[2] == in_dims[3] else None
    if channels == 4:
        return "u2net_cloth_seg"
    if channels not in (None, 1):
        raise MissingWeights(
            f"{_MODEL_KEY} = {str(path)!r}: its first output has {channels} channels; "
            "supported are single-mask models (1) and u2net_cloth_seg (4)"
        )
    if side is not None:
        if side in _SIZE_SESSION and _SIZE_SESSION[side] != "u2net_cloth_seg":
            return _SIZE_SESSION[side]
        raise MissingWeights(
            f"{_MODEL_KEY} = {str(path)!r}: input {in_dims}; rembg's custom sessions feed "
            "320x320 (u2net, u2netp) or 1024x1024 (IS-Net, BEN) single-mask models"
        )
    stem = path.stem.lower()
    if "cloth" in stem:
        return "u2net_cloth_seg"
    if re.search(r"isnet|dis|ben", stem):
        return "dis_custom"
    return "u2net_custom"


class RembgClothMask:
    """Garment masks from a rembg model in a local .onnx file (`cloth_mask.rembg.model`).

    `post_process` applies rembg's mask post-processing (opening + blur); the mask is the
    model's output at >= 50 %. Raises MissingWeights when the key is empty or the file
    is missing.
    """

    name = "rembg"

    def __init__(self, kind: str = "cloth_mask", section: Any = None):
        self.kind = kind
        self.outputs = outputs_of(self, kind, "cloth_mask")
        params = getattr(section, "rembg", None)
        model = str(getattr(params, "model", "") or "")
        self.post_process = bool(getattr(params, "post_process", True))
        if not model:
            raise MissingWeights(
                f"cloth_mask.backend is rembg but {_MODEL_KEY} is empty in params.yaml; set "
                f"it to a local rembg model (u2net.onnx, u2netp.onnx, isnet-general-use.onnx "
                f"or u2net_cloth_seg.onnx from {_MODELS_URL}), or set cloth_mask.backend to "
                "background"
            )
        path = Path(model).expanduser()
        if not path.is_file():
            raise MissingWeights(
                f"{_MODEL_KEY} = {model!r}: {path} is not a file; download the model "
                f"({_MODELS_URL}) and fix params.yaml"
            )
        self.model = path
        self.session_kind: str | None = None
        self._session: Any = None
        self._digest: str | None = None

    def fingerprint(self) -> str:
        if self._digest is None:
            self._digest = tree_digest(self.model)
        return make_fingerprint(
            self.kind,
            self.name,
            {"weights": self._digest, "post_process": self.post_process},
            code=__name__,
        )

    def load(self) -> None:
        """Open one rembg session on the model (CUDA when onnxruntime has it, else CPU)."""
        if self._session is not None:
            return
        import onnxruntime as ort
        from rembg import new_session
        from rembg.sessions.u2net_cloth_seg import Unet2ClothSession

        kind = detect_session(self.model)
        providers = ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        path = str(self.model.resolve())
        if kind == "u2net_cloth_seg":
            # rembg has no custom session for it: its class downloads to a fixed place, so
            # a subclass hands it the local file instead.
            class LocalClothSeg(Unet2ClothSession):
                @classmethod
                def download_models(cls, *args: Any, **kwargs: Any) -> str:
                    return path

            self._session = LocalClothSeg(kind, ort.SessionOptions(), providers=providers)
        else:
            self._session = new_session(kind, model_path=path, providers=providers)
        self.session_kind = kind

    def annotate(self, item: Item) -> Sample:
        """The garment mask of `item.rgb`. Rejects `empty_mask` / `mask_fills_image`."""
        from PIL import Image
        from rembg import remove

        rgb = check_rgb(item.rgb, item.id)
        self.load()
        height, width = rgb.shape[:2]
        with np.errstate(invalid="ignore", divide="ignore"):  # a flat output divides 0 by 0
            out = remove(
                Image.fromarray(rgb),
                session=self._session,
                only_mask=True,
                post_process_mask=self.post_process,
            )
        grey = np.asarray(out.convert("L") if hasattr(out, "convert") else out)
        if grey.shape[0] == 3 * height and self.session_kind == "u2net_cloth_seg":
            # upper, lower and full-body class masks, stacked vertically by rembg
            grey = grey.reshape(3, height, width).max(axis=0)
        if grey.shape != (height, width):
            raise RuntimeError(
                f"{item.id}: rembg returned a {grey.shape} mask for a {width}x{height} image"
            )
        mask = grey >= 128
        area = float(mask.mean())
        if area < MIN_AREA:
            raise AnnotationRejected(
                "empty_mask",
                f"rembg ({self.model.name}) found no garment in {item.id}: mask covers "
                f"{area:.2%} of the image",
            )
        if area > MAX_AREA:
            raise AnnotationRejected(
                "mask_fills_image",
                f"rembg ({self.model.name}) marked {area:.0%} of {item.id} as garment",
            )
        return Sample(
            id=item.id,
            split=item.split,
            cloth_mask=mask,
            provenance={
                "session": self.session_kind,
                "model": self.model.name,
                "area": round(area, 4),
            },
        )
