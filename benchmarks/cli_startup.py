"""CLI start-up time: `fewgan --help` and `fewgan train table --help` vs `python -c "import torch"`.

Issue 11's target: both helps under 0.6x the time of importing torch, measured side by side
(interleaved, median of --repeats runs each), since the CLI imports torch only when a command needs it.

    python benchmarks/cli_startup.py [--repeats 7]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = {
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "fewgan --help": [sys.executable, "-m", "fewgan", "--help"],
    "fewgan train table --help": [sys.executable, "-m", "fewgan", "train", "table", "--help"],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", default=str(Path(__file__).parent / "results" / "cli_startup.json"))
    a = ap.parse_args()
    times: dict[str, list[float]] = {k: [] for k in CASES}
    for _ in range(a.repeats):                       # interleaved: the machine's noise hits all alike
        for name, cmd in CASES.items():
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - t)
    base = statistics.median(times["python -c 'import torch'"])
    rows = [{"command": k, "median_s": round(statistics.median(v), 3), "min_s": round(min(v), 3),
             "ratio_to_torch_import": round(statistics.median(v) / base, 3)} for k, v in times.items()]
    print(f"| command | median s | min s | / import torch |\n|---|---:|---:|---:|")
    for r in rows:
        print(f"| `{r['command']}` | {r['median_s']} | {r['min_s']} | {r['ratio_to_torch_import']} |")
    Path(a.json).write_text(json.dumps({"benchmark": "cli_startup", "repeats": a.repeats, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
