"""Evaluation during training (metrics.jsonl, best.pt, --until), `fewgan evaluate` and `fewgan report`."""
import json

import pytest

from fewgan.train.checkpoint import load_checkpoint

from conftest import TINY

IMAGE_KEYS = {"fd", "kid", "precision", "recall", "density", "coverage", "memorization"}


def _rows(path):
    return [json.loads(l) for l in path.read_text().splitlines()]


def test_eval_every_writes_metrics_and_best(tmp_path, cli):
    out = tmp_path / "r"
    code, _, _ = cli("train", "image", "--out", out, "--steps", 20, "--eval-every", 10, "--eval-n", 200,
                     "--max-images", 300, *TINY)
    assert code == 0
    rows = _rows(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == [10, 20]
    r = rows[-1]
    assert IMAGE_KEYS <= set(r) and r["n_fake"] == 200 and r["n_train"] == 300
    assert r["n_real"] == 1797                               # reference = all digits, not the subset
    assert r["extractor"] == "domain" and r["classifier_heldout_acc"] > 0.8
    best = load_checkpoint(out / "best.pt")
    assert best["best_metric"]["fd"] == min(x["fd"] for x in rows)
    assert list(out.glob("extractor-domain-*.pt")), "the domain classifier is cached in the run directory"


def test_until_stops_early_when_bound_is_met(tmp_path, cli):
    # First a full run to learn the real FD trajectory, then the same deterministic run with a bound
    # taken from that trajectory: it must stop at the first evaluation that meets the bound.
    common = ["--steps", 40, "--eval-every", 10, "--eval-n", 200, "--features", "random", "--deterministic",
              "--seed", 3, *TINY]
    assert cli("train", "image", "--out", tmp_path / "full", *common)[0] == 0
    fds = {r["step"]: r["fd"] for r in _rows(tmp_path / "full" / "metrics.jsonl")}
    assert sorted(fds) == [10, 20, 30, 40]
    bound = min(fds[20], fds[30])          # met at 20 or 30, and (if FD fell) not at 10
    expected = min(s for s in sorted(fds) if fds[s] <= bound)
    code, _, err = cli("train", "image", "--out", tmp_path / "until", *common, "--until", f"fd<={bound!r}")
    assert code == 0 and f"at step {expected}" in err
    ck = load_checkpoint(tmp_path / "until" / "checkpoint.pt")
    assert ck["step"] == expected < 40
    assert [r["fd"] for r in _rows(tmp_path / "until" / "metrics.jsonl")] == [fds[s] for s in range(10, expected + 1, 10)]
    # an unreachable bound runs the whole budget
    assert cli("train", "image", "--out", tmp_path / "never", *common, "--until", "fd<=0")[0] == 0
    assert load_checkpoint(tmp_path / "never" / "checkpoint.pt")["step"] == 40


def test_evaluate_json_and_table(tiny_run, cli):
    code, out, _ = cli("evaluate", tiny_run, "--json", "--n", 200, "--features", "random")
    res = json.loads(out)
    assert code == 0 and IMAGE_KEYS <= set(res) and res["step"] == 20 and res["extractor"] == "random"
    assert 0 <= res["precision"] <= 1 and 0 <= res["memorization"] <= 1
    code, out, _ = cli("evaluate", tiny_run, "--n", 200, "--features", "random")
    assert code == 0 and "fd" in out and "real vs real" in out and "suspected copies" in out
    assert _rows(tiny_run / "metrics.jsonl")[-1]["source"] == "evaluate"


def test_report_is_self_contained(tiny_run, cli):
    code, out, _ = cli("report", tiny_run)
    page = (tiny_run / "report.html").read_text()
    assert code == 0 and "report.html" in out
    for heading in ("Verdict", "Samples", "Real training images", "Nearest-neighbour", "Training curves",
                    "Metric curves", "Config", "Environment"):
        assert heading in page, heading
    assert page.count("data:image/png;base64,") >= 5
    assert "http://" not in page and "https://" not in page     # opens offline


def test_evaluate_errors(tmp_path, cli):
    code, _, err = cli("evaluate", tmp_path)
    assert code == 2 and "not a fewgan run directory" in err
    code, _, err = cli("train", "image", "--until", "fid<=3", "--out", tmp_path / "x")
    assert code == 2 and "unknown metric 'fid'" in err


def test_conditional_runs_report_class_accuracy(tmp_path, cli):
    out = tmp_path / "c"
    assert cli("train", "image", "--out", out, "--steps", 10, "--conditional", "--eval-every", 10,
               "--eval-n", 100, "--max-images", 300, *TINY)[0] == 0
    row = _rows(out / "metrics.jsonl")[-1]
    assert 0 <= row["class_acc"] <= 1 and row["extractor"] == "domain"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit is deprecated in 2.13; the files are TorchScript
def test_inception_torchscript_plumbing(tiny_run, cli, tmp_path):
    """A stand-in with the clean-fid/StyleGAN call signature: model(x in [0, 255], return_features=True)."""
    import torch

    class FakeInception(torch.nn.Module):
        def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
            assert x.shape[1] == 3 and x.shape[2] == 299
            return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3)), x.amax(dim=(2, 3))], 1) / 255.0

    path = tmp_path / "inception.pt"
    torch.jit.script(FakeInception()).save(str(path))
    code, out, err = cli("evaluate", tiny_run, "--json", "--n", 50, "--inception", path)
    assert code == 0, err
    res = json.loads(out)
    assert res["extractor"] == "inception" and res["fd"] >= 0
    code, _, err = cli("evaluate", tiny_run, "--inception", tmp_path / "missing.pt")
    assert code == 2 and "no such file" in err
