import json

import numpy as np
import pytest
import torch

from fewgan.config import TrainConfig
from fewgan.errors import UsageError
from fewgan.train.checkpoint import (atomic_write_text, load_checkpoint, rng_state, save_checkpoint,
                                     set_rng_state)


def test_config_round_trips(tmp_path):
    cfg = TrainConfig(data="faces100", steps=10, res=24, loss="hinge", r1_gamma=0.5, extra={"a": 1})
    cfg.save(tmp_path / "c.json")
    assert TrainConfig.load(tmp_path / "c.json") == cfg
    assert json.loads((tmp_path / "c.json").read_text())["loss"] == "hinge"


@pytest.mark.parametrize("kw,msg", [({"loss": "wgan"}, "unknown loss"), ({"augment": "x"}, "unknown augment"),
                                    ({"aug_ops": "color,blur"}, "unknown aug op"), ({"steps": 0}, "steps"),
                                    ({"batch": 0}, "batch"), ({"g_lr": float("nan")}, "g-lr"),
                                    ({"device": "tpu"}, "unknown device"), ({"res": 4}, "res"),
                                    ({"seed": -1}, "seed"), ({"ada_kimg": 0}, "ada-kimg"),
                                    ({"ada_target": 1.5}, "ada-target"), ({"ema_kimg": -1}, "ema-kimg")])
def test_config_validation(kw, msg):
    with pytest.raises(UsageError, match=msg):
        TrainConfig(**kw).validate()


def test_unknown_config_key():
    with pytest.raises(UsageError, match="unknown keys"):
        TrainConfig.from_dict({"nope": 1})


def test_checkpoint_is_weights_only_and_atomic(tmp_path):
    p = tmp_path / "ck.pt"
    net = torch.nn.Linear(3, 2)
    save_checkpoint(p, {"net": net.state_dict(), "step": 5, "rng": rng_state(), "cfg": {"a": [1, 2.5, "x"]}})
    ck = torch.load(p, weights_only=True)
    assert ck["step"] == 5 and ck["format_version"] == 1 and torch.equal(ck["net"]["weight"], net.weight)
    assert [f.name for f in tmp_path.iterdir()] == ["ck.pt"]     # no temp file left behind
    assert load_checkpoint(p)["cfg"] == {"a": [1, 2.5, "x"]}


def test_corrupt_checkpoint_is_a_usage_error(tmp_path):
    (tmp_path / "ck.pt").write_bytes(b"garbage")
    with pytest.raises(UsageError, match="corrupt"):
        load_checkpoint(tmp_path / "ck.pt")


def test_rng_state_round_trip():
    import random
    st = rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(st)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "f.txt"
    atomic_write_text(p, "good")
    import os
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        atomic_write_text(p, "bad")
    assert p.read_text() == "good" and len(list(tmp_path.iterdir())) == 1
