"""The training steps of the unet_sa and hrviton families: TOCG, U-Net + SA GAN, SPADE.

Each is a `vton.train.tasks.Task`: trainable nets (generator, discriminator) with their
optimisers, the frozen warp under a generator, and `step(batch)`; the shared loop
(`vton.train.loop.fit`) does the rest. The discriminator steps first on a detached fake,
then the generator steps against the updated discriminator (not its DDP wrapper, so the
generator's step does not all-reduce the discriminator's gradients).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vton.config import SpadeTrain, TocgTrain, UnetSATrain
from vton.families.forward import Rendered, run_generator, run_warp, spade_inputs, tocg_inputs
from vton.families.spade import (
    SPADEDiscriminator,
    SPADEDiscriminatorConfig,
    SPADEGenerator,
    SPADELossWeights,
    hinge_discriminator_loss,
    spade_generator_loss,
)
from vton.families.tocg import (
    CLOTH_GROUP,
    ConditionGenerator,
    MultiscaleDiscriminator,
    TOCGDiscriminatorConfig,
    TOCGLossWeights,
    discriminator_loss,
    tocg_losses,
)
from vton.families.unet_sa import (
    UNetSADiscriminator,
    UNetSADiscriminatorConfig,
    UNetSAGenerator,
    UNetSALossWeights,
    gan41_representation,
    lsgan_discriminator_loss,
    unet_sa_generator_loss,
)
from vton.models.inputs import one_hot
from vton.models.losses import PerceptualLoss
from vton.train.grid import image_grid
from vton.train.tasks import Task, frozen, vgg_from

BETAS = (0.5, 0.999)


def _adam(module: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(module.parameters(), lr=lr, betas=BETAS)


def _floats(terms: dict[str, torch.Tensor], prefix: str = "") -> dict[str, float]:
    return {f"{prefix}{k}": float(v) for k, v in terms.items()}


class TocgTask(Task):
    """HR-VITON's condition generator: flows, warped garment and 13-group segmentation."""

    export_name = "tocg"

    def __init__(self, tocg: ConditionGenerator, cfg: TocgTrain):
        self.cfg = cfg
        self.vgg = vgg_from(cfg.perceptual_weights, "train_warp.tocg.perceptual_weights")
        self.frozen = () if self.vgg is None else (self.vgg,)
        self.weights = TOCGLossWeights(
            mask_l1=cfg.lambda_mask_l1,
            vgg=cfg.lambda_vgg,
            tv=cfg.lambda_tv,
            interflow=cfg.lambda_interflow,
            ce=cfg.lambda_ce,
            gan=cfg.lambda_gan,
        )
        self.nets = {"tocg": tocg}
        self.optimizers = {"tocg": _adam(tocg, cfg.lr)}
        if cfg.adversarial:
            d = MultiscaleDiscriminator(TOCGDiscriminatorConfig(ndf=cfg.d_ndf))
            self.nets["discriminator"] = d
            self.optimizers["discriminator"] = _adam(d, cfg.d_lr)

    def step(self, batch: dict) -> dict[str, float]:
        b = self.to_device(batch)
        cloth_in, pose_in = tocg_inputs(b)
        pcm = (b["parse"] == CLOTH_GROUP).float()[:, None]
        parse_cloth = b["person"] * pcm + (1 - pcm)  # the worn garment on white
        logs: dict[str, float] = {}
        with self.runtime.autocast():
            out = self.run["tocg"](cloth_in, pose_in)
        fake_scores = None
        if self.cfg.adversarial:
            real_seg = one_hot(b["parse"], 13)
            fake_seg = torch.softmax(out.seg_logits.float(), 1)
            with self.runtime.autocast():
                real = self.run["discriminator"](cloth_in, pose_in, real_seg)
                fake = self.run["discriminator"](cloth_in, pose_in, fake_seg.detach())
            loss_d = discriminator_loss(real, fake)
            self.backward(loss_d, "discriminator")
            logs["d_loss"] = loss_d.item()
            with self.runtime.autocast():
                scored = self.nets["discriminator"](cloth_in, pose_in, fake_seg)
            fake_scores = [s for s, _ in scored]
        loss, terms = tocg_losses(
            out, b["parse"], parse_cloth, cloth_in, self.weights, self.vgg, fake_scores
        )
        self.backward(loss, "tocg")
        self.scaler.update()
        self.last = (b, out)
        return {"loss": loss.item(), **_floats(terms), **logs}

    def preview(self) -> np.ndarray:
        b, out = self.last
        seg = out.seg_logits.argmax(1, keepdim=True).float() / 12
        overlay = b["person"] * (1 - out.warped_mask) + out.warped_cloth * out.warped_mask
        return image_grid(
            [b["person"], b["cloth"], out.warped_cloth, out.warped_mask, seg, overlay], rows=4
        )


class _GanGeneratorTask(Task):
    """A generator over the frozen warp with its conditional discriminator."""

    export_name = "generator"
    last: tuple  # (batch, warped, rendered) of the last step

    def __init__(self, generator, discriminator, warp, lr: float, d_lr: float):
        self.warp = frozen(warp)
        self.nets = {"generator": generator, "discriminator": discriminator}
        self.optimizers = {
            "generator": _adam(generator, lr),
            "discriminator": _adam(discriminator, d_lr),
        }

    def _preview(self, b: dict, warped, out) -> np.ndarray:
        return image_grid(
            [b["person"], b["cloth"], warped.cloth, out.rendered, out.mask, out.result], rows=4
        )

    def preview(self) -> np.ndarray:
        return self._preview(*self.last)


