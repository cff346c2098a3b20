"""TryOnDiffusion's Parallel-UNet: a person U-Net and a garment U-Net run side by side.

  person U-Net   over [noisy image z_t (3), clothing-agnostic image (3), and for the
                 super-resolution stage the upsampled low-resolution try-on (3)]
  garment U-Net  over the segmented garment (3); its features at each attention level are
                 the keys and values of the person U-Net's cross-attention at that level
  pose           person and garment keypoints (18 x 2 each, in [0, 1]) -> linear -> a small
                 transformer -> tokens, which (a) join the keys and values of every
                 self-attention and (b) are attention-pooled into a vector added to the time
                 embedding, so they FiLM every residual block

Residual blocks are FiLM-conditioned (scale and shift of the second group norm) by the sum
of the embeddings of the diffusion time, the noise-augmentation level of the conditioning
images, and the pooled pose. Self- and cross-attention run only at the lowest
`attention_levels` levels (the design: the two lowest of the base, the lowest of the SR).

`forward(..., cross_attention=False)` skips the garment U-Net: the person output then does
not depend on the garment at all. `keep` (B,) bool drops the garment and both poses where
False (classifier-free guidance): the garment image is zeroed and the poses replaced by a
learned null embedding; the noisy image, the agnostic image and the low-resolution input
are never dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from vton.checks import check_tensor
from vton.models.blocks import ConfigModule

POSE_POINTS = 18  # COCO-18


@dataclass(frozen=True)
class ParallelUNetConfig:
    channels: tuple[int, ...] = (32, 64, 128)  # per level, full resolution first
    blocks: tuple[int, ...] = (1, 1, 2)  # residual blocks per level
    attention_levels: int = 2  # the lowest N levels attend (self + cross)
    heads: int = 4
    dim_head: int = 16
    cond_dim: int = 128  # the time / FiLM embedding
    pose_dim: int = 64  # pose tokens
    pose_depth: int = 2  # transformer layers over the pose tokens
    lowres: bool = False  # super-resolution: the upsampled low-resolution image as input
    height: int = 0  # the size it was trained at (0: not recorded)
    width: int = 0

    def check(self) -> None:
        if len(self.channels) != len(self.blocks) or not self.channels:
            raise ValueError(
                f"channels {self.channels} and blocks {self.blocks} need one entry per level"
            )
        if not 1 <= self.attention_levels <= len(self.channels):
            raise ValueError(
                f"attention_levels must be in [1, {len(self.channels)}], got "
                f"{self.attention_levels}"
            )

    @property
    def step(self) -> int:
        """What an input's height and width must divide by."""
        return 2 ** (len(self.channels) - 1)


def _groups(channels: int) -> int:
    return math.gcd(channels, 8)


def sinusoidal(x: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,) floats in [0, 1] -> (B, dim) sinusoidal features of 1000 x."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=x.device) / half)
    angles = 1000.0 * x.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], 1)


