"""Training on a tiny dataset: data loading, loss going down, resume, DDP, evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file
from tryon_data import write_tiny_dataset

from vton.config import TrainData, parse_params
from vton.evaluate import evaluate
from vton.formats.labels import PARSE_GROUPS
from vton.models import GMM, TOM, GMMConfig, TOMConfig
from vton.train import train_generator, train_warp
from vton.train.data import UPPER_GROUP, StepBatches, TryOnDataset
from vton.train.runtime import Runtime
from vton.train.tasks import GmmTask, TomTask

PROJECT = Path(__file__).resolve().parents[1]
FACE_GROUP = [name for name, _ in PARSE_GROUPS].index("face")

TRAIN = {"device": "cpu", "data": {"height": 64, "width": 48}}
TINY = {
    "gmm": {
        "steps": 4,
        "batch_size": 4,
        "width": 4,
        "levels": 3,
        "grid": 3,
        "log_every": 2,
        "sample_every": 2,
        "checkpoint_every": 2,
    },
    "tom": {
        "steps": 4,
        "batch_size": 4,
        "width": 4,
        "depth": 3,
        "log_every": 2,
        "sample_every": 2,
        "checkpoint_every": 2,
    },
}
RUN = {"loader_workers": 0}


def tiny_doc(seed: int = 0, **models) -> dict:
    """The params document: TRAIN, TINY's gmm and tom with `models` overrides merged in."""
    merged = {k: v | models.get(k, {}) for k, v in TINY.items()}
    return {
        "train": TRAIN | {"seed": seed},
        "train_warp": {"gmm": merged["gmm"]},
        "train_generator": {"tom": merged["tom"]},
        "run": RUN,
    }


def tiny_params(**models):
    return parse_params(tiny_doc(**models))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny") / "dataset")


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models")
    params = tiny_params()
    train_warp(params, dataset, out / "gmm")
    train_generator(params, dataset, out / "gmm", out / "tom")
    return out


def test_samples_follow_the_contract_and_augment_every_kind_alike(dataset):
    plain = TryOnDataset(dataset, "train", size=(32, 24))[0]
    assert plain["person"].shape == (3, 32, 24) and plain["cloth_mask"].shape == (1, 32, 24)
    assert plain["parse"].shape == plain["densepose"].shape == (32, 24)
    assert plain["parse"].dtype == torch.uint8 and int(plain["parse"].max()) < 13
    assert plain["keypoints"].shape == (25, 3)
    assert float(plain["person"].min()) >= -1 and float(plain["person"].max()) <= 1
    assert plain["id"] == plain["cloth_id"]
    unpaired = TryOnDataset(dataset, "test", unpaired=True)[0]
    assert unpaired["cloth_id"] != unpaired["id"]

    strong = TrainData(shift=0.2, scale=0.0, rotate=0.0, color=0.0, p=1.0)
    data = TryOnDataset(dataset, "train", augment=strong)
    a, b = data[(0, 1)], data[(0, 1)]
    torch.testing.assert_close(a["person"], b["person"])  # the seed decides
    moved = data[(0, 2)]
    assert not torch.equal(moved["person"], a["person"])
    original = TryOnDataset(dataset, "train")[0]

    def garment_colour(sample) -> torch.Tensor:
        upper = sample["parse"] == UPPER_GROUP
        return sample["person"][:, upper].mean(1)

    # Photo, parse, keypoints and garment move together: the garment pixels keep their
    # colour, and the nose keypoint still lies on the face.
    for sample in (a, moved):
        torch.testing.assert_close(
            garment_colour(sample), garment_colour(original), atol=0.06, rtol=0
        )
        x, y, confidence = sample["keypoints"][0].tolist()
        assert confidence > 0 and int(sample["parse"][round(y), round(x)]) == FACE_GROUP
        assert sample["cloth"][:, sample["cloth_mask"][0] > 0].std(1).max() < 1  # not empty
        torch.testing.assert_close(
            (sample["parse"] == UPPER_GROUP).float()[None], sample["person_cloth_mask"]
        )


