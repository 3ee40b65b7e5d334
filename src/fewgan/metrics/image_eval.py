"""Evaluate an image generator against its data: FD, KID, PRDC, memorization, class accuracy.

The reference set is the full real dataset (the whole of `digits`, even when G trained on a
--max-images subset), capped at 5000 seeded samples; memorization is measured against the images
G actually trained on. A real-vs-real baseline (two halves of the reference set) is computed once
so that every number can be read against what real data scores on the same extractor.

FD and k-NN scores depend on the sample size (FD's bias grows as N shrinks), so fake-vs-real at
N and real-vs-real at N/2 are not comparable: a decent run would look "closer than real". The
`*_eq` keys score N/2 fakes against the same real half A that the baseline compares with the other
half B, and the verdicts are worded from those (and from KID, which is unbiased), read against the
baseline's own noise (its spread over BASELINE_SPLITS random halvings).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import METRICS, load_all, register
from .distribution import fd, kid, prdc
from .extractors import DomainClassifier, get_extractor
from .memorization import copy_ratios, memorization

MAX_REFERENCE = 5000
BASELINE_SPLITS = 3


@register("image_eq", {
    "fd_eq": ("min", 0.0, float("inf"), "FD of N/2 fakes vs real half A: the same sizes as real-vs-real (A vs B)"),
    "coverage_eq": ("max", 0.0, 1.0, "coverage of real half A by N/2 fakes: the same sizes as real-vs-real"),
})
def equal_n(real_half, fake_half, **_) -> dict:
    return {"fd_eq": fd(real_half, fake_half)["fd"], "coverage_eq": prdc(real_half, fake_half)["coverage"]}


@register("class_acc", {"class_acc": ("max", 0.0, 1.0, "domain classifier accuracy on class-conditional samples "
                                                         "(the label asked for vs the label seen)")})
def class_acc(labels, predicted, **_) -> dict:
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    return {"class_acc": float((labels == predicted).mean()) if len(labels) else float("nan")}


class ImageEvaluator:
    def __init__(self, ref_x: torch.Tensor, ref_y: torch.Tensor | None, train_x: torch.Tensor, n_classes: int,
                 fingerprint: str, features: str = "auto", inception: str | None = None,
                 cache_dir: Path | None = None, n_fake: int | None = None, seed: int = 0):
        load_all()
        g = torch.Generator().manual_seed(seed)
        if len(ref_x) > MAX_REFERENCE:
            keep = torch.randperm(len(ref_x), generator=g)[:MAX_REFERENCE]
            ref_x, ref_y = ref_x[keep], None if ref_y is None else ref_y[keep]
        self.extractor = get_extractor(features, ref_x, ref_y, fingerprint, cache_dir, inception, seed)
        real = self.extractor(ref_x)
        # Our extractors' raw scales are arbitrary; dividing by the real features' RMS makes the
        # cubic KID kernel see O(1) inner products (as with Inception) and FD comparable across
        # extractors. Inception features stay raw so FD is the standard FID.
        self.scale = 1.0 if self.extractor.name == "inception" else \
            float(real.pow(2).mean().sqrt().clamp(min=1e-12))
        self.real_feats = real / self.scale
        self.train_x = train_x.float()
        self.n_fake = n_fake or len(ref_x)
        self.n_classes = n_classes if isinstance(self.extractor, DomainClassifier) else 0
        self.seed = seed
        self.last_fake: torch.Tensor | None = None   # the samples the last evaluate() scored
        self.baseline = self._real_baseline(g)

    def _real_baseline(self, g: torch.Generator) -> dict:
        """The same metrics for one half of the real reference set against the other half: the mean
        over BASELINE_SPLITS random halvings, and their spread (`*_noise`, std) for the verdicts.
        The first split's half A is what the equal-N keys compare fakes with."""
        n = len(self.real_feats)
        self.half_a = None
        if n < 20:
            return {}
        runs = []
        for i in range(BASELINE_SPLITS):
            perm = torch.randperm(n, generator=g)
            a, b = self.real_feats[perm[: n // 2]], self.real_feats[perm[n // 2:]]
            if i == 0:
                self.half_a, self.n_half = a, len(b)
            r = {**fd(a, b), **kid(a, b, n_subsets=20), **prdc(a, b)}
            runs.append({**r, "fd_eq": r["fd"], "coverage_eq": r["coverage"]})
        out = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
        out.update({f"{k}_noise": float(np.std([r[k] for r in runs])) for k in ("fd_eq", "coverage_eq")})
        return out

    def evaluate(self, sample: Callable[[int, torch.Tensor | None, int], torch.Tensor]) -> dict:
        """sample(n, labels or None, seed) -> fake images (n, C, H, W) in [-1, 1]."""
        fake = self.last_fake = sample(self.n_fake, None, self.seed + 12345)
        ff = self.extractor(fake) / self.scale
        out = {**fd(self.real_feats, ff), **kid(self.real_feats, ff, seed=self.seed), **prdc(self.real_feats, ff),
               **memorization(self.train_x, fake)}
        if self.half_a is not None and len(ff) >= self.n_half:
            out.update(equal_n(self.half_a, ff[: self.n_half]))
        if self.n_classes:
            labels = torch.arange(self.n_fake) % self.n_classes
            pred = self.extractor.predict(sample(self.n_fake, labels, self.seed + 777))
            out.update(class_acc(labels.numpy(), pred.numpy()))
        out.update(n_real=len(self.real_feats), n_fake=self.n_fake, n_train=len(self.train_x), **self.extractor.info)
        out.update({f"real_baseline_{k}": v for k, v in self.baseline.items()})
        return out

    def nearest_pairs(self, fake: torch.Tensor, k: int = 8) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """The k fakes closest to the training set (by the memorization ratio) and their neighbours."""
        ratios, idx, _ = copy_ratios(self.train_x, fake)
        order = np.argsort(ratios)[:k]
        return fake[order], self.train_x[idx[order]], ratios[order]


def verdicts(res: dict) -> list[tuple[str, str]]:
    """One plain-language line per metric (key, sentence), read against the real-vs-real baseline."""
    load_all()
    lines = []

    def base(key):
        return res.get(f"real_baseline_{key}")

    if "fd" in res:
        # Worded from the equal-N FD where there is one: at unequal sizes FD's bias flatters the run.
        key = "fd_eq" if res.get("fd_eq") is not None and base("fd_eq") else "fd"
        v, b, noise = res[key], base(key), res.get(f"real_baseline_{key}_noise") or 0.0
        size = " at equal sample sizes" if key == "fd_eq" else ""
        rel = f" ({v / b:.1f}x the real-vs-real {b:.2f}{size})" if b and b > 0 else ""
        lines.append(("fd", f"FD {v:.2f}{rel}: "
                      + ("as close to real data as real data is to itself." if b and v <= b + 2 * noise else
                         "near real data, but above real-vs-real by more than its noise." if b and v <= 2 * b else
                         "clearly distinguishable from real data; lower is better." if b and v > 10 * b
                         else "some way from real data; lower is better.")))
    if "kid" in res:
        b = base("kid")
        k, sd = res["kid"], res.get("kid_std", float("nan"))
        lines.append(("kid", f"KID {k:.4f} ± {sd:.4f}" + (f" (real-vs-real {b:.4f})" if b is not None else "")
                      + (": within its noise of real-vs-real (unbiased, so this holds at small N)." if b is not None
                         and k <= b + 2 * sd else ": above real-vs-real by more than its noise; lower is better."
                         if b is not None else ": unbiased, so near 0 means matching distributions.")))
    if "precision" in res:
        p = res["precision"]
        lines.append(("precision", f"precision {p:.2f}: " + ("most samples look like real data." if p >= 0.7 else
                      "many samples fall outside the real data manifold (low fidelity).")))
    if "recall" in res:
        r = res["recall"]
        lines.append(("recall", f"recall {r:.2f}: " + ("samples spread over the real data." if r >= 0.5 else
                      "samples cover only part of the real data (low diversity / mode dropping).")))
    if "density" in res:
        lines.append(("density", f"density {res['density']:.2f}: about 1 when fakes sit where reals are dense; "
                      "far below 1 means off-manifold samples, far above means samples crowd a few modes."))
    if "coverage" in res:
        key = "coverage_eq" if res.get("coverage_eq") is not None else "coverage"
        c, b = res[key], base(key)
        ref = f" (real-vs-real {b:.2f}{' at equal sample sizes' if key == 'coverage_eq' else ''})" if b else ""
        lines.append(("coverage", f"coverage {c:.2f}{ref}: " + ("good coverage of the real data." if c >= 0.8 else
                      "partial coverage: some kinds of real samples are rarely generated." if c >= 0.5 else
                      "poor coverage: the generator misses much of the real data.")))
    if "memorization" in res:
        m = res["memorization"]
        lines.append(("memorization", f"{m * 100:.1f}% suspected copies of training images: "
                      + ("no sign of copying." if m < 0.01 else "some near-copies: check the nearest-neighbour panel."
                         if m < 0.05 else "the generator reproduces training images; use more augmentation, "
                         "fewer steps or more data.")))
    if "class_acc" in res:
        acc, ref = res["class_acc"], res.get("classifier_heldout_acc")
        lines.append(("class_acc", f"class accuracy {acc:.2f}" + (f" (classifier on real held-out: {ref:.2f})"
                      if ref else "") + (": samples follow their labels." if acc >= 0.8 else
                      ": samples often do not show the class asked for.")))
    known = set(METRICS.keys)
    return [(k, s) for k, s in lines if k in known]
