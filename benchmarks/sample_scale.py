"""`fewgan sample` at scale: rows/s and peak RSS for 1M and 10M table rows (and a series .npy).

Each size runs in a fresh process with one torch thread; peak RSS is that process's ru_maxrss.
The table run is breast_cancer (31 columns) at the default width 128, trained briefly (sampling
speed depends on the net's size, not on its quality). The machine is shared: CPU time is quoted
with the wall time. Usage: python benchmarks/sample_scale.py [--sizes 1000000,10000000] [--work DIR]
Writes benchmarks/results/sample_scale.json and prints a markdown table."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = r"""
import json, resource, sys, time, torch
torch.set_num_threads(1)
from fewgan.cli import main
t0, c0 = time.perf_counter(), time.process_time()
code = main(sys.argv[1:] + ["--quiet"])
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"code": code, "wall_s": wall, "cpu_s": cpu,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(*args) -> dict:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src"), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", CHILD, *map(str, args)], env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    work = Path(a.work or tempfile.mkdtemp())
    table, series = work / "table", work / "series"
    if not (table / "checkpoint.pt").exists():
        child("train", "table", "--data", "breast_cancer", "--steps", "20", "--threads", "1", "--out", table)
    if not (series / "checkpoint.pt").exists():
        child("train", "series", "--data", "sines", "--steps", "20", "--threads", "1", "--out", series)
    rows = []
    for n in map(int, a.sizes.split(",")):
        for run, suffix in ((table, "parquet"), (table, "csv"), (series, "npy")):
            if suffix == "csv" and n > 1_000_000:
                continue      # 10M rows of CSV is ~2 GB of text; parquet shows the scaling
            n_here = n if run is table else n // 24     # series: windows of 24 steps (24 values per feature)
            out = work / f"s-{n_here}.{suffix}"
            res = child("sample", run, "-n", n_here, "--out", out)
            rows.append({"modality": run.name, "format": suffix, "n": n_here, **res,
                         "per_s_wall": n_here / res["wall_s"], "per_s_cpu": n_here / res["cpu_s"],
                         "file_mb": out.stat().st_size / 2 ** 20})
            out.unlink()
            print(rows[-1], flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "sample_scale.json").write_text(json.dumps(rows, indent=2) + "\n")
    print("\n| modality | format | n | wall s | CPU s | samples/s (wall) | samples/s (CPU) | peak RSS MB | file MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['modality']} | {r['format']} | {r['n']:,} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
              f"{r['per_s_wall']:,.0f} | {r['per_s_cpu']:,.0f} | {r['peak_rss_mb']:.0f} | {r['file_mb']:.0f} |")


if __name__ == "__main__":
    main()
