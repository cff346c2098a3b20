"""params.yaml loading (unknown keys are errors) and the layout helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from vton.config import ParamsError, load_params, parse_params
from vton.layout import KINDS, Layout, format_pairs, read_pairs, unpaired

PROJECT = Path(__file__).resolve().parents[1]


def test_project_params_load():
    params = load_params(PROJECT / "params.yaml")
    assert params.data.source == "sample"
    assert (params.base.height, params.base.width) == (256, 192)
    assert set(params.validate.required) <= set(KINDS)


def test_the_code_defaults_are_params_yaml():
    """One source of defaults: the library, the CLI outside a project and the tests run with
    the values `dvc repro` uses."""
    assert parse_params({}) == load_params(PROJECT / "params.yaml")


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"base": {"sed": 1}}, r"unknown key base\.sed; allowed under base: height, seed, width"),
        ({"bogus": {}}, "unknown key bogus"),
        ({"base": {"height": "tall"}}, r"base\.height: expected int"),
        ({"base": {"height": True}}, r"base\.height: expected int"),
        (
            {"data": {"source": "web"}},
            r"data\.source: must be one of \['sample', 'vitonhd', 'folder', ",
        ),
        ({"data": {"sample": {"n_train": 3, "n_tset": 1}}}, r"data\.sample\.n_tset"),
        ({"data": {"vitonhd": {"splits": "test"}}}, r"data\.vitonhd\.splits: expected a list"),
        ({"base": {"height": 256, "width": 256}}, "4:3 aspect"),
    ],
)
def test_bad_params_name_the_key(raw, message):
    with pytest.raises(ParamsError, match=message):
        parse_params(raw)


def test_types_are_converted():
    params = parse_params({"data": {"max_reject_rate": 1, "vitonhd": {"limit": None}}})
    assert params.data.max_reject_rate == 1.0 and isinstance(params.data.max_reject_rate, float)
    assert parse_params({"data": {"vitonhd": {"limit": 3}}}).data.vitonhd.limit == 3


def test_invalid_yaml_is_reported(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("base: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(path)


def test_paths_of_every_kind():
    layout = Layout(Path("/d"))
    assert layout.path("test", "parse", "00006_00") == Path("/d/test/image-parse-v3/00006_00.png")
    assert layout.path("train", "pose_json", "x") == Path("/d/train/openpose_json/x_keypoints.json")
    assert layout.path("train", "pose_img", "x") == Path("/d/train/openpose_img/x_rendered.png")
    assert layout.path("test", "agnostic_mask", "x") == Path("/d/test/agnostic-mask/x_mask.png")
    assert layout.path("test", "parse_agnostic", "x").parent.name == "image-parse-agnostic-v3.2"
    assert layout.pairs_path("test", unpaired=True).name == "test_pairs_unpaired.txt"
    with pytest.raises(ValueError, match="split must be one of"):
        layout.path("val", "image", "x")
    with pytest.raises(KeyError, match="known kinds"):
        layout.path("test", "segmentation", "x")


def test_pairs_round_trip_and_derangement(tmp_path):
    ids = [f"{i:05d}_00" for i in range(9)]
    pairs = unpaired(ids, seed=3)
    assert [p for p, _ in pairs] == ids
    assert sorted(c for _, c in pairs) == ids
    assert all(p != c for p, c in pairs)
    assert pairs == unpaired(ids, seed=3) and pairs != unpaired(ids, seed=4)
    assert format_pairs(pairs[:1]).endswith(".jpg\n")
    path = tmp_path / "test_pairs.txt"
    path.write_text(format_pairs(pairs))
    assert read_pairs(path) == pairs
    path.write_text("a.jpg\n")
    with pytest.raises(ValueError, match="1: expected"):
        read_pairs(path)
