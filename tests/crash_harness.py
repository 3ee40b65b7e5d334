"""SIGKILL a deterministic training run at chosen moments, resume it, and compare with a run never
killed. Used by tests/test_crash.py (a few kills) and benchmarks/crash.py (20 per modality).

Child mode (`python crash_harness.py child ARGS...` = `fewgan ARGS...`): the process patches only
itself so that a chosen moment lasts long enough to be killed in. FEWGAN_CRASH_AT="what:k" holds the
k-th occurrence of `what` for a minute after printing "CRASH-HOLD what" on stderr; `what` is one of
  write:<file>   half of the temp file written, the rest not yet (checkpoint.pt, best.pt, stats.jsonl...)
  fsync:<file>   the temp file complete, not yet renamed over <file>
  append:<file>  half of a stats.jsonl / metrics.jsonl line appended, the rest not yet
The parent sees the line and sends SIGKILL, so the kill lands inside that window. A kill kind
"time:<seconds>" instead kills after a delay, wherever the run is.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
SRC = HERE.parents[1] / "src"
HOLD_S = 60.0


def _base(name: str) -> str:
    """.checkpoint.pt.k3j2.tmp -> checkpoint.pt (atomic_write_bytes' temp names)."""
    return name[1:].rsplit(".", 2)[0] if name.startswith(".") and name.endswith(".tmp") else name


def _child(argv: list[str]) -> int:
    import fewgan.train.checkpoint as ckm
    import fewgan.train.loop as loop
    import fewgan.train.stats as stats
    from fewgan.cli import main
    what, _, k = os.environ.get("FEWGAN_CRASH_AT", "").rpartition(":")
    seen = {"n": 0}

    def point(name: str) -> None:
        if name == what:
            seen["n"] += 1
            if seen["n"] == int(k):
                sys.stderr.write(f"CRASH-HOLD {name}\n")
                sys.stderr.flush()
                time.sleep(HOLD_S)

    class HalfWriter:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            point("write:" + _base(os.path.basename(os.readlink(f"/proc/self/fd/{self.f.fileno()}"))))
            return self.f.write(data[len(data) // 2:])

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    class Os:      # the os module, as checkpoint.py sees it, with two moments widened
        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def fdopen(*a, **kw):
            return HalfWriter(os.fdopen(*a, **kw))

        @staticmethod
        def fsync(fd):
            point("fsync:" + _base(os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
            os.fsync(fd)

    ckm.os = Os()
    real_append = stats.append_jsonl

    def append(path, row):
        if what != "append:" + Path(path).name:
            return real_append(path, row)
        data = (json.dumps(row) + "\n").encode()
        with open(path, "ab") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            point("append:" + Path(path).name)
            f.write(data[len(data) // 2:])

    stats.append_jsonl = loop.append_jsonl = append
    return main(argv)


def launch(args: list[str], at: str | None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SRC), "FEWGAN_CRASH_AT": at or ""}
    return subprocess.Popen([sys.executable, str(HERE), "child", *map(str, args)], env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def run_until_killed(args: list[str], kill: str, timeout: float = 300) -> dict:
    """Run one child; SIGKILL it at `kill` ("time:S" or a hold point "write:checkpoint.pt:2").
    Returns what happened: killed (bool), rc, and stderr lines other than the hold marker."""
    timed = kill.startswith("time:")
    p = launch(args, None if timed else kill)
    lines, held = [], threading.Event()

    def read():
        for line in p.stderr:
            if line.startswith("CRASH-HOLD"):
                held.set()
            else:
                lines.append(line.rstrip())

    t = threading.Thread(target=read, daemon=True)
    t.start()
    if timed:
        held.wait(float(kill.split(":")[1]))
        held.set()
    t0 = time.time()
    while p.poll() is None and not held.is_set() and time.time() - t0 < timeout:
        held.wait(0.05)
    killed = p.poll() is None
    if killed:
        os.kill(p.pid, signal.SIGKILL)
    rc = p.wait()
    t.join(5)
    return {"kill": kill, "killed": killed, "rc": rc, "stderr": lines}


def finish(args: list[str], timeout: float = 600) -> dict:
    p = launch(args, None)
    _, err = p.communicate(timeout=timeout)
    return {"rc": p.returncode, "stderr": err}


def compare_logs(a: Path, b: Path, ignore=("time_s", "img_per_s")) -> list[str]:
    """Problems of run b's stats/metrics jsonl against run a's (never killed): torn lines, repeated
    or missing steps, values that differ (wall-clock fields aside)."""
    problems = []
    for name in ("stats.jsonl", "metrics.jsonl"):
        pa, pb = a / name, b / name
        if not pa.exists() and not pb.exists():
            continue
        ra = [json.loads(x) for x in pa.read_text().splitlines()]
        rb = []
        for i, line in enumerate(pb.read_text().splitlines()):
            try:
                rb.append(json.loads(line))
            except ValueError:
                problems.append(f"{name} line {i + 1} is torn: {line[:60]!r}")
        steps = [r["step"] for r in rb]
        if steps != sorted(set(steps)):
            problems.append(f"{name}: steps repeated or out of order: {steps}")
        if steps != [r["step"] for r in ra]:
            problems.append(f"{name}: steps {steps} differ from the unkilled run's {[r['step'] for r in ra]}")
        for x, y in zip(ra, rb):
            dx = {k: v for k, v in x.items() if k not in ignore}
            dy = {k: v for k, v in y.items() if k not in ignore}
            if dx != dy:
                problems.append(f"{name} step {x['step']}: {sorted(k for k in dx if dx.get(k) != dy.get(k))} differ")
    return problems


def leftovers(run: Path) -> list[str]:
    return sorted(str(p.relative_to(run)) for p in run.rglob(".*") if p.name != ".fewgan.lock")


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    sys.exit(_child(sys.argv[2:]))
