"""Fidelity: how far our annotations are from a reference dataset's, kind by kind.

Both datasets are roots in the VITON-HD layout. A sample is compared where both hold the
same kind for the same (split, id); everything else is counted (`missing_ours_<kind>`,
`missing_ref_<kind>`), as are files that cannot be read (`unreadable_<kind>`) and pairs whose
sizes differ (`size_mismatch_<kind>`), which are left out of the scores.

Scores (all in [0, 1], 1 = identical, except the errors):

- `pose_pck`: PCK@0.1 of the torso keypoints (`metrics.pck`), correct / counted over all
  samples; references without neck and hips are skipped and counted (`pose_skipped_no_torso`).
  `pose_mean_error`: mean distance of the keypoints both have, in torso heights.
- `parse_miou13`: mIoU over the 13 VITON-HD groups of the pooled confusion;
  `parse_miou13_mean`: the mean of per-sample mIoUs; `parse_pixel_acc`: the fraction of pixels
  with the same VITON-HD id; `parse_iou_<group>`: pooled IoU of each group. `parse_agnostic_*`
  likewise, without the per-group IoUs.
- `cloth_mask_iou`, `agnostic_mask_iou`: the mean IoU per sample (two empty masks agree: 1);
  `*_iou_pooled`: intersection over union summed over samples.
- `densepose_body_iou`: IoU of the body (any part) pooled, `densepose_body_iou_mean` per
  sample; `densepose_part_agreement`: the fraction of pixels that are body in both with the
  same part.
- `agnostic_pixel_agreement`: the fraction of pixels whose largest channel difference is at
  most `tolerance` (JPEG noise); `agnostic_mean_abs_diff`: mean absolute difference in levels.

A score is absent when nothing of its kind was compared (JSON has no NaN that DVC reads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from vton.formats.densepose import read_densepose
from vton.formats.images import read_rgb
from vton.formats.labels import PARSE_GROUPS, read_parse
from vton.formats.masks import read_mask
from vton.formats.openpose import read_keypoints
from vton.layout import KINDS, SPLITS, Layout
from vton.qa.agreement import (
    TORSO_KEYPOINTS,
    group_confusion,
    miou_from_confusion,
    pck,
    torso_height,
)

COMPARED = (
    "pose_json",
    "parse",
    "parse_agnostic",
    "densepose",
    "cloth_mask",
    "agnostic_mask",
    "agnostic",
)
"""The kinds whose contents are scored (the others only counted: photos, renderings)."""

DEFAULT_TOLERANCE = 16


class _Scorer(Protocol):
    def add(self, ref_path: Path, ours_path: Path) -> dict:
        """Score one pair of files; returns the sample's scores (for its row)."""
        ...

    def summary(self) -> dict:
        """Scores over every pair added (None where nothing was)."""
        ...


class _SizeMismatch(ValueError):
    pass


def _same_shape(kind_name: str, ref: np.ndarray, ours: np.ndarray) -> None:
    if ref.shape != ours.shape:
        raise _SizeMismatch(f"{kind_name}: reference {ref.shape} vs ours {ours.shape}")


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


@dataclass
class _Pose:
    correct: int = 0
    counted: int = 0
    skipped_no_torso: int = 0
    error_sum: float = 0.0
    error_n: int = 0

    def add(self, ref_path: Path, ours_path: Path) -> dict:
        ref, ours = read_keypoints(ref_path), read_keypoints(ours_path)
        scale = torso_height(ref)
        if scale is None or scale <= 0:
            self.skipped_no_torso += 1
            return {"pose_skipped": True}
        correct, counted = pck(ours, ref)
        self.correct += correct
        self.counted += counted
        both = [k for k in TORSO_KEYPOINTS if ref[k, 2] > 0 and ours[k, 2] > 0]
        errors = [float(np.linalg.norm(ours[k, :2] - ref[k, :2])) / scale for k in both]
        self.error_sum += sum(errors)
        self.error_n += len(errors)
        return {
            "pose_correct": correct,
            "pose_counted": counted,
            "pose_pck": _ratio(correct, counted),
            "pose_mean_error": _mean(errors),
        }

    def summary(self) -> dict:
        return {
            "pose_pck": _ratio(self.correct, self.counted),
            "pose_mean_error": _ratio(self.error_sum, self.error_n),
            "pose_keypoints": self.counted,
            "pose_skipped_no_torso": self.skipped_no_torso,
        }


