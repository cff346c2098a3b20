"""One-pair try-on on new photos: annotators and models loaded once, run on in-memory images.

`InferencePipeline` turns a person photo and a garment photo ((H, W, 3) uint8 RGB, any
size) into the person wearing the garment:

1. fit: both photos are scaled and padded with white to the working size
   (`infer.height x infer.width`, 3:4), as the folder source does when it builds a dataset;
2. annotate: pose, parse and DensePose of the person and the garment's mask, with the
   backends `infer.*` names (the offline MediaPipe / background defaults), then the
   cloth-agnostic photo, parse and mask (the HR-VITON recipe, `agnostic.category`);
3. inputs: the annotations are written into a per-call temporary dataset in the VITON-HD
   layout and read back with `vton.train.data.load_pair`, the function training reads its
   samples with, so the models see exactly what they saw in training (same encodings, same
   resize, same label grouping) — see `vton.infer.model_io`;
4. models: the family's warp then generator (`vton.families.tryon_model.TryOnModel`: gmm+tom,
   gmm+unet_sa, tocg+spade, whichever the checkpoint holds) on the device, at the training size
   (`infer.model_size: trained`) or at the working size;
5. outputs: every tensor back to (H, W, 3) uint8 at the working size; with
   `infer.paste_back` the result keeps the photo's own pixels outside the agnostic mask
   (the region the model was asked to fill), so face and background stay sharp.

`run` returns a `TryOnResult` with the result, every intermediate image and per-stage
timings. The pipeline is not re-entrant (MediaPipe graphs are stateful): give each thread
its own with `fork()`, which shares the (read-only) torch models.
"""

from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vton.annotate.cloth_mask import FIT_ATTRIBUTE
from vton.config import InferParams, Params
from vton.formats.images import fit_to

MODEL_PARTS = ("warp", "generator")
"""A checkpoint directory holds one folder per model (`data/models/{warp,generator}`)."""
LEGACY_PARTS = ("gmm", "tom")  # checkpoints written before the family registry

INTERMEDIATES = (
    "person",
    "garment",
    "cloth_mask",
    "pose",
    "parse",
    "densepose",
    "agnostic",
    "warped_cloth",
    "warped_mask",
    "rendered",
    "composition_mask",
    "result",
)
"""Names of the images a `TryOnResult` carries, in pipeline order."""


def checkpoint_dirs(checkpoint: str | Path) -> tuple[Path, Path]:
    """(warp_dir, generator_dir) of a checkpoint directory (`warp/` and `generator/`, or the
    older `gmm/` and `tom/`); FileNotFoundError says what is missing."""
    root = Path(checkpoint)
    for parts in (MODEL_PARTS, LEGACY_PARTS):
        dirs = tuple(root / part for part in parts)
        if all((d / "config.json").is_file() for d in dirs):
            return dirs  # type: ignore[return-value]
    missing = [str(root / p / "config.json") for p in MODEL_PARTS]
    missing = [m for m in missing if not Path(m).is_file()]
    raise FileNotFoundError(
        f"checkpoint {root} lacks {', '.join(missing)}: a checkpoint is a folder with warp/ and "
        "generator/ model directories (config.json + model.safetensors) of any family, as "
        "`dvc repro train_generator` writes to data/models or `vton train warp|generator "
        "--out DIR/warp|DIR/generator`"
    )


def load_models(checkpoint: str | Path, device: torch.device):
    """The family model (warp + generator) of a checkpoint directory, in eval mode on `device`."""
    from vton.families.tryon_model import TryOnModel

    warp_dir, generator_dir = checkpoint_dirs(checkpoint)
    return TryOnModel.from_pretrained(warp_dir, generator_dir).to(device).eval()


def resolve_device(name: str) -> torch.device:
    """auto -> CUDA when present, else CPU (the same rule as training)."""
    from vton.train.runtime import resolve_device as train_resolve

    return train_resolve(name)


@dataclass
class TryOnResult:
    """result: (H, W, 3) uint8 RGB at the working size; images: every intermediate by name
    (`INTERMEDIATES`), each (H, W, 3) uint8 RGB; timings: seconds per stage (stages that ran
    in parallel overlap, `total` is the wall time); notes: what the annotators reported."""

    result: np.ndarray
    images: dict[str, np.ndarray]
    timings: dict[str, float]
    notes: dict = field(default_factory=dict)


