"""Every bad input: exit code 2, exactly one line on stderr, no traceback, the existing run untouched."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import tree_digest


def _folder(tmp_path, name, sizes=((16, 16),), corrupt=False):
    d = tmp_path / name
    d.mkdir()
    for i, (w, h) in enumerate(sizes):
        Image.fromarray(np.zeros((h, w), np.uint8)).save(d / f"{i}.png")
    if corrupt:
        (d / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    return d


def bad_inputs(tmp_path, run):
    empty = tmp_path / "empty"
    empty.mkdir()
    notrun = tmp_path / "notrun"
    notrun.mkdir()
    (notrun / "x.txt").write_text("hi")
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((4, 8, 8), np.nan, np.float32))
    return {
        "missing path": ["train", "image", "--data", tmp_path / "nope" / "imgs", "--out", tmp_path / "o1"],
        "empty folder": ["train", "image", "--data", empty, "--out", tmp_path / "o2"],
        "corrupt image": ["train", "image", "--data", _folder(tmp_path, "c", corrupt=True), "--out", tmp_path / "o3"],
        "mixed sizes": ["train", "image", "--data", _folder(tmp_path, "m", [(16, 16), (20, 20)]), "--out", tmp_path / "o4"],
        "unknown dataset": ["train", "image", "--data", "cifar10", "--out", tmp_path / "o5"],
        "nan data": ["train", "image", "--data", nan, "--out", tmp_path / "o6"],
        "bad steps": ["train", "image", "--steps", "-3", "--out", tmp_path / "o7"],
        "bad steps text": ["train", "image", "--steps", "many", "--out", tmp_path / "o8"],
        "bad loss": ["train", "image", "--loss", "wgan", "--out", tmp_path / "o9"],
        "bad res": ["train", "image", "--res", "36", "--out", tmp_path / "o10"],
        "unknown flag": ["train", "image", "--stepz", "3"],
        "too many images": ["train", "image", "--max-images", "5000", "--out", tmp_path / "o11"],
        "conditional without labels": ["train", "image", "--data", "faces100", "--conditional", "--out", tmp_path / "o12"],
        "resume non-run": ["train", "--resume", notrun, "--steps", "10"],
        "resume missing": ["train", "--resume", tmp_path / "nothing", "--steps", "10"],
        "resume no budget": ["train", "--resume", run],
        "resume not longer": ["train", "--resume", run, "--steps", "20"],
        "resume with data flag": ["train", "--resume", run, "--steps", "30", "--data", "faces100"],
        "out is existing run": ["train", "image", "--out", run, "--steps", "5"],
        "out not empty": ["train", "image", "--out", notrun, "--steps", "5"],
        "no modality": ["train", "--steps", "5"],
        "cuda missing": ["train", "image", "--device", "cuda:0", "--out", tmp_path / "o13"],
        "sample non-run": ["sample", notrun, "-n", "4", "--out", tmp_path / "s.png"],
        "sample bad ext": ["sample", run, "-n", "4", "--out", tmp_path / "s.jpg"],
        "sample label unconditional": ["sample", run, "-n", "4", "--out", tmp_path / "s.png", "--label", "3"],
        "sample n zero": ["sample", run, "-n", "0", "--out", tmp_path / "s.png"],
        "info non-run": ["info", notrun],
    }




@pytest.fixture
def run_copy(tiny_run, tmp_path):
    import shutil
    dst = tmp_path / "run"
    shutil.copytree(tiny_run, dst)
    return dst


def test_every_bad_input_is_one_line_exit_2(tmp_path, run_copy, cli):
    import torch
    cases = bad_inputs(tmp_path, run_copy)
    if torch.cuda.is_available():
        del cases["cuda missing"]  # only bad input where there is no GPU
    before = tree_digest(run_copy)
    failures = []
    for name, args in cases.items():
        code, out, err = cli(*args)
        lines = err.strip().splitlines()
        if code != 2 or len(lines) != 1 or "Traceback" in err or not lines[0].startswith("fewgan: error:"):
            failures.append(f"{name}: code {code}, stderr {err!r}")
    assert not failures, "\n".join(failures)
    assert tree_digest(run_copy) == before, "a bad call changed an existing run"
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 14)), "a failed start left a directory"


def test_console_script_exit_code_and_single_line(tmp_path):
    # The real entry point in a subprocess: exit status 2 and one line, nothing on stdout.
    p = subprocess.run([sys.executable, "-m", "fewgan", "train", "image", "--data", str(tmp_path / "x"),
                        "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "no such dataset or file" in p.stderr


def test_messages_name_the_fix(tmp_path, cli):
    _, _, err = cli("train", "image", "--data", "cifar10", "--out", tmp_path / "o")
    assert "digits" in err and "faces100" in err
    _, _, err = cli("train", "image", "--data", _folder(tmp_path, "m", [(16, 16), (20, 20)]), "--out", tmp_path / "o")
    assert "mixed image sizes" in err and "resize" in err
