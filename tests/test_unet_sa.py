"""The unet_sa family at toy size on CPU: representation, generator, discriminator, losses."""

from __future__ import annotations

import json

import pytest
import torch
from model_data import tiny_vgg
from torch.nn.utils import parametrize

from vton.families.unet_sa import (
    GAN41_CHANNELS,
    SelfAttention2d,
    UNetSAConfig,
    UNetSADiscriminator,
    UNetSADiscriminatorConfig,
    UNetSAGenerator,
    UNetSALossWeights,
    gan41_representation,
    lsgan_discriminator_loss,
    meta_parameter_count,
    unet_sa_discriminator_config,
    unet_sa_generator_loss,
)
from vton.formats.openpose import Body25, Coco18
from vton.models.losses import PerceptualLoss

H, W, B = 64, 48, 2


def person_batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    keypoints = torch.zeros(B, 25, 3)
    keypoints[:, Body25.NOSE] = torch.tensor([10.0, 5.0, 1.0])
    keypoints[:, Body25.MID_HIP] = torch.tensor([24.0, 30.0, 1.0])  # no COCO-18 counterpart
    keypoints[:, Body25.R_HIP] = torch.tensor([20.0, 32.0, 0.9])
    keypoints[:, Body25.L_EAR] = torch.tensor([30.0, 8.0, 1.0])
    return {
        "agnostic": torch.rand(B, 3, H, W, generator=g) * 2 - 1,
        "keypoints": keypoints,  # every other point missing (confidence 0)
        "parse_agnostic_ids": torch.randint(0, 20, (B, H, W), generator=g, dtype=torch.uint8),
    }


def inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    person = torch.rand(B, GAN41_CHANNELS, H, W, generator=g)
    cloth = torch.rand(B, 3, H, W, generator=g) * 2 - 1
    mask = (torch.rand(B, 1, H, W, generator=g) > 0.5).float()
    return person, cloth, mask


def toy_generator(seed: int = 0) -> UNetSAGenerator:
    torch.manual_seed(seed)
    return UNetSAGenerator(UNetSAConfig.toy())


def toy_discriminator(seed: int = 0) -> UNetSADiscriminator:
    torch.manual_seed(seed)
    return UNetSADiscriminator(unet_sa_discriminator_config("toy"))


def test_representation_channels_pose_order_and_missing_points():
    batch = person_batch()
    rep = gan41_representation(batch)
    assert rep.shape == (B, 41, H, W) and rep.dtype == torch.float32
    torch.testing.assert_close(rep[:, :3], batch["agnostic"])
    pose, parse = rep[:, 3:21], rep[:, 21:]
    assert pose.min() >= 0 and pose.max() <= 1
    peaks = {
        Coco18.NOSE: (5, 10),
        Coco18.R_HIP: (32, 20),  # COCO 8 is BODY_25 9, not the mid-hip (BODY_25 8)
        Coco18.L_EAR: (8, 30),  # COCO 17 is BODY_25 18
    }
    for joint, (y, x) in peaks.items():
        channel = pose[:, joint]
        flat = channel.flatten(1).argmax(1)
        assert (flat == y * W + x).all(), joint
        torch.testing.assert_close(channel[:, y, x], torch.ones(B))
    assert Coco18.R_HIP == 8 and Body25.R_HIP == 9
    missing = [c for c in range(18) if c not in peaks]
    assert (pose[:, missing] == 0).all()
    # The mid-hip at (24, 30) lights no channel: only the R-hip's Gaussian reaches it.
    assert pose[:, :, 30, 24].max() < pose[:, Coco18.R_HIP, 30, 24].max() + 1e-6
    assert (parse.sum(1) == 1).all()
    assert (parse.argmax(1) == batch["parse_agnostic_ids"].long()).all()


def test_representation_names_what_the_batch_lacks():
    batch = person_batch()
    batch["parse_agnostic"] = batch.pop("parse_agnostic_ids") // 2
    with pytest.raises(KeyError, match="parse_agnostic_ids"):
        gan41_representation(batch)
    batch = person_batch()
    batch["parse_agnostic_ids"] = batch["parse_agnostic_ids"][:, :32]
    with pytest.raises(ValueError, match=r"parse_agnostic_ids must be \(B, H, W\)"):
        gan41_representation(batch)


