"""The `segformer` parse backend: any SegFormer human-parsing checkpoint, through transformers.

`parse.segformer.model` is a local checkpoint directory (config.json, weights and
preprocessor_config.json, as `save_pretrained` writes them) or a hub id such as
`mattmdjaga/segformer_b2_clothes` (ATR's 18 labels), `yolo12138/segformer-b2-human-parse-24`
or `fashn-ai/fashn-human-parser`. A hub id resolves only from the local Hugging Face cache
unless the user turns HF_HUB_OFFLINE off before importing vton.

The label set is read from the checkpoint's own `config.id2label` names
(`identify_label_set`), or forced with `parse.segformer.label_set`. The checkpoint's image
processor does the resizing and normalisation; the logits are upsampled bilinearly to the
photo's size before the argmax (as transformers' `post_process_semantic_segmentation`
does), then `finish_parse` maps them to VITON-HD ids, splits side-less labels at the body
midline and synthesises the neck for sets without one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from vton.annotate.base import ANNOTATION_KINDS, Item, MissingWeights, make_fingerprint
from vton.annotate.parse.neck import check_rgb, finish_parse
from vton.fileio import tree_digest
from vton.formats.labels import LABEL_SETS, identify_label_set
from vton.records import Sample

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
"""`owner/name`; anything else that does not exist on disk is a missing path."""


def resolve_checkpoint(model: str) -> tuple[Path | None, str]:
    """`parse.segformer.model` -> (local directory or None for a hub id, the id string).

    Raises MissingWeights when the key is empty or names a path that does not exist.
    """
    if not model:
        raise MissingWeights(
            "the segformer parse backend needs a checkpoint: set parse.segformer.model in "
            "params.yaml to a local SegFormer directory (config.json, model.safetensors, "
            "preprocessor_config.json) or a hub id such as mattmdjaga/segformer_b2_clothes"
        )
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise MissingWeights(
                f"parse.segformer.model = {model!r} is a file; it must be the checkpoint's "
                "directory (the one holding config.json)"
            )
        return path, model
    if _HUB_ID.match(model) and not model.startswith("."):
        return None, model
    raise MissingWeights(
        f"parse.segformer.model = {model!r}: the path {path} does not exist. Point it at a "
        "SegFormer checkpoint directory, or use a hub id (owner/name)"
    )


class SegformerParser:
    """Human parsing with a SegFormer checkpoint; `annotate` fills `Sample.parse`.

    `landmarks` (default on) lets MediaPipe place the chin and the body midline; off, both
    are estimated from the labels (see `vton.annotate.parse.neck`).
    """

    name = "segformer"

    def __init__(self, kind: str, section: Any, *, landmarks: bool = True):
        self.kind = kind
        self.outputs = ANNOTATION_KINDS[kind].outputs
        self.params = section.segformer
        self.landmarks = landmarks
        self.local, self.model_id = resolve_checkpoint(self.params.model)
        self._digest: str | None = None
        self._model: Any = None  # loaded lazily (transformers, torch)
        self._processor: Any = None
        self._device: Any = None
        self._mp: Any = None
        self.label_set: str | None = None

    def fingerprint(self) -> str:
        if self._digest is None:
            self._digest = tree_digest(self.local) if self.local else f"hub:{self.model_id}"
        return make_fingerprint(
            self.kind,
            self.name,
            self.params,
            weights=self._digest,
            landmarks=self.landmarks,
            code=__name__,
        )

    def load(self) -> None:
        """Import transformers, load model and processor, pick the device (CUDA if any)."""
        if self.landmarks and self._mp is None:
            from vton.annotate.mediapipe_models import MediaPipeModels

            self._mp = MediaPipeModels()
        if self._model is not None:
            return
        import torch
        from transformers import AutoImageProcessor, AutoModelForSemanticSegmentation

        source = str(self.local) if self.local else self.model_id
        if self.local is not None and not (self.local / "config.json").is_file():
            raise MissingWeights(
                f"parse.segformer.model = {source!r} has no config.json; it must be a "
                "checkpoint directory written by save_pretrained (config.json, "
                "model.safetensors, preprocessor_config.json)"
            )
        try:
            model = AutoModelForSemanticSegmentation.from_pretrained(source)
        except OSError as exc:
            raise MissingWeights(self._load_failure(source, exc)) from exc
        try:
            processor = AutoImageProcessor.from_pretrained(source)
        except OSError as exc:
            raise MissingWeights(
                f"{source}: the checkpoint has no usable image processor config "
                f"(preprocessor_config.json): {exc}. Save the processor beside the weights "
                "(processor.save_pretrained(dir))"
            ) from exc
        self.label_set = self._pick_label_set(model.config)
        self._device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self._model = model.to(self._device).eval()
        self._processor = processor

    def _load_failure(self, source: str, exc: Exception) -> str:
        if self.local is None:
            offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "false", "")
            how = "vton runs offline (HF_HUB_OFFLINE=1)" if offline else "the hub was unreachable"
            return (
                f"parse.segformer.model = {source!r} is not in the local Hugging Face cache "
                f"and {how}: {exc}. Download it where you are "
                f"online (`hf download {source}`) and set HF_HOME, or save it to a directory "
                "and set parse.segformer.model to that path (read as a path, "
                f"{Path(source).resolve()} does not exist)"
            )
        return (
            f"parse.segformer.model = {source!r} is not a loadable checkpoint directory "
            f"(expected config.json and model weights from save_pretrained): {exc}"
        )

    def _pick_label_set(self, config: Any) -> str:
        id2label = dict(getattr(config, "id2label", None) or {})
        wanted = self.params.label_set
        if wanted == "auto":
            try:
                return identify_label_set(id2label)
            except ValueError as exc:
                raise ValueError(
                    f"{self.model_id}: cannot tell the label set from config.id2label: {exc} "
                    "(the param is parse.segformer.label_set)"
                ) from None
        if wanted not in LABEL_SETS:
            raise ValueError(
                f"parse.segformer.label_set = {wanted!r} is not a label set; choose auto or "
                f"one of {', '.join(LABEL_SETS)}"
            )
        expected = len(LABEL_SETS[wanted][0])
        if config.num_labels != expected:
            raise ValueError(
                f"parse.segformer.label_set = {wanted!r} has {expected} labels but "
                f"{self.model_id} predicts {config.num_labels}"
            )
        return wanted

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (H, W) int64 ids of the checkpoint's own label set."""
        import torch

        check_rgb(rgb, "segformer input")
        self.load()
        inputs = self._processor(images=rgb, return_tensors="pt")
        pixels = inputs["pixel_values"].to(self._device)
        with torch.inference_mode():
            logits = self._model(pixel_values=pixels).logits  # (1, C, h, w)
            logits = torch.nn.functional.interpolate(
                logits, size=rgb.shape[:2], mode="bilinear", align_corners=False
            )
            return logits.argmax(dim=1)[0].cpu().numpy()

    def annotate(self, item: Item) -> Sample:
        check_rgb(item.rgb, item.id)
        source = self.predict(item.rgb)
        assert self.label_set is not None  # predict() loaded the model and its label set
        parse, notes = finish_parse(source, self.label_set, item.rgb, self._mp)
        notes.update(backend=self.name, model=self.model_id, device=str(self._device))
        return Sample(id=item.id, split=item.split, parse=parse, provenance=notes)

    def close(self) -> None:
        """Release the MediaPipe graphs (the model itself is freed with the instance)."""
        if self._mp is not None:
            self._mp.close()
            self._mp = None
