"""Image plug-in: its typed options and registration (light; the implementation is modality.py)."""
from __future__ import annotations

from dataclasses import dataclass

from ...options import Options, option
from .. import Plugin

AUG_OPS = ("color", "translation", "cutout")
FEATURES = ("auto", "domain", "random", "inception")
ARCHS = ("dcgan", "fastgan")
UPSAMPLE = ("bilinear", "nearest")    # the same tuple as nets.fastgan.UPSAMPLE (a test checks); not imported: torch-free


@dataclass
class ImageOptions(Options):
    res: int | None = option(None, "training resolution in pixels, 8..128, any b*2^k with 4 <= b < 8 "
                                   "(default: the dataset's, digits 32)", minimum=8, maximum=128, auto=True)
    max_images: int | None = option(None, "train on a fixed, seeded subset of N images", minimum=1)
    conditional: bool = option(False, "class-conditional G and D (needs labels)", cli="switch")
    width: int | None = option(None, "channel width multiplier of G and D (default by resolution)", minimum=1, auto=True)
    arch: str | None = option(None, "network family: dcgan, or fastgan (GLU + skip-layer excitation G, "
                                    "self-supervised D; 32, 64 or 128 px); unset: fastgan from 64 px up, dcgan below "
                                    "(docs/benchmarks.md, images at 64 px)",
                              choices=ARCHS, auto=True)
    upsample: str | None = option(None, "FastGAN G's x2 upsampling (default bilinear; nearest is the "
                                        "paper's, and what fastgan runs saved before this option used)",
                                  choices=UPSAMPLE, auto=True)
    spectral_norm: bool = option(True, "spectral norm in D", cli="negate", flag="--no-spectral-norm")
    aug_ops: str = option("color,translation,cutout", "comma list of DiffAugment ops D sees",
                          choices=AUG_OPS, comma_choices=True)
    features: str = option("auto", "feature extractor for metrics (auto: domain if labelled, else random)",
                           choices=FEATURES)
    inception: str | None = option(None, "local TorchScript Inception file for standard FID features")

    def for_other_data(self) -> "ImageOptions":
        """Settings to prepare `evaluate --data OTHER`: the whole of it, not a subset."""
        return self.replace(max_images=None)


@dataclass
class ImageSampleOptions(Options):
    label: str | None = option(None, "class id or name (conditional runs)")


PLUGIN = Plugin(
    name="image",
    summary="images: unconditional or class-conditional, 8-128 px",
    options=ImageOptions,
    impl="fewgan.modalities.image.modality:ImageModality",
    api="fewgan.modalities.image.modality:ImageGAN",
    data_help="digits, faces100, histology (64 px), retina (64 px), microaneurysms (32 px), a folder of PNG/JPEG (sub-folders = classes), .npy/.npz or IDX files",
    default_data="digits",
    sample_options=ImageSampleOptions,
    eval_flags=("features", "inception"),
    metrics=("fewgan.metrics.image_eval", "fewgan.metrics.distribution", "fewgan.metrics.memorization"),
    formats=(".png", ".npz"),
    smoke=("--data", "digits", "--max-images", "64", "--res", "16", "--width", "4", "--batch", "8", "--z-dim", "8", "--features", "random", "--eval-n", "32"),
)
