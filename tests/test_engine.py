"""End-to-end through the CLI: run directory contents, exact resume, NaN rollback, budgets."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from fewgan.cli import main
from fewgan.losses import GANLoss
from fewgan.train.checkpoint import load_checkpoint

from conftest import TINY, assert_same_checkpoint


def test_run_directory_contents(tiny_run, cli):
    cfg = json.loads((tiny_run / "config.json").read_text())
    assert cfg["engine"]["steps"] == 20 and cfg["options"]["res"] == 16 and cfg["engine"]["augment"] == "ada"
    rows = [json.loads(l) for l in (tiny_run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [5, 10, 15, 20]
    for key in ("loss/G", "loss/D", "D/real", "D/fake", "ada_p", "img_per_s", "kimg"):
        assert key in rows[-1]
    assert sorted(p.name for p in (tiny_run / "samples").iterdir()) == ["step-000010.png", "step-000020.png"]
    assert (tiny_run / "losses.png").stat().st_size > 1000
    ck = torch.load(tiny_run / "checkpoint.pt", weights_only=True)
    assert {"G", "D", "G_ema", "opt_G", "opt_D", "ada", "rng", "config", "step", "format_version"} <= set(ck)
    assert ck["step"] == 20
    code, out, _ = cli("info", tiny_run)
    assert code == 0 and "step 20" in out and "loss ns" in out
    code, out, _ = cli("info", tiny_run, "--json")
    assert json.loads(out)["step"] == 20


def test_sample_png_and_npz(tiny_run, cli, tmp_path):
    code, _, _ = cli("sample", tiny_run, "-n", 9, "--out", tmp_path / "g.png")
    assert code == 0 and Image.open(tmp_path / "g.png").size[0] >= 256
    code, _, _ = cli("sample", tiny_run, "-n", 5, "--out", tmp_path / "s.npz")
    z = np.load(tmp_path / "s.npz")
    assert z["samples"].shape == (5, 16, 16, 1) and z["samples"].dtype == np.uint8
    assert z["raw"].shape == (5, 1, 16, 16) and np.abs(z["raw"]).max() <= 1
    # same seed, same samples (sampling never depends on global RNG state)
    cli("sample", tiny_run, "-n", 5, "--out", tmp_path / "t.npz")
    assert np.array_equal(np.load(tmp_path / "t.npz")["raw"], z["raw"])


@pytest.mark.parametrize("extra", [[], ["--conditional", "--loss", "wgan-gp", "--augment", "diffaug",
                                   "--eval-every", "6", "--eval-n", "50"]])
def test_resume_is_bitwise_exact(tmp_path, cli, extra):
    common = ["--data", "digits", "--deterministic", "--seed", "7", "--r1-every", "4", *TINY, *extra]
    assert cli("train", "image", "--out", tmp_path / "straight", "--steps", 24, *common)[0] == 0
    assert cli("train", "image", "--out", tmp_path / "split", "--steps", 12, *common)[0] == 0
    assert cli("train", "--resume", tmp_path / "split", "--steps", 24, "--quiet")[0] == 0
    assert load_checkpoint(tmp_path / "split" / "checkpoint.pt")["step"] == 24
    assert_same_checkpoint(tmp_path / "straight" / "checkpoint.pt", tmp_path / "split" / "checkpoint.pt")
    steps = [json.loads(l)["step"] for l in (tmp_path / "split" / "stats.jsonl").read_text().splitlines()]
    assert steps == [5, 10, 12, 15, 20, 24]


def test_same_seed_same_checkpoint_whatever_the_global_generators(tmp_path, cli):
    """Two runs of one seed write equal checkpoints, every tensor and RNG state included, even when
    numpy's and Python's global generators start elsewhere (as they do in two fresh processes)."""
    import random
    common = ["--data", "digits", "--deterministic", "--seed", "4", "--steps", 10, *TINY]
    for i, name in enumerate(("a", "b")):
        np.random.seed(i)
        random.seed(i)
        assert cli("train", "image", "--out", tmp_path / name, *common)[0] == 0
    assert_same_checkpoint(tmp_path / "a" / "checkpoint.pt", tmp_path / "b" / "checkpoint.pt")


def test_minutes_budget(tmp_path, cli):
    code, out, _ = cli("train", "image", "--out", tmp_path / "r", "--minutes", 0.02, *TINY)
    ck = load_checkpoint(tmp_path / "r" / "checkpoint.pt")
    assert code == 0 and ck["step"] >= 1 and 0.9 <= ck["elapsed_s"] < 30


def test_nan_guard_rolls_back_with_halved_lr(tmp_path, cli, monkeypatch):
    real_g_main = GANLoss.g_main
    calls = {"n": 0}

    def flaky(self, z, c):  # one NaN loss at the 13th G step, fine afterwards
        calls["n"] += 1
        loss = real_g_main(self, z, c)
        return loss * float("nan") if calls["n"] == 13 else loss

    monkeypatch.setattr(GANLoss, "g_main", flaky)
    # evaluation every 5 steps must never run on the diverged model (it would crash or log junk)
    code, _, err = cli("train", "image", "--out", tmp_path / "r", "--steps", 20, *TINY, "--ckpt-every", 10,
                       "--eval-every", 5, "--eval-n", 50, "--features", "random")
    assert code == 0
    ck = load_checkpoint(tmp_path / "r" / "checkpoint.pt")
    assert ck["step"] == 20 and ck["rollbacks"] == 1
    assert ck["opt_G"]["param_groups"][0]["lr"] == pytest.approx(ck["config"]["engine"]["g_lr"] / 2)
    assert all(torch.isfinite(t).all() for t in ck["G"].values())
    rows = [json.loads(l) for l in (tmp_path / "r" / "stats.jsonl").read_text().splitlines()]
    assert any(r.get("event") == "rollback" for r in rows)
    metrics = [json.loads(l) for l in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(m["fd"]) for m in metrics)


def test_nan_guard_gives_up_after_three_rollbacks(tmp_path, cli, monkeypatch):
    real_g_main = GANLoss.g_main
    monkeypatch.setattr(GANLoss, "g_main", lambda self, z, c: real_g_main(self, z, c) * float("nan"))
    code, _, err = cli("train", "image", "--out", tmp_path / "r", "--steps", 20, *TINY)
    assert code == 1
    assert "non-finite" in err and "3 rollbacks" in err and "Traceback" not in err
    ck = load_checkpoint(tmp_path / "r" / "checkpoint.pt")      # the last good checkpoint survives
    assert ck["step"] == 0 and all(torch.isfinite(t).all() for t in ck["G"].values())


def test_failed_start_leaves_nothing_behind(tmp_path, cli, monkeypatch):
    from fewgan.train.loop import Engine

    def boom(self):
        raise RuntimeError("simulated failure before the first checkpoint")

    monkeypatch.setattr(Engine, "fit", boom)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RuntimeError):
        main(["train", "image", "--out", str(empty), "--steps", "5", *TINY])
    assert empty.is_dir() and not any(empty.iterdir())
    with pytest.raises(RuntimeError):
        main(["train", "image", "--out", str(tmp_path / "a" / "b" / "c"), "--steps", "5", *TINY])
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("data,channels", [("faces100", 1), ("histology", 3)])
def test_builtin_datasets_train_end_to_end(tmp_path, cli, data, channels):
    out = tmp_path / data
    assert cli("train", "image", "--data", data, "--out", out, "--steps", 4, "--max-images", 50, *TINY)[0] == 0
    ck = load_checkpoint(out / "checkpoint.pt")
    assert ck["step"] == 4 and ck["codec"]["channels"] == channels and ck["config"]["engine"]["augment"] == "ada"
    assert (out / "samples" / "step-000004.png").exists()


def test_interrupt_saves_a_resumable_checkpoint(tmp_path, cli, monkeypatch):
    from fewgan.train.loop import Engine
    real_step = Engine.train_step

    def step_then_ctrl_c(self):
        real_step(self)
        if self.step == 7:
            self._request_stop()          # what the SIGINT handler does

    monkeypatch.setattr(Engine, "train_step", step_then_ctrl_c)
    code, out, err = cli("train", "image", "--out", tmp_path / "r", "--steps", 50, *TINY)
    assert code == 130 and "interrupted" in err and "--resume" in err and "done" not in out
    assert load_checkpoint(tmp_path / "r" / "checkpoint.pt")["step"] == 7
    monkeypatch.setattr(Engine, "train_step", real_step)
    assert cli("train", "--resume", tmp_path / "r", "--steps", 12, "--quiet")[0] == 0
    assert load_checkpoint(tmp_path / "r" / "checkpoint.pt")["step"] == 12
