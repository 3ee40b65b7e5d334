"""Where one table-GAN training step spends its time, on adult at the modality's defaults.

    python benchmarks/table_step_profile.py [--steps 200] [--set key=value ...] [--ops]

Builds the Engine as `fewgan train table` would (80% training split of benchmarks/tables.py), runs
20 warm-up steps, then the default GAN step (GANPhases.step) re-written with record_function labels
per phase under torch.profiler on one thread. Prints ms per step per phase (profiler CPU time, so
the sum is above the plain per-step time) and the process CPU time of the same steps without the
profiler. --ops adds the profiler's operator table. --set: engine fields or table options
(width=128, precision=bf16, batch=1000, ...)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function as rf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tables import kinds_for, load, split  # noqa: E402


def build(over: dict):
    from fewgan.config import CONFIG_FORMAT, TrainConfig
    from fewgan.modalities import get_modality
    from fewgan.modalities.table import TableOptions
    from fewgan.train.loop import Engine
    df, schema = load("adult")
    train, _ = split(df)
    discrete = [c for c, k in kinds_for(df, schema).items() if k == "categorical"]
    opt_names = set(TableOptions.names())
    topts = {k: v for k, v in over.items() if k in opt_names}
    eng = {k: v for k, v in over.items() if k not in opt_names}
    cfg = TrainConfig.from_dict({"format": CONFIG_FORMAT, "modality": "table", "engine": {"threads": 1, **eng},
                                 "options": {"holdout": 0.0, "schema": schema, "discrete": discrete, **topts}})
    mod = get_modality("table")
    prep = mod.prepare(cfg, train)
    cfg = mod.resolve_defaults(cfg, prep).validate()
    return Engine(cfg, prep, None, verbose=False, progress=False)


def labelled_step(e) -> None:
    """GANPhases.step (wgan-gp, conditional) with one label per phase."""
    loss, D = e.loss, e.D
    opt_G, opt_D = e.opts["opt_G"], e.opts["opt_D"]
    with rf("real rows + conditions (training-by-sampling)"):
        real, c = e.batch()
    with rf("noise"):
        z = e.noise(e.local_batch)
    with rf("G forward (MLP, Gumbel-softmax, tanh)"):
        fake = loss.run_G(z, c)
    D.requires_grad_(True)
    with rf("D forward real+fake (pac packs)"):
        fk = fake.detach().to(real.dtype)
        lr, lf = loss.run_D(torch.cat([real, fk]), torch.cat([c, c])).chunk(2)
        ld = loss.d_fn(lr, lf)
        for name, v in (("loss/D", ld), ("D/real", lr.mean()), ("D/fake", lf.mean())):
            loss.report(name, v)
    with rf("gradient penalty forward + grad"):
        ld = ld + loss.gp_lambda * loss._grad_penalty(real, fk, c)
    with rf("D backward (with GP double backward)"):
        opt_D.zero_grad(set_to_none=True)
        ld.backward()
    with rf("Adam step D"):
        opt_D.step()
    D.requires_grad_(False)
    with rf("G loss (D forward on fakes, condition CE)"):
        lg = loss.g_main(fake, c)
    with rf("G backward (through D and G)"):
        opt_G.zero_grad(set_to_none=True)
        lg.backward()
    with rf("Adam step G"):
        opt_G.step()
    e.bad |= ~torch.isfinite(ld.detach() + lg.detach())
    e.step += 1
    e.nimg += e.cfg.batch
    with rf("EMA of G"):
        e._update_ema()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--ops", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    over = {}
    for item in a.set:
        k, _, v = item.partition("=")
        try:
            over[k] = json.loads(v)
        except json.JSONDecodeError:
            over[k] = v
    e = build(over)
    cfg = e.cfg
    print(f"adult: data_dim {e.prep.codec.data_dim}, cond_dim {e.prep.codec.cond_dim}, batch {cfg.batch}, "
          f"pac {cfg.options.pac}, width {cfg.options.width}, precision {cfg.precision}")
    for _ in range(20):
        e.train_step()
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(a.steps):
        e.train_step()
    e.stats.flush()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    with profile(activities=[ProfilerActivity.CPU]) as p:
        for _ in range(a.steps):
            labelled_step(e)
        with rf("stats flush (the one host sync, every log_every steps)"):
            e.stats.flush()
    names = ["real rows", "noise", "G forward", "D forward real", "gradient penalty", "D backward", "Adam step D",
             "G loss", "G backward", "Adam step G", "EMA", "stats flush"]
    rows = {k.key: k.cpu_time_total / 1000 / a.steps for k in p.key_averages()
            if any(k.key.startswith(n) for n in names)}
    order = sorted(rows, key=lambda k: [k.startswith(n) for n in names].index(True))
    total = sum(rows.values())
    print(f"| phase | ms/step | share |\n|---|---:|---:|")
    for k in order:
        print(f"| {k} | {rows[k]:.2f} | {100 * rows[k] / total:.1f}% |")
    print(f"| sum (under the profiler) | {total:.2f} | |")
    print(f"without the profiler: {1000 * cpu / a.steps:.1f} ms/step process CPU, {1000 * wall / a.steps:.1f} wall")
    if a.ops:
        print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=30))


if __name__ == "__main__":
    main()
