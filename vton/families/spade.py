"""HR-VITON's SPADE image generator: the try-on image from the person inputs and a 7-group parse.

Pieces (models.md section 2.3):
  SPADEConfig              widths, depth (`normal` 5 / `more` 6 / `most` 7 upsamplings), presets
  SPADE                    instance norm + learned per-channel noise, modulated by the parse
  SPADEResBlock            SPADE-ReLU-conv twice, a learned shortcut when the width changes
  SPADEGenerator           kind "spade": x (B, 9, H, W), seg (B, 7, H, W) -> (B, 3, H, W) tanh
  SPADEDiscriminator       2-scale spectral-norm PatchGAN over seg (7) + image (3)
  spade_generator_loss     hinge GAN + feature matching (/ num_D) + VGG; no L1, as the design
  hinge_discriminator_loss

x is agnostic RGB (3) + DensePose RGB (3) + warped garment (3), all in [-1, 1]; seg is the
float one-hot of `vton.families.tocg.SEG7_GROUPS` (`seg7_from_tocg`). The caller owns the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from vton.checks import check_tensor
from vton.families.tocg import SEG7_GROUPS, PatchGAN, downsample, vgg_l1
from vton.families.unet_sa import keep_mask
from vton.models.blocks import ConfigModule
from vton.models.losses import _total
from vton.models.vgg import VGGFeatures

UPSAMPLINGS = {"normal": 5, "more": 6, "most": 7}
UP_BLOCKS = 5  # up_0 ... up_4 halve the width; `more` and `most` upsample the middle blocks too
START_HEIGHT = 8  # HR-VITON's 8x6 start at every resolution
Outputs = list[tuple[torch.Tensor, list[torch.Tensor]]]  # per scale: (scores, [features])


@dataclass(frozen=True)
class SPADEConfig:
    input_channels: int = 9  # agnostic 3 + DensePose RGB 3 + warped garment 3
    seg_channels: int = len(SEG7_GROUPS)  # 7
    ngf: int = 64
    upsamplings: str = "normal"
    injection: int = 16  # channels of x added at every scale
    hidden: int = 128  # width of SPADE's shared conv over seg
    spectral: bool = True
    keep_unmasked: bool = False  # outside the agnostic mask the result is x[:, :3] (agnostic)
    height: int = 0  # the training size (what inference runs at); 0: not recorded
    width: int = 0

    def __post_init__(self) -> None:
        if self.upsamplings not in UPSAMPLINGS:
            raise ValueError(
                f"spade upsamplings must be one of {sorted(UPSAMPLINGS)} (5, 6, 7 steps for "
                f"256x192, 512x384, 1024x768), got {self.upsamplings!r}"
            )
        if self.ngf < 2 or self.ngf % 2:
            raise ValueError(
                f"spade ngf must be even and >= 2 (the last width is ngf/2), got {self.ngf}"
            )

    @classmethod
    def toy(cls) -> SPADEConfig:
        """Narrow, for CPU tests: `normal` (5) at 64x32 starts at 2x1."""
        return cls(ngf=8, hidden=16)

    @classmethod
    def full(cls, upsamplings: str = "most") -> SPADEConfig:
        """HR-VITON's width (ngf 64, hidden 128); `most` for 1024x768."""
        return cls(ngf=64, hidden=128, upsamplings=upsamplings)

    @property
    def depth(self) -> int:
        return UPSAMPLINGS[self.upsamplings]

    def start_size(self, height: int, width: int) -> tuple[int, int]:
        """(H / 2**depth, W / 2**depth); a ValueError when the input does not divide."""
        step = 2**self.depth
        if height % step or width % step:
            raise ValueError(
                f"spade input is {height}x{width} but upsamplings={self.upsamplings!r} "
                f"({self.depth} steps) needs both sides divisible by {step} (start size "
                f"{height / step:g}x{width / step:g}); use upsamplings_for({height}) or resize"
            )
        return height // step, width // step

    def widths(self) -> list[int]:
        """Output channels of head, middle_0, middle_1, up_0 ... up_4: 16, 16, 16, 8 ... 1/2 ngf."""
        return [16 * self.ngf] * 3 + [self.ngf * 2**3 // 2**i for i in range(UP_BLOCKS)]

    def upsampled(self) -> list[bool]:
        """Whether the features are upsampled x2 before each block (`depth` of them in all)."""
        extra = self.depth - UP_BLOCKS
        return [False, extra >= 2, extra >= 1] + [True] * UP_BLOCKS


def upsamplings_for(height: int) -> str:
    """The depth that starts HR-VITON's generator at height 8: 256 -> normal ... 1024 -> most."""
    for name, n in UPSAMPLINGS.items():
        if height == START_HEIGHT * 2**n:
            return name
    heights = {name: START_HEIGHT * 2**n for name, n in UPSAMPLINGS.items()}
    raise ValueError(
        f"no spade depth starts at height {START_HEIGHT} for {height}; heights: {heights}"
    )


def _conv(cin: int, cout: int, kernel: int, spectral: bool, bias: bool = True) -> nn.Module:
    conv = nn.Conv2d(cin, cout, kernel, 1, kernel // 2, bias=bias)
    return spectral_norm(conv) if spectral else conv


Noise = torch.Generator | Sequence[torch.Generator] | None


def _noise(generator: Noise, b: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """(B, 1, h, w) N(0, 1) noise: from one generator, or one generator per sample (then a
    sample's noise is the same whichever batch or DDP process it lands in)."""
    if generator is None or isinstance(generator, torch.Generator):
        return torch.randn(b, 1, h, w, generator=generator, device=like.device, dtype=like.dtype)
    if len(generator) != b:
        raise ValueError(f"{len(generator)} noise generators for a batch of {b}")
    draws = [torch.randn(1, 1, h, w, generator=g, device=like.device) for g in generator]
    return torch.cat(draws).to(like.dtype)


class SPADE(nn.Module):
    """forward(x (B, C, h, w), seg (B, S, H, W) {0, 1}, generator=None) -> (B, C, h, w).

    out = instance_norm(x + scale * noise) * (1 + gamma) + beta, with noise ~ N(0, 1) of
    shape (B, 1, h, w) drawn from `generator` (on x's device) when given, a per-channel
    `noise_scale` that starts at 0 (deterministic at init), and gamma, beta from convs over
    seg resized (nearest) to h x w. The noise is drawn in training mode or when a generator
    is given; in eval mode without one it is its mean, 0, so evaluation and exported graphs
    are deterministic.
    """

    def __init__(self, channels: int, seg_channels: int, hidden: int, spectral: bool):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.noise_scale = nn.Parameter(torch.zeros(channels))
        self.shared = nn.Sequential(_conv(seg_channels, hidden, 3, spectral), nn.ReLU())
        self.gamma = _conv(hidden, channels, 3, spectral)
        self.beta = _conv(hidden, channels, 3, spectral)

    def forward(self, x: torch.Tensor, seg: torch.Tensor, generator: Noise = None) -> torch.Tensor:
        b, _, h, w = x.shape
        if self.training or generator is not None:
            x = x + self.noise_scale.view(1, -1, 1, 1) * _noise(generator, b, h, w, x)
        normed = self.norm(x)
        actv = self.shared(F.interpolate(seg.to(x.dtype), size=(h, w), mode="nearest"))
        return normed * (1 + self.gamma(actv)) + self.beta(actv)


class SPADEResBlock(nn.Module):
    """(B, cin, h, w) -> (B, cout, h, w): SPADE-ReLU-conv3x3 twice plus a shortcut, learned
    (SPADE + 1x1 conv) when cin != cout, the identity otherwise.

    A conv whose output only reaches a parameter-free instance norm has no bias: the norm
    subtracts it, so its true gradient is 0 and Adam would step it on rounding noise alone.
    `normed_output`: the block's output goes into another block's norms (all but the last).
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        seg_channels: int,
        hidden: int,
        spectral: bool,
        normed_output: bool = False,
    ):
        super().__init__()
        middle = min(cin, cout)
        self.norm_0 = SPADE(cin, seg_channels, hidden, spectral)
        self.conv_0 = _conv(cin, middle, 3, spectral, bias=False)
        self.norm_1 = SPADE(middle, seg_channels, hidden, spectral)
        self.conv_1 = _conv(middle, cout, 3, spectral, bias=not normed_output)
        self.learned_shortcut = cin != cout
        if self.learned_shortcut:
            self.norm_s = SPADE(cin, seg_channels, hidden, spectral)
            self.conv_s = _conv(cin, cout, 1, spectral, bias=False)

    def forward(self, x: torch.Tensor, seg: torch.Tensor, generator: Noise = None) -> torch.Tensor:
        shortcut = x
        if self.learned_shortcut:
            shortcut = self.conv_s(self.norm_s(x, seg, generator))
        dx = self.conv_0(F.relu(self.norm_0(x, seg, generator)))
        dx = self.conv_1(F.relu(self.norm_1(dx, seg, generator)))
        return shortcut + dx


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


class SPADEGenerator(ConfigModule):
    """forward(x (B, 9, H, W) in [-1, 1], seg (B, 7, H, W) one-hot, generator=None,
    agnostic_mask=None) -> (B, 3, H, W) in [-1, 1]; with config.keep_unmasked the agnostic
    mask (B, 1, H, W) is required and outside it the result is x[:, :3].

    Starts at (H, W) / 2**depth from a conv of x resized there, then head, middle_0,
    middle_1 and up_0 ... up_4 SPADE-ResBlocks (16 -> 16 -> 16 -> 8 -> 4 -> 2 -> 1 -> 1/2
    ngf), each after an optional x2 nearest upsampling and with `injection` channels of a
    3x3 conv of x resized to its scale concatenated in front; then ReLU-conv-tanh.
    `generator` (a torch.Generator on x's device, or one per sample) makes the SPADE noise
    reproducible.
    """

    kind = "spade"
    config_class = SPADEConfig

    def __init__(self, config: SPADEConfig):
        super().__init__(config)
        c, widths = config, config.widths()
        # conv_in and the injections feed the first norms only: no bias (see SPADEResBlock)
        self.conv_in = _conv(c.input_channels, widths[0], 3, c.spectral, bias=False)
        ins = [widths[0], *widths[:-1]]
        self.injections = nn.ModuleList(
            _conv(c.input_channels, c.injection, 3, c.spectral, bias=False) for _ in widths
        )
        last = len(widths) - 1
        self.blocks = nn.ModuleList(
            SPADEResBlock(a + c.injection, b, c.seg_channels, c.hidden, c.spectral, i < last)
            for i, (a, b) in enumerate(zip(ins, widths, strict=True))
        )
        self.conv_out = _conv(widths[-1], 3, 3, c.spectral)

    def check_inputs(self, x: torch.Tensor, seg: torch.Tensor) -> tuple[int, int]:
        """The start size; ValueErrors naming what arrived."""
        c = self.config
        check_tensor(x, "x", c.input_channels)
        size = tuple(x.shape[-2:])
        check_tensor(seg, "seg", c.seg_channels, batch=x.shape[0], size=size)
        return c.start_size(x.shape[-2], x.shape[-1])

    def forward(
        self,
        x: torch.Tensor,
        seg: torch.Tensor,
        generator: Noise = None,
        agnostic_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        size = self.check_inputs(x, seg)
        keep = keep_mask(self.config.keep_unmasked, agnostic_mask, x, "spade")
        features = self.conv_in(_resize(x, size))
        steps = zip(self.config.upsampled(), self.injections, self.blocks, strict=True)
        for upsample, inject, block in steps:
            if upsample:
                features = F.interpolate(features, scale_factor=2.0, mode="nearest")
            size = cast(tuple[int, int], tuple(features.shape[-2:]))
            features = torch.cat([features, inject(_resize(x, size))], 1)
            features = block(features, seg, generator)
        out = torch.tanh(self.conv_out(F.relu(features)).float())
        if keep is not None:
            out = out * keep + x[:, :3].float() * (1 - keep)
        return out


@dataclass(frozen=True)
class SPADEDiscriminatorConfig:
    """`num_d` PatchGANs (n_layers stride-2 convs), spectral norm on every conv, instance norm."""

    seg_channels: int = len(SEG7_GROUPS)
    image_channels: int = 3
    ndf: int = 64
    n_layers: int = 3
    num_d: int = 2
    spectral: bool = True

    @classmethod
    def toy(cls) -> SPADEDiscriminatorConfig:
        return cls(ndf=8)

    @classmethod
    def full(cls) -> SPADEDiscriminatorConfig:
        return cls(ndf=64)


def _spectral_patchgan(cin: int, ndf: int, n_layers: int, spectral: bool) -> PatchGAN:
    # tocg's PatchGAN (no dropout) with its convs spectral-normed in place: its config can
    # express neither the 10-channel seg + image input nor spectral norm.
    net = PatchGAN(cin, ndf, n_layers, dropout=0.0)
    if spectral:
        for conv in [m for m in net.modules() if isinstance(m, nn.Conv2d)]:
            spectral_norm(conv)
    return net


class SPADEDiscriminator(ConfigModule):
    """forward(seg (B, 7, H, W), image (B, 3, H, W) in [-1, 1]) ->
    [(scores (B, 1, h_k, w_k), [features]) for each of num_d scales, finest first].

    Scale k sees the input avg-pooled k times.
    """

    kind = "spade_discriminator"
    config_class = SPADEDiscriminatorConfig

    def __init__(self, config: SPADEDiscriminatorConfig):
        super().__init__(config)
        c = config
        cin = c.seg_channels + c.image_channels
        self.nets = nn.ModuleList(
            _spectral_patchgan(cin, c.ndf, c.n_layers, c.spectral) for _ in range(c.num_d)
        )

    def forward(self, seg: torch.Tensor, image: torch.Tensor) -> Outputs:
        c = self.config
        check_tensor(image, "image", c.image_channels)
        check_tensor(seg, "seg", c.seg_channels, batch=image.shape[0], size=image.shape[-2:])
        x, results = torch.cat([seg.to(image.dtype), image], 1), []
        for net in self.nets:
            results.append(net(x))
            x = downsample(x)
        return results


@dataclass(frozen=True)
class SPADELossWeights:
    """HR-VITON's defaults (lambda_feat 10, lambda_vgg 10); its lambda_l1 is never applied."""

    gan: float = 1.0
    feature_matching: float = 10.0
    vgg: float = 10.0


def _scores(scores: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    return [scores] if isinstance(scores, torch.Tensor) else list(scores)


def hinge_discriminator_loss(
    real_scores: torch.Tensor | Sequence[torch.Tensor],
    fake_scores: torch.Tensor | Sequence[torch.Tensor],
) -> torch.Tensor:
    """mean(relu(1 - real)) + mean(relu(1 + fake)), averaged over scales when lists are given.

    Score the fakes detached from the generator.
    """
    real, fake = _scores(real_scores), _scores(fake_scores)
    terms = (
        F.relu(1 - r.float()).mean() + F.relu(1 + f.float()).mean()
        for r, f in zip(real, fake, strict=True)
    )
    return _total(terms) / len(real)


def spade_generator_loss(
    fake: torch.Tensor,
    real: torch.Tensor,
    fake_outputs: Outputs,
    real_outputs: Outputs,
    weights: SPADELossWeights = SPADELossWeights(),
    vgg: VGGFeatures | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The generator's loss -> (weighted total, {term: unweighted value, detached}).

    fake, real: (B, 3, H, W) in [-1, 1]; fake_outputs / real_outputs: the discriminator on
    (seg, fake) and (seg, real), real detached here. Terms: "gan" (hinge, -mean of the fake
    scores, averaged over scales), "feature_matching" (L1 of every layer, summed over layers,
    divided by num_D) and "vgg" (five-level VGG L1) only when a VGG is given.
    """
    check_tensor(fake, "fake", 3)
    check_tensor(real, "real", 3, batch=fake.shape[0], size=fake.shape[-2:])
    num_d = len(fake_outputs)
    matching = (
        F.l1_loss(f.float(), r.detach().float())
        for (_, fake_feats), (_, real_feats) in zip(fake_outputs, real_outputs, strict=True)
        for f, r in zip(fake_feats, real_feats, strict=True)
    )
    terms = {
        "gan": _total(-s.float().mean() for s, _ in fake_outputs) / num_d,
        "feature_matching": sum(matching, fake.new_zeros((), dtype=torch.float32)) / num_d,
    }
    if vgg is not None:
        terms["vgg"] = vgg_l1(vgg, fake, real)
    total = _total(getattr(weights, name) * value for name, value in terms.items())
    return total, {name: value.detach() for name, value in terms.items()}
