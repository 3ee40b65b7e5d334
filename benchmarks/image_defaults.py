"""The image defaults vs the plain hand-written DCGAN loop at equal CPU time, on several data sets.

    python benchmarks/image_defaults.py run --data mnist1k [--variant default|plain] [--marks 1,2,5]
                                            [--set key=JSON ...] [--tag NAME]
    python benchmarks/image_defaults.py table [--tags a,b]

One `run` trains one variant on one set in this process, on ONE thread, and stops the clock at
each mark (CPU minutes of training, `time.process_time`, evaluation excluded) to score the current
generator with the modality's own evaluator: FD / KID / coverage on domain-classifier features
where the set has labels (digits, MNIST), on the fixed random CNN otherwise, equal-N FD and
coverage, and the share of suspected copies of the images it trained on. "default" is the engine
with every default (G_ema is scored); "plain" is the loop in benchmarks/throughput.py (the PyTorch
DCGAN tutorial's: BCE, Adam 2e-4 / 4e-4, batch 64, fp32, the default networks, G scored as the
user would sample it). Rows go to benchmarks/results/image_defaults.jsonl; `table` prints the latest row per
(set, variant, tag) as markdown.

Sets: digits (sklearn, 1797), mnist / mnist1k / mnist100 (../shared/data/mnist: the 10k test
images, all or a seeded subset; metrics against all 10k), faces100, histology (32 px).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from fewgan.config import TrainConfig  # noqa: E402
from fewgan.modalities import get_modality  # noqa: E402
from fewgan.train.loop import Engine  # noqa: E402
from throughput import PlainLoop  # noqa: E402  (this folder: the script's own sys.path entry)

MNIST = ROOT.parent / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"
SETS = {  # name -> (data, max_images)
    "digits": ("digits", None), "mnist": (str(MNIST), None), "mnist1k": (str(MNIST), 1000),
    "mnist100": (str(MNIST), 100), "faces100": ("faces100", None), "histology": ("histology", None),
}
RESULTS = ROOT / "benchmarks" / "results" / "image_defaults.jsonl"
CACHE = Path("/tmp/fewgan-image-defaults-cache")   # the domain classifier, trained once per set


def sample_plain(loop: PlainLoop, n: int, labels, seed: int) -> torch.Tensor:
    """The tutorial samples its G as it stands (train mode: BatchNorm on batch statistics)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, loop.cfg.z_dim, generator=g)
    with torch.no_grad():
        return torch.cat([loop.G(z[i:i + 256]).float() for i in range(0, n, 256)])


def run(a) -> None:
    torch.set_num_threads(1)
    data, max_images = SETS[a.data]
    if a.data.startswith("mnist") and not MNIST.exists():
        raise SystemExit(f"{MNIST} not found: the MNIST sets need ../shared/data/mnist")
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in a.set)}
    mod = get_modality("image")
    base = TrainConfig.build("image", data=data, max_images=max_images, seed=a.seed, steps=10 ** 9,
                             threads=1, **overrides)
    prep = mod.prepare(base)
    cfg = mod.resolve_defaults(base, prep)
    CACHE.mkdir(parents=True, exist_ok=True)
    evaluator = mod.make_evaluator(cfg, prep, CACHE / a.data)
    if a.variant == "default":
        eng = Engine(replace(cfg, steps=None, minutes=None), prep, out=None, verbose=False)
        sample = eng.sample_fn                    # G_ema, eval mode, as `fewgan sample` does
    else:
        eng = PlainLoop(cfg, prep)
        sample = lambda n, labels, seed: sample_plain(eng, n, labels, seed)  # noqa: E731
    marks = sorted(float(m) * 60 for m in a.marks.split(","))
    train_cpu = 0.0
    for mark in marks:
        while train_cpu < mark:
            t = time.process_time()
            for _ in range(10):
                eng.train_step()
            if a.variant == "default":
                eng.stats.flush(step=eng.step)     # the real loop's per-interval host sync and stats
            train_cpu += time.process_time() - t
        res = evaluator.evaluate(sample)
        row = {"data": a.data, "variant": a.variant, "tag": a.tag, "overrides": overrides, "seed": a.seed,
               "cpu_min": round(mark / 60, 2), "steps": eng.step, "time": time.strftime("%Y-%m-%d %H:%M"),
               **{k: res.get(k) for k in ("fd", "fd_eq", "kid", "coverage", "coverage_eq", "precision",
                                          "recall", "memorization", "real_baseline_fd_eq",
                                          "real_baseline_coverage_eq", "real_baseline_kid", "extractor")}}
        if a.variant == "default" and eng.ada is not None:
            row["ada_p"] = round(float(eng.ada.p), 3)
        print(json.dumps(row), flush=True)
        with RESULTS.open("a") as f:
            f.write(json.dumps(row) + "\n")
    if a.grid:
        from fewgan.report.grid import save_grid
        save_grid(prep.codec.decode(sample(64, None, 0)), Path(a.grid))


def table(a) -> None:
    latest = {}
    for line in RESULTS.read_text().splitlines():
        r = json.loads(line)
        if a.tags and r["tag"] not in a.tags.split(","):
            continue
        latest[(r["data"], r["variant"], r["tag"], r["cpu_min"])] = r
    print("| data | variant | tag | CPU min | steps | FD | FD eq (real) | KID | coverage eq (real) | copies |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (d, v, t, m), r in sorted(latest.items(), key=lambda kv: (list(SETS).index(kv[0][0]), kv[0][3], kv[0][1:])):
        print(f"| {d} | {v} | {t} | {m:g} | {r['steps']} | {r['fd']:.2f} | {r['fd_eq']:.2f} "
              f"({r['real_baseline_fd_eq']:.2f}) | {r['kid']:.4f} | {r['coverage_eq']:.2f} "
              f"({r['real_baseline_coverage_eq']:.2f}) | {100 * r['memorization']:.1f}% |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--data", choices=list(SETS), required=True)
    r.add_argument("--variant", choices=["default", "plain"], default="default")
    r.add_argument("--marks", default="1,2,5", help="CPU minutes of training at which to evaluate")
    r.add_argument("--set", action="append", default=[], help="override a setting: key=JSON value")
    r.add_argument("--tag", default="")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--grid", help="write a 64-sample grid PNG at the end")
    t = sub.add_parser("table")
    t.add_argument("--tags", default="")
    a = ap.parse_args()
    run(a) if a.cmd == "run" else table(a)


if __name__ == "__main__":
    main()
