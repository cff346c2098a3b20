"""Evaluation of a trained family (warp + generator) on the test pairs, against two baselines.

Any family (`vton.families`): the same code, metrics, baselines and size for each.

Paired (each test person with their own garment; the photo is the ground truth): SSIM, PSNR,
L1 and L1 inside the agnostic mask (`l1_mask`, the repainted region) of the try-on result,
of "paste" (the agnostic image with the flat garment pasted where its own, unwarped mask
lies) and of "agnostic" (the agnostic image alone), all by the same code at the same size.
LPIPS when `evaluate.lpips` points at local weights.
Unpaired (each person with another's garment; no ground truth): L1 against the person
outside the agnostic mask (what must stay unchanged), and FID/KID of the results against
the test photos when `evaluate.fid.weights` points at a local feature network. Without
weights the metric is reported absent with the reason; no random network stands in.
`seconds_per_image`: the model's time per try-on (for the diffusion families, sampling with
`evaluate.sample_steps` / `guidance`, noise drawn from `evaluate.seed`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from vton.config import Params
from vton.evaluate import metrics
from vton.evaluate.features import LPIPS, FeatureNet, fid, kid
from vton.families.forward import Sampling
from vton.families.tryon_model import TryOnModel
from vton.formats.images import write_jpeg, write_png
from vton.train.data import TryOnDataset
from vton.train.grid import image_grid, to_uint8
from vton.train.runtime import deterministic, resolve_device

BASELINES = ("paste", "agnostic")


def baselines(batch: dict) -> dict[str, torch.Tensor]:
    """The two reference predictions of a batch, (B, 3, H, W) in [-1, 1]."""
    mask = batch["cloth_mask"]
    return {
        "paste": batch["agnostic"] * (1 - mask) + batch["cloth"] * mask,
        "agnostic": batch["agnostic"],
    }


def _absent(key: str) -> str:
    return f"absent: no local weights ({key} is empty); nothing is downloaded"


def evaluate(
    params: Params,
    dataset: str | Path,
    warp_dir: str | Path,
    generator_dir: str | Path,
    *,
    size: tuple[int, int],
    results_dir: Path | None = None,
    scores_path: Path | None = None,
    grid_path: Path | None = None,
    unpaired_grid_path: Path | None = None,
) -> dict:
    """Run the evaluation at `size` (height, width); returns flat metrics (JSON-ready).

    Deterministic kernels throughout (`vton.train.runtime.deterministic`): the same models
    and data give the same scores, images and grids byte for byte at one thread count.
    """
    device = resolve_device(params.evaluate.device)
    with deterministic(device):
        return _evaluate(
            params,
            Path(dataset),
            Path(warp_dir),
            Path(generator_dir),
            device,
            size,
            results_dir,
            scores_path,
            grid_path,
            unpaired_grid_path,
        )


def _evaluate(
    params: Params,
    dataset: Path,
    warp_dir: Path,
    generator_dir: Path,
    device: torch.device,
    size: tuple[int, int],
    results_dir: Path | None,
    scores_path: Path | None,
    grid_path: Path | None,
    unpaired_grid_path: Path | None,
) -> dict:
    e = params.evaluate
    began = time.perf_counter()
    pipe = TryOnModel.from_pretrained(warp_dir, generator_dir).to(device)
    pipe.sampling = Sampling(
        steps=e.sample_steps,
        guidance=None if e.guidance < 0 else e.guidance,
        seed=e.seed,
    )
    lpips = LPIPS(e.lpips.backbone, e.lpips.linear).to(device) if e.lpips.backbone else None
    if bool(e.lpips.backbone) != bool(e.lpips.linear):
        raise ValueError("set both evaluate.lpips.backbone and evaluate.lpips.linear, or neither")
    features = FeatureNet(e.fid.weights).to(device) if e.fid.weights else None

    if size[0] % pipe.step or size[1] % pipe.step:
        raise ValueError(
            f"evaluation size {size[0]}x{size[1]} must divide by {pipe.step} for {pipe.family}"
        )
    out: dict = {"family": pipe.family, "height": size[0], "width": size[1]}
    paired = TryOnDataset(dataset, "test", size=size)
    loader = DataLoader(paired, batch_size=e.batch_size)
    scores, rows, grid_columns, model_seconds = _paired(pipe, lpips, loader, device, results_dir)
    out |= scores
    out["seconds_per_image"] = round(model_seconds / len(paired), 4)
    out["n_paired"] = len(paired)
    if lpips is None:
        out["lpips"] = _absent("evaluate.lpips.backbone/linear")

    unpaired = TryOnDataset(dataset, "test", unpaired=True, size=size)
    loader = DataLoader(unpaired, batch_size=e.batch_size)
    preserve, fake_features, real_features, unpaired_columns = _unpaired(
        pipe, features, loader, device, results_dir
    )
    out["n_unpaired"] = len(unpaired)
    out["unpaired_preserve_l1"] = round(float(np.mean(preserve["model"])), 5)
    out["baseline_paste_unpaired_preserve_l1"] = round(float(np.mean(preserve["paste"])), 5)
    if features is not None:
        fake, real = np.concatenate(fake_features), np.concatenate(real_features)
        out["unpaired_fid"] = round(fid(fake, real), 4)
        out["unpaired_kid"] = round(kid(fake, real, subset=e.fid.kid_subset), 6)
    else:
        out["unpaired_fid"] = out["unpaired_kid"] = _absent("evaluate.fid.weights")
    out["seconds"] = round(time.perf_counter() - began, 3)

    if scores_path is not None:
        scores_path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(scores_path, index=False, float_format="%.5f")
    if grid_path is not None:
        columns = [torch.cat(c) for c in grid_columns]
        write_png(grid_path, image_grid(columns, rows=e.grid_samples))
    if unpaired_grid_path is not None:
        columns = [torch.cat(c) for c in unpaired_columns]
        write_png(unpaired_grid_path, image_grid(columns, rows=e.grid_samples))
    return out


def _on(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def _paired(
    pipe: TryOnModel,
    lpips: LPIPS | None,
    loader: DataLoader,
    device: torch.device,
    results_dir: Path | None,
) -> tuple[dict[str, float], list[dict], list[list[torch.Tensor]], float]:
    """Score the model and the baselines against each photo: the mean scores, a row of
    scores per sample, the grid's columns (agnostic, cloth, warped, result, photo) and the
    seconds the model took."""
    rows: list[dict] = []
    sums: dict[str, list[float]] = {}
    grid_columns: list[list[torch.Tensor]] = [[] for _ in range(5)]
    seconds = 0.0
    for batch in loader:
        b = _on(batch, device)
        began = time.perf_counter()
        pred = pipe(b)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds += time.perf_counter() - began
        truth = b["person"]
        candidates = {"model": pred.result, **baselines(b)}
        per: dict[str, torch.Tensor] = {}
        for name, image in candidates.items():
            prefix = "" if name == "model" else f"baseline_{name}_"
            per[f"{prefix}ssim"] = metrics.ssim(image, truth)
            per[f"{prefix}psnr"] = metrics.psnr(image, truth)
            per[f"{prefix}l1"] = metrics.l1(image, truth)
            per[f"{prefix}l1_mask"] = metrics.l1(image, truth, b["agnostic_mask"])
            if lpips is not None:
                per[f"{prefix}lpips"] = lpips(image, truth)
        for i, (pid, cid) in enumerate(zip(b["id"], b["cloth_id"], strict=True)):
            rows.append({"id": pid, "cloth_id": cid, **{k: float(v[i]) for k, v in per.items()}})
        for k, v in per.items():
            sums.setdefault(k, []).extend(v.tolist())
        for column, image in zip(
            grid_columns,
            (b["agnostic"], b["cloth"], pred.warped_cloth, pred.result, truth),
            strict=True,
        ):
            column.append(image.cpu())
        if results_dir is not None:
            for pid, image in zip(b["id"], pred.result, strict=True):
                write_jpeg(results_dir / "paired" / f"{pid}.jpg", to_uint8(image))
    scores = {k: round(float(np.mean(v)), 5) for k, v in sums.items()}
    return scores, rows, grid_columns, seconds


def _unpaired(
    pipe: TryOnModel,
    features: FeatureNet | None,
    loader: DataLoader,
    device: torch.device,
    results_dir: Path | None,
) -> tuple[dict[str, list[float]], list[np.ndarray], list[np.ndarray], list[list[torch.Tensor]]]:
    """Each person with another's garment: the preserve L1 of the model and of paste, the
    feature rows of results and photos (when `features`), and the grid's columns."""
    preserve: dict[str, list[float]] = {"model": [], "paste": []}
    fake_features, real_features = [], []
    unpaired_columns: list[list[torch.Tensor]] = [[] for _ in range(4)]
    for batch in loader:
        b = _on(batch, device)
        pred = pipe(b)
        keep = 1 - b["agnostic_mask"]
        preserve["model"] += metrics.l1(pred.result, b["person"], keep).tolist()
        preserve["paste"] += metrics.l1(baselines(b)["paste"], b["person"], keep).tolist()
        if features is not None:
            fake_features.append(features(pred.result).cpu().numpy())
            real_features.append(features(b["person"]).cpu().numpy())
        for column, image in zip(
            unpaired_columns, (b["person"], b["cloth"], pred.warped_cloth, pred.result), strict=True
        ):
            column.append(image.cpu())
        if results_dir is not None:
            for pid, cid, image in zip(b["id"], b["cloth_id"], pred.result, strict=True):
                write_jpeg(results_dir / "unpaired" / f"{pid}__{cid}.jpg", to_uint8(image))
    return preserve, fake_features, real_features, unpaired_columns


def beats_baselines(result: dict) -> dict[str, bool]:
    """Whether the model beats each baseline on SSIM (higher), L1 and L1 inside the mask
    (lower)."""
    return {
        f"beats_{name}_{metric}": (
            result[metric] > result[f"baseline_{name}_{metric}"]
            if metric == "ssim"
            else result[metric] < result[f"baseline_{name}_{metric}"]
        )
        for name in BASELINES
        for metric in ("ssim", "l1", "l1_mask")
    }


__all__ = ["BASELINES", "baselines", "beats_baselines", "evaluate"]