def test_generator_shapes_ranges_and_composition():
    gen = toy_generator()
    person, cloth, mask = inputs()
    out = gen(person, cloth, mask)
    assert out.result.shape == out.rendered.shape == (B, 3, H, W)
    assert out.mask.shape == (B, 1, H, W)
    assert out.rendered.abs().max() <= 1 and out.result.abs().max() <= 1
    assert out.mask.min() >= 0 and out.mask.max() <= 1
    torch.testing.assert_close(out.result, out.mask * cloth + (1 - out.mask) * out.rendered)


def test_gradients_reach_every_generator_parameter():
    gen = toy_generator()
    attention = [m for m in gen.modules() if isinstance(m, SelfAttention2d)]
    assert len(attention) == 1
    # With gamma 0 the attention's q, k, v get exactly zero gradient; open it to see them.
    torch.nn.init.constant_(attention[0].gamma, 0.5)
    person, cloth, mask = inputs()
    out = gen(person, cloth, mask)
    (out.result - cloth.flip(0)).abs().mean().backward()
    dead = [
        name
        for name, p in gen.named_parameters()
        if p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0
    ]
    assert not dead, dead


def test_self_attention_is_the_identity_until_gamma_opens():
    torch.manual_seed(0)
    block = SelfAttention2d(32)
    assert block.query.out_channels == block.key.out_channels == 4
    assert block.value.out_channels == 32 and block.gamma.item() == 0.0
    x = torch.randn(2, 32, 8, 6)
    torch.testing.assert_close(block(x), x, atol=0, rtol=0)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    y = block(x)
    assert y.shape == x.shape and (y - x).abs().max() > 1e-3


def test_an_indivisible_size_is_refused_with_the_size():
    gen = toy_generator()
    person, cloth, mask = (x[..., :60, :] for x in inputs())  # 60 is not a multiple of 8
    with pytest.raises(ValueError, match=r"60x48 must be divisible by 2\*\*downsamplings = 8"):
        gen(person, cloth, mask)
    person, cloth, _ = inputs()
    with pytest.raises(ValueError, match=r"warped_mask must be \(2, 1, H, W\)"):
        gen(person, cloth, cloth)


def test_config_validates_and_batch_norm_builds():
    with pytest.raises(ValueError, match="norm must be one of"):
        UNetSAConfig(norm="group")
    gen = UNetSAGenerator(UNetSAConfig(ngf=8, downsamplings=2, res_blocks=0, norm="batch"))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in gen.modules())
    assert gen(*inputs()).result.shape == (B, 3, H, W)
    with pytest.raises(ValueError, match="unknown unet_sa discriminator preset"):
        unet_sa_discriminator_config("huge")


