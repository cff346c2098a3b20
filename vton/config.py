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
from typing import Any, Literal, TypeVar

import yaml

from vton.train_config import (  # noqa: F401  the training sections, re-exported
    CatvtonTrain,
    GmmTrain,
    LdmTrain,
    ParallelUNetTrain,
    SpadeTrain,
    SrTrain,
    TocgTrain,
    TomTrain,
    Train,
    TrainData,
    TrainGenerator,
    TrainWarp,
    TryondiffusionTrain,
    UnetSATrain,
    VaeTrain,
)

T = TypeVar("T")


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
class ScrapedSource:
    """The scraper's output folder (`vton scrape SITE --out ROOT`): products -> pairs."""

    root: str = ""
    categories: tuple[str, ...] = ("top", "bottom", "dress")  # products of other ones: rejects
    test_fraction: float = 0.2  # by product, so all photos of one product share a split
    # MediaPipe Pose must find one person on each on-model photo and nobody on the flat-lay
    person_check: bool = True
    convert: bool = True  # convert CMYK / 16-bit / alpha / EXIF-rotated (else reject them)
    min_side: int = 32
    max_pixels: int = 64_000_000


@dataclass(frozen=True)
class DressCodeSource:
    """Import of a DressCode-layout root (per-category folders; splits from its pairs files)."""

    root: str = ""
    categories: tuple[str, ...] = ("upper_body", "lower_body", "dresses")  # those to read
    splits: tuple[str, ...] = ("train", "test")
    limit: int | None = None  # at most this many samples per category and split
    reuse: tuple[str, ...] = ("cloth_mask", "parse", "pose_json", "densepose")


@dataclass(frozen=True)
class Data:
    source: Literal["sample", "vitonhd", "folder", "scraped", "dresscode"] = "sample"
    max_reject_rate: float = 0.5
    sample: SampleSource = field(default_factory=SampleSource)
    vitonhd: VitonHDSource = field(default_factory=VitonHDSource)
    folder: FolderSource = field(default_factory=FolderSource)
    scraped: ScrapedSource = field(default_factory=ScrapedSource)
    dresscode: DressCodeSource = field(default_factory=DressCodeSource)


@dataclass(frozen=True)
class Validate:
    """What `validate` requires of every sample."""

    required: tuple[str, ...] = (
        "image",
        "cloth",
        "cloth_mask",
        "parse",
        "pose_json",
        "pose_img",
        "densepose",
        "agnostic",
        "parse_agnostic",
        "agnostic_mask",
    )
    fail_on_violation: bool = True


@dataclass(frozen=True)
class Annotate:
    """The shared annotation runner (`vton.annotate.runner`): what decides a stage's result."""

    max_reject_rate: float = 0.2  # a stage fails when more samples than this are rejected


@dataclass(frozen=True)
class Run:
    """How a run executes, not what it computes. No DVC stage lists this section and nothing
    of it enters a cache or checkpoint fingerprint: changing it re-runs nothing and resumes
    training where it stopped."""

    annotate_workers: int = 2  # annotation worker processes; 0 runs in the stage's process
    annotate_cache: str = ".cache/vton/annotate"  # (input digest, fingerprint) -> results
    # The Prefect flow (flows/annotate.py): "" runs on local worker processes; a scheduler
    # address (tcp://host:8786) runs on that Dask cluster; "local" starts a LocalCluster.
    # VTON_DASK_ADDRESS in the environment overrides it.
    dask_address: str = ""
    flow_batch: int = 8  # images per Prefect task (a task loads the model once per worker)
    loader_workers: int = 2  # training DataLoader worker processes; 0 loads in the trainer


@dataclass(frozen=True)
class PoseParams:
    backend: Literal["reference", "mediapipe"] = "reference"
    min_confidence: float = 0.05  # points below this visibility are written as missing
    hip_correction: bool = True  # move MediaPipe hips to where OpenPose puts them
    shoulder_correction: bool = True  # and its shoulders (vton/annotate/pose.py)


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
    # auto: each sample's category from the catalog (upper_body when it has none); or one
    # category forced on every sample
    category: Literal["auto", "upper_body", "lower_body", "dresses"] = "auto"


@dataclass(frozen=True)
class QaParams:
    """The HTML contact sheet (`vton report`, the `qa` stage)."""

    per_page: int = 24
    thumb_height: int = 256


@dataclass(frozen=True)
class ExportParams:
    """The drop-in export for a peer codebase (`vton.export`, the `export` stage)."""

    flavor: Literal["hr-viton", "viton-hd", "dresscode"] = "hr-viton"
    category: Literal["upper_body", "lower_body", "dresses"] = "upper_body"  # dresscode only
    # peer: the size the flavour's loader reads (hr-viton, viton-hd: 1024x768; dresscode: the
    # dataset's own); dataset: the dataset's own size, files linked as they are
    size: Literal["peer", "dataset"] = "peer"


@dataclass(frozen=True)
class LpipsParams:
    backbone: str = ""  # local vgg16 state dict, torchvision keys (vgg16-397923af.pth)
    linear: str = ""  # local LPIPS linear-layer weights for VGG (the lpips package's vgg.pth)


@dataclass(frozen=True)
class FidParams:
    # A local TorchScript Inception feature network taking (B, 3, 299, 299) float in
    # [0, 255] and returning (B, D) features, e.g. inception-2015-12-05.pt (clean-fid).
    weights: str = ""
    kid_subset: int = 50  # KID subset size (capped at the number of samples)


