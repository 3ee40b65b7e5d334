"""Video benchmark: moving-digits, the default model (warp) vs MoCoGAN and two baselines.

    python benchmarks/video.py run --model warp    --clips all --cpu-minutes 15   # the default
    python benchmarks/video.py run --model mocogan --clips all --cpu-minutes 15
    python benchmarks/video.py run --model frames  --clips all --cpu-minutes 15   # + the static baseline
    python benchmarks/video.py table                                              # markdown + video.json
    (run and table take --results DIR, default benchmarks/results: keep rows scored with one cached
    encoder in one folder, e.g. a same-day set of variants)

Models (all on the same engine, frame generator and evaluator):
  warp     the default: one content frame per clip, moved by a GRU-driven shift per frame,
           frame D + 3-D-conv clip D.
  mocogan  content code per clip + GRU motion codes into the frame generator, the same two Ds.
  frames   frame-only baseline = an image GAN on the frames (the image modality's DCGAN G and D,
           frame D only, one independent code per frame): its clips are independent frames stacked.
  static   static baseline: the same trained image GAN, one code held for every frame of a clip
           (scored from the `frames` run, no training of its own).
Each run trains for a budget of CPU seconds (time.process_time, one torch thread) and is scored
on G_ema: frame FD (domain classifier on frames), clip FD (3-D conv encoder trained on the real
clips; not comparable with FVD), temporal consistency, static share, speed-distribution distance
(W1 of per-clip centroid speed, px/frame), memorization, training throughput (clips/s), sampling
throughput and peak memory (max RSS of the process). The machine's 2 cores are shared with
other jobs, so wall times are longer than the CPU budget.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from fewgan.config import TrainConfig  # noqa: E402
from fewgan.modalities import get_modality  # noqa: E402
from fewgan.train.checkpoint import load_checkpoint  # noqa: E402
from fewgan.train.loop import Engine  # noqa: E402
from fewgan.train.sampling import generate  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
KEYS = ("frame_fd", "clip_fd", "temporal_consistency", "static_share", "speed_w1", "motion_w1", "memorization",
        "speed_mean")


def train(model: str, clips: str, cpu_minutes: float, seed: int, out: Path, settings: dict | None = None,
          steps: int | None = None) -> tuple[Engine, dict]:
    """Train until `steps` (when given: the defaults that follow from --steps apply, e.g. --frame-steps)
    or the CPU budget, whichever comes first."""
    cfg = TrainConfig.build("video", data="moving-digits", model=model, seed=seed, threads=1, steps=steps,
                            max_clips=None if clips == "all" else int(clips), out=str(out), **(settings or {}))
    torch.set_num_threads(1)
    mod = get_modality("video")
    prep = mod.prepare(cfg)
    cfg = mod.resolve_defaults(cfg, prep).validate()
    out.mkdir(parents=True, exist_ok=True)
    cfg.save(out / "config.json")
    eng = Engine(cfg, prep, out, verbose=False)
    c0, t0 = time.process_time(), time.perf_counter()
    while time.process_time() - c0 < cpu_minutes * 60 and (steps is None or eng.step < steps):
        eng.train_step()
        if eng.step % 100 == 0:
            eng.stats.flush(step=eng.step, kimg=round(eng.nimg / 1000, 3), time_s=round(eng.elapsed(), 2),
                            img_per_s=0.0, ada_p=float(eng.ada.p) if eng.ada else None)
        if eng.step % 500 == 0:
            eng.preview()
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    eng.preview()
    eng.save()
    return eng, {"steps": eng.step, "batch": cfg.batch, "train_cpu_s": round(cpu, 1), "train_wall_s": round(wall, 1),
                 "train_clips_per_s": round(eng.nimg / cpu, 2), "width": cfg.options.width,
                 "frame_steps": cfg.options.frame_steps,
                 "n_train": len(prep.x), "ada_p": float(eng.ada.p) if eng.ada else None}


def load_run(run: Path) -> Engine:
    """A finished run's engine (config.json + checkpoint.pt), for the diagnostics."""
    cfg = TrainConfig.load(run / "config.json")
    mod = get_modality("video")
    prep = mod.prepare(cfg)
    eng = Engine(mod.resolve_defaults(cfg, prep).validate(), prep, None, verbose=False)
    eng.load_state_dict(load_checkpoint(run / "checkpoint.pt"))
    return eng


def score(eng: Engine, G, cache: Path, seed: int) -> dict:
    mod = get_modality("video")
    cfg = eng.cfg
    ev_cfg = cfg.replace(eval_n=1000)
    t = time.process_time()
    evaluator = mod.make_evaluator(ev_cfg, eng.prep, cache)

    def sample(n, labels, s):
        return generate(G, cfg.z_dim, n, eng.device, eng.prep.codec, labels, s)
    t1 = time.process_time()
    res = evaluator.evaluate(sample)
    eval_cpu = time.process_time() - t1
    t2 = time.process_time()
    sample(256, None, seed)
    res["sample_clips_per_s"] = round(256 / (time.process_time() - t2), 1)
    res["eval_cpu_s"], res["evaluator_build_cpu_s"] = round(eval_cpu, 1), round(t1 - t, 1)
    return res


