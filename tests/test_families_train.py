"""Training the unet_sa and hrviton families on a tiny dataset: the tasks' steps (TOCG,
U-Net + SA GAN, SPADE), resume equal to an uninterrupted run, and two-process DDP equal to
one process."""

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

from vton.config import parse_params
from vton.families.spade import SPADEConfig, SPADEGenerator
from vton.families.tocg import ConditionGenerator, TOCGConfig
from vton.families.unet_sa import UNetSAConfig, UNetSAGenerator
from vton.models import GMM, GMMConfig
from vton.train import train_generator, train_warp
from vton.train.data import TryOnDataset
from vton.train.family_tasks import SpadeTask, TocgTask, UnetSATask
from vton.train.runtime import Runtime

PROJECT = Path(__file__).resolve().parents[1]
HEIGHT, WIDTH = 64, 32  # SPADE "normal" needs H, W divisible by 32; tocg levels 4 by 16
SCHEDULE = {"steps": 4, "batch_size": 4, "log_every": 2, "sample_every": 2, "checkpoint_every": 2}
SECTIONS = {
    ("train_warp", "gmm"): {"width": 4, "grid": 3},
    ("train_warp", "tocg"): {"ngf": 4, "levels": 4},
    ("train_generator", "unet_sa"): {"ngf": 4, "downsamplings": 3, "res_blocks": 1, "d_ndf": 4},
    ("train_generator", "spade"): {
        "ngf": 4,
        "hidden": 8,
        "injection": 4,
        "d_ndf": 4,
        "upsamplings": "normal",
    },
}


def raw_params(family: str, **overrides: dict) -> dict:
    """The params mapping of a toy run of `family`; `overrides` by section name (tocg=...)."""
    raw: dict = {
        "train": {"family": family, "device": "cpu", "data": {"height": HEIGHT, "width": WIDTH}},
        "run": {"loader_workers": 0},
    }
    for (stage, name), section in SECTIONS.items():
        raw.setdefault(stage, {})[name] = SCHEDULE | section | overrides.get(name, {})
    return raw


def params(family: str, **overrides: dict):
    return parse_params(raw_params(family, **overrides))


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("families") / "dataset")


@pytest.fixture(scope="module")
def gmm_warp(dataset, tmp_path_factory) -> Path:
    """A briefly trained GMM: the warp under the unet_sa generator."""
    out = tmp_path_factory.mktemp("gmm_warp") / "warp"
    train_warp(params("unet_sa", gmm={"steps": 2}), dataset, out)
    return out


def fixed_batch(dataset: Path) -> dict:
    data = TryOnDataset(dataset, "train", size=(HEIGHT, WIDTH))
    return torch.utils.data.default_collate([data[i] for i in range(4)])


def tiny_tocg() -> ConditionGenerator:
    return ConditionGenerator(
        TOCGConfig(ngf=4, levels=4, norm="instance", height=HEIGHT, width=WIDTH)
    )


def assert_falls(values: list[float], what: str) -> None:
    assert all(np.isfinite(values)), (what, values)
    assert np.mean(values[-3:]) < values[0], (what, values)


def assert_every_gradient_finite(net: torch.nn.Module, what: str) -> None:
    trainable = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    assert trainable, what
    missing = [n for n, p in trainable if p.grad is None]
    assert missing == [], f"{what}: parameters without a gradient: {missing}"
    bad = [n for n, p in trainable if not torch.isfinite(p.grad).all()]
    assert bad == [], f"{what}: non-finite gradients: {bad}"
    assert any(bool(p.grad.abs().sum() > 0) for _, p in trainable), what


