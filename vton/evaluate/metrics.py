"""Per-sample image metrics on (B, 3, H, W) images in [-1, 1], computed in [0, 1] units.

SSIM (Gaussian window 11, sigma 1.5, torchmetrics), PSNR (data range 1) and L1 (mean
absolute difference) are exact and need no weights. LPIPS and FID/KID need feature
networks and live in `vton.evaluate.features`; they run only from local weight files.
"""

from __future__ import annotations

from typing import cast

import torch
from torchmetrics.functional.image import structural_similarity_index_measure


def _unit(x: torch.Tensor) -> torch.Tensor:
    return ((x.float() + 1) / 2).clamp(0, 1)


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B,) SSIM of each pair."""
    # torchmetrics types the result as a tensor or a (tensor, full image) pair; without
    # return_full_image it is the tensor
    return cast(
        torch.Tensor,
        structural_similarity_index_measure(
            _unit(pred), _unit(target), data_range=1.0, reduction="none"
        ),
    )


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B,) PSNR in dB of each pair (capped at 100 dB for identical images)."""
    mse = ((_unit(pred) - _unit(target)) ** 2).flatten(1).mean(1)
    return (10 * torch.log10(1.0 / mse.clamp_min(1e-10))).clamp(max=100.0)


def l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """(B,) mean absolute difference; with a (B, 1, H, W) mask, over the masked pixels only."""
    diff = (_unit(pred) - _unit(target)).abs()
    if mask is None:
        return diff.flatten(1).mean(1)
    weight = mask.float().expand_as(diff)
    return (diff * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(1.0)