@dataclass
class _Parse:
    prefix: str
    per_group: bool
    confusion: np.ndarray = field(
        default_factory=lambda: np.zeros((len(PARSE_GROUPS),) * 2, np.int64)
    )
    mious: list[float] = field(default_factory=list)
    same: int = 0
    pixels: int = 0

    def add(self, ref_path: Path, ours_path: Path) -> dict:
        ref, ours = read_parse(ref_path), read_parse(ours_path)
        _same_shape(self.prefix, ref, ours)
        confusion = group_confusion(ours, ref)
        miou, _ = miou_from_confusion(confusion)
        same = int((ref == ours).sum())
        self.confusion += confusion
        self.mious.append(miou)
        self.same += same
        self.pixels += ref.size
        return {f"{self.prefix}_miou13": miou, f"{self.prefix}_pixel_acc": same / ref.size}

    def summary(self) -> dict:
        if not self.mious:
            return {}
        miou, groups = miou_from_confusion(self.confusion)
        out = {
            f"{self.prefix}_miou13": miou,
            f"{self.prefix}_miou13_mean": _mean(self.mious),
            f"{self.prefix}_pixel_acc": _ratio(self.same, self.pixels),
        }
        if self.per_group:
            out.update({f"{self.prefix}_iou_{name}": iou for name, iou in groups.items()})
        return out


@dataclass
class _Mask:
    prefix: str
    inter: int = 0
    union: int = 0
    ious: list[float] = field(default_factory=list)

    def add(self, ref_path: Path, ours_path: Path) -> dict:
        ref, ours = read_mask(ref_path), read_mask(ours_path)
        _same_shape(self.prefix, ref, ours)
        inter, union = int((ref & ours).sum()), int((ref | ours).sum())
        iou = inter / union if union else 1.0  # both empty: they agree
        self.inter += inter
        self.union += union
        self.ious.append(iou)
        return {f"{self.prefix}_iou": iou}

    def summary(self) -> dict:
        if not self.ious:
            return {}
        pooled = _ratio(self.inter, self.union)
        return {
            f"{self.prefix}_iou": _mean(self.ious),
            f"{self.prefix}_iou_pooled": 1.0 if pooled is None else pooled,
        }


@dataclass
class _DensePose:
    inter: int = 0
    union: int = 0
    agree: int = 0
    both: int = 0
    ious: list[float] = field(default_factory=list)

    def add(self, ref_path: Path, ours_path: Path) -> dict:
        ref, ours = read_densepose(ref_path), read_densepose(ours_path)
        _same_shape("densepose", ref, ours)
        ref_body, ours_body = ref > 0, ours > 0
        both = ref_body & ours_body
        inter, union = int(both.sum()), int((ref_body | ours_body).sum())
        agree = int((both & (ref == ours)).sum())
        self.inter += inter
        self.union += union
        self.agree += agree
        self.both += inter
        iou = inter / union if union else 1.0
        self.ious.append(iou)
        return {"densepose_body_iou": iou, "densepose_part_agreement": _ratio(agree, inter)}

    def summary(self) -> dict:
        if not self.ious:
            return {}
        pooled = _ratio(self.inter, self.union)
        return {
            "densepose_part_agreement": _ratio(self.agree, self.both),
            "densepose_body_iou": 1.0 if pooled is None else pooled,
            "densepose_body_iou_mean": _mean(self.ious),
        }


@dataclass
class _Agnostic:
    tolerance: int
    agree: int = 0
    pixels: int = 0
    abs_sum: float = 0.0
    values: int = 0

    def add(self, ref_path: Path, ours_path: Path) -> dict:
        ref, ours = read_rgb(ref_path), read_rgb(ours_path)
        _same_shape("agnostic", ref, ours)
        diff = np.abs(ref.astype(np.int16) - ours.astype(np.int16))
        agree = int((diff.max(-1) <= self.tolerance).sum())
        pixels = diff.shape[0] * diff.shape[1]
        self.agree += agree
        self.pixels += pixels
        self.abs_sum += float(diff.sum())
        self.values += diff.size
        return {
            "agnostic_pixel_agreement": agree / pixels,
            "agnostic_mean_abs_diff": float(diff.mean()),
        }

    def summary(self) -> dict:
        if not self.pixels:
            return {}
        return {
            "agnostic_pixel_agreement": _ratio(self.agree, self.pixels),
            "agnostic_mean_abs_diff": _ratio(self.abs_sum, self.values),
        }


@dataclass
class FidelityResult:
    """The flat summary (DVC metrics) and one row per sample (for a CSV)."""

    summary: dict[str, float | int]
    rows: list[dict]