def cmd_run(a) -> None:
    settings = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in a.set)}
    out = Path(a.work) / f"{a.model}{a.tag}-{a.clips}"
    eng, row = train(a.model, a.clips, a.cpu_minutes, a.seed, out, settings, a.steps)
    rows = [{"model": a.model + a.tag, "clips": a.clips, "cpu_minutes_budget": a.cpu_minutes, "settings": settings,
             **row,
             **score(eng, eng.G_ema, Path(a.work) / "cache", a.seed)}]
    if a.model == "frames":   # the static baseline: the same image GAN, one code held for the whole clip
        mod = get_modality("video")
        G, _ = mod.build_nets(eng.cfg.replace(options=eng.cfg.options.replace(model="static")), eng.prep.codec)
        G.load_state_dict(eng.G_ema.state_dict())
        rows.append({**rows[0], "model": "static", **score(eng, G.eval(), Path(a.work) / "cache", a.seed)})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    a.results.mkdir(parents=True, exist_ok=True)
    for r in rows:
        r["peak_rss_mb"] = round(peak, 0)
        r["run_dir"] = str(out)
        path = a.results / f"video-{r['model']}-{a.clips}.json"
        path.write_text(json.dumps(r, indent=1))
        print(json.dumps({k: r.get(k) for k in ("model", "clips", "steps", "train_cpu_s", *KEYS)}))


def fmt(v, nd=3):
    return "—" if v is None else f"{v:.{nd}g}" if isinstance(v, float) else str(v)


def cmd_table(a) -> None:
    rows = [json.loads(p.read_text()) for p in sorted(a.results.glob("video-*-*.json"))]
    order = {"warp": 0, "warp (affine)": 1, "mocogan": 2, "frames": 3, "static": 4}
    rows.sort(key=lambda r: ({"all": 0, "500": 1, "100": 2}.get(r["clips"], 3), order.get(r["model"], 9)))
    head = ("| clips | model | CPU min (steps) | frame FD | clip FD | temporal cons. | static share | speed W1 "
            "(px/frame) | mean speed | memorization | train clips/s | sample clips/s | peak RSS MB |")
    lines = [head, "|" + "---|" * 13]
    for r in rows:
        lines.append(f"| {r['clips']} | {r['model']} | {r['train_cpu_s'] / 60:.1f} ({r['steps']}) | {fmt(r['frame_fd'])} | "
                     f"{fmt(r['clip_fd'])} | {fmt(r['temporal_consistency'])} | {fmt(r['static_share'])} | "
                     f"{fmt(r['speed_w1'])} | {fmt(r['speed_mean'])} | {fmt(r['memorization'])} | "
                     f"{r['train_clips_per_s']:.1f} | {r['sample_clips_per_s']:.0f} | {r['peak_rss_mb']:.0f} |")
    seen = set()
    for r in rows:     # real-vs-real reference per subset
        if r["clips"] in seen:
            continue
        seen.add(r["clips"])
        lines.append(f"| {r['clips']} | real vs real | — | {fmt(r.get('real_baseline_frame_fd'))} | "
                     f"{fmt(r.get('real_baseline_clip_fd'))} | {fmt(r.get('real_baseline_temporal_consistency'))} | "
                     f"{fmt(r.get('real_baseline_static_share'))} | {fmt(r.get('real_baseline_speed_w1'))} | "
                     f"{fmt(r.get('real_speed_mean'))} | — | — | — | — |")
    md = "\n".join(lines)
    print(md)
    (a.results / "video.md").write_text(md + "\n")
    (a.results / "video.json").write_text(json.dumps(rows, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--model", choices=("warp", "mocogan", "frames"), default="warp")
    r.add_argument("--clips", default="all", help="all, 500 or 100")
    r.add_argument("--cpu-minutes", type=float, default=15.0)
    r.add_argument("--steps", type=int, default=None,
                   help="train this many steps (stopping early at --cpu-minutes); the defaults that follow "
                        "from --steps apply (the warp model's frame phase is the first half)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--work", default="/tmp/fewgan-video-bench")
    r.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="a training option, e.g. g_width=16")
    r.add_argument("--tag", default="", help="appended to the model's name in the row and file, e.g. -g16")
    t = sub.add_parser("table")
    for p in (r, t):   # rows scored with one cached encoder belong together: one folder per such set
        p.add_argument("--results", type=Path, default=RESULTS, help="folder of the video-*.json rows")
    a = ap.parse_args()
    cmd_run(a) if a.cmd == "run" else cmd_table(a)


if __name__ == "__main__":
    main()
