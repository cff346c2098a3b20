"""HR-VITON's SPADE image generator at toy width (on CUDA when present, else CPU)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from model_data import tiny_vgg
from torch import nn
from torch.nn.utils import parametrize

from vton.families.spade import (
    SPADE,
    SPADEConfig,
    SPADEDiscriminator,
    SPADEDiscriminatorConfig,
    SPADEGenerator,
    SPADELossWeights,
    hinge_discriminator_loss,
    spade_generator_loss,
    upsamplings_for,
)
from vton.families.unet_sa import meta_parameter_count

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
B, H, W = 2, 64, 32  # `normal` (5 upsamplings) starts at 2x1


def inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (B, 9, H, W) in [-1, 1], a one-hot 7-group seg of horizontal bands, a target image."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, 9, H, W, generator=g) * 2 - 1
    ids = (torch.arange(H) * 7 // H).view(1, H, 1).expand(B, H, W)
    seg = F.one_hot(ids, 7).permute(0, 3, 1, 2).float()
    real = torch.tanh(x[:, 6:9] + seg[:, :3])
    return x.to(DEVICE), seg.to(DEVICE), real.to(DEVICE)


def toy_generator(seed: int = 0) -> SPADEGenerator:
    torch.manual_seed(seed)
    return SPADEGenerator(SPADEConfig.toy()).to(DEVICE)


def test_output_shape_and_tanh_range():
    x, seg, _ = inputs()
    with torch.no_grad():
        out = toy_generator()(x, seg)
    assert out.shape == (B, 3, H, W)
    assert out.abs().max() <= 1 and out.std() > 0


def test_depth_must_match_the_input_size():
    assert [upsamplings_for(h) for h in (256, 512, 1024)] == ["normal", "more", "most"]
    assert SPADEConfig.full("normal").start_size(256, 192) == (8, 6)
    with pytest.raises(ValueError, match="height 8 for 300"):
        upsamplings_for(300)
    with pytest.raises(ValueError, match=r"64x48.*divisible by 32.*2x1\.5"):
        SPADEConfig.toy().start_size(64, 48)
    x, seg, _ = inputs()
    with pytest.raises(ValueError, match="48x32"):
        toy_generator()(x[:, :, :48], seg[:, :, :48])
    with pytest.raises(ValueError, match="upsamplings must be one of"):
        SPADEConfig(upsamplings="deep")


def test_spade_with_zero_gamma_and_beta_is_instance_norm_and_seg_matters():
    torch.manual_seed(0)
    norm = SPADE(6, 7, 8, spectral=False).to(DEVICE)
    x, seg, _ = inputs()
    features = x[:, :6] * 3 + 1
    modulated = norm(features, seg)
    other = norm(features, seg.roll(5, 2))
    assert not torch.allclose(modulated, other)
    for conv in (norm.gamma, norm.beta):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    torch.testing.assert_close(norm(features, seg), F.instance_norm(features))


def test_seg_changes_the_generator_output():
    x, seg, _ = inputs()
    model = toy_generator()
    with torch.no_grad():
        assert not torch.allclose(model(x, seg), model(x, seg.flip(2)))


def test_noise_starts_at_zero_and_a_seeded_generator_reproduces_it():
    x, seg, _ = inputs()
    model = toy_generator().eval()  # in training, spectral norm's power iteration moves weights
    scales = [m.noise_scale for m in model.modules() if isinstance(m, SPADE)]
    assert scales and all((s == 0).all() for s in scales)
    with torch.no_grad():
        torch.testing.assert_close(model(x, seg), model(x, seg), rtol=0, atol=0)
        for s in scales:
            s.fill_(0.5)
        a = model(x, seg, torch.Generator(DEVICE).manual_seed(3))
        b = model(x, seg, torch.Generator(DEVICE).manual_seed(3))
        c = model(x, seg, torch.Generator(DEVICE).manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_every_conv_is_spectral_normed_when_configured():
    for module in (toy_generator(), SPADEDiscriminator(SPADEDiscriminatorConfig.toy())):
        convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
        assert convs and all(parametrize.is_parametrized(m, "weight") for m in convs)
    plain = SPADEGenerator(SPADEConfig(ngf=8, hidden=16, spectral=False))
    assert not any(parametrize.is_parametrized(m) for m in plain.modules())


def test_hinge_losses_on_hand_made_scores():
    real = torch.tensor([2.0, 0.5, -1.0])  # relu(1 - r): 0, 0.5, 2 -> mean 5/6
    fake = torch.tensor([-2.0, 0.0, 1.0])  # relu(1 + f): 0, 1, 2 -> mean 1
    torch.testing.assert_close(hinge_discriminator_loss(real, fake), torch.tensor(5 / 6 + 1))
    perfect = hinge_discriminator_loss([torch.full((4,), 3.0)] * 2, [torch.full((4,), -3.0)] * 2)
    assert perfect == 0
    outputs = [(torch.tensor([1.0, 3.0]), []), (torch.tensor([-4.0]), [])]
    image = torch.zeros(1, 3, 4, 4)
    _, terms = spade_generator_loss(image, image, outputs, outputs, SPADELossWeights())
    torch.testing.assert_close(terms["gan"], torch.tensor((-2.0 + 4.0) / 2))
    assert terms["feature_matching"] == 0 and "vgg" not in terms


def test_a_few_adam_steps_lower_the_generator_loss():
    x, seg, real = inputs()
    model, vgg = toy_generator(), tiny_vgg()
    torch.manual_seed(2)
    disc = SPADEDiscriminator(SPADEDiscriminatorConfig.toy()).to(DEVICE).requires_grad_(False)
    real_outputs = disc(seg, real)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.0, 0.9))
    losses = []
    for _ in range(8):
        fake = model(x, seg)
        total, terms = spade_generator_loss(
            fake, real, disc(seg, fake), real_outputs, SPADELossWeights(), vgg
        )
        opt.zero_grad()
        total.backward()
        opt.step()
        losses.append(total.item())
    assert set(terms) == {"gan", "feature_matching", "vgg"}
    assert losses[-1] < losses[0]


def test_save_and_load_round_trip_gives_identical_outputs(tmp_path):
    x, seg, _ = inputs()
    model = toy_generator().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, SPADE):
                m.noise_scale.fill_(0.1)
        before = model(x, seg, torch.Generator(DEVICE).manual_seed(0))
    model.save_pretrained(tmp_path)
    doc = json.loads((tmp_path / "config.json").read_text())
    assert doc["kind"] == "spade" and doc["upsamplings"] == "normal"
    loaded = SPADEGenerator.from_pretrained(tmp_path).to(DEVICE).eval()
    assert loaded.config == model.config
    with torch.no_grad():
        after = loaded(x, seg, torch.Generator(DEVICE).manual_seed(0))
    assert torch.equal(before, after)


def test_full_preset_parameter_count_on_the_meta_device():
    full = SPADEConfig.full()
    assert (full.ngf, full.depth, full.hidden, full.injection) == (64, 7, 128, 16)
    assert full.widths() == [1024] * 3 + [512, 256, 128, 64, 32]
    assert sum(full.upsampled()) == 7 and sum(SPADEConfig.full("more").upsampled()) == 6
    # Spectral norm adds buffers, no parameters; leaving it out skips its slow meta-device
    # power iterations (checked equal on the toy preset).
    toy = meta_parameter_count(lambda: SPADEGenerator(SPADEConfig.toy()))
    plain = replace(SPADEConfig.toy(), spectral=False)
    assert meta_parameter_count(lambda: SPADEGenerator(plain)) == toy
    count = meta_parameter_count(lambda: SPADEGenerator(replace(full, spectral=False)))
    disc_config = replace(SPADEDiscriminatorConfig.full(), spectral=False)
    disc = meta_parameter_count(lambda: SPADEDiscriminator(disc_config))
    print(f"SPADE full preset (most): {count:,} parameters; discriminator {disc:,}")
    assert 50_000_000 < count < 200_000_000
    assert 1_000_000 < disc < 20_000_000
    assert toy < count / 20
