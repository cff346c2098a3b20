"""DensePose backends: the MediaPipe approximation on real photos (scikit-image's astronaut,
matplotlib's Grace Hopper) and against the golden DensePose, and the detectron2 backend's
errors and wiring (with stand-in detectron2 modules; the real one is not installable here)."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from annotate_data import astronaut, hopper, loaded_annotator, photo_item
from skimage import data as skimage_data

from vton.annotate.base import AnnotationRejected, MissingWeights
from vton.annotate.densepose.approximate import (
    SHAPE,
    MediaPipeDensePose,
    Shape,
    approximate_densepose,
    facing_away,
)
from vton.annotate.densepose.detectron2 import (
    Detectron2DensePose,
    Detectron2NotInstalled,
    paste_box_labels,
)
from vton.annotate.mediapipe_models import PoseResult
from vton.annotate.registry import create_annotator
from vton.config import DensePoseParams, Detectron2Params
from vton.formats.densepose import DensePosePart, read_densepose
from vton.formats.images import read_rgb

Part = DensePosePart
HEAD = {Part.HEAD_LEFT, Part.HEAD_RIGHT}
NOSE, L_EYE, R_EYE, L_SHOULDER, R_SHOULDER = 0, 2, 5, 11, 12

# Coarse groups for agreement: head, torso, each arm, each leg, hands, feet.
GROUPS = {
    "head": (23, 24),
    "torso": (1, 2),
    "right_arm": (16, 18, 20, 22),
    "left_arm": (15, 17, 19, 21),
    "right_leg": (7, 9, 11, 13),
    "left_leg": (8, 10, 12, 14),
    "hands": (3, 4),
    "feet": (5, 6),
}
GROUP_OF = np.zeros(25, np.uint8)
for _g, _ids in enumerate(GROUPS.values(), start=1):
    GROUP_OF[list(_ids)] = _g


_item, _astronaut, _hopper = photo_item, astronaut, hopper


# --- the MediaPipe approximation on real photos --------------------------------------------


@pytest.fixture(scope="module")
def annotator() -> Iterator[MediaPipeDensePose]:
    """One loaded annotator for the module."""
    yield from loaded_annotator(
        "densepose", DensePoseParams(backend="mediapipe"), MediaPipeDensePose
    )


@pytest.fixture(scope="module")
def photos(annotator) -> dict[str, tuple[np.ndarray, PoseResult, np.ndarray, dict]]:
    """name -> (rgb, MediaPipe pose, part map, provenance) for the two shipped photos."""
    out = {}
    for name, rgb in (("astronaut", _astronaut()), ("hopper", _hopper())):
        pose = annotator.people.models.pose(rgb)
        assert pose is not None and pose.segmentation is not None, name
        sample = annotator.annotate(_item(rgb, name))
        out[name] = (rgb, pose, sample.densepose, sample.provenance)
    return out


@pytest.mark.parametrize("name", ["astronaut", "hopper"])
def test_photo_gives_a_plausible_part_map(photos, name):
    rgb, pose, parts, provenance = photos[name]
    h, w = rgb.shape[:2]
    assert parts.shape == (h, w) and parts.dtype == np.uint8
    assert int(parts.max()) <= 24
    assert provenance["approximation"] is True and "approximate" in provenance["note"]
    assert provenance["facing"] == "front"

    lm = pose.landmarks
    # The map lies inside MediaPipe's silhouette; the top corners are background (the
    # bottom ones are shoulders in the Hopper portrait).
    assert not (parts[pose.segmentation <= 0.5] > 0).any()
    assert parts[0, 0] == parts[0, -1] == 0
    if name == "astronaut":
        assert parts[-1, -1] == 0

    # Head parts around the nose; the person's left eye (larger x) on HEAD_LEFT.
    nx, ny = np.round(lm[NOSE, :2]).astype(int)
    eye_dist = float(np.linalg.norm(lm[L_EYE, :2] - lm[R_EYE, :2]))
    r = max(2, int(eye_dist / 2))
    around_nose = parts[ny - r : ny + r + 1, nx - r : nx + r + 1]
    assert np.isin(around_nose, list(HEAD)).mean() > 0.95
    lx, ly = np.round(lm[L_EYE, :2]).astype(int)
    rx, ry = np.round(lm[R_EYE, :2]).astype(int)
    assert lm[L_EYE, 0] > lm[R_EYE, 0]  # frontal photos
    assert parts[ly, lx] == Part.HEAD_LEFT and parts[ry, rx] == Part.HEAD_RIGHT
    head_left_x = np.nonzero(parts == Part.HEAD_LEFT)[1].mean()
    head_right_x = np.nonzero(parts == Part.HEAD_RIGHT)[1].mean()
    assert head_left_x > head_right_x

    # Torso front between the shoulders, below the head.
    mid = (lm[L_SHOULDER, :2] + lm[R_SHOULDER, :2]) / 2
    shoulders = float(np.linalg.norm(lm[L_SHOULDER, :2] - lm[R_SHOULDER, :2]))
    tx, ty = np.round(mid + np.array([0.0, 0.3 * shoulders])).astype(int)
    assert ty < h and parts[ty, tx] == Part.TORSO_FRONT
    assert (
        np.nonzero(parts == Part.TORSO_FRONT)[0].mean()
        > np.nonzero(np.isin(parts, list(HEAD)))[0].mean()
    )
    # Both upper arms, on the sides their landmarks are on.
    for part, shoulder in (
        (Part.UPPER_ARM_LEFT_FRONT, L_SHOULDER),
        (Part.UPPER_ARM_RIGHT_FRONT, R_SHOULDER),
    ):
        xs = np.nonzero(parts == part)[1]
        assert len(xs) > 0, part.name
        assert (xs.mean() - mid[0]) * (lm[shoulder, 0] - mid[0]) > 0, part.name


def test_seen_from_behind_uses_back_parts(photos):
    """Same landmarks with the nose hidden: torso back, legs and arms mostly back ids."""
    _, pose, _, _ = photos["astronaut"]
    lm = pose.landmarks.copy()
    assert not facing_away(lm)
    lm[NOSE, 3] = 0.05
    assert facing_away(lm)
    parts, notes = approximate_densepose(lm, pose.segmentation > 0.5)
    assert notes["facing"] == "back"
    ids = set(np.unique(parts).tolist())
    assert Part.TORSO_BACK in ids and Part.TORSO_FRONT not in ids
    assert (parts == Part.UPPER_ARM_LEFT_BACK).sum() > (parts == Part.UPPER_ARM_LEFT_FRONT).sum()


def test_facing_from_shoulder_order():
    lm = np.zeros((33, 4), np.float32)
    lm[:, 3] = 0.9
    lm[[L_SHOULDER, R_SHOULDER, 23, 24], :2] = [[200, 100], [100, 100], [180, 300], [120, 300]]
    assert not facing_away(lm)
    lm[[L_SHOULDER, R_SHOULDER], 0] = [100, 200]  # the person's left at the smaller x
    assert facing_away(lm)


def test_no_person_is_rejected(annotator):
    coffee = skimage_data.coffee()
    assert annotator.people.models.pose(coffee) is None  # the premise: MediaPipe sees nobody
    with pytest.raises(AnnotationRejected) as err:
        annotator.annotate(_item(coffee, "coffee"))
    assert err.value.reason == "no_person" and "coffee" in err.value.detail


def test_input_contract_and_fingerprint(annotator):
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        annotator.annotate(_item(np.zeros((8, 8), np.uint8)))
    with pytest.raises(ValueError, match=r"\(33, 4\)"):
        approximate_densepose(np.zeros((25, 3)), np.ones((8, 8), bool))
    parts, _ = approximate_densepose(np.zeros((33, 4)), np.zeros((8, 8), bool))
    assert parts.shape == (8, 8) and not parts.any()
    assert annotator.fingerprint() == MediaPipeDensePose("densepose", None).fingerprint()
    other = MediaPipeDensePose("densepose", None, shape=Shape(hand_radius=0.2))
    assert other.fingerprint() != annotator.fingerprint()
    assert annotator.fingerprint().startswith("densepose-mediapipe-")


# --- golden: agreement with the DensePose VITON-HD ships ------------------------------------


def _agreement(ours: np.ndarray, ref: np.ndarray) -> tuple[float, float, float]:
    """Body IoU, exact part agreement and grouped agreement on pixels both call body."""
    a, b = ours > 0, ref > 0
    both = a & b
    iou = float(both.sum() / max((a | b).sum(), 1))
    part = float((ours[both] == ref[both]).mean())
    coarse = float((GROUP_OF[ours[both]] == GROUP_OF[ref[both]]).mean())
    return iou, part, coarse


def test_golden_agreement(annotator, golden, golden_ids):
    rows = []
    for sample_id in golden_ids:
        rgb = read_rgb(golden / "test" / "image" / f"{sample_id}.jpg")
        ref = read_densepose(golden / "test" / "image-densepose" / f"{sample_id}.jpg")
        ours = annotator.annotate(_item(rgb, sample_id)).densepose
        assert ours.shape == ref.shape
        rows.append(_agreement(ours, ref))
        print(
            f"\n{sample_id}: body IoU {rows[-1][0]:.3f}  part {rows[-1][1]:.3f}  "
            f"grouped {rows[-1][2]:.3f}",
            end="",
        )
    iou, part, coarse = np.mean(rows, axis=0)
    print(f"\nmean over {len(rows)}: body IoU {iou:.3f}  part {part:.3f}  grouped {coarse:.3f}")
    # Measured: IoU 0.920, part 0.849, grouped 0.895 (worst sample 0.904 / 0.81 / 0.86).
    assert iou >= 0.90 and part >= 0.83 and coarse >= 0.88
    worst = np.min(rows, axis=0)
    assert worst[0] >= 0.88 and worst[1] >= 0.78 and worst[2] >= 0.83


# --- detectron2 ------------------------------------------------------------------------------


def _d2_params(tmp_path: Path, config: str | None = None, weights: str | None = None):
    if config is None:
        config = str(tmp_path / "densepose_rcnn_R_50_FPN_s1x.yaml")
        Path(config).write_text("MODEL: {}\n")
    if weights is None:
        weights = str(tmp_path / "model_final_162be9.pkl")
        Path(weights).write_bytes(b"weights")
    return DensePoseParams(backend="detectron2", detectron2=Detectron2Params(config, weights))


def test_detectron2_empty_params_name_the_keys():
    with pytest.raises(MissingWeights) as err:
        create_annotator("densepose", DensePoseParams(backend="detectron2"))
    text = str(err.value)
    assert "densepose.detectron2.config" in text and "densepose.detectron2.weights" in text
    assert "mediapipe" in text


def test_detectron2_missing_files_name_key_and_path(tmp_path):
    with pytest.raises(MissingWeights, match=r"densepose\.detectron2\.weights.*nowhere\.pkl"):
        Detectron2DensePose(
            "densepose", _d2_params(tmp_path, weights=str(tmp_path / "nowhere.pkl"))
        )
    with pytest.raises(MissingWeights, match=r"densepose\.detectron2\.weights"):
        Detectron2DensePose("densepose", _d2_params(tmp_path, weights=""))


@pytest.mark.parametrize("absent", ["detectron2", "densepose"])
def test_detectron2_not_installed_gives_install_steps(tmp_path, monkeypatch, absent):
    monkeypatch.setitem(sys.modules, absent, None)  # import fails even where it is installed
    backend = Detectron2DensePose("densepose", _d2_params(tmp_path))
    with pytest.raises(Detectron2NotInstalled) as err:
        backend.load()
    assert isinstance(err.value, MissingWeights)
    text = str(err.value)
    for needle in (
        "git clone https://github.com/facebookresearch/detectron2",
        "pip install -e detectron2",
        "pip install -e detectron2/projects/DensePose",
        "#subdirectory=projects/DensePose",
        "densepose.detectron2.config",
        "densepose.detectron2.weights",
        "densepose_rcnn_R_50_FPN_s1x.yaml",
        "model_final_162be9.pkl",
    ):
        assert needle in text, needle
    fp = backend.fingerprint()
    assert fp.startswith("densepose-detectron2-") and fp == backend.fingerprint()


def test_paste_box_labels_places_and_clips():
    labels = np.arange(1, 13, dtype=np.uint8).reshape(3, 4)
    out = paste_box_labels(labels, (2, 1, 4, 3), (6, 8))
    assert (out[1:4, 2:6] == labels).all() and out.sum() == labels.sum()
    clipped = paste_box_labels(labels, (-1, 4, 4, 3), (6, 8))  # off the left and the bottom
    assert (clipped[4:6, 0:3] == labels[:2, 1:]).all() and clipped.sum() == labels[:2, 1:].sum()
    resized = paste_box_labels(np.full((2, 2), 7, np.uint8), (0, 0, 4, 4), (5, 5))
    assert (resized[:4, :4] == 7).all() and resized.sum() == 7 * 16
    with pytest.raises(ValueError, match=r"0\.\.24"):
        paste_box_labels(np.full((2, 2), 30, np.uint8), (0, 0, 2, 2), (4, 4))


class _FakeBoxes:
    def __init__(self, tensor):
        self.tensor = tensor


class _FakeInstances:
    """The slice of detectron2's Instances the backend uses."""

    def __init__(self, scores, boxes, densepose):
        self.scores, self.pred_boxes, self.pred_densepose = scores, _FakeBoxes(boxes), densepose

    def __len__(self):
        return len(self.scores)

    def has(self, name):
        return name == "pred_densepose" and self.pred_densepose is not None

    def __getitem__(self, item):
        return _FakeInstances(
            self.scores[item], self.pred_boxes.tensor[item], self.pred_densepose[item]
        )

    def to(self, device):
        return self


