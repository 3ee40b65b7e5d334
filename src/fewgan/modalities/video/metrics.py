"""Offline video metrics: frame FD/KID/PRDC, clip FD, temporal consistency, motion statistics,
memorization. Every number comes with a real-vs-real baseline where one exists.

- frame_*: the image modality's features (fewgan.metrics.extractors: a domain classifier trained on
  the real frames with their clip labels, or a random CNN) on up to 5000 frames of each side.
- clip_fd: Fréchet distance on the 128-d features of a small 3-D conv encoder (ClipEncoder) trained
  here on the real clips to tell clips in order from the same frames shuffled and from one frame
  held still (and the class, when labelled), so its features see content *and* motion. Cached in
  the run directory like the domain classifier. NOT comparable with published FVD (I3D features).
- temporal_consistency: mean over clips of the share of frames whose domain-classifier class is
  the clip's majority class (1 = the same class on every frame); compare with the real clips' rate.
- motion: per-clip frame-difference energy (mean |x_t+1 - x_t|, pixels in [0, 1]) and per-clip
  speed of the intensity centroid (px/frame). static_share = share of clips whose energy is below
  0.1 x the real clips' median; speed_w1 / motion_w1 = 1-D Wasserstein distances to the real
  distributions (motion_w1 relative to the real mean energy).
- memorization: the shared ratio test on whole clips (at half resolution above 16 px to keep the
  nearest-neighbour search cheap): distance to the nearest training clip / that clip's own
  nearest-neighbour distance, below 0.5 counts as a copy.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...metrics import METRICS, load_all, register
from ...metrics.distribution import fd, kid, prdc
from ...metrics.extractors import DomainClassifier, get_extractor
from ...metrics.memorization import COPY_THRESHOLD, nearest, train_nn_distance
from ...train.checkpoint import isolated_rng, load_checkpoint, save_checkpoint

MAX_REFERENCE_CLIPS = 2000
MAX_FRAMES = 5000
ENCODER_VERSION = 1
STATIC_FRACTION = 0.1
INF = float("inf")


# -- pure functions on clips in [-1, 1], (N, T, C, H, W) --------------------------------------

def motion_energy(x: torch.Tensor) -> np.ndarray:
    """Mean absolute frame difference per clip, pixels on a [0, 1] scale."""
    return ((x[:, 1:] - x[:, :-1]).abs().mean((1, 2, 3, 4)) / 2).numpy().astype(np.float64)


def centroid_speed(x: torch.Tensor) -> np.ndarray:
    """Mean distance (px/frame) the intensity centroid moves between frames, per clip."""
    m = ((x.float() + 1) / 2).mean(2)                                  # (N, T, H, W) in [0, 1]
    h, w = m.shape[-2:]
    mass = m.sum((2, 3)).clamp(min=1e-6)
    cy = (m.sum(3) * torch.arange(h)).sum(2) / mass                    # (N, T)
    cx = (m.sum(2) * torch.arange(w)).sum(2) / mass
    step = torch.sqrt(cy.diff(dim=1) ** 2 + cx.diff(dim=1) ** 2)
    return step.mean(1).numpy().astype(np.float64)


def w1(a: np.ndarray, b: np.ndarray) -> float:
    """1-D Wasserstein distance between two samples (mean |quantile gap|)."""
    from scipy.stats import wasserstein_distance
    return float(wasserstein_distance(a, b)) if len(a) and len(b) else float("nan")


@register("temporal_consistency", {"temporal_consistency": (
    "max", 0.0, 1.0, "mean share of a clip's frames the domain classifier puts in the clip's majority class "
                     "(compare with the real clips' rate)")})
def temporal_consistency(pred, **_) -> dict:
    """pred: (N, T) class ids per frame."""
    pred = np.asarray(pred)
    if pred.size == 0:
        return {"temporal_consistency": float("nan")}
    share = [np.bincount(row).max() / len(row) for row in pred]
    return {"temporal_consistency": float(np.mean(share))}


@register("video_motion", {
    "static_share": ("min", 0.0, 1.0, f"share of clips whose frame-difference energy is below {STATIC_FRACTION} x "
                                      "the real clips' median"),
    "speed_w1": ("min", 0.0, INF, "Wasserstein-1 distance between real and fake per-clip centroid speeds (px/frame)"),
    "motion_w1": ("min", 0.0, INF, "Wasserstein-1 distance between per-clip frame-difference energies, "
                                   "relative to the real mean"),
})
def motion_stats(real_energy, fake_energy, real_speed, fake_speed, **_) -> dict:
    thr = STATIC_FRACTION * float(np.median(real_energy))
    return {"static_share": float((np.asarray(fake_energy) < thr).mean()),
            "speed_w1": w1(real_speed, fake_speed),
            "motion_w1": w1(real_energy, fake_energy) / max(float(np.mean(real_energy)), 1e-12)}


@register("clip_fd", {"clip_fd": ("min", 0.0, INF, "Fréchet distance on the clip encoder's features (trained on "
                                                   "the real clips; not comparable with FVD)")})
def clip_fd(real, fake, **_) -> dict:
    return {"clip_fd": fd(real, fake)["fd"]}


@register("frame_quality", {
    "frame_fd": ("min", 0.0, INF, "Fréchet distance between real and fake frames on the image features"),
    "frame_kid": ("min", -INF, INF, "KID between real and fake frames (unbiased MMD^2, cubic kernel)"),
    "frame_precision": ("max", 0.0, 1.0, "share of fake frames inside some real k-NN ball"),
    "frame_recall": ("max", 0.0, 1.0, "share of real frames inside some fake k-NN ball"),
    "frame_coverage": ("max", 0.0, 1.0, "share of real frames whose ball holds a fake frame"),
})
def frame_quality(real, fake, seed: int = 0, **_) -> dict:
    p = prdc(real, fake)
    return {"frame_fd": fd(real, fake)["fd"], "frame_kid": kid(real, fake, n_subsets=20, seed=seed)["kid"],
            "frame_precision": p["precision"], "frame_recall": p["recall"], "frame_coverage": p["coverage"]}


# -- the clip encoder ---------------------------------------------------------------------------

class ClipEncoder(nn.Module):
    """Three 3-D convs (time kept, then halved twice) -> 128-d features; heads: order, class."""

    def __init__(self, channels: int, n_classes: int, width: int = 16):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv3d(channels, w, (3, 4, 4), (1, 2, 2), 1), nn.ReLU(),
            nn.Conv3d(w, 2 * w, (3, 4, 4), (2, 2, 2), 1), nn.ReLU(),
            nn.Conv3d(2 * w, 4 * w, (3, 4, 4), (2, 2, 2), 1), nn.ReLU(),
            nn.AdaptiveAvgPool3d((1, 2, 2)), nn.Flatten())
        self.feat = nn.Sequential(nn.Linear(16 * w, 128), nn.ReLU())
        self.order = nn.Linear(128, 3)                 # in order / shuffled frames / one frame held still
        self.cls = nn.Linear(128, max(n_classes, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feat(self.body(x.transpose(1, 2)))          # (N, T, C, H, W) -> (N, 128)


def _pretext(x: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, ...) real clips -> 3B clips (as is, frames shuffled, one frame repeated) and targets."""
    b, t = x.shape[:2]
    perm = torch.rand(b, t, generator=g).argsort(1)
    shuffled = x[torch.arange(b)[:, None], perm]
    still = x[torch.arange(b), torch.randint(t, (b,), generator=g)][:, None].expand_as(x)
    return torch.cat([x, shuffled, still]), torch.arange(3).repeat_interleave(b)


