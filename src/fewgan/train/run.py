"""Run directories: start a new run, resume one exactly, or open one for sampling.

Order matters for data safety: everything that can fail on bad input (config, device, data, output
path) is checked before the run directory is created, and a directory this code created is removed
again if the run fails before its first checkpoint, so a bad call never leaves junk or touches an
existing run.
"""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import torch

from ..config import TrainConfig
from ..errors import UsageError
from ..modalities import get_modality, get_plugin
from .checkpoint import load_checkpoint, require
from .distributed import Distributed
from .loop import Engine, check_out_dir, resolve_device
from .rundir import RunLock, check_links, trim_logs
from .sampling import generate

ARRAY_DATA = "<array>"
# What a checkpoint needs beyond checkpoint.REQUIRED to train on.
TRAINING_STATE = {"G": dict, "D": dict, "nimg": int, "rollbacks": int, "elapsed_s": float, "rng": dict,
                  "data_fingerprint": str}


def _find_checkpoint(run: Path, name: str = "checkpoint.pt") -> Path:
    run = Path(run)
    if run.is_file():
        return run
    if not run.exists():
        raise UsageError(f"{run}: no such run directory: check the path")
    check_links(run)
    ck = run / name
    if not ck.is_file():
        if name == "checkpoint.pt" and (run / "config.json").is_file():
            raise UsageError(f"{run}: the run stopped before its first checkpoint (config.json only): "
                             "remove the directory and start the run again")
        raise UsageError(f"{run}: not a fewgan run directory (no {name}): pass the --out of a training run")
    return ck


def start_run(cfg: TrainConfig, data=None, labels=None, verbose: bool = True, progress: bool | None = None,
              dist: Distributed | None = None) -> Engine:
    """dist: the torchrun process group (train/distributed.py); rank 0 alone writes the run."""
    dist = dist or Distributed()
    if not dist.main:
        verbose = progress = False
    if data is None and cfg.data is None:
        plugin = get_plugin(cfg.modality)
        if plugin.default_data is None:
            raise UsageError(f"say what to train on: --data ({plugin.data_help})")
        cfg.data = plugin.default_data
    cfg.validate()
    resolve_device(cfg.device)
    out = Path(cfg.out) if cfg.out else None
    problem = None
    if out and dist.main:
        try:
            check_out_dir(out)
        except UsageError as e:
            problem = str(e)
    problem = dist.from_main(problem)       # every rank stops on rank 0's verdict about --out
    if problem:
        raise UsageError(problem)
    if not dist.main:
        out = None
    modality = get_modality(cfg.modality)
    if data is not None:
        cfg.data = ARRAY_DATA
    prep = modality.prepare(cfg, data, labels)
    cfg = modality.resolve_defaults(cfg, prep).validate()
    dist.local_batch(cfg)       # --batch splits over the ranks: refused before anything is written
    # check_out_dir guarantees out is missing or empty. If the run fails before its first
    # checkpoint, undo what this call wrote: empty a directory that was empty, or remove the
    # directories it created (parents included).
    existed = out is not None and out.exists()
    top = out
    while top is not None and not top.parent.exists():
        top = top.parent
    lock = None
    if out:
        out.mkdir(parents=True, exist_ok=True)
        lock = RunLock(out).acquire()     # refused while another process trains here
        try:
            check_out_dir(out)            # again, under the lock: a run may have started here meanwhile
        except UsageError:
            lock.release()
            raise
    try:
        if out:
            cfg.save(out / "config.json")
        with dist.guard():
            return Engine(cfg, prep, out, verbose, progress, dist).fit()
    except BaseException:
        if out is not None and not (out / "checkpoint.pt").exists():
            if existed:
                for p in out.iterdir():
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
            else:
                shutil.rmtree(top, ignore_errors=True)
        raise
    finally:
        if lock is not None:
            lock.release()


def resume_run(run: Path, steps: int | None = None, minutes: float | None = None,
               device: str | None = None, threads: int | None = None, verbose: bool = True,
               progress: bool | None = None, dist: Distributed | None = None) -> Engine:
    """Under torchrun every rank reads the run directory (one machine, or a shared filesystem)."""
    dist = dist or Distributed()
    if not dist.main:
        verbose = progress = False
    run = Path(run)
    ck_path = _find_checkpoint(run)
    if ck_path == run:
        raise UsageError(f"--resume {run}: pass the run directory, not the checkpoint file")
    if steps is None and minutes is None:
        raise UsageError("--resume needs a budget: pass --steps N (the new total) or --minutes M")
    # refused while another process trains this run; held until training stops (rank 0 holds it)
    with RunLock(run) if dist.main else contextlib.nullcontext():
        return _resume_locked(run, ck_path, steps, minutes, device, threads, verbose, progress, dist)


def _resume_locked(run, ck_path, steps, minutes, device, threads, verbose, progress, dist) -> Engine:
    ck = load_checkpoint(ck_path)
    require(ck, ck_path, TRAINING_STATE)
    cfg = TrainConfig.from_dict(ck["config"], f"{ck_path} config")
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
    with dist.guard():
        engine = Engine(cfg, prep, run if dist.main else None, verbose, progress, dist)
        with _mismatch(ck_path):
            engine.load_state_dict(ck)
        if dist.main:
            trim_logs(run, ck["step"])
            cfg.save(run / "config.json")
        return engine.fit()


@contextlib.contextmanager
def _mismatch(what):
    """Weights or codec state that do not fit the saved config: a damaged or edited checkpoint."""
    try:
        yield
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as e:
        raise UsageError(f"{what}: its saved state does not match its config ({e.__class__.__name__}: "
                         f"{str(e).splitlines()[0][:100] if str(e) else ''}): the file is damaged or was "
                         "edited: restore it from a copy") from None


class TrainedGenerator:
    """G_ema of a saved run, rebuilt from the checkpoint alone (no data needed)."""

    def __init__(self, ck: dict, device: str = "cpu"):
        self.checkpoint = ck
        self.config = TrainConfig.from_dict(ck["config"], "checkpoint config")
        self.modality = get_modality(self.config.modality)
        self.device = resolve_device(device)
        with _mismatch("the checkpoint"):
            self.codec = self.modality.codec_from_state(ck["codec"])
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