@dataclass(frozen=True)
class EvaluateParams:
    device: str = "auto"
    batch_size: int = 8
    grid_samples: int = 8  # rows of the person/cloth/warped/result/truth grid image
    lpips: LpipsParams = field(default_factory=LpipsParams)
    fid: FidParams = field(default_factory=FidParams)
    # the diffusion families' sampling (0 / negative: the trained model's sample_steps,
    # guidance); the noise is drawn from `seed`, so a re-run gives the same images
    sample_steps: int = 0
    guidance: float = -1.0
    seed: int = 0


@dataclass(frozen=True)
class RefreshParams:
    """The scheduled refresh (`flows/refresh.py`): scrape, record, reproduce, push."""

    sites: tuple[str, ...] = ()  # spec names in scraper/sites/ (or spec paths)
    raw: str = "data/raw/scraped"  # the scraped folder, recorded with `dvc add`
    targets: tuple[str, ...] = ()  # `dvc repro` targets (empty: the whole pipeline)
    remote: str = ""  # DVC remote to push to ("": the default remote; none set: no push)
    cron: str = "0 4 * * *"  # when `python -m flows.refresh serve` runs it
    retries: int = 2  # of the network-facing tasks (scrape, push)
    retry_delay_s: float = 30.0


@dataclass(frozen=True)
class ServeParams:
    """The HTTP API (`vton serve`, `vton.infer.api`): limits and the worker pool."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1  # try-ons run at once; each worker holds its own annotators
    queue: int = 8  # requests waiting for a worker beyond those; more get 503
    max_upload_mb: float = 10.0  # whole request body
    max_pixels: int = 25_000_000  # per uploaded image, checked before decoding
    batch_max_pairs: int = 32  # pairs in one POST /batch
    jobs_kept: int = 64  # finished batch jobs kept (their results in memory)


@dataclass(frozen=True)
class InferParams:
    """Try-on of new photos (`vton tryon`, `vton serve`, `vton.infer`)."""

    device: str = "auto"  # auto (CUDA when present) | cpu | cuda | cuda:N
    height: int = 512  # working size: photos are fitted (padded) to it and annotated at it
    width: int = 384
    # trained: the models run at their training size (GMM config) and the result is scaled
    # back up; working: they run at the working size (must divide by 2**tom.depth)
    model_size: Literal["trained", "working"] = "trained"
    paste_back: bool = True  # outside the agnostic mask the result is the photo itself
    # CPU threads of the models' ops (process-wide; 0: torch's default, one per core). One
    # thread avoids OpenMP oversubscription beside the annotator threads on small machines.
    torch_threads: int = 1
    # Backends run on new photos (their other knobs come from the pose/parse/... sections);
    # the agnostic kinds use agnostic.category with the hrviton recipe (auto: upper_body).
    pose: Literal["mediapipe"] = "mediapipe"
    parse: Literal["mediapipe", "segformer", "schp_onnx"] = "mediapipe"
    densepose: Literal["mediapipe", "detectron2"] = "mediapipe"
    cloth_mask: Literal["background", "rembg"] = "background"
    serve: ServeParams = field(default_factory=ServeParams)


@dataclass(frozen=True)
class Params:
    base: Base = field(default_factory=Base)
    data: Data = field(default_factory=Data)
    annotate: Annotate = field(default_factory=Annotate)
    run: Run = field(default_factory=Run)
    pose: PoseParams = field(default_factory=PoseParams)
    parse: ParseParams = field(default_factory=ParseParams)
    densepose: DensePoseParams = field(default_factory=DensePoseParams)
    cloth_mask: ClothMaskParams = field(default_factory=ClothMaskParams)
    agnostic: AgnosticParams = field(default_factory=AgnosticParams)
    qa: QaParams = field(default_factory=QaParams)
    validate: Validate = field(default_factory=Validate)
    export: ExportParams = field(default_factory=ExportParams)
    train: Train = field(default_factory=Train)
    train_warp: TrainWarp = field(default_factory=TrainWarp)
    train_vae: VaeTrain = field(default_factory=VaeTrain)
    train_generator: TrainGenerator = field(default_factory=TrainGenerator)
    train_sr: SrTrain = field(default_factory=SrTrain)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    refresh: RefreshParams = field(default_factory=RefreshParams)
    infer: InferParams = field(default_factory=InferParams)


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping, got {value!r}")
        return _build(typing.cast(type, hint), value, where)
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
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping, got {value!r}")
        key_hint, item_hint = typing.get_args(hint)
        return {
            _convert(k, key_hint, f"{where} key {k!r}"): _convert(v, item_hint, f"{where}.{k}")
            for k, v in value.items()
        }
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
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [k for k in required if k not in raw]
    if missing:
        prefix = f"{where}." if where else ""
        raise ParamsError(
            f"missing key{'s' if len(missing) > 1 else ''} {', '.join(prefix + k for k in missing)}"
        )
    kwargs = {k: _convert(v, hints[k], f"{where}.{k}" if where else k) for k, v in raw.items()}
    return cls(**kwargs)


def build(cls: type[T], raw: dict | None, where: str = "") -> T:
    """Build any dataclass of the kind above from a parsed YAML mapping (other typed YAML
    files use it too, e.g. the scraper's site specs); ParamsError names the key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{where or 'the document'}: expected a mapping, got {raw!r}")
    return _build(cls, raw, where)


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
