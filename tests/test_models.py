"""The try-on models at toy width on CPU: shapes, gradients, warping, saving and loading."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from model_data import tiny_vgg_state

from vton.evaluate.features import LPIPS, FeatureNet, fid, kid
from vton.families.tryon_model import TryOnModel
from vton.models import (
    GMM,
    PERSON_CHANNELS,
    TOM,
    GMMConfig,
    PatchDiscriminator,
    TOMConfig,
    person_representation,
)
from vton.models.discriminator import DiscriminatorConfig
from vton.models.gmm import TPSGridGenerator, lattice_smoothness
from vton.models.losses import PerceptualLoss, feature_matching, gram, lsgan_d, lsgan_g
from vton.models.vgg import load_vgg

H, W, B = 64, 48, 2


def inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    person = torch.rand(B, PERSON_CHANNELS, H, W, generator=g)
    cloth = torch.rand(B, 3, H, W, generator=g) * 2 - 1
    mask = (torch.rand(B, 1, H, W, generator=g) > 0.5).float()
    return person, cloth, mask


def tiny_gmm() -> GMM:
    return GMM(GMMConfig(width=4, levels=3, grid=4, height=H, image_width=W))


def grads_reach_every_parameter(module: torch.nn.Module, loss: torch.Tensor) -> None:
    loss.backward()
    missing = [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing
    assert all(torch.isfinite(p.grad).all() for p in module.parameters() if p.grad is not None)


def test_gmm_shapes_gradients_and_identity_start():
    torch.manual_seed(0)
    gmm = tiny_gmm()
    person, cloth, mask = inputs()
    out = gmm(person, cloth, mask)
    assert out.warped_cloth.shape == (B, 3, H, W) and out.warped_mask.shape == (B, 1, H, W)
    assert out.grid.shape == (B, H, W, 2) and out.lattice.shape == (B, 4, 4, 2)
    # The regressor starts at zero offsets: the warp is the identity.
    torch.testing.assert_close(out.warped_cloth, cloth, atol=1e-4, rtol=0)
    assert lattice_smoothness(out.lattice).item() < 1e-6
    # Zero-initialised last layer: perturb it so gradients reach the encoders too.
    torch.nn.init.normal_(gmm.regressor[-1].weight, std=1e-3)
    out = gmm(person, cloth, mask)
    grads_reach_every_parameter(gmm, (out.warped_cloth - cloth.flip(0)).abs().mean())


def test_gmm_runs_at_any_input_resolution():
    gmm = tiny_gmm()
    person, cloth, mask = (torch.nn.functional.interpolate(x, size=(128, 96)) for x in inputs())
    out = gmm(person, cloth, mask)
    assert out.warped_cloth.shape == (B, 3, 128, 96)


def person_batch() -> dict:
    g = torch.Generator().manual_seed(3)
    keypoints = torch.rand(B, 25, 3, generator=g) * torch.tensor([W, H, 1.0])
    keypoints[:, 0] = torch.tensor([10.0, 20.0, 1.0])  # the nose at x=10, y=20
    keypoints[:, 1, 2] = 0  # the neck missing
    return {
        "agnostic": torch.rand(B, 3, H, W, generator=g) * 2 - 1,
        "parse_agnostic": torch.randint(0, 13, (B, H, W), generator=g, dtype=torch.uint8),
        "densepose": torch.randint(0, 25, (B, H, W), generator=g, dtype=torch.uint8),
        "keypoints": keypoints,
    }


def test_person_representation_expands_ids_and_keypoints():
    batch = person_batch()
    person = person_representation(batch)
    assert person.shape == (B, PERSON_CHANNELS, H, W) == (B, 66, H, W)
    torch.testing.assert_close(person[:, :3], batch["agnostic"])
    parse = person[:, 3:16]
    assert torch.equal(parse.argmax(1), batch["parse_agnostic"].long())
    assert torch.equal(parse.sum(1), torch.ones(B, H, W))
    nose, neck = person[:, 16], person[:, 17]
    assert divmod(int(nose[0].flatten().argmax()), W) == (20, 10) and float(nose.max()) == 1
    assert float(neck.abs().max()) == 0  # a missing point gives an empty channel
    assert torch.equal(person[:, 41:].argmax(1), batch["densepose"].long())
    with pytest.raises(KeyError, match="keypoints"):
        person_representation({k: v for k, v in batch.items() if k != "keypoints"})
    with pytest.raises(ValueError, match="above the 13 classes"):
        person_representation(batch | {"parse_agnostic": batch["parse_agnostic"] + 13})


def test_tps_reproduces_an_affine_map_exactly():
    tps = TPSGridGenerator(4)
    scale = torch.tensor([0.8, 1.1])
    shift = torch.tensor([0.1, -0.05])
    targets = (tps.points * scale + shift)[None]
    grid = tps(targets, 8, 6)
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 8), torch.linspace(-1, 1, 6), indexing="ij")
    expected = torch.stack([xs, ys], -1) * scale + shift
    torch.testing.assert_close(grid[0], expected, atol=1e-4, rtol=0)


def test_tom_shapes_gradients_and_composition():
    torch.manual_seed(0)
    tom = TOM(TOMConfig(width=4, depth=3))
    person, cloth, mask = inputs()
    region = torch.zeros(B, 1, H, W)
    region[..., 10:50, 8:40] = 1  # the agnostic mask: where the garment may go
    out = tom(person, cloth, mask, region)
    assert out.result.shape == out.rendered.shape == (B, 3, H, W)
    assert out.mask.shape == (B, 1, H, W)
    assert out.mask.min().item() >= 0 and out.mask.max().item() <= 1
    composed = cloth * out.mask + out.rendered * (1 - out.mask)
    torch.testing.assert_close(out.result, composed * region + person[:, :3] * (1 - region))
    grads_reach_every_parameter(tom, out.result.abs().mean())
    with pytest.raises(ValueError, match="pass agnostic_mask"):
        tom(person, cloth, mask)
    free = TOM(TOMConfig(width=4, depth=3, keep_unmasked=False))(person, cloth, mask)
    torch.testing.assert_close(free.result, cloth * free.mask + free.rendered * (1 - free.mask))


def test_discriminator_shapes_gradients_and_gan_losses():
    torch.manual_seed(0)
    d = PatchDiscriminator(DiscriminatorConfig(width=4, layers=2))
    person, cloth, _ = inputs()
    score, features = d(cloth, person)
    assert score.shape == (B, 1, H // 4, W // 4) and len(features) == 3
    real_score, real_features = d(cloth.flip(0), person)
    loss = lsgan_d(real_score, score) + lsgan_g(score) + feature_matching(real_features, features)
    grads_reach_every_parameter(d, loss)


def test_contracts_are_checked_with_what_arrived():
    gmm = tiny_gmm()
    person, cloth, mask = inputs()
    with pytest.raises(
        ValueError, match=r"person must be \(B, 66, H, W\).*got shape \(2, 3, 64, 48\)"
    ):
        gmm(cloth, cloth, mask)
    with pytest.raises(ValueError, match="cloth_mask must be 64x48"):
        gmm(person, cloth, mask[..., :32, :])
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth"):
        TOM(TOMConfig(width=4, depth=3, keep_unmasked=False))(
            person[..., :60, :], cloth[..., :60, :], mask[..., :60, :]
        )


def test_models_save_config_beside_weights_and_rebuild(tmp_path):
    torch.manual_seed(0)
    gmm, tom = tiny_gmm(), TOM(TOMConfig(width=4, depth=3))
    torch.nn.init.normal_(gmm.regressor[-1].weight, std=1e-2)
    gmm.save_pretrained(tmp_path / "gmm")
    tom.save_pretrained(tmp_path / "tom")
    config = json.loads((tmp_path / "gmm" / "config.json").read_text())
    assert config["kind"] == "gmm" and config["width"] == 4 and config["height"] == H
    assert (tmp_path / "gmm" / "model.safetensors").is_file()
    _, cloth, mask = inputs()
    pipe = TryOnModel.from_pretrained(tmp_path / "gmm", tmp_path / "tom")
    assert pipe.family == "gmm+tom" and pipe.size == (H, W)
    batch = person_batch() | {"cloth": cloth, "cloth_mask": mask, "agnostic_mask": mask}
    out = pipe(batch)
    person = person_representation(batch)
    warped = gmm(person, cloth, mask)
    torch.testing.assert_close(out.warped_cloth, warped.warped_cloth)
    torch.testing.assert_close(
        out.result, tom.eval()(person, warped.warped_cloth, warped.warped_mask, mask).result
    )
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        GMM.from_pretrained(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="another kind"):
        GMM.from_pretrained(tmp_path / "tom")


def test_perceptual_and_style_from_a_local_vgg_file(tmp_path):
    path = tmp_path / "vgg.pth"
    torch.save(tiny_vgg_state(), path)
    vgg = load_vgg(path)
    assert vgg.channels == [4, 8, 8, 16, 16]
    loss = PerceptualLoss(vgg)
    _, cloth, _ = inputs()
    x = cloth.clone().requires_grad_(True)
    perceptual, style = loss(x, cloth.flip(0))
    (perceptual + style).backward()
    assert (
        perceptual.item() > 0
        and x.grad is not None
        and not any(p.requires_grad for p in vgg.parameters())
    )
    assert float(loss(cloth, cloth)[0]) == 0
    assert gram(torch.ones(1, 2, 3, 3)).shape == (1, 2, 2)
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match=r"no VGG 'features\.N\.weight' keys"):
        load_vgg(tmp_path / "other.pth")


def test_lpips_and_fid_kid_from_local_weights(tmp_path):
    torch.save(tiny_vgg_state(), tmp_path / "vgg16.pth")
    torch.save(
        {f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1) for k, c in enumerate((4, 8, 8, 16, 16))},
        tmp_path / "lin.pth",
    )
    lpips = LPIPS(tmp_path / "vgg16.pth", tmp_path / "lin.pth")
    _, cloth, _ = inputs()
    same, other = lpips(cloth, cloth), lpips(cloth, cloth.flip(0))
    assert same.shape == (B,) and float(same.abs().max()) < 1e-6 and float(other.min()) > 0
    torch.save({"lin0.model.1.weight": torch.rand(1, 3, 1, 1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match=r"lin0.\*.weight of shape \(1, 4, 1, 1\)"):
        LPIPS(tmp_path / "vgg16.pth", tmp_path / "bad.pth")

    class Pool(torch.nn.Module):
        def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
            pooled = torch.nn.functional.adaptive_avg_pool2d(x, 2).flatten(1)
            return pooled if return_features else pooled[:, :1]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(Pool()).save(str(tmp_path / "features.pt"))
    net = FeatureNet(tmp_path / "features.pt", size=16)
    assert net.ask_features and net(cloth).shape == (B, 12)
    g = torch.Generator().manual_seed(0)
    a = torch.randn(64, 12, generator=g, dtype=torch.float64).numpy()
    b = torch.randn(64, 12, generator=g, dtype=torch.float64).numpy()
    assert abs(fid(a, a)) < 1e-6 and fid(a, b + 3) > fid(a, b) > 0
    assert kid(a, b + 3, subset=32) > kid(a, b, subset=32)
