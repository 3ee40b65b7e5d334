"""Training configuration: the engine's settings plus the modality's typed options.

`TrainConfig` holds only what the engine itself reads (budget, batch, losses, optimisers, EMA,
augmentation switch, evaluation, device, seed); `cfg.options` is the modality's own Options
dataclass (fewgan/modalities/<name>/__init__.py). Fields left as None mean "choose for me";
the modality's `resolve_defaults` fills them from the data, and the *resolved* config is what
gets saved, so a run directory always says exactly what was trained.

config.json (format 2) keeps the two parts apart:
    {"format": 2, "modality": "image", "engine": {...}, "options": {...}}
Format 1 (one flat dict of every setting) still loads: see migrate.py.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError
from .options import Options, option, unknown_keys

CONFIG_FORMAT = 2
LOSS_NAMES = ("bce", "ns", "hinge", "wgan-gp", "lsgan")
AUGMENT_MODES = ("auto", "none", "diffaug", "ada")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainConfig(Options):
    modality: str = "image"                       # which plug-in (not a flag: the word after `train`)
    data: str | None = option(None, "what to train on (default: the modality's built-in, if it has one)")
    out: str | None = option(None, "run directory to create (default runs/<data>-<time>)")
    # budget
    steps: int | None = option(None, "total training steps (default by modality, e.g. images 2000, unless "
                                     "--minutes is given)", minimum=1, auto=True)
    minutes: float | None = option(None, "wall-clock budget in minutes", minimum=0, exclusive=True)
    batch: int | None = option(None, "batch size (default by modality and data size)", minimum=1, auto=True)
    z_dim: int | None = option(None, "noise dimension [64; series rgan: 16 per time step]", minimum=1, auto=True)
    # loss and optimisers; None: the modality's default
    loss: str | None = option(None, "bce = classic minimax, ns = non-saturating, hinge, wgan-gp, lsgan",
                              choices=LOSS_NAMES, auto=True)
    g_lr: float | None = option(None, "generator learning rate", minimum=0, exclusive=True, auto=True)
    d_lr: float | None = option(None, "discriminator learning rate (TTUR: larger than G's)", minimum=0,
                                exclusive=True, auto=True)
    beta1: float | None = option(None, "Adam beta1", minimum=0, maximum=0.999999, auto=True)
    beta2: float | None = option(None, "Adam beta2", minimum=0, maximum=0.999999, auto=True)
    r1_gamma: float | None = option(None, "R1 weight (0 disables)", minimum=0, auto=True)
    r1_every: int | None = option(None, "lazy R1 interval in steps [16; series rgan 4]", minimum=1, auto=True)
    gp_lambda: float = option(10.0, "gradient-penalty weight (wgan-gp only)", minimum=0)
    # small-data tricks
    augment: str = option("auto", "D-only augmentation: auto (the modality's choice), none, diffaug, ada",
                          choices=AUGMENT_MODES)
    ada_target: float = option(0.6, "ADA target for E[sign D(real)]", minimum=0, exclusive=True)
    ada_interval: int = option(4, "steps between ADA updates of p", minimum=1)
    ada_kimg: float = option(100.0, "ADA speed: kimg for p to move from 0 to 1 (StyleGAN2-ADA: 500)", minimum=0,
                             exclusive=True)
    ema_kimg: float | None = option(None, "EMA half-life of G in thousands of images", minimum=0, exclusive=True, auto=True)
    ema_rampup: float = option(0.05, "EMA ramp-up: half-life at most this share of the images seen", minimum=0)
    # engine
    seed: int = option(0, "random seed", minimum=0)
    deterministic: bool = option(False, "deterministic kernels (bitwise resume)", cli="switch")
    device: str = option("cpu", "cpu, cuda, cuda:N or mps")
    precision: str = option("auto", "auto (bf16 autocast where native), fp32, bf16", choices=PRECISIONS)
    threads: int | None = option(None, "CPU threads for torch", minimum=1)
    # evaluation during training (metrics.jsonl, best.pt, --until)
    eval_every: int | None = option(None, "steps between evaluations (metrics.jsonl, best.pt)", minimum=1)
    eval_n: int | None = option(None, "fake samples per evaluation (default: as many as real, <= 5000)",
                                minimum=10, auto=True)
    until: str | None = option(None, 'stop when a metric bound is met, e.g. "fd<=30" or "coverage>=0.8"')
    log_every: int = option(50, "steps between stats.jsonl lines", minimum=1)
    sample_every: int = option(500, "steps between sample previews", minimum=1)
    ckpt_every: int = option(500, "steps between checkpoints", minimum=1)
    options: Any = None                           # the modality's Options (None: its defaults)

    def __post_init__(self):
        if self.options is None or isinstance(self.options, dict):
            from .modalities import get_plugin
            cls = get_plugin(self.modality).options
            self.options = cls() if self.options is None else cls.from_dict(self.options, "options")

    @classmethod
    def build(cls, modality: str, **settings) -> "TrainConfig":
        """Engine fields and the modality's option fields given alike (the API's keywords)."""
        from .modalities import get_plugin
        opt_cls = get_plugin(modality).options
        engine, mine = set(cls.names()), set(opt_cls.names())
        unknown_keys(sorted(engine | mine), settings, f"{modality} settings")
        opts = opt_cls(**{k: v for k, v in settings.items() if k in mine})
        return cls(modality=modality, options=opts, **{k: v for k, v in settings.items() if k in engine})

    def check(self) -> None:
        if self.ada_target >= 1:
            raise UsageError(f"--ada-target must be in (0, 1), got {self.ada_target}")
        if self.until is not None:
            from .metrics import parse_until
            parse_until(self.until, self.modality)
        if self.device.split(":")[0] not in ("cpu", "cuda", "mps"):
            raise UsageError(f"unknown device {self.device!r}: use cpu, cuda, cuda:N or mps")
        self.options.validate()

    def to_dict(self) -> dict[str, Any]:
        return {"format": CONFIG_FORMAT, "modality": self.modality, "engine": super().to_dict(),
                "options": self.options.to_dict()}

    def flat(self) -> dict[str, Any]:
        """Engine and option fields in one dict (for display)."""
        return {"modality": self.modality, **super().to_dict(), **self.options.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str = "config") -> "TrainConfig":
        if not isinstance(d, dict):
            raise UsageError(f"{what}: expected a JSON object, got {type(d).__name__}")
        if "engine" not in d:
            from .migrate import config_v1_to_v2
            d = config_v1_to_v2(d)
        fmt = d.get("format")
        if not isinstance(fmt, int) or fmt > CONFIG_FORMAT:
            raise UsageError(f"{what}: format {fmt!r} is not one this fewgan reads ({CONFIG_FORMAT}): upgrade fewgan")
        unknown_keys(["format", "modality", "engine", "options"], d, what)
        from .modalities import get_plugin
        plugin = get_plugin(d.get("modality"))
        opts = plugin.options.from_dict(d.get("options") or {}, f"{what} options")
        engine = d["engine"]
        if not isinstance(engine, dict):
            raise UsageError(f"{what}: \"engine\" must be a JSON object, got {type(engine).__name__}: restore the file")
        unknown_keys(cls.names(), engine, f"{what} engine")
        # A saved config was valid when written: a wrong type or bound means the file was damaged or
        # edited, and is refused here rather than deep inside the nets.
        try:
            return cls(modality=plugin.name, options=opts, **engine).validate()
        except UsageError as e:
            raise UsageError(f"{what}: {e}") from None

    def save(self, path: Path) -> None:
        from .train.checkpoint import atomic_write_text
        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise UsageError(f"{path}: cannot read the config ({e.__class__.__name__}): restore config.json") from None
        return cls.from_dict(d, str(path))

