"""Model parse backends end to end with tiny models built here: SegFormer (transformers) and
SCHP exported to ONNX, plus the neck synthesis they share."""

from __future__ import annotations

import re

import numpy as np
import pytest

import vton  # noqa: F401  (sets HF_HUB_OFFLINE before transformers is imported)
from vton.annotate.base import AnnotationRejected, Item, MissingWeights
from vton.annotate.parse.neck import finish_parse, synthesize_neck
from vton.annotate.parse.schp import SchpOnnxParser, person_box_transform, schp_preprocess
from vton.annotate.parse.segformer import SegformerParser
from vton.annotate.registry import create_annotator
from vton.config import ParseParams, SchpParams, SegformerParams
from vton.formats.labels import AtrLabel, FashnLabel, HumanParse24Label, LipLabel, VitonLabel

torch = pytest.importorskip("torch")
V = VitonLabel
H, W = 256, 192

# The checkpoints' own spellings (mattmdjaga/segformer_b2_clothes for ATR).
ATR_NAMES = [
    "Background",
    "Hat",
    "Hair",
    "Sunglasses",
    "Upper-clothes",
    "Skirt",
    "Pants",
    "Dress",
    "Belt",
    "Left-shoe",
    "Right-shoe",
    "Face",
    "Left-leg",
    "Right-leg",
    "Left-arm",
    "Right-arm",
    "Bag",
    "Scarf",
]
HP24_NAMES = [lab.name.lower() for lab in HumanParse24Label]
FASHN_NAMES = [lab.name.lower() for lab in FashnLabel]


def _item(rgb: np.ndarray) -> Item:
    return Item(id="p0", split="test", rgb=rgb, image_path=None, reference={})


