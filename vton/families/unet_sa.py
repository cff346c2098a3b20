"""The `unet_sa` family: a U-Net + self-attention GAN over a 41-channel person representation.

Pieces (models.md section 1, "The 41-channel GAN design"):
  gan41_representation    3 agnostic RGB + 18 COCO-18 pose heatmaps + 20 agnostic-parse one-hot
  UNetSAGenerator         U-Net with residual blocks and one SAGAN block at the bottleneck; it
                          renders RGB and a composition mask over the warped garment
  UNetSADiscriminator     conditional 70x70 PatchGAN, spectral norm on every conv
  unet_sa_generator_loss  LSGAN + VGG perceptual + L1 + discriminator feature matching
  lsgan_discriminator_loss

The 41 channels carry no garment: the generator also reads the warped garment (3) and its
mask (1), so its input is 45 channels, as for `tom`. The caller owns the device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from vton.checks import check_tensor
from vton.formats.labels import VitonLabel
from vton.formats.openpose import COCO18_TO_BODY25
from vton.models.blocks import ConfigModule
from vton.models.discriminator import conditional_input
from vton.models.inputs import N_KEYPOINTS, keypoint_heatmaps, one_hot
from vton.models.losses import PerceptualLoss, feature_matching, lsgan_d, lsgan_g
from vton.models.vgg import VGGFeatures

POSE_CHANNELS = len(COCO18_TO_BODY25)  # 18
PARSE_CHANNELS = len(VitonLabel)  # 20
GAN41_CHANNELS = 3 + POSE_CHANNELS + PARSE_CHANNELS  # 41
GAN41_REQUIRED = ("agnostic", "keypoints", "parse_agnostic_ids")
NORMS = ("instance", "batch")


def gan41_representation(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The design's 41 person channels -> (B, 41, H, W) float.

    Reads `agnostic` (B, 3, H, W) in [-1, 1], `keypoints` (B, 25, 3) BODY_25 x, y (pixels)
    and confidence, and `parse_agnostic_ids` (B, H, W) integers 0..19: the agnostic parse
    (`image-parse-agnostic-v3.2`) in VITON-HD's 20 label ids (`VitonLabel`). The data loader
    must provide `parse_agnostic_ids`: `vton.train.data` puts only the 13 group ids of that
    parse under `parse_agnostic`, which cannot be expanded back to the 20 ids.
    Channels: 0-2 agnostic, 3-20 COCO-18 Gaussian heatmaps in [0, 1] (all zero for a missing
    point), 21-40 one-hot parse.
    """
    missing = [k for k in GAN41_REQUIRED if k not in batch]
    if missing:
        raise KeyError(
            f"the 41-channel representation needs {missing}; the batch has {sorted(batch)} "
            f"(parse_agnostic_ids: the agnostic parse in the 20 VITON-HD ids, from the loader)"
        )
    agnostic = check_tensor(batch["agnostic"], "agnostic", 3)
    b, (h, w) = agnostic.shape[0], agnostic.shape[-2:]
    ids, keypoints = batch["parse_agnostic_ids"], batch["keypoints"]
    if tuple(ids.shape) != (b, h, w):
        raise ValueError(
            f"parse_agnostic_ids must be (B, H, W) = {(b, h, w)} ids, got {tuple(ids.shape)}"
        )
    if tuple(keypoints.shape) != (b, N_KEYPOINTS, 3):
        raise ValueError(
            f"keypoints must be (B, 25, 3) BODY_25 = {(b, N_KEYPOINTS, 3)}, got "
            f"{tuple(keypoints.shape)}"
        )
    # COCO i = BODY_25 i for i <= 7 and i + 1 for i >= 8 (BODY_25 8 is the mid-hip).
    coco = keypoints[:, list(COCO18_TO_BODY25)].to(agnostic.device)
    return torch.cat(
        [
            agnostic.float(),
            keypoint_heatmaps(coco, h, w),
            one_hot(ids.to(agnostic.device), PARSE_CHANNELS),
        ],
        1,
    )


