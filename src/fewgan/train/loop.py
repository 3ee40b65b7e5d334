"""The one training loop every modality runs on.

It owns the schedule: budget (steps/minutes), D then G update per step, lazy R1, EMA of G, the ADA
controller, stats flushes, sample previews, checkpoints, NaN rollback and the progress bar.
It knows nothing about pixels or columns: the modality supplies data tensors, nets, augmentation
and previews; the GANLoss supplies the maths.
"""
from __future__ import annotations

import contextlib
import copy
import os
import signal
import threading
import time
from pathlib import Path

import torch

from ..augment import AdaController
from ..config import TrainConfig
from ..errors import UsageError
from ..losses import GANLoss
from ..metrics import METRICS, parse_until
from ..modalities import Prepared, get_modality
from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .distributed import Distributed
from .progress import Progress
from .rundir import LOCK_NAME, RunLock
from .phases import GANPhases
from .sampling import conditions, generate, noise_shape
from .stats import Stats, append_jsonl

MAX_ROLLBACKS = 3
N_PREVIEW = 64


class TrainingDiverged(RuntimeError):
    """Losses stayed non-finite after MAX_ROLLBACKS rollbacks with halved learning rates."""


def resolve_device(name: str) -> torch.device:
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available on this machine: use --device cpu")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise UsageError(f"--device {name}: MPS is not available on this machine: use --device cpu")
    return dev


