"""Time-series benchmark: fewgan's series GAN on Sines and Stocks under the TimeGAN protocol.

    python benchmarks/series.py --dataset stocks [--repeats 5] [--threads 1]   # train + score one
    python benchmarks/series.py --dataset stocks --set model=timegan --tag -timegan   # the TimeGAN design
    python benchmarks/series.py --dataset sines --set r1_gamma=1 --tag -gamma1        # an R1 weight
    python benchmarks/series.py --dataset stocks --peer garch                    # GARCH(1,1)-t peer row
    python benchmarks/series.py --collect                                        # tables + results JSON

Each dataset: train with the modality's defaults (seed 0, one thread), measure wall and CPU time
(time.process_time) of training, then score G_ema's windows (as many as real windows) with the
discriminative and predictive scores (`--protocol timegan`: the paper's 2000 / 5000 iterations,
batch 128; mean ± std over --repeats; the paper averages 10), plus the predictive score of a
regressor trained on real data, and the stylized-fact / risk checks (metrics/series_risk.py: 200
synthetic paths of 250 steps against the whole real series). `--peer garch`: the same scores for a
GARCH(1,1)-t with constant conditional correlation fitted to the real returns (series_garch.py).
Stocks = /work/shared/data/stock/stock_data.csv reversed as in TimeGAN's loader (--reverse true).
Partial results go to benchmarks/results/series-<dataset>.json; --collect merges them into
benchmarks/results/series.json and prints the table.
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
sys.path.insert(0, str(ROOT / "benchmarks"))
from fewgan.config import TrainConfig  # noqa: E402
from fewgan.modalities import get_modality  # noqa: E402
from fewgan.train.run import start_run  # noqa: E402

STOCK = ROOT.parent / "shared" / "data" / "stock" / "stock_data.csv"
PAPER = {"sines": {"discriminative": 0.011, "predictive": 0.093},
         "stocks": {"discriminative": 0.102, "predictive": 0.038, "real_predictive": 0.036}}
RESULTS = ROOT / "benchmarks" / "results"


def run_one(name: str, repeats: int, threads: int, seed: int, runs: Path, settings: dict, tag: str) -> dict:
    torch.set_num_threads(threads)
    data = "sines" if name == "sines" else str(STOCK)
    out = runs / f"series-{name}-s{seed}{tag}"
    base = {"reverse": True} if name == "stocks" else {}
    cfg = TrainConfig.build("series", data=data, out=str(out), seed=seed, threads=threads, log_every=100,
                            sample_every=10**6, ckpt_every=10**6,
                            **{**base, "protocol": "timegan", "eval_repeats": repeats, **settings})
    t0, c0 = time.perf_counter(), time.process_time()
    eng = start_run(cfg, verbose=False, progress=False)
    train_wall, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    cfg = eng.cfg
    mod = get_modality("series")
    ev = mod.make_evaluator(cfg, eng.prep, None, real_baseline=True)
    t1 = time.process_time()
    res = ev.evaluate(eng.sample_fn)
    eval_cpu = time.process_time() - t1
    o = cfg.options
    timegan = {k: getattr(o, k) for k in ("ae_steps", "sup_steps", "cell", "g_steps")} if o.model == "timegan" else {}
    row = {"dataset": name, "seed": seed, "model": o.model, "steps": cfg.steps, **timegan,
           "train_wall_s": round(train_wall, 1), "train_cpu_s": round(train_cpu, 1), "threads": threads,
           "eval_cpu_s": round(eval_cpu, 1), "run": str(out), **_plain(res),
           "paper_timegan": PAPER[name]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    row["settings"] = settings
    (RESULTS / f"series-{name}{tag}.json").write_text(json.dumps(row, indent=2) + "\n")
    return row


def score_run(name: str, run: Path, repeats: int, threads: int, train_cpu: float | None, baseline: bool,
              tag: str = "", settings: dict | None = None) -> dict:
    """Score a finished run (its training process stopped before its own scoring, e.g. to fit a
    shared machine's time, or a 1-repeat exploration rescored with more repeats); train_cpu: that
    process's CPU seconds up to the final checkpoint (default: the run's earlier row, if any)."""
    earlier = RESULTS / f"series-{name}{tag}.json"
    if train_cpu is None and earlier.exists():
        train_cpu = json.loads(earlier.read_text()).get("train_cpu_s")
    from fewgan.train.run import TrainedGenerator
    torch.set_num_threads(threads)
    gen = TrainedGenerator.open(run)
    cfg = gen.config
    if settings and "calibrate" in settings:    # --set calibrate=false: the same weights, G's own score law
        gen.G.calibrate_scores = bool(settings["calibrate"])
    cfg.options = cfg.options.replace(protocol="timegan", eval_repeats=repeats)
    prep = get_modality("series").prepare(cfg)
    ev = get_modality("series").make_evaluator(cfg, prep, None, real_baseline=baseline)
    t1 = time.process_time()
    res = ev.evaluate(gen.sample)
    o = cfg.options
    row = {"dataset": name, "seed": cfg.seed, "model": o.model, "steps": gen.checkpoint["step"],
           "train_wall_s": round(gen.checkpoint["elapsed_s"], 1),
           "train_cpu_s": round(train_cpu, 1) if train_cpu is not None else None, "threads": threads,
           "eval_cpu_s": round(time.process_time() - t1, 1), "run": str(run), **_plain(res),
           "paper_timegan": PAPER[name], "settings": settings or {}, "scored_separately": True}
    earlier.write_text(json.dumps(row, indent=2) + "\n")
    return row


def _plain(res: dict) -> dict:
    """Numbers, the acf curves and the per-column table (what the tables and docs quote)."""
    keep = ("acf_curve_real", "acf_curve_fake", "acf_abs_curve_real", "acf_abs_curve_fake", "risk_by_column")
    return {k: v for k, v in res.items() if isinstance(v, (int, float)) or k in keep}


def run_garch(name: str, repeats: int, threads: int, seed: int) -> dict:
    """GARCH(1,1)-t peer: fit, then the evaluator fewgan's rows get (TimeGAN protocol + risk checks)."""
    from series_garch import GarchPeer

    from fewgan.metrics.series import SeriesEvaluator
    from fewgan.metrics.series_risk import real_paths
    torch.set_num_threads(threads)
    cfg = TrainConfig.build("series", data=str(STOCK), reverse=True, seed=seed)
    prep = get_modality("series").prepare(cfg)
    c0 = time.process_time()
    peer = GarchPeer(real_paths(prep.codec.decode(prep.x))[0])
    fit_cpu = time.process_time() - c0
    ev = SeriesEvaluator(prep.x, prep.codec, None, seed, repeats=repeats, protocol="timegan")
    t1 = time.process_time()
    res = ev.evaluate(peer.sampler(prep.codec, prep.codec.seq_len))
    row = {"dataset": name, "seed": seed, "model": "garch11-t-ccc", "train_cpu_s": round(fit_cpu, 1),
           "train_wall_s": round(fit_cpu, 1), "threads": threads, "eval_cpu_s": round(time.process_time() - t1, 1),
           "garch_params": peer.params, **_plain(res), "settings": {"peer": "garch"}}
    (RESULTS / f"series-{name}-garch.json").write_text(json.dumps(row, indent=2) + "\n")
    return row