def _noise(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# --- SegFormer -------------------------------------------------------------------------------


def _segformer(path, names, winner=None, seed=0):
    """Save a tiny SegFormer with `names` as id2label; `winner` wins at every pixel."""
    from transformers import (
        SegformerConfig,
        SegformerForSemanticSegmentation,
        SegformerImageProcessorPil,
    )

    torch.manual_seed(seed)
    config = SegformerConfig(
        hidden_sizes=[8, 16, 32, 64],
        depths=[1, 1, 1, 1],
        num_attention_heads=[1, 1, 2, 4],
        decoder_hidden_size=32,
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
    )
    model = SegformerForSemanticSegmentation(config).eval()
    if winner is not None:
        with torch.no_grad():
            model.decode_head.classifier.weight.zero_()
            model.decode_head.classifier.bias.zero_()
            model.decode_head.classifier.bias[int(winner)] = 50.0
    model.save_pretrained(path)
    SegformerImageProcessorPil(size={"height": 64, "width": 64}).save_pretrained(path)
    return path


def _segformer_parser(model, label_set="auto", landmarks=False) -> SegformerParser:
    section = ParseParams(
        backend="segformer", segformer=SegformerParams(model=str(model), label_set=label_set)
    )
    return SegformerParser("parse", section, landmarks=landmarks)


@pytest.mark.parametrize(
    ("names", "winner", "label_set", "expected"),
    [
        (ATR_NAMES, AtrLabel.UPPER_CLOTHES, "atr", V.UPPER_CLOTHES),
        (ATR_NAMES, AtrLabel.BELT, "atr", V.PANTS),
        (HP24_NAMES, HumanParse24Label.LEFT_SLEEVE_FOR_UPPER, "human_parse_24", V.UPPER_CLOTHES),
        (HP24_NAMES, HumanParse24Label.SKIN_AROUND_NECK_REGION, "human_parse_24", V.NECK),
        (FASHN_NAMES, FashnLabel.TORSO, "fashn", V.NECK),
    ],
)
def test_segformer_identifies_the_set_and_maps_every_pixel(
    tmp_path, names, winner, label_set, expected
):
    parser = _segformer_parser(_segformer(tmp_path / "ckpt", names, winner))
    sample = parser.annotate(_item(_noise()))
    assert parser.label_set == label_set
    assert sample.parse.shape == (H, W) and sample.parse.dtype == np.uint8
    assert sample.parse.max() <= 19
    assert (sample.parse == expected).all()
    assert sample.provenance["label_set"] == label_set
    assert sample.provenance["device"] in ("cpu", "cuda")


def test_segformer_random_weights_give_valid_viton_ids(tmp_path):
    parser = create_annotator(
        "parse",
        ParseParams(
            backend="segformer",
            segformer=SegformerParams(model=str(_segformer(tmp_path / "c", ATR_NAMES))),
        ),
    )
    assert isinstance(parser, SegformerParser)
    parser.landmarks = False
    try:
        sample = parser.annotate(_item(_noise(seed=3)))
    except AnnotationRejected as exc:  # random weights may well predict background only
        assert exc.reason == "no_person"
    else:
        assert sample.parse.shape == (H, W) and sample.parse.dtype == np.uint8
        assert int(sample.parse.max()) <= 19


def test_segformer_splits_fashn_arms_at_the_midline(tmp_path):
    parser = _segformer_parser(_segformer(tmp_path / "ckpt", FASHN_NAMES, FashnLabel.ARMS))
    parse = parser.annotate(_item(_noise())).parse
    # The person's right arm is on the image's left; the midline is the person's centre.
    assert (parse[:, : W // 2] == V.RIGHT_ARM).all()
    assert (parse[:, W // 2 :] == V.LEFT_ARM).all()


def test_segformer_with_landmarks_runs_mediapipe_and_falls_back(tmp_path):
    parser = _segformer_parser(
        _segformer(tmp_path / "ckpt", FASHN_NAMES, FashnLabel.LEGS), landmarks=True
    )
    sample = parser.annotate(_item(_noise()))
    parser.close()
    assert sample.provenance["midline_from"] in ("pose", "labels")
    assert set(np.unique(sample.parse)) <= {int(V.LEFT_LEG), int(V.RIGHT_LEG)}


def test_segformer_forced_label_set_is_checked(tmp_path):
    ckpt = _segformer(tmp_path / "ckpt", ATR_NAMES, AtrLabel.FACE)
    forced = _segformer_parser(ckpt, label_set="atr")
    forced.load()
    assert forced.label_set == "atr"
    with pytest.raises(ValueError, match=r"parse\.segformer\.label_set.*20 labels"):
        _segformer_parser(ckpt, label_set="lip").load()
    unknown = _segformer(tmp_path / "odd", [f"class{i}" for i in range(18)])
    with pytest.raises(ValueError, match=r"parse\.segformer\.label_set"):
        _segformer_parser(unknown).load()


def test_segformer_fingerprint_follows_the_weights(tmp_path):
    ckpt = tmp_path / "ckpt"
    _segformer(ckpt, ATR_NAMES, seed=0)
    first = _segformer_parser(ckpt).fingerprint()
    assert _segformer_parser(ckpt).fingerprint() == first
    assert _segformer_parser(ckpt, label_set="atr").fingerprint() != first
    _segformer(ckpt, ATR_NAMES, seed=1)
    assert _segformer_parser(ckpt).fingerprint() != first


def test_segformer_missing_weights_name_the_key_or_the_path(tmp_path):
    with pytest.raises(MissingWeights, match=r"parse\.segformer\.model"):
        _segformer_parser("")
    missing = tmp_path / "no" / "such" / "checkpoint"
    with pytest.raises(MissingWeights, match=re.escape(str(missing))):
        _segformer_parser(missing)
    with pytest.raises(MissingWeights, match=r"config\.json"):
        _segformer_parser(tmp_path).load()  # an existing directory without a checkpoint
    hub = _segformer_parser("nobody-here/not-a-cached-model")  # offline: fails in load()
    assert hub.fingerprint() == _segformer_parser("nobody-here/not-a-cached-model").fingerprint()
    assert hub.fingerprint() != _segformer_parser("nobody-here/another-model").fingerprint()
    with pytest.raises(MissingWeights, match="not in the local Hugging Face cache"):
        hub.load()


# --- SCHP exported to ONNX -------------------------------------------------------------------


class TinySchp(torch.nn.Module):
    """SCHP's I/O: (1, 3, h, w) -> [[parsing, fusion], [edge]] logits at `stride`.

    mode "bias": fusion says `fused` everywhere, the parsing head says `parsing` (so a
    parser that reads the wrong output fails). mode "split": class `left` where the
    input-frame coordinate along `axis` (1 = x, 0 = y) is below `split`, class `right`
    beyond, linear in it. mode "colour": class
    `left` wins on blue input (BGR channel 0), `right` on red (channel 2).
    """

    def __init__(self, classes, input_size, stride=4, mode="bias", **kw):
        super().__init__()
        self.classes, self.stride, self.mode, self.kw = classes, stride, mode, kw
        in_h, in_w = input_size
        h, w = in_h // stride, in_w // stride
        # Input-frame coordinates at the output's pixels (SCHP's align_corners geometry).
        if kw.get("axis", 1) == 1:
            coord = torch.linspace(0, in_w - 1, w).view(1, 1, 1, w)
        else:
            coord = torch.linspace(0, in_h - 1, h).view(1, 1, h, 1)
        self.register_buffer("x_in", coord.expand(1, 1, h, w).clone())
        self.bias = torch.nn.Parameter(torch.zeros(classes))

    def _const(self, x, label):
        base = torch.full_like(self.x_in, -10.0).repeat(1, self.classes, 1, 1)
        base[:, int(label)] = 10.0
        return base + self.bias.view(1, -1, 1, 1) + 0 * x.mean()

    def forward(self, x):
        pooled = torch.nn.functional.avg_pool2d(x, self.stride) if self.stride > 1 else x
        if self.mode == "bias":
            parsing, fusion = self._const(x, self.kw["parsing"]), self._const(x, self.kw["fused"])
        else:
            fusion = torch.full_like(self.x_in, -10.0).repeat(1, self.classes, 1, 1)
            fusion = fusion + 0 * pooled.mean()
            if self.mode == "split":
                score = self.x_in - self.kw["split"]
                left, right = -score, score
            else:
                left, right = pooled[:, 0:1], pooled[:, 2:3]
            fusion = torch.cat(
                [fusion[:, : self.kw["left"]], left, fusion[:, self.kw["left"] + 1 :]], 1
            )
            fusion = torch.cat(
                [fusion[:, : self.kw["right"]], right, fusion[:, self.kw["right"] + 1 :]], 1
            )
            parsing = fusion
        edge = pooled[:, :2]
        return [[parsing, fusion], [edge]]


def _export(module, path, input_size):
    module.eval()
    torch.onnx.export(
        module,
        (torch.zeros(1, 3, *input_size),),
        str(path),
        input_names=["input.1"],
        opset_version=17,
        dynamo=False,
    )
    return path


def _schp_parser(path, input_size, label_set="lip", landmarks=False) -> SchpOnnxParser:
    params = SchpParams(model=str(path), label_set=label_set, input_size=tuple(input_size))
    return SchpOnnxParser(
        "parse", ParseParams(backend="schp_onnx", schp_onnx=params), landmarks=landmarks
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("stride", [1, 4])
def test_schp_reads_the_fused_output_and_maps_lip_jumpsuits_to_dress(tmp_path, stride):
    size = (64, 64)
    model = TinySchp(20, size, stride, parsing=LipLabel.UPPER_CLOTHES, fused=LipLabel.JUMPSUITS)
    parser = _schp_parser(_export(model, tmp_path / "lip.onnx", size), size)
    sample = parser.annotate(_item(_noise()))
    assert sample.parse.shape == (H, W) and sample.parse.dtype == np.uint8
    assert (sample.parse == V.DRESS).all()  # LIP 10 is jumpsuits, never the neck
    assert "CPUExecutionProvider" in sample.provenance["providers"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    ("image_hw", "input_size", "stride", "axis"),
    [
        ((200, 120), (64, 64), 4, 1),  # tall photo, split across x (the padded direction)
        ((120, 200), (64, 64), 1, 0),  # wide photo, split across y (the padded direction)
        ((120, 200), (64, 64), 4, 1),
        ((200, 120), (64, 48), 4, 1),  # ATR-like non-square input
        ((200, 120), (64, 48), 4, 0),
    ],
)
def test_schp_inverse_affine_puts_the_split_at_the_right_place(
    tmp_path, image_hw, input_size, stride, axis
):
    split = 0.35 * (input_size[axis] - 1)
    model = TinySchp(
        20,
        input_size,
        stride,
        mode="split",
        axis=axis,
        split=split,
        left=LipLabel.PANTS,
        right=LipLabel.SKIRT,
    )
    parser = _schp_parser(_export(model, tmp_path / "split.onnx", input_size), input_size)
    parse = parser.annotate(_item(_noise(*image_hw))).parse
    # SCHP's box: the whole image widened to the input's aspect, both axes scaled by the
    # width ratio, centres matched.
    (h, w), (in_h, in_w) = image_hw, input_size
    box_w = max(w - 1, (h - 1) * in_w / in_h)
    at = (image_hw[axis] - 1) / 2 + (split - (input_size[axis] - 1) / 2) * box_w / (in_w - 1)
    along = np.arange(image_hw[axis])
    parse = parse if axis == 0 else parse.T  # rows run along the split axis
    assert (parse[along < at - 1] == V.PANTS).all()
    assert (parse[along > at + 1] == V.SKIRT).all()
    near = parse[int(np.floor(at)) : int(np.ceil(at)) + 1]
    assert np.isin(near, [int(V.PANTS), int(V.SKIRT)]).all()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_schp_feeds_bgr_with_schp_normalisation(tmp_path):
    size = (32, 32)
    model = TinySchp(18, size, 4, mode="colour", left=AtrLabel.HAT, right=AtrLabel.SCARF)
    parser = _schp_parser(_export(model, tmp_path / "atr.onnx", size), size, label_set="atr")
    blue = np.zeros((64, 48, 3), np.uint8)
    blue[..., 2] = 255
    red = np.zeros((64, 48, 3), np.uint8)
    red[..., 0] = 255
    assert (parser.annotate(_item(blue)).parse[8:-8, 8:-8] == V.HAT).all()
    assert (parser.annotate(_item(red)).parse[8:-8, 8:-8] == V.SCARF).all()

    x, matrix = schp_preprocess(np.full((40, 20, 3), 255, np.uint8), (32, 32))
    assert x.shape == (1, 3, 32, 32) and x.dtype == np.float32
    np.testing.assert_allclose(matrix, person_box_transform(40, 20, (32, 32)))
    mean, std = np.array([0.406, 0.456, 0.485]), np.array([0.225, 0.224, 0.229])
    np.testing.assert_allclose(x[0, :, 16, 16], (1 - mean) / std, rtol=1e-5)  # inside the photo
    np.testing.assert_allclose(x[0, :, 16, 1], -mean / std, rtol=1e-5)  # the black border


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_schp_checks_its_configuration(tmp_path):
    with pytest.raises(MissingWeights, match=r"parse\.schp_onnx\.model"):
        _schp_parser("", (64, 64))
    missing = tmp_path / "parsing_lip.onnx"
    with pytest.raises(MissingWeights, match=re.escape(str(missing))):
        _schp_parser(missing, (64, 64))
    size = (32, 32)
    lip = _export(TinySchp(20, size, 4, parsing=0, fused=5), tmp_path / "lip.onnx", size)
    built = create_annotator(
        "parse",
        ParseParams(backend="schp_onnx", schp_onnx=SchpParams(model=str(lip), input_size=size)),
    )
    assert isinstance(built, SchpOnnxParser) and built.outputs == ("parse",)
    with pytest.raises(ValueError, match=r"input_size"):
        _schp_parser(lip, (473, 473)).load()
    with pytest.raises(ValueError, match=r"parse\.schp_onnx\.label_set"):
        _schp_parser(lip, size, label_set="atr").annotate(_item(_noise(64, 48)))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_schp_fingerprint_follows_the_weights(tmp_path):
    size = (32, 32)
    model = TinySchp(20, size, 4, parsing=0, fused=5)
    path = _export(model, tmp_path / "lip.onnx", size)
    first = _schp_parser(path, size).fingerprint()
    assert _schp_parser(path, size).fingerprint() == first
    with torch.no_grad():
        model.bias[3] = 1.0
    _export(model, path, size)
    assert _schp_parser(path, size).fingerprint() != first


# --- neck synthesis --------------------------------------------------------------------------

SKIN, WALL, SHIRT = (224, 172, 140), (205, 205, 205), (40, 60, 160)


def _portrait():
    """A frontal bust: labels with the neck left as background (LIP-like), its photo, and
    the true neck mask. The face is 50 px wide; the neck runs from the chin (row 92) to the
    shirt's neckline (row 130)."""
    labels = np.zeros((H, W), np.uint8)
    rgb = np.empty((H, W, 3), np.uint8)
    rgb[:] = WALL
    yy, xx = np.mgrid[:H, :W]
    face = ((xx - 96) / 25.0) ** 2 + ((yy - 60) / 32.0) ** 2 <= 1
    neck = (np.abs(xx - 96) <= 15) & (yy > 84) & (yy < 130) & ~face
    shirt = (yy >= 130) & (np.abs(xx - 96) <= 70)
    labels[face], rgb[face] = V.FACE, SKIN
    rgb[neck] = SKIN
    labels[shirt], rgb[shirt] = V.UPPER_CLOTHES, SHIRT
    labels[:28, 66:126] = V.HAIR
    # A skin-coloured patch of wall, far from the chin: never neck.
    rgb[200:250, 0:20] = SKIN
    return labels, rgb, neck


def _iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


def test_neck_from_skin_coloured_background_below_the_chin():
    labels, rgb, truth = _portrait()
    out = synthesize_neck(labels, rgb)
    neck = out == V.NECK
    assert _iou(neck, truth) > 0.9
    assert not neck[200:].any() and not neck[:, :40].any()
    assert (out[~neck] == labels[~neck]).all()  # only neck pixels change


def test_neck_from_an_atr_face_that_runs_down_the_neck():
    labels, rgb, truth = _portrait()
    labels[truth] = V.FACE  # ATR paints the neck as face
    with_chin = synthesize_neck(labels, rgb, chin_y=92.0, face_x=96.0) == V.NECK
    assert _iou(with_chin, truth & (np.arange(H)[:, None] > 92)) > 0.95
    estimated = synthesize_neck(labels, rgb, face_covers_neck=True) == V.NECK
    assert _iou(estimated, truth) > 0.6
    # Without knowing the face covers the neck, the face label's bottom is taken as the chin.
    assert not (synthesize_neck(labels, rgb) == V.NECK).any()


def test_neck_leaves_parses_that_need_none_alone():
    labels, rgb, truth = _portrait()
    with_neck = labels.copy()
    with_neck[truth] = V.NECK
    assert (synthesize_neck(with_neck, rgb) == with_neck).all()
    no_face = np.where(labels == V.FACE, V.HAIR, labels).astype(np.uint8)
    assert (synthesize_neck(no_face, rgb) == no_face).all()
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        synthesize_neck(labels, rgb[..., 0])


def test_finish_parse_maps_then_adds_the_neck():
    labels, rgb, truth = _portrait()
    lip = np.zeros((H, W), np.int64)
    lip[labels == V.FACE] = LipLabel.FACE
    lip[labels == V.HAIR] = LipLabel.HAIR
    lip[labels == V.UPPER_CLOTHES] = LipLabel.JUMPSUITS
    parse, notes = finish_parse(lip, "lip", rgb)
    assert _iou(parse == V.NECK, truth) > 0.9
    assert (parse[labels == V.UPPER_CLOTHES] == V.DRESS).all()
    assert notes["neck"].startswith("synthesized") and notes["chin_from"] == "labels"
    with pytest.raises(AnnotationRejected, match="no_person"):
        finish_parse(np.zeros((H, W), np.int64), "lip", rgb)


@pytest.mark.golden
def test_neck_matches_the_golden_parses(golden, golden_ids):
    """Golden necks hidden as ATR (face) or LIP (background) labels come back with the
    chin from MediaPipe's face mesh."""
    from vton.annotate.mediapipe_models import MediaPipeModels
    from vton.annotate.parse.neck import find_body_hints
    from vton.formats.images import read_rgb
    from vton.formats.labels import read_parse

    models = MediaPipeModels()
    scores = []
    for sid in golden_ids:
        truth_labels = read_parse(golden / "test" / "image-parse-v3" / f"{sid}.png")
        rgb = read_rgb(golden / "test" / "image" / f"{sid}.jpg")
        truth = truth_labels == V.NECK
        hints = find_body_hints(models, rgb, chin=True, midline=False)
        assert hints.source.get("chin") == "face_mesh"
        for hidden_as in (V.FACE, V.BACKGROUND):
            labels = truth_labels.copy()
            labels[truth] = hidden_as
            out = synthesize_neck(labels, rgb, chin_y=hints.chin_y, face_x=hints.face_x)
            scores.append(_iou(out == V.NECK, truth))
    models.close()
    assert min(scores) > 0.8, scores
