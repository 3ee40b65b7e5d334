"""Atomic file writes, checkpoints of plain tensors + JSON-able state, and RNG capture.

A checkpoint is a dict that `torch.load(path, weights_only=True)` can read: state_dicts, lists,
numbers, strings and tensors only. Written to a temp file in the same folder, fsynced, then
renamed over the old one, so a crash mid-write never leaves a half checkpoint.
"""
from __future__ import annotations

import contextlib
import errno
import io
import os
import pickle
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import UsageError

FORMAT_VERSION = 1


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, rename over `path`. On any failure the old
    file is left as it was, the temp file is removed, and an OSError (disk full, read-only, no
    permission) becomes one UsageError line saying what to free or fix."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise write_error(path, e, len(data)) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def write_error(path: Path, err: OSError, size: int) -> UsageError:
    """One line for a failed write: what happened and what to free or fix."""
    where = path.parent
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        try:
            free = f"{shutil.disk_usage(where).free / 1e6:.0f} MB free, "
        except OSError:
            free = ""
        return UsageError(f"cannot write {path}: no space left on the device ({free}{size / 1e6:.1f} MB needed): "
                          f"free space on the disk holding {where} (e.g. old runs' samples/ or best.pt); "
                          "the previous file is left as it was")
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return UsageError(f"cannot write {path}: {err.strerror.lower()}: make {where} writable or choose another "
                          "location; the previous file is left as it was")
    if err.errno == errno.ELOOP:
        return UsageError(f"{path}: is a symbolic link: fewgan writes only regular files; replace it")
    return UsageError(f"cannot write {path} ({err.strerror or err.__class__.__name__}): check the disk holding "
                      f"{where}; the previous file is left as it was")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    buf = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, **state}, buf)
    atomic_write_bytes(path, buf.getvalue())


# What every fewgan checkpoint holds (enough to rebuild its generator), with the type of each.
REQUIRED = {"config": dict, "modality": str, "codec": dict, "G_ema": dict, "step": int}


def load_checkpoint(path: Path, required: dict[str, type] = REQUIRED) -> dict[str, Any]:
    """Always loads to CPU: load_state_dict moves tensors to the modules' device.

    A checkpoint may come from anyone: weights_only=True unpickles only tensors and plain containers,
    so a pickle that would import or call anything (os.system, a class's __reduce__) is refused
    before any of it runs."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no checkpoint here: is this a fewgan run directory?")
    if path.stat().st_size == 0:
        raise UsageError(f"{path}: the checkpoint is empty (0 bytes): restore it from a copy, or use the "
                         "run's best.pt")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        # weights_only refuses a pickle that names any global it does not allow (e.g. posix.system)
        found = isinstance(e, pickle.UnpicklingError) and re.search(r"GLOBAL\s+([\w.]+)", str(e))
        if found:
            raise UsageError(f"{path}: refused: the file asks to run code or build objects a fewgan checkpoint "
                             f"never holds ({found.group(1)[:80]}); nothing was run: do not load files from an "
                             "untrusted source") from None
        raise UsageError(f"{path}: cannot load checkpoint ({e.__class__.__name__}): the file is truncated, corrupt "
                         "or not a fewgan checkpoint: restore it from a copy, or use the run's best.pt") from None
    version = ck.get("format_version") if isinstance(ck, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise UsageError(f"{path}: not a fewgan checkpoint (no format version): pass a checkpoint fewgan wrote")
    if version > FORMAT_VERSION:
        raise UsageError(f"{path}: checkpoint format {version} is newer than this fewgan "
                         f"({FORMAT_VERSION}): upgrade fewgan")
    require(ck, path, required)
    return ck


def require(ck: dict, path: Path, keys: dict[str, type]) -> None:
    """UsageError naming the first missing or mistyped entry of a loaded checkpoint."""
    for key, kind in keys.items():
        if key not in ck:
            raise UsageError(f"{path}: checkpoint has no {key!r}: the file is damaged or not a fewgan checkpoint")
        if not isinstance(ck[key], kind) or (kind is int and isinstance(ck[key], bool)):
            raise UsageError(f"{path}: checkpoint entry {key!r} is a {type(ck[key]).__name__}, not a "
                             f"{kind.__name__}: the file is damaged or not a fewgan checkpoint")


@contextlib.contextmanager
def isolated_rng(seed: int):
    """Run a block with its own seeded CPU RNG, leaving every global generator as it was.
    (torch.manual_seed would also reseed CUDA generators, which fork_rng(devices=[]) does not restore.)"""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield


def rng_state() -> dict[str, Any]:
    """The generators a training step draws from: torch's CPU (and CUDA, once used) generators only.

    Every random draw of training goes through torch's global generator (numpy and sklearn draws
    are seeded locally, e.g. np.random.default_rng(seed)); numpy's and Python's global generators
    are never used, so they are not saved: they start from OS entropy and would make two runs of
    one seed write different checkpoints."""
    st = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict[str, Any]) -> None:
    """Older checkpoints also hold numpy/python states: ignored (no training step draws from them)."""
    torch.set_rng_state(st["torch"].cpu())
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in st["cuda"]])
