"""What one training step does for each model: forward, losses, backward, optimiser steps."""

from __future__ import annotations

import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vton.config import GmmTrain, TomTrain
from vton.families.forward import run_generator, run_warp
from vton.models.discriminator import DiscriminatorConfig, PatchDiscriminator
from vton.models.gmm import GMM, lattice_smoothness
from vton.models.inputs import person_representation
from vton.models.losses import PerceptualLoss, feature_matching, lsgan_d, lsgan_g
from vton.models.tom import TOM
from vton.models.vgg import VGGFeatures, load_vgg
from vton.train.grid import image_grid
from vton.train.runtime import Runtime


class Task:
    """Trainable `nets` (saved in checkpoints), their optimisers, and `step(batch)`.

    `frozen`: trained modules the task reads but does not train (the warp under a
    generator), moved to the device with the nets.
    """

    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    export_name: str  # the net saved with save_pretrained at the end
    scaler_state: dict | None = None  # the GradScaler's, from a checkpoint until `setup`
    frozen: tuple[nn.Module, ...] = ()

    def setup(self, runtime: Runtime) -> None:
        """Move to the device and wrap for DDP (after any checkpoint is loaded)."""
        self.runtime = runtime
        for module in self.frozen:
            module.to(runtime.device)
        self.run: dict[str, nn.Module] = {}
        for name, net in self.nets.items():
            net.to(runtime.device).train()
            if runtime.distributed:
                ids = [runtime.device.index] if runtime.device.type == "cuda" else None
                self.run[name] = nn.parallel.DistributedDataParallel(net, device_ids=ids)
            else:
                self.run[name] = net
        self.scaler = torch.amp.GradScaler(runtime.device.type, enabled=runtime.scaled)

    def to_device(self, batch: dict) -> dict:
        dev = self.runtime.device
        return {
            k: v.to(dev, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()
        }

    def backward(self, loss: torch.Tensor, name: str) -> None:
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)

    def step(self, batch: dict) -> dict[str, float]:
        """One optimisation step on `batch`; the losses as floats."""
        raise NotImplementedError

    def preview(self) -> np.ndarray:
        """A grid of the last step's inputs and outputs, (H, W, 3) uint8."""
        raise NotImplementedError

    def extra_state(self) -> dict:
        """What the checkpoint keeps besides nets and optimisers (an EMA, say)."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def exported(self) -> nn.Module:
        """The module `fit` saves at the end (its `save_pretrained`)."""
        return self.nets[self.export_name]


class GmmTask(Task):
    export_name = "gmm"

    def __init__(self, gmm: GMM, cfg: GmmTrain):
        self.cfg = cfg
        self.nets = {"gmm": gmm}
        self.optimizers = {"gmm": torch.optim.Adam(gmm.parameters(), lr=cfg.lr, betas=(0.5, 0.999))}

    def step(self, batch: dict) -> dict[str, float]:
        b, c = self.to_device(batch), self.cfg
        with self.runtime.autocast():
            out = self.run["gmm"](person_representation(b), b["cloth"], b["cloth_mask"])
        target_mask = b["person_cloth_mask"]
        warp = F.l1_loss(out.warped_cloth * out.warped_mask, b["person"] * target_mask)
        mask = F.l1_loss(out.warped_mask, target_mask)
        smooth = lattice_smoothness(out.lattice)
        loss = c.lambda_warp * warp + c.lambda_mask * mask + c.lambda_smooth * smooth
        self.backward(loss, "gmm")
        self.scaler.update()
        self.last = (b, out)
        return {
            "loss": loss.item(),
            "warp_l1": warp.item(),
            "mask_l1": mask.item(),
            "smoothness": smooth.item(),
        }

    def preview(self) -> np.ndarray:
        b, out = self.last
        overlay = b["person"] * (1 - out.warped_mask) + out.warped_cloth * out.warped_mask
        return image_grid(
            [b["person"], b["cloth"], out.warped_cloth, out.warped_mask, overlay], rows=4
        )


def vgg_from(path: str, key: str) -> VGGFeatures | None:
    """Frozen VGG features from local weights, or None (and a note) without."""
    if not path:
        print(
            f"note: no VGG weights ({key} is empty): the perceptual loss terms are off. Set "
            f"{key} to a local torchvision vgg19/vgg16 state dict (e.g. vgg19-dcbb9e9d.pth) to "
            f"train with them; nothing is downloaded.",
            file=sys.stderr,
        )
        return None
    return load_vgg(path, taps="first")


def perceptual_from(path: str, key: str) -> PerceptualLoss | None:
    """The VGG perceptual/style loss from local weights, or None (and a note) without."""
    vgg = vgg_from(path, key)
    return None if vgg is None else PerceptualLoss(vgg)


def frozen(module: nn.Module) -> nn.Module:
    return module.eval().requires_grad_(False)


class TomTask(Task):
    export_name = "tom"

    def __init__(self, tom: TOM, warp: nn.Module, cfg: TomTrain):
        self.cfg = cfg
        self.warp = frozen(warp)
        self.perceptual = perceptual_from(
            cfg.perceptual_weights, "train_generator.tom.perceptual_weights"
        )
        self.frozen = (self.warp,) if self.perceptual is None else (self.warp, self.perceptual)
        betas = (0.5, 0.999)
        self.nets = {"tom": tom}
        self.optimizers = {"tom": torch.optim.Adam(tom.parameters(), lr=cfg.lr, betas=betas)}
        if cfg.adversarial:
            d = PatchDiscriminator(DiscriminatorConfig(width=cfg.d_width, layers=cfg.d_layers))
            self.nets["discriminator"] = d
            self.optimizers["discriminator"] = torch.optim.Adam(
                d.parameters(), lr=cfg.d_lr, betas=betas
            )

    def step(self, batch: dict) -> dict[str, float]:
        b, c = self.to_device(batch), self.cfg
        person = person_representation(b)
        with torch.no_grad(), self.runtime.autocast():
            warped = run_warp(self.warp, b)
        logs: dict[str, float] = {}
        if c.adversarial:  # the discriminator first, on a detached result
            with torch.no_grad(), self.runtime.autocast():
                fake = run_generator(self.run["tom"], b, warped).result
            with self.runtime.autocast():  # one forward over real and fake (one DDP pass)
                scores, _ = self.run["discriminator"](
                    torch.cat([b["person"], fake]), torch.cat([person, person])
                )
            real_score, fake_score = scores.chunk(2)
            loss_d = lsgan_d(real_score, fake_score)
            self.backward(loss_d, "discriminator")
            logs["d_loss"] = loss_d.item()
        with self.runtime.autocast():
            out = run_generator(self.run["tom"], b, warped)
        l1 = F.l1_loss(out.result, b["person"])
        mask = F.l1_loss(out.mask, warped.mask.float())
        loss = c.lambda_l1 * l1 + c.lambda_mask * mask
        logs |= {"l1": l1.item(), "mask_l1": mask.item()}
        if self.perceptual is not None:
            perceptual, style = self.perceptual(out.result, b["person"])
            loss = loss + c.lambda_perceptual * perceptual + c.lambda_style * style
            logs |= {"perceptual": perceptual.item(), "style": style.item()}
        if c.adversarial:
            d = self.nets["discriminator"]  # not the DDP wrapper: G's step must not sync D
            with self.runtime.autocast():
                fake_score, fake_features = d(out.result, person)
                with torch.no_grad():
                    _, real_features = d(b["person"], person)
            adv, fm = lsgan_g(fake_score), feature_matching(real_features, fake_features)
            loss = loss + c.lambda_adv * adv + c.lambda_fm * fm
            logs |= {"g_adv": adv.item(), "feature_matching": fm.item()}
        self.backward(loss, "tom")
        self.scaler.update()
        self.last = (b, warped, out)
        return {"loss": loss.item(), **logs}

    def preview(self) -> np.ndarray:
        b, warped, out = self.last
        return image_grid(
            [b["person"], b["cloth"], warped.cloth, out.rendered, out.mask, out.result],
            rows=4,
        )
