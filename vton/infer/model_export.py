"""Export of a trained family's warp and generator to ONNX and TorchScript, checked against PyTorch.

`export_checkpoint` loads any family (`vton.families.tryon_model.TryOnModel`: gmm+tom,
gmm+unet_sa, tocg+spade) and writes `warp.onnx`, `warp.pt`, `generator.onnx` and
`generator.pt`, each at one fixed size (the training size by default; it must divide by the
family's `step`) with named tensors, all (1, C, H, W) float:

    gmm      person (66), cloth (3) in [-1, 1], cloth_mask (1) in [0, 1]
             -> warped_cloth (3) in [-1, 1], warped_mask (1) in [0, 1]
    tocg     cloth_in (4): garment RGB in [-1, 1] + its mask in {0, 1};
             pose_in (16): 13 parse groups one-hot + DensePose RGB in [-1, 1]
             -> warped_cloth (3), warped_mask (1), seg_logits (13) raw logits
    tom      person (66), warped_cloth (3), warped_mask (1)
             [, agnostic_mask (1) in {0, 1}: a generator with keep_unmasked]
             -> result (3) in [-1, 1], rendered (3) in [-1, 1], mask (1) in [0, 1]
    unet_sa  person (41), warped_cloth (3), warped_mask (1) [, agnostic_mask (1)]
             -> result (3), rendered (3), mask (1)
    spade    x (9) in [-1, 1]: agnostic + DensePose RGB + warped garment; seg (7) one-hot
             [, agnostic_mask (1)] -> result (3) in [-1, 1] (eval mode: no SPADE noise)

`person` is `vton.models.inputs.person_representation` (66 channels: agnostic photo, 13
parse groups one-hot, 25 keypoint heatmaps, 25 DensePose classes one-hot) or, for unet_sa,
`vton.families.unet_sa.gan41_representation` (agnostic photo, 18 heatmaps, 20 parse ids
one-hot), so a runtime without PyTorch builds them from the same annotations. The tocg graph
is the module itself: between it and spade a runtime applies what `vton.families.forward`
does (`align_conditions`, `remove_occlusion`, the garment on white outside the mask,
`seg7_from_tocg`). `GRAPHS` holds, per kind, the wrapper, the inputs (with the value range
of each channel, which the check's example inputs follow) and the outputs.

ONNX goes through torch.export (`dynamo=True`, opset 18: GridSample needs it) into one
self-contained file; TorchScript is a trace. Spectral-norm parametrizations (spade) are
folded into plain weights first, on a twin of the module (`plain_weights`): in eval mode
they divide each weight by its stored sigma, which is what the folded weight holds. After
writing, both files are run on the same input as the PyTorch module itself (onnxruntime for
ONNX) and the largest absolute difference of every output must stay within `atol`, else
`ExportMismatch`. `export-report.json` beside the files records the family, each model's
kind and the differences. A spade whose start size (H, W) / 2**depth has a width of 1
(64x32 at toy size) fails the ONNX check, rightly: PyTorch's CPU antialiased resize to a
width of 1 gives every output row the same value, onnxruntime's Resize does not.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from vton.fileio import atomic_write_text
from vton.models.inputs import PERSON_PARTS

FORMATS = ("onnx", "torchscript")
PARTS = ("warp", "generator")  # the file stems: out/warp.onnx, out/generator.pt ...

Layout = tuple[tuple[str, int], ...]
"""Channel groups of one input, in order: (range, channels); range is `image` ([-1, 1]),
`mask` ({0, 1}), `one_hot` (a valid one-hot over the group's channels) or `unit` ([0, 1],
heatmaps)."""


class ExportMismatch(RuntimeError):
    """An exported model's output differs from PyTorch's by more than the tolerance."""


class InputSpec(NamedTuple):
    """One named graph input: its channel layout from the module's config."""

    name: str
    layout: Callable[[Any], Layout]
    keep_unmasked_only: bool = False  # present only when config.keep_unmasked


