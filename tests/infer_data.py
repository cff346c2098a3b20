"""Shared pieces of the inference tests: a tiny checkpoint, real photos, a live server."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from pathlib import Path

import numpy as np
import torch
from skimage import data as skimage_data

from vton.config import InferParams, Params, ServeParams
from vton.models import GMM, TOM, GMMConfig, TOMConfig
from vton.sources.sample import generate_sample

SIZE = (128, 96)  # the tests' working size (infer.height x width)


FAMILIES = ("gmm_tom", "unet_sa", "hrviton", "ldm", "catvton")


def tiny_checkpoint(root: Path, family: str = "gmm_tom") -> Path:
    """A family's warp/ + generator/ at toy width, seeded, saved with their configs.

    Training size 64x48 (hrviton: 128x96, what SPADE's 5 upsamplings and the TOCG's 4
    levels divide). Untrained, so the pixels mean nothing; the GMM starts as the identity
    warp and the TOCG's flows at zero.
    """
    from vton.families.spade import SPADEConfig, SPADEGenerator
    from vton.families.tocg import ConditionGenerator, TOCGConfig
    from vton.families.unet_sa import UNetSAConfig, UNetSAGenerator

    torch.manual_seed(0)
    gmm = GMM(GMMConfig(width=4, levels=2, grid=3, height=64, image_width=48))
    if family == "gmm_tom":
        warp, generator = gmm, TOM(TOMConfig(width=4, depth=2))
    elif family == "unet_sa":
        generator = UNetSAGenerator(
            UNetSAConfig(ngf=4, downsamplings=2, res_blocks=1, keep_unmasked=True)
        )
        warp = gmm
    elif family in ("ldm", "catvton"):
        warp, generator = _diffusion(family, gmm)
    elif family == "tryondiffusion":
        warp, generator = _cascade()
    else:
        warp = ConditionGenerator(
            TOCGConfig(ngf=4, levels=4, norm="instance", height=128, width=96)
        )
        generator = SPADEGenerator(SPADEConfig(ngf=4, hidden=8, injection=4, keep_unmasked=True))
    warp.save_pretrained(root / "warp")
    generator.save_pretrained(root / "generator")
    return root


def _diffusion(family: str, gmm):
    """(warp, generator) of a diffusion family at toy width, sampling in 3 (2) steps."""
    from diffusers import UNet2DConditionModel

    from vton.families.catvton import CatVTON, CatVTONConfig
    from vton.families.ldm import LatentDiffusion, LDMConfig
    from vton.families.nowarp import NoWarp
    from vton.families.vae import build_vae

    vae_config = dict(build_vae(8).config)
    if family == "ldm":
        config = LDMConfig(base_channels=8, levels=2, vae_config=vae_config, sample_steps=3)
        return gmm, LatentDiffusion(dataclasses.replace(config, height=64, width=48))
    unet = UNet2DConditionModel(
        in_channels=9,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        block_out_channels=(16, 32),
        layers_per_block=1,
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=8,
    )
    config = CatVTONConfig(
        unet_config=dict(unet.config), vae_config=vae_config, sample_steps=2, height=64, width=48
    )
    return NoWarp(), CatVTON(config)


def _cascade():
    """(the none warp, a tryondiffusion cascade at toy width: 32x24 base, 64x48 SR)."""
    from types import SimpleNamespace

    from model_data import TINY_PARALLEL_UNET

    from vton.families.nowarp import NoWarp
    from vton.families.tryondiffusion import TryOnDiffusion, TryOnDiffusionConfig, unet_config

    section = SimpleNamespace(**TINY_PARALLEL_UNET)  # as params give it
    config = TryOnDiffusionConfig(
        base=dataclasses.asdict(unet_config(section, lowres=False, size=(32, 24))),
        sr=dataclasses.asdict(unet_config(section, lowres=True, size=(64, 48))),
        sample_steps=2,
        sr_sample_steps=2,
        height=64,
        width=48,
    )
    return NoWarp(), TryOnDiffusion(config)


def tiny_params(**serve) -> Params:
    """Default params with a small working size and the given `infer.serve` values."""
    infer = InferParams(height=SIZE[0], width=SIZE[1], device="cpu", serve=ServeParams(**serve))
    return dataclasses.replace(Params(), infer=infer)


def person_photo() -> np.ndarray:
    """A real photo of one person (scikit-image's astronaut, 512x512, cut at the waist)."""
    return skimage_data.astronaut()


def garment_photo() -> np.ndarray:
    """A flat garment on a white backdrop (the synthetic source's cloth image, 256x192)."""
    return generate_sample(0, 256, 192, seed=1).cloth


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1 in a thread, for real-socket tests."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start (see the log above)")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
