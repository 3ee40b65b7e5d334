"""How noisy is the real Stocks leverage statistic that issue 17's "as close as GARCH" line compares?

    python benchmarks/series_leverage_noise.py [--blocks 20] [--boot 400]

The evaluation's leverage is, per column, the mean over k = 1..10 of corr(r_t, |r_t+k|) of the real
daily returns (about 3,700 days), and `leverage_gap` is the mean over columns of |fake - real|. A
moving-block bootstrap of the real returns (blocks of --blocks days keep the volatility clustering)
gives the statistic's standard error per column, and the gap that a generator of the data's own
process would score: its own estimate (the evaluator's 1000 paths of 250 steps) is close to the
truth, so its gap is about |real estimate - truth|, which the bootstrap spread approximates. Writes
benchmarks/results/series-leverage-noise.json.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from fewgan.config import TrainConfig  # noqa: E402
from fewgan.metrics.series_risk import leverage, log_mask, real_paths, to_returns  # noqa: E402
from fewgan.modalities import get_modality  # noqa: E402

STOCK = ROOT.parent / "shared" / "data" / "stock" / "stock_data.csv"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--boot", type=int, default=400)
    a = ap.parse_args()
    cfg = TrainConfig.build("series", data=str(STOCK), reverse=True, seed=0, model="returns")
    prep = get_modality("series").prepare(cfg)
    paths = real_paths(prep.codec.decode(prep.x))
    r = to_returns(paths, log_mask(paths))[0]                                   # (n, F)
    n, L = len(r), a.blocks
    real = leverage(r[None])
    rng = np.random.default_rng(0)
    reps = np.array([leverage(r[(rng.integers(0, n - L, n // L + 1)[:, None] + np.arange(L)).ravel()[:n]][None])
                     for _ in range(a.boot)])                                   # (boot, F)
    gap = np.abs(reps - real).mean(1)
    out = {"columns": prep.codec.columns, "days": n, "block": L, "boot": a.boot, "real": real.tolist(),
           "se": reps.std(0).tolist(), "own_process_gap_median": float(np.median(gap)),
           "own_process_gap_p10": float(np.quantile(gap, 0.1)), "own_process_gap_p90": float(np.quantile(gap, 0.9))}
    for c, v, s in zip(out["columns"], out["real"], out["se"]):
        print(f"{c:10s} real leverage {v:+.4f}  bootstrap SE {s:.4f}")
    print(f"gap of a generator of the data's own process: median {out['own_process_gap_median']:.4f} "
          f"(10-90%: {out['own_process_gap_p10']:.4f}-{out['own_process_gap_p90']:.4f})")
    (ROOT / "benchmarks" / "results" / "series-leverage-noise.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