class GraphSpec(NamedTuple):
    wrapper: type[nn.Module]  # wrapper(module) -> a module returning the named outputs
    inputs: tuple[InputSpec, ...]
    outputs: tuple[str, ...]


class _Graph(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model


class _GmmGraph(_Graph):
    def forward(self, person, cloth, cloth_mask):
        out = self.model(person, cloth, cloth_mask)
        return out.warped_cloth, out.warped_mask


class _TocgGraph(_Graph):
    def forward(self, cloth_in, pose_in):
        out = self.model(cloth_in, pose_in)
        return out.warped_cloth, out.warped_mask, out.seg_logits


class _ComposedGraph(_Graph):
    """tom and unet_sa: the person channels, the warped garment and mask -> the composite."""

    def forward(self, person, warped_cloth, warped_mask, *agnostic_mask):
        out = self.model(person, warped_cloth, warped_mask, *agnostic_mask)
        return out.result, out.rendered, out.mask


class _SpadeGraph(_Graph):
    def forward(self, x, seg, *agnostic_mask):
        return self.model(x, seg, None, *agnostic_mask)


def _person_layout(channels: int) -> Layout:
    """person_representation's groups, or photo + [0, 1] for another channel count."""
    if channels != sum(n for _, n in PERSON_PARTS):
        return (("image", 3), ("unit", channels - 3))
    ranges = {"agnostic": "image", "pose": "unit"}  # the parse and DensePose are one-hots
    return tuple((ranges.get(name, "one_hot"), n) for name, n in PERSON_PARTS)


def _gan41_layout(channels: int) -> Layout:
    from vton.families.unet_sa import GAN41_CHANNELS, PARSE_CHANNELS, POSE_CHANNELS

    if channels != GAN41_CHANNELS:
        return (("image", 3), ("unit", channels - 3))
    return (("image", 3), ("unit", POSE_CHANNELS), ("one_hot", PARSE_CHANNELS))


_IMAGE: InputSpec = InputSpec("warped_cloth", lambda c: (("image", 3),))
_MASK: InputSpec = InputSpec("warped_mask", lambda c: (("mask", 1),))
_AGNOSTIC_MASK: InputSpec = InputSpec("agnostic_mask", lambda c: (("mask", 1),), True)

GRAPHS: dict[str, GraphSpec] = {
    "gmm": GraphSpec(
        _GmmGraph,
        (
            InputSpec("person", lambda c: _person_layout(c.person_channels)),
            InputSpec("cloth", lambda c: (("image", c.cloth_channels - 1),)),
            InputSpec("cloth_mask", lambda c: (("mask", 1),)),
        ),
        ("warped_cloth", "warped_mask"),
    ),
    "tocg": GraphSpec(
        _TocgGraph,
        (
            InputSpec("cloth_in", lambda c: (("image", c.cloth_channels - 1), ("mask", 1))),
            InputSpec("pose_in", lambda c: (("one_hot", c.pose_channels - 3), ("image", 3))),
        ),
        ("warped_cloth", "warped_mask", "seg_logits"),
    ),
    "tom": GraphSpec(
        _ComposedGraph,
        (
            InputSpec("person", lambda c: _person_layout(c.person_channels)),
            _IMAGE,
            _MASK,
            _AGNOSTIC_MASK,
        ),
        ("result", "rendered", "mask"),
    ),
    "unet_sa": GraphSpec(
        _ComposedGraph,
        (
            InputSpec("person", lambda c: _gan41_layout(c.in_channels - 4)),
            _IMAGE,
            _MASK,
            _AGNOSTIC_MASK,
        ),
        ("result", "rendered", "mask"),
    ),
    "spade": GraphSpec(
        _SpadeGraph,
        (
            InputSpec("x", lambda c: (("image", c.input_channels),)),
            InputSpec("seg", lambda c: (("one_hot", c.seg_channels),)),
            _AGNOSTIC_MASK,
        ),
        ("result",),
    ),
}
"""kind -> (wrapper, inputs, outputs) of its exported graph."""


def keeps_unmasked(module: nn.Module) -> bool:
    """Whether a generator takes the agnostic mask (it keeps the photo outside it)."""
    return bool(getattr(module.config, "keep_unmasked", False))


def graph_io(module: nn.Module) -> tuple[type[nn.Module], tuple[InputSpec, ...], tuple[str, ...]]:
    """(wrapper class, inputs, output names) of one model's exported graph, by its kind."""
    kind = str(getattr(module, "kind", type(module).__name__))
    if kind not in GRAPHS:
        raise ValueError(f"cannot export a {kind!r} model; exportable kinds: {sorted(GRAPHS)}")
    spec = GRAPHS[kind]
    keep = keeps_unmasked(module)
    inputs = tuple(i for i in spec.inputs if keep or not i.keep_unmasked_only)
    return spec.wrapper, inputs, spec.outputs


def _channels(layout: Layout, g: torch.Generator, height: int, width: int) -> torch.Tensor:
    """(1, C, H, W) with each group of `layout` in its range."""
    parts = []
    for kind, n in layout:
        if kind == "image":
            parts.append(torch.rand(1, n, height, width, generator=g) * 2 - 1)
        elif kind == "mask":
            parts.append((torch.rand(1, n, height, width, generator=g) > 0.5).float())
        elif kind == "one_hot":
            ids = torch.randint(0, n, (1, height, width), generator=g)
            parts.append(torch.nn.functional.one_hot(ids, n).permute(0, 3, 1, 2).float())
        elif kind == "unit":
            parts.append(torch.rand(1, n, height, width, generator=g))
        else:
            raise ValueError(f"unknown channel range {kind!r}")
    return torch.cat(parts, 1)


def example_inputs(
    module: nn.Module, height: int, width: int, seed: int = 0
) -> dict[str, torch.Tensor]:
    """The graph's inputs by name, in order, each (1, C, H, W) in its range: images in
    [-1, 1], masks in {0, 1}, one-hots valid one-hots, heatmaps in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    _, inputs, _ = graph_io(module)
    return {i.name: _channels(i.layout(module.config), g, height, width) for i in inputs}


def plain_weights(module: nn.Module) -> nn.Module:
    """`module`, or a twin of it (same config and state) in eval mode with every
    parametrization (spectral norm) folded into a plain weight: the value it computes in eval
    mode, the weight over its stored sigma. Exported graphs then hold one constant per weight.

    A twin, not a deepcopy: a copy shares its parametrized classes with the original, and
    removing a parametrization deletes the property from that class."""
    if not any(parametrize.is_parametrized(m) for m in module.modules()):
        return module
    with torch.random.fork_rng(devices=[]):  # its initial weights are overwritten below
        twin = type(module)(module.config)  # type: ignore[call-arg]
    twin.load_state_dict(module.state_dict())  # strict: every parameter and saved buffer
    twin.eval()  # in training mode spectral norm would first run a power iteration
    with torch.no_grad():
        for m in [m for m in twin.modules() if parametrize.is_parametrized(m)]:
            for name in list(cast(nn.ModuleDict, m.parametrizations)):
                parametrize.remove_parametrizations(m, name, leave_parametrized=True)
    return twin


def _as_tuple(out: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return (out,) if isinstance(out, torch.Tensor) else tuple(out)


def _max_diffs(ours: list[np.ndarray], reference: tuple[torch.Tensor, ...], names) -> dict:
    return {
        n: float(np.abs(o - r.detach().numpy()).max())
        for n, o, r in zip(names, ours, reference, strict=True)
    }


def export_model(
    part: str,
    module: nn.Module,
    out: Path,
    size: tuple[int, int],
    formats: tuple[str, ...] = FORMATS,
    atol: float = 1e-4,
) -> dict:
    """Export one model of any kind in `GRAPHS` (on CPU, eval mode) to `out/PART.onnx` /
    `out/PART.pt`; returns {kind, format: {path, max_abs_diff per output, seconds,
    within_tolerance}}. Raises ExportMismatch above `atol`."""
    module = module.cpu().eval()
    wrapper_cls, inputs_specs, output_names = graph_io(module)
    input_names = [i.name for i in inputs_specs]
    graph = wrapper_cls(module).eval()  # the reference: the module as trained
    exported = wrapper_cls(plain_weights(module)).eval()
    inputs = tuple(example_inputs(module, *size).values())
    with torch.no_grad():
        reference = _as_tuple(graph(*inputs))
    checks: dict = {}
    if "onnx" in formats:
        import onnxruntime as ort

        t0 = time.perf_counter()
        path = out / f"{part}.onnx"
        torch.onnx.export(
            exported,
            inputs,
            str(path),
            input_names=input_names,
            output_names=list(output_names),
            opset_version=18,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {n: t.numpy() for n, t in zip(input_names, inputs, strict=True)}
        ours = session.run(list(output_names), feeds)
        checks["onnx"] = {
            "path": str(path),
            "max_abs_diff": _max_diffs(ours, reference, output_names),
            "seconds": round(time.perf_counter() - t0, 2),
        }
    if "torchscript" in formats:
        t0 = time.perf_counter()
        path = out / f"{part}.pt"
        with torch.no_grad(), warnings.catch_warnings():
            # The shape checks at the modules' boundaries become constants of the trace,
            # which is what a fixed-size export means; the tracer warns about each.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            traced = torch.jit.trace(exported, inputs, check_trace=False)
        traced.save(str(path))
        loaded = torch.jit.load(str(path), map_location="cpu")
        with torch.no_grad():
            ours = [t.numpy() for t in _as_tuple(loaded(*inputs))]
        checks["torchscript"] = {
            "path": str(path),
            "max_abs_diff": _max_diffs(ours, reference, output_names),
            "seconds": round(time.perf_counter() - t0, 2),
        }
    kind = str(module.kind)
    for fmt, entry in checks.items():
        worst = max(entry["max_abs_diff"].values())
        entry["within_tolerance"] = worst <= atol
        if worst > atol:
            raise ExportMismatch(
                f"{part} ({kind}) {fmt}: outputs differ from PyTorch by up to {worst:.3g} "
                f"(tolerance {atol:g}): {entry['max_abs_diff']}; the file is {entry['path']}"
            )
    return {"kind": kind, **checks}


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    *,
    formats: tuple[str, ...] = FORMATS,
    size: tuple[int, int] | None = None,
    atol: float = 1e-4,
) -> dict:
    """Export the warp and the generator of a checkpoint folder (warp/, generator/, any
    family) into `out`; writes `out/export-report.json` and returns it. `size`: (height,
    width), default the training size the warp records (required when it records none);
    it must divide by the family's step."""
    from vton.infer.pipeline import load_models

    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ValueError(f"formats must be among {', '.join(FORMATS)}, got {list(formats)}")
    models = load_models(checkpoint, torch.device("cpu"))
    size = size or models.size
    if size is None:
        raise ValueError(
            f"the {models.family} checkpoint {checkpoint} records no training size: pass the "
            f"export size (size=(H, W), --size HxW), both sides divisible by {models.step}"
        )
    step = models.step
    if size[0] % step or size[1] % step:
        raise ValueError(
            f"export size {size[0]}x{size[1]} must divide by {step} in both sides: the "
            f"{models.family} family's inputs need it"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "checkpoint": str(checkpoint),
        "family": models.family,
        "size": list(size),
        "atol": atol,
        "torch": torch.__version__,
        "models": {
            part: export_model(part, getattr(models, part), out, size, formats, atol)
            for part in PARTS
        },
    }
    atomic_write_text(out / "export-report.json", json.dumps(report, indent=2) + "\n")
    return report
