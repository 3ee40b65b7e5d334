"""Engine throughput vs the plain PyTorch loop a user would write, same nets, same batch.

    python benchmarks/throughput.py [--steps 150] [--threads 2] [--json benchmarks/results/throughput.json]

Digits at 32 px, the default image networks, batch 64. Every variant runs in this one process,
interleaved over --repeats rounds, and we report the median img/s, so that machine noise hits all
variants alike. "plain" is the loop from the PyTorch DCGAN tutorial: fp32, separate D calls on real
and fake, BCE, Adam, a `.item()` per step for logging. The engine rows run the real Engine.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from fewgan.config import TrainConfig  # noqa: E402
from fewgan.modalities import get_modality  # noqa: E402
from fewgan.train.loop import Engine  # noqa: E402


class PlainLoop:
    """The baseline: a straightforward hand-written GAN loop over the same networks (BCE, Adam,
    fp32, two D calls, `.item()` per step). Its optimiser settings are pinned (Adam 2e-4 / 4e-4,
    betas 0.5 / 0.99, batch 64: the DCGAN tutorial's shape and the engine's image defaults when it
    was written), so that changing the engine's defaults never moves the baseline.
    benchmarks/image_defaults.py steps it too."""

    def __init__(self, cfg: TrainConfig, prep):
        torch.manual_seed(cfg.seed)
        self.cfg, self.x = replace(cfg, batch=64), prep.x
        self.G, self.D = get_modality("image").build_nets(cfg, prep.codec)
        self.opt_g = torch.optim.Adam(self.G.parameters(), 2e-4, betas=(0.5, 0.99))
        self.opt_d = torch.optim.Adam(self.D.parameters(), 4e-4, betas=(0.5, 0.99))
        self.step = 0
        self.log: list[tuple[float, float]] = []

    def train_step(self) -> None:
        b = self.cfg.batch
        ones, zeros = torch.ones(b), torch.zeros(b)
        real = self.x[torch.randint(len(self.x), (b,))]
        fake = self.G(torch.randn(b, self.cfg.z_dim))
        loss_d = F.binary_cross_entropy_with_logits(self.D(real), ones) + \
            F.binary_cross_entropy_with_logits(self.D(fake.detach()), zeros)
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        loss_g = F.binary_cross_entropy_with_logits(self.D(fake), ones)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        self.log.append((loss_d.item(), loss_g.item()))
        self.step += 1


def plain_loop(cfg: TrainConfig, prep, steps: int) -> float:
    loop = PlainLoop(cfg, prep)
    for _ in range(5):
        loop.train_step()
    t = time.perf_counter()
    for _ in range(steps):
        loop.train_step()
    return steps * loop.cfg.batch / (time.perf_counter() - t)


def engine_loop(cfg: TrainConfig, prep, steps: int) -> float:
    eng = Engine(replace(cfg, steps=None, minutes=None), prep, out=None, verbose=False)
    for _ in range(5):
        eng.train_step()
    t = time.perf_counter()
    for i in range(steps):
        eng.train_step()
        if (i + 1) % cfg.log_every == 0:
            eng.stats.flush(step=eng.step)       # the per-interval host sync the real loop does
    return steps * cfg.batch / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=str(Path(__file__).parent / "results" / "throughput.json"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    mod = get_modality("image")
    base = TrainConfig.build("image", data="digits", res=32, batch=64, steps=1)
    prep = mod.prepare(base)
    cfg = mod.resolve_defaults(base, prep)            # the default nets for digits at 32 px
    same_work = dict(augment="none", r1_gamma=0.0)    # what the plain loop does, nothing more
    variants = {
        "plain loop (fp32)": lambda n: plain_loop(cfg, prep, n),
        "engine, plain loop's work, fp32": lambda n: engine_loop(replace(cfg, precision="fp32", **same_work), prep, n),
        "engine, plain loop's work, auto precision": lambda n: engine_loop(replace(cfg, **same_work), prep, n),
        "engine, defaults (+ADA, R1, EMA)": lambda n: engine_loop(cfg, prep, n),
    }
    results: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(a.repeats):
        for name, fn in variants.items():
            results[name].append(fn(a.steps))
    med = {k: statistics.median(v) for k, v in results.items()}
    plain = med["plain loop (fp32)"]
    bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    print(f"\ndigits 32 px, G/D width {cfg.options.width}, batch {cfg.batch}, {a.threads} threads, {a.steps} steps x "
          f"{a.repeats} rounds (median), torch {torch.__version__}, native bf16: {bf16}\n")
    print("| variant | img/s | engine / plain |\n|---|---:|---:|")
    for k, v in med.items():
        print(f"| {k} | {v:.0f} | {v / plain:.2f}x |")
    out = {"benchmark": "throughput", "dataset": "digits", "res": 32, "batch": cfg.batch, "width": cfg.options.width,
           "threads": a.threads, "steps": a.steps, "repeats": a.repeats, "torch": torch.__version__,
           "cpu": platform.processor() or platform.machine(), "native_bf16": bf16,
           "img_per_s_median": med, "img_per_s_all": results,
           "ratio_vs_plain": {k: v / plain for k, v in med.items()}}
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwrote {a.json}")


if __name__ == "__main__":
    main()
