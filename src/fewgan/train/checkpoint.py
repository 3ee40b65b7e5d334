"""Atomic file writes, checkpoints of plain tensors + JSON-able state, and RNG capture.

A checkpoint is a dict that `torch.load(path, weights_only=True)` can read: state_dicts, lists,
numbers, strings and tensors only. Written to a temp file in the same folder, fsynced, then
renamed over the old one, so a crash mid-write never leaves a half checkpoint.
"""
from __future__ import annotations

import contextlib
import io
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import UsageError

FORMAT_VERSION = 1


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Always loads to CPU: load_state_dict moves tensors to the modules' device."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no checkpoint here: is this a fewgan run directory?")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UsageError(f"{path}: cannot load checkpoint ({e.__class__.__name__}): the file is corrupt "
                         "or not a fewgan checkpoint") from None
    if not isinstance(ck, dict) or "format_version" not in ck:
        raise UsageError(f"{path}: not a fewgan checkpoint")
    if ck["format_version"] > FORMAT_VERSION:
        raise UsageError(f"{path}: checkpoint format {ck['format_version']} is newer than this fewgan "
                         f"({FORMAT_VERSION}): upgrade fewgan")
    return ck


@contextlib.contextmanager
def isolated_rng(seed: int):
    """Run a block with its own seeded CPU RNG, leaving every global generator as it was.
    (torch.manual_seed would also reseed CUDA generators, which fork_rng(devices=[]) does not restore.)"""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    st = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *map(float, np_state[2:])],
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict[str, Any]) -> None:
    torch.set_rng_state(st["torch"].cpu())
    name, key, pos, has_gauss, cached = st["numpy"]
    np.random.set_state((name, key.cpu().numpy().astype(np.uint32), int(pos), int(has_gauss), float(cached)))
    version, internal, gauss = st["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in st["cuda"]])
