"""Conditional PatchGAN discriminator with spectral norm (for the LSGAN term of TOM)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from vton.checks import check_tensor
from vton.models.blocks import ConfigModule
from vton.models.inputs import PERSON_CHANNELS


@dataclass(frozen=True)
class DiscriminatorConfig:
    condition_channels: int = PERSON_CHANNELS
    width: int = 32
    layers: int = 3


def conditional_input(
    image: torch.Tensor, condition: torch.Tensor, condition_channels: int
) -> torch.Tensor:
    """A conditional discriminator's input: image (B, 3, H, W) and condition (B, C, H, W),
    checked to agree, concatenated to (B, 3 + C, H, W)."""
    check_tensor(image, "image", 3)
    check_tensor(
        condition, "condition", condition_channels, batch=image.shape[0], size=image.shape[-2:]
    )
    return torch.cat([image, condition], 1)


class PatchDiscriminator(ConfigModule):
    """forward(image, condition) -> (patch scores (B, 1, h, w), [intermediate features]).

    image: (B, 3, H, W) in [-1, 1]; condition: (B, condition_channels, H, W). The features
    (after each block) serve the feature-matching loss.
    """

    kind = "discriminator"
    config_class = DiscriminatorConfig

    def __init__(self, config: DiscriminatorConfig):
        super().__init__(config)
        c, blocks, channels = config, [], config.condition_channels + 3
        for i in range(c.layers):
            out = c.width * 2 ** min(i, 3)
            blocks.append(
                nn.Sequential(
                    spectral_norm(nn.Conv2d(channels, out, 4, 2, 1)), nn.LeakyReLU(0.2, True)
                )
            )
            channels = out
        blocks.append(
            nn.Sequential(spectral_norm(nn.Conv2d(channels, channels, 3, 1, 1)), nn.LeakyReLU(0.2))
        )
        self.blocks = nn.ModuleList(blocks)
        self.score = spectral_norm(nn.Conv2d(channels, 1, 3, 1, 1))

    def forward(
        self, image: torch.Tensor, condition: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x, features = conditional_input(image, condition, self.config.condition_channels), []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.score(x), features
