"""Try-on module: a U-Net that renders the person wearing the warped garment.

Input: the person representation (`vton.models.inputs`) and the GMM's warped garment and
mask. Output: a rendered person and a composition mask; the result blends the warped
garment in where the mask is on: `result = warped * mask + rendered * (1 - mask)`. With
`keep_unmasked` (the default) and the agnostic mask given, pixels outside the agnostic mask
are the agnostic photo's own: only the region the garment may cover is generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from vton.checks import check_tensor
from vton.models.blocks import ConfigModule, conv_block
from vton.models.inputs import PERSON_CHANNELS


@dataclass(frozen=True)
class TOMConfig:
    person_channels: int = PERSON_CHANNELS
    width: int = 16
    depth: int = 4
    keep_unmasked: bool = True  # outside the agnostic mask the result is the agnostic photo


class TOMOutput(NamedTuple):
    result: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    rendered: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    mask: torch.Tensor  # (B, 1, H, W) in [0, 1], composition weight of the warped garment


class TOM(ConfigModule):
    """U-Net generator.

    forward(person, warped_cloth, warped_mask, agnostic_mask=None):
      person: (B, person_channels, H, W) float, its first 3 channels the agnostic photo;
      warped_cloth: (B, 3, H, W) in [-1, 1]; warped_mask: (B, 1, H, W) in [0, 1];
      agnostic_mask: (B, 1, H, W) in {0, 1}, required when config.keep_unmasked.
      H and W must be divisible by 2**depth.
    """

    kind = "tom"
    config_class = TOMConfig

    def __init__(self, config: TOMConfig):
        super().__init__(config)
        c = config
        widths = [c.width * 2 ** min(i, 3) for i in range(c.depth + 1)]
        self.stem = conv_block(c.person_channels + 4, widths[0])
        self.down = nn.ModuleList(
            nn.Sequential(
                conv_block(widths[i], widths[i + 1], stride=2),
                conv_block(widths[i + 1], widths[i + 1]),
            )
            for i in range(c.depth)
        )
        self.up = nn.ModuleList(
            nn.Sequential(
                conv_block(widths[i + 1] + widths[i], widths[i]), conv_block(widths[i], widths[i])
            )
            for i in reversed(range(c.depth))
        )
        self.head = nn.Conv2d(widths[0], 4, 3, 1, 1)

    def forward(
        self,
        person: torch.Tensor,
        warped_cloth: torch.Tensor,
        warped_mask: torch.Tensor,
        agnostic_mask: torch.Tensor | None = None,
    ) -> TOMOutput:
        c = self.config
        check_tensor(person, "person", c.person_channels)
        batch, size = person.shape[0], tuple(person.shape[-2:])
        check_tensor(warped_cloth, "warped_cloth", 3, batch=batch, size=size)
        check_tensor(warped_mask, "warped_mask", 1, batch=batch, size=size)
        if c.keep_unmasked:
            if agnostic_mask is None:
                raise ValueError(
                    "this TOM keeps the photo outside the agnostic mask (keep_unmasked): pass "
                    "agnostic_mask (B, 1, H, W)"
                )
            check_tensor(agnostic_mask, "agnostic_mask", 1, batch=batch, size=size)
        if size[0] % 2**c.depth or size[1] % 2**c.depth:
            raise ValueError(
                f"tom input {size[0]}x{size[1]} must be divisible by 2**depth = {2**c.depth}; "
                f"resize the inputs or lower train_generator.tom.depth"
            )
        x = self.stem(torch.cat([person, warped_cloth, warped_mask], 1))
        skips = [x]
        for block in self.down:
            x = block(x)
            skips.append(x)
        skips.pop()
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], 1))
        out = self.head(x).float()
        rendered = torch.tanh(out[:, :3])
        mask = torch.sigmoid(out[:, 3:])
        result = warped_cloth.float() * mask + rendered * (1 - mask)
        if c.keep_unmasked and agnostic_mask is not None:
            inside = agnostic_mask.float()
            result = result * inside + person[:, :3].float() * (1 - inside)
        return TOMOutput(result, rendered, mask)
