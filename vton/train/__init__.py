"""Training of the try-on models: `train_gmm` then `train_tom` (each a DVC stage).

Both read the `train` params, run on the device chosen at run time (CUDA when present, with
mixed precision), under `torchrun` across processes or GPUs with the same code, resume from
their last checkpoint, log metrics and plots with DVCLive and write preview grids. The
result of each is a model directory (`config.json` + `model.safetensors`) that
`vton.models.TryOnPipeline.from_pretrained` loads.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

from vton.config import Params
from vton.models.blocks import WEIGHTS_NAME
from vton.models.gmm import GMM, GMMConfig
from vton.models.tom import TOM, TOMConfig
from vton.train.data import TryOnDataset, dataset_size
from vton.train.loop import SCHEDULE_KEYS, Schedule, dataset_digest, fingerprint, fit
from vton.train.runtime import deterministic, seed_everything, start, stop
from vton.train.tasks import GmmTask, Task, TomTask


def train_size(params: Params, dataset: Path) -> tuple[int, int]:
    """The training (height, width): train.data's, or the dataset's own when 0."""
    d = params.train.data
    if d.height and d.width:
        return d.height, d.width
    if d.height or d.width:
        raise ValueError("set both train.data.height and train.data.width, or neither (0)")
    return dataset_size(dataset)


def _schedule(section) -> Schedule:
    return Schedule(**{f.name: getattr(section, f.name) for f in dataclasses.fields(Schedule)})


def _loss_params(section) -> dict:
    return {k: v for k, v in dataclasses.asdict(section).items() if k not in SCHEDULE_KEYS}


def train_gmm(
    params: Params,
    dataset: str | Path,
    out: str | Path,
    *,
    checkpoints: str | Path | None = None,
    live_dir: str | Path | None = None,
    samples_dir: str | Path | None = None,
) -> dict:
    """Train the GMM on the paired train split of `dataset`; save it to `out`."""
    dataset, t = Path(dataset), params.train
    height, width = train_size(params, dataset)
    config = GMMConfig(
        width=t.gmm.width, levels=t.gmm.levels, grid=t.gmm.grid, height=height, image_width=width
    )
    return _train(
        params,
        dataset,
        (height, width),
        "gmm",
        config,
        t.gmm,
        lambda: GmmTask(GMM(config), t.gmm),
        out,
        checkpoints,
        live_dir,
        samples_dir,
    )


def train_tom(
    params: Params,
    dataset: str | Path,
    gmm_dir: str | Path,
    out: str | Path,
    *,
    checkpoints: str | Path | None = None,
    live_dir: str | Path | None = None,
    samples_dir: str | Path | None = None,
) -> dict:
    """Train the TOM over the frozen GMM saved in `gmm_dir`; save it to `out`."""
    dataset, t = Path(dataset), params.train
    height, width = train_size(params, dataset)
    gmm = GMM.from_pretrained(gmm_dir)
    config = TOMConfig(width=t.tom.width, depth=t.tom.depth, keep_unmasked=t.tom.keep_unmasked)
    weights = (Path(gmm_dir) / WEIGHTS_NAME).read_bytes()
    return _train(
        params,
        dataset,
        (height, width),
        "tom",
        config,
        t.tom,
        lambda: TomTask(TOM(config), gmm, t.tom),
        out,
        checkpoints,
        live_dir,
        samples_dir,
        identity={"gmm": hashlib.sha256(weights).hexdigest(), "size": (height, width)},
    )


def _train(
    params: Params,
    dataset: Path,
    size: tuple[int, int],
    kind: str,
    config,
    section,
    build: Callable[[], Task],
    out: str | Path,
    checkpoints: str | Path | None,
    live_dir: str | Path | None,
    samples_dir: str | Path | None,
    identity: dict | None = None,
) -> dict:
    """Start the runtime, build the task (`build`, after seeding every RNG), fingerprint the
    run (model config, losses, data, seed, dataset and `identity`) and `fit` it, all with
    torch's deterministic kernels."""
    t = params.train
    runtime = start(t.device, t.amp)
    try:
        with deterministic(runtime.device):
            seed_everything(t.seed)
            task = build()
            data = TryOnDataset(dataset, "train", size=size, augment=t.data)
            fp = fingerprint(
                kind=kind,
                model=dataclasses.asdict(config),
                loss=_loss_params(section),
                data=dataclasses.asdict(t.data),
                seed=t.seed,
                dataset=dataset_digest(dataset),
                **(identity or {}),
            )
            return fit(
                task,
                runtime,
                data,
                _schedule(section),
                t.seed,
                fp,
                out=Path(out),
                checkpoints=_path(checkpoints),
                live_dir=_path(live_dir),
                samples_dir=_path(samples_dir),
                loader_workers=params.run.loader_workers,
            )
    finally:
        stop(runtime)


def _path(p: str | Path | None) -> Path | None:
    return None if p is None else Path(p)
