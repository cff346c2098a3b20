"""`vton export-model`: ONNX and TorchScript files that compute what the PyTorch models do."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from infer_data import tiny_checkpoint

from vton.cli import main as vton_main
from vton.infer.model_export import ExportMismatch, example_inputs, export_model, keeps_unmasked
from vton.infer.pipeline import load_models


def test_export_model_writes_checked_onnx_and_torchscript(tmp_path, capsys):
    checkpoint = tiny_checkpoint(tmp_path / "checkpoint")
    out = tmp_path / "exported"
    assert vton_main(["export-model", "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    report = json.loads((out / "export-report.json").read_text())
    assert report == json.loads(capsys.readouterr().out)
    assert report["size"] == [64, 48]
    for name in ("gmm", "tom"):
        for fmt, suffix in (("onnx", "onnx"), ("torchscript", "pt")):
            entry = report["models"][name][fmt]
            assert entry["path"] == str(out / f"{name}.{suffix}")
            assert entry["within_tolerance"] is True
            assert max(entry["max_abs_diff"].values()) <= report["atol"]
    assert sorted(p.name for p in out.iterdir()) == [
        "export-report.json",
        "gmm.onnx",
        "gmm.pt",
        "tom.onnx",
        "tom.pt",
    ]  # one self-contained file per model: no .onnx.data beside it

    # The files on their own, on a new input: onnxruntime and torch.jit agree with PyTorch.
    models = load_models(checkpoint, torch.device("cpu"))
    person, cloth, mask, agnostic_mask = example_inputs("gmm", 64, 48, 7, agnostic_mask=True)
    extra = (agnostic_mask,) if keeps_unmasked(models.tom) else ()
    with torch.no_grad():
        warped = models.gmm(person, cloth, mask)
        result = models.tom(person, warped.warped_cloth, warped.warped_mask, *extra).result
    session = ort.InferenceSession(str(out / "gmm.onnx"), providers=["CPUExecutionProvider"])
    onnx_warped, _ = session.run(
        None, {"person": person.numpy(), "cloth": cloth.numpy(), "cloth_mask": mask.numpy()}
    )
    assert np.abs(onnx_warped - warped.warped_cloth.numpy()).max() < 1e-4
    tom = torch.jit.load(str(out / "tom.pt"))
    with torch.no_grad():
        jit_result = tom(person, warped.warped_cloth, warped.warped_mask, *extra)[0]
    assert torch.allclose(jit_result, result, atol=1e-5)


def test_a_difference_above_the_tolerance_fails_the_export(tmp_path):
    """With atol 0, onnxruntime's float rounding (about 1e-6) is a mismatch; a trace is not."""
    models = load_models(tiny_checkpoint(tmp_path / "checkpoint"), torch.device("cpu"))
    report = export_model("tom", models.tom, tmp_path, (64, 48), ("torchscript",), atol=0.0)
    assert report["torchscript"]["within_tolerance"] is True  # a trace is exact
    with pytest.raises(ExportMismatch, match="differ from PyTorch"):
        export_model("tom", models.tom, tmp_path, (64, 48), ("onnx",), atol=0.0)