@pytest.fixture
def fake_detectron2(monkeypatch):
    """Stand-in detectron2 + DensePose modules with the API the backend calls; records calls."""
    import torch

    calls: dict = {}

    class Cfg:
        def __init__(self):
            self.MODEL = types.SimpleNamespace(WEIGHTS="", DEVICE="")

        def merge_from_file(self, path):
            calls["config"] = path

        def freeze(self):
            calls["frozen"] = True

    class Predictor:
        def __init__(self, cfg):
            calls["weights"], calls["device"] = cfg.MODEL.WEIGHTS, cfg.MODEL.DEVICE

        def __call__(self, image):
            calls["image"] = image
            n = calls.get("n_people", 2)
            scores = torch.tensor([0.6, 0.95])[:n]
            boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [10.4, 5.7, 30.9, 45.2]])[:n]
            return {"instances": _FakeInstances(scores, boxes, list(range(n)))}

    class Converter:
        @classmethod
        def convert(cls, densepose, boxes):
            calls["converted"] = (densepose, boxes.tensor.tolist())
            x0, y0, x1, y1 = boxes.tensor[0].tolist()
            labels = torch.full((int(y1 - y0), int(x1 - x0)), 2, dtype=torch.long)
            labels[:5] = 24
            return types.SimpleNamespace(labels=labels)

    modules = {
        "detectron2": types.ModuleType("detectron2"),
        "detectron2.config": types.SimpleNamespace(get_cfg=Cfg),
        "detectron2.engine": types.SimpleNamespace(DefaultPredictor=Predictor),
        "densepose": types.SimpleNamespace(
            add_densepose_config=lambda cfg: calls.setdefault("added", True)
        ),
        "densepose.converters": types.SimpleNamespace(ToChartResultConverter=Converter),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return calls


def test_detectron2_wiring_with_stand_in_modules(tmp_path, fake_detectron2):
    calls = fake_detectron2
    params = _d2_params(tmp_path)
    backend = create_annotator("densepose", params)
    rgb = np.zeros((60, 40, 3), np.uint8)
    rgb[..., 0] = 255  # red: BGR puts it last
    sample = backend.annotate(_item(rgb))
    assert calls["added"] and calls["frozen"]
    assert calls["config"] == params.detectron2.config
    assert calls["weights"] == params.detectron2.weights and calls["device"] in ("cpu", "cuda")
    assert (calls["image"][..., 2] == 255).all() and (calls["image"][..., 0] == 0).all()
    assert calls["converted"][0] == [1]  # the highest-scoring person
    parts = sample.densepose
    assert parts.shape == (60, 40) and parts.dtype == np.uint8
    # box (10.4, 5.7)-(30.9, 45.2): x 10, y 5, w 20, h 39 as DensePose rounds it
    assert (parts[5:10, 10:30] == 24).all() and (parts[10:44, 10:30] == 2).all()
    assert parts.sum() == 24 * 5 * 20 + 2 * 34 * 20
    assert sample.provenance["score"] == 0.95 and sample.provenance["people"] == 2

    calls["n_people"] = 0
    with pytest.raises(AnnotationRejected) as err:
        backend.annotate(_item(rgb, "empty"))
    assert err.value.reason == "no_person"


def test_shape_defaults_are_sane():
    assert SHAPE.max_head_score < SHAPE.max_score
    assert 0 < SHAPE.lower_arm_radius < SHAPE.upper_arm_radius < SHAPE.upper_leg_radius
