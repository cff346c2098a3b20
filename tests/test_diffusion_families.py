"""The diffusion families at toy size: ldm (latent diffusion over the warped garment) and
catvton (SD-1.5 inpainting, self-attention only), with tiny AutoencoderKL and
UNet2DConditionModel configs built here.

Schedules, channel assembly from dataset files, the VGG term's gradient, deterministic DDIM,
paste-back, CatVTON's trainable filter (49.57M on the SD-1.5 inpainting config, counted on
the meta device), skip-attention, the concat/split round trip and guidance; resume, two-
process gloo DDP, and the catvton stage end to end over a tiny local checkpoint.
"""

from __future__ import annotations

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
from model_data import tiny_vgg_state
from safetensors.torch import load_file
from tryon_data import write_tiny_dataset

from vton.config import parse_params
from vton.families import diffusion
from vton.families.catvton import (
    SD15_INPAINTING_UNET,
    CatVTON,
    concat,
    guidance_input,
    split,
    trainable_parameters,
)
from vton.families.forward import Sampling
from vton.families.kinds import load_model
from vton.families.ldm import LatentDiffusion, ldm_composite, ldm_config
from vton.families.tryon_model import TryOnModel
from vton.families.vae import build_vae
from vton.families.warp_cloth import write_warped
from vton.train import train_generator, train_warp
from vton.train.data import TryOnDataset
from vton.train.diffusion_setup import train_vae
from vton.train.diffusion_tasks import CatvtonTask, LdmTask
from vton.train.runtime import Runtime

PROJECT = Path(__file__).resolve().parents[1]
HEIGHT, WIDTH = 64, 48  # latents 8x6; the toy U-Nets downsample once
SCHEDULE = {"steps": 4, "batch_size": 4, "log_every": 2, "sample_every": 2, "checkpoint_every": 2}
TINY_UNET = {
    "sample_size": 8,
    "in_channels": 9,
    "out_channels": 4,
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
    "block_out_channels": [16, 32],
    "layers_per_block": 1,
    "cross_attention_dim": 16,
    "attention_head_dim": 4,
    "norm_num_groups": 8,
}


def raw_params(family: str, **sections: dict) -> dict:
    raw: dict = {
        "train": {"family": family, "device": "cpu", "data": {"height": HEIGHT, "width": WIDTH}},
        "run": {"loader_workers": 0},
        "train_warp": {"gmm": SCHEDULE | {"width": 4, "grid": 3, "steps": 2}},
        "train_vae": SCHEDULE | {"width": 8, "steps": 2},
        "train_generator": {
            "ldm": SCHEDULE | {"width": 8, "levels": 2, "sample_steps": 3, "ema_decay": 0.9},
            "catvton": SCHEDULE | {"sample_steps": 2, "lr": 1e-4, "dream": 1.0},
        },
        "evaluate": {"device": "cpu", "batch_size": 2},
    }
    for name, values in sections.items():
        target = raw if name in raw else raw["train_generator"]
        target.setdefault(name, {})
        target[name] = target[name] | values
    return raw


def params(family: str, **sections: dict):
    return parse_params(raw_params(family, **sections))


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("diffusion") / "dataset")


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory) -> dict[str, Path]:
    """A briefly trained GMM warp, VAE (both through their stage functions) and the
    warp_cloth packs."""
    root = tmp_path_factory.mktemp("diffusion_models")
    p = params("ldm")
    train_warp(p, dataset, root / "warp")
    summary = train_vae(p, dataset, root / "vae", live_dir=root / "live_vae")
    assert summary["step"] == 2 and np.isfinite(summary["recon_l1"])
    assert json.loads((root / "live_vae" / "metrics.json").read_text())["recon_l1"] >= 0
    write_warped(root / "warp", dataset, root / "warped", device="cpu")
    return {"warp": root / "warp", "vae": root / "vae", "warped": root / "warped"}


def fixed_batch(dataset: Path, warped: Path | None = None) -> dict:
    data = TryOnDataset(dataset, "train", size=(HEIGHT, WIDTH), warped=warped)
    return torch.utils.data.default_collate([data[i] for i in range(4)])


