"""Video plug-in: its typed options and registration (light; the implementation is modality.py).

Short clips (8-32 frames, 8-128 px, 1 or 3 channels) from a few hundred to a few thousand
examples: a decomposed generator (a content frame per clip from a 2-D frame generator, moved by
GRU-driven warps; or MoCoGAN's content + motion codes into the frame generator) against a frame
discriminator and a 3-D-conv clip discriminator.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import UsageError
from ...options import Options, option
from .. import Plugin

AUG_OPS = ("color", "translation", "cutout")
MODELS = ("warp", "mocogan", "frames", "static")


@dataclass
class VideoOptions(Options):
    frames: int = option(16, "frames per clip: a random (training) or the first (evaluation) window of "
                             "longer clips", minimum=2, maximum=64)
    res: int | None = option(None, "frame size in pixels, 8..128, b*2^k with 4 <= b < 8 (default: the "
                                   "data's, moving-digits 32)", minimum=8, maximum=128, auto=True)
    max_clips: int | None = option(None, "train on a fixed, seeded subset of N clips", minimum=1)
    conditional: bool = option(False, "class-conditional G and both Ds (needs labels)", cli="switch")
    model: str = option("warp", "warp (one content frame per clip, moved by a GRU-driven warp per frame: "
                                "content that moves, not content that changes shape); mocogan (content + GRU "
                                "motion codes into the frame generator: any change, but identity drifts); "
                                "baselines: frames "
                                   "(independent frames, frame D only), static (one frame repeated)",
                        choices=MODELS)
    warp: str = option("translation", "--model warp: the motion of the content frame: translation (a shift per "
                                      "frame) or affine (shift, rotation, scale and shear)",
                       choices=("translation", "affine"))
    frame_steps: int | None = option(None, "--model warp: train the frame generator first, as an image GAN on "
                                           "single frames (frame D only, about 3x cheaper per step), for this "
                                           "many steps (default: half of --steps; 0 with --minutes, where the "
                                           "number of steps is not known; 0 turns it off; fixed when the run "
                                           "starts, so --resume with more --steps keeps it)",
                                     minimum=0, auto=True)
    width: int | None = option(None, "channel width multiplier of G and both Ds (default by resolution)",
                               minimum=1, auto=True)
    g_width: int | None = option(None, "channel width multiplier of the frame generator alone (default: --width)",
                                 minimum=1, auto=True)
    motion_dim: int = option(16, "size of the GRU motion code per frame", minimum=1)
    d_frames: int = option(2, "random frames per clip the frame discriminator sees", minimum=1)
    spectral_norm: bool = option(True, "spectral norm in both Ds", cli="negate", flag="--no-spectral-norm")
    aug_ops: str = option("color,translation,cutout", "comma list of DiffAugment ops D sees (one set of "
                          "parameters per clip)", choices=AUG_OPS, comma_choices=True)
    features: str = option("auto", "frame features for metrics (auto: domain if labelled, else random)",
                           choices=("auto", "domain", "random"))
    encoder_steps: int = option(300, "training steps of the 3-D conv clip encoder behind clip_fd", minimum=1)
    clips: int = option(1797, "moving-digits / moving-mnist: number of generated clips", minimum=2)

    def check(self) -> None:
        if self.d_frames > self.frames:
            raise UsageError(f"--d-frames {self.d_frames} is more than --frames {self.frames}: "
                             f"use at most {self.frames}")
        if self.frame_steps and self.model != "warp":
            raise UsageError(f"--frame-steps is for --model warp, not --model {self.model}: "
                             f"drop --frame-steps or use --model warp")

    def for_other_data(self) -> "VideoOptions":
        """Settings to prepare `evaluate --data OTHER`: the whole of it, not a subset."""
        return self.replace(max_clips=None)


@dataclass
class VideoSampleOptions(Options):
    label: str | None = option(None, "class id or name (conditional runs)")


PLUGIN = Plugin(
    name="video",
    summary="video: short clips (8-32 frames), a content frame + GRU-driven motion",
    options=VideoOptions,
    impl="fewgan.modalities.video.modality:VideoModality",
    api="fewgan.modalities.video.modality:VideoGAN",
    data_help="moving-digits, moving-mnist, a .npy/.npz of (N,T,H,W,C) or (N,T,C,H,W), an animated .gif, "
              "a folder of GIFs or of clip sub-folders of numbered frames (sub-folders of those = classes), "
              ".mp4/.avi with the video extra (PyAV)",
    default_data="moving-digits",
    sample_options=VideoSampleOptions,
    eval_flags=("features",),
    metrics=("fewgan.modalities.video.metrics", "fewgan.metrics.memorization"),
    formats=(".gif", ".npy"),
    # --frame-steps given: its default (half of --steps) would differ between a straight run and one
    # extended by --resume, which the registry test compares
    smoke=("--data", "moving-digits", "--clips", "48", "--frames", "4", "--res", "16", "--width", "2",
           "--frame-steps", "2",
           "--motion-dim", "4", "--d-frames", "1", "--batch", "4", "--z-dim", "4", "--features", "random",
           "--encoder-steps", "3", "--eval-n", "16"),
)