def use_bf16(precision: str, dev: torch.device) -> bool:
    if precision != "auto":
        return precision == "bf16"
    if dev.type == "cuda":
        return torch.cuda.is_bf16_supported()
    # On CPUs without native bf16 (AVX512-BF16/AMX) autocast emulates it and runs slower than fp32.
    return dev.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def check_out_dir(out: Path) -> None:
    """Refuse to start a new run on top of anything that already holds files."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file: choose a directory path")
    owner = RunLock.holder(out)
    if owner:
        raise UsageError(f"--out {out}: is being trained by {owner}: choose another --out")
    if (out / "checkpoint.pt").exists() or (out / "config.json").exists():
        raise UsageError(f"--out {out}: already holds a run: continue it with "
                         f"'fewgan train --resume {out}' or choose another --out")
    if out.is_dir() and any(p.name != LOCK_NAME for p in out.iterdir()):
        raise UsageError(f"--out {out}: directory is not empty: choose a new or empty directory")


class Engine:
    def __init__(self, cfg: TrainConfig, prep: Prepared, out: Path | None, verbose: bool = True,
                 progress: bool | None = None, dist: Distributed | None = None):
        self.modality = get_modality(cfg.modality)
        self.cfg, self.prep, self.out, self.verbose = cfg, prep, out, verbose   # verbose: messages on stderr
        self.show_progress = verbose if progress is None else progress
        self.dist = dist or Distributed()        # torchrun: rank 0 alone gets out, verbose and progress
        self.local_batch = self.dist.local_batch(cfg)   # --batch is global: this rank's share
        self.device = dev = resolve_device(self.dist.device(cfg.device))
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        # Image-like data trains faster in channels_last on CPU and GPU (measured in benchmarks/).
        self.mem = torch.channels_last if prep.x.dim() == 4 else torch.contiguous_format

        torch.manual_seed(cfg.seed)
        G, D = self.modality.build_nets(cfg, prep.codec)
        self.G = G.to(dev, memory_format=self.mem).train()
        self.D = D.to(dev, memory_format=self.mem).train()
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.dist.seed(cfg.seed)

        self.x = prep.x.to(dev).contiguous(memory_format=self.mem)
        self.y = None if prep.y is None else prep.y.to(dev)
        # a codec may train on other shapes than it samples (series returns: longer windows)
        train_shape = getattr(prep.codec, "train_noise_shape", None)
        self.z_shape = tuple(train_shape(cfg.z_dim)) if train_shape else noise_shape(prep.codec, cfg.z_dim)
        self.stats = Stats(out / "stats.jsonl" if out else None)
        bf16 = use_bf16(cfg.precision, dev)
        autocast = (lambda: torch.autocast(dev.type, torch.bfloat16)) if bf16 else contextlib.nullcontext
        self.augment = self.modality.make_augment(cfg)
        self.ada = (AdaController(cfg.ada_target, cfg.ada_interval, cfg.ada_kimg, cfg.batch, dev)
                    if self.augment is not None and cfg.augment == "ada" else None)
        r1 = cfg.r1_gamma if cfg.loss != "wgan-gp" else 0.0
        aux = getattr(self.modality, "g_aux", None)     # modality's extra G term, if any
        self.loss = GANLoss(self.G, self.D, cfg.loss, self.augment, r1, cfg.gp_lambda, autocast,
                            self.stats.report, (lambda f, c: aux(f, c, prep.codec, cfg)) if aux else None)
        self.loss.aug_p = self.ada.p if self.ada else 1.0
        make_phases = getattr(self.modality, "make_phases", GANPhases)
        self.phases = make_phases(self)
        self.opts = self.phases.make_optimizers()        # name -> optimizer, saved under that name
        self.dist.hook_optimizers(self.opts)             # gradients averaged over ranks at every step()
        # Rollbacks halve from these (kept outside the optimizers: loading a state dict replaces
        # their param groups).
        self.base_lrs = {name: [g["lr"] for g in opt.param_groups] for name, opt in self.opts.items()}
        self.step, self.nimg, self.rollbacks = 0, 0, 0
        self._elapsed0, self._t0 = 0.0, time.perf_counter()  # training wall time, summed over resumes
        self.bad = torch.zeros((), dtype=torch.bool, device=dev)  # any non-finite loss since last check
        g = torch.Generator().manual_seed(cfg.seed + 1)           # preview noise: never touches training RNG
        self.fixed_z = torch.randn(N_PREVIEW, *self.z_shape, generator=g).to(dev)
        fixed_c = conditions(prep.codec, N_PREVIEW, None, g, spread=True)
        self.fixed_c = None if fixed_c is None else fixed_c.to(dev)
        self._stop_requested = False
        # Evaluation: --eval-every K, or every sample_every steps when only --until is given.
        self.until = parse_until(cfg.until, cfg.modality) if cfg.until else None
        self.eval_every = cfg.eval_every or (cfg.sample_every if self.until else None)
        self.best_key = self.until.key if self.until else self.modality.primary_metric
        self.best: float | None = None
        self.evaluator = None        # built on first use (it may train a feature classifier)
        self.last_metrics: dict = {}

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "config": self.cfg.to_dict(), "modality": self.cfg.modality,
            "codec": self.prep.codec.state_dict(), "data_fingerprint": self.prep.fingerprint,
            "G": self.G.state_dict(), "D": self.D.state_dict(), "G_ema": self.G_ema.state_dict(),
            **{name: opt.state_dict() for name, opt in self.opts.items()},
            "phases": self.phases.state_dict(),
            "ada": self.ada.state_dict() if self.ada else None,
            "step": self.step, "nimg": self.nimg, "rollbacks": self.rollbacks, "best": self.best,
            "elapsed_s": self.elapsed(),
            "rng": rng_state(), "world_size": self.dist.world,
        }

    def load_state_dict(self, ck: dict, keep_clock: bool = False) -> None:
        self.G.load_state_dict(ck["G"])
        self.D.load_state_dict(ck["D"])
        self.G_ema.load_state_dict(ck["G_ema"])
        for name, opt in self.opts.items():
            opt.load_state_dict(ck[name])
        self.phases.load_state_dict(ck.get("phases", {}))
        if self.ada and ck["ada"]:
            self.ada.load_state_dict(ck["ada"])
        self.step, self.nimg, self.rollbacks = ck["step"], ck["nimg"], ck["rollbacks"]
        self.best = ck.get("best")
        best_file = self.out / "best.pt" if self.out else None
        if best_file is not None and best_file.is_file():  # best.pt may be newer than checkpoint.pt
            on_disk = load_checkpoint(best_file).get("best_metric", {}).get(self.best_key)
            if on_disk is not None and METRICS.better(self.best_key, on_disk, self.best):
                self.best = on_disk
        if not keep_clock:  # a rollback does not give back the wall time spent
            self._elapsed0, self._t0 = ck["elapsed_s"], time.perf_counter()
        set_rng_state(ck["rng"])
        self.dist.after_load(self, ck)

    def elapsed(self) -> float:
        return self._elapsed0 + time.perf_counter() - self._t0

    def save(self) -> None:
        extra = self.dist.checkpoint_extra(self)         # collective: every rank calls save()
        if self.out:
            try:
                save_checkpoint(self.out / "checkpoint.pt", {**self.state_dict(), **extra})
            except UsageError as e:     # disk full or read-only: say how to go on once fixed
                raise UsageError(f"{e}; then continue with 'fewgan train --resume {self.out}'") from None

    # -- one step -------------------------------------------------------------------------------
    def batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A real training batch and its conditions (labels, or a table's condition vectors)."""
        sample = getattr(self.prep.codec, "sample_batch", None)
        if sample is not None:
            return sample(self.x, self.y, self.local_batch, self.device)
        idx = torch.randint(len(self.x), (self.local_batch,), device=self.device)
        real = self.x[idx].contiguous(memory_format=self.mem)
        return real, None if self.y is None else self.y[idx]

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, *self.z_shape, device=self.device)

    def train_step(self) -> None:
        self.phases.step()
        self.dist.sync_buffers(self.G, self.D)           # BatchNorm running statistics, see distributed.py
        self.step += 1
        self.nimg += self.cfg.batch
        self._update_ema()
        if self.ada and self.step % self.cfg.ada_interval == 0:
            self.dist.sum_(self.ada.sign_sum, self.ada.count)   # one p for all ranks
            self.stats.report("ada/rt", self.ada.update())
            self.loss.aug_p = self.ada.p

    @torch.no_grad()
    def _update_ema(self) -> None:
        ema_nimg = self.cfg.ema_kimg * 1000
        if self.cfg.ema_rampup:
            ema_nimg = min(ema_nimg, self.nimg * self.cfg.ema_rampup)
        beta = 0.5 ** (self.cfg.batch / max(ema_nimg, 1e-8))
        ema_p, p = list(self.G_ema.parameters()), list(self.G.parameters())
        torch._foreach_lerp_(ema_p, p, 1.0 - beta)                     # ema = ema + (1-beta)(p - ema)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    # -- sampling -------------------------------------------------------------------------------
    @torch.no_grad()
    def preview(self) -> None:
        if self.out:  # G_ema is always in eval mode: BatchNorm uses running statistics
            samples = self.G_ema(self.fixed_z, self.fixed_c).float()
            self.modality.preview(samples, self.prep.codec, self.out / "samples" / f"step-{self.step:06d}.png")

    # -- evaluation -----------------------------------------------------------------------------
    def sample_fn(self, n: int, labels: torch.Tensor | None, seed: int, length: int | None = None) -> torch.Tensor:
        return generate(self.G_ema, self.cfg.z_dim, n, self.device, self.prep.codec, labels, seed, length=length)

    def evaluate(self) -> dict:
        """Metrics on G_ema samples -> metrics.jsonl; keeps best.pt by the primary metric."""
        if self.evaluator is None:
            self._log("building the evaluator (feature extractor and real features)...")
            self.evaluator = self.modality.make_evaluator(self.cfg, self.prep, self.out)
        bind = getattr(self.evaluator, "bind_generator", None)
        if bind is not None:      # likelihood metrics (text) need the net's probabilities, not only samples
            bind(self.G_ema)
        res = self.evaluator.evaluate(self.sample_fn)
        row = {"step": self.step, "kimg": round(self.nimg / 1000, 3), "source": "train", **res}
        self.last_metrics = res
        if self.out:
            append_jsonl(self.out / "metrics.jsonl", row)
        value = res.get(self.best_key)
        if value is not None and METRICS.better(self.best_key, value, self.best):
            self.best = value
            if self.out and self._healthy():
                save_checkpoint(self.out / "best.pt", {**self.state_dict(), "best_metric": {self.best_key: value}})
        return res

    # -- the loop -------------------------------------------------------------------------------
    def _rollback(self) -> None:
        self.rollbacks += 1
        ck = None if self.rollbacks > MAX_ROLLBACKS else \
            self.dist.load_main(self.out / "checkpoint.pt" if self.out else None)
        if ck is None:
            raise TrainingDiverged(
                f"losses became non-finite at step {self.step} and stayed so after {MAX_ROLLBACKS} "
                "rollbacks with halved learning rates: lower --g-lr/--d-lr, try --loss ns with R1, "
                "or check the data")
        n, bad_step = self.rollbacks, self.step
        self.load_state_dict(ck, keep_clock=True)
        self.rollbacks = n
        for name, opt in self.opts.items():
            for group, base in zip(opt.param_groups, self.base_lrs[name]):
                group["lr"] = base * 0.5 ** n
        if self.ada:
            self.loss.aug_p = self.ada.p
        self.bad.zero_()
        self._log(f"non-finite loss near step {bad_step}: rolled back to step {self.step} with halved "
                  f"learning rates (rollback {n}/{MAX_ROLLBACKS})")
        self.stats.flush(step=self.step, event="rollback", rollbacks=n)

    def _healthy(self) -> bool:
        return not bool(self.bad)

    def _log(self, msg: str) -> None:
        if self.verbose:
            import sys
            sys.stderr.write(("\n" if sys.stderr.isatty() else "") + f"fewgan: {msg}\n")

    def _request_stop(self, *_):
        self._stop_requested = True

    @property
    def interrupted(self) -> bool:
        """Stopped early by Ctrl-C (after finishing the step and saving)."""
        return self._stop_requested

    def fit(self) -> "Engine":
        cfg = self.cfg
        budget_steps = cfg.steps
        if budget_steps is not None and self.step >= budget_steps:
            raise UsageError(f"run is already at step {self.step}: pass --steps larger than {self.step}")
        if self.dist.from_main(bool(self.out and not (self.out / "checkpoint.pt").exists())):
            self.save()  # step-0 checkpoint: a rollback target and a resumable run from the start
        progress = Progress(budget_steps, cfg.minutes, self.step, enabled=self.show_progress)
        t_start = t_flush = self._t0
        nimg_flush = self.nimg
        handler_set = threading.current_thread() is threading.main_thread()
        old_handler = signal.signal(signal.SIGINT, self._request_stop) if handler_set else None
        was_deterministic = torch.are_deterministic_algorithms_enabled()
        if cfg.deterministic:  # set for this loop only; restored below
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
        try:
            while True:
                self.train_step()
                now = time.perf_counter()
                out_of_time = cfg.minutes is not None and now - t_start >= cfg.minutes * 60
                last = (budget_steps is not None and self.step >= budget_steps) or out_of_time \
                    or self._stop_requested
                last, self.bad = self.dist.agree(last, self.bad)   # ranks stop (and roll back) together
                log_due = self.step % cfg.log_every == 0 or last
                eval_due = bool(self.eval_every) and (self.step % self.eval_every == 0 or last)
                sample_due = self.step % cfg.sample_every == 0 or last
                ckpt_due = self.step % cfg.ckpt_every == 0 or last
                if (log_due or eval_due or sample_due or ckpt_due) and not self._healthy():
                    self._rollback()     # never log, evaluate, preview or save a diverged model
                    continue
                if log_due:
                    self.dist.reduce_stats(self.stats)
                    ips = (self.nimg - nimg_flush) / max(now - t_flush, 1e-9)
                    row = self.stats.flush(step=self.step, kimg=round(self.nimg / 1000, 3),
                                           time_s=round(self.elapsed(), 2), img_per_s=round(ips, 1),
                                           ada_p=float(self.ada.p) if self.ada else None)
                    t_flush, nimg_flush = now, self.nimg
                    progress.update(self.step, _progress_info(row, self.last_metrics, self.best_key))
                if eval_due:     # on rank 0; it alone decides --until
                    res = self.evaluate() if self.dist.main else {}
                    if self.dist.from_main(bool(self.dist.main and self.until and self.until.met(res) and not last)):
                        if self.dist.main:
                            self._log(f"reached {self.until} at step {self.step} "
                                      f"({self.until.key}={res[self.until.key]:.4g}): stopping")
                        last = sample_due = ckpt_due = True
                if sample_due:
                    self.preview()
                if ckpt_due:
                    self.save()
                if last:
                    break
            self.dist.check_identical(self)
        finally:
            torch.use_deterministic_algorithms(was_deterministic)
            if handler_set:
                signal.signal(signal.SIGINT, old_handler)
            progress.close()
        if self.out:
            from ..report.plots import plot_losses
            plot_losses(self.out / "stats.jsonl", self.out / "losses.png")
        if self._stop_requested:
            self._log(f"interrupted: checkpoint saved at step {self.step}; continue with "
                      f"'fewgan train --resume {self.out}'")
        return self


def _progress_info(row: dict, metrics: dict, metric_key: str) -> str:
    parts = []
    for key, label in (("loss/G", "G"), ("loss/D", "D"), ("D/real", "Dr"), ("D/fake", "Df")):
        if key in row:
            parts.append(f"{label} {row[key]:.3f}")
    if row.get("ada_p") is not None:
        parts.append(f"p {row['ada_p']:.2f}")
    parts.append(f"{row['img_per_s']:.0f} img/s")
    if metrics.get(metric_key) is not None:
        parts.append(f"{metric_key} {metrics[metric_key]:.4g}")
    return " | ".join(parts)
