"""Distances between two sets of feature vectors: FD, KID, and precision/recall/density/coverage.

real, fake: float arrays (N, d) of features from the same extractor (see extractors.py).
"""
from __future__ import annotations

import numpy as np
import torch

from . import register


def _np64(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def frechet_distance(mu1, s1, mu2, s2) -> float:
    """|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^1/2), via symmetric eigendecompositions:
    Tr((S1 S2)^1/2) = sum sqrt(eig(S1^1/2 S2 S1^1/2)), which is PSD, so no complex sqrtm."""
    w, v = np.linalg.eigh(s1)
    s1_half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = s1_half @ s2 @ s1_half
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


@register("fd", {"fd": ("min", 0.0, float("inf"), "Fréchet distance between Gaussian fits of real and fake features")})
def fd(real, fake, **_) -> dict:
    r, f = _np64(real), _np64(fake)
    if len(r) < 2 or len(f) < 2:
        return {"fd": float("nan")}
    return {"fd": frechet_distance(r.mean(0), np.cov(r, rowvar=False), f.mean(0), np.cov(f, rowvar=False))}


def mmd2_unbiased_poly(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the cubic kernel k(a, b) = (a.b / d + 1)^3 (Binkowski et al. 2018)."""
    d = x.shape[1]
    kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


@register("kid", {"kid": ("min", float("-inf"), float("inf"),
                          "kernel inception-style distance: unbiased MMD^2, cubic kernel, mean over subsets"),
                  "kid_std": ("min", 0.0, float("inf"), "std of KID over subsets")})
def kid(real, fake, n_subsets: int = 50, subset_size: int = 1000, seed: int = 0, **_) -> dict:
    r, f = _np64(real), _np64(fake)
    m = min(subset_size, len(r), len(f))
    if m < 2:
        return {"kid": float("nan"), "kid_std": float("nan")}
    rng = np.random.default_rng(seed)
    vals = [mmd2_unbiased_poly(r[rng.choice(len(r), m, replace=False)], f[rng.choice(len(f), m, replace=False)])
            for _ in range(n_subsets)]
    return {"kid": float(np.mean(vals)), "kid_std": float(np.std(vals))}


def _kth_nn_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # +1: the point itself is at distance 0


@register("prdc", {
    "precision": ("max", 0.0, 1.0, "share of fakes inside some real k-NN ball (fidelity)"),
    "recall": ("max", 0.0, 1.0, "share of reals inside some fake k-NN ball (diversity)"),
    "density": ("max", 0.0, float("inf"), "mean number of real balls holding a fake, / k (about 1 when matched)"),
    "coverage": ("max", 0.0, 1.0, "share of reals whose ball holds at least one fake"),
})
def prdc(real, fake, k: int = 5, **_) -> dict:
    """Naeem et al. 2020 with k nearest neighbours (k = 5)."""
    r = torch.as_tensor(_np64(real))
    f = torch.as_tensor(_np64(fake))
    if len(r) <= k or len(f) <= k:
        return {key: float("nan") for key in ("precision", "recall", "density", "coverage")}
    r_rad, f_rad = _kth_nn_radius(r, k), _kth_nn_radius(f, k)
    d = torch.cdist(r, f)                                           # (Nr, Nf)
    inside_real = d <= r_rad[:, None]                               # fake j inside real ball i
    return {
        "precision": inside_real.any(0).double().mean().item(),
        "recall": (d <= f_rad[None, :]).any(1).double().mean().item(),
        "density": inside_real.sum(0).double().mean().item() / k,
        "coverage": (d.min(1).values <= r_rad).double().mean().item(),
    }
