"""Training statistics: `report(name, value)` from anywhere, flushed once per interval as one
JSON line of stats.jsonl. Values stay on the device between flushes (no host sync per step)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .checkpoint import write_error


class Stats:
    def __init__(self, path: Path | None):
        self.path = path
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = {}

    def report(self, name: str, value: torch.Tensor | float) -> None:
        v = value.detach().float() if isinstance(value, torch.Tensor) else torch.tensor(float(value))
        if name in self._sums:
            self._sums[name] = self._sums[name] + v
            self._counts[name] += 1
        else:
            self._sums[name], self._counts[name] = v, 1

    def flush(self, **extra) -> dict:
        """Average what was reported since the last flush, append one line, return it."""
        names = sorted(self._sums)
        vals = torch.stack([self._sums[n].reshape(()).cpu() for n in names]).tolist() if names else []
        row = {**extra, **{n: v / self._counts[n] for n, v in zip(names, vals)}}
        self._sums.clear()
        self._counts.clear()
        if self.path is not None:
            append_jsonl(self.path, row)
        return row


def append_jsonl(path: Path, row: dict) -> None:
    """One line in one write() on an O_APPEND descriptor: concurrent appenders (training and
    `fewgan evaluate`) never interleave within a line. Never follows a symbolic link."""
    data = (json.dumps(row) + "\n").encode()
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o666)
        try:
            done = 0
            while done < len(data):   # a short write continues where it stopped
                done += os.write(fd, data[done:])
        finally:
            os.close(fd)
    except OSError as e:
        raise write_error(Path(path), e, len(data)) from None


def read_stats(path: Path) -> list[dict]:
    if not Path(path).is_file():
        return []
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a crash mid-write; the rest is still good
    return rows