class Embedding(nn.Module):
    """(B,) level in [0, 1] -> (B, dim): sinusoidal features then an MLP."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal(x, self.dim))


class FiLMBlock(nn.Module):
    """GN-SiLU-conv, GN, FiLM (scale, shift from the conditioning vector), SiLU-conv, + skip."""

    def __init__(self, cin: int, cout: int, cond_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.film = nn.Linear(cond_dim, 2 * cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(F.silu(cond))[:, :, None, None].chunk(2, 1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(F.silu(h))


class Attention(nn.Module):
    """Multi-head attention of `x` tokens over `context` tokens (both (B, N, dim))."""

    def __init__(self, dim: int, context_dim: int, heads: int, dim_head: int):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.q = nn.Linear(dim, inner, bias=False)
        self.kv = nn.Linear(context_dim, 2 * inner, bias=False)
        self.out = nn.Linear(inner, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q = self.q(x).view(b, n, self.heads, -1).transpose(1, 2)
        k, v = self.kv(context).chunk(2, -1)
        k = k.reshape(b, context.shape[1], self.heads, -1).transpose(1, 2)
        v = v.reshape(b, context.shape[1], self.heads, -1).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.out(out.transpose(1, 2).reshape(b, n, -1))


class AttentionBlock(nn.Module):
    """Self-attention (keys and values: the feature map's tokens and the pose tokens),
    cross-attention to the garment's tokens at this level (when given), a feed-forward."""

    def __init__(self, dim: int, pose_dim: int, heads: int, dim_head: int):
        super().__init__()
        self.norm_self = nn.LayerNorm(dim)
        self.pose = nn.Linear(pose_dim, dim)
        self.self_attn = Attention(dim, dim, heads, dim_head)
        self.norm_cross = nn.LayerNorm(dim)
        self.norm_garment = nn.LayerNorm(dim)
        self.cross_attn = Attention(dim, dim, heads, dim_head)
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(
        self, x: torch.Tensor, pose: torch.Tensor, garment: torch.Tensor | None
    ) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        normed = self.norm_self(tokens)
        tokens = tokens + self.self_attn(normed, torch.cat([normed, self.pose(pose)], 1))
        if garment is not None:
            context = self.norm_garment(garment.flatten(2).transpose(1, 2))
            tokens = tokens + self.cross_attn(self.norm_cross(tokens), context)
        tokens = tokens + self.ff(self.norm_ff(tokens))
        return tokens.transpose(1, 2).reshape(b, c, h, w)


class Level(nn.Module):
    """One level of a U-Net path: FiLM blocks, each followed by an attention block when the
    level attends."""

    def __init__(self, cin: int, cout: int, n: int, config: ParallelUNetConfig, attend: bool):
        super().__init__()
        c = config
        self.blocks = nn.ModuleList(
            FiLMBlock(cin if i == 0 else cout, cout, c.cond_dim) for i in range(n)
        )
        self.attention = nn.ModuleList(
            AttentionBlock(cout, c.pose_dim, c.heads, c.dim_head) for _ in range(n if attend else 0)
        )

    def forward(
        self,
        x: torch.Tensor,
        cond: torch.Tensor,
        pose: torch.Tensor | None = None,
        garment: torch.Tensor | None = None,
        checkpointed: bool = False,
    ) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            x = _call(block, checkpointed, x, cond)
            if self.attention:
                assert pose is not None
                x = _call(self.attention[i], checkpointed, x, pose, garment)
        return x


def _call(module: nn.Module, checkpointed: bool, *args: Any) -> torch.Tensor:
    if checkpointed and torch.is_grad_enabled():
        return checkpoint(module, *args, use_reentrant=False)
    return module(*args)


class UNetStream(nn.Module):
    """The levels of one U-Net (down, middle, up); `attend` says whether its lowest levels
    attend. `up_levels`: how many of the up path's levels it has, lowest first (the garment
    stream stops at the last level whose features the person stream attends to)."""

    def __init__(self, cin: int, config: ParallelUNetConfig, attend: bool, up_levels: int):
        super().__init__()
        c, levels = config, len(config.channels)
        self.attending = [attend and i >= levels - c.attention_levels for i in range(levels)]
        self.stem = nn.Conv2d(cin, c.channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        prev = c.channels[0]
        for i, (ch, n) in enumerate(zip(c.channels, c.blocks, strict=True)):
            self.down.append(Level(prev, ch, n, c, self.attending[i]))
            if i < levels - 1:
                self.downsample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
            prev = ch
        self.middle = Level(prev, prev, 1, c, self.attending[-1])
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in list(reversed(range(levels)))[:up_levels]:
            ch = c.channels[i]
            self.up.append(Level(prev + ch, ch, c.blocks[i], c, self.attending[i]))
            if i > levels - up_levels:
                self.upsample.append(nn.Conv2d(ch, c.channels[i - 1], 3, padding=1))
                prev = c.channels[i - 1]


class ParallelUNet(ConfigModule):
    """forward(noisy (B,3,H,W), agnostic (B,3,H,W), garment (B,3,H,W), person_pose (B,18,2),
    garment_pose (B,18,2), t (B,), aug (B,), lowres (B,3,H,W) or None) -> noise (B,3,H,W).

    Images in [-1, 1] (the noisy one at any scale), poses in [0, 1], `t` the continuous
    diffusion time in [0, 1], `aug` the noise-augmentation level of the conditioning images.
    """

    kind = "parallel_unet"
    config_class = ParallelUNetConfig

    def __init__(self, config: ParallelUNetConfig):
        super().__init__(config)
        config.check()
        c = config
        self.time = Embedding(c.cond_dim)
        self.aug = Embedding(c.cond_dim)
        self.pose_in = nn.Linear(2, c.pose_dim)
        self.pose_position = nn.Parameter(torch.randn(2 * POSE_POINTS, c.pose_dim) * 0.02)
        self.pose_null = nn.Parameter(torch.zeros(2 * POSE_POINTS, c.pose_dim))
        layer = nn.TransformerEncoderLayer(
            c.pose_dim, max(c.pose_dim // 32, 1), 2 * c.pose_dim, 0.0, batch_first=True
        )
        self.pose_encoder = nn.TransformerEncoder(layer, c.pose_depth, enable_nested_tensor=False)
        self.pose_query = nn.Parameter(torch.randn(1, 1, c.pose_dim) * 0.02)
        self.pose_pool = nn.MultiheadAttention(c.pose_dim, 1, batch_first=True)
        self.pose_film = nn.Linear(c.pose_dim, c.cond_dim)
        levels = len(c.channels)
        self.person = UNetStream(9 if c.lowres else 6, c, attend=True, up_levels=levels)
        self.garment = UNetStream(3, c, attend=False, up_levels=c.attention_levels)
        self.out_norm = nn.GroupNorm(_groups(c.channels[0]), c.channels[0])
        self.out = nn.Conv2d(c.channels[0], 3, 3, padding=1)
        self.checkpointed = False

    def enable_gradient_checkpointing(self) -> None:
        self.checkpointed = True

    def trainable(self) -> list[nn.Parameter]:
        return list(self.parameters())

    def pose_tokens(
        self, person_pose: torch.Tensor, garment_pose: torch.Tensor, keep: torch.Tensor | None
    ) -> torch.Tensor:
        """(B, 36, pose_dim): both poses embedded; the learned null where not `keep`."""
        points = torch.cat([person_pose, garment_pose], 1).float()
        embedded = self.pose_in(points) + self.pose_position
        if keep is not None:
            embedded = torch.where(keep.view(-1, 1, 1), embedded, self.pose_null.to(embedded))
        return self.pose_encoder(embedded)

    def forward(
        self,
        noisy: torch.Tensor,
        agnostic: torch.Tensor,
        garment: torch.Tensor,
        person_pose: torch.Tensor,
        garment_pose: torch.Tensor,
        t: torch.Tensor,
        aug: torch.Tensor,
        lowres: torch.Tensor | None = None,
        *,
        keep: torch.Tensor | None = None,
        cross_attention: bool = True,
    ) -> torch.Tensor:
        c = self.config
        b, _, h, w = noisy.shape
        check_tensor(noisy, "noisy", 3)
        for name, x in (("agnostic", agnostic), ("garment", garment), ("lowres", lowres)):
            if x is not None:
                check_tensor(x, name, 3, size=(h, w), batch=b)
        for name, x in (("person_pose", person_pose), ("garment_pose", garment_pose)):
            if tuple(x.shape) != (b, POSE_POINTS, 2):
                raise ValueError(
                    f"{name} must be ({b}, {POSE_POINTS}, 2) in [0, 1], got {tuple(x.shape)}"
                )
        if h % c.step or w % c.step:
            raise ValueError(f"input {h}x{w} must divide by {c.step} ({len(c.channels)} levels)")
        if c.lowres != (lowres is not None):
            raise ValueError(
                "a super-resolution Parallel-UNet needs `lowres`, a base one takes none"
                if c.lowres
                else "this Parallel-UNet is a base model: it takes no `lowres` input"
            )
        pose = self.pose_tokens(person_pose, garment_pose, keep)
        pooled, _ = self.pose_pool(self.pose_query.expand(b, -1, -1), pose, pose)
        cond = self.time(t) + self.aug(aug) + self.pose_film(pooled[:, 0])
        garment_features = None
        if cross_attention:
            if keep is not None:
                garment = garment * keep.view(-1, 1, 1, 1).to(garment.dtype)
            garment_features = self._garment_features(garment, cond)
        inputs = [noisy, agnostic] + ([lowres] if lowres is not None else [])
        x = self._person(torch.cat(inputs, 1), cond, pose, garment_features)
        return self.out(F.silu(self.out_norm(x)))

    def _garment_features(self, garment: torch.Tensor, cond: torch.Tensor) -> list[torch.Tensor]:
        """The garment stream's feature map after each of its levels, in the person stream's
        order (down levels, middle, then the up levels it has)."""
        g, ck = self.garment, self.checkpointed
        features, skips = [], []
        x = g.stem(garment)
        for i, level in enumerate(g.down):
            x = level(x, cond, checkpointed=ck)
            features.append(x)
            skips.append(x)
            if i < len(g.downsample):
                x = g.downsample[i](x)
        x = g.middle(x, cond, checkpointed=ck)
        features.append(x)
        for i, level in enumerate(g.up):
            x = level(torch.cat([x, skips.pop()], 1), cond, checkpointed=ck)
            features.append(x)
            if i < len(g.upsample):
                x = g.upsample[i](F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return features

    def _person(
        self,
        x: torch.Tensor,
        cond: torch.Tensor,
        pose: torch.Tensor,
        garment: list[torch.Tensor] | None,
    ) -> torch.Tensor:
        p, ck = self.person, self.checkpointed

        def context(k: int) -> torch.Tensor | None:
            return None if garment is None or k >= len(garment) else garment[k]

        skips, k = [], 0
        x = p.stem(x)
        for i, level in enumerate(p.down):
            x = level(x, cond, pose, context(k), ck)
            skips.append(x)
            k += 1
            if i < len(p.downsample):
                x = p.downsample[i](x)
        x = p.middle(x, cond, pose, context(k), ck)
        k += 1
        for i, level in enumerate(p.up):
            x = level(torch.cat([x, skips.pop()], 1), cond, pose, context(k), ck)
            k += 1
            if i < len(p.upsample):
                x = p.upsample[i](F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return x