def test_step_batches_replay_for_any_world_size_and_resume():
    one = [b for b in StepBatches(6, 4, seed=1, start=0, steps=5)]
    halves = [StepBatches(6, 4, seed=1, start=0, steps=5, rank=r, world=2) for r in range(2)]
    assert [x + y for x, y in zip(*halves, strict=True)] == one
    assert list(StepBatches(6, 4, seed=1, start=3, steps=5)) == one[3:]
    assert sorted(i for i, _ in one[0] + one[1][:2]) == list(range(6))  # an epoch, each once
    with pytest.raises(ValueError, match="divide evenly"):
        StepBatches(6, 3, seed=1, start=0, steps=1, world=2)


def fixed_batch(dataset: Path) -> dict:
    data = TryOnDataset(dataset, "train", size=(64, 48))
    return torch.utils.data.default_collate([data[i] for i in range(4)])


def test_a_training_step_lowers_the_loss_on_a_fixed_batch(dataset, tmp_path):
    torch.manual_seed(0)
    batch = fixed_batch(dataset)
    runtime = Runtime(torch.device("cpu"))
    cfg = tiny_params().train_warp
    gmm_task = GmmTask(
        GMM(GMMConfig(width=4, levels=3, grid=3, height=64, image_width=48)), cfg.gmm
    )
    gmm_task.setup(runtime)
    gmm_losses = [gmm_task.step(batch)["loss"] for _ in range(6)]
    assert gmm_losses[-1] < gmm_losses[0]

    # TOM with perceptual and style terms from a local (tiny) VGG.
    from model_data import tiny_vgg_state

    torch.save(tiny_vgg_state(), tmp_path / "vgg.pth")
    weights = str(tmp_path / "vgg.pth")
    tom_cfg = tiny_params(tom={"perceptual_weights": weights}).train_generator.tom
    tom_task = TomTask(TOM(TOMConfig(width=4, depth=3)), gmm_task.nets["gmm"], tom_cfg)
    tom_task.setup(runtime)
    logs = [tom_task.step(batch) for _ in range(6)]
    assert {"l1", "mask_l1", "perceptual", "style"} <= set(logs[0])
    assert logs[-1]["loss"] < logs[0]["loss"]

    # The adversarial term: discriminator and generator both step, every loss finite.
    adv_cfg = tiny_params(tom={"adversarial": True, "d_width": 4, "d_layers": 2})
    adv_cfg = adv_cfg.train_generator.tom
    adv_task = TomTask(TOM(TOMConfig(width=4, depth=3)), gmm_task.nets["gmm"], adv_cfg)
    adv_task.setup(runtime)
    d_before = [p.detach().clone() for p in adv_task.nets["discriminator"].parameters()]
    logs = [adv_task.step(batch) for _ in range(2)]
    assert {"d_loss", "g_adv", "feature_matching"} <= set(logs[0])
    assert all(np.isfinite(v) for log in logs for v in log.values())
    d_after = list(adv_task.nets["discriminator"].parameters())
    assert any(not torch.equal(a, b) for a, b in zip(d_before, d_after, strict=True))


def test_resume_continues_from_the_saved_step(dataset, tmp_path):
    straight = tiny_params(gmm={"steps": 4})
    train_warp(straight, dataset, tmp_path / "straight")
    first = train_warp(
        tiny_params(gmm={"steps": 2}),
        dataset,
        tmp_path / "half",
        checkpoints=tmp_path / "ckpt",
        live_dir=tmp_path / "live",
    )
    assert first["step"] == 2 and first["resumed_from"] == 0
    second = train_warp(
        straight,
        dataset,
        tmp_path / "resumed",
        checkpoints=tmp_path / "ckpt",
        live_dir=tmp_path / "live",
        samples_dir=tmp_path / "samples",
    )
    assert second["resumed_from"] == 2 and second["step"] == 4
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-6, rtol=1e-5)
    tsv = (tmp_path / "live" / "plots" / "metrics" / "train_loss.tsv").read_text()
    steps = [int(row.split("\t")[0]) for row in tsv.splitlines()[1:]]
    assert steps == [2, 4]
    assert json.loads((tmp_path / "live" / "metrics.json").read_text())["step"] == 4
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["step_000004.png"]
    # Another configuration does not pick up this checkpoint.
    other = train_warp(
        tiny_params(gmm={"steps": 2, "lr": 0.01}),
        dataset,
        tmp_path / "o",
        checkpoints=tmp_path / "ckpt",
    )
    assert other["resumed_from"] == 0


