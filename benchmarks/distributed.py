"""Training throughput with 1 vs 2 torchrun processes (gloo, CPU), image and table runs.

Same global batch in both cases (the 2-process run splits it); one torch thread per process.
samples/s = images or rows per second of training, from stats.jsonl (the windows after the first,
which holds the start-up). On this machine the 2 CPU cores are shared with other jobs, so the 2-process
number tells whether the all-reduces cost more than the second core gives, not a clean speed-up.
Usage: python benchmarks/distributed.py [--steps 120] [--device cpu]
Writes benchmarks/results/distributed.json and prints a markdown table."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = {
    "image": ["image", "--data", "digits", "--batch", "64"],                   # 32 px, width 16, ADA + R1
    "table": ["table", "--data", "breast_cancer", "--batch", "200", "--pac", "5"],   # width 128, WGAN-GP
}


def run(kind: str, nproc: int, steps: int, device: str, work: Path) -> dict:
    out = work / f"{kind}-{nproc}"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
           "-m", "fewgan", "train", *RUNS[kind], "--steps", str(steps), "--log-every", str(steps // 4),
           "--sample-every", str(steps), "--threads", "1", "--device", device, "--quiet", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src"), "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(r.stderr[-3000:])
    rows = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    later = rows[1:]
    n = sum(b["kimg"] - a["kimg"] for a, b in zip(rows, later)) * 1000
    t = sum(b["time_s"] - a["time_s"] for a, b in zip(rows, later))
    return {"kind": kind, "processes": nproc, "device": device, "steps": steps, "samples_per_s": n / t,
            "launch_wall_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp())
    rows = []
    for kind in RUNS:
        for nproc in (1, 2):
            rows.append(run(kind, nproc, a.steps, a.device, work))
            print(rows[-1], flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "distributed.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("\n| run | processes | device | samples/s | speed-up |")
    print("|---|---|---|---|---|")
    for r in rows:
        base = next(b for b in rows if b["kind"] == r["kind"] and b["processes"] == 1)
        print(f"| {r['kind']} | {r['processes']} | {r['device']} | {r['samples_per_s']:,.0f} | "
              f"{r['samples_per_s'] / base['samples_per_s']:.2f}x |")


if __name__ == "__main__":
    main()
