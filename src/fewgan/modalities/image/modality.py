"""Image modality: codec ([0,1] arrays <-> [-1,1] tensors at the training resolution), DCGAN or FastGAN nets,
DiffAugment/ADA, defaults chosen by dataset size and resolution."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...api import GAN
from ...augment import DiffAugment
from ...config import TrainConfig
from ...data import seeded_subset
from ...data.image import ImageData, from_arrays, load_images
from ...errors import UsageError
from ...nets.fastgan import FastGANDiscriminator, FastGANGenerator, check_res as fastgan_stages
from ...nets.image import ImageDiscriminator, ImageGenerator, stages_for
from ...report.grid import grid_png, save_grid
from .. import Prepared


@dataclass
class ImageCodec:
    res: int
    channels: int
    classes: list[str] | None = None

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes else 0

    def encode(self, x01: np.ndarray) -> torch.Tensor:
        # (N, C, H, W) in [0, 1] -> (N, C, res, res) in [-1, 1]
        x = torch.from_numpy(x01)
        if x.shape[-1] != self.res:
            x = F.interpolate(x, size=(self.res, self.res), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > self.res).clamp(0, 1)
        return (x * 2 - 1).contiguous()

    def decode(self, x: torch.Tensor) -> np.ndarray:
        # (N, C, res, res) in [-1, 1] -> uint8 (N, res, res, C)
        x = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return x.permute(0, 2, 3, 1).numpy()

    def state_dict(self) -> dict:
        return {"res": self.res, "channels": self.channels, "classes": self.classes}


# --arch -> (batch, steps) when not given.
# FastGAN at batch 16 (the paper trains at 8): at 15 CPU minutes, 64 px, it beat batch 64 on KID on
# histology and retina with ~3.4x the steps (docs/benchmarks.md, images at 64 px).
# DCGAN at batch 32: at 5 CPU minutes it beat batch 64 on MNIST-1k, MNIST, digits and histology with
# ~1.6-1.8x the steps, and lost on faces100 (docs/benchmarks.md, batch 32); its 4000 steps are the
# 128k images that 2000 steps at batch 64 saw.
ARCH_DEFAULTS = {"fastgan": (16, 2000), "dcgan": (32, 4000)}


def default_arch(res: int) -> str:
    """--arch when not given: FastGAN from 64 px up, DCGAN below. At 64 px, 15 CPU minutes, FastGAN
    beat the DCGAN nets on KID on histology and retina and drew cell outlines where DCGAN drew
    blobs (docs/benchmarks.md, images at 64 px); at 32 px and below DCGAN is what the image
    defaults were measured with. 128 px follows 64 px unmeasured."""
    return "fastgan" if res >= 64 else "dcgan"


class ImageModality:
    name = "image"
    primary_metric = "fd"  # best.pt is kept by it unless --until names another
    metric_panels = [("FD (lower is better)", ("fd",)), ("KID (lower is better)", ("kid",)),
                     ("precision / recall / coverage", ("precision", "recall", "coverage", "class_acc")),
                     ("suspected copies (share)", ("memorization",))]       # report curves

    def prepare(self, cfg: TrainConfig, data=None, labels=None) -> Prepared:
        src: ImageData = load_images(cfg.data, cfg.seed) if data is None else from_arrays(data, labels)
        opts = cfg.options
        idx = seeded_subset(len(src.x), opts.max_images, cfg.seed)
        x, y = (src.x, src.y) if idx is None else (src.x[idx], None if src.y is None else src.y[idx])
        if opts.conditional and y is None:
            raise UsageError(f"--conditional needs labels, and {src.name} has none: "
                             "use labelled data (sub-folders per class, an npz with 'y', IDX labels)")
        res = opts.res or src.natural_res
        stages_for(res)  # validates the resolution early, before any directory is written
        classes = (src.classes or [str(i) for i in range(int(y.max()) + 1)]) if opts.conditional else None
        codec = ImageCodec(res, x.shape[1], classes)
        # metrics compare with the full dataset, not only the few-shot subset
        return Prepared.encoded(codec, x, y, None if idx is None else (src.x, src.y))

    def codec_from_state(self, s: dict) -> ImageCodec:
        return ImageCodec(**s)

    def adapt_prepared(self, prep: Prepared, codec: ImageCodec) -> Prepared:
        """`evaluate --data OTHER`: the images must have the run's number of channels."""
        if prep.codec.channels != codec.channels:
            raise UsageError(f"--data has {prep.codec.channels}-channel images but the run was trained on "
                             f"{codec.channels}-channel ones: pass the data it was trained on")
        return prep

    def resolve_defaults(self, cfg: TrainConfig, prep: Prepared) -> TrainConfig:
        res = prep.codec.res
        arch = cfg.options.arch or default_arch(res)
        batch, steps = ARCH_DEFAULTS[arch]
        cfg = cfg.fill_none(loss="ns", batch=batch, g_lr=2e-4, d_lr=4e-4, beta1=0.5, beta2=0.99, r1_gamma=1.0,
                            z_dim=64, r1_every=16)
        upsample = cfg.options.upsample
        if arch == "fastgan":
            fastgan_stages(res)       # 32, 64 or 128 px: refused here, before the run directory is written
            upsample = upsample or "bilinear"
        elif upsample:
            raise UsageError(f"--upsample {upsample} applies to --arch fastgan only: drop it, or add --arch fastgan")
        return cfg.replace(
            options=cfg.options.replace(res=res, arch=arch, upsample=upsample,
                                        width=cfg.options.width or max(8, 512 // res)),  # 16 px: 32, 32: 16, 64: 8
            # ADA at every size: in benchmarks/fewshot.py always-on DiffAugment cost FD at 100, 500
            # and 1797 images within a normal run, while ADA's p stays ~0 until D overfits.
            augment=cfg.augment if cfg.augment != "auto" else "ada",
            ema_kimg=cfg.ema_kimg if cfg.ema_kimg is not None else cfg.batch * 10 / 32,
            steps=cfg.steps if cfg.steps is not None or cfg.minutes is not None else steps,
        )

    def build_nets(self, cfg: TrainConfig, codec: ImageCodec):
        w = cfg.options.width
        # arch None: a run saved before --arch existed, which always trained DCGAN nets.
        if (cfg.options.arch or "dcgan") == "fastgan":
            # upsample None: a fastgan run saved before the option existed, which upsampled by nearest.
            return (FastGANGenerator(codec.res, codec.channels, cfg.z_dim, w, codec.n_classes,
                                     cfg.options.upsample or "nearest"),
                    FastGANDiscriminator(codec.res, codec.channels, w, codec.n_classes, cfg.options.spectral_norm))
        G = ImageGenerator(codec.res, codec.channels, cfg.z_dim, w, codec.n_classes)
        D = ImageDiscriminator(codec.res, codec.channels, w, codec.n_classes, cfg.options.spectral_norm)
        return G, D

    def make_evaluator(self, cfg: TrainConfig, prep: Prepared, cache_dir: Path | None):
        from ...metrics.image_eval import ImageEvaluator
        ref_x, ref_y, ref_fp = prep.reference
        return ImageEvaluator(ref_x, ref_y, prep.x, prep.codec.n_classes, ref_fp, cfg.options.features,
                              cfg.options.inception, cache_dir, cfg.eval_n, cfg.seed)

    def verdicts(self, results: dict) -> list[tuple[str, str]]:
        from ...metrics.image_eval import verdicts
        return verdicts(results)

    def report_panels(self, ev) -> list[tuple[str, str]]:
        """(title, html) panels for the report: samples, real data, nearest training neighbours."""
        from ...report.html import img_tag
        codec, prep, n = ev.prep.codec, ev.prep, 64
        fake = ev.sample(n, None, 0)
        g = torch.Generator().manual_seed(0)
        real = prep.x[torch.randperm(len(prep.x), generator=g)[:n]]
        panels = [("Samples (G_ema, fixed noise)", img_tag(grid_png(codec.decode(fake), 8))),
                  (f"Real training images ({len(prep.x)} in all)", img_tag(grid_png(codec.decode(real), 8)))]
        ev_fake = ev.evaluator.last_fake  # exactly the samples the metrics above were computed on
        f, t, ratios = ev.evaluator.nearest_pairs(ev_fake, 8)
        pairs = np.concatenate([codec.decode(f), codec.decode(t)])
        caption = ("Top row: the 8 generated samples closest to the training set (of "
                   f"{len(ev_fake)}); bottom row: their nearest training image. Distance ratio "
                   "(1 = as close as training images are to each other; below 0.5 counts as a suspected copy): "
                   + ", ".join(f"{r:.2f}" for r in ratios))
        panels.append(("Nearest-neighbour check (memorization)", img_tag(grid_png(pairs, 8)) + f"<p>{caption}</p>"))
        return panels

    def make_augment(self, cfg: TrainConfig):
        return None if cfg.augment == "none" else DiffAugment(cfg.options.aug_ops)

    def decode(self, samples: torch.Tensor, codec: ImageCodec) -> np.ndarray:
        return codec.decode(samples)

    def preview(self, samples: torch.Tensor, codec: ImageCodec, path: Path) -> None:
        save_grid(codec.decode(samples), path)

    def export_info(self, codec: ImageCodec) -> dict:
        """`fewgan export`: how to turn the graph's output into pictures (see ImageCodec.decode)."""
        return {"layout": "NCHW", "value_range": [-1.0, 1.0], "resolution": codec.res, "channels": codec.channels,
                "to_uint8": "round((clip(x, -1, 1) + 1) * 127.5), then transpose to NHWC",
                "classes": codec.classes,
                "condition": ("c: int64 class ids, index into classes" if codec.n_classes else None)}

    def write_samples(self, gen, n: int, path: Path, seed: int = 0, label=None) -> None:
        """A .png grid, or an .npz with `samples` (uint8 N,H,W,C) and `raw` (the model's [-1, 1])."""
        suffix = path.suffix.lower()
        if suffix not in (".png", ".npz"):
            raise UsageError(f"--out {path}: use a .png (grid) or .npz (raw samples) file name")
        raw = gen.sample(n, label, seed)
        if suffix == ".png":
            self.preview(raw, gen.codec, path)
            return
        import io
        from ...train.checkpoint import atomic_write_bytes
        buf = io.BytesIO()
        np.savez_compressed(buf, samples=gen.codec.decode(raw), raw=raw.numpy())
        atomic_write_bytes(path, buf.getvalue())


class ImageGAN(GAN):
    """ImageGAN(steps=2000).fit("digits").sample(64) -> uint8 (64, H, W, C)."""
    modality = "image"

    def sample(self, n: int, label=None, seed: int = 0) -> np.ndarray:
        g = self._require_fit()
        return g.codec.decode(self.generate(n, label, seed))
