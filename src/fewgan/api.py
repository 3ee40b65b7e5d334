"""Python API: the same class shape for every modality (fit / sample / save / load).

Each modality's class (ImageGAN, TableGAN, ...) subclasses GAN in its own plug-in package and is
exported as fewgan.<Class> by registration (Plugin.api). Keywords are the engine's TrainConfig
fields and the modality's option fields alike; an unknown one is an error naming the closest.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .config import TrainConfig
from .errors import UsageError
from .train.checkpoint import load_checkpoint, save_checkpoint
from .train.loop import resolve_device
from .train.run import TrainedGenerator, _find_checkpoint, start_run


class GAN:
    modality = ""
    api_defaults: dict = {}    # option values the API uses where the CLI's default differs

    def __init__(self, **settings):
        self.config = TrainConfig.build(self.modality, **{**self.api_defaults, **settings}).validate()
        self._state: dict | None = None      # checkpoint dict of the trained model
        self._gen: TrainedGenerator | None = None

    def fit(self, data=None, labels=None, out: str | Path | None = None, verbose: bool = False):
        """Train on a dataset name / path, or on an in-memory array (with optional labels)."""
        cfg = TrainConfig.from_dict(self.config.to_dict())
        if data is None or isinstance(data, (str, Path)):
            cfg.data, arr = (None if data is None else str(data)), None
        else:
            arr = data
        cfg.out = str(out) if out is not None else None
        engine = start_run(cfg, arr, labels, verbose=verbose)
        self.config = engine.cfg
        self._set_state(engine.state_dict())
        return self

    def _set_state(self, ck: dict) -> None:
        self._state = ck
        self._gen = TrainedGenerator(ck, self.config.device)

    def _require_fit(self) -> TrainedGenerator:
        if self._gen is None:
            raise RuntimeError("model is not trained: call fit() or load() first")
        return self._gen

    def generate(self, n: int, label=None, seed: int = 0) -> torch.Tensor:
        """Raw generator output (N, ...) as a float tensor in the model's own space."""
        return self._require_fit().sample(n, label, seed)

    def save(self, path: str | Path) -> Path:
        self._require_fit()
        path = Path(path)
        save_checkpoint(path, {k: v for k, v in self._state.items() if k != "format_version"})
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu"):
        resolve_device(device)
        ck = load_checkpoint(_find_checkpoint(Path(path)))
        if ck.get("modality") != cls.modality:
            raise UsageError(f"{path} holds a {ck.get('modality')!r} model, not {cls.modality!r}: "
                             f"load it with the matching class")
        obj = cls.__new__(cls)
        obj.config = TrainConfig.from_dict(ck["config"])
        obj.config.device = device
        obj._set_state(ck)
        return obj
