"""One run, one writer; writes stay inside the run directory.

RunLock: `fewgan train` (new or --resume) holds RUN/.fewgan.lock for as long as it trains. The file
names its owner (pid and host) and is locked with flock, so the kernel releases it when the owner
dies, however it dies (SIGKILL, power loss): a lock left behind by a dead process is stale by
construction and the next `fewgan train` takes it over. Readers (sample, evaluate, report, info) take
no lock: every checkpoint is replaced atomically, so they always read a whole one.

check_links: a run directory may come from someone else. fewgan appends to and replaces files in it;
a symbolic link planted there (stats.jsonl -> ~/.bashrc, samples -> /etc) would redirect those writes
outside the run, so runs holding links are refused.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

from ..errors import UsageError

LOCK_NAME = ".fewgan.lock"
# Everything fewgan writes in a run directory (samples/ holds the previews).
RUN_FILES = ("checkpoint.pt", "best.pt", "config.json", "stats.jsonl", "metrics.jsonl", "losses.png",
             "report.html", "samples", LOCK_NAME)

try:
    import fcntl
except ImportError:          # Windows: no flock; the lock is then advisory by pid only
    fcntl = None


class RunLock:
    def __init__(self, run: Path):
        self.run = Path(run)
        self.path = self.run / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> "RunLock":
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
            if not _try_lock(fd):
                owner = _owner(fd)
                os.close(fd)
                raise UsageError(f"{self.run}: is being trained by {owner}: wait for it to finish or stop it "
                                 f"(one run, one writer; sample/evaluate/report may read it meanwhile)")
            try:   # released (unlinked) by its owner between our open and lock? then lock the new file
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)      # unlink before unlocking: a waiter then retries on a new file
        except FileNotFoundError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    @staticmethod
    def holder(run: Path) -> str | None:
        """Who trains `run` now ("process 123 on host"), or None (no lock, or a stale one)."""
        path = Path(run) / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            if _try_lock(fd):
                return None            # nobody holds it: its owner died (closing fd drops our lock)
            parts = _read(fd).split()
            if parts and parts[0] == str(os.getpid()) and parts[1:2] == [socket.gethostname()]:
                return None            # this process's own lock
            return _owner(fd)
        finally:
            os.close(fd)


def _try_lock(fd: int) -> bool:
    if fcntl is None:
        return not _pid_alive(fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 200).decode(errors="replace").strip()


def _owner(fd: int) -> str:
    parts = _read(fd).split()
    return f"process {parts[0]} on {parts[1]}" if len(parts) >= 2 else "another process"


def _pid_alive(fd: int) -> bool:
    parts = _read(fd).split()
    if not parts or not parts[0].isdigit() or int(parts[0]) == os.getpid():
        return False
    try:
        os.kill(int(parts[0]), 0)
        return True
    except OSError:
        return False


def check_links(run: Path) -> None:
    """Refuse a run directory whose files fewgan writes are symbolic links (they could point anywhere)."""
    for name in RUN_FILES:
        p = Path(run) / name
        if p.is_symlink():
            raise UsageError(f"{p}: is a symbolic link: fewgan writes only inside the run directory; "
                             "replace it with a regular file or folder")


def trim_logs(run: Path, step: int) -> None:
    """Before a resume from checkpoint `step`: drop stats.jsonl/metrics.jsonl lines past that step
    (written after the checkpoint by a run that then died; the resume writes them again) and lines
    cut short by a crash, and remove temp files a killed writer left. Run under the RunLock."""
    from .checkpoint import atomic_write_bytes
    for name in ("stats.jsonl", "metrics.jsonl"):
        p = Path(run) / name
        if not p.is_file():
            continue
        raw = p.read_bytes()
        keep = [line for line in raw.split(b"\n") if _at_or_before(line, step)]
        text = b"".join(line + b"\n" for line in keep)
        if text != raw:
            atomic_write_bytes(p, text)
    for pattern in (".checkpoint.pt.*.tmp", ".best.pt.*.tmp", ".config.json.*.tmp", ".losses.png.*.tmp",
                    "samples/.*.tmp"):
        for tmp in Path(run).glob(pattern):
            tmp.unlink(missing_ok=True)


def _at_or_before(line: bytes, step: int) -> bool:
    import json
    try:
        row = json.loads(line)
    except ValueError:
        return False               # empty, or torn by a crash mid-write
    return isinstance(row, dict) and not (isinstance(row.get("step"), int) and row["step"] > step)
