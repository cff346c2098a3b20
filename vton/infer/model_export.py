"""Export of the trained GMM and TOM to ONNX and TorchScript, checked against PyTorch.

Each model is exported at a fixed size (its training size by default) with named tensors:

    gmm: person (1, 66, H, W), cloth (1, 3, H, W) in [-1, 1], cloth_mask (1, 1, H, W) in [0, 1]
         -> warped_cloth (1, 3, H, W) in [-1, 1], warped_mask (1, 1, H, W) in [0, 1]
    tom: person (1, 66, H, W), warped_cloth (1, 3, H, W), warped_mask (1, 1, H, W)
         [, agnostic_mask (1, 1, H, W) in {0, 1}: a TOM with keep_unmasked]
         -> result (1, 3, H, W) in [-1, 1], rendered (1, 3, H, W), mask (1, 1, H, W)

`person` is `vton.models.inputs.person_representation` of a batch, so a runtime without
PyTorch builds it from the same annotations (agnostic photo, 13 parse groups one-hot,
25 keypoint heatmaps, 25 DensePose classes one-hot). ONNX goes through torch.export
(`dynamo=True`, opset 18: GridSample needs it) into one self-contained file; TorchScript is
a trace. After writing, both are run on the same input as the PyTorch module (onnxruntime
for ONNX) and the largest absolute difference of every output must stay within `atol`,
else `ExportMismatch`. `export-report.json` beside the files records the differences.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vton.fileio import atomic_write_text
from vton.models.inputs import PERSON_CHANNELS

FORMATS = ("onnx", "torchscript")


class ExportMismatch(RuntimeError):
    """An exported model's output differs from PyTorch's by more than the tolerance."""


class _GmmGraph(nn.Module):
    def __init__(self, gmm):
        super().__init__()
        self.gmm = gmm

    def forward(self, person, cloth, cloth_mask):
        out = self.gmm(person, cloth, cloth_mask)
        return out.warped_cloth, out.warped_mask


class _TomGraph(nn.Module):
    def __init__(self, tom):
        super().__init__()
        self.tom = tom

    def forward(self, person, warped_cloth, warped_mask, *agnostic_mask):
        out = self.tom(person, warped_cloth, warped_mask, *agnostic_mask)
        return out.result, out.rendered, out.mask


def keeps_unmasked(module: nn.Module) -> bool:
    """Whether a TOM takes the agnostic mask (it keeps the photo outside it)."""
    return bool(getattr(module.config, "keep_unmasked", False))


def graph_io(name: str, module: nn.Module) -> tuple[type, tuple[str, ...], tuple[str, ...]]:
    """(wrapper class, input names, output names) of one model's exported graph."""
    if name == "gmm":
        return _GmmGraph, ("person", "cloth", "cloth_mask"), ("warped_cloth", "warped_mask")
    if name == "tom":
        inputs: tuple[str, ...] = ("person", "warped_cloth", "warped_mask")
        if keeps_unmasked(module):
            inputs += ("agnostic_mask",)
        return _TomGraph, inputs, ("result", "rendered", "mask")
    raise ValueError(f"model name must be gmm or tom, got {name!r}")


def example_inputs(
    name: str, height: int, width: int, seed: int = 0, agnostic_mask: bool = False
) -> tuple[torch.Tensor, ...]:
    """Inputs in each tensor's range: person channels (photo in [-1, 1], one-hots and
    heatmaps in [0, 1]), an image in [-1, 1], a mask in {0, 1} (and the agnostic mask in
    {0, 1} when asked)."""
    g = torch.Generator().manual_seed(seed)
    person = torch.rand(1, PERSON_CHANNELS, height, width, generator=g)
    person[:, :3] = person[:, :3] * 2 - 1
    image = torch.rand(1, 3, height, width, generator=g) * 2 - 1
    mask = (torch.rand(1, 1, height, width, generator=g) > 0.5).float()
    if not agnostic_mask:
        return person, image, mask
    return person, image, mask, (torch.rand(1, 1, height, width, generator=g) > 0.5).float()