@dataclass(frozen=True)
class UNetSAConfig:
    """Generator size. Defaults are the full preset (about 54M parameters)."""

    in_channels: int = GAN41_CHANNELS + 4  # person 41 + warped cloth 3 + warped mask 1
    ngf: int = 64
    downsamplings: int = 4
    res_blocks: int = 8
    norm: str = "instance"  # "instance" | "batch"
    max_channels: int = 512
    keep_unmasked: bool = False  # outside the agnostic mask the result is the agnostic photo
    height: int = 0  # the training size (what inference runs at); 0: not recorded
    width: int = 0

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"unet_sa norm must be one of {NORMS}, got {self.norm!r}")
        if self.in_channels < 5 or self.ngf < 1 or self.downsamplings < 1 or self.res_blocks < 0:
            raise ValueError(
                f"unet_sa needs in_channels >= 5 (person + cloth 3 + mask 1), ngf >= 1, "
                f"downsamplings >= 1 and res_blocks >= 0, got {self}"
            )

    @classmethod
    def toy(cls) -> UNetSAConfig:
        """For tests on CPU: works at 64x48 (8x6 at the bottleneck)."""
        return cls(ngf=8, downsamplings=3, res_blocks=1)

    @classmethod
    def cpu(cls) -> UNetSAConfig:
        """CPU-optimised: about 26M parameters, with fewer full-resolution channels than full."""
        return cls(ngf=56, downsamplings=4, res_blocks=3)

    @classmethod
    def full(cls) -> UNetSAConfig:
        """The design at full size: about 54M parameters."""
        return cls(ngf=64, downsamplings=4, res_blocks=8)

    @property
    def widths(self) -> list[int]:
        """Channels at each scale, full resolution first: ngf * 2**i capped at max_channels."""
        return [min(self.ngf * 2**i, self.max_channels) for i in range(self.downsamplings + 1)]


def _norm(kind: str, channels: int) -> nn.Module:
    # Instance norm keeps samples independent of their batch (DDP computes what one process
    # computes); batch norm is there for the design's "IN or BN".
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.InstanceNorm2d(channels, affine=True)


def _conv_norm_relu(cin: int, cout: int, kernel: int, stride: int, norm: str) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, 1, bias=False), _norm(norm, cout), nn.ReLU(True)
    )


