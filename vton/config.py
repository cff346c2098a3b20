"""Typed loader for `params.yaml`: every knob of a run, nothing else.

Each section is a frozen dataclass. Loading rejects unknown keys and wrong types with the
dotted path of the offending key, so a typo fails the run instead of being ignored.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml


class ParamsError(ValueError):
    """params.yaml does not match the schema; the message names the key."""


@dataclass(frozen=True)
class Base:
    seed: int = 0
    height: int = 256
    width: int = 192


@dataclass(frozen=True)
class SampleSource:
    """The synthetic generator (`vton.sources.sample`)."""

    n_train: int = 32
    n_test: int = 8


@dataclass(frozen=True)
class VitonHDSource:
    """Import of an existing VITON-HD-layout root."""

    root: str = ""
    splits: tuple[str, ...] = ("train", "test")
    limit: int | None = None  # at most this many samples per split, in id order
    reuse: tuple[str, ...] = (
        "cloth_mask",
        "parse",
        "pose_json",
        "pose_img",
        "densepose",
        "agnostic",
        "parse_agnostic",
        "agnostic_mask",
    )


@dataclass(frozen=True)
class FolderSource:
    """A folder of person photos and one of garment photos."""

    persons: str = ""
    garments: str = ""
    # by_name: garment with the same file stem as the person; sorted: i-th with i-th
    pairing: Literal["by_name", "sorted"] = "by_name"
    test_fraction: float = 0.2
    convert: bool = True  # convert CMYK / 16-bit / alpha / EXIF-rotated (else reject them)
    min_side: int = 32
    max_pixels: int = 64_000_000


@dataclass(frozen=True)
class Data:
    source: Literal["sample", "vitonhd", "folder"] = "sample"
    max_reject_rate: float = 0.5
    sample: SampleSource = field(default_factory=SampleSource)
    vitonhd: VitonHDSource = field(default_factory=VitonHDSource)
    folder: FolderSource = field(default_factory=FolderSource)


@dataclass(frozen=True)
class Validate:
    """What `validate` requires of every sample."""

    required: tuple[str, ...] = ("image", "cloth")
    fail_on_violation: bool = True


@dataclass(frozen=True)
class Annotate:
    """The shared annotation runner (`vton.annotate.runner`)."""

    workers: int = 2  # worker processes; 0 runs in this process
    cache_dir: str = ".cache/vton/annotate"  # content-addressed results, outside DVC outputs
    max_reject_rate: float = 0.2  # a stage fails when more samples than this are rejected
    # The Prefect flow (flows/annotate.py): "" runs on local worker processes; a scheduler
    # address (tcp://host:8786) runs on that Dask cluster; "local" starts a LocalCluster.
    # VTON_DASK_ADDRESS in the environment overrides it.
    dask_address: str = ""
    batch: int = 8  # items per Prefect task (a task loads the model once per worker)


@dataclass(frozen=True)
class PoseParams:
    backend: Literal["reference", "mediapipe"] = "reference"
    min_confidence: float = 0.3  # points below this visibility are written as missing
    hip_correction: bool = True  # move MediaPipe hips to where OpenPose puts them


@dataclass(frozen=True)
class SegformerParams:
    model: str = ""  # a local checkpoint directory, or a hub id where online
    label_set: str = "auto"  # auto (from the checkpoint's id2label) or a vton label set name


@dataclass(frozen=True)
class SchpParams:
    model: str = ""  # a local .onnx file (SCHP LIP or ATR export)
    label_set: Literal["lip", "atr"] = "lip"
    input_size: tuple[int, ...] = (473, 473)  # model input (height, width)


@dataclass(frozen=True)
class ParseParams:
    backend: Literal["reference", "mediapipe", "segformer", "schp_onnx"] = "reference"
    segformer: SegformerParams = field(default_factory=SegformerParams)
    schp_onnx: SchpParams = field(default_factory=SchpParams)


@dataclass(frozen=True)
class Detectron2Params:
    config: str = ""  # DensePose R50-FPN config yaml (from detectron2's projects/DensePose)
    weights: str = ""  # its model_final_*.pkl


@dataclass(frozen=True)
class DensePoseParams:
    backend: Literal["reference", "mediapipe", "detectron2"] = "reference"
    detectron2: Detectron2Params = field(default_factory=Detectron2Params)


@dataclass(frozen=True)
class BackgroundMaskParams:
    """Classical garment masks for product photos on a plain backdrop."""

    border: float = 0.02  # width of the image border that samples the backdrop (fraction)
    tolerance: float = 0.0  # colour distance from the backdrop that counts as garment; 0: auto
    smooth: float = 0.004  # morphological closing radius (fraction of the image diagonal)


@dataclass(frozen=True)
class RembgParams:
    model: str = ""  # a local .onnx: u2net, u2netp, u2net_cloth_seg or isnet (rembg's models)
    post_process: bool = True  # rembg's mask post-processing (morphology + blur)


@dataclass(frozen=True)
class ClothMaskParams:
    backend: Literal["reference", "background", "rembg"] = "reference"
    background: BackgroundMaskParams = field(default_factory=BackgroundMaskParams)
    rembg: RembgParams = field(default_factory=RembgParams)


@dataclass(frozen=True)
class AgnosticParams:
    """Cloth-agnostic person representations (from the parse and the BODY_25 keypoints)."""

    backend: Literal["reference", "hrviton"] = "hrviton"  # hrviton: the HR-VITON recipe
    category: Literal["upper_body", "lower_body", "dresses"] = "upper_body"


@dataclass(frozen=True)
class QaParams:
    """The HTML contact sheet (`vton report`, the `qa` stage)."""

    per_page: int = 24
    thumb_height: int = 256


@dataclass(frozen=True)
class Params:
    base: Base = field(default_factory=Base)
    data: Data = field(default_factory=Data)
    annotate: Annotate = field(default_factory=Annotate)
    pose: PoseParams = field(default_factory=PoseParams)
    parse: ParseParams = field(default_factory=ParseParams)
    densepose: DensePoseParams = field(default_factory=DensePoseParams)
    cloth_mask: ClothMaskParams = field(default_factory=ClothMaskParams)
    agnostic: AgnosticParams = field(default_factory=AgnosticParams)
    qa: QaParams = field(default_factory=QaParams)
    validate: Validate = field(default_factory=Validate)


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping, got {value!r}")
        return _build(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except ParamsError as exc:
                errors.append(str(exc))
        raise ParamsError(errors[0])
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ParamsError(f"{where}: must be one of {list(allowed)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ParamsError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(hint)[:1]
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool):
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise ParamsError(f"{where}: expected {hint.__name__}, got {value!r}")
        return value
    raise ParamsError(f"{where}: unsupported type {hint}")  # a schema bug, not user input


def _build(cls: type, raw: dict, where: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ParamsError(
            f"unknown key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(prefix + k for k in unknown)}; "
            f"allowed under {where or 'the top level'}: {', '.join(sorted(names))}"
        )
    kwargs = {k: _convert(v, hints[k], f"{where}.{k}" if where else k) for k, v in raw.items()}
    return cls(**kwargs)


def parse_params(raw: dict | None) -> Params:
    """Build `Params` from a parsed YAML mapping; raises ParamsError on any mismatch."""
    params = _build(Params, raw or {}, "")
    base = params.base
    if base.height <= 0 or base.width <= 0 or abs(base.height * 3 - base.width * 4) > 4:
        raise ParamsError(
            f"base.height/base.width must be positive with a 4:3 aspect (VITON-HD is "
            f"1024x768), got {base.height}x{base.width}"
        )
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    """Load and check params.yaml."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return parse_params(raw)
    except ParamsError as exc:
        raise ParamsError(f"{path}: {exc}") from None
