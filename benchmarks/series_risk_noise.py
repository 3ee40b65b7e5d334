"""How much do a finished `--model returns` run's risk checks move with the sampling noise alone?

    python benchmarks/series_risk_noise.py RUN [--paths 200,1000] [--cal 256x250,4096x64] [--seeds 6] [--out F]

For each size of the calibration sample (CAL_PATHS x CAL_LEN; "off" = `--no-calibrate`) and each
number of scored paths (of 250 steps), the risk checks of the same weights are repeated on
--seeds noise seeds (1000, 1001, ...), and the range of each headline number is printed: mean
excess kurtosis, the worst column's 1-day 99% VaR and ES relative to real, leverage_gap, acf1(r).
Round 13 used it to choose the evaluator's 1000 paths (metrics/series.py EVAL_PATHS) and the
calibration's 4096 x 64 (modalities/series/returns.py CAL_PATHS, CAL_LEN).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
import fewgan.modalities.series.returns as R  # noqa: E402
from fewgan.metrics.series_risk import risk_checks  # noqa: E402
from fewgan.modalities import get_modality  # noqa: E402
from fewgan.train.run import TrainedGenerator  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--paths", default="200,1000")
    ap.add_argument("--cal", default=f"{R.CAL_PATHS}x{R.CAL_LEN}")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(1)
    gen = TrainedGenerator.open(a.run)
    prep = get_modality("series").prepare(gen.config)
    real, cols = prep.codec.decode(prep.x), list(prep.codec.columns)
    rows = []
    for cal in a.cal.split(","):
        if cal == "off":
            gen.G.calibrate_scores = False
        else:
            gen.G.calibrate_scores = True
            R.CAL_PATHS, R.CAL_LEN = (int(v) for v in cal.split("x"))
            gen.G.cal_on.fill_(False)
        for n in (int(v) for v in a.paths.split(",")):
            got = []
            for s in range(a.seeds):
                res = risk_checks(real, prep.codec.decode(gen.sample(n, None, 1000 + s, length=250).float()), cols, 250)
                rb = res["risk_by_column"]
                rel = lambda k: max((v[k][1] / v[k][0] - 1 for v in rb.values()), key=abs)  # noqa: E731
                got.append([res["kurtosis_fake"], rel("var99_1d"), rel("es99_1d"), res["leverage_gap"],
                            res["acf_returns_fake"]])
            g = np.array(got)
            row = {"calibration": cal, "paths": n, "seeds": a.seeds,
                   **{f"{k}_{m}": float(f(g[:, j])) for j, k in enumerate(
                       ("kurtosis", "worst_var99_rel", "worst_es99_rel", "leverage_gap", "acf1"))
                      for m, f in (("min", np.min), ("max", np.max))}}
            rows.append(row)
            print(f"calibration {cal:>9s}  {n:5d} paths: kurtosis {row['kurtosis_min']:.2f}..{row['kurtosis_max']:.2f}  "
                  f"worst VaR99 {row['worst_var99_rel_min']:+.3f}..{row['worst_var99_rel_max']:+.3f}  "
                  f"worst ES99 {row['worst_es99_rel_min']:+.3f}..{row['worst_es99_rel_max']:+.3f}  "
                  f"leverage_gap {row['leverage_gap_min']:.4f}..{row['leverage_gap_max']:.4f}  "
                  f"acf1 {row['acf1_min']:.3f}..{row['acf1_max']:.3f}", flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps({"run": a.run, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
