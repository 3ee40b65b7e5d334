"""Crash anywhere, long variant: 20 SIGKILLs per modality at seeded random kill points (mid checkpoint
write, before a checkpoint.pt / best.pt rename, mid stats.jsonl / metrics.jsonl line, or after a
random delay), a resume after each, then the finished run is compared with one never killed:
whole checkpoint and best.pt bitwise (every tensor, RNG states included), log lines neither torn
nor repeated and equal to the unkilled run's (wall-clock fields aside), no temp files left.

    python benchmarks/crash.py --modality table [--kills 20] [--seed 0] [--json benchmarks/results/crash-table.json]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]
import crash_harness as ch  # noqa: E402
from conftest import checkpoint_diff  # noqa: E402
from test_crash import COMMON, IMAGE, TABLE, table_csv  # noqa: E402

from fewgan.train.checkpoint import load_checkpoint  # noqa: E402

KINDS = ["write:checkpoint.pt", "fsync:checkpoint.pt", "append:stats.jsonl", "append:metrics.jsonl",
         "fsync:best.pt", "write:best.pt", "time"]


def kill_points(n: int, rng: random.Random) -> list[str]:
    pts = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)] if i < len(KINDS) else rng.choice(KINDS)
        if i == 0 and kind.endswith("checkpoint.pt"):
            kind = "append:stats.jsonl"        # the first kill comes after the step-0 checkpoint
        pts.append(f"time:{rng.uniform(4, 20):.1f}" if kind == "time" else f"{kind}:{rng.randint(1, 2)}")
    return pts


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modality", choices=("table", "image"), required=True)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = Path(tempfile.mkdtemp(prefix=f"fewgan-crash-{a.modality}-"))
    if a.modality == "table":
        args, steps = ["--data", table_csv(work / "t.csv", 60), *TABLE, *COMMON], 600
    else:
        args, steps = [*IMAGE, *COMMON], 500
    killed, straight = work / "killed", work / "straight"
    first = ["train", a.modality, *args, "--out", killed, "--steps", steps]
    resume = ["train", "--resume", killed, "--steps", steps, "--quiet"]
    t0 = time.time()
    log = []
    for i, kill in enumerate(kill_points(a.kills, rng)):
        r = ch.run_until_killed(first if i == 0 else resume, kill)
        step = load_checkpoint(killed / "checkpoint.pt")["step"] if (killed / "checkpoint.pt").exists() else None
        errs = [line for line in r["stderr"] if "error" in line.lower() or "Traceback" in line]
        log.append({"kill": kill, "killed": r["killed"], "rc": r["rc"], "checkpoint_step_after": step, "errors": errs})
        print(f"kill {i + 1:2d} {kill:28s} killed={r['killed']} checkpoint step {step} {errs[:1]}", flush=True)
        if not r["killed"]:
            break
    done = ch.finish(resume)
    ref = ch.finish(["train", a.modality, *args, "--out", straight, "--steps", steps])
    res = {"modality": a.modality, "steps": steps, "kills_planned": a.kills,
           "kills": sum(r["killed"] for r in log), "resume_failures": sum(bool(r["errors"]) for r in log),
           "final_rc": done["rc"], "straight_rc": ref["rc"], "wall_s": round(time.time() - t0, 1), "log": log}
    if done["rc"] == 0 and ref["rc"] == 0:
        ignore = ("/elapsed_s", "/config/engine/out")
        res["checkpoint_differs_at"] = checkpoint_diff(load_checkpoint(straight / "checkpoint.pt"),
                                                       load_checkpoint(killed / "checkpoint.pt"), ignore)
        res["best_differs_at"] = checkpoint_diff(load_checkpoint(straight / "best.pt"),
                                                 load_checkpoint(killed / "best.pt"), ignore)
        res["log_problems"] = ch.compare_logs(straight, killed)
        res["leftover_files"] = ch.leftovers(killed)
        res["stats_lines"] = len((killed / "stats.jsonl").read_text().splitlines())
        res["metrics_lines"] = len((killed / "metrics.jsonl").read_text().splitlines())
    res["pass"] = bool(res["kills"] == a.kills and not res["resume_failures"] and done["rc"] == 0
                       and not res.get("checkpoint_differs_at", [1]) and not res.get("best_differs_at", [1])
                       and not res.get("log_problems", [1]) and not res.get("leftover_files", [1]))
    print("| modality | kills | resume failures | final checkpoint bitwise | best.pt bitwise | log problems | "
          "leftovers | wall s |\n|---|---|---|---|---|---|---|---|")
    print(f"| {a.modality} | {res['kills']}/{a.kills} | {res['resume_failures']} | "
          f"{not res.get('checkpoint_differs_at', [1])} | {not res.get('best_differs_at', [1])} | "
          f"{len(res.get('log_problems', []))} | {len(res.get('leftover_files', []))} | {res['wall_s']} |")
    res["machine"] = "2 shared CPU cores (about 6 agents at once), --threads 1; wall time is not a speed figure"
    if a.json:
        a.json.write_text(json.dumps(res, indent=1) + "\n")
    return 0 if res["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
