"""Does G copy its training set? Nearest-neighbour distances, relative to how close training
samples are to each other.

For each fake g with nearest training sample t = NN(g):  ratio(g) = |g - t| / |t - NN_train(t)|,
where NN_train(t) is t's nearest *other* training sample. A real sample drawn from the same
distribution typically has ratio around 1; a copy (or near copy) of t has ratio near 0. A fake
with ratio < threshold (0.5) is a suspected copy. Distances are taken in pixel space by default
(a copy is a copy there), or in any vector space the caller passes.
"""
from __future__ import annotations

import numpy as np
import torch

from . import register

COPY_THRESHOLD = 0.5


def nearest(train: torch.Tensor, fake: torch.Tensor, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of each fake's nearest training row; rows are flattened vectors."""
    dists, idx = [], []
    for i in range(0, len(fake), chunk):
        d = torch.cdist(fake[i:i + chunk], train)
        v, j = d.min(1)
        dists.append(v)
        idx.append(j)
    return torch.cat(dists), torch.cat(idx)


def train_nn_distance(train: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    out = []
    for i in range(0, len(train), chunk):
        d = torch.cdist(train[i:i + chunk], train)
        d[torch.arange(d.shape[0]), torch.arange(i, i + d.shape[0])] = float("inf")   # not itself
        out.append(d.min(1).values)
    return torch.cat(out)


def copy_ratios(train, fake) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ratios (Nf,), nearest train index (Nf,), nearest distance (Nf,)."""
    t = torch.as_tensor(np.asarray(train, np.float32)).flatten(1)
    f = torch.as_tensor(np.asarray(fake, np.float32)).flatten(1)
    d, j = nearest(t, f)
    ref = train_nn_distance(t)[j].clamp(min=1e-12)
    return (d / ref).numpy(), j.numpy(), d.numpy()


@register("memorization", {
    "memorization": ("min", 0.0, 1.0, f"share of fakes closer to a training sample than {COPY_THRESHOLD} x "
                                      "that sample's own nearest-neighbour distance (suspected copies)"),
    "nn_ratio_median": ("max", 0.0, float("inf"), "median of that ratio (about 1 for fresh samples)"),
})
def memorization(train, fake, threshold: float = COPY_THRESHOLD, **_) -> dict:
    if len(train) < 2 or len(fake) < 1:
        return {"memorization": float("nan"), "nn_ratio_median": float("nan")}
    ratios, _, _ = copy_ratios(train, fake)
    return {"memorization": float((ratios < threshold).mean()), "nn_ratio_median": float(np.median(ratios))}