def test_warp_cloth_writes_one_pack_per_split_holding_what_the_warp_computes(
    dataset, trained, tmp_path
):
    """The members are the bytes the stage's warp gives for each garment at the dataset's
    size; the dataset reads them from the pack, in DataLoader workers as in-process."""
    from vton.families.forward import run_warp
    from vton.families.warp_cloth import member_name, pack_path
    from vton.formats import packs
    from vton.formats.images import write_jpeg, write_png
    from vton.train.grid import to_uint8

    root = trained["warped"]
    assert sorted(p.name for p in root.iterdir()) == ["manifest.json", "test.zip", "train.zip"]
    data = TryOnDataset(dataset, "train")  # the dataset's size, as the stage warps
    ids = [pid for pid, _ in data.pairs]
    reader = packs.Reader(pack_path(root, "train"))
    assert reader.names() == sorted(
        member_name(kind, pid) for pid in ids for kind in ("cloth_warp", "cloth_warp_mask")
    )
    assert len(packs.names(pack_path(root, "test"))) == 2 * 2
    gmm = load_model(trained["warp"])
    with torch.no_grad():
        live = run_warp(gmm, torch.utils.data.default_collate([data[i] for i in range(len(ids))]))
    for i, pid in enumerate(ids):
        write_jpeg(tmp_path / "cloth.jpg", to_uint8(live.cloth[i]))
        mask = (live.mask[i, 0] > 0.5).to(torch.uint8).mul(255).numpy()
        write_png(tmp_path / "mask.png", mask)
        assert reader.read(member_name("cloth_warp", pid)) == (tmp_path / "cloth.jpg").read_bytes()
        assert (
            reader.read(member_name("cloth_warp_mask", pid)) == (tmp_path / "mask.png").read_bytes()
        )
    # the dataset holds the pack open; forkserver workers (as the training loop's) get a
    # pickled reader that reopens it
    warped = TryOnDataset(dataset, "train", size=(HEIGHT, WIDTH), warped=root)
    here = torch.utils.data.default_collate([warped[i] for i in range(len(warped))])
    loader = torch.utils.data.DataLoader(
        warped, batch_size=len(warped), num_workers=1, multiprocessing_context="forkserver"
    )
    there = next(iter(loader))
    for kind in ("cloth_warp", "cloth_warp_mask"):
        assert torch.equal(here[kind], there[kind]), kind
    with pytest.raises(FileNotFoundError, match="run stage warp_cloth first"):
        TryOnDataset(dataset, "train", warped=tmp_path)


def tiny_ldm(seed: int = 0) -> LatentDiffusion:
    torch.manual_seed(seed)
    vae = build_vae(8)
    config = ldm_config(params("ldm").train_generator.ldm, dict(vae.config), (HEIGHT, WIDTH))
    model = LatentDiffusion(config)
    model.vae.load_state_dict(vae.state_dict())
    return model


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory) -> Path:
    """A tiny SD-inpainting-shaped pipeline root: unet/ (9 input channels) and vae/."""
    from diffusers import UNet2DConditionModel

    root = tmp_path_factory.mktemp("tiny_sd")
    torch.manual_seed(0)
    UNet2DConditionModel(**TINY_UNET).save_pretrained(root / "unet")
    build_vae(8).save_pretrained(root / "vae")
    return root


def tiny_catvton(tiny_sd: Path) -> CatVTON:
    return CatVTON.from_local(tiny_sd / "unet", tiny_sd / "vae", sample_steps=2)


def test_the_cli_offers_every_family():
    from vton.cli import train as cli_train
    from vton.families.kinds import FAMILIES

    assert tuple(cli_train.FAMILIES) == tuple(FAMILIES)


# --- schedules -------------------------------------------------------------------------


def test_cosine_betas_equal_the_formula_and_train_and_sample_share_them():
    T, s = 1000, 0.008

    def f(t):
        return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2

    expected = [min(max(1 - f(t + 1) / f(t), 1e-4), 0.999) for t in range(T)]
    got = diffusion.betas("cosine", T)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    assert got[0] == pytest.approx(1e-4) and got[-1] == pytest.approx(0.999)  # floor, cap
    assert (got[:5] == 1e-4).all()  # the floor changes the first betas (squaredcos_cap_v2 not)
    train = diffusion.training_scheduler("cosine", T)
    sample = diffusion.sampling_scheduler("cosine", T)
    torch.testing.assert_close(train.betas, torch.tensor(expected, dtype=torch.float32))
    torch.testing.assert_close(train.alphas_cumprod, sample.alphas_cumprod, atol=0, rtol=0)
    sample.set_timesteps(200)
    assert int(sample.timesteps[0]) == T - 1 and int(sample.timesteps[-1]) == 0
    assert not sample.config.clip_sample  # no clipping of the latent
    # SD's scaled-linear (catvton): sqrt-linear from 0.00085 to 0.012
    sl = diffusion.betas("scaled_linear", T)
    assert sl[0] == pytest.approx(0.00085) and sl[-1] == pytest.approx(0.012)
    # The model trains with and samples over the same betas.
    model = tiny_ldm()
    torch.testing.assert_close(
        model.scheduler.alphas_cumprod,
        diffusion.sampling_scheduler(model.config.schedule, model.config.timesteps).alphas_cumprod,
        atol=0,
        rtol=0,
    )


