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
    # One intra-op thread per test process: the nets here are tiny, `make test` runs two pytest
    # workers on two cores, and two threads on a core that is already busy run 3x slower (measured:
    # 100 domain-classifier steps 5.0 s with 1 thread, 16.9 s with 2, on 2 cores with 2 jobs beside).
    torch.set_num_threads(1)
    yield


@pytest.fixture(autouse=True, scope="session")
def _train_each_domain_classifier_once():
    """Every evaluated digits run trains its own domain classifier (600 steps, ~30 CPU s) and caches
    it in its run directory. The training is deterministic in its inputs, so a test process trains
    each distinct (images, labels, seed, steps, batch) once and hands later runs a copy; the run's
    cache file, its reuse on resume and the training itself are still exercised."""
    import copy
    from fewgan.metrics.extractors import DomainClassifier
    train, done = DomainClassifier.train.__func__, {}

    def once(cls, x, y, seed=0, steps=600, batch=128, verbose=False):
        key = (hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes()).hexdigest(),
               hashlib.sha256(y.detach().cpu().contiguous().numpy().tobytes()).hexdigest(),
               tuple(x.shape), seed, steps, batch)
        if key not in done:
            done[key] = train(cls, x, y, seed, steps, batch, verbose)
        return copy.deepcopy(done[key])

    mp = pytest.MonkeyPatch()
    mp.setattr(DomainClassifier, "train", classmethod(once))
    yield
    mp.undo()


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


def flat(ck, prefix: str = "") -> dict:
    """Every tensor and scalar of a checkpoint, by path (RNG states and optimizer states included)."""
    items = ck.items() if isinstance(ck, dict) else enumerate(ck) if isinstance(ck, (list, tuple)) else None
    if items is None:
        return {prefix: ck}
    out = {}
    for k, v in items:
        out.update(flat(v, f"{prefix}/{k}"))
    return out


# What two checkpoints of one seed may differ in by nature: wall time and the run directory's name.
BY_NATURE = ("/elapsed_s", "/config/engine/out")


def checkpoint_diff(a: dict, b: dict, ignore=BY_NATURE) -> list[str]:
    """Paths where two checkpoints differ (every tensor bitwise, every scalar exactly), except `ignore`."""
    fa, fb = flat(a), flat(b)
    for k in ignore:
        fa.pop(k, None), fb.pop(k, None)
    differ = sorted(set(fa) ^ set(fb))
    for k in set(fa) & set(fb):
        x, y = fa[k], fb[k]
        same = (isinstance(y, torch.Tensor) and x.dtype == y.dtype and x.shape == y.shape and torch.equal(x, y)) \
            if isinstance(x, torch.Tensor) else (x == y or (x != x and y != y))      # NaN == NaN here
        if not same:
            differ.append(k)
    return sorted(differ)


def assert_same_checkpoint(path_a: Path, path_b: Path, ignore=BY_NATURE) -> None:
    from fewgan.train.checkpoint import load_checkpoint
    a, b = load_checkpoint(path_a), load_checkpoint(path_b)
    differ = checkpoint_diff(a, b, ignore)
    assert not differ, f"{path_a} and {path_b} differ at {differ[:8]}"
    assert len(flat(a)) > 20


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One finished 20-step digits run shared by read-only tests."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(["train", "image", "--data", "digits", "--out", str(out), "--steps", "20", *TINY]) == 0
    return out
