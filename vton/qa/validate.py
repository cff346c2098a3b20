"""Conformance of a dataset to the VITON-HD layout.

Checks that every sample has every required kind (and every kind that any sample has), that
sizes agree with the person image, that label ids are in range, that keypoint JSON conforms
and lies in the image, that pairs files refer to existing files, and that no annotation is
orphaned. Each problem is a `Violation` naming the file and what is wrong.

Only the published samples are checked (`Layout.published_ids`): the files a sample the
catalog marks excluded left behind are neither checked nor orphans, and a pairs file that
lists an excluded sample is a violation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from vton.formats import openpose
from vton.formats.labels import VitonLabel
from vton.layout import KINDS, Layout, read_pairs

_IMAGE_KINDS = [k for k in KINDS if k != "pose_json"]


@dataclass(frozen=True)
class Violation:
    check: (
        str  # missing | size | label_range | parse_mode | keypoints | pairs | orphan | unreadable
    )
    split: str
    id: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.split}/{self.id}: {self.detail} ({self.path})"


@dataclass
class Report:
    samples: dict[str, int]
    checked_files: int
    violations: list[Violation]
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def metrics(self) -> dict:
        """Flat numbers for DVC metrics."""
        flat = {f"samples_{s}": n for s, n in self.samples.items()}
        flat.update({f"excluded_{s}": n for s, n in self.excluded.items()})
        flat["checked_files"] = self.checked_files
        flat["violations"] = len(self.violations)
        for check, n in sorted(Counter(v.check for v in self.violations).items()):
            flat[f"violations_{check}"] = n
        return flat

    def records(self) -> list[dict]:
        return [asdict(v) for v in self.violations]


def _check_parse(path: Path, size: tuple[int, int]) -> str | None:
    with Image.open(path) as img:
        if img.size != size:
            return f"size {img.size[0]}x{img.size[1]}, person image is {size[0]}x{size[1]}"
        if img.mode not in ("P", "L"):
            return f"mode {img.mode}: a parse must be a palette (or greyscale) PNG of label ids"
        top = int(np.asarray(img).max(initial=0))
    if top >= len(VitonLabel):
        return f"holds label id {top}; VITON-HD ids are 0..{len(VitonLabel) - 1}"
    return None


def _check_keypoints(path: Path, size: tuple[int, int]) -> str | None:
    try:
        body = openpose.read_keypoints(path)
    except (openpose.KeypointError, OSError) as exc:
        return str(exc)
    width, height = size
    present = body[:, 2] > 0
    xs, ys = body[present, 0], body[present, 1]
    outside = (xs < -1) | (xs > width + 1) | (ys < -1) | (ys > height + 1)
    if outside.any():
        k = int(np.flatnonzero(present)[np.argmax(outside)])
        name, where = openpose.Body25(k).name, body[k, :2].tolist()
        return f"keypoint {name} at {where} lies outside {width}x{height}"
    return None


def validate(
    root: Path, required: tuple[str, ...] = ("image", "cloth"), progress: bool = True
) -> Report:
    """Check the dataset at `root`; returns a Report (never raises for dataset problems)."""
    layout = Layout(root)
    unknown = [k for k in required if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown required kinds {unknown}; known: {', '.join(KINDS)}")
    violations: list[Violation] = []
    samples: dict[str, int] = {}
    excluded: dict[str, int] = {}
    gone = layout.excluded()
    checked = 0
    splits = layout.splits_present()
    if not splits:
        violations.append(Violation("missing", "-", "-", str(root), "no train/ or test/ folder"))
    for split in splits:
        left = {sid for s, sid in gone if s == split}
        ids = [sid for sid in layout.ids(split) if sid not in left]
        samples[split], excluded[split] = len(ids), len(left)
        present = layout.kinds_present(split)
        expected = list(dict.fromkeys([*required, *present]))
        id_set = set(ids)
        for kind_name in present:  # files without a person image
            for orphan in sorted(set(layout.ids(split, kind_name)) - id_set - left):
                violations.append(
                    Violation(
                        "orphan",
                        split,
                        orphan,
                        str(layout.path(split, kind_name, orphan)),
                        f"{kind_name} without a person image",
                    )
                )
        for sid in tqdm(ids, desc=f"validate {split}", unit="sample", disable=not progress):
            image_path = layout.path(split, "image", sid)
            try:
                with Image.open(image_path) as img:
                    size = img.size
            except OSError as exc:
                violations.append(Violation("unreadable", split, sid, str(image_path), str(exc)))
                continue
            for kind_name in expected:
                path = layout.path(split, kind_name, sid)
                if not path.exists():
                    violations.append(
                        Violation("missing", split, sid, str(path), f"no {kind_name} file")
                    )
                    continue
                checked += 1
                problem, check = None, "size"
                try:
                    if kind_name == "pose_json":
                        problem, check = _check_keypoints(path, size), "keypoints"
                    elif kind_name in ("parse", "parse_agnostic"):
                        problem, check = _check_parse(path, size), "label_range"
                    elif kind_name in _IMAGE_KINDS:
                        with Image.open(path) as img:
                            if img.size != size:
                                problem = (
                                    f"{kind_name} is {img.size[0]}x{img.size[1]}, person "
                                    f"image is {size[0]}x{size[1]}"
                                )
                except OSError as exc:
                    problem, check = f"cannot read {kind_name}: {exc}", "unreadable"
                if problem:
                    violations.append(Violation(check, split, sid, str(path), problem))
        violations.extend(_check_pairs(layout, split, id_set, gone))
    return Report(samples=samples, checked_files=checked, violations=violations, excluded=excluded)


def _check_pairs(
    layout: Layout, split: str, ids: set[str], gone: dict[tuple[str, str], tuple[str, str]]
) -> list[Violation]:
    found = []
    cloth_ids = {sid for sid in layout.ids(split, "cloth") if (split, sid) not in gone}

    def why(sid: str) -> str:
        if (split, sid) not in gone:
            return ""
        stage, reason = gone[(split, sid)]
        return f" (excluded by {stage}: {reason}; only published samples belong here)"

    paths = [layout.pairs_path(split), layout.pairs_path(split, unpaired=True)]
    if not any(p.exists() for p in paths):
        if ids:
            return [Violation("pairs", split, "-", str(paths[0]), "no pairs file for this split")]
        return []
    for path in paths:
        if not path.exists():
            continue
        try:
            pairs = read_pairs(path)
        except (ValueError, OSError) as exc:
            found.append(Violation("pairs", split, "-", str(path), str(exc)))
            continue
        for line, (person, cloth) in enumerate(pairs, 1):
            if person not in ids:
                found.append(
                    Violation(
                        "pairs",
                        split,
                        person,
                        str(path),
                        f"line {line}: no person image {person}{why(person)}",
                    )
                )
            if cloth not in cloth_ids:
                found.append(
                    Violation(
                        "pairs",
                        split,
                        cloth,
                        str(path),
                        f"line {line}: no garment image {cloth}{why(cloth)}",
                    )
                )
    return found