# --- ldm -------------------------------------------------------------------------------


def test_ldm_channels_from_dataset_files_and_the_warp_cloth_packs(dataset, trained):
    batch = fixed_batch(dataset, trained["warped"])
    manifest = json.loads((trained["warped"] / "manifest.json").read_text())
    assert manifest["warp"] == "gmm" and manifest["counts"] == {"train": 4, "test": 2}
    assert batch["cloth_warp"].shape == (4, 3, HEIGHT, WIDTH)
    assert set(torch.unique(batch["cloth_warp_mask"]).tolist()) <= {0.0, 1.0}
    # the files hold what the warp computes on the fly (within JPEG's loss)
    plain = fixed_batch(dataset)
    gmm = load_model(trained["warp"])
    from vton.families.forward import run_warp

    with torch.no_grad():
        live = run_warp(gmm, plain)
    assert (batch["cloth_warp"] - live.cloth).abs().mean() < 0.05

    model = tiny_ldm()
    composite, mask = ldm_composite(batch, batch["cloth_warp"], batch["cloth_warp_mask"])
    outside = (batch["agnostic_mask"] < 0.5).expand_as(composite)
    assert torch.equal(composite[outside], batch["agnostic"][outside])
    garment = (batch["cloth_warp_mask"] * batch["agnostic_mask"] > 0.5).expand_as(composite)
    assert garment.any() and torch.equal(composite[garment], batch["cloth_warp"][garment])
    with torch.no_grad():
        cond = model.condition(composite, mask)
    assert cond.shape == (4, 5, HEIGHT // 8, WIDTH // 8)
    assert set(torch.unique(cond[:, 4]).tolist()) <= {0.0, 1.0} and cond[:, 4].any()
    z = torch.randn(4, 4, HEIGHT // 8, WIDTH // 8)
    x = torch.cat([z, cond], 1)
    assert model.unet.config.in_channels == x.shape[1] == 9
    assert model(x, torch.tensor([0, 10, 500, 999])).shape == z.shape
    # timestep-adaptive group norm and one squeeze-excitation gate per resnet block
    resnets = [m for m in model.unet.modules() if type(m).__name__ == "ResnetBlock2D"]
    assert resnets and all(r.time_embedding_norm == "scale_shift" for r in resnets)
    assert len(model.se) == len(resnets)


def test_ldm_vgg_term_sends_a_gradient_into_the_unet(dataset, trained, tmp_path):
    vgg = tmp_path / "vgg.pth"
    torch.save(tiny_vgg_state(), vgg)
    cfg = params("ldm", ldm={"perceptual_weights": str(vgg), "lambda_vgg": 1.0})
    task = LdmTask(tiny_ldm(), None, cfg.train_generator.ldm)
    task.setup(Runtime(torch.device("cpu")))
    batch = task.to_device(fixed_batch(dataset, trained["warped"]))
    terms = task.losses(batch)
    assert set(terms) == {"mse", "vgg"}
    terms["vgg"].backward()  # the VGG term alone: through the differentiable decode
    unet_grads = [p.grad for p in task.model.unet.parameters() if p.grad is not None]
    assert unet_grads and sum(float(g.abs().sum()) for g in unet_grads) > 0
    assert all(p.grad is None for p in task.model.vae.parameters())  # the VAE stays frozen


def test_ldm_steps_lower_the_loss_and_sampling_is_deterministic(dataset, trained):
    torch.manual_seed(0)
    model = tiny_ldm()
    cfg = params("ldm", ldm={"lr": 3e-3}).train_generator.ldm
    task = LdmTask(model, load_model(trained["warp"]), cfg)
    task.setup(Runtime(torch.device("cpu")))
    batch = fixed_batch(dataset)  # no cloth-warp kinds: the frozen warp runs
    batch["seed"] = torch.zeros(4, dtype=torch.int64) + torch.arange(4)  # the same draws
    logs = [task.step(batch)["mse"] for _ in range(12)]
    assert all(np.isfinite(logs)) and np.mean(logs[-3:]) < logs[0], logs
    model.eval()
    warped = task.warped(task.to_device(batch))

    def sample(seed: int):
        return model.sample(
            batch, warped.cloth, warped.mask, steps=4, generator=torch.Generator().manual_seed(seed)
        )

    (a, decoded), (b, _), (c, _) = sample(0), sample(0), sample(1)
    assert torch.equal(a, b)  # bit-identical with a fixed generator
    assert not torch.equal(a, c)
    assert a.shape == (4, 3, HEIGHT, WIDTH) and a.abs().max() <= 1
    outside = (batch["agnostic_mask"] < 0.5).expand_as(a)
    assert torch.equal(a[outside], batch["agnostic"][outside])  # paste-back, exactly
    assert not torch.equal(decoded[outside], batch["agnostic"][outside])  # the VAE's own
    # eta > 0 draws its step noise from the generator too
    g = model.sample(
        batch, warped.cloth, warped.mask, steps=3, eta=1.0, generator=torch.Generator()
    )
    h = model.sample(
        batch, warped.cloth, warped.mask, steps=3, eta=1.0, generator=torch.Generator()
    )
    assert torch.equal(g[0], h[0])


def test_ldm_resume_equals_an_uninterrupted_run_and_exports_the_ema(dataset, trained, tmp_path):
    def train(p, out, **kw):
        return train_generator(
            p,
            dataset,
            trained["warp"],
            out,
            vae_dir=trained["vae"],
            warped_dir=trained["warped"],
            **kw,
        )

    whole = train(params("ldm"), tmp_path / "straight")
    assert whole["step"] == 4 and np.isfinite(whole["train_loss"])
    train(params("ldm", ldm={"steps": 2}), tmp_path / "half", checkpoints=tmp_path / "ck")
    second = train(params("ldm"), tmp_path / "resumed", checkpoints=tmp_path / "ck")
    assert second["resumed_from"] == 2 and second["step"] == 4
    assert second["train_loss"] == pytest.approx(whole["train_loss"], rel=1e-5)
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-6, rtol=1e-5, msg=name)
    # The export carries the EMA weights (decay 0.9: not the last step's) and the VAE's.
    state = torch.load(next((tmp_path / "ck").glob("*/last.pt")), weights_only=True)
    live = state["nets"]["model"]
    assert state["extra"]["ema"]["optimization_step"] == 4
    name = next(k for k in a if k.startswith("unet.") and k.endswith("weight"))
    assert not torch.equal(a[name], live[name])
    vae = load_file(str(trained["vae"] / "diffusion_pytorch_model.safetensors"))
    some = next(iter(vae))
    assert torch.equal(a[f"vae.{some}"], vae[some])
    # The saved model reloads as the ldm kind and samples through TryOnModel.
    pipe = TryOnModel.from_pretrained(trained["warp"], tmp_path / "straight")
    assert pipe.samples and pipe.family == "gmm+ldm" and pipe.step == 16
    batch = {k: v for k, v in fixed_batch(dataset).items() if isinstance(v, torch.Tensor)}
    out = pipe(batch, Sampling(steps=2, seed=3))
    again = pipe(batch, Sampling(steps=2, seed=3))
    assert torch.equal(out.result, again.result)


# --- catvton ---------------------------------------------------------------------------


def test_catvton_trains_only_self_attention_49_57m_on_the_sd15_config():
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        unet = UNet2DConditionModel(**SD15_INPAINTING_UNET)
    chosen = trainable_parameters(unet)
    assert all(".attn1." in f".{n}" for n, _ in chosen)
    assert {n.rsplit(".attn1.", 1)[1] for n, _ in chosen} == {
        "to_q.weight",
        "to_k.weight",
        "to_v.weight",
        "to_out.0.weight",
        "to_out.0.bias",
    }
    count = sum(p.numel() for _, p in chosen)
    assert count == 49_574_080  # the paper's 49.57M
    assert not any("attn2" in n for n, _ in chosen)


def test_catvton_skip_attention_concat_split_and_guidance(tiny_sd):
    model = tiny_catvton(tiny_sd)
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {
        f"unet.{n}" for n, _ in trainable_parameters(model.unet)
    }
    # skip-attention: a transformer block with attn1 and the feed-forward zeroed gives
    # h + LN2(h) (the cross-attention adds its normalised input, not nothing)
    block = next(m for m in model.unet.modules() if type(m).__name__ == "BasicTransformerBlock")
    with torch.no_grad():
        block.attn1.to_out[0].weight.zero_()
        block.attn1.to_out[0].bias.zero_()
        block.ff.net[-1].weight.zero_()
        block.ff.net[-1].bias.zero_()
    h = torch.randn(2, 12, block.norm2.normalized_shape[0])
    torch.testing.assert_close(block(h), h + block.norm2(h))
    # concat along the height and split back
    person, garment = torch.randn(2, 4, 8, 6), torch.randn(2, 4, 8, 6)
    joined = concat(person, garment)
    assert joined.shape == (2, 4, 16, 6)
    a, b = split(joined)
    assert torch.equal(a, person) and torch.equal(b, garment)
    # guidance zeroes the garment half of the condition latent, nothing else
    mask = concat(torch.ones(2, 1, 8, 6), torch.zeros(2, 1, 8, 6))
    cond = model.unet_input(torch.randn(2, 4, 16, 6), mask, person, garment)
    assert cond.shape == (2, 9, 16, 6)
    uncond = guidance_input(cond)
    assert torch.equal(uncond[:, :5], cond[:, :5])  # noisy latent and mask
    assert torch.equal(uncond[:, 5:, :8], cond[:, 5:, :8])  # the masked person
    assert (uncond[:, 5:, 8:] == 0).all() and cond[:, 5:, 8:].abs().sum() > 0


def test_catvton_step_dropout_dream_and_sample(dataset, tiny_sd):
    torch.manual_seed(0)
    model = tiny_catvton(tiny_sd)
    frozen_before = {n: p.clone() for n, p in model.named_parameters() if not p.requires_grad}
    cfg = params("catvton", catvton={"lr": 1e-3, "garment_dropout": 0.5})
    task = CatvtonTask(model, cfg.train_generator.catvton)
    task.setup(Runtime(torch.device("cpu")))
    batch = fixed_batch(dataset)
    logs = [task.step(batch) for _ in range(3)]
    assert all(np.isfinite(log["loss"]) for log in logs)
    for n, p in model.named_parameters():
        if not p.requires_grad:
            assert torch.equal(p, frozen_before[n]), n
    # the garment is dropped per sample from its seed: about half of many samples at 0.5
    from vton.families.diffusion import generators, per_sample_uniform

    kept = per_sample_uniform(generators(range(2000), 3), torch.device("cpu")) >= 0.1
    assert 0.87 < kept.float().mean() < 0.93  # 10% dropout at the default rate
    model.eval()
    b = {k: v for k, v in batch.items() if isinstance(v, torch.Tensor)}
    r1, _ = model.sample(b, steps=2, generator=torch.Generator().manual_seed(0))
    r2, _ = model.sample(b, steps=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(r1, r2) and r1.shape == (4, 3, HEIGHT, WIDTH)
    r3, _ = model.sample(b, steps=2, guidance=1.0, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(r1, r3)  # guidance changes the sample


def test_catvton_without_weights_fails_at_once_naming_the_key(dataset, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train_generator\.catvton\.unet"):
        train_generator(params("catvton"), dataset, tmp_path / "warp", tmp_path / "out")
    (tmp_path / "warp").mkdir()
    with pytest.raises(FileNotFoundError, match=r"train_generator\.catvton\.vae"):
        p = params("catvton", catvton={"unet": str(tmp_path), "vae": str(tmp_path / "none")})
        (tmp_path / "config.json").write_text("{}")
        train_generator(p, dataset, tmp_path / "warp", tmp_path / "out")


def test_catvton_stages_train_sample_and_evaluate_end_to_end(dataset, tiny_sd, tmp_path):
    """train_warp (the none kind), train_generator and evaluate as the DVC stages run them."""
    raw = raw_params("catvton", catvton={"unet": str(tiny_sd), "vae": str(tiny_sd)})
    raw["evaluate"] |= {"sample_steps": 2}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(PROJECT)}

    def stage(name: str, *args: str) -> str:
        cmd = [sys.executable, "-m", f"stages.{name}", "--params", str(tmp_path / "params.yaml")]
        done = subprocess.run(
            [*cmd, "--dataset", str(dataset), *args],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    m = tmp_path / "models"
    stage(
        "train_warp",
        "--out",
        str(m / "warp"),
        "--live",
        str(tmp_path / "lw"),
        "--samples",
        str(tmp_path / "sw"),
    )
    assert json.loads((m / "warp" / "config.json").read_text())["kind"] == "none"
    assert (tmp_path / "sw").is_dir()
    out = stage(
        "train_generator",
        "--warp",
        str(m / "warp"),
        "--out",
        str(m / "generator"),
        "--live",
        str(tmp_path / "lg"),
        "--samples",
        str(tmp_path / "sg"),
        "--checkpoints",
        str(tmp_path / "ck"),
    )
    assert "train_generator: step 4" in out
    assert sorted(p.name for p in (tmp_path / "sg").glob("*.png")) == [
        "step_000002.png",
        "step_000004.png",
    ]
    stage(
        "evaluate",
        "--warp",
        str(m / "warp"),
        "--generator",
        str(m / "generator"),
        "--metrics",
        str(tmp_path / "eval.json"),
        "--scores",
        str(tmp_path / "s.csv"),
        "--grid",
        str(tmp_path / "g.png"),
        "--unpaired-grid",
        str(tmp_path / "u.png"),
        "--results",
        str(tmp_path / "results"),
    )
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["family"] == "none+catvton" and result["n_paired"] == 2
    assert result["seconds_per_image"] > 0 and np.isfinite(result["l1_mask"])
    assert {"beats_agnostic_l1_mask", "baseline_agnostic_l1_mask"} <= set(result)


TORCHRUN = [str(Path(sys.executable).parent / "torchrun"), "--standalone", "--nproc-per-node", "2"]


def launch_both(root: Path, raw: dict, dataset: Path, *extra: str) -> dict[str, dict]:
    """stages.train_generator under two-process gloo torchrun and as one process, same
    params: {"ddp": metrics, "single": metrics}."""
    root.mkdir(parents=True)
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(PROJECT)}
    procs = {}
    for name, launcher in {"ddp": TORCHRUN, "single": [sys.executable]}.items():
        cmd = [*launcher, "-m", "stages.train_generator", "--params", str(root / "params.yaml")]
        cmd += ["--dataset", str(dataset), "--out", str(root / name)]
        cmd += ["--live", str(root / f"live_{name}"), *extra]
        procs[name] = subprocess.Popen(
            cmd, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    for name, proc in procs.items():
        try:
            output, _ = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        if proc.returncode != 0:
            pytest.fail(f"train_generator ({name}) failed with {proc.returncode}:\n{output}")
    return {n: json.loads((root / f"live_{n}" / "metrics.json").read_text()) for n in procs}


@pytest.mark.slow
def test_two_process_ddp_equals_one_process(dataset, trained, tiny_sd, tmp_path):
    """Noise, timesteps and dropout are drawn per sample: the split batch draws the same."""
    three = {"steps": 3}
    ldm = launch_both(
        tmp_path / "ldm",
        raw_params("ldm", ldm=three),
        dataset,
        *("--warp", str(trained["warp"]), "--vae", str(trained["vae"])),
        *("--warped", str(trained["warped"])),
    )
    catvton_raw = raw_params("catvton", catvton=three | {"unet": str(tiny_sd), "vae": str(tiny_sd)})
    from vton.families.nowarp import NoWarp

    none = NoWarp().save_pretrained(tmp_path / "none")
    catvton = launch_both(tmp_path / "catvton", catvton_raw, dataset, "--warp", str(none))
    for runs in (ldm, catvton):
        assert runs["ddp"]["world_size"] == 2 and runs["single"]["world_size"] == 1
        assert runs["ddp"]["step"] == runs["single"]["step"] == 3
        assert runs["ddp"]["train_loss"] == pytest.approx(runs["single"]["train_loss"], rel=1e-4)
    # What they compute, not their weights: AdamW turns a gradient at rounding level (a conv
    # bias under group norm) into a step of ~lr whose sign the rounding decides; such weights
    # barely move the output.
    for family, channels, height in (("ldm", 9, 8), ("catvton", 9, 16)):
        a, b = (load_model(tmp_path / family / n) for n in ("ddp", "single"))
        x = torch.randn(2, channels, height, 6, generator=torch.Generator().manual_seed(0))
        t = torch.tensor([10, 700])
        with torch.no_grad():
            torch.testing.assert_close(a(x, t), b(x, t), atol=1e-3, rtol=0, msg=family)