def rescore(name: str, run: Path, part: str, repeats: int, threads: int) -> dict:
    """Score the raw G ("G") or the EMA copy ("G_ema") of a finished benchmark run (EMA ablation)."""
    from fewgan.train.checkpoint import load_checkpoint
    from fewgan.train.run import TrainedGenerator
    torch.set_num_threads(threads)
    ck = load_checkpoint(run / "checkpoint.pt")
    gen = TrainedGenerator({**ck, "G_ema": ck[part]})
    cfg = gen.config
    prep = get_modality("series").prepare(cfg)
    cfg.options = cfg.options.replace(protocol="timegan", eval_repeats=repeats)
    ev = get_modality("series").make_evaluator(cfg, prep, None)
    res = ev.evaluate(gen.sample)
    row = {"dataset": name, "part": part, "step": ck["step"], "repeats": repeats,
           **{k: res[k] for k in ("discriminative", "discriminative_std", "predictive", "predictive_std")}}
    with open(RESULTS / "series-ema-ablation.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def table(rows: list[dict]) -> str:
    lines = ["| dataset | model | discriminative | predictive | train wall / CPU | ",
             "|---|---|---:|---:|---:|"]
    rows = [r for r in rows if r.get("model") != "garch11-t-ccc"]
    for i, r in enumerate(rows):
        p = PAPER[r["dataset"]]
        what = ", ".join(f"{k}={v}" for k, v in r.get("settings", {}).items()) or "defaults (rgan)"
        lines.append(f"| {r['dataset']} | fewgan series, {what} (seed {r['seed']}, {r['repeats']} repeats) | "
                     f"{r['discriminative']:.3f} ± {r['discriminative_std']:.3f} | "
                     f"{r['predictive']:.3f} ± {r['predictive_std']:.3f} | "
                     f"{r['train_wall_s'] / 60:.1f} / {r['train_cpu_s'] / 60:.1f} min |")
        if i + 1 < len(rows) and rows[i + 1]["dataset"] == r["dataset"]:
            continue        # the paper's row and the real-data row once per dataset
        lines.append(f"| {r['dataset']} | TimeGAN (paper) | {p['discriminative']:.3f} | {p['predictive']:.3f} | |")
        b = next((x for x in reversed(rows[:i + 1]) if x["dataset"] == r["dataset"] and "real_baseline_predictive" in x), None)
        lines.append(f"| {r['dataset']} | real data, predictive (ours{'; paper ' + str(p['real_predictive']) if 'real_predictive' in p else ''}) | | "
                     + (f"{b['real_baseline_predictive']:.3f} ± {b['real_baseline_predictive_std']:.3f}" if b else "") + " | |")
    return "\n".join(lines)


RISK_COLS = [("discriminative", "disc.", "{:.3f}"), ("predictive", "pred.", "{:.3f}"),
             ("kurtosis", "excess kurtosis", "{:.2f}"), ("acf_returns", "acf1(r)", "{:.3f}"),
             ("acf_abs_returns", "acf1(abs r)", "{:.3f}"), ("leverage", "leverage", "{:.3f}"),
             ("var99_1d", "VaR99 1d", "{:.4f}"), ("es99_1d", "ES99 1d", "{:.4f}"),
             ("var99_10d", "VaR99 10d", "{:.4f}"), ("drawdown_median", "MDD median", "{:.3f}")]
GAPS = ("kurtosis_gap", "acf_gap", "acf_abs_gap", "leverage_gap", "var_gap", "es_gap", "drawdown_ks",
        "cross_corr_gap", "cross_corr_abs_gap")


def risk_table(rows: list[dict]) -> str:
    """Stylized facts and risk (feature means), real beside each model, then the distances to real."""
    rows = [r for r in rows if "var99_1d_real" in r and r["dataset"] == "stocks"]
    if not rows:
        return ""
    head = "| row | " + " | ".join(c[1] for c in RISK_COLS) + " | train CPU |"
    lines = [head, "|---" * (len(RISK_COLS) + 2) + "|"]

    def cell(r, k, side, fmt):
        v = r.get(k) if k in ("discriminative", "predictive") else r.get(f"{k}_{side}")
        return fmt.format(v) if isinstance(v, (int, float)) else ""
    for r in rows:
        name = "GARCH(1,1)-t (CCC)" if r["model"] == "garch11-t-ccc" else \
            "fewgan " + (", ".join(f"{k}={v}" for k, v in r.get("settings", {}).items()) or "default")
        lines.append(f"| {name} | " + " | ".join(cell(r, k, "fake", f) for k, _, f in RISK_COLS)
                     + f" | {r['train_cpu_s'] / 60:.1f} min |")
    fw = next((r for r in rows if "real_baseline_predictive" in r), rows[0])
    base = fw.get("real_baseline_predictive")
    lines.append("| real data | | " + (f"{base:.3f}" if base is not None else "") + " | "
                 + " | ".join(cell(fw, k, "real", f) for k, _, f in RISK_COLS[2:]) + " | |")
    lines += ["", "| row | " + " | ".join(GAPS) + " | acf(abs r) max gap, lags 1-10 |", "|---" * (len(GAPS) + 2) + "|"]
    for r in rows:
        name = "GARCH(1,1)-t (CCC)" if r["model"] == "garch11-t-ccc" else "fewgan " + (
            ", ".join(f"{k}={v}" for k, v in r.get("settings", {}).items()) or "default")
        g10 = max(abs(a - b) for a, b in zip(r["acf_abs_curve_fake"][:10], r["acf_abs_curve_real"][:10]))
        lines.append(f"| {name} | " + " | ".join(f"{r.get(k, float('nan')):.3f}" for k in GAPS) + f" | {g10:.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", choices=["sines", "stocks"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", default=str(ROOT / "runs"))
    ap.add_argument("--collect", action="store_true")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting for this run (a series setting such as diff_moments=0, or a training one such as "
                         "r1_gamma=1); results go to series-<dataset><tag>.json")
    ap.add_argument("--tag", default="")
    ap.add_argument("--rescore", choices=["G", "G_ema"], help="score this part of the finished --dataset run")
    ap.add_argument("--peer", choices=["garch"], help="score a GARCH(1,1)-t peer instead of training fewgan")
    ap.add_argument("--score", action="store_true", help="score the finished --dataset run in --runs, no training")
    ap.add_argument("--train-cpu", type=float, help="with --score: the training process's CPU seconds")
    ap.add_argument("--baseline", action="store_true", help="with --score: also the real-data predictive score")
    a = ap.parse_args()
    if a.score:
        settings = {k: json.loads(v) for k, _, v in (x.partition("=") for x in a.set)}
        print(json.dumps(score_run(a.dataset, Path(a.runs) / f"series-{a.dataset}-s{a.seed}{a.tag}", a.repeats,
                                   a.threads, a.train_cpu, a.baseline, a.tag, settings), indent=2))
        return
    if a.peer:
        if a.dataset != "stocks":
            ap.error("--peer garch needs --dataset stocks")
        print(json.dumps(run_garch(a.dataset, a.repeats, a.threads, a.seed), indent=2))
        return
    if a.rescore:
        print(json.dumps(rescore(a.dataset, Path(a.runs) / f"series-{a.dataset}-s{a.seed}", a.rescore,
                                 a.repeats, a.threads)))
        return
    if a.dataset:
        settings = {k: json.loads(v) for k, _, v in (x.partition("=") for x in a.set)}
        row = run_one(a.dataset, a.repeats, a.threads, a.seed, Path(a.runs), settings, a.tag)
        print(json.dumps(row, indent=2))
    if a.collect:
        rows = [json.loads(p.read_text()) for n in ("sines", "stocks")
                for p in sorted(RESULTS.glob(f"series-{n}*.json"))]
        env = {"torch": torch.__version__, "platform": platform.platform(), "python": sys.version.split()[0]}
        (RESULTS / "series.json").write_text(json.dumps({"rows": rows, "environment": env}, indent=2) + "\n")
        print(table(rows))
        print()
        print(risk_table(rows))


if __name__ == "__main__":
    main()
