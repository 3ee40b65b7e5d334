"""Crash anywhere: SIGKILL deterministic table and image runs while a checkpoint is written, while
best.pt is replaced, while stats.jsonl / metrics.jsonl get a line, and at a random moment; resume
after each kill. The resume always starts, no log line is torn or repeated (lines past the
checkpoint's step are dropped on resume), and the finished run equals one never killed, bitwise.
benchmarks/crash.py runs 20 kills per modality with the same harness."""
import numpy as np
import pandas as pd
import pytest

import crash_harness as ch
from conftest import assert_same_checkpoint

from fewgan.cli import main

TABLE = ["--batch", "10", "--pac", "5", "--width", "8", "--z-dim", "8", "--eval-n", "30"]
IMAGE = ["--data", "digits", "--max-images", "64", "--res", "16", "--width", "4", "--batch", "8", "--z-dim", "8",
         "--features", "random", "--eval-n", "32"]
COMMON = ["--deterministic", "--seed", "2", "--threads", "1", "--log-every", "5", "--ckpt-every", "10",
          "--eval-every", "10", "--sample-every", "10", "--quiet"]


def table_csv(path, n=60):
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(0, 1, n).round(3), "k": rng.choice(["a", "b", "c"], n),
                  "i": rng.integers(0, 50, n)}).to_csv(path, index=False)
    return path


def crash_chain(tmp_path, modality, args, steps, kills):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    first = ["train", modality, *args, "--out", killed, "--steps", steps]
    resume = ["train", "--resume", killed, "--steps", steps, "--quiet"]
    log = []
    for i, kill in enumerate(kills):
        r = ch.run_until_killed(first if i == 0 else resume, kill)
        log.append(r)
        assert r["killed"], f"the run ended before kill point {kill}: {r['stderr'][-3:]}"
        assert (killed / "checkpoint.pt").is_file(), f"no checkpoint after kill {kill}"
    done = ch.finish(resume)
    assert done["rc"] == 0, done["stderr"][-2000:]
    assert main(["train", modality, *map(str, args), "--out", str(straight), "--steps", str(steps)]) == 0
    assert_same_checkpoint(straight / "checkpoint.pt", killed / "checkpoint.pt")
    assert_same_checkpoint(straight / "best.pt", killed / "best.pt")
    assert not ch.compare_logs(straight, killed), ch.compare_logs(straight, killed)
    assert not ch.leftovers(killed)
    return log


def test_table_run_survives_kills_anywhere(tmp_path):
    data = table_csv(tmp_path / "t.csv")
    # first kill after the step-0 checkpoint exists (the first best.pt comes after it)
    crash_chain(tmp_path, "table", ["--data", data, *TABLE, *COMMON], 30,
                ["fsync:best.pt:1", "append:metrics.jsonl:1", "write:checkpoint.pt:2"])


def test_image_run_survives_kills_anywhere(tmp_path):
    crash_chain(tmp_path, "image", [*IMAGE, *COMMON], 30, ["append:stats.jsonl:2", "write:best.pt:1"])
