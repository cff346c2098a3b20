"""Try-on condition generator (TOCG, after HR-VITON): warp flows and the try-on segmentation.

Two residual encoders read the garment (`cloth_in`: RGB in [-1, 1] plus its {0, 1} mask,
4 channels) and the person (`pose_in`: the 13-group agnostic parse one-hot plus the
DensePose RGB in [-1, 1], 16 channels). A first flow comes from both bottom features; at
each finer scale a feature-fusion block refines it with a residual flow and feeds the
segmentation decoder the garment features warped by it. The output layer, at the input
resolution, predicts 13-group segmentation logits.

Flow convention (`warp`): a flow is `(B, h, w, 2)` float, (x, y) displacements in pixels at
its own scale `h x w`. It is normalised by ((w - 1) / 2, (h - 1) / 2), added to a
`linspace(-1, 1)` grid and applied by `grid_sample(align_corners=True,
padding_mode="border")`, so a zero flow is the identity. `upsample_flow` resizes a flow and
rescales its values, so the units stay "pixels at its own scale" at every size.

The training-side pieces: `align_conditions` (the cloth logit masked by the warped garment),
`remove_occlusion` (body parts in front of the garment), `tocg_losses`, the multi-scale
PatchGAN `MultiscaleDiscriminator` and `seg7_from_tocg` (the 7-channel parse the image
generator reads).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from vton.checks import check_tensor
from vton.models.blocks import ConfigModule
from vton.models.losses import LEVEL_WEIGHTS, _total, lsgan_d, lsgan_g
from vton.models.vgg import VGGFeatures

CLOTH_GROUP = 3  # "upper" in the 13 parse groups (`vton.formats.labels.PARSE_GROUPS`)
# Groups that occlude the garment: hair, face (1:3) and arms, legs, shoes, socks, noise (5:);
# not the background (0), the garment itself (3) or the bottom (4), which lies beneath it.
OCCLUDING_GROUPS = (1, 2, *range(5, 13))
# The 7 channels of the image generator's parse and the 13 groups each one gathers.
SEG7_GROUPS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("background", (0,)),
    ("paste", (2, 4, 7, 8, 9, 10, 11)),
    ("upper", (3,)),
    ("hair", (1,)),
    ("left_arm", (5,)),
    ("right_arm", (6,)),
    ("noise", (12,)),
)
SEG7_OF_GROUP13 = tuple(
    next(i for i, (_, groups) in enumerate(SEG7_GROUPS) if g in groups) for g in range(13)
)
NORMS = ("batch", "instance")


@dataclass(frozen=True)
class TOCGConfig:
    cloth_channels: int = 4  # garment RGB + its mask
    pose_channels: int = 16  # 13-group agnostic parse one-hot + DensePose RGB
    ngf: int = 96
    levels: int = 5
    seg_classes: int = 13
    norm: str = "batch"
    height: int = 0  # the training size (what inference runs at); 0: not recorded
    width: int = 0

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"tocg norm must be one of {NORMS}, got {self.norm!r}")
        if self.levels < 2:
            raise ValueError(
                f"tocg needs levels >= 2 (one fusion block at least), got {self.levels}"
            )

    @classmethod
    def toy(cls) -> TOCGConfig:
        """A narrow generator for CPU tests (inputs of 64x64 or 128x96)."""
        return cls(ngf=8)

    @classmethod
    def full(cls) -> TOCGConfig:
        """HR-VITON's width (ngf 96, BatchNorm), trained at 256x192."""
        return cls(ngf=96)

    def widths(self) -> list[int]:
        """Channels of the encoder levels: ngf * (1, 2, 4, 4, 4) for 5 levels."""
        return [self.ngf * min(2**i, 4) for i in range(self.levels)]


@dataclass
class TOCGOutput:
    flows: list[torch.Tensor]  # (B, H/2**(levels-k), W/2**(levels-k), 2) pixels, coarse -> fine
    warped_cloth: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    warped_mask: torch.Tensor  # (B, 1, H, W) in [0, 1]
    seg_logits: torch.Tensor  # (B, seg_classes, H, W) raw logits (not yet aligned)


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.InstanceNorm2d(channels, affine=True)


