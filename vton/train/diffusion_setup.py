"""How the diffusion families' stages build what they train: the VAE, ldm, catvton and
tryondiffusion's two Parallel-UNets.

`train_vae` (stage `train_vae`) writes the autoencoder the ldm family diffuses in: the local
one `train_vae.pretrained` names, unchanged, or one trained on the train split. `train_sr`
(stage `train_sr`) writes tryondiffusion's super-resolution model (the `none` kind for the
other families). `diffusion_task` gives `vton.train.train_generator` the model config,
params section and task builder of ldm (over the VAE), catvton (over the local SD-1.5
inpainting weights) and tryondiffusion's base (exported with the SR model as the cascade).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any, NamedTuple

import torch

from vton.config import Params
from vton.train import _divisible


@dataclasses.dataclass(frozen=True)
class VaeShape:
    width: int
    latent_channels: int
    layers: int
    height: int
    image_width: int


class Pretrained(NamedTuple):
    """catvton's config, and the identity of the local weights it starts from."""

    model: Any
    identity: str


def train_vae(
    params: Params,
    dataset: str | Path,
    out: str | Path,
    *,
    checkpoints: str | Path | None = None,
    live_dir: str | Path | None = None,
    samples_dir: str | Path | None = None,
) -> dict:
    """Write the VAE to `out` (diffusers' layout) and return the stage's summary, with the
    reconstruction L1 of the test split's photos (`recon_l1`) either way."""
    from vton.families.vae import build_vae, load_vae
    from vton.train import _train, train_size
    from vton.train.diffusion_tasks import VaeTask

    v, dataset, out = params.train_vae, Path(dataset), Path(out)
    size = train_size(params, dataset)
    if size[0] % 8 or size[1] % 8:
        raise ValueError(f"the VAE downsamples by 8: training size {size} must divide by 8")
    if v.pretrained:
        vae = load_vae(v.pretrained)
        vae.save_pretrained(out)
        summary: dict = {"step": 0, "resumed_from": 0, "samples_per_s": 0.0}
        summary["pretrained"] = v.pretrained
        if live_dir is not None:
            _write_live(Path(live_dir), summary)
    else:
        shape = VaeShape(v.width, v.latent_channels, v.layers, size[0], size[1])

        def build() -> VaeTask:
            return VaeTask(build_vae(v.width, v.latent_channels, v.layers), v)

        summary = _train(
            params, dataset, size, "vae", shape, v, build, out, checkpoints, live_dir, samples_dir
        )
        vae = load_vae(out)
        # As the LDM paper does: latents scaled to unit variance, so that the noise schedule
        # means at every timestep what it says (SD's 0.18215 is its own VAE's)
        vae.register_to_config(scaling_factor=round(1 / latent_std(vae, dataset, size), 5))
        vae.save_pretrained(out)
        summary["scaling_factor"] = vae.config.scaling_factor
    summary["recon_l1"] = round(reconstruction_l1(vae, dataset, size), 5)
    if live_dir is not None:
        extra = {k: summary[k] for k in ("recon_l1", "scaling_factor") if k in summary}
        _update_metrics(Path(live_dir), extra)
    return summary


def latent_std(vae: Any, dataset: Path, size: tuple[int, int], n: int = 64) -> float:
    """The standard deviation of the posterior means of up to `n` train photos."""
    from vton.train.data import TryOnDataset

    data = TryOnDataset(dataset, "train", size=size)
    photos = torch.stack([data[i]["person"] for i in range(min(n, len(data)))])
    with torch.no_grad():
        return float(vae.eval().encode(photos).latent_dist.mean.std())


def reconstruction_l1(vae: Any, dataset: Path, size: tuple[int, int], n: int = 8) -> float:
    """Mean L1 of the VAE's round trip (posterior mean) of up to `n` test photos (train
    photos when the dataset has no test split)."""
    from vton.families.diffusion import decode, encode
    from vton.layout import Layout
    from vton.train.data import TryOnDataset

    split = "test" if Layout(dataset).pairs_path("test").is_file() else "train"
    data = TryOnDataset(dataset, split, size=size)
    photos = torch.stack([data[i]["person"] for i in range(min(n, len(data)))])
    with torch.no_grad():
        recon = decode(vae, encode(vae.eval(), photos)).clamp(-1, 1)
    return float((recon - photos).abs().mean())


def _write_live(live: Path, summary: dict) -> None:
    import json

    live.mkdir(parents=True, exist_ok=True)
    (live / "plots" / "metrics").mkdir(parents=True, exist_ok=True)
    metrics = {k: v for k, v in summary.items() if k != "step"}
    (live / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


def _update_metrics(live: Path, values: dict) -> None:
    import json

    path = live / "metrics.json"
    doc = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps(doc | values, indent=2) + "\n")


