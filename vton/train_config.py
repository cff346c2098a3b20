"""The params of the training stages: `train` (shared), `train_warp`, `train_vae` and
`train_generator`.

Sections of `vton.config.Params` (which loads and checks params.yaml and re-exports these);
kept apart so that the model families' knobs do not crowd the data pipeline's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class TrainData:
    """Loading and augmentation shared by both models (`vton.train.data`)."""

    height: int = 128  # training resolution; 0 and 0: the dataset's own size
    width: int = 96
    augment: bool = True  # one random affine + colour change per sample, on every kind alike
    shift: float = 0.04  # max translation, fraction of the side
    scale: float = 0.05  # max relative zoom in or out
    rotate: float = 4.0  # max rotation, degrees
    color: float = 0.1  # max brightness/contrast change (photos and agnostic together)
    p: float = 0.8  # probability that a sample is augmented at all


@dataclass(frozen=True)
class GmmTrain:
    """The geometric matching module (`vton.models.gmm`) and its training."""

    steps: int = 300
    batch_size: int = 4  # the global batch: split across DDP processes
    lr: float = 1e-3
    width: int = 16  # channels of the first encoder level (doubles per level)
    levels: int = 3  # encoder downsamplings: the correlation runs at 1/2**levels
    grid: int = 5  # thin-plate-spline control points per side
    lambda_warp: float = 1.0  # L1 of the warped cloth against the cloth on the person
    lambda_mask: float = 1.0  # L1 of the warped mask against the person's garment region
    lambda_smooth: float = 0.5  # second differences of the control-point lattice
    log_every: int = 20
    sample_every: int = 100  # sample grid image every N steps (0: only at the end)
    checkpoint_every: int = 100


@dataclass(frozen=True)
class TomTrain:
    """The try-on generator (`vton.models.tom`), its discriminator and their training."""

    steps: int = 500
    batch_size: int = 4
    lr: float = 1e-3
    width: int = 16  # channels of the first U-Net level (doubles per level, capped at 8x)
    depth: int = 4  # U-Net downsamplings
    keep_unmasked: bool = True  # outside the agnostic mask the result is the agnostic photo
    lambda_l1: float = 1.0
    lambda_perceptual: float = 1.0  # VGG feature L1 (only with perceptual_weights)
    lambda_style: float = 10.0  # Gram-matrix L1 on the same features
    lambda_mask: float = 0.5  # composition mask against the warped cloth mask
    # A local VGG16/VGG19 state dict in torchvision's key layout (vgg19-dcbb9e9d.pth).
    # Empty: the perceptual and style terms are off and the run says so.
    perceptual_weights: str = ""
    adversarial: bool = False  # LSGAN with a spectral-norm PatchGAN and feature matching
    lambda_adv: float = 0.1
    lambda_fm: float = 1.0
    d_width: int = 32
    d_layers: int = 3
    d_lr: float = 1e-3
    log_every: int = 25
    sample_every: int = 200
    checkpoint_every: int = 200


@dataclass(frozen=True)
class TocgTrain:
    """HR-VITON's try-on condition generator (`vton.families.tocg`), its multi-scale
    discriminator and their training: the `warp` of the hrviton family."""

    steps: int = 300
    batch_size: int = 4
    lr: float = 1e-3
    ngf: int = 8  # width of the first encoder level (HR-VITON: 96)
    levels: int = 5  # encoder levels: inputs must divide by 2**levels
    # its own size, trained and run at (the generator's flows and parse are upsampled);
    # 0 and 0: train.data's. HR-VITON: 256x192 under a 1024x768 SPADE
    height: int = 0
    width: int = 0
    # instance keeps DDP equal to one process; HR-VITON uses batch
    norm: Literal["instance", "batch"] = "instance"
    lambda_mask_l1: float = 10.0  # occlusion-free warped mask against the worn garment's
    lambda_vgg: float = 1.0  # VGG of the warped garment (only with perceptual_weights)
    lambda_tv: float = 2.0  # total variation of the finest flow
    lambda_interflow: float = 1.0  # the same terms for every coarser flow, halved per level
    lambda_ce: float = 10.0  # cross-entropy of the aligned 13-group segmentation
    lambda_gan: float = 1.0  # LSGAN on the segmentation (only with adversarial)
    perceptual_weights: str = ""  # local torchvision vgg19 state dict; "": VGG terms off
    adversarial: bool = False  # the multi-scale PatchGAN over (cloth, pose, segmentation)
    d_ndf: int = 16
    d_lr: float = 2e-4
    log_every: int = 20
    sample_every: int = 100
    checkpoint_every: int = 100


@dataclass(frozen=True)
class TrainWarp:
    """Stage `train_warp`: the warping module of the family (`module: auto`) or the one named."""

    module: Literal["auto", "gmm", "tocg"] = "auto"  # auto: gmm, or tocg for hrviton
    gmm: GmmTrain = field(default_factory=GmmTrain)
    tocg: TocgTrain = field(default_factory=TocgTrain)


@dataclass(frozen=True)
class UnetSATrain:
    """The 41-channel U-Net + self-attention GAN (`vton.families.unet_sa`) and its training."""

    steps: int = 500
    batch_size: int = 4
    lr: float = 1e-3
    ngf: int = 16  # channels at full resolution (doubling per level, capped at 512)
    downsamplings: int = 4
    res_blocks: int = 2  # residual blocks at the bottleneck, self-attention halfway
    norm: Literal["instance", "batch"] = "instance"
    keep_unmasked: bool = True  # outside the agnostic mask the result is the agnostic photo
    lambda_gan: float = 1.0  # LSGAN
    lambda_fm: float = 10.0  # discriminator feature matching
    lambda_vgg: float = 10.0  # VGG19 perceptual, five layers (only with perceptual_weights)
    lambda_l1: float = 1.0
    perceptual_weights: str = ""
    d_ndf: int = 16  # the 70x70 spectral-norm PatchGAN (design: 64)
    d_layers: int = 3
    d_lr: float = 1e-3
    log_every: int = 25
    sample_every: int = 200
    checkpoint_every: int = 200


@dataclass(frozen=True)
class SpadeTrain:
    """HR-VITON's SPADE image generator (`vton.families.spade`) and its training."""

    steps: int = 500
    batch_size: int = 4
    lr: float = 1e-3
    ngf: int = 8  # HR-VITON: 64
    hidden: int = 32  # SPADE's shared conv over the parse (HR-VITON: 128)
    injection: int = 8  # channels of the inputs injected at every scale (HR-VITON: 16)
    # normal | more | most (5 / 6 / 7 upsamplings); auto: from the training height
    # (256 normal, 512 more, 1024 most; other heights normal)
    upsamplings: Literal["auto", "normal", "more", "most"] = "auto"
    spectral: bool = True
    keep_unmasked: bool = True
    lambda_gan: float = 1.0  # hinge
    lambda_fm: float = 10.0
    lambda_vgg: float = 10.0  # only with perceptual_weights
    # HR-VITON never applies its lambda_l1; without VGG weights feature matching alone is a
    # weak reconstruction signal, so L1 is on here (0 gives the design's loss)
    lambda_l1: float = 1.0
    perceptual_weights: str = ""
    d_ndf: int = 16  # two-scale spectral-norm PatchGAN over parse + image (HR-VITON: 64)
    d_lr: float = 1e-3
    log_every: int = 25
    sample_every: int = 200
    checkpoint_every: int = 200