class ResBlock(nn.Module):
    """A scale conv (stride-2 down, x2 bilinear up, or 1x1 at the same size), then a residual
    pair of norm-ReLU-3x3 convs. (B, cin, h, w) -> (B, cout, h', w')."""

    def __init__(self, cin: int, cout: int, scale: str, norm: str):
        super().__init__()
        if scale == "down":
            self.scale: nn.Module = nn.Conv2d(cin, cout, 3, 2, 1, bias=False)
        elif scale == "up":
            self.scale = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            )
        else:
            self.scale = nn.Conv2d(cin, cout, 1, bias=False)
        self.body = nn.Sequential(
            _norm(norm, cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            _norm(norm, cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.scale(x)
        return x + self.body(x)


class Encoder(nn.Module):
    """(B, cin, H, W) -> the features of every level, level i at H/2**(i+1), widths[i] ch."""

    def __init__(self, cin: int, widths: list[int], norm: str):
        super().__init__()
        ins = [cin, *widths[:-1]]
        self.blocks = nn.ModuleList(
            ResBlock(a, b, "down", norm) for a, b in zip(ins, widths, strict=True)
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features


def _flow_head(cin: int) -> nn.Conv2d:
    # Zero weights: every flow starts at 0, so the first warps are the identity (the garment
    # as it lies) and training starts from there, as the GMM's lattice does.
    conv = nn.Conv2d(cin, 2, 3, 1, 1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(cast(torch.Tensor, conv.bias))
    return conv


def _as_flow(x: torch.Tensor) -> torch.Tensor:
    """(B, 2, h, w) conv output -> (B, h, w, 2) flow."""
    return x.permute(0, 2, 3, 1)


def base_grid(height: int, width: int, device: torch.device) -> torch.Tensor:
    """(1, H, W, 2) identity grid, (x, y) from `linspace(-1, 1)` (align_corners=True)."""
    ys = torch.linspace(-1.0, 1.0, height, device=device)
    xs = torch.linspace(-1.0, 1.0, width, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], -1)[None]


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample `image` (B, C, H, W) at the grid moved by `flow` (B, h, w, 2) pixels at h x w.

    Returns (B, C, h, w) float32 (the flow's size; the caller resizes the flow with
    `upsample_flow` to warp at another size). A zero flow returns `image` itself when
    h x w = H x W. Borders are repeated (padding_mode="border").
    """
    check_tensor(image, "image")
    if flow.ndim != 4 or flow.shape[-1] != 2 or flow.shape[0] != image.shape[0]:
        raise ValueError(
            f"flow must be ({image.shape[0]}, h, w, 2) pixel offsets, got {tuple(flow.shape)}"
        )
    h, w = flow.shape[1:3]
    # Pixels -> normalised units of a corner-aligned grid: 2 / (size - 1) per pixel.
    scale = flow.new_tensor([(w - 1) / 2, (h - 1) / 2]).clamp_min(0.5).float()
    with torch.autocast(device_type=image.device.type, enabled=False):
        grid = base_grid(h, w, image.device) + flow.float() / scale
        return F.grid_sample(image.float(), grid, padding_mode="border", align_corners=True)


def upsample_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, h, w, 2) pixel flow -> (B, H, W, 2) at `size`, values rescaled to pixels at H x W.

    The resize is corner-aligned like the grid, so the normalised displacement at the
    corners and at every old pixel position is kept exactly.
    """
    h, w = flow.shape[1:3]
    if (h, w) == tuple(size):
        return flow
    up = F.interpolate(flow.permute(0, 3, 1, 2), size=size, mode="bilinear", align_corners=True)
    ratio = flow.new_tensor([(size[1] - 1) / max(w - 1, 1), (size[0] - 1) / max(h - 1, 1)]).view(
        1, 2, 1, 1
    )
    return (up * ratio).permute(0, 2, 3, 1)


class FeatureFusion(nn.Module):
    """One scale of the decoder: refine the flow, warp the cloth feature, decode the seg.

    forward(t1, x, pose_skip, cloth_skip, flow) at the level's size h x w, with `t1` the
    cloth-path feature of the coarser level (B, c, h/2, w/2), `x` the seg-decoder feature
    (B, cx, h, w), the encoder skips (B, skip, h, w) and the coarser flow (B, h/2, w/2, 2).
    Returns (t1 (B, c, h, w), x (B, cout, 2h, 2w), flow (B, h, w, 2)).
    """

    def __init__(self, c: int, cx: int, skip: int, cout: int, norm: str):
        super().__init__()
        self.lateral = nn.Conv2d(skip, c, 1)
        self.bottleneck = nn.Sequential(nn.Conv2d(cx, c, 3, 1, 1), nn.ReLU(inplace=True))
        self.flow = _flow_head(2 * c)
        self.seg = ResBlock(cx + skip + c, cout, "up", norm)

    def forward(
        self,
        t1: torch.Tensor,
        x: torch.Tensor,
        pose_skip: torch.Tensor,
        cloth_skip: torch.Tensor,
        flow: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        size = cast(tuple[int, int], tuple(x.shape[-2:]))
        t1 = F.interpolate(t1, size=size, mode="nearest") + self.lateral(cloth_skip)
        flow = upsample_flow(flow, size)
        warped = warp(t1, flow).to(t1.dtype)
        flow = flow + _as_flow(self.flow(torch.cat([warped, self.bottleneck(x)], 1)))
        warped = warp(t1, flow).to(t1.dtype)
        x = self.seg(torch.cat([x, pose_skip, warped], 1))
        return t1, x, flow


class ConditionGenerator(ConfigModule):
    """forward(cloth_in (B, 4, H, W), pose_in (B, 16, H, W)) -> `TOCGOutput`.

    cloth_in: garment RGB in [-1, 1] and its {0, 1} mask; pose_in: the 13-group agnostic
    parse one-hot and the DensePose RGB in [-1, 1]. H and W must be divisible by
    2**levels (32). The flows are at H/32 ... H/2; the output is at H x W.
    """

    kind = "tocg"
    config_class = TOCGConfig

    def __init__(self, config: TOCGConfig):
        super().__init__(config)
        c, widths = config, config.widths()
        top = widths[-1]
        self.cloth_encoder = Encoder(c.cloth_channels, widths, c.norm)
        self.pose_encoder = Encoder(c.pose_channels, widths, c.norm)
        self.cloth_top = nn.Conv2d(top, top, 1)  # the cloth path's lateral at the bottom
        self.first_flow = _flow_head(2 * top)
        self.seg_start = ResBlock(2 * top, widths[-2], "up", c.norm)
        fusions = []
        for i in range(c.levels - 2, -1, -1):  # the levels above the bottom, coarse -> fine
            cout = widths[i - 1] if i > 0 else c.ngf
            fusions.append(FeatureFusion(top, widths[i], widths[i], cout, c.norm))
        self.fusions = nn.ModuleList(fusions)
        self.out = ResBlock(
            c.ngf + c.pose_channels + c.cloth_channels, c.seg_classes, "same", c.norm
        )

    def check_inputs(self, cloth_in: torch.Tensor, pose_in: torch.Tensor) -> None:
        c = self.config
        check_tensor(cloth_in, "cloth_in", c.cloth_channels)
        size = tuple(cloth_in.shape[-2:])
        check_tensor(pose_in, "pose_in", c.pose_channels, batch=cloth_in.shape[0], size=size)
        step = 2**c.levels
        if size[0] % step or size[1] % step:
            raise ValueError(
                f"tocg inputs are {size[0]}x{size[1]}: height and width must be divisible by "
                f"2**levels = {step} (e.g. 256x192, or 128x96 / 64x64 at toy size); resize "
                f"the inputs (HR-VITON runs the TOCG at 256x192)"
            )

    def forward(self, cloth_in: torch.Tensor, pose_in: torch.Tensor) -> TOCGOutput:
        self.check_inputs(cloth_in, pose_in)
        e1, e2 = self.cloth_encoder(cloth_in), self.pose_encoder(pose_in)
        bottom = torch.cat([e1[-1], e2[-1]], 1)
        t1 = self.cloth_top(e1[-1])
        flows = [_as_flow(self.first_flow(bottom))]
        x = self.seg_start(bottom)
        for k, fusion in enumerate(self.fusions):
            i = self.config.levels - 2 - k
            t1, x, flow = fusion(t1, x, e2[i], e1[i], flows[-1])
            flows.append(flow)
        size = cast(tuple[int, int], tuple(cloth_in.shape[-2:]))
        warped_in = warp(cloth_in, upsample_flow(flows[-1], size))
        seg = self.out(torch.cat([x, pose_in, warped_in.to(x.dtype)], 1))
        return TOCGOutput(flows, warped_in[:, :3], warped_in[:, 3:4], seg)


def align_conditions(seg_logits: torch.Tensor, warped_mask: torch.Tensor) -> torch.Tensor:
    """Condition aligning: the cloth logit (channel 3) times the warped mask.

    seg_logits (B, 13, H, W), warped_mask (B, 1, H, W) in [0, 1] -> (B, 13, H, W). The
    cloth logit is 0 wherever no warped garment lies; gradients flow into the mask (and so
    into the warp), which is how the segmentation and the warp are kept in agreement.
    """
    check_tensor(warped_mask, "warped_mask", 1, batch=seg_logits.shape[0])
    k = CLOTH_GROUP
    cloth = seg_logits[:, k : k + 1] * warped_mask
    return torch.cat([seg_logits[:, :k], cloth, seg_logits[:, k + 1 :]], 1)


def remove_occlusion(warped_mask: torch.Tensor, seg_logits: torch.Tensor) -> torch.Tensor:
    """The warped mask (B, 1, H, W) in [0, 1] less the body parts predicted in front of it.

    mask - sum(softmax(seg_logits)[OCCLUDING_GROUPS]) * mask, clamped at 0: never above
    the mask, lower where hair, face, arms ... are predicted.
    """
    check_tensor(seg_logits, "seg_logits", batch=warped_mask.shape[0])
    body = torch.softmax(seg_logits.float(), 1)[:, list(OCCLUDING_GROUPS)].sum(1, keepdim=True)
    return (warped_mask - body * warped_mask).clamp_min(0)


@dataclass(frozen=True)
class TOCGLossWeights:
    mask_l1: float = 10.0
    vgg: float = 1.0
    tv: float = 2.0
    interflow: float = 1.0
    ce: float = 10.0
    gan: float = 1.0


def flow_tv(flow: torch.Tensor) -> torch.Tensor:
    """Total variation of a (B, h, w, 2) flow: mean |dy| + mean |dx| (0 for a constant)."""
    dy = flow[:, 1:] - flow[:, :-1]
    dx = flow[:, :, 1:] - flow[:, :, :-1]
    return dy.abs().mean() + dx.abs().mean()


def vgg_l1(vgg: VGGFeatures, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Level-weighted L1 between VGG features of x and of the target y, both (B, 3, H, W)."""
    weights = LEVEL_WEIGHTS[-len(vgg.channels) :]
    fx = vgg(x.float())
    with torch.no_grad():
        fy = vgg(y.float())
    return _total(w * F.l1_loss(a, b) for w, a, b in zip(weights, fx, fy, strict=True))


def _interflow(
    flows: list[torch.Tensor],
    cloth_in: torch.Tensor,
    pcm: torch.Tensor,
    parse_cloth: torch.Tensor,
    vgg: VGGFeatures | None,
) -> torch.Tensor:
    """L1 (mask) + VGG (cloth) of the garment warped by each coarser flow, the coarsest
    weighted least: flow i of n counts 1 / 2**(n - 1 - i)."""
    size = cast(tuple[int, int], tuple(cloth_in.shape[-2:]))
    n, terms = len(flows), []
    for i, flow in enumerate(flows[:-1]):
        warped = warp(cloth_in, upsample_flow(flow, size))
        term = F.l1_loss(warped[:, 3:4], pcm)
        if vgg is not None:
            term = term + vgg_l1(vgg, warped[:, :3], parse_cloth)
        terms.append(term / 2 ** (n - 1 - i))
    return _total(terms)


def tocg_losses(
    out: TOCGOutput,
    target_parse13: torch.Tensor,
    parse_cloth: torch.Tensor,
    cloth_in: torch.Tensor,
    weights: TOCGLossWeights,
    vgg: VGGFeatures | None = None,
    fake_scores: Sequence[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The generator's loss: (weighted total, {term: detached unweighted value}).

    target_parse13: (B, H, W) integer group ids 0..12 of the person's full parse;
    parse_cloth: (B, 3, H, W) in [-1, 1], the worn garment on white (the VGG target);
    cloth_in: the generator's (B, 4, H, W) input. `vgg` (frozen VGG features) adds the
    perceptual terms; `fake_scores` (the discriminator's per-scale scores of the generated
    segmentation) adds the LSGAN term.
    """
    if target_parse13.ndim != 3 or target_parse13.is_floating_point():
        raise ValueError(
            f"target_parse13 must be (B, H, W) integer group ids, got {target_parse13.dtype} "
            f"{tuple(target_parse13.shape)}"
        )
    size = tuple(out.seg_logits.shape[-2:])
    check_tensor(parse_cloth, "parse_cloth", 3, size=size)
    check_tensor(cloth_in, "cloth_in", 4, size=size)
    pcm = (target_parse13 == CLOTH_GROUP).float()[:, None]
    aligned = align_conditions(out.seg_logits, out.warped_mask)
    mask = remove_occlusion(out.warped_mask, aligned)
    terms = {
        "mask_l1": F.l1_loss(mask, pcm),
        "tv": flow_tv(out.flows[-1].float()),
        "interflow": _interflow(out.flows, cloth_in, pcm, parse_cloth, vgg),
        "ce": F.cross_entropy(aligned.float(), target_parse13.long()),
    }
    if vgg is not None:
        # The garment re-composited on white outside the occlusion-free mask, as parse_cloth.
        cloth = out.warped_cloth * mask + (1 - mask)
        terms["vgg"] = vgg_l1(vgg, cloth, parse_cloth)
    if fake_scores is not None:
        terms["gan"] = _total(lsgan_g(s) for s in fake_scores) / len(fake_scores)
    total = _total(getattr(weights, name) * value for name, value in terms.items())
    return total, {name: value.detach() for name, value in terms.items()}


@dataclass(frozen=True)
class TOCGDiscriminatorConfig:
    cloth_channels: int = 4
    pose_channels: int = 16
    seg_classes: int = 13
    ndf: int = 64
    n_layers: int = 3
    num_d: int = 2
    downsample_input: bool = True  # HR-VITON's --Ddownx2: avg-pool the input once
    dropout: float = 0.5  # HR-VITON's --Ddropout; 0 turns it off

    @classmethod
    def toy(cls) -> TOCGDiscriminatorConfig:
        return cls(ndf=8)

    @classmethod
    def full(cls) -> TOCGDiscriminatorConfig:
        return cls(ndf=64)


def downsample(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


class PatchGAN(nn.Module):
    """n_layers stride-2 4x4 convs (InstanceNorm after the first), one stride-1 conv, then
    a 1-channel score conv. (B, cin, H, W) -> (scores (B, 1, h, w), [block outputs])."""

    def __init__(self, cin: int, ndf: int, n_layers: int, dropout: float):
        super().__init__()
        blocks: list[nn.Module] = [nn.Sequential(nn.Conv2d(cin, ndf, 4, 2, 2), nn.LeakyReLU(0.2))]
        c = ndf
        for i in range(1, n_layers + 1):
            out, stride = ndf * 2 ** min(i, 3), 2 if i < n_layers else 1
            layers: list[nn.Module] = [  # no bias: the parameter-free norm removes it
                nn.Conv2d(c, out, 4, stride, 2, bias=False),
                nn.InstanceNorm2d(out),
                nn.LeakyReLU(0.2),
            ]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            blocks.append(nn.Sequential(*layers))
            c = out
        blocks.append(nn.Conv2d(c, 1, 4, 1, 2))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        for block in self.blocks[:-1]:
            x = block(x)
            features.append(x)
        return self.blocks[-1](x), features


class MultiscaleDiscriminator(ConfigModule):
    """forward(cloth_in (B, 4, H, W), pose_in (B, 16, H, W), seg (B, 13, H, W)) ->
    [(scores (B, 1, h_k, w_k), [features]) for each of num_d scales, finest first].

    seg is the softmax of the generated logits (fake) or the ground-truth one-hot (real).
    Scale k sees the input avg-pooled k times (once more with `downsample_input`).
    """

    kind = "tocg_discriminator"
    config_class = TOCGDiscriminatorConfig

    def __init__(self, config: TOCGDiscriminatorConfig):
        super().__init__(config)
        c = config
        cin = c.cloth_channels + c.pose_channels + c.seg_classes
        self.nets = nn.ModuleList(
            PatchGAN(cin, c.ndf, c.n_layers, c.dropout) for _ in range(c.num_d)
        )

    def forward(
        self, cloth_in: torch.Tensor, pose_in: torch.Tensor, seg: torch.Tensor
    ) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        c = self.config
        check_tensor(cloth_in, "cloth_in", c.cloth_channels)
        batch, size = cloth_in.shape[0], tuple(cloth_in.shape[-2:])
        check_tensor(pose_in, "pose_in", c.pose_channels, batch=batch, size=size)
        check_tensor(seg, "seg", c.seg_classes, batch=batch, size=size)
        x = torch.cat([cloth_in, pose_in, seg], 1)
        if c.downsample_input:
            x = downsample(x)
        results = []
        for net in self.nets:
            results.append(net(x))
            x = downsample(x)
        return results


def discriminator_loss(
    real: list[tuple[torch.Tensor, list[torch.Tensor]]],
    fake: list[tuple[torch.Tensor, list[torch.Tensor]]],
) -> torch.Tensor:
    """LSGAN discriminator loss averaged over the scales (fake computed on detached seg)."""
    terms = (lsgan_d(r, f) for (r, _), (f, _) in zip(real, fake, strict=True))
    return _total(terms) / len(real)


def gaussian_blur(x: torch.Tensor, kernel: int = 15, sigma: float = 3.0) -> torch.Tensor:
    """Separable Gaussian blur of (B, C, H, W) with reflected borders; same shape out."""
    half = (kernel - 1) / 2
    t = torch.arange(kernel, device=x.device, dtype=torch.float32) - half
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = (g / g.sum()).to(x.dtype)
    channels, pad = x.shape[1], kernel // 2
    x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    x = F.conv2d(x, g.view(1, 1, 1, kernel).expand(channels, 1, 1, kernel), groups=channels)
    return F.conv2d(x, g.view(1, 1, kernel, 1).expand(channels, 1, kernel, 1), groups=channels)


def seg7_from_tocg(seg_logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, 13, h, w) (aligned) TOCG logits -> (B, 7, H, W) float one-hot of `SEG7_GROUPS`.

    Upsampled (bilinear) to `size`, blurred (15x15, sigma 3) so the label edges are smooth
    at the high resolution, arg-maxed and regrouped 13 -> 7.
    """
    check_tensor(seg_logits, "seg_logits", len(SEG7_OF_GROUP13))
    up = F.interpolate(seg_logits.float(), size=size, mode="bilinear", align_corners=False)
    # Reflect padding needs the image larger than the kernel's half width.
    blurred = gaussian_blur(up) if min(size) > 7 else up
    ids = torch.tensor(SEG7_OF_GROUP13, device=seg_logits.device)[blurred.argmax(1)]
    return F.one_hot(ids, len(SEG7_GROUPS)).permute(0, 3, 1, 2).float()


def parameter_count(config: TOCGConfig) -> int:
    """The generator's parameter count, built on the meta device (no memory is allocated)."""
    with torch.device("meta"):
        model = ConditionGenerator(config)
    return sum(math.prod(p.shape) for p in model.parameters())