def _max_diffs(ours: list[np.ndarray], reference: tuple[torch.Tensor, ...], names) -> dict:
    return {
        n: float(np.abs(o - r.detach().numpy()).max())
        for n, o, r in zip(names, ours, reference, strict=True)
    }


def export_model(
    name: str,
    module: nn.Module,
    out: Path,
    size: tuple[int, int],
    formats: tuple[str, ...] = FORMATS,
    atol: float = 1e-4,
) -> dict:
    """Export one model (`gmm` or `tom`, on CPU) to `out/NAME.onnx` / `out/NAME.pt`; returns
    {format: {path, max_abs_diff per output, seconds}}. Raises ExportMismatch above `atol`."""
    wrapper_cls, inputs_names, output_names = graph_io(name, module)
    graph = wrapper_cls(module.cpu().eval()).eval()
    inputs = example_inputs(name, *size, agnostic_mask=len(inputs_names) == 4)
    with torch.no_grad():
        reference = graph(*inputs)
    report: dict = {}
    if "onnx" in formats:
        import onnxruntime as ort

        t0 = time.perf_counter()
        path = out / f"{name}.onnx"
        torch.onnx.export(
            graph,
            inputs,
            str(path),
            input_names=list(inputs_names),
            output_names=list(output_names),
            opset_version=18,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {n: t.numpy() for n, t in zip(inputs_names, inputs, strict=True)}
        ours = session.run(list(output_names), feeds)
        report["onnx"] = {
            "path": str(path),
            "max_abs_diff": _max_diffs(ours, reference, output_names),
            "seconds": round(time.perf_counter() - t0, 2),
        }
    if "torchscript" in formats:
        t0 = time.perf_counter()
        path = out / f"{name}.pt"
        with torch.no_grad(), warnings.catch_warnings():
            # The shape checks at the modules' boundaries become constants of the trace,
            # which is what a fixed-size export means; the tracer warns about each.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            traced = torch.jit.trace(graph, inputs, check_trace=False)
        traced.save(str(path))
        loaded = torch.jit.load(str(path), map_location="cpu")
        with torch.no_grad():
            ours = [t.numpy() for t in loaded(*inputs)]
        report["torchscript"] = {
            "path": str(path),
            "max_abs_diff": _max_diffs(ours, reference, output_names),
            "seconds": round(time.perf_counter() - t0, 2),
        }
    for fmt, entry in report.items():
        worst = max(entry["max_abs_diff"].values())
        entry["within_tolerance"] = worst <= atol
        if worst > atol:
            raise ExportMismatch(
                f"{name} {fmt}: outputs differ from PyTorch by up to {worst:.3g} (tolerance "
                f"{atol:g}): {entry['max_abs_diff']}; the file is {entry['path']}"
            )
    return report


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    *,
    formats: tuple[str, ...] = FORMATS,
    size: tuple[int, int] | None = None,
    atol: float = 1e-4,
) -> dict:
    """Export both models of a checkpoint folder (gmm/, tom/) into `out`; writes
    `out/export-report.json` and returns it. `size`: (height, width), default the GMM's
    training size."""
    from vton.infer.pipeline import load_models

    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ValueError(f"formats must be among {', '.join(FORMATS)}, got {list(formats)}")
    models = load_models(checkpoint, torch.device("cpu"))
    size = size or (models.gmm.config.height, models.gmm.config.image_width)
    step = 2**models.tom.config.depth
    if size[0] % step or size[1] % step:
        raise ValueError(f"export size {size[0]}x{size[1]} must divide by 2**tom.depth = {step}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "checkpoint": str(checkpoint),
        "size": list(size),
        "atol": atol,
        "torch": torch.__version__,
        "models": {
            "gmm": export_model("gmm", models.gmm, out, size, formats, atol),
            "tom": export_model("tom", models.tom, out, size, formats, atol),
        },
    }
    atomic_write_text(out / "export-report.json", json.dumps(report, indent=2) + "\n")
    return report