class UnetSATask(_GanGeneratorTask):
    """The 41-channel U-Net + self-attention generator, LSGAN + VGG + L1 + feature matching."""

    def __init__(self, generator: UNetSAGenerator, warp, cfg: UnetSATrain):
        d = UNetSADiscriminator(UNetSADiscriminatorConfig(ndf=cfg.d_ndf, n_layers=cfg.d_layers))
        super().__init__(generator, d, warp, cfg.lr, cfg.d_lr)
        self.cfg = cfg
        vgg = vgg_from(cfg.perceptual_weights, "train_generator.unet_sa.perceptual_weights")
        self.perceptual = None if vgg is None else PerceptualLoss(vgg)
        self.frozen = (self.warp,) if self.perceptual is None else (self.warp, self.perceptual)
        self.weights = UNetSALossWeights(
            gan=cfg.lambda_gan, feature_matching=cfg.lambda_fm, vgg=cfg.lambda_vgg, l1=cfg.lambda_l1
        )

    def step(self, batch: dict) -> dict[str, float]:
        b = self.to_device(batch)
        with torch.no_grad(), self.runtime.autocast():
            warped = run_warp(self.warp, b)
            fake = run_generator(self.run["generator"], b, warped).result
        condition = torch.cat([gan41_representation(b), warped.cloth, warped.mask], 1)
        with self.runtime.autocast():  # one forward over real and fake (one DDP pass)
            scores, _ = self.run["discriminator"](
                torch.cat([b["person"], fake]), torch.cat([condition, condition])
            )
        real_score, fake_score = scores.chunk(2)
        loss_d = lsgan_discriminator_loss(real_score, fake_score)
        self.backward(loss_d, "discriminator")
        d = self.nets["discriminator"]
        with self.runtime.autocast():
            out = run_generator(self.run["generator"], b, warped)
            fake_scores, fake_features = d(out.result, condition)
            with torch.no_grad():
                _, real_features = d(b["person"], condition)
        loss, terms = unet_sa_generator_loss(
            out.result,
            b["person"],
            fake_scores,
            fake_features,
            real_features,
            self.weights,
            self.perceptual,
        )
        self.backward(loss, "generator")
        self.scaler.update()
        self.last = (b, warped, out)
        return {"loss": loss.item(), "d_loss": loss_d.item(), **_floats(terms)}


class SpadeTask(_GanGeneratorTask):
    """HR-VITON's SPADE generator over the frozen TOCG: hinge GAN + feature matching + VGG
    (+ L1, `lambda_l1`). SPADE's noise is drawn per sample from the sample's seed."""

    def __init__(self, generator: SPADEGenerator, warp, cfg: SpadeTrain):
        d = SPADEDiscriminator(SPADEDiscriminatorConfig(ndf=cfg.d_ndf, spectral=cfg.spectral))
        super().__init__(generator, d, warp, cfg.lr, cfg.d_lr)
        self.cfg = cfg
        self.vgg = vgg_from(cfg.perceptual_weights, "train_generator.spade.perceptual_weights")
        self.frozen = (self.warp,) if self.vgg is None else (self.warp, self.vgg)
        self.weights = SPADELossWeights(
            gan=cfg.lambda_gan, feature_matching=cfg.lambda_fm, vgg=cfg.lambda_vgg
        )

    def _noise(self, b: dict, salt: int) -> list[torch.Generator]:
        device = self.runtime.device
        return [torch.Generator(device).manual_seed(int(s) * 2 + salt) for s in b["seed"].tolist()]

    def step(self, batch: dict) -> dict[str, float]:
        b = self.to_device(batch)
        with torch.no_grad(), self.runtime.autocast():
            warped = run_warp(self.warp, b)
        x, seg = spade_inputs(b, warped)
        keep = b["agnostic_mask"]
        with torch.no_grad(), self.runtime.autocast():
            fake = self.run["generator"](x, seg, self._noise(b, 0), keep)
        with self.runtime.autocast():
            outputs = self.run["discriminator"](
                torch.cat([seg, seg]), torch.cat([b["person"], fake])
            )
        real_scores = [s.chunk(2)[0] for s, _ in outputs]
        fake_scores = [s.chunk(2)[1] for s, _ in outputs]
        loss_d = hinge_discriminator_loss(real_scores, fake_scores)
        self.backward(loss_d, "discriminator")
        d = self.nets["discriminator"]
        with self.runtime.autocast():
            result = self.run["generator"](x, seg, self._noise(b, 1), keep)
            fake_outputs = d(seg, result)
            with torch.no_grad():
                real_outputs = d(seg, b["person"])
        loss, terms = spade_generator_loss(
            result, b["person"], fake_outputs, real_outputs, self.weights, self.vgg
        )
        if self.cfg.lambda_l1:
            l1 = F.l1_loss(result.float(), b["person"].float())
            loss = loss + self.cfg.lambda_l1 * l1
            terms["l1"] = l1.detach()
        self.backward(loss, "generator")
        self.scaler.update()
        out = Rendered(result, result, warped.mask)
        self.last = (b, warped, out)
        return {"loss": loss.item(), "d_loss": loss_d.item(), **_floats(terms)}
