"""Text benchmark: the maximum-likelihood model against the GAN of the same code, across sampling
temperatures, on `names` (US census first names) and `oracle` (the synthetic LM benchmark).

    python benchmarks/text.py --dataset names [--mle-steps 1000 --adv-steps 500]   # train + score one
    python benchmarks/text.py --collect                                          # table, JSON, PNG
    python benchmarks/text.py --seeds FILE.json ...                              # mean +- sd over seeds

Per dataset: an MLE run (--adv-steps 0) and a GAN run (the same MLE pre-training, then adversarial
steps), seed 0, one torch thread; train CPU time by time.process_time (the machine is shared, so
wall time is not a measure). Each run is scored at several temperatures with 1000 samples:
BLEU-4 / self-BLEU-4 / novelty / held-out hits / reverse-LM NLL (and oracle NLL), plus the
held-out NLL at temperature 1 and at the sampling temperature (the diversity axis of the oracle's
quality-diversity curve: lowering T buys oracle NLL at the price of it). Partial results:
benchmarks/results/text-<dataset>.json; --collect writes benchmarks/results/text.json,
text-curves.png and prints the markdown table.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from fewgan.config import TrainConfig  # noqa: E402
from fewgan.modalities import get_modality  # noqa: E402
from fewgan.train.run import start_run  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TEMPERATURES = (0.6, 0.8, 1.0, 1.2)
KEYS = ("bleu4", "self_bleu4", "novelty", "heldout_hits", "reverse_lm_nll", "nll_test", "nll_test_temp", "nll_oracle",
        "bleu2", "self_bleu2", "uniqueness", "length_w1")


def run_one(dataset: str, model: str, mle: int, adv: int, runs: Path, threads: int, seed: int,
            overrides: dict | None = None, tag: str = "") -> list[dict]:
    torch.set_num_threads(threads)
    out = runs / f"text-{dataset}-{model}{tag}-s{seed}"
    cfg = TrainConfig.build("text", data=dataset, out=str(out), seed=seed, threads=threads, mle_steps=mle,
                            adv_steps=adv if model == "gan" else 0, log_every=100, sample_every=10**6,
                            ckpt_every=10**6, **(overrides or {}))
    t0, c0 = time.perf_counter(), time.process_time()
    eng = start_run(cfg, verbose=False, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ev = get_modality("text").make_evaluator(eng.cfg, eng.prep, None)
    ev.bind_generator(eng.G_ema)
    rows = []
    for t in TEMPERATURES:
        c1 = time.process_time()
        res = ev.evaluate(temperature=t)
        rows.append({"dataset": dataset, "model": model + tag, "temperature": t, "seed": seed, "mle_steps": mle,
                     "overrides": overrides or {},
                     "adv_steps": adv if model == "gan" else 0, "train_cpu_s": round(cpu, 1),
                     "train_wall_s": round(wall, 1), "eval_cpu_s": round(time.process_time() - c1, 1),
                     **{k: res.get(k) for k in KEYS},
                     **{k: v for k, v in res.items() if k.startswith("real_baseline_")}})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    head = ("| data | model | T | BLEU-4 | self-BLEU-4 | novelty | held-out hits | reverse-LM NLL | held-out NLL "
            "| held-out NLL at T | oracle NLL | length W1 | train CPU s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]

    def f(v, d=3):
        return "" if v is None else f"{v:.{d}f}"
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['model']} | {r['temperature']:g} | {f(r['bleu4'])} | {f(r['self_bleu4'])} "
                     f"| {f(r['novelty'])} | {f(r['heldout_hits'])} | {f(r['reverse_lm_nll'])} | {f(r['nll_test'])} "
                     f"| {f(r.get('nll_test_temp'))} | {f(r.get('nll_oracle'))} | {f(r.get('length_w1'), 2)} "
                     f"| {r['train_cpu_s']:.0f} |")
    real = {}
    for r in rows:
        real.setdefault(r["dataset"], r)
    for ds, r in real.items():
        lines.append(f"| {ds} | real lines | | {f(r.get('real_baseline_bleu4'))} | {f(r.get('real_baseline_self_bleu4'))} "
                     f"| | | {f(r.get('real_baseline_reverse_lm_nll'))} | | | {f(r.get('real_baseline_nll_oracle'))} | | |")
    return "\n".join(lines)


def seeds_table(files: list[str]) -> str:
    """Mean +- sample sd over the seeds in `files` of each (data, model, T): runs are chaotic (a
    different seed, or a 1e-7 change in D's input, moves the GAN's numbers), so one seed is not a verdict."""
    groups: dict = {}
    for f in files:
        for r in json.loads(Path(f).read_text())["rows"]:
            groups.setdefault((r["dataset"], r["model"], r["temperature"]), []).append(r)
    cols = ("bleu4", "self_bleu4", "novelty", "heldout_hits", "reverse_lm_nll", "nll_test", "nll_test_temp",
            "nll_oracle", "length_w1", "train_cpu_s")
    lines = ["| data | model | T | seeds | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 4)]
    for (ds, model, t), rs in sorted(groups.items()):
        cells = []
        for k in cols:
            v = [r[k] for r in rs if r.get(k) is not None]
            if not v:
                cells.append("")
                continue
            m = sum(v) / len(v)
            sd = (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5 if len(v) > 1 else 0.0
            cells.append(f"{m:.0f}" if k == "train_cpu_s" else f"{m:.3f} ± {sd:.3f}")
        lines.append(f"| {ds} | {model} | {t:g} | {','.join(str(r['seed']) for r in rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curves_png(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sets = sorted({r["dataset"] for r in rows})
    fig, axes = plt.subplots(2, len(sets), figsize=(5 * len(sets), 8), squeeze=False)
    for j, ds in enumerate(sets):
        models = sorted({r["model"] for r in rows if r["dataset"] == ds}, key=lambda m: (m != "mle", m != "gan", m))
        for model, colour in zip(models, ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")):
            rs = sorted((r for r in rows if r["dataset"] == ds and r["model"] == model), key=lambda r: r["temperature"])
            for i, (x, y) in enumerate((("self_bleu4", "bleu4"),
                                        ("nll_test_temp", "nll_oracle") if ds == "oracle" else ("reverse_lm_nll", "bleu4"))):
                ax = axes[i][j]
                xs, ys = [r[x] for r in rs], [r[y] for r in rs]
                ax.plot(xs, ys, marker="o", c=colour, label=model)
                for r, a, b in zip(rs, xs, ys):
                    ax.annotate(f"T={r['temperature']:g}", (a, b), fontsize=7, xytext=(3, 3), textcoords="offset points")
                ax.set_xlabel(x + (" (lower = more diverse)" if x == "self_bleu4" else " (lower is better)"))
                ax.set_ylabel(y)
                ax.set_title(ds)
                ax.grid(alpha=0.3)
                ax.legend(fontsize=8)
        r0 = next(r for r in rows if r["dataset"] == ds)
        if r0.get("real_baseline_self_bleu4") is not None:
            axes[0][j].scatter([r0["real_baseline_self_bleu4"]], [r0["real_baseline_bleu4"]], marker="*", s=150,
                               c="tab:red", label="real lines")
            axes[0][j].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", choices=("names", "oracle"))
    p.add_argument("--mle-steps", type=int, default=1000)
    p.add_argument("--adv-steps", type=int, default=500)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", default="/tmp/fewgan-text-bench")
    p.add_argument("--models", default="mle,gan")
    p.add_argument("--set", action="append", default=[], help="override a setting: key=JSON value")
    p.add_argument("--tag", default="", help="appended to the model names and the results file (explorations)")
    p.add_argument("--results", default=str(RESULTS), help="folder of the per-dataset JSON")
    p.add_argument("--collect", action="store_true")
    p.add_argument("--seeds", nargs="+", metavar="FILE", help="print mean +- sd over the rows of these files")
    a = p.parse_args()
    if a.seeds:
        print(seeds_table(a.seeds))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    if a.collect:
        rows = []
        for ds in ("names", "oracle"):
            f = RESULTS / f"text-{ds}.json"
            if f.exists():
                rows += json.loads(f.read_text())["rows"]
        curves_png(rows, RESULTS / "text-curves.png")
        doc = {"rows": rows, "temperatures": TEMPERATURES, "threads": 1, "machine": platform.platform(),
               "cpu": "2 cores shared with other jobs: CPU times by time.process_time",
               "torch": torch.__version__}
        (RESULTS / "text.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(table(rows))
        return
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in a.set)}
    rows = []
    for model in a.models.split(","):
        rows += run_one(a.dataset, model, a.mle_steps, a.adv_steps, Path(a.runs), a.threads, a.seed, overrides, a.tag)
    Path(a.results).mkdir(parents=True, exist_ok=True)
    seed = f"-s{a.seed}" if a.seed else ""               # seed 0 keeps the historical file names
    (Path(a.results) / f"text-{a.dataset}{a.tag}{seed}.json").write_text(json.dumps(
        {"rows": rows, "torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M")}, indent=1) + "\n")


if __name__ == "__main__":
    main()
