"""The MediaPipe models bundled in the wheel (no download), behind one small interface.

Only models whose .tflite files ship inside mediapipe 0.10.x are used: pose (full, with its
segmentation mask), face detection, face mesh, hands and selfie segmentation. Pose
`model_complexity` 0 and 2 would download at run time, so they are never used.

All coordinates are pixels of the input image. Import of mediapipe happens in `load`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np


class MpLandmark(IntEnum):
    """MediaPipe Pose landmark ids (LEFT/RIGHT are the person's own sides)."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


@dataclass
class PoseResult:
    """landmarks: (33, 4) float32 of x, y (pixels), z (MediaPipe's relative depth),
    visibility in [0, 1]; segmentation: (H, W) float32 person probability in [0, 1];
    people: how many people the face detector saw (at least 1 when a pose was found)."""

    landmarks: np.ndarray
    segmentation: np.ndarray | None
    people: int


@dataclass
class HandResult:
    """landmarks: (21, 3) float32 x, y (pixels), z; side: the person's own "left"/"right"."""

    landmarks: np.ndarray
    side: str
    score: float


class MediaPipeModels:
    """Lazily created MediaPipe solutions; one instance per worker process."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # mediapipe's solution classes are untyped: the models are held as Any
        self._pose: Any = None
        self._faces: Any = None
        self._mesh: Any = None
        self._hands: Any = None
        self._selfie: Any = None

    @staticmethod
    def _check(rgb: np.ndarray) -> np.ndarray:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.dtype} {rgb.shape}")
        return np.ascontiguousarray(rgb)

    def pose(self, rgb: np.ndarray, count_people: bool = True) -> PoseResult | None:
        """One person's 33 landmarks and mask, or None when nobody is found.

        `count_people=False` skips the face detector (`people` is then 1).
        """
        import mediapipe as mp

        rgb = self._check(rgb)
        if self._pose is None:
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=True, model_complexity=1, enable_segmentation=True
            )
        result = self._pose.process(rgb)
        if result.pose_landmarks is None:
            return None
        h, w = rgb.shape[:2]
        lm = np.array(
            [[p.x * w, p.y * h, p.z * w, p.visibility] for p in result.pose_landmarks.landmark],
            np.float32,
        )
        seg = result.segmentation_mask
        seg = None if seg is None else np.asarray(seg, np.float32)
        people = max(1, self.count_faces(rgb)) if count_people else 1
        return PoseResult(landmarks=lm, segmentation=seg, people=people)

    def count_faces(self, rgb: np.ndarray, min_score: float = 0.6) -> int:
        """Number of faces (full-range detector), a proxy for the number of people."""
        return len(self.face_boxes(rgb, min_score))

    def face_boxes(self, rgb: np.ndarray, min_score: float = 0.6) -> list[np.ndarray]:
        """Face boxes as (x0, y0, x1, y1) pixel arrays, most confident first."""
        import mediapipe as mp

        rgb = self._check(rgb)
        if self._faces is None:
            self._faces = mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=min_score
            )
        result = self._faces.process(rgb)
        h, w = rgb.shape[:2]
        boxes = []
        for det in result.detections or []:
            if det.score and det.score[0] < min_score:
                continue
            b = det.location_data.relative_bounding_box
            boxes.append(
                np.array([b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h])
            )
        return boxes

    def face_mesh(self, rgb: np.ndarray) -> np.ndarray | None:
        """(468, 3) float32 face mesh points (x, y pixels, z), or None."""
        import mediapipe as mp

        rgb = self._check(rgb)
        if self._mesh is None:
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=False
            )
        result = self._mesh.process(rgb)
        if not result.multi_face_landmarks:
            return None
        h, w = rgb.shape[:2]
        pts = result.multi_face_landmarks[0].landmark
        return np.array([[p.x * w, p.y * h, p.z * w] for p in pts], np.float32)

    def hands(self, rgb: np.ndarray) -> list[HandResult]:
        """Up to two hands with 21 landmarks each."""
        import mediapipe as mp

        rgb = self._check(rgb)
        if self._hands is None:
            self._hands = mp.solutions.hands.Hands(
                static_image_mode=True, max_num_hands=2, model_complexity=1
            )
        result = self._hands.process(rgb)
        h, w = rgb.shape[:2]
        found = []
        for lms, handed in zip(
            result.multi_hand_landmarks or [], result.multi_handedness or [], strict=False
        ):
            pts = np.array([[p.x * w, p.y * h, p.z * w] for p in lms.landmark], np.float32)
            label = handed.classification[0]
            # MediaPipe labels hands as seen in a mirrored (selfie) image: swap for a photo.
            side = "right" if label.label == "Left" else "left"
            found.append(HandResult(landmarks=pts, side=side, score=float(label.score)))
        return found

    def selfie(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W) float32 person probability from the selfie segmentation model."""
        import mediapipe as mp

        rgb = self._check(rgb)
        if self._selfie is None:
            self._selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        return np.asarray(self._selfie.process(rgb).segmentation_mask, np.float32)

    def close(self) -> None:
        for model in (self._pose, self._faces, self._mesh, self._hands, self._selfie):
            if model is not None:
                model.close()
        self._reset()