class ResidualBlock(nn.Module):
    """x + conv-norm-ReLU-conv-norm(x); (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            _conv_norm_relu(channels, channels, 3, 1, norm),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            _norm(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SelfAttention2d(nn.Module):
    """SAGAN self-attention: (B, C, H, W) -> gamma * attention(x) + x, same shape.

    Queries and keys have max(1, C // 8) channels, values C; every one of the H*W positions
    attends to all others. `gamma` starts at 0, so the block starts as the identity and the
    network learns how much non-local evidence to mix in.
    """

    def __init__(self, channels: int):
        super().__init__()
        inner = max(1, channels // 8)
        self.query = nn.Conv2d(channels, inner, 1)
        # No key bias: it adds the same q.b to every key of a query, which softmax ignores.
        self.key = nn.Conv2d(channels, inner, 1, bias=False)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)[:, None]  # (B, 1, HW, C/8)
        k = self.key(x).flatten(2).transpose(1, 2)[:, None]  # (B, 1, HW, C/8)
        v = self.value(x).flatten(2).transpose(1, 2)[:, None]  # (B, 1, HW, C)
        attended = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(d)) v
        return self.gamma * attended[:, 0].transpose(1, 2).reshape(b, c, h, w) + x


@dataclass(frozen=True)
class UNetSAOutput:
    result: torch.Tensor  # (B, 3, H, W) in [-1, 1]: mask * warped_cloth + (1 - mask) * rendered
    rendered: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    mask: torch.Tensor  # (B, 1, H, W) in [0, 1], composition weight of the warped garment


class UNetSAGenerator(ConfigModule):
    """U-Net + self-attention try-on generator.

    forward(person, warped_cloth, warped_mask, agnostic_mask=None):
      person: (B, in_channels - 4, H, W) float, the 41 channels of `gan41_representation`;
      warped_cloth: (B, 3, H, W) in [-1, 1]; warped_mask: (B, 1, H, W) in [0, 1];
      agnostic_mask: (B, 1, H, W) in {0, 1}, required with config.keep_unmasked (outside
      it the result is person[:, :3], the agnostic photo). H and W must be divisible by
      2**downsamplings.
    Returns a `UNetSAOutput`.
    """

    kind = "unet_sa"
    config_class = UNetSAConfig

    def __init__(self, config: UNetSAConfig):
        super().__init__(config)
        c, widths = config, config.widths
        self.stem = _conv_norm_relu(c.in_channels, widths[0], 3, 1, c.norm)
        self.down = nn.ModuleList(
            _conv_norm_relu(widths[i], widths[i + 1], 4, 2, c.norm) for i in range(c.downsamplings)
        )
        blocks: list[nn.Module] = [ResidualBlock(widths[-1], c.norm) for _ in range(c.res_blocks)]
        # Attention halfway through the residual blocks: local features before, refinement after.
        blocks.insert(c.res_blocks // 2, SelfAttention2d(widths[-1]))
        self.bottleneck = nn.Sequential(*blocks)
        self.up = nn.ModuleList(
            _conv_norm_relu(widths[i + 1] + widths[i], widths[i], 3, 1, c.norm)
            for i in reversed(range(c.downsamplings))
        )
        self.head = nn.Conv2d(widths[0], 4, 3, 1, 1)

    def _check(self, person: torch.Tensor, cloth: torch.Tensor, mask: torch.Tensor) -> None:
        c = self.config
        check_tensor(person, "person", c.in_channels - 4)
        batch, size = person.shape[0], tuple(person.shape[-2:])
        check_tensor(cloth, "warped_cloth", 3, batch=batch, size=size)
        check_tensor(mask, "warped_mask", 1, batch=batch, size=size)
        step = 2**c.downsamplings
        if size[0] % step or size[1] % step:
            raise ValueError(
                f"unet_sa input {size[0]}x{size[1]} must be divisible by 2**downsamplings = "
                f"{step} in both sides; resize the inputs or lower downsamplings"
            )

    def forward(
        self,
        person: torch.Tensor,
        warped_cloth: torch.Tensor,
        warped_mask: torch.Tensor,
        agnostic_mask: torch.Tensor | None = None,
    ) -> UNetSAOutput:
        self._check(person, warped_cloth, warped_mask)
        keep = keep_mask(self.config.keep_unmasked, agnostic_mask, person, "unet_sa")
        x = self.stem(torch.cat([person, warped_cloth, warped_mask], 1))
        skips = [x]
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = self.bottleneck(skips.pop())
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
            x = block(torch.cat([x, skip], 1))
        out = self.head(x).float()
        rendered = torch.tanh(out[:, :3])
        mask = torch.sigmoid(out[:, 3:])
        result = mask * warped_cloth.float() + (1 - mask) * rendered
        if keep is not None:
            result = result * keep + person[:, :3].float() * (1 - keep)
        return UNetSAOutput(result, rendered, mask)


@dataclass(frozen=True)
class UNetSADiscriminatorConfig:
    """The 70x70 PatchGAN: n_layers stride-2 k4 convs, a stride-1 k4 conv, a k4 score conv."""

    condition_channels: int = GAN41_CHANNELS + 4
    ndf: int = 64
    n_layers: int = 3


DISCRIMINATOR_PRESETS = {
    "toy": UNetSADiscriminatorConfig(ndf=8),
    "cpu": UNetSADiscriminatorConfig(ndf=64),
    "full": UNetSADiscriminatorConfig(ndf=64),
}


def unet_sa_discriminator_config(preset: str) -> UNetSADiscriminatorConfig:
    """The discriminator of a generator preset ("toy", "cpu" or "full")."""
    if preset not in DISCRIMINATOR_PRESETS:
        raise ValueError(
            f"unknown unet_sa discriminator preset {preset!r}; use one of "
            f"{sorted(DISCRIMINATOR_PRESETS)}"
        )
    return DISCRIMINATOR_PRESETS[preset]


class UNetSADiscriminator(ConfigModule):
    """forward(image, condition) -> (scores (B, 1, h, w), [features of each block]).

    image: (B, 3, H, W) in [-1, 1]; condition: (B, condition_channels, H, W), the generator's
    input (person + warped cloth + mask). Each score judges a 70x70 patch (n_layers 3), e.g.
    a 30x22 map at 256x192; H and W must be at least 2**(n_layers + 2). No normalisation
    layers: spectral norm on every conv bounds the discriminator's Lipschitz constant instead.

    `vton.models.discriminator.PatchDiscriminator` cannot express this network: its last
    stride-1 block is a 3x3 conv that keeps the width (about 1.3M parameters, 54x54 patches).
    """

    kind = "unet_sa_discriminator"
    config_class = UNetSADiscriminatorConfig

    def __init__(self, config: UNetSADiscriminatorConfig):
        super().__init__(config)
        c, channels = config, config.condition_channels + 3
        blocks = []
        for i in range(c.n_layers + 1):  # the last one is the stride-1 conv
            out = c.ndf * 2 ** min(i, 3)
            conv = nn.Conv2d(channels, out, 4, 2 if i < c.n_layers else 1, 1)
            blocks.append(nn.Sequential(spectral_norm(conv), nn.LeakyReLU(0.2, True)))
            channels = out
        self.blocks = nn.ModuleList(blocks)
        self.score = spectral_norm(nn.Conv2d(channels, 1, 4, 1, 1))

    def forward(
        self, image: torch.Tensor, condition: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = conditional_input(image, condition, self.config.condition_channels)
        smallest = 2 ** (self.config.n_layers + 2)
        if min(image.shape[-2:]) < smallest:
            raise ValueError(
                f"unet_sa discriminator input {image.shape[-2]}x{image.shape[-1]} is too small: "
                f"both sides must be at least {smallest} for n_layers {self.config.n_layers}"
            )
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return self.score(x), features


def keep_mask(
    keep_unmasked: bool, agnostic_mask: torch.Tensor | None, like: torch.Tensor, kind: str
) -> torch.Tensor | None:
    """The checked (B, 1, H, W) float agnostic mask when a generator keeps the photo outside
    it, else None; a ValueError when it keeps but got no mask."""
    if not keep_unmasked:
        return None
    if agnostic_mask is None:
        raise ValueError(
            f"this {kind} generator keeps the photo outside the agnostic mask (keep_unmasked): "
            f"pass agnostic_mask (B, 1, H, W)"
        )
    check_tensor(agnostic_mask, "agnostic_mask", 1, batch=like.shape[0], size=like.shape[-2:])
    return agnostic_mask.float()


def meta_parameter_count(build: Callable[[], nn.Module]) -> int:
    """Parameters of the module `build()` makes, built on the meta device (no memory used)."""
    with torch.device("meta"):
        module = build()
    return sum(p.numel() for p in module.parameters())


@dataclass(frozen=True)
class UNetSALossWeights:
    """The peer defaults (HR-VITON's lambda_feat, lambda_vgg, lambda_l1)."""

    gan: float = 1.0
    feature_matching: float = 10.0
    vgg: float = 10.0
    l1: float = 1.0


def unet_sa_generator_loss(
    fake: torch.Tensor,
    real: torch.Tensor,
    fake_scores: torch.Tensor,
    fake_features: list[torch.Tensor],
    real_features: list[torch.Tensor],
    weights: UNetSALossWeights = UNetSALossWeights(),
    vgg: PerceptualLoss | VGGFeatures | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The generator's loss -> (weighted total, {term: unweighted value, detached}).

    fake, real: (B, 3, H, W) in [-1, 1]; fake_scores and fake_features: the discriminator on
    (fake, condition); real_features: on (real, condition), detached here. Terms: "gan"
    (LSGAN, MSE of the fake scores to 1), "feature_matching" (L1 between the real and fake
    features, averaged over layers), "l1", and "vgg" (the five-level perceptual L1) only when
    a VGG is given: no weights ship with vton, and none is substituted when it is absent.
    """
    terms = {
        "gan": lsgan_g(fake_scores),
        "feature_matching": feature_matching(real_features, fake_features),
        "l1": F.l1_loss(fake.float(), real.float()),
    }
    if vgg is not None:
        perceptual = vgg if isinstance(vgg, PerceptualLoss) else PerceptualLoss(vgg)
        terms["vgg"] = perceptual(fake, real)[0]
    total = sum(
        (getattr(weights, name) * value for name, value in terms.items()),
        fake.new_zeros((), dtype=torch.float32),
    )
    return total, {name: value.detach() for name, value in terms.items()}


def lsgan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Least squares: 0.5 * mean((real - 1)^2) + 0.5 * mean(fake^2); score the fakes detached."""
    return lsgan_d(real_scores, fake_scores)