def test_discriminator_is_spectral_normed_and_returns_features():
    disc = toy_discriminator()
    convs = [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5
    for conv in convs:
        assert parametrize.is_parametrized(conv, "weight")
        kinds = [type(p).__name__ for p in conv.parametrizations["weight"]]
        assert kinds == ["_SpectralNorm"], kinds
    person, cloth, mask = inputs()
    scores, features = disc(cloth, torch.cat([person, cloth, mask], 1))
    assert scores.shape == (B, 1, 6, 4)  # 64x48 -> 32x24 -> 16x12 -> 8x6 -> 7x5 -> 6x4
    assert [f.shape[1] for f in features] == [8, 16, 32, 64]
    with pytest.raises(ValueError, match="too small"):
        disc(cloth[..., :16, :16], torch.cat([person, cloth, mask], 1)[..., :16, :16])


def test_losses_terms_and_weights():
    real_scores, fake_scores = torch.ones(2, 1, 4, 3), torch.zeros(2, 1, 4, 3)
    assert lsgan_discriminator_loss(real_scores, fake_scores).item() == 0.0
    assert lsgan_discriminator_loss(fake_scores, real_scores).item() == pytest.approx(1.0)
    fake, real = torch.zeros(2, 3, 16, 16), torch.full((2, 3, 16, 16), 0.5)
    features = [torch.zeros(2, 4, 8, 8), torch.zeros(2, 8, 4, 4)]
    shifted = [f + 1 for f in features]
    weights = UNetSALossWeights()
    total, terms = unet_sa_generator_loss(fake, real, fake_scores, features, shifted, weights)
    assert sorted(terms) == ["feature_matching", "gan", "l1"]
    assert terms["gan"].item() == 1.0 and terms["feature_matching"].item() == 1.0
    assert terms["l1"].item() == 0.5 and total.item() == pytest.approx(1 + 10 + 0.5)
    total, terms = unet_sa_generator_loss(
        fake, real, fake_scores, features, shifted, weights, vgg=PerceptualLoss(tiny_vgg())
    )
    assert terms["vgg"].item() > 0
    assert total.item() == pytest.approx(11.5 + 10 * terms["vgg"].item(), rel=1e-5)


def test_a_few_adam_steps_lower_the_generator_loss():
    gen, disc, vgg = toy_generator(), toy_discriminator(), tiny_vgg()
    disc.eval().requires_grad_(False)  # a fixed critic: only the generator moves
    person, cloth, mask = (x[..., :32, :32] for x in inputs())  # 32x32 keeps the test quick
    condition = torch.cat([person, cloth, mask], 1)
    real = torch.rand(B, 3, 32, 32, generator=torch.Generator().manual_seed(5)) * 2 - 1
    _, real_features = disc(real, condition)
    optimizer = torch.optim.Adam(gen.parameters(), lr=2e-3, betas=(0.5, 0.999))
    losses = []
    for _ in range(6):
        fake = gen(person, cloth, mask).result
        scores, features = disc(fake, condition)
        total, _ = unet_sa_generator_loss(fake, real, scores, features, real_features, vgg=vgg)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        losses.append(total.item())
    assert losses[-1] < 0.9 * losses[0], losses


def test_save_and_load_round_trip_gives_identical_outputs(tmp_path):
    gen, disc = toy_generator(), toy_discriminator()
    with torch.no_grad():
        for m in gen.modules():
            if isinstance(m, SelfAttention2d):
                m.gamma.fill_(0.3)  # so the round trip covers a nonzero gamma
    gen.save_pretrained(tmp_path / "g")
    disc.save_pretrained(tmp_path / "d")
    assert json.loads((tmp_path / "g" / "config.json").read_text())["kind"] == "unet_sa"
    gen2 = UNetSAGenerator.from_pretrained(tmp_path / "g")
    disc2 = UNetSADiscriminator.from_pretrained(tmp_path / "d")
    assert gen2.config == gen.config and disc2.config == disc.config
    person, cloth, mask = inputs(seed=3)
    condition = torch.cat([person, cloth, mask], 1)
    gen.eval(), gen2.eval(), disc.eval(), disc2.eval()
    torch.testing.assert_close(gen(person, cloth, mask).result, gen2(person, cloth, mask).result)
    torch.testing.assert_close(disc(cloth, condition)[0], disc2(cloth, condition)[0])
    with pytest.raises(ValueError, match="another kind"):
        UNetSAGenerator.from_pretrained(tmp_path / "d")


def test_preset_sizes_on_the_meta_device():
    counts = {
        "cpu": meta_parameter_count(lambda: UNetSAGenerator(UNetSAConfig.cpu())),
        "full": meta_parameter_count(lambda: UNetSAGenerator(UNetSAConfig.full())),
    }
    assert counts["cpu"] == pytest.approx(26e6, rel=0.15), counts
    assert counts["full"] == pytest.approx(54e6, rel=0.15), counts
    full_d = meta_parameter_count(lambda: UNetSADiscriminator(unet_sa_discriminator_config("full")))
    assert full_d == pytest.approx(2.8e6, rel=0.15), full_d
    assert unet_sa_discriminator_config("full") == UNetSADiscriminatorConfig(45, 64, 3)
    assert UNetSAConfig().in_channels == 45 and UNetSAConfig.full().norm == "instance"
