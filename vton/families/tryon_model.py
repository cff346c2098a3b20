"""A trained family on tensors: the warp then the generator, loaded from two model folders.

    from vton.families.tryon_model import TryOnModel
    model = TryOnModel.from_pretrained("data/models/warp", "data/models/generator").to(device)
    out = model(batch)  # the sample contract of vton.train.data with a batch axis
    out.result          # (B, 3, H, W) in [-1, 1]

Any family (`vton.families.kinds`): the kinds come from the folders' config.json.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple, cast

import torch
from torch import nn

from vton.families.forward import Sampling, run_generator, run_warp
from vton.families.kinds import DIFFUSION, GENERATORS, WARPS, check_pair, load_model
from vton.models.blocks import ConfigModule


class TryOnOutput(NamedTuple):
    result: torch.Tensor  # (B, 3, H, W) in [-1, 1], the person wearing the garment
    warped_cloth: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    warped_mask: torch.Tensor  # (B, 1, H, W) in [0, 1]
    rendered: torch.Tensor  # (B, 3, H, W) in [-1, 1], the generator's image before composition
    mask: torch.Tensor  # (B, 1, H, W) in [0, 1], where the warped garment is used


def size_step(module: ConfigModule) -> int:
    """What the module's input height and width must divide by."""
    c, kind = module.config, module.kind
    if kind == "tom":
        return 2**c.depth
    if kind == "unet_sa":
        return 2**c.downsamplings
    if kind == "tocg":
        return 2**c.levels
    if kind == "spade":
        return 2**c.depth
    if kind == "ldm":  # the VAE's 8, then the U-Net's downsamplings
        return 8 * 2 ** (c.levels - 1)
    if kind == "catvton":
        return 8 * 2 ** (len(c.unet_config["block_out_channels"]) - 1)
    if kind == "tryondiffusion":
        return int(cast(Any, module).step)
    return 1  # gmm resizes its inputs to its own regression size; none reads no size


def trained_size(module: ConfigModule) -> tuple[int, int] | None:
    """The (height, width) a model was trained at, from its config (None: not recorded)."""
    c = module.config
    if module.kind == "gmm":
        return int(c.height), int(c.image_width)
    height, width = getattr(c, "height", 0), getattr(c, "width", 0)
    return (height, width) if height and width else None


class TryOnModel(nn.Module):
    """forward(batch) -> `TryOnOutput`; `warp` and `generator` are any compatible kinds."""

    warp: ConfigModule
    generator: ConfigModule

    def __init__(self, warp: ConfigModule, generator: ConfigModule):
        super().__init__()
        check_pair(warp.kind, generator.kind)
        self.warp, self.generator = warp, generator
        self.sampling = Sampling()  # how a diffusion generator samples (steps, seed, ...)

    @classmethod
    def from_pretrained(cls, warp_dir: str | Path, generator_dir: str | Path) -> TryOnModel:
        """Both models on CPU in eval mode; move with `.to(device)`."""
        warp = load_model(warp_dir, WARPS)
        return cls(warp, load_model(generator_dir, GENERATORS)).eval()

    @property
    def samples(self) -> bool:
        """Whether the generator is a diffusion model (its `sampling` applies)."""
        return self.generator.kind in DIFFUSION

    @property
    def family(self) -> str:
        return f"{self.warp.kind}+{self.generator.kind}"

    @property
    def step(self) -> int:
        """What an input's height and width must divide by."""
        return math.lcm(size_step(self.warp), size_step(self.generator))

    @property
    def size(self) -> tuple[int, int] | None:
        """The training size: the generator's when recorded, else the warp's (a tocg may run
        at a lower size of its own)."""
        return trained_size(self.generator) or trained_size(self.warp)

    @torch.no_grad()
    def forward(
        self, batch: dict[str, torch.Tensor], sampling: Sampling | None = None
    ) -> TryOnOutput:
        """`sampling`: how a diffusion generator samples (None: `self.sampling`)."""
        warped = run_warp(self.warp, batch)
        out = run_generator(self.generator, batch, warped, sampling or self.sampling)
        return TryOnOutput(out.result, warped.cloth, warped.mask, out.rendered, out.mask)
