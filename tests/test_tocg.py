"""HR-VITON's try-on condition generator at toy width (on CUDA when present, else CPU)."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from model_data import tiny_vgg

from vton.families.tocg import (
    SEG7_GROUPS,
    ConditionGenerator,
    MultiscaleDiscriminator,
    TOCGConfig,
    TOCGDiscriminatorConfig,
    TOCGLossWeights,
    align_conditions,
    discriminator_loss,
    flow_tv,
    parameter_count,
    remove_occlusion,
    seg7_from_tocg,
    tocg_losses,
    upsample_flow,
    warp,
)

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
B, H, W = 2, 64, 64


def batch(height: int = H, width: int = W, seed: int = 0) -> dict[str, torch.Tensor]:
    """A garment blob, a person parse whose garment sits lower down, and their inputs."""
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    mask = ((ys - height // 2).abs() < height // 4) & ((xs - width // 2).abs() < width // 4)
    # A smooth print (stripes of random phase): noise would make VGG terms jumpy under warps.
    phase = torch.rand(B, 3, 1, 1, generator=g) * 6.28
    cloth = torch.sin(xs / 3 + ys / 5 + phase) * 0.8
    cloth = torch.where(mask, cloth, torch.ones(()))  # the garment on white
    parse = torch.zeros(B, height, width, dtype=torch.long)
    parse[:, : height // 4] = 1  # hair
    shifted = mask.roll(height // 8, 0)
    parse[:, shifted] = 3  # the worn garment, lower than the flat one
    parse[:, shifted & (xs < width // 3)] = 5  # a left arm over part of it
    agnostic = torch.where(parse == 3, 0, parse)
    densepose = torch.rand(B, 3, height, width, generator=g) * 2 - 1
    pose_in = torch.cat([F.one_hot(agnostic, 13).permute(0, 3, 1, 2).float(), densepose], 1)
    cloth_in = torch.cat([cloth, mask.expand(B, 1, height, width).float()], 1)
    parse_cloth = torch.where(parse[:, None] == 3, cloth.roll(height // 8, 2), torch.ones(()))
    out = {"cloth_in": cloth_in, "pose_in": pose_in, "parse": parse, "parse_cloth": parse_cloth}
    return {k: v.to(DEVICE) for k, v in out.items()}


def toy_generator(seed: int = 0) -> ConditionGenerator:
    torch.manual_seed(seed)
    return ConditionGenerator(TOCGConfig.toy()).to(DEVICE)


def test_generator_shapes_at_128x96():
    b, h, w = batch(128, 96), 128, 96
    with torch.no_grad():
        out = toy_generator().eval()(b["cloth_in"], b["pose_in"])
    assert [tuple(f.shape) for f in out.flows] == [
        (B, h // 2**k, w // 2**k, 2) for k in (5, 4, 3, 2, 1)
    ]
    assert out.warped_cloth.shape == (B, 3, h, w) and out.warped_mask.shape == (B, 1, h, w)
    assert out.seg_logits.shape == (B, 13, h, w)


def test_generator_and_discriminator_shapes_and_gradients():
    b, h, w = batch(), H, W
    model = toy_generator()
    out = model(b["cloth_in"], b["pose_in"])
    assert [tuple(f.shape) for f in out.flows] == [
        (B, h // 2**k, w // 2**k, 2) for k in (5, 4, 3, 2, 1)
    ]
    assert out.warped_cloth.shape == (B, 3, h, w) and out.warped_mask.shape == (B, 1, h, w)
    assert out.seg_logits.shape == (B, 13, h, w)
    # The flow heads start at zero: the first warp is the identity.
    torch.testing.assert_close(out.warped_cloth, b["cloth_in"][:, :3], atol=1e-4, rtol=0)
    assert all(float(f.detach().abs().max()) == 0 for f in out.flows)
    total, _ = tocg_losses(out, b["parse"], b["parse_cloth"], b["cloth_in"], TOCGLossWeights())
    total.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, missing
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    # A flow head's weights get a gradient at once (the warp is differentiable in the flow).
    assert float(model.fusions[-1].flow.weight.grad.abs().sum()) > 0

    disc = MultiscaleDiscriminator(TOCGDiscriminatorConfig.toy()).to(DEVICE)
    seg = torch.softmax(out.seg_logits.detach(), 1)
    scales = disc(b["cloth_in"], b["pose_in"], seg)
    assert len(scales) == 2
    (s0, f0), (s1, f1) = scales
    assert s0.shape[:2] == (B, 1) and s1.shape[-1] < s0.shape[-1] and len(f0) == len(f1) == 4
    assert [f.shape[1] for f in f0] == [8, 16, 32, 64]
    with pytest.raises(ValueError, match=r"seg must be \(2, 13, H, W\)"):
        disc(b["cloth_in"], b["pose_in"], seg[:, :7])


def test_zero_flow_is_the_identity_and_units_are_pixels():
    torch.manual_seed(0)
    image = torch.randn(B, 3, 16, 12, device=DEVICE)
    zero = torch.zeros(B, 16, 12, 2, device=DEVICE)
    torch.testing.assert_close(warp(image, zero), image, atol=1e-5, rtol=0)
    # One pixel to the right samples the right neighbour; the last column repeats (border).
    right = zero.clone()
    right[..., 0] = 1
    shifted = warp(image, right)
    torch.testing.assert_close(shifted[..., :-1], image[..., 1:], atol=1e-5, rtol=0)
    torch.testing.assert_close(shifted[..., -1], image[..., -1], atol=1e-5, rtol=0)
    # Upsampling keeps the units: one pixel at 16x12 is (23/11, 31/15) pixels at 32x24.
    up = upsample_flow(right + torch.tensor([0.0, 1.0], device=DEVICE), (32, 24))
    assert up.shape == (B, 32, 24, 2)
    torch.testing.assert_close(up[0, 5, 7], torch.tensor([23 / 11, 31 / 15], device=DEVICE))
    with pytest.raises(ValueError, match=r"flow must be \(2, h, w, 2\)"):
        warp(image, zero[..., :1])


def test_condition_aligning_zeroes_the_cloth_logit_and_passes_gradient():
    torch.manual_seed(0)
    logits = torch.randn(B, 13, 8, 8, device=DEVICE) + 1
    mask = torch.rand(B, 1, 8, 8, device=DEVICE)
    mask[..., :4] = 0
    mask.requires_grad_(True)
    aligned = align_conditions(logits, mask)
    assert torch.equal(aligned[:, 3:4, :, :4], torch.zeros_like(aligned[:, 3:4, :, :4]))
    assert torch.equal(aligned[:, :3], logits[:, :3]) and torch.equal(aligned[:, 4:], logits[:, 4:])
    torch.testing.assert_close(aligned[:, 3:4], logits[:, 3:4] * mask)
    aligned[:, 3].sum().backward()
    assert mask.grad is not None
    torch.testing.assert_close(mask.grad, logits[:, 3:4])


def test_remove_occlusion_lowers_the_mask_under_body_parts_only():
    mask = torch.ones(B, 1, 8, 8, device=DEVICE) * 0.9
    mask[..., 0] = 0
    logits = torch.full((B, 13, 8, 8), -20.0, device=DEVICE)
    logits[:, 3, :4] = 20  # the garment predicted in the top half
    logits[:, 5, 4:] = 20  # a left arm in the bottom half
    logits[:, 0, 4:, 6:] = 40  # background wins in a corner of it
    clean = remove_occlusion(mask, logits)
    assert clean.shape == mask.shape and float(clean.min()) >= 0
    assert bool((clean <= mask).all())
    torch.testing.assert_close(clean[:, :, :4], mask[:, :, :4], atol=1e-6, rtol=0)
    assert float(clean[:, :, 4:, 1:6].max()) < 1e-6  # the arm hides the garment
    torch.testing.assert_close(clean[:, :, 4:, 6:], mask[:, :, 4:, 6:], atol=1e-6, rtol=0)
    random = remove_occlusion(mask, torch.randn(B, 13, 8, 8, device=DEVICE) * 3)
    assert bool((random <= mask).all()) and float((mask - random).sum()) > 0


def test_tv_is_zero_for_a_constant_flow():
    constant = torch.ones(B, 8, 6, 2, device=DEVICE) * torch.tensor([3.0, -2.0], device=DEVICE)
    assert float(flow_tv(constant)) == 0
    assert float(flow_tv(torch.randn(B, 8, 6, 2, device=DEVICE))) > 0


def test_inputs_not_divisible_by_32_are_refused():
    model = toy_generator()
    b = batch(64, 64)
    cloth, pose = b["cloth_in"][..., :48], b["pose_in"][..., :48]
    with pytest.raises(ValueError, match=r"64x48: height and width must be divisible by .* 32"):
        model(cloth, pose)
    with pytest.raises(ValueError, match=r"pose_in must be \(2, 16, H, W\)"):
        model(b["cloth_in"], b["pose_in"][:, :13])


def test_seg7_regroups_each_of_the_13_groups():
    expected = {0: 0, 1: 3, 2: 1, 3: 2, 4: 1, 5: 4, 6: 5, 7: 1, 8: 1, 9: 1, 10: 1, 11: 1, 12: 6}
    names = [name for name, _ in SEG7_GROUPS]
    assert names == ["background", "paste", "upper", "hair", "left_arm", "right_arm", "noise"]
    logits = torch.eye(13, device=DEVICE)[:, :, None, None].expand(13, 13, 8, 6) * 5
    seg7 = seg7_from_tocg(logits, (32, 24))
    assert seg7.shape == (13, 7, 32, 24) and seg7.dtype == torch.float32
    assert bool((seg7.sum(1) == 1).all())
    for group, channel in expected.items():
        assert bool((seg7[group, channel] == 1).all()), (group, channel)
    # The blur smooths the edge between two regions but keeps each region's label.
    halves = torch.zeros(1, 13, 8, 6, device=DEVICE)
    halves[:, 3, :4], halves[:, 5, 4:] = 5, 5
    seg7 = seg7_from_tocg(halves, (64, 48))
    assert bool((seg7[0, 2, :24] == 1).all()) and bool((seg7[0, 4, 40:] == 1).all())


def test_a_few_adam_steps_lower_the_total_loss():
    b = batch()
    model, vgg = toy_generator(), tiny_vgg()
    disc = MultiscaleDiscriminator(TOCGDiscriminatorConfig.toy()).to(DEVICE).eval()
    disc.requires_grad_(False)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.5, 0.999))
    weights, history = TOCGLossWeights(), []
    for _ in range(5):
        out = model(b["cloth_in"], b["pose_in"])
        seg = torch.softmax(align_conditions(out.seg_logits, out.warped_mask), 1)
        fake = [s for s, _ in disc(b["cloth_in"], b["pose_in"], seg)]
        total, terms = tocg_losses(
            out, b["parse"], b["parse_cloth"], b["cloth_in"], weights, vgg, fake
        )
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append(total.item())
    assert set(terms) == {"mask_l1", "vgg", "tv", "interflow", "ce", "gan"}
    assert all(bool(torch.isfinite(v)) for v in terms.values())
    assert history[-1] < 0.9 * history[0] and history == sorted(history, reverse=True), history
    real = disc(b["cloth_in"], b["pose_in"], F.one_hot(b["parse"], 13).permute(0, 3, 1, 2).float())
    fake_out = disc(b["cloth_in"], b["pose_in"], seg.detach())
    assert float(discriminator_loss(real, fake_out)) > 0


def test_save_and_load_round_trip_gives_identical_outputs(tmp_path):
    b = batch()
    model = toy_generator()
    model(b["cloth_in"], b["pose_in"])  # one training-mode pass moves the BatchNorm statistics
    model.eval()
    model.save_pretrained(tmp_path / "tocg")
    doc = json.loads((tmp_path / "tocg" / "config.json").read_text())
    assert doc == {"kind": "tocg", **TOCGConfig.toy().__dict__}
    loaded = ConditionGenerator.from_pretrained(tmp_path / "tocg").to(DEVICE).eval()
    with torch.no_grad():
        a, c = model(b["cloth_in"], b["pose_in"]), loaded(b["cloth_in"], b["pose_in"])
    assert torch.equal(a.seg_logits, c.seg_logits) and torch.equal(a.warped_cloth, c.warped_cloth)
    assert all(torch.equal(x, y) for x, y in zip(a.flows, c.flows, strict=True))
    disc = MultiscaleDiscriminator(TOCGDiscriminatorConfig.toy()).to(DEVICE).eval()
    disc.save_pretrained(tmp_path / "disc")
    again = MultiscaleDiscriminator.from_pretrained(tmp_path / "disc").to(DEVICE).eval()
    seg = torch.softmax(a.seg_logits, 1)
    with torch.no_grad():
        s, t = disc(b["cloth_in"], b["pose_in"], seg), again(b["cloth_in"], b["pose_in"], seg)
    assert all(torch.equal(x[0], y[0]) for x, y in zip(s, t, strict=True))
    with pytest.raises(ValueError, match="another kind"):
        ConditionGenerator.from_pretrained(tmp_path / "disc")


def test_full_preset_parameter_count_on_the_meta_device():
    full = TOCGConfig.full()
    assert (full.ngf, full.levels, full.norm, full.widths()) == (
        96,
        5,
        "batch",
        [96, 192, 384] + [384] * 2,
    )
    count = parameter_count(full)
    print(f"TOCG full preset: {count:,} parameters")
    assert 20_000_000 < count < 100_000_000
    assert parameter_count(TOCGConfig.toy()) < count / 100
