import numpy as np
import pytest
import torch

from fewgan import ImageGAN

TINY = dict(res=16, width=4, batch=8, z_dim=8, steps=6, log_every=3)


def test_fit_array_sample_save_load(tmp_path):
    x = np.random.default_rng(0).random((40, 12, 12)).astype(np.float32)
    gan = ImageGAN(**TINY).fit(x)
    s = gan.sample(5)
    assert s.shape == (5, 16, 16, 1) and s.dtype == np.uint8
    path = gan.save(tmp_path / "m.pt")
    again = ImageGAN.load(path)
    assert np.array_equal(again.sample(5, seed=3), gan.sample(5, seed=3))
    assert again.config.steps == 6


def test_fit_dataset_name_with_run_dir_and_labels(tmp_path):
    gan = ImageGAN(**TINY, conditional=True, max_images=50).fit("digits", out=tmp_path / "r")
    assert (tmp_path / "r" / "checkpoint.pt").exists()
    assert gan.sample(4, label=7).shape == (4, 16, 16, 1)
    assert ImageGAN.load(tmp_path / "r").sample(2, label="3").shape == (2, 16, 16, 1)


def test_fit_tensor_with_labels():
    x = torch.rand(30, 3, 16, 16) * 2 - 1
    y = torch.arange(30) % 3
    gan = ImageGAN(**TINY, conditional=True).fit(x, labels=y)
    raw = gan.generate(6, label=[0, 1, 2, 0, 1, 2])
    assert raw.shape == (6, 3, 16, 16) and raw.abs().max() <= 1


def test_sample_before_fit_is_an_error():
    with pytest.raises(RuntimeError, match="not trained"):
        ImageGAN().sample(3)


def test_array_run_cannot_be_resumed_from_cli(tmp_path, capsys):
    from fewgan.cli import main
    x = np.random.default_rng(0).random((20, 16, 16)).astype(np.float32)
    ImageGAN(**TINY).fit(x, out=tmp_path / "arr")
    assert main(["train", "--resume", str(tmp_path / "arr"), "--steps", "10"]) == 2
    assert "in-memory array" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "arr")]) == 2       # needs --data to compare with


def test_load_checks_the_modality(tmp_path):
    from fewgan.errors import UsageError
    from fewgan.train.checkpoint import load_checkpoint, save_checkpoint
    x = np.random.default_rng(0).random((20, 16, 16)).astype(np.float32)
    path = ImageGAN(**TINY).fit(x).save(tmp_path / "m.pt")
    ck = load_checkpoint(path)
    ck["modality"] = "table"
    save_checkpoint(tmp_path / "t.pt", {k: v for k, v in ck.items() if k != "format_version"})
    with pytest.raises(UsageError, match="'table' model"):
        ImageGAN.load(tmp_path / "t.pt")
