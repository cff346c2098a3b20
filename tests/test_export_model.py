"""`vton export-model`: ONNX and TorchScript files that compute what the PyTorch models do."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from vton.cli import main as vton_main
from vton.families.spade import SPADEConfig, SPADEGenerator
from vton.families.tocg import ConditionGenerator, TOCGConfig
from vton.families.unet_sa import SelfAttention2d, UNetSAConfig, UNetSAGenerator
from vton.infer.model_export import ExportMismatch, example_inputs, export_checkpoint, export_model
from vton.infer.pipeline import load_models
from vton.models import GMM, TOM, GMMConfig, TOMConfig


def _gmm(height: int, width: int) -> nn.Module:
    return GMM(GMMConfig(width=4, levels=2, grid=3, height=height, image_width=width))


def _unet_sa() -> nn.Module:
    gen = UNetSAGenerator(dataclasses.replace(UNetSAConfig.toy(), keep_unmasked=True))
    for block in gen.modules():  # gamma starts at 0: give the attention a part in the output
        if isinstance(block, SelfAttention2d):
            block.gamma.data.fill_(0.5)
    return gen


def _tocg(height: int, width: int) -> nn.Module:
    config = dataclasses.replace(TOCGConfig.toy(), levels=4, height=height, width=width)
    return ConditionGenerator(config)


def _spade(height: int, width: int, spectral: bool = True) -> nn.Module:
    config = dataclasses.replace(SPADEConfig.toy(), keep_unmasked=True, spectral=spectral)
    return SPADEGenerator(config)


# family -> (warp, generator) builders at a toy size, and that size (divisible by the step).
# The spade at 64x64 starts at 2x2: at 64x32 (start 2x1) PyTorch's CPU antialiased resize
# to a width of 1 is wrong (every row equals the first) and the ONNX check rightly fails.
Builder = Callable[[int, int], nn.Module]
FAMILIES: dict[str, tuple[Builder, Builder, tuple[int, int]]] = {
    "gmm+tom": (_gmm, lambda h, w: TOM(TOMConfig(width=4, depth=2)), (64, 48)),
    "gmm+unet_sa": (_gmm, lambda h, w: _unet_sa(), (64, 48)),
    "tocg+spade": (_tocg, _spade, (64, 64)),
}
IO = {  # what the files take and give, by kind (every generator here keeps the photo)
    "gmm": (["person", "cloth", "cloth_mask"], ["warped_cloth", "warped_mask"]),
    "tocg": (["cloth_in", "pose_in"], ["warped_cloth", "warped_mask", "seg_logits"]),
    "tom": (
        ["person", "warped_cloth", "warped_mask", "agnostic_mask"],
        ["result", "rendered", "mask"],
    ),
    "unet_sa": (
        ["person", "warped_cloth", "warped_mask", "agnostic_mask"],
        ["result", "rendered", "mask"],
    ),
    "spade": (["x", "seg", "agnostic_mask"], ["result"]),
}


def family_checkpoint(root: Path, family: str) -> Path:
    """The family's warp/ and generator/ at toy width, seeded; untrained, so the pixels
    mean nothing."""
    warp, generator, size = FAMILIES[family]
    torch.manual_seed(0)
    warp(*size).save_pretrained(root / "warp")
    generator(*size).save_pretrained(root / "generator")
    return root


@pytest.mark.parametrize("family", list(FAMILIES))
def test_export_model_writes_checked_onnx_and_torchscript(tmp_path, capsys, family):
    checkpoint = family_checkpoint(tmp_path / "checkpoint", family)
    out = tmp_path / "exported"
    assert vton_main(["export-model", "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    report = json.loads((out / "export-report.json").read_text())
    assert report == json.loads(capsys.readouterr().out)
    assert report["family"] == family
    assert report["size"] == list(FAMILIES[family][2])
    kinds = dict(zip(("warp", "generator"), family.split("+"), strict=True))
    for part, kind in kinds.items():
        assert report["models"][part]["kind"] == kind
        for fmt, suffix in (("onnx", "onnx"), ("torchscript", "pt")):
            entry = report["models"][part][fmt]
            assert entry["path"] == str(out / f"{part}.{suffix}")
            assert entry["within_tolerance"] is True
            assert sorted(entry["max_abs_diff"]) == sorted(IO[kind][1])
            assert max(entry["max_abs_diff"].values()) <= report["atol"]
    assert sorted(p.name for p in out.iterdir()) == [
        "export-report.json",
        "generator.onnx",
        "generator.pt",
        "warp.onnx",
        "warp.pt",
    ]  # one self-contained file per model: no .onnx.data beside it

    # The files on their own, on a new input: onnxruntime and torch.jit agree with PyTorch.
    models = load_models(checkpoint, torch.device("cpu"))
    for part, kind in kinds.items():
        module = getattr(models, part)
        feeds = example_inputs(module, *report["size"], seed=7)
        args = list(feeds.values())
        if kind == "spade":  # forward(x, seg, generator=None, agnostic_mask=None)
            args.insert(2, None)
        with torch.no_grad():
            ours = module(*args)
        reference = [ours] if kind == "spade" else [getattr(ours, n) for n in IO[kind][1]]
        session = ort.InferenceSession(
            str(out / f"{part}.onnx"), providers=["CPUExecutionProvider"]
        )
        assert [i.name for i in session.get_inputs()] == IO[kind][0]
        assert [o.name for o in session.get_outputs()] == IO[kind][1]
        onnx_out = session.run(None, {n: t.numpy() for n, t in feeds.items()})
        traced = torch.jit.load(str(out / f"{part}.pt"))
        with torch.no_grad():
            jit_out = traced(*feeds.values())
        jit_out = [jit_out] if isinstance(jit_out, torch.Tensor) else list(jit_out)
        for want, onnx_got, jit_got in zip(reference, onnx_out, jit_out, strict=True):
            assert np.abs(onnx_got - want.numpy()).max() < 1e-4
            assert torch.allclose(jit_got, want, atol=1e-5)


def test_example_inputs_are_in_each_tensors_range():
    spade, tocg = _spade(64, 64, spectral=False), _tocg(64, 64)  # spectral norm: slow to build
    x, seg, agnostic_mask = example_inputs(spade, 64, 64).values()
    assert x.min() >= -1 and x.max() <= 1 and x.min() < 0
    assert torch.equal(seg.sum(1), torch.ones(1, 64, 64)) and set(seg.unique().tolist()) == {0, 1}
    assert set(agnostic_mask.unique().tolist()) == {0.0, 1.0}
    cloth_in, pose_in = example_inputs(tocg, 64, 64).values()
    assert set(cloth_in[:, 3].unique().tolist()) == {0.0, 1.0}
    assert torch.equal(pose_in[:, :13].sum(1), torch.ones(1, 64, 64))
    assert pose_in[:, 13:].min() < 0
    person = example_inputs(_gmm(64, 48), 64, 48)["person"]
    assert person.shape == (1, 66, 64, 48) and person[:, 3:].min() >= 0


def test_the_export_size_must_suit_the_family(tmp_path):
    checkpoint = tmp_path / "checkpoint"
    _tocg(0, 0).save_pretrained(checkpoint / "warp")  # no training size recorded
    _spade(0, 0, spectral=False).save_pretrained(checkpoint / "generator")
    with pytest.raises(ValueError, match="records no training size"):
        export_checkpoint(checkpoint, tmp_path / "out")
    with pytest.raises(ValueError, match="must divide by 32"):
        export_checkpoint(checkpoint, tmp_path / "out", size=(64, 48))
    assert not (tmp_path / "out").exists()


def test_a_difference_above_the_tolerance_fails_the_export(tmp_path):
    """With atol 0, onnxruntime's float rounding (about 1e-6) is a mismatch; a trace is not."""
    torch.manual_seed(0)
    tom = TOM(TOMConfig(width=4, depth=2))
    report = export_model("generator", tom, tmp_path, (64, 48), ("torchscript",), atol=0.0)
    assert report["kind"] == "tom"
    assert report["torchscript"]["within_tolerance"] is True  # a trace is exact
    with pytest.raises(ExportMismatch, match="differ from PyTorch"):
        export_model("generator", tom, tmp_path, (64, 48), ("onnx",), atol=0.0)