def test_tocg_step_lowers_its_loss_on_a_fixed_batch(dataset):
    torch.manual_seed(0)
    batch, runtime = fixed_batch(dataset), Runtime(torch.device("cpu"))
    task = TocgTask(tiny_tocg(), params("hrviton").train_warp.tocg)
    task.setup(runtime)
    assert set(task.nets) == {"tocg"}  # adversarial is off by default
    logs = [task.step(batch) for _ in range(10)]
    assert {"loss", "mask_l1", "tv", "interflow", "ce"} <= set(logs[0])
    assert_falls([log["loss"] for log in logs], "tocg loss")
    assert_falls([log["ce"] for log in logs], "tocg cross-entropy")
    assert_every_gradient_finite(task.nets["tocg"], "tocg")
    _, out = task.last
    assert out.warped_cloth.shape == (4, 3, HEIGHT, WIDTH)
    assert out.warped_mask.shape == (4, 1, HEIGHT, WIDTH)
    assert out.seg_logits.shape == (4, 13, HEIGHT, WIDTH)
    # Flows at H/2**levels ... H/2, coarse to fine.
    assert [f.shape for f in out.flows] == [
        (4, HEIGHT // 2**k, WIDTH // 2**k, 2) for k in range(4, 0, -1)
    ]
    preview = task.preview()
    assert preview.dtype == np.uint8 and preview.ndim == 3 and preview.shape[2] == 3

    # With the segmentation discriminator: it steps too, every loss finite.
    adv_cfg = params("hrviton", tocg={"adversarial": True, "d_ndf": 4}).train_warp.tocg
    adv = TocgTask(tiny_tocg(), adv_cfg)
    adv.setup(runtime)
    d_before = [p.detach().clone() for p in adv.nets["discriminator"].parameters()]
    logs = [adv.step(batch) for _ in range(2)]
    assert {"d_loss", "gan"} <= set(logs[0])
    assert all(np.isfinite(v) for log in logs for v in log.values())
    d_after = list(adv.nets["discriminator"].parameters())
    assert any(not torch.equal(a, b) for a, b in zip(d_before, d_after, strict=True))


def test_unet_sa_step_lowers_its_l1_on_a_fixed_batch(dataset):
    torch.manual_seed(0)
    batch, runtime = fixed_batch(dataset), Runtime(torch.device("cpu"))
    gmm = GMM(GMMConfig(width=4, levels=3, grid=3, height=HEIGHT, image_width=WIDTH))
    config = UNetSAConfig(ngf=4, downsamplings=3, res_blocks=1, norm="instance", keep_unmasked=True)
    task = UnetSATask(UNetSAGenerator(config), gmm, params("unet_sa").train_generator.unet_sa)
    task.setup(runtime)
    warp_before = {k: v.clone() for k, v in gmm.state_dict().items()}
    d_before = [p.detach().clone() for p in task.nets["discriminator"].parameters()]
    logs = [task.step(batch) for _ in range(10)]
    assert {"loss", "d_loss", "gan", "feature_matching", "l1"} <= set(logs[0])
    assert all(np.isfinite(v) for log in logs for v in log.values())
    assert_falls([log["l1"] for log in logs], "unet_sa l1")
    assert_every_gradient_finite(task.nets["generator"], "unet_sa generator")
    b, warped, out = task.last
    assert warped.cloth.shape == out.result.shape == out.rendered.shape == (4, 3, HEIGHT, WIDTH)
    assert out.mask.shape == (4, 1, HEIGHT, WIDTH)
    assert out.result.detach().abs().max() <= 1
    # Outside the agnostic mask the result is the agnostic photo itself (keep_unmasked).
    outside = (b["agnostic_mask"] < 0.5).expand_as(out.result)
    torch.testing.assert_close(out.result[outside], b["agnostic"][outside], atol=1e-5, rtol=0)
    # The warp stays frozen, the discriminator trains.
    for k, v in gmm.state_dict().items():
        assert torch.equal(v, warp_before[k]), k
    assert all(p.grad is None for p in gmm.parameters())
    d_after = list(task.nets["discriminator"].parameters())
    assert any(not torch.equal(a, b) for a, b in zip(d_before, d_after, strict=True))
    assert task.preview().dtype == np.uint8


def test_spade_step_lowers_its_l1_on_a_fixed_batch(dataset):
    torch.manual_seed(0)
    batch, runtime = fixed_batch(dataset), Runtime(torch.device("cpu"))
    tocg = tiny_tocg()
    config = SPADEConfig(ngf=4, hidden=8, injection=4, upsamplings="normal", keep_unmasked=True)
    task = SpadeTask(SPADEGenerator(config), tocg, params("hrviton").train_generator.spade)
    task.setup(runtime)
    warp_before = {k: v.clone() for k, v in tocg.state_dict().items()}
    logs = [task.step(batch) for _ in range(10)]
    assert {"loss", "d_loss", "gan", "feature_matching", "l1"} <= set(logs[0])
    assert all(np.isfinite(v) for log in logs for v in log.values())
    assert_falls([log["l1"] for log in logs], "spade l1")
    assert_every_gradient_finite(task.nets["generator"], "spade generator")
    b, warped, out = task.last
    assert warped.seg is not None and warped.seg.shape == (4, 13, HEIGHT, WIDTH)
    assert out.result.shape == (4, 3, HEIGHT, WIDTH)
    assert out.result.detach().abs().max() <= 1
    outside = (b["agnostic_mask"] < 0.5).expand_as(out.result)
    torch.testing.assert_close(out.result[outside], b["agnostic"][outside], atol=1e-5, rtol=0)
    for k, v in tocg.state_dict().items():
        assert torch.equal(v, warp_before[k]), k
    assert task.preview().dtype == np.uint8


def assert_same_weights(a_dir: Path, b_dir: Path, atol: float, rtol: float) -> None:
    a = load_file(str(a_dir / "model.safetensors"))
    b = load_file(str(b_dir / "model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=atol, rtol=rtol, msg=name)


def resume_matches_straight(train, section: str, family: str, tmp: Path) -> Path:
    """`train(params, out, **kw)` 4 steps straight, and 2 then resumed to 4 from the same
    checkpoints: the same weights. The straight run's output."""
    straight = params(family)
    whole = train(straight, tmp / "straight")
    assert whole["step"] == 4 and whole["resumed_from"] == 0
    first = train(params(family, **{section: {"steps": 2}}), tmp / "half", checkpoints=tmp / "ck")
    assert first["step"] == 2 and first["resumed_from"] == 0
    assert len(list((tmp / "ck").glob("*/last.pt"))) == 1
    second = train(straight, tmp / "resumed", checkpoints=tmp / "ck")
    assert second["resumed_from"] == 2 and second["step"] == 4
    assert second["train_loss"] == pytest.approx(whole["train_loss"], rel=1e-5)
    assert_same_weights(tmp / "straight", tmp / "resumed", atol=1e-6, rtol=1e-5)
    return tmp / "straight"


def test_unet_sa_generator_resume_equals_an_uninterrupted_run(dataset, gmm_warp, tmp_path):
    def train(p, out, **kw):
        return train_generator(p, dataset, gmm_warp, out, **kw)

    resume_matches_straight(train, "unet_sa", "unet_sa", tmp_path)


def test_hrviton_warp_and_generator_resume_equal_an_uninterrupted_run(dataset, tmp_path):
    def warp(p, out, **kw):
        return train_warp(p, dataset, out, **kw)

    tocg = resume_matches_straight(warp, "tocg", "hrviton", tmp_path / "warp")

    def generator(p, out, **kw):
        return train_generator(p, dataset, tocg, out, **kw)

    resume_matches_straight(generator, "spade", "hrviton", tmp_path / "generator")


TORCHRUN = [str(Path(sys.executable).parent / "torchrun"), "--standalone", "--nproc-per-node", "2"]
LAUNCHERS = {"ddp": TORCHRUN, "single": [sys.executable]}


def launch_both(
    stage: str,
    family: str,
    dataset: Path,
    root: Path,
    *extra: str,
    size=(HEIGHT, WIDTH),
    steps: int = 3,
) -> Path:
    """`stages.<stage>` with `steps` steps of `family` at `size`, under two-process gloo
    torchrun (root/ddp, root/live_ddp) and as one process (root/single, root/live_single),
    same params file."""
    root.mkdir(parents=True)
    n = {"steps": steps}
    raw = raw_params(family, gmm=n, tocg=n, unet_sa=n, spade=n)
    raw["train"]["data"] = {"height": size[0], "width": size[1]}
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(PROJECT)}
    procs = {}
    for name, launcher in LAUNCHERS.items():  # both at once: mostly imports, on 2 cores
        cmd = [
            *launcher,
            "-m",
            f"stages.{stage}",
            "--params",
            str(root / "params.yaml"),
            "--dataset",
            str(dataset),
            "--out",
            str(root / name),
            "--live",
            str(root / f"live_{name}"),
            *extra,
        ]
        procs[name] = subprocess.Popen(
            cmd, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    for name, proc in procs.items():
        try:
            output, _ = proc.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        if proc.returncode != 0:  # not an AssertionError: the xfails below must not hide it
            pytest.fail(f"{stage} ({name}) failed with {proc.returncode}:\n{output}")
    return root


def metrics(root: Path, name: str) -> dict:
    return json.loads((root / f"live_{name}" / "metrics.json").read_text())


def assert_same_loss(root: Path, steps: int = 3) -> None:
    ddp, single = metrics(root, "ddp"), metrics(root, "single")
    assert ddp["world_size"] == 2 and single["world_size"] == 1
    assert ddp["step"] == single["step"] == steps
    assert ddp["train_loss"] == pytest.approx(single["train_loss"], rel=1e-4)


@pytest.fixture(scope="module")
def hrviton_ddp(dataset, tmp_path_factory) -> dict[str, Path]:
    """train_warp (tocg) then train_generator (spade over the one-process warp), each under
    torchrun and as one process."""
    root = tmp_path_factory.mktemp("hrviton_ddp")
    # SPADE at 128x96: at 64x32 its first blocks normalise 2x1 maps, their gradients are at
    # rounding level and training is chaotic (a 1e-7 perturbation grows to 3e-3 in 3
    # steps). The tocg stays at 64x32, its own size, which the generator's run upsamples.
    # One generator step: the hinge GAN amplifies the all-reduce's rounding from the second
    # step on, on some CPUs to 0.2 after three steps (measured 2026-12-04 on this code and on
    # the code of 2026-12-03), while one step agrees to 1e-5: the wiring (batches, draws,
    # gradient averaging, the optimiser step) is what is compared.
    warp = launch_both("train_warp", "hrviton", dataset, root / "warp")
    extra = ("--warp", str(warp / "single"))
    gen = launch_both(
        "train_generator", "hrviton", dataset, root / "gen", *extra, size=(128, 96), steps=1
    )
    return {"warp": warp, "generator": gen}


@pytest.fixture(scope="module")
def unet_sa_ddp(dataset, gmm_warp, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("unet_sa_ddp") / "gen"
    return launch_both("train_generator", "unet_sa", dataset, root, "--warp", str(gmm_warp))


def eval_batch(dataset: Path, size: tuple[int, int]) -> dict[str, torch.Tensor]:
    data = TryOnDataset(dataset, "test", size=size)
    batch = torch.utils.data.default_collate([data[i] for i in range(len(data))])
    return {k: v for k, v in batch.items() if isinstance(v, torch.Tensor)}


def assert_same_function(root: Path, warp: Path, dataset: Path, size=(HEIGHT, WIDTH)) -> None:
    """The two generators compute the same images on the test pairs (within 1e-3 of [-1, 1]).

    Not their weights: Adam (eps 1e-8) turns a gradient at rounding level into an update of up
    to ~lr whose sign the rounding decides, and a two-process all-reduce of half-batch
    gradients rounds otherwise than one process's full-batch sum. Weights with such
    gradients barely move the output (that is why their gradient is tiny), so the images
    agree while a few weights part by more than 1e-5 (one of 41645 in unet_sa). The GMM's
    DDP test (test_train.py) compares weights: it has no such weights.
    """
    from vton.families.tryon_model import TryOnModel

    tensors = eval_batch(dataset, size)
    ddp = TryOnModel.from_pretrained(warp, root / "ddp")(tensors).result
    single = TryOnModel.from_pretrained(warp, root / "single")(tensors).result
    torch.testing.assert_close(ddp, single, atol=1e-3, rtol=0)


def test_hrviton_warp_two_process_gloo_ddp_matches_one_process(hrviton_ddp, dataset):
    from vton.families.forward import run_warp
    from vton.families.kinds import load_model

    root = hrviton_ddp["warp"]
    assert_same_loss(root)
    batch = eval_batch(dataset, (HEIGHT, WIDTH))
    with torch.no_grad():
        ddp, single = (run_warp(load_model(root / name), batch) for name in ("ddp", "single"))
    torch.testing.assert_close(ddp.cloth, single.cloth, atol=1e-3, rtol=0)
    torch.testing.assert_close(ddp.mask, single.mask, atol=1e-3, rtol=0)
    assert ddp.seg is not None and single.seg is not None
    torch.testing.assert_close(ddp.seg.softmax(1), single.seg.softmax(1), atol=1e-3, rtol=0)


def test_hrviton_generator_two_process_gloo_ddp_matches_one_process(hrviton_ddp, dataset):
    assert_same_loss(hrviton_ddp["generator"], steps=1)
    warp = hrviton_ddp["warp"] / "single"
    assert_same_function(hrviton_ddp["generator"], warp, dataset, size=(128, 96))


def test_unet_sa_generator_two_process_gloo_ddp_matches_one_process(unet_sa_ddp, gmm_warp, dataset):
    assert_same_loss(unet_sa_ddp)
    assert_same_function(unet_sa_ddp, gmm_warp, dataset)
