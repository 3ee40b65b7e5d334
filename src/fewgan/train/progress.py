"""A one-line progress bar on stderr: step, percent, ETA, losses, throughput."""
from __future__ import annotations

import sys
import time


def _fmt_time(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    def __init__(self, total_steps: int | None, minutes: float | None, start_step: int, enabled: bool = True):
        self.total, self.minutes, self.start_step = total_steps, minutes, start_step
        self.t0 = time.perf_counter()
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = ""

    def update(self, step: int, info: str = "") -> None:
        if not self.enabled:
            return
        el = time.perf_counter() - self.t0
        done = step - self.start_step
        rate = done / el if el > 0 else 0.0
        fracs = []
        if self.total:
            fracs.append((step / self.total, (self.total - step) / rate if rate else float("inf")))
        if self.minutes:
            fracs.append((el / (self.minutes * 60), self.minutes * 60 - el))
        frac, eta = max(fracs) if fracs else (0.0, float("inf"))
        total = f"/{self.total}" if self.total else ""
        eta_s = _fmt_time(eta) if eta != float("inf") else "?"
        line = f"step {step}{total} {min(frac, 1) * 100:3.0f}% ETA {eta_s} {info}".rstrip()
        self.last = line
        if self.tty:
            sys.stderr.write("\r" + line[:160].ljust(100))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
