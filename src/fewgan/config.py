"""Training configuration: one flat dataclass that round-trips through config.json.

Fields left as None mean "choose for me"; `resolve_defaults` in each modality fills them from the
dataset size and resolution, and the *resolved* config is what gets saved, so a run directory
always says exactly what was trained.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

LOSS_NAMES = ("bce", "ns", "hinge", "wgan-gp", "lsgan")
AUGMENT_MODES = ("auto", "none", "diffaug", "ada")
AUG_OPS = ("color", "translation", "cutout")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainConfig:
    modality: str = "image"
    data: str = "digits"
    out: str | None = None
    # data
    res: int | None = None            # None: the dataset's natural size (digits: 32)
    max_images: int | None = None      # fixed, seeded subset for few-shot experiments
    conditional: bool = False          # class-conditional G and D (needs labels)
    # budget
    steps: int | None = None           # total optimiser steps (G and D each step once per step)
    minutes: float | None = None       # wall-clock budget for this invocation
    batch: int | None = None           # None: the modality's default (images 64)
    # networks
    z_dim: int | None = None           # None: the modality's default (64; series rgan 16 per step)
    width: int | None = None           # channel multiplier; None: by resolution
    spectral_norm: bool = True
    # loss and optimisers; None: the modality's default (images: ns, TTUR 2e-4/4e-4, betas .5/.99,
    # R1 1.0 -- StyleGAN2-ADA's 0.0002*res^2/batch let D win outright on histology, docs/)
    loss: str | None = None
    g_lr: float | None = None
    d_lr: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    r1_gamma: float | None = None      # R1 weight (0: off)
    r1_every: int | None = None        # lazy regularisation interval; None: the modality's (16; series rgan 4)
    gp_lambda: float = 10.0            # wgan-gp only
    # small-data tricks
    augment: str = "auto"              # auto: the modality's choice (images: ada, see docs/benchmarks.md)
    aug_ops: str = "color,translation,cutout"
    ada_target: float = 0.6
    ada_interval: int = 4
    ada_kimg: float = 100.0            # images for p to move 0 -> 1 (StyleGAN2-ADA uses 500)
    ema_kimg: float | None = None      # EMA half-life in kimg; None: batch * 10 / 32 / 1000 * 1000
    ema_rampup: float = 0.05
    # engine
    seed: int = 0
    deterministic: bool = False
    device: str = "cpu"
    precision: str = "auto"            # auto: bf16 autocast where the hardware does bf16 natively
    threads: int | None = None
    # evaluation during training (metrics.jsonl, best.pt, --until)
    eval_every: int | None = None      # steps between evaluations; None: off (or sample_every with --until)
    eval_n: int | None = None          # fake samples per evaluation; None: as many as real (<= 5000)
    until: str | None = None           # stop when a metric bound is met, e.g. "fd<=30"
    features: str = "auto"             # feature extractor: auto (domain if labelled, else random), domain, random
    inception: str | None = None       # local TorchScript Inception file for standard FID features
    log_every: int = 50
    sample_every: int = 500
    ckpt_every: int = 500
    extra: dict[str, Any] = field(default_factory=dict)  # modality-specific settings

    def validate(self) -> "TrainConfig":
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise UsageError(msg)
        need(self.loss is None or self.loss in LOSS_NAMES, f"unknown loss {self.loss!r}: choose one of {', '.join(LOSS_NAMES)}")
        need(self.augment in AUGMENT_MODES,
             f"unknown augment {self.augment!r}: choose one of {', '.join(AUGMENT_MODES)}")
        bad_ops = [o for o in self.aug_ops.split(",") if o and o not in AUG_OPS]
        need(not bad_ops, f"unknown aug op {','.join(bad_ops)!r}: use a comma list of {', '.join(AUG_OPS)}")
        need(self.precision in PRECISIONS,
             f"unknown precision {self.precision!r}: choose one of {', '.join(PRECISIONS)}")
        need(self.steps is None or self.steps >= 1, f"--steps must be >= 1, got {self.steps}")
        need(self.minutes is None or (math.isfinite(self.minutes) and self.minutes > 0),
             f"--minutes must be > 0, got {self.minutes}")
        need(self.batch is None or self.batch >= 1, f"--batch must be >= 1, got {self.batch}")
        need(self.max_images is None or self.max_images >= 1,
             f"--max-images must be >= 1, got {self.max_images}")
        need(self.res is None or 8 <= self.res <= 128, f"--res must be 8..128, got {self.res}")
        for name in ("g_lr", "d_lr"):
            v = getattr(self, name)
            need(v is None or (math.isfinite(v) and v > 0), f"--{name.replace('_', '-')} must be > 0, got {v}")
        need(all(b is None or 0 <= b < 1 for b in (self.beta1, self.beta2)), "betas must be in [0, 1)")
        need(self.r1_gamma is None or self.r1_gamma >= 0, "--r1-gamma must be >= 0")
        need(self.z_dim is None or self.z_dim >= 1, "--z-dim must be >= 1")
        need(self.r1_every is None or self.r1_every >= 1, "--r1-every must be >= 1")
        need(self.seed >= 0, f"--seed must be >= 0, got {self.seed}")
        need(0 < self.ada_target < 1, f"--ada-target must be in (0, 1), got {self.ada_target}")
        need(self.ada_kimg > 0, f"--ada-kimg must be > 0, got {self.ada_kimg}")
        need(self.ema_kimg is None or self.ema_kimg > 0, f"--ema-kimg must be > 0, got {self.ema_kimg}")
        need(self.ema_rampup >= 0, f"ema_rampup must be >= 0, got {self.ema_rampup}")
        need(self.gp_lambda >= 0, f"gp_lambda must be >= 0, got {self.gp_lambda}")
        need(self.width is None or self.width >= 1, "--width must be >= 1")
        for name in ("log_every", "sample_every", "ckpt_every", "ada_interval"):
            need(getattr(self, name) >= 1, f"--{name.replace('_', '-')} must be >= 1")
        need(self.threads is None or self.threads >= 1, "--threads must be >= 1")
        need(self.eval_every is None or self.eval_every >= 1, "--eval-every must be >= 1")
        need(self.eval_n is None or self.eval_n >= 10, "--eval-n must be >= 10")
        need(self.features in ("auto", "domain", "random", "inception"),
             f"unknown features {self.features!r}: choose auto, domain, random or inception")
        if self.until is not None:
            from .metrics import parse_until
            parse_until(self.until)
        need(self.device.split(":")[0] in ("cpu", "cuda", "mps"),
             f"unknown device {self.device!r}: use cpu, cuda, cuda:N or mps")
        return self

    def fill(self, **defaults) -> "TrainConfig":
        """A copy with every field that is still None set from `defaults` (a modality's choices)."""
        return dataclasses.replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise UsageError(f"config has unknown keys {unknown}: was it written by a newer fewgan?")
        return cls(**d)

    def save(self, path: Path) -> None:
        from .train.checkpoint import atomic_write_text
        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))
