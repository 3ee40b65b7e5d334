"""Video modality: codec (clips in [0, 1] <-> [-1, 1] tensors at the training size, windows of
--frames frames), content + motion nets (nets.py), its own two-discriminator step (phases.py),
per-clip DiffAugment/ADA, metrics (metrics.py), animated GIF previews and samples."""
from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...api import GAN
from ...augment import DiffAugment
from ...augment.diffaug import color
from ...config import TrainConfig
from ...data import seeded_subset
from ...errors import UsageError
from ...nets.image import stages_for
from .. import Prepared
from .data import VideoData, from_arrays, load_video
from .media import MS_PER_FRAME, grid_gif, gif_tag, strip_png
from .nets import VideoDiscriminator, VideoGenerator
from .phases import VideoPhases

N_PREVIEW_CLIPS = 16


@dataclass
class VideoCodec:
    frames: int                 # T: the window G makes and D sees
    length: int                 # L >= T: frames per stored clip (random windows when longer)
    res: int
    channels: int
    classes: list[str] | None = None
    layout: str = "NTCHW"       # the source's axis order as detected (NTHWC, NTCHW, gif, folder, video)

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes else 0

    def encode(self, x01: np.ndarray) -> torch.Tensor:
        # (N, L, C, H, W) in [0, 1] -> (N, L, C, res, res) in [-1, 1]
        x = torch.from_numpy(x01)
        n, t, c, h, w = x.shape
        if (h, w) != (self.res, self.res):
            x = F.interpolate(x.reshape(n * t, c, h, w), size=(self.res, self.res), mode="bilinear",
                              align_corners=False, antialias=min(h, w) > self.res).clamp(0, 1)
            x = x.view(n, t, c, self.res, self.res)
        return (x * 2 - 1).contiguous()

    def decode(self, x: torch.Tensor) -> np.ndarray:
        # (N, T, C, res, res) in [-1, 1] -> uint8 (N, T, res, res, C)
        x = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return x.permute(0, 1, 3, 4, 2).numpy()

    def noise_shape(self, z_dim: int) -> tuple[int, int]:
        return (self.frames + 2, z_dim)     # content, initial motion state, one row per frame

    def sample_batch(self, x: torch.Tensor, y: torch.Tensor | None, batch: int, device):
        """A random window of T frames from random clips (global RNG: exact resume)."""
        idx = torch.randint(len(x), (batch,), device=device)
        if self.length > self.frames:
            start = torch.randint(self.length - self.frames + 1, (batch, 1), device=device)
            real = x[idx[:, None], start + torch.arange(self.frames, device=device)]
        else:
            real = x[idx]
        return real, None if y is None else y[idx]

    def state_dict(self) -> dict:
        return {"frames": self.frames, "length": self.length, "res": self.res, "channels": self.channels,
                "classes": self.classes, "layout": self.layout}


class ClipAugment:
    """DiffAugment with one set of parameters per clip: every frame of a clip gets the same shift,
    cutout square and colour change (so motion is not destroyed), and p applies per clip."""

    def __init__(self, ops: str):
        self.names = [o for o in ops.split(",") if o]

    def __call__(self, x: torch.Tensor, p) -> torch.Tensor:
        n, t, c, h, w = x.shape
        aug = DiffAugment(",".join(o for o in self.names if o != "color"))
        # translation/cutout act on (N, T*C, H, W): the same offsets for all frames of a clip.
        if "color" in self.names:
            aug.ops.insert(0, lambda v: _color_per_clip(v, t, c))
        return aug(x.reshape(n, t * c, h, w), p).view(n, t, c, h, w)


def _color_per_clip(v: torch.Tensor, t: int, c: int) -> torch.Tensor:
    # (n, T*C, H, W) -> colour on (n, C, T*H, W): channel mixing stays within a frame, factors per clip
    n, _, h, w = v.shape
    u = color(v.view(n, t, c, h, w).transpose(1, 2).reshape(n, c, t * h, w))
    return u.view(n, c, t, h, w).transpose(1, 2).reshape(n, t * c, h, w)