def train_clip_encoder(x: torch.Tensor, y: torch.Tensor | None, steps: int, seed: int = 0,
                       batch: int = 32) -> tuple[ClipEncoder, dict]:
    """Train on 80% of the clips, report held-out accuracies on the rest. Touches no global RNG."""
    g = torch.Generator().manual_seed(seed)
    n_classes = int(y.max()) + 1 if y is not None else 0
    perm = torch.randperm(len(x), generator=g)
    n_test = max(1, len(x) // 5)
    te, tr = perm[:n_test], perm[n_test:] if len(x) > 1 else perm
    with isolated_rng(seed):
        net = ClipEncoder(x.shape[2], n_classes)
        opt = torch.optim.Adam(net.parameters(), 2e-3)
        for _ in range(steps):
            idx = tr[torch.randint(len(tr), (min(batch, len(tr)),), generator=g)]
            xb, target = _pretext(x[idx], g)
            h = net.features(xb)
            loss = F.cross_entropy(net.order(h), target)
            if n_classes:
                loss = loss + F.cross_entropy(net.cls(h), y[idx].repeat(3))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        xt, target = _pretext(x[te[:500]], g)
        h = net.features(xt)
        info = {"clip_encoder_order_acc": round((net.order(h).argmax(1) == target).float().mean().item(), 4),
                "clip_encoder_steps": steps}
        if n_classes:
            info["clip_encoder_class_acc"] = round((net.cls(h).argmax(1) == y[te[:500]].repeat(3)).float().mean().item(), 4)
    return net, info


def get_clip_encoder(x, y, fp: str, cache_dir: Path | None, steps: int, seed: int) -> tuple[ClipEncoder, dict]:
    t, c, h = x.shape[1], x.shape[2], x.shape[-1]
    path = Path(cache_dir) / f"clip-encoder-{fp}-{t}f-{h}px-{steps}s-v{ENCODER_VERSION}.pt" if cache_dir else None
    if path is not None and path.is_file():
        s = load_checkpoint(path, required={})     # a cache file, not a run
        with isolated_rng(0):
            net = ClipEncoder(c, s["n_classes"])
        net.load_state_dict(s["net"])
        return net.eval(), dict(s["info"])
    net, info = train_clip_encoder(x, y, steps, seed)
    if path is not None:
        save_checkpoint(path, {"net": net.state_dict(), "info": info, "n_classes": net.cls.out_features,
                               "version": ENCODER_VERSION})
    return net, info


# -- the evaluator ------------------------------------------------------------------------------

def _flat_frames(clips: torch.Tensor, n_max: int, g: torch.Generator) -> torch.Tensor:
    f = clips.flatten(0, 1)
    return f if len(f) <= n_max else f[torch.randperm(len(f), generator=g)[:n_max]]


def _for_memorization(clips: torch.Tensor) -> torch.Tensor:
    x = clips.float()
    if x.shape[-1] > 16:    # half resolution: 4x cheaper nearest-neighbour search, copies stay copies
        n, t, c, h, w = x.shape
        x = F.avg_pool2d(x.reshape(n * t, c, h, w), 2).view(n, t, c, h // 2, w // 2)
    return x.flatten(1)


class VideoEvaluator:
    def __init__(self, prep, frames: int, features: str = "auto", cache_dir: Path | None = None,
                 n_fake: int | None = None, seed: int = 0, encoder_steps: int = 300):
        load_all()
        g = torch.Generator().manual_seed(seed)
        ref_x, ref_y, ref_fp = prep.reference
        if len(ref_x) > MAX_REFERENCE_CLIPS:
            keep = torch.randperm(len(ref_x), generator=g)[:MAX_REFERENCE_CLIPS]
            ref_x, ref_y = ref_x[keep], None if ref_y is None else ref_y[keep]
        self.T, self.seed = frames, seed
        ref = ref_x[:, :frames].float()                                # the first window of each clip
        self.n_fake = n_fake or min(len(ref), 1000)
        # frame features: the image modality's extractors, trained on frames with their clip's label
        fy = None if ref_y is None else ref_y.repeat_interleave(frames)
        frames_all = ref.flatten(0, 1)
        pick = torch.randperm(len(frames_all), generator=g)[:MAX_FRAMES]
        self.extractor = get_extractor(features, frames_all[pick], None if fy is None else fy[pick],
                                       f"{ref_fp}-frames{frames}", cache_dir, None, seed)
        real_f = self.extractor(frames_all[pick])
        self.f_scale = float(real_f.pow(2).mean().sqrt().clamp(min=1e-12))
        self.real_frames = real_f / self.f_scale
        self.encoder, enc_info = get_clip_encoder(ref, ref_y, ref_fp, cache_dir, encoder_steps, seed)
        real_c = self._clip_feats(ref)
        self.c_scale = float(real_c.pow(2).mean().sqrt().clamp(min=1e-12))
        self.real_clips = real_c / self.c_scale
        self.real_energy, self.real_speed = motion_energy(ref), centroid_speed(ref)
        self.domain = isinstance(self.extractor, DomainClassifier)
        self.n_classes = int(prep.codec.n_classes) if self.domain else 0
        self.real_tc = temporal_consistency(self._predict(ref))["temporal_consistency"] if self.domain else None
        train = prep.x[:, :frames]
        self.train_m = _for_memorization(train)
        self.train_x = train
        self.train_nn = train_nn_distance(self.train_m)
        self.info = {**self.extractor.info, **enc_info, "source_layout": prep.codec.layout}
        self.baseline = self._real_baseline(ref, g)
        self.last_fake: torch.Tensor | None = None
        self.last_speed: np.ndarray | None = None

    @torch.no_grad()
    def _clip_feats(self, clips: torch.Tensor, batch: int = 200) -> torch.Tensor:
        return torch.cat([self.encoder.features(clips[i:i + batch].float()) for i in range(0, len(clips), batch)])

    def _predict(self, clips: torch.Tensor) -> np.ndarray:
        n, t = clips.shape[:2]
        return self.extractor.predict(clips.flatten(0, 1)).view(n, t).numpy()

    def _real_baseline(self, ref: torch.Tensor, g: torch.Generator) -> dict:
        n = len(ref)
        if n < 20:
            return {}
        perm = torch.randperm(n, generator=g)
        a, b = perm[: n // 2], perm[n // 2:]
        fp = torch.randperm(len(self.real_frames), generator=g)
        fa, fb = self.real_frames[fp[: len(fp) // 2]], self.real_frames[fp[len(fp) // 2:]]
        out = {**frame_quality(fa, fb, self.seed), **clip_fd(self.real_clips[a], self.real_clips[b]),
               **motion_stats(self.real_energy[a.numpy()], self.real_energy[b.numpy()],
                              self.real_speed[a.numpy()], self.real_speed[b.numpy()])}
        out["static_share"] = motion_stats(self.real_energy, self.real_energy, self.real_speed, self.real_speed)["static_share"]
        if self.real_tc is not None:
            out["temporal_consistency"] = self.real_tc
        return out

    def copy_ratios(self, fake: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        d, j = nearest(self.train_m, _for_memorization(fake))
        return (d / self.train_nn[j].clamp(min=1e-12)).numpy(), j.numpy()

    def evaluate(self, sample) -> dict:
        """sample(n, labels or None, seed) -> fake clips (n, T, C, H, W) in [-1, 1]."""
        fake = self.last_fake = sample(self.n_fake, None, self.seed + 12345)[:, :self.T].float()
        g = torch.Generator().manual_seed(self.seed + 1)
        ff = self.extractor(_flat_frames(fake, MAX_FRAMES, g)) / self.f_scale
        energy, self.last_speed = motion_energy(fake), centroid_speed(fake)
        ratios, _ = self.copy_ratios(fake)
        out = {**frame_quality(self.real_frames, ff, self.seed),
               **clip_fd(self.real_clips, self._clip_feats(fake) / self.c_scale),
               **motion_stats(self.real_energy, energy, self.real_speed, self.last_speed),
               "memorization": float((ratios < COPY_THRESHOLD).mean()), "nn_ratio_median": float(np.median(ratios)),
               "speed_mean": float(self.last_speed.mean()), "real_speed_mean": float(self.real_speed.mean())}
        if self.domain:
            out.update(temporal_consistency(self._predict(fake)))
            if self.n_classes:
                labels = torch.arange(self.n_fake) % self.n_classes
                pred = self._predict(sample(self.n_fake, labels, self.seed + 777)[:, :self.T])
                out["class_acc"] = float((pred == labels.numpy()[:, None]).mean())
        else:
            out["temporal_consistency"] = None     # needs a domain classifier (labelled data)
        out.update(n_real=len(self.real_clips), n_fake=self.n_fake, n_train=len(self.train_x), **self.info)
        out.update({f"real_baseline_{k}": v for k, v in self.baseline.items()})
        return out

    def nearest_pairs(self, fake: torch.Tensor, k: int = 8):
        """The k fakes closest to the training set (by the ratio) and their nearest training clips."""
        ratios, idx = self.copy_ratios(fake)
        order = np.argsort(ratios)[:k]
        return fake[order], self.train_x[idx[order]], ratios[order]

    def speed_histogram(self) -> bytes | None:
        if self.last_speed is None:
            return None
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ...report.plots import fig_png
        fig, ax = plt.subplots(figsize=(5, 3))
        hi = max(self.real_speed.max(), self.last_speed.max())
        bins = np.linspace(0, hi if hi > 0 else 1, 30)
        ax.hist(self.real_speed, bins, alpha=0.5, density=True, label="real", color="tab:red")
        ax.hist(self.last_speed, bins, alpha=0.5, density=True, label="generated", color="tab:blue")
        ax.set_xlabel("centroid speed (px/frame)")
        ax.legend()
        return fig_png(fig, dpi=80)


def verdicts(res: dict) -> list[tuple[str, str]]:
    """One plain-language line per metric (key, sentence), read against the real-vs-real baseline."""
    load_all()
    lines = []

    def rel(key):
        b = res.get(f"real_baseline_{key}")
        v = res.get(key)
        return (v / b) if (v is not None and b and b > 0) else None

    for key, what in (("clip_fd", "clip FD"), ("frame_fd", "frame FD")):
        if res.get(key) is not None:
            r = rel(key)
            lines.append((key, f"{what} {res[key]:.3g}" + (f" ({r:.1f}x the real-vs-real {res[f'real_baseline_{key}']:.3g})"
                          if r is not None else "") + ": " + ("close to real clips." if r is not None and r <= 2 else
                          "clearly distinguishable from real data; lower is better." if r is not None and r > 10 else
                          "some way from real data; lower is better.")))
    tc, tb = res.get("temporal_consistency"), res.get("real_baseline_temporal_consistency")
    if tc is not None:
        ok = tb is not None and abs(tc - tb) <= 0.05
        lines.append(("temporal_consistency", f"temporal consistency {tc:.3f} (real clips {tb:.3f}): "
                      + ("digits keep their identity across frames as often as in real clips." if ok else
                         "the content changes identity across frames more often than in real clips." if tb is not None
                         and tc < tb else "differs from the real clips' rate.")))
    if res.get("static_share") is not None:
        s = res["static_share"]
        lines.append(("static_share", f"{s * 100:.1f}% static clips: " + ("clips move." if s <= 0.02 else
                      "many generated clips barely move (motion collapse).")))
    if res.get("speed_w1") is not None:
        lines.append(("speed_w1", f"speed distance {res['speed_w1']:.3f} px/frame (real-vs-real "
                      f"{res.get('real_baseline_speed_w1', float('nan')):.3f}); mean speed {res.get('speed_mean', 0):.2f} "
                      f"vs real {res.get('real_speed_mean', 0):.2f} px/frame."))
    if res.get("memorization") is not None:
        m = res["memorization"]
        lines.append(("memorization", f"{m * 100:.1f}% suspected copies of training clips: "
                      + ("no sign of copying." if m < 0.01 else "some near-copies: check the nearest-clip panel."
                         if m < 0.05 else "the generator reproduces training clips.")))
    if res.get("class_acc") is not None:
        lines.append(("class_acc", f"class accuracy {res['class_acc']:.2f} (frames showing the class asked for)."))
    known = set(METRICS.keys)
    return [(k, s) for k, s in lines if k in known]
