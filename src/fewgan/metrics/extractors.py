"""Image feature extractors that need no download.

- ``domain``: a small CNN classifier trained once on the real, labelled data (80/20 seeded split,
  held-out accuracy recorded); its 128-d penultimate layer gives the features. Cached as a
  weights-only file keyed by the data fingerprint and resolution.
- ``random``: a fixed-seed, randomly initialised CNN (never trained), global-average-pooled
  256-d features. Naeem et al. (2020, PRDC) show random embeddings rank generators sensibly on
  non-ImageNet data; absolute values are not comparable with Inception FID.
- ``inception``: a local TorchScript Inception file of the kind clean-fid / StyleGAN2-ADA use
  (`model(x, return_features=True)` -> (N, 2048) for float images in [0, 255]); never downloaded.
All take images in [-1, 1], shape (N, C, H, W), and return float32 (N, d).
"""
from __future__ import annotations

import abc
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UsageError
from ..train.checkpoint import isolated_rng, load_checkpoint, save_checkpoint

EXTRACTOR_VERSION = 2


class SmallCNN(nn.Module):
    """Three stride-2 convs: cheap enough to train in seconds on a CPU, 97%+ on digits."""

    def __init__(self, channels: int, n_classes: int, width: int = 32):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(channels, w, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(),                  # keep a little layout: 2x2 cells
        )
        self.feat = nn.Sequential(nn.Linear(16 * w, 128), nn.ReLU())
        self.head = nn.Linear(128, max(n_classes, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feat(self.body(x))            # (N, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class Extractor(abc.ABC):
    name = "base"
    info: dict

    def __init__(self):
        self.info = {"extractor": self.name}

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
        return torch.cat([self._features(x[i:i + batch]).float() for i in range(0, len(x), batch)])

    @abc.abstractmethod
    def _features(self, x: torch.Tensor) -> torch.Tensor:
        """(n, C, H, W) in [-1, 1] -> (n, d)"""


class DomainClassifier(Extractor):
    name = "domain"

    def __init__(self, net: SmallCNN, accuracy: float, n_train: int, n_test: int):
        super().__init__()
        self.net = net.eval()
        self.info = {"extractor": "domain", "classifier_heldout_acc": round(accuracy, 4),
                     "classifier_train_n": n_train, "classifier_test_n": n_test}

    def _features(self, x):
        return self.net.features(x)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
        return torch.cat([self.net(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])

    @classmethod
    def train(cls, x: torch.Tensor, y: torch.Tensor, seed: int = 0, steps: int = 600, batch: int = 128,
              verbose: bool = False) -> "DomainClassifier":
        """Train on 80% of (x, y), report accuracy on the other 20%. Touches no global RNG."""
        n_classes = int(y.max()) + 1
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(len(x), generator=g)
        n_test = max(1, len(x) // 5)
        te, tr = perm[:n_test], perm[n_test:]
        with isolated_rng(seed):
            net = SmallCNN(x.shape[1], n_classes)
            opt = torch.optim.Adam(net.parameters(), 2e-3)
            net.train()
            for _ in range(steps):
                idx = tr[torch.randint(len(tr), (min(batch, len(tr)),), generator=g)]
                xb = x[idx]
                # small random shifts so the features do not hinge on exact pixel positions
                shift = torch.randint(-1, 2, (2,), generator=g).tolist()
                xb = torch.roll(xb, shifts=shift, dims=(2, 3))
                loss = F.cross_entropy(net(xb), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            acc = (torch.cat([net(x[te[i:i + 500]]).argmax(1) for i in range(0, len(te), 500)]) == y[te]).float().mean()
        return cls(net, acc.item(), len(tr), len(te))

    def state_dict(self) -> dict:
        return {"kind": "domain", "version": EXTRACTOR_VERSION, "net": self.net.state_dict(), "info": self.info,
                "channels": self.net.body[0].in_channels, "n_classes": self.net.head.out_features}

    @classmethod
    def from_state(cls, s: dict) -> "DomainClassifier":
        with isolated_rng(0):  # init weights are overwritten; keep the global RNG untouched
            net = SmallCNN(s["channels"], s["n_classes"])
        net.load_state_dict(s["net"])
        obj = cls(net, 0.0, 0, 0)
        obj.info = dict(s["info"])
        return obj


class RandomCNN(Extractor):
    name = "random"

    def __init__(self, channels: int, seed: int = 0):
        super().__init__()
        with isolated_rng(seed):
            self.net = nn.Sequential(
                nn.Conv2d(channels, 32, 3, 1, 1), nn.ReLU(),
                nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
                nn.Conv2d(64, 128, 3, 2, 1), nn.ReLU(),
                nn.Conv2d(128, 256, 3, 2, 1), nn.ReLU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
        self.info = {"extractor": "random", "seed": seed, "dim": 256}

    def _features(self, x):
        return self.net(x)


class InceptionTorchScript(Extractor):
    name = "inception"

    def __init__(self, path: str):
        super().__init__()
        p = Path(path).expanduser()
        if not p.is_file():
            raise UsageError(f"--inception {path}: no such file: pass a local TorchScript Inception (.pt) file")
        try:
            self.net = torch.jit.load(str(p), map_location="cpu").eval()
        except Exception as e:
            raise UsageError(f"--inception {path}: not a TorchScript file ({e.__class__.__name__})") from None
        self.info = {"extractor": "inception", "path": str(p)}

    def _features(self, x):
        x = (x.float().clamp(-1, 1) + 1) * 127.5                     # [0, 255] as the file expects
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        try:
            return self.net(x, return_features=True)
        except (RuntimeError, TypeError):
            return self.net(x)


def get_extractor(kind: str, x: torch.Tensor, y: torch.Tensor | None, fingerprint: str,
                  cache_dir: Path | None, inception: str | None = None, seed: int = 0) -> Extractor:
    """kind: auto (domain if labels else random), domain, random or inception."""
    if inception or kind == "inception":
        if not inception:
            raise UsageError("--features inception needs --inception PATH to a local TorchScript file")
        return InceptionTorchScript(inception)
    if kind == "auto":
        kind = "domain" if y is not None else "random"
    if kind == "random":
        return RandomCNN(x.shape[1], seed)
    if kind != "domain":
        raise UsageError(f"unknown --features {kind!r}: choose auto, domain, random or inception")
    if y is None:
        raise UsageError("--features domain needs labelled data: use --features random for unlabelled data")
    path = Path(cache_dir) / f"extractor-domain-{fingerprint}-{x.shape[-1]}px-v{EXTRACTOR_VERSION}.pt" \
        if cache_dir else None
    if path is not None and path.is_file():
        return DomainClassifier.from_state(load_checkpoint(path, required={}))   # a cache file, not a run
    clf = DomainClassifier.train(x, y, seed)
    if path is not None:
        save_checkpoint(path, clf.state_dict())
    return clf
