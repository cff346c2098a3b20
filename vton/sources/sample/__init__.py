"""The embedded synthetic dataset: seeded stylised people in textured tops, with exact labels.

Sample `index` of stream `seed` is drawn from its own generator,
`np.random.default_rng([seed, index])`, so it does not depend on the samples before it,
and its parameters are drawn in size-free body units, so one index gives the same person at
every image size.

How the pixels and the annotations stay the same thing:

- The person is painted as ordered layers (background, hair, legs, lower garment, neck,
  top, head, arms with sleeves) into one owner map. `parse`, `densepose` and the keypoint
  visibility are read from that map, and each layer computes its colours only at the pixels
  it owns, so a pixel's label is always what is drawn there.
- The top exists once, flat, as panels (a torso panel and sleeves) in garment units with one
  texture field. The cloth image is that texture inside the panel outlines. The worn top
  samples the same texture through a piecewise-affine map from body panels to flat panels
  (the torso's sides foreshortened, the sleeves bent along the arms), then shaded.

Coordinates are pixels with integer centres (OpenPose's convention). "Left" is the person's
left, at larger x in these frontal images; `side` is +1 for the left and -1 for the right.

The modules, in the order a sample is made: `options` (names, palettes, proportions),
`params` and `sampling` (the size-free parameters and their draw), then the renderer:
`draw` (geometry, shaders), `canvas` (the owner map), `mesh` (piecewise-affine panels),
`garment` (the flat top, its texture, the cloth image), `body` (the posed body, the top as
worn) and `person` (painting the layers, reading the annotations).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from vton.records import Sample
from vton.sources.sample.garment import render_cloth
from vton.sources.sample.options import (
    ARM_POSES,
    BACKGROUNDS,
    HAIR_STYLES,
    LOGO_SHAPES,
    LOWER_GARMENTS,
    MIN_HEIGHT,
    MIN_WIDTH,
    NECKLINES,
    SLEEVES,
    SOURCE,
    TEXTURES,
)
from vton.sources.sample.params import (
    ArmParams,
    BodyParams,
    GarmentParams,
    SampleParams,
    SceneParams,
)
from vton.sources.sample.person import render_person
from vton.sources.sample.sampling import sample_params, sample_provenance

__all__ = [
    "ARM_POSES",
    "BACKGROUNDS",
    "HAIR_STYLES",
    "LOGO_SHAPES",
    "LOWER_GARMENTS",
    "MIN_HEIGHT",
    "MIN_WIDTH",
    "NECKLINES",
    "SLEEVES",
    "SOURCE",
    "TEXTURES",
    "ArmParams",
    "BodyParams",
    "GarmentParams",
    "SampleParams",
    "SceneParams",
    "generate",
    "generate_sample",
]


def _check_size(height: int, width: int) -> None:
    """Raise ValueError unless height x width is 4:3 (within 1 px) and at least 32 x 24."""
    if height < MIN_HEIGHT or width < MIN_WIDTH:
        raise ValueError(
            f"sample images must be at least {MIN_HEIGHT}x{MIN_WIDTH} (height x width), "
            f"got {height}x{width}; ask for a larger size such as 256x192"
        )
    if abs(width - height * 3 / 4) > 1:
        raise ValueError(
            f"sample images have the VITON-HD 4:3 aspect (height:width), got {height}x{width}; "
            f"for height {height} use width {round(height * 3 / 4)}"
        )


def generate_sample(
    index: int, height: int = 256, width: int = 192, seed: int = 0, split: str = "train"
) -> Sample:
    """Sample number `index` of the stream `seed`; the same arguments give identical arrays.

    person, cloth: (H, W, 3) uint8 RGB; cloth_mask: (H, W) bool; parse: (H, W) uint8
    VITON-HD ids; pose: (25, 3) float32 BODY_25 pixels with confidence 1.0, or (0, 0, 0)
    where a point is outside the image or hidden; densepose: (H, W) uint8 part ids 0..24.
    """
    _check_size(height, width)
    if index < 0 or seed < 0:
        raise ValueError(f"index and seed must be >= 0, got index={index}, seed={seed}")
    params = sample_params(np.random.default_rng([seed, index]))
    noise_rng = np.random.default_rng([seed, index, 1])  # size-dependent draws go here
    person, parse, dense, pose = render_person(params, height, width, noise_rng)
    cloth, cloth_mask = render_cloth(params.garment, params.scene, height, width)
    return Sample(
        id=f"{index:06d}_00",
        split=split,
        person=person,
        cloth=cloth,
        cloth_mask=cloth_mask,
        parse=parse,
        pose=pose,
        densepose=dense,
        source=SOURCE,
        origin=f"sample://seed={seed}/index={index}",
        provenance=sample_provenance(params, seed, index),
    )


def generate(
    count: int,
    height: int = 256,
    width: int = 192,
    seed: int = 0,
    split: str = "train",
    start: int = 0,
) -> Iterator[Sample]:
    """Samples start..start+count-1 of the stream `seed` (see `generate_sample`).

    The size is checked here, before the first sample is drawn.
    """
    _check_size(height, width)
    return (generate_sample(i, height, width, seed, split) for i in range(start, start + count))
