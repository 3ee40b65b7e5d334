"""`--device cuda` end to end: every modality trains, resumes exactly, samples and evaluates on a GPU,
and a run trained there opens on the CPU. Runs only where CUDA is available (CI has none); the
same paths on the CPU are covered by the other test files."""
import json

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import TINY, TINY_S
from fewgan import TableGAN
from fewgan.train.checkpoint import load_checkpoint

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

TINY_T = ["--batch", "20", "--pac", "5", "--width", "16", "--z-dim", "8", "--log-every", "5", "--sample-every", "10",
          "--ckpt-every", "10", "--quiet"]


def _table_csv(path, n=150):
    rng = np.random.default_rng(0)
    sex = rng.choice(["Female", "Male"], n)
    pd.DataFrame({"age": rng.integers(18, 90, n), "income": np.where(sex == "Male", 50, 40) + rng.normal(0, 5, n),
                  "sex": sex}).to_csv(path, index=False)
    return path


def _cases(tmp_path):
    return {
        "image": ["image", "--data", "digits", "--conditional", "--r1-every", "4", *TINY],
        "image-diffaug-wgan": ["image", "--data", "digits", "--augment", "diffaug", "--loss", "wgan-gp", *TINY],
        # bilinear upsampling: under --deterministic, CUDA takes torch's decomposed (index_put) backward
        # (TINY's --res 16 is below FastGAN's 32; the later flag wins)
        "image-fastgan": ["image", "--data", "digits", "--arch", "fastgan", "--max-images", "64", *TINY,
                          "--res", "32", "--width", "2"],
        "table": ["table", "--data", _table_csv(tmp_path / "t.csv"), *TINY_T],
        "series-rgan": ["series", "--data", "sines", "--model", "rgan", *TINY_S],
        "series-timegan": ["series", "--data", "sines", "--model", "timegan", "--ae-steps", "6", "--sup-steps", "6",
                           *TINY_S],
    }


@pytest.mark.parametrize("case", ["image", "image-diffaug-wgan", "image-fastgan", "table", "series-rgan", "series-timegan"])
def test_train_resume_sample_on_cuda(tmp_path, cli, case):
    kind, *args = _cases(tmp_path)[case]
    common = [*args, "--deterministic", "--seed", "5", "--device", "cuda"]
    assert cli("train", kind, "--out", tmp_path / "straight", "--steps", 20, *common)[0] == 0
    assert cli("train", kind, "--out", tmp_path / "split", "--steps", 10, *common)[0] == 0
    code, _, err = cli("train", "--resume", tmp_path / "split", "--steps", 20, "--quiet")
    assert code == 0, err
    a = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    b = load_checkpoint(tmp_path / "split" / "checkpoint.pt")
    assert a["step"] == b["step"] == 20 and a["config"]["engine"]["device"] == "cuda"
    for part in ("G", "D", "G_ema"):
        for k, t in a[part].items():
            assert t.device.type == "cpu"  # checkpoints hold CPU tensors: they open anywhere
            assert torch.equal(t, b[part][k]), (part, k)
    ext = {"image": "npz", "table": "csv", "series": "npy"}[kind]
    for dev in ("cuda", "cpu"):  # a GPU run samples on either device
        code, _, err = cli("sample", tmp_path / "split", "-n", 6, "--out", tmp_path / f"s-{dev}.{ext}", "--device", dev)
        assert code == 0, err
    code, out, err = cli("evaluate", tmp_path / "split", "--json", "--n", 100, "--device", "cuda")
    assert code == 0, err
    assert all(np.isfinite(v) for v in json.loads(out).values() if isinstance(v, float))


def test_api_fit_on_cuda_load_on_cpu(tmp_path):
    df = pd.read_csv(_table_csv(tmp_path / "t.csv"))
    gan = TableGAN(steps=20, batch=20, pac=5, width=16, z_dim=8, device="cuda").fit(df)
    s = gan.sample(30, conditions={"sex": "Female"})
    assert len(s) == 30 and (s["sex"] == "Female").all()
    gan.save(tmp_path / "m.pt")
    back = TableGAN.load(tmp_path / "m.pt", device="cpu")
    assert len(back.sample(10)) == 10
