"""Data sources per modality, plus helpers every modality shares."""
from __future__ import annotations

import hashlib

import numpy as np

from ..errors import UsageError


def seeded_subset(n_total: int, k: int | None, seed: int, what: str = "images") -> np.ndarray | None:
    """Indices of a fixed, seeded subset of size k (sorted), or None for 'use everything'."""
    if k is None or k == n_total:
        return None
    if k > n_total:
        raise UsageError(f"--max-images {k} is more than the {n_total} {what} in the data: use at most {n_total}")
    return np.sort(np.random.default_rng(seed).permutation(n_total)[:k])


def fingerprint(*arrays: np.ndarray | None) -> str:
    """Short content hash, stored in checkpoints so a resume can tell the data changed."""
    h = hashlib.sha256()
    for a in arrays:
        if a is not None:
            a = np.ascontiguousarray(a)
            h.update(str((a.shape, a.dtype.str)).encode())
            h.update(a.tobytes())
    return h.hexdigest()[:16]