class Annotators:
    """The person and garment annotators `infer` names, built from their params sections."""

    def __init__(self, params: Params):
        from vton.annotate.agnostic import sample_category
        from vton.annotate.registry import create_annotator

        infer = params.infer
        # a new photo has no catalog row: `auto` is the default category (upper_body)
        self.category = sample_category(params.agnostic.category)[0]
        self.pose = create_annotator("pose", dataclasses.replace(params.pose, backend=infer.pose))
        self.parse = create_annotator(
            "parse", dataclasses.replace(params.parse, backend=infer.parse)
        )
        self.densepose = create_annotator(
            "densepose", dataclasses.replace(params.densepose, backend=infer.densepose)
        )
        self.cloth_mask = create_annotator(
            "cloth_mask", dataclasses.replace(params.cloth_mask, backend=infer.cloth_mask)
        )

    def load(self) -> None:
        for annotator in (self.pose, self.parse, self.densepose, self.cloth_mask):
            annotator.load()

    def close(self) -> None:
        for annotator in (self.pose, self.parse, self.densepose, self.cloth_mask):
            close = getattr(annotator, "close", None)
            if close is not None:
                close()


class InferencePipeline:
    """Annotators + models, loaded once; `run(person, garment)` tries one pair on.

    Build with `from_checkpoint`; `params` supplies `infer` (sizes, backends, device) and
    the annotators' own sections.
    """

    def __init__(self, models, params: Params, device: torch.device, checkpoint: Path | None):
        self.models = models
        self.params = params
        self.infer: InferParams = params.infer
        self.device = device
        self.checkpoint = checkpoint
        self.annotators = Annotators(params)
        self._side = ThreadPoolExecutor(1, thread_name_prefix="vton-garment")
        self.model_size = self._model_size()

    @classmethod
    def from_checkpoint(
        cls, checkpoint: str | Path, params: Params | None = None, device: str | None = None
    ) -> InferencePipeline:
        """Load the models of `checkpoint` (a folder with warp/ and generator/) and the
        annotators."""
        params = params or Params()
        dev = resolve_device(device or params.infer.device)
        if dev.type == "cpu" and params.infer.torch_threads > 0:
            torch.set_num_threads(params.infer.torch_threads)  # see infer.torch_threads
        pipe = cls(load_models(checkpoint, dev), params, dev, Path(checkpoint))
        pipe.annotators.load()
        pipe.warm_up()
        return pipe

    def warm_up(self) -> None:
        """Import the input code (albumentations) and run the models once, so the first
        try-on does not pay for it."""
        import vton.train.data  # noqa: F401

        height, width = self.model_size
        zeros = torch.zeros(1, height, width, dtype=torch.uint8, device=self.device)
        batch = {
            "agnostic": torch.zeros(1, 3, height, width, device=self.device),
            "parse": zeros,
            "parse_agnostic": zeros,
            "parse_agnostic_ids": zeros,
            "densepose": zeros,
            "keypoints": torch.zeros(1, 25, 3, device=self.device),
            "person": torch.zeros(1, 3, height, width, device=self.device),
            "cloth": torch.zeros(1, 3, height, width, device=self.device),
            "cloth_mask": torch.zeros(1, 1, height, width, device=self.device),
            "agnostic_mask": torch.zeros(1, 1, height, width, device=self.device),
        }
        from vton.families.forward import Sampling

        with torch.inference_mode():
            self.models(batch, Sampling(steps=1))  # a diffusion family: one step warms it

    def fork(self) -> InferencePipeline:
        """Another pipeline for another thread: same models, its own annotators."""
        pipe = InferencePipeline(self.models, self.params, self.device, self.checkpoint)
        pipe.annotators.load()
        return pipe

    def close(self) -> None:
        self.annotators.close()
        self._side.shutdown(wait=False)

    def _model_size(self) -> tuple[int, int]:
        infer, step = self.infer, self.models.step
        if infer.height <= 0 or infer.width <= 0:
            raise ValueError(
                f"infer.height/width must be positive, got {infer.height}x{infer.width}"
            )
        size = self.models.size
        if infer.model_size == "trained" and size is not None:
            if abs(infer.height * size[1] - infer.width * size[0]) > 0.02 * infer.width * size[0]:
                raise ValueError(
                    f"infer.height x width {infer.height}x{infer.width} does not have the "
                    f"aspect of the models' training size {size[0]}x{size[1]}; the inputs "
                    "would be stretched. Set infer.height/width to a multiple of it"
                )
            return size
        if infer.height % step or infer.width % step:
            raise ValueError(
                f"infer.model_size: the {self.models.family} models run at "
                f"{infer.height}x{infer.width}, which must divide by {step}; change "
                f"infer.height/width or use trained"
            )
        return infer.height, infer.width

    def info(self) -> dict:
        """What is loaded: checkpoint, device, sizes, model configs, annotator fingerprints."""
        a = self.annotators
        return {
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "device": str(self.device),
            "working_size": [self.infer.height, self.infer.width],
            "model_size": list(self.model_size),
            "family": self.models.family,
            "warp": {"kind": self.models.warp.kind, **dataclasses.asdict(self.models.warp.config)},
            "generator": {
                "kind": self.models.generator.kind,
                **dataclasses.asdict(self.models.generator.config),
            },
            "annotators": {
                name: getattr(a, name).fingerprint()
                for name in ("pose", "parse", "densepose", "cloth_mask")
            },
            "agnostic_category": a.category,
        }

    def run(self, person: np.ndarray, garment: np.ndarray, sampling=None) -> TryOnResult:
        """Try `garment` on `person`, both (H, W, 3) uint8 RGB of any size.

        `sampling` (`vton.families.forward.Sampling`): steps, guidance, seed and progress of
        a diffusion family (None: the model's defaults); the other families ignore it.

        Raises `vton.annotate.base.AnnotationRejected` (reason, detail) when a photo cannot
        be annotated (nobody in it, shoulders not visible, an empty garment mask).
        """
        from vton.annotate.agnostic import make_agnostic
        from vton.annotate.base import Item
        from vton.checks import check_rgb
        from vton.infer.model_io import model_batch, to_images

        check_rgb(person, "person")
        check_rgb(garment, "garment")
        timings: dict[str, float] = {}
        start = time.perf_counter()

        def timed(name: str, fn, *args):
            t0 = time.perf_counter()
            out = fn(*args)
            timings[name] = time.perf_counter() - t0
            return out

        height, width = self.infer.height, self.infer.width
        person_fit, _ = timed("fit", fit_to, person, height, width)
        garment_fit, fit = fit_to(garment, height, width)
        a = self.annotators
        person_item = Item("person", "test", person_fit, Path("person"), {})
        # where the padding is, as ingest's catalog says it (the cloth mask ignores it)
        facts = {FIT_ATTRIBUTE: json.dumps([round(v, 6) for v in fit])}
        garment_item = Item("garment", "test", garment_fit, Path("garment"), {}, {}, facts)

        # The garment's mask and the DensePose run beside the pose and parse (2 cores).
        def side():
            mask = timed("cloth_mask", a.cloth_mask.annotate, garment_item)
            dense = timed("densepose", a.densepose.annotate, person_item)
            return mask, dense

        side_job = self._side.submit(side)
        try:
            pose = timed("pose", a.pose.annotate, person_item)
            parse = timed("parse", a.parse.annotate, person_item)
            agn = timed("agnostic", make_agnostic, person_fit, parse.parse, pose.pose, a.category)
        finally:
            mask, dense = side_job.result()  # waits (and re-raises) even when pose failed
        notes = {
            "pose": pose.provenance,
            "parse": parse.provenance,
            "densepose": dense.provenance,
            "cloth_mask": mask.provenance,
        }
        if agn.notes:
            notes["agnostic"] = list(agn.notes)
        arrays = {
            "person": person_fit,
            "cloth": garment_fit,
            "cloth_mask": mask.cloth_mask,
            "parse": parse.parse,
            "pose": pose.pose,
            "densepose": dense.densepose,
            "agnostic": agn.agnostic,
            "parse_agnostic": agn.parse_agnostic,
            "agnostic_mask": agn.mask,
        }
        batch = timed("inputs", model_batch, arrays, self.model_size, self.device)
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = self.models(batch, sampling)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        timings["models"] = time.perf_counter() - t0
        images = timed("outputs", to_images, arrays, out, (height, width), self.infer.paste_back)
        timings["total"] = time.perf_counter() - start
        return TryOnResult(images["result"], images, timings, notes)
