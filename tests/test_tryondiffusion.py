"""The tryondiffusion family at toy size: TryOnDiffusion's Parallel-UNet cascade.

The garment reaches the person only through cross-attention, pose tokens change the output,
guidance drops the garment and the poses and nothing else, the base -> SR shapes, min-SNR
weights, the continuous cosine schedule, the box agnostic, bit-identical fixed-generator
samples; train_sr and train_generator through their stage functions (the cascade export,
resume) and two-process gloo DDP.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from model_data import TINY_PARALLEL_UNET
from safetensors.torch import load_file
from tryon_data import write_tiny_dataset

from vton.config import parse_params
from vton.families import tryondiffusion as td
from vton.families.forward import Sampling
from vton.families.kinds import load_model
from vton.families.nowarp import NoWarp
from vton.families.parallel_unet import ParallelUNet, ParallelUNetConfig
from vton.families.tryon_model import TryOnModel
from vton.train import train_generator
from vton.train.data import TryOnDataset
from vton.train.diffusion_setup import train_sr

PROJECT = Path(__file__).resolve().parents[1]
HEIGHT, WIDTH = 32, 24  # the base at 16x12
SCHEDULE = {"steps": 4, "batch_size": 4, "log_every": 2, "sample_every": 2, "checkpoint_every": 2}
TINY = TINY_PARALLEL_UNET | {"ema_decay": 0.9, "sample_steps": 3}


def raw_params(**sections: dict) -> dict:
    raw: dict = {
        "train": {
            "family": "tryondiffusion",
            "device": "cpu",
            "data": {"height": HEIGHT, "width": WIDTH},
        },
        "run": {"loader_workers": 0},
        "train_generator": {"tryondiffusion": SCHEDULE | TINY},
        "train_sr": SCHEDULE | TINY | {"sample_steps": 2},
        "evaluate": {"device": "cpu", "batch_size": 2},
    }
    for name, values in sections.items():
        target = raw if name in raw else raw["train_generator"]
        target[name] = target.get(name, {}) | values
    return raw


def params(**sections: dict):
    return parse_params(raw_params(**sections))


def toy_unet(lowres: bool = False, seed: int = 0) -> ParallelUNet:
    torch.manual_seed(seed)
    p = params()
    section = p.train_sr if lowres else p.train_generator.tryondiffusion
    return ParallelUNet(td.unet_config(section, lowres, (HEIGHT, WIDTH))).eval()


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("tryondiffusion") / "dataset")


@pytest.fixture(scope="module")
def batch(dataset) -> dict:
    data = TryOnDataset(dataset, "train", size=(HEIGHT, WIDTH))
    rows = torch.utils.data.default_collate([data[i] for i in range(4)])
    return {k: v for k, v in rows.items() if isinstance(v, torch.Tensor)}


def model_inputs(batch: dict, size=(HEIGHT // 2, WIDTH // 2), aug: float = 0.0) -> td.Conditions:
    x = td.inputs(batch)
    b = x["person"].shape[0]
    noise = [torch.randn(b, 3, *size, generator=torch.Generator().manual_seed(k)) for k in range(3)]
    return td.conditions(x, size, torch.full((b,), aug), noise)


def run(model: ParallelUNet, cond: td.Conditions, **kw) -> torch.Tensor:
    noisy = torch.randn(cond.agnostic.shape, generator=torch.Generator().manual_seed(9))
    t = torch.tensor([0.1, 0.4, 0.6, 0.9])
    if kw:  # the switches the family's own calls never set
        with torch.no_grad():
            return model(
                noisy,
                *(cond.agnostic, cond.garment, cond.person_pose, cond.garment_pose),
                *(t, cond.aug, cond.lowres),
                keep=cond.keep,
                **kw,
            )
    with torch.no_grad():
        return td.denoise(model, noisy, t, cond)


def test_the_garment_reaches_the_person_only_through_cross_attention(batch):
    model, cond = toy_unet(), model_inputs(batch)
    other = dataclasses.replace(cond, garment=torch.flip(cond.garment, [0]))
    off_a, off_b = run(model, cond, cross_attention=False), run(model, other, cross_attention=False)
    assert torch.equal(off_a, off_b)  # no path from the garment without cross-attention
    on_a, on_b = run(model, cond), run(model, other)
    assert (on_a - on_b).abs().max() > 1e-4
    assert not torch.equal(on_a, off_a)


def test_pose_tokens_and_the_augmentation_level_change_the_output(batch):
    model, cond = toy_unet(), model_inputs(batch)
    moved = dataclasses.replace(cond, person_pose=(cond.person_pose + 0.2).clamp(0, 1))
    assert (run(model, cond) - run(model, moved)).abs().max() > 1e-4
    garment_pose = dataclasses.replace(cond, garment_pose=torch.rand_like(cond.garment_pose))
    assert (run(model, cond) - run(model, garment_pose)).abs().max() > 1e-4
    level = dataclasses.replace(cond, aug=torch.full_like(cond.aug, 0.7))  # same images
    assert (run(model, cond) - run(model, level)).abs().max() > 1e-4


def test_guidance_drops_the_garment_and_the_poses_and_nothing_else(batch):
    cond = model_inputs(batch)
    dropped = cond.dropped()
    assert dropped.keep is not None and not dropped.keep.any()
    for name in ("agnostic", "garment", "person_pose", "garment_pose", "aug"):
        assert torch.equal(getattr(dropped, name), getattr(cond, name)), name
    model = toy_unet()
    other = dataclasses.replace(
        dropped,
        garment=torch.rand_like(cond.garment),
        person_pose=torch.rand_like(cond.person_pose),
        garment_pose=torch.rand_like(cond.garment_pose),
    )
    assert torch.equal(run(model, dropped), run(model, other))  # all three dropped
    agnostic = dataclasses.replace(dropped, agnostic=torch.flip(dropped.agnostic, [0]))
    assert not torch.equal(run(model, dropped), run(model, agnostic))  # kept
    sr = toy_unet(lowres=True)
    full = model_inputs(batch, size=(HEIGHT, WIDTH))
    up = torch.rand(4, 3, HEIGHT, WIDTH)
    with_low = dataclasses.replace(full, lowres=up).dropped()
    assert not torch.equal(
        run(sr, with_low), run(sr, dataclasses.replace(with_low, lowres=up.flip(0)))
    )
    # The guided estimate: eps_u + w (eps_c - eps_u), from one stacked pass.
    x, t = torch.randn(cond.agnostic.shape), torch.full((4,), 0.5)
    with torch.no_grad():
        guided = td.predict(model, x, t, cond, 2.0)
        e_c, e_u = td.predict(model, x, t, cond, 1.0), td.predict(model, x, t, dropped, 1.0)
    torch.testing.assert_close(guided, e_u + 2.0 * (e_c - e_u), atol=1e-5, rtol=1e-5)


def test_schedule_min_snr_weights_and_thresholding():
    t = torch.linspace(0, 1, 101)
    lsnr = td.log_snr(t)
    assert (lsnr[1:] < lsnr[:-1]).all() and lsnr[-1] == -td.LOG_SNR_LIMIT  # noise at t = 1
    alpha, sigma = td.alpha_sigma(lsnr)
    angle = (t + td.COSINE_S) / (1 + td.COSINE_S) * math.pi / 2
    inner = slice(0, 100)  # at t = 1 the log SNR is clamped to -20
    torch.testing.assert_close(alpha[inner] ** 2, torch.cos(angle[inner]) ** 2, atol=1e-6, rtol=0)
    torch.testing.assert_close(alpha**2 + sigma**2, torch.ones_like(t))
    w = td.min_snr_weight(t, 5.0)
    assert torch.isfinite(w).all() and (w > 0).all() and (w <= 1).all()
    snr = torch.exp(td.log_snr(t))
    assert torch.equal(w[snr < 5], torch.ones_like(w[snr < 5]))
    torch.testing.assert_close(w[snr > 5], 5 / snr[snr > 5])
    x0 = torch.tensor([[-3.0, 0.5, 2.0, 0.1]]).view(1, 1, 2, 2)
    clipped = td.dynamic_threshold(x0, 0.95)
    assert clipped.abs().max() <= 1 and clipped[0, 0, 0, 0] == -1
    small = torch.full((1, 1, 2, 2), 0.3)
    assert torch.equal(td.dynamic_threshold(small, 0.95), small)  # s >= 1: unchanged


def test_box_agnostic_and_the_normalised_poses(batch):
    agnostic, masked = td.box_agnostic(batch)
    parse, person = batch["parse"], batch["person"]
    kept = masked[:, 0] < 0.5
    upper = parse == 3
    assert upper.any() and not kept[upper].any()  # the garment is hidden
    for group in (*td.HEAD_GROUPS, *td.LOWER_GROUPS):
        assert kept[parse == group].all(), group
    assert kept[parse == 0].any()  # the background outside the box
    assert torch.equal(agnostic.permute(0, 2, 3, 1)[kept], person.permute(0, 2, 3, 1)[kept])
    assert (agnostic.permute(0, 2, 3, 1)[~kept] == 0).all()  # grey
    x = td.inputs(batch)
    pose = x["person_pose"]
    assert pose.shape == (4, 18, 2) and pose.min() >= 0 and pose.max() <= 1
    assert torch.equal(x["garment_pose"], torch.full_like(pose, 0.5))
    outside = batch["cloth_mask"] < 0.5
    assert (x["garment"].permute(0, 2, 3, 1)[outside[:, 0]] == -1).all()


def cascade(seed: int = 0) -> td.TryOnDiffusion:
    base, sr = toy_unet(seed=seed), toy_unet(lowres=True, seed=seed + 1)
    config = td.TryOnDiffusionConfig(
        base=dataclasses.asdict(base.config),
        sr=dataclasses.asdict(sr.config),
        sample_steps=3,
        sr_sample_steps=2,
    )
    model = td.TryOnDiffusion(config).eval()
    model.base.load_state_dict(base.state_dict())
    assert model.sr is not None
    model.sr.load_state_dict(sr.state_dict())
    return model


def test_the_cascade_base_to_sr_shapes_and_bit_identical_samples(batch):
    model = cascade()
    calls: list[tuple[int, int]] = []
    shapes: list[tuple[int, ...]] = []
    for unet in (model.base, model.sr):
        assert unet is not None
        unet.register_forward_hook(lambda _m, args, _o: shapes.append(tuple(args[0].shape)))
    result, sampled = model.sample(
        batch,
        generator=torch.Generator().manual_seed(1),
        progress=lambda i, n: calls.append((i, n)),
    )
    assert result.shape == sampled.shape == (4, 3, HEIGHT, WIDTH)
    # base at 16x12 (conditional + unconditional in one pass), then the SR at 32x24
    assert shapes[0] == (8, 3, HEIGHT // 2, WIDTH // 2) and shapes[-1] == (8, 3, HEIGHT, WIDTH)
    assert calls[-1] == (5, 5) and len(calls) == 5  # 3 base + 2 SR steps
    again, _ = model.sample(batch, generator=torch.Generator().manual_seed(1))
    other, _ = model.sample(batch, generator=torch.Generator().manual_seed(2))
    assert torch.equal(result, again) and not torch.equal(result, other)
    x = td.inputs(batch)
    keep = x["masked"] < 0.5
    assert torch.equal(result[keep.expand_as(result)], x["person"][keep.expand_as(result)])
    assert result.min() >= -1 and result.max() <= 1


def test_train_sr_and_the_base_export_one_cascade_and_resume(dataset, tmp_path):
    p = params()
    summary = train_sr(p, dataset, tmp_path / "sr", live_dir=tmp_path / "live_sr")
    assert summary["step"] == 4 and np.isfinite(summary["train_loss"])
    assert json.loads((tmp_path / "sr" / "config.json").read_text())["kind"] == "parallel_unet"
    warp = NoWarp().save_pretrained(tmp_path / "warp")

    def train(p, out, **kw):
        return train_generator(p, dataset, warp, out, sr_dir=tmp_path / "sr", **kw)

    whole = train(p, tmp_path / "straight")
    assert whole["step"] == 4 and np.isfinite(whole["train_loss"])
    half = params(tryondiffusion={"steps": 2})
    train(half, tmp_path / "half", checkpoints=tmp_path / "ck")
    second = train(p, tmp_path / "resumed", checkpoints=tmp_path / "ck")
    assert second["resumed_from"] == 2 and second["step"] == 4
    assert second["train_loss"] == pytest.approx(whole["train_loss"], rel=1e-5)
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-6, rtol=1e-5, msg=name)
    sr = load_file(str(tmp_path / "sr" / "model.safetensors"))
    assert all(torch.equal(a[f"sr.{k}"], v) for k, v in sr.items())  # the SR rides along
    # The cascade reloads as one family and samples through TryOnModel, as evaluate does.
    pipe = TryOnModel.from_pretrained(warp, tmp_path / "straight")
    assert pipe.samples and pipe.family == "none+tryondiffusion" and pipe.step == 4
    assert pipe.size == (HEIGHT, WIDTH)
    data = TryOnDataset(dataset, "test", size=(HEIGHT, WIDTH))
    rows = torch.utils.data.default_collate([data[i] for i in range(2)])
    tensors = {k: v for k, v in rows.items() if isinstance(v, torch.Tensor)}
    out = pipe(tensors, Sampling(steps=2, guidance=1.5, seed=3))
    assert out.result.shape == (2, 3, HEIGHT, WIDTH)
    assert torch.equal(out.result, pipe(tensors, Sampling(steps=2, guidance=1.5, seed=3)).result)
    # Other families: train_sr saves the none kind and trains nothing.
    other = parse_params(raw_params() | {"train": {"family": "gmm_tom", "device": "cpu"}})
    assert train_sr(other, dataset, tmp_path / "none")["sr"] == "none"
    assert load_model(tmp_path / "none").kind == "none"


def test_a_base_or_sr_size_the_levels_cannot_divide_fails_at_once(dataset, tmp_path):
    p = params(tryondiffusion={"channels": [8, 16, 16, 16], "blocks": [1, 1, 1, 1]})
    warp = NoWarp().save_pretrained(tmp_path / "warp")
    NoWarp().save_pretrained(tmp_path / "sr")
    with pytest.raises(ValueError, match="must divide by 16"):
        train_generator(p, dataset, warp, tmp_path / "out", sr_dir=tmp_path / "sr")
    with pytest.raises(ValueError, match="attention_levels"):
        ParallelUNetConfig(channels=(8,), blocks=(1,), attention_levels=2).check()


TORCHRUN = [str(Path(sys.executable).parent / "torchrun"), "--standalone", "--nproc-per-node", "2"]


@pytest.mark.slow
def test_two_process_ddp_equals_one_process(dataset, tmp_path):
    """stages.train_sr under two-process gloo torchrun and as one process: time, noise,
    augmentation and dropout are drawn per sample, so the split batch draws the same."""
    raw = raw_params(train_sr=SCHEDULE | TINY | {"steps": 3})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(PROJECT)}
    procs = {}
    for name, launcher in {"ddp": TORCHRUN, "single": [sys.executable]}.items():
        cmd = [*launcher, "-m", "stages.train_sr", "--params", str(tmp_path / "params.yaml")]
        cmd += ["--dataset", str(dataset), "--out", str(tmp_path / name)]
        cmd += ["--live", str(tmp_path / f"live_{name}")]
        procs[name] = subprocess.Popen(
            cmd, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"train_sr ({name}) failed:\n{output}"
    runs = {n: json.loads((tmp_path / f"live_{n}" / "metrics.json").read_text()) for n in procs}
    assert runs["ddp"]["world_size"] == 2 and runs["single"]["world_size"] == 1
    assert runs["ddp"]["train_loss"] == pytest.approx(runs["single"]["train_loss"], rel=1e-4)
    a, b = (load_model(tmp_path / n) for n in ("ddp", "single"))
    cond = dataclasses.replace(
        model_inputs(
            {
                k: v
                for k, v in torch.utils.data.default_collate(
                    [TryOnDataset(dataset, "train", size=(HEIGHT, WIDTH))[i] for i in range(4)]
                ).items()
                if isinstance(v, torch.Tensor)
            },
            size=(HEIGHT, WIDTH),
        ),
        lowres=torch.zeros(4, 3, HEIGHT, WIDTH),
    )
    torch.testing.assert_close(run(a, cond), run(b, cond), atol=1e-3, rtol=0)
