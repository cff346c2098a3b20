"""The model families: which warp and which generator each trains, and every saved kind.

A family is a warping module (stage `train_warp`) and an image generator over it (stage
`train_generator`):

  family    warp   generator   params
  gmm_tom   gmm    tom         train_warp.gmm,  train_generator.tom
  unet_sa   gmm    unet_sa     train_warp.gmm,  train_generator.unet_sa
  hrviton   tocg   spade       train_warp.tocg, train_generator.spade
  ldm       gmm    ldm         train_warp.gmm,  train_vae, train_generator.ldm
  catvton   none   catvton     train_generator.catvton (local SD-1.5 inpainting weights)
  tryondiffusion  none  tryondiffusion  train_generator.tryondiffusion (the base), train_sr

`tryondiffusion` is a cascade: stage `train_sr` trains its super-resolution Parallel-UNet
(kind `parallel_unet`; every other family's SR folder holds the `none` kind) and
`train_generator` its base, saving both as one `tryondiffusion` model.

`train.family` picks the family; `train_warp.module` may put another warp under it (tom,
unet_sa and ldm run over either; spade needs the tocg's segmentation; catvton warps
nothing: its warp folder holds the `none` kind). Every model directory
holds `config.json` (with its `kind`) beside `model.safetensors`; `load_model` rebuilds
whichever kind a directory holds.
"""

from __future__ import annotations

import json
from pathlib import Path

from vton.models.blocks import CONFIG_NAME, ConfigModule

FAMILIES: dict[str, tuple[str, str]] = {
    "gmm_tom": ("gmm", "tom"),
    "unet_sa": ("gmm", "unet_sa"),
    "hrviton": ("tocg", "spade"),
    "ldm": ("gmm", "ldm"),
    "catvton": ("none", "catvton"),
    "tryondiffusion": ("none", "tryondiffusion"),
}
TRAINED_WARPS = ("gmm", "tocg")
WARPS = (*TRAINED_WARPS, "none")
GENERATORS = ("tom", "unet_sa", "spade", "ldm", "catvton", "tryondiffusion")
SUPER_RESOLUTION = ("none", "parallel_unet")  # what stage train_sr saves
NEEDS_SEGMENTATION = ("spade",)  # generators that read the warp's try-on segmentation
DIFFUSION = ("ldm", "catvton", "tryondiffusion")  # generators that sample (steps, seed...)
UNWARPED = ("catvton", "tryondiffusion")  # generators that read the flat garment, no warp


def model_classes() -> dict[str, type[ConfigModule]]:
    """kind -> the ConfigModule class that saves and loads it."""
    from vton.families.catvton import CatVTON
    from vton.families.ldm import LatentDiffusion
    from vton.families.nowarp import NoWarp
    from vton.families.parallel_unet import ParallelUNet
    from vton.families.spade import SPADEGenerator
    from vton.families.tocg import ConditionGenerator
    from vton.families.tryondiffusion import TryOnDiffusion
    from vton.families.unet_sa import UNetSAGenerator
    from vton.models.gmm import GMM
    from vton.models.tom import TOM

    classes: list[type[ConfigModule]] = [GMM, ConditionGenerator, NoWarp, TOM, UNetSAGenerator]
    classes += [SPADEGenerator, LatentDiffusion, CatVTON, ParallelUNet, TryOnDiffusion]
    return {cls.kind: cls for cls in classes}


def family_kinds(family: str, warp_module: str = "auto") -> tuple[str, str]:
    """(warp kind, generator kind) of a family, with `warp_module` ("auto": the family's)."""
    if family not in FAMILIES:
        raise ValueError(f"train.family must be one of {sorted(FAMILIES)}, got {family!r}")
    warp, generator = FAMILIES[family]
    if warp_module != "auto" and generator not in UNWARPED:  # catvton... ignore it
        if warp_module not in TRAINED_WARPS:
            raise ValueError(
                f"train_warp.module must be auto or one of {TRAINED_WARPS}, got {warp_module!r}"
            )
        warp = warp_module
    check_pair(warp, generator)
    return warp, generator


def check_pair(warp: str, generator: str) -> None:
    if (generator in UNWARPED) != (warp == "none"):
        raise ValueError(
            f"the {generator} generator cannot run over a {warp} warp: {', '.join(UNWARPED)} "
            f"read the flat garment (warp kind none), every other generator a warped one"
        )
    if generator in NEEDS_SEGMENTATION and warp != "tocg":
        raise ValueError(
            f"the {generator} generator reads the try-on segmentation only the tocg warp "
            f"predicts; set train_warp.module to tocg (or auto) for train.family hrviton"
        )


def saved_kind(directory: str | Path) -> str:
    """The `kind` a model directory's config.json names."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: a model directory holds {CONFIG_NAME} and model.safetensors "
            f"(written by the train_warp / train_generator stages)"
        )
    kind = json.loads(path.read_text()).get("kind")
    if kind not in model_classes():
        raise ValueError(f"{path} names kind {kind!r}; known kinds: {sorted(model_classes())}")
    return str(kind)


def load_model(directory: str | Path, expect: tuple[str, ...] | None = None) -> ConfigModule:
    """The model saved in `directory`, rebuilt from its config, on CPU in eval mode.

    `expect`: the kinds allowed there (a ValueError names what was found otherwise)."""
    kind = saved_kind(directory)
    if expect is not None and kind not in expect:
        raise ValueError(f"{directory} holds a {kind} model; expected one of {expect}")
    return model_classes()[kind].from_pretrained(directory).eval()
