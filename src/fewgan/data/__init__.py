"""Data sources per modality, plus helpers every modality shares."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import UsageError


def seeded_subset(n_total: int, k: int | None, seed: int, what: str = "images") -> np.ndarray | None:
    """Indices of a fixed, seeded subset of size k (sorted), or None for 'use everything'."""
    if k is None or k == n_total:
        return None
    if k > n_total:
        raise UsageError(f"--max-images {k} is more than the {n_total} {what} in the data: use at most {n_total}")
    return np.sort(np.random.default_rng(seed).permutation(n_total)[:k])


def read_npy(path: Path, x_keys: tuple[str, ...], what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(x, y or None) from a .npy (x alone) or .npz file: x under the first of x_keys present
    (else arr_0), y under y / labels / arr_1. what: the array's name in errors ("image", "clip")."""
    try:
        obj = np.load(path, allow_pickle=False)
    except Exception as e:
        raise UsageError(f"{path}: cannot read as .npy/.npz ({e.__class__.__name__}): is the file corrupt?") from None
    if not isinstance(obj, np.lib.npyio.NpzFile):
        return obj, None
    keys = list(obj.keys())
    xk = next((k for k in (*x_keys, "arr_0") if k in keys), None)
    if xk is None:
        raise UsageError(f"{path}: no {what} array: name it {' or '.join(repr(k) for k in x_keys)} (found {keys})")
    yk = next((k for k in ("y", "labels", "arr_1") if k in keys), None)
    return obj[xk], obj[yk] if yk else None


def fingerprint(*arrays: np.ndarray | None) -> str:
    """Short content hash, stored in checkpoints so a resume can tell the data changed."""
    h = hashlib.sha256()
    for a in arrays:
        if a is not None:
            a = np.ascontiguousarray(a)
            h.update(str((a.shape, a.dtype.str)).encode())
            h.update(a.tobytes())
    return h.hexdigest()[:16]