@dataclass(frozen=True)
class VaeTrain:
    """Stage `train_vae`: the KL autoencoder (downsampling 8) the ldm family diffuses in.

    With `pretrained` (a local diffusers AutoencoderKL folder, e.g. Stable Diffusion's VAE or
    sd-vae-ft-mse) that VAE is written out unchanged and nothing trains; otherwise one is
    trained on the train split's person and garment photos."""

    pretrained: str = ""
    steps: int = 400
    batch_size: int = 4
    lr: float = 1e-3
    width: int = 16  # channels of the first of the four levels (then 2x, 2x, 2x)
    latent_channels: int = 4
    layers: int = 1  # resnet blocks per level
    lambda_kl: float = 1e-6
    lambda_vgg: float = 1.0  # VGG19 perceptual (only with perceptual_weights)
    perceptual_weights: str = ""
    log_every: int = 25
    sample_every: int = 100
    checkpoint_every: int = 100


@dataclass(frozen=True)
class LdmTrain:
    """The from-scratch latent-diffusion U-Net over the warped garment (`vton.families.ldm`)."""

    steps: int = 1000
    batch_size: int = 4
    lr: float = 5e-4
    width: int = 32  # channels of the first U-Net level (design: 64)
    levels: int = 3  # U-Net levels (design: 6 down, 6 up)
    max_width: int = 512  # channel cap (doubling per level)
    layers: int = 1  # resnet blocks per level (design: 2 convs in one block)
    se_reduction: int = 16  # squeeze-excitation ratio (at least 4 channels in the squeeze)
    timesteps: int = 1000
    lambda_vgg: float = 1e-3  # VGG on the differentiable decode of x0 (with perceptual_weights)
    perceptual_weights: str = ""
    ema_decay: float = 0.999  # 0: no EMA (the raw weights are exported)
    gradient_checkpointing: bool = False
    sample_steps: int = 200  # DDIM steps at evaluation and try-on
    eta: float = 0.0
    clip_x0: bool = True  # each step's clean estimate clipped to [-1, 1] in pixel space
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 250


