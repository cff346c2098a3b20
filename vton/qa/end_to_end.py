"""End-to-end fidelity: what a user who has only the photos gets, against the shipped files.

The per-kind scores of `vton.qa.fidelity` measure each annotator alone; the agnostic images a
user regenerates are drawn from *our* keypoints and *our* parse. Here the person photos are
annotated with the pose and parse backends the params name (`offline` swaps the `reference`
backend, which copies the shipped files, for `mediapipe`), the HR-VITON agnostic recipe
(`vton.annotate.agnostic.make_agnostic`, upper body) is run on those, and the result is
scored against the reference's own files with `vton.qa.fidelity.compare`. Keys are the
fidelity keys prefixed `e2e_` (pose PCK, parse mIoU over the 13 groups, agnostic-mask IoU,
parse-agnostic agreement, the agnostic image), plus `e2e_agnostic_mask_iou_min` (the worst
sample), `e2e_samples` and `e2e_rejected` (photos an annotator refused, e.g. no person
found; they are left out of the scores). A reference without agnostic kinds but with a parse
and keypoints (the synthetic source's exact labels) gets them from the same recipe.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from vton.formats.images import read_rgb
from vton.layout import SPLITS, Layout
from vton.qa.fidelity import compare

SCORED = ("pose_", "parse_", "agnostic_")  # the fidelity keys of the kinds made here


@dataclass
class EndToEnd:
    """summary: flat `e2e_*` scores (DVC metrics); rows: one per sample (scores, or the reason
    it was rejected)."""

    summary: dict[str, float | int]
    rows: list[dict]


def offline(section: Any) -> Any:
    """A pose or parse params section whose `reference` backend (a copy of the shipped
    files, nothing regenerated) is replaced by `mediapipe`, the offline default."""
    if section.backend == "reference":
        return dataclasses.replace(section, backend="mediapipe")
    return section


def end_to_end(
    ref: Path, photos: Path, pose: Any, parse: Any, *, progress: bool = True
) -> EndToEnd:
    """Annotate the person photos of `photos` (a layout root; the reference's own when it
    holds them) with the `pose` and `parse` params sections' backends, make the agnostic
    kinds from them and score everything against `ref` (module doc)."""
    from vton.annotate.base import AnnotationRejected, Item
    from vton.annotate.registry import create_annotator

    reference, source = Layout(Path(ref)), Layout(Path(photos))
    work = [
        (s, sid)
        for s in SPLITS
        for sid in sorted(set(source.ids(s, "image")) & _scorable(reference, s))
    ]
    if not work:
        raise FileNotFoundError(
            f"no person photo in {photos} has an agnostic mask, or a parse and keypoints, in "
            f"{ref}: pass VITON-HD layout roots (the photos may be in the reference itself)"
        )
    annotators = [create_annotator("pose", pose), create_annotator("parse", parse)]
    for annotator in annotators:
        annotator.load()
    rejected: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="vton-e2e-") as tmp:
        ours = Layout(Path(tmp) / "ours")
        ref = _with_agnostics(reference, source, work, Path(tmp) / "ref")
        for split, sid in tqdm(work, desc="end to end", unit="photo", disable=not progress):
            path = source.path(split, "image", sid)
            rgb = read_rgb(path)
            item = Item(sid, split, rgb, path, {})
            try:
                keypoints = annotators[0].annotate(item).pose
                labels = annotators[1].annotate(item).parse
                assert keypoints is not None and labels is not None
                _write_with_agnostics(ours, split, sid, rgb, labels, keypoints)
            except (AnnotationRejected, ValueError) as exc:
                rejected.append({"split": split, "id": sid, "rejected": str(exc)})
        result = compare(ref, ours.root, progress=False)
    return _summarise(result.summary, result.rows, rejected, len(work))


def _scorable(reference: Layout, split: str) -> set[str]:
    """Ids with an agnostic mask in the reference, or a parse and keypoints to make one."""
    made = set(reference.ids(split, "parse")) & set(reference.ids(split, "pose_json"))
    return set(reference.ids(split, "agnostic_mask")) | made


def _with_agnostics(reference: Layout, source: Layout, work: list, tmp: Path) -> Path:
    """`reference`'s root when it holds every sample's agnostic kinds; else a copy of its
    parse and keypoints with the agnostic kinds the recipe makes from them (a source whose
    exact labels ship without agnostics, like the synthetic one)."""
    from vton.formats import labels, openpose

    if all(reference.path(s, "agnostic_mask", sid).is_file() for s, sid in work):
        return reference.root
    out = Layout(tmp)
    for split, sid in work:
        rgb = read_rgb(source.path(split, "image", sid))
        parse = labels.read_parse(reference.path(split, "parse", sid))
        keypoints = openpose.read_keypoints(reference.path(split, "pose_json", sid))
        _write_with_agnostics(out, split, sid, rgb, parse, keypoints)
    return out.root


def _write_with_agnostics(
    layout: Layout, split: str, sid: str, rgb: Any, parse: Any, keypoints: Any
) -> None:
    """Write a sample's parse and keypoints into `layout` with the agnostic kinds the
    HR-VITON recipe makes from them (upper body)."""
    from vton.annotate.agnostic import make_agnostic
    from vton.records import Sample
    from vton.writer import write_sample

    agn = make_agnostic(rgb, parse, keypoints)
    sample = Sample(
        sid,
        split,
        pose=keypoints,
        parse=parse,
        agnostic=agn.agnostic,
        parse_agnostic=agn.parse_agnostic,
        agnostic_mask=agn.mask,
    )
    write_sample(layout, sample, *rgb.shape[:2])


def _summarise(scores: dict, rows: list[dict], rejected: list[dict], total: int) -> EndToEnd:
    summary: dict[str, float | int] = {
        f"e2e_{k}": v
        for k, v in scores.items()
        if k.startswith(SCORED) and isinstance(v, float) and not k.startswith("pose_skipped")
    }
    ious = [r["agnostic_mask_iou"] for r in rows if "agnostic_mask_iou" in r]
    if ious:
        summary["e2e_agnostic_mask_iou_min"] = round(min(ious), 6)
    summary["e2e_samples"] = total - len(rejected)
    summary["e2e_rejected"] = len(rejected)
    kept = [
        {k: v for k, v in r.items() if k in ("split", "id") or k.startswith(SCORED)} for r in rows
    ]
    return EndToEnd(summary, [r for r in kept if len(r) > 2] + rejected)
