"""Run directories: start a new run, resume one exactly, or open one for sampling.

Order matters for data safety: everything that can fail on bad input (config, device, data, output
path) is checked before the run directory is created, and a directory this code created is removed
again if the run fails before its first checkpoint, so a bad call never leaves junk or touches an
existing run.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import torch

from ..config import TrainConfig
from ..errors import UsageError
from ..modalities import get_modality, get_plugin
from .checkpoint import load_checkpoint
from .loop import Engine, check_out_dir, resolve_device
from .sampling import generate

ARRAY_DATA = "<array>"


def _find_checkpoint(run: Path, name: str = "checkpoint.pt") -> Path:
    run = Path(run)
    if run.is_file():
        return run
    if not run.exists():
        raise UsageError(f"{run}: no such run directory: check the path")
    ck = run / name
    if not ck.is_file():
        raise UsageError(f"{run}: not a fewgan run directory (no {name}): pass the --out of a training run")
    return ck


def start_run(cfg: TrainConfig, data=None, labels=None, verbose: bool = True, progress: bool | None = None) -> Engine:
    if data is None and cfg.data is None:
        plugin = get_plugin(cfg.modality)
        if plugin.default_data is None:
            raise UsageError(f"say what to train on: --data ({plugin.data_help})")
        cfg.data = plugin.default_data
    cfg.validate()
    resolve_device(cfg.device)
    out = Path(cfg.out) if cfg.out else None
    if out:
        check_out_dir(out)
    modality = get_modality(cfg.modality)
    if data is not None:
        cfg.data = ARRAY_DATA
    prep = modality.prepare(cfg, data, labels)
    cfg = modality.resolve_defaults(cfg, prep).validate()
    # check_out_dir guarantees out is missing or empty. If the run fails before its first
    # checkpoint, undo what this call wrote: empty a directory that was empty, or remove the
    # directories it created (parents included).
    existed = out is not None and out.exists()
    top = out
    while top is not None and not top.parent.exists():
        top = top.parent
    try:
        if out:
            out.mkdir(parents=True, exist_ok=True)
            cfg.save(out / "config.json")
        return Engine(cfg, prep, out, verbose, progress).fit()
    except BaseException:
        if out is not None and not (out / "checkpoint.pt").exists():
            if existed:
                for p in out.iterdir():
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
            else:
                shutil.rmtree(top, ignore_errors=True)
        raise


def resume_run(run: Path, steps: int | None = None, minutes: float | None = None,
               device: str | None = None, threads: int | None = None, verbose: bool = True,
               progress: bool | None = None) -> Engine:
    run = Path(run)
    ck_path = _find_checkpoint(run)
    if ck_path == run:
        raise UsageError(f"--resume {run}: pass the run directory, not the checkpoint file")
    if steps is None and minutes is None:
        raise UsageError("--resume needs a budget: pass --steps N (the new total) or --minutes M")
    ck = load_checkpoint(ck_path)
    cfg = TrainConfig.from_dict(ck["config"])
    if cfg.data == ARRAY_DATA:
        raise UsageError(f"{run} was trained on an in-memory array, which a run directory does not hold: "
                         "save the array as .npy and train on that file to get a resumable run")
    cfg.steps, cfg.minutes, cfg.out = steps, minutes, str(run)
    if device:
        cfg.device = device
    if threads:
        cfg.threads = threads
    cfg.validate()
    if steps is not None and steps <= ck["step"]:
        raise UsageError(f"run is already at step {ck['step']}: pass --steps larger than {ck['step']} (the new total)")
    resolve_device(cfg.device)
    modality = get_modality(cfg.modality)
    prep = modality.prepare(cfg)
    if prep.fingerprint != ck["data_fingerprint"]:
        raise UsageError(f"the data {cfg.data!r} changed since this run started: restore it or start a new run")
    adapt = getattr(modality, "adapt_prepared", None)
    if adapt is not None:   # train on with the codec the run was saved with
        prep = adapt(prep, modality.codec_from_state(ck["codec"]))
    engine = Engine(cfg, prep, run, verbose, progress)
    engine.load_state_dict(ck)
    cfg.save(run / "config.json")
    return engine.fit()


class TrainedGenerator:
    """G_ema of a saved run, rebuilt from the checkpoint alone (no data needed)."""

    def __init__(self, ck: dict, device: str = "cpu"):
        self.checkpoint = ck
        self.config = TrainConfig.from_dict(ck["config"])
        self.modality = get_modality(ck["modality"])
        self.codec = self.modality.codec_from_state(ck["codec"])
        self.device = resolve_device(device)
        G, _ = self.modality.build_nets(self.config, self.codec)
        G.load_state_dict(ck["G_ema"])
        self.G = G.to(self.device).eval().requires_grad_(False)

    def sample(self, n: int, labels=None, seed: int = 0, length: int | None = None) -> torch.Tensor:
        """n raw samples (float, the model's own space) on the CPU; see sampling.generate."""
        return generate(self.G, self.config.z_dim, n, self.device, self.codec, labels, seed, length=length)

    @classmethod
    def open(cls, path: Path, device: str = "cpu") -> "TrainedGenerator":
        resolve_device(device)
        return cls(load_checkpoint(_find_checkpoint(Path(path))), device)
