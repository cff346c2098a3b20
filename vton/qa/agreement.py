"""Agreement between two annotations of the same image: keypoint PCK, grouped parse mIoU."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vton.formats.labels import PARSE_GROUPS, group13
from vton.formats.openpose import Body25

TORSO_KEYPOINTS = (1, 2, 3, 4, 5, 6, 7, 9, 12)
"""Neck, shoulders, elbows, wrists and hips: the BODY_25 points try-on recipes rely on."""


def torso_height(body25: np.ndarray) -> float | None:
    """Neck to mid-hip distance in pixels (mid-hip from the hips when it is missing)."""
    neck = body25[Body25.NECK]
    hip = body25[Body25.MID_HIP]
    if hip[2] <= 0:
        r, l_ = body25[Body25.R_HIP], body25[Body25.L_HIP]
        if r[2] <= 0 or l_[2] <= 0:
            return None
        hip = (r + l_) / 2
    if neck[2] <= 0:
        return None
    return float(np.linalg.norm(neck[:2] - hip[:2]))


def pck(
    pred: np.ndarray,
    ref: np.ndarray,
    keypoints: Sequence[int] = TORSO_KEYPOINTS,
    alpha: float = 0.1,
) -> tuple[int, int]:
    """(correct, counted): keypoints within `alpha` x torso height of the reference.

    Only keypoints present in the reference count; a reference point that `pred` misses is
    counted as wrong. Both arrays are (25, 3) BODY_25.
    """
    scale = torso_height(ref)
    if scale is None:
        raise ValueError("the reference keypoints have no neck and hips to scale PCK by")
    correct = counted = 0
    for k in keypoints:
        if ref[k, 2] <= 0:
            continue
        counted += 1
        if pred[k, 2] > 0 and np.linalg.norm(pred[k, :2] - ref[k, :2]) <= alpha * scale:
            correct += 1
    return correct, counted


def group_confusion(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(13, 13) int64 confusion matrix [ref group, pred group] of two VITON-id label maps."""
    if pred.shape != ref.shape:
        raise ValueError(f"label maps differ in shape: {pred.shape} vs {ref.shape}")
    n = len(PARSE_GROUPS)
    codes = group13(ref).astype(np.int64) * n + group13(pred)
    return np.bincount(codes.ravel(), minlength=n * n).reshape(n, n)


def miou_from_confusion(confusion: np.ndarray) -> tuple[float, dict[str, float]]:
    """Mean IoU over the groups present in the reference or prediction, and per-group IoU."""
    inter = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - inter
    per_group = {
        name: float(inter[g] / union[g]) for g, (name, _) in enumerate(PARSE_GROUPS) if union[g] > 0
    }
    return (float(np.mean(list(per_group.values()))) if per_group else 0.0), per_group


def group_miou(pred: np.ndarray, ref: np.ndarray) -> tuple[float, dict[str, float]]:
    """mIoU over the 13 VITON-HD/HR-VITON parse groups of one image pair."""
    return miou_from_confusion(group_confusion(pred, ref))
