"""FastGAN vs DCGAN on the medical patch datasets at equal CPU time.

    python benchmarks/images.py [--cpu-minutes 5] [--data histology,retina] [--arch dcgan,fastgan]
                                [--res 64] [--train-args '--batch 16' --tag=-b16]
                                [--work /tmp/fewgan-images] [--out benchmarks/results/images.json]

Each run is a `fewgan train` subprocess with one thread. Its budget is CPU time, not wall time: the
machine these were measured on is shared, so a wall budget would hand whichever run met less load
more compute. The script reads the child's user+system time from /proc every half second and sends
SIGINT once it passes the budget; the engine finishes the step, saves and exits (so a run may
overshoot by one step and the final save). Then `fewgan evaluate RUN --json --features random`
(KID and FD on the fixed random CNN: no pretrained net offline) and a 64-sample grid per run.
Prints a markdown table; writes the rows as JSON. Linux only (/proc).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a live process (fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fewgan(*args: str, capture: bool = True) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-m", "fewgan", *args], env=env, check=True, text=True,
                         capture_output=capture)
    return res.stdout if capture else ""


def train_cpu_budget(out: Path, data: str, arch: str, res: int, budget_s: float, seed: int,
                     extra: tuple[str, ...] | list[str] = ()) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "fewgan", "train", "image", "--data", data, "--arch", arch, "--res", str(res),
           "--out", str(out), "--threads", "1", "--seed", str(seed), "--minutes", "100000",
           "--ckpt-every", "1000000", "--sample-every", "1000000", "--quiet", *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    cpu, stopped = 0.0, False
    while proc.poll() is None:
        time.sleep(0.5)
        try:
            cpu = cpu_seconds(proc.pid)
        except FileNotFoundError:
            break
        if cpu >= budget_s:
            proc.send_signal(signal.SIGINT)    # finishes the step, saves the checkpoint, exits 130
            stopped = True
            break
    rc = proc.wait()
    if rc != 0 and not (stopped and rc == 130):
        raise SystemExit(f"training {data}/{arch} failed with exit code {rc}")
    # CPU seconds of the whole process (start-up and data loading too) when it was stopped.
    rec = {"cpu_s": round(cpu, 1), "process_wall_s": round(time.perf_counter() - t0, 1)}
    (out / "bench.json").write_text(json.dumps(rec) + "\n")
    return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu-minutes", type=float, default=5.0)
    ap.add_argument("--data", default="histology,retina")
    ap.add_argument("--arch", default="dcgan,fastgan")
    ap.add_argument("--res", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-args", default="", help="more `fewgan train` flags for every run, e.g. '--batch 16'")
    ap.add_argument("--tag", default="", help="suffix of each run's name and row label, for variants")
    ap.add_argument("--work", type=Path, default=Path("/tmp/fewgan-images"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "images.json")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for data in a.data.split(","):
        for arch in a.arch.split(","):     # back to back, so each pair meets about the same load
            run = a.work / f"{data}-{arch}-{a.res}{a.tag}"
            if (run / "bench.json").exists():     # trained by an earlier, interrupted call: reuse it
                t = json.loads((run / "bench.json").read_text())
            elif run.exists():
                raise SystemExit(f"{run} exists without bench.json: remove it or pass another --work")
            else:
                t = train_cpu_budget(run, data, arch, a.res, a.cpu_minutes * 60, a.seed, a.train_args.split())
            import torch
            ck = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
            ev = json.loads(fewgan("evaluate", str(run), "--json", "--features", "random"))
            fewgan("sample", str(run), "-n", "64", "--out", str(run / "grid.png"))
            # train_wall_s: the engine's own training clock (start-up and final save excluded).
            row = {"data": data, "arch": arch + a.tag, "res": a.res, "train_args": a.train_args, **t,
                   "train_wall_s": round(ck["elapsed_s"], 1),
                   "steps": ck["step"],
                   "width": ck["config"]["options"]["width"],
                   "kid": ev.get("kid"), "fd": ev.get("fd"), "precision": ev.get("precision"),
                   "recall": ev.get("recall"), "real_baseline_kid": ev.get("real_baseline_kid"),
                   "real_baseline_fd": ev.get("real_baseline_fd"), "grid": str(run / "grid.png")}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| data | arch | CPU s | train wall s | steps | KID | FD | precision | recall | real-vs-real KID / FD |\n"
          "|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['data']}-{r['res']} | {r['arch']} | {r['cpu_s']:.0f} | {r['train_wall_s']:.0f} | {r['steps']} | "
              f"{r['kid']:.4f} | {r['fd']:.2f} | {r['precision']:.2f} | {r['recall']:.2f} | "
              f"{r['real_baseline_kid']:.4f} / {r['real_baseline_fd']:.2f} |")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"cpu_minutes": a.cpu_minutes, "threads": 1, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