class VideoModality:
    name = "video"
    primary_metric = "clip_fd"  # best.pt is kept by it unless --until names another
    metric_panels = [("clip FD (lower is better)", ("clip_fd",)), ("frame FD (lower is better)", ("frame_fd",)),
                     ("temporal consistency / static share", ("temporal_consistency", "static_share")),
                     ("speed distance (px/frame, lower is better)", ("speed_w1",)),
                     ("suspected copies (share)", ("memorization",))]

    def load(self, cfg: TrainConfig, data=None, labels=None) -> VideoData:
        o = cfg.options
        if data is None:
            return load_video(cfg.data, cfg.seed, o.frames, o.res, o.clips)
        if isinstance(data, (str, Path)):
            return load_video(str(data), cfg.seed, o.frames, o.res, o.clips)
        return from_arrays(data, labels)

    def prepare(self, cfg: TrainConfig, data=None, labels=None) -> Prepared:
        src = self.load(cfg, data, labels)
        o = cfg.options
        if src.x.shape[1] < o.frames:
            raise UsageError(f"{src.name}: clips have {src.x.shape[1]} frames, fewer than --frames {o.frames}: "
                             f"use --frames {src.x.shape[1]} or longer clips")
        idx = seeded_subset(len(src.x), o.max_clips, cfg.seed, "clips")
        x, y = (src.x, src.y) if idx is None else (src.x[idx], None if src.y is None else src.y[idx])
        if o.conditional and y is None:
            raise UsageError(f"--conditional needs labels, and {src.name} has none: use labelled clips "
                             "(sub-folders per class, an npz with 'y')")
        res = o.res or src.natural_res
        stages_for(res)
        classes = (src.classes or [str(i) for i in range(int(y.max()) + 1)]) if o.conditional else None
        codec = VideoCodec(o.frames, x.shape[1], res, x.shape[2], classes, src.layout)
        # metrics compare with the full dataset, not only the subset
        return Prepared.encoded(codec, x, y, None if idx is None else (src.x, src.y))

    def codec_from_state(self, s: dict) -> VideoCodec:
        return VideoCodec(**s)

    def adapt_prepared(self, prep: Prepared, codec: VideoCodec) -> Prepared:
        """`evaluate --data OTHER` and resume: the run's channels, size and window."""
        if prep.codec.channels != codec.channels:
            raise UsageError(f"--data has {prep.codec.channels}-channel clips but the run was trained on "
                             f"{codec.channels}-channel ones: pass the data it was trained on")
        if prep.codec.length < codec.frames:
            raise UsageError(f"--data clips have {prep.codec.length} frames, fewer than the run's {codec.frames}")
        return replace(prep, codec=replace(codec, length=prep.codec.length, layout=prep.codec.layout))

    def resolve_defaults(self, cfg: TrainConfig, prep: Prepared) -> TrainConfig:
        res = prep.codec.res
        cfg = cfg.fill_none(loss="ns", batch=16, g_lr=2e-4, d_lr=4e-4, beta1=0.5, beta2=0.99, r1_gamma=1.0,
                            z_dim=32, r1_every=16, eval_n=min(1000, len(prep.reference[0])))
        o = cfg.options
        steps = cfg.steps if cfg.steps is not None or cfg.minutes is not None else 3000
        # --model warp: the first half of the steps train the frame generator alone (benchmarks/video.py:
        # at 15 CPU minutes, 6000 of ~12000 steps halved clip FD on two seeds); other models have no such phase
        frame_steps = o.frame_steps if o.frame_steps is not None else (
            steps // 2 if o.model == "warp" and steps is not None else 0)
        return cfg.replace(
            options=o.replace(res=res, width=(w := o.width or max(4, 256 // res)),  # 32 px: 8
                              g_width=o.g_width or w, frame_steps=frame_steps),
            augment=cfg.augment if cfg.augment != "auto" else "ada",
            ema_kimg=cfg.ema_kimg if cfg.ema_kimg is not None else cfg.batch * 100 / 1000,  # half-life 100 steps
            steps=steps,
        )

    def build_nets(self, cfg: TrainConfig, codec: VideoCodec):
        o = cfg.options
        G = VideoGenerator(codec.res, codec.channels, cfg.z_dim, o.motion_dim, o.g_width or o.width,
                           codec.n_classes, o.model, o.warp)
        D = VideoDiscriminator(codec.res, codec.channels, o.width, codec.n_classes, o.spectral_norm, o.d_frames,
                               clip=o.model in ("mocogan", "warp"))
        return G, D

    def make_phases(self, engine):
        return VideoPhases(engine)

    def make_augment(self, cfg: TrainConfig):
        return None if cfg.augment == "none" else ClipAugment(cfg.options.aug_ops)

    def make_evaluator(self, cfg: TrainConfig, prep: Prepared, cache_dir: Path | None):
        from .metrics import VideoEvaluator
        o = cfg.options
        return VideoEvaluator(prep, o.frames, o.features, cache_dir, cfg.eval_n, cfg.seed, o.encoder_steps)

    def verdicts(self, results: dict) -> list[tuple[str, str]]:
        from .metrics import verdicts
        return verdicts(results)

    def report_panels(self, ev) -> list[tuple[str, str]]:
        """Animated sample and real grids, a frame strip, the nearest-clip panel, speed histograms."""
        from ...report.html import img_tag
        codec, prep, T = ev.prep.codec, ev.prep, ev.generator.codec.frames
        fake = codec.decode(ev.sample(N_PREVIEW_CLIPS, None, 0))
        g = torch.Generator().manual_seed(0)
        real = codec.decode(prep.x[torch.randperm(len(prep.x), generator=g)[:N_PREVIEW_CLIPS], :T])
        panels = [("Samples (G_ema, fixed noise, animated)", gif_tag(grid_gif(fake, 4), "samples")),
                  (f"Real training clips ({len(prep.x)} in all)", gif_tag(grid_gif(real, 4), "real")),
                  ("Frame strip: 8 generated clips (rows), frame by frame", img_tag(strip_png(fake[:8]))),
                  ("Frame strip: 8 real clips", img_tag(strip_png(real[:8])))]
        evr = ev.evaluator
        f, t, ratios = evr.nearest_pairs(evr.last_fake, 8)
        pairs = np.concatenate([codec.decode(f), codec.decode(t)])
        caption = ("Top row: the 8 generated clips closest to a training clip (of "
                   f"{len(evr.last_fake)}); bottom row: their nearest training clip (pixel distance over the "
                   "whole clip). Ratio (1 = as close as training clips are to each other; below 0.5 counts "
                   "as a suspected copy): " + ", ".join(f"{r:.2f}" for r in ratios))
        panels.append(("Nearest-clip check (memorization)", gif_tag(grid_gif(pairs, 8)) + f"<p>{caption}</p>"))
        panels.append(("Per-clip speed of the content (centroid, px/frame)", img_tag(evr.speed_histogram())))
        return panels

    def decode(self, samples: torch.Tensor, codec: VideoCodec) -> np.ndarray:
        return codec.decode(samples)

    def export_info(self, codec: VideoCodec) -> dict:
        """`fewgan export`: how to turn the graph's clips into frames (see VideoCodec.decode)."""
        return {"layout": "NTCHW", "value_range": [-1.0, 1.0], "frames": codec.frames, "resolution": codec.res,
                "channels": codec.channels,
                "noise_rows": "z[:, 0] the content code, z[:, 1] the motion GRU's initial state, z[:, 2:] one "
                              "row per frame (the frames / static baselines read only some rows)",
                "to_uint8": "round((clip(x, -1, 1) + 1) * 127.5), then transpose to (N, T, H, W, C)",
                "fps": None, "preview_fps": 1000 / MS_PER_FRAME,     # the data's own rate is not kept
                "classes": codec.classes,
                "condition": ("c: int64 class ids, index into classes" if codec.n_classes else None)}

    def preview(self, samples: torch.Tensor, codec: VideoCodec, path: Path) -> None:
        from ...train.checkpoint import atomic_write_bytes
        atomic_write_bytes(Path(path).with_suffix(".gif"), grid_gif(codec.decode(samples[:N_PREVIEW_CLIPS]), 4))

    def write_samples(self, gen, n: int, path: Path, seed: int = 0, label=None) -> None:
        """.gif: one animated grid; .npy: uint8 (N, T, H, W, C); no suffix: a folder of PNG frames
        (clip_0000/frame_00.png, ...)."""
        from ...train.checkpoint import atomic_write_bytes
        suffix = path.suffix.lower()
        if suffix not in (".gif", ".npy", ""):
            raise UsageError(f"--out {path}: use a .gif (animated grid), .npy (uint8 N,T,H,W,C) or a new "
                             "folder name without a suffix (PNG frames)")
        if suffix == "" and path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise UsageError(f"--out {path}: exists and is not an empty folder: choose a new folder name")
        clips = gen.codec.decode(gen.sample(n, label, seed))
        if suffix == ".gif":
            atomic_write_bytes(path, grid_gif(clips))
        elif suffix == ".npy":
            buf = io.BytesIO()
            np.save(buf, clips)
            atomic_write_bytes(path, buf.getvalue())
        else:
            write_frame_folder(clips, path)


def write_frame_folder(clips: np.ndarray, path: Path) -> None:
    """Frames into a sibling temporary folder, renamed into place at the end (no half-written output)."""
    import shutil
    import tempfile
    from .media import frame_png
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        for i, clip in enumerate(clips):
            d = tmp / f"clip_{i:04d}"
            d.mkdir()
            for t, frame in enumerate(clip):
                (d / f"frame_{t:02d}.png").write_bytes(frame_png(frame))
        if path.exists():
            path.rmdir()
        tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class VideoGAN(GAN):
    """VideoGAN(frames=16).fit("moving-digits" | array | path).sample(16) -> uint8 (16, T, H, W, C)."""
    modality = "video"

    def sample(self, n: int, label=None, seed: int = 0) -> np.ndarray:
        g = self._require_fit()
        return g.codec.decode(self.generate(n, label, seed))
