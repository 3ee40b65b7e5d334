import hashlib
from pathlib import Path

import pytest
import torch

from fewgan.cli import main

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
# Tiny, fast settings for end-to-end runs: 16 px, narrow nets, small batches.
TINY = ["--res", "16", "--width", "4", "--batch", "8", "--z-dim", "8", "--log-every", "5",
        "--sample-every", "10", "--ckpt-every", "10", "--quiet"]
# The same for series runs: windows of 8, a 4-unit recurrent net.
TINY_S = ["--seq-len", "8", "--hidden", "4", "--layers", "2", "--batch", "16", "--z-dim", "4", "--log-every", "5",
          "--sample-every", "10", "--ckpt-every", "10", "--quiet"]


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(2)
    yield


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    def run(*args):
        code = main([str(a) for a in args])
        cap = capsys.readouterr()
        return code, cap.out, cap.err
    return run


def tree_digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One finished 20-step digits run shared by read-only tests."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(["train", "image", "--data", "digits", "--out", str(out), "--steps", "20", *TINY]) == 0
    return out