def diffusion_task(
    params: Params, kind: str, warp: Any, size: tuple[int, int], vae: Any, sr: Any = None
):
    """(config, section, build) of ldm, catvton or tryondiffusion (its base, exported with
    the super-resolution model `sr`); catvton's config is a `Pretrained`."""
    g = params.train_generator
    if kind == "tryondiffusion":
        return _base_task(params, size, sr)
    if kind == "ldm":
        from vton.families.ldm import LatentDiffusion, ldm_config
        from vton.train.diffusion_tasks import LdmTask

        s = g.ldm
        config = ldm_config(s, dict(vae.config), size)
        step = 8 * 2 ** (s.levels - 1)
        _divisible(size, step, f"the VAE's 8 and train_generator.ldm.levels = {s.levels}")
        warp_module = None if warp.kind == "none" else warp

        def build_ldm() -> LdmTask:
            model = LatentDiffusion(config)
            model.vae.load_state_dict(vae.state_dict())
            return LdmTask(model, warp_module, s)

        return config, s, build_ldm
    from vton.families.catvton import CatVTON, CatVTONConfig
    from vton.train.diffusion_tasks import CatvtonTask

    c = g.catvton
    unet_dir, vae_dir = catvton_folders(params)
    _divisible(size, 8, "the VAE's 8")
    settings: dict[str, Any] = {
        "sample_steps": c.sample_steps,
        "eta": c.eta,
        "guidance": c.guidance,
        "repaint": c.repaint,
        "height": size[0],
        "width": size[1],
    }
    identity = _weights_identity(unet_dir) + _weights_identity(vae_dir)
    record = CatVTONConfig(**settings)  # what the fingerprint reads (the weights: identity)

    def build_catvton() -> CatvtonTask:
        return CatvtonTask(CatVTON.from_local(unet_dir, vae_dir, **settings), c)

    return Pretrained(record, identity), c, build_catvton


def catvton_folders(params: Params) -> tuple[Path, Path]:
    """The local U-Net and VAE folders of catvton; the error names the key to set."""
    from vton.families.catvton import UNET_KEY, VAE_KEY
    from vton.families.vae import model_folder

    c = params.train_generator.catvton
    unet = model_folder(c.unet, "unet", UNET_KEY, "UNet2DConditionModel")
    return unet, model_folder(c.vae, "vae", VAE_KEY, "AutoencoderKL")


def _weights_identity(folder: Path) -> str:
    """A cheap identity of a weights folder: every file's name and size."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        h.update(f"{path.name}:{path.stat().st_size}\n".encode())
    return h.hexdigest()


def train_sr(
    params: Params,
    dataset: str | Path,
    out: str | Path,
    *,
    checkpoints: str | Path | None = None,
    live_dir: str | Path | None = None,
    samples_dir: str | Path | None = None,
) -> dict:
    """Train tryondiffusion's super-resolution Parallel-UNet at the training size (from the
    ground truth's downsampled copy); other families save the `none` kind and train nothing."""
    from vton.families import tryondiffusion as td
    from vton.families.nowarp import NoWarp
    from vton.train import _train, train_size
    from vton.train.tryondiffusion_task import ParallelUNetTask

    dataset, out = Path(dataset), Path(out)
    if params.train.family != "tryondiffusion":
        NoWarp().save_pretrained(out)
        summary: dict = {"step": 0, "resumed_from": 0, "samples_per_s": 0.0, "sr": "none"}
        if live_dir is not None:
            _write_live(Path(live_dir), summary | {"family": params.train.family})
        return summary
    s, size = params.train_sr, train_size(params, dataset)
    config = td.unet_config(s, lowres=True, size=size)
    _divisible(size, td.SR_FACTOR * config.step, f"train_sr.channels has {len(s.channels)} levels")

    def build() -> ParallelUNetTask:
        return ParallelUNetTask(td.ParallelUNet(config), s)

    return _train(
        params,
        dataset,
        size,
        "parallel_unet",
        config,
        s,
        build,
        out,
        checkpoints,
        live_dir,
        samples_dir,
    )


def _base_task(params: Params, size: tuple[int, int], sr: Any):
    """(config, section, build) of the cascade's base at half of `size`."""
    from vton.families import tryondiffusion as td
    from vton.train.tryondiffusion_task import ParallelUNetTask

    s = params.train_generator.tryondiffusion
    config = td.unet_config(s, lowres=False, size=td.base_size(size))
    step = td.SR_FACTOR * config.step
    _divisible(size, step, "the SR factor 2 and train_generator.tryondiffusion.channels")
    sampling = {
        "sample_steps": s.sample_steps,
        "sr_sample_steps": params.train_sr.sample_steps,
        "guidance": s.guidance,
        "aug_level": s.aug_level,
        "threshold": s.threshold,
        "height": size[0],
        "width": size[1],
    }
    if sr is not None and sr.config.lowres is not True:
        raise ValueError("the super-resolution folder holds a base Parallel-UNet, not an SR one")

    def build() -> ParallelUNetTask:
        return ParallelUNetTask(td.ParallelUNet(config), s, sr=sr, sampling=sampling)

    return config, s, build
