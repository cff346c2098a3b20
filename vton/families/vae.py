"""The KL autoencoders the diffusion families work in: built from params, or local weights.

A VAE directory is diffusers' own layout (`config.json` naming AutoencoderKL beside
`diffusion_pytorch_model.safetensors`), so a Stable Diffusion VAE folder and the one stage
`train_vae` writes are read alike. A pipeline root with a `vae/` subfolder works too.
Nothing is downloaded: a path that holds no VAE fails with the params key to set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

LEVELS = 4  # downsampling factor 2**(LEVELS - 1) = 8, as Stable Diffusion's


def build_vae(width: int, latent_channels: int = 4, layers: int = 1):
    """A fresh AutoencoderKL with four levels of width, 2x, 2x, 2x channels (factor 8)."""
    from diffusers import AutoencoderKL

    channels = (width, 2 * width, 2 * width, 2 * width)
    groups = 8 if width % 8 == 0 else 1
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * LEVELS,
        up_block_types=("UpDecoderBlock2D",) * LEVELS,
        block_out_channels=channels,
        latent_channels=latent_channels,
        layers_per_block=layers,
        norm_num_groups=groups,
    )


def model_folder(path: str | Path, sub: str, key: str, cls_name: str) -> Path:
    """The folder holding a diffusers `cls_name` at `path` (or its `sub/` subfolder)."""
    if not str(path):
        raise FileNotFoundError(
            f"no local {cls_name} weights: set {key} to a local diffusers folder (weights are "
            f"never downloaded)"
        )
    root = Path(path).expanduser()
    for folder in (root, root / sub):
        if (folder / "config.json").is_file():
            return folder
    raise FileNotFoundError(
        f"{key} = {path}: no {cls_name} there (expected config.json and weights in it or in "
        f"its {sub}/ subfolder)"
    )


def load_vae(path: str | Path, key: str = "train_vae.pretrained") -> Any:
    """The AutoencoderKL saved at `path`, on CPU in eval mode."""
    from diffusers import AutoencoderKL

    folder = model_folder(path, "vae", key, "AutoencoderKL")
    try:
        return AutoencoderKL.from_pretrained(str(folder), low_cpu_mem_usage=False).eval()
    except (OSError, ValueError) as exc:
        raise ValueError(f"{key} = {path}: not a loadable AutoencoderKL: {exc}") from exc


def downsampling(vae: Any) -> int:
    return 2 ** (len(vae.config.block_out_channels) - 1)
