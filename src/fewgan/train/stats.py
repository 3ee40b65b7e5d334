"""Training statistics: `report(name, value)` from anywhere, flushed once per interval as one
JSON line of stats.jsonl. Values stay on the device between flushes (no host sync per step)."""
from __future__ import annotations

import json
from pathlib import Path

import torch


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
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


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
