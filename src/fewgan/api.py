"""Python API: the same class shape for every modality (fit / sample / save / load)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .config import TrainConfig
from .errors import UsageError
from .train.checkpoint import load_checkpoint, save_checkpoint
from .train.loop import resolve_device
from .train.run import TrainedGenerator, _find_checkpoint, start_run


class _GAN:
    modality = ""

    def __init__(self, **config):
        self.config = TrainConfig(modality=self.modality, **config).validate()
        self._state: dict | None = None      # checkpoint dict of the trained model
        self._gen: TrainedGenerator | None = None

    def fit(self, data="digits", labels=None, out: str | Path | None = None, verbose: bool = False):
        """Train on a dataset name / path, or on an in-memory array (with optional labels)."""
        cfg = TrainConfig.from_dict(self.config.to_dict())
        if isinstance(data, (str, Path)):
            cfg.data, arr = str(data), None
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


class ImageGAN(_GAN):
    """ImageGAN(steps=2000).fit("digits").sample(64) -> uint8 (64, H, W, C)."""
    modality = "image"

    def sample(self, n: int, label=None, seed: int = 0) -> np.ndarray:
        g = self._require_fit()
        return g.codec.decode(self.generate(n, label, seed))


TABLE_EXTRA = ("discrete", "schema", "holdout", "target", "pac", "tau")


class TableGAN(_GAN):
    """TableGAN(steps=2000).fit(df).sample(1000, conditions={"sex": "Female"}) -> DataFrame.

    Table settings (discrete, schema, holdout, target, pac, tau) go to config.extra. The API trains
    on every row unless holdout= is given (the CLI keeps 20% for ml_efficacy and dcr)."""
    modality = "table"

    def __init__(self, **config):
        extra = {k: config.pop(k) for k in TABLE_EXTRA if k in config}
        extra.setdefault("holdout", 0.0)
        config["extra"] = {**config.get("extra", {}), **extra}
        super().__init__(**config)

    def fit(self, data, out: str | Path | None = None, verbose: bool = False):
        """Train on a DataFrame, a .csv/.parquet path or a built-in name (breast_cancer, wine)."""
        return super().fit(data, None, out, verbose)

    def sample(self, n: int, conditions: dict | None = None, seed: int = 0):
        """n rows as a DataFrame; with conditions={column: value} every row satisfies them."""
        g = self._require_fit()
        return g.modality.sample_frame(g, n, seed, conditions)


class SeriesGAN(_GAN):
    """SeriesGAN(seq_len=24).fit(df).sample(n) -> float (n, seq_len, features) in original units.

    Series settings (seq_len, model, hidden, layers, cell, ae_steps, sup_steps, g_steps, diff_moments, reverse, fill,
    disc_iters, pred_iters, eval_repeats) may be passed as keywords; they go to config.extra."""
    modality = "series"
    SERIES_KEYS = ("seq_len", "model", "hidden", "layers", "cell", "ae_steps", "sup_steps", "g_steps", "diff_moments",
                   "reverse", "fill", "disc_iters", "pred_iters", "eval_repeats")

    def __init__(self, **config):
        extra = dict(config.pop("extra", None) or {})
        extra.update({k: config.pop(k) for k in self.SERIES_KEYS if k in config})
        super().__init__(extra=extra, **config)

    def fit(self, data="sines", out: str | Path | None = None, verbose: bool = False):
        """data: "sines", "macro", a CSV path, a pandas DataFrame or a (time, features) array."""
        return super().fit(data, None, out, verbose)

    def sample(self, n: int, seed: int = 0, length: int | None = None) -> np.ndarray:
        """n windows (or paths of `length` steps: the recurrent generator runs on) in original units."""
        g = self._require_fit()
        from .modalities.series import sample_path
        return g.codec.decode(sample_path(g.G, g.config.z_dim, g.codec, n, length, seed, g.device))

    def sample_path(self, length: int, n: int = 1, seed: int = 0) -> np.ndarray:
        """n long paths of `length` steps, (n, length, features) in original units."""
        return self.sample(n, seed, length)
