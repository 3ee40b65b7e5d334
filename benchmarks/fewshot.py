"""Few-shot study: how augmentation changes quality and copying when data is scarce.

    python benchmarks/fewshot.py [--minutes 2] [--out benchmarks/results/fewshot.json]

Datasets: digits with 100 / 500 / all (1797) images, and faces100. Each with augmentation off,
DiffAugment, and ADA, under the same wall-clock budget per run on this machine. Metrics on G_ema:
FD and KID (digits: domain-classifier features trained on all 1797 digits; faces: the fixed random
CNN), coverage, and the share of suspected copies (memorization). FD/KID/coverage always compare
with the full dataset; memorization compares with the images the run trained on.
Also prints the reference points for reading FD on digits: real held-out vs real train, and an
untrained generator.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from fewgan.config import TrainConfig  # noqa: E402
from fewgan.evaluation import evaluate_run  # noqa: E402
from fewgan.metrics.distribution import fd  # noqa: E402
from fewgan.modalities import get_modality  # noqa: E402
from fewgan.train.run import start_run  # noqa: E402
from fewgan.train.sampling import generate  # noqa: E402

SETS = [("digits", 100), ("digits", 500), ("digits", None), ("faces100", None)]
AUGS = ["none", "diffaug", "ada"]


def digits_references(work: Path, seed: int = 0) -> dict:
    """FD of real held-out vs real train, and of an untrained G, on the evaluator's features."""
    mod = get_modality("image")
    prep = mod.prepare(TrainConfig.build("image", data="digits", seed=seed))
    cfg = mod.resolve_defaults(TrainConfig.build("image", data="digits", steps=1, seed=seed), prep)
    ev = mod.make_evaluator(cfg, prep, work)
    x = prep.x
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = len(x) // 5
    feats = ev.extractor(x) / ev.scale
    held_vs_train = fd(feats[perm[:n_test]], feats[perm[n_test:]])["fd"]
    torch.manual_seed(seed)
    G, _ = mod.build_nets(cfg, prep.codec)
    fake = generate(G, cfg.z_dim, len(x), torch.device("cpu"), prep.codec, None, seed)
    untrained = fd(feats, ev.extractor(fake) / ev.scale)["fd"]
    return {"fd_real_heldout_vs_train": held_vs_train, "n_heldout": n_test, "fd_untrained_G": untrained,
            "classifier_heldout_acc": ev.extractor.info.get("classifier_heldout_acc")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2.0, help="training budget per run")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "fewshot.json"))
    ap.add_argument("--keep", help="keep the run directories here")
    a = ap.parse_args()
    torch.set_num_threads(2)
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="fewshot-"))
    work.mkdir(parents=True, exist_ok=True)
    refs = digits_references(work)
    print(f"digits references: {json.dumps(refs)}", flush=True)
    extractor_files = list(work.glob("extractor-*.pt"))
    rows = []
    for data, n in SETS:
        for aug in AUGS:
            run = work / f"{data}-{n or 'all'}-{aug}"
            if run.exists():
                shutil.rmtree(run)
            cfg = TrainConfig.build("image", data=data, max_images=n, augment=aug, minutes=a.minutes, out=str(run))
            t0 = time.perf_counter()
            eng = start_run(cfg, verbose=False)
            train_s = time.perf_counter() - t0
            for f in extractor_files:            # the digits classifier is keyed by the full data: reuse it
                shutil.copy(f, run / f.name)
            res = evaluate_run(run).results
            row = {"data": data, "images": n or len(eng.prep.x), "augment": aug, "steps": eng.step,
                   "train_s": round(train_s, 1), "fd": res["fd"], "kid": res["kid"], "coverage": res["coverage"],
                   "precision": res["precision"], "recall": res["recall"], "memorization": res["memorization"],
                   "extractor": res["extractor"], "real_baseline_fd": res.get("real_baseline_fd")}
            rows.append(row)
            print(json.dumps(row), flush=True)
    lines = [f"Budget {a.minutes:g} CPU-minutes per run (2 threads); metrics on G_ema vs the full dataset.",
             "", "| data | images | augment | steps | FD ↓ | KID ↓ | coverage ↑ | suspected copies ↓ |",
             "|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['data']} | {r['images']} | {r['augment']} | {r['steps']} | {r['fd']:.2f} | "
                     f"{r['kid']:.4f} | {r['coverage']:.3f} | {r['memorization'] * 100:.1f}% |")
    lines += ["", f"Digits reference points (domain-classifier features, held-out accuracy "
                  f"{refs['classifier_heldout_acc']}): FD real held-out ({refs['n_heldout']}) vs real train = "
                  f"{refs['fd_real_heldout_vs_train']:.2f}; FD untrained G vs real = {refs['fd_untrained_G']:.2f}."]
    table = "\n".join(lines)
    print("\n" + table)
    out = {"benchmark": "fewshot", "minutes_per_run": a.minutes, "torch": torch.__version__, "rows": rows,
           "digits_references": refs, "markdown": table}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nwrote {a.out}")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
