"""The one-pair try-on pipeline and `vton tryon` on real photos with a tiny checkpoint."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from infer_data import SIZE, garment_photo, person_photo, tiny_checkpoint, tiny_params
from PIL import Image, ImageFilter

from vton.annotate.agnostic import make_agnostic
from vton.annotate.base import AnnotationRejected
from vton.cli import main as vton_main
from vton.infer import INTERMEDIATES, InferencePipeline, checkpoint_dirs
from vton.infer.model_io import model_batch
from vton.layout import Layout
from vton.sources.sample import generate_sample
from vton.train.data import load_pair
from vton.writer import write_sample


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("checkpoint"))


@pytest.fixture(scope="module")
def pipe(checkpoint) -> InferencePipeline:
    pipe = InferencePipeline.from_checkpoint(checkpoint, tiny_params())
    yield pipe
    pipe.close()


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    paths = {"person": folder / "astronaut.jpg", "garment": folder / "shirt.png"}
    Image.fromarray(person_photo()).save(paths["person"], quality=95)
    Image.fromarray(garment_photo()).save(paths["garment"])
    return paths


def test_one_pair_gives_every_intermediate_and_keeps_the_photo_outside_the_mask(pipe):
    person = person_photo()
    out = pipe.run(person, garment_photo())
    assert out.result.shape == (*SIZE, 3) and out.result.dtype == np.uint8
    assert tuple(out.images) == INTERMEDIATES
    for name, image in out.images.items():
        assert image.shape == (*SIZE, 3) and image.dtype == np.uint8, name
    stages = {"fit", "pose", "parse", "densepose", "cloth_mask", "agnostic", "inputs", "models"}
    assert stages | {"outputs", "total"} <= set(out.timings)
    assert all(v >= 0 for v in out.timings.values())
    assert out.notes["pose"]["backend"] == "mediapipe"
    # The agnostic photo greys the torso, so the person was found and masked.
    grey = (out.images["agnostic"] == 128).all(axis=2)
    assert grey.mean() > 0.02
    # paste_back: far from the agnostic mask the result is the fitted photo itself.
    grown = Image.fromarray(grey.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(9))
    far = ~np.asarray(grown, bool)
    assert np.array_equal(out.result[far], out.images["person"][far])
    # Inside, the pixels come from the model (warped garment / rendering), not the photo.
    assert not np.array_equal(out.result[grey], out.images["person"][grey])


def test_inputs_are_what_training_reads(tmp_path):
    """Annotations in memory -> model_batch gives exactly the tensors load_pair gives
    training for the same annotations written as a dataset (the stages' writer)."""
    sample = generate_sample(3, 64, 48, seed=2, split="train")
    agn = make_agnostic(sample.person, sample.parse, sample.pose)
    sample = dataclasses.replace(
        sample, agnostic=agn.agnostic, parse_agnostic=agn.parse_agnostic, agnostic_mask=agn.mask
    )
    layout = Layout(tmp_path)
    write_sample(layout, sample, 64, 48)
    arrays = {
        "person": sample.person,
        "cloth": sample.cloth,
        "cloth_mask": sample.cloth_mask,
        "parse": sample.parse,
        "pose": sample.pose,
        "densepose": sample.densepose,
        "agnostic": agn.agnostic,
        "parse_agnostic": agn.parse_agnostic,
        "agnostic_mask": agn.mask,
    }
    ours = model_batch(arrays, (32, 24), torch.device("cpu"))
    theirs = load_pair(layout, "train", sample.id, sample.id, size=(32, 24))
    assert set(ours) == {k for k, v in theirs.items() if isinstance(v, torch.Tensor)}
    for key, value in ours.items():
        assert value.shape == (1, *theirs[key].shape) and value.dtype == theirs[key].dtype, key
        assert torch.equal(value[0], theirs[key]), key
    # And the contract is checked: a parse of another size is refused with the shapes.
    with pytest.raises(ValueError, match="parse must be"):
        model_batch(arrays | {"parse": sample.parse[:-1]}, (32, 24), torch.device("cpu"))


def test_a_photo_without_a_person_is_rejected_with_a_reason(pipe):
    blank = np.full((256, 192, 3), 255, np.uint8)
    with pytest.raises(AnnotationRejected) as info:
        pipe.run(blank, garment_photo())
    assert info.value.reason == "no_person"
    with pytest.raises(ValueError, match="uint8"):
        pipe.run(person_photo().astype(np.float32), garment_photo())


def test_a_checkpoint_without_its_models_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="dvc repro"):
        checkpoint_dirs(tmp_path)


def test_vton_tryon_single_strip_and_batch(checkpoint, photos, tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text("infer:\n  height: 128\n  width: 96\n  device: cpu\n")
    common = ["--checkpoint", str(checkpoint), "--params", str(params)]
    out = tmp_path / "result.jpg"
    args = ["--person", str(photos["person"]), "--garment", str(photos["garment"])]
    assert vton_main(["tryon", *args, "--out", str(out), *common]) == 0
    assert Image.open(out).size == (96, 128)
    assert "models" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ms"]
    strip = tmp_path / "strip.png"
    assert vton_main(["tryon", *args, "--out", str(strip), "--strip", *common]) == 0
    width, height = Image.open(strip).size
    assert width == 96 * len(INTERMEDIATES) and height > 128
    capsys.readouterr()

    # --batch over two folders: by file stem; a blank "person" is a reject, not a crash.
    persons, garments = tmp_path / "persons", tmp_path / "garments"
    persons.mkdir(), garments.mkdir()
    Image.fromarray(person_photo()).save(persons / "a.jpg")
    Image.fromarray(np.full((64, 48, 3), 255, np.uint8)).save(persons / "b.png")
    for stem in ("a", "b"):
        Image.fromarray(garment_photo()).save(garments / f"{stem}.png")
    results = tmp_path / "results"
    batch = ["tryon", "--batch", "--person", str(persons), "--garment", str(garments)]
    code = vton_main([*batch, "--out", str(results), "--format", "webp", *common])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1  # one pair rejected
    assert (summary["written"], summary["rejected"]) == (1, 1)
    assert sorted(p.name for p in results.glob("*.webp")) == ["a__a.webp"]
    rejects = [json.loads(line) for line in (results / "rejects.jsonl").read_text().splitlines()]
    assert [(r["name"], r["reason"]) for r in rejects] == [("b__b", "no_person")]

    # A pairs file, paths relative to it.
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("# person garment\npersons/a.jpg garments/b.png\n")
    assert (
        vton_main(["tryon", "--batch", "--pairs", str(pairs), "--out", str(results / "p"), *common])
        == 0
    )
    assert [p.name for p in (results / "p").glob("*.png")] == ["a__b.png"]