def test_two_process_gloo_ddp_matches_one_process(dataset, tmp_path):
    params = tiny_doc(gmm={"steps": 3})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(PROJECT)}

    def train(out: str, *launcher: str) -> None:
        cmd = [
            *launcher,
            "-m",
            "stages.train_warp",
            "--params",
            str(tmp_path / "params.yaml"),
            "--dataset",
            str(dataset),
            "--out",
            str(tmp_path / out),
            "--live",
            str(tmp_path / f"live_{out}"),
        ]
        proc = subprocess.run(
            cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=240
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr

    torchrun = str(Path(sys.executable).parent / "torchrun")
    train("ddp", torchrun, "--standalone", "--nproc-per-node", "2")
    train("single", sys.executable)
    ddp = json.loads((tmp_path / "live_ddp" / "metrics.json").read_text())
    single = json.loads((tmp_path / "live_single" / "metrics.json").read_text())
    assert ddp["world_size"] == 2 and single["world_size"] == 1
    assert ddp["train_loss"] == pytest.approx(single["train_loss"], rel=1e-4)
    a = load_file(str(tmp_path / "ddp" / "model.safetensors"))
    b = load_file(str(tmp_path / "single" / "model.safetensors"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=1e-4)


TIMINGS = {"seconds", "samples_per_s", "data_wait_fraction", "startup_seconds", "seconds_per_image"}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_training_and_evaluation_are_bit_identical_for_any_loader_workers(dataset, tmp_path):
    """Same params (augmentation on) twice, and with 2 DataLoader workers instead of none:
    the same weights, previews, DVCLive files and evaluation outputs, byte for byte."""

    def run(name: str, workers: int, seed: int = 0) -> tuple[Path, list[dict]]:
        params = parse_params(tiny_doc(seed) | {"run": {"loader_workers": workers}})
        out = tmp_path / name
        summaries = [
            train_warp(
                params,
                dataset,
                out / "gmm",
                live_dir=out / "live_gmm",
                samples_dir=out / "samples_gmm",
            ),
            train_generator(
                params,
                dataset,
                out / "gmm",
                out / "tom",
                live_dir=out / "live_tom",
                samples_dir=out / "samples_tom",
            ),
            evaluate(
                params,
                dataset,
                out / "gmm",
                out / "tom",
                size=(64, 48),
                results_dir=out / "results",
                scores_path=out / "scores.csv",
                grid_path=out / "grid.png",
                unpaired_grid_path=out / "grid_u.png",
            ),
        ]
        for live in ("live_gmm", "live_tom"):  # DVCLive's summary holds the timings too
            summaries.append(json.loads((out / live / "metrics.json").read_text()))
            (out / live / "metrics.json").unlink()
        return out, [{k: v for k, v in s.items() if k not in TIMINGS} for s in summaries]

    first, first_metrics = run("first", workers=0)
    assert not torch.are_deterministic_algorithms_enabled()  # restored after the run
    files = _files(first)
    assert {"gmm/model.safetensors", "tom/model.safetensors", "grid.png"} <= set(files)
    for name, workers in (("again", 0), ("workers", 2)):
        out, metrics = run(name, workers)
        assert metrics == first_metrics, name
        other = _files(out)
        assert other.keys() == files.keys()
        assert [k for k in files if files[k] != other[k]] == [], name
    # The comparison has teeth: another seed trains other weights.
    seeded, _ = run("seed1", workers=0, seed=1)
    assert (seeded / "gmm/model.safetensors").read_bytes() != files["gmm/model.safetensors"]


def test_evaluate_scores_model_and_baselines_with_absent_feature_metrics(
    dataset, trained, tmp_path
):
    result = evaluate(
        parse_params({}),
        dataset,
        trained / "gmm",
        trained / "tom",
        size=(64, 48),
        results_dir=tmp_path / "results",
        scores_path=tmp_path / "scores.csv",
        grid_path=tmp_path / "grid.png",
        unpaired_grid_path=tmp_path / "grid_u.png",
    )
    for prefix in ("", "baseline_paste_", "baseline_agnostic_"):
        assert 0 < result[f"{prefix}ssim"] <= 1 and 0 < result[f"{prefix}l1"] < 1
        assert result[f"{prefix}psnr"] > 0
    assert result["n_paired"] == result["n_unpaired"] == 2
    assert result["lpips"].startswith("absent: no local weights (evaluate.lpips")
    assert result["unpaired_fid"].startswith("absent") and "unpaired_preserve_l1" in result
    rows = (tmp_path / "scores.csv").read_text().splitlines()
    assert rows[0].startswith("id,cloth_id,ssim,psnr,l1,") and len(rows) == 3
    from PIL import Image

    with Image.open(tmp_path / "grid.png") as grid:  # 5 columns, 2 rows, 2 px gaps
        assert grid.size == (5 * 50 + 2, 2 * 66 + 2)
    assert len(list((tmp_path / "results" / "unpaired").glob("*.jpg"))) == 2
    # The agnostic baseline scored by hand with the same definition.
    data = TryOnDataset(dataset, "test", size=(64, 48))
    l1 = np.mean([float(((s["agnostic"] - s["person"]).abs() / 2).mean()) for s in data])
    assert result["baseline_agnostic_l1"] == pytest.approx(l1, abs=1e-4)


def test_vton_train_and_evaluate_commands(dataset, trained, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(tiny_doc()))

    def vton(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "vton.cli", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=PROJECT,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    out = json.loads(
        vton(
            "train",
            "warp",
            "--params",
            str(params),
            "--dataset",
            str(dataset),
            "--out",
            str(tmp_path / "gmm"),
        )
    )
    assert out["step"] == 4
    models = ["--warp", str(trained / "gmm"), "--generator", str(trained / "tom")]
    vton(
        "evaluate",
        "--params",
        str(params),
        "--dataset",
        str(dataset),
        *models,
        "--out",
        str(tmp_path / "ev"),
    )
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert {"ssim", "baseline_paste_ssim", "beats_agnostic_l1"} <= set(metrics)
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "vton.cli",
            "train",
            "generator",
            "--dataset",
            str(dataset),
            "--out",
            str(tmp_path / "t"),
            "--params",
            str(params),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT,
    )
    assert bad.returncode == 2 and "needs --warp DIR" in bad.stderr


def test_a_finished_run_rerun_from_its_checkpoint_rewrites_every_output(dataset, tmp_path):
    """What `dvc repro` does after a param that does not concern the model changed: the
    outputs are deleted and the stage re-run; the finished checkpoint gives them back."""
    params = tiny_params()
    where = {"checkpoints": tmp_path / "ckpt"}

    def train(name: str) -> dict:
        out = tmp_path / name
        return train_warp(
            params,
            dataset,
            out / "model",
            live_dir=out / "live",
            samples_dir=out / "samples",
            **where,
        )

    first, again = train("first"), train("again")
    assert again["resumed_from"] == 4 and again["train_loss"] == first["train_loss"]
    for name in ("model/model.safetensors", "samples/step_000004.png"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "first" / name).read_bytes()
    tsv = "live/plots/metrics/train_loss.tsv"
    assert (tmp_path / "again" / tsv).read_text() == (tmp_path / "first" / tsv).read_text()