def compare(
    ref: Path,
    ours: Path,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    progress: bool = True,
) -> FidelityResult:
    """Compare `ours` with `ref` over the samples both have; see the module docstring.

    Rows hold `split`, `id`, the per-sample scores of each kind compared, and `missing_ours`,
    `missing_ref`, `problems` (semicolon-separated kinds and messages; empty when none).
    """
    ref_layout, ours_layout = Layout(ref), Layout(ours)
    for name, root in (("reference", ref_layout.root), ("our", ours_layout.root)):
        if not root.is_dir():
            raise FileNotFoundError(f"no {name} dataset at {root}; pass a VITON-HD layout root")
    scorers: dict[str, _Scorer] = {
        "pose_json": _Pose(),
        "parse": _Parse("parse", per_group=True),
        "parse_agnostic": _Parse("parse_agnostic", per_group=False),
        "densepose": _DensePose(),
        "cloth_mask": _Mask("cloth_mask"),
        "agnostic_mask": _Mask("agnostic_mask"),
        "agnostic": _Agnostic(tolerance),
    }
    counts = {
        f"{what}_{k}": 0
        for k in KINDS
        for what in ("compared", "missing_ours", "missing_ref", "unreadable", "size_mismatch")
        if k in COMPARED or what.startswith("missing")
    }
    samples = {"ref": 0, "ours": 0, "compared": 0}
    work = _inventory(ref_layout, ours_layout, counts, samples)
    rows: list[dict] = []
    for split, sid, ref_ids, our_ids in tqdm(
        work, desc="fidelity", unit="sample", disable=not progress
    ):
        row, compared = _compare_sample(
            (ref_layout, ours_layout), split, sid, (ref_ids, our_ids), scorers, counts
        )
        samples["compared"] += compared
        rows.append(row)

    summary: dict[str, float | int] = {
        "samples_compared": samples["compared"],
        "samples_ref": samples["ref"],
        "samples_ours": samples["ours"],
        "tolerance": tolerance,
    }
    for scorer in scorers.values():
        summary.update({k: _round(v) for k, v in scorer.summary().items() if v is not None})
    summary.update(counts)
    return FidelityResult(summary, rows)


_Ids = dict[str, set[str]]  # the ids of each kind in one split of one dataset


def _inventory(
    ref_layout: Layout, ours_layout: Layout, counts: dict[str, int], samples: dict[str, int]
) -> list[tuple[str, str, _Ids, _Ids]]:
    """Every (split, id) either dataset has, with both datasets' ids of the split; counts
    the samples of each and the kinds missing from either into `samples` and `counts`."""
    work: list[tuple[str, str, _Ids, _Ids]] = []
    for split in SPLITS:
        ref_ids = {k: set(ref_layout.ids(split, k)) for k in KINDS}
        our_ids = {k: set(ours_layout.ids(split, k)) for k in KINDS}
        samples["ref"] += len(set().union(*ref_ids.values()))
        samples["ours"] += len(set().union(*our_ids.values()))
        for k in KINDS:
            counts[f"missing_ours_{k}"] += len(ref_ids[k] - our_ids[k])
            counts[f"missing_ref_{k}"] += len(our_ids[k] - ref_ids[k])
        ids = sorted(set().union(*ref_ids.values(), *our_ids.values()))
        work += [(split, sid, ref_ids, our_ids) for sid in ids]
    return work


def _compare_sample(
    layouts: tuple[Layout, Layout],
    split: str,
    sid: str,
    ids: tuple[_Ids, _Ids],
    scorers: dict[str, _Scorer],
    counts: dict[str, int],
) -> tuple[dict, bool]:
    """The row of one sample, and whether any kind of it was compared."""
    (ref_layout, ours_layout), (ref_ids, our_ids) = layouts, ids
    row: dict = {"split": split, "id": sid}
    problems: list[str] = []
    compared = False
    for k in COMPARED:
        if sid not in ref_ids[k] or sid not in our_ids[k]:
            continue
        try:
            row.update(
                scorers[k].add(ref_layout.path(split, k, sid), ours_layout.path(split, k, sid))
            )
        except _SizeMismatch as exc:
            counts[f"size_mismatch_{k}"] += 1
            problems.append(f"size mismatch {exc}")
            continue
        except (OSError, ValueError) as exc:  # unreadable or malformed, in either dataset
            counts[f"unreadable_{k}"] += 1
            problems.append(f"{k}: {exc}")
            continue
        counts[f"compared_{k}"] += 1
        compared = True
    row["missing_ours"] = ",".join(k for k in KINDS if sid in ref_ids[k] and sid not in our_ids[k])
    row["missing_ref"] = ",".join(k for k in KINDS if sid in our_ids[k] and sid not in ref_ids[k])
    row["problems"] = "; ".join(problems)
    return {key: _round(v) for key, v in row.items()}, compared


def _round(value):
    return round(value, 6) if isinstance(value, float) else value


def fidelity(
    ref: Path, ours: Path, *, tolerance: int = DEFAULT_TOLERANCE, progress: bool = True
) -> dict[str, float | int]:
    """Flat dict of agreement scores and counts of `ours` against `ref` (DVC metrics)."""
    return compare(ref, ours, tolerance=tolerance, progress=progress).summary


def fidelity_per_sample(
    ref: Path, ours: Path, *, tolerance: int = DEFAULT_TOLERANCE, progress: bool = True
) -> list[dict]:
    """One dict per sample of either dataset: its scores and what is missing (for a CSV)."""
    return compare(ref, ours, tolerance=tolerance, progress=progress).rows