@dataclass(frozen=True)
class CatvtonTrain:
    """CatVTON (`vton.families.catvton`): self-attention fine-tuning of SD-1.5 inpainting."""

    # local diffusers folders (a UNet2DConditionModel with 9 input channels, an
    # AutoencoderKL); a pipeline root with unet/ and vae/ subfolders works for both
    unet: str = ""
    vae: str = ""
    steps: int = 200
    batch_size: int = 2
    lr: float = 1e-5
    garment_dropout: float = 0.1  # the garment latent zeroed (classifier-free guidance)
    dream: float = 10.0  # DREAM detail preservation p; 0: off (plain MSE)
    ema_decay: float = 0.0  # 0: no EMA
    gradient_checkpointing: bool = True
    sample_steps: int = 50
    eta: float = 1.0
    guidance: float = 2.5
    repaint: bool = False  # blend the result into the photo through a blurred mask
    log_every: int = 25
    sample_every: int = 100
    checkpoint_every: int = 100


@dataclass(frozen=True)
class ParallelUNetTrain:
    """One Parallel-UNet of the tryondiffusion cascade: its network, diffusion and schedule
    (`train_generator.tryondiffusion`: the base at half the training size; `train_sr`: the
    super-resolution model at the training size)."""

    steps: int = 400
    batch_size: int = 4
    lr: float = 5e-4  # the design: 1e-4 at batch 256 with a 10k-step warm-up
    channels: tuple[int, ...] = (32, 64, 128)  # per level (the design's base: 128..1024)
    blocks: tuple[int, ...] = (1, 1, 2)  # residual blocks per level (base: 3, 4, 6, 7)
    attention_levels: int = 2  # the lowest levels with self- and cross-attention
    heads: int = 4
    dim_head: int = 16
    cond_dim: int = 128  # time / FiLM embedding (the design: 512 base, 768 SR)
    pose_dim: int = 64  # pose tokens
    pose_depth: int = 2  # transformer layers over the pose tokens
    min_snr_gamma: float = 5.0
    cond_drop: float = 0.1  # garment and poses dropped (classifier-free guidance)
    ema_decay: float = 0.999  # 0: no EMA
    gradient_checkpointing: bool = False
    sample_steps: int = 64  # ancestral sampling steps at evaluation and try-on
    log_every: int = 25
    sample_every: int = 200
    checkpoint_every: int = 100


@dataclass(frozen=True)
class TryondiffusionTrain(ParallelUNetTrain):
    """The cascade's base and how the cascade samples."""

    steps: int = 600
    guidance: float = 2.0  # classifier-free guidance weight (the design's 2)
    aug_level: float = 0.0  # the conditioning images' noise level at sampling
    threshold: float = 0.95  # dynamic thresholding percentile


@dataclass(frozen=True)
class SrTrain(ParallelUNetTrain):
    """Stage `train_sr`: the cascade's super-resolution model (the design: five levels,
    attention at the lowest only)."""

    channels: tuple[int, ...] = (16, 32, 64, 128)
    blocks: tuple[int, ...] = (1, 1, 1, 2)
    attention_levels: int = 1
    sample_steps: int = 32


@dataclass(frozen=True)
class TrainGenerator:
    """Stage `train_generator`: the family's image generator over the frozen warp."""

    tom: TomTrain = field(default_factory=TomTrain)
    unet_sa: UnetSATrain = field(default_factory=UnetSATrain)
    spade: SpadeTrain = field(default_factory=SpadeTrain)
    ldm: LdmTrain = field(default_factory=LdmTrain)
    catvton: CatvtonTrain = field(default_factory=CatvtonTrain)
    tryondiffusion: TryondiffusionTrain = field(default_factory=TryondiffusionTrain)


@dataclass(frozen=True)
class Train:
    """What both training stages share; `family` picks what they train."""

    # gmm_tom (GMM + TOM) | unet_sa (warp + the 41-channel GAN) | hrviton (TOCG + SPADE) |
    # ldm (warp + latent diffusion) | catvton (no warp; SD-1.5 inpainting, self-attention) |
    # tryondiffusion (no warp; the Parallel-UNet cascade in pixel space, base + SR)
    family: Literal["gmm_tom", "unet_sa", "hrviton", "ldm", "catvton", "tryondiffusion"] = "gmm_tom"
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision on CUDA only (float16 with grad scaling, or bfloat16)
    amp_dtype: Literal["float16", "bfloat16"] = "float16"
    seed: int = 0
    data: TrainData = field(default_factory=TrainData)
