"""FastGAN-style nets (--arch fastgan) and the medical patch datasets (retina, microaneurysms)."""
import json

import numpy as np
import pytest
import torch

from fewgan.data.image import load_images
from fewgan.losses import GANLoss
from fewgan.nets.fastgan import FastGANDiscriminator, FastGANGenerator
from fewgan.train.checkpoint import load_checkpoint

from conftest import assert_same_checkpoint


def test_skip_layer_excitation_gates_the_output():
    torch.manual_seed(0)
    # Train mode: BN normalises by the batch. In eval mode a fresh G's running stats shrink every
    # activation to ~1e-4, and the gates' effect fell to the size of allclose's tolerance.
    G = FastGANGenerator(res=32, channels=1, z_dim=8, width=2)
    z = torch.randn(4, 8)
    before = G(z)
    with torch.no_grad():
        G.sle["3"].net[3].weight.zero_()               # gates sigmoid(0) = 0.5 everywhere
    assert (before - G(z)).abs().max() > 1e-3


def test_recon_loss_joins_d_loss_only_for_a_self_supervised_d():
    torch.manual_seed(0)
    G, D = FastGANGenerator(32, 1, 8, 2), FastGANDiscriminator(32, 1, 2)
    seen = {}
    loss = GANLoss(G, D, "ns", report=lambda k, v: seen.__setitem__(k, float(v.detach())))
    real, fake = torch.rand(4, 1, 32, 32) * 2 - 1, G(torch.randn(4, 8))
    total, _ = loss.d_main(real, None, fake, None)
    assert seen["loss/D_recon"] > 0
    assert float(total.detach()) == pytest.approx(seen["loss/D"] + seen["loss/D_recon"], rel=1e-6)


def test_fastgan_resume_is_bitwise_exact(tmp_path, cli):
    # 4 + 4 steps against 8: the quadrant each D step reconstructs comes from the saved generator.
    common = ["--data", "digits", "--arch", "fastgan", "--res", "32", "--width", "2", "--batch", "8",
              "--z-dim", "8", "--deterministic", "--seed", "3", "--r1-every", "2", "--augment", "diffaug",
              "--max-images", "64", "--log-every", "2", "--sample-every", "100", "--ckpt-every", "100", "--quiet"]
    assert cli("train", "image", "--out", tmp_path / "straight", "--steps", 8, *common)[0] == 0
    assert cli("train", "image", "--out", tmp_path / "split", "--steps", 4, *common)[0] == 0
    assert cli("train", "--resume", tmp_path / "split", "--steps", 8, "--quiet")[0] == 0
    ck = load_checkpoint(tmp_path / "split" / "checkpoint.pt")
    assert ck["step"] == 8 and ck["config"]["options"]["arch"] == "fastgan"
    assert ck["config"]["options"]["upsample"] == "bilinear"        # the default is saved, so resume rebuilds it
    assert any(k.startswith("dec_part.") for k in ck["D"])          # it really trained FastGAN's D
    assert_same_checkpoint(tmp_path / "straight" / "checkpoint.pt", tmp_path / "split" / "checkpoint.pt")
    rows = [json.loads(l) for l in (tmp_path / "split" / "stats.jsonl").read_text().splitlines()]
    assert all(r["loss/D_recon"] > 0 for r in rows)


@pytest.mark.parametrize("args,words", [
    (["--arch", "stylegan"], "--arch 'stylegan': unknown value: use one of dcgan, fastgan"),
    (["--arch", "fastgan", "--res", "48"], "--arch fastgan needs --res 32, 64 or 128"),
    (["--upsample", "nearest"], "--upsample nearest applies to --arch fastgan only"),
    (["--arch", "fastgan", "--upsample", "cubic"], "--upsample 'cubic': unknown value: use one of bilinear, nearest"),
])
def test_bad_arch_is_one_line(tmp_path, cli, args, words):
    code, _, err = cli("train", "image", "--data", "digits", "--out", tmp_path / "o", "--steps", 1, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and words in lines[0], err
    assert not (tmp_path / "o").exists()


def test_retina_patches_are_seeded_and_inside_the_fundus():
    a, b, other = load_images("retina", 0), load_images("retina", 0), load_images("retina", 1)
    assert a.x.shape == (800, 3, 64, 64) and a.x.dtype == np.float32 and a.natural_res == 64
    assert np.array_equal(a.x, b.x) and not np.array_equal(a.x, other.x)
    # No black background: a pixel dark in every channel is rare inside the disc (vessels are red).
    assert (a.x.max(axis=1) < 8 / 255).mean() < 1e-3
    assert a.x.std() > 0.02


def test_microaneurysms_patches():
    a = load_images("microaneurysms", 0)
    assert a.x.shape == (500, 1, 32, 32) and a.natural_res == 32
    assert np.array_equal(a.x, load_images("microaneurysms", 0).x)
    assert not np.array_equal(a.x, load_images("microaneurysms", 5).x)


def test_upsample_choices_match_the_nets_and_old_runs_rebuild_nearest():
    from fewgan.config import TrainConfig
    from fewgan.modalities.image import UPSAMPLE
    from fewgan.modalities.image.modality import ImageCodec, ImageModality
    from fewgan.nets import fastgan
    assert UPSAMPLE == fastgan.UPSAMPLE
    # A fastgan config saved before --upsample existed has no key: its G upsampled by nearest.
    old = TrainConfig.from_dict({"format": 2, "modality": "image", "engine": {"z_dim": 8},
                                 "options": {"res": 32, "arch": "fastgan", "width": 2}})
    assert old.options.upsample is None
    G, _ = ImageModality().build_nets(old, ImageCodec(32, 1, None))
    assert {m.mode for m in G.modules() if isinstance(m, torch.nn.Upsample)} == {"nearest"}
    G, _ = ImageModality().build_nets(old.replace(options=old.options.replace(upsample="bilinear")), ImageCodec(32, 1, None))
    assert {m.mode for m in G.modules() if isinstance(m, torch.nn.Upsample)} == {"bilinear"}


@pytest.mark.parametrize("res,arch_given,batch_given,arch,batch,upsample", [
    (32, None, None, "dcgan", 32, None), (64, None, None, "fastgan", 16, "bilinear"),
    (128, None, None, "fastgan", 16, "bilinear"), (64, "dcgan", None, "dcgan", 32, None),
    (32, "fastgan", None, "fastgan", 16, "bilinear"), (64, None, 32, "fastgan", 32, "bilinear")])
def test_defaults_by_resolution(res, arch_given, batch_given, arch, batch, upsample):
    from types import SimpleNamespace
    from fewgan.config import TrainConfig
    from fewgan.modalities.image.modality import ImageCodec, ImageModality
    cfg = TrainConfig(modality="image", batch=batch_given)
    cfg = cfg.replace(options=cfg.options.replace(arch=arch_given))
    got = ImageModality().resolve_defaults(cfg, SimpleNamespace(codec=ImageCodec(res, 3, None)))
    assert (got.options.arch, got.batch, got.options.upsample) == (arch, batch, upsample)
