"""Diagnosis (docs/benchmarks.md, video, round 10): does the warp's sub-pixel (bilinear) resampling cost
temporal consistency? A warp run's G: TC as made, with the shifts rounded to whole pixels, with the
content frame held still; and how a half-pixel shift moves the classifier on G's and on real frames.

    python benchmarks/video_tc_diag.py RUN_DIR CACHE_DIR    # e.g. /tmp/fewgan-video-bench/warp-all .../cache
"""
import sys
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
from fewgan.config import TrainConfig
from fewgan.modalities import get_modality
from fewgan.train.run import TrainedGenerator
from fewgan.modalities.video.metrics import temporal_consistency

run = Path(sys.argv[1]); cache = Path(sys.argv[2])
torch.set_num_threads(1)
tg = TrainedGenerator.open(run)
G, cfg = tg.G, tg.config
mod = get_modality("video")
prep = mod.prepare(cfg)
ev = mod.make_evaluator(cfg.replace(eval_n=1000), prep, cache)
n, T, res = 1000, cfg.options.frames, G.res
g = torch.Generator().manual_seed(12345)
z = torch.randn(n, T + 2, cfg.z_dim, generator=g)
with torch.no_grad():
    base = G.frame(z[:, 0])                                   # (N, C, H, W)
    delta = G.warp(G.motion(z)).reshape(n * T, 2)             # normalised shifts
    def warp(d):
        theta = torch.eye(2, 3).repeat(n * T, 1, 1); theta[:, :, 2] = d
        size = (n * T, 1, res, res)
        grid = F.affine_grid(theta, size, align_corners=False)
        fr = base.unsqueeze(1).expand(n, T, *base.shape[1:]).reshape(size)
        return F.grid_sample(fr, grid, mode="bilinear", padding_mode="border", align_corners=False).view(n, T, 1, res, res)
    made = warp(delta)
    px = delta * res / 2
    snapped = warp(torch.round(px) * 2 / res)
    frac = (px - px.round()).abs()
    print("mean |subpixel part| px", float(frac.mean()), "mean |shift| px", float(px.abs().mean()))
    still = base.unsqueeze(1).expand(n, T, *base.shape[1:])
    for name, clips in [("as made", made), ("snapped to pixels", snapped), ("still content frame", still)]:
        p = ev._predict(clips)
        print(f"{name:22s} TC {temporal_consistency(p)['temporal_consistency']:.3f}")
    # one half-pixel shift of every frame vs none: the blur alone
    half = warp(torch.full((n * T, 2), 1.0 / res))
    print(f"{'all shifted 0.5 px':22s} TC-vs-still agreement",
          float((ev._predict(half) == ev._predict(still)).mean()))
    # the real clips blurred by a half-pixel shift: does the classifier flip on real digits too?
    ref = prep.reference[0][:n, :T].float()
    th = torch.eye(2, 3).repeat(n * T, 1, 1); th[:, :, 2] = 1.0 / res
    rb = F.grid_sample(ref.flatten(0, 1), F.affine_grid(th, (n * T, 1, res, res), align_corners=False),
                       mode="bilinear", padding_mode="border", align_corners=False).view(n, T, 1, res, res)
    print("real TC", temporal_consistency(ev._predict(ref))['temporal_consistency'],
          "real half-px blurred TC", temporal_consistency(ev._predict(rb))['temporal_consistency'])
