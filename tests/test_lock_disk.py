"""One run, one writer (RUN/.fewgan.lock) and failed writes (disk full, read-only)."""
import errno
import os
import shutil
import signal

import crash_harness as ch
from conftest import tree_digest
from test_crash import COMMON, TABLE, table_csv

from fewgan.train.checkpoint import load_checkpoint
from fewgan.train.rundir import LOCK_NAME


def one_line(result, *words):
    code, _, err = result
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err and all(w in err for w in words), (code, err)


def test_second_writer_refused_readers_fine_stale_lock_taken_over(tmp_path, cli):
    run = tmp_path / "r"
    args = ["train", "table", "--data", table_csv(tmp_path / "t.csv"), *TABLE, *COMMON, "--out", run, "--steps", 40]
    p = ch.launch(args, "append:stats.jsonl:3")          # trains, then holds mid-append (lock held)
    for line in p.stderr:
        if line.startswith("CRASH-HOLD"):
            break
    try:
        owner = (run / LOCK_NAME).read_text().split()[0]
        assert owner == str(p.pid)
        before = tree_digest(run)
        one_line(cli("train", "--resume", run, "--steps", 50, "--quiet"), "being trained by process", owner)
        one_line(cli("train", "table", "--data", tmp_path / "t.csv", "--out", run, "--steps", 5),
                 "being trained by process", owner)
        assert tree_digest(run) == before                  # refused: nothing written
        code, _, err = cli("sample", run, "-n", 5, "--out", tmp_path / "s.csv")   # readers: a whole checkpoint
        assert code == 0, err
        assert cli("info", run)[0] == 0
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    assert (run / LOCK_NAME).exists()                      # left by the killed owner: stale
    code, _, err = cli("train", "--resume", run, "--steps", 40, "--quiet")
    assert code == 0, err
    assert load_checkpoint(run / "checkpoint.pt")["step"] == 40 and not (run / LOCK_NAME).exists()


def _failing(monkeypatch, prefix, err):
    """os.fsync / os.replace fail (as on a full or read-only disk) for temp files named prefix*."""
    real_fsync = os.fsync

    def fsync(fd):
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(prefix):
            raise OSError(err, os.strerror(err))
        return real_fsync(fd)
    monkeypatch.setattr(os, "fsync", fsync)


def test_disk_full_during_checkpoint_keeps_the_previous_one(tiny_run, tmp_path, cli, monkeypatch):
    run = tmp_path / "r"
    shutil.copytree(tiny_run, run)
    before = (run / "checkpoint.pt").read_bytes()
    _failing(monkeypatch, ".checkpoint.pt.", errno.ENOSPC)
    one_line(cli("train", "--resume", run, "--steps", 30, "--quiet"), "no space left", "free space",
             "--resume")
    assert (run / "checkpoint.pt").read_bytes() == before
    assert not [p.name for p in run.rglob(".*") if p.name != LOCK_NAME] and not (run / LOCK_NAME).exists()
    monkeypatch.undo()
    assert cli("train", "--resume", run, "--steps", 30, "--quiet")[0] == 0     # once space is back


def test_read_only_disk_during_sample_leaves_no_file(tiny_run, tmp_path, cli, monkeypatch):
    out = tmp_path / "samples"
    out.mkdir()
    (out / "g.npz").write_bytes(b"an older file")
    for err in (errno.EACCES, errno.EROFS, errno.ENOSPC):
        _failing(monkeypatch, ".", err)
        one_line(cli("sample", tiny_run, "-n", 4, "--out", out / "new.png"), "cannot write")
        one_line(cli("sample", tiny_run, "-n", 4, "--out", out / "g.npz"), "left as it was")
        monkeypatch.undo()
        assert sorted(p.name for p in out.iterdir()) == ["g.npz"] and (out / "g.npz").read_bytes() == b"an older file"
