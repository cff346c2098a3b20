"""Losses of the two models: warping, perceptual/style, mask regularisation, LSGAN."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from vton.models.vgg import VGGFeatures


def _total(terms: Iterable[torch.Tensor]) -> torch.Tensor:
    """The sum of loss terms (Python's `sum`, typed: it starts from 0, as `sum` does)."""
    return cast(torch.Tensor, sum(terms))


# pix2pixHD's weighting of the five VGG levels: deeper features count more.
LEVEL_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


def gram(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C) normalised Gram matrix."""
    _, c, h, w = x.shape
    f = x.flatten(2)
    return f @ f.transpose(1, 2) / (c * h * w)


class PerceptualLoss(nn.Module):
    """VGG feature L1 (perceptual) and Gram L1 (style) between two (B, 3, H, W) in [-1, 1]."""

    def __init__(self, vgg: VGGFeatures):
        super().__init__()
        self.vgg = vgg
        self.weights = LEVEL_WEIGHTS[-len(vgg.channels) :]

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fx = self.vgg(x.float())
        with torch.no_grad():
            fy = self.vgg(y.float())
        perceptual = _total(
            w * F.l1_loss(a, b) for w, a, b in zip(self.weights, fx, fy, strict=True)
        )
        style = _total(
            w * F.l1_loss(gram(a), gram(b)) for w, a, b in zip(self.weights, fx, fy, strict=True)
        )
        return perceptual, style


def lsgan_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Least-squares discriminator loss: real patches to 1, fake to 0."""
    return 0.5 * ((real.float() - 1) ** 2).mean() + 0.5 * (fake.float() ** 2).mean()


def lsgan_g(fake: torch.Tensor) -> torch.Tensor:
    return ((fake.float() - 1) ** 2).mean()


def feature_matching(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    """L1 between discriminator features of the real and the generated image."""
    terms = (F.l1_loss(f.float(), r.detach().float()) for r, f in zip(real, fake, strict=True))
    return _total(terms) / len(real)
