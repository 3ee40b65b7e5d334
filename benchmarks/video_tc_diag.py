"""Diagnosis (docs/benchmarks.md, video, round 10): does the warp's sub-pixel (bilinear) resampling cost
temporal consistency? A warp run's G: TC as made, with the shifts rounded to whole pixels, with the
content frame held still; and how a half-pixel shift moves the classifier on G's and on real frames.

    python benchmarks/video_tc_diag.py RUN_DIR CACHE_DIR    # e.g. /tmp/fewgan-video-bench/warp-all .../cache
"""
import sys
from pathlib import Path

import torch

from fewgan.modalities import get_modality
from fewgan.modalities.video.metrics import temporal_consistency
from fewgan.train.run import TrainedGenerator

run, cache = Path(sys.argv[1]), Path(sys.argv[2])
torch.set_num_threads(1)
tg = TrainedGenerator.open(run)
G, cfg = tg.G, tg.config           # a --warp translation run: G.move shifts frames by (x, y) offsets
mod = get_modality("video")
prep = mod.prepare(cfg)
ev = mod.make_evaluator(cfg.replace(eval_n=1000), prep, cache)
n, T, res = 1000, cfg.options.frames, G.res
z = torch.randn(n, T + 2, cfg.z_dim, generator=torch.Generator().manual_seed(12345))


def tc(clips):
    return temporal_consistency(ev._predict(clips))["temporal_consistency"]


with torch.no_grad():
    base = G.frame(z[:, 0])                                   # (N, C, H, W)
    delta = G.warp(G.motion(z)).reshape(n * T, 2)             # normalised shifts
    px = delta * res / 2
    print("mean |subpixel part| px", float((px - px.round()).abs().mean()), "mean |shift| px", float(px.abs().mean()))
    half = torch.full((n * T, 2), 1.0 / res)                  # half a pixel in normalised units
    still = base.unsqueeze(1).expand(n, T, *base.shape[1:])
    for name, clips in [("as made", G.move(base, delta, T)), ("snapped to pixels", G.move(base, px.round() * 2 / res, T)),
                        ("still content frame", still)]:
        print(f"{name:22s} TC {tc(clips):.3f}")
    print(f"{'all shifted 0.5 px':22s} TC-vs-still agreement",
          float((ev._predict(G.move(base, half, T)) == ev._predict(still)).mean()))
    # the real clips blurred by the same half-pixel shift: does the classifier flip on real digits too?
    ref = prep.reference[0][:n, :T].float()                   # (N, T, C, H, W)
    blurred = G.move(ref.flatten(0, 1), half, 1).view(ref.shape)
    print("real TC", tc(ref), "real half-px blurred TC", tc(blurred))
